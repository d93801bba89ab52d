//! WebAssembly types as the embedder sees them, and canonical signature ids.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

/// The types a value can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
    V128,
    /// A reference. Machine code treats every reference alike (an 8-byte pointer, 0 for
    /// null); the exact type matters at the boundaries and when matching imports.
    Ref(RefType),
}

/// A reference type: what it may point at (`heap`), and whether null is one of its
/// values (`nullable`). Packed into 32 bits, so that a `ValType` stays 8 bytes: the
/// compiler's operand stack copies one per entry, and 12-byte types made compiling 2 %
/// slower. Bit 31 is `nullable`; the rest is the heap type's code (`HEAP_CODES` for
/// the abstract ones, then concrete type ids above them); bit 30 marks an exact type
/// (`HeapType::Exact`, the custom descriptors proposal).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefType(u32);

const NULLABLE_BIT: u32 = 1 << 31;
const EXACT_BIT: u32 = 1 << 30;
/// Concrete type ids stay below this, so that their codes leave the flag bits alone.
const MAX_TYPE_ID: u32 = EXACT_BIT - HEAP_CODES.len() as u32;
const _: () = assert!(std::mem::size_of::<ValType>() == 8);
/// The codes of the abstract heap types; a concrete type id `id` is `HEAP_CODES.len() + id`.
const HEAP_CODES: [HeapType; 12] = [
    HeapType::Func,
    HeapType::Extern,
    HeapType::Exn,
    HeapType::NoFunc,
    HeapType::NoExtern,
    HeapType::NoExn,
    HeapType::Any,
    HeapType::Eq,
    HeapType::I31,
    HeapType::Struct,
    HeapType::Array,
    HeapType::None,
];
// `HeapType::abstract_index` is the inverse of this table.
const _: () = {
    let mut i = 0;
    while i < HEAP_CODES.len() {
        assert!(HEAP_CODES[i].abstract_index() == i);
        i += 1;
    }
};

/// What a reference may point at. Each hierarchy (functions, host values, exceptions,
/// GC's internal values) has its top (`Func`, `Extern`, `Exn`, `Any`) and its bottom
/// (`NoFunc`, ..., `None`), whose only value is null; defined types sit between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeapType {
    Func,
    Extern,
    Exn,
    NoFunc,
    NoExtern,
    NoExn,
    /// GC's internal values: `i31` numbers, structs, arrays, and host values made
    /// internal by `any.convert_extern`.
    Any,
    /// What `ref.eq` compares: `i31` numbers, structs and arrays.
    Eq,
    I31,
    Struct,
    Array,
    None,
    /// Values of one defined type (functions, structs or arrays of it), named by its
    /// process-wide id (`FuncType::type_id`), so that the same type in two modules is
    /// the same heap type.
    Concrete(u32),
    /// Values of exactly this defined type, not of its subtypes (the custom descriptors
    /// proposal's `(exact $t)`).
    Exact(u32),
}

impl HeapType {
    /// The top of this type's hierarchy.
    pub fn top(self) -> HeapType {
        match self {
            HeapType::Func | HeapType::NoFunc => HeapType::Func,
            HeapType::Extern | HeapType::NoExtern => HeapType::Extern,
            HeapType::Exn | HeapType::NoExn => HeapType::Exn,
            HeapType::Any
            | HeapType::Eq
            | HeapType::I31
            | HeapType::Struct
            | HeapType::Array
            | HeapType::None => HeapType::Any,
            HeapType::Concrete(id) | HeapType::Exact(id) => match type_kind(id) {
                Some(ObjectKind::Struct | ObjectKind::Array) => HeapType::Any,
                _ => HeapType::Func,
            },
        }
    }

    /// The defined type this heap type names, exact or not.
    pub fn defined_type_id(self) -> Option<u32> {
        match self {
            HeapType::Concrete(id) | HeapType::Exact(id) => Some(id),
            _ => None,
        }
    }

    /// The bottom of this type's hierarchy, whose only value is null.
    pub fn bottom(self) -> HeapType {
        match self.top() {
            HeapType::Extern => HeapType::NoExtern,
            HeapType::Exn => HeapType::NoExn,
            HeapType::Any => HeapType::None,
            _ => HeapType::NoFunc,
        }
    }

    /// Heap-type matching: a concrete type matches itself, the types it is declared a
    /// subtype of, and the abstract type of its kind (`func`, `struct`, `array`) with
    /// those above it; a bottom is below every type of its hierarchy. An exact type
    /// matches what its type matches, and only itself and bottoms match it.
    pub fn matches(self, expected: HeapType) -> bool {
        use HeapType::*;
        if self == expected {
            return true;
        }
        match (self, expected) {
            (_, Exact(_)) => matches!(self, NoFunc | None) && self == expected.bottom(),
            (Exact(actual), _) => Concrete(actual).matches(expected),
            (Concrete(actual), Concrete(expected)) => is_subtype(actual, expected),
            (NoFunc | NoExtern | NoExn | None, _) => self == expected.bottom(),
            (Concrete(id), _) => match type_kind(id) {
                Some(ObjectKind::Struct) => matches!(expected, Struct | Eq | Any),
                Some(ObjectKind::Array) => matches!(expected, Array | Eq | Any),
                _ => expected == Func,
            },
            (I31 | Struct | Array, Eq | Any) | (Eq, Any) => true,
            _ => false,
        }
    }

    /// Where this heap type sits in `HEAP_CODES` and `ABSTRACT_REFS`; a concrete type
    /// sits where `func` does.
    const fn abstract_index(self) -> usize {
        match self {
            HeapType::Func | HeapType::Concrete(_) | HeapType::Exact(_) => 0,
            HeapType::Extern => 1,
            HeapType::Exn => 2,
            HeapType::NoFunc => 3,
            HeapType::NoExtern => 4,
            HeapType::NoExn => 5,
            HeapType::Any => 6,
            HeapType::Eq => 7,
            HeapType::I31 => 8,
            HeapType::Struct => 9,
            HeapType::Array => 10,
            HeapType::None => 11,
        }
    }
}

impl RefType {
    pub const FUNCREF: RefType = RefType::new(true, HeapType::Func);
    pub const EXTERNREF: RefType = RefType::new(true, HeapType::Extern);
    pub const EXNREF: RefType = RefType::new(true, HeapType::Exn);

    /// Type ids are below `MAX_TYPE_ID` (`FuncType::type_id` counts the types of a
    /// process from 1); a larger one panics rather than alias another type.
    pub const fn new(nullable: bool, heap: HeapType) -> RefType {
        if let HeapType::Concrete(id) | HeapType::Exact(id) = heap {
            assert!(id < MAX_TYPE_ID, "type id out of range");
        }
        let code = match heap {
            HeapType::Concrete(id) => HEAP_CODES.len() as u32 + id,
            HeapType::Exact(id) => (HEAP_CODES.len() as u32 + id) | EXACT_BIT,
            abstract_heap => abstract_heap.abstract_index() as u32,
        };
        RefType(code | if nullable { NULLABLE_BIT } else { 0 })
    }

    pub fn nullable(self) -> bool {
        self.0 & NULLABLE_BIT != 0
    }

    pub fn heap(self) -> HeapType {
        if self.0 & EXACT_BIT != 0 {
            return HeapType::Exact((self.0 & !(NULLABLE_BIT | EXACT_BIT)) - HEAP_CODES.len() as u32);
        }
        let code = self.0 & !NULLABLE_BIT;
        match HEAP_CODES.get(code as usize) {
            Some(&abstract_heap) => abstract_heap,
            None => HeapType::Concrete(code - HEAP_CODES.len() as u32),
        }
    }

    /// The same type with null allowed (`true`) or not.
    pub fn with_nullable(self, nullable: bool) -> RefType {
        RefType::new(nullable, self.heap())
    }

    /// Reference-type matching: the heap types match, and null is allowed only where
    /// it is expected.
    pub fn matches(self, expected: RefType) -> bool {
        (!self.nullable() || expected.nullable()) && self.heap().matches(expected.heap())
    }
}

impl fmt::Debug for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefType").field("nullable", &self.nullable()).field("heap", &self.heap()).finish()
    }
}

/// Every abstract reference type, nullable and not, as one-element slices: what
/// `ValType::as_slice` hands out for a block's single result.
static ABSTRACT_REFS: [[[ValType; 1]; 2]; HEAP_CODES.len()] = {
    const fn pair(heap: HeapType) -> [[ValType; 1]; 2] {
        [[ValType::Ref(RefType::new(false, heap))], [ValType::Ref(RefType::new(true, heap))]]
    }
    let mut refs = [[[ValType::I32]; 2]; HEAP_CODES.len()];
    let mut i = 0;
    while i < HEAP_CODES.len() {
        refs[i] = pair(HEAP_CODES[i]);
        i += 1;
    }
    refs
};

impl ValType {
    pub const FUNCREF: ValType = ValType::Ref(RefType::FUNCREF);
    pub const EXTERNREF: ValType = ValType::Ref(RefType::EXTERNREF);
    pub const EXNREF: ValType = ValType::Ref(RefType::EXNREF);
    /// `(ref func)`: any function, never null.
    pub const REF_FUNC: ValType = ValType::Ref(RefType::new(false, HeapType::Func));
    /// `(ref extern)`: any host value, never null (the JS string builtins' type).
    pub const REF_EXTERN: ValType = ValType::Ref(RefType::new(false, HeapType::Extern));
    /// `(ref exn)`.
    pub const REF_EXN: ValType = ValType::Ref(RefType::new(false, HeapType::Exn));
    pub const ANYREF: ValType = ValType::Ref(RefType::new(true, HeapType::Any));

    /// This type alone, as a slice that needs no allocation (a block's single result).
    /// A concrete reference type comes back as the abstract `func` one of the same
    /// nullability: the compiler, the only caller, treats all references alike.
    pub fn as_slice(self) -> &'static [ValType] {
        match self {
            ValType::I32 => &[ValType::I32],
            ValType::I64 => &[ValType::I64],
            ValType::F32 => &[ValType::F32],
            ValType::F64 => &[ValType::F64],
            ValType::V128 => &[ValType::V128],
            ValType::Ref(r) => &ABSTRACT_REFS[r.heap().abstract_index()][r.nullable() as usize],
        }
    }

    pub fn is_ref(self) -> bool {
        matches!(self, ValType::Ref(_))
    }

    /// The reference type, for references.
    pub fn as_ref_type(self) -> Option<RefType> {
        match self {
            ValType::Ref(r) => Some(r),
            _ => None,
        }
    }

    /// Value-type matching (subtyping): numbers and vectors match only themselves,
    /// references as `RefType::matches` says (`(ref extern)` matches `externref`).
    pub fn matches(self, expected: ValType) -> bool {
        match (self, expected) {
            (ValType::Ref(have), ValType::Ref(want)) => have.matches(want),
            _ => self == expected,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, ValType::F32 | ValType::F64)
    }

    /// Whether machine code keeps values of this type in xmm registers.
    pub(crate) fn in_xmm(self) -> bool {
        matches!(self, ValType::F32 | ValType::F64 | ValType::V128)
    }

    /// The engine's type for a wasmparser one, if the engine has it. `type_ids` gives
    /// the process-wide id of each of the module's types, for concrete references; a
    /// type not (yet) in it is one the engine cannot express (GC's recursive types).
    #[inline]
    pub fn from_wasmparser(ty: wasmparser::ValType, type_ids: &[u32]) -> Option<ValType> {
        Some(match ty {
            wasmparser::ValType::I32 => ValType::I32,
            wasmparser::ValType::I64 => ValType::I64,
            wasmparser::ValType::F32 => ValType::F32,
            wasmparser::ValType::F64 => ValType::F64,
            wasmparser::ValType::V128 => ValType::V128,
            wasmparser::ValType::Ref(r) => ValType::Ref(RefType::from_wasmparser(r, type_ids)?),
        })
    }
}

impl RefType {
    /// As `ValType::from_wasmparser`. Out of line: numbers are the common case.
    #[inline(never)]
    pub fn from_wasmparser(r: wasmparser::RefType, type_ids: &[u32]) -> Option<RefType> {
        let heap = HeapType::from_wasmparser(r.heap_type(), type_ids)?;
        // Ids beyond the packed range never occur: that many distinct types would not
        // fit in memory. Refused rather than wrapped all the same.
        if heap.defined_type_id().is_some_and(|id| id >= MAX_TYPE_ID) {
            return None;
        }
        Some(RefType::new(r.is_nullable(), heap))
    }
}

impl HeapType {
    /// As `ValType::from_wasmparser`.
    pub fn from_wasmparser(heap: wasmparser::HeapType, type_ids: &[u32]) -> Option<HeapType> {
        use wasmparser::AbstractHeapType as A;
        Some(match heap {
            wasmparser::HeapType::Abstract { shared: false, ty } => match ty {
                A::Func => HeapType::Func,
                A::Extern => HeapType::Extern,
                A::Exn => HeapType::Exn,
                A::NoFunc => HeapType::NoFunc,
                A::NoExtern => HeapType::NoExtern,
                A::NoExn => HeapType::NoExn,
                A::Any => HeapType::Any,
                A::Eq => HeapType::Eq,
                A::I31 => HeapType::I31,
                A::Struct => HeapType::Struct,
                A::Array => HeapType::Array,
                A::None => HeapType::None,
                _ => return None,
            },
            wasmparser::HeapType::Concrete(index) => {
                HeapType::Concrete(*type_ids.get(index.as_module_index()? as usize)?)
            }
            wasmparser::HeapType::Exact(index) => {
                HeapType::Exact(*type_ids.get(index.as_module_index()? as usize)?)
            }
            _ => return None,
        })
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValType::I32 => f.write_str("i32"),
            ValType::I64 => f.write_str("i64"),
            ValType::F32 => f.write_str("f32"),
            ValType::F64 => f.write_str("f64"),
            ValType::V128 => f.write_str("v128"),
            ValType::Ref(r) => r.fmt(f),
        }
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (nullable, heap) = (self.nullable(), self.heap());
        let short = match heap {
            HeapType::Func => "funcref",
            HeapType::Extern => "externref",
            HeapType::Exn => "exnref",
            HeapType::NoFunc => "nullfuncref",
            HeapType::NoExtern => "nullexternref",
            HeapType::NoExn => "nullexnref",
            HeapType::Any => "anyref",
            HeapType::Eq => "eqref",
            HeapType::I31 => "i31ref",
            HeapType::Struct => "structref",
            HeapType::Array => "arrayref",
            HeapType::None => "nullref",
            HeapType::Concrete(_) | HeapType::Exact(_) => "",
        };
        match (nullable, heap) {
            (true, HeapType::Concrete(_) | HeapType::Exact(_)) | (false, _) => {
                let null = if nullable { "null " } else { "" };
                write!(f, "(ref {null}{heap})")
            }
            (true, _) => f.write_str(short),
        }
    }
}

impl fmt::Display for HeapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeapType::Func => f.write_str("func"),
            HeapType::Extern => f.write_str("extern"),
            HeapType::Exn => f.write_str("exn"),
            HeapType::NoFunc => f.write_str("nofunc"),
            HeapType::NoExtern => f.write_str("noextern"),
            HeapType::NoExn => f.write_str("noexn"),
            HeapType::Any => f.write_str("any"),
            HeapType::Eq => f.write_str("eq"),
            HeapType::I31 => f.write_str("i31"),
            HeapType::Struct => f.write_str("struct"),
            HeapType::Array => f.write_str("array"),
            HeapType::None => f.write_str("none"),
            HeapType::Concrete(id) => {
                // Spelled out only outside a function type's own text: a type may refer
                // to itself, and nested spellings grow exponentially with the depth.
                match FuncType::from_type_id(*id).filter(|_| !SPELLING_FUNC_TYPE.get()) {
                    Some(ty) => ty.fmt(f),
                    None => write!(f, "(type {id})"),
                }
            }
            HeapType::Exact(id) => write!(f, "(exact {})", HeapType::Concrete(*id)),
        }
    }
}

/// A function type. Each has a process-wide id (`type_id`): equal types, equal ids, as
/// the spec's type equivalence says (structural, and for the GC proposal's recursion
/// groups, by the whole group). Equality and hashing go by the id.
///
/// GC's struct and array types are defined types too and share this representation
/// (with no parameters or results, and a `GcLayout`): they live in the same index space,
/// recursion groups and subtype chains as function types.
#[derive(Clone)]
pub struct FuncType {
    /// For struct and array types, their fields and where objects keep them.
    layout: Option<Arc<GcLayout>>,
    params_results: Arc<[ValType]>,
    num_params: u32,
    /// `slot_width`, found once: the compiler asks for it several times per call.
    slot_width: u32,
    id: u32,
    /// Where this type sits below its supertypes: `supertypes[depth] == id`.
    depth: u32,
    /// The chain of declared supertypes from the root down to this type, then zeros
    /// (`supertype_chain`).
    supertypes: &'static [u32; MAX_SUBTYPE_CHAIN],
    /// The custom descriptors proposal: the id of the type of this struct type's
    /// descriptors (its `descriptor` clause), and of the type this one describes.
    descriptor: Option<u32>,
    describes: Option<u32>,
}

/// What a defined type describes. The numbers of structs and arrays are what a GC
/// object's header holds (`OBJECT_KIND`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    Func = 0,
    Struct = 1,
    Array = 2,
}

/// What a struct field or an array element holds: a value, or a packed integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StorageType {
    I8,
    I16,
    Val(ValType),
}

impl StorageType {
    /// The bytes an object gives it.
    pub fn bytes(self) -> u32 {
        match self {
            StorageType::I8 => 1,
            StorageType::I16 => 2,
            StorageType::Val(ValType::I32 | ValType::F32) => 4,
            StorageType::Val(ValType::V128) => 16,
            StorageType::Val(_) => 8,
        }
    }

    /// The type of the values it holds on the operand stack (i32 for packed ones).
    pub fn unpacked(self) -> ValType {
        match self {
            StorageType::Val(v) => v,
            _ => ValType::I32,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldType {
    pub storage: StorageType,
    pub mutable: bool,
}

/// Where a GC object of a struct or array type keeps its fields. Every object starts
/// with a header of `OBJECT_HEADER` bytes: the type's supertype chain (so a cast reads
/// it as `call_indirect` reads a function's), the kind, and an array's length.
pub(crate) struct GcLayout {
    pub kind: ObjectKind,
    /// A struct's fields, or an array's one element type.
    pub fields: Box<[FieldType]>,
    /// Each struct field's byte offset from the object's start.
    pub offsets: Box<[u32]>,
    /// A struct object's bytes, header included; an array's element size.
    pub size: u32,
    /// The struct type has a descriptor (the custom descriptors proposal): objects keep
    /// a reference to theirs at `DESCRIPTOR_OFFSET`, before the fields.
    pub described: bool,
}

/// The header of every GC object: the supertype chain pointer at 0, the kind word at
/// `OBJECT_KIND` (a u32, `kind_word`), an array's length at `ARRAY_LENGTH` (a u32).
pub(crate) const OBJECT_HEADER: u32 = 16;
pub(crate) const OBJECT_KIND: i32 = 8;
/// The byte after the kind: an array's element size, as a shift.
pub(crate) const ELEMENT_SHIFT: i32 = OBJECT_KIND + 1;
pub(crate) const ARRAY_LENGTH: i32 = 12;
/// Where a struct object of a type with a descriptor keeps its descriptor: right after
/// the header. Every type in a chain of declared subtypes has a descriptor or none
/// (wasmparser refuses the rest; `read_rec_group` checks it again), so fields keep their
/// offsets from supertype to subtype.
pub(crate) const DESCRIPTOR_OFFSET: i32 = OBJECT_HEADER as i32;
/// The header's byte that is 1 for a struct whose type has a descriptor, 0 for every
/// other object (`kind_word`'s third byte).
pub(crate) const DESCRIBED_BYTE: i32 = OBJECT_KIND + 2;

/// The bytes an array object of `len` elements of `element_bytes` each takes, header
/// included, rounded up to 8: what the heap and compiled code allocate for it, and what
/// the collector steps over.
pub(crate) fn array_object_bytes(len: u64, element_bytes: u64) -> u64 {
    (OBJECT_HEADER as u64 + len * element_bytes).next_multiple_of(8)
}

/// The id of the type whose supertype chain is `chain` (`FuncType::supertype_chain`):
/// its last entry, the type's own.
pub(crate) fn chain_type_id(chain: &[u32; MAX_SUBTYPE_CHAIN]) -> u32 {
    chain.iter().rev().copied().find(|&id| id != 0).unwrap_or(0)
}

/// The header's u32 at `OBJECT_KIND`: the `ObjectKind` in its low byte, an array's
/// element size (`element_bytes`, a power of two; 1 for a struct) as a shift in the
/// byte after it (`ELEMENT_SHIFT`), then 1 for a struct with a descriptor
/// (`DESCRIBED_BYTE`).
pub(crate) const fn kind_word(kind: ObjectKind, element_bytes: u32) -> u32 {
    kind as u32 | element_bytes.trailing_zeros() << 8
}

impl GcLayout {
    fn new(kind: ObjectKind, fields: Vec<FieldType>, described: bool) -> GcLayout {
        if kind == ObjectKind::Array {
            let size = fields[0].storage.bytes();
            return GcLayout { kind, fields: fields.into(), offsets: Box::new([]), size, described: false };
        }
        let mut offset = OBJECT_HEADER + if described { 8 } else { 0 };
        let offsets = fields
            .iter()
            .map(|f| {
                // Naturally aligned up to 8 bytes: objects are 8-aligned, and vector
                // loads do not need more.
                let align = f.storage.bytes().min(8);
                offset = offset.next_multiple_of(align);
                let at = offset;
                offset += f.storage.bytes();
                at
            })
            .collect();
        GcLayout { kind, fields: fields.into(), offsets, size: offset.next_multiple_of(8), described }
    }

    /// The header's `kind_word` for objects of this layout.
    pub(crate) fn kind_word(&self) -> u32 {
        let element_bytes = if self.kind == ObjectKind::Array { self.size } else { 1 };
        kind_word(self.kind, element_bytes) | (self.described as u32) << (8 * (DESCRIBED_BYTE - OBJECT_KIND))
    }
}

/// The longest chain of supertypes a type can have, itself included: the GC proposal
/// limits subtyping depth to 63 (wasmparser's `MAX_WASM_SUBTYPING_DEPTH`).
pub(crate) const MAX_SUBTYPE_CHAIN: usize = 64;

impl PartialEq for FuncType {
    fn eq(&self, other: &FuncType) -> bool {
        self.id == other.id
    }
}

impl Eq for FuncType {}

impl std::hash::Hash for FuncType {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state)
    }
}

impl FuncType {
    /// A function type of its own: final, with no declared supertype, alone in its
    /// recursion group (every type of WebAssembly 2.0, and of a host function).
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> FuncType {
        let mut all: Vec<ValType> = params.into_iter().collect();
        let num_params = all.len() as u32;
        all.extend(results);
        let params_results: Arc<[ValType]> = all.into();
        let mut registry = type_registry().lock().unwrap_or_else(|e| e.into_inner());
        let key = (params_results.clone(), num_params);
        if let Some(&id) = registry.plain.get(&key) {
            return registry.types[id as usize - 1].clone();
        }
        let ty = registry.add(params_results, num_params, None, None, [None, None]);
        registry.plain.insert(key, ty.id);
        ty
    }

    /// An array type of its own: final, with no declared supertype, alone in its
    /// recursion group: the same type as a module's `(type (array ...))`.
    pub fn new_array(element: FieldType) -> FuncType {
        Self::new_data(GroupComposite::Array(GroupField::of(element)))
    }

    /// A struct type of its own, as `new_array`.
    pub fn new_struct(fields: impl IntoIterator<Item = FieldType>) -> FuncType {
        Self::new_data(GroupComposite::Struct(fields.into_iter().map(GroupField::of).collect()))
    }

    fn new_data(composite: GroupComposite) -> FuncType {
        let member =
            GroupMember { is_final: true, supertype: None, descriptor: None, describes: None, composite };
        intern_rec_group(vec![member]).remove(0)
    }

    #[inline]
    pub fn params(&self) -> &[ValType] {
        &self.params_results[..self.num_params as usize]
    }

    #[inline]
    pub fn results(&self) -> &[ValType] {
        &self.params_results[self.num_params as usize..]
    }

    /// Whether every parameter and result is a number (i32, i64, f32, f64): every raw
    /// bit pattern is then a valid value, which `Func::call_numeric` relies on.
    #[inline]
    pub fn is_numeric(&self) -> bool {
        self.params_results
            .iter()
            .all(|t| matches!(t, ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64))
    }

    /// The 8-byte slots each parameter and result takes in an argument area: 2 when any
    /// of them is a v128, so that value `i` always sits at `[area + 8 * width * i]`.
    #[inline]
    pub fn slot_width(&self) -> usize {
        self.slot_width as usize
    }

    /// The 8-byte slots of the argument area a caller reserves for this type.
    #[inline]
    pub fn area_slots(&self) -> usize {
        self.params().len().max(self.results().len()) * self.slot_width()
    }

    /// The process-wide id that `call_indirect` compares, and that concrete reference
    /// types `(ref $t)` name.
    #[inline]
    pub fn type_id(&self) -> u32 {
        self.id
    }

    /// The type with this id, if there is one.
    pub fn from_type_id(id: u32) -> Option<FuncType> {
        let registry = type_registry().lock().unwrap_or_else(|e| e.into_inner());
        registry.types.get(id.checked_sub(1)? as usize).cloned()
    }

    /// Whether a function of this type may be used where `expected` is: the same type, or
    /// one declared (through `sub`) below it.
    pub fn is_subtype_of(&self, expected: &FuncType) -> bool {
        self.supertypes[expected.depth as usize] == expected.id
    }

    /// What this type describes: functions, structs or arrays.
    pub fn kind(&self) -> ObjectKind {
        self.layout.as_ref().map_or(ObjectKind::Func, |l| l.kind)
    }

    /// A struct type's fields.
    pub fn struct_fields(&self) -> Option<&[FieldType]> {
        self.layout.as_ref().filter(|l| l.kind == ObjectKind::Struct).map(|l| &l.fields[..])
    }

    /// An array type's element.
    pub fn array_element(&self) -> Option<FieldType> {
        self.layout.as_ref().filter(|l| l.kind == ObjectKind::Array).map(|l| l.fields[0])
    }

    pub(crate) fn layout(&self) -> Option<&GcLayout> {
        self.layout.as_deref()
    }

    /// The id of the type of this struct type's descriptors, if it has a descriptor.
    pub fn descriptor_type_id(&self) -> Option<u32> {
        self.descriptor
    }

    /// The id of the struct type this one is the descriptor type of, if any.
    pub fn described_type_id(&self) -> Option<u32> {
        self.describes
    }

    /// How many declared supertypes are above this type.
    pub(crate) fn depth(&self) -> u32 {
        self.depth
    }

    /// The chain of declared supertypes from the root down to this type, then zeros:
    /// a type T of depth d is above this one exactly when `supertype_chain()[d] == T`,
    /// which `call_indirect` checks in machine code through `VMFuncRef::supertypes`
    /// when T may have subtypes. Lives as long as the process, as the type's id does.
    pub(crate) fn supertype_chain(&self) -> &'static [u32; MAX_SUBTYPE_CHAIN] {
        self.supertypes
    }
}

/// What the type with this id describes.
pub(crate) fn type_kind(id: u32) -> Option<ObjectKind> {
    let registry = type_registry().lock().unwrap_or_else(|e| e.into_inner());
    registry.info(id).map(FuncType::kind)
}

/// Type-id matching: `actual` is `expected` or declared below it.
pub fn is_subtype(actual: u32, expected: u32) -> bool {
    if actual == expected {
        return true;
    }
    let registry = type_registry().lock().unwrap_or_else(|e| e.into_inner());
    let (Some(a), Some(e)) = (registry.info(actual), registry.info(expected)) else { return false };
    a.is_subtype_of(e)
}

/// A type of a recursion group, as `intern_rec_group` takes it: references to types of
/// the same group by their position in it, others by their ids.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct GroupMember {
    pub is_final: bool,
    pub supertype: Option<GroupRef>,
    /// The custom descriptors proposal's `descriptor` and `describes` clauses.
    pub descriptor: Option<GroupRef>,
    pub describes: Option<GroupRef>,
    pub composite: GroupComposite,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum GroupComposite {
    Func { params: Vec<GroupValType>, results: Vec<GroupValType> },
    Struct(Vec<GroupField>),
    Array(GroupField),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct GroupField {
    /// `None` for a value of `value`'s type; else the packed integer (I8 or I16).
    pub packed: Option<StorageType>,
    pub value: GroupValType,
    pub mutable: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum GroupRef {
    /// A type outside the group, by its id.
    Id(u32),
    /// The type at this position in the group.
    InGroup(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum GroupValType {
    Val(ValType),
    /// A reference to the type at this position in the group (`exact`: to that type
    /// only, not its subtypes).
    InGroup {
        nullable: bool,
        exact: bool,
        index: u32,
    },
}

impl GroupField {
    /// A field that refers to no type of its own group.
    fn of(field: FieldType) -> GroupField {
        let (packed, value) = match field.storage {
            StorageType::Val(v) => (None, GroupValType::Val(v)),
            packed => (Some(packed), GroupValType::Val(ValType::I32)),
        };
        GroupField { packed, value, mutable: field.mutable }
    }
}

/// The types of a recursion group, with their ids: the same group (member by member,
/// with the same references inside and out) gets the same ids in every module. A group
/// that only holds a plain type (`FuncType::new`'s kind) must be interned as that.
pub(crate) fn intern_rec_group(members: Vec<GroupMember>) -> Vec<FuncType> {
    let mut registry = type_registry().lock().unwrap_or_else(|e| e.into_inner());
    let n = members.len() as u32;
    let first = match registry.groups.get(&members) {
        Some(&first) => first,
        None => {
            let first = registry.types.len() as u32 + 1;
            let resolve = |t: &GroupValType| match *t {
                GroupValType::Val(v) => v,
                GroupValType::InGroup { nullable, exact, index } => {
                    let id = first + index;
                    let heap = if exact { HeapType::Exact(id) } else { HeapType::Concrete(id) };
                    ValType::Ref(RefType::new(nullable, heap))
                }
            };
            let id_of = |r: GroupRef| match r {
                GroupRef::Id(id) => id,
                GroupRef::InGroup(index) => first + index,
            };
            for m in &members {
                let supertype = m.supertype.map(id_of);
                let descriptors = [m.descriptor.map(id_of), m.describes.map(id_of)];
                let field = |f: &GroupField| FieldType {
                    storage: f.packed.unwrap_or_else(|| StorageType::Val(resolve(&f.value))),
                    mutable: f.mutable,
                };
                match &m.composite {
                    GroupComposite::Func { params, results } => {
                        let mut all: Vec<ValType> = params.iter().map(resolve).collect();
                        let num_params = all.len() as u32;
                        all.extend(results.iter().map(resolve));
                        registry.add(all.into(), num_params, supertype, None, descriptors);
                    }
                    GroupComposite::Struct(fields) => {
                        let described = m.descriptor.is_some();
                        let layout =
                            GcLayout::new(ObjectKind::Struct, fields.iter().map(field).collect(), described);
                        registry.add(Arc::new([]), 0, supertype, Some(Arc::new(layout)), descriptors);
                    }
                    GroupComposite::Array(element) => {
                        let layout = GcLayout::new(ObjectKind::Array, vec![field(element)], false);
                        registry.add(Arc::new([]), 0, supertype, Some(Arc::new(layout)), descriptors);
                    }
                }
            }
            registry.groups.insert(members, first);
            first
        }
    };
    (first..first + n).map(|id| registry.types[id as usize - 1].clone()).collect()
}

/// Every function type given an id. Ids start at 1 (0 is no type) and are never reused.
#[derive(Default)]
struct TypeRegistry {
    /// Plain types (`FuncType::new`) by their parameters and results.
    plain: HashMap<(Arc<[ValType]>, u32), u32>,
    /// Recursion groups of any other kind, to the id of their first type.
    groups: HashMap<Vec<GroupMember>, u32>,
    types: Vec<FuncType>,
}

impl TypeRegistry {
    fn info(&self, id: u32) -> Option<&FuncType> {
        self.types.get(id.checked_sub(1)? as usize)
    }

    /// Registers a type under the next id.
    fn add(
        &mut self,
        params_results: Arc<[ValType]>,
        num_params: u32,
        supertype: Option<u32>,
        layout: Option<Arc<GcLayout>>,
        [descriptor, describes]: [Option<u32>; 2],
    ) -> FuncType {
        let id = self.types.len() as u32 + 1;
        let mut chain = [0u32; MAX_SUBTYPE_CHAIN];
        let depth = match supertype.and_then(|s| self.info(s)) {
            Some(parent) => {
                chain = *parent.supertypes;
                parent.depth + 1
            }
            None => 0,
        };
        // Validation bounds the depth; a deeper chain is cut, and the type then matches
        // only itself beyond it (stricter, never looser).
        let depth = depth.min(MAX_SUBTYPE_CHAIN as u32 - 1);
        chain[depth as usize] = id;
        // Leaked on purpose: ids live as long as the process, and machine code reads a
        // type's chain through any function of it.
        let supertypes: &'static [u32; MAX_SUBTYPE_CHAIN] = Box::leak(Box::new(chain));
        let slot_width = if params_results.contains(&ValType::V128) { 2 } else { 1 };
        let ty = FuncType {
            layout,
            params_results,
            num_params,
            slot_width,
            id,
            depth,
            supertypes,
            descriptor,
            describes,
        };
        self.types.push(ty.clone());
        ty
    }
}

fn type_registry() -> &'static Mutex<TypeRegistry> {
    static REGISTRY: OnceLock<Mutex<TypeRegistry>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

impl fmt::Debug for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

thread_local! {
    /// Whether a function type's text is being written: references to concrete types in
    /// it are written as their ids (`HeapType`'s Display).
    static SPELLING_FUNC_TYPE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outer = SPELLING_FUNC_TYPE.replace(true);
        let list = |tys: &[ValType]| tys.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" ");
        let field = |t: &FieldType| {
            let storage = match t.storage {
                StorageType::I8 => "i8".to_string(),
                StorageType::I16 => "i16".to_string(),
                StorageType::Val(v) => v.to_string(),
            };
            if t.mutable {
                format!("(mut {storage})")
            } else {
                storage
            }
        };
        let written = match self.layout.as_deref() {
            Some(GcLayout { kind: ObjectKind::Array, fields, .. }) => {
                write!(f, "(array {})", field(&fields[0]))
            }
            Some(GcLayout { fields, .. }) => {
                let fields: Vec<String> = fields.iter().map(|t| format!(" (field {})", field(t))).collect();
                write!(f, "(struct{})", fields.concat())
            }
            None => write!(f, "(func (param {}) (result {}))", list(self.params()), list(self.results())),
        };
        SPELLING_FUNC_TYPE.set(outer);
        written
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableType {
    pub element: ValType,
    pub minimum: u64,
    pub maximum: Option<u64>,
    /// Indexed by i64 values (memory64's 64-bit tables) rather than i32.
    pub table64: bool,
}

/// The type of a memory's or table's addresses, indices and sizes: i64 for memory64's
/// 64-bit ones (`is_64`), i32 otherwise.
pub(crate) fn index_type(is_64: bool) -> ValType {
    if is_64 {
        ValType::I64
    } else {
        ValType::I32
    }
}

/// The address (or index) a raw value stands for in a memory or table indexed by i64s
/// (`is_64`) or by i32s, whose values are the low 32 bits.
pub(crate) fn address_from_raw(raw: u64, is_64: bool) -> u64 {
    if is_64 {
        raw
    } else {
        raw as u32 as u64
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryType {
    pub minimum: u64,
    pub maximum: Option<u64>,
    /// Addressed by i64 values (memory64) rather than i32. Such a memory still grows no
    /// larger than 4 GiB here, the limit of every memory's reservation; growing further
    /// fails as `memory.grow` may.
    pub memory64: bool,
    /// Shared between agents (the threads proposal): such a memory has a maximum, never
    /// moves, and is what `memory.atomic.wait` needs. Here a store and its memories
    /// stay on one thread, so no other agent can reach it yet.
    pub shared: bool,
    /// Pages of `2^page_size_log2` bytes: 16 (64 KiB), or 0 (1 byte, the custom page
    /// sizes proposal). Memories of 1-byte pages are bounds-checked at every access.
    pub page_size_log2: u8,
}

impl MemoryType {
    /// Whether compiled code checks every access to such a memory against its length,
    /// whatever `Config::explicit_bounds_checks` says: 64-bit addresses and pages
    /// smaller than 64 KiB (whose bytes past the length the system maps) need it.
    pub(crate) fn always_bounds_checked(&self) -> bool {
        self.memory64 || self.page_size_log2 < crate::runtime::memory::DEFAULT_PAGE_SIZE_LOG2
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalType {
    pub content: ValType,
    pub mutable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExternType {
    Func(FuncType),
    Table(TableType),
    Memory(MemoryType),
    Global(GlobalType),
    /// An exception tag: the types of its payload are the function type's parameters
    /// (it has no results).
    Tag(FuncType),
}

#[derive(Clone, Debug)]
pub struct ImportType {
    pub module: String,
    pub name: String,
    pub ty: ExternType,
}

#[derive(Clone, Debug)]
pub struct ExportType {
    pub name: String,
    pub ty: ExternType,
}

//! WebAssembly types as the embedder sees them, and canonical signature ids.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
    V128,
    FuncRef,
    ExternRef,
    /// `(ref extern)`, the non-nullable externref of the function-references proposal.
    /// Machine code treats it exactly like `ExternRef`; only the boundaries differ (null
    /// is not a value of this type).
    NonNullExternRef,
    /// A reference to an exception (`exnref`).
    ExnRef,
    /// `(ref exn)`: like `NonNullExternRef`, the same to machine code as `ExnRef`, and
    /// kept apart at the boundaries.
    NonNullExnRef,
}

impl ValType {
    /// This type alone, as a slice that needs no allocation (a block's single result).
    pub fn as_slice(self) -> &'static [ValType] {
        match self {
            ValType::I32 => &[ValType::I32],
            ValType::I64 => &[ValType::I64],
            ValType::F32 => &[ValType::F32],
            ValType::F64 => &[ValType::F64],
            ValType::V128 => &[ValType::V128],
            ValType::FuncRef => &[ValType::FuncRef],
            ValType::ExternRef => &[ValType::ExternRef],
            ValType::NonNullExternRef => &[ValType::NonNullExternRef],
            ValType::ExnRef => &[ValType::ExnRef],
            ValType::NonNullExnRef => &[ValType::NonNullExnRef],
        }
    }

    pub fn is_ref(self) -> bool {
        matches!(
            self,
            ValType::FuncRef
                | ValType::ExternRef
                | ValType::NonNullExternRef
                | ValType::ExnRef
                | ValType::NonNullExnRef
        )
    }

    /// Value-type matching (subtyping): `(ref extern)` matches `externref`, and
    /// `(ref exn)` matches `exnref`.
    pub fn matches(self, expected: ValType) -> bool {
        self == expected
            || (self == ValType::NonNullExternRef && expected == ValType::ExternRef)
            || (self == ValType::NonNullExnRef && expected == ValType::ExnRef)
    }

    pub fn is_float(self) -> bool {
        matches!(self, ValType::F32 | ValType::F64)
    }

    /// Whether machine code keeps values of this type in xmm registers.
    pub(crate) fn in_xmm(self) -> bool {
        matches!(self, ValType::F32 | ValType::F64 | ValType::V128)
    }

    /// The engine's type for a wasmparser one, if the engine has it.
    pub fn from_wasmparser(ty: wasmparser::ValType) -> Option<ValType> {
        use wasmparser::{AbstractHeapType, HeapType};
        Some(match ty {
            wasmparser::ValType::I32 => ValType::I32,
            wasmparser::ValType::I64 => ValType::I64,
            wasmparser::ValType::F32 => ValType::F32,
            wasmparser::ValType::F64 => ValType::F64,
            wasmparser::ValType::V128 => ValType::V128,
            wasmparser::ValType::Ref(r) if r.is_nullable() => match r.heap_type() {
                HeapType::Abstract { shared: false, ty: AbstractHeapType::Func } => ValType::FuncRef,
                HeapType::Abstract { shared: false, ty: AbstractHeapType::Extern } => ValType::ExternRef,
                HeapType::Abstract { shared: false, ty: AbstractHeapType::Exn } => ValType::ExnRef,
                _ => return None,
            },
            wasmparser::ValType::Ref(r) => match r.heap_type() {
                HeapType::Abstract { shared: false, ty: AbstractHeapType::Extern } => {
                    ValType::NonNullExternRef
                }
                HeapType::Abstract { shared: false, ty: AbstractHeapType::Exn } => ValType::NonNullExnRef,
                _ => return None,
            },
        })
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::V128 => "v128",
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
            ValType::NonNullExternRef => "(ref extern)",
            ValType::ExnRef => "exnref",
            ValType::NonNullExnRef => "(ref exn)",
        })
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FuncType {
    params_results: Arc<[ValType]>,
    num_params: u32,
    /// `slot_width`, found once: the compiler asks for it several times per call.
    slot_width: u32,
}

impl FuncType {
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> FuncType {
        let mut all: Vec<ValType> = params.into_iter().collect();
        let num_params = all.len() as u32;
        all.extend(results);
        let slot_width = if all.contains(&ValType::V128) { 2 } else { 1 };
        FuncType { params_results: all.into(), num_params, slot_width }
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

    /// The process-wide id that `call_indirect` compares: equal types, equal ids.
    pub fn type_id(&self) -> u32 {
        static IDS: OnceLock<Mutex<HashMap<FuncType, u32>>> = OnceLock::new();
        let mut ids = IDS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        let next = ids.len() as u32 + 1;
        *ids.entry(self.clone()).or_insert(next)
    }
}

impl fmt::Debug for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |tys: &[ValType]| tys.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" ");
        write!(f, "(func (param {}) (result {}))", list(self.params()), list(self.results()))
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

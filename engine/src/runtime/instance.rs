//! Instantiation: linking imports, building the VMContext, running initializers.

use super::exception::{Tag, TagInner};
use super::func::{CodeTraits, Func};
use super::gc::{GcHeap, PendingObjects};
use super::global::Global;
use super::store::{Store, StoreInner};
use super::table::Table;
use super::vmcontext::*;
use super::wasm_memory::Memory;
use crate::error::{Error, Result};
use crate::module::{ConstExpr, ConstOp, ElemMode, EntityIndex, Module};
use crate::trap::{Trap, TrapCode};
use crate::types::{address_from_raw, ExternType};
use crate::values::Val;
use std::cell::{Ref, RefCell, UnsafeCell};
use std::rc::{Rc, Weak};

#[derive(Clone, Debug)]
pub enum Extern {
    Func(Func),
    Table(Table),
    Memory(Memory),
    Global(Global),
    Tag(Tag),
}

impl Extern {
    /// Whether this function, table or global was made in `store` (memories and tags
    /// hold no references, and may come from any store).
    fn belongs_to(&self, store: &Store) -> bool {
        let owner = match self {
            Extern::Func(f) => f.0.store.as_ptr(),
            Extern::Table(t) => t.0.store.as_ptr(),
            Extern::Global(g) => g.0.store.as_ptr(),
            Extern::Memory(_) | Extern::Tag(_) => return true,
        };
        std::ptr::eq(owner, Rc::as_ptr(&store.0))
    }

    pub fn ty(&self) -> ExternType {
        match self {
            Extern::Func(f) => ExternType::Func(f.ty()),
            Extern::Table(t) => ExternType::Table(t.ty()),
            Extern::Memory(m) => ExternType::Memory(m.ty()),
            Extern::Global(g) => ExternType::Global(g.ty()),
            Extern::Tag(t) => ExternType::Tag(t.ty()),
        }
    }
}

pub(crate) struct InstanceInner {
    pub module: Module,
    pub vmctx: Box<UnsafeCell<VMContext>>,
    pub funcs: Vec<Func>,
    pub tables: Vec<Table>,
    pub memories: Vec<Memory>,
    pub globals: Vec<Global>,
    pub tags: Vec<Tag>,
    pub store: Weak<StoreInner>,
    /// The store's GC heap, where `struct.new` and `array.new` allocate.
    pub gc_heap: Rc<GcHeap>,
    func_ptrs: Vec<*const VMFuncRef>,
    table_ptrs: Vec<*mut VMTable>,
    memory_ptrs: Vec<*mut VMMemory>,
    global_ptrs: Vec<*mut VMGlobal>,
    tag_ptrs: Vec<*const TagInner>,
    /// Evaluated element segments; None once dropped.
    pub elems: RefCell<Vec<Option<Vec<u64>>>>,
    pub dropped_data: RefCell<Vec<bool>>,
}

#[derive(Clone)]
pub struct Instance(pub(crate) Rc<InstanceInner>);

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Instance")
    }
}

fn limits_match(actual_min: u64, actual_max: Option<u64>, min: u64, max: Option<u64>) -> bool {
    actual_min >= min
        && match max {
            None => true,
            Some(m) => actual_max.is_some_and(|a| a <= m),
        }
}

fn link_error(module: &str, name: &str, why: &str) -> Error {
    Error::Link(format!("import {module}::{name}: {why}"))
}

impl Instance {
    /// Instantiates `module` with `imports` in the module's import order.
    pub fn new(store: &Store, module: &Module, imports: &[Extern]) -> Result<Instance> {
        let info = &module.0.info;
        if imports.len() != info.imports.len() {
            return Err(Error::Link(format!(
                "expected {} imports, got {}",
                info.imports.len(),
                imports.len()
            )));
        }
        let mut funcs = Vec::new();
        let mut tables = Vec::new();
        let mut memories = Vec::new();
        let mut globals = Vec::new();
        let mut tags = Vec::new();
        for (position, ((import, _), provided)) in info.imports.iter().zip(imports).enumerate() {
            let (m, n) = (&import.module, &import.name);
            // A function, table or global of another store would hand this store's code
            // that store's functions and objects, which only their own store keeps alive.
            if !provided.belongs_to(store) {
                return Err(link_error(m, n, "it belongs to another store"));
            }
            match (&import.ty, provided) {
                (ExternType::Func(want), Extern::Func(f)) => {
                    // A function of a declared subtype serves where its supertype is
                    // wanted (GC's subtyping; otherwise the types must be equal).
                    let exact = info.exact_func_imports.contains(&position);
                    if !f.signature().is_subtype_of(want) || exact && f.signature() != want {
                        return Err(link_error(
                            m,
                            n,
                            &format!("incompatible import type: expected {want}, got {}", f.ty()),
                        ));
                    }
                    funcs.push(f.clone());
                }
                (ExternType::Table(want), Extern::Table(t)) => {
                    let have = t.ty();
                    if have.element != want.element
                        || have.table64 != want.table64
                        || !limits_match(have.minimum, have.maximum, want.minimum, want.maximum)
                    {
                        return Err(link_error(m, n, "incompatible import type: table"));
                    }
                    tables.push(t.clone());
                }
                (ExternType::Memory(want), Extern::Memory(mem)) => {
                    if !memory_matches(mem, want) {
                        return Err(link_error(m, n, "incompatible import type: memory"));
                    }
                    memories.push(mem.clone());
                }
                (ExternType::Global(want), Extern::Global(g)) => {
                    // Immutable globals are covariant: a `(ref extern)` global can be
                    // imported as an `externref` one. Mutable ones must match exactly.
                    let have = g.ty();
                    let matches = have == *want
                        || (!have.mutable && !want.mutable && have.content.matches(want.content));
                    if !matches {
                        return Err(link_error(m, n, "incompatible import type: global"));
                    }
                    globals.push(g.clone());
                }
                (ExternType::Tag(want), Extern::Tag(t)) => {
                    if t.ty() != *want {
                        return Err(link_error(m, n, "incompatible import type: tag"));
                    }
                    tags.push(t.clone());
                }
                _ => return Err(link_error(m, n, "incompatible import type: wrong kind")),
            }
        }

        let vmctx = Box::new(UnsafeCell::new(VMContext {
            runtime: store.0.runtime(),
            memory0_base: std::ptr::null_mut(),
            memories: std::ptr::null(),
            func_refs: std::ptr::null(),
            tables: std::ptr::null(),
            table0: std::ptr::null_mut(),
            globals: std::ptr::null(),
            global0: std::ptr::null_mut(),
            tags: std::ptr::null(),
            instance: std::ptr::null(),
            gc_bump: store.0.gc_heap.bump(),
        }));
        let vmctx_ptr = vmctx.get();

        if let Some(code) = &module.0.code {
            for (i, &offset) in module.0.func_offsets.iter().enumerate() {
                let index = info.num_imported_funcs + i as u32;
                let ty = info.func_type(index).clone();
                // SAFETY: offsets lie within the module's code memory.
                let entry = unsafe { code.as_ptr().add(offset as usize) };
                let code_traits = CodeTraits::of(&module.0.handlers[i]);
                funcs.push(Func::new_wasm(store, ty, entry, vmctx_ptr, index, code_traits));
            }
        }
        let func_ptrs: Vec<_> = funcs.iter().map(|f| f.raw()).collect();
        let heap = &store.0.gc_heap;
        // Objects the constant expressions make stay roots until the instance holds
        // them, so their allocations may collect.
        let pending = heap.pending_objects();
        fn env<'a>(
            globals: &'a [Global],
            funcs: &'a [*const VMFuncRef],
            heap: &'a Rc<GcHeap>,
            pending: &'a PendingObjects<'a>,
            info: &'a crate::module::ModuleInfo,
        ) -> ConstEnv<'a> {
            ConstEnv { globals, funcs, heap, pending, types: &info.types }
        }

        // Globals may refer to imported globals and to functions.
        for init in &info.global_inits {
            let index = globals.len();
            let value = eval_const(init, &env(&globals, &func_ptrs, heap, &pending, info))?;
            globals.push(Global::new_raw(store, info.globals[index].clone(), value));
        }
        let defined_tables = &info.tables[info.num_imported_tables as usize..];
        for (ty, init) in defined_tables.iter().zip(&info.table_inits) {
            let init = match init {
                None => Val::default_for(ty.element),
                // SAFETY: a reference a constant expression gives is null, one of this
                // instance's functions, or an imported global's value: all alive.
                Some(expr) => unsafe {
                    Val::from_raw(
                        ty.element,
                        eval_const(expr, &env(&globals, &func_ptrs, heap, &pending, info))? as u64,
                    )
                },
            };
            tables.push(Table::new(store, ty.clone(), init)?);
        }
        for ty in &info.memories[info.num_imported_memories as usize..] {
            let memory = store.create_memory(ty)?;
            // The embedder's memory creator may return anything: the code relies on
            // the declared address type, page size and sharing.
            if !memory_matches(&memory, ty) {
                return Err(Error::Link(format!("the memory creator made {:?} for {ty:?}", memory.ty())));
            }
            memories.push(memory);
        }
        // Code compiled for guard pages reads and writes up to 8 GiB past a memory's
        // length unchecked: bytes the embedder owns have no guard pages after them.
        for (memory, ty) in memories.iter().zip(&info.memories) {
            if memory.is_external() && !info.explicit_bounds_checks && !ty.always_bounds_checked() {
                return Err(Error::Link(
                    "a memory of bytes the embedder owns needs code compiled with explicit bounds checks"
                        .into(),
                ));
            }
        }

        for &ty in &info.tags[info.num_imported_tags as usize..] {
            tags.push(Tag::new(store, info.types[ty as usize].clone())?);
        }

        let elems = info
            .elems
            .iter()
            .map(|seg| {
                seg.items
                    .iter()
                    .map(|e| {
                        eval_const(e, &env(&globals, &func_ptrs, heap, &pending, info)).map(|v| v as u64)
                    })
                    .collect::<Result<Vec<u64>>>()
            })
            .collect::<Result<Vec<_>>>()?;

        let table_ptrs: Vec<_> = tables.iter().map(|t| t.vm()).collect();
        let memory_ptrs: Vec<_> = memories.iter().map(|m| m.vm()).collect();
        let global_ptrs: Vec<_> = globals.iter().map(|g| g.vm()).collect();
        let tag_ptrs: Vec<_> = tags.iter().map(|t| t.raw()).collect();
        let inner = Rc::new(InstanceInner {
            module: module.clone(),
            vmctx,
            funcs,
            tables,
            memories,
            globals,
            tags,
            store: store.weak(),
            gc_heap: store.0.gc_heap.clone(),
            func_ptrs,
            table_ptrs,
            memory_ptrs,
            global_ptrs,
            tag_ptrs,
            elems: RefCell::new(elems.into_iter().map(Some).collect()),
            dropped_data: RefCell::new(vec![false; info.data.len()]),
        });
        // SAFETY: the vectors and the instance are owned by `inner`, never resized, and
        // outlive every use of the vmctx (the store keeps the instance alive).
        unsafe {
            let ctx = &mut *inner.vmctx.get();
            ctx.func_refs = inner.func_ptrs.as_ptr();
            ctx.tables = inner.table_ptrs.as_ptr();
            ctx.table0 = inner.table_ptrs.first().map_or(std::ptr::null_mut(), |&t| t);
            ctx.memories = inner.memory_ptrs.as_ptr();
            ctx.globals = inner.global_ptrs.as_ptr();
            ctx.global0 = inner.global_ptrs.first().map_or(std::ptr::null_mut(), |&g| g);
            ctx.tags = inner.tag_ptrs.as_ptr().cast();
            ctx.memory0_base = inner.memories.first().map_or(std::ptr::null_mut(), |m| m.data_ptr());
            ctx.instance = Rc::as_ptr(&inner).cast();
        }
        store.0.keep_alive(inner.clone());
        drop(pending);
        let instance = Instance(inner);
        instance.initialize(store)?;
        Ok(instance)
    }

    /// Active segments in order, then the start function. A trap here leaves earlier
    /// writes in place, as the spec requires.
    fn initialize(&self, store: &Store) -> Result<()> {
        let inner = &self.0;
        let info = &inner.module.0.info;
        let trap = |c: TrapCode| Error::Trap(Trap::new(c));
        let pending = inner.gc_heap.pending_objects();
        let env = ConstEnv {
            globals: &inner.globals,
            funcs: &inner.func_ptrs,
            heap: &inner.gc_heap,
            pending: &pending,
            types: &info.types,
        };
        for (i, seg) in info.elems.iter().enumerate() {
            match &seg.mode {
                ElemMode::Active { table, offset } => {
                    let raw = eval_const(offset, &env)? as u64;
                    let offset = address_from_raw(raw, info.tables[*table as usize].table64);
                    inner.table_init(*table, i as u32, offset, 0, seg.items.len() as u64).map_err(trap)?;
                    inner.elems.borrow_mut()[i] = None;
                }
                ElemMode::Declared => inner.elems.borrow_mut()[i] = None,
                ElemMode::Passive => {}
            }
        }
        for (i, seg) in info.data.iter().enumerate() {
            if let Some((memory, offset)) = &seg.active {
                let raw = eval_const(offset, &env)? as u64;
                let offset = address_from_raw(raw, info.memories[*memory as usize].memory64);
                inner.memory_init(*memory, i as u32, offset, 0, seg.bytes.len() as u64).map_err(trap)?;
                inner.dropped_data.borrow_mut()[i] = true;
            }
        }
        if let Some(start) = info.start {
            inner.funcs[start as usize].call(&[])?;
        }
        let _ = store;
        Ok(())
    }

    pub fn get_export(&self, name: &str) -> Option<Extern> {
        let info = &self.0.module.0.info;
        let (_, e) = info.exports.iter().find(|(n, _)| n == name)?;
        Some(self.entity(*e))
    }

    pub fn exports(&self) -> Vec<(String, Extern)> {
        self.0.module.0.info.exports.iter().map(|(n, e)| (n.clone(), self.entity(*e))).collect()
    }

    pub fn module(&self) -> &Module {
        &self.0.module
    }

    fn entity(&self, e: EntityIndex) -> Extern {
        let i = &self.0;
        match e {
            EntityIndex::Func(x) => Extern::Func(i.funcs[x as usize].clone()),
            EntityIndex::Table(x) => Extern::Table(i.tables[x as usize].clone()),
            EntityIndex::Memory(x) => Extern::Memory(i.memories[x as usize].clone()),
            EntityIndex::Global(x) => Extern::Global(i.globals[x as usize].clone()),
            EntityIndex::Tag(x) => Extern::Tag(i.tags[x as usize].clone()),
        }
    }

    /// Calls an exported function by name.
    pub fn call(&self, name: &str, params: &[crate::values::Val]) -> Result<Vec<crate::values::Val>> {
        match self.get_export(name) {
            Some(Extern::Func(f)) => f.call(params),
            _ => Err(Error::Link(format!("no exported function named {name:?}"))),
        }
    }
}

impl InstanceInner {
    /// The references of element segment `elem`, none once dropped.
    pub fn elem_items(&self, elem: u32) -> Ref<'_, [u64]> {
        Ref::map(self.elems.borrow(), |elems| {
            elems.get(elem as usize).and_then(|e| e.as_deref()).unwrap_or(&[])
        })
    }

    pub fn table_init(&self, table: u32, elem: u32, dst: u64, src: u64, len: u64) -> Result<(), TrapCode> {
        let items = self.elem_items(elem);
        let end =
            src.checked_add(len).filter(|&e| e <= items.len() as u64).ok_or(TrapCode::TableOutOfBounds)?;
        let t = self.tables.get(table as usize).ok_or(TrapCode::TableOutOfBounds)?;
        t.init_raw(dst, &items[src as usize..end as usize])
    }

    /// The bytes of data segment `data`, none once dropped.
    pub fn data_bytes(&self, data: u32) -> &[u8] {
        let info = &self.module.0.info;
        let dropped = self.dropped_data.borrow().get(data as usize).copied().unwrap_or(true);
        if dropped {
            &[]
        } else {
            &info.data_bytes[info.data[data as usize].bytes.clone()]
        }
    }

    pub fn memory_init(&self, memory: u32, data: u32, dst: u64, src: u64, len: u64) -> Result<(), TrapCode> {
        let bytes = self.data_bytes(data);
        let end =
            src.checked_add(len).filter(|&e| e <= bytes.len() as u64).ok_or(TrapCode::MemoryOutOfBounds)?;
        let m = self.memories.get(memory as usize).ok_or(TrapCode::MemoryOutOfBounds)?;
        m.write(dst, &bytes[src as usize..end as usize])
    }
}

/// What constant expressions read: the instance's globals and functions so far, and
/// for GC's constant allocations, the store's heap and the module's types.
struct ConstEnv<'a> {
    globals: &'a [Global],
    funcs: &'a [*const VMFuncRef],
    heap: &'a Rc<GcHeap>,
    /// Holds every object made here (collections may run while only Rust vectors do).
    pending: &'a PendingObjects<'a>,
    types: &'a [crate::types::FuncType],
}

/// A constant expression's value: a v128's 128 bits, other values in the low 64 bits.
fn eval_const(expr: &ConstExpr, env: &ConstEnv) -> Result<u128> {
    let bad = || Error::compile("malformed constant expression", 0);
    let operand = |op: ConstOp| -> Result<Option<u128>> {
        Ok(Some(match op {
            ConstOp::I32(v) => v as u32 as u128,
            ConstOp::I64(v) => v as u64 as u128,
            ConstOp::F32(b) => b as u128,
            ConstOp::F64(b) => b as u128,
            ConstOp::V128(bits) => bits,
            ConstOp::RefNull => 0,
            ConstOp::RefFunc(f) => *env.funcs.get(f as usize).ok_or_else(bad)? as u128,
            ConstOp::GlobalGet(g) => env.globals.get(g as usize).ok_or_else(bad)?.get_raw128(),
            _ => return Ok(None),
        }))
    };
    if let ConstExpr::One(op) = expr {
        if let Some(v) = operand(*op)? {
            return Ok(v);
        }
    }
    let mut stack: Vec<u128> = Vec::with_capacity(2);
    // An allocation here is a safepoint: what this instantiation made so far is pending,
    // the globals and tables are the store's, and the rest are not objects.
    let allocate = |make: &dyn Fn(&GcHeap) -> Option<u64>| -> Result<u128> {
        let object = {
            let _safepoint = env.heap.safepoint();
            make(env.heap)
        };
        let object = object.ok_or_else(|| Error::Trap(Trap::new(TrapCode::AllocationTooLarge)))?;
        env.pending.hold(object);
        Ok(object.into())
    };
    // The values on top of the stack as the 16-byte slots the heap's constructors read.
    let slots = |stack: &mut Vec<u128>, n: usize| -> Result<Vec<[u8; 16]>> {
        let start = stack.len().checked_sub(n).ok_or_else(bad)?;
        Ok(stack.drain(start..).map(u128::to_le_bytes).collect())
    };
    for &op in expr.ops() {
        if let Some(v) = operand(op)? {
            stack.push(v);
            continue;
        }
        let ty = |index: u32| env.types.get(index as usize).ok_or_else(bad);
        let v = match op {
            ConstOp::RefI31 => (stack.pop().ok_or_else(bad)? as u64 & 0x7fff_ffff) as u128 * 2 + 1,
            ConstOp::ConvertReference => stack.pop().ok_or_else(bad)?,
            ConstOp::StructNew(t) => {
                let ty = ty(t)?;
                let n = ty.struct_fields().ok_or_else(bad)?.len();
                let fields = slots(&mut stack, n)?;
                // SAFETY: a slot per field.
                allocate(&|heap| unsafe { heap.new_struct_from(ty, fields.as_ptr().cast()) })?
            }
            ConstOp::StructNewDefault(t) => {
                let ty = ty(t)?;
                allocate(&|heap| heap.new_struct(ty))?
            }
            ConstOp::StructNewDesc(t) | ConstOp::StructNewDefaultDesc(t) => {
                let descriptor = stack.pop().ok_or_else(bad)? as u64;
                if descriptor == 0 {
                    return Err(Error::Trap(Trap::new(TrapCode::NullDescriptorReference)));
                }
                let ty = ty(t)?;
                let n = if matches!(op, ConstOp::StructNewDesc(_)) {
                    ty.struct_fields().ok_or_else(bad)?.len()
                } else {
                    0
                };
                let fields = slots(&mut stack, n)?;
                allocate(&|heap| {
                    let object = match n {
                        0 => heap.new_struct(ty)?,
                        // SAFETY: a slot per field.
                        _ => unsafe { heap.new_struct_from(ty, fields.as_ptr().cast())? },
                    };
                    // SAFETY: just made, of a validated described type.
                    unsafe { heap.set_descriptor(object, descriptor) };
                    Some(object)
                })?
            }
            ConstOp::ArrayNew(t) => {
                let len = stack.pop().ok_or_else(bad)? as u32;
                let value = slots(&mut stack, 1)?;
                let ty = ty(t)?;
                // SAFETY: one 16-byte slot.
                allocate(&|heap| unsafe { heap.new_array_filled(ty, value.as_ptr().cast(), len) })?
            }
            ConstOp::ArrayNewDefault(t) => {
                let len = stack.pop().ok_or_else(bad)? as u32;
                let ty = ty(t)?;
                allocate(&|heap| heap.new_array(ty, len))?
            }
            ConstOp::ArrayNewFixed(t, n) => {
                let values = slots(&mut stack, n as usize)?;
                let ty = ty(t)?;
                // SAFETY: `n` slots.
                allocate(&|heap| unsafe { heap.new_array_from(ty, n, values.as_ptr().cast()) })?
            }
            _ => {
                let b = stack.pop().ok_or_else(bad)?;
                let a = stack.pop().ok_or_else(bad)?;
                match op {
                    ConstOp::I32Add => (a as u32).wrapping_add(b as u32) as u128,
                    ConstOp::I32Sub => (a as u32).wrapping_sub(b as u32) as u128,
                    ConstOp::I32Mul => (a as u32).wrapping_mul(b as u32) as u128,
                    ConstOp::I64Add => (a as u64).wrapping_add(b as u64) as u128,
                    ConstOp::I64Sub => (a as u64).wrapping_sub(b as u64) as u128,
                    _ => (a as u64).wrapping_mul(b as u64) as u128,
                }
            }
        };
        stack.push(v);
    }
    stack.pop().ok_or_else(bad)
}

/// Whether `memory` can serve where a memory of type `want` is declared: the same address
/// type, sharing and page size, and limits within `want`'s.
fn memory_matches(memory: &Memory, want: &crate::types::MemoryType) -> bool {
    let have = memory.ty();
    have.memory64 == want.memory64
        && have.shared == want.shared
        && have.page_size_log2 == want.page_size_log2
        && limits_match(have.minimum, have.maximum, want.minimum, want.maximum)
}

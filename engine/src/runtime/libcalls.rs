//! Runtime helpers that compiled code calls for operations too large to inline.
//!
//! Each takes the caller's vmctx first and returns 0 or a `TrapCode` (or, for the
//! grow operations, the old size / -1). They must never unwind into machine code.

use super::exception;
use super::instance::InstanceInner;
use super::table::Table;
use super::vmcontext::VMContext;
use super::wasm_memory::Memory;
use crate::trap::TrapCode;
use crate::types::ValType;

/// # Safety
/// `vmctx` must be the context of a live instance (compiled code passes its own).
unsafe fn instance<'a>(vmctx: *mut VMContext) -> &'a InstanceInner {
    // SAFETY: per the contract, `instance` points at the live InstanceInner.
    unsafe { &*((*vmctx).instance as *const InstanceInner) }
}

fn status(r: Result<(), TrapCode>) -> u32 {
    match r {
        Ok(()) => 0,
        Err(c) => c as u32,
    }
}

/// `throw tag`: a new in-flight exception of the instance's tag `tag` with the payload
/// at `args` (one slot per parameter). Returns the exnref.
///
/// # Safety
/// Called only by compiled code, with the vmctx of a live instance, a tag index the
/// validator checked and the tag's parameters at `args`.
pub unsafe extern "C" fn exception_new(vmctx: *mut VMContext, tag: u32, args: *const u64) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let i = unsafe { instance(vmctx) };
    let tag = i.tags[tag as usize].clone();
    let ty = &tag.0.ty;
    let width = ty.slot_width();
    // SAFETY: the caller stored the parameters at `args`, laid out for the tag's type
    // (`slot_width` 8-byte words each).
    let slots = unsafe { std::slice::from_raw_parts(args, ty.area_slots()) };
    // 32-bit values were stored with 4-byte writes: the upper half of their slots is
    // stale, and the payload is written back whole into frame slots, so clear it.
    let payload: Box<[u64]> = slots
        .iter()
        .enumerate()
        .map(|(k, &raw)| match (ty.params()[k / width], k % width) {
            (ValType::I32 | ValType::F32, 0) => raw as u32 as u64,
            _ => raw,
        })
        .collect();
    exception::new_in_flight(tag, payload)
}

// The memory helpers take addresses and lengths as u64: a 64-bit memory's are i64s, and
// compiled code passes i32 operands zero-extended (`call_helper_at`).

/// The old size in pages, or u64::MAX (-1 once a 32-bit memory's caller truncates it).
///
/// # Safety
/// Called only by compiled code, with the vmctx of a live instance and indices the
/// validator checked.
pub unsafe extern "C" fn memory_grow(vmctx: *mut VMContext, mem: u32, delta: u64) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let i = unsafe { instance(vmctx) };
    i.memories.get(mem as usize).and_then(|m| m.grow(delta)).unwrap_or(u64::MAX)
}

/// # Safety
/// Called only by compiled code, with the vmctx of a live instance and indices the
/// validator checked.
pub unsafe extern "C" fn memory_fill(vmctx: *mut VMContext, mem: u32, dst: u64, val: u32, len: u64) -> u32 {
    // SAFETY: as above.
    let i = unsafe { instance(vmctx) };
    status(i.memories[mem as usize].fill(dst, val as u8, len))
}

/// # Safety
/// Called only by compiled code, with the vmctx of a live instance and indices the
/// validator checked.
pub unsafe extern "C" fn memory_copy(
    vmctx: *mut VMContext,
    dst_mem: u32,
    src_mem: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: as above.
    let i = unsafe { instance(vmctx) };
    status(Memory::copy(&i.memories[dst_mem as usize], &i.memories[src_mem as usize], dst, src, len))
}

/// # Safety
/// Called only by compiled code, with the vmctx of a live instance and indices the
/// validator checked.
pub unsafe extern "C" fn memory_init(
    vmctx: *mut VMContext,
    mem: u32,
    data: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: as above.
    let i = unsafe { instance(vmctx) };
    status(i.memory_init(mem, data, dst, src, len))
}

/// # Safety
/// Called only by compiled code, with the vmctx of a live instance and indices the
/// validator checked.
pub unsafe extern "C" fn data_drop(vmctx: *mut VMContext, data: u32) -> u32 {
    // SAFETY: as above.
    let i = unsafe { instance(vmctx) };
    if let Some(d) = i.dropped_data.borrow_mut().get_mut(data as usize) {
        *d = true;
    }
    0
}

// Like the memory helpers, the table helpers take indices and lengths as u64 (64-bit
// tables' are i64s; i32 operands arrive zero-extended).

/// The old size, or u64::MAX (-1 once a 32-bit table's caller truncates it).
///
/// # Safety
/// Called only by compiled code, with the vmctx of a live instance and indices the
/// validator checked.
pub unsafe extern "C" fn table_grow(vmctx: *mut VMContext, table: u32, init: u64, delta: u64) -> u64 {
    // SAFETY: as above.
    let i = unsafe { instance(vmctx) };
    i.tables.get(table as usize).and_then(|t| t.grow_raw(delta, init)).unwrap_or(u64::MAX)
}

/// # Safety
/// Called only by compiled code, with the vmctx of a live instance and indices the
/// validator checked.
pub unsafe extern "C" fn table_fill(vmctx: *mut VMContext, table: u32, dst: u64, val: u64, len: u64) -> u32 {
    // SAFETY: as above.
    let i = unsafe { instance(vmctx) };
    status(i.tables[table as usize].fill_raw(dst, val, len))
}

/// # Safety
/// Called only by compiled code, with the vmctx of a live instance and indices the
/// validator checked.
pub unsafe extern "C" fn table_copy(
    vmctx: *mut VMContext,
    dst_table: u32,
    src_table: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: as above.
    let i = unsafe { instance(vmctx) };
    let (d, s) = (&i.tables[dst_table as usize], &i.tables[src_table as usize]);
    status(Table::copy_within_or_from(d, s, dst, src, len))
}

/// # Safety
/// Called only by compiled code, with the vmctx of a live instance and indices the
/// validator checked.
pub unsafe extern "C" fn table_init(
    vmctx: *mut VMContext,
    table: u32,
    elem: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: as above.
    let i = unsafe { instance(vmctx) };
    status(i.table_init(table, elem, dst, src, len))
}

/// # Safety
/// Called only by compiled code, with the vmctx of a live instance and indices the
/// validator checked.
pub unsafe extern "C" fn elem_drop(vmctx: *mut VMContext, elem: u32) -> u32 {
    // SAFETY: as above.
    let i = unsafe { instance(vmctx) };
    if let Some(e) = i.elems.borrow_mut().get_mut(elem as usize) {
        *e = None;
    }
    0
}

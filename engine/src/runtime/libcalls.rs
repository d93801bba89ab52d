//! Runtime helpers that compiled code calls for operations too large to inline.
//!
//! Each takes the caller's vmctx first and returns 0 or a `TrapCode` (or, for the
//! grow operations, the old size / -1). They must never unwind into machine code.

use super::exception;
use super::gc;
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

// ---- GC objects ----
//
// Operands arrive in an area of 16-byte slots (`FuncCompiler::call_with_area`), each value's
// bits little-endian from its slot's start; 32-bit values' upper halves are stale. The
// allocating helpers return the new object's address, or a `TrapCode` (below any
// address) when they trap.

/// # Safety
/// `area` holds at least `slot + 1` slots.
unsafe fn slot_u32(area: *const u8, slot: usize) -> u32 {
    // SAFETY: per the contract.
    unsafe { area.add(16 * slot).cast::<u32>().read_unaligned() }
}

/// # Safety
/// As `slot_u32`.
unsafe fn slot_u64(area: *const u8, slot: usize) -> u64 {
    // SAFETY: per the contract.
    unsafe { area.add(16 * slot).cast::<u64>().read_unaligned() }
}

/// Allocating helpers' results below this are trap codes, not object addresses.
pub(crate) const FIRST_OBJECT_ADDRESS: i32 = 64;

/// Zeroed memory for an object of `bytes` whose header compiled code writes, when the
/// heap's bump pointer ran out (called through the GC allocation stub): its address,
/// or a trap code past the heap's limit.
///
/// # Safety
/// Called only by compiled code (through the stub), with the vmctx of a live instance.
pub unsafe extern "C" fn gc_alloc(vmctx: *mut VMContext, bytes: u64) -> u64 {
    // SAFETY: as above.
    let i = unsafe { instance(vmctx) };
    let _safepoint = i.gc_heap.safepoint();
    i.gc_heap.alloc_raw(bytes).unwrap_or(TrapCode::AllocationTooLarge as u64)
}

fn object_or_trap(object: Result<u64, TrapCode>) -> u64 {
    match object {
        Ok(address) => address,
        Err(code) => code as u64,
    }
}

/// The elements of the array in slot `slot`, or the trap of a null one.
///
/// # Safety
/// As `slot_u32`; the slot holds a null or live array reference.
unsafe fn array_in_slot(area: *const u8, slot: usize) -> Result<gc::ArrayView, TrapCode> {
    // SAFETY: per the contract.
    match unsafe { slot_u64(area, slot) } {
        0 => Err(TrapCode::NullArrayReference),
        // SAFETY: a live array, per the contract.
        raw => Ok(unsafe { gc::array_view(raw) }),
    }
}

/// `array.new` (`area`: the value, the length) and `array.new_default` (`area`: the
/// length), told apart by `default`.
///
/// # Safety
/// Called only by compiled code, with the vmctx of a live instance, an array type
/// index the validator checked and the slots described above.
pub unsafe extern "C" fn array_new(vmctx: *mut VMContext, ty: u32, default: u32, area: *const u8) -> u64 {
    // SAFETY: as above.
    let i = unsafe { instance(vmctx) };
    let ty = &i.module.0.info.types[ty as usize];
    let zero = [0u8; 16];
    // SAFETY: the slots compiled code stored.
    let (value, len) = unsafe {
        if default != 0 {
            (zero.as_ptr(), slot_u32(area, 0))
        } else {
            (area, slot_u32(area, 1))
        }
    };
    // `value` is in compiled code's frame (or here), which the collector scans.
    let _safepoint = i.gc_heap.safepoint();
    // SAFETY: `value` holds 16 bytes.
    unsafe { i.gc_heap.new_array_filled(ty, value, len) }.map_or(TrapCode::AllocationTooLarge as u64, |o| o)
}

/// A data or element segment as the array instructions read it: its bytes, the bytes of
/// one of its units (a data byte, an element's reference), and the trap of a range past
/// its end.
struct Segment<'a> {
    bytes: &'a [u8],
    unit: u64,
    past_end: TrapCode,
}

impl<'a> Segment<'a> {
    fn data(bytes: &'a [u8]) -> Segment<'a> {
        Segment { bytes, unit: 1, past_end: TrapCode::MemoryOutOfBounds }
    }

    fn elements(items: &'a [u64]) -> Segment<'a> {
        // SAFETY: the u64s' own bytes, for as long as they are borrowed.
        let bytes = unsafe { std::slice::from_raw_parts(items.as_ptr().cast::<u8>(), items.len() * 8) };
        Segment { bytes, unit: 8, past_end: TrapCode::TableOutOfBounds }
    }

    /// `len` bytes from unit `offset` on.
    fn range(&self, offset: u32, len: u64) -> Result<&'a [u8], TrapCode> {
        let start = offset as u64 * self.unit;
        let end =
            start.checked_add(len).filter(|&end| end <= self.bytes.len() as u64).ok_or(self.past_end)?;
        Ok(&self.bytes[start as usize..end as usize])
    }
}

/// `array.new_data` and `array.new_elem` (`area`: the segment offset, the length): an
/// array of type `ty` whose elements are the segment's.
///
/// # Safety
/// As `array_new_data`.
unsafe fn array_new_from(i: &InstanceInner, ty: u32, segment: Segment, area: *const u8) -> u64 {
    let ty = &i.module.0.info.types[ty as usize];
    // SAFETY: the slots compiled code stored.
    let (offset, len) = unsafe { (slot_u32(area, 0), slot_u32(area, 1) as u64) };
    let size = ty.array_element().map_or(1, |e| e.storage.bytes()) as u64;
    object_or_trap(segment.range(offset, len * size).and_then(|bytes| {
        // The segment's references are the instance's, which the collector scans.
        let _safepoint = i.gc_heap.safepoint();
        i.gc_heap.new_array_from_bytes(ty, bytes).ok_or(TrapCode::AllocationTooLarge)
    }))
}

/// `array.new_data`.
///
/// # Safety
/// Called only by compiled code, with the vmctx of a live instance, an array type of
/// numbers and a data index the validator checked, and the slots described above.
pub unsafe extern "C" fn array_new_data(vmctx: *mut VMContext, ty: u32, data: u32, area: *const u8) -> u64 {
    // SAFETY: as above.
    let i = unsafe { instance(vmctx) };
    // SAFETY: forwarded.
    unsafe { array_new_from(i, ty, Segment::data(i.data_bytes(data)), area) }
}

/// `array.new_elem`.
///
/// # Safety
/// Called only by compiled code, with the vmctx of a live instance, an array type of
/// references and an element index the validator checked, and the slots described
/// above.
pub unsafe extern "C" fn array_new_elem(vmctx: *mut VMContext, ty: u32, elem: u32, area: *const u8) -> u64 {
    // SAFETY: as above.
    let i = unsafe { instance(vmctx) };
    let items = i.elem_items(elem);
    // SAFETY: forwarded.
    unsafe { array_new_from(i, ty, Segment::elements(&items), area) }
}

/// `array.fill` (`area`: the array, the start, the value, the count).
///
/// # Safety
/// Called only by compiled code, with the operands the validator checked in `area`.
pub unsafe extern "C" fn array_fill(_vmctx: *mut VMContext, area: *const u8) -> u32 {
    // SAFETY: the slots compiled code stored; the array is live.
    status(unsafe {
        array_in_slot(area, 0).and_then(|view| {
            let (start, n) = (slot_u32(area, 1), slot_u32(area, 3));
            if !view.contains(start, n) {
                return Err(TrapCode::ArrayOutOfBounds);
            }
            gc::fill_elements(view, start, area.add(32), n);
            Ok(())
        })
    })
}

/// `array.copy` (`area`: the destination, its start, the source, its start, the count).
///
/// # Safety
/// As `array_fill`.
pub unsafe extern "C" fn array_copy(_vmctx: *mut VMContext, area: *const u8) -> u32 {
    // SAFETY: the slots compiled code stored; the arrays are live and have elements
    // of the same size (validation).
    status(unsafe {
        array_in_slot(area, 0).and_then(|dst| {
            let src = array_in_slot(area, 2)?;
            let (d, s, n) = (slot_u32(area, 1), slot_u32(area, 3), slot_u32(area, 4));
            if !dst.contains(d, n) || !src.contains(s, n) {
                return Err(TrapCode::ArrayOutOfBounds);
            }
            std::ptr::copy(src.element(s as usize), dst.element(d as usize), n as usize * dst.element_size);
            Ok(())
        })
    })
}

/// `array.init_data` and `array.init_elem` (`area`: the array, its start, the segment
/// offset, the count): copies the segment's elements into the array.
///
/// # Safety
/// As `array_fill`.
unsafe fn array_init_from(segment: Segment, area: *const u8) -> u32 {
    // SAFETY: the slots compiled code stored; the array is live, its elements of the
    // segment's kind (validation).
    status(unsafe {
        array_in_slot(area, 0).and_then(|view| {
            let (d, s, n) = (slot_u32(area, 1), slot_u32(area, 2), slot_u32(area, 3));
            if !view.contains(d, n) {
                return Err(TrapCode::ArrayOutOfBounds);
            }
            let source = segment.range(s, n as u64 * view.element_size as u64)?;
            std::ptr::copy_nonoverlapping(source.as_ptr(), view.element(d as usize), source.len());
            Ok(())
        })
    })
}

/// `array.init_data`.
///
/// # Safety
/// As `array_fill`, with a data index the validator checked.
pub unsafe extern "C" fn array_init_data(vmctx: *mut VMContext, data: u32, area: *const u8) -> u32 {
    // SAFETY: as above.
    let i = unsafe { instance(vmctx) };
    // SAFETY: forwarded.
    unsafe { array_init_from(Segment::data(i.data_bytes(data)), area) }
}

/// `array.init_elem`.
///
/// # Safety
/// As `array_fill`, with an element index the validator checked.
pub unsafe extern "C" fn array_init_elem(vmctx: *mut VMContext, elem: u32, area: *const u8) -> u32 {
    // SAFETY: as above.
    let i = unsafe { instance(vmctx) };
    let items = i.elem_items(elem);
    // SAFETY: forwarded.
    unsafe { array_init_from(Segment::elements(&items), area) }
}

// ---- atomics (the threads proposal) ----

/// What `memory.atomic.wait`/`notify` return: their result plus this, or a trap code,
/// which is smaller (compiled code subtracts it after checking).
pub const ATOMIC_RESULT_BIAS: u64 = 64;

/// `memory.atomic.wait32`. Bounds, alignment and sharedness are checked in the spec's
/// order; 1 ("not-equal") when the value differs; else, with a timeout, 2 ("timed-out")
/// once it passed. Nothing can notify: a store and its memories stay on one thread, so
/// no other agent can reach the memory; without a timeout the wait could never end and
/// traps instead of hanging the thread.
///
/// # Safety
/// Called only by compiled code, with the vmctx of a live instance and a memory index
/// the validator checked.
pub unsafe extern "C" fn memory_atomic_wait32(
    vmctx: *mut VMContext,
    mem: u32,
    offset: u64,
    addr: u64,
    expected: u64,
    timeout: u64,
) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let i = unsafe { instance(vmctx) };
    biased(atomic_wait(&i.memories[mem as usize], offset, addr, 4, expected as u32 as u64, timeout as i64))
}

/// `memory.atomic.wait64`, as `memory_atomic_wait32`.
///
/// # Safety
/// As `memory_atomic_wait32`.
pub unsafe extern "C" fn memory_atomic_wait64(
    vmctx: *mut VMContext,
    mem: u32,
    offset: u64,
    addr: u64,
    expected: u64,
    timeout: u64,
) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let i = unsafe { instance(vmctx) };
    biased(atomic_wait(&i.memories[mem as usize], offset, addr, 8, expected, timeout as i64))
}

/// `memory.atomic.notify`: bounds and alignment checked, then 0 woken (no agent can be
/// waiting, see `memory_atomic_wait32`), shared memory or not.
///
/// # Safety
/// As `memory_atomic_wait32`.
pub unsafe extern "C" fn memory_atomic_notify(
    vmctx: *mut VMContext,
    mem: u32,
    offset: u64,
    addr: u64,
    _count: u64,
) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let i = unsafe { instance(vmctx) };
    biased(atomic_address(&i.memories[mem as usize], offset, addr, 4).map(|_| 0))
}

fn biased(result: Result<u64, TrapCode>) -> u64 {
    match result {
        Ok(v) => v + ATOMIC_RESULT_BIAS,
        Err(code) => code as u64,
    }
}

/// `addr + offset` if an access of `bytes` there is inside `memory` and aligned.
fn atomic_address(memory: &Memory, offset: u64, addr: u64, bytes: u64) -> Result<u64, TrapCode> {
    let at = addr.checked_add(offset).ok_or(TrapCode::MemoryOutOfBounds)?;
    let end = at.checked_add(bytes).ok_or(TrapCode::MemoryOutOfBounds)?;
    if end > memory.size_bytes() {
        return Err(TrapCode::MemoryOutOfBounds);
    }
    if at % bytes != 0 {
        return Err(TrapCode::UnalignedAtomic);
    }
    Ok(at)
}

fn atomic_wait(
    memory: &Memory,
    offset: u64,
    addr: u64,
    bytes: u64,
    expected: u64,
    timeout: i64,
) -> Result<u64, TrapCode> {
    let at = atomic_address(memory, offset, addr, bytes)?;
    if !memory.ty().shared {
        return Err(TrapCode::ExpectedSharedMemory);
    }
    let mut value = [0u8; 8];
    memory.read(at, &mut value[..bytes as usize])?;
    if u64::from_le_bytes(value) != expected {
        return Ok(1);
    }
    let Ok(nanoseconds) = u64::try_from(timeout) else {
        return Err(TrapCode::WaitForever);
    };
    std::thread::sleep(std::time::Duration::from_nanos(nanoseconds));
    Ok(2)
}

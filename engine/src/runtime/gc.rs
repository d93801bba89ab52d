//! GC objects (structs and arrays) and the heap they live in.
//!
//! Each store has one `GcHeap`. It hands out zeroed memory by bumping a pointer through
//! chunks (fresh anonymous mappings: zero, and costing memory only once touched) and
//! through the zeroed holes a collection leaves (`gc_collector`), bounded by
//! `Config::gc_heap_limit`, which counts the chunks. Objects never move, so every
//! reference to one is a plain pointer, without barriers in machine code.
//!
//! Chunks are aligned to their size (`CHUNK`) and start with a pointer to the heap's
//! store, so an object's store is found from the object's address alone: a raw
//! reference read back from wasm becomes a `GcObject` that keeps the whole store alive,
//! and with it whatever the object's fields can point at (the store's functions and
//! exceptions, and its own objects).
//!
//! An object (or a function) never enters another store (`store::admit` and
//! `foreign_object`: arguments, host results, tables, globals, fields and exception
//! payloads refuse one), as in Wasmtime, where
//! values of one store cannot be used with another: a store then only ever holds
//! addresses into its own heap, and nothing has to keep a second store alive.

use super::memory::{map_aligned, unmap_aligned};
use super::store::{admit, StoreInner};
use super::vmcontext::VMGcBump;
use crate::error::{Error, Result};
use crate::types::{
    array_object_bytes, chain_type_id, is_subtype, FieldType, FuncType, ObjectKind, ARRAY_LENGTH,
    DESCRIPTOR_OFFSET, ELEMENT_SHIFT, MAX_SUBTYPE_CHAIN, OBJECT_HEADER, OBJECT_KIND,
};
use crate::values::{AnyRef, Val};
use std::cell::{Cell, RefCell, UnsafeCell};
use std::collections::HashMap;
use std::ptr::NonNull;
use std::rc::Rc;

pub(crate) const CHUNK: usize = 1 << 20;
/// The start of each chunk, which holds its store's address; objects come after it.
pub(crate) const CHUNK_HEADER: usize = 16;
/// Objects this large get chunks of their own (of their own size, rounded to pages)
/// rather than end the current one early.
const LARGE_OBJECT: usize = CHUNK / 4;
const PAGE: usize = 4096;
/// Free stretches shorter than this are left for the next collection to merge rather
/// than handed to the bump pointer: each costs compiled code a call to refill.
pub(crate) const MIN_HOLE: usize = 256;

/// A mapping objects live in: a `CHUNK` holding many, or one large object's own.
#[derive(Clone, Copy)]
pub(crate) struct Chunk {
    pub base: NonNull<u8>,
    pub size: usize,
}

impl Chunk {
    pub fn start(&self) -> usize {
        self.base.as_ptr() as usize
    }

    pub fn end(&self) -> usize {
        self.start() + self.size
    }
}

pub(crate) struct GcHeap {
    /// The store that owns the heap (`Rc::new_cyclic` gives its address before it
    /// exists); written at the start of every chunk.
    pub(crate) owner: *const StoreInner,
    pub(crate) chunks: RefCell<Vec<Chunk>>,
    /// Stretches of chunks the last collection freed, for the bump pointer (which
    /// zeroes one when it takes it); the lowest address last.
    pub(crate) holes: RefCell<Vec<(usize, usize)>>,
    /// The bump pointer in the current chunk or hole, which compiled code advances
    /// itself.
    bump: UnsafeCell<VMGcBump>,
    /// Bytes of chunks mapped, against `limit` and `threshold`.
    pub(crate) mapped: Cell<u64>,
    limit: u64,
    /// Mapped bytes past which an allocation at a safepoint collects first.
    pub(crate) threshold: Cell<u64>,
    /// `Config::gc_collect_after`: the least `threshold` (0: collect at every
    /// allocation that leaves compiled code, a test mode).
    pub(crate) collect_after: u64,
    /// Whether the running allocation may collect: every reference wasm holds is then
    /// on the machine stack or in the store's own storage (`Safepoint`).
    at_safepoint: Cell<bool>,
    /// The objects `GcObject` handles name, with how many handles each.
    pub(crate) handles: RefCell<HashMap<u64, u32>>,
    /// Collections so far (`Store::gc_stats`).
    pub(crate) collections: Cell<u64>,
    /// Marking passes run to free exceptions only (`Store::gc_stats`).
    pub(crate) exception_reclamations: Cell<u64>,
    /// `Store::set_gc_pressure_hook`.
    pub(crate) pressure_hook: RefCell<Option<Rc<dyn Fn()>>>,
    /// Objects made by the constant expressions of instantiations under way
    /// (`PendingObjects`): roots, since only Rust vectors hold them until the instance
    /// is kept.
    pub(crate) pending: RefCell<Vec<u64>>,
}

/// While one lives, allocations on its heap may collect (see `GcHeap::at_safepoint`).
pub(crate) struct Safepoint<'a>(&'a GcHeap);

impl Drop for Safepoint<'_> {
    fn drop(&mut self) {
        self.0.at_safepoint.set(false);
    }
}

/// Keeps the objects `hold` names (see `GcHeap::pending`) until it drops.
pub(crate) struct PendingObjects<'a> {
    heap: &'a GcHeap,
    /// The length of the list when this began: instantiations may nest.
    base: usize,
}

impl PendingObjects<'_> {
    pub(crate) fn hold(&self, object: u64) {
        self.heap.pending.borrow_mut().push(object);
    }
}

impl Drop for PendingObjects<'_> {
    fn drop(&mut self) {
        self.heap.pending.borrow_mut().truncate(self.base);
    }
}

impl GcHeap {
    pub fn new(limit: u64, collect_after: u64, owner: *const StoreInner) -> Rc<GcHeap> {
        Rc::new(GcHeap {
            owner,
            chunks: RefCell::new(Vec::new()),
            holes: RefCell::new(Vec::new()),
            bump: UnsafeCell::new(VMGcBump::default()),
            mapped: Cell::new(0),
            limit,
            threshold: Cell::new(collect_after),
            collect_after,
            at_safepoint: Cell::new(false),
            handles: RefCell::new(HashMap::new()),
            collections: Cell::new(0),
            exception_reclamations: Cell::new(0),
            pressure_hook: RefCell::new(None),
            pending: RefCell::new(Vec::new()),
        })
    }

    /// Declares the running libcall a safepoint: compiled code called it, so every
    /// reference wasm holds is in its frames or in the store's storage.
    pub fn safepoint(&self) -> Safepoint<'_> {
        self.at_safepoint.set(true);
        Safepoint(self)
    }

    /// A list of objects that stay roots until it drops: for an instantiation's
    /// constant expressions, whose allocations may then collect.
    pub(crate) fn pending_objects(&self) -> PendingObjects<'_> {
        PendingObjects { heap: self, base: self.pending.borrow().len() }
    }

    /// `bytes` of zeroed, 8-aligned memory, or `None` past the limit (or when the
    /// system has no memory to map). At a safepoint it may collect first.
    fn alloc(&self, bytes: u64) -> Option<NonNull<u8>> {
        let size = usize::try_from(bytes.checked_add(7)? & !7).ok()?;
        // SAFETY: single-threaded store; compiled code is not touching the bump pointer
        // while this runs (it called in, or is not running).
        let (cursor, end) = unsafe {
            let bump = &*self.bump.get();
            (bump.cursor, bump.end)
        };
        if size as u64 <= end - cursor {
            self.set_bump(cursor as usize + size, end as usize);
            return NonNull::new(cursor as *mut u8);
        }
        // Past the bump pointer: a hole, else a new chunk, collecting first when that
        // would take the heap past its threshold (in the test mode: always first).
        let stress = self.collect_after == 0;
        let safepoint = self.at_safepoint.get();
        let mut collected = stress && safepoint && self.collect();
        if let Some(at) = self.alloc_in_hole(size, stress) {
            return Some(at);
        }
        let chunk_size = if size >= LARGE_OBJECT {
            CHUNK_HEADER.checked_add(size)?.checked_next_multiple_of(PAGE)?
        } else {
            CHUNK
        };
        if safepoint && !collected && self.mapped.get() + chunk_size as u64 > self.threshold.get() {
            collected = self.collect();
            if let Some(at) = self.alloc_in_hole(size, stress) {
                return Some(at);
            }
        }
        if let Some(at) = self.alloc_in_new_chunk(size, chunk_size, stress) {
            return Some(at);
        }
        if !safepoint {
            return None;
        }
        let retry =
            || self.alloc_in_hole(size, stress).or_else(|| self.alloc_in_new_chunk(size, chunk_size, stress));
        if !collected && self.collect() {
            if let Some(at) = retry() {
                return Some(at);
            }
        }
        // Full even after a collection: the embedder may hold handles it no longer
        // needs (the JS bindings' wrappers, until Boa collects them).
        let hook = self.pressure_hook.borrow().clone()?;
        hook();
        if self.collect() {
            retry()
        } else {
            None
        }
    }

    /// `alloc` from a hole the last collection left (not for large objects), which the
    /// bump pointer then goes on through (in the test mode: room for this object only).
    fn alloc_in_hole(&self, size: usize, stress: bool) -> Option<NonNull<u8>> {
        if size >= LARGE_OBJECT {
            return None;
        }
        let (at, end) = self.take_hole(size, !stress)?;
        self.set_bump(at + size, if stress { at + size } else { end });
        NonNull::new(at as *mut u8)
    }

    /// `alloc` from a new chunk of `chunk_size` bytes: a large object's own, or one the
    /// bump pointer then goes on through (as in `alloc_in_hole`).
    fn alloc_in_new_chunk(&self, size: usize, chunk_size: usize, stress: bool) -> Option<NonNull<u8>> {
        let chunk = self.new_chunk(chunk_size)?.as_ptr() as usize;
        let at = chunk + CHUNK_HEADER;
        if size < LARGE_OBJECT {
            self.set_bump(at + size, if stress { at + size } else { chunk + CHUNK });
        }
        NonNull::new(at as *mut u8)
    }

    /// The first hole of at least `size` bytes, zeroed, dropping the smaller ones
    /// before it (zeroed too: outside the list, free memory must be zero; the next
    /// collection finds them again). With `whole` false, only `size` bytes of it: the
    /// rest stays a hole.
    fn take_hole(&self, size: usize, whole: bool) -> Option<(usize, usize)> {
        let mut holes = self.holes.borrow_mut();
        while let Some((start, end)) = holes.pop() {
            let end = if end - start < size || whole {
                end
            } else if end - (start + size) >= MIN_HOLE {
                holes.push((start + size, end));
                start + size
            } else {
                end
            };
            // SAFETY: a hole: free memory of a chunk, which nothing reaches.
            unsafe { std::ptr::write_bytes(start as *mut u8, 0, end - start) };
            if end - start >= size {
                return Some((start, end));
            }
        }
        None
    }

    fn set_bump(&self, cursor: usize, end: usize) {
        // SAFETY: as in `alloc`.
        let bump = unsafe { &mut *self.bump.get() };
        bump.cursor = cursor as u64;
        bump.end = end as u64;
    }

    /// Gives up the bump pointer's stretch (it stays zero: free for the collector).
    pub(crate) fn retire_bump(&self) {
        self.set_bump(0, 0);
    }

    /// A zeroed chunk of `size` bytes (a multiple of the page) aligned to `CHUNK`, its
    /// header written; `None` past the limit.
    fn new_chunk(&self, size: usize) -> Option<NonNull<u8>> {
        let mapped = self.mapped.get().checked_add(size as u64).filter(|&m| m <= self.limit)?;
        let chunk = map_aligned(size, CHUNK).ok()?;
        // SAFETY: the chunk is at least a page, writable, and aligned for a pointer.
        unsafe { chunk.as_ptr().cast::<*const StoreInner>().write(self.owner) };
        self.chunks.borrow_mut().push(Chunk { base: chunk, size });
        self.mapped.set(mapped);
        Some(chunk)
    }

    /// The bump pointer compiled code allocates with (`VMContext::gc_bump`).
    pub fn bump(&self) -> *mut VMGcBump {
        self.bump.get()
    }

    /// `bytes` of zeroed memory for an object whose header compiled code writes: the
    /// address, or `None` past the limit (`libcalls::gc_alloc`, when the bump pointer
    /// runs out).
    pub fn alloc_raw(&self, bytes: u64) -> Option<u64> {
        self.alloc(bytes).map(|p| p.as_ptr() as u64)
    }

    /// A new struct of type `ty` with every field zero (null, for references), as a raw
    /// reference; `None` past the heap's limit.
    pub fn new_struct(&self, ty: &FuncType) -> Option<u64> {
        let layout = ty.layout()?;
        let object = self.alloc(layout.size as u64)?;
        // SAFETY: a fresh object of the struct's size, which includes the header.
        unsafe { write_header(object, ty, layout.kind_word(), 0) };
        Some(object.as_ptr() as u64)
    }

    /// Sets the descriptor of a new struct (`struct.new_desc` in a constant expression).
    ///
    /// # Safety
    /// `object` is a struct just made by this heap, of a type with a descriptor.
    pub(crate) unsafe fn set_descriptor(&self, object: u64, descriptor: u64) {
        // SAFETY: such a struct keeps its descriptor there, inside the object.
        unsafe {
            (object as *mut u8).add(DESCRIPTOR_OFFSET as usize).cast::<u64>().write_unaligned(descriptor)
        };
    }

    /// A new array of type `ty` with `len` zero elements, or `None` past the limit.
    pub fn new_array(&self, ty: &FuncType, len: u32) -> Option<u64> {
        let layout = ty.layout()?;
        let object = self.alloc(array_object_bytes(len as u64, layout.size as u64))?;
        // SAFETY: a fresh object with room for the header.
        unsafe { write_header(object, ty, layout.kind_word(), len) };
        Some(object.as_ptr() as u64)
    }
}

impl GcHeap {
    /// A struct of type `ty` with its fields from `slots`: 16 bytes per field, each
    /// value's bits little-endian from the slot's start (as machine code stores them).
    ///
    /// # Safety
    /// `slots` has a slot per field of `ty`, a struct type.
    pub unsafe fn new_struct_from(&self, ty: &FuncType, slots: *const u8) -> Option<u64> {
        let object = self.new_struct(ty)?;
        let layout = ty.layout()?;
        for (i, (field, &offset)) in layout.fields.iter().zip(&layout.offsets[..]).enumerate() {
            // SAFETY: slot `i` exists per the contract; the field lies in the new object.
            unsafe {
                let at = (object as *mut u8).add(offset as usize);
                copy_value(slots.add(16 * i), at, field.storage.bytes() as usize);
            }
        }
        Some(object)
    }

    /// An array of type `ty` of `len` copies of the value in `slot` (as `new_struct_from`).
    ///
    /// # Safety
    /// `slot` holds 16 readable bytes; `ty` is an array type.
    pub unsafe fn new_array_filled(&self, ty: &FuncType, slot: *const u8, len: u32) -> Option<u64> {
        let object = self.new_array(ty, len)?;
        // SAFETY: the new array has `len` elements; `slot` per the contract.
        unsafe { fill_elements(array_view(object), 0, slot, len) };
        Some(object)
    }

    /// An array of type `ty` of the `n` values in `slots` (as `new_struct_from`).
    ///
    /// # Safety
    /// `slots` has `n` slots; `ty` is an array type.
    pub unsafe fn new_array_from(&self, ty: &FuncType, n: u32, slots: *const u8) -> Option<u64> {
        let object = self.new_array(ty, n)?;
        // SAFETY: the new array has `n` elements, `slots` `n` slots.
        unsafe {
            let view = array_view(object);
            for i in 0..n as usize {
                copy_value(slots.add(16 * i), view.element(i), view.element_size);
            }
        }
        Some(object)
    }

    /// An array of type `ty` whose elements are `bytes`, little-endian (`array.new_data`,
    /// `array.new_elem` with the segment's raw references).
    pub fn new_array_from_bytes(&self, ty: &FuncType, bytes: &[u8]) -> Option<u64> {
        let element_size = ty.layout()?.size as usize;
        let object = self.new_array(ty, u32::try_from(bytes.len() / element_size).ok()?)?;
        // SAFETY: the new array holds exactly `bytes.len()` bytes of elements.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), array_view(object).element(0), bytes.len()) };
        Some(object)
    }
}

/// Copies one field's value of `bytes` (1, 2, 4, 8 or 16) bytes: a single move for
/// each size, where `copy_nonoverlapping` with a size known only at run time calls
/// `memmove` (a fifth of the allocation helpers' time, measured on gctree).
///
/// # Safety
/// Both ranges are valid for `bytes` bytes and do not overlap.
#[inline(always)]
unsafe fn copy_value(from: *const u8, to: *mut u8, bytes: usize) {
    // SAFETY: per the contract; unaligned accesses, as fields need not be aligned for
    // their size (slots are, objects' fields are aligned up to 8 only).
    unsafe {
        match bytes {
            1 => to.write(from.read()),
            2 => to.cast::<u16>().write_unaligned(from.cast::<u16>().read_unaligned()),
            4 => to.cast::<u32>().write_unaligned(from.cast::<u32>().read_unaligned()),
            8 => to.cast::<u64>().write_unaligned(from.cast::<u64>().read_unaligned()),
            _ => std::ptr::copy_nonoverlapping(from, to, bytes),
        }
    }
}

/// An array object's elements.
pub(crate) struct ArrayView {
    data: *mut u8,
    pub len: u32,
    pub element_size: usize,
}

impl ArrayView {
    /// # Safety
    /// `i` is at most `len`.
    pub unsafe fn element(&self, i: usize) -> *mut u8 {
        // SAFETY: within the array (or one past it), per the contract.
        unsafe { self.data.add(i * self.element_size) }
    }

    /// Whether `start .. start + n` lies within the array.
    pub fn contains(&self, start: u32, n: u32) -> bool {
        (start as u64 + n as u64) <= self.len as u64
    }
}

/// # Safety
/// `raw` is the address of a live array object.
pub(crate) unsafe fn array_view(raw: u64) -> ArrayView {
    let p = raw as *mut u8;
    // SAFETY: a live array's header, per the contract.
    unsafe {
        ArrayView {
            data: p.add(OBJECT_HEADER as usize),
            len: *p.add(ARRAY_LENGTH as usize).cast::<u32>(),
            element_size: 1 << *p.add(ELEMENT_SHIFT as usize),
        }
    }
}

/// Sets elements `start .. start + n` to the value in `slot`.
///
/// # Safety
/// The range lies within the array; `slot` holds 16 readable bytes.
pub(crate) unsafe fn fill_elements(view: ArrayView, start: u32, slot: *const u8, n: u32) {
    for i in start as usize..start as usize + n as usize {
        // SAFETY: within the array, per the contract.
        unsafe { copy_value(slot, view.element(i), view.element_size) };
    }
}

/// # Safety
/// `object` has at least `OBJECT_HEADER` writable bytes.
unsafe fn write_header(object: NonNull<u8>, ty: &FuncType, kind_word: u32, len: u32) {
    let p = object.as_ptr();
    // SAFETY: within the header, per the contract; the object is 8-aligned.
    unsafe {
        p.cast::<*const u32>().write(ty.supertype_chain().as_ptr());
        p.add(OBJECT_KIND as usize).cast::<u32>().write(kind_word);
        p.add(ARRAY_LENGTH as usize).cast::<u32>().write(len);
    }
}

impl Drop for GcHeap {
    fn drop(&mut self) {
        for chunk in self.chunks.get_mut().iter() {
            // SAFETY: mapped by `new_chunk` with this size, unmapped once; the store
            // (and with it every handle to an object) is gone.
            unsafe { unmap_aligned(chunk.base.as_ptr(), chunk.size) };
        }
    }
}

/// A struct or an array: a reference to an object on some store's GC heap. It keeps
/// that store alive, and the object too: the collector counts every handle as a root.
pub struct GcObject {
    raw: NonNull<u8>,
    store: Rc<StoreInner>,
}

impl GcObject {
    /// # Safety
    /// `raw` is the address of an object whose store is alive (a non-null, non-`i31`,
    /// non-host reference that wasm code of a live store holds: a store keeps the stores
    /// whose objects it was given, `keep_in`).
    pub(crate) unsafe fn from_raw(raw: u64) -> GcObject {
        let chunk = raw as usize & !(CHUNK - 1);
        // SAFETY: objects lie in the first CHUNK bytes of their chunk, which starts
        // with its store's address; the store is alive per the contract, and it lives
        // in an `Rc` (`Store::new`).
        let store = unsafe {
            let store = *(chunk as *const *const StoreInner);
            Rc::increment_strong_count(store);
            Rc::from_raw(store)
        };
        store.gc_heap.add_handle(raw);
        // SAFETY: non-null per the contract.
        GcObject { raw: unsafe { NonNull::new_unchecked(raw as *mut u8) }, store }
    }

    pub(crate) fn raw(&self) -> u64 {
        self.raw.as_ptr() as u64
    }

    /// A stable identity for side tables: the object's address, which it keeps while
    /// a handle to it lives (the collector does not move objects; it may reuse the
    /// address of one no handle or wasm code holds).
    pub fn address(&self) -> usize {
        self.raw.as_ptr() as usize
    }

    pub fn kind(&self) -> ObjectKind {
        // SAFETY: the header is alive as long as the store this handle holds.
        match unsafe { *self.raw.as_ptr().add(OBJECT_KIND as usize) } {
            1 => ObjectKind::Struct,
            _ => ObjectKind::Array,
        }
    }

    /// An array's length (0 for a struct).
    pub fn array_len(&self) -> u32 {
        // SAFETY: as in `kind`.
        unsafe { *self.raw.as_ptr().add(ARRAY_LENGTH as usize).cast::<u32>() }
    }

    /// The process-wide id of the object's type: the last entry of its supertype chain.
    pub fn type_id(&self) -> u32 {
        // SAFETY: every header starts with its type's chain, leaked for the process.
        chain_type_id(unsafe { &*(*self.raw.as_ptr().cast::<*const [u32; MAX_SUBTYPE_CHAIN]>()) })
    }

    /// The object's type: a struct or array type.
    pub fn ty(&self) -> Option<FuncType> {
        FuncType::from_type_id(self.type_id())
    }

    /// Where struct field or array element `index` lies in a struct or array of type
    /// `ty` (this object's), and what it holds; `None` past the end.
    fn slot(&self, ty: &FuncType, index: u32) -> Option<(*mut u8, FieldType)> {
        let layout = ty.layout()?;
        let p = self.raw.as_ptr();
        match layout.kind {
            ObjectKind::Struct => {
                let field = *layout.fields.get(index as usize)?;
                // SAFETY: the offset lies within the struct (`GcLayout::new`).
                Some((unsafe { p.add(layout.offsets[index as usize] as usize) }, field))
            }
            ObjectKind::Array if index < self.array_len() => {
                let at = OBJECT_HEADER as usize + index as usize * layout.size as usize;
                // SAFETY: element `index` lies within the array.
                Some((unsafe { p.add(at) }, layout.fields[0]))
            }
            _ => None,
        }
    }

    /// Struct fields or array elements `start .. end` (packed integers zero-extended to
    /// i32s); `None` if the range goes past the end.
    pub fn get_range(&self, start: u32, end: u32) -> Option<Vec<Val>> {
        let ty = self.ty()?;
        (start..end)
            .map(|index| {
                let (at, field) = self.slot(&ty, index)?;
                let mut bytes = [0u8; 16];
                // SAFETY: the slot holds the field's bytes; the object lives while `self`.
                unsafe {
                    std::ptr::copy_nonoverlapping(at, bytes.as_mut_ptr(), field.storage.bytes() as usize)
                };
                let raw = u128::from_le_bytes(bytes);
                // SAFETY: a reference field holds null or a reference that the object's
                // store keeps alive, which `self` keeps.
                Some(unsafe { Val::from_raw128(field.storage.unpacked(), raw) })
            })
            .collect()
    }

    /// Struct field or array element `index`.
    pub fn get(&self, index: u32) -> Option<Val> {
        self.get_range(index, index.checked_add(1)?)?.pop()
    }

    /// Sets struct fields or array elements from `start` on to `values` (a packed field
    /// takes an i32's low bits): an error, with nothing written, if one is immutable,
    /// past the end, or not of its type.
    pub fn set_range(&self, start: u32, values: &[Val]) -> Result<()> {
        let ty = self.ty().ok_or_else(|| Error::Link("not a struct or array".into()))?;
        let mut slots = Vec::with_capacity(values.len());
        for (k, value) in values.iter().enumerate() {
            let index = u32::try_from(k).ok().and_then(|k| start.checked_add(k));
            let (at, field) = index.and_then(|index| self.slot(&ty, index)).ok_or_else(|| {
                Error::Link(format!("no field or element {} in {ty}", start as u64 + k as u64))
            })?;
            if !field.mutable {
                return Err(Error::Link(format!(
                    "field or element {} of {ty} is immutable",
                    start as u64 + k as u64
                )));
            }
            if !value.matches(field.storage.unpacked()) {
                return Err(Error::Link(format!("value does not match {ty}")));
            }
            slots.push((at, field));
        }
        admit(&Rc::downgrade(&self.store), values)?;
        for ((at, field), value) in slots.into_iter().zip(values) {
            let bytes = value.to_raw128().to_le_bytes();
            // SAFETY: the slot has the field's bytes; nothing else runs meanwhile.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), at, field.storage.bytes() as usize) };
        }
        Ok(())
    }

    /// Sets struct field or array element `index`, as `set_range`.
    pub fn set(&self, index: u32, value: Val) -> Result<()> {
        self.set_range(index, std::slice::from_ref(&value))
    }

    /// Whether the object is of the type with id `expected` or of one declared below it.
    pub fn is_instance_of(&self, expected: u32) -> bool {
        is_subtype(self.type_id(), expected)
    }

    /// Identity: do both handles name the same object?
    pub fn ptr_eq(a: &GcObject, b: &GcObject) -> bool {
        a.raw == b.raw
    }
}

/// Whether one of `values` is a function, struct or array of a store other than
/// `store`, which must not enter it (see the module comment). A function reference of
/// another store in a table, global or argument would run that store's code on this
/// store's stack with that store's runtime, which was never entered (its trap exit has
/// no frame to return to), and would dangle once that store is gone, as imports do
/// (`Instance::new` refuses them).
pub(crate) fn foreign_object(store: *const StoreInner, values: &[Val]) -> bool {
    values.iter().any(|v| match v {
        Val::AnyRef(Some(AnyRef::Object(o))) => !std::ptr::eq(store, Rc::as_ptr(&o.store)),
        Val::FuncRef(Some(f)) => !std::ptr::eq(store, f.0.store.as_ptr()),
        Val::ExnRef(Some(e)) => e.carries_references_from_elsewhere(store),
        _ => false,
    })
}

/// The error of a function or object offered to another store.
pub(crate) fn foreign_object_error() -> Error {
    Error::Link("a function, struct or array of another store cannot be used here".into())
}

impl Clone for GcObject {
    fn clone(&self) -> GcObject {
        self.store.gc_heap.add_handle(self.raw());
        GcObject { raw: self.raw, store: self.store.clone() }
    }
}

impl Drop for GcObject {
    fn drop(&mut self) {
        self.store.gc_heap.remove_handle(self.raw());
    }
}

impl GcHeap {
    fn add_handle(&self, raw: u64) {
        *self.handles.borrow_mut().entry(raw).or_insert(0) += 1;
    }

    fn remove_handle(&self, raw: u64) {
        let mut handles = self.handles.borrow_mut();
        if let Some(count) = handles.get_mut(&raw) {
            *count -= 1;
            if *count == 0 {
                handles.remove(&raw);
            }
        }
    }
}

impl std::fmt::Debug for GcObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind() {
            ObjectKind::Array => write!(f, "GcObject(array of {})", self.array_len()),
            _ => f.write_str("GcObject(struct)"),
        }
    }
}

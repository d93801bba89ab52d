//! GC objects (structs and arrays) and the heap they live in.
//!
//! Each store has one `GcHeap`. It hands out zeroed memory by bumping a pointer through
//! chunks, and frees nothing while its store lives: a null collector, like Wasmtime's
//! `Collector::Null`, bounded by `Config::gc_heap_limit`. That makes every reference
//! to an object a plain pointer that stays valid as long as the heap, without stack
//! maps or barriers in machine code; a tracing collector can replace it later behind
//! the same object layout.
//!
//! Chunks are aligned to their size (`CHUNK`) and start with a pointer to their heap,
//! so an object's heap is found from the object's address alone: a raw reference
//! read back from wasm becomes a `GcObject` that keeps the heap alive.

use super::store::StoreInner;
use crate::types::{
    is_subtype, FuncType, ObjectKind, ARRAY_LENGTH, MAX_SUBTYPE_CHAIN, OBJECT_HEADER, OBJECT_KIND,
};
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::cell::{Cell, RefCell};
use std::ptr::NonNull;
use std::rc::Rc;

const CHUNK: usize = 1 << 20;
/// The start of each chunk that holds its heap's address; objects come after it.
const CHUNK_HEADER: usize = 16;
/// Objects this large get chunks of their own rather than end the current one early.
const LARGE_OBJECT: usize = CHUNK / 4;
/// Where an array's element size (as a shift) sits in its header, beside the kind.
const ELEMENT_SHIFT: usize = OBJECT_KIND as usize + 1;

pub(crate) struct GcHeap {
    chunks: RefCell<Vec<(NonNull<u8>, Layout)>>,
    cursor: Cell<usize>,
    end: Cell<usize>,
    /// Bytes handed out so far, against `limit`.
    allocated: Cell<u64>,
    limit: u64,
}

impl GcHeap {
    pub fn new(limit: u64) -> Rc<GcHeap> {
        Rc::new(GcHeap {
            chunks: RefCell::new(Vec::new()),
            cursor: Cell::new(0),
            end: Cell::new(0),
            allocated: Cell::new(0),
            limit,
        })
    }

    /// `bytes` of zeroed, 8-aligned memory, or `None` past the limit.
    fn alloc(self: &Rc<Self>, bytes: u64) -> Option<NonNull<u8>> {
        let bytes = bytes.checked_add(7)? & !7;
        let total = self.allocated.get().checked_add(bytes).filter(|&t| t <= self.limit)?;
        let size = usize::try_from(bytes).ok()?;
        let at = if size <= self.end.get() - self.cursor.get() {
            self.cursor.get()
        } else if size >= LARGE_OBJECT {
            let chunk_size = CHUNK_HEADER.checked_add(size)?.checked_next_multiple_of(CHUNK)?;
            let chunk = self.new_chunk(chunk_size)?;
            self.allocated.set(total);
            // SAFETY: the chunk has room for its header and the object.
            return NonNull::new(unsafe { chunk.as_ptr().add(CHUNK_HEADER) });
        } else {
            let chunk = self.new_chunk(CHUNK)?.as_ptr() as usize;
            self.end.set(chunk + CHUNK);
            chunk + CHUNK_HEADER
        };
        self.cursor.set(at + size);
        self.allocated.set(total);
        NonNull::new(at as *mut u8)
    }

    /// A zeroed chunk of `size` bytes aligned to `CHUNK`, its header written.
    fn new_chunk(self: &Rc<Self>, size: usize) -> Option<NonNull<u8>> {
        let layout = Layout::from_size_align(size, CHUNK).ok()?;
        // SAFETY: the layout's size is at least CHUNK, not zero.
        let chunk = NonNull::new(unsafe { alloc_zeroed(layout) })?;
        // SAFETY: the chunk is at least CHUNK_HEADER bytes and aligned for a pointer.
        unsafe { chunk.as_ptr().cast::<*const GcHeap>().write(Rc::as_ptr(self)) };
        self.chunks.borrow_mut().push((chunk, layout));
        Some(chunk)
    }

    /// A new struct of type `ty` with every field zero (null, for references), as a raw
    /// reference; `None` past the heap's limit.
    pub fn new_struct(self: &Rc<Self>, ty: &FuncType) -> Option<u64> {
        let layout = ty.layout()?;
        let object = self.alloc(layout.size as u64)?;
        // SAFETY: a fresh object of the struct's size, which includes the header.
        unsafe { write_header(object, ty, ObjectKind::Struct, 0, 0) };
        Some(object.as_ptr() as u64)
    }

    /// A new array of type `ty` with `len` zero elements, or `None` past the limit.
    pub fn new_array(self: &Rc<Self>, ty: &FuncType, len: u32) -> Option<u64> {
        let layout = ty.layout()?;
        let object = self.alloc(OBJECT_HEADER as u64 + layout.size as u64 * len as u64)?;
        // SAFETY: a fresh object with room for the header.
        unsafe { write_header(object, ty, ObjectKind::Array, layout.size.trailing_zeros() as u8, len) };
        Some(object.as_ptr() as u64)
    }
}

impl GcHeap {
    /// A struct of type `ty` with its fields from `slots`: 16 bytes per field, each
    /// value's bits little-endian from the slot's start (as machine code stores them).
    ///
    /// # Safety
    /// `slots` has a slot per field of `ty`, a struct type.
    pub unsafe fn new_struct_from(self: &Rc<Self>, ty: &FuncType, slots: *const u8) -> Option<u64> {
        let object = self.new_struct(ty)?;
        let layout = ty.layout()?;
        for (i, (field, &offset)) in layout.fields.iter().zip(&layout.offsets[..]).enumerate() {
            // SAFETY: slot `i` exists per the contract; the field lies in the new object.
            unsafe {
                let at = (object as *mut u8).add(offset as usize);
                std::ptr::copy_nonoverlapping(slots.add(16 * i), at, field.storage.bytes() as usize);
            }
        }
        Some(object)
    }

    /// An array of type `ty` of `len` copies of the value in `slot` (as `new_struct_from`).
    ///
    /// # Safety
    /// `slot` holds 16 readable bytes; `ty` is an array type.
    pub unsafe fn new_array_filled(self: &Rc<Self>, ty: &FuncType, slot: *const u8, len: u32) -> Option<u64> {
        let object = self.new_array(ty, len)?;
        // SAFETY: the new array has `len` elements; `slot` per the contract.
        unsafe { fill_elements(array_view(object), 0, slot, len) };
        Some(object)
    }

    /// An array of type `ty` of the `n` values in `slots` (as `new_struct_from`).
    ///
    /// # Safety
    /// `slots` has `n` slots; `ty` is an array type.
    pub unsafe fn new_array_from(self: &Rc<Self>, ty: &FuncType, n: u32, slots: *const u8) -> Option<u64> {
        let object = self.new_array(ty, n)?;
        // SAFETY: the new array has `n` elements, `slots` `n` slots.
        unsafe {
            let view = array_view(object);
            for i in 0..n as usize {
                std::ptr::copy_nonoverlapping(slots.add(16 * i), view.element(i), view.element_size);
            }
        }
        Some(object)
    }

    /// An array of type `ty` whose elements are `bytes`, little-endian (`array.new_data`,
    /// `array.new_elem` with the segment's raw references).
    pub fn new_array_from_bytes(self: &Rc<Self>, ty: &FuncType, bytes: &[u8]) -> Option<u64> {
        let element_size = ty.layout()?.size as usize;
        let object = self.new_array(ty, u32::try_from(bytes.len() / element_size).ok()?)?;
        // SAFETY: the new array holds exactly `bytes.len()` bytes of elements.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), array_view(object).element(0), bytes.len()) };
        Some(object)
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
            element_size: 1 << *p.add(ELEMENT_SHIFT),
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
        unsafe { std::ptr::copy_nonoverlapping(slot, view.element(i), view.element_size) };
    }
}

/// # Safety
/// `object` has at least `OBJECT_HEADER` writable bytes.
unsafe fn write_header(object: NonNull<u8>, ty: &FuncType, kind: ObjectKind, element_shift: u8, len: u32) {
    let p = object.as_ptr();
    // SAFETY: within the header, per the contract; the object is 8-aligned.
    unsafe {
        p.cast::<*const u32>().write(ty.supertype_chain().as_ptr());
        p.add(OBJECT_KIND as usize).write(kind as u8);
        p.add(ELEMENT_SHIFT).write(element_shift);
        p.add(ARRAY_LENGTH as usize).cast::<u32>().write(len);
    }
}

impl Drop for GcHeap {
    fn drop(&mut self) {
        for &(chunk, layout) in self.chunks.get_mut().iter() {
            // SAFETY: allocated by `new_chunk` with this layout, freed once.
            unsafe { dealloc(chunk.as_ptr(), layout) };
        }
    }
}

/// A struct or an array: a reference to an object on some store's GC heap, which it
/// keeps alive.
#[derive(Clone)]
pub struct GcObject {
    raw: NonNull<u8>,
    heap: Rc<GcHeap>,
}

impl GcObject {
    /// # Safety
    /// `raw` is the address of an object of a heap that is alive (a non-null,
    /// non-`i31`, non-host reference that wasm code of a live store holds).
    pub(crate) unsafe fn from_raw(raw: u64) -> GcObject {
        let chunk = raw as usize & !(CHUNK - 1);
        // SAFETY: objects lie in the first CHUNK bytes of their chunk, which starts
        // with its heap's address; the heap is alive per the contract.
        let heap = unsafe {
            let heap = *(chunk as *const *const GcHeap);
            Rc::increment_strong_count(heap);
            Rc::from_raw(heap)
        };
        // SAFETY: non-null per the contract.
        GcObject { raw: unsafe { NonNull::new_unchecked(raw as *mut u8) }, heap }
    }

    pub(crate) fn raw(&self) -> u64 {
        self.raw.as_ptr() as u64
    }

    /// A stable identity for side tables: the object's address, which it keeps while
    /// its heap lives.
    pub fn address(&self) -> usize {
        self.raw.as_ptr() as usize
    }

    pub fn kind(&self) -> ObjectKind {
        // SAFETY: the header is alive as long as the heap this handle holds.
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
        let chain = unsafe { &*(*self.raw.as_ptr().cast::<*const [u32; MAX_SUBTYPE_CHAIN]>()) };
        chain.iter().rev().copied().find(|&id| id != 0).unwrap_or(0)
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

/// Makes `store` keep the heap of `object` too, if it is another store's: the code of
/// `store` can hold the object's address as long as `store` lives.
pub(crate) fn keep_in(store: &StoreInner, object: &GcObject) {
    if !Rc::ptr_eq(&store.gc_heap, &object.heap) {
        store.keep_alive(object.heap.clone());
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

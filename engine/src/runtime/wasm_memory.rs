//! The embedder's handle to a linear memory.

use super::memory::{LinearMemory, WASM_PAGE_SIZE};
use super::store::Store;
use super::vmcontext::VMMemory;
use crate::error::{Error, Result};
use crate::trap::TrapCode;
use crate::types::MemoryType;
use std::cell::RefCell;
use std::rc::Rc;

/// Bytes owned by the embedder (for example a JavaScript ArrayBuffer's block), reserved
/// up to `capacity` so they never move.
struct ExternalBytes {
    vm: Box<VMMemory>,
    capacity: u64,
    maximum_pages: Option<u64>,
    /// Makes `[old, new)` bytes valid and zeroed; false if it cannot.
    on_grow: Box<dyn Fn(u64, u64) -> bool>,
}

enum Backing {
    Reserved(LinearMemory),
    External(ExternalBytes),
}

impl Backing {
    fn size_bytes(&self) -> u64 {
        match self {
            Backing::Reserved(m) => m.size_bytes(),
            Backing::External(e) => e.vm.length,
        }
    }

    fn base(&self) -> *mut u8 {
        match self {
            Backing::Reserved(m) => m.base(),
            Backing::External(e) => e.vm.base,
        }
    }

    fn grow(&mut self, delta_pages: u64) -> Option<u64> {
        match self {
            Backing::Reserved(m) => m.grow(delta_pages),
            Backing::External(e) => {
                let old_pages = e.vm.length / WASM_PAGE_SIZE;
                let new_pages = old_pages.checked_add(delta_pages)?;
                let limit =
                    e.maximum_pages.unwrap_or(super::memory::MAX_PAGES_32).min(super::memory::MAX_PAGES_32);
                // The limit first: a 64-bit memory's delta may be any u64, and the
                // product must not overflow.
                if new_pages > limit {
                    return None;
                }
                let new_len = new_pages * WASM_PAGE_SIZE;
                if new_len > e.capacity {
                    return None;
                }
                if !(e.on_grow)(e.vm.length, new_len) {
                    return None;
                }
                e.vm.length = new_len;
                Some(old_pages)
            }
        }
    }

    fn data(&self) -> &[u8] {
        match self {
            Backing::Reserved(m) => m.data(),
            // SAFETY: the embedder guarantees `length` initialized bytes at `base` for
            // the memory's lifetime (see `Memory::new_external`).
            Backing::External(e) => unsafe { std::slice::from_raw_parts(e.vm.base, e.vm.length as usize) },
        }
    }

    fn data_mut(&mut self) -> &mut [u8] {
        match self {
            Backing::Reserved(m) => m.data_mut(),
            // SAFETY: as in `data`; `&mut self` excludes other Rust borrows, and wasm
            // code does not run while Rust holds this slice.
            Backing::External(e) => unsafe {
                std::slice::from_raw_parts_mut(e.vm.base, e.vm.length as usize)
            },
        }
    }

    fn vm(&mut self) -> *mut VMMemory {
        match self {
            Backing::Reserved(m) => m.vm(),
            Backing::External(e) => &mut *e.vm,
        }
    }
}

pub(crate) struct MemoryInner {
    linear: RefCell<Backing>,
    pub ty: MemoryType,
    vm: *mut VMMemory,
}

#[derive(Clone)]
pub struct Memory(pub(crate) Rc<MemoryInner>);

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Memory({} pages)", self.size_pages())
    }
}

/// The alignment every memory's base has (reservations are page-aligned; external
/// bases are checked), so that an address's alignment is its native address's: what
/// compiled atomic accesses test (`Masm::check_atomic_alignment`).
const MEMORY_BASE_ALIGNMENT: usize = 8;

/// A shared memory has a maximum (it never moves, so its reservation is final).
fn check_shared(ty: &MemoryType) -> Result<()> {
    if ty.shared && ty.maximum.is_none() {
        return Err(Error::Link("a shared memory needs a maximum".into()));
    }
    Ok(())
}

impl Memory {
    pub fn new(store: &Store, ty: MemoryType) -> Result<Memory> {
        if let Some(max) = ty.maximum {
            if max < ty.minimum {
                return Err(Error::Link("memory maximum is below its minimum".into()));
            }
        }
        check_shared(&ty)?;
        if !super::memory::is_page_size(ty.page_size_log2) {
            return Err(Error::Link(format!("no memory has pages of 2^{} bytes", ty.page_size_log2)));
        }
        let linear = LinearMemory::with_page_size(ty.minimum, ty.maximum, ty.page_size_log2)?;
        if store.engine().config().huge_pages {
            linear.advise_huge_pages();
        }
        Ok(Self::with_backing(store, ty, Backing::Reserved(linear)))
    }

    /// A memory over bytes the embedder owns, such as a JavaScript ArrayBuffer's block.
    /// Code using it must be compiled with `Config::explicit_bounds_checks` (instantiating
    /// other code with it is a link error, unless the memory's accesses are always
    /// checked: 64-bit addresses or 1-byte pages). `base` must
    /// be 8-byte aligned (an error otherwise): compiled code checks atomic accesses'
    /// alignment on native addresses.
    ///
    /// # Safety
    /// `base` must point to `capacity` bytes that stay allocated, at the same address,
    /// for as long as the store lives (the closure may own them), with the first
    /// `ty.minimum` pages initialized; `on_grow(old, new)` must make `[old, new)` valid
    /// and zeroed without moving them, or return false.
    pub unsafe fn new_external(
        store: &Store,
        ty: MemoryType,
        base: *mut u8,
        capacity: u64,
        on_grow: impl Fn(u64, u64) -> bool + 'static,
    ) -> Result<Memory> {
        if !(base as usize).is_multiple_of(MEMORY_BASE_ALIGNMENT) {
            return Err(Error::Resource("an external memory's base must be 8-byte aligned".into()));
        }
        check_shared(&ty)?;
        if ty.page_size_log2 != super::memory::DEFAULT_PAGE_SIZE_LOG2 {
            return Err(Error::Unsupported("custom page sizes in an external memory".into()));
        }
        let length = ty.minimum.checked_mul(WASM_PAGE_SIZE).filter(|&l| l <= capacity);
        let Some(length) = length else {
            return Err(Error::Resource("initial memory size exceeds the provided capacity".into()));
        };
        let external = ExternalBytes {
            vm: Box::new(VMMemory { base, length }),
            capacity,
            maximum_pages: ty.maximum,
            on_grow: Box::new(on_grow),
        };
        Ok(Self::with_backing(store, ty, Backing::External(external)))
    }

    fn with_backing(store: &Store, ty: MemoryType, mut backing: Backing) -> Memory {
        let vm = backing.vm();
        let inner = Rc::new(MemoryInner { linear: RefCell::new(backing), ty, vm });
        store.0.keep_alive(inner.clone());
        Memory(inner)
    }

    /// Whether the bytes are the embedder's (`new_external`): no guard pages follow them.
    pub(crate) fn is_external(&self) -> bool {
        matches!(*self.0.linear.borrow(), Backing::External(_))
    }

    /// A stable identity for side tables (the address of its bytes is none: every
    /// memory of no bytes has the same one).
    pub fn identity(&self) -> usize {
        Rc::as_ptr(&self.0) as usize
    }

    /// Whether two handles name the same memory.
    pub fn ptr_eq(a: &Memory, b: &Memory) -> bool {
        Rc::ptr_eq(&a.0, &b.0)
    }

    pub fn ty(&self) -> MemoryType {
        // The declared type, but for the current size: a field added to `MemoryType`
        // comes along without being named here.
        MemoryType { minimum: self.size_pages(), ..self.0.ty.clone() }
    }

    pub fn size_pages(&self) -> u64 {
        self.size_bytes() >> self.0.ty.page_size_log2
    }

    pub fn size_bytes(&self) -> u64 {
        self.0.linear.borrow().size_bytes()
    }

    /// Grows by `delta` pages; returns the old size in pages, or None.
    pub fn grow(&self, delta: u64) -> Option<u64> {
        self.0.linear.borrow_mut().grow(delta)
    }

    /// The base address; it never changes, since memories are reserved up front.
    pub fn data_ptr(&self) -> *mut u8 {
        self.0.linear.borrow().base()
    }

    pub(crate) fn vm(&self) -> *mut VMMemory {
        self.0.vm
    }

    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), TrapCode> {
        let m = self.0.linear.borrow();
        let data = m.data();
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&e| e <= data.len() as u64)
            .ok_or(TrapCode::MemoryOutOfBounds)?;
        buf.copy_from_slice(&data[offset as usize..end as usize]);
        Ok(())
    }

    pub fn write(&self, offset: u64, bytes: &[u8]) -> Result<(), TrapCode> {
        let mut m = self.0.linear.borrow_mut();
        let data = m.data_mut();
        let end = offset
            .checked_add(bytes.len() as u64)
            .filter(|&e| e <= data.len() as u64)
            .ok_or(TrapCode::MemoryOutOfBounds)?;
        data[offset as usize..end as usize].copy_from_slice(bytes);
        Ok(())
    }

    pub(crate) fn fill(&self, dst: u64, value: u8, len: u64) -> Result<(), TrapCode> {
        let mut m = self.0.linear.borrow_mut();
        let data = m.data_mut();
        let end =
            dst.checked_add(len).filter(|&e| e <= data.len() as u64).ok_or(TrapCode::MemoryOutOfBounds)?;
        data[dst as usize..end as usize].fill(value);
        Ok(())
    }

    pub(crate) fn copy(
        dst_mem: &Memory,
        src_mem: &Memory,
        dst: u64,
        src: u64,
        len: u64,
    ) -> Result<(), TrapCode> {
        let oob = TrapCode::MemoryOutOfBounds;
        if dst.checked_add(len).is_none_or(|e| e > dst_mem.size_bytes())
            || src.checked_add(len).is_none_or(|e| e > src_mem.size_bytes())
        {
            return Err(oob);
        }
        if Rc::ptr_eq(&dst_mem.0, &src_mem.0) {
            let mut m = dst_mem.0.linear.borrow_mut();
            m.data_mut().copy_within(src as usize..(src + len) as usize, dst as usize);
        } else {
            let from = src_mem.0.linear.borrow();
            let mut to = dst_mem.0.linear.borrow_mut();
            to.data_mut()[dst as usize..(dst + len) as usize]
                .copy_from_slice(&from.data()[src as usize..(src + len) as usize]);
        }
        Ok(())
    }
}

/// The size of a default WebAssembly page (a memory's own: `MemoryType::page_size_log2`).
pub const PAGE_SIZE: u64 = WASM_PAGE_SIZE;

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::{Config, Engine};

    /// Whether the mapping at `addr` was advised MADV_HUGEPAGE (`hg` in its VmFlags).
    fn advised_huge(addr: *mut u8) -> bool {
        crate::runtime::mapping_flags(addr as usize).split(' ').any(|flag| flag == "hg")
    }

    #[test]
    fn reserved_memories_ask_for_huge_pages_as_configured() {
        for huge_pages in [true, false] {
            let engine = Engine::new(Config { huge_pages, ..Config::default() }).expect("engine");
            let store = Store::new(&engine);
            let memory = Memory::new(
                &store,
                MemoryType { minimum: 1, maximum: None, memory64: false, shared: false, page_size_log2: 16 },
            )
            .expect("memory");
            assert_eq!(advised_huge(memory.data_ptr()), huge_pages);
            // What a grow makes accessible was advised with the rest of the reservation.
            assert_eq!(memory.grow(40), Some(1));
            // SAFETY: in bounds: the memory has 41 pages now.
            assert_eq!(advised_huge(unsafe { memory.data_ptr().add(40 << 16) }), huge_pages);
        }
    }
}

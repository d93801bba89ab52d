//! Linear memories.
//!
//! Every memory reserves enough address space up front that compiled code never needs an
//! explicit bounds check: any address it can form is either inside the accessible prefix
//! or inside the inaccessible rest of the reservation, where the access faults and the
//! signal handler turns the fault into a trap. Growing only changes page protections, so
//! the base address never moves and compiled code may cache it.

use crate::error::Error;
use crate::runtime::vmcontext::VMMemory;
use std::ptr::NonNull;

/// Maps `len` bytes (a multiple of the page size) of zeroed, readable and writable
/// memory at a multiple of `align` (a power of two, at least a page). Pages cost memory
/// only once touched. For the GC heap's chunks.
pub(crate) fn map_aligned(len: usize, align: usize) -> Result<NonNull<u8>, Error> {
    let ptr = sys::reserve_aligned(len, align)?;
    // SAFETY: the range is the reservation just made.
    if let Err(e) = unsafe { sys::commit(ptr.as_ptr(), len) } {
        // SAFETY: the whole reservation, used by nothing yet.
        unsafe { sys::release(ptr.as_ptr(), len) };
        return Err(e);
    }
    Ok(ptr)
}

/// Unmaps what `map_aligned` mapped.
///
/// # Safety
/// `ptr` and `len` are one `map_aligned` mapping that nothing uses any more.
pub(crate) unsafe fn unmap_aligned(ptr: *mut u8, len: usize) {
    // SAFETY: forwarded from the caller.
    unsafe { sys::release(ptr, len) }
}

/// The size of a WebAssembly page.
pub const WASM_PAGE_SIZE: u64 = 65536;

/// The largest number of pages a memory with 32-bit addresses can have (4 GiB).
pub const MAX_PAGES_32: u64 = 65536;

/// The page size of WebAssembly pages, as a power of two.
pub const DEFAULT_PAGE_SIZE_LOG2: u8 = 16;

/// The most pages of `2^page_size_log2` bytes a memory can have here: 4 GiB, less one
/// byte for 1-byte pages (the custom-page-sizes proposal: a 32-bit `memory.size` must
/// hold the count).
pub fn max_pages(page_size_log2: u8) -> u64 {
    ((1u64 << 32) >> page_size_log2).min(u64::from(u32::MAX))
}

/// Whether memories may have pages of `2^page_size_log2` bytes: WebAssembly has 64 KiB
/// pages, and 1-byte ones (custom page sizes).
pub fn is_page_size(page_size_log2: u8) -> bool {
    matches!(page_size_log2, 0 | DEFAULT_PAGE_SIZE_LOG2)
}

/// The granule memory is made accessible in: the system page of x86-64 Linux, the one
/// target (a port to larger system pages would read it from the system).
const OS_PAGE: u64 = 4096;

/// Address space reserved per memory. Compiled code adds a zero-extended 32-bit index and a
/// 32-bit static offset and then accesses at most 8 bytes, so every address it can form is
/// below `base + 2^32 + 2^32 + 8`. The extra wasm page covers the access width with room to
/// spare (16-byte vector accesses included).
const RESERVATION: u64 = (8 << 30) + WASM_PAGE_SIZE;

/// An x86-64 huge page: the unit `Config::huge_pages` and big code mappings ask for.
pub(crate) const HUGE_PAGE: usize = 2 << 20;

/// Asks for transparent huge pages for the whole huge pages inside `[ptr, ptr + len)`;
/// nothing for a range smaller than one. The engine does this for its code mappings, and
/// for the memories it reserves when `Config::huge_pages` is set; an embedder that brings its own bytes
/// (`Memory::new_external`) can do the same for them, best before it first writes them.
///
/// # Safety
/// The range must be mapped memory the caller owns (the advice changes which pages back
/// it, not what it holds).
pub unsafe fn advise_huge_pages(ptr: *mut u8, len: usize) {
    // SAFETY: guaranteed by the caller.
    unsafe { sys::advise_huge_pages(ptr, len) }
}

/// A linear memory backed by a fixed address-space reservation.
pub struct LinearMemory {
    /// Start of the reservation; never changes for the life of the memory.
    base: NonNull<u8>,
    /// The record compiled code reads. It is heap-allocated so its address survives moves
    /// of `LinearMemory`, and held as a raw pointer rather than a `Box` because pointers to
    /// it are handed out through `&self` and dereferenced by compiled code, which a `Box`'s
    /// uniqueness guarantee would not allow.
    vm: NonNull<VMMemory>,
    reservation_len: usize,
    pages: u64,
    minimum: u64,
    maximum: Option<u64>,
    /// Pages are `2^page_size_log2` bytes (16, or 0 with custom page sizes). Smaller
    /// pages than the system's leave accessible bytes past the length: compiled code
    /// bounds-checks every access to such memories.
    page_size_log2: u8,
    /// Bytes made accessible: the length rounded up to a system page.
    committed: u64,
}

// SAFETY: the memory exclusively owns its mapping and its `VMMemory`; nothing in it is tied
// to the thread that created it. It is deliberately not `Sync`: compiled code writes through
// the pointers `vm()` and `base()` return from `&self`.
unsafe impl Send for LinearMemory {}

impl LinearMemory {
    /// Reserves the address space and makes the first `initial_pages` accessible.
    pub fn new(initial_pages: u64, maximum_pages: Option<u64>) -> Result<LinearMemory, Error> {
        Self::with_page_size(initial_pages, maximum_pages, DEFAULT_PAGE_SIZE_LOG2)
    }

    /// `new` with pages of `2^page_size_log2` bytes.
    pub fn with_page_size(
        initial_pages: u64,
        maximum_pages: Option<u64>,
        page_size_log2: u8,
    ) -> Result<LinearMemory, Error> {
        if !is_page_size(page_size_log2) {
            return Err(Error::Resource(format!("no memory has pages of 2^{page_size_log2} bytes")));
        }
        let limit = max_pages(page_size_log2);
        if let Some(max) = maximum_pages {
            if initial_pages > max {
                return Err(Error::Resource(format!(
                    "memory minimum of {initial_pages} pages exceeds its maximum of {max} pages"
                )));
            }
        }
        if initial_pages > limit {
            return Err(Error::Resource(format!(
                "memory minimum of {initial_pages} pages exceeds the limit of {limit} pages"
            )));
        }
        let reservation_len = usize::try_from(RESERVATION)
            .map_err(|_| Error::Unsupported("linear memories need a 64-bit address space".to_string()))?;
        let base = sys::reserve(reservation_len)?;
        let initial_bytes = initial_pages << page_size_log2;
        let committed = initial_bytes.next_multiple_of(OS_PAGE);
        if committed > 0 {
            // SAFETY: `committed` is at most 4 GiB, which lies inside the reservation we
            // just made and own exclusively.
            if let Err(e) = unsafe { sys::commit(base.as_ptr(), committed as usize) } {
                // SAFETY: the reservation is ours and nothing else refers to it yet.
                unsafe { sys::release(base.as_ptr(), reservation_len) };
                return Err(e);
            }
        }
        let vm = Box::new(VMMemory { base: base.as_ptr(), length: initial_bytes });
        Ok(LinearMemory {
            base,
            vm: NonNull::from(Box::leak(vm)),
            reservation_len,
            pages: initial_pages,
            minimum: initial_pages,
            maximum: maximum_pages,
            page_size_log2,
            committed,
        })
    }

    /// Backs the whole reservation (what is accessible now and what a grow will add)
    /// with huge pages where the kernel allows.
    pub fn advise_huge_pages(&self) {
        // SAFETY: the reservation is ours for as long as `self` lives.
        unsafe { sys::advise_huge_pages(self.base.as_ptr(), self.reservation_len) }
    }

    /// The record compiled code reads the base and length from. Its address is stable for
    /// the life of the memory and its `length` always reflects the current size.
    pub fn vm(&self) -> *mut VMMemory {
        self.vm.as_ptr()
    }

    pub fn base(&self) -> *mut u8 {
        self.base.as_ptr()
    }

    pub fn size_pages(&self) -> u64 {
        self.pages
    }

    pub fn size_bytes(&self) -> u64 {
        self.pages << self.page_size_log2
    }

    pub fn maximum_pages(&self) -> Option<u64> {
        self.maximum
    }

    /// The minimum the memory was declared with, which linking checks against.
    pub fn minimum_pages(&self) -> u64 {
        self.minimum
    }

    /// `memory.grow`: returns the previous size in pages, or `None` if the memory cannot
    /// grow by `delta_pages` (the caller turns that into -1).
    pub fn grow(&mut self, delta_pages: u64) -> Option<u64> {
        let old_pages = self.pages;
        if delta_pages == 0 {
            return Some(old_pages);
        }
        let new_pages = old_pages.checked_add(delta_pages)?;
        let most = max_pages(self.page_size_log2);
        let limit = self.maximum.map_or(most, |max| max.min(most));
        if new_pages > limit {
            return None;
        }
        let new_bytes = new_pages << self.page_size_log2;
        let committed = new_bytes.next_multiple_of(OS_PAGE);
        if committed > self.committed {
            // SAFETY: `new_bytes` is at most 4 GiB, so `[self.committed, committed)` ends
            // at or below 4 GiB, well inside the reservation, which we own exclusively.
            let made = unsafe {
                sys::commit(
                    self.base.as_ptr().add(self.committed as usize),
                    (committed - self.committed) as usize,
                )
            };
            if made.is_err() {
                return None;
            }
            self.committed = committed;
        }
        self.pages = new_pages;
        // SAFETY: `vm` came from `Box::leak` and stays allocated until `drop`. Writing it
        // from `&mut self` cannot race with compiled code, which runs on the same thread and
        // is suspended while the runtime grows the memory.
        unsafe { (*self.vm.as_ptr()).length = new_bytes };
        Some(old_pages)
    }

    /// The accessible bytes.
    pub fn data(&self) -> &[u8] {
        // SAFETY: the first `size_bytes()` bytes of the reservation are mapped readable and
        // writable, stay mapped while `self` lives, and fit in `isize` because the
        // reservation itself does. Compiled code also writes through `base`, which would
        // break the immutability of this slice if it ran while the slice is alive; it does
        // not, because a store executes on one thread and the runtime only takes these
        // slices while wasm is suspended (in host calls and runtime helpers), never
        // concurrently with wasm instructions.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr(), self.size_bytes() as usize) }
    }

    /// The accessible bytes, mutably.
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for `data`; in addition `&mut self` rules out other Rust references
        // into the memory, and compiled code is suspended while the slice is alive.
        unsafe { std::slice::from_raw_parts_mut(self.base.as_ptr(), self.size_bytes() as usize) }
    }
}

impl Drop for LinearMemory {
    fn drop(&mut self) {
        // SAFETY: the reservation is ours and, since we are being dropped, no compiled code
        // or Rust reference that uses it may outlive this point.
        unsafe { sys::release(self.base.as_ptr(), self.reservation_len) };
        // SAFETY: `vm` came from `Box::leak` in `new` and is freed only here.
        drop(unsafe { Box::from_raw(self.vm.as_ptr()) });
    }
}

impl std::fmt::Debug for LinearMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinearMemory")
            .field("base", &self.base)
            .field("pages", &self.pages)
            .field("minimum", &self.minimum)
            .field("maximum", &self.maximum)
            .finish()
    }
}

#[cfg(unix)]
mod sys {
    use crate::error::Error;
    use std::io;
    use std::ptr::{self, NonNull};

    // Without MAP_NORESERVE, Linux charges the whole 8 GiB against the overcommit limit
    // even though almost none of it will ever be touched.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const NORESERVE: libc::c_int = libc::MAP_NORESERVE;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const NORESERVE: libc::c_int = 0;

    /// Maps `len` bytes of inaccessible address space, starting at a huge-page boundary:
    /// else the huge pages of a memory would start up to 2 MiB past its address 0, and
    /// its first 2 MiB (where compilers put the stack and static data) would not get any.
    pub fn reserve(len: usize) -> Result<NonNull<u8>, Error> {
        reserve_aligned(len, super::HUGE_PAGE)
    }

    /// Maps `len` bytes of inaccessible address space at a multiple of `align` (a power
    /// of two, at least a page).
    pub fn reserve_aligned(len: usize, align: usize) -> Result<NonNull<u8>, Error> {
        let padded = len
            .checked_add(align)
            .ok_or_else(|| Error::Resource(format!("cannot reserve {len} bytes for a linear memory")))?;
        // SAFETY: an anonymous mapping at an address of the kernel's choosing cannot alias
        // anything that already exists.
        let ptr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                padded,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::Resource(format!(
                "cannot reserve {len} bytes of address space for a linear memory: {}",
                io::Error::last_os_error()
            )));
        }
        let start = ptr as usize;
        let aligned = start.next_multiple_of(align);
        let (head, tail) = (aligned - start, start + padded - (aligned + len));
        // SAFETY: both trimmed ranges lie in the mapping just made, outside the part kept.
        unsafe {
            if head > 0 {
                libc::munmap(ptr, head);
            }
            if tail > 0 {
                libc::munmap((aligned + len) as *mut libc::c_void, tail);
            }
        }
        NonNull::new(aligned as *mut u8)
            .ok_or_else(|| Error::Resource("mmap returned a null reservation".to_string()))
    }

    /// Makes `[ptr, ptr + len)` readable and writable.
    ///
    /// # Safety
    /// The range must lie inside a reservation owned by the caller.
    pub unsafe fn commit(ptr: *mut u8, len: usize) -> Result<(), Error> {
        // SAFETY: the caller owns the range, so changing its protection affects nothing else.
        let rc =
            unsafe { libc::mprotect(ptr.cast::<libc::c_void>(), len, libc::PROT_READ | libc::PROT_WRITE) };
        if rc != 0 {
            return Err(Error::Resource(format!(
                "cannot commit {len} bytes of linear memory: {}",
                io::Error::last_os_error()
            )));
        }
        Ok(())
    }

    /// Asks for transparent huge pages for the whole 2 MiB pages inside `[ptr, ptr + len)`.
    /// Only advice: an error (THP compiled out, say) changes nothing and is ignored.
    ///
    /// # Safety
    /// The range must be mapped memory the caller owns.
    pub unsafe fn advise_huge_pages(ptr: *mut u8, len: usize) {
        #[cfg(target_os = "linux")]
        {
            // madvise wants whole pages; the kernel then uses huge pages for the aligned
            // 2 MiB stretches inside them.
            let page = 4096; // the base page on x86-64, the one target
            let start = (ptr as usize).next_multiple_of(page);
            let end = (ptr as usize).saturating_add(len) / page * page;
            if end - start.min(end) >= super::HUGE_PAGE {
                // SAFETY: the range lies inside memory the caller owns; the advice only
                // chooses the size of the pages that back it.
                unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (ptr, len);
    }

    /// Unmaps a reservation.
    ///
    /// # Safety
    /// `ptr` and `len` must describe a whole reservation from `reserve` that nothing uses
    /// any more.
    pub unsafe fn release(ptr: *mut u8, len: usize) {
        // SAFETY: guaranteed by the caller. A failure would only leak address space, and
        // there is nothing useful to do about it in a destructor.
        unsafe { libc::munmap(ptr.cast::<libc::c_void>(), len) };
    }
}

#[cfg(not(unix))]
mod sys {
    use crate::error::Error;
    use std::ptr::NonNull;

    /// # Safety
    /// Nothing to uphold: there is no such advice on this platform.
    pub unsafe fn advise_huge_pages(_ptr: *mut u8, _len: usize) {}

    pub fn reserve(_len: usize) -> Result<NonNull<u8>, Error> {
        Err(Error::Unsupported("linear memories are only implemented on Unix".to_string()))
    }

    pub fn reserve_aligned(_len: usize, _align: usize) -> Result<NonNull<u8>, Error> {
        Err(Error::Unsupported("the GC heap is only implemented on Unix".to_string()))
    }

    /// # Safety
    /// Never called: `reserve` always fails on this platform.
    pub unsafe fn commit(_ptr: *mut u8, _len: usize) -> Result<(), Error> {
        Err(Error::Unsupported("linear memories are only implemented on Unix".to_string()))
    }

    /// # Safety
    /// Never called: `reserve` always fails on this platform.
    pub unsafe fn release(_ptr: *mut u8, _len: usize) {}
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn initial_size_and_vm_record() {
        let mem = LinearMemory::new(2, Some(5)).expect("memory");
        assert_eq!(mem.size_pages(), 2);
        assert_eq!(mem.size_bytes(), 2 * WASM_PAGE_SIZE);
        assert_eq!(mem.minimum_pages(), 2);
        assert_eq!(mem.maximum_pages(), Some(5));
        assert_eq!(mem.data().len() as u64, 2 * WASM_PAGE_SIZE);
        // SAFETY: `vm()` points at the live record owned by `mem`.
        let vm = unsafe { &*mem.vm() };
        assert_eq!(vm.base, mem.base());
        assert_eq!(vm.length, 2 * WASM_PAGE_SIZE);
    }

    #[test]
    fn grow_keeps_base_and_updates_length() {
        let mut mem = LinearMemory::new(1, Some(4)).expect("memory");
        let base = mem.base();
        let vm = mem.vm();
        mem.data_mut()[0] = 0xaa;
        mem.data_mut()[WASM_PAGE_SIZE as usize - 1] = 0xbb;

        assert_eq!(mem.grow(0), Some(1));
        assert_eq!(mem.grow(2), Some(1));
        assert_eq!(mem.size_pages(), 3);
        assert_eq!(mem.base(), base);
        assert_eq!(mem.vm(), vm);
        // SAFETY: `vm` points at the live record owned by `mem`.
        let record = unsafe { &*vm };
        assert_eq!(record.base, base);
        assert_eq!(record.length, 3 * WASM_PAGE_SIZE);

        let data = mem.data();
        assert_eq!(data.len() as u64, 3 * WASM_PAGE_SIZE);
        assert_eq!(data[0], 0xaa);
        assert_eq!(data[WASM_PAGE_SIZE as usize - 1], 0xbb);
        assert!(data[WASM_PAGE_SIZE as usize..].iter().all(|&b| b == 0));

        // The new pages are writable too.
        let last = mem.data().len() - 1;
        mem.data_mut()[last] = 1;
        assert_eq!(mem.data()[last], 1);
    }

    #[test]
    fn grow_beyond_maximum_fails_without_changing_anything() {
        let mut mem = LinearMemory::new(1, Some(2)).expect("memory");
        assert_eq!(mem.grow(2), None);
        assert_eq!(mem.size_pages(), 1);
        // SAFETY: `vm()` points at the live record owned by `mem`.
        assert_eq!(unsafe { (*mem.vm()).length }, WASM_PAGE_SIZE);
        assert_eq!(mem.grow(1), Some(1));
        assert_eq!(mem.grow(1), None);
        assert_eq!(mem.grow(0), Some(2));
        assert_eq!(mem.grow(u64::MAX), None);
    }

    #[test]
    fn zero_pages() {
        let mut mem = LinearMemory::new(0, None).expect("memory");
        assert_eq!(mem.size_pages(), 0);
        assert!(mem.data().is_empty());
        assert!(mem.data_mut().is_empty());
        assert!(!mem.base().is_null());
        assert_eq!(mem.grow(0), Some(0));
        assert_eq!(mem.grow(1), Some(0));
        assert_eq!(mem.data().len() as u64, WASM_PAGE_SIZE);

        let mut fixed = LinearMemory::new(0, Some(0)).expect("memory");
        assert_eq!(fixed.grow(1), None);
        assert_eq!(fixed.grow(0), Some(0));
    }

    #[test]
    fn invalid_limits_are_rejected() {
        assert!(matches!(LinearMemory::new(3, Some(2)), Err(Error::Resource(_))));
        assert!(matches!(LinearMemory::new(MAX_PAGES_32 + 1, None), Err(Error::Resource(_))));
    }

    #[test]
    fn page_limit_of_32_bit_memories() {
        let mut mem = LinearMemory::new(0, None).expect("memory");
        assert_eq!(mem.grow(MAX_PAGES_32 + 1), None);
        // A declared maximum above the architectural limit does not lift it.
        let mut big = LinearMemory::new(0, Some(MAX_PAGES_32 * 2)).expect("memory");
        assert_eq!(big.grow(MAX_PAGES_32 + 1), None);

        // Committing 4 GiB costs no physical memory until touched.
        assert_eq!(mem.grow(MAX_PAGES_32), Some(0));
        assert_eq!(mem.size_bytes(), 4 << 30);
        assert_eq!(mem.grow(1), None);
        assert_eq!(mem.grow(0), Some(MAX_PAGES_32));
        let last = mem.data().len() - 1;
        mem.data_mut()[last] = 7;
        assert_eq!(mem.data()[last], 7);
    }

    #[test]
    fn memories_move_without_moving_their_record() {
        let mem = LinearMemory::new(1, None).expect("memory");
        let vm = mem.vm();
        let moved = Box::new(mem);
        assert_eq!(moved.vm(), vm);
        // SAFETY: `vm` points at the live record owned by `moved`.
        assert_eq!(unsafe { (*vm).base }, moved.base());
    }
}

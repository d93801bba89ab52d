//! Executable memory for compiled code.
//!
//! Code is copied into fresh read-write pages, which are then switched to read-execute.
//! The pages are never writable and executable at the same time, and never change again.

use crate::error::Error;
use crate::runtime::signals::{self, CodeRegistration};
use std::ptr::NonNull;

/// A block of machine code mapped executable.
pub struct CodeMemory {
    /// Dropped explicitly in `Drop::drop` before the unmap: the fault handler must stop
    /// treating these addresses as wasm code before they can be reused for anything else.
    registration: Option<CodeRegistration>,
    ptr: NonNull<u8>,
    /// Length of the code itself.
    len: usize,
    /// Length of the mapping: `len` rounded up to whole pages, at least one page.
    mapped_len: usize,
}

// SAFETY: the mapping is exclusively owned and immutable after `new`; the registration is a
// plain handle into a global, thread-safe registry.
unsafe impl Send for CodeMemory {}
// SAFETY: no method mutates the mapping, so shared access from several threads only ever
// reads (or executes) it.
unsafe impl Sync for CodeMemory {}

impl CodeMemory {
    /// Maps `code` executable.
    pub fn new(code: &[u8]) -> Result<CodeMemory, Error> {
        CodeMemory::with_code(code.len(), |dst| dst.copy_from_slice(code))
    }

    /// Executable memory for `len` bytes of code that `write` puts in place, straight
    /// into the fresh (zeroed) mapping, before it becomes executable: the linker writes
    /// each function there instead of building the whole code in a vector first.
    pub fn with_code(len: usize, write: impl FnOnce(&mut [u8])) -> Result<CodeMemory, Error> {
        let page = sys::page_size();
        let mapped_len = len
            .max(1)
            .checked_next_multiple_of(page)
            .ok_or_else(|| Error::Resource(format!("{len} bytes of code is too large")))?;
        let ptr = sys::map_writable(mapped_len)?;
        // Unmaps if `write` panics or the mapping cannot become executable.
        struct Unmap(NonNull<u8>, usize);
        impl Drop for Unmap {
            fn drop(&mut self) {
                // SAFETY: the mapping is ours and nothing else refers to it.
                unsafe { sys::unmap(self.0.as_ptr(), self.1) };
            }
        }
        let guard = Unmap(ptr, mapped_len);
        // SAFETY: the mapping is fresh, writable, at least `len` bytes long and ours alone
        // until this function returns.
        write(unsafe { std::slice::from_raw_parts_mut(ptr.as_ptr(), len) });
        // SAFETY: the mapping is ours and nothing executes from it yet.
        unsafe { sys::make_executable(ptr.as_ptr(), mapped_len) }?;
        std::mem::forget(guard);
        Ok(CodeMemory { registration: None, ptr, len, mapped_len })
    }

    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    /// The length of the code (not of the page-rounded mapping).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `addr` points into the code.
    pub fn contains(&self, addr: usize) -> bool {
        let start = self.ptr.as_ptr() as usize;
        addr >= start && addr - start < self.len
    }

    /// Tells the fault handler which instructions of this code may fault on an out-of-bounds
    /// memory access or a zero divisor (`trap_sites`, offsets from `as_ptr()`, divisions
    /// marked with `signals::DIVISION_SITE`) and where to resume when they do (`trap_exit`,
    /// an absolute address). Replaces any earlier registration.
    pub fn register_traps(&mut self, trap_sites: Vec<u32>, trap_exit: usize) {
        // Unregister first so two entries for the same range never coexist.
        self.registration = None;
        self.registration =
            Some(signals::register_code(self.ptr.as_ptr() as usize, self.len, trap_sites, trap_exit));
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        // `Drop::drop` runs before the fields are dropped, so the registration has to be
        // released by hand to happen before the unmap.
        drop(self.registration.take());
        // SAFETY: the mapping is ours, no longer registered, and whoever owns this
        // `CodeMemory` guarantees nothing still executes from it.
        unsafe { sys::unmap(self.ptr.as_ptr(), self.mapped_len) };
    }
}

impl std::fmt::Debug for CodeMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeMemory")
            .field("ptr", &self.ptr)
            .field("len", &self.len)
            .field("registered", &self.registration.is_some())
            .finish()
    }
}

#[cfg(unix)]
mod sys {
    use crate::error::Error;
    use std::io;
    use std::ptr::{self, NonNull};

    pub fn page_size() -> usize {
        // SAFETY: sysconf has no preconditions.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(size).ok().filter(|s| s.is_power_of_two()).unwrap_or(4096)
    }

    pub fn map_writable(len: usize) -> Result<NonNull<u8>, Error> {
        // SAFETY: an anonymous mapping at an address of the kernel's choosing cannot alias
        // anything that already exists.
        let ptr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::Resource(format!(
                "cannot map {len} bytes for code: {}",
                io::Error::last_os_error()
            )));
        }
        // Big modules' code goes into transparent huge pages where the kernel allows
        // them (mappings under one huge page get no advice): writing esbuild's 14 MB of
        // code took 4,120 page faults, 1,005 so, and its compile 5 % less time; running
        // it then needs fewer TLB entries.
        // SAFETY: advice about our own fresh mapping, which nothing else refers to.
        unsafe { crate::runtime::memory::advise_huge_pages(ptr.cast::<u8>(), len) };
        NonNull::new(ptr.cast::<u8>())
            .ok_or_else(|| Error::Resource("mmap returned a null mapping".to_string()))
    }

    /// # Safety
    /// `[ptr, ptr + len)` must be a mapping owned by the caller.
    pub unsafe fn make_executable(ptr: *mut u8, len: usize) -> Result<(), Error> {
        // SAFETY: the caller owns the range, so changing its protection affects nothing else.
        let rc =
            unsafe { libc::mprotect(ptr.cast::<libc::c_void>(), len, libc::PROT_READ | libc::PROT_EXEC) };
        if rc != 0 {
            return Err(Error::Resource(format!(
                "cannot make code executable: {}",
                io::Error::last_os_error()
            )));
        }
        Ok(())
    }

    /// # Safety
    /// `[ptr, ptr + len)` must be a whole mapping from `map_writable` that nothing uses
    /// any more.
    pub unsafe fn unmap(ptr: *mut u8, len: usize) {
        // SAFETY: guaranteed by the caller. A failure would only leak address space, and
        // there is nothing useful to do about it in a destructor.
        unsafe { libc::munmap(ptr.cast::<libc::c_void>(), len) };
    }
}

#[cfg(not(unix))]
mod sys {
    use crate::error::Error;
    use std::ptr::NonNull;

    pub fn page_size() -> usize {
        4096
    }

    pub fn map_writable(_len: usize) -> Result<NonNull<u8>, Error> {
        Err(Error::Unsupported("executable memory is only implemented on Unix".to_string()))
    }

    /// # Safety
    /// Never called: `map_writable` always fails on this platform.
    pub unsafe fn make_executable(_ptr: *mut u8, _len: usize) -> Result<(), Error> {
        Err(Error::Unsupported("executable memory is only implemented on Unix".to_string()))
    }

    /// # Safety
    /// Never called: `map_writable` always fails on this platform.
    pub unsafe fn unmap(_ptr: *mut u8, _len: usize) {}
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn copies_code_and_reports_extent() {
        let code = [0x90, 0x90, 0xc3];
        let mem = CodeMemory::new(&code).expect("code memory");
        assert_eq!(mem.len(), 3);
        assert!(!mem.is_empty());
        // SAFETY: the mapping is readable and at least `len()` bytes long.
        let copied = unsafe { std::slice::from_raw_parts(mem.as_ptr(), mem.len()) };
        assert_eq!(copied, &code);
        let start = mem.as_ptr() as usize;
        assert!(mem.contains(start));
        assert!(mem.contains(start + 2));
        assert!(!mem.contains(start + 3));
        assert!(!mem.contains(start.wrapping_sub(1)));
    }

    #[test]
    fn empty_code_is_still_a_mapping() {
        let mem = CodeMemory::new(&[]).expect("code memory");
        assert!(mem.is_empty());
        assert_eq!(mem.len(), 0);
        assert!(!mem.as_ptr().is_null());
        assert!(!mem.contains(mem.as_ptr() as usize));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn code_is_executable() {
        // mov eax, 42; ret
        let mem = CodeMemory::new(&[0xb8, 42, 0, 0, 0, 0xc3]).expect("code memory");
        // SAFETY: the bytes are a complete function following the System V convention.
        let f: extern "C" fn() -> u32 = unsafe { std::mem::transmute(mem.as_ptr()) };
        assert_eq!(f(), 42);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn big_code_asks_for_huge_pages_and_small_code_does_not() {
        let big = CodeMemory::new(&vec![0xc3; crate::runtime::memory::HUGE_PAGE]).expect("code memory");
        let small = CodeMemory::new(&[0xc3; 4096]).expect("code memory");
        let big_flags = crate::runtime::mapping_flags(big.as_ptr() as usize);
        let small_flags = crate::runtime::mapping_flags(small.as_ptr() as usize);
        // `hg`: madvise(MADV_HUGEPAGE); `ex`: executable, and `wr` must be gone.
        assert!(big_flags.split(' ').any(|f| f == "hg"), "{big_flags}");
        assert!(!small_flags.split(' ').any(|f| f == "hg"), "{small_flags}");
        for flags in [&big_flags, &small_flags] {
            assert!(flags.split(' ').any(|f| f == "ex") && !flags.split(' ').any(|f| f == "wr"), "{flags}");
        }
    }

    #[test]
    fn registration_can_be_replaced_and_dropped() {
        let mut mem = CodeMemory::new(&[0xc3; 16]).expect("code memory");
        let exit = mem.as_ptr() as usize + 15;
        mem.register_traps(vec![0, 4], exit);
        mem.register_traps(vec![8], exit);
        drop(mem);
    }
}

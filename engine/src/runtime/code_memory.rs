//! Executable memory for compiled code.
//!
//! Code is written into fresh read-write pages through a `CodeWriter` (compiled there,
//! or copied there by `CodeMemory::new`), which are then switched to read-execute. The
//! pages are never writable and executable at the same time, and never change again.

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

// SAFETY: the mapping is exclusively owned and immutable once it is a `CodeMemory` (made
// executable by `CodeWriter::into_executable`); the registration is a plain handle into a
// global, thread-safe registry.
unsafe impl Send for CodeMemory {}
// SAFETY: no method mutates the mapping, so shared access from several threads only ever
// reads (or executes) it.
unsafe impl Sync for CodeMemory {}

impl CodeMemory {
    /// Maps `code` executable.
    pub fn new(code: &[u8]) -> Result<CodeMemory, Error> {
        let mut writer = CodeWriter::with_capacity(code.len())?;
        writer.extend_from_slice(code)?;
        writer.into_executable()
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

/// Code being written: a writable mapping that grows as code is appended and then
/// becomes executable where it is (`into_executable`). A module compiled into one is
/// neither copied into its code memory afterwards nor faulted in twice: sql.js's code,
/// copied from vectors, took 960 page faults per compile, about a tenth of its time.
pub struct CodeWriter {
    ptr: NonNull<u8>,
    /// Bytes written.
    len: usize,
    /// Length of the mapping, whole pages.
    mapped_len: usize,
}

// SAFETY: the mapping is exclusively owned; moving the writer moves that ownership.
unsafe impl Send for CodeWriter {}

impl CodeWriter {
    /// An empty writer with room for `capacity` bytes before it has to grow. The room is
    /// address space only: pages are allocated as code is written to them.
    pub fn with_capacity(capacity: usize) -> Result<CodeWriter, Error> {
        let mapped_len = Self::whole_pages(capacity.max(1))?;
        let ptr = sys::map_writable(mapped_len)?;
        Ok(CodeWriter { ptr, len: 0, mapped_len })
    }

    /// A writer with no mapping yet (what `std::mem::take` leaves behind).
    pub fn empty() -> CodeWriter {
        CodeWriter { ptr: NonNull::dangling(), len: 0, mapped_len: 0 }
    }

    fn whole_pages(len: usize) -> Result<usize, Error> {
        len.checked_next_multiple_of(sys::page_size())
            .ok_or_else(|| Error::Resource(format!("{len} bytes of code is too large")))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: the first `len` bytes of the mapping are ours, readable and initialized
        // (a fresh mapping is zeroed).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`, and `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// Makes room for `additional` more bytes: a mapping of twice the size (or more, if
    /// that is still too small) takes over what was written.
    fn reserve(&mut self, additional: usize) -> Result<(), Error> {
        let needed =
            self.len.checked_add(additional).ok_or_else(|| Error::Resource("code too large".into()))?;
        if needed <= self.mapped_len {
            return Ok(());
        }
        let mut grown = CodeWriter::with_capacity(needed.max(self.mapped_len.saturating_mul(2)))?;
        // SAFETY: the new mapping is at least `needed` > `len` bytes long, writable, and
        // does not overlap this one.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr.as_ptr(), grown.ptr.as_ptr(), self.len) };
        grown.len = self.len;
        std::mem::swap(self, &mut grown);
        Ok(())
    }

    pub fn extend_from_slice(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.reserve(bytes.len())?;
        // SAFETY: `reserve` made the mapping at least `len + bytes.len()` long; `bytes`
        // cannot be inside it, which only `&mut self` reaches.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr.as_ptr().add(self.len), bytes.len())
        };
        self.len += bytes.len();
        Ok(())
    }

    /// Fills with `byte` up to `len` bytes (nothing if there are that many already).
    pub fn pad_to(&mut self, len: usize, byte: u8) -> Result<(), Error> {
        let Some(extra) = len.checked_sub(self.len) else { return Ok(()) };
        self.reserve(extra)?;
        // SAFETY: `reserve` made the mapping at least `len` bytes long.
        unsafe { self.ptr.as_ptr().add(self.len).write_bytes(byte, extra) };
        self.len = len;
        Ok(())
    }

    /// Makes the code executable in place: the pages past it are unmapped, the rest
    /// become read-execute.
    pub fn into_executable(mut self) -> Result<CodeMemory, Error> {
        if self.mapped_len == 0 {
            // `CodeMemory` has at least a page.
            self.reserve(1)?;
        }
        // Whole pages, so at most `mapped_len`, which is whole pages and at least `len`.
        let mapped_len = Self::whole_pages(self.len.max(1))?;
        let writer = std::mem::ManuallyDrop::new(self);
        let (ptr, len) = (writer.ptr, writer.len);
        if mapped_len < writer.mapped_len {
            // SAFETY: the tail past `mapped_len` is a page-aligned part of our own mapping,
            // holding no code, which nothing refers to.
            unsafe { sys::unmap(ptr.as_ptr().add(mapped_len), writer.mapped_len - mapped_len) };
        }
        // From here the mapping is `CodeMemory`'s, which unmaps it if this fails.
        let code = CodeMemory { registration: None, ptr, len, mapped_len };
        // SAFETY: the mapping is ours and nothing executes from it yet.
        unsafe { sys::make_executable(ptr.as_ptr(), mapped_len) }?;
        Ok(code)
    }
}

impl Default for CodeWriter {
    fn default() -> Self {
        CodeWriter::empty()
    }
}

impl Drop for CodeWriter {
    fn drop(&mut self) {
        if self.mapped_len > 0 {
            // SAFETY: the mapping is ours and nothing refers to it after the writer.
            unsafe { sys::unmap(self.ptr.as_ptr(), self.mapped_len) };
        }
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
    /// `[ptr, ptr + len)` must be a page-aligned range of a mapping from `map_writable`
    /// that the caller owns (the whole mapping, or its tail) and nothing uses any more.
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
    fn a_writer_grows_keeping_its_code_and_becomes_executable_in_place() {
        let page = sys::page_size();
        let mut writer = CodeWriter::with_capacity(16).expect("writer");
        // Past the first page and then past the doubled mapping: two moves.
        let pattern: Vec<u8> = (0..3 * page + 5).map(|i| (i % 251) as u8).collect();
        writer.extend_from_slice(&pattern[..page - 3]).expect("fits");
        writer.extend_from_slice(&pattern[page - 3..]).expect("grows");
        writer.pad_to(writer.len() + 7, 0xCC).expect("pads");
        writer.pad_to(1, 0x90).expect("nothing to pad");
        assert_eq!(&writer.as_slice()[..pattern.len()], &pattern[..]);
        assert_eq!(&writer.as_slice()[pattern.len()..], &[0xCC; 7]);
        // mov eax, 42; ret, at the end.
        let at = writer.len();
        writer.extend_from_slice(&[0xb8, 42, 0, 0, 0, 0xc3]).expect("grows");
        let code = writer.into_executable().expect("executable");
        assert_eq!(code.len(), at + 6);
        // SAFETY: the code is mapped readable for `len` bytes.
        let bytes = unsafe { std::slice::from_raw_parts(code.as_ptr(), code.len()) };
        assert_eq!(&bytes[..pattern.len()], &pattern[..]);
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: the bytes at `at` are a complete System V function.
            let f: extern "C" fn() -> u32 = unsafe { std::mem::transmute(code.as_ptr().add(at)) };
            assert_eq!(f(), 42);
        }
        #[cfg(target_os = "linux")]
        {
            let flags = crate::runtime::mapping_flags(code.as_ptr() as usize);
            assert!(flags.split(' ').any(|f| f == "ex") && !flags.split(' ').any(|f| f == "wr"), "{flags}");
        }
    }

    #[test]
    fn an_empty_writer_becomes_an_empty_code_memory() {
        for writer in [CodeWriter::empty(), CodeWriter::with_capacity(1 << 20).expect("writer")] {
            let code = writer.into_executable().expect("executable");
            assert!(code.is_empty());
            assert!(!code.as_ptr().is_null());
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

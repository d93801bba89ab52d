//! Turning faults in compiled code into traps.
//!
//! Compiled code does not bounds-check linear memory accesses; an out-of-bounds access
//! lands in the inaccessible part of the memory's reservation and faults (SIGSEGV or
//! SIGBUS). Nor does it test divisors for zero: `div` by zero raises #DE (SIGFPE). The
//! handler installed here recognizes faults raised by a known load, store or division of
//! registered code and resumes execution at that code's trap exit with
//! `TrapCode::MemoryOutOfBounds` or `TrapCode::IntegerDivisionByZero` in `rsi`. Every
//! other fault is passed on to whichever handler was installed before, so genuine crashes
//! (and Rust's stack-overflow reporting) behave as if this module did not exist.

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A registered region of compiled code.
struct Region {
    id: u64,
    start: usize,
    end: usize,
    /// Sorted, deduplicated offsets from `start` of instructions that may fault,
    /// divisions marked with `DIVISION_SITE`.
    trap_sites: Vec<u32>,
    trap_exit: usize,
}

/// A snapshot of all regions, sorted by `start`. Snapshots are immutable once published.
type Snapshot = Vec<Arc<Region>>;

// The registry is a copy-on-write list behind an atomic pointer rather than a `RwLock`.
// With a lock, a handler that fails `try_read` because another thread is registering code
// at that moment would have to treat a genuine wasm trap as a crash, and spinning on the
// lock instead would deadlock if the signal interrupted the writer on its own thread.
// Here the handler never waits: it announces itself in `ACTIVE_READERS`, reads whichever
// snapshot is current, and leaves. Writers serialize on `WRITER`, publish a new snapshot,
// and free the old one only after `ACTIVE_READERS` has dropped to zero. A handler's read
// section is a couple of binary searches, so writers wait for microseconds at most, and
// because a handler never calls into a writer the wait cannot deadlock.

/// The current snapshot; null means no regions.
static CURRENT: AtomicPtr<Snapshot> = AtomicPtr::new(std::ptr::null_mut());
/// Signal handlers currently reading a snapshot.
static ACTIVE_READERS: AtomicUsize = AtomicUsize::new(0);
/// Serializes writers so that each builds on the latest snapshot.
static WRITER: Mutex<()> = Mutex::new(());
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Marks a trap site that is a division (`div`/`idiv`), whose fault (#DE, SIGFPE) means
/// a zero divisor; unmarked sites are loads and stores. Offsets never have this bit:
/// code is far smaller than 2 GiB (calls between its functions are rel32).
pub const DIVISION_SITE: u32 = 1 << 31;

/// Keeps a code region registered with the fault handler; unregisters it when dropped.
#[must_use = "the region is unregistered as soon as the registration is dropped"]
#[derive(Debug)]
pub struct CodeRegistration {
    id: u64,
}

impl Drop for CodeRegistration {
    fn drop(&mut self) {
        let id = self.id;
        update(|regions| regions.retain(|r| r.id != id));
    }
}

/// Registers `[start, start + len)` as compiled code. `trap_sites` are the offsets from
/// `start` of the first byte of every load or store that may fault on an out-of-bounds
/// linear memory access, and of every division (marked with `DIVISION_SITE`); a fault at
/// any of them resumes at `trap_exit`. Also installs the signal handlers, so registered
/// code is always covered.
pub fn register_code(
    start: usize,
    len: usize,
    mut trap_sites: Vec<u32>,
    trap_exit: usize,
) -> CodeRegistration {
    install_handlers();
    // The handler binary-searches the sites, so don't rely on the caller's ordering.
    trap_sites.sort_unstable();
    trap_sites.dedup();
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let region = Arc::new(Region { id, start, end: start.saturating_add(len), trap_sites, trap_exit });
    update(move |regions| {
        let at = regions.partition_point(|r| r.start <= region.start);
        regions.insert(at, region);
    });
    CodeRegistration { id }
}

/// Publishes a modified copy of the current snapshot.
fn update(change: impl FnOnce(&mut Snapshot)) {
    // A panic while holding the lock cannot leave the published snapshot inconsistent (it
    // is replaced atomically), so a poisoned lock is safe to reuse.
    let _guard = WRITER.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let current = CURRENT.load(Ordering::SeqCst);
    let mut next: Snapshot = if current.is_null() {
        Vec::new()
    } else {
        // SAFETY: non-null snapshots are only freed by writers, and we hold the writer lock.
        unsafe { (*current).clone() }
    };
    change(&mut next);
    let next = if next.is_empty() { std::ptr::null_mut() } else { Box::into_raw(Box::new(next)) };
    let old = CURRENT.swap(next, Ordering::SeqCst);
    // A reader that registered itself after the swap (in the SeqCst order) loads the new
    // pointer; one that registered before is still counted here. So once the count has been
    // zero, nobody can hold `old`.
    while ACTIVE_READERS.load(Ordering::SeqCst) != 0 {
        std::hint::spin_loop();
        std::thread::yield_now();
    }
    if !old.is_null() {
        // SAFETY: `old` came from `Box::into_raw` above (in an earlier update), it is no
        // longer published, and no reader can still be looking at it.
        drop(unsafe { Box::from_raw(old) });
    }
}

/// If `pc` is a registered trap site (a division with `division`, else a load or
/// store), the address to resume at. Async-signal-safe: no allocation, no locks, no
/// panics.
#[cfg_attr(not(all(target_arch = "x86_64", target_os = "linux")), allow(dead_code))]
pub(crate) fn trap_exit_for(pc: usize, division: bool) -> Option<usize> {
    ACTIVE_READERS.fetch_add(1, Ordering::SeqCst);
    let current = CURRENT.load(Ordering::SeqCst);
    let result = if current.is_null() {
        None
    } else {
        // SAFETY: writers do not free a snapshot while `ACTIVE_READERS` is non-zero, and we
        // counted ourselves before loading the pointer.
        let regions = unsafe { &*current };
        lookup(regions, pc, division)
    };
    ACTIVE_READERS.fetch_sub(1, Ordering::SeqCst);
    result
}

fn lookup(regions: &[Arc<Region>], pc: usize, division: bool) -> Option<usize> {
    let candidates = regions.partition_point(|r| r.start <= pc);
    let region = regions.get(candidates.checked_sub(1)?)?;
    if pc >= region.end {
        return None;
    }
    let offset = u32::try_from(pc - region.start).ok().filter(|o| o & DIVISION_SITE == 0)?;
    let site = if division { offset | DIVISION_SITE } else { offset };
    region.trap_sites.binary_search(&site).ok().map(|_| region.trap_exit)
}

/// Installs the SIGSEGV, SIGBUS and SIGFPE handlers. Idempotent. Does nothing on platforms the
/// compiler does not target.
pub fn install_handlers() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(imp::install);
}

/// Gives the current thread an alternate signal stack if it has none, so the handler can
/// run even when a fault happens with the thread's stack exhausted. The stack lives as long
/// as the thread.
pub fn ensure_alt_stack() {
    imp::ensure_alt_stack();
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod imp {
    use super::trap_exit_for;
    use crate::trap::TrapCode;
    use std::cell::Cell;
    use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

    /// The disposition a signal had before ours. Only the handler address and the flags are
    /// needed to chain, and both fit in atomics, which the handler can read without locks.
    struct Previous {
        handler: AtomicUsize,
        flags: AtomicI32,
    }

    static PREV_SEGV: Previous =
        Previous { handler: AtomicUsize::new(libc::SIG_DFL), flags: AtomicI32::new(0) };
    static PREV_BUS: Previous =
        Previous { handler: AtomicUsize::new(libc::SIG_DFL), flags: AtomicI32::new(0) };
    static PREV_FPE: Previous =
        Previous { handler: AtomicUsize::new(libc::SIG_DFL), flags: AtomicI32::new(0) };

    pub fn install() {
        // SAFETY: called once, under `Once`; `install_one` only calls `sigaction`.
        unsafe {
            install_one(libc::SIGSEGV, &PREV_SEGV);
            install_one(libc::SIGBUS, &PREV_BUS);
            install_one(libc::SIGFPE, &PREV_FPE);
        }
    }

    /// # Safety
    /// Must only be called once per signal, so that `prev` records the foreign handler
    /// rather than our own.
    unsafe fn install_one(signum: libc::c_int, prev: &Previous) {
        // SAFETY: an all-zero `sigaction` is a valid value (SIG_DFL, empty mask, no flags).
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // Query first and install second, so the previous handler is recorded before our
        // handler can run and want to chain to it.
        // SAFETY: a null new action only reads the current one into `old`.
        if unsafe { libc::sigaction(signum, std::ptr::null(), &mut old) } == 0 {
            prev.handler.store(old.sa_sigaction, Ordering::SeqCst);
            prev.flags.store(old.sa_flags, Ordering::SeqCst);
        }
        // SAFETY: as above.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = handle_fault as *const () as usize;
        // SA_ONSTACK so that faults with an exhausted stack can still be handled;
        // SA_NODEFER so that a fault inside a chained handler is not silently blocked.
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
        // SAFETY: `action.sa_mask` is a valid, owned sigset; `handle_fault` has the
        // three-argument signature SA_SIGINFO requires.
        unsafe {
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signum, &action, std::ptr::null_mut());
        }
    }

    /// The SIGSEGV/SIGBUS/SIGFPE handler. Must stay async-signal-safe: no allocation, no locks
    /// that can block, no panics.
    unsafe extern "C" fn handle_fault(
        signum: libc::c_int,
        info: *mut libc::siginfo_t,
        context: *mut libc::c_void,
    ) {
        // SAFETY: errno is thread-local and always valid to access.
        let saved_errno = unsafe { *libc::__errno_location() };
        if !context.is_null() {
            // SAFETY: with SA_SIGINFO the kernel passes a valid `ucontext_t` describing the
            // interrupted thread, which we may read and modify until we return.
            let gregs = unsafe { &mut (*context.cast::<libc::ucontext_t>()).uc_mcontext.gregs };
            let pc = gregs[libc::REG_RIP as usize] as usize;
            let division = signum == libc::SIGFPE;
            if let Some(exit) = trap_exit_for(pc, division) {
                let code =
                    if division { TrapCode::IntegerDivisionByZero } else { TrapCode::MemoryOutOfBounds };
                // The trap exit stub expects the trap code in rsi, and the backtrace's
                // first address in rdx (rbp is the faulting function's frame).
                gregs[libc::REG_RSI as usize] = i64::from(code as u32);
                gregs[libc::REG_RDX as usize] = pc as i64;
                gregs[libc::REG_RIP as usize] = exit as i64;
                return;
            }
        }
        // SAFETY: we are in a signal handler for `signum` with the kernel's arguments.
        unsafe { chain(signum, info, context) };
        // SAFETY: as above.
        unsafe { *libc::__errno_location() = saved_errno };
    }

    /// Passes a fault that is not ours to the handler that was installed before us.
    ///
    /// # Safety
    /// Must be called from the signal handler for `signum`, with its arguments.
    unsafe fn chain(signum: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
        let prev = match signum {
            libc::SIGSEGV => &PREV_SEGV,
            libc::SIGBUS => &PREV_BUS,
            libc::SIGFPE => &PREV_FPE,
            _ => return,
        };
        let handler = prev.handler.load(Ordering::SeqCst);
        let flags = prev.flags.load(Ordering::SeqCst);
        if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
            // Returning re-executes the faulting instruction, which now kills the process
            // the way it would have without us. Ignoring a synchronous fault would loop.
            // SAFETY: an all-zero `sigaction` is SIG_DFL with an empty mask.
            let mut default: libc::sigaction = unsafe { std::mem::zeroed() };
            default.sa_sigaction = libc::SIG_DFL;
            // SAFETY: `sigaction` is async-signal-safe and `default` is a valid action.
            unsafe { libc::sigaction(signum, &default, std::ptr::null_mut()) };
            // A signal another process or `raise` sent (si_code <= 0) re-executes
            // nothing: send it again, to the default action now.
            // SAFETY: the kernel passes a valid `siginfo_t` with SA_SIGINFO; `raise` is
            // async-signal-safe.
            if !info.is_null() && unsafe { (*info).si_code } <= 0 {
                unsafe { libc::raise(signum) };
            }
        } else if flags & libc::SA_SIGINFO != 0 {
            // SAFETY: a handler installed with SA_SIGINFO has the three-argument signature,
            // and we pass it exactly the arguments the kernel gave us.
            unsafe {
                let f = std::mem::transmute::<
                    usize,
                    extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void),
                >(handler);
                f(signum, info, context);
            }
        } else {
            // SAFETY: a handler installed without SA_SIGINFO takes just the signal number.
            unsafe {
                let f = std::mem::transmute::<usize, extern "C" fn(libc::c_int)>(handler);
                f(signum);
            }
        }
    }

    /// Size of the alternate signal stacks we allocate: ample for our handler and for
    /// chained handlers such as Rust's, which format a message.
    const ALT_STACK_SIZE: usize = 64 * 1024;

    /// An alternate signal stack owned by the thread it is installed on.
    struct AltStack {
        /// Start of the mapping, including the guard page.
        mapping: *mut libc::c_void,
        mapping_len: usize,
        /// Start of the usable stack, above the guard page.
        stack: *mut libc::c_void,
    }

    impl AltStack {
        fn new() -> Option<AltStack> {
            // SAFETY: sysconf has no preconditions.
            let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
                .ok()
                .filter(|p| p.is_power_of_two())
                .unwrap_or(4096);
            let mapping_len = ALT_STACK_SIZE + page;
            // SAFETY: a fresh anonymous mapping cannot alias anything.
            let mapping = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    mapping_len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if mapping == libc::MAP_FAILED {
                return None;
            }
            // A guard page below the stack turns an overflow of the signal stack into a
            // fault instead of silent corruption of whatever is mapped below.
            // SAFETY: the first page belongs to the mapping we just made.
            if unsafe { libc::mprotect(mapping, page, libc::PROT_NONE) } != 0 {
                // SAFETY: the mapping is ours and unused.
                unsafe { libc::munmap(mapping, mapping_len) };
                return None;
            }
            // SAFETY: `page` is within the mapping.
            let stack = unsafe { mapping.cast::<u8>().add(page).cast::<libc::c_void>() };
            Some(AltStack { mapping, mapping_len, stack })
        }
    }

    impl Drop for AltStack {
        fn drop(&mut self) {
            // SAFETY: querying the current alternate stack has no preconditions.
            let mut current: libc::stack_t = unsafe { std::mem::zeroed() };
            // SAFETY: a null new stack only reads the current one.
            let queried = unsafe { libc::sigaltstack(std::ptr::null(), &mut current) } == 0;
            if queried && current.ss_sp == self.stack {
                if current.ss_flags & libc::SS_ONSTACK != 0 {
                    // Still running on it (cannot happen from a thread-local destructor,
                    // but freeing it then would be fatal): leak it instead.
                    return;
                }
                // The kernel must stop using the stack before we unmap it.
                // SAFETY: as above.
                let mut disable: libc::stack_t = unsafe { std::mem::zeroed() };
                disable.ss_flags = libc::SS_DISABLE;
                // SAFETY: `disable` is a valid request to turn the alternate stack off.
                if unsafe { libc::sigaltstack(&disable, std::ptr::null_mut()) } != 0 {
                    return;
                }
            } else if !queried {
                return;
            }
            // SAFETY: the mapping is ours and the kernel no longer uses it as a stack.
            unsafe { libc::munmap(self.mapping, self.mapping_len) };
        }
    }

    thread_local! {
        static ALT_STACK: Cell<Option<AltStack>> = const { Cell::new(None) };
    }

    pub fn ensure_alt_stack() {
        // SAFETY: querying the current alternate stack has no preconditions.
        let mut current: libc::stack_t = unsafe { std::mem::zeroed() };
        // SAFETY: a null new stack only reads the current one.
        if unsafe { libc::sigaltstack(std::ptr::null(), &mut current) } != 0 {
            return;
        }
        if current.ss_flags & libc::SS_DISABLE == 0 {
            // The thread already has one (Rust's runtime installs one on threads it
            // creates); keep it.
            return;
        }
        let Some(stack) = AltStack::new() else { return };
        let request = libc::stack_t { ss_sp: stack.stack, ss_flags: 0, ss_size: ALT_STACK_SIZE };
        // SAFETY: `request` describes a writable mapping that `stack` keeps alive for as long
        // as it is installed: the thread-local owner disables it before unmapping.
        if unsafe { libc::sigaltstack(&request, std::ptr::null_mut()) } != 0 {
            return;
        }
        // If the thread-local is already being destroyed, dropping `stack` here disables
        // and frees it again, which is the best we can do at thread exit.
        let _ = ALT_STACK.try_with(|slot| {
            // The previous occupant, if any, is not installed (we saw SS_DISABLE), so
            // dropping it only frees it.
            drop(slot.replace(Some(stack)));
        });
    }

    #[cfg(test)]
    pub fn has_alt_stack() -> bool {
        // SAFETY: as in `ensure_alt_stack`.
        let mut current: libc::stack_t = unsafe { std::mem::zeroed() };
        // SAFETY: a null new stack only reads the current one.
        let rc = unsafe { libc::sigaltstack(std::ptr::null(), &mut current) };
        rc == 0 && current.ss_flags & libc::SS_DISABLE == 0
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
mod imp {
    pub fn install() {}

    pub fn ensure_alt_stack() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_lookup_and_unregister() {
        // Addresses of a live allocation can't collide with any other registered region.
        let fake = Box::new([0u8; 64]);
        let start = fake.as_ptr() as usize;
        let exit = start + 60;
        let registration = register_code(start, 32, vec![16, 4, 0, 4, 8 | DIVISION_SITE], exit);
        assert_eq!(trap_exit_for(start, false), Some(exit));
        // A division site is one only for SIGFPE, a load or store only for the others.
        assert_eq!(trap_exit_for(start + 8, true), Some(exit));
        assert_eq!(trap_exit_for(start + 8, false), None);
        assert_eq!(trap_exit_for(start + 4, true), None);
        assert_eq!(trap_exit_for(start + 4, false), Some(exit));
        assert_eq!(trap_exit_for(start + 16, false), Some(exit));
        assert_eq!(trap_exit_for(start + 1, false), None);
        assert_eq!(trap_exit_for(start + 32, false), None);
        assert_eq!(trap_exit_for(start.wrapping_sub(1), false), None);

        let second = register_code(start + 32, 32, vec![0], exit + 1);
        assert_eq!(trap_exit_for(start + 32, false), Some(exit + 1));
        assert_eq!(trap_exit_for(start + 16, false), Some(exit));

        drop(registration);
        assert_eq!(trap_exit_for(start, false), None);
        assert_eq!(trap_exit_for(start + 32, false), Some(exit + 1));
        drop(second);
        assert_eq!(trap_exit_for(start + 32, false), None);
    }

    #[test]
    fn registry_survives_concurrent_updates() {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    let fake = Box::new([0u8; 16]);
                    let start = fake.as_ptr() as usize;
                    for _ in 0..200 {
                        let r = register_code(start, 16, vec![3], start + 8);
                        assert_eq!(trap_exit_for(start + 3, false), Some(start + 8));
                        drop(r);
                        assert_eq!(trap_exit_for(start + 3, false), None);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
    }

    #[test]
    fn ensure_alt_stack_is_idempotent() {
        std::thread::spawn(|| {
            ensure_alt_stack();
            ensure_alt_stack();
        })
        .join()
        .expect("thread");
    }

    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    mod x86_64_linux {
        use super::super::*;
        use crate::runtime::code_memory::CodeMemory;
        use crate::runtime::memory::{LinearMemory, WASM_PAGE_SIZE};
        use crate::trap::TrapCode;

        /// Offset 0: `mov eax, [rdi]; ret` with the load registered as a trap site.
        /// Offset 3: the trap exit, `mov eax, esi; ret`.
        /// Offset 6: `nop; mov eax, [rdi]; ret`, whose load is not a trap site.
        const CODE: [u8; 10] = [0x8b, 0x07, 0xc3, 0x89, 0xf0, 0xc3, 0x90, 0x8b, 0x07, 0xc3];

        type Load = extern "C" fn(*const u8) -> u32;

        fn compile() -> (CodeMemory, Load, Load) {
            let mut code = CodeMemory::new(&CODE).expect("code memory");
            let base = code.as_ptr() as usize;
            code.register_traps(vec![0], base + 3);
            // SAFETY: offsets 0 and 6 start complete System V functions taking one pointer.
            let (load, unregistered) = unsafe {
                (
                    std::mem::transmute::<*const u8, Load>(code.as_ptr()),
                    std::mem::transmute::<*const u8, Load>(code.as_ptr().add(6)),
                )
            };
            (code, load, unregistered)
        }

        #[test]
        fn out_of_bounds_load_resumes_at_trap_exit() {
            ensure_alt_stack();
            assert!(imp::has_alt_stack());
            let (_code, load, _) = compile();
            let mut memory = LinearMemory::new(1, Some(1)).expect("memory");
            memory.data_mut()[..4].copy_from_slice(&0x1234_5678u32.to_le_bytes());

            assert_eq!(load(memory.base()), 0x1234_5678);
            // SAFETY: the pointer is only handed to code whose access at it is a trap site.
            let beyond = unsafe { memory.base().add(WASM_PAGE_SIZE as usize) };
            assert_eq!(load(beyond), TrapCode::MemoryOutOfBounds as u32);
            // SAFETY: as above; far past the end, still inside the reservation.
            let far = unsafe { memory.base().add(u32::MAX as usize) };
            assert_eq!(load(far), TrapCode::MemoryOutOfBounds as u32);
            // The handler stays installed after a trap.
            assert_eq!(load(beyond), TrapCode::MemoryOutOfBounds as u32);
            assert_eq!(load(memory.base()), 0x1234_5678);
        }

        #[test]
        fn traps_on_our_own_alt_stack() {
            std::thread::spawn(|| {
                // Replace the stack Rust's runtime gave this thread with none at all, so
                // `ensure_alt_stack` has to allocate one.
                // SAFETY: an all-zero `stack_t` with SS_DISABLE is a valid request.
                let mut disable: libc::stack_t = unsafe { std::mem::zeroed() };
                disable.ss_flags = libc::SS_DISABLE;
                // SAFETY: we are not running on the alternate stack.
                let rc = unsafe { libc::sigaltstack(&disable, std::ptr::null_mut()) };
                assert_eq!(rc, 0);
                assert!(!imp::has_alt_stack());
                ensure_alt_stack();
                assert!(imp::has_alt_stack());
                ensure_alt_stack();

                let (_code, load, _) = compile();
                let memory = LinearMemory::new(0, None).expect("memory");
                assert_eq!(load(memory.base()), TrapCode::MemoryOutOfBounds as u32);
            })
            .join()
            .expect("thread");
        }

        /// Runs `crash` in a forked child and returns the signal that killed it.
        fn child_signal(crash: impl FnOnce()) -> Option<libc::c_int> {
            // SAFETY: the child only runs `crash` (no allocation or locking) and then exits
            // with `_exit`, which is what is allowed after forking a multi-threaded process.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
                // SAFETY: setrlimit and _exit are async-signal-safe.
                unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) };
                crash();
                // SAFETY: as above.
                unsafe { libc::_exit(0) };
            }
            let mut status = 0;
            // SAFETY: `pid` is our child and `status` is a valid out-parameter.
            let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
            assert_eq!(waited, pid);
            libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status))
        }

        #[test]
        fn other_faults_still_crash() {
            install_handlers();
            let (_code, _, unregistered) = compile();
            let memory = LinearMemory::new(0, None).expect("memory");
            let base = memory.base() as usize;

            // A fault in registered code, but not at a trap site.
            let signal = child_signal(|| {
                unregistered(base as *const u8);
            });
            assert_eq!(signal, Some(libc::SIGSEGV));

            // A fault outside any registered code.
            let signal = child_signal(|| {
                // SAFETY: the read faults on purpose; this is a disposable child process.
                unsafe { std::ptr::read_volatile(base as *const u8) };
            });
            assert_eq!(signal, Some(libc::SIGSEGV));

            // A division by zero outside any registered code.
            let signal = child_signal(|| {
                // SAFETY: the division faults on purpose; this is a disposable child.
                unsafe {
                    std::arch::asm!(
                        "div {divisor}",
                        divisor = in(reg) 0u64,
                        inout("rax") 1u64 => _,
                        inout("rdx") 0u64 => _,
                    )
                };
            });
            assert_eq!(signal, Some(libc::SIGFPE));

            // A signal sent rather than raised by a fault still has its default action
            // (SIGFPE: for SIGSEGV, the handler before ours is Rust's stack-overflow
            // handler, which itself lets a sent SIGSEGV go once).
            // SAFETY: raising a signal in a disposable child process.
            let signal = child_signal(|| unsafe {
                libc::raise(libc::SIGFPE);
            });
            assert_eq!(signal, Some(libc::SIGFPE));
        }
    }
}

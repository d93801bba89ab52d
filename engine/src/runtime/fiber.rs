//! Fibers: calls that run on a stack of their own and can suspend in the middle, which
//! the JS Promise Integration (`WebAssembly.promising`, `WebAssembly.Suspending`) needs.
//!
//! A fiber's stack is a fresh reservation (`Config::fiber_stack_size` bytes, committed
//! as touched, with a guard region below). `resume` switches to it and runs until the fiber suspends
//! or its body returns; `suspend`, called on the fiber, switches back to whoever
//! resumed it. The switch (`fiber_switch` in `isa/x64/trampolines.rs`) saves the
//! callee-saved registers on the stack being left, so Rust frames on both stacks stay
//! intact. The store's activation state (the entry trampoline's rsp, the stack limit,
//! the entry depth) belongs to the stack it describes, so each switch swaps it too.
//!
//! Dropping a fiber that is suspended frees its stack without running the frames on
//! it: what they own is leaked, never used again.

use super::store::Store;
use super::vmcontext::VMRuntime;
use crate::error::{Error, Result};
use std::cell::{Cell, RefCell};

const GUARD: usize = 64 << 10;
/// Stack a fiber's body may use before it enters wasm, when the fiber is no bigger than
/// `max_wasm_stack` needs.
const START_MARGIN: usize = 64 << 10;

/// The part of `VMRuntime` that describes one stack's activations.
#[derive(Clone, Copy, Debug, Default)]
struct ActivationState {
    entry_rsp: u64,
    stack_limit: u64,
    depth: u32,
    host_entries: u32,
}

pub(crate) struct FiberInner {
    /// Keeps the runtime below alive (and the store's objects the body uses).
    _store: Store,
    base: *mut u8,
    len: usize,
    /// The fiber's rsp while it is not running (at first: its start frame).
    rsp: u64,
    /// The resumer's rsp while the fiber runs.
    resumer_rsp: u64,
    body: Option<Box<dyn FnOnce()>>,
    finished: bool,
    runtime: *mut VMRuntime,
    /// The activation state of the side not running: the fiber's while it is
    /// suspended, the resumer's while it runs.
    other: ActivationState,
    /// The fiber that was running when this one was resumed.
    previous: *mut FiberInner,
}

thread_local! {
    static CURRENT: Cell<*mut FiberInner> = const { Cell::new(std::ptr::null_mut()) };
    /// The fibers alive on this thread, of any store, whose stacks the GC collector
    /// scans (a fiber of one store may run another store's wasm).
    static LIVE_FIBERS: RefCell<Vec<*const FiberInner>> = const { RefCell::new(Vec::new()) };
}

/// The stretches of stack on this thread that may hold frames, as `(low, high)`
/// address ranges, for the GC collector's conservative scan:
/// - the stack running now, from `here` (a frame on it) to its top;
/// - each stack below it in the resume chain (fibers that resumed another fiber, and
///   the thread's own stack under the outermost one), from the rsp it switched away at;
/// - each suspended (or not yet started) fiber's, from its saved rsp.
///
/// `fiber_switch` pushes the callee-saved registers before it saves rsp, so each range
/// holds the registers of the code that left it. Finished fibers hold nothing. `None`
/// when `here` lies neither on the running fiber's stack nor, with none running, on
/// `thread_stack`: then some other stack is running, which nothing here describes.
pub(crate) fn live_stacks(here: usize, thread_stack: (usize, usize)) -> Option<Vec<(usize, usize)>> {
    let current = CURRENT.with(Cell::get).cast_const();
    let span = |f: *const FiberInner| {
        // SAFETY: fibers in the resume chain and in LIVE_FIBERS are alive (`Drop`
        // removes them; a running fiber cannot be dropped).
        let (base, len) = unsafe { ((*f).base as usize, (*f).len) };
        (base + GUARD, base + len)
    };
    let mut stacks = Vec::new();
    // A range starts inside the stack it belongs to, or the scan could fault: for a
    // saved rsp anything else would be a bug in the switching; for `here`, another stack.
    let mut push = |low: usize, (bottom, top): (usize, usize)| {
        let inside = (bottom..top).contains(&low);
        stacks.push((low, top));
        inside
    };
    let mut inside = push(here, if current.is_null() { thread_stack } else { span(current) });
    let mut chain = Vec::new();
    let mut fiber = current;
    while !fiber.is_null() {
        chain.push(fiber);
        // SAFETY: as in `span`.
        let (resumer_rsp, previous) =
            unsafe { ((*fiber).resumer_rsp as usize, (*fiber).previous.cast_const()) };
        let below = if previous.is_null() { thread_stack } else { span(previous) };
        inside &= push(resumer_rsp, below);
        fiber = previous;
    }
    LIVE_FIBERS.with(|live| {
        for &fiber in live.borrow().iter().filter(|f| !chain.contains(f)) {
            // SAFETY: as in `span`.
            let (finished, rsp) = unsafe { ((*fiber).finished, (*fiber).rsp as usize) };
            if !finished {
                inside &= push(rsp, span(fiber));
            }
        }
    });
    inside.then_some(stacks)
}

/// A suspendable call on a stack of its own.
pub struct Fiber(Box<FiberInner>);

impl std::fmt::Debug for Fiber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fiber(finished: {})", self.0.finished)
    }
}

impl Fiber {
    /// A fiber that will run `body` (calls into wasm of `store`) when first resumed.
    pub fn new(store: &Store, body: impl FnOnce() + 'static) -> Result<Fiber> {
        let trampolines = store.engine().trampolines()?;
        // Wasm's stack limit lies `max_wasm_stack` below where it is entered, which is
        // below the fiber's start frame: room for both keeps the limit above the guard.
        let config = store.engine().config();
        let size = config.fiber_stack_size.max(config.max_wasm_stack + START_MARGIN);
        let len = (size + GUARD).next_multiple_of(4096);
        // SAFETY: a fresh anonymous mapping; nothing else refers to it.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Error::Resource("cannot reserve a fiber stack".into()));
        }
        // SAFETY: the lowest GUARD bytes of the mapping just made.
        if unsafe { libc::mprotect(base, GUARD, libc::PROT_NONE) } != 0 {
            // SAFETY: the mapping just made, used by nothing.
            unsafe { libc::munmap(base, len) };
            return Err(Error::Resource("cannot protect a fiber stack's guard region".into()));
        }
        let base = base.cast::<u8>();
        let mut inner = Box::new(FiberInner {
            _store: store.clone(),
            base,
            len,
            rsp: 0,
            resumer_rsp: 0,
            body: Some(Box::new(body)),
            finished: false,
            runtime: store.0.runtime(),
            other: ActivationState::default(),
            previous: std::ptr::null_mut(),
        });
        // The start frame, as `fiber_switch` leaves a stack it switches away from:
        // six saved registers (r15 first), then the return address. The start stub
        // finds the fiber in r12; after its `ret`, rsp is 16-byte aligned.
        let top = (base as u64 + len as u64) & !15;
        let rsp = top - 72;
        let frame = [0, 0, 0, &mut *inner as *mut FiberInner as u64, 0, 0, trampolines.fiber_start as u64];
        // SAFETY: these seven slots lie inside the writable part of the new stack.
        unsafe { std::ptr::copy_nonoverlapping(frame.as_ptr(), rsp as *mut u64, frame.len()) };
        inner.rsp = rsp;
        LIVE_FIBERS.with(|live| live.borrow_mut().push(&*inner));
        Ok(Fiber(inner))
    }

    pub fn is_finished(&self) -> bool {
        self.0.finished
    }

    /// Runs the fiber until it suspends or finishes; returns whether it finished.
    pub fn resume(&mut self) -> bool {
        if self.0.finished {
            return true;
        }
        let switch = match crate::isa::x64::trampolines::fiber_switch() {
            Some(f) => f,
            None => return false,
        };
        let inner: *mut FiberInner = &mut *self.0;
        // SAFETY: `inner` is this fiber, pinned in its box; its runtime belongs to a
        // store its body uses, alive while the fiber can run. The switch returns here
        // when the fiber suspends or finishes (`suspend_current`), which swapped the
        // activation state and CURRENT back.
        unsafe {
            swap_activation_state(inner);
            (*inner).previous = CURRENT.replace(inner);
            switch(&mut (*inner).resumer_rsp, (*inner).rsp);
            (*inner).finished
        }
    }

    /// Whether wasm of `store` running now may suspend: the innermost running fiber
    /// belongs to it, and only wasm frames lie between the fiber's start and the host
    /// function asking (its first and only activation is running, and no host
    /// function was called directly by host code on top of it).
    pub fn can_suspend(store: &Store) -> bool {
        let current = CURRENT.with(Cell::get);
        // SAFETY: CURRENT is a running fiber (set by `resume`, cleared on the way out);
        // the runtime is its store's.
        !current.is_null()
            && unsafe {
                let runtime = &*(*current).runtime;
                (*current).runtime == store.0.runtime() && runtime.depth == 1 && runtime.host_entries == 0
            }
    }

    /// Suspends the innermost running fiber: its `resume` returns, and this returns
    /// when it is resumed. Errors when no fiber is running.
    pub fn suspend() -> Result<()> {
        let current = CURRENT.with(Cell::get);
        if current.is_null() {
            return Err(Error::Link("no fiber to suspend".into()));
        }
        // SAFETY: a running fiber, on whose stack this code runs.
        unsafe { suspend_current(current) };
        Ok(())
    }
}

impl Drop for Fiber {
    fn drop(&mut self) {
        let this: *const FiberInner = &*self.0;
        // During thread teardown the list may be gone already (Boa drops what its heap
        // still holds then, a JSPI call suspended at the end of a script among it).
        let _ = LIVE_FIBERS.try_with(|live| live.borrow_mut().retain(|&f| f != this));
        // SAFETY: the mapping made in `new`; the fiber is not running (`resume` holds
        // `&mut self` while it does), so nothing executes on it.
        unsafe { libc::munmap(self.0.base.cast(), self.0.len) };
    }
}

/// Exchanges the store's activation state with the one kept for the other side.
///
/// # Safety
/// `inner` is a live fiber whose runtime is alive.
unsafe fn swap_activation_state(inner: *mut FiberInner) {
    // SAFETY: per the contract.
    unsafe {
        let runtime = &mut *(*inner).runtime;
        let now = ActivationState {
            entry_rsp: runtime.entry_rsp,
            stack_limit: runtime.stack_limit,
            depth: runtime.depth,
            host_entries: runtime.host_entries,
        };
        let other = std::mem::replace(&mut (*inner).other, now);
        runtime.entry_rsp = other.entry_rsp;
        runtime.stack_limit = other.stack_limit;
        runtime.depth = other.depth;
        runtime.host_entries = other.host_entries;
    }
}

/// # Safety
/// `inner` is the running fiber, and this runs on its stack.
unsafe fn suspend_current(inner: *mut FiberInner) {
    let Some(switch) = crate::isa::x64::trampolines::fiber_switch() else {
        return;
    };
    // SAFETY: per the contract; `resume` saved the resumer's rsp.
    unsafe {
        CURRENT.set((*inner).previous);
        swap_activation_state(inner);
        switch(&mut (*inner).rsp, (*inner).resumer_rsp);
    }
}

/// Where a fiber starts (called by the start stub with the fiber): runs the body and
/// switches back for good.
///
/// # Safety
/// Called only by the start stub, on the fiber's own stack, with the fiber.
pub(crate) unsafe extern "C" fn fiber_main(inner: *mut FiberInner) {
    // SAFETY: per the contract.
    let body = unsafe { (*inner).body.take() };
    if let Some(body) = body {
        // A panic must not unwind off the top of this stack.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    }
    // SAFETY: per the contract; nothing resumes a finished fiber.
    unsafe {
        (*inner).finished = true;
        suspend_current(inner);
    }
    std::process::abort();
}

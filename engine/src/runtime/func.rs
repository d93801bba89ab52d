//! Functions: wasm and host, called from Rust and from wasm.

use super::exception::Exception;
use super::store::{Store, StoreInner};
use super::unwind::EXCEPTION_STATUS;
use super::vmcontext::{VMContext, VMFuncRef, VMHostContext, VMRuntime};
use crate::compiler::codegen::returns_in_rax;
use crate::error::{Error, Result};
use crate::isa::x64::trampolines::{
    call_trap_free, call_trap_free_area, SmallEntryFn, SmallEntryOutcome, WideEntryFn, AT_MOST_ONE_RESULT,
    SMALL_ARGS, WIDE_ARGS,
};
use crate::trap::{Trap, TrapCode};
use crate::types::{FuncType, ValType};
use crate::values::{read_area, write_area, Val};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::{Rc, Weak};

/// Slots of the argument area `Func::call_numeric_in_place` takes: up to 15 parameters
/// and results, and one slot more for the entry trampoline.
pub const NUMERIC_AREA: usize = 16;

/// What `Func::call_small` needs, found when the function is made.
#[derive(Clone, Copy)]
pub(crate) struct SmallEntry {
    /// The entry trampoline for small signatures (looked up here so a call does not).
    entry: SmallEntryFn,
    /// The raw result's defined bits: all for 64-bit results, the low half for i32 and
    /// f32, none when the function returns nothing.
    result_mask: u64,
}

impl SmallEntry {
    /// For a wasm function of type `ty`, if `call_small` serves it. Installs the signal
    /// handlers, as every call into wasm otherwise does first: the fast path skips that.
    fn for_wasm(store: &Store, ty: &FuncType, code_traits: CodeTraits) -> Option<SmallEntry> {
        if !ty.is_numeric() || ty.params().len() > SMALL_ARGS {
            return None;
        }
        let result_mask = match ty.results() {
            [] => 0,
            [ValType::I32 | ValType::F32] => u32::MAX as u64,
            [_] => u64::MAX,
            _ => return None,
        };
        let trampolines = store.engine().trampolines().ok()?;
        let entry = trampolines.small_entry(SMALL_ARGS, code_traits.leaf)?;
        super::signals::install_handlers();
        Some(SmallEntry { entry, result_mask })
    }
}

/// `Func::call_small` prepared for calls with `N` arguments (`Func::small_caller`): the
/// handle keeps what a call needs, and the arguments go to the entry trampoline for
/// `N`, with no registers set for arguments the callee does not have. For a trap-free
/// function, `TrapFreeCaller` does without the trampoline.
#[derive(Clone)]
pub struct SmallCaller<const N: usize> {
    /// `Trampolines::entry_small[N]` (or `entry_small_leaf[N]`), whose true type is
    /// `SmallEntry0` to `SmallEntry3`, or `SmallEntryFn` for 4.
    entry: usize,
    vmctx: *mut VMContext,
    code: *const u8,
    store: Weak<StoreInner>,
    /// The callee is a leaf (`Func::is_leaf`).
    leaf: bool,
}

/// The small entry trampolines for 0 to 4 arguments, by their true types (each reads
/// only its own arguments).
type SmallEntry0 = unsafe extern "C" fn(*mut VMContext, *const u8) -> SmallEntryOutcome;
type SmallEntry1 = unsafe extern "C" fn(*mut VMContext, *const u8, u64) -> SmallEntryOutcome;
type SmallEntry2 = unsafe extern "C" fn(*mut VMContext, *const u8, u64, u64) -> SmallEntryOutcome;
type SmallEntry3 = unsafe extern "C" fn(*mut VMContext, *const u8, u64, u64, u64) -> SmallEntryOutcome;

impl<const N: usize> SmallCaller<N> {
    /// The direct caller of `func`, which this calls through the trampoline, if `func`
    /// is trap-free.
    pub(crate) fn trap_free(self, func: &Func) -> Option<TrapFreeCaller<N>> {
        func.0.code_traits.trap_free.then_some(TrapFreeCaller {
            vmctx: self.vmctx,
            code: self.code,
            store: self.store,
        })
    }

    /// Whether the callee is a leaf (`Func::is_leaf`).
    #[inline(always)]
    pub fn is_leaf(&self) -> bool {
        self.leaf
    }

    /// Whether the callee's store is alive.
    pub(crate) fn store_alive(&self) -> bool {
        self.store.strong_count() > 0
    }

    /// Calls the function with `args` (as `call_small` takes them): the raw result as the
    /// callee left it, unlike `call_small` unmasked: only the low 32 bits are defined for
    /// an i32 or f32 result, and none when there is no result.
    #[inline(always)]
    pub fn call(&self, args: [u64; N]) -> Result<u64> {
        // SAFETY: `entry` is the small entry for `N` arguments (`Func::entry_caller`,
        // which installed the signal handlers), and `vmctx` and `code` are of a function
        // it serves, of the store `store` is, which `run_entry` keeps alive for the
        // call; the arguments are one-word values of the parameters' types
        // (`Func::small_caller` serves only numbers, and `ExternCaller` vets the words of
        // references).
        let enter = || unsafe { call_small_entry(self.entry, self.vmctx, self.code, args) };
        run_entry(&self.store, self.leaf, enter)
    }
}

/// A call into wasm through an entry trampoline (`enter`, a small or a wide entry), and
/// its outcome: what `SmallCaller`, `WideCaller` and `Func::call_small` do. `enter` runs
/// once, while the store `store` is a handle of is alive: held for the call, or for a
/// leaf (`Func::is_leaf`), which runs no host code that could drop it, only checked
/// (`alive_for_a_call_without_host_code`). The raw result is unmasked.
#[inline(always)]
fn run_entry(store: &Weak<StoreInner>, leaf: bool, enter: impl FnOnce() -> SmallEntryOutcome) -> Result<u64> {
    if leaf {
        alive_for_a_call_without_host_code(store)?;
        let outcome = enter();
        if outcome.status != 0 {
            return Err(leaf_exit(store));
        }
        return Ok(outcome.value);
    }
    let store = store.upgrade().ok_or_else(store_dropped)?;
    let outcome = enter();
    if outcome.status != 0 {
        // The error is taken, and the store let go of, on a path of its own: a `Result`
        // made before the store is dropped would be matched again after.
        return Err(abnormal_exit_of(store));
    }
    Ok(outcome.value)
}

/// Whether the store is alive, for the call of a function that runs no host code (a leaf,
/// trap-free or not): nothing can drop the store while such a function runs, so its
/// count says enough, without the upgrade (and the release after) that the call of any
/// other function needs.
#[inline(always)]
fn alive_for_a_call_without_host_code(store: &Weak<StoreInner>) -> Result<()> {
    if store.strong_count() == 0 {
        return Err(store_dropped());
    }
    Ok(())
}

/// How a leaf's call through an entry trampoline ended abnormally (a trap).
#[cold]
fn leaf_exit(store: &Weak<StoreInner>) -> Error {
    // The store was alive when the leaf was called, and a leaf runs no code that could
    // drop it.
    store.upgrade().map_or_else(store_dropped, abnormal_exit_of)
}

/// The small entry `entry` for `N` arguments called by its true type.
///
/// # Safety
/// `entry` is a small entry for `N` arguments (`Trampolines::small_entry`); `vmctx` and
/// `code` are of a wasm function of a live store, which takes at most `N` parameters
/// and returns at most one result, each one word; `args` are values of the parameters'
/// types (any bits for a number; for a reference, a word `ExternCaller` accepts); the
/// signal handlers are installed (`SmallEntry::for_wasm` or `Func::extern_caller` did
/// it).
#[inline(always)]
unsafe fn call_small_entry<const N: usize>(
    entry: usize,
    vmctx: *mut VMContext,
    code: *const u8,
    args: [u64; N],
) -> SmallEntryOutcome {
    // As in `call_trap_free`: `SmallCaller<N>` is made only for `N` up to `SMALL_ARGS`
    // (`Func::entry_caller`), though `ExternCaller<N>` names it for more.
    debug_assert!(N <= SMALL_ARGS);
    let arg = |i: usize| args.get(i).copied().unwrap_or(0);
    // SAFETY: per the contract.
    unsafe {
        use std::mem::transmute;
        match N {
            0 => transmute::<usize, SmallEntry0>(entry)(vmctx, code),
            1 => transmute::<usize, SmallEntry1>(entry)(vmctx, code, arg(0)),
            2 => transmute::<usize, SmallEntry2>(entry)(vmctx, code, arg(0), arg(1)),
            3 => transmute::<usize, SmallEntry3>(entry)(vmctx, code, arg(0), arg(1), arg(2)),
            _ => transmute::<usize, SmallEntryFn>(entry)(vmctx, code, arg(0), arg(1), arg(2), arg(3)),
        }
    }
}

/// The call of a trap-free function (`Func::is_trap_free`) straight from Rust, with no
/// entry trampoline: what `TrapFreeCaller::call` and `Func::call_small` do for one.
///
/// # Safety
/// `vmctx` and `code` are of a trap-free wasm function of the store `store` is a handle
/// of, which takes at most `N` parameters and returns at most one result, each one
/// word; `args` are values of the parameters' types, as for `call_small_entry`.
#[inline(always)]
unsafe fn run_trap_free<const N: usize>(
    vmctx: *mut VMContext,
    code: *const u8,
    store: &Weak<StoreInner>,
    args: [u64; N],
) -> Result<u64> {
    alive_for_a_call_without_host_code(store)?;
    // SAFETY: per the contract, with the store alive.
    Ok(unsafe { call_trap_free(vmctx, code, args) })
}

/// `run_trap_free` for `Func::call_small`, which also calls through the trampoline:
/// inlined there, the direct call's registers would cost that path a larger prologue.
/// `TrapFreeCaller` inlines it.
///
/// # Safety
/// As for `run_trap_free`.
#[inline(never)]
unsafe fn run_trap_free_out_of_line<const N: usize>(
    vmctx: *mut VMContext,
    code: *const u8,
    store: &Weak<StoreInner>,
    args: [u64; N],
) -> Result<u64> {
    // SAFETY: the same contract.
    unsafe { run_trap_free(vmctx, code, store, args) }
}

/// A prepared call of a trap-free function (`Func::trap_free_caller`) with `N`
/// arguments, straight into its code: what `SmallCaller::call` does through the entry
/// trampoline (about 35 instructions more), inlined into its caller.
#[derive(Clone)]
pub struct TrapFreeCaller<const N: usize> {
    vmctx: *mut VMContext,
    code: *const u8,
    store: Weak<StoreInner>,
}

impl<const N: usize> TrapFreeCaller<N> {
    /// Whether the callee's store is alive.
    pub(crate) fn store_alive(&self) -> bool {
        self.store.strong_count() > 0
    }

    /// As `SmallCaller::call`; the only error is that the store is gone.
    #[inline(always)]
    pub fn call(&self, args: [u64; N]) -> Result<u64> {
        // SAFETY: `code` and `vmctx` are of a trap-free wasm function of the store `store`
        // is, taking at most `N` one-word parameters (`SmallCaller::trap_free`), of which
        // the arguments are values, as for `SmallCaller::call`.
        unsafe { run_trap_free(self.vmctx, self.code, &self.store, args) }
    }
}

/// A prepared call of a wasm function of numbers that small calls do not serve (more
/// than `SMALL_ARGS` parameters, or several results), of at most `WIDE_ARGS` parameters
/// and results (`Func::wide_caller`): its arguments go from an area straight into its
/// code if it is trap-free and returns at most one result, as `TrapFreeCaller` calls,
/// else through a wide entry trampoline (`Trampolines::wide_entry`), as `SmallCaller`
/// calls through the small entries.
#[derive(Clone)]
pub struct WideCaller {
    vmctx: *mut VMContext,
    code: *const u8,
    store: Weak<StoreInner>,
    params: usize,
    how: WideCall,
}

/// How `WideCaller` calls its function.
#[derive(Clone, Copy)]
enum WideCall {
    /// Straight in (`call_trap_free_area`).
    TrapFree,
    /// Through `entry`, a wide entry for the function (`Trampolines::wide_entry`); `leaf`
    /// as `Func::is_leaf` says.
    Entry { entry: WideEntryFn, leaf: bool },
}

impl WideCaller {
    /// Calls the function with its arguments in the first slots of `area` (as
    /// `call_numeric` takes them; the rest are ignored): the raw result, unmasked as
    /// `SmallCaller::call` returns it, for a function of one; a function of several
    /// leaves them in the first slots of `area` (unmasked too: an i32 or f32 is the low
    /// half of its slot), and the value returned means nothing.
    #[inline(always)]
    pub fn call(&self, area: &mut [u64; WIDE_ARGS]) -> Result<u64> {
        match self.how {
            WideCall::TrapFree => {
                alive_for_a_call_without_host_code(&self.store)?;
                // SAFETY: `code` and `vmctx` are of a trap-free wasm function of the store,
                // alive (above), whose `params` parameters (at most `WIDE_ARGS`) are
                // numbers, of which any bits are values, and of at most one result
                // (`Func::wide_caller`).
                Ok(unsafe { call_trap_free_area(self.vmctx, self.code, area.as_ptr(), self.params) })
            }
            WideCall::Entry { entry, leaf } => {
                // SAFETY: `entry` is the wide entry for the callee (`Func::wide_caller`),
                // whose `vmctx` and `code` are of a wasm function of the store, which
                // `run_entry` keeps alive for the call, of at most `WIDE_ARGS` one-word
                // parameters (numbers, of which any bits are values, or references
                // `ExternCaller` vetted) and results; the area has `WIDE_ARGS` slots for it
                // to read and write; the signal handlers are installed
                // (`Func::wide_entry_caller` did it).
                let enter = || unsafe { entry(self.vmctx, self.code, area.as_mut_ptr()) };
                run_entry(&self.store, leaf, enter)
            }
        }
    }

    /// How many parameters the function takes.
    pub fn params(&self) -> usize {
        self.params
    }

    /// Whether the function is called straight in (`Func::is_trap_free`).
    pub(crate) fn is_trap_free(&self) -> bool {
        matches!(self.how, WideCall::TrapFree)
    }

    /// Whether the function's store is alive.
    pub(crate) fn store_alive(&self) -> bool {
        self.store.strong_count() > 0
    }

    /// Whether the function runs no host code (`Func::is_leaf`): a call then needs none
    /// of what host code might (in js-bindings, the context's scope).
    #[inline(always)]
    pub fn is_leaf(&self) -> bool {
        match self.how {
            WideCall::TrapFree => true,
            WideCall::Entry { leaf, .. } => leaf,
        }
    }
}

/// What `Func::new` runs: the parameters, and the results to write (they arrive as zeros
/// of their types).
pub type HostCallback = dyn Fn(&[Val], &mut [Val]) -> Result<(), Trap>;

/// What `Func::new_numeric` runs: raw parameters in, raw results out, both encoded as
/// `Func::call_numeric` encodes them.
pub type NumericHostCallback = dyn Fn(&[u64], &mut [u64]) -> Result<(), Trap>;

/// A host function's Rust side.
pub(crate) enum HostBody {
    Vals(Box<HostCallback>),
    /// For numeric signatures only: no `Val` is made or dropped on a call from wasm.
    Numeric(Box<BoxedTrapCallback>),
}

/// A `NumericHostCallback` as kept: its trap boxed, so the `Result` comes back in a
/// register rather than as seven words through memory on every call from wasm.
type BoxedTrapCallback = dyn Fn(&[u64], &mut [u64]) -> Result<(), Box<Trap>>;

pub(crate) enum FuncKind {
    Host {
        body: HostBody,
        /// Owned here so its address stays valid; machine code reads it through `vm.vmctx`.
        _context: Box<VMHostContext>,
    },
    /// A function of a wasm instance, with its index there.
    Wasm(u32),
}

/// `vm` must stay the first field: a `*const VMFuncRef` is also a `*const FuncInner`.
#[repr(C)]
pub(crate) struct FuncInner {
    pub vm: VMFuncRef,
    pub ty: FuncType,
    /// `ty.is_numeric()`, asked on every `call_numeric`.
    pub numeric: bool,
    /// For a wasm function that `call_small` serves: how.
    pub small: Option<SmallEntry>,
    pub kind: FuncKind,
    pub store: Weak<StoreInner>,
    pub code_traits: CodeTraits,
}

/// What a function's code does besides computing, as the compiler found it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CodeTraits {
    /// Calls nothing (see `HandlerTable::leaf`): false for host functions.
    pub leaf: bool,
    /// A leaf that cannot trap either (see `HandlerTable::trap_free`): false for host
    /// functions.
    pub trap_free: bool,
    /// Has a `global.set`: true for host functions, which may set any.
    pub sets_globals: bool,
    /// Could keep a reference past its call (see `HandlerTable::keeps_references`):
    /// true for host functions.
    pub keeps_references: bool,
}

impl CodeTraits {
    pub(crate) fn of(handlers: &crate::compiler::handlers::HandlerTable) -> CodeTraits {
        CodeTraits {
            leaf: handlers.leaf,
            // Called directly only where the compiled code can run.
            trap_free: handlers.trap_free && cfg!(target_arch = "x86_64"),
            sets_globals: handlers.sets_globals,
            keeps_references: handlers.keeps_references,
        }
    }
}

#[derive(Clone)]
pub struct Func(pub(crate) Rc<FuncInner>);

impl std::fmt::Debug for Func {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Func({})", self.0.ty)
    }
}

impl Func {
    /// A function implemented in Rust. Its results slice arrives filled with zeros of
    /// the right types; a returned `Trap` unwinds the calling wasm frames.
    pub fn new(
        store: &Store,
        ty: FuncType,
        callback: impl Fn(&[Val], &mut [Val]) -> Result<(), Trap> + 'static,
    ) -> Func {
        Func::new_host(store, ty, HostBody::Vals(Box::new(callback)))
    }

    /// A host function of a numeric signature (i32, i64, f32 and f64 only) that takes
    /// and gives raw values, as `call_numeric` does: i32 zero-extended to 64 bits, i64
    /// as is, floats as their bit patterns. Results arrive as zeros; the upper half of
    /// an i32 or f32 result is ignored. Calls from wasm skip making, checking and
    /// dropping `Val`s, which is most of what a host call costs besides the callback.
    /// Errors for other signatures.
    pub fn new_numeric(
        store: &Store,
        ty: FuncType,
        callback: impl Fn(&[u64], &mut [u64]) -> Result<(), Trap> + 'static,
    ) -> Result<Func> {
        if !ty.is_numeric() {
            return Err(Error::Link(format!("new_numeric takes numeric signatures, not {ty}")));
        }
        let callback = move |params: &[u64], results: &mut [u64]| callback(params, results).map_err(Box::new);
        Ok(Func::new_host(store, ty, HostBody::Numeric(Box::new(callback))))
    }

    fn new_host(store: &Store, ty: FuncType, body: HostBody) -> Func {
        let stub = store.engine().trampolines().map(|t| t.host_stub).unwrap_or(0);
        let mut context = Box::new(VMHostContext { runtime: store.0.runtime(), func: std::ptr::null() });
        let context_ptr: *mut VMHostContext = &mut *context;
        let inner = Rc::new(FuncInner {
            vm: VMFuncRef {
                code: stub as *const u8,
                vmctx: context_ptr.cast(),
                type_id: ty.type_id(),
                supertypes: ty.supertype_chain().as_ptr(),
            },
            numeric: ty.is_numeric(),
            small: None,
            ty,
            kind: FuncKind::Host { body, _context: context },
            store: store.weak(),
            code_traits: CodeTraits {
                leaf: false,
                trap_free: false,
                sets_globals: true,
                keeps_references: true,
            },
        });
        // SAFETY: the context box is owned by `inner` and never moves; nothing else
        // reads it before this write.
        unsafe { (*context_ptr).func = Rc::as_ptr(&inner).cast() };
        store.0.keep_alive(inner.clone());
        Func(inner)
    }

    pub(crate) fn new_wasm(
        store: &Store,
        ty: FuncType,
        code: *const u8,
        vmctx: *mut VMContext,
        index: u32,
        code_traits: CodeTraits,
    ) -> Func {
        let inner = Rc::new(FuncInner {
            vm: VMFuncRef {
                code,
                vmctx: vmctx.cast(),
                type_id: ty.type_id(),
                supertypes: ty.supertype_chain().as_ptr(),
            },
            numeric: ty.is_numeric(),
            small: SmallEntry::for_wasm(store, &ty, code_traits),
            ty,
            kind: FuncKind::Wasm(index),
            store: store.weak(),
            code_traits,
        });
        store.0.keep_alive(inner.clone());
        Func(inner)
    }

    /// Whether this is a wasm function that calls nothing: no other function, no import,
    /// no runtime helper; and whose frame is small enough to skip the stack check. No
    /// host code runs while it does, and it never grows a memory or a table; it leaves
    /// only by returning or trapping.
    pub fn is_leaf(&self) -> bool {
        self.0.code_traits.leaf
    }

    /// Whether this is a leaf (`is_leaf`) that cannot trap either: no memory access,
    /// division, trapping conversion, `unreachable` or other trap path. It only computes
    /// and returns.
    pub fn is_trap_free(&self) -> bool {
        self.0.code_traits.trap_free
    }

    /// Whether this function may set globals: a wasm function with a `global.set`, or a
    /// host function.
    pub fn sets_globals(&self) -> bool {
        self.0.code_traits.sets_globals
    }

    /// What the function's code does besides computing (`is_leaf`, `is_trap_free`,
    /// `sets_globals`, `keeps_references`).
    pub(crate) fn code_traits(&self) -> CodeTraits {
        self.0.code_traits
    }

    /// Whether this function could keep a reference it is given past its call: a host
    /// function, or a wasm function that stores one where it outlives the call (a
    /// reference-typed global, a table, a GC object, an exception) or calls code that
    /// could (an import, `call_indirect`, `call_ref`, or, directly, a function of its
    /// module that could). When false, its `externref` arguments can only come back as
    /// its result.
    pub fn keeps_references(&self) -> bool {
        self.0.code_traits.keeps_references
    }

    /// The function's index in its instance, for wasm functions.
    pub fn wasm_index(&self) -> Option<u32> {
        match self.0.kind {
            FuncKind::Wasm(i) => Some(i),
            FuncKind::Host { .. } => None,
        }
    }

    /// A stable identity for side tables (the funcref value).
    pub fn id(&self) -> usize {
        self.raw() as usize
    }

    pub fn ty(&self) -> FuncType {
        self.0.ty.clone()
    }

    /// The process-wide id of the function's type (`FuncType::type_id`): what a
    /// concrete reference type `(ref $t)` names.
    pub fn type_id(&self) -> u32 {
        self.0.vm.type_id
    }

    /// The funcref value machine code uses for this function.
    pub(crate) fn raw(&self) -> *const VMFuncRef {
        Rc::as_ptr(&self.0).cast()
    }

    /// # Safety
    /// `raw` must be 0 or the `raw()` of a function whose store is alive.
    pub(crate) unsafe fn from_raw(raw: usize) -> Option<Func> {
        if raw == 0 {
            return None;
        }
        let p = raw as *const FuncInner;
        // SAFETY: per the contract `p` came from `Rc::as_ptr` of a live FuncInner (the
        // store holds a strong reference), so taking another strong reference is sound.
        unsafe {
            Rc::increment_strong_count(p);
            Some(Func(Rc::from_raw(p)))
        }
    }

    /// Identity: do both handles name the same function?
    pub fn ptr_eq(a: &Func, b: &Func) -> bool {
        Rc::ptr_eq(&a.0, &b.0)
    }

    pub fn call(&self, params: &[Val]) -> Result<Vec<Val>> {
        let mut results: Vec<Val> = self.0.ty.results().iter().map(|t| Val::default_for(*t)).collect();
        self.call_into(params, &mut results)?;
        Ok(results)
    }

    /// The function's type, without cloning it.
    #[inline]
    pub fn signature(&self) -> &FuncType {
        &self.0.ty
    }

    /// Like `call`, writing the results into `results` (one slot per result) instead of
    /// a new vector; no heap allocation for up to 15 parameters and results of a wasm
    /// function (a `new_numeric` host function's raw values are converted through
    /// vectors). Embedders that call wasm often (the JS bindings) use this.
    pub fn call_into(&self, params: &[Val], results: &mut [Val]) -> Result<()> {
        let ty = &self.0.ty;
        if params.len() != ty.params().len() || params.iter().zip(ty.params()).any(|(v, t)| !v.matches(*t)) {
            return Err(Error::Link(format!("arguments do not match the function's type {ty}")));
        }
        if results.len() != ty.results().len() {
            return Err(Error::Link(format!("{} result slots for the function's type {ty}", results.len())));
        }
        let store = self.0.store.upgrade().ok_or_else(store_dropped)?;
        if super::gc::foreign_object(Rc::as_ptr(&store), params) {
            return Err(super::gc::foreign_object_error());
        }
        if let FuncKind::Host { body, .. } = &self.0.kind {
            // Called from outside wasm: whatever asks `Fiber::can_suspend` inside has
            // a frame of the caller's below it.
            let _entry = HostEntry::enter(store.runtime());
            return match body {
                HostBody::Vals(callback) => {
                    for (r, t) in results.iter_mut().zip(ty.results()) {
                        *r = Val::default_for(*t);
                    }
                    callback(params, results).map_err(host_error)
                }
                HostBody::Numeric(callback) => {
                    let args: Vec<u64> = params.iter().map(Val::to_raw).collect();
                    let mut raw = vec![0; results.len()];
                    call_numeric_callback(callback, ty, &args, &mut raw)?;
                    for ((r, t), bits) in results.iter_mut().zip(ty.results()).zip(raw) {
                        // SAFETY: a numeric type: every bit pattern is a valid value.
                        *r = unsafe { Val::from_raw(*t, bits) };
                    }
                    Ok(())
                }
            };
        }
        keep_exceptions_in(&store, params);
        let width = ty.slot_width();
        self.invoke_compiled(
            &store,
            ty,
            |args| write_area(params, width, args),
            |raw_results| {
                // SAFETY: results of the declared types produced by validated wasm code;
                // funcrefs point at functions the store keeps alive.
                for (r, v) in results.iter_mut().zip(unsafe { read_area(ty.results(), width, raw_results) }) {
                    *r = v;
                }
            },
        )
    }

    /// Calls a function whose parameters and results are all numbers with raw values:
    /// i32 zero-extended to 64 bits, i64 as is, floats as their bit patterns. Every bit
    /// pattern is a valid number, so nothing is checked but the counts; used by the JS
    /// bindings for numeric signatures. Errors for other signatures.
    pub fn call_numeric(&self, args: &[u64], results: &mut [u64]) -> Result<()> {
        let ty = &self.0.ty;
        if !self.0.numeric || args.len() != ty.params().len() || results.len() != ty.results().len() {
            return Err(numeric_mismatch(ty));
        }
        if args.len() < NUMERIC_AREA && results.len() < NUMERIC_AREA {
            let mut area = [0u64; NUMERIC_AREA];
            area[..args.len()].copy_from_slice(args);
            results.copy_from_slice(self.call_numeric_in_place(&mut area)?);
            return Ok(());
        }
        if let FuncKind::Host { .. } = &self.0.kind {
            return self.call_numeric_host(args, results);
        }
        let store = self.0.store.upgrade().ok_or_else(store_dropped)?;
        self.invoke_compiled(
            &store,
            ty,
            |a| a[..args.len()].copy_from_slice(args),
            |raw| {
                results.copy_from_slice(&raw[..results.len()]);
                zero_extend_narrow(ty.results(), results);
            },
        )
    }

    /// Whether `call_small` serves this function: a wasm function whose parameters and
    /// results are numbers, with at most `SMALL_ARGS` parameters and at most one result.
    #[inline]
    pub fn takes_small_calls(&self) -> bool {
        self.0.small.is_some()
    }

    /// `call_small` prepared for calls with `N` arguments, if it serves this function
    /// and the function has at most `N` parameters (arguments past them are ignored).
    pub fn small_caller<const N: usize>(&self) -> Option<SmallCaller<N>> {
        self.0.small?;
        self.entry_caller()
    }

    /// `small_caller` for a wasm function of at most `N` parameters and at most one
    /// result, each one word (no v128): for references the caller must pass only words
    /// the parameters may hold (`ExternCaller` vets them).
    pub(crate) fn entry_caller<const N: usize>(&self) -> Option<SmallCaller<N>> {
        let inner = &*self.0;
        if N > SMALL_ARGS
            || inner.ty.params().len() > N
            || inner.ty.results().len() > 1
            || !self.of_one_word_wasm()
        {
            return None;
        }
        let trampolines = inner.store.upgrade()?.engine.trampolines().ok()?;
        let entry = trampolines.small_entry(N, inner.code_traits.leaf)? as usize;
        Some(SmallCaller {
            entry,
            vmctx: inner.vm.vmctx.cast(),
            code: inner.vm.code,
            store: inner.store.clone(),
            leaf: inner.code_traits.leaf,
        })
    }

    /// Whether this is a wasm function whose parameters and results each take one word
    /// (no v128): what the small and wide entries pass.
    fn of_one_word_wasm(&self) -> bool {
        let ty = &self.0.ty;
        matches!(self.0.kind, FuncKind::Wasm(_))
            && !ty.params().iter().chain(ty.results()).any(|&t| t == ValType::V128)
    }

    /// The caller of a wasm function of numbers that small calls do not serve: with
    /// more than `SMALL_ARGS` parameters or several results, and at most `WIDE_ARGS` of
    /// each. `None` for others.
    pub fn wide_caller(&self) -> Option<WideCaller> {
        let inner = &*self.0;
        let (params, results) = (inner.ty.params().len(), inner.ty.results().len());
        if !inner.numeric || !(params > SMALL_ARGS || results > 1) {
            return None;
        }
        self.wide_entry_caller(params)
    }

    /// `wide_caller` for a wasm function of at most `WIDE_ARGS` parameters and results,
    /// each one word (no v128), and `N` arguments: for references the caller must pass
    /// only words the parameters may hold (`ExternCaller` vets them).
    pub(crate) fn wide_entry_caller(&self, n: usize) -> Option<WideCaller> {
        let inner = &*self.0;
        let (params, results) = (inner.ty.params().len(), inner.ty.results().len());
        if params > n || n > WIDE_ARGS || results > WIDE_ARGS || !self.of_one_word_wasm() {
            return None;
        }
        let several_results = results > 1;
        let store = inner.store.upgrade()?;
        let how = match inner.code_traits {
            // Several results are left in the argument area, which `call_trap_free_area`
            // frees.
            CodeTraits { trap_free: true, .. } if !several_results => WideCall::TrapFree,
            CodeTraits { leaf, .. } => WideCall::Entry {
                entry: store.engine.trampolines().ok()?.wide_entry(several_results, leaf),
                leaf,
            },
        };
        super::signals::install_handlers();
        Some(WideCaller {
            vmctx: inner.vm.vmctx.cast(),
            code: inner.vm.code,
            store: inner.store.clone(),
            params,
            how,
        })
    }

    /// `small_caller` for a trap-free function (`is_trap_free`): `None` for others.
    pub fn trap_free_caller<const N: usize>(&self) -> Option<TrapFreeCaller<N>> {
        self.small_caller::<N>()?.trap_free(self)
    }

    /// The fastest way in, for the functions `takes_small_calls` accepts: the raw
    /// arguments (as `call_numeric` takes them) go to the callee in registers, and the
    /// raw result comes back (0 when there is none). Arguments past the function's
    /// parameters are ignored. Errors for other functions.
    #[inline(always)]
    pub fn call_small(&self, args: [u64; SMALL_ARGS]) -> Result<u64> {
        let inner = &*self.0;
        let Some(SmallEntry { entry, result_mask }) = inner.small else {
            return Err(numeric_mismatch(&inner.ty));
        };
        if inner.code_traits.trap_free {
            // SAFETY: a trap-free wasm function (`code_traits`) of the store, which
            // `small` serves: at most `SMALL_ARGS` parameters.
            let value = unsafe {
                run_trap_free_out_of_line(inner.vm.vmctx.cast(), inner.vm.code, &inner.store, args)
            }?;
            return Ok(value & result_mask);
        }
        let (vmctx, code) = (inner.vm.vmctx.cast(), inner.vm.code);
        // SAFETY: `entry` is the small entry for `SMALL_ARGS` arguments, of this function,
        // which takes at most that many parameters and returns at most one result
        // (`SmallEntry::for_wasm`, which also installed the signal handlers), of the
        // store, which `run_entry` keeps alive for the call.
        let enter = || unsafe { call_small_entry(entry as usize, vmctx, code, args) };
        let value = run_entry(&inner.store, inner.code_traits.leaf, enter)?;
        Ok(value & result_mask)
    }

    /// `call_numeric` without copies, the fastest way in: the raw arguments are in the
    /// first slots of `area`, and the raw results come back as a slice of it. For numeric
    /// functions of fewer than `NUMERIC_AREA` parameters and results; errors for others.
    #[inline]
    pub fn call_numeric_in_place<'a>(&self, area: &'a mut [u64; NUMERIC_AREA]) -> Result<&'a [u64]> {
        let inner = &*self.0;
        let (num_params, num_results) = (inner.ty.params().len(), inner.ty.results().len());
        let slots = num_params.max(num_results);
        if !inner.numeric || slots >= NUMERIC_AREA {
            return Err(numeric_mismatch(&inner.ty));
        }
        if let FuncKind::Host { .. } = &inner.kind {
            // Parameters and results together may not fit the area: results go to a
            // buffer of their own first.
            let mut results = [0u64; NUMERIC_AREA];
            self.call_numeric_host(&area[..num_params], &mut results[..num_results])?;
            area[..num_results].copy_from_slice(&results[..num_results]);
            return Ok(&area[..num_results]);
        }
        let store = inner.store.upgrade().ok_or_else(store_dropped)?;
        let results_in_rax = num_results <= 1;
        invoke_raw(&store, inner.vm.vmctx.cast(), inner.vm.code, &mut area[..slots + 1], results_in_rax)?;
        // A single result comes back in the slot after the area, from rax.
        let results = if num_results == 1 { &mut area[slots..slots + 1] } else { &mut area[..num_results] };
        zero_extend_narrow(inner.ty.results(), results);
        Ok(results)
    }

    /// `call_numeric` of a host function: through `Val`s unless it takes raw values.
    #[cold]
    fn call_numeric_host(&self, args: &[u64], results: &mut [u64]) -> Result<()> {
        let ty = &self.0.ty;
        if let FuncKind::Host { body: HostBody::Numeric(callback), .. } = &self.0.kind {
            let store = self.0.store.upgrade().ok_or_else(store_dropped)?;
            let _entry = HostEntry::enter(store.runtime());
            return call_numeric_callback(callback, ty, args, results);
        }
        // SAFETY: numbers of the declared types; any bit pattern is a valid number.
        let params: Vec<Val> =
            ty.params().iter().zip(args).map(|(t, r)| unsafe { Val::from_raw(*t, *r) }).collect();
        let out = self.call(&params)?;
        for (slot, v) in results.iter_mut().zip(&out) {
            *slot = v.to_raw();
        }
        Ok(())
    }

    /// Runs compiled code through the entry trampoline, its argument area (laid out for
    /// `ty`, see `FuncType::slot_width`) on the stack when it fits: `write_args` fills the
    /// parameter slots, `read_results` gets the raw results (a single scalar comes back
    /// in the slot after the area, from rax).
    fn invoke_compiled(
        &self,
        store: &StoreInner,
        ty: &FuncType,
        write_args: impl FnOnce(&mut [u64]),
        read_results: impl FnOnce(&[u64]),
    ) -> Result<()> {
        let slots = ty.area_slots();
        let in_rax = returns_in_rax(ty.results());
        let (mut on_stack, mut on_heap) = ([0u64; 16], Vec::new());
        let area = stack_or_heap(&mut on_stack, &mut on_heap, slots + 1, 0);
        write_args(&mut area[..slots]);
        invoke_raw(store, self.0.vm.vmctx.cast(), self.0.vm.code, area, in_rax || ty.results().is_empty())?;
        read_results(if in_rax { &area[slots..] } else { &area[..slots] });
        Ok(())
    }
}

/// Enters wasm through the entry trampoline. `area` holds the arguments and one slot
/// more than the callee's argument area; on return it holds the results, a single
/// scalar in its last slot (then `results_in_rax`, which skips the copy back).
#[inline]
pub(crate) fn invoke_raw(
    store: &StoreInner,
    vmctx: *mut VMContext,
    code: *const u8,
    area: &mut [u64],
    results_in_rax: bool,
) -> Result<()> {
    let slots = area.len() - 1;
    let flags = if results_in_rax { AT_MOST_ONE_RESULT } else { 0 };
    let trampolines = store.engine.trampolines()?;
    super::signals::install_handlers();
    let enter = || {
        // SAFETY: `vmctx` and `code` belong to a live instance of this store; `area` has
        // `slots + 1` entries as the trampoline requires.
        let status = unsafe { (trampolines.entry)(vmctx, code, area.as_mut_ptr(), slots as u64 | flags) };
        (status as u64, 0)
    };
    activation(store, enter)?;
    Ok(())
}

/// One activation of wasm code: `enter` calls an entry trampoline and returns its status
/// and a value, which comes back on success. (The trampolines keep the call depth and
/// stack limit of the store's runtime themselves.)
#[inline(always)]
fn activation(store: &StoreInner, enter: impl FnOnce() -> (u64, u64)) -> Result<u64> {
    let (status, value) = enter();
    if status != 0 {
        return Err(abnormal_exit(store));
    }
    Ok(value)
}

/// `abnormal_exit`, for a store the caller lets go of.
#[cold]
fn abnormal_exit_of(store: Rc<StoreInner>) -> Error {
    abnormal_exit(&store)
}

/// What a call that left wasm abnormally ended with: a trap or an exception.
#[cold]
fn abnormal_exit(store: &StoreInner) -> Error {
    let runtime: *mut VMRuntime = store.runtime();
    // SAFETY: the runtime lives in the store; wasm has returned, so nothing else uses it.
    let code = unsafe { (*runtime).trap_code };
    if code == EXCEPTION_STATUS {
        // SAFETY: as above; the unwinder left a live exception of this store (or 0).
        let raw = unsafe { std::mem::take(&mut (*runtime).exception) };
        // SAFETY: as just said. The embedder gets a handle: the store keeps it.
        unsafe { super::exception::expose(raw, store) };
        // SAFETY: as just said.
        return match unsafe { Exception::from_raw(raw) } {
            Some(e) => Error::Exception(e),
            None => Error::Trap(Trap::new(TrapCode::NullExceptionReference)),
        };
    }
    let trap = match TrapCode::from_u32(code) {
        Some(TrapCode::Host) | None => {
            store.pending_trap.borrow_mut().take().unwrap_or_else(|| Trap::new(TrapCode::Host))
        }
        Some(c) => Trap::new(c),
    };
    // SAFETY: as above.
    let frames = unsafe { std::mem::take(&mut (*runtime).backtrace) };
    Error::Trap(trap.with_backtrace(frames))
}

/// Raw numbers as `call_numeric` and `new_numeric` promise them: i32 and f32 values
/// come from machine code (and from raw host callbacks) with an undefined upper half,
/// cleared here.
#[inline]
fn zero_extend_narrow(types: &[ValType], values: &mut [u64]) {
    for (slot, &t) in values.iter_mut().zip(types) {
        *slot = zero_extended(*slot, t);
    }
}

/// `raw` as a value of type `t` with nothing above its bits.
#[inline(always)]
fn zero_extended(raw: u64, t: ValType) -> u64 {
    if matches!(t, ValType::I32 | ValType::F32) {
        raw as u32 as u64
    } else {
        raw
    }
}

/// The first `len` slots of `inline` when they fit, else `heap` grown to `len` copies of
/// `fill`: the common small case costs no allocation.
#[inline(always)]
fn stack_or_heap<'a, T: Clone>(
    inline: &'a mut [T],
    heap: &'a mut Vec<T>,
    len: usize,
    fill: T,
) -> &'a mut [T] {
    if len <= inline.len() {
        &mut inline[..len]
    } else {
        heap.resize(len, fill);
        heap
    }
}

/// A `new_numeric` callback called from Rust, with the values as it promises them.
fn call_numeric_callback(
    callback: &BoxedTrapCallback,
    ty: &FuncType,
    args: &[u64],
    results: &mut [u64],
) -> Result<()> {
    let mut args = args.to_vec();
    zero_extend_narrow(ty.params(), &mut args);
    results.fill(0);
    callback(&args, results).map_err(|trap| host_error(*trap))?;
    zero_extend_narrow(ty.results(), results);
    Ok(())
}

#[cold]
fn numeric_mismatch(ty: &FuncType) -> Error {
    Error::Link(format!("call_numeric does not fit the function's type {ty}"))
}

#[cold]
pub(crate) fn store_dropped() -> Error {
    Error::Link("the function's store was dropped".into())
}

/// Counts a direct call of a host function in `VMRuntime::host_entries` for as long
/// as it lives.
struct HostEntry(*mut VMRuntime);

impl HostEntry {
    fn enter(runtime: *mut VMRuntime) -> HostEntry {
        // SAFETY: the runtime of a store the caller holds; only this thread uses it.
        unsafe { (*runtime).host_entries += 1 };
        HostEntry(runtime)
    }
}

impl Drop for HostEntry {
    fn drop(&mut self) {
        // SAFETY: as in `enter`; the store is still held by the caller.
        unsafe { (*self.0).host_entries -= 1 };
    }
}

/// Exceptions among `values`, which wasm of `store` is about to hold, are kept by it.
pub(crate) fn keep_exceptions_in(store: &StoreInner, values: &[Val]) {
    for v in values {
        if let Val::ExnRef(Some(e)) = v {
            super::exception::keep_in(store, e);
        }
    }
}

/// A host function's error as a call's: thrown exceptions stay exceptions.
fn host_error(trap: Trap) -> Error {
    match trap.into_exception() {
        Ok(e) => Error::Exception(e),
        Err(t) => Error::Trap(t),
    }
}

/// Host functions with at most twice this many parameters and results together get them
/// in arrays on the stack when called from wasm (`vals_host_call`; `numeric_host_call`
/// leaves the parameters in the caller's area and keeps up to this many results apart).
const HOST_INLINE: usize = 4;

/// Called by the host stub: runs the callback on the arguments in the caller's area and
/// leaves the results there. Never unwinds: panics become traps.
pub(crate) unsafe extern "C" fn host_shim(context: *const VMHostContext, area: *mut u64) -> u32 {
    // SAFETY: the stub passes the VMHostContext of a live host function, whose `func`
    // field points at its FuncInner.
    let func = unsafe { &*((*context).func as *const FuncInner) };
    let FuncKind::Host { body, .. } = &func.kind else {
        return TrapCode::Host as u32;
    };
    let outcome = match body {
        // SAFETY (both): the caller reserved the type's argument area at `area`; numeric
        // types take one slot each.
        HostBody::Numeric(callback) => numeric_host_call(callback, &func.ty, unsafe {
            std::slice::from_raw_parts_mut(area, func.ty.params().len().max(func.ty.results().len()))
        }),
        HostBody::Vals(callback) => vals_host_call(callback, func, unsafe {
            std::slice::from_raw_parts_mut(area, func.ty.area_slots())
        }),
    };
    match outcome {
        Ok(()) => 0,
        // SAFETY: forwarded: `context` is the function's live host context.
        Err(trap) => unsafe { host_failure(func, context, trap) },
    }
}

/// `host_shim` for a `new_numeric` function: the area's slots are the raw values.
#[inline]
fn numeric_host_call(callback: &BoxedTrapCallback, ty: &FuncType, slots: &mut [u64]) -> Result<(), Trap> {
    let (param_types, result_types) = (ty.params(), ty.results());
    // The callback writes its results apart, as they would overwrite the parameters in
    // the area; they are copied back after the call.
    let params = &mut slots[..param_types.len()];
    zero_extend_narrow(param_types, params);
    let (mut inline, mut heap) = ([0u64; HOST_INLINE], Vec::new());
    let results = stack_or_heap(&mut inline, &mut heap, result_types.len(), 0);
    match catch_unwind(AssertUnwindSafe(|| callback(params, results))) {
        Ok(Ok(())) => {
            // Machine code may use an i32 result as a 64-bit register: its upper half
            // must be zero whatever the callback left there.
            for ((slot, &raw), &t) in slots.iter_mut().zip(results.iter()).zip(result_types) {
                *slot = zero_extended(raw, t);
            }
            Ok(())
        }
        Ok(Err(trap)) => Err(*trap),
        Err(_) => Err(Trap::host_message("host function panicked")),
    }
}

/// `host_shim` for a `Func::new` function: the area's values as `Val`s and back.
fn vals_host_call(callback: &HostCallback, func: &FuncInner, slots: &mut [u64]) -> Result<(), Trap> {
    let ty = &func.ty;
    let width = ty.slot_width();
    // Parameters and results on the stack for the common case: this runs for every call
    // of a host function from wasm, and allocations would be most of its cost.
    let (num_params, num_results) = (ty.params().len(), ty.results().len());
    let mut inline: [Val; 2 * HOST_INLINE] = std::array::from_fn(|_| Val::I32(0));
    let mut heap = Vec::new();
    let values = stack_or_heap(&mut inline, &mut heap, num_params + num_results, Val::I32(0));
    let (params, results) = values.split_at_mut(num_params);
    // SAFETY: arguments were produced by validated wasm code for these types.
    for (slot, v) in params.iter_mut().zip(unsafe { read_area(ty.params(), width, slots) }) {
        *slot = v;
    }
    for (slot, t) in results.iter_mut().zip(ty.results()) {
        *slot = Val::default_for(*t);
    }
    match catch_unwind(AssertUnwindSafe(|| callback(params, results))) {
        Ok(Ok(())) => {
            if results.iter().zip(ty.results()).any(|(v, t)| !v.matches(*t)) {
                return Err(Trap::host_message("host function returned values of the wrong type"));
            }
            if super::store::admit(&func.store, results).is_err() {
                return Err(Trap::host_message(
                    "host function returned a function or object of another store",
                ));
            }
            write_area(results, width, slots);
            Ok(())
        }
        Ok(Err(trap)) => Err(trap),
        Err(_) => Err(Trap::host_message("host function panicked")),
    }
}

/// What `host_shim` returns when the host function failed: an exception for the host
/// stub to throw, or a trap left pending in the store.
///
/// # Safety
/// `context` is the live host context of `func`.
#[cold]
unsafe fn host_failure(func: &FuncInner, context: *const VMHostContext, trap: Trap) -> u32 {
    let trap = match trap.into_exception() {
        // Another store's exception carrying a reference would hand this store's
        // handlers that store's functions or objects (`gc::foreign_object`).
        Ok(exception) if exception.carries_references_from_elsewhere(func.store.as_ptr()) => {
            Trap::host_message("host function threw an exception of another store that carries references")
        }
        Ok(exception) => {
            // The exception may belong to another store: this one must keep it while
            // its code can hold the exnref.
            if let Some(store) = func.store.upgrade() {
                super::exception::keep_in(&store, &exception);
            }
            // SAFETY: the context's runtime is the store's, alive while its code runs;
            // the host stub takes the exception from there and throws it.
            unsafe { (*(*context).runtime).exception = exception.raw() };
            return EXCEPTION_STATUS;
        }
        Err(trap) => trap,
    };
    if let Some(store) = func.store.upgrade() {
        *store.pending_trap.borrow_mut() = Some(trap);
    }
    TrapCode::Host as u32
}

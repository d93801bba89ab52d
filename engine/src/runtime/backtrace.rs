//! Where a trap happened: the wasm frames of the trapping activation, innermost first.
//!
//! The trap exit calls `capture` before it leaves the wasm frames, with a code address
//! in the trapping function, that function's frame pointer and its `VMContext` (r15).
//! From there the walk is the unwinder's (`unwind.rs`): a `VMContext` names the instance
//! and so the module, whose code map gives the function; `[rbp + 8]` and `[rbp]` lead to
//! the caller, which made a call and so keeps its `VMContext` at `[rbp - 8]` (a leaf's
//! prologue skips that store, which is why the first frame's comes from r15). Only the
//! trap path pays for it.

use super::instance::InstanceInner;
use super::unwind::{entry_returns, frame_instance, EXCEPTION_STATUS};
use super::vmcontext::{VMContext, VMRuntime};
use crate::module::Module;

/// Frames a backtrace keeps: a trap deep in a recursion is still told by its innermost
/// frames, and a stack overflow does not walk a megabyte of frames.
pub const MAX_FRAMES: usize = 64;

/// Where a module's machine code comes from in its wasm bytes, for the code addresses a
/// backtrace sees: (code offset, wasm byte offset) pairs, sorted by code offset. A fault
/// is looked up by the faulting instruction; anything else by a return address (of a
/// call, or of a trap path's call of the trap exit). The two are apart because a call's
/// return address may be the next instruction, which may itself fault.
#[derive(Default)]
pub(crate) struct SourceMap {
    /// Loads and stores that may fault.
    pub faults: Vec<(u32, u32)>,
    /// Divisions (their divisor may be zero).
    pub divisions: Vec<(u32, u32)>,
    pub returns: Vec<(u32, u32)>,
}

impl SourceMap {
    /// Compiled code records them in code order: each function's code is emitted
    /// front to back, its out-of-line trap paths last, and functions and chunks are laid
    /// out in order. (Checked in debug builds; out of order, a lookup would miss and a
    /// frame have no offset, nothing worse.)
    pub(crate) fn check_order(&self) {
        debug_assert!(self.faults.is_sorted_by_key(|&(at, _)| at), "fault sources out of code order");
        debug_assert!(self.divisions.is_sorted_by_key(|&(at, _)| at), "division sources out of code order");
        debug_assert!(self.returns.is_sorted_by_key(|&(at, _)| at), "return sources out of code order");
    }

    fn lookup(&self, code_offset: u32, fault: bool) -> Option<u32> {
        let find = |sites: &[(u32, u32)]| {
            let i = sites.binary_search_by_key(&code_offset, |&(at, _)| at).ok()?;
            Some(sites[i].1)
        };
        if fault {
            find(&self.faults).or_else(|| find(&self.divisions))
        } else {
            find(&self.returns)
        }
    }
}

/// One wasm frame of a trap's backtrace.
#[derive(Clone)]
pub struct BacktraceFrame {
    module: Module,
    /// In the module's function index space (imports first).
    func_index: u32,
    /// Of the frame's code address (the trapping instruction or a return address) from
    /// the start of the module's code.
    code_offset: u32,
    wasm_offset: Option<u32>,
}

impl BacktraceFrame {
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// The function's index in its module, imported functions counted first (the
    /// index the text format's `(func $f)` would get, and `wasm-function[N]` names).
    pub fn func_index(&self) -> u32 {
        self.func_index
    }

    /// The byte offset in the module's bytes of the instruction that trapped or, further
    /// out, of the call, as V8's `wasm-function[N]:0x...`. `None` for a code address
    /// the compiler recorded no source for.
    pub fn wasm_offset(&self) -> Option<u32> {
        self.wasm_offset
    }

    /// The function's name from the module's `name` section, if it has one.
    pub fn func_name(&self) -> Option<String> {
        self.module.function_name(self.func_index)
    }

    /// Where in the module's machine code the frame was, from the start of the code: the
    /// faulting instruction, or a return address (of a call, or of the call an
    /// out-of-line trap path makes to leave).
    pub fn code_offset(&self) -> u32 {
        self.code_offset
    }
}

/// The frame as V8 shows it after `at `: `NAME (wasm-function[INDEX]:0xOFFSET)`, or
/// without a name `wasm-function[INDEX]:0xOFFSET` (the offset left out when unknown).
impl std::fmt::Display for BacktraceFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut place = format!("wasm-function[{}]", self.func_index);
        if let Some(offset) = self.wasm_offset {
            place.push_str(&format!(":{offset:#x}"));
        }
        match self.func_name() {
            Some(name) => write!(f, "{name} ({place})"),
            None => f.write_str(&place),
        }
    }
}

impl std::fmt::Debug for BacktraceFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Called by the trap exit with the store's runtime, a code address in the trapping
/// function (`pc`: the faulting instruction when `fault` is 1, else a return address),
/// that function's frame pointer (`fp`) and `VMContext` (null: the one its frame keeps),
/// and the stack pointer at the trap (`sp`). Leaves the frames in `runtime.backtrace`.
///
/// # Safety
/// Called only by the trap exit, before it leaves the activation: `runtime` is the
/// store's, `trap_code` already set. Every frame read lies between `sp` and the
/// activation's entry (`entry_rsp`), and each must sit above the last, so a chain that
/// is not the expected one ends the walk instead of leading elsewhere.
pub(crate) unsafe extern "C" fn capture(
    runtime: *mut VMRuntime,
    pc: u64,
    fp: u64,
    sp: u64,
    vmctx: *const VMContext,
    fault: u64,
) {
    // SAFETY: per the contract, the runtime is the store's and nothing else uses it
    // while the trap exit runs.
    let runtime = unsafe { &mut *runtime };
    runtime.backtrace.clear();
    if runtime.trap_code == EXCEPTION_STATUS {
        return;
    }
    let entry_returns = entry_returns();
    let (mut pc, mut fp) = (pc, fp);
    let mut lowest = sp;
    while runtime.backtrace.len() < MAX_FRAMES {
        if entry_returns.contains(&pc) || fp < lowest || fp + 16 > runtime.entry_rsp || fp % 8 != 0 {
            break;
        }
        // SAFETY: the first frame's context is the trapping function's own (the trap
        // exit's contract); any other `fp` (and the first when the context is null) is
        // the frame pointer of a wasm frame of this activation that made a call (its
        // return address is not an entry's), between `sp` and the entry, whose prologue
        // then stored its VMContext.
        let instance = unsafe {
            if runtime.backtrace.is_empty() && !vmctx.is_null() {
                &*((*vmctx).instance as *const InstanceInner)
            } else {
                frame_instance(fp).1
            }
        };
        let module = &instance.module;
        // The byte before: a return address (and the trap paths' is one) may be the
        // first byte after its function, when the call was the function's last
        // instruction; a faulting instruction is never a function's first.
        let Some((defined, before)) = module.0.locate((pc as usize).wrapping_sub(1)) else {
            break;
        };
        let code_offset = before + 1;
        let fault = fault == 1 && runtime.backtrace.is_empty();
        runtime.backtrace.push(BacktraceFrame {
            module: module.clone(),
            func_index: module.0.info.num_imported_funcs + defined as u32,
            code_offset,
            wasm_offset: module.0.sources.lookup(code_offset, fault),
        });
        lowest = fp + 16;
        // SAFETY: the frame is live and within the bounds checked above: [fp] holds the
        // caller's rbp and [fp + 8] the return address.
        unsafe {
            pc = *((fp + 8) as *const u64);
            fp = *(fp as *const u64);
        }
    }
}

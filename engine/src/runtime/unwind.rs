//! The unwinder: finds the handler of a thrown exception by walking wasm frames.
//!
//! Every wasm frame starts with `push rbp; mov rbp, rsp` and keeps its `VMContext` at
//! `[rbp - 8]`, so the frames of one activation form a chain from the throw site up to
//! an entry trampoline. For each frame the walk looks up the return address in its
//! function's `HandlerTable` (`compiler/handlers.rs`): the innermost scope in force
//! there, whose catch clauses are tried in order, then the parent scope's. The first
//! match gets the payload (and exnref) written into its frame slots, and the throw stub
//! resumes at its landing pad with that frame's rbp and rsp. The callee-saved registers
//! (GPRs and xmm) the landing frame expects are rebuilt on the way: each frame passed
//! over restores the ones its prologue saved.

use super::exception::{end_throw, expose, ExceptionInner};
use super::instance::InstanceInner;
use super::vmcontext::{VMContext, VMRuntime};
use crate::isa::x64::regs::CALLEE_SAVED_XMMS;
use crate::isa::x64::trampolines::{ENTRY_FRAME, ENTRY_RETURNS as ENTRY_RETURN_COUNT};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The status (in `VMRuntime::trap_code`) with which an activation ends when no wasm
/// frame handled an exception, or with which a host function reports one. Not a
/// `TrapCode`: it never reaches an embedder as a trap.
pub const EXCEPTION_STATUS: u32 = 0x100;

/// Where the throw stub resumes. `rbx`, `r12`, `r13` and the low 8 bytes of the
/// callee-saved xmm registers (`CALLEE_SAVED_XMMS`, in that order) go in as the values at
/// the throw site and come out as the landing frame's.
#[repr(C)]
#[derive(Debug, Default)]
pub struct Landing {
    pub pc: u64,
    pub rsp: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r12: u64,
    pub r13: u64,
    pub xmms: [u64; CALLEE_SAVED_XMMS.len()],
}

static ENTRY_RETURNS: [AtomicUsize; ENTRY_RETURN_COUNT] = [const { AtomicUsize::new(0) }; ENTRY_RETURN_COUNT];

/// Records the entry trampolines' return addresses (once, when the trampolines are
/// built).
pub(crate) fn set_entry_returns(addresses: [usize; ENTRY_RETURN_COUNT]) {
    for (slot, address) in ENTRY_RETURNS.iter().zip(addresses) {
        slot.store(address, Ordering::Release);
    }
}

/// The entry trampolines' return addresses, where walks up the wasm frames stop.
pub(crate) fn entry_returns() -> [u64; ENTRY_RETURN_COUNT] {
    ENTRY_RETURNS.each_ref().map(|a| a.load(Ordering::Acquire) as u64)
}

/// The VMContext and instance of the wasm frame whose frame pointer is `fp`.
///
/// # Safety
/// `fp` is the frame pointer of a live wasm frame that calls or throws (its prologue
/// then stored its VMContext at [fp - 8]), and the instance outlives `'a`.
pub(crate) unsafe fn frame_instance<'a>(fp: u64) -> (*const VMContext, &'a InstanceInner) {
    // SAFETY: per the contract.
    unsafe {
        let vmctx = *((fp - 8) as *const *const VMContext);
        (vmctx, &*((*vmctx).instance as *const InstanceInner))
    }
}

/// Called by the throw stub with the exception, the throw site's return address and
/// frame pointer. Returns 0 after filling `landing`, or 1 when no frame up to the
/// entry trampoline handles the exception, which then waits in `runtime.exception`.
///
/// # Safety
/// Called only by the throw stub: `exn` is 0 or a live exception of the store whose
/// runtime is `runtime`, and `pc`/`fp` are the return address and frame pointer of a
/// wasm frame of the current activation.
pub(crate) unsafe extern "C" fn unwind(
    exn: u64,
    pc: u64,
    fp: u64,
    landing: *mut Landing,
    runtime: *mut VMRuntime,
) -> u32 {
    let entry_returns = entry_returns();
    // SAFETY: the throw stub passes a Landing record in its own frame.
    let landing = unsafe { &mut *landing };
    let mut callee_saved = [landing.rbx, landing.r12, landing.r13];
    let mut callee_saved_xmms = landing.xmms;
    let (mut pc, mut fp) = (pc, fp);
    // SAFETY: per the contract, a nonzero `exn` is a live exception.
    let exception = (exn != 0).then(|| unsafe { &*(exn as *const ExceptionInner) });
    while let Some(exception) = exception {
        if entry_returns.contains(&pc) {
            break;
        }
        // SAFETY: `fp` is the frame pointer of a wasm frame (the walk stops at the entry
        // trampolines, the only other kind of caller wasm code has) that called or threw,
        // and the instance outlives the call.
        let (vmctx, instance) = unsafe { frame_instance(fp) };
        let module = &instance.module.0;
        let Some((func, offset)) = module.locate(pc as usize) else {
            break;
        };
        let table = &module.handlers[func];
        let mut scope = table.scope_at(offset - module.func_offsets[func]);
        while let Some(s) = scope {
            let s = &table.scopes[s as usize];
            for catch in &s.catches {
                let caught = match catch.tag {
                    None => true,
                    // SAFETY: the validator checked the tag index against the module,
                    // and the instance's tag array has an entry for each.
                    Some(t) => {
                        let tag = unsafe { *(*vmctx).tags.add(t as usize) };
                        tag == exception.tag.raw().cast()
                    }
                };
                if !caught {
                    continue;
                }
                let slot = |offset: i32| (fp as i64 + offset as i64) as *mut u64;
                // SAFETY: the compiler reserved these frame slots for the clause's
                // values; the frame is live (it is on the chain being walked).
                unsafe {
                    if catch.tag.is_some() {
                        // A v128 payload value is two 8-byte words (`slot_width`), and a
                        // frame catching one has 16-byte slots.
                        let width = exception.tag.0.ty.slot_width();
                        for (k, &v) in exception.payload.iter().enumerate() {
                            let (i, word) = ((k / width) as i32, (k % width) as i32);
                            *slot(catch.payload_slot - catch.payload_stride * i + 8 * word) = v;
                        }
                    }
                    match catch.exnref_slot {
                        Some(at) => {
                            *slot(at) = exn;
                            // The exnref is now a value wasm holds: the store keeps it.
                            // (The store outlives every call into its code.)
                            if let Some(store) = instance.store.upgrade() {
                                expose(exn, &store);
                            }
                        }
                        // Nothing can name the exception any more: the throw ends here.
                        None => end_throw(exn),
                    }
                }
                let code = module.code.as_ref().map_or(0, |c| c.as_ptr() as u64);
                landing.pc = code + module.func_offsets[func] as u64 + catch.landing as u64;
                landing.rbp = fp;
                landing.rsp = fp - table.frame_size as u64;
                [landing.rbx, landing.r12, landing.r13] = callee_saved;
                landing.xmms = callee_saved_xmms;
                return 0;
            }
            scope = s.parent;
        }
        // SAFETY: the frame's prologue saved `callee_saved` GPRs, then
        // `callee_saved_xmms` xmm registers, below its saved vmctx, and [fp] / [fp + 8]
        // hold the caller's rbp and the return address.
        unsafe {
            let saved = |k: usize| *((fp - 16 - 8 * k as u64) as *const u64);
            let gprs = table.callee_saved as usize;
            for (k, reg) in callee_saved.iter_mut().enumerate().take(gprs) {
                *reg = saved(k);
            }
            for (k, reg) in callee_saved_xmms.iter_mut().enumerate().take(table.callee_saved_xmms as usize) {
                *reg = saved(gprs + k);
            }
            pc = *((fp + 8) as *const u64);
            fp = *(fp as *const u64);
        }
    }
    // SAFETY: the runtime belongs to the store whose code is running.
    unsafe { (*runtime).exception = exn };
    1
}

/// How many 8-byte slots a tail call may use from `area_start` up: the end of the
/// argument area its caller's caller reserved, found from that caller's frame (`fp`,
/// whose call returns to `pc`), minus `area_start`, and never fewer than `own`, the
/// slots the tail-calling function's own type guarantees. A compiled caller reserves
/// its `HandlerTable::outgoing_slots` at the bottom of its frame; an entry trampoline
/// up to `ENTRY_FRAME` below its rbp. See `compiler::tail_calls`.
///
/// # Safety
/// Called only by compiled code at a tail call, with its own frame's saved rbp (`fp`),
/// return address (`pc`) and argument area start.
pub(crate) unsafe extern "C" fn tail_call_room(fp: u64, pc: u64, area_start: u64, own: u64) -> u64 {
    let end = if entry_returns().contains(&pc) {
        fp - ENTRY_FRAME as u64
    } else {
        // SAFETY: the caller is a wasm frame (the only other callers are the entry
        // trampolines) and it called; its instance outlives the call.
        let module = unsafe { &frame_instance(fp).1.module.0 };
        let Some((func, _)) = module.locate(pc as usize) else {
            return own;
        };
        let table = &module.handlers[func];
        fp - table.frame_size as u64 + 8 * table.outgoing_slots as u64
    };
    (end.saturating_sub(area_start) / 8).max(own)
}

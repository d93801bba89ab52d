//! Process-wide stubs: the entry from Rust into wasm, the trap exit, the throw stub,
//! and the stub that calls host functions.
//!
//! Traps unwind without setjmp: the entry trampoline records `rsp` in the store's
//! `VMRuntime`; every trap (explicit ones and memory faults redirected by the signal
//! handler) jumps to `trap_exit`, which restores that `rsp` and returns a nonzero status.
//! Exceptions are thrown through `throw_stub`, which asks the unwinder for a landing pad
//! and resumes there, or leaves like a trap (with `EXCEPTION_STATUS`) when this
//! activation has no handler.

use super::asm::{Assembler, Cc, Mem};
use super::masm::{call_scratch_keeping_xmms_and_return, restore_callee_saved_xmms, save_callee_saved_xmms};
use super::regs::*;
use crate::compiler::masm::{AluOp, LoadKind, OperandSize, ShiftOp, StoreKind};
use crate::error::Error;
use crate::runtime::code_memory::CodeMemory;
use crate::runtime::unwind::{unwind, Landing, EXCEPTION_STATUS};
use crate::runtime::vmcontext::{offsets, VMContext, VMHostContext};
use std::mem::offset_of;
use std::sync::OnceLock;

/// `entry(vmctx, code, args, nslots)`: copies `nslots` 8-byte slots from `args` to the
/// callee's argument area, calls `code`, copies the area back to `args` (unless `nslots`
/// carries `AT_MOST_ONE_RESULT`) and stores `rax` (the single-result register) in
/// `args[nslots]`. Returns 0, or 1 after a trap.
pub type EntryFn = unsafe extern "C" fn(*mut VMContext, *const u8, *mut u64, u64) -> u32;

/// `entry_small(vmctx, code, a0, a1, a2, a3)`: the entry for callees of at most
/// `SMALL_ARGS` parameter slots and at most one result, with the arguments in
/// registers: stores them as the argument area, calls `code`, and returns the status in
/// rax (0, or 1 after a trap) and the result register in rdx. Same frame as `entry`, so
/// the trap exit and the unwinder treat both alike. There is one for each argument
/// count (`Trampolines::small_entry`), which reads and stores only its own arguments
/// (of the four slots, a callee reads only its own): this is the type of the one for
/// four, and of the others called with more arguments than they read.
pub type SmallEntryFn =
    unsafe extern "C" fn(*mut VMContext, *const u8, u64, u64, u64, u64) -> SmallEntryOutcome;

/// Argument slots `entry_small` passes.
pub const SMALL_ARGS: usize = 4;

/// `entry_wide(vmctx, code, args)`: `entry_small` for callees of at most `WIDE_ARGS`
/// parameter slots and at most one result, with the arguments in `args`: all
/// `WIDE_ARGS` slots are copied to the argument area (a callee reads its own), 16 bytes
/// at a time, with no loop or count. The entries for callees of several results (at
/// most `WIDE_ARGS` slots) copy the area back to `args` after the call, where the
/// results then are; the others only read `args`.
pub type WideEntryFn = unsafe extern "C" fn(*mut VMContext, *const u8, *mut u64) -> SmallEntryOutcome;

/// Entry trampolines (`entry`, `entry_small` and `entry_small_leaf` for each argument
/// count, and four wide entries), each with one call into wasm.
pub(crate) const ENTRY_RETURNS: usize = 1 + 2 * (SMALL_ARGS + 1) + 4;

/// What `entry_small` returns, in rax:rdx.
#[repr(C)]
pub struct SmallEntryOutcome {
    pub status: u64,
    pub value: u64,
}

/// Calls a trap-free wasm function (`HandlerTable::trap_free`) straight from Rust, with
/// no entry trampoline: such a function calls nothing and cannot trap or fault, so
/// nothing it runs looks for the trampoline's frame, the runtime's `entry_rsp` or
/// `depth`, or the stack limit (a leaf's frame is at most `LEAF_FRAME_MAX` bytes, no more
/// than a Rust function might take). Its convention: the context in r15 and memory 0's
/// base in r14 (both as they were when it returns), the first two arguments in
/// `WASM_ARG_GPRS` and all of them in the argument area above the return address, the
/// result in rax; it keeps rbx, r12, r13 and rbp, and may clobber what System V lets a
/// callee clobber. A direct call costs a few instructions where the trampoline's frame
/// costs about forty.
///
/// # Safety
/// `code` is a trap-free wasm function of a live store whose context is `vmctx`, taking
/// at most `N` parameters and returning at most one result, each one word, and `N` is
/// at most `SMALL_ARGS`; `args` are values of the parameters' types (for a reference, a
/// word `ExternCaller` accepts). The raw result is unmasked, as
/// `SmallEntryOutcome::value` is.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn call_trap_free<const N: usize>(vmctx: *mut VMContext, code: *const u8, args: [u64; N]) -> u64 {
    use std::arch::asm;
    // Not a `const` assertion: `ExternCaller<N>` holds small callers for every `N` it
    // takes, but makes them (and so calls this) only for `N` up to `SMALL_ARGS`.
    debug_assert!(N <= SMALL_ARGS);
    // The registers named in the `asm!` blocks below.
    const _: () = assert!(VMCTX.index() == R15.index() && MEMORY_BASE.index() == R14.index());
    const _: () = assert!(WASM_ARG_GPRS[0].index() == RSI.index() && WASM_ARG_GPRS[1].index() == RDX.index());
    // SAFETY: `vmctx` is a live context (the contract).
    let memory_base =
        unsafe { vmctx.cast::<u8>().add(offsets::VMCTX_MEMORY0_BASE as usize).cast::<u64>().read() };
    let arg = |i: usize| args.get(i).copied().unwrap_or(0);
    let result: u64;
    // SAFETY: per the contract, and the convention above: the argument area is reserved
    // below the stack pointer (which is aligned for a call on entry to an `asm!` block
    // without `nostack`, and stays so, the area being a multiple of 16 bytes) and freed
    // after; r14 and r15 come back as they went in; everything else the callee may change
    // is declared clobbered.
    unsafe {
        match N {
            0 => asm!(
                "call {code}",
                code = in(reg) code,
                in("r15") vmctx, in("r14") memory_base,
                lateout("rax") result, clobber_abi("C"),
            ),
            1 => asm!(
                "sub rsp, 16",
                "mov [rsp], rsi",
                "call {code}",
                "add rsp, 16",
                code = in(reg) code,
                in("r15") vmctx, in("r14") memory_base, in("rsi") arg(0),
                lateout("rax") result, clobber_abi("C"),
            ),
            2 => asm!(
                "sub rsp, 16",
                "mov [rsp], rsi",
                "mov [rsp + 8], rdx",
                "call {code}",
                "add rsp, 16",
                code = in(reg) code,
                in("r15") vmctx, in("r14") memory_base, in("rsi") arg(0), in("rdx") arg(1),
                lateout("rax") result, clobber_abi("C"),
            ),
            3 => asm!(
                "sub rsp, 32",
                "mov [rsp], rsi",
                "mov [rsp + 8], rdx",
                "mov [rsp + 16], {a2}",
                "call {code}",
                "add rsp, 32",
                code = in(reg) code, a2 = in(reg) arg(2),
                in("r15") vmctx, in("r14") memory_base, in("rsi") arg(0), in("rdx") arg(1),
                lateout("rax") result, clobber_abi("C"),
            ),
            _ => asm!(
                "sub rsp, 32",
                "mov [rsp], rsi",
                "mov [rsp + 8], rdx",
                "mov [rsp + 16], {a2}",
                "mov [rsp + 24], {a3}",
                "call {code}",
                "add rsp, 32",
                code = in(reg) code, a2 = in(reg) arg(2), a3 = in(reg) arg(3),
                in("r15") vmctx, in("r14") memory_base, in("rsi") arg(0), in("rdx") arg(1),
                lateout("rax") result, clobber_abi("C"),
            ),
        }
    }
    result
}

/// The most parameters `call_trap_free_area` (and `WideCaller`) takes: the slots it
/// reserves, a multiple of two, so the stack stays 16-byte aligned for the call.
pub const WIDE_ARGS: usize = 16;

/// `call_trap_free` for any number of arguments up to `WIDE_ARGS`: the first `count`
/// slots from `args` are copied to the argument area, and the first two also go in
/// `WASM_ARG_GPRS`.
///
/// # Safety
/// As for `call_trap_free`, with the callee taking at most `count` parameters, `count`
/// at most `WIDE_ARGS`, and `args` valid for reads of `count` slots.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn call_trap_free_area(
    vmctx: *mut VMContext,
    code: *const u8,
    args: *const u64,
    count: usize,
) -> u64 {
    use std::arch::asm;
    const _: () = assert!(VMCTX.index() == R15.index() && MEMORY_BASE.index() == R14.index());
    const _: () = assert!(WASM_ARG_GPRS[0].index() == RSI.index() && WASM_ARG_GPRS[1].index() == RDX.index());
    // The area is the 128 bytes the `asm!` block reserves.
    const _: () = assert!(WIDE_ARGS * 8 == 128);
    debug_assert!(count <= WIDE_ARGS);
    // SAFETY: `vmctx` is a live context (the contract).
    let memory_base =
        unsafe { vmctx.cast::<u8>().add(offsets::VMCTX_MEMORY0_BASE as usize).cast::<u64>().read() };
    let result: u64;
    // SAFETY: as in `call_trap_free`: the area (128 bytes, keeping rsp aligned) is
    // reserved below the stack pointer and freed after; `rep movsq` copies `count` slots
    // (rcx) from `args` (rsi) to it (rdi), the direction flag being clear as the ABI
    // guarantees; everything the callee may change is declared clobbered.
    unsafe {
        asm!(
            "sub rsp, 128",
            "mov rdi, rsp",
            "rep movsq",
            "mov rsi, [rsp]",
            "mov rdx, [rsp + 8]",
            "call {code}",
            "add rsp, 128",
            code = in(reg) code,
            in("r15") vmctx, in("r14") memory_base,
            inout("rsi") args => _, inout("rcx") count.min(WIDE_ARGS) => _,
            // Written before the call: not late, so `code` is not given either of them.
            out("rdi") _, out("rdx") _,
            lateout("rax") result, clobber_abi("C"),
        );
    }
    result
}

/// No wasm code runs on other targets (`Engine::new` refuses them), so no function is
/// trap-free there (`CodeTraits::of`); this only keeps the crate building.
///
/// # Safety
/// Never to be called.
#[cfg(not(target_arch = "x86_64"))]
pub unsafe fn call_trap_free_area(_: *mut VMContext, _: *const u8, _: *const u64, _: usize) -> u64 {
    unreachable!("no wasm code runs on this target")
}

/// No wasm code runs on other targets (`Engine::new` refuses them), so no function is
/// trap-free there (`CodeTraits::of`); this only keeps the crate building.
///
/// # Safety
/// Never to be called.
#[cfg(not(target_arch = "x86_64"))]
pub unsafe fn call_trap_free<const N: usize>(_: *mut VMContext, _: *const u8, _: [u64; N]) -> u64 {
    unreachable!("no wasm code runs on this target")
}

/// A flag of `entry`'s slot count: the callee has no results on the stack, so the copy
/// back is skipped (a single result comes in rax).
pub const AT_MOST_ONE_RESULT: u64 = 1 << 63;

/// What the host stub calls: `(host context, argument/result area) -> trap code,
/// `EXCEPTION_STATUS` (the exception waits in `VMRuntime::exception`) or 0`.
pub type HostShim = unsafe extern "C" fn(*const VMHostContext, *mut u64) -> u32;

pub struct Trampolines {
    _code: CodeMemory,
    pub entry: EntryFn,
    /// By the number of arguments the callee takes.
    pub entry_small: [SmallEntryFn; SMALL_ARGS + 1],
    /// `entry_small` for leaf callees (`HandlerTable::leaf`), which do not read the stack
    /// limit: it is left as it is.
    pub entry_small_leaf: [SmallEntryFn; SMALL_ARGS + 1],
    /// The wide entries, by whether the callee returns several results, then whether
    /// it is a leaf (`Trampolines::wide_entry`).
    entry_wide: [[WideEntryFn; 2]; 2],
    /// The return addresses of the entry trampolines' calls into wasm: the unwinder
    /// stops there.
    pub entry_returns: [usize; ENTRY_RETURNS],
    /// Where the fault handler resumes a fault at a trap site: the trap exit, told the
    /// address is the faulting instruction's.
    pub trap_fault: usize,
    /// The trap exit for compiled code's trap paths, which call it with the trap code in
    /// esi (their return address starts the backtrace).
    pub trap_call: usize,
    /// Called by compiled code with the exnref in rdi (never null), its return address
    /// being the throw site; does not return.
    pub throw_stub: usize,
    pub host_stub: usize,
    /// `memory.copy` of memory 0: called by compiled code with `libcalls::memory_copy`'s
    /// arguments in place; returns its status in eax (see `emit_memory_copy_stub`).
    pub memory_copy_stub: usize,
    /// Called by compiled code when the GC heap's bump pointer runs out (see
    /// `emit_gc_alloc_stub`).
    pub gc_alloc_stub: usize,
    /// `fiber_switch(save, to)`: saves the callee-saved registers and rsp (to `*save`)
    /// and continues on the stack whose rsp is `to` (see `runtime/fiber.rs`).
    pub fiber_switch: FiberSwitchFn,
    /// Where a new fiber's first switch lands: calls `fiber_main(r12)`.
    pub fiber_start: usize,
}

pub type FiberSwitchFn = unsafe extern "C" fn(*mut u64, u64);

/// The switch routine, once the trampolines exist.
pub fn fiber_switch() -> Option<FiberSwitchFn> {
    TRAMPOLINES_BUILT.get().copied()
}

static TRAMPOLINES_BUILT: OnceLock<FiberSwitchFn> = OnceLock::new();

/// Where the entry trampoline keeps the previous `entry_rsp`, below its saved `rbp`
/// (after five callee-saved registers).
const PREVIOUS_ENTRY_RSP: i32 = -48;
/// Its argument pointer and slot count: wasm code may use every allocatable register,
/// including callee-saved ones, so these are reloaded from memory after the call.
const SAVED_ARGS: i32 = -56;
const SAVED_SLOTS: i32 = -64;
/// `rbp - entry_rsp`. Both entries' argument areas end at `entry_rsp` (it is stored
/// right before the area is reserved below it), and a tail call may use all of it
/// (`unwind::tail_call_room`).
pub(crate) const ENTRY_FRAME: i32 = 64;

impl Trampolines {
    /// The small entry for callees of `arity` parameters (at most `SMALL_ARGS`), leaves
    /// (`HandlerTable::leaf`) or not.
    pub fn small_entry(&self, arity: usize, leaf: bool) -> Option<SmallEntryFn> {
        let entries = if leaf { &self.entry_small_leaf } else { &self.entry_small };
        entries.get(arity).copied()
    }

    /// The wide entry for callees of several results or not, leaves
    /// (`HandlerTable::leaf`) or not.
    pub fn wide_entry(&self, several_results: bool, leaf: bool) -> WideEntryFn {
        self.entry_wide[several_results as usize][leaf as usize]
    }
}

#[inline]
pub fn trampolines(host_shim: HostShim) -> Result<&'static Trampolines, Error> {
    static TRAMPOLINES: OnceLock<Result<Trampolines, String>> = OnceLock::new();
    TRAMPOLINES
        .get_or_init(|| build(host_shim).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::Resource(e.clone()))
}

/// Clears the `AT_MOST_ONE_RESULT` flag of a slot count.
fn clear_bit_63(a: &mut Assembler, r: Reg) {
    a.shift_ri(ShiftOp::Shl, OperandSize::S64, r, 1);
    a.shift_ri(ShiftOp::ShrU, OperandSize::S64, r, 1);
}

/// Copies r12 8-byte slots from `[from]` to `[to]`, using rcx and `via`.
fn copy_slots(a: &mut Assembler, from: Reg, to: Reg, via: Reg) {
    let (top, done) = (a.new_label(), a.new_label());
    a.mov_ri(RCX, 0);
    a.bind(top);
    a.cmp_rr(OperandSize::S64, RCX, R12);
    a.jcc(Cc::Ae, done);
    a.load(LoadKind::I64, via, Mem::Scaled(from, RCX, 3, 0));
    a.store(StoreKind::I64, Mem::Scaled(to, RCX, 3, 0), via);
    a.alu_ri(AluOp::Add, OperandSize::S64, RCX, 1);
    a.jmp(top);
    a.bind(done);
}

/// The start of both entry trampolines' frame, which `trap_exit` and the shared tail
/// rely on: rbp, the callee-saved registers, the context (rdi) in r15 and its memory
/// base in r14, and the previous `entry_rsp` at `PREVIOUS_ENTRY_RSP`; the runtime is
/// left in SCRATCH. Also counts the activation in the runtime's `depth` (the shared
/// tail uncounts it) and, for the outermost one, sets the stack limit unless the callee
/// is a leaf that does not read it (`HandlerTable::leaf`). Clobbers rax and the flags.
fn open_entry_frame(a: &mut Assembler, sets_stack_limit: bool) {
    a.push(RBP);
    a.mov_rr(OperandSize::S64, RBP, RSP);
    for r in [RBX, R12, R13, R14, R15] {
        a.push(r);
    }
    a.mov_rr(OperandSize::S64, R15, RDI);
    a.load(LoadKind::I64, R14, Mem::Base(R15, offsets::VMCTX_MEMORY0_BASE));
    a.load(LoadKind::I64, SCRATCH, Mem::Base(R15, offsets::VMCTX_RUNTIME));
    a.push_mem(Mem::Base(SCRATCH, offsets::RUNTIME_ENTRY_RSP));
    // The outermost activation measures the stack wasm may use from here (down to 0
    // when the stack is smaller); every activation counts itself until the shared tail.
    let depth = Mem::Base(SCRATCH, offsets::RUNTIME_DEPTH);
    if sets_stack_limit {
        let nested = a.new_label();
        let limit_fits = a.new_label();
        a.cmp_mi(OperandSize::S32, depth, 0);
        a.jcc(Cc::Ne, nested);
        a.mov_rr(OperandSize::S64, RAX, RSP);
        a.alu_rm(AluOp::Sub, OperandSize::S64, RAX, Mem::Base(SCRATCH, offsets::RUNTIME_MAX_WASM_STACK));
        a.jcc(Cc::Ae, limit_fits);
        a.mov_ri(RAX, 0);
        a.bind(limit_fits);
        a.store(StoreKind::I64, Mem::Base(SCRATCH, offsets::RUNTIME_STACK_LIMIT), RAX);
        a.bind(nested);
    }
    a.alu_mi(AluOp::Add, OperandSize::S32, depth, 1);
}

/// The shared tail of the entry trampolines, which the trap exit also jumps to (with
/// r15 a context of the store): restores the previous `entry_rsp`, uncounts the
/// activation, and returns what is in rax (and rdx) with the callee-saved registers as
/// they were.
fn close_entry_frame(a: &mut Assembler) {
    a.lea(RSP, Mem::Base(RBP, PREVIOUS_ENTRY_RSP));
    a.pop(RCX);
    a.load(LoadKind::I64, SCRATCH, Mem::Base(R15, offsets::VMCTX_RUNTIME));
    a.store(StoreKind::I64, Mem::Base(SCRATCH, offsets::RUNTIME_ENTRY_RSP), RCX);
    a.alu_mi(AluOp::Sub, OperandSize::S32, Mem::Base(SCRATCH, offsets::RUNTIME_DEPTH), 1);
    for r in [R15, R14, R13, R12, RBX, RBP] {
        a.pop(r);
    }
    a.ret();
}

fn build(host_shim: HostShim) -> Result<Trampolines, Error> {
    let mut a = Assembler::new();

    // ---- entry ----
    let entry_at = a.offset();
    let tail = a.new_label();
    open_entry_frame(&mut a, true);
    a.push(RDX);
    a.push(RCX);
    a.store(StoreKind::I64, Mem::Base(SCRATCH, offsets::RUNTIME_ENTRY_RSP), RSP);
    a.mov_rr(OperandSize::S64, RBX, RDX);
    a.mov_rr(OperandSize::S64, R12, RCX);
    clear_bit_63(&mut a, R12);
    // Argument area: nslots * 8 rounded up to keep rsp 16-byte aligned.
    a.mov_rr(OperandSize::S64, R13, R12);
    a.shift_ri(ShiftOp::Shl, OperandSize::S64, R13, 3);
    a.alu_ri(AluOp::Add, OperandSize::S64, R13, 15);
    a.alu_ri(AluOp::And, OperandSize::S64, R13, -16);
    a.alu_rr(AluOp::Sub, OperandSize::S64, RSP, R13);
    copy_slots(&mut a, RBX, RSP, RAX);
    // The first two slots also go in `WASM_ARG_GPRS` (read past the slots the callee
    // has, they are values of this frame that it ignores).
    a.mov_rr(OperandSize::S64, SCRATCH, RSI);
    a.load(LoadKind::I64, WASM_ARG_GPRS[0], Mem::Base(RSP, 0));
    a.load(LoadKind::I64, WASM_ARG_GPRS[1], Mem::Base(RSP, 8));
    a.call_reg(SCRATCH);
    let entry_return_at = a.offset();
    a.load(LoadKind::I64, RBX, Mem::Base(RBP, SAVED_ARGS));
    a.load(LoadKind::I64, R12, Mem::Base(RBP, SAVED_SLOTS));
    // rax holds a single result; several are on the stack: copy them through rdx.
    let single_result = a.new_label();
    a.test_rr(OperandSize::S64, R12, R12);
    a.jcc(Cc::S, single_result);
    copy_slots(&mut a, RSP, RBX, RDX);
    a.bind(single_result);
    clear_bit_63(&mut a, R12);
    a.store(StoreKind::I64, Mem::Scaled(RBX, R12, 3, 0), RAX);
    a.mov_ri(RAX, 0);
    a.bind(tail);
    close_entry_frame(&mut a);

    // ---- small entries, one per argument count, and again for leaf callees: `entry`'s
    // frame, with the saved argument pointer and slot count unused; the register
    // arguments become the argument area (always `SMALL_ARGS` slots, of which the
    // callee reads its own) ----
    let mut entry_small_at = [[0; SMALL_ARGS + 1]; 2];
    let mut other_entry_returns_at = Vec::with_capacity(ENTRY_RETURNS - 1);
    for (leaf, arity) in [false, true].into_iter().flat_map(|leaf| (0..=SMALL_ARGS).map(move |n| (leaf, n))) {
        a.align(16, 0xCC);
        entry_small_at[leaf as usize][arity] = a.offset();
        open_entry_frame(&mut a, !leaf);
        a.alu_ri(AluOp::Sub, OperandSize::S64, RSP, 16);
        a.store(StoreKind::I64, Mem::Base(SCRATCH, offsets::RUNTIME_ENTRY_RSP), RSP);
        a.alu_ri(AluOp::Sub, OperandSize::S64, RSP, 8 * SMALL_ARGS as i32);
        for (i, r) in [RDX, RCX, R8, R9].into_iter().enumerate().take(arity) {
            a.store(StoreKind::I64, Mem::Base(RSP, 8 * i as i32), r);
        }
        // The first two also in `WASM_ARG_GPRS`: rsi (the code) is taken first, then the
        // second argument (rcx) before the first (rdx) overwrites its register.
        debug_assert_eq!(WASM_ARG_GPRS, [RSI, RDX]);
        a.mov_rr(OperandSize::S64, SCRATCH, RSI);
        if arity >= 1 {
            a.mov_rr(OperandSize::S64, RSI, RDX);
        }
        if arity >= 2 {
            a.mov_rr(OperandSize::S64, RDX, RCX);
        }
        a.call_reg(SCRATCH);
        other_entry_returns_at.push(a.offset());
        a.mov_rr(OperandSize::S64, RDX, RAX);
        a.mov_ri(RAX, 0);
        close_entry_frame(&mut a);
    }

    // ---- wide entries, for callees and for leaf callees, of one result (in rdx) or of
    // several (copied back to the argument array): the small entries' frame, with an
    // argument area of `WIDE_ARGS` slots copied from rdx ----
    let mut entry_wide_at = [[0; 2]; 2];
    for (several_results, leaf) in [(false, false), (false, true), (true, false), (true, true)] {
        a.align(16, 0xCC);
        entry_wide_at[several_results as usize][leaf as usize] = a.offset();
        open_entry_frame(&mut a, !leaf);
        a.alu_ri(AluOp::Sub, OperandSize::S64, RSP, 16);
        a.store(StoreKind::I64, Mem::Base(SCRATCH, offsets::RUNTIME_ENTRY_RSP), RSP);
        if several_results {
            // Kept where `entry` keeps its argument pointer (unused by small entries):
            // wasm code may use every allocatable register.
            a.store(StoreKind::I64, Mem::Base(RBP, SAVED_ARGS), RDX);
        }
        const _: () = assert!(WIDE_ARGS.is_multiple_of(2));
        a.alu_ri(AluOp::Sub, OperandSize::S64, RSP, 8 * WIDE_ARGS as i32);
        for pair in 0..WIDE_ARGS as i32 / 2 {
            a.load(LoadKind::V128, XMM0, Mem::Base(RDX, 16 * pair));
            a.store(StoreKind::V128, Mem::Base(RSP, 16 * pair), XMM0);
        }
        debug_assert_eq!(WASM_ARG_GPRS, [RSI, RDX]);
        a.mov_rr(OperandSize::S64, SCRATCH, RSI);
        a.load(LoadKind::I64, RSI, Mem::Base(RSP, 0));
        a.load(LoadKind::I64, RDX, Mem::Base(RSP, 8));
        a.call_reg(SCRATCH);
        other_entry_returns_at.push(a.offset());
        if several_results {
            // Several results are in the argument area, as `entry` finds them.
            a.load(LoadKind::I64, RCX, Mem::Base(RBP, SAVED_ARGS));
            for pair in 0..WIDE_ARGS as i32 / 2 {
                a.load(LoadKind::V128, XMM0, Mem::Base(RSP, 16 * pair));
                a.store(StoreKind::V128, Mem::Base(RCX, 16 * pair), XMM0);
            }
        }
        a.mov_rr(OperandSize::S64, RDX, RAX);
        a.mov_ri(RAX, 0);
        close_entry_frame(&mut a);
    }

    // ---- trap exit: esi = trap code, r15 = any context of the trapping store; for the
    // backtrace (not read when esi is `EXCEPTION_STATUS`), rdx = a return address in the
    // trapping wasm function, rbp its frame and r15 its context. Past
    // `trap_exit_with_context`, r8 is that context instead, or 0 for the one the frame
    // keeps (what the host stub gives: its r15 is a host function's record), and r9 is 1
    // when rdx is a faulting instruction instead (what the fault handler gives, at
    // `trap_fault`) ----
    a.align(16, 0xCC);
    let trap_fault_at = a.offset();
    let trap_exit_with_kind = a.new_label();
    a.mov_ri(R9, 1);
    a.jmp(trap_exit_with_kind);
    // Compiled code's trap paths call in here instead of jumping (a call is no longer):
    // the return address is the address in the trapping function.
    let trap_call_at = a.offset();
    a.pop(RDX);
    let trap_exit_label = a.new_label();
    let trap_exit_with_context = a.new_label();
    a.bind(trap_exit_label);
    a.mov_ri(R9, 0);
    a.bind(trap_exit_with_kind);
    a.mov_rr(OperandSize::S64, R8, R15);
    a.bind(trap_exit_with_context);
    a.load(LoadKind::I64, SCRATCH, Mem::Base(R15, offsets::VMCTX_RUNTIME));
    a.store(StoreKind::I32, Mem::Base(SCRATCH, offsets::RUNTIME_TRAP_CODE), RSI);
    // The frames are left for good below: the call may use the stack under them.
    a.mov_rr(OperandSize::S64, RDI, SCRATCH);
    a.mov_rr(OperandSize::S64, RSI, RDX);
    a.mov_rr(OperandSize::S64, RDX, RBP);
    a.mov_rr(OperandSize::S64, RCX, RSP);
    a.alu_ri(AluOp::And, OperandSize::S64, RSP, -16);
    a.mov_ri(SCRATCH, crate::runtime::backtrace::capture as *const () as usize as i64);
    a.call_reg(SCRATCH);
    // r15 is callee-saved in the System V ABI.
    a.load(LoadKind::I64, SCRATCH, Mem::Base(R15, offsets::VMCTX_RUNTIME));
    a.load(LoadKind::I64, RSP, Mem::Base(SCRATCH, offsets::RUNTIME_ENTRY_RSP));
    a.lea(RBP, Mem::Base(RSP, ENTRY_FRAME));
    a.mov_ri(RAX, 1);
    a.jmp(tail);

    // ---- throw stub: rdi = exnref, [rsp] = the throw site, rbp = its frame,
    // r15 = a context of the store (wasm's, or a host function's record) ----
    a.align(16, 0xCC);
    let throw_stub_at = a.offset();
    let throw_label = a.new_label();
    let no_handler = a.new_label();
    a.bind(throw_label);
    // rsp is 8 below a 16-byte boundary here, as after any call: the area holds the
    // `Landing` record and keeps the call below aligned.
    const LANDING_AREA: i32 = ((size_of::<Landing>() + 8).next_multiple_of(16) - 8) as i32;
    a.alu_ri(AluOp::Sub, OperandSize::S64, RSP, LANDING_AREA);
    let field = |f: usize| Mem::Base(RSP, f as i32);
    let xmms_field = offset_of!(Landing, xmms) as i32;
    a.store(StoreKind::I64, field(offset_of!(Landing, rbx)), RBX);
    a.store(StoreKind::I64, field(offset_of!(Landing, r12)), R12);
    a.store(StoreKind::I64, field(offset_of!(Landing, r13)), R13);
    save_callee_saved_xmms(&mut a, RSP, xmms_field);
    a.load(LoadKind::I64, RSI, Mem::Base(RSP, LANDING_AREA));
    a.mov_rr(OperandSize::S64, RDX, RBP);
    a.mov_rr(OperandSize::S64, RCX, RSP);
    a.load(LoadKind::I64, R8, Mem::Base(R15, offsets::VMCTX_RUNTIME));
    a.mov_ri(SCRATCH, unwind as *const () as usize as i64);
    a.call_reg(SCRATCH);
    a.test_rr(OperandSize::S32, RAX, RAX);
    a.jcc(Cc::Ne, no_handler);
    a.load(LoadKind::I64, RBX, field(offset_of!(Landing, rbx)));
    a.load(LoadKind::I64, R12, field(offset_of!(Landing, r12)));
    a.load(LoadKind::I64, R13, field(offset_of!(Landing, r13)));
    restore_callee_saved_xmms(&mut a, RSP, xmms_field);
    a.load(LoadKind::I64, RBP, field(offset_of!(Landing, rbp)));
    a.load(LoadKind::I64, SCRATCH, field(offset_of!(Landing, pc)));
    a.load(LoadKind::I64, RSP, field(offset_of!(Landing, rsp)));
    a.jmp_reg(SCRATCH);
    a.bind(no_handler);
    a.mov_ri(RSI, EXCEPTION_STATUS as i64);
    a.jmp(trap_exit_label);

    // ---- host stub: r15 = VMHostContext, arguments at [rsp + 8] ----
    a.align(16, 0xCC);
    let host_stub_at = a.offset();
    let host_trapped = a.new_label();
    let host_threw = a.new_label();
    // The shim is Rust: it may clobber every xmm register, but the wasm caller expects
    // the callee-saved ones intact (also when the host function throws).
    const XMM_AREA: i32 = 8 * CALLEE_SAVED_XMMS.len().next_multiple_of(2) as i32;
    a.push(RBP);
    a.mov_rr(OperandSize::S64, RBP, RSP);
    a.alu_ri(AluOp::Sub, OperandSize::S64, RSP, XMM_AREA);
    save_callee_saved_xmms(&mut a, RSP, 0);
    a.mov_rr(OperandSize::S64, RDI, R15);
    a.lea(RSI, Mem::Base(RBP, 16));
    a.mov_ri(SCRATCH, host_shim as *const () as usize as i64);
    a.call_reg(SCRATCH);
    restore_callee_saved_xmms(&mut a, RSP, 0);
    a.test_rr(OperandSize::S32, RAX, RAX);
    a.jcc(Cc::Ne, host_trapped);
    a.load(LoadKind::I64, RAX, Mem::Base(RBP, 16));
    a.mov_rr(OperandSize::S64, RSP, RBP);
    a.pop(RBP);
    a.ret();
    a.bind(host_trapped);
    a.cmp_ri(OperandSize::S32, RAX, EXCEPTION_STATUS as i32);
    a.jcc(Cc::E, host_threw);
    a.mov_rr(OperandSize::S32, RSI, RAX);
    // The backtrace starts at the caller: its return address and frame (a wasm function
    // that calls keeps its context there; a tail call may have left an entry trampoline
    // as the caller, where the walk stops before reading anything).
    a.load(LoadKind::I64, RDX, Mem::Base(RBP, 8));
    a.load(LoadKind::I64, RBP, Mem::Base(RBP, 0));
    a.mov_ri(R8, 0);
    a.mov_ri(R9, 0);
    a.jmp(trap_exit_with_context);
    // The host function threw: leave this frame, and throw as if from the wasm call
    // site that called it (its return address is now on top of the stack).
    a.bind(host_threw);
    a.load(LoadKind::I64, SCRATCH, Mem::Base(R15, offsets::VMCTX_RUNTIME));
    a.load(LoadKind::I64, RDI, Mem::Base(SCRATCH, offsets::RUNTIME_EXCEPTION));
    a.store_imm(StoreKind::I64, Mem::Base(SCRATCH, offsets::RUNTIME_EXCEPTION), 0);
    a.mov_rr(OperandSize::S64, RSP, RBP);
    a.pop(RBP);
    a.jmp(throw_label);
    a.align(16, 0xCC);
    let memory_copy_stub_at = a.offset();
    emit_memory_copy_stub(&mut a);
    a.align(16, 0xCC);
    let gc_alloc_stub_at = a.offset();
    emit_gc_alloc_stub(&mut a, trap_exit_label);

    // ---- fiber switch: rdi = where to save this stack's rsp, rsi = the rsp to resume ----
    a.align(16, 0xCC);
    let fiber_switch_at = a.offset();
    for r in [RBP, RBX, R12, R13, R14, R15] {
        a.push(r);
    }
    a.store(StoreKind::I64, Mem::Base(RDI, 0), RSP);
    a.mov_rr(OperandSize::S64, RSP, RSI);
    for r in [R15, R14, R13, R12, RBX, RBP] {
        a.pop(r);
    }
    a.ret();

    // ---- fiber start: the first switch to a fiber returns here, with the fiber in r12
    // and rsp 16-byte aligned ----
    a.align(16, 0xCC);
    let fiber_start_at = a.offset();
    a.mov_rr(OperandSize::S64, RDI, R12);
    a.mov_ri(SCRATCH, crate::runtime::fiber::fiber_main as *const () as usize as i64);
    a.call_reg(SCRATCH);
    a.ud2();

    let code_bytes = a.finish().map_err(|e| Error::Resource(format!("assembling trampolines: {e}")))?;
    let code = CodeMemory::new(&code_bytes)?;
    let base = code.as_ptr() as usize;
    let trap_fault = base + trap_fault_at as usize;
    let trap_call = base + trap_call_at as usize;
    let mut entry_returns = [base + entry_return_at as usize; ENTRY_RETURNS];
    debug_assert_eq!(other_entry_returns_at.len(), ENTRY_RETURNS - 1);
    for (slot, at) in entry_returns[1..].iter_mut().zip(other_entry_returns_at) {
        *slot = base + at as usize;
    }
    crate::runtime::unwind::set_entry_returns(entry_returns);
    // SAFETY: `entry_at` is the start of the entry trampoline inside executable memory
    // that lives as long as the process (the OnceLock never drops it), and the code
    // follows the System V ABI of `EntryFn`.
    let entry = unsafe { std::mem::transmute::<usize, EntryFn>(base + entry_at as usize) };
    // SAFETY: as for `entry`; each small entry follows `SmallEntryFn`'s ABI, reading only
    // the first `arity` of its four arguments.
    let [entry_small, entry_small_leaf] = entry_small_at.map(|by_arity| {
        by_arity.map(|at| unsafe { std::mem::transmute::<usize, SmallEntryFn>(base + at as usize) })
    });
    // SAFETY: as for `entry`; each wide entry follows `WideEntryFn`'s ABI, reading
    // `WIDE_ARGS` slots from its third argument (and writing them back, for several
    // results).
    let entry_wide = entry_wide_at.map(|by_leaf| {
        by_leaf.map(|at| unsafe { std::mem::transmute::<usize, WideEntryFn>(base + at as usize) })
    });
    // SAFETY: as for `entry`: the switch routine follows `FiberSwitchFn`'s ABI.
    let fiber_switch =
        unsafe { std::mem::transmute::<usize, FiberSwitchFn>(base + fiber_switch_at as usize) };
    let _ = TRAMPOLINES_BUILT.set(fiber_switch);
    Ok(Trampolines {
        fiber_switch,
        fiber_start: base + fiber_start_at as usize,
        _code: code,
        entry,
        entry_small,
        entry_small_leaf,
        entry_wide,
        entry_returns,
        trap_fault,
        trap_call,
        throw_stub: base + throw_stub_at as usize,
        host_stub: base + host_stub_at as usize,
        memory_copy_stub: base + memory_copy_stub_at as usize,
        gc_alloc_stub: base + gc_alloc_stub_at as usize,
    })
}

/// The GC allocation stub, called by compiled code when the heap's bump pointer ran
/// out (`FuncCompiler::allocate_inline`), with the object's size in xmm15 and the vmctx
/// in r15: returns the address of zeroed memory for the object in r11, every other
/// register but xmm15 as it was (the call site keeps values in any of them), or traps
/// through the trap exit with what `libcalls::gc_alloc` returned instead of an address.
fn emit_gc_alloc_stub(a: &mut Assembler, trap_exit: dynasmrt::DynamicLabel) {
    const SAVED_GPRS: [Reg; 8] = [RAX, RCX, RDX, RSI, RDI, R8, R9, R10];
    const XMM_AREA: i32 = 15 * 16 + 8;
    for r in SAVED_GPRS {
        a.push(r);
    }
    // Entered 8 below a 16-byte boundary; eight pushes keep that, and the xmm area's
    // extra 8 bytes align rsp for the call.
    a.alu_ri(AluOp::Sub, OperandSize::S64, RSP, XMM_AREA);
    for i in 0..15 {
        a.store(StoreKind::V128, Mem::Base(RSP, 16 * i as i32), Reg::xmm(i));
    }
    a.mov_xmm_to_gpr(OperandSize::S64, RSI, FLOAT_SCRATCH);
    a.mov_rr(OperandSize::S64, RDI, R15);
    a.mov_ri(SCRATCH, crate::runtime::libcalls::gc_alloc as *const () as usize as i64);
    a.call_reg(SCRATCH);
    let allocated = a.new_label();
    a.cmp_ri(OperandSize::S64, RAX, crate::runtime::libcalls::FIRST_OBJECT_ADDRESS);
    a.jcc(Cc::Ae, allocated);
    a.mov_rr(OperandSize::S32, RSI, RAX);
    // The backtrace starts at the allocation site (rbp is still its frame): the return
    // address above the saved registers.
    a.load(LoadKind::I64, RDX, Mem::Base(RSP, XMM_AREA + 8 * SAVED_GPRS.len() as i32));
    a.jmp(trap_exit);
    a.bind(allocated);
    a.mov_rr(OperandSize::S64, SCRATCH, RAX);
    for i in 0..15 {
        a.load(LoadKind::V128, Reg::xmm(i), Mem::Base(RSP, 16 * i as i32));
    }
    a.alu_ri(AluOp::Add, OperandSize::S64, RSP, XMM_AREA);
    for r in SAVED_GPRS.into_iter().rev() {
        a.pop(r);
    }
    a.ret();
}

/// Copies of at most this many bytes stay in machine code.
pub const INLINE_COPY_MAX: i32 = 64;

/// The memory.copy stub, entered by a call with `libcalls::memory_copy`'s System V
/// arguments: rdi = vmctx, rsi/rdx = the memories (0 and 0), ecx = destination, r8d =
/// source, r9d = length (all zero-extended), r14 = memory 0's base. Copies of at most
/// `INLINE_COPY_MAX` bytes with both ranges in bounds happen here: every byte is loaded
/// before the first store, so overlapping ranges copy as memmove does, with two
/// possibly overlapping accesses of the largest size that fits (Rust and C programs
/// copy small structs and strings this way, where the call into Rust cost four times
/// the copy). Everything else (longer copies, and anything out of bounds, which traps
/// without writing) goes to `memory_copy`, as the `call_host` stub calls it. Returns
/// the status in eax; clobbers what a System V call may, but not xmm12-14.
fn emit_memory_copy_stub(a: &mut Assembler) {
    let (rust, done) = (a.new_label(), a.new_label());
    let (dst, src, len) = (RCX, R8, R9);
    a.cmp_ri(OperandSize::S32, len, INLINE_COPY_MAX);
    a.jcc(Cc::A, rust);
    a.load(LoadKind::I64, RAX, Mem::Base(RDI, offsets::VMCTX_MEMORIES));
    a.load(LoadKind::I64, RAX, Mem::Base(RAX, 0));
    a.load(LoadKind::I64, RAX, Mem::Base(RAX, offsets::MEMORY_LENGTH));
    // 32-bit values zero-extended: the 64-bit sums cannot wrap.
    for start in [dst, src] {
        a.lea(R10, Mem::Indexed(start, len, 0));
        a.cmp_rr(OperandSize::S64, R10, RAX);
        a.jcc(Cc::A, rust);
    }
    a.lea(RSI, Mem::Indexed(MEMORY_BASE, src, 0));
    a.lea(RDI, Mem::Indexed(MEMORY_BASE, dst, 0));
    // Sizes from 1 to 64 bytes: two accesses of `width` bytes, at the start and at the
    // end, cover `width..=2 * width`; 33 to 64 take four 16-byte ones.
    let from = |disp: i32| Mem::Indexed(RSI, len, disp);
    let to = |disp: i32| Mem::Indexed(RDI, len, disp);
    let (xmm0, xmm1, xmm2, xmm3) = (Reg::xmm(0), Reg::xmm(1), Reg::xmm(2), Reg::xmm(3));
    let (below_32, below_16, below_8, below_4) = (a.new_label(), a.new_label(), a.new_label(), a.new_label());
    a.cmp_ri(OperandSize::S32, len, 32);
    a.jcc(Cc::Be, below_32);
    a.load(LoadKind::V128, xmm0, Mem::Base(RSI, 0));
    a.load(LoadKind::V128, xmm1, Mem::Base(RSI, 16));
    a.load(LoadKind::V128, xmm2, from(-32));
    a.load(LoadKind::V128, xmm3, from(-16));
    a.store(StoreKind::V128, Mem::Base(RDI, 0), xmm0);
    a.store(StoreKind::V128, Mem::Base(RDI, 16), xmm1);
    a.store(StoreKind::V128, to(-32), xmm2);
    a.store(StoreKind::V128, to(-16), xmm3);
    a.jmp(done);
    a.bind(below_32);
    for (width, below, load, store, (first, last)) in [
        (16, below_16, LoadKind::V128, StoreKind::V128, (xmm0, xmm1)),
        (8, below_8, LoadKind::I64, StoreKind::I64, (RAX, RDX)),
        (4, below_4, LoadKind::U32, StoreKind::I32, (RAX, RDX)),
    ] {
        a.cmp_ri(OperandSize::S32, len, width);
        a.jcc(Cc::B, below);
        a.load(load, first, Mem::Base(RSI, 0));
        a.load(load, last, from(-width));
        a.store(store, Mem::Base(RDI, 0), first);
        a.store(store, to(-width), last);
        a.jmp(done);
        a.bind(below);
    }
    // 0 to 3 bytes: the first, the middle (len / 2) and the last byte.
    a.test_rr(OperandSize::S32, len, len);
    a.jcc(Cc::E, done);
    a.mov_rr(OperandSize::S32, R10, len);
    a.shift_ri(ShiftOp::ShrU, OperandSize::S32, R10, 1);
    a.load(LoadKind::U8, RAX, Mem::Base(RSI, 0));
    a.load(LoadKind::U8, RDX, Mem::Indexed(RSI, R10, 0));
    a.load(LoadKind::U8, SCRATCH, from(-1));
    a.store(StoreKind::I8, Mem::Base(RDI, 0), RAX);
    a.store(StoreKind::I8, Mem::Indexed(RDI, R10, 0), RDX);
    a.store(StoreKind::I8, to(-1), SCRATCH);
    a.bind(done);
    a.mov_ri(RAX, 0);
    a.ret();
    // As the `call_host` stub calls it.
    a.bind(rust);
    a.mov_ri(SCRATCH, crate::runtime::libcalls::memory_copy as *const () as usize as i64);
    call_scratch_keeping_xmms_and_return(a);
}

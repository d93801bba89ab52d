//! Tail calls: `return_call` and `return_call_indirect`.
//!
//! A tail call replaces the caller's frame: the arguments go into the caller's own
//! argument area (`[rbp + 16 + 8*i]`), the frame is popped, and the callee is *jumped*
//! to, so it returns straight to the caller's caller. Every caller reserves
//! max(parameters, results) slots of its callee's type, so a tail callee needing no
//! more slots than this function's own type fits in place; its results (the same as
//! this function's) too, and the area it passes on keeps the property.
//!
//! A callee needing more slots gets an area that starts lower: the return address moves
//! down into this function's dying frame (by the slots missing, rounded to keep rsp
//! 16-byte aligned), and the area grows into the space freed, ending inside the
//! reservation of the caller's caller. How far that reservation reaches is found at run
//! time from the caller's frame (`unwind::tail_call_room`), so once an area has been
//! widened, the next tail call in the chain finds the room and runs in place: the
//! stack does not sink along the chain. The callee returns to the caller with rsp that
//! much lower, which is consistent for the caller: everything it addresses after a call
//! is relative to rsp (results in the area) or to rbp (its frame). Its next call finds
//! the room too, so what it loses is bounded by the largest area along the tail chains
//! it starts, and its epilogue takes it back. Found by the fifth held-out benchmark
//! batch: `f(a, b)` tail-calling `g(a, b, c)` tail-calling `f` had taken a
//! call-then-return fallback, and a continuation-passing state machine ran out of stack.
//!
//! A callee of another instance (an import, or a `return_call_indirect`/`return_call_ref`
//! target whose context differs) must not return with its context to a caller that
//! does not reload its own after the call, as direct callers of this instance do not.
//! So the first such tail call of a chain is an ordinary call, and the frame making it
//! stays as a *bridge*: its return point starts with a marked `nop` (`BRIDGE_MARK`),
//! and after the call it reloads its context and returns the callee's results. A tail
//! call to another instance whose return address is a bridge's (the mark is read
//! there) replaces its frame like any other: the bridge restores the context. So a
//! chain of tail calls between instances uses one bridge frame, not one per call.
//!
//! One case stays an ordinary call followed by a return (correct, but the stack grows
//! with each one): callees whose results sit in the area with another slot width (v128
//! in one signature but not the other; without results, or with one in rax, the widths
//! may differ).
//! Such a call (and a bridge's) is no handler site of this frame: the spec replaces the
//! frame, so this function's `try_table` does not catch what it throws.

use super::codegen::{returns_in_rax, CResult, Callee, FuncCompiler};
use super::stack::{Loc, RegSet};
use crate::isa::x64::asm::{marked_nop_bytes, Cc, Mem};
use crate::isa::x64::regs::*;
use crate::runtime::unwind;
use crate::runtime::vmcontext::offsets;
use crate::trap::TrapCode;
use crate::types::FuncType;

use super::masm::{AluOp, LoadKind, OperandSize, ShiftOp, StoreKind};

/// What the `nop` at a bridge's return point carries (see the module documentation).
const BRIDGE_MARK: u32 = u32::from_le_bytes(*b"SWtb");

impl FuncCompiler<'_> {
    /// Pops this frame and leaves the `n` slots of arguments where a tail callee reads
    /// them, with the return address just below: in this function's own argument area
    /// if they fit (`args_in_place`: `store_args_in_place` put them there already; else
    /// they are at `[rsp]`), else in one that starts lower (see the module
    /// documentation). Clobbers the other caller-saved registers; rax survives.
    fn hand_over_frame(&mut self, n: usize, args_in_place: bool) {
        let own = self.incoming_area();
        if args_in_place {
            self.leave_frame();
            return;
        }
        if n <= own {
            self.copy_outgoing_to_incoming(n);
            self.leave_frame();
            return;
        }
        // How far the area really reaches: the caller reserved at least `own` slots, a
        // tail call before this one may have widened it, and the caller's caller decides.
        // rax (the target of an indirect tail call) is kept, in 16 bytes for alignment.
        let a = &mut self.masm.asm;
        a.push(RAX);
        a.push(RAX);
        a.load(LoadKind::I64, RDI, Mem::Base(RBP, 0));
        a.load(LoadKind::I64, RSI, Mem::Base(RBP, 8));
        a.lea(RDX, Mem::Base(RBP, 16));
        a.mov_ri(RCX, own as i64);
        self.masm.call_host(unwind::tail_call_room as *const () as usize);
        let a = &mut self.masm.asm;
        a.mov_rr(OperandSize::S64, RCX, RAX);
        a.pop(RAX);
        a.pop(RAX);
        // rdx: where the callee's area starts, lower than this function's by the slots
        // missing, rounded up to keep rsp 16-byte aligned.
        a.lea(RDX, Mem::Base(RBP, 16));
        let fits = a.new_label();
        a.cmp_ri(OperandSize::S64, RCX, n as i32);
        a.jcc(Cc::Ae, fits);
        a.mov_ri(R8, n as i64 + 1);
        a.alu_rr(AluOp::Sub, OperandSize::S64, R8, RCX);
        a.alu_ri(AluOp::And, OperandSize::S64, R8, -2);
        a.shift_ri(ShiftOp::Shl, OperandSize::S64, R8, 3);
        a.alu_rr(AluOp::Sub, OperandSize::S64, RDX, R8);
        a.bind(fits);
        // What the copy may overwrite is read first: the saved registers, the return
        // address and the caller's rbp.
        self.restore_callee_saved();
        let a = &mut self.masm.asm;
        a.load(LoadKind::I64, RSI, Mem::Base(RBP, 8));
        a.load(LoadKind::I64, RDI, Mem::Base(RBP, 0));
        // The new area lies above the outgoing one (the frame holds all `n` outgoing
        // slots, and the area moved down by at most `n - own + 1`), and may overlap it:
        // copy from the top down.
        for i in (0..n).rev() {
            a.load(LoadKind::I64, SCRATCH, Mem::Base(RSP, 8 * i as i32));
            a.store(StoreKind::I64, Mem::Base(RDX, 8 * i as i32), SCRATCH);
        }
        a.store(StoreKind::I64, Mem::Base(RDX, -8), RSI);
        a.lea(RSP, Mem::Base(RDX, -8));
        a.mov_rr(OperandSize::S64, RBP, RDI);
    }

    /// Moves `n` slots of arguments from the outgoing area to this function's own:
    /// going through the outgoing area first means no argument can overwrite a
    /// parameter another argument still reads.
    fn copy_outgoing_to_incoming(&mut self, n: usize) {
        for i in 0..n {
            let a = &mut self.masm.asm;
            a.load(LoadKind::I64, SCRATCH, Mem::Base(RSP, 8 * i as i32));
            a.store(StoreKind::I64, Mem::Base(RBP, 16 + 8 * i as i32), SCRATCH);
        }
    }

    /// Stores the arguments of a tail call to a callee of type `ty` straight into this
    /// function's own argument area, where the callee reads them, if they fit there
    /// with the same slot layout and no argument reads a parameter's home that an
    /// earlier argument has overwritten by then; true if it did. Otherwise they go to
    /// the outgoing area at `[rsp]`, as for any call, and `hand_over_frame` moves them.
    /// An argument that is the parameter of its own position is not stored at all.
    fn store_args_in_place(&mut self, ty: &FuncType) -> bool {
        let n = ty.params().len();
        let top = self.stack.len() - n;
        // The parameter whose home in the argument area an operand reads, if any.
        let reads_param = |this: &Self, k: usize| match this.stack[top + k].loc {
            Loc::Local(j) if (j as usize) < this.num_params && this.pinned(Loc::Local(j)).is_none() => {
                Some(j as usize)
            }
            _ => None,
        };
        let overwritten_before_read = (0..n)
            .any(|k| matches!(reads_param(self, k), Some(j) if j < k && reads_param(self, j) != Some(j)));
        let fits = ty.area_slots() <= self.incoming_area() && ty.slot_width() == self.slot_width();
        if !fits || overwritten_before_read {
            self.store_outgoing_args(ty, true);
            return false;
        }
        // The callee's slot `i`: parameter `i`'s home here when this function has one
        // (the layouts match), else a result slot of the area.
        let stride = 8 * ty.slot_width() as i32;
        for i in 0..n {
            let s = self.stack[top + i];
            let own_param_unchanged =
                s.loc == Loc::Local(i as u32) && i < self.num_params && self.home_is_current(i as u32);
            if !own_param_unchanged {
                self.store_loc(s.ty, s.loc, Mem::Base(RBP, 16 + stride * i as i32));
            }
        }
        for _ in 0..n {
            let s = self.pop();
            self.release(s);
        }
        true
    }

    /// An ordinary call, then a return: the fallback described above.
    fn call_then_return(&mut self, call: impl FnOnce(&mut Self)) {
        let scope = self.current_scope.take();
        call(self);
        self.current_scope = scope;
        self.emit_return();
        self.reachable = false;
    }

    /// Whether a callee of type `ty` leaves its results where this function's callers
    /// read them. Results in the area sit at `8 * slot_width * i`, and the slot width
    /// depends on the parameters too, which validation lets differ: a callee of another
    /// width would leave each result where the caller reads another one (or a
    /// parameter's stale bits, a forged reference).
    fn same_result_layout(&self, ty: &FuncType) -> bool {
        let results = ty.results();
        results.is_empty() || returns_in_rax(results) || ty.slot_width() == self.slot_width()
    }

    pub(crate) fn return_call(&mut self, callee: Callee, ty: &FuncType) -> CResult {
        self.not_leaf = true;
        let n = ty.area_slots();
        if !self.same_result_layout(ty) {
            self.call_then_return(|this| this.emit_call(callee, ty));
            return Ok(());
        }
        let in_place = self.store_args_in_place(ty);
        self.max_outgoing = self.max_outgoing.max(n);
        let index = match callee {
            Callee::Local(index) => index,
            Callee::Import(index) => {
                // Through the import's funcref, as an indirect tail call.
                let a = &mut self.masm.asm;
                a.load(LoadKind::I64, SCRATCH, Mem::Base(VMCTX, offsets::VMCTX_FUNC_REFS));
                a.load(LoadKind::I64, SCRATCH, Mem::Base(SCRATCH, 8 * index as i32));
                return self.tail_call_funcref_in_scratch(ty, None, None, in_place);
            }
        };
        if let (true, Some(body_entry)) = (index == self.func_index, self.body_entry) {
            // To itself: the frame stays, and the body starts over from its locals'
            // initialization, which reads the parameters from the area (a loop).
            if !in_place {
                self.copy_outgoing_to_incoming(n);
            }
            self.load_register_args(ty, RBP, 16);
            self.masm.asm.jmp(body_entry);
        } else {
            self.hand_over_frame(n, in_place);
            self.load_register_args(ty, RSP, 8);
            self.masm.jump_function(index);
        }
        self.reachable = false;
        Ok(())
    }

    pub(crate) fn return_call_indirect(&mut self, type_index: u32, table: u32) -> CResult {
        self.not_leaf = true;
        let env = self.env;
        let ty = &env.types[type_index as usize];
        if !self.same_result_layout(ty) {
            self.call_then_return(|this| this.call_indirect(type_index, table));
            return Ok(());
        }
        // The entry point comes from the table's array of them, one load from the index
        // as for `call_indirect`, when a register is free to hold it.
        let (idx, target, in_place) = self.begin_indirect_tail_call(ty);
        self.load_funcref_element(table, idx, target);
        self.masm.asm.test_rr(OperandSize::S64, SCRATCH, SCRATCH);
        self.masm.trap_if(Cc::E, TrapCode::IndirectCallToNull);
        self.check_signature(type_index);
        self.tail_call_funcref_in_scratch(ty, Some(idx), target, in_place)
    }

    /// `return_call_ref`: as `return_call_indirect`, with the funcref from the operand
    /// stack, a null check and no signature check.
    pub(crate) fn return_call_ref(&mut self, type_index: u32) -> CResult {
        self.not_leaf = true;
        let ty = &self.env.types[type_index as usize];
        if !self.same_result_layout(ty) {
            self.call_then_return(|this| this.call_ref(type_index));
            return Ok(());
        }
        let (funcref, target, in_place) = self.begin_indirect_tail_call(ty);
        self.masm.asm.mov_rr(OperandSize::S64, SCRATCH, funcref);
        self.masm.asm.test_rr(OperandSize::S64, SCRATCH, SCRATCH);
        self.masm.trap_if(Cc::E, TrapCode::NullFunctionReference);
        if let Some(t) = target {
            self.masm.asm.load(LoadKind::I64, t, Mem::Base(SCRATCH, offsets::FUNCREF_CODE));
        }
        self.tail_call_funcref_in_scratch(ty, Some(funcref), target, in_place)
    }

    /// The start of `return_call_indirect` and `return_call_ref` whose callee returns
    /// its results where the caller's caller reads them: the operand on top of the
    /// arguments (a table index or a funcref) in a register, the arguments stored (in
    /// place if they can be), and a register for the entry point if one is free from
    /// here (the operands below the arguments may still be live in the others).
    fn begin_indirect_tail_call(&mut self, ty: &FuncType) -> (Reg, Option<Reg>, bool) {
        let operand = self.pop();
        let r = self.in_reg(operand);
        let in_place = self.store_args_in_place(ty);
        self.max_outgoing = self.max_outgoing.max(ty.area_slots());
        let mut avoid = RegSet::default();
        avoid.insert(r);
        let target = self.take_free(false, avoid);
        (r, target, in_place)
    }

    /// The jump of an indirect tail call, once its arguments are in the outgoing area (or
    /// `in_place`): to the non-null funcref in `SCRATCH`, whose entry point is in
    /// `target` if there was a register for it. `idx` is the register the callee came
    /// from, if any, freed here.
    fn tail_call_funcref_in_scratch(
        &mut self,
        ty: &FuncType,
        idx: Option<Reg>,
        target: Option<Reg>,
        in_place: bool,
    ) -> CResult {
        let n = ty.area_slots();
        let other_instance = self.masm.asm.new_label();
        self.masm.asm.cmp_rm(OperandSize::S64, VMCTX, Mem::Base(SCRATCH, offsets::FUNCREF_VMCTX));
        self.masm.asm.jcc(Cc::Ne, other_instance);
        // Same instance: a real tail call. Nothing on the operand stack is needed any
        // more, so rax may hold the target (or the funcref) while the scratch register
        // copies.
        match target {
            Some(t) if t == RAX => {}
            Some(t) => self.masm.asm.mov_rr(OperandSize::S64, RAX, t),
            None => self.masm.asm.load(LoadKind::I64, RAX, Mem::Base(SCRATCH, offsets::FUNCREF_CODE)),
        }
        self.hand_over_frame(n, in_place);
        self.load_register_args(ty, RSP, 8);
        self.masm.asm.jmp_reg(RAX);
        // Another instance. The bridge's operand stack is needed after its call:
        // spilled first. (rax and rcx are never pinned; the caller-saved registers that
        // pinned locals may hold are dead here, as the tail call ends the function.)
        self.masm.asm.bind(other_instance);
        let scope = self.current_scope.take();
        self.spill_registers();
        // Returning to a bridge: a real tail call, with the callee's context.
        let bridge = self.masm.asm.new_label();
        let a = &mut self.masm.asm;
        a.load(LoadKind::I64, RAX, Mem::Base(RBP, 8));
        a.mov_ri(RCX, marked_nop_bytes(BRIDGE_MARK) as i64);
        a.cmp_rm(OperandSize::S64, RCX, Mem::Base(RAX, 0));
        a.jcc(Cc::Ne, bridge);
        a.mov_rr(OperandSize::S64, RAX, SCRATCH);
        self.hand_over_frame(n, in_place);
        self.load_register_args(ty, RSP, 8);
        self.load_callee_context(RAX);
        let a = &mut self.masm.asm;
        a.jmp_mem(Mem::Base(RAX, offsets::FUNCREF_CODE));
        // Otherwise this frame becomes a bridge: call with the callee's context, then
        // return.
        a.bind(bridge);
        if in_place {
            // The call reads its arguments from the outgoing area.
            for i in 0..n {
                a.load(LoadKind::I64, RAX, Mem::Base(RBP, 16 + 8 * i as i32));
                a.store(StoreKind::I64, Mem::Base(RSP, 8 * i as i32), RAX);
            }
        }
        self.load_callee_context(SCRATCH);
        self.load_register_args(ty, RSP, 0);
        self.masm.asm.call_mem(Mem::Base(SCRATCH, offsets::FUNCREF_CODE));
        // The bridging frame stays below the callee's: a backtrace shows it at the call.
        self.masm.record_return_source();
        self.masm.asm.marked_nop(BRIDGE_MARK);
        self.current_scope = scope;
        if let Some(t) = target {
            self.free_reg(t);
        }
        if let Some(idx) = idx {
            self.free_reg(idx);
        }
        self.reload_context();
        self.push_call_results(ty);
        self.emit_return();
        self.reachable = false;
        Ok(())
    }
}

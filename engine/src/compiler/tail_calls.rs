//! Tail calls: `return_call` and `return_call_indirect`.
//!
//! A tail call replaces the caller's frame: the arguments go into the caller's own
//! argument area (`[rbp + 16 + 8*i]`), the frame is popped, and the callee is *jumped*
//! to, so it returns straight to the caller's caller. That needs the area to be large
//! enough: every caller reserves max(parameters, results) slots of the callee's type,
//! so a tail callee with no more parameters than that fits, and its results (the same
//! as the caller's) too; the area it passes on then keeps that property. Reserving more
//! at every call would make all frames larger for the sake of tail calls.
//!
//! Two cases stay an ordinary call followed by a return (correct, but the stack grows
//! with each one): callees with more parameters than that, and callees of another
//! instance (imports, and `return_call_indirect` to another instance's function),
//! because a caller does not reload its context after a direct call, so a callee must
//! return with the caller's. Such a call is no handler site of this frame: the spec
//! replaces the frame, so this function's `try_table` does not catch what it throws.

use super::codegen::{returns_in_rax, CResult, Callee, FuncCompiler};
use crate::isa::x64::asm::{Cc, Mem};
use crate::isa::x64::regs::*;
use crate::runtime::vmcontext::offsets;
use crate::trap::TrapCode;
use crate::types::FuncType;

use super::masm::{LoadKind, OperandSize, StoreKind};

impl FuncCompiler<'_> {
    /// Moves the outgoing arguments (already at `[rsp + 8*i]`, `n` 8-byte slots) into
    /// this function's own argument area: going through the outgoing area first means no
    /// argument can overwrite a parameter another argument still reads.
    fn move_arguments_to_incoming_area(&mut self, n: usize) {
        for i in 0..n {
            let a = &mut self.masm.asm;
            a.load(LoadKind::I64, SCRATCH, Mem::Base(RSP, 8 * i as i32));
            a.store(StoreKind::I64, Mem::Base(RBP, 16 + 8 * i as i32), SCRATCH);
        }
    }

    /// An ordinary call, then a return: the fallback described above.
    fn call_then_return(&mut self, call: impl FnOnce(&mut Self)) {
        let scope = self.current_scope.take();
        call(self);
        self.current_scope = scope;
        self.emit_return();
        self.reachable = false;
    }

    /// Whether a callee of type `ty` can take over this function's argument area: it
    /// fits, and the results it leaves there are where this function's callers read
    /// them. Results in the area sit at `8 * slot_width * i`, and the slot width depends
    /// on the parameters too, which validation lets differ: a callee of another width
    /// would leave each result where the caller reads another one (or a parameter's
    /// stale bits, a forged reference).
    fn can_take_over_area(&self, ty: &FuncType) -> bool {
        let same_layout = returns_in_rax(ty.results()) || ty.slot_width() == self.slot_width();
        same_layout && ty.area_slots() <= self.incoming_area()
    }

    pub(crate) fn return_call(&mut self, callee: Callee, ty: &FuncType) -> CResult {
        self.not_leaf = true;
        let n = ty.area_slots();
        let Callee::Local(index) = callee else {
            self.call_then_return(|this| this.emit_call(callee, ty));
            return Ok(());
        };
        if !self.can_take_over_area(ty) {
            self.call_then_return(|this| this.emit_call(callee, ty));
            return Ok(());
        }
        self.store_outgoing_args(ty);
        self.max_outgoing = self.max_outgoing.max(n);
        self.move_arguments_to_incoming_area(n);
        self.leave_frame();
        self.masm.jump_function(index);
        self.reachable = false;
        Ok(())
    }

    pub(crate) fn return_call_indirect(&mut self, type_index: u32, table: u32) -> CResult {
        self.not_leaf = true;
        let env = self.env;
        let ty = &env.types[type_index as usize];
        let type_id = env.type_ids[type_index as usize];
        let n = ty.area_slots();
        if !self.can_take_over_area(ty) {
            self.call_then_return(|this| this.call_indirect(type_index, table));
            return Ok(());
        }
        let index = self.pop();
        let idx = self.in_reg(index);
        self.store_outgoing_args(ty);
        self.max_outgoing = self.max_outgoing.max(n);
        let element = self.table_element(table, idx, TrapCode::UndefinedElement);
        let a = &mut self.masm.asm;
        a.load(LoadKind::I64, SCRATCH, element);
        a.test_rr(OperandSize::S64, SCRATCH, SCRATCH);
        self.masm.trap_if(Cc::E, TrapCode::IndirectCallToNull);
        self.masm.asm.cmp_mi(OperandSize::S32, Mem::Base(SCRATCH, offsets::FUNCREF_TYPE_ID), type_id as i32);
        self.masm.trap_if(Cc::Ne, TrapCode::BadSignature);
        let other_instance = self.masm.asm.new_label();
        self.masm.asm.cmp_rm(OperandSize::S64, VMCTX, Mem::Base(SCRATCH, offsets::FUNCREF_VMCTX));
        self.masm.asm.jcc(Cc::Ne, other_instance);
        // Same instance: a real tail call. Nothing on the operand stack is needed any
        // more, so rax may hold the funcref while the scratch register copies.
        self.masm.asm.mov_rr(OperandSize::S64, RAX, SCRATCH);
        self.move_arguments_to_incoming_area(n);
        self.leave_frame();
        self.masm.asm.jmp_mem(Mem::Base(RAX, offsets::FUNCREF_CODE));
        // Another instance: call with its context, then return.
        self.masm.asm.bind(other_instance);
        let scope = self.current_scope.take();
        self.spill_registers();
        let a = &mut self.masm.asm;
        a.load(LoadKind::I64, VMCTX, Mem::Base(SCRATCH, offsets::FUNCREF_VMCTX));
        a.load(LoadKind::I64, MEMORY_BASE, Mem::Base(VMCTX, offsets::VMCTX_MEMORY0_BASE));
        a.call_mem(Mem::Base(SCRATCH, offsets::FUNCREF_CODE));
        self.current_scope = scope;
        self.free_reg(idx);
        self.reload_context();
        self.push_call_results(ty);
        self.emit_return();
        self.reachable = false;
        Ok(())
    }
}

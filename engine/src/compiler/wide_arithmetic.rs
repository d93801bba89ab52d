//! The wide-arithmetic proposal: 128-bit addition and subtraction of i64 pairs (low
//! half first), and 64 by 64 to 128-bit multiplication, each leaving the low and the
//! high half on the stack. `add`/`adc` and `sub`/`sbb` on registers; one-operand
//! `mul`/`imul`, which write rdx:rax.

use super::codegen::{CResult, FuncCompiler};
use super::masm::{AluOp, OperandSize};
use super::stack::RegSet;
use crate::isa::x64::regs::*;
use crate::types::ValType;

impl FuncCompiler<'_> {
    /// `i64.add128` (`subtract`: `i64.sub128`): (a_lo a_hi b_lo b_hi) to (lo hi).
    pub(crate) fn add_sub_128(&mut self, subtract: bool) -> CResult {
        let b_hi = self.pop();
        let b_lo = self.pop();
        let a_hi = self.pop();
        let a_lo = self.pop();
        let lo = self.in_reg(a_lo);
        let hi = self.in_reg_except(a_hi, RegSet::from_regs(&[lo]));
        let low_operand = self.in_reg_except(b_lo, RegSet::from_regs(&[lo, hi]));
        let high_operand = self.in_reg_except(b_hi, RegSet::from_regs(&[lo, hi, low_operand]));
        let op = if subtract { AluOp::Sub } else { AluOp::Add };
        self.masm.asm.alu_rr(op, OperandSize::S64, lo, low_operand);
        self.masm.asm.carry_rr(subtract, OperandSize::S64, hi, high_operand);
        self.free_reg(low_operand);
        self.free_reg(high_operand);
        self.push_reg(ValType::I64, lo);
        self.push_reg(ValType::I64, hi);
        Ok(())
    }

    /// `i64.mul_wide_s` (`signed`) and `i64.mul_wide_u`: (a b) to (lo hi).
    pub(crate) fn mul_wide(&mut self, signed: bool) -> CResult {
        let fixed = RegSet::from_regs(&[RAX, RDX]);
        self.evict_except(RAX, fixed);
        self.evict_except(RDX, fixed);
        let b = self.pop();
        let a = self.pop();
        let multiplier = self.in_reg_except(b, fixed);
        self.load_into(a, RAX);
        self.take_reg(RAX);
        self.take_reg(RDX);
        if signed {
            self.masm.asm.imul_wide_i64(multiplier);
        } else {
            self.masm.asm.mul_wide_u64(multiplier);
        }
        self.free_reg(multiplier);
        self.push_reg(ValType::I64, RAX);
        self.push_reg(ValType::I64, RDX);
        Ok(())
    }
}

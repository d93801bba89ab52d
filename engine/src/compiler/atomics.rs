//! The threads proposal's instructions in the compiler: atomic loads, stores and
//! read-modify-writes, `atomic.fence`, and `memory.atomic.wait`/`notify`.
//!
//! An atomic access computes its native address into a register: bounds-checked as a
//! plain access is (guard pages, or an explicit check), then checked for alignment
//! (`Masm::check_atomic_alignment`, which keeps the spec's order of the two traps).
//! On x86-64 a plain load is an atomic load; stores are `xchg`; add, sub and xchg are
//! one locked instruction; and, or and xor are a `lock cmpxchg` loop on rax, as is
//! cmpxchg itself. A narrow cmpxchg compares the low bytes of the expected value, as
//! the instruction does (the expected operand wrapped to the access's width).
//! `wait` and `notify` call runtime helpers (`libcalls::memory_atomic_wait`).

use super::codegen::{CResult, FuncCompiler};
use super::masm::{AluOp, LoadKind, OperandSize};
use super::stack::{RegSet, Slot};
use crate::isa::x64::asm::{AtomicRmwInsn, Cc, Mem};
use crate::isa::x64::regs::*;
use crate::runtime::libcalls;
use crate::types::ValType;
use wasmparser::MemArg;

/// What an atomic read-modify-write stores, from the old value and the operand.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum RmwOp {
    Add,
    Sub,
    And,
    Or,
    Xor,
    Xchg,
}

/// The zero-extending load of `bytes`.
fn load_of(bytes: u8) -> LoadKind {
    match bytes {
        1 => LoadKind::U8,
        2 => LoadKind::U16,
        4 => LoadKind::U32,
        _ => LoadKind::I64,
    }
}

impl FuncCompiler<'_> {
    /// The native address of an atomic access of `bytes` at `addr` plus the offset,
    /// bounds-checked and aligned (or trapped), in a register the caller frees.
    /// `avoid`: registers the caller still needs.
    fn atomic_address(&mut self, addr: Slot, memarg: &MemArg, bytes: u8, avoid: RegSet) -> CResult<Reg> {
        let memory = self.memory_of(memarg)?;
        let (mem, addr_reg) = self.memory_operand_except(addr, memory, memarg.offset, bytes.into(), avoid);
        let address = match addr_reg {
            Some(r) => r,
            None => self.alloc_except(false, avoid),
        };
        self.masm.asm.lea(address, mem);
        self.masm.check_atomic_alignment(address, bytes);
        Ok(address)
    }

    pub(crate) fn atomic_load(&mut self, ty: ValType, bytes: u8, memarg: MemArg) -> CResult {
        let addr = self.pop();
        let address = self.atomic_address(addr, &memarg, bytes, RegSet::default())?;
        self.masm.wasm_load(load_of(bytes), address, Mem::Base(address, 0));
        self.push_reg(ty, address);
        Ok(())
    }

    pub(crate) fn atomic_store(&mut self, bytes: u8, memarg: MemArg) -> CResult {
        let value = self.pop();
        let addr = self.pop();
        // `xchg` writes the old value into the register: a copy of the operand's.
        let v = self.in_reg(value);
        let address = self.atomic_address(addr, &memarg, bytes, RegSet::from_regs(&[v]))?;
        self.masm.wasm_atomic_rmw(AtomicRmwInsn::Xchg, bytes, Mem::Base(address, 0), v);
        self.free_reg(v);
        self.free_reg(address);
        Ok(())
    }

    pub(crate) fn atomic_rmw(&mut self, ty: ValType, op: RmwOp, bytes: u8, memarg: MemArg) -> CResult {
        let alu = match op {
            RmwOp::And => AluOp::And,
            RmwOp::Or => AluOp::Or,
            RmwOp::Xor => AluOp::Xor,
            RmwOp::Add | RmwOp::Sub | RmwOp::Xchg => {
                let value = self.pop();
                let addr = self.pop();
                let v = self.in_reg(value);
                let address = self.atomic_address(addr, &memarg, bytes, RegSet::from_regs(&[v]))?;
                if op == RmwOp::Sub {
                    self.masm.asm.neg(OperandSize::S64, v);
                }
                let insn = if op == RmwOp::Xchg { AtomicRmwInsn::Xchg } else { AtomicRmwInsn::Xadd };
                self.masm.wasm_atomic_rmw(insn, bytes, Mem::Base(address, 0), v);
                // The old value, in the access's low bytes of `v`.
                self.masm.zero_extend(bytes, v);
                self.free_reg(address);
                self.push_reg(ty, v);
                return Ok(());
            }
        };
        // A loop: the old value in rax, the new one computed beside it, exchanged
        // unless another agent changed the memory meanwhile (rax then reloaded).
        self.evict(RAX);
        let value = self.pop();
        let addr = self.pop();
        let v = self.in_reg_except(value, RegSet::from_regs(&[RAX]));
        let address = self.atomic_address(addr, &memarg, bytes, RegSet::from_regs(&[RAX, v]))?;
        self.take_reg(RAX);
        let new = self.alloc_except(false, RegSet::from_regs(&[RAX, v, address]));
        let at = Mem::Base(address, 0);
        self.masm.wasm_load(load_of(bytes), RAX, at);
        let retry = self.masm.asm.new_label();
        self.masm.asm.bind(retry);
        self.masm.asm.mov_rr(OperandSize::S64, new, RAX);
        self.masm.asm.alu_rr(alu, OperandSize::S64, new, v);
        self.masm.wasm_atomic_rmw(AtomicRmwInsn::Cmpxchg, bytes, at, new);
        self.masm.asm.jcc(Cc::Ne, retry);
        for r in [new, v, address] {
            self.free_reg(r);
        }
        self.push_reg(ty, RAX);
        Ok(())
    }

    pub(crate) fn atomic_cmpxchg(&mut self, ty: ValType, bytes: u8, memarg: MemArg) -> CResult {
        self.evict(RAX);
        let replacement = self.pop();
        let expected = self.pop();
        let addr = self.pop();
        let r = self.in_reg_except(replacement, RegSet::from_regs(&[RAX]));
        let mut avoid = RegSet::from_regs(&[RAX, r]);
        if let Some(e) = expected.reg() {
            avoid.insert(e);
        }
        let address = self.atomic_address(addr, &memarg, bytes, avoid)?;
        // Loaded last: computing the address may borrow rax.
        self.load_into(expected, RAX);
        self.take_reg(RAX);
        self.masm.wasm_atomic_rmw(AtomicRmwInsn::Cmpxchg, bytes, Mem::Base(address, 0), r);
        // rax holds the old value's low bytes, above them the expected value's after an
        // exchange: the result is the old value, zero-extended.
        self.masm.zero_extend(bytes, RAX);
        self.free_reg(r);
        self.free_reg(address);
        self.push_reg(ty, RAX);
        Ok(())
    }

    /// `memory.atomic.wait32`/`wait64` (`bytes` 4 or 8) and `memory.atomic.notify`
    /// (`bytes` 0): a helper that returns its result biased by
    /// `libcalls::ATOMIC_RESULT_BIAS`, or a trap code below it.
    pub(crate) fn atomic_wait_or_notify(&mut self, bytes: u8, memarg: MemArg) -> CResult {
        let memory = self.memory_of(&memarg)?;
        let (helper, operands) = match bytes {
            4 => (libcalls::memory_atomic_wait32 as *const () as usize, 3),
            8 => (libcalls::memory_atomic_wait64 as *const () as usize, 3),
            _ => (libcalls::memory_atomic_notify as *const () as usize, 2),
        };
        let result = self.helper(helper, &[memory as i64, memarg.offset as i64], operands, false);
        self.masm.trap_if_result_is_code(libcalls::ATOMIC_RESULT_BIAS as i32, self.env.trap_call);
        self.masm.asm.alu_ri(AluOp::Sub, OperandSize::S64, result, libcalls::ATOMIC_RESULT_BIAS as i32);
        self.push_reg(ValType::I32, result);
        Ok(())
    }
}

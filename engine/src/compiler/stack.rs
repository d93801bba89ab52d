//! The abstract operand stack and register bookkeeping.
//!
//! Every wasm operand-stack entry is a `Slot`: a constant (folded into immediates when
//! used), a register, a latent read of a local (`local.get` emits nothing until the
//! value is used), or a spill slot in the frame. Entry `d` always spills to frame slot
//! `d`, so a value is stored at most once.

use crate::isa::x64::regs::Reg;
use crate::types::ValType;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loc {
    /// Raw bits: i32 values zero-extended, floats as their bit patterns.
    Const(i64),
    Reg(Reg),
    /// The current value of a local, not yet read.
    Local(u32),
    /// Stored in the frame slot of stack depth `.0`.
    Stack(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub ty: ValType,
    pub loc: Loc,
}

impl Slot {
    pub fn new(ty: ValType, loc: Loc) -> Slot {
        Slot { ty, loc }
    }

    pub fn reg(self) -> Option<Reg> {
        match self.loc {
            Loc::Reg(r) => Some(r),
            _ => None,
        }
    }

    pub fn constant(self) -> Option<i64> {
        match self.loc {
            Loc::Const(c) => Some(c),
            _ => None,
        }
    }
}

/// A set of registers as a bitmask over `Reg::index()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegSet(u32);

impl RegSet {
    pub fn from_regs(regs: &[Reg]) -> RegSet {
        RegSet(regs.iter().fold(0, |m, r| m | 1 << r.index()))
    }
    pub fn contains(self, r: Reg) -> bool {
        self.0 & (1 << r.index()) != 0
    }
    pub fn insert(&mut self, r: Reg) {
        self.0 |= 1 << r.index();
    }
    pub fn remove(&mut self, r: Reg) {
        self.0 &= !(1 << r.index());
    }
}

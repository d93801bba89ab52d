//! Which locals live in registers for a whole function.
//!
//! A quick scan of the body before compiling it weighs every local by its reads and
//! writes, multiplied by 8 per enclosing loop, and gives the heaviest ones a register
//! of their own. A pinned local never moves: every path through the function sees it in
//! the same register, so merges and loop back edges need no moves for it.
//!
//! Registers come in two kinds. rbx, r12 and r13 are callee-saved in our wasm calling
//! convention (a function that pins them saves them in its prologue), so calls leave
//! them alone. The others are caller-saved: around a call, a pinned local that the
//! function ever writes is stored to its frame home first, and every such register is
//! reloaded after it. Those therefore go only to locals that outweigh the calls.

use crate::isa::x64::regs::*;
use crate::types::ValType;
use wasmparser::Operator;

/// Callee-saved pinning registers, in the order they are handed out.
pub const CALLEE_SAVED_PINS: [Reg; 3] = [RBX, R12, R13];
/// Caller-saved GPRs that may be pinned. The value stack keeps at least rax, rcx, rdx
/// (fixed operands of division and shifts) and rsi, enough for any one operator.
const CALLER_SAVED_GPR_PINS: [Reg; 4] = [R10, R9, R8, RDI];
/// xmm8-14 may be pinned; the value stack keeps xmm0-7.
const XMM_PINS: [Reg; 7] =
    [Reg::xmm(14), Reg::xmm(13), Reg::xmm(12), Reg::xmm(11), Reg::xmm(10), Reg::xmm(9), Reg::xmm(8)];

/// Below this weight a local stays in memory: it is read or written less than about
/// once per loop iteration, so a register would not pay for its loads at entry.
const MIN_WEIGHT: u32 = 8;

#[derive(Debug, Default)]
pub struct PinnedLocals {
    /// The register of each local, if it has one.
    pub regs: Vec<Option<Reg>>,
    /// Whether the body ever writes the local (otherwise its frame home stays valid).
    pub written: Vec<bool>,
    /// The callee-saved registers used, which the prologue saves.
    pub callee_saved: Vec<Reg>,
    /// The pinned locals whose register a call clobbers: (local, register).
    pub caller_saved: Vec<(u32, Reg)>,
    /// Every pinned local: (local, register), at most one per pinning register.
    pub all: Vec<(u32, Reg)>,
}

impl PinnedLocals {
    pub fn reg(&self, index: u32) -> Option<Reg> {
        self.regs.get(index as usize).copied().flatten()
    }
}

fn weight_at(loop_depth: u32) -> u32 {
    1 << (3 * loop_depth.min(8))
}

/// Use counts gathered while the body is decoded and validated, before compiling.
pub struct UseScan {
    weights: Vec<u32>,
    written: Vec<bool>,
    call_weight: u32,
    /// For each open block: whether it is a loop.
    blocks: Vec<bool>,
    loop_depth: u32,
    /// How many legacy `try` blocks the body has: each gets a frame slot for the
    /// exception its catch clauses can `rethrow`.
    pub legacy_tries: u32,
}

impl UseScan {
    pub fn new(num_locals: usize) -> UseScan {
        UseScan {
            weights: vec![0; num_locals],
            written: vec![false; num_locals],
            call_weight: 0,
            blocks: Vec::new(),
            loop_depth: 0,
            legacy_tries: 0,
        }
    }

    #[inline(always)]
    pub fn observe(&mut self, op: &Operator<'_>) {
        match *op {
            Operator::LocalGet { local_index } => self.count(local_index, false),
            Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => {
                self.count(local_index, true)
            }
            Operator::Loop { .. } => {
                self.blocks.push(true);
                self.loop_depth += 1;
            }
            Operator::Block { .. } | Operator::If { .. } | Operator::TryTable { .. } => {
                self.blocks.push(false)
            }
            Operator::Try { .. } => {
                self.blocks.push(false);
                self.legacy_tries += 1;
            }
            Operator::End | Operator::Delegate { .. } => {
                self.loop_depth -= u32::from(self.blocks.pop() == Some(true))
            }
            Operator::Call { .. } | Operator::CallIndirect { .. } => {
                self.call_weight = self.call_weight.saturating_add(weight_at(self.loop_depth));
            }
            _ => {}
        }
    }

    fn count(&mut self, index: u32, write: bool) {
        if let Some(w) = self.weights.get_mut(index as usize) {
            *w = w.saturating_add(weight_at(self.loop_depth));
            self.written[index as usize] |= write;
        }
    }

    /// Hands out registers, heaviest locals first.
    pub fn choose(self, locals: &[ValType]) -> PinnedLocals {
        let UseScan { weights, written, call_weight, .. } = self;
        let mut order: Vec<usize> = (0..locals.len()).filter(|&i| weights[i] >= MIN_WEIGHT).collect();
        order.sort_by(|&a, &b| weights[b].cmp(&weights[a]).then(a.cmp(&b)));
        let mut regs = vec![None; locals.len()];
        let mut callee_saved = Vec::new();
        let (mut next_gpr, mut next_xmm) = (0, 0);
        let max_gprs = CALLEE_SAVED_PINS.len() + CALLER_SAVED_GPR_PINS.len();
        for i in order {
            let pays_across_calls = weights[i] > call_weight;
            regs[i] = match locals[i] {
                ValType::I32 | ValType::I64 if next_gpr < CALLEE_SAVED_PINS.len() => {
                    let r = CALLEE_SAVED_PINS[next_gpr];
                    callee_saved.push(r);
                    next_gpr += 1;
                    Some(r)
                }
                ValType::I32 | ValType::I64 if pays_across_calls && next_gpr < max_gprs => {
                    next_gpr += 1;
                    Some(CALLER_SAVED_GPR_PINS[next_gpr - 1 - CALLEE_SAVED_PINS.len()])
                }
                ValType::F32 | ValType::F64 if pays_across_calls && next_xmm < XMM_PINS.len() => {
                    next_xmm += 1;
                    Some(XMM_PINS[next_xmm - 1])
                }
                _ => None,
            };
        }
        let caller_saved = regs
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.filter(|r| !CALLEE_SAVED_PINS.contains(r)).map(|r| (i as u32, r)))
            .collect();
        let all = regs.iter().enumerate().filter_map(|(i, r)| r.map(|r| (i as u32, r))).collect();
        PinnedLocals { regs, written, callee_saved, caller_saved, all }
    }
}

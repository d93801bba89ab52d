//! Which locals live in registers for a whole function.
//!
//! A quick scan of the body before compiling it weighs every local by its reads and
//! writes, multiplied by 8 per enclosing loop, and gives the heaviest ones a register
//! of their own (in a function with loops, those used about once per iteration or more;
//! in one without, those used at least twice). A pinned local never moves: every path through the function sees it in
//! the same register, so merges and loop back edges need no moves for it.
//!
//! Registers come in two kinds. rbx, r12, r13 and xmm12-14 are callee-saved in our wasm
//! calling convention (a function that pins them saves them in its prologue), so calls
//! leave them alone. The others are caller-saved: around a call, a pinned local that the
//! function ever writes (or a register parameter whose home the prologue left unwritten,
//! `param_homes_unwritten` in codegen.rs) is stored to its frame home first, and every
//! such register is reloaded after it. Those therefore go only to locals that outweigh the calls. A
//! function without calls hands out its caller-saved xmm registers first, which then
//! cost nothing, where a callee-saved one costs a save and a restore per call of it; so
//! does one without calls or loops with its GPRs (in a loop, the value stack needs the
//! caller-saved GPRs more).

use crate::isa::x64::regs::*;
use crate::types::ValType;
use wasmparser::{Catch, Operator};

/// Callee-saved GPR pinning registers, in the order they are handed out.
pub const CALLEE_SAVED_PINS: [Reg; 3] = [RBX, R12, R13];
/// Caller-saved GPRs that may be pinned. The value stack keeps at least rax, rcx, rdx
/// (fixed operands of division and shifts) and rsi, enough for any one operator.
const CALLER_SAVED_GPR_PINS: [Reg; 4] = [R10, R9, R8, RDI];
/// Caller-saved xmm11 down to xmm5 may be pinned, in this order (besides the callee-saved
/// `CALLEE_SAVED_XMMS`). Scalar float operations hold at most four xmm registers at once,
/// so the value stack keeps xmm0-4 in functions without SIMD operators; SIMD lowerings
/// want more temporaries, so the stack keeps xmm0-7 in functions with them
/// (`XMM_PINS_WITH_SIMD`).
const XMM_PINS: [Reg; 7] =
    [Reg::xmm(11), Reg::xmm(10), Reg::xmm(9), Reg::xmm(8), Reg::xmm(7), Reg::xmm(6), Reg::xmm(5)];
const XMM_PINS_WITH_SIMD: usize = 4;

/// Below this weight a local stays in memory: it is read or written less than about
/// once per loop iteration, so a register would not pay for its loads at entry.
const MIN_WEIGHT: u32 = 8;
/// In a function without loops, a local used twice already gains from a register: its
/// writes skip the frame and its reads the loads (the value stack's cache of a written
/// local is lost at the first register pressure). primes128's 128-bit arithmetic
/// helpers -10 %, vtable's and bintree's small recursive methods -8 %, tailvm -10 %.
const MIN_WEIGHT_STRAIGHT_LINE: u32 = 2;
/// In a leaf without loops, which takes caller-saved registers first (free to it), a
/// callee-saved one costs a save and a restore: worth it for a local used this often.
const MIN_WEIGHT_CALLEE_SAVED_IN_LEAF: u32 = 3;

#[derive(Debug, Default)]
pub struct PinnedLocals {
    /// The register of each local, if it has one.
    pub regs: Vec<Option<Reg>>,
    /// Whether the body ever writes the local (otherwise its frame home stays valid).
    pub written: Vec<bool>,
    /// Whether the local is set before anything can read it: its first access is a
    /// `local.set`/`local.tee` that every path passes before reaching any later access
    /// (see `UseScan::horizon`). Its zero start is not needed.
    pub set_before_read: Vec<bool>,
    /// Whether the local is a v128 that is always zero: not a parameter, and every write
    /// to it stores a `v128.const 0` (clang keeps the zero vector its zero-extending
    /// shuffles need in such a local).
    pub zero_v128: Vec<bool>,
    /// The callee-saved registers used, which the prologue saves: the GPRs, then the xmm
    /// registers, each in hand-out order (`HandlerTable` records how many of each).
    pub callee_saved: Vec<Reg>,
    /// The pinned locals whose register a call clobbers: (local, register).
    pub caller_saved: Vec<(u32, Reg)>,
    /// Every pinned local: (local, register), at most one per pinning register.
    pub all: Vec<(u32, Reg)>,
    /// Whether the body calls no wasm function (helpers it may still call).
    pub calls_no_wasm: bool,
    /// Whether the body has exception handlers (`try`, `try_table`), whose landing pads
    /// reload every pinned parameter from its home.
    pub has_handlers: bool,
}

/// Whether calls to wasm functions leave `r` alone (see the module doc).
pub fn is_callee_saved(r: Reg) -> bool {
    CALLEE_SAVED_PINS.contains(&r) || CALLEE_SAVED_XMMS.contains(&r)
}

impl PinnedLocals {
    pub fn reg(&self, index: u32) -> Option<Reg> {
        self.regs.get(index as usize).copied().flatten()
    }
}

/// An open block as the use scan sees it.
#[derive(Clone, Copy)]
struct Frame {
    is_loop: bool,
    /// Tells this block (or arm of an `if` or `try`) apart from later ones at the same
    /// depth.
    serial: u32,
}

fn weight_at(loop_depth: u32) -> u32 {
    1 << (3 * loop_depth.min(8))
}

/// Use counts gathered while the body is decoded and validated, before compiling. One
/// scan serves every function a thread compiles (`reset` between them), and fills a
/// `PinnedLocals` that is reused too: small functions are the common case, and fresh
/// vectors for each cost more than scanning them.
#[derive(Default)]
pub struct UseScan {
    weights: Vec<u32>,
    written: Vec<bool>,
    set_before_read: Vec<bool>,
    /// For a local still `set_before_read`: the frame its first write dominates the rest
    /// of (its index in `blocks` and serial), or `None` for the rest of the function.
    horizons: Vec<Option<(u32, u32)>>,
    /// Whether some write to the local stores anything but `v128.const 0`.
    written_nonzero: Vec<bool>,
    call_weight: u32,
    /// The open blocks, outermost first.
    blocks: Vec<Frame>,
    /// Which open blocks code so far can leave for the end (or next arm) of: bit `i % 64`
    /// of word `i / 64` for `blocks[i]`, set by the branch (or block start) that can, and
    /// cleared when the block closes, so no bit above the innermost open block is set.
    /// Every skip is kept until its block closes: a set of them, not just the innermost,
    /// since when that one closes the next one out is the innermost again.
    skipped: Vec<u64>,
    /// The serial the next block (or `else`, `catch` arm) gets.
    next_serial: u32,
    loop_depth: u32,
    /// Whether the body has a loop (pinning thresholds differ without one).
    has_loop: bool,
    /// How many legacy `try` blocks the body has: each gets a frame slot for the
    /// exception its catch clauses can `rethrow`.
    pub legacy_tries: u32,
    /// Whether the body has a `try` or `try_table` (`PinnedLocals::has_handlers`).
    has_handlers: bool,
    /// Whether the body has a SIMD operator (so v128 values can appear on its stack).
    pub simd: bool,
    /// Set if wasmparser ever had no SIMD validator (it always has one): the function is
    /// then refused rather than compiled unvalidated.
    pub simd_unvalidated: bool,
    /// Whether an operator the first pass buffered owns heap memory (`try_table`'s catch
    /// list, a multi-value `select`'s types): only then must clearing the buffer run
    /// the operators' destructors.
    pub operators_own_memory: bool,
    /// The heavy locals, heaviest first (kept for its allocation).
    order: Vec<u32>,
}

impl UseScan {
    /// Starts the scan of a function with `num_locals` locals.
    pub fn reset(&mut self, num_locals: usize) {
        self.weights.clear();
        self.weights.resize(num_locals, 0);
        self.written.clear();
        self.written.resize(num_locals, false);
        self.set_before_read.clear();
        self.set_before_read.resize(num_locals, false);
        self.horizons.clear();
        self.horizons.resize(num_locals, None);
        self.written_nonzero.clear();
        self.written_nonzero.resize(num_locals, false);
        self.call_weight = 0;
        self.blocks.clear();
        self.skipped.clear();
        self.loop_depth = 0;
        self.has_loop = false;
        self.legacy_tries = 0;
        self.has_handlers = false;
        self.simd = false;
        self.simd_unvalidated = false;
        self.operators_own_memory = false;
    }

    /// Weighs `op`, which follows `previous` in the body.
    #[inline(always)]
    pub fn observe(&mut self, op: &Operator<'_>, previous: Option<&Operator<'_>>) {
        match *op {
            Operator::LocalGet { local_index } => self.count(local_index, false),
            Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => {
                self.count(local_index, true);
                // The value written is the one the previous operator pushed.
                let zero = matches!(previous, Some(Operator::V128Const { value }) if value.i128() == 0);
                if let Some(nonzero) = self.written_nonzero.get_mut(local_index as usize) {
                    *nonzero |= !zero;
                }
            }
            Operator::Loop { .. } => {
                self.push(true);
                self.loop_depth += 1;
                self.has_loop = true;
            }
            Operator::Block { .. } => self.push(false),
            // Paths skip part of an `if` (to its `else` or end) or of a `try` (to a
            // catch clause) from its start on.
            Operator::If { .. } => {
                self.push(false);
                self.skip_to_top();
            }
            Operator::Try { .. } => {
                self.push(false);
                self.skip_to_top();
                self.legacy_tries += 1;
                self.has_handlers = true;
            }
            Operator::TryTable { ref try_table } => {
                self.push(false);
                self.skip_to_top();
                self.has_handlers = true;
                for catch in &try_table.catches {
                    let (Catch::One { label, .. }
                    | Catch::OneRef { label, .. }
                    | Catch::All { label }
                    | Catch::AllRef { label }) = *catch;
                    // Relative to the `try_table` itself, which is now on top.
                    self.branch(label + 1);
                }
            }
            // A new arm: what its `if` or `try` arm wrote before, it may not have.
            Operator::Else | Operator::Catch { .. } | Operator::CatchAll => {
                if let Some(top) = self.blocks.last_mut() {
                    top.serial = self.next_serial;
                    self.next_serial = self.next_serial.wrapping_add(1);
                }
            }
            Operator::End | Operator::Delegate { .. } => self.pop(),
            // A branch the scan missed would let a local skip its zero start.
            Operator::Br { relative_depth }
            | Operator::BrIf { relative_depth }
            | Operator::BrOnNull { relative_depth }
            | Operator::BrOnNonNull { relative_depth }
            | Operator::BrOnCast { relative_depth, .. }
            | Operator::BrOnCastFail { relative_depth, .. } => self.branch(relative_depth),
            Operator::BrTable { ref targets } => {
                self.branch(targets.default());
                for target in targets.targets().flatten() {
                    self.branch(target);
                }
            }
            Operator::Call { .. } | Operator::CallIndirect { .. } | Operator::CallRef { .. } => {
                self.call_weight = self.call_weight.saturating_add(weight_at(self.loop_depth));
            }
            _ => {}
        }
    }

    fn push(&mut self, is_loop: bool) {
        self.blocks.push(Frame { is_loop, serial: self.next_serial });
        self.next_serial = self.next_serial.wrapping_add(1);
        if self.skipped.len() * 64 < self.blocks.len() {
            self.skipped.push(0);
        }
    }

    fn pop(&mut self) {
        let Some(frame) = self.blocks.pop() else { return };
        self.loop_depth -= u32::from(frame.is_loop);
        let index = self.blocks.len();
        self.skipped[index / 64] &= !(1 << (index % 64));
    }

    /// The innermost open block that code so far can leave for its end (or next arm).
    /// Looks at one word of `skipped` per 64 open blocks at most, and only where a
    /// local is first accessed.
    fn innermost_skipped(&self) -> Option<u32> {
        let words = self.blocks.len().div_ceil(64);
        self.skipped[..words]
            .iter()
            .enumerate()
            .rev()
            .find(|&(_, &word)| word != 0)
            .map(|(w, &word)| (w * 64 + 63 - word.leading_zeros() as usize) as u32)
    }

    /// A branch to the block `relative_depth` out: paths from here skip everything up to
    /// its end (a loop's start comes before anything in it, so a loop is not skipped).
    fn branch(&mut self, relative_depth: u32) {
        let Some(index) = self.blocks.len().checked_sub(1 + relative_depth as usize) else {
            return; // the function's own block: a return
        };
        if !self.blocks[index].is_loop {
            self.skip(index as u32);
        }
    }

    fn skip_to_top(&mut self) {
        self.skip(self.blocks.len() as u32 - 1);
    }

    fn skip(&mut self, index: u32) {
        let i = index as usize;
        self.skipped[i / 64] |= 1 << (i % 64);
    }

    /// How far a write here dominates: a path to code after it passes it unless the path
    /// left earlier for the end of an open block (or an `else` or catch clause of one),
    /// by a branch or an exception, and the innermost such block's end comes first, so
    /// the write dominates everything up to there (the rest of the function if there
    /// is none). Branches to blocks that closed before the write land before it, and
    /// branches back to a loop come to the write again or leave by one of those.
    fn horizon(&self) -> Option<(u32, u32)> {
        self.innermost_skipped().map(|d| (d, self.blocks[d as usize].serial))
    }

    /// Whether the frame of `horizon` is still open, in the same arm.
    fn within(&self, horizon: Option<(u32, u32)>) -> bool {
        horizon.is_none_or(|(d, serial)| self.blocks.get(d as usize).is_some_and(|f| f.serial == serial))
    }

    #[inline(always)]
    fn count(&mut self, index: u32, write: bool) {
        let i = index as usize;
        let Some(&w) = self.weights.get(i) else { return };
        // Every access weighs at least 1: a zero weight means this is the first.
        if w == 0 {
            self.set_before_read[i] = write;
            self.horizons[i] = self.horizon();
        } else if self.set_before_read[i] && !self.within(self.horizons[i]) {
            self.set_before_read[i] = false;
        }
        self.weights[i] = w.saturating_add(weight_at(self.loop_depth));
        self.written[i] |= write;
    }

    /// Hands out registers, heaviest locals first, into `pins` (whose previous contents
    /// are replaced). The first `num_params` locals are the parameters.
    pub fn choose_into(&mut self, locals: &[ValType], num_params: usize, pins: &mut PinnedLocals) {
        let weights = &self.weights;
        let min_weight = if self.has_loop { MIN_WEIGHT } else { MIN_WEIGHT_STRAIGHT_LINE };
        self.order.clear();
        self.order.extend((0..locals.len() as u32).filter(|&i| weights[i as usize] >= min_weight));
        self.order.sort_unstable_by(|&a, &b| weights[b as usize].cmp(&weights[a as usize]).then(a.cmp(&b)));
        pins.regs.clear();
        pins.regs.resize(locals.len(), None);
        std::mem::swap(&mut pins.written, &mut self.written);
        std::mem::swap(&mut pins.set_before_read, &mut self.set_before_read);
        pins.zero_v128.clear();
        pins.zero_v128.extend(
            locals
                .iter()
                .zip(&self.written_nonzero)
                .enumerate()
                .map(|(i, (&ty, &nonzero))| ty == ValType::V128 && i >= num_params && !nonzero),
        );
        pins.callee_saved.clear();
        pins.caller_saved.clear();
        pins.all.clear();
        pins.calls_no_wasm = self.call_weight == 0;
        pins.has_handlers = self.has_handlers;
        let (mut next_saved_gpr, mut next_gpr, mut next_xmm, mut next_saved_xmm) = (0, 0, 0, 0);
        let max_xmms = if self.simd { XMM_PINS_WITH_SIMD } else { XMM_PINS.len() };
        let leaf = self.call_weight == 0;
        // A straight-line leaf pins into caller-saved registers first, which cost it
        // nothing (`MIN_WEIGHT_CALLEE_SAVED_IN_LEAF`).
        let caller_first = leaf && !self.has_loop;
        for &i in &self.order {
            let weight = weights[i as usize];
            let pays_across_calls = weight > self.call_weight;
            let saved_xmm_left = next_saved_xmm < CALLEE_SAVED_XMMS.len();
            let saved_gpr_left = next_saved_gpr < CALLEE_SAVED_PINS.len()
                && (!caller_first || weight >= MIN_WEIGHT_CALLEE_SAVED_IN_LEAF);
            let gpr_left = next_gpr < CALLER_SAVED_GPR_PINS.len();
            let reg = match locals[i as usize] {
                ValType::I32 | ValType::I64 if caller_first && gpr_left => {
                    next_gpr += 1;
                    CALLER_SAVED_GPR_PINS[next_gpr - 1]
                }
                ValType::I32 | ValType::I64 if saved_gpr_left => {
                    next_saved_gpr += 1;
                    CALLEE_SAVED_PINS[next_saved_gpr - 1]
                }
                ValType::I32 | ValType::I64 if pays_across_calls && gpr_left => {
                    next_gpr += 1;
                    CALLER_SAVED_GPR_PINS[next_gpr - 1]
                }
                ValType::F32 | ValType::F64 if saved_xmm_left && !(leaf && next_xmm < max_xmms) => {
                    next_saved_xmm += 1;
                    CALLEE_SAVED_XMMS[next_saved_xmm - 1]
                }
                // Only caller-saved registers for v128 locals: the callee-saved ones keep
                // just their low 8 bytes across calls.
                ValType::F32 | ValType::F64 | ValType::V128 if pays_across_calls && next_xmm < max_xmms => {
                    next_xmm += 1;
                    XMM_PINS[next_xmm - 1]
                }
                _ => continue,
            };
            pins.regs[i as usize] = Some(reg);
        }
        pins.callee_saved.extend_from_slice(&CALLEE_SAVED_PINS[..next_saved_gpr]);
        pins.callee_saved.extend_from_slice(&CALLEE_SAVED_XMMS[..next_saved_xmm]);
        // Both lists in local order, as code generation walks them.
        for (i, r) in pins.regs.iter().enumerate() {
            if let Some(r) = *r {
                pins.all.push((i as u32, r));
                if !is_callee_saved(r) {
                    pins.caller_saved.push((i as u32, r));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::UseScan;
    use wasmparser::{BlockType, Operator, RefType};

    /// Which of `locals` locals (no parameters) the scan finds set before any read, for
    /// the body `ops`.
    fn set_before_read(locals: usize, ops: &[Operator<'_>]) -> Vec<bool> {
        let mut scan = UseScan::default();
        scan.reset(locals);
        let mut previous = None;
        for op in ops {
            scan.observe(op, previous);
            previous = Some(op);
        }
        scan.set_before_read.clone()
    }

    /// `block (branch 0) (local.set 0 (i32.const 1)) end (local.get 0)`: a branch to the
    /// block skips the set, so the local keeps its zero start; with a `nop` instead it
    /// needs none.
    #[test]
    fn every_branch_skips_a_later_set() {
        let branches = [
            Operator::Br { relative_depth: 0 },
            Operator::BrIf { relative_depth: 0 },
            Operator::BrOnNull { relative_depth: 0 },
            Operator::BrOnNonNull { relative_depth: 0 },
            Operator::BrOnCast {
                relative_depth: 0,
                from_ref_type: RefType::ANYREF,
                to_ref_type: RefType::EQREF,
            },
            Operator::BrOnCastFail {
                relative_depth: 0,
                from_ref_type: RefType::ANYREF,
                to_ref_type: RefType::EQREF,
            },
        ];
        let body = |between: Operator<'static>| {
            [
                Operator::Block { blockty: BlockType::Empty },
                between,
                Operator::I32Const { value: 1 },
                Operator::LocalSet { local_index: 0 },
                Operator::End,
                Operator::LocalGet { local_index: 0 },
                Operator::End,
            ]
        };
        assert_eq!(set_before_read(1, &body(Operator::Nop)), [true]);
        for branch in branches {
            let name = format!("{branch:?}");
            assert_eq!(set_before_read(1, &body(branch)), [false], "{name}");
        }
    }
}

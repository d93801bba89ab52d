//! Comparisons set into a local only to be branched on: clang's loops end in
//! `i32.lt_u; local.set $t; ...; local.get $t; i32.eqz; br_if`, where `$t` is a
//! temporary reused across the function. The branch reads the comparison's flags
//! (`compile_function`), and when nothing else ever reads that value, writing the 0/1
//! result into the local (a `setcc` and a `movzx`) is dead. This module decides when it
//! is, over the operators the first pass buffered.
//!
//! A straight line is the code between two consecutive labels or control operators:
//! it is entered only at its start. A local is a straight-line temporary when every
//! read of it follows a write of it in the same straight line (or, for a parameter,
//! reads it in the first one): its value never crosses a label, so it is dead wherever a
//! straight line ends.

use super::codegen::{CResult, FuncCompiler};
use super::masm::IntCond;
use super::{is_structured_control, tested_by_next_branch};
use wasmparser::{Operator, VisitOperator};

/// The longest run of `local.get`/`local.set` pairs between the set and the branch that
/// is looked through, and the furthest the rest of the straight line is searched for
/// another read.
const LOOKAHEAD: usize = 64;

/// The compile loop's state for this: a comparison set aside for a local (the local
/// and the condition the flags hold for it), and which locals are straight-line
/// temporaries, found when first needed. Out of the loop's line, which stays lean.
#[derive(Default)]
pub(crate) struct SetAside {
    pending: Option<(u32, IntCond)>,
    temporaries: Option<Vec<bool>>,
}

impl SetAside {
    #[inline(always)]
    pub(crate) fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// At `ops[i]`, a `local.set` of a pending comparison: sets the comparison aside
    /// (emitting nothing) if only the next branch reads it. True if it did, and the
    /// `local.set` is done.
    #[inline(never)]
    pub(crate) fn try_set_aside(
        &mut self,
        compiler: &mut FuncCompiler<'_>,
        ops: &[Operator<'_>],
        i: usize,
        num_params: usize,
        num_locals: usize,
    ) -> bool {
        let Operator::LocalSet { local_index: x } = ops[i] else { return false };
        let Some(get) = read_only_by_a_branch(ops, i, x) else { return false };
        let temporary =
            self.temporaries.get_or_insert_with(|| straight_line_temporaries(ops, num_params, num_locals));
        if !temporary[x as usize] || !dead_after(ops, get, x) {
            return false;
        }
        self.pending = compiler.set_aside_condition().map(|cond| (x, cond));
        self.pending.is_some()
    }

    /// Before `op`, while a comparison is set aside: at the `local.get` of its local,
    /// pushes it back as a pending comparison (true: `op` is done); at anything
    /// `read_only_by_a_branch` did not expect, writes the local after all.
    #[inline(never)]
    pub(crate) fn before(&mut self, compiler: &mut FuncCompiler<'_>, op: &Operator<'_>) -> CResult<bool> {
        let Some((x, cond)) = self.pending else { return Ok(false) };
        match *op {
            Operator::LocalGet { local_index } if local_index == x => {
                compiler.push_condition(cond);
                self.pending = None;
                return Ok(true);
            }
            Operator::LocalGet { .. } => {}
            Operator::LocalSet { .. } if compiler.top_sets_without_flags() => {}
            _ => {
                compiler.push_condition(cond);
                compiler.materialize_condition();
                compiler.visit_local_set(x)?;
                self.pending = None;
            }
        }
        Ok(false)
    }
}

/// Whether a straight line ends at `op`: a label or the start of a block of any kind
/// (`is_structured_control`), or an operator after which the next one is reached only
/// through a label.
fn ends_straight_line(op: &Operator<'_>) -> bool {
    use Operator as O;
    is_structured_control(op)
        || matches!(
            op,
            O::Br { .. }
                | O::BrTable { .. }
                | O::Return
                | O::Unreachable
                | O::Throw { .. }
                | O::Rethrow { .. }
                | O::ThrowRef
                | O::ReturnCall { .. }
                | O::ReturnCallIndirect { .. }
                | O::ReturnCallRef { .. }
        )
}

/// For each local (parameters first), whether it is a straight-line temporary.
pub(crate) fn straight_line_temporaries(
    ops: &[Operator<'_>],
    num_params: usize,
    num_locals: usize,
) -> Vec<bool> {
    // The straight line each local was last written in (0: never); the first line is 1,
    // where the parameters are written on entry.
    let mut written_in = vec![0u32; num_locals];
    written_in[..num_params].fill(1);
    let mut temporary = vec![true; num_locals];
    let mut line = 1u32;
    for op in ops {
        match *op {
            Operator::LocalGet { local_index } if written_in[local_index as usize] != line => {
                temporary[local_index as usize] = false;
            }
            Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => {
                written_in[local_index as usize] = line;
            }
            _ if ends_straight_line(op) => line += 1,
            _ => {}
        }
    }
    temporary
}

/// If `ops[set]` is `local.set x` of a comparison that only a branch, `if` or `select`
/// reads: `local.get`/`local.set` pairs of other locals (which move values and leave
/// the flags alone), then `local.get x` and that reader, optionally after an `i32.eqz`.
/// Returns the position of the `local.get x`, or None. Whether the value is read
/// elsewhere is `dead_after`'s question.
pub(crate) fn read_only_by_a_branch(ops: &[Operator<'_>], set: usize, x: u32) -> Option<usize> {
    let mut k = set + 1;
    while let (Some(Operator::LocalGet { local_index: y }), Some(Operator::LocalSet { local_index: z })) =
        (ops.get(k), ops.get(k + 1))
    {
        if *y == x || *z == x || k - set > LOOKAHEAD {
            return None;
        }
        k += 2;
    }
    if !matches!(ops.get(k), Some(Operator::LocalGet { local_index }) if *local_index == x) {
        return None;
    }
    tested_by_next_branch(ops, k).then_some(k)
}

/// Whether temporary `x`, read by the branch or `select` just after `get` (as
/// `read_only_by_a_branch` found), is written again or its straight line ends before
/// any other read of it.
pub(crate) fn dead_after(ops: &[Operator<'_>], get: usize, x: u32) -> bool {
    for op in ops.iter().skip(get + 1).take(LOOKAHEAD) {
        match *op {
            Operator::LocalGet { local_index } if local_index == x => return false,
            Operator::LocalSet { local_index } | Operator::LocalTee { local_index } if local_index == x => {
                return true
            }
            _ if ends_straight_line(op) => return true,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmparser::{BlockType, Operator as O};

    #[test]
    fn temporaries_are_written_before_every_read_in_the_same_straight_line() {
        // Local 0 (a parameter) read in the first line; 1 written then read in one line;
        // 2 read in the line after its write; 3 read before any write.
        let ops = [
            O::LocalGet { local_index: 0 },
            O::LocalSet { local_index: 1 },
            O::LocalGet { local_index: 1 },
            O::LocalSet { local_index: 2 },
            O::Loop { blockty: BlockType::Empty },
            O::LocalGet { local_index: 2 },
            O::LocalGet { local_index: 3 },
            O::LocalTee { local_index: 1 },
            O::LocalGet { local_index: 1 },
            O::BrIf { relative_depth: 0 },
            O::LocalGet { local_index: 1 },
            O::End,
        ];
        assert_eq!(straight_line_temporaries(&ops, 1, 4), [true, true, false, false]);
        // A parameter read after a label is not one.
        let ops = [O::Block { blockty: BlockType::Empty }, O::LocalGet { local_index: 0 }, O::End];
        assert_eq!(straight_line_temporaries(&ops, 1, 1), [false]);
    }

    #[test]
    fn a_branch_on_a_local_set_to_a_comparison() {
        let ops = [
            O::LocalSet { local_index: 5 },
            O::LocalGet { local_index: 1 },
            O::LocalSet { local_index: 2 },
            O::LocalGet { local_index: 5 },
            O::I32Eqz,
            O::BrIf { relative_depth: 0 },
            O::LocalGet { local_index: 2 },
            O::LocalTee { local_index: 5 },
            O::LocalGet { local_index: 5 },
            O::End,
        ];
        assert_eq!(read_only_by_a_branch(&ops, 0, 5), Some(3));
        assert!(dead_after(&ops, 3, 5), "written again before it is read");
        // Read after the branch, before any write: alive.
        let mut read_again = ops.clone();
        read_again[7] = O::LocalGet { local_index: 5 };
        assert!(!dead_after(&read_again, 3, 5));
        // Anything but moves between the set and the branch: no.
        let mut other = ops.clone();
        other[1] = O::I32Const { value: 0 };
        assert_eq!(read_only_by_a_branch(&other, 0, 5), None);
        // The local itself moved in between: no.
        let mut moved = ops.clone();
        moved[1] = O::LocalGet { local_index: 5 };
        assert_eq!(read_only_by_a_branch(&moved, 0, 5), None);
        // Read by an addition, not a branch: no.
        let mut added = ops;
        added[5] = O::I32Add;
        assert_eq!(read_only_by_a_branch(&added, 0, 5), None);
        // The straight line ends first: dead.
        let ended = [
            O::LocalGet { local_index: 5 },
            O::BrIf { relative_depth: 0 },
            O::End,
            O::LocalGet { local_index: 5 },
        ];
        assert!(dead_after(&ended, 0, 5));
    }
}

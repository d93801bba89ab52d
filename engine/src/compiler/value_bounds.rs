//! Table lookups whose index is bounded: `table[(crc ^ byte) & 0xFF]`,
//! `decode[x & 0x7F]`. Once the index is known to be small, the i32 shift and add that
//! scale it and add the table's address cannot wrap, so the load can address
//! `[memory + (index << shift) + c + offset]` itself (`FuncCompiler::load_scaled`)
//! instead of computing the address first.
//!
//! The bounds are properties of the wasm values, found when needed by walking back
//! from the shift or add over the straight line of operators that computed its operand:
//! constants, `i32.and` (no more than either operand), `i32.or`/`i32.xor` of two bounded
//! values, the narrow unsigned loads and tees. Only operators whose stack effect is
//! modelled here are walked over; anything else (a label, a branch, a call) ends the
//! walk with nothing known, and so does a budget of operators, so a lookup costs a few
//! dozen steps at most and nothing where no load follows.

use super::masm::LoadKind;
use crate::types::ValType;
use wasmparser::{MemArg, Operator};

/// The most operators one lookup walks over.
const BUDGET: u32 = 32;

/// An upper bound (unsigned) of the value `depth` entries below the top of the stack
/// after `ops[..end]` (0: the top), if the straight line before `end` shows one.
pub(crate) fn bound_of(ops: &[Operator<'_>], end: usize, depth: usize) -> Option<u32> {
    let mut budget = BUDGET;
    bound_within(ops, end, depth, &mut budget)
}

fn bound_within(ops: &[Operator<'_>], end: usize, mut depth: usize, budget: &mut u32) -> Option<u32> {
    use Operator as O;
    let mut k = end;
    loop {
        if k == 0 || *budget == 0 {
            return None;
        }
        k -= 1;
        *budget -= 1;
        let op = &ops[k];
        let (pops, pushes) = stack_effect(op)?;
        if depth < pushes {
            // `op` made the value.
            return match *op {
                O::I32Const { value } => Some(value as u32),
                O::I32And => {
                    let b = bound_within(ops, k, 0, budget);
                    let a = bound_within(ops, k, 1, budget);
                    match (a, b) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (bound, None) | (None, bound) => bound,
                    }
                }
                O::I32Or | O::I32Xor => {
                    let b = bound_within(ops, k, 0, budget)?;
                    let a = bound_within(ops, k, 1, budget)?;
                    Some(all_ones_covering(a.max(b)))
                }
                O::I32Load8U { .. } => Some(0xFF),
                O::I32Load16U { .. } => Some(0xFFFF),
                // The value it passes on.
                O::LocalTee { .. } => bound_within(ops, k, 0, budget),
                _ => None,
            };
        }
        depth = depth - pushes + pops;
    }
}

/// How many operands `op` pops and how many values it pushes, for the operators a
/// lookup may walk over; None for any other.
fn stack_effect(op: &Operator<'_>) -> Option<(usize, usize)> {
    use Operator as O;
    Some(match op {
        O::I32Const { .. } | O::I64Const { .. } | O::LocalGet { .. } | O::GlobalGet { .. } => (0, 1),
        O::LocalSet { .. } | O::GlobalSet { .. } | O::Drop => (1, 0),
        O::LocalTee { .. } => (1, 1),
        O::Nop => (0, 0),
        O::I32And
        | O::I32Or
        | O::I32Xor
        | O::I32Add
        | O::I32Sub
        | O::I32Mul
        | O::I32Shl
        | O::I32ShrU
        | O::I32ShrS
        | O::I32Rotl
        | O::I32Rotr => (2, 1),
        O::I32Load { .. }
        | O::I32Load8U { .. }
        | O::I32Load8S { .. }
        | O::I32Load16U { .. }
        | O::I32Load16S { .. }
        | O::I32Eqz
        | O::I32Clz
        | O::I32Ctz => (1, 1),
        _ => return None,
    })
}

/// The smallest all-ones value no smaller than `x`: a bound on `a | b` and `a ^ b` for
/// operands no larger than `x`.
fn all_ones_covering(x: u32) -> u32 {
    if x == 0 {
        0
    } else {
        u32::MAX >> x.leading_zeros()
    }
}

/// A load the compile loop turns into one instruction with the scaled index in its
/// address (see the module comment).
pub(crate) struct ScaledLoad {
    pub ty: ValType,
    pub kind: LoadKind,
    /// `c + offset`.
    pub disp: i32,
    /// How many operators after the current one it stands for, the load included.
    pub fused: usize,
}

/// Whether a load follows, right away or after an `i32.const` and an `i32.add`: the
/// cheap test before looking for a bound.
pub(crate) fn loads_next(after: &[Operator<'_>]) -> bool {
    let next = match after {
        [Operator::I32Const { .. }, Operator::I32Add, next, ..] => next,
        [next, ..] => next,
        [] => return false,
    };
    plain_load(next).is_some()
}

/// If `after` (the operators after a shift of a value no larger than `bound` by `shift`,
/// or after `shift` 0: an `i32.add` of a constant `c0` to such a value) is an optional
/// `i32.const c; i32.add`, then a load: that load, when `bound << shift` plus the
/// constants and the offset stays below 2^31, so that the i32 arithmetic cannot wrap and
/// the access stays inside the guard reservation.
pub(crate) fn scaled_load_after<'o>(
    after: &'o [Operator<'o>],
    bound: u32,
    shift: u8,
    c0: u32,
) -> Option<ScaledLoad> {
    let (c, rest) = match after {
        [Operator::I32Const { value }, Operator::I32Add, rest @ ..] if shift > 0 => (*value as u32, rest),
        _ => (c0, after),
    };
    let (ty, kind, memarg) = plain_load(rest.first()?)?;
    // Only memory 0 has its base in a register, for the addressing mode to use.
    if memarg.target != wasmparser::MemArgTarget::Memory(0) {
        return None;
    }
    let highest = ((bound as u64) << shift).checked_add(c as u64)?.checked_add(memarg.offset)?;
    if highest > i32::MAX as u64 {
        return None;
    }
    let fused = after.len() - rest.len() + 1;
    let disp = i32::try_from(c as u64 + memarg.offset).ok()?;
    Some(ScaledLoad { ty, kind, disp, fused })
}

/// The type, kind and memarg of a load of a number.
fn plain_load<'o>(op: &'o Operator<'o>) -> Option<(ValType, LoadKind, &'o MemArg)> {
    use LoadKind as K;
    use Operator as O;
    use ValType::{F32, F64, I32, I64};
    Some(match op {
        O::I32Load { memarg } => (I32, K::U32, memarg),
        O::I64Load { memarg } => (I64, K::I64, memarg),
        O::F32Load { memarg } => (F32, K::F32, memarg),
        O::F64Load { memarg } => (F64, K::F64, memarg),
        O::I32Load8S { memarg } => (I32, K::S8To32, memarg),
        O::I32Load8U { memarg } => (I32, K::U8, memarg),
        O::I32Load16S { memarg } => (I32, K::S16To32, memarg),
        O::I32Load16U { memarg } => (I32, K::U16, memarg),
        O::I64Load8S { memarg } => (I64, K::S8To64, memarg),
        O::I64Load8U { memarg } => (I64, K::U8, memarg),
        O::I64Load16S { memarg } => (I64, K::S16To64, memarg),
        O::I64Load16U { memarg } => (I64, K::U16, memarg),
        O::I64Load32S { memarg } => (I64, K::S32To64, memarg),
        O::I64Load32U { memarg } => (I64, K::U32, memarg),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmparser::{BlockType, MemArg, MemArgTarget, Operator as O};

    fn memarg(offset: u64) -> MemArg {
        MemArg { align: 0, max_align: 0, offset, target: MemArgTarget::Memory(0), ordering: None }
    }

    #[test]
    fn bounds_follow_what_computed_the_values() {
        let m = memarg(0);
        // crc32: (crc & 0xFF) ^ byte, with the byte's address computed in between.
        let ops = [
            O::LocalGet { local_index: 1 },
            O::I32Const { value: 0xFF },
            O::I32And,
            O::LocalGet { local_index: 0 },
            O::I32Const { value: 1024 },
            O::I32Add,
            O::I32Load8U { memarg: m },
            O::I32Xor,
            O::I32Const { value: 2 },
        ];
        assert_eq!(bound_of(&ops, ops.len(), 1), Some(0xFF));
        assert_eq!(bound_of(&ops, ops.len(), 0), Some(2));
        // An unknown operand spoils an or, not an and; an add spoils everything; a tee
        // passes its value on.
        let ops = [
            O::LocalGet { local_index: 0 },
            O::I32Const { value: 0x30 },
            O::I32Or,
            O::LocalGet { local_index: 0 },
            O::I32Const { value: 0x30 },
            O::I32And,
            O::LocalTee { local_index: 3 },
            O::I32Const { value: 5 },
            O::I32Const { value: 6 },
            O::I32Add,
        ];
        assert_eq!(bound_of(&ops, ops.len(), 0), None);
        assert_eq!(bound_of(&ops, ops.len(), 1), Some(0x30));
        assert_eq!(bound_of(&ops, ops.len(), 2), None);
        // A label, a branch, a call or a select ends the walk.
        for op in [
            O::Block { blockty: BlockType::Empty },
            O::End,
            O::BrIf { relative_depth: 0 },
            O::Call { function_index: 0 },
            O::Select,
        ] {
            let ops = [O::I32Const { value: 3 }, op.clone(), O::I32Const { value: 4 }];
            assert_eq!(bound_of(&ops, ops.len(), 1), None, "{op:?}");
        }
        // A long enough straight line runs out of budget.
        let mut ops = vec![O::I32Const { value: 7 }];
        ops.extend(std::iter::repeat_n(O::Nop, BUDGET as usize));
        assert_eq!(bound_of(&ops, ops.len(), 0), None);
        assert_eq!(all_ones_covering(0x30), 0x3F);
        assert_eq!(all_ones_covering(0x80), 0xFF);
        assert_eq!(all_ones_covering(0), 0);
        assert_eq!(all_ones_covering(0x8000_0000), u32::MAX);
    }

    #[test]
    fn a_load_folds_only_while_its_address_cannot_wrap() {
        let ops = [O::I32Const { value: 1024 }, O::I32Add, O::I32Load { memarg: memarg(4) }];
        assert!(loads_next(&ops));
        let load = scaled_load_after(&ops, 0xFF, 2, 0).expect("folds");
        assert_eq!((load.disp, load.fused), (1028, 3));
        assert!(scaled_load_after(&ops, 0x1FFF_FFFF, 2, 0).is_none(), "0x7FFF_FFFC + 1028 passes 2^31");
        // No add after the shift; or, for shift 0, the constant already added.
        let ops = [O::I64Load8U { memarg: memarg(8) }];
        assert_eq!(scaled_load_after(&ops, 0xFF, 3, 0).map(|l| (l.disp, l.fused)), Some((8, 1)));
        assert_eq!(scaled_load_after(&ops, 0xFF, 0, 100).map(|l| l.disp), Some(108));
        // Not a load: nothing.
        assert!(!loads_next(&[O::I32Add]));
        assert!(scaled_load_after(&[O::I32Add], 0xFF, 2, 0).is_none());
    }
}

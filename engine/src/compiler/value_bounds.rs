//! Table lookups whose index is bounded: `table[(crc ^ byte) & 0xFF]`,
//! `decode[x & 0x7F]`. Once the index is known to be small, the i32 shift and add that
//! scale it and add the table's address cannot wrap, so the load can address
//! `[memory + (index << shift) + c + offset]` itself (`FuncCompiler::load_scaled`)
//! instead of computing the address first.
//!
//! The bounds are properties of the wasm values, tracked over the operators the compile
//! loop meets: constants, `i32.and` (no more than either operand), `i32.or`/`i32.xor`
//! of two bounded values, and the narrow unsigned loads.
//! Only operators whose stack effect is modelled here are followed; any other forgets
//! everything, so a bound is never carried past something unknown.

use super::masm::LoadKind;
use crate::types::ValType;
use wasmparser::{MemArg, Operator};

/// How many entries at the top of the operand stack are tracked.
const WINDOW: usize = 16;

/// Upper bounds (as unsigned 32-bit values) of the values on top of the operand
/// stack, the topmost last; None where nothing is known. Entries below the window are
/// unknown.
#[derive(Default)]
pub(crate) struct ValueBounds {
    top: Vec<Option<u32>>,
    /// The stack's net growth since the last `clear`, as the operators followed say:
    /// debug builds check it against the compiler's own stack (`in_step`).
    grown: isize,
    /// The compiler's stack height at the last `clear`, once known.
    height_at_clear: Option<usize>,
}

impl ValueBounds {
    pub(crate) fn clear(&mut self) {
        self.top.clear();
        self.grown = 0;
        self.height_at_clear = None;
    }

    /// Checks (in debug builds) that the operators followed since the last `clear`
    /// moved the stack as the compiler's moved, `height` being the compiler's stack
    /// height before the next operator: the bounds describe the right entries.
    pub(crate) fn in_step(&mut self, height: usize) {
        if cfg!(debug_assertions) {
            match self.height_at_clear {
                Some(base) => {
                    debug_assert_eq!(height as isize, base as isize + self.grown, "value bounds out of step")
                }
                None => self.height_at_clear = Some((height as isize - self.grown) as usize),
            }
        }
    }

    /// The bound of the entry `from_top` below the top (0: the top), if known.
    pub(crate) fn peek(&self, from_top: usize) -> Option<u32> {
        let len = self.top.len();
        if from_top >= len {
            return None;
        }
        self.top[len - 1 - from_top]
    }

    fn pop(&mut self) -> Option<u32> {
        self.grown -= 1;
        self.top.pop().flatten()
    }

    fn push(&mut self, bound: Option<u32>) {
        self.grown += 1;
        if self.top.len() == WINDOW {
            self.top.remove(0);
        }
        self.top.push(bound);
    }

    /// Follows `op`'s effect on the stack.
    pub(crate) fn after(&mut self, op: &Operator<'_>) {
        use Operator as O;
        match *op {
            O::I32Const { value } => self.push(Some(value as u32)),
            O::LocalGet { .. } | O::GlobalGet { .. } | O::I64Const { .. } => self.push(None),
            O::LocalSet { .. } | O::GlobalSet { .. } | O::Drop => {
                self.pop();
            }
            // The value stays; so does its bound.
            O::LocalTee { .. } | O::Nop => {}
            O::I32And => {
                let (b, a) = (self.pop(), self.pop());
                self.push(match (a, b) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (bound, None) | (None, bound) => bound,
                });
            }
            O::I32Or | O::I32Xor => {
                let (b, a) = (self.pop(), self.pop());
                self.push(a.zip(b).map(|(a, b)| all_ones_covering(a.max(b))));
            }
            O::I32Load8U { .. } | O::I64Load8U { .. } => {
                self.pop();
                self.push(Some(0xFF));
            }
            O::I32Load16U { .. } | O::I64Load16U { .. } => {
                self.pop();
                self.push(Some(0xFFFF));
            }
            O::I32Load { .. }
            | O::I32Load8S { .. }
            | O::I32Load16S { .. }
            | O::I32Eqz
            | O::I32Clz
            | O::I32Ctz => {
                self.pop();
                self.push(None);
            }
            O::I32Add
            | O::I32Sub
            | O::I32Mul
            | O::I32Shl
            | O::I32ShrU
            | O::I32ShrS
            | O::I32Rotl
            | O::I32Rotr => {
                self.pop();
                self.pop();
                self.push(None);
            }
            _ => self.clear(),
        }
    }
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
pub(crate) struct ScaledLoad<'o> {
    pub ty: ValType,
    pub kind: LoadKind,
    pub memarg: &'o MemArg,
    /// `c + offset`.
    pub disp: i32,
    /// How many operators after the current one it stands for, the load included.
    pub fused: usize,
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
) -> Option<ScaledLoad<'o>> {
    let (c, rest) = match after {
        [Operator::I32Const { value }, Operator::I32Add, rest @ ..] if shift > 0 => (*value as u32, rest),
        _ => (c0, after),
    };
    let (ty, kind, memarg) = plain_load(rest.first()?)?;
    let highest = ((bound as u64) << shift).checked_add(c as u64)?.checked_add(memarg.offset)?;
    if highest > i32::MAX as u64 {
        return None;
    }
    let fused = after.len() - rest.len() + 1;
    let disp = i32::try_from(c as u64 + memarg.offset).ok()?;
    Some(ScaledLoad { ty, kind, memarg, disp, fused })
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
    use wasmparser::{MemArg, MemArgTarget, Operator as O};

    fn memarg(offset: u64) -> MemArg {
        MemArg { align: 0, max_align: 0, offset, target: MemArgTarget::Memory(0), ordering: None }
    }

    fn bounds_after(ops: &[Operator<'_>]) -> ValueBounds {
        let mut b = ValueBounds::default();
        for op in ops {
            b.after(op);
        }
        b
    }

    #[test]
    fn bounds_follow_what_computed_the_values() {
        let m = memarg(0);
        // crc32: (crc & 0xFF) ^ byte.
        let b = bounds_after(&[
            O::LocalGet { local_index: 1 },
            O::I32Const { value: 0xFF },
            O::I32And,
            O::LocalGet { local_index: 0 },
            O::I32Load8U { memarg: m },
            O::I32Xor,
        ]);
        assert_eq!(b.peek(0), Some(0xFF));
        // An unknown value spoils an or, not an and; an add spoils everything.
        let b = bounds_after(&[
            O::LocalGet { local_index: 0 },
            O::I32Const { value: 0x30 },
            O::I32Or,
            O::LocalGet { local_index: 0 },
            O::I32Const { value: 0x30 },
            O::I32And,
            O::I32Const { value: 5 },
            O::I32Const { value: 6 },
            O::I32Add,
        ]);
        assert_eq!((b.peek(0), b.peek(1), b.peek(2)), (None, Some(0x30), None));
        // A call (anything not modelled) forgets everything below it too.
        let b = bounds_after(&[
            O::I32Const { value: 3 },
            O::Call { function_index: 0 },
            O::I32Const { value: 4 },
        ]);
        assert_eq!((b.peek(0), b.peek(1)), (Some(4), None));
        assert_eq!(all_ones_covering(0x30), 0x3F);
        assert_eq!(all_ones_covering(0x80), 0xFF);
        assert_eq!(all_ones_covering(0), 0);
        assert_eq!(all_ones_covering(0x8000_0000), u32::MAX);
        // Control flow forgets; so does a select.
        for op in [
            O::Block { blockty: wasmparser::BlockType::Empty },
            O::End,
            O::BrIf { relative_depth: 0 },
            O::Select,
            O::Unreachable,
        ] {
            let b = bounds_after(&[O::I32Const { value: 1 }, O::I32Const { value: 2 }, op.clone()]);
            assert_eq!((b.peek(0), b.peek(1)), (None, None), "{op:?}");
        }
        // Past the window's 16 entries, what was pushed first is forgotten.
        let mut b = ValueBounds::default();
        for value in 0..17 {
            b.after(&O::I32Const { value });
        }
        for _ in 0..16 {
            b.after(&O::Drop);
        }
        assert_eq!(b.peek(0), None);
    }

    #[test]
    fn a_load_folds_only_while_its_address_cannot_wrap() {
        let ops = [O::I32Const { value: 1024 }, O::I32Add, O::I32Load { memarg: memarg(4) }];
        let load = scaled_load_after(&ops, 0xFF, 2, 0).expect("folds");
        assert_eq!((load.disp, load.fused), (1028, 3));
        assert!(scaled_load_after(&ops, 0x1FFF_FFFF, 2, 0).is_none(), "0x7FFF_FFFC + 1028 passes 2^31");
        // No add after the shift; or, for shift 0, the constant already added.
        let ops = [O::I64Load8U { memarg: memarg(8) }];
        assert_eq!(scaled_load_after(&ops, 0xFF, 3, 0).map(|l| (l.disp, l.fused)), Some((8, 1)));
        assert_eq!(scaled_load_after(&ops, 0xFF, 0, 100).map(|l| l.disp), Some(108));
        // Not a load: nothing.
        assert!(scaled_load_after(&[O::I32Add], 0xFF, 2, 0).is_none());
    }
}

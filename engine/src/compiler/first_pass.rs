//! The first pass over a function body: each operator is decoded once and, in the same
//! visit, validated by wasmparser, weighed for register pinning (`locals.rs`) and kept
//! for the compile pass.
//!
//! Visiting the decoder directly, instead of reading `Operator`s and matching on each
//! again for the validator and for the use scan, saves two dispatches per operator: the
//! use scan's match folds away inside each `visit_*` method, where the operator is known.

use super::locals::UseScan;
use wasmparser::{FrameKind, FrameStack, Operator, VisitOperator, VisitSimdOperator};

pub struct FirstPass<'s, 'a, V> {
    /// wasmparser's validator for this one operator (it is made per offset).
    pub validator: V,
    pub uses: &'s mut UseScan,
    pub operators: &'s mut Vec<Operator<'a>>,
}

impl<'a, V> FirstPass<'_, 'a, V> {
    #[inline(always)]
    fn keep(&mut self, op: Operator<'a>) {
        self.uses.observe(&op);
        self.operators.push(op);
    }
}

macro_rules! visit_plain {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                self.validator.$visit($($($arg.clone()),*)?)?;
                // A constant per operator: true only for the few that carry a vector.
                if false $($(|| std::mem::needs_drop::<$argty>())*)? {
                    self.uses.operators_own_memory = true;
                }
                self.keep(Operator::$op $({ $($arg),* })?);
                Ok(())
            }
        )*
    };
}

macro_rules! visit_simd {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                // wasmparser's validator always has a SIMD visitor (its `simd` feature
                // is on); were it ever missing, the operator must not pass unvalidated.
                match self.validator.simd_visitor() {
                    Some(validator) => validator.$visit($($($arg.clone()),*)?)?,
                    None => self.uses.simd_unvalidated = true,
                }
                self.uses.simd = true;
                if false $($(|| std::mem::needs_drop::<$argty>())*)? {
                    self.uses.operators_own_memory = true;
                }
                self.keep(Operator::$op $({ $($arg),* })?);
                Ok(())
            }
        )*
    };
}

impl<'a, V> VisitOperator<'a> for FirstPass<'_, 'a, V>
where
    V: VisitOperator<'a, Output = wasmparser::Result<()>>,
{
    type Output = wasmparser::Result<()>;

    fn simd_visitor(&mut self) -> Option<&mut dyn VisitSimdOperator<'a, Output = Self::Output>> {
        Some(self)
    }

    wasmparser::for_each_visit_operator!(visit_plain);
}

impl<'a, V> VisitSimdOperator<'a> for FirstPass<'_, 'a, V>
where
    V: VisitOperator<'a, Output = wasmparser::Result<()>>,
{
    wasmparser::for_each_visit_simd_operator!(visit_simd);
}

/// The decoder checks block structure (an `else` only inside an `if`, nothing after the
/// final `end`) against the validator's control stack.
impl<'a, V: FrameStack> FrameStack for FirstPass<'_, 'a, V> {
    fn current_frame(&self) -> Option<FrameKind> {
        self.validator.current_frame()
    }
}

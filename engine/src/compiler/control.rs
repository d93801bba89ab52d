//! Control frames: blocks, loops, ifs and the function body itself.
//!
//! Merge points use one canonical state: every value a label receives lives in the
//! frame slot of its stack depth, and everything below the frame was spilled (or is a
//! constant) when the frame was entered, so no path can change it.

use crate::types::ValType;
use dynasmrt::DynamicLabel;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    Function,
    Block,
    Loop,
    If,
    /// A `try_table`: a block whose body is an exception-handling scope.
    TryTable,
    /// A legacy `try` in its body (a scope, like `try_table`).
    Try,
    /// A legacy `try` after its first `catch`/`catch_all`: the body of a catch clause.
    Catch,
}

#[derive(Debug)]
pub struct Frame<'a> {
    pub kind: FrameKind,
    /// Where a branch to this frame goes: the loop header, or after `end`.
    pub label: DynamicLabel,
    /// For `if`: the start of the else arm, until it is bound.
    pub else_label: Option<DynamicLabel>,
    /// Operand-stack height below the frame's parameters.
    pub height: usize,
    pub params: &'a [ValType],
    pub results: &'a [ValType],
    /// Whether any branch targets `label` (so the end is a merge point).
    pub label_used: bool,
    /// The exception-handling scope in force when the frame was entered.
    pub outer_scope: Option<u32>,
    /// For `try_table` and legacy `try`: the scope of its body.
    pub scope: Option<u32>,
    /// For legacy `try`: the rbp offset of the slot holding the exception its catch
    /// clause caught (what `rethrow` throws again).
    pub exn_slot: i32,
    /// For legacy `try`: whether a `rethrow` names it. If none does, its catch clauses
    /// do not keep the exception, which can then be freed when caught.
    pub rethrown: bool,
}

impl<'a> Frame<'a> {
    /// The values a branch to this frame carries.
    pub fn branch_types(&self) -> &'a [ValType] {
        if self.kind == FrameKind::Loop {
            self.params
        } else {
            self.results
        }
    }

    /// The scope in force directly in this frame's body (where a legacy `delegate` to
    /// this frame sends its exceptions).
    pub fn body_scope(&self) -> Option<u32> {
        match self.kind {
            FrameKind::TryTable | FrameKind::Try => self.scope,
            _ => self.outer_scope,
        }
    }
}

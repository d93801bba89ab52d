//! The vocabulary the ISA-independent compiler speaks to a backend.
//!
//! `compiler::codegen` decides *what* to compute and where values live; a
//! `MacroAssembler` decides *how*: instruction selection, encodings, and the sequences
//! that give WebAssembly's exact semantics (trapping division, NaN-correct min/max,
//! checked float-to-int conversion). x86-64 is in `isa::x64::masm`.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum OperandSize {
    S32,
    S64,
}

/// A condition on integer flags after a compare or test.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum IntCond {
    Eq,
    Ne,
    LtS,
    LtU,
    GtS,
    GtU,
    LeS,
    LeU,
    GeS,
    GeU,
}

impl IntCond {
    pub fn invert(self) -> IntCond {
        use IntCond::*;
        match self {
            Eq => Ne,
            Ne => Eq,
            LtS => GeS,
            LtU => GeU,
            GtS => LeS,
            GtU => LeU,
            LeS => GtS,
            LeU => GtU,
            GeS => LtS,
            GeU => LtU,
        }
    }

    /// The condition with operands swapped (a < b  <=>  b > a).
    pub fn swap(self) -> IntCond {
        use IntCond::*;
        match self {
            Eq => Eq,
            Ne => Ne,
            LtS => GtS,
            LtU => GtU,
            GtS => LtS,
            GtU => LtU,
            LeS => GeS,
            LeU => GeU,
            GeS => LeS,
            GeU => LeU,
        }
    }

    pub fn eval(self, a: i64, b: i64, size: OperandSize) -> bool {
        use IntCond::*;
        let (sa, sb, ua, ub) = match size {
            OperandSize::S32 => (a as i32 as i64, b as i32 as i64, a as u32 as u64, b as u32 as u64),
            OperandSize::S64 => (a, b, a as u64, b as u64),
        };
        match self {
            Eq => ua == ub,
            Ne => ua != ub,
            LtS => sa < sb,
            LtU => ua < ub,
            GtS => sa > sb,
            GtU => ua > ub,
            LeS => sa <= sb,
            LeU => ua <= ub,
            GeS => sa >= sb,
            GeU => ua >= ub,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FloatCond {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AluOp {
    Add,
    Sub,
    And,
    Or,
    Xor,
}

impl AluOp {
    pub fn eval(self, a: i64, b: i64) -> i64 {
        match self {
            AluOp::Add => a.wrapping_add(b),
            AluOp::Sub => a.wrapping_sub(b),
            AluOp::And => a & b,
            AluOp::Or => a | b,
            AluOp::Xor => a ^ b,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ShiftOp {
    Shl,
    ShrS,
    ShrU,
    Rotl,
    Rotr,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DivOp {
    DivS,
    DivU,
    RemS,
    RemU,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FloatBinOp {
    Add,
    Sub,
    Mul,
    Div,
    Min,
    Max,
    Copysign,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FloatUnOp {
    Abs,
    Neg,
    Sqrt,
    Ceil,
    Floor,
    Trunc,
    Nearest,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BitCountOp {
    Clz,
    Ctz,
    Popcnt,
}

/// How a load extends its value into a register.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LoadKind {
    U8,
    S8To32,
    S8To64,
    U16,
    S16To32,
    S16To64,
    U32,
    S32To64,
    I64,
    F32,
    F64,
}

impl LoadKind {
    pub fn bytes(self) -> u64 {
        match self {
            LoadKind::U8 | LoadKind::S8To32 | LoadKind::S8To64 => 1,
            LoadKind::U16 | LoadKind::S16To32 | LoadKind::S16To64 => 2,
            LoadKind::U32 | LoadKind::S32To64 | LoadKind::F32 => 4,
            LoadKind::I64 | LoadKind::F64 => 8,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StoreKind {
    I8,
    I16,
    I32,
    I64,
    F32,
    F64,
}

impl StoreKind {
    pub fn bytes(self) -> u64 {
        match self {
            StoreKind::I8 => 1,
            StoreKind::I16 => 2,
            StoreKind::I32 | StoreKind::F32 => 4,
            StoreKind::I64 | StoreKind::F64 => 8,
        }
    }
}

/// Float <-> integer conversions. `trapping` truncations trap on NaN and overflow,
/// saturating ones clamp.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TruncKind {
    pub from: OperandSize,
    pub to: OperandSize,
    pub signed: bool,
    pub saturating: bool,
}

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
    V128,
}

impl LoadKind {
    pub fn bytes(self) -> u64 {
        match self {
            LoadKind::U8 | LoadKind::S8To32 | LoadKind::S8To64 => 1,
            LoadKind::U16 | LoadKind::S16To32 | LoadKind::S16To64 => 2,
            LoadKind::U32 | LoadKind::S32To64 | LoadKind::F32 => 4,
            LoadKind::I64 | LoadKind::F64 => 8,
            LoadKind::V128 => 16,
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
    V128,
}

impl StoreKind {
    pub fn bytes(self) -> u64 {
        match self {
            StoreKind::I8 => 1,
            StoreKind::I16 => 2,
            StoreKind::I32 | StoreKind::F32 => 4,
            StoreKind::I64 | StoreKind::F64 => 8,
            StoreKind::V128 => 16,
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

/// How a v128's 128 bits divide into lanes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Lanes {
    I8x16,
    I16x8,
    I32x4,
    I64x2,
    F32x4,
    F64x2,
}

impl Lanes {
    pub fn count(self) -> u8 {
        match self {
            Lanes::I8x16 => 16,
            Lanes::I16x8 => 8,
            Lanes::I32x4 | Lanes::F32x4 => 4,
            Lanes::I64x2 | Lanes::F64x2 => 2,
        }
    }

    pub fn lane_bits(self) -> u32 {
        128 / self.count() as u32
    }
}

/// A v128 operation of two operands, computed into the first one's register.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum VecBinOp {
    And,
    AndNot,
    Or,
    Xor,
    Add(Lanes),
    Sub(Lanes),
    Mul(Lanes),
    AddSat(Lanes, Signedness),
    SubSat(Lanes, Signedness),
    Min(Lanes, Signedness),
    Max(Lanes, Signedness),
    AvgrU(Lanes),
    Compare(Lanes, IntCond),
    /// add, sub, mul, div, min, max of float lanes.
    Float(Lanes, FloatBinOp),
    PseudoMin(Lanes),
    PseudoMax(Lanes),
    FloatCompare(Lanes, FloatCond),
    /// Narrowing into lanes of this shape, saturating.
    Narrow(Lanes, Signedness),
    Q15MulrSat,
    /// i32x4.dot_i16x8_s.
    Dot,
    /// Lanes of half the width, multiplied into lanes of this shape.
    ExtMul(Lanes, Half, Signedness),
    Swizzle,
    /// i16x8.relaxed_dot_i8x16_i7x16_s: pairwise products, saturating sum.
    RelaxedDot,
}

/// A v128 operation of three operands, computed into the first one's register. The
/// relaxed operations take one of the results the relaxed SIMD proposal allows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum VecTernaryOp {
    /// a * b + c, rounded twice.
    Madd(Lanes),
    /// -(a * b) + c, rounded twice.
    Nmadd(Lanes),
    /// (a & m) | (b & !m), as `v128.bitselect`.
    Laneselect,
    /// i32x4.relaxed_dot_i8x16_i7x16_add_s.
    DotAdd,
}

/// A v128 operation of one operand, computed in place.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum VecUnOp {
    Not,
    Abs(Lanes),
    Neg(Lanes),
    Popcnt,
    /// abs, neg, sqrt and the roundings of float lanes.
    Float(Lanes, FloatUnOp),
    /// Half of the lanes, widened into lanes of this shape.
    Extend(Lanes, Half, Signedness),
    /// Adjacent pairs of half-width lanes, added into lanes of this shape.
    ExtAddPairwise(Lanes, Signedness),
    ConvertI32x4ToF32x4(Signedness),
    TruncSatF32x4ToI32x4(Signedness),
    ConvertLowI32x4ToF64x2(Signedness),
    TruncSatF64x2ToI32x4Zero(Signedness),
    DemoteF64x2Zero,
    PromoteLowF32x4,
}

/// A v128 reduced to an i32.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum VecTest {
    AnyTrue,
    AllTrue(Lanes),
    Bitmask(Lanes),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Signedness {
    Signed,
    Unsigned,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Half {
    Low,
    High,
}

/// The memory forms of v128 loads that produce a whole vector.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum VecLoadKind {
    Full,
    /// 64 bits, each lane widened (`v128.load8x8_s` is `Extend(I16x8, Signed)`).
    Extend(Lanes, Signedness),
    /// One lane's worth, copied to every lane.
    Splat(Lanes),
    /// 32 or 64 bits into lane 0, the rest zero.
    Zero(Lanes),
}

impl VecLoadKind {
    pub fn bytes(self) -> u64 {
        match self {
            VecLoadKind::Full => 16,
            VecLoadKind::Extend(..) => 8,
            VecLoadKind::Splat(l) | VecLoadKind::Zero(l) => l.lane_bits() as u64 / 8,
        }
    }
}

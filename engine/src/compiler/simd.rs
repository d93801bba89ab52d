//! One handler per SIMD (v128) opcode, over the stack helpers at the end of this file.
//! Instruction selection for each operation is in `isa/x64/simd.rs`.
//!
//! v128 values live in xmm registers and in 16-byte frame slots: a function where one
//! can appear gets 16-byte locals and spill slots (see `compile_function`). A v128 local
//! may be pinned, to a caller-saved xmm register only (`locals.rs`); operations copy it
//! into a register of their own (`in_reg`) before changing anything.

use super::codegen::{CResult, FuncCompiler};
use super::masm::*;
use super::stack::{Loc, RegSet};
use crate::isa::x64::regs::Reg;
use crate::isa::x64::simd::{needs_temp_bin, needs_temp_un, ShiftAmount};
use crate::types::ValType;
use wasmparser::{MemArg, VisitSimdOperator, V128};

use Lanes::*;
use Signedness::*;
use ValType::V128 as V128Type;

impl<'a> VisitSimdOperator<'a> for FuncCompiler<'_> {
    fn visit_v128_load(&mut self, memarg: MemArg) -> CResult {
        self.load_op(V128Type, LoadKind::V128, memarg)
    }
    fn visit_v128_load8x8_s(&mut self, memarg: MemArg) -> CResult {
        self.v128_load(VecLoadKind::Extend(I16x8, Signed), memarg)
    }
    fn visit_v128_load8x8_u(&mut self, memarg: MemArg) -> CResult {
        self.v128_load(VecLoadKind::Extend(I16x8, Unsigned), memarg)
    }
    fn visit_v128_load16x4_s(&mut self, memarg: MemArg) -> CResult {
        self.v128_load(VecLoadKind::Extend(I32x4, Signed), memarg)
    }
    fn visit_v128_load16x4_u(&mut self, memarg: MemArg) -> CResult {
        self.v128_load(VecLoadKind::Extend(I32x4, Unsigned), memarg)
    }
    fn visit_v128_load32x2_s(&mut self, memarg: MemArg) -> CResult {
        self.v128_load(VecLoadKind::Extend(I64x2, Signed), memarg)
    }
    fn visit_v128_load32x2_u(&mut self, memarg: MemArg) -> CResult {
        self.v128_load(VecLoadKind::Extend(I64x2, Unsigned), memarg)
    }
    fn visit_v128_load8_splat(&mut self, memarg: MemArg) -> CResult {
        self.v128_load(VecLoadKind::Splat(I8x16), memarg)
    }
    fn visit_v128_load16_splat(&mut self, memarg: MemArg) -> CResult {
        self.v128_load(VecLoadKind::Splat(I16x8), memarg)
    }
    fn visit_v128_load32_splat(&mut self, memarg: MemArg) -> CResult {
        self.v128_load(VecLoadKind::Splat(I32x4), memarg)
    }
    fn visit_v128_load64_splat(&mut self, memarg: MemArg) -> CResult {
        self.v128_load(VecLoadKind::Splat(I64x2), memarg)
    }
    fn visit_v128_load32_zero(&mut self, memarg: MemArg) -> CResult {
        self.v128_load(VecLoadKind::Zero(I32x4), memarg)
    }
    fn visit_v128_load64_zero(&mut self, memarg: MemArg) -> CResult {
        self.v128_load(VecLoadKind::Zero(I64x2), memarg)
    }
    fn visit_v128_store(&mut self, memarg: MemArg) -> CResult {
        self.store_op(StoreKind::V128, memarg)
    }
    fn visit_v128_load8_lane(&mut self, memarg: MemArg, lane: u8) -> CResult {
        self.v128_load_lane(I8x16, lane, memarg)
    }
    fn visit_v128_load16_lane(&mut self, memarg: MemArg, lane: u8) -> CResult {
        self.v128_load_lane(I16x8, lane, memarg)
    }
    fn visit_v128_load32_lane(&mut self, memarg: MemArg, lane: u8) -> CResult {
        self.v128_load_lane(I32x4, lane, memarg)
    }
    fn visit_v128_load64_lane(&mut self, memarg: MemArg, lane: u8) -> CResult {
        self.v128_load_lane(I64x2, lane, memarg)
    }
    fn visit_v128_store8_lane(&mut self, memarg: MemArg, lane: u8) -> CResult {
        self.v128_store_lane(I8x16, lane, memarg)
    }
    fn visit_v128_store16_lane(&mut self, memarg: MemArg, lane: u8) -> CResult {
        self.v128_store_lane(I16x8, lane, memarg)
    }
    fn visit_v128_store32_lane(&mut self, memarg: MemArg, lane: u8) -> CResult {
        self.v128_store_lane(I32x4, lane, memarg)
    }
    fn visit_v128_store64_lane(&mut self, memarg: MemArg, lane: u8) -> CResult {
        self.v128_store_lane(I64x2, lane, memarg)
    }
    fn visit_v128_const(&mut self, value: V128) -> CResult {
        self.v128_const(value.i128() as u128)
    }
    fn visit_i8x16_shuffle(&mut self, lanes: [u8; 16]) -> CResult {
        self.v128_shuffle(lanes)
    }
    fn visit_i8x16_extract_lane_s(&mut self, lane: u8) -> CResult {
        self.v128_extract_lane(I8x16, Signed, lane)
    }
    fn visit_i8x16_extract_lane_u(&mut self, lane: u8) -> CResult {
        self.v128_extract_lane(I8x16, Unsigned, lane)
    }
    fn visit_i8x16_replace_lane(&mut self, lane: u8) -> CResult {
        self.v128_replace_lane(I8x16, lane)
    }
    fn visit_i16x8_extract_lane_s(&mut self, lane: u8) -> CResult {
        self.v128_extract_lane(I16x8, Signed, lane)
    }
    fn visit_i16x8_extract_lane_u(&mut self, lane: u8) -> CResult {
        self.v128_extract_lane(I16x8, Unsigned, lane)
    }
    fn visit_i16x8_replace_lane(&mut self, lane: u8) -> CResult {
        self.v128_replace_lane(I16x8, lane)
    }
    fn visit_i32x4_extract_lane(&mut self, lane: u8) -> CResult {
        self.v128_extract_lane(I32x4, Unsigned, lane)
    }
    fn visit_i32x4_replace_lane(&mut self, lane: u8) -> CResult {
        self.v128_replace_lane(I32x4, lane)
    }
    fn visit_i64x2_extract_lane(&mut self, lane: u8) -> CResult {
        self.v128_extract_lane(I64x2, Unsigned, lane)
    }
    fn visit_i64x2_replace_lane(&mut self, lane: u8) -> CResult {
        self.v128_replace_lane(I64x2, lane)
    }
    fn visit_f32x4_extract_lane(&mut self, lane: u8) -> CResult {
        self.v128_extract_lane(F32x4, Unsigned, lane)
    }
    fn visit_f32x4_replace_lane(&mut self, lane: u8) -> CResult {
        self.v128_replace_lane(F32x4, lane)
    }
    fn visit_f64x2_extract_lane(&mut self, lane: u8) -> CResult {
        self.v128_extract_lane(F64x2, Unsigned, lane)
    }
    fn visit_f64x2_replace_lane(&mut self, lane: u8) -> CResult {
        self.v128_replace_lane(F64x2, lane)
    }
    fn visit_i8x16_swizzle(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Swizzle)
    }
    fn visit_i8x16_splat(&mut self) -> CResult {
        self.v128_splat(I8x16)
    }
    fn visit_i16x8_splat(&mut self) -> CResult {
        self.v128_splat(I16x8)
    }
    fn visit_i32x4_splat(&mut self) -> CResult {
        self.v128_splat(I32x4)
    }
    fn visit_i64x2_splat(&mut self) -> CResult {
        self.v128_splat(I64x2)
    }
    fn visit_f32x4_splat(&mut self) -> CResult {
        self.v128_splat(F32x4)
    }
    fn visit_f64x2_splat(&mut self) -> CResult {
        self.v128_splat(F64x2)
    }
    fn visit_i8x16_eq(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I8x16, IntCond::Eq))
    }
    fn visit_i8x16_ne(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I8x16, IntCond::Ne))
    }
    fn visit_i8x16_lt_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I8x16, IntCond::LtS))
    }
    fn visit_i8x16_lt_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I8x16, IntCond::LtU))
    }
    fn visit_i8x16_gt_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I8x16, IntCond::GtS))
    }
    fn visit_i8x16_gt_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I8x16, IntCond::GtU))
    }
    fn visit_i8x16_le_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I8x16, IntCond::LeS))
    }
    fn visit_i8x16_le_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I8x16, IntCond::LeU))
    }
    fn visit_i8x16_ge_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I8x16, IntCond::GeS))
    }
    fn visit_i8x16_ge_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I8x16, IntCond::GeU))
    }
    fn visit_i16x8_eq(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I16x8, IntCond::Eq))
    }
    fn visit_i16x8_ne(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I16x8, IntCond::Ne))
    }
    fn visit_i16x8_lt_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I16x8, IntCond::LtS))
    }
    fn visit_i16x8_lt_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I16x8, IntCond::LtU))
    }
    fn visit_i16x8_gt_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I16x8, IntCond::GtS))
    }
    fn visit_i16x8_gt_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I16x8, IntCond::GtU))
    }
    fn visit_i16x8_le_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I16x8, IntCond::LeS))
    }
    fn visit_i16x8_le_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I16x8, IntCond::LeU))
    }
    fn visit_i16x8_ge_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I16x8, IntCond::GeS))
    }
    fn visit_i16x8_ge_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I16x8, IntCond::GeU))
    }
    fn visit_i32x4_eq(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I32x4, IntCond::Eq))
    }
    fn visit_i32x4_ne(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I32x4, IntCond::Ne))
    }
    fn visit_i32x4_lt_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I32x4, IntCond::LtS))
    }
    fn visit_i32x4_lt_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I32x4, IntCond::LtU))
    }
    fn visit_i32x4_gt_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I32x4, IntCond::GtS))
    }
    fn visit_i32x4_gt_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I32x4, IntCond::GtU))
    }
    fn visit_i32x4_le_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I32x4, IntCond::LeS))
    }
    fn visit_i32x4_le_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I32x4, IntCond::LeU))
    }
    fn visit_i32x4_ge_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I32x4, IntCond::GeS))
    }
    fn visit_i32x4_ge_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I32x4, IntCond::GeU))
    }
    fn visit_i64x2_eq(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I64x2, IntCond::Eq))
    }
    fn visit_i64x2_ne(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I64x2, IntCond::Ne))
    }
    fn visit_i64x2_lt_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I64x2, IntCond::LtS))
    }
    fn visit_i64x2_gt_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I64x2, IntCond::GtS))
    }
    fn visit_i64x2_le_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I64x2, IntCond::LeS))
    }
    fn visit_i64x2_ge_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Compare(I64x2, IntCond::GeS))
    }
    fn visit_f32x4_eq(&mut self) -> CResult {
        self.v128_binop(VecBinOp::FloatCompare(F32x4, FloatCond::Eq))
    }
    fn visit_f32x4_ne(&mut self) -> CResult {
        self.v128_binop(VecBinOp::FloatCompare(F32x4, FloatCond::Ne))
    }
    fn visit_f32x4_lt(&mut self) -> CResult {
        self.v128_binop(VecBinOp::FloatCompare(F32x4, FloatCond::Lt))
    }
    fn visit_f32x4_gt(&mut self) -> CResult {
        self.v128_binop(VecBinOp::FloatCompare(F32x4, FloatCond::Gt))
    }
    fn visit_f32x4_le(&mut self) -> CResult {
        self.v128_binop(VecBinOp::FloatCompare(F32x4, FloatCond::Le))
    }
    fn visit_f32x4_ge(&mut self) -> CResult {
        self.v128_binop(VecBinOp::FloatCompare(F32x4, FloatCond::Ge))
    }
    fn visit_f64x2_eq(&mut self) -> CResult {
        self.v128_binop(VecBinOp::FloatCompare(F64x2, FloatCond::Eq))
    }
    fn visit_f64x2_ne(&mut self) -> CResult {
        self.v128_binop(VecBinOp::FloatCompare(F64x2, FloatCond::Ne))
    }
    fn visit_f64x2_lt(&mut self) -> CResult {
        self.v128_binop(VecBinOp::FloatCompare(F64x2, FloatCond::Lt))
    }
    fn visit_f64x2_gt(&mut self) -> CResult {
        self.v128_binop(VecBinOp::FloatCompare(F64x2, FloatCond::Gt))
    }
    fn visit_f64x2_le(&mut self) -> CResult {
        self.v128_binop(VecBinOp::FloatCompare(F64x2, FloatCond::Le))
    }
    fn visit_f64x2_ge(&mut self) -> CResult {
        self.v128_binop(VecBinOp::FloatCompare(F64x2, FloatCond::Ge))
    }
    fn visit_v128_not(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Not)
    }
    fn visit_v128_and(&mut self) -> CResult {
        self.v128_binop(VecBinOp::And)
    }
    fn visit_v128_andnot(&mut self) -> CResult {
        self.v128_binop(VecBinOp::AndNot)
    }
    fn visit_v128_or(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Or)
    }
    fn visit_v128_xor(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Xor)
    }
    fn visit_v128_bitselect(&mut self) -> CResult {
        self.v128_ternary(VecTernaryOp::Laneselect)
    }
    fn visit_v128_any_true(&mut self) -> CResult {
        self.v128_test(VecTest::AnyTrue)
    }
    fn visit_i8x16_abs(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Abs(I8x16))
    }
    fn visit_i8x16_neg(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Neg(I8x16))
    }
    fn visit_i8x16_popcnt(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Popcnt)
    }
    fn visit_i8x16_all_true(&mut self) -> CResult {
        self.v128_test(VecTest::AllTrue(I8x16))
    }
    fn visit_i8x16_bitmask(&mut self) -> CResult {
        self.v128_test(VecTest::Bitmask(I8x16))
    }
    fn visit_i8x16_narrow_i16x8_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Narrow(I8x16, Signed))
    }
    fn visit_i8x16_narrow_i16x8_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Narrow(I8x16, Unsigned))
    }
    fn visit_i8x16_shl(&mut self) -> CResult {
        self.v128_shift(ShiftOp::Shl, I8x16)
    }
    fn visit_i8x16_shr_s(&mut self) -> CResult {
        self.v128_shift(ShiftOp::ShrS, I8x16)
    }
    fn visit_i8x16_shr_u(&mut self) -> CResult {
        self.v128_shift(ShiftOp::ShrU, I8x16)
    }
    fn visit_i8x16_add(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Add(I8x16))
    }
    fn visit_i8x16_add_sat_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::AddSat(I8x16, Signed))
    }
    fn visit_i8x16_add_sat_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::AddSat(I8x16, Unsigned))
    }
    fn visit_i8x16_sub(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Sub(I8x16))
    }
    fn visit_i8x16_sub_sat_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::SubSat(I8x16, Signed))
    }
    fn visit_i8x16_sub_sat_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::SubSat(I8x16, Unsigned))
    }
    fn visit_i8x16_min_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Min(I8x16, Signed))
    }
    fn visit_i8x16_min_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Min(I8x16, Unsigned))
    }
    fn visit_i8x16_max_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Max(I8x16, Signed))
    }
    fn visit_i8x16_max_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Max(I8x16, Unsigned))
    }
    fn visit_i8x16_avgr_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::AvgrU(I8x16))
    }
    fn visit_i16x8_extadd_pairwise_i8x16_s(&mut self) -> CResult {
        self.v128_unop(VecUnOp::ExtAddPairwise(I16x8, Signed))
    }
    fn visit_i16x8_extadd_pairwise_i8x16_u(&mut self) -> CResult {
        self.v128_unop(VecUnOp::ExtAddPairwise(I16x8, Unsigned))
    }
    fn visit_i16x8_abs(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Abs(I16x8))
    }
    fn visit_i16x8_neg(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Neg(I16x8))
    }
    fn visit_i16x8_q15mulr_sat_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Q15MulrSat)
    }
    fn visit_i16x8_all_true(&mut self) -> CResult {
        self.v128_test(VecTest::AllTrue(I16x8))
    }
    fn visit_i16x8_bitmask(&mut self) -> CResult {
        self.v128_test(VecTest::Bitmask(I16x8))
    }
    fn visit_i16x8_narrow_i32x4_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Narrow(I16x8, Signed))
    }
    fn visit_i16x8_narrow_i32x4_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Narrow(I16x8, Unsigned))
    }
    fn visit_i16x8_extend_low_i8x16_s(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Extend(I16x8, Half::Low, Signed))
    }
    fn visit_i16x8_extend_high_i8x16_s(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Extend(I16x8, Half::High, Signed))
    }
    fn visit_i16x8_extend_low_i8x16_u(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Extend(I16x8, Half::Low, Unsigned))
    }
    fn visit_i16x8_extend_high_i8x16_u(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Extend(I16x8, Half::High, Unsigned))
    }
    fn visit_i16x8_shl(&mut self) -> CResult {
        self.v128_shift(ShiftOp::Shl, I16x8)
    }
    fn visit_i16x8_shr_s(&mut self) -> CResult {
        self.v128_shift(ShiftOp::ShrS, I16x8)
    }
    fn visit_i16x8_shr_u(&mut self) -> CResult {
        self.v128_shift(ShiftOp::ShrU, I16x8)
    }
    fn visit_i16x8_add(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Add(I16x8))
    }
    fn visit_i16x8_add_sat_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::AddSat(I16x8, Signed))
    }
    fn visit_i16x8_add_sat_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::AddSat(I16x8, Unsigned))
    }
    fn visit_i16x8_sub(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Sub(I16x8))
    }
    fn visit_i16x8_sub_sat_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::SubSat(I16x8, Signed))
    }
    fn visit_i16x8_sub_sat_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::SubSat(I16x8, Unsigned))
    }
    fn visit_i16x8_mul(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Mul(I16x8))
    }
    fn visit_i16x8_min_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Min(I16x8, Signed))
    }
    fn visit_i16x8_min_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Min(I16x8, Unsigned))
    }
    fn visit_i16x8_max_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Max(I16x8, Signed))
    }
    fn visit_i16x8_max_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Max(I16x8, Unsigned))
    }
    fn visit_i16x8_avgr_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::AvgrU(I16x8))
    }
    fn visit_i16x8_extmul_low_i8x16_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::ExtMul(I16x8, Half::Low, Signed))
    }
    fn visit_i16x8_extmul_high_i8x16_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::ExtMul(I16x8, Half::High, Signed))
    }
    fn visit_i16x8_extmul_low_i8x16_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::ExtMul(I16x8, Half::Low, Unsigned))
    }
    fn visit_i16x8_extmul_high_i8x16_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::ExtMul(I16x8, Half::High, Unsigned))
    }
    fn visit_i32x4_extadd_pairwise_i16x8_s(&mut self) -> CResult {
        self.v128_unop(VecUnOp::ExtAddPairwise(I32x4, Signed))
    }
    fn visit_i32x4_extadd_pairwise_i16x8_u(&mut self) -> CResult {
        self.v128_unop(VecUnOp::ExtAddPairwise(I32x4, Unsigned))
    }
    fn visit_i32x4_abs(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Abs(I32x4))
    }
    fn visit_i32x4_neg(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Neg(I32x4))
    }
    fn visit_i32x4_all_true(&mut self) -> CResult {
        self.v128_test(VecTest::AllTrue(I32x4))
    }
    fn visit_i32x4_bitmask(&mut self) -> CResult {
        self.v128_test(VecTest::Bitmask(I32x4))
    }
    fn visit_i32x4_extend_low_i16x8_s(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Extend(I32x4, Half::Low, Signed))
    }
    fn visit_i32x4_extend_high_i16x8_s(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Extend(I32x4, Half::High, Signed))
    }
    fn visit_i32x4_extend_low_i16x8_u(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Extend(I32x4, Half::Low, Unsigned))
    }
    fn visit_i32x4_extend_high_i16x8_u(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Extend(I32x4, Half::High, Unsigned))
    }
    fn visit_i32x4_shl(&mut self) -> CResult {
        self.v128_shift(ShiftOp::Shl, I32x4)
    }
    fn visit_i32x4_shr_s(&mut self) -> CResult {
        self.v128_shift(ShiftOp::ShrS, I32x4)
    }
    fn visit_i32x4_shr_u(&mut self) -> CResult {
        self.v128_shift(ShiftOp::ShrU, I32x4)
    }
    fn visit_i32x4_add(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Add(I32x4))
    }
    fn visit_i32x4_sub(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Sub(I32x4))
    }
    fn visit_i32x4_mul(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Mul(I32x4))
    }
    fn visit_i32x4_min_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Min(I32x4, Signed))
    }
    fn visit_i32x4_min_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Min(I32x4, Unsigned))
    }
    fn visit_i32x4_max_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Max(I32x4, Signed))
    }
    fn visit_i32x4_max_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Max(I32x4, Unsigned))
    }
    fn visit_i32x4_dot_i16x8_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Dot)
    }
    fn visit_i32x4_extmul_low_i16x8_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::ExtMul(I32x4, Half::Low, Signed))
    }
    fn visit_i32x4_extmul_high_i16x8_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::ExtMul(I32x4, Half::High, Signed))
    }
    fn visit_i32x4_extmul_low_i16x8_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::ExtMul(I32x4, Half::Low, Unsigned))
    }
    fn visit_i32x4_extmul_high_i16x8_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::ExtMul(I32x4, Half::High, Unsigned))
    }
    fn visit_i64x2_abs(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Abs(I64x2))
    }
    fn visit_i64x2_neg(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Neg(I64x2))
    }
    fn visit_i64x2_all_true(&mut self) -> CResult {
        self.v128_test(VecTest::AllTrue(I64x2))
    }
    fn visit_i64x2_bitmask(&mut self) -> CResult {
        self.v128_test(VecTest::Bitmask(I64x2))
    }
    fn visit_i64x2_extend_low_i32x4_s(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Extend(I64x2, Half::Low, Signed))
    }
    fn visit_i64x2_extend_high_i32x4_s(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Extend(I64x2, Half::High, Signed))
    }
    fn visit_i64x2_extend_low_i32x4_u(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Extend(I64x2, Half::Low, Unsigned))
    }
    fn visit_i64x2_extend_high_i32x4_u(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Extend(I64x2, Half::High, Unsigned))
    }
    fn visit_i64x2_shl(&mut self) -> CResult {
        self.v128_shift(ShiftOp::Shl, I64x2)
    }
    fn visit_i64x2_shr_s(&mut self) -> CResult {
        self.v128_shift(ShiftOp::ShrS, I64x2)
    }
    fn visit_i64x2_shr_u(&mut self) -> CResult {
        self.v128_shift(ShiftOp::ShrU, I64x2)
    }
    fn visit_i64x2_add(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Add(I64x2))
    }
    fn visit_i64x2_sub(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Sub(I64x2))
    }
    fn visit_i64x2_mul(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Mul(I64x2))
    }
    fn visit_i64x2_extmul_low_i32x4_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::ExtMul(I64x2, Half::Low, Signed))
    }
    fn visit_i64x2_extmul_high_i32x4_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::ExtMul(I64x2, Half::High, Signed))
    }
    fn visit_i64x2_extmul_low_i32x4_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::ExtMul(I64x2, Half::Low, Unsigned))
    }
    fn visit_i64x2_extmul_high_i32x4_u(&mut self) -> CResult {
        self.v128_binop(VecBinOp::ExtMul(I64x2, Half::High, Unsigned))
    }
    fn visit_f32x4_ceil(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Float(F32x4, FloatUnOp::Ceil))
    }
    fn visit_f32x4_floor(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Float(F32x4, FloatUnOp::Floor))
    }
    fn visit_f32x4_trunc(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Float(F32x4, FloatUnOp::Trunc))
    }
    fn visit_f32x4_nearest(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Float(F32x4, FloatUnOp::Nearest))
    }
    fn visit_f32x4_abs(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Float(F32x4, FloatUnOp::Abs))
    }
    fn visit_f32x4_neg(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Float(F32x4, FloatUnOp::Neg))
    }
    fn visit_f32x4_sqrt(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Float(F32x4, FloatUnOp::Sqrt))
    }
    fn visit_f32x4_add(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Float(F32x4, FloatBinOp::Add))
    }
    fn visit_f32x4_sub(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Float(F32x4, FloatBinOp::Sub))
    }
    fn visit_f32x4_mul(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Float(F32x4, FloatBinOp::Mul))
    }
    fn visit_f32x4_div(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Float(F32x4, FloatBinOp::Div))
    }
    fn visit_f32x4_min(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Float(F32x4, FloatBinOp::Min))
    }
    fn visit_f32x4_max(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Float(F32x4, FloatBinOp::Max))
    }
    fn visit_f32x4_pmin(&mut self) -> CResult {
        self.v128_binop(VecBinOp::PseudoMin(F32x4))
    }
    fn visit_f32x4_pmax(&mut self) -> CResult {
        self.v128_binop(VecBinOp::PseudoMax(F32x4))
    }
    fn visit_f64x2_ceil(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Float(F64x2, FloatUnOp::Ceil))
    }
    fn visit_f64x2_floor(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Float(F64x2, FloatUnOp::Floor))
    }
    fn visit_f64x2_trunc(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Float(F64x2, FloatUnOp::Trunc))
    }
    fn visit_f64x2_nearest(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Float(F64x2, FloatUnOp::Nearest))
    }
    fn visit_f64x2_abs(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Float(F64x2, FloatUnOp::Abs))
    }
    fn visit_f64x2_neg(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Float(F64x2, FloatUnOp::Neg))
    }
    fn visit_f64x2_sqrt(&mut self) -> CResult {
        self.v128_unop(VecUnOp::Float(F64x2, FloatUnOp::Sqrt))
    }
    fn visit_f64x2_add(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Float(F64x2, FloatBinOp::Add))
    }
    fn visit_f64x2_sub(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Float(F64x2, FloatBinOp::Sub))
    }
    fn visit_f64x2_mul(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Float(F64x2, FloatBinOp::Mul))
    }
    fn visit_f64x2_div(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Float(F64x2, FloatBinOp::Div))
    }
    fn visit_f64x2_min(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Float(F64x2, FloatBinOp::Min))
    }
    fn visit_f64x2_max(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Float(F64x2, FloatBinOp::Max))
    }
    fn visit_f64x2_pmin(&mut self) -> CResult {
        self.v128_binop(VecBinOp::PseudoMin(F64x2))
    }
    fn visit_f64x2_pmax(&mut self) -> CResult {
        self.v128_binop(VecBinOp::PseudoMax(F64x2))
    }
    fn visit_i32x4_trunc_sat_f32x4_s(&mut self) -> CResult {
        self.v128_unop(VecUnOp::TruncSatF32x4ToI32x4(Signed))
    }
    fn visit_i32x4_trunc_sat_f32x4_u(&mut self) -> CResult {
        self.v128_unop(VecUnOp::TruncSatF32x4ToI32x4(Unsigned))
    }
    fn visit_f32x4_convert_i32x4_s(&mut self) -> CResult {
        self.v128_unop(VecUnOp::ConvertI32x4ToF32x4(Signed))
    }
    fn visit_f32x4_convert_i32x4_u(&mut self) -> CResult {
        self.v128_unop(VecUnOp::ConvertI32x4ToF32x4(Unsigned))
    }
    fn visit_i32x4_trunc_sat_f64x2_s_zero(&mut self) -> CResult {
        self.v128_unop(VecUnOp::TruncSatF64x2ToI32x4Zero(Signed))
    }
    fn visit_i32x4_trunc_sat_f64x2_u_zero(&mut self) -> CResult {
        self.v128_unop(VecUnOp::TruncSatF64x2ToI32x4Zero(Unsigned))
    }
    fn visit_f64x2_convert_low_i32x4_s(&mut self) -> CResult {
        self.v128_unop(VecUnOp::ConvertLowI32x4ToF64x2(Signed))
    }
    fn visit_f64x2_convert_low_i32x4_u(&mut self) -> CResult {
        self.v128_unop(VecUnOp::ConvertLowI32x4ToF64x2(Unsigned))
    }
    fn visit_f32x4_demote_f64x2_zero(&mut self) -> CResult {
        self.v128_unop(VecUnOp::DemoteF64x2Zero)
    }
    fn visit_f64x2_promote_low_f32x4(&mut self) -> CResult {
        self.v128_unop(VecUnOp::PromoteLowF32x4)
    }

    // Relaxed SIMD: each operation takes the deterministic result of its non-relaxed
    // counterpart (or, for the dot products, what pmaddubsw gives), which the proposal
    // allows.
    fn visit_i8x16_relaxed_swizzle(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Swizzle)
    }
    fn visit_i32x4_relaxed_trunc_f32x4_s(&mut self) -> CResult {
        self.v128_unop(VecUnOp::TruncSatF32x4ToI32x4(Signed))
    }
    fn visit_i32x4_relaxed_trunc_f32x4_u(&mut self) -> CResult {
        self.v128_unop(VecUnOp::TruncSatF32x4ToI32x4(Unsigned))
    }
    fn visit_i32x4_relaxed_trunc_f64x2_s_zero(&mut self) -> CResult {
        self.v128_unop(VecUnOp::TruncSatF64x2ToI32x4Zero(Signed))
    }
    fn visit_i32x4_relaxed_trunc_f64x2_u_zero(&mut self) -> CResult {
        self.v128_unop(VecUnOp::TruncSatF64x2ToI32x4Zero(Unsigned))
    }
    fn visit_f32x4_relaxed_madd(&mut self) -> CResult {
        self.v128_ternary(VecTernaryOp::Madd(F32x4))
    }
    fn visit_f32x4_relaxed_nmadd(&mut self) -> CResult {
        self.v128_ternary(VecTernaryOp::Nmadd(F32x4))
    }
    fn visit_f64x2_relaxed_madd(&mut self) -> CResult {
        self.v128_ternary(VecTernaryOp::Madd(F64x2))
    }
    fn visit_f64x2_relaxed_nmadd(&mut self) -> CResult {
        self.v128_ternary(VecTernaryOp::Nmadd(F64x2))
    }
    fn visit_i8x16_relaxed_laneselect(&mut self) -> CResult {
        self.v128_ternary(VecTernaryOp::Laneselect)
    }
    fn visit_i16x8_relaxed_laneselect(&mut self) -> CResult {
        self.v128_ternary(VecTernaryOp::Laneselect)
    }
    fn visit_i32x4_relaxed_laneselect(&mut self) -> CResult {
        self.v128_ternary(VecTernaryOp::Laneselect)
    }
    fn visit_i64x2_relaxed_laneselect(&mut self) -> CResult {
        self.v128_ternary(VecTernaryOp::Laneselect)
    }
    fn visit_f32x4_relaxed_min(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Float(F32x4, FloatBinOp::Min))
    }
    fn visit_f32x4_relaxed_max(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Float(F32x4, FloatBinOp::Max))
    }
    fn visit_f64x2_relaxed_min(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Float(F64x2, FloatBinOp::Min))
    }
    fn visit_f64x2_relaxed_max(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Float(F64x2, FloatBinOp::Max))
    }
    fn visit_i16x8_relaxed_q15mulr_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::Q15MulrSat)
    }
    fn visit_i16x8_relaxed_dot_i8x16_i7x16_s(&mut self) -> CResult {
        self.v128_binop(VecBinOp::RelaxedDot)
    }
    fn visit_i32x4_relaxed_dot_i8x16_i7x16_add_s(&mut self) -> CResult {
        self.v128_ternary(VecTernaryOp::DotAdd)
    }
}

impl FuncCompiler<'_> {
    /// A temporary xmm register for operations that need one besides the scratch.
    fn vector_temp(&mut self, needed: bool, avoid: &[Reg]) -> Option<Reg> {
        needed.then(|| self.alloc_except(true, RegSet::from_regs(avoid)))
    }

    fn v128_const(&mut self, bits: u128) -> CResult {
        let r = self.alloc(true);
        self.masm.load_v128_const(r, bits);
        self.push_reg(V128Type, r);
        Ok(())
    }

    fn v128_binop(&mut self, op: VecBinOp) -> CResult {
        let mut b = self.pop();
        let mut a = self.pop();
        // A pinned local the next operator sets takes the result in its own register.
        let target = self.result_target(&mut a, &mut b, false);
        let (dst, result) = self.result_register(a, target);
        let src = self.in_reg_except(b, RegSet::from_regs(&[dst]));
        let tmp = self.vector_temp(needs_temp_bin(op), &[dst, src]);
        self.masm.vec_binop(op, dst, src, tmp.unwrap_or(dst));
        self.free_reg(src);
        if let Some(t) = tmp {
            self.free_reg(t);
        }
        self.push(V128Type, result);
        Ok(())
    }

    fn v128_unop(&mut self, op: VecUnOp) -> CResult {
        let a = self.pop();
        let dst = self.in_reg(a);
        let tmp = self.vector_temp(needs_temp_un(op), &[dst]);
        self.masm.vec_unop(op, dst, tmp.unwrap_or(dst));
        if let Some(t) = tmp {
            self.free_reg(t);
        }
        self.push_reg(V128Type, dst);
        Ok(())
    }

    fn v128_test(&mut self, op: VecTest) -> CResult {
        let a = self.pop();
        let src = self.in_reg(a);
        let dst = self.alloc(false);
        self.masm.vec_test(op, dst, src);
        self.free_reg(src);
        self.push_reg(ValType::I32, dst);
        Ok(())
    }

    fn v128_shift(&mut self, op: ShiftOp, lanes: Lanes) -> CResult {
        let amount = self.pop();
        let v = self.pop();
        let dst = self.in_reg(v);
        let mask = lanes.lane_bits() as i64 - 1;
        let amount = match amount.loc {
            Loc::Const(c) => ShiftAmount::Imm((c & mask) as u8),
            _ => ShiftAmount::Reg(self.in_reg(amount)),
        };
        let tmp = self.alloc_except(true, RegSet::from_regs(&[dst]));
        self.masm.vec_shift(op, lanes, dst, amount, tmp);
        self.free_reg(tmp);
        if let ShiftAmount::Reg(r) = amount {
            self.free_reg(r);
        }
        self.push_reg(V128Type, dst);
        Ok(())
    }

    fn v128_splat(&mut self, lanes: Lanes) -> CResult {
        let x = self.pop();
        let src = self.in_reg(x);
        let dst = if src.is_xmm() { src } else { self.alloc(true) };
        self.masm.vec_splat(lanes, dst, src);
        if dst != src {
            self.free_reg(src);
        }
        self.push_reg(V128Type, dst);
        Ok(())
    }

    fn v128_extract_lane(&mut self, lanes: Lanes, sign: Signedness, lane: u8) -> CResult {
        let v = self.pop();
        let src = self.in_reg(v);
        let ty = match lanes {
            I8x16 | I16x8 | I32x4 => ValType::I32,
            I64x2 => ValType::I64,
            F32x4 => ValType::F32,
            F64x2 => ValType::F64,
        };
        let dst = self.alloc_except(ty.in_xmm(), RegSet::from_regs(&[src]));
        self.masm.vec_extract_lane(lanes, sign, lane, dst, src);
        self.free_reg(src);
        self.push_reg(ty, dst);
        Ok(())
    }

    fn v128_replace_lane(&mut self, lanes: Lanes, lane: u8) -> CResult {
        let x = self.pop();
        let v = self.pop();
        let dst = self.in_reg(v);
        let src = self.in_reg_except(x, RegSet::from_regs(&[dst]));
        self.masm.vec_replace_lane(lanes, lane, dst, src);
        self.free_reg(src);
        self.push_reg(V128Type, dst);
        Ok(())
    }

    fn v128_ternary(&mut self, op: VecTernaryOp) -> CResult {
        let c = self.pop();
        let b = self.pop();
        let a = self.pop();
        let dst = self.in_reg(a);
        let rb = self.in_reg_except(b, RegSet::from_regs(&[dst]));
        let rc = self.in_reg_except(c, RegSet::from_regs(&[dst, rb]));
        self.masm.vec_ternary(op, dst, rb, rc);
        self.free_reg(rb);
        self.free_reg(rc);
        self.push_reg(V128Type, dst);
        Ok(())
    }

    fn v128_shuffle(&mut self, lanes: [u8; 16]) -> CResult {
        let b = self.pop();
        let a = self.pop();
        // A lane of an operand known to be zero is a zero byte (`None`); when the others
        // all come from one operand, a permutation of that one alone does.
        let zero = [self.is_zero_v128(a), self.is_zero_v128(b)];
        let bytes = lanes.map(|lane| (!zero[usize::from(lane / 16)]).then_some(lane));
        let reads_a = bytes.iter().flatten().any(|&lane| lane < 16);
        let reads_b = bytes.iter().flatten().any(|&lane| lane >= 16);
        if !(reads_a && reads_b) {
            let (kept, unread, first) = if reads_b { (b, a, 16) } else { (a, b, 0) };
            self.release(unread);
            let dst = self.in_reg(kept);
            self.masm.vec_permute(bytes.map(|lane| lane.map(|lane| lane - first)), dst);
            self.push_reg(V128Type, dst);
            return Ok(());
        }
        let dst = self.in_reg(a);
        let src = self.in_reg_except(b, RegSet::from_regs(&[dst]));
        self.masm.vec_shuffle(lanes, dst, src);
        self.free_reg(src);
        self.push_reg(V128Type, dst);
        Ok(())
    }

    fn v128_load(&mut self, kind: VecLoadKind, memarg: MemArg) -> CResult {
        let memory = self.memory_of(&memarg)?;
        let addr = self.pop();
        let (mem, addr_reg) = self.memory_operand(addr, memory, memarg.offset, kind.bytes());
        let dst = self.alloc(true);
        self.masm.vec_load(kind, dst, mem);
        if let Some(r) = addr_reg {
            self.free_reg(r);
        }
        self.push_reg(V128Type, dst);
        Ok(())
    }

    fn v128_load_lane(&mut self, lanes: Lanes, lane: u8, memarg: MemArg) -> CResult {
        let memory = self.memory_of(&memarg)?;
        let v = self.pop();
        let addr = self.pop();
        let dst = self.in_reg(v);
        let bytes = lanes.lane_bits() as u64 / 8;
        let (mem, addr_reg) = self.memory_operand(addr, memory, memarg.offset, bytes);
        self.masm.vec_load_lane(lanes, lane, dst, mem);
        if let Some(r) = addr_reg {
            self.free_reg(r);
        }
        self.push_reg(V128Type, dst);
        Ok(())
    }

    fn v128_store_lane(&mut self, lanes: Lanes, lane: u8, memarg: MemArg) -> CResult {
        let memory = self.memory_of(&memarg)?;
        let v = self.pop();
        let addr = self.pop();
        let src = self.in_reg(v);
        let bytes = lanes.lane_bits() as u64 / 8;
        let (mem, addr_reg) =
            self.memory_operand_except(addr, memory, memarg.offset, bytes, RegSet::from_regs(&[src]));
        self.masm.vec_store_lane(lanes, lane, src, mem);
        self.free_reg(src);
        if let Some(r) = addr_reg {
            self.free_reg(r);
        }
        Ok(())
    }
}

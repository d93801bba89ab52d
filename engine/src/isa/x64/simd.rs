//! Instruction selection for v128 operations, on SSE4.2 (with SSSE3's `pshufb`,
//! `pabs*`, `pmaddubsw`, `pmulhrsw`). Operations compute into their first operand's
//! register; the second operand's register belongs to the operation too (the compiler
//! frees it afterwards), so sequences may clobber it. `FLOAT_SCRATCH` (xmm15) is free for
//! any single operation; those that need one more register get `tmp` from the compiler
//! (see `needs_temp`).

use super::asm::{Cc, Mem, SseOp};
use super::masm::Masm;
use super::regs::*;
use crate::compiler::masm::*;

// Opcodes, by their Intel mnemonics (public for tests/encoding.rs, which decodes each).
pub const PAND: SseOp = SseOp::p66(0x0FDB);
pub const PANDN: SseOp = SseOp::p66(0x0FDF);
pub const POR: SseOp = SseOp::p66(0x0FEB);
pub const PXOR: SseOp = SseOp::p66(0x0FEF);
pub const PADD: [SseOp; 4] = [SseOp::p66(0x0FFC), SseOp::p66(0x0FFD), SseOp::p66(0x0FFE), SseOp::p66(0x0FD4)];
pub const PSUB: [SseOp; 4] = [SseOp::p66(0x0FF8), SseOp::p66(0x0FF9), SseOp::p66(0x0FFA), SseOp::p66(0x0FFB)];
pub const PADDS: [SseOp; 2] = [SseOp::p66(0x0FEC), SseOp::p66(0x0FED)];
pub const PADDUS: [SseOp; 2] = [SseOp::p66(0x0FDC), SseOp::p66(0x0FDD)];
pub const PSUBS: [SseOp; 2] = [SseOp::p66(0x0FE8), SseOp::p66(0x0FE9)];
pub const PSUBUS: [SseOp; 2] = [SseOp::p66(0x0FD8), SseOp::p66(0x0FD9)];
pub const PMINS: [SseOp; 3] = [SseOp::p66(0x0F3838), SseOp::p66(0x0FEA), SseOp::p66(0x0F3839)];
pub const PMINU: [SseOp; 3] = [SseOp::p66(0x0FDA), SseOp::p66(0x0F383A), SseOp::p66(0x0F383B)];
pub const PMAXS: [SseOp; 3] = [SseOp::p66(0x0F383C), SseOp::p66(0x0FEE), SseOp::p66(0x0F383D)];
pub const PMAXU: [SseOp; 3] = [SseOp::p66(0x0FDE), SseOp::p66(0x0F383E), SseOp::p66(0x0F383F)];
pub const PAVG: [SseOp; 2] = [SseOp::p66(0x0FE0), SseOp::p66(0x0FE3)];
pub const PCMPEQ: [SseOp; 4] =
    [SseOp::p66(0x0F74), SseOp::p66(0x0F75), SseOp::p66(0x0F76), SseOp::p66(0x0F3829)];
pub const PCMPGT: [SseOp; 4] =
    [SseOp::p66(0x0F64), SseOp::p66(0x0F65), SseOp::p66(0x0F66), SseOp::p66(0x0F3837)];
pub const PMULLW: SseOp = SseOp::p66(0x0FD5);
pub const PMULLD: SseOp = SseOp::p66(0x0F3840);
pub const PMULHW: SseOp = SseOp::p66(0x0FE5);
pub const PMULHUW: SseOp = SseOp::p66(0x0FE4);
pub const PMULUDQ: SseOp = SseOp::p66(0x0FF4);
pub const PMULDQ: SseOp = SseOp::p66(0x0F3828);
pub const PMULHRSW: SseOp = SseOp::p66(0x0F380B);
pub const PMADDWD: SseOp = SseOp::p66(0x0FF5);
pub const PMADDUBSW: SseOp = SseOp::p66(0x0F3804);
pub const PACKSSWB: SseOp = SseOp::p66(0x0F63);
pub const PACKSSDW: SseOp = SseOp::p66(0x0F6B);
pub const PACKUSWB: SseOp = SseOp::p66(0x0F67);
pub const PACKUSDW: SseOp = SseOp::p66(0x0F382B);
pub const PUNPCKLBW: SseOp = SseOp::p66(0x0F60);
pub const PUNPCKHBW: SseOp = SseOp::p66(0x0F68);
pub const PUNPCKLWD: SseOp = SseOp::p66(0x0F61);
pub const PUNPCKHWD: SseOp = SseOp::p66(0x0F69);
pub const PUNPCKLDQ: SseOp = SseOp::p66(0x0F62);
pub const PUNPCKHDQ: SseOp = SseOp::p66(0x0F6A);
pub const PUNPCKLQDQ: SseOp = SseOp::p66(0x0F6C);
pub const PUNPCKHQDQ: SseOp = SseOp::p66(0x0F6D);
pub const PSHUFB: SseOp = SseOp::p66(0x0F3800);
pub const PSHUFD: SseOp = SseOp::p66(0x0F70);
pub const PSHUFLW: SseOp = SseOp::with_prefix(0xF2, 0x0F70);
pub const PABS: [SseOp; 3] = [SseOp::p66(0x0F381C), SseOp::p66(0x0F381D), SseOp::p66(0x0F381E)];
pub const PMOVSX: [SseOp; 3] = [SseOp::p66(0x0F3820), SseOp::p66(0x0F3823), SseOp::p66(0x0F3825)];
pub const PMOVZX: [SseOp; 3] = [SseOp::p66(0x0F3830), SseOp::p66(0x0F3833), SseOp::p66(0x0F3835)];
pub const PTEST: SseOp = SseOp::p66(0x0F3817);
pub const PMOVMSKB: SseOp = SseOp::p66(0x0FD7);
pub const MOVMSKPS: SseOp = SseOp::np(0x0F50);
pub const MOVMSKPD: SseOp = SseOp::p66(0x0F50);
/// Shifts by the count in an xmm register: [logical left, arithmetic right, logical right]
/// for 16-, 32- and 64-bit lanes (no 64-bit arithmetic shift exists).
pub const PSLL: [SseOp; 3] = [SseOp::p66(0x0FF1), SseOp::p66(0x0FF2), SseOp::p66(0x0FF3)];
pub const PSRA: [SseOp; 2] = [SseOp::p66(0x0FE1), SseOp::p66(0x0FE2)];
pub const PSRL: [SseOp; 3] = [SseOp::p66(0x0FD1), SseOp::p66(0x0FD2), SseOp::p66(0x0FD3)];
/// Shifts by an immediate: `66 0F 71/72/73 /digit ib`.
pub const PSHIFT_IMM: [SseOp; 3] = [SseOp::p66(0x0F71), SseOp::p66(0x0F72), SseOp::p66(0x0F73)];
pub const SHL_DIGIT: u8 = 6;
pub const SAR_DIGIT: u8 = 4;
pub const SHR_DIGIT: u8 = 2;
/// `psrldq` and `pslldq` (whole-register byte shifts) in the 64-bit group (`0F 73`).
pub const BYTES_RIGHT_DIGIT: u8 = 3;
pub const BYTES_LEFT_DIGIT: u8 = 7;
pub const PEXTRB: SseOp = SseOp::p66(0x0F3A14);
pub const PEXTRW_MEM: SseOp = SseOp::p66(0x0F3A15);
pub const PEXTRW: SseOp = SseOp::p66(0x0FC5);
pub const PEXTRD: SseOp = SseOp::p66(0x0F3A16);
pub const PINSRB: SseOp = SseOp::p66(0x0F3A20);
pub const PINSRW: SseOp = SseOp::p66(0x0FC4);
pub const PINSRD: SseOp = SseOp::p66(0x0F3A22);
pub const INSERTPS: SseOp = SseOp::p66(0x0F3A21);
pub const MOVD_TO_XMM: SseOp = SseOp::p66(0x0F6E);
pub const MOVSS_LOAD: SseOp = SseOp::with_prefix(0xF3, 0x0F10);
pub const MOVSD_RR: SseOp = SseOp::with_prefix(0xF2, 0x0F10);
pub const MOVQ_LOAD: SseOp = SseOp::with_prefix(0xF3, 0x0F7E);
pub const MOVDDUP: SseOp = SseOp::with_prefix(0xF2, 0x0F12);
pub const MOVLHPS: SseOp = SseOp::np(0x0F16);
pub const UNPCKLPS: SseOp = SseOp::np(0x0F14);
pub const SHUFPS: SseOp = SseOp::np(0x0FC6);
pub const CVTDQ2PS: SseOp = SseOp::np(0x0F5B);
pub const CVTTPS2DQ: SseOp = SseOp::with_prefix(0xF3, 0x0F5B);
pub const CVTDQ2PD: SseOp = SseOp::with_prefix(0xF3, 0x0FE6);
pub const CVTTPD2DQ: SseOp = SseOp::p66(0x0FE6);
pub const CVTPS2PD: SseOp = SseOp::np(0x0F5A);
pub const CVTPD2PS: SseOp = SseOp::p66(0x0F5A);

/// A packed float instruction in its single (no prefix) or double (0x66) form.
pub fn packed(lanes: Lanes, opcode: u32) -> SseOp {
    if lanes == Lanes::F64x2 {
        SseOp::p66(opcode)
    } else {
        SseOp::np(opcode)
    }
}

pub const ADDP: u32 = 0x0F58;
pub const SUBP: u32 = 0x0F5C;
pub const MULP: u32 = 0x0F59;
pub const DIVP: u32 = 0x0F5E;
pub const MINP: u32 = 0x0F5D;
pub const MAXP: u32 = 0x0F5F;
pub const SQRTP: u32 = 0x0F51;
pub const ANDP: u32 = 0x0F54;
pub const ANDNP: u32 = 0x0F55;
pub const ORP: u32 = 0x0F56;
pub const XORP: u32 = 0x0F57;
pub const CMPP: u32 = 0x0FC2;
pub const CMP_EQ: u8 = 0;
pub const CMP_LT: u8 = 1;
pub const CMP_LE: u8 = 2;
pub const CMP_UNORD: u8 = 3;
pub const CMP_NEQ: u8 = 4;

pub fn roundp(lanes: Lanes) -> SseOp {
    SseOp::p66(if lanes == Lanes::F64x2 { 0x0F3A09 } else { 0x0F3A08 })
}

/// Index of an integer shape in the opcode tables above (8-bit lanes first).
fn int_index(lanes: Lanes) -> usize {
    match lanes {
        Lanes::I8x16 => 0,
        Lanes::I16x8 => 1,
        Lanes::I32x4 | Lanes::F32x4 => 2,
        Lanes::I64x2 | Lanes::F64x2 => 3,
    }
}

/// `splat(x)` for a byte pattern, as a 128-bit constant.
fn splat_bytes(b: u8) -> u128 {
    u128::from_le_bytes([b; 16])
}

fn splat_u64(x: u64) -> u128 {
    (x as u128) << 64 | x as u128
}

fn splat_u32(x: u32) -> u128 {
    splat_u64((x as u64) << 32 | x as u64)
}

/// Whether `vec_binop`/`vec_unop` need a temporary xmm register besides `FLOAT_SCRATCH`.
pub fn needs_temp_bin(op: VecBinOp) -> bool {
    matches!(op, VecBinOp::Mul(Lanes::I64x2))
}

pub fn needs_temp_un(op: VecUnOp) -> bool {
    matches!(
        op,
        VecUnOp::Popcnt
            | VecUnOp::TruncSatF32x4ToI32x4(Signedness::Unsigned)
            | VecUnOp::TruncSatF64x2ToI32x4Zero(Signedness::Signed)
    )
}

impl Masm {
    fn sse(&mut self, op: SseOp, dst: Reg, src: Reg) {
        self.asm.sse_rr(op, dst, src);
    }

    fn all_ones(&mut self, r: Reg) {
        self.sse(PCMPEQ[2], r, r);
    }

    fn zero_vector(&mut self, r: Reg) {
        self.sse(PXOR, r, r);
    }

    fn shift_imm(&mut self, width: usize, digit: u8, r: Reg, amount: u8) {
        // width: 0 = 16-bit, 1 = 32-bit, 2 = 64-bit lanes.
        self.asm.sse_shift_imm(PSHIFT_IMM[width], digit, r, amount);
    }

    /// A 128-bit constant: `pxor` / `pcmpeqd` for all-zero / all-one bits, else one load
    /// from the function's constant pool.
    pub fn load_v128_const(&mut self, dst: Reg, bits: u128) {
        match bits {
            0 => self.zero_vector(dst),
            u128::MAX => self.all_ones(dst),
            _ => {
                let label = self.vector_constant(bits);
                self.asm.load_v128_rip(dst, label);
            }
        }
    }

    pub fn vec_move(&mut self, dst: Reg, src: Reg) {
        if dst != src {
            self.asm.movaps(dst, src);
        }
    }

    pub fn vec_binop(&mut self, op: VecBinOp, dst: Reg, src: Reg, tmp: Reg) {
        use Signedness::*;
        use VecBinOp::*;
        let s = FLOAT_SCRATCH;
        match op {
            And => self.sse(PAND, dst, src),
            Or => self.sse(POR, dst, src),
            Xor => self.sse(PXOR, dst, src),
            AndNot => {
                self.sse(PANDN, src, dst);
                self.vec_move(dst, src);
            }
            Add(l) => self.sse(PADD[int_index(l)], dst, src),
            Sub(l) => self.sse(PSUB[int_index(l)], dst, src),
            AddSat(l, Signed) => self.sse(PADDS[int_index(l)], dst, src),
            AddSat(l, Unsigned) => self.sse(PADDUS[int_index(l)], dst, src),
            SubSat(l, Signed) => self.sse(PSUBS[int_index(l)], dst, src),
            SubSat(l, Unsigned) => self.sse(PSUBUS[int_index(l)], dst, src),
            Mul(Lanes::I16x8) => self.sse(PMULLW, dst, src),
            Mul(Lanes::I64x2) => {
                // lo(a)*lo(b) + ((hi(a)*lo(b) + lo(a)*hi(b)) << 32), from 32x32->64 products.
                self.vec_move(s, dst);
                self.shift_imm(2, SHR_DIGIT, s, 32);
                self.sse(PMULUDQ, s, src);
                self.vec_move(tmp, src);
                self.shift_imm(2, SHR_DIGIT, tmp, 32);
                self.sse(PMULUDQ, tmp, dst);
                self.sse(PADD[3], s, tmp);
                self.shift_imm(2, SHL_DIGIT, s, 32);
                self.sse(PMULUDQ, dst, src);
                self.sse(PADD[3], dst, s);
            }
            Mul(_) => self.sse(PMULLD, dst, src),
            Min(l, Signed) => self.sse(PMINS[int_index(l)], dst, src),
            Min(l, Unsigned) => self.sse(PMINU[int_index(l)], dst, src),
            Max(l, Signed) => self.sse(PMAXS[int_index(l)], dst, src),
            Max(l, Unsigned) => self.sse(PMAXU[int_index(l)], dst, src),
            AvgrU(l) => self.sse(PAVG[int_index(l)], dst, src),
            Compare(l, cond) => self.vec_compare(l, cond, dst, src),
            Float(l, op) => self.vec_float_binop(l, op, dst, src),
            PseudoMin(l) => {
                // pmin(a, b) = b < a ? b : a, which is `minps b, a`.
                self.sse(packed(l, MINP), src, dst);
                self.vec_move(dst, src);
            }
            PseudoMax(l) => {
                self.sse(packed(l, MAXP), src, dst);
                self.vec_move(dst, src);
            }
            FloatCompare(l, cond) => {
                let (a, b, predicate) = match cond {
                    FloatCond::Eq => (dst, src, CMP_EQ),
                    FloatCond::Ne => (dst, src, CMP_NEQ),
                    FloatCond::Lt => (dst, src, CMP_LT),
                    FloatCond::Le => (dst, src, CMP_LE),
                    FloatCond::Gt => (src, dst, CMP_LT),
                    FloatCond::Ge => (src, dst, CMP_LE),
                };
                self.asm.sse_rri(packed(l, CMPP), a, b, predicate);
                self.vec_move(dst, a);
            }
            Narrow(Lanes::I8x16, Signed) => self.sse(PACKSSWB, dst, src),
            Narrow(Lanes::I8x16, Unsigned) => self.sse(PACKUSWB, dst, src),
            Narrow(_, Signed) => self.sse(PACKSSDW, dst, src),
            Narrow(_, Unsigned) => self.sse(PACKUSDW, dst, src),
            Q15MulrSat => {
                // pmulhrsw gives 0x8000 for 0x8000 * 0x8000, where wasm saturates to 0x7fff.
                self.sse(PMULHRSW, dst, src);
                self.all_ones(s);
                self.shift_imm(0, SHL_DIGIT, s, 15);
                self.sse(PCMPEQ[1], s, dst);
                self.sse(PXOR, dst, s);
            }
            Dot => self.sse(PMADDWD, dst, src),
            ExtMul(l, half, sign) => self.vec_extmul(l, half, sign, dst, src),
            RelaxedDot => {
                // pmaddubsw reads its first operand as unsigned bytes: b, the i7 one.
                self.sse(PMADDUBSW, src, dst);
                self.vec_move(dst, src);
            }
            Swizzle => {
                // Indices of 16 and more select zero: saturating-add 0x70 sets their top bit,
                // which is how pshufb selects zero.
                self.load_v128_const(s, splat_bytes(0x70));
                self.sse(PADDUS[0], s, src);
                self.sse(PSHUFB, dst, s);
            }
        }
    }

    fn not(&mut self, r: Reg) {
        self.all_ones(FLOAT_SCRATCH);
        self.sse(PXOR, r, FLOAT_SCRATCH);
    }

    fn vec_compare(&mut self, l: Lanes, cond: IntCond, dst: Reg, src: Reg) {
        let i = int_index(l);
        let s = FLOAT_SCRATCH;
        match cond {
            IntCond::Eq => self.sse(PCMPEQ[i], dst, src),
            IntCond::Ne => {
                self.sse(PCMPEQ[i], dst, src);
                self.not(dst);
            }
            IntCond::GtS => self.sse(PCMPGT[i], dst, src),
            IntCond::LtS => {
                self.sse(PCMPGT[i], src, dst);
                self.vec_move(dst, src);
            }
            IntCond::LeS => {
                self.sse(PCMPGT[i], dst, src);
                self.not(dst);
            }
            IntCond::GeS => {
                self.sse(PCMPGT[i], src, dst);
                self.not(src);
                self.vec_move(dst, src);
            }
            // Unsigned: a >= b exactly when max(a, b) == a.
            IntCond::GeU | IntCond::LtU => {
                self.vec_move(s, dst);
                self.sse(PMAXU[i], s, src);
                self.sse(PCMPEQ[i], dst, s);
                if cond == IntCond::LtU {
                    self.not(dst);
                }
            }
            IntCond::LeU | IntCond::GtU => {
                self.vec_move(s, dst);
                self.sse(PMINU[i], s, src);
                self.sse(PCMPEQ[i], dst, s);
                if cond == IntCond::GtU {
                    self.not(dst);
                }
            }
        }
    }

    fn vec_float_binop(&mut self, l: Lanes, op: FloatBinOp, dst: Reg, src: Reg) {
        let s = FLOAT_SCRATCH;
        // The shift that turns an all-ones NaN mask into the payload bits to clear.
        let (payload_shift, width) = if l == Lanes::F64x2 { (13, 2) } else { (10, 1) };
        match op {
            FloatBinOp::Add => self.sse(packed(l, ADDP), dst, src),
            FloatBinOp::Sub => self.sse(packed(l, SUBP), dst, src),
            FloatBinOp::Mul => self.sse(packed(l, MULP), dst, src),
            FloatBinOp::Div => self.sse(packed(l, DIVP), dst, src),
            // minps/maxps return the second operand when either is NaN and do not order
            // -0 and +0: both orders are computed and merged, then NaNs made canonical.
            FloatBinOp::Min => {
                self.vec_move(s, src);
                self.sse(packed(l, MINP), s, dst);
                self.sse(packed(l, MINP), dst, src);
                self.sse(packed(l, ORP), s, dst);
                self.asm.sse_rri(packed(l, CMPP), dst, s, CMP_UNORD);
                self.sse(packed(l, ORP), s, dst);
                self.shift_imm(width, SHR_DIGIT, dst, payload_shift);
                self.sse(packed(l, ANDNP), dst, s);
            }
            FloatBinOp::Max => {
                self.vec_move(s, src);
                self.sse(packed(l, MAXP), s, dst);
                self.sse(packed(l, MAXP), dst, src);
                self.sse(packed(l, XORP), dst, s);
                self.sse(packed(l, ORP), s, dst);
                self.sse(packed(l, SUBP), s, dst);
                self.asm.sse_rri(packed(l, CMPP), dst, s, CMP_UNORD);
                self.shift_imm(width, SHR_DIGIT, dst, payload_shift);
                self.sse(packed(l, ANDNP), dst, s);
            }
            FloatBinOp::Copysign => {
                let sign_bit = if l == Lanes::F64x2 { 63 } else { 31 };
                self.all_ones(s);
                self.shift_imm(width, SHL_DIGIT, s, sign_bit);
                self.sse(packed(l, ANDP), src, s);
                self.sse(packed(l, ANDNP), s, dst);
                self.sse(packed(l, ORP), s, src);
                self.vec_move(dst, s);
            }
        }
    }

    fn vec_extmul(&mut self, l: Lanes, half: Half, sign: Signedness, dst: Reg, src: Reg) {
        match l {
            Lanes::I16x8 => {
                for r in [dst, src] {
                    self.take_half(half, r);
                    let extend = if sign == Signedness::Signed { PMOVSX[0] } else { PMOVZX[0] };
                    self.sse(extend, r, r);
                }
                self.sse(PMULLW, dst, src);
            }
            Lanes::I32x4 => {
                let s = FLOAT_SCRATCH;
                self.vec_move(s, dst);
                self.sse(PMULLW, dst, src);
                self.sse(if sign == Signedness::Signed { PMULHW } else { PMULHUW }, s, src);
                self.sse(if half == Half::Low { PUNPCKLWD } else { PUNPCKHWD }, dst, s);
            }
            _ => {
                // Lanes 0, 0, 1, 1 (or 2, 2, 3, 3): the multiplier reads the even ones.
                let order = if half == Half::Low { 0x50 } else { 0xFA };
                self.asm.sse_rri(PSHUFD, dst, dst, order);
                self.asm.sse_rri(PSHUFD, src, src, order);
                self.sse(if sign == Signedness::Signed { PMULDQ } else { PMULUDQ }, dst, src);
            }
        }
    }

    /// Moves the high 64 bits to the low half, for operations that read the low half.
    fn take_half(&mut self, half: Half, r: Reg) {
        if half == Half::High {
            self.asm.sse_rri(PSHUFD, r, r, 0xEE);
        }
    }

    pub fn vec_unop(&mut self, op: VecUnOp, dst: Reg, tmp: Reg) {
        use Signedness::*;
        use VecUnOp::*;
        let s = FLOAT_SCRATCH;
        match op {
            Not => self.not(dst),
            Abs(Lanes::I64x2) => {
                // x ^ m - m, m = the sign as a mask.
                self.zero_vector(s);
                self.sse(PCMPGT[3], s, dst);
                self.sse(PXOR, dst, s);
                self.sse(PSUB[3], dst, s);
            }
            Abs(l) => self.sse(PABS[int_index(l)], dst, dst),
            Neg(l) => {
                self.zero_vector(s);
                self.sse(PSUB[int_index(l)], s, dst);
                self.vec_move(dst, s);
            }
            Popcnt => {
                // Per nibble, through a 16-entry table.
                self.vec_move(tmp, dst);
                self.shift_imm(0, SHR_DIGIT, tmp, 4);
                self.load_v128_const(s, splat_bytes(0x0F));
                self.sse(PAND, tmp, s);
                self.sse(PAND, dst, s);
                let table = u128::from_le_bytes([0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4]);
                self.load_v128_const(s, table);
                self.sse(PSHUFB, s, dst);
                self.load_v128_const(dst, table);
                self.sse(PSHUFB, dst, tmp);
                self.sse(PADD[0], dst, s);
            }
            Float(l, op) => self.vec_float_unop(l, op, dst),
            Extend(l, half, sign) => {
                self.take_half(half, dst);
                let i = int_index(l) - 1;
                self.sse(if sign == Signed { PMOVSX[i] } else { PMOVZX[i] }, dst, dst);
            }
            ExtAddPairwise(Lanes::I16x8, sign) => {
                // pmaddubsw multiplies unsigned bytes (first operand) by signed ones.
                self.all_ones(s);
                self.sse(PABS[0], s, s);
                if sign == Signed {
                    self.sse(PMADDUBSW, s, dst);
                    self.vec_move(dst, s);
                } else {
                    self.sse(PMADDUBSW, dst, s);
                }
            }
            ExtAddPairwise(_, sign) => {
                if sign == Unsigned {
                    // Bias to signed, then add 2 * 0x8000 back.
                    self.all_ones(s);
                    self.shift_imm(0, SHL_DIGIT, s, 15);
                    self.sse(PXOR, dst, s);
                }
                self.all_ones(s);
                self.shift_imm(0, SHR_DIGIT, s, 15);
                self.sse(PMADDWD, dst, s);
                if sign == Unsigned {
                    self.load_v128_const(s, splat_u32(0x10000));
                    self.sse(PADD[2], dst, s);
                }
            }
            ConvertI32x4ToF32x4(Signed) => self.sse(CVTDQ2PS, dst, dst),
            ConvertI32x4ToF32x4(Unsigned) => {
                // The low 16 bits convert exactly; the rest, halved to stay signed, is
                // converted and doubled.
                self.vec_move(s, dst);
                self.shift_imm(1, SHL_DIGIT, s, 16);
                self.shift_imm(1, SHR_DIGIT, s, 16);
                self.sse(PSUB[2], dst, s);
                self.sse(CVTDQ2PS, s, s);
                self.shift_imm(1, SHR_DIGIT, dst, 1);
                self.sse(CVTDQ2PS, dst, dst);
                self.sse(packed(Lanes::F32x4, ADDP), dst, dst);
                self.sse(packed(Lanes::F32x4, ADDP), dst, s);
            }
            TruncSatF32x4ToI32x4(Signed) => {
                // NaN -> 0; cvttps2dq gives 0x80000000 on overflow, which positive lanes
                // turn into 0x7fffffff.
                self.vec_move(s, dst);
                self.asm.sse_rri(packed(Lanes::F32x4, CMPP), s, s, CMP_EQ);
                self.sse(PAND, dst, s);
                self.sse(PXOR, s, dst);
                self.sse(CVTTPS2DQ, dst, dst);
                self.sse(PAND, s, dst);
                self.shift_imm(1, SAR_DIGIT, s, 31);
                self.sse(PXOR, dst, s);
            }
            TruncSatF32x4ToI32x4(Unsigned) => {
                // NaN and negatives -> 0; lanes of 2^31 and more convert `x - 2^31` and add.
                self.zero_vector(tmp);
                self.sse(packed(Lanes::F32x4, MAXP), dst, tmp);
                self.all_ones(s);
                self.shift_imm(1, SHR_DIGIT, s, 1);
                self.sse(CVTDQ2PS, s, s);
                self.vec_move(tmp, dst);
                self.sse(packed(Lanes::F32x4, SUBP), tmp, s);
                self.asm.sse_rri(packed(Lanes::F32x4, CMPP), s, tmp, CMP_LE);
                self.sse(CVTTPS2DQ, tmp, tmp);
                self.sse(PXOR, tmp, s);
                self.zero_vector(s);
                self.sse(PMAXS[2], tmp, s);
                self.sse(CVTTPS2DQ, dst, dst);
                self.sse(PADD[2], dst, tmp);
            }
            ConvertLowI32x4ToF64x2(Signed) => self.sse(CVTDQ2PD, dst, dst),
            ConvertLowI32x4ToF64x2(Unsigned) => {
                // 2^52 + x has x in its significand: build it bitwise, subtract 2^52.
                self.load_v128_const(s, splat_u32(0x4330_0000));
                self.sse(UNPCKLPS, dst, s);
                self.load_v128_const(s, splat_u64(0x4330_0000_0000_0000));
                self.sse(packed(Lanes::F64x2, SUBP), dst, s);
            }
            TruncSatF64x2ToI32x4Zero(Signed) => {
                // NaN lanes clamp to 0 and large ones to i32::MAX (minpd returns its
                // second operand for NaN); cvttpd2dq saturates negative ones.
                self.vec_move(s, dst);
                self.asm.sse_rri(packed(Lanes::F64x2, CMPP), s, dst, CMP_EQ);
                self.load_v128_const(tmp, splat_u64(2147483647.0f64.to_bits()));
                self.sse(packed(Lanes::F64x2, ANDP), s, tmp);
                self.sse(packed(Lanes::F64x2, MINP), dst, s);
                self.sse(CVTTPD2DQ, dst, dst);
            }
            TruncSatF64x2ToI32x4Zero(Unsigned) => {
                self.zero_vector(s);
                self.sse(packed(Lanes::F64x2, MAXP), dst, s);
                self.load_v128_const(s, splat_u64(4294967295.0f64.to_bits()));
                self.sse(packed(Lanes::F64x2, MINP), dst, s);
                self.asm.sse_rri(roundp(Lanes::F64x2), dst, dst, 3);
                self.load_v128_const(s, splat_u64(0x4330_0000_0000_0000));
                self.sse(packed(Lanes::F64x2, ADDP), dst, s);
                self.zero_vector(s);
                self.asm.sse_rri(SHUFPS, dst, s, 0x88);
            }
            DemoteF64x2Zero => self.sse(CVTPD2PS, dst, dst),
            PromoteLowF32x4 => self.sse(CVTPS2PD, dst, dst),
        }
    }

    fn vec_float_unop(&mut self, l: Lanes, op: FloatUnOp, dst: Reg) {
        let s = FLOAT_SCRATCH;
        let (width, sign_bit) = if l == Lanes::F64x2 { (2, 63) } else { (1, 31) };
        match op {
            FloatUnOp::Abs => {
                self.all_ones(s);
                self.shift_imm(width, SHR_DIGIT, s, 1);
                self.sse(packed(l, ANDP), dst, s);
            }
            FloatUnOp::Neg => {
                self.all_ones(s);
                self.shift_imm(width, SHL_DIGIT, s, sign_bit);
                self.sse(packed(l, XORP), dst, s);
            }
            FloatUnOp::Sqrt => self.sse(packed(l, SQRTP), dst, dst),
            FloatUnOp::Nearest => self.asm.sse_rri(roundp(l), dst, dst, 0),
            FloatUnOp::Floor => self.asm.sse_rri(roundp(l), dst, dst, 1),
            FloatUnOp::Ceil => self.asm.sse_rri(roundp(l), dst, dst, 2),
            FloatUnOp::Trunc => self.asm.sse_rri(roundp(l), dst, dst, 3),
        }
    }

    /// An i32 from a v128 (`dst` is a general register).
    pub fn vec_test(&mut self, op: VecTest, dst: Reg, src: Reg) {
        let s = FLOAT_SCRATCH;
        match op {
            VecTest::AnyTrue => {
                self.asm.alu_rr(AluOp::Xor, OperandSize::S32, dst, dst);
                self.sse(PTEST, src, src);
                self.asm.setcc(Cc::Ne, dst);
            }
            VecTest::AllTrue(l) => {
                self.zero_vector(s);
                self.sse(PCMPEQ[int_index(l)], s, src);
                self.asm.alu_rr(AluOp::Xor, OperandSize::S32, dst, dst);
                self.sse(PTEST, s, s);
                self.asm.setcc(Cc::E, dst);
            }
            VecTest::Bitmask(Lanes::I8x16) => self.sse(PMOVMSKB, dst, src),
            VecTest::Bitmask(Lanes::I16x8) => {
                self.vec_move(s, src);
                self.sse(PACKSSWB, s, s);
                self.sse(PMOVMSKB, dst, s);
                self.asm.movzx_r8(dst, dst);
            }
            VecTest::Bitmask(Lanes::I32x4 | Lanes::F32x4) => self.sse(MOVMSKPS, dst, src),
            VecTest::Bitmask(_) => self.sse(MOVMSKPD, dst, src),
        }
    }

    /// Shifts every lane by `amount` (already masked to the lane width when constant;
    /// a register amount is masked here and may be clobbered).
    pub fn vec_shift(&mut self, op: ShiftOp, l: Lanes, dst: Reg, amount: ShiftAmount, tmp: Reg) {
        let s = FLOAT_SCRATCH;
        let mask = l.lane_bits() as i32 - 1;
        if let ShiftAmount::Reg(r) = amount {
            self.asm.alu_ri(AluOp::And, OperandSize::S32, r, mask);
        }
        match (l, op) {
            (Lanes::I8x16, ShiftOp::Shl) => {
                // Clear the bits that would cross into the next byte, then shift words.
                match amount {
                    ShiftAmount::Imm(n) => {
                        self.load_v128_const(s, splat_bytes(0xFF >> n));
                        self.sse(PAND, dst, s);
                        self.shift_imm(0, SHL_DIGIT, dst, n);
                    }
                    ShiftAmount::Reg(r) => {
                        self.asm.alu_ri(AluOp::Add, OperandSize::S32, r, 8);
                        self.asm.sse_rr(MOVD_TO_XMM, tmp, r);
                        self.all_ones(s);
                        self.sse(PSRL[0], s, tmp);
                        self.sse(PACKUSWB, s, s);
                        self.sse(PAND, dst, s);
                        self.asm.alu_ri(AluOp::Sub, OperandSize::S32, r, 8);
                        self.asm.sse_rr(MOVD_TO_XMM, tmp, r);
                        self.sse(PSLL[0], dst, tmp);
                    }
                }
            }
            (Lanes::I8x16, _) => {
                // Each byte to the top of a word, shifted by 8 more, packed back.
                self.vec_move(s, dst);
                self.sse(PUNPCKHBW, s, dst);
                self.sse(PUNPCKLBW, dst, dst);
                let signed = op == ShiftOp::ShrS;
                match amount {
                    ShiftAmount::Imm(n) => {
                        let digit = if signed { SAR_DIGIT } else { SHR_DIGIT };
                        self.shift_imm(0, digit, s, n + 8);
                        self.shift_imm(0, digit, dst, n + 8);
                    }
                    ShiftAmount::Reg(r) => {
                        self.asm.alu_ri(AluOp::Add, OperandSize::S32, r, 8);
                        self.asm.sse_rr(MOVD_TO_XMM, tmp, r);
                        let shift = if signed { PSRA[0] } else { PSRL[0] };
                        self.sse(shift, s, tmp);
                        self.sse(shift, dst, tmp);
                    }
                }
                self.sse(if signed { PACKSSWB } else { PACKUSWB }, dst, s);
            }
            (Lanes::I64x2, ShiftOp::ShrS) => {
                // (x >>> n ^ m) - m with m = 2^63 >>> n.
                self.all_ones(s);
                self.shift_imm(2, SHL_DIGIT, s, 63);
                match amount {
                    ShiftAmount::Imm(n) => {
                        self.shift_imm(2, SHR_DIGIT, s, n);
                        self.shift_imm(2, SHR_DIGIT, dst, n);
                    }
                    ShiftAmount::Reg(r) => {
                        self.asm.sse_rr(MOVD_TO_XMM, tmp, r);
                        self.sse(PSRL[2], s, tmp);
                        self.sse(PSRL[2], dst, tmp);
                    }
                }
                self.sse(PXOR, dst, s);
                self.sse(PSUB[3], dst, s);
            }
            _ => {
                let width = int_index(l) - 1;
                let (digit, by_reg) = match op {
                    ShiftOp::Shl => (SHL_DIGIT, PSLL[width]),
                    ShiftOp::ShrS => (SAR_DIGIT, PSRA[width]),
                    _ => (SHR_DIGIT, PSRL[width]),
                };
                match amount {
                    ShiftAmount::Imm(n) => self.shift_imm(width, digit, dst, n),
                    ShiftAmount::Reg(r) => {
                        self.asm.sse_rr(MOVD_TO_XMM, s, r);
                        self.sse(by_reg, dst, s);
                    }
                }
            }
        }
    }

    /// Copies lane 0 of `src` (a general register for integer lanes) to every lane.
    pub fn vec_splat(&mut self, l: Lanes, dst: Reg, src: Reg) {
        match l {
            Lanes::I8x16 => {
                self.asm.sse_rr(MOVD_TO_XMM, dst, src);
                self.zero_vector(FLOAT_SCRATCH);
                self.sse(PSHUFB, dst, FLOAT_SCRATCH);
            }
            Lanes::I16x8 => {
                self.asm.sse_rr(MOVD_TO_XMM, dst, src);
                self.asm.sse_rri(PSHUFLW, dst, dst, 0);
                self.asm.sse_rri(PSHUFD, dst, dst, 0);
            }
            Lanes::I32x4 => {
                self.asm.sse_rr(MOVD_TO_XMM, dst, src);
                self.asm.sse_rri(PSHUFD, dst, dst, 0);
            }
            Lanes::I64x2 => {
                self.asm.sse_rr(MOVD_TO_XMM.wide(), dst, src);
                self.asm.sse_rri(PSHUFD, dst, dst, 0x44);
            }
            Lanes::F32x4 => self.asm.sse_rri(PSHUFD, dst, src, 0),
            Lanes::F64x2 => self.asm.sse_rri(PSHUFD, dst, src, 0x44),
        }
    }

    /// Lane `lane` of `src` into `dst` (a general register for integer lanes, sign- or
    /// zero-extended to 32 bits for 8- and 16-bit lanes).
    pub fn vec_extract_lane(&mut self, l: Lanes, sign: Signedness, lane: u8, dst: Reg, src: Reg) {
        match l {
            Lanes::I8x16 => {
                self.asm.sse_rri(PEXTRB, src, dst, lane);
                if sign == Signedness::Signed {
                    self.asm.movsx_rr(dst, dst, 8, false);
                }
            }
            Lanes::I16x8 => {
                self.asm.sse_rri(PEXTRW, dst, src, lane);
                if sign == Signedness::Signed {
                    self.asm.movsx_rr(dst, dst, 16, false);
                }
            }
            Lanes::I32x4 => self.asm.sse_rri(PEXTRD, src, dst, lane),
            Lanes::I64x2 => self.asm.sse_rri(PEXTRD.wide(), src, dst, lane),
            // The lane to position 0, the others zero.
            Lanes::F32x4 => self.asm.sse_rri(INSERTPS, dst, src, lane << 6 | 0x0E),
            Lanes::F64x2 if lane == 0 => self.vec_move(dst, src),
            Lanes::F64x2 => self.asm.sse_rri(PSHUFD, dst, src, 0xEE),
        }
    }

    /// Replaces lane `lane` of `dst` by `src` (a general register for integer lanes).
    pub fn vec_replace_lane(&mut self, l: Lanes, lane: u8, dst: Reg, src: Reg) {
        match l {
            Lanes::I8x16 => self.asm.sse_rri(PINSRB, dst, src, lane),
            Lanes::I16x8 => self.asm.sse_rri(PINSRW, dst, src, lane),
            Lanes::I32x4 => self.asm.sse_rri(PINSRD, dst, src, lane),
            Lanes::I64x2 => self.asm.sse_rri(PINSRD.wide(), dst, src, lane),
            Lanes::F32x4 => self.asm.sse_rri(INSERTPS, dst, src, lane << 4),
            Lanes::F64x2 if lane == 0 => self.sse(MOVSD_RR, dst, src),
            Lanes::F64x2 => self.sse(MOVLHPS, dst, src),
        }
    }

    /// Three operands: `dst` holds the first; `b` and `c` may be clobbered.
    pub fn vec_ternary(&mut self, op: VecTernaryOp, dst: Reg, b: Reg, c: Reg) {
        let s = FLOAT_SCRATCH;
        match op {
            VecTernaryOp::Madd(l) => {
                self.sse(packed(l, MULP), dst, b);
                self.sse(packed(l, ADDP), dst, c);
            }
            VecTernaryOp::Nmadd(l) => {
                self.sse(packed(l, MULP), dst, b);
                self.sse(packed(l, SUBP), c, dst);
                self.vec_move(dst, c);
            }
            // (a & m) | (b & !m), m = c.
            VecTernaryOp::Laneselect => {
                self.sse(PAND, dst, c);
                self.sse(PANDN, c, b);
                self.sse(POR, dst, c);
            }
            VecTernaryOp::DotAdd => {
                // pmaddubsw reads its first operand as unsigned bytes: b, the i7 one.
                self.vec_move(s, b);
                self.sse(PMADDUBSW, s, dst);
                self.all_ones(dst);
                self.shift_imm(0, SHR_DIGIT, dst, 15);
                self.sse(PMADDWD, s, dst);
                self.sse(PADD[2], s, c);
                self.vec_move(dst, s);
            }
        }
    }

    /// `i8x16.shuffle`: bytes of `dst` (indices 0-15) and `src` (16-31).
    pub fn vec_shuffle(&mut self, lanes: [u8; 16], dst: Reg, src: Reg) {
        if let Some(op) = interleaving(&lanes) {
            return self.sse(op, dst, src);
        }
        let from_first = lanes.map(|i| if i < 16 { i } else { 0x80 });
        let from_second = lanes.map(|i| if i >= 16 { i - 16 } else { 0x80 });
        self.pshufb_const(dst, from_first);
        self.pshufb_const(src, from_second);
        self.sse(POR, dst, src);
    }

    /// A shuffle of `dst` alone: byte `i` of the result is byte `bytes[i]` of `dst`, or
    /// zero where `None`. clang zero-extends by shuffling against a zero vector, which the
    /// compiler turns into this (a zero-extension is then one `pmovzx`, not two `pshufb`
    /// and a `por`).
    pub fn vec_permute(&mut self, bytes: [Option<u8>; 16], dst: Reg) {
        if bytes.iter().enumerate().all(|(i, &b)| b == Some(i as u8)) {
            return; // the identity
        }
        if bytes.iter().all(Option::is_none) {
            self.zero_vector(dst);
        } else if let Some(i) = zero_extension(&bytes) {
            self.sse(PMOVZX[i], dst, dst);
        } else if let Some(n) = byte_shift(&bytes, true) {
            self.shift_imm(2, BYTES_RIGHT_DIGIT, dst, n);
        } else if let Some(n) = byte_shift(&bytes, false) {
            self.shift_imm(2, BYTES_LEFT_DIGIT, dst, n);
        } else if let Some(order) = dword_order(&bytes) {
            self.asm.sse_rri(PSHUFD, dst, dst, order);
        } else {
            self.pshufb_const(dst, bytes.map(|b| b.unwrap_or(0x80)));
        }
    }

    /// `pshufb` with its mask straight from the constant pool (16-byte aligned, as a
    /// legacy SSE memory operand must be).
    fn pshufb_const(&mut self, dst: Reg, mask: [u8; 16]) {
        let label = self.vector_constant(u128::from_le_bytes(mask));
        self.asm.pshufb_rip(dst, label);
    }

    /// A load producing a whole vector; the memory access is the trap site.
    pub fn vec_load(&mut self, kind: VecLoadKind, dst: Reg, mem: Mem) {
        match kind {
            VecLoadKind::Full => self.wasm_load(LoadKind::V128, dst, mem),
            VecLoadKind::Extend(l, sign) => {
                let i = int_index(l) - 1;
                self.mark_trap_site();
                self.asm.sse_rm(if sign == Signedness::Signed { PMOVSX[i] } else { PMOVZX[i] }, dst, mem);
            }
            VecLoadKind::Splat(l) => {
                self.mark_trap_site();
                match l {
                    Lanes::I8x16 => {
                        self.asm.sse_rmi(PINSRB, dst, mem, 0);
                        self.zero_vector(FLOAT_SCRATCH);
                        self.sse(PSHUFB, dst, FLOAT_SCRATCH);
                    }
                    Lanes::I16x8 => {
                        self.asm.sse_rmi(PINSRW, dst, mem, 0);
                        self.asm.sse_rri(PSHUFLW, dst, dst, 0);
                        self.asm.sse_rri(PSHUFD, dst, dst, 0);
                    }
                    Lanes::I32x4 | Lanes::F32x4 => {
                        self.asm.sse_rm(MOVSS_LOAD, dst, mem);
                        self.asm.sse_rri(PSHUFD, dst, dst, 0);
                    }
                    Lanes::I64x2 | Lanes::F64x2 => self.asm.sse_rm(MOVDDUP, dst, mem),
                }
            }
            VecLoadKind::Zero(l) => {
                self.mark_trap_site();
                let op = if l.lane_bits() == 32 { MOVSS_LOAD } else { MOVQ_LOAD };
                self.asm.sse_rm(op, dst, mem);
            }
        }
    }

    /// `v128.loadN_lane`: one lane of `dst` from memory.
    pub fn vec_load_lane(&mut self, l: Lanes, lane: u8, dst: Reg, mem: Mem) {
        self.mark_trap_site();
        let op = match l {
            Lanes::I8x16 => PINSRB,
            Lanes::I16x8 => PINSRW,
            Lanes::I32x4 | Lanes::F32x4 => PINSRD,
            Lanes::I64x2 | Lanes::F64x2 => PINSRD.wide(),
        };
        self.asm.sse_rmi(op, dst, mem, lane);
    }

    /// `v128.storeN_lane`: one lane of `src` to memory.
    pub fn vec_store_lane(&mut self, l: Lanes, lane: u8, src: Reg, mem: Mem) {
        self.mark_trap_site();
        let op = match l {
            Lanes::I8x16 => PEXTRB,
            Lanes::I16x8 => PEXTRW_MEM,
            Lanes::I32x4 | Lanes::F32x4 => PEXTRD,
            Lanes::I64x2 | Lanes::F64x2 => PEXTRD.wide(),
        };
        self.asm.sse_rmi(op, src, mem, lane);
    }
}

/// The amount of a lane shift.
#[derive(Clone, Copy, Debug)]
pub enum ShiftAmount {
    Imm(u8),
    Reg(Reg),
}

/// The unpack instruction a two-operand shuffle is, if any: lanes alternating between
/// the two operands' low (or high) halves, in units of 1, 2, 4 or 8 bytes.
fn interleaving(lanes: &[u8; 16]) -> Option<SseOp> {
    const UNPACKS: [(SseOp, usize, usize); 8] = [
        (PUNPCKLBW, 1, 0),
        (PUNPCKHBW, 1, 8),
        (PUNPCKLWD, 2, 0),
        (PUNPCKHWD, 2, 8),
        (PUNPCKLDQ, 4, 0),
        (PUNPCKHDQ, 4, 8),
        (PUNPCKLQDQ, 8, 0),
        (PUNPCKHQDQ, 8, 8),
    ];
    UNPACKS.iter().find_map(|&(op, unit, half)| {
        let matches = lanes.iter().enumerate().all(|(i, &lane)| {
            let (element, byte) = (i / unit, i % unit);
            let operand = if element % 2 == 0 { 0 } else { 16 };
            usize::from(lane) == operand + half + element / 2 * unit + byte
        });
        matches.then_some(op)
    })
}

/// Which `pmovzx` (0: bytes, 1: 16-bit, 2: 32-bit lanes) a one-operand shuffle is: the
/// low lanes, each followed by as many zero bytes as it has.
fn zero_extension(bytes: &[Option<u8>; 16]) -> Option<usize> {
    (0..3).find(|&i| {
        let unit = 1 << i;
        bytes.iter().enumerate().all(|(j, &b)| {
            let (lane, byte) = (j / (2 * unit), j % (2 * unit));
            b == (byte < unit).then_some((lane * unit + byte) as u8)
        })
    })
}

/// By how many bytes a one-operand shuffle shifts the whole vector, zeros coming in:
/// towards lane 0 (`psrldq`) when `right`, else away from it (`pslldq`).
fn byte_shift(bytes: &[Option<u8>; 16], right: bool) -> Option<u8> {
    // One lane fixes the distance: what byte 0 reads in a right shift, where byte 0 lands
    // in a left one.
    let n = if right { bytes[0]? } else { bytes.iter().position(Option::is_some)? as u8 };
    let shifted = |j: u8| if right { (j + n < 16).then_some(j + n) } else { j.checked_sub(n) };
    ((1..16).contains(&n) && (0..16u8).all(|j| bytes[usize::from(j)] == shifted(j))).then_some(n)
}

/// The `pshufd` order of a one-operand shuffle that moves whole 32-bit lanes (no zeros).
fn dword_order(bytes: &[Option<u8>; 16]) -> Option<u8> {
    let mut order = 0;
    for (d, chunk) in bytes.chunks(4).enumerate() {
        let first = chunk[0]?;
        if first % 4 != 0 || chunk.iter().zip(first..).any(|(&b, want)| b != Some(want)) {
            return None;
        }
        order |= (first / 4) << (2 * d);
    }
    Some(order)
}

#[cfg(test)]
mod tests {
    use super::byte_shift;

    /// The distance found by trying every one.
    fn byte_shift_by_search(bytes: &[Option<u8>; 16], right: bool) -> Option<u8> {
        (1..16u8).find(|&n| {
            (0..16u8).all(|j| {
                bytes[usize::from(j)] == if right { (j + n < 16).then_some(j + n) } else { j.checked_sub(n) }
            })
        })
    }

    #[test]
    fn byte_shifts_are_found_exactly_when_a_search_finds_them() {
        let mut cases = Vec::new();
        for n in 0..16u8 {
            cases.push(std::array::from_fn(|j| (j as u8 + n < 16).then_some(j as u8 + n)));
            cases.push(std::array::from_fn(|j| (j as u8).checked_sub(n)));
        }
        // Near misses: each of those with one lane changed.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for base in cases.clone() {
            for _ in 0..40 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let mut bytes: [Option<u8>; 16] = base;
                let lane = (state % 16) as usize;
                bytes[lane] = ((state >> 8) % 17 != 16).then_some(((state >> 8) % 17) as u8);
                cases.push(bytes);
            }
        }
        let mut shifts = 0;
        for bytes in &cases {
            for right in [true, false] {
                let found = byte_shift(bytes, right);
                assert_eq!(found, byte_shift_by_search(bytes, right), "{bytes:?}, right: {right}");
                shifts += usize::from(found.is_some());
            }
        }
        assert!(shifts >= 30, "the cases include every shift of 1-15 bytes both ways");
    }
}

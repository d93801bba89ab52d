//! The hand-encoded instruction forms in `isa/x64/asm.rs` (REX only when needed, SIB
//! only when needed, 8-bit displacements and immediates when they fit), decoded back with
//! iced-x86 for every register and every addressing form.

use iced_x86::{Decoder, DecoderOptions, Instruction, Mnemonic, Register};
use sidewinder_engine::compiler::masm::{AluOp, LoadKind, OperandSize, ShiftOp, StoreKind};
use sidewinder_engine::isa::x64::asm::{Assembler, Cc, Mem, SseOp};
use sidewinder_engine::isa::x64::regs::Reg;

const GPR64: [Register; 16] = [
    Register::RAX,
    Register::RCX,
    Register::RDX,
    Register::RBX,
    Register::RSP,
    Register::RBP,
    Register::RSI,
    Register::RDI,
    Register::R8,
    Register::R9,
    Register::R10,
    Register::R11,
    Register::R12,
    Register::R13,
    Register::R14,
    Register::R15,
];
const GPR32: [Register; 16] = [
    Register::EAX,
    Register::ECX,
    Register::EDX,
    Register::EBX,
    Register::ESP,
    Register::EBP,
    Register::ESI,
    Register::EDI,
    Register::R8D,
    Register::R9D,
    Register::R10D,
    Register::R11D,
    Register::R12D,
    Register::R13D,
    Register::R14D,
    Register::R15D,
];
const GPR8: [Register; 16] = [
    Register::AL,
    Register::CL,
    Register::DL,
    Register::BL,
    Register::SPL,
    Register::BPL,
    Register::SIL,
    Register::DIL,
    Register::R8L,
    Register::R9L,
    Register::R10L,
    Register::R11L,
    Register::R12L,
    Register::R13L,
    Register::R14L,
    Register::R15L,
];

const GPR16: [Register; 16] = [
    Register::AX,
    Register::CX,
    Register::DX,
    Register::BX,
    Register::SP,
    Register::BP,
    Register::SI,
    Register::DI,
    Register::R8W,
    Register::R9W,
    Register::R10W,
    Register::R11W,
    Register::R12W,
    Register::R13W,
    Register::R14W,
    Register::R15W,
];
const XMM: [Register; 16] = [
    Register::XMM0,
    Register::XMM1,
    Register::XMM2,
    Register::XMM3,
    Register::XMM4,
    Register::XMM5,
    Register::XMM6,
    Register::XMM7,
    Register::XMM8,
    Register::XMM9,
    Register::XMM10,
    Register::XMM11,
    Register::XMM12,
    Register::XMM13,
    Register::XMM14,
    Register::XMM15,
];

const DISPLACEMENTS: [i32; 8] = [0, 1, -1, 127, -128, 128, -129, 0x1234_5678];

fn one_instruction(emit: impl FnOnce(&mut Assembler)) -> (Instruction, usize) {
    let mut asm = Assembler::new();
    emit(&mut asm);
    let bytes = asm.finish().expect("assembles");
    let mut decoder = Decoder::new(64, &bytes, DecoderOptions::NONE);
    let ins = decoder.decode();
    assert!(!ins.is_invalid(), "undecodable bytes {bytes:02x?}");
    assert_eq!(ins.len(), bytes.len(), "more than one instruction in {bytes:02x?}");
    (ins, bytes.len())
}

/// Every memory operand the compiler can form: each base, each index but rsp, each
/// scale (1, 2, 4, 8), each displacement size.
fn memory_operands() -> Vec<Mem> {
    let mut out = Vec::new();
    for b in 0..16 {
        for &d in &DISPLACEMENTS {
            out.push(Mem::Base(Reg::gpr(b), d));
            for i in (0..16).filter(|&i| i != 4) {
                out.push(Mem::Indexed(Reg::gpr(b), Reg::gpr(i), d));
                for shift in 0..4 {
                    out.push(Mem::Scaled(Reg::gpr(b), Reg::gpr(i), shift, d));
                }
            }
        }
    }
    out
}

fn check_memory(ins: &Instruction, m: Mem) {
    let (base, index, scale, disp) = match m {
        Mem::Base(b, d) => (b, None, 1, d),
        Mem::Indexed(b, i, d) => (b, Some(i), 1, d),
        Mem::Scaled(b, i, shift, d) => (b, Some(i), 1 << shift, d),
    };
    assert_eq!(ins.memory_base(), GPR64[base.hw() as usize], "{m:?}");
    assert_eq!(ins.memory_index(), index.map_or(Register::None, |i| GPR64[i.hw() as usize]), "{m:?}");
    if index.is_some() {
        assert_eq!(ins.memory_index_scale(), scale, "{m:?}");
    }
    assert_eq!(ins.memory_displacement64(), disp as i64 as u64, "{m:?}");
}

/// The shortest form: no SIB unless the base is rsp/r12 or there is an index; a
/// displacement only when nonzero (or the base is rbp/r13), 8 bits when it fits.
fn expected_address_bytes(m: Mem) -> usize {
    let (base, has_index, disp) = match m {
        Mem::Base(b, d) => (b.hw(), false, d),
        Mem::Indexed(b, _, d) | Mem::Scaled(b, _, _, d) => (b.hw(), true, d),
    };
    let sib = usize::from(has_index || base & 7 == 4);
    let disp_bytes = if disp == 0 && base & 7 != 5 {
        0
    } else if i8::try_from(disp).is_ok() {
        1
    } else {
        4
    };
    1 + sib + disp_bytes
}

fn rex_needed(w: bool, regs: &[u8]) -> usize {
    usize::from(w || regs.iter().any(|&r| r >= 8))
}

fn mem_regs(m: Mem) -> Vec<u8> {
    match m {
        Mem::Base(b, _) => vec![b.hw()],
        Mem::Indexed(b, i, _) | Mem::Scaled(b, i, _, _) => vec![b.hw(), i.hw()],
    }
}

#[test]
fn loads_and_stores_use_the_shortest_addressing() {
    for m in memory_operands() {
        for r in 0..16u8 {
            let mut regs = mem_regs(m);
            regs.push(r);

            let (ins, len) = one_instruction(|a| a.load(LoadKind::I64, Reg::gpr(r), m));
            assert_eq!(ins.mnemonic(), Mnemonic::Mov);
            assert_eq!(ins.op0_register(), GPR64[r as usize]);
            check_memory(&ins, m);
            assert_eq!(len, 1 + 1 + expected_address_bytes(m), "mov r64, {m:?}");

            let (ins, len) = one_instruction(|a| a.load(LoadKind::U32, Reg::gpr(r), m));
            assert_eq!(ins.op0_register(), GPR32[r as usize]);
            check_memory(&ins, m);
            assert_eq!(len, rex_needed(false, &regs) + 1 + expected_address_bytes(m), "mov r32, {m:?}");

            let (ins, _) = one_instruction(|a| a.load(LoadKind::S8To64, Reg::gpr(r), m));
            assert_eq!((ins.mnemonic(), ins.op0_register()), (Mnemonic::Movsx, GPR64[r as usize]));
            check_memory(&ins, m);

            let (ins, _) = one_instruction(|a| a.load(LoadKind::F64, Reg::xmm(r), m));
            assert_eq!(ins.mnemonic(), Mnemonic::Movsd);
            assert_eq!(ins.op0_register(), XMM[r as usize]);
            check_memory(&ins, m);

            let (ins, len) = one_instruction(|a| a.store(StoreKind::I8, m, Reg::gpr(r)));
            assert_eq!((ins.mnemonic(), ins.op1_register()), (Mnemonic::Mov, GPR8[r as usize]), "{m:?}");
            check_memory(&ins, m);
            // sil/dil (and spl/bpl) exist only with a REX prefix.
            let byte_rex = usize::from((4..8).contains(&r)).max(rex_needed(false, &regs));
            assert_eq!(len, byte_rex + 1 + expected_address_bytes(m), "mov m8, {m:?}");

            let (ins, _) = one_instruction(|a| a.store(StoreKind::I16, m, Reg::gpr(r)));
            assert_eq!(ins.op1_register(), GPR16[r as usize]);
            check_memory(&ins, m);

            let (ins, _) = one_instruction(|a| a.store(StoreKind::F32, m, Reg::xmm(r)));
            assert_eq!((ins.mnemonic(), ins.op1_register()), (Mnemonic::Movss, XMM[r as usize]));
            check_memory(&ins, m);

            let (ins, _) = one_instruction(|a| a.alu_rm(AluOp::Sub, OperandSize::S32, Reg::gpr(r), m));
            assert_eq!((ins.mnemonic(), ins.op0_register()), (Mnemonic::Sub, GPR32[r as usize]));
            check_memory(&ins, m);
        }
        for imm in [0, 1, -1, 127, -128, 128, -129, i32::MAX, i32::MIN] {
            let (ins, len) = one_instruction(|a| a.cmp_mi(OperandSize::S64, m, imm));
            assert_eq!(ins.mnemonic(), Mnemonic::Cmp);
            assert_eq!(ins.immediate(1) as i64, imm as i64, "{m:?} {imm}");
            check_memory(&ins, m);
            let imm_bytes = if i8::try_from(imm).is_ok() { 1 } else { 4 };
            assert_eq!(len, 1 + 1 + expected_address_bytes(m) + imm_bytes);

            let (ins, _) = one_instruction(|a| a.store_imm(StoreKind::I64, m, imm));
            assert_eq!(ins.immediate(1) as i64, imm as i64);
            check_memory(&ins, m);
            let (ins, _) = one_instruction(|a| a.store_imm(StoreKind::I16, m, imm));
            assert_eq!(ins.immediate(1) as u16, imm as u16);
            check_memory(&ins, m);
        }
    }
}

#[test]
fn register_forms_drop_needless_prefixes() {
    for d in 0..16u8 {
        for s in 0..16u8 {
            let (ins, len) =
                one_instruction(|a| a.alu_rr(AluOp::Xor, OperandSize::S32, Reg::gpr(d), Reg::gpr(s)));
            assert_eq!(
                (ins.mnemonic(), ins.op0_register(), ins.op1_register()),
                (Mnemonic::Xor, GPR32[d as usize], GPR32[s as usize])
            );
            assert_eq!(len, rex_needed(false, &[d, s]) + 2);

            let (ins, len) = one_instruction(|a| a.mov_rr(OperandSize::S64, Reg::gpr(d), Reg::gpr(s)));
            assert_eq!(
                (ins.mnemonic(), ins.op0_register(), ins.op1_register()),
                (Mnemonic::Mov, GPR64[d as usize], GPR64[s as usize])
            );
            assert_eq!(len, 3);

            let (ins, _) = one_instruction(|a| a.imul_rr(OperandSize::S32, Reg::gpr(d), Reg::gpr(s)));
            assert_eq!(
                (ins.mnemonic(), ins.op0_register(), ins.op1_register()),
                (Mnemonic::Imul, GPR32[d as usize], GPR32[s as usize])
            );

            let (ins, _) = one_instruction(|a| a.test_rr(OperandSize::S64, Reg::gpr(d), Reg::gpr(s)));
            assert_eq!(ins.mnemonic(), Mnemonic::Test);

            for imm in [0, 5, -128, 300, i32::MIN] {
                let (ins, len) =
                    one_instruction(|a| a.imul_rri(OperandSize::S64, Reg::gpr(d), Reg::gpr(s), imm));
                assert_eq!((ins.op0_register(), ins.op1_register()), (GPR64[d as usize], GPR64[s as usize]));
                assert_eq!(ins.immediate(2) as i64, imm as i64);
                assert_eq!(len, 1 + 2 + if i8::try_from(imm).is_ok() { 1 } else { 4 });
            }
        }
        for imm in [0, 1, -1, 127, -128, 128, -129, i32::MAX, i32::MIN] {
            for (op, mnemonic) in [
                (AluOp::Add, Mnemonic::Add),
                (AluOp::Sub, Mnemonic::Sub),
                (AluOp::And, Mnemonic::And),
                (AluOp::Or, Mnemonic::Or),
                (AluOp::Xor, Mnemonic::Xor),
            ] {
                let (ins, len) = one_instruction(|a| a.alu_ri(op, OperandSize::S32, Reg::gpr(d), imm));
                assert_eq!((ins.mnemonic(), ins.op0_register()), (mnemonic, GPR32[d as usize]));
                assert_eq!(ins.immediate(1) as u32, imm as u32);
                assert_eq!(
                    len,
                    rex_needed(false, &[d]) + 1 + 1 + if i8::try_from(imm).is_ok() { 1 } else { 4 }
                );
            }
            let (ins, _) = one_instruction(|a| a.cmp_ri(OperandSize::S64, Reg::gpr(d), imm));
            assert_eq!(
                (ins.mnemonic(), ins.op0_register(), ins.immediate(1) as i64),
                (Mnemonic::Cmp, GPR64[d as usize], imm as i64)
            );
        }
        for imm in [0i64, 1, u32::MAX as i64, -1, i32::MIN as i64, i64::MAX, 1 << 40] {
            let (ins, _) = one_instruction(|a| a.mov_ri(Reg::gpr(d), imm));
            let value = if ins.mnemonic() == Mnemonic::Xor { 0 } else { ins.immediate(1) };
            // A write to a 32-bit register zero-extends into the full register.
            let value = if ins.op0_register() == GPR32[d as usize] { value as u32 as u64 } else { value };
            assert_eq!(value, imm as u64, "mov {d}, {imm:#x}");
        }
        let (ins, len) = one_instruction(|a| a.push(Reg::gpr(d)));
        assert_eq!(
            (ins.mnemonic(), ins.op0_register(), len),
            (Mnemonic::Push, GPR64[d as usize], 1 + usize::from(d >= 8))
        );
        let (ins, _) = one_instruction(|a| a.pop(Reg::gpr(d)));
        assert_eq!((ins.mnemonic(), ins.op0_register()), (Mnemonic::Pop, GPR64[d as usize]));
        let (ins, len) = one_instruction(|a| a.call_reg(Reg::gpr(d)));
        assert_eq!(
            (ins.mnemonic(), ins.op0_register(), len),
            (Mnemonic::Call, GPR64[d as usize], 2 + usize::from(d >= 8))
        );
        let (ins, len) = one_instruction(|a| a.jmp_reg(Reg::gpr(d)));
        assert_eq!(
            (ins.mnemonic(), ins.op0_register(), len),
            (Mnemonic::Jmp, GPR64[d as usize], 2 + usize::from(d >= 8))
        );
    }
}

#[test]
fn sse_register_forms() {
    type Emit = fn(&mut Assembler, bool, Reg, Reg);
    let ops: [(Emit, Mnemonic, Mnemonic, bool); 11] = [
        (Assembler::fadd, Mnemonic::Addss, Mnemonic::Addsd, true),
        (Assembler::fsub, Mnemonic::Subss, Mnemonic::Subsd, true),
        (Assembler::fmul, Mnemonic::Mulss, Mnemonic::Mulsd, true),
        (Assembler::fdiv, Mnemonic::Divss, Mnemonic::Divsd, true),
        (Assembler::fmin, Mnemonic::Minss, Mnemonic::Minsd, true),
        (Assembler::fmax, Mnemonic::Maxss, Mnemonic::Maxsd, true),
        (Assembler::fsqrt, Mnemonic::Sqrtss, Mnemonic::Sqrtsd, true),
        (Assembler::ucomis, Mnemonic::Ucomiss, Mnemonic::Ucomisd, false),
        (Assembler::andp, Mnemonic::Andps, Mnemonic::Andpd, false),
        (Assembler::orp, Mnemonic::Orps, Mnemonic::Orpd, false),
        (Assembler::xorp, Mnemonic::Xorps, Mnemonic::Xorpd, false),
    ];
    for d in 0..16u8 {
        for s in 0..16u8 {
            for &(emit, single, double, prefixed_single) in &ops {
                for is_double in [false, true] {
                    let (ins, len) = one_instruction(|a| emit(a, is_double, Reg::xmm(d), Reg::xmm(s)));
                    let expected = if is_double { double } else { single };
                    assert_eq!(
                        (ins.mnemonic(), ins.op0_register(), ins.op1_register()),
                        (expected, XMM[d as usize], XMM[s as usize])
                    );
                    let prefix = usize::from(is_double || prefixed_single);
                    assert_eq!(len, prefix + rex_needed(false, &[d, s]) + 3, "{expected:?} {d} {s}");
                }
            }
            let (ins, len) = one_instruction(|a| a.movaps(Reg::xmm(d), Reg::xmm(s)));
            assert_eq!(
                (ins.mnemonic(), ins.op0_register(), ins.op1_register()),
                (Mnemonic::Movaps, XMM[d as usize], XMM[s as usize])
            );
            assert_eq!(len, rex_needed(false, &[d, s]) + 3);
        }
    }
}

/// How a packed SSE instruction's operands map to ModRM (see `Assembler::sse_rr`).
#[derive(Clone, Copy, Debug)]
enum Form {
    /// `op xmm(reg), xmm/m128(rm)`.
    Xmm,
    /// The same with an imm8.
    XmmImm,
    /// `op r/m(rm), xmm(reg), imm8`: pextrb/d/q.
    ExtractToRm,
    /// `op r32(reg), xmm(rm)` (pextrw C5 with an imm8, pmovmskb/movmskps without).
    GprFromXmm { imm: bool },
    /// `op xmm(reg), r/m(rm)` with an imm8: pinsr*; without, movd/movq.
    XmmFromGpr { imm: bool },
}

#[test]
fn simd_opcodes_decode_to_their_mnemonics() {
    use sidewinder_engine::compiler::masm::Lanes;
    use sidewinder_engine::isa::x64::simd::*;
    use Form::*;
    let f32x4 = |op| packed(Lanes::F32x4, op);
    let f64x2 = |op| packed(Lanes::F64x2, op);
    let table: Vec<(SseOp, Mnemonic, Form)> = vec![
        (PAND, Mnemonic::Pand, Xmm),
        (PANDN, Mnemonic::Pandn, Xmm),
        (POR, Mnemonic::Por, Xmm),
        (PXOR, Mnemonic::Pxor, Xmm),
        (PADD[0], Mnemonic::Paddb, Xmm),
        (PADD[1], Mnemonic::Paddw, Xmm),
        (PADD[2], Mnemonic::Paddd, Xmm),
        (PADD[3], Mnemonic::Paddq, Xmm),
        (PSUB[0], Mnemonic::Psubb, Xmm),
        (PSUB[1], Mnemonic::Psubw, Xmm),
        (PSUB[2], Mnemonic::Psubd, Xmm),
        (PSUB[3], Mnemonic::Psubq, Xmm),
        (PADDS[0], Mnemonic::Paddsb, Xmm),
        (PADDS[1], Mnemonic::Paddsw, Xmm),
        (PADDUS[0], Mnemonic::Paddusb, Xmm),
        (PADDUS[1], Mnemonic::Paddusw, Xmm),
        (PSUBS[0], Mnemonic::Psubsb, Xmm),
        (PSUBS[1], Mnemonic::Psubsw, Xmm),
        (PSUBUS[0], Mnemonic::Psubusb, Xmm),
        (PSUBUS[1], Mnemonic::Psubusw, Xmm),
        (PMINS[0], Mnemonic::Pminsb, Xmm),
        (PMINS[1], Mnemonic::Pminsw, Xmm),
        (PMINS[2], Mnemonic::Pminsd, Xmm),
        (PMINU[0], Mnemonic::Pminub, Xmm),
        (PMINU[1], Mnemonic::Pminuw, Xmm),
        (PMINU[2], Mnemonic::Pminud, Xmm),
        (PMAXS[0], Mnemonic::Pmaxsb, Xmm),
        (PMAXS[1], Mnemonic::Pmaxsw, Xmm),
        (PMAXS[2], Mnemonic::Pmaxsd, Xmm),
        (PMAXU[0], Mnemonic::Pmaxub, Xmm),
        (PMAXU[1], Mnemonic::Pmaxuw, Xmm),
        (PMAXU[2], Mnemonic::Pmaxud, Xmm),
        (PAVG[0], Mnemonic::Pavgb, Xmm),
        (PAVG[1], Mnemonic::Pavgw, Xmm),
        (PCMPEQ[0], Mnemonic::Pcmpeqb, Xmm),
        (PCMPEQ[1], Mnemonic::Pcmpeqw, Xmm),
        (PCMPEQ[2], Mnemonic::Pcmpeqd, Xmm),
        (PCMPEQ[3], Mnemonic::Pcmpeqq, Xmm),
        (PCMPGT[0], Mnemonic::Pcmpgtb, Xmm),
        (PCMPGT[1], Mnemonic::Pcmpgtw, Xmm),
        (PCMPGT[2], Mnemonic::Pcmpgtd, Xmm),
        (PCMPGT[3], Mnemonic::Pcmpgtq, Xmm),
        (PMULLW, Mnemonic::Pmullw, Xmm),
        (PMULLD, Mnemonic::Pmulld, Xmm),
        (PMULHW, Mnemonic::Pmulhw, Xmm),
        (PMULHUW, Mnemonic::Pmulhuw, Xmm),
        (PMULUDQ, Mnemonic::Pmuludq, Xmm),
        (PMULDQ, Mnemonic::Pmuldq, Xmm),
        (PMULHRSW, Mnemonic::Pmulhrsw, Xmm),
        (PMADDWD, Mnemonic::Pmaddwd, Xmm),
        (PMADDUBSW, Mnemonic::Pmaddubsw, Xmm),
        (PACKSSWB, Mnemonic::Packsswb, Xmm),
        (PACKSSDW, Mnemonic::Packssdw, Xmm),
        (PACKUSWB, Mnemonic::Packuswb, Xmm),
        (PACKUSDW, Mnemonic::Packusdw, Xmm),
        (PUNPCKLBW, Mnemonic::Punpcklbw, Xmm),
        (PUNPCKHBW, Mnemonic::Punpckhbw, Xmm),
        (PUNPCKLWD, Mnemonic::Punpcklwd, Xmm),
        (PUNPCKHWD, Mnemonic::Punpckhwd, Xmm),
        (PSHUFB, Mnemonic::Pshufb, Xmm),
        (PSHUFD, Mnemonic::Pshufd, XmmImm),
        (PSHUFLW, Mnemonic::Pshuflw, XmmImm),
        (PABS[0], Mnemonic::Pabsb, Xmm),
        (PABS[1], Mnemonic::Pabsw, Xmm),
        (PABS[2], Mnemonic::Pabsd, Xmm),
        (PMOVSX[0], Mnemonic::Pmovsxbw, Xmm),
        (PMOVSX[1], Mnemonic::Pmovsxwd, Xmm),
        (PMOVSX[2], Mnemonic::Pmovsxdq, Xmm),
        (PMOVZX[0], Mnemonic::Pmovzxbw, Xmm),
        (PMOVZX[1], Mnemonic::Pmovzxwd, Xmm),
        (PMOVZX[2], Mnemonic::Pmovzxdq, Xmm),
        (PTEST, Mnemonic::Ptest, Xmm),
        (PMOVMSKB, Mnemonic::Pmovmskb, GprFromXmm { imm: false }),
        (MOVMSKPS, Mnemonic::Movmskps, GprFromXmm { imm: false }),
        (MOVMSKPD, Mnemonic::Movmskpd, GprFromXmm { imm: false }),
        (PSLL[0], Mnemonic::Psllw, Xmm),
        (PSLL[1], Mnemonic::Pslld, Xmm),
        (PSLL[2], Mnemonic::Psllq, Xmm),
        (PSRA[0], Mnemonic::Psraw, Xmm),
        (PSRA[1], Mnemonic::Psrad, Xmm),
        (PSRL[0], Mnemonic::Psrlw, Xmm),
        (PSRL[1], Mnemonic::Psrld, Xmm),
        (PSRL[2], Mnemonic::Psrlq, Xmm),
        (PEXTRB, Mnemonic::Pextrb, ExtractToRm),
        (PEXTRD, Mnemonic::Pextrd, ExtractToRm),
        (PEXTRD.wide(), Mnemonic::Pextrq, ExtractToRm),
        (PEXTRW, Mnemonic::Pextrw, GprFromXmm { imm: true }),
        (PEXTRW_MEM, Mnemonic::Pextrw, ExtractToRm),
        (PINSRB, Mnemonic::Pinsrb, XmmFromGpr { imm: true }),
        (PINSRW, Mnemonic::Pinsrw, XmmFromGpr { imm: true }),
        (PINSRD, Mnemonic::Pinsrd, XmmFromGpr { imm: true }),
        (PINSRD.wide(), Mnemonic::Pinsrq, XmmFromGpr { imm: true }),
        (MOVD_TO_XMM, Mnemonic::Movd, XmmFromGpr { imm: false }),
        (MOVD_TO_XMM.wide(), Mnemonic::Movq, XmmFromGpr { imm: false }),
        (INSERTPS, Mnemonic::Insertps, XmmImm),
        (MOVSD_RR, Mnemonic::Movsd, Xmm),
        (MOVDDUP, Mnemonic::Movddup, Xmm),
        (MOVLHPS, Mnemonic::Movlhps, Xmm),
        (UNPCKLPS, Mnemonic::Unpcklps, Xmm),
        (SHUFPS, Mnemonic::Shufps, XmmImm),
        (CVTDQ2PS, Mnemonic::Cvtdq2ps, Xmm),
        (CVTTPS2DQ, Mnemonic::Cvttps2dq, Xmm),
        (CVTDQ2PD, Mnemonic::Cvtdq2pd, Xmm),
        (CVTTPD2DQ, Mnemonic::Cvttpd2dq, Xmm),
        (CVTPS2PD, Mnemonic::Cvtps2pd, Xmm),
        (CVTPD2PS, Mnemonic::Cvtpd2ps, Xmm),
        (f32x4(ADDP), Mnemonic::Addps, Xmm),
        (f64x2(ADDP), Mnemonic::Addpd, Xmm),
        (f32x4(SUBP), Mnemonic::Subps, Xmm),
        (f64x2(SUBP), Mnemonic::Subpd, Xmm),
        (f32x4(MULP), Mnemonic::Mulps, Xmm),
        (f64x2(MULP), Mnemonic::Mulpd, Xmm),
        (f32x4(DIVP), Mnemonic::Divps, Xmm),
        (f64x2(DIVP), Mnemonic::Divpd, Xmm),
        (f32x4(MINP), Mnemonic::Minps, Xmm),
        (f64x2(MINP), Mnemonic::Minpd, Xmm),
        (f32x4(MAXP), Mnemonic::Maxps, Xmm),
        (f64x2(MAXP), Mnemonic::Maxpd, Xmm),
        (f32x4(SQRTP), Mnemonic::Sqrtps, Xmm),
        (f64x2(SQRTP), Mnemonic::Sqrtpd, Xmm),
        (f32x4(ANDP), Mnemonic::Andps, Xmm),
        (f64x2(ANDNP), Mnemonic::Andnpd, Xmm),
        (f32x4(ORP), Mnemonic::Orps, Xmm),
        (f64x2(XORP), Mnemonic::Xorpd, Xmm),
        (f32x4(CMPP), Mnemonic::Cmpps, XmmImm),
        (f64x2(CMPP), Mnemonic::Cmppd, XmmImm),
        (roundp(Lanes::F32x4), Mnemonic::Roundps, XmmImm),
        (roundp(Lanes::F64x2), Mnemonic::Roundpd, XmmImm),
    ];
    let imm = 0x5Au8;
    for &(op, mnemonic, form) in &table {
        for a in 0..16u8 {
            for b in 0..16u8 {
                // a goes to ModRM.reg, b to ModRM.rm.
                let (ins, _) = one_instruction(|asm| match form {
                    Xmm | GprFromXmm { imm: false } | XmmFromGpr { imm: false } => {
                        asm.sse_rr(op, Reg::xmm(a), Reg::xmm(b))
                    }
                    _ => asm.sse_rri(op, Reg::xmm(a), Reg::xmm(b), imm),
                });
                let wide = op.w;
                let gpr = |r: u8| if wide { GPR64[r as usize] } else { GPR32[r as usize] };
                let (op0, op1) = match form {
                    Xmm | XmmImm => (XMM[a as usize], XMM[b as usize]),
                    ExtractToRm => (gpr(b), XMM[a as usize]),
                    GprFromXmm { .. } => (GPR32[a as usize], XMM[b as usize]),
                    XmmFromGpr { .. } => (XMM[a as usize], gpr(b)),
                };
                assert_eq!(
                    (ins.mnemonic(), ins.op0_register(), ins.op1_register()),
                    (mnemonic, op0, op1),
                    "{op:?} {a} {b}"
                );
                if matches!(form, XmmImm | ExtractToRm | GprFromXmm { imm: true } | XmmFromGpr { imm: true })
                {
                    assert_eq!(ins.immediate(2), imm as u64, "{mnemonic:?}");
                }
            }
        }
        // Memory forms, where the instruction has one (pextrw C5, the mask moves and
        // movd/movq to xmm from a register are register-only here, and movlhps with a
        // memory operand is another instruction, movhps).
        if matches!(form, GprFromXmm { .. }) || [MOVD_TO_XMM, MOVD_TO_XMM.wide(), MOVLHPS].contains(&op) {
            continue;
        }
        for m in memory_operands() {
            let (ins, _) = one_instruction(|asm| match form {
                Xmm => asm.sse_rm(op, Reg::xmm(3), m),
                _ => asm.sse_rmi(op, Reg::xmm(3), m, imm),
            });
            assert_eq!(ins.mnemonic(), mnemonic, "{m:?}");
            check_memory(&ins, m);
        }
    }
    // The shift-by-immediate group: the ModRM.reg digit selects the operation.
    let shifts = [
        (0, SHL_DIGIT, Mnemonic::Psllw),
        (0, SAR_DIGIT, Mnemonic::Psraw),
        (0, SHR_DIGIT, Mnemonic::Psrlw),
        (1, SHL_DIGIT, Mnemonic::Pslld),
        (1, SAR_DIGIT, Mnemonic::Psrad),
        (1, SHR_DIGIT, Mnemonic::Psrld),
        (2, SHL_DIGIT, Mnemonic::Psllq),
        (2, SHR_DIGIT, Mnemonic::Psrlq),
    ];
    for (width, digit, mnemonic) in shifts {
        for r in 0..16u8 {
            let (ins, len) =
                one_instruction(|asm| asm.sse_shift_imm(PSHIFT_IMM[width], digit, Reg::xmm(r), 7));
            assert_eq!(
                (ins.mnemonic(), ins.op0_register(), ins.immediate(1)),
                (mnemonic, XMM[r as usize], 7)
            );
            assert_eq!(len, 1 + rex_needed(false, &[r]) + 4);
        }
    }
}

#[test]
fn v128_loads_and_stores_are_unaligned_moves() {
    for m in memory_operands() {
        for r in [0u8, 7, 8, 15] {
            let (ins, _) = one_instruction(|a| a.load(LoadKind::V128, Reg::xmm(r), m));
            assert_eq!((ins.mnemonic(), ins.op0_register()), (Mnemonic::Movdqu, XMM[r as usize]));
            check_memory(&ins, m);
            let (ins, _) = one_instruction(|a| a.store(StoreKind::V128, m, Reg::xmm(r)));
            assert_eq!((ins.mnemonic(), ins.op1_register()), (Mnemonic::Movdqu, XMM[r as usize]));
            check_memory(&ins, m);
        }
    }
}

#[test]
fn scaled_leas_encode_every_base_index_shift_and_displacement() {
    for size in [OperandSize::S32, OperandSize::S64] {
        let (w, dst_names) = match size {
            OperandSize::S32 => (false, &GPR32),
            OperandSize::S64 => (true, &GPR64),
        };
        for dst in [0u8, 5, 8, 13] {
            for index in (0..16u8).filter(|&i| i != 4) {
                for shift in 0..=3u8 {
                    for &disp in &DISPLACEMENTS {
                        for base in (0..16u8).map(Some).chain([None]) {
                            let (ins, len) = one_instruction(|a| {
                                a.lea_scaled(
                                    size,
                                    Reg::gpr(dst),
                                    base.map(Reg::gpr),
                                    Reg::gpr(index),
                                    shift,
                                    disp,
                                )
                            });
                            let what =
                                format!("lea {size:?} r{dst}, [{base:?} + r{index} << {shift} + {disp}]");
                            assert_eq!(
                                (ins.mnemonic(), ins.op0_register()),
                                (Mnemonic::Lea, dst_names[dst as usize]),
                                "{what}"
                            );
                            assert_eq!(
                                ins.memory_base(),
                                base.map_or(Register::None, |b| GPR64[b as usize]),
                                "{what}"
                            );
                            assert_eq!(ins.memory_index(), GPR64[index as usize], "{what}");
                            assert_eq!(ins.memory_index_scale(), 1 << shift, "{what}");
                            assert_eq!(ins.memory_displacement64(), disp as i64 as u64, "{what}");
                            let mut regs = vec![dst, index];
                            regs.extend(base);
                            let disp_bytes = match base {
                                None => 4,
                                Some(b) => {
                                    expected_address_bytes(Mem::Indexed(Reg::gpr(b), Reg::gpr(index), disp))
                                        - 2
                                }
                            };
                            assert_eq!(len, rex_needed(w, &regs) + 1 + 2 + disp_bytes, "{what}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn shifts_zero_extensions_and_cmovs_drop_needless_prefixes() {
    let shifts = [
        (ShiftOp::Shl, Mnemonic::Shl),
        (ShiftOp::ShrS, Mnemonic::Sar),
        (ShiftOp::ShrU, Mnemonic::Shr),
        (ShiftOp::Rotl, Mnemonic::Rol),
        (ShiftOp::Rotr, Mnemonic::Ror),
    ];
    let conditions = [
        (Cc::O, Mnemonic::Cmovo),
        (Cc::No, Mnemonic::Cmovno),
        (Cc::B, Mnemonic::Cmovb),
        (Cc::Ae, Mnemonic::Cmovae),
        (Cc::E, Mnemonic::Cmove),
        (Cc::Ne, Mnemonic::Cmovne),
        (Cc::Be, Mnemonic::Cmovbe),
        (Cc::A, Mnemonic::Cmova),
        (Cc::S, Mnemonic::Cmovs),
        (Cc::Ns, Mnemonic::Cmovns),
        (Cc::P, Mnemonic::Cmovp),
        (Cc::Np, Mnemonic::Cmovnp),
        (Cc::L, Mnemonic::Cmovl),
        (Cc::Ge, Mnemonic::Cmovge),
        (Cc::Le, Mnemonic::Cmovle),
        (Cc::G, Mnemonic::Cmovg),
    ];
    for d in 0..16u8 {
        for (size, w, names) in [(OperandSize::S32, false, &GPR32), (OperandSize::S64, true, &GPR64)] {
            for (op, mnemonic) in shifts {
                let (ins, len) = one_instruction(|a| a.shift_ri(op, size, Reg::gpr(d), 13));
                assert_eq!(
                    (ins.mnemonic(), ins.op0_register(), ins.immediate(1)),
                    (mnemonic, names[d as usize], 13)
                );
                assert_eq!(len, rex_needed(w, &[d]) + 3, "{op:?} {size:?} r{d}, 13");
                let (ins, len) = one_instruction(|a| a.shift_cl(op, size, Reg::gpr(d)));
                assert_eq!(
                    (ins.mnemonic(), ins.op0_register(), ins.op1_register()),
                    (mnemonic, names[d as usize], Register::CL)
                );
                assert_eq!(len, rex_needed(w, &[d]) + 2, "{op:?} {size:?} r{d}, cl");
            }
            for s in 0..16u8 {
                for (cc, mnemonic) in conditions {
                    let (ins, len) = one_instruction(|a| a.cmov(cc, size, Reg::gpr(d), Reg::gpr(s)));
                    assert_eq!(
                        (ins.mnemonic(), ins.op0_register(), ins.op1_register()),
                        (mnemonic, names[d as usize], names[s as usize])
                    );
                    assert_eq!(len, rex_needed(w, &[d, s]) + 3, "{cc:?} {size:?} r{d}, r{s}");
                }
            }
        }
        for s in 0..16u8 {
            for (op, mnemonic) in [(AluOp::And, Mnemonic::And), (AluOp::Or, Mnemonic::Or)] {
                let (ins, len) = one_instruction(|a| a.alu_rr8(op, Reg::gpr(d), Reg::gpr(s)));
                assert_eq!(
                    (ins.mnemonic(), ins.op0_register(), ins.op1_register()),
                    (mnemonic, GPR8[d as usize], GPR8[s as usize])
                );
                let needs_rex = rex_needed(false, &[d, s]) == 1 || (4..8).contains(&d) || (4..8).contains(&s);
                assert_eq!(len, usize::from(needs_rex) + 2, "{op:?} r{d}b, r{s}b");
            }
            let (ins, len) = one_instruction(|a| a.movzx_r8(Reg::gpr(d), Reg::gpr(s)));
            assert_eq!(
                (ins.mnemonic(), ins.op0_register(), ins.op1_register()),
                (Mnemonic::Movzx, GPR32[d as usize], GPR8[s as usize])
            );
            let byte_register_needs_rex = (4..8).contains(&s);
            assert_eq!(
                len,
                usize::from(rex_needed(false, &[d, s]) == 1 || byte_register_needs_rex) + 3,
                "movzx r{d}, r{s}b"
            );
        }
    }
}

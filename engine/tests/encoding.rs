//! The hand-encoded instruction forms in `isa/x64/asm.rs` (REX only when needed, SIB
//! only when needed, 8-bit displacements and immediates when they fit), decoded back with
//! iced-x86 for every register and every addressing form.

use iced_x86::{Decoder, DecoderOptions, Instruction, Mnemonic, Register};
use sidewinder_engine::compiler::masm::{AluOp, LoadKind, OperandSize, StoreKind};
use sidewinder_engine::isa::x64::asm::{Assembler, Mem};
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

/// Every memory operand the compiler can form: each base, each index but rsp, scale 1
/// and 8, each displacement size.
fn memory_operands() -> Vec<Mem> {
    let mut out = Vec::new();
    for b in 0..16 {
        for &d in &DISPLACEMENTS {
            out.push(Mem::Base(Reg::gpr(b), d));
            for i in (0..16).filter(|&i| i != 4) {
                out.push(Mem::Indexed(Reg::gpr(b), Reg::gpr(i), d));
                out.push(Mem::Scaled8(Reg::gpr(b), Reg::gpr(i), d));
            }
        }
    }
    out
}

fn check_memory(ins: &Instruction, m: Mem) {
    let (base, index, scale, disp) = match m {
        Mem::Base(b, d) => (b, None, 1, d),
        Mem::Indexed(b, i, d) => (b, Some(i), 1, d),
        Mem::Scaled8(b, i, d) => (b, Some(i), 8, d),
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
        Mem::Indexed(b, _, d) | Mem::Scaled8(b, _, d) => (b.hw(), true, d),
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
        Mem::Indexed(b, i, _) | Mem::Scaled8(b, i, _) => vec![b.hw(), i.hw()],
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

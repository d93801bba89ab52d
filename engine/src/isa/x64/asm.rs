//! x86-64 instruction encoding: the only module that contains `dynasm!`.
//!
//! Each method emits one instruction (or a fixed idiom such as `cqo; idiv`). Choosing
//! instructions for WebAssembly semantics happens one level up, in `masm.rs`.

// dynasm expands register operands through `u8::from(..)` even when given a `u8`.
#![allow(clippy::useless_conversion)]

use super::code_buffer::{CodeBuffer, Inst};
use super::regs::Reg;
use crate::compiler::masm::{AluOp, IntCond, OperandSize, ShiftOp};
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};

/// A memory operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mem {
    /// `[base + disp]`
    Base(Reg, i32),
    /// `[base + index + disp]`
    Indexed(Reg, Reg, i32),
    /// `[base + (index << shift) + disp]`, shift 0-3 (3: an array of 8-byte elements)
    Scaled(Reg, Reg, u8, i32),
}

/// A condition code, as the hardware sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cc {
    E,
    Ne,
    L,
    Le,
    G,
    Ge,
    B,
    Be,
    A,
    Ae,
    P,
    Np,
    O,
    No,
    S,
    Ns,
}

impl Cc {
    /// The condition's 4-bit encoding (the low nibble of `jcc`, `setcc` and `cmovcc`).
    pub fn code(self) -> u8 {
        match self {
            Cc::O => 0x0,
            Cc::No => 0x1,
            Cc::B => 0x2,
            Cc::Ae => 0x3,
            Cc::E => 0x4,
            Cc::Ne => 0x5,
            Cc::Be => 0x6,
            Cc::A => 0x7,
            Cc::S => 0x8,
            Cc::Ns => 0x9,
            Cc::P => 0xA,
            Cc::Np => 0xB,
            Cc::L => 0xC,
            Cc::Ge => 0xD,
            Cc::Le => 0xE,
            Cc::G => 0xF,
        }
    }
}

impl From<IntCond> for Cc {
    fn from(c: IntCond) -> Cc {
        match c {
            IntCond::Eq => Cc::E,
            IntCond::Ne => Cc::Ne,
            IntCond::LtS => Cc::L,
            IntCond::LtU => Cc::B,
            IntCond::GtS => Cc::G,
            IntCond::GtU => Cc::A,
            IntCond::LeS => Cc::Le,
            IntCond::LeU => Cc::Be,
            IntCond::GeS => Cc::Ge,
            IntCond::GeU => Cc::Ae,
        }
    }
}

/// A packed-integer or packed-float SSE instruction (SSE2 to SSE4.2): its mandatory
/// prefix, REX.W, and opcode including the 0x0F / 0x0F38 / 0x0F3A escape (`0x0F3800`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SseOp {
    pub prefix: Option<u8>,
    pub w: bool,
    pub opcode: u32,
}

impl SseOp {
    /// An instruction with the 0x66 prefix (most packed-integer ones).
    pub const fn p66(opcode: u32) -> SseOp {
        SseOp { prefix: Some(0x66), w: false, opcode }
    }
    /// An instruction without a mandatory prefix (packed single precision).
    pub const fn np(opcode: u32) -> SseOp {
        SseOp { prefix: None, w: false, opcode }
    }
    pub const fn with_prefix(prefix: u8, opcode: u32) -> SseOp {
        SseOp { prefix: Some(prefix), w: false, opcode }
    }
    /// The REX.W form (`pextrq`, `pinsrq`, `movq`).
    pub const fn wide(self) -> SseOp {
        SseOp { w: true, ..self }
    }
}

/// The ModRM digit of a shift or rotate in the 0xC1/0xD3 group.
fn shift_digit(op: ShiftOp) -> u8 {
    match op {
        ShiftOp::Rotl => 0,
        ShiftOp::Rotr => 1,
        ShiftOp::Shl => 4,
        ShiftOp::ShrU => 5,
        ShiftOp::ShrS => 7,
    }
}

/// A `jcc` to a dynamic label for each condition code (the other condition-code forms,
/// `setcc` and `cmovcc`, are hand-encoded from `Cc::code`).
/// Same-shaped SSE instructions in single and double precision.
/// A scalar or packed SSE operation `op xmm, xmm`, hand-encoded (dynasm adds an empty
/// REX prefix for run-time registers): `$single`/`$double` are the mandatory prefixes of
/// the f32 and f64 forms, `$opcode` the byte after 0x0F.
macro_rules! sse_rr {
    ($name:ident, $single:expr, $double:expr, $opcode:expr) => {
        pub fn $name(&mut self, double: bool, dst: Reg, src: Reg) {
            let prefix = if double { $double } else { $single };
            self.op_rr(prefix, false, 0x0F00 | $opcode, dst.hw(), src.hw());
        }
    };
}

/// The x86 instructions atomic read-modify-writes are made of (`Assembler::atomic_rmw`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AtomicRmwInsn {
    Xchg,
    Xadd,
    Cmpxchg,
}

pub struct Assembler {
    pub(crate) ops: CodeBuffer,
    /// How many labels `bind` has bound: code after a bound label may be reached by a
    /// jump, with other flags.
    labels_bound: u32,
}

/// `op r, r/m` opcodes.
fn alu_opcode(op: AluOp) -> u8 {
    match op {
        AluOp::Add => 0x03,
        AluOp::Sub => 0x2B,
        AluOp::And => 0x23,
        AluOp::Or => 0x0B,
        AluOp::Xor => 0x33,
    }
}

/// The ModRM reg field selecting the operation in the 0x81/0x83 group.
fn alu_digit(op: AluOp) -> u8 {
    match op {
        AluOp::Add => 0,
        AluOp::Or => 1,
        AluOp::And => 4,
        AluOp::Sub => 5,
        AluOp::Xor => 6,
    }
}

const CMP_DIGIT: u8 = 7;

/// The recommended `nop` encodings of 1 to 9 bytes.
const NOPS: [&[u8]; 9] = [
    &[0x90],
    &[0x66, 0x90],
    &[0x0F, 0x1F, 0x00],
    &[0x0F, 0x1F, 0x40, 0x00],
    &[0x0F, 0x1F, 0x44, 0x00, 0x00],
    &[0x66, 0x0F, 0x1F, 0x44, 0x00, 0x00],
    &[0x0F, 0x1F, 0x80, 0x00, 0x00, 0x00, 0x00],
    &[0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    &[0x66, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
];

/// The 8 bytes of `Assembler::marked_nop(mark)`, as a little-endian word: what code
/// that checks for the mark compares with.
pub const fn marked_nop_bytes(mark: u32) -> u64 {
    let m = mark.to_le_bytes();
    u64::from_le_bytes([0x0F, 0x1F, 0x84, 0x00, m[0], m[1], m[2], m[3]])
}

/// `len` bytes of `NOPS`, longest first, none longer than `longest` bytes.
fn nop_pieces(mut len: usize, longest: usize) -> impl Iterator<Item = &'static [u8]> {
    std::iter::from_fn(move || {
        let n = len.min(longest);
        len -= n;
        (n > 0).then(|| NOPS[n - 1])
    })
}

impl Default for Assembler {
    fn default() -> Self {
        Self::new()
    }
}

impl Assembler {
    pub fn new() -> Assembler {
        Assembler { ops: CodeBuffer::default(), labels_bound: 0 }
    }

    /// Makes room for about `bytes` more bytes of code.
    pub fn reserve(&mut self, bytes: usize) {
        self.ops.reserve(bytes);
    }

    pub fn offset(&self) -> u32 {
        self.ops.len() as u32
    }

    pub fn new_label(&mut self) -> DynamicLabel {
        self.ops.new_dynamic_label()
    }

    pub fn bind(&mut self, label: DynamicLabel) {
        self.labels_bound = self.labels_bound.wrapping_add(1);
        dynasm!(self.ops ; .arch x64 ; =>label);
    }

    /// How many labels have been bound (wrapping): when unchanged since an instruction,
    /// no label lies between it and the end of the code.
    pub fn labels_bound(&self) -> u32 {
        self.labels_bound
    }

    /// Where the code is and how many labels are bound: when both are unchanged since an
    /// instruction, control can only arrive from it.
    pub fn position(&self) -> (u32, u32) {
        (self.offset(), self.labels_bound)
    }

    /// Resolves labels and returns the bytes, leaving the assembler empty for the next
    /// function (its label and relocation tables kept).
    pub fn finish(&mut self) -> Result<Vec<u8>, dynasmrt::DynasmError> {
        self.ops.finish()
    }

    /// Resolves labels, keeping the code here (`CodeBuffer::resolve_in_place`).
    pub fn resolve_in_place(&mut self) -> Result<(), dynasmrt::DynasmError> {
        self.ops.resolve_in_place()
    }

    pub fn code(&self) -> &[u8] {
        self.ops.code()
    }

    pub fn code_mut(&mut self) -> &mut [u8] {
        self.ops.code_mut()
    }

    /// Forgets everything emitted, keeping allocations.
    pub fn clear(&mut self) {
        self.ops.clear();
    }

    pub fn emit_bytes(&mut self, bytes: &[u8]) {
        self.ops.extend(bytes);
    }

    /// An 8-byte `nop` (`nop dword [rax + rax + disp32]`) whose displacement is `mark`:
    /// code that reads the 8 bytes at an address, a return address say, can tell this
    /// spot from any other, since nothing else emits these bytes.
    pub fn marked_nop(&mut self, mark: u32) {
        self.ops.extend(marked_nop_bytes(mark).to_le_bytes());
    }

    /// Pads with `nop`s (`nop_pieces`) up to a multiple of `alignment`, for code that
    /// falls through into the aligned point.
    pub fn align_with_nops(&mut self, alignment: usize) {
        let missing = (alignment - self.ops.offset().0 % alignment) % alignment;
        for nop in nop_pieces(missing, NOPS.len()) {
            self.ops.extend(nop);
        }
    }

    pub fn align(&mut self, alignment: usize, fill: u8) {
        while !self.ops.offset().0.is_multiple_of(alignment) {
            self.ops.push(fill);
        }
    }

    // ---- hand-encoded forms ----
    //
    // dynasm fixes an instruction's encoding when the macro expands, so for registers and
    // displacements known only at run time it assumes the worst: a REX prefix even when
    // no register needs one, a SIB byte and a 32-bit displacement on every memory operand.
    // The instructions the compiler emits most are encoded here instead, choosing the
    // short forms at run time. Register numbers are hardware numbers (0-15).

    /// A REX prefix if any bit is needed, or always with `force` (byte registers
    /// spl/bpl/sil/dil exist only with one).
    #[inline]
    fn rex(inst: &mut Inst<'_>, w: bool, reg: u8, index: u8, base: u8, force: bool) {
        let rex = 0x40 | (u8::from(w) << 3) | ((reg >> 3) << 2) | ((index >> 3) << 1) | (base >> 3);
        if rex != 0x40 || force {
            inst.byte(rex);
        }
    }

    /// `[prefix] [REX] opcode ModRM` with a register operand (mod = 11), left open for
    /// an immediate.
    #[inline(always)]
    fn encode_rr(&mut self, prefix: Option<u8>, w: bool, opcode: u32, reg: u8, rm: u8) -> Inst<'_> {
        let mut inst = self.ops.begin();
        if let Some(p) = prefix {
            inst.byte(p);
        }
        Self::rex(&mut inst, w, reg, 0, rm, false);
        inst.opcode(opcode);
        inst.byte(0xC0 | ((reg & 7) << 3) | (rm & 7));
        inst
    }

    #[inline]
    fn op_rr(&mut self, prefix: Option<u8>, w: bool, opcode: u32, reg: u8, rm: u8) {
        self.encode_rr(prefix, w, opcode, reg, rm).finish();
    }

    /// `op_rr` (32-bit, no prefix) with a byte register as `rm`, and as `reg` too when
    /// `reg_is_byte`: spl/bpl/sil/dil need a REX prefix, without which they are ah/ch/dh/bh.
    fn op_byte_rr(&mut self, opcode: u32, reg: u8, reg_is_byte: bool, rm: u8) {
        let needs_rex = (4..8).contains(&rm) || (reg_is_byte && (4..8).contains(&reg));
        let mut inst = self.ops.begin();
        Self::rex(&mut inst, false, reg, 0, rm, needs_rex);
        inst.opcode(opcode);
        inst.byte(0xC0 | ((reg & 7) << 3) | (rm & 7));
        inst.finish();
    }

    /// `[prefix] [REX] opcode ModRM [SIB] [disp8/disp32]` with a memory operand, left
    /// open for an immediate. `byte_reg`: `reg` is an 8-bit register.
    #[inline(always)]
    fn encode_mem(
        &mut self,
        prefix: Option<u8>,
        w: bool,
        opcode: u32,
        reg: u8,
        m: Mem,
        byte_reg: bool,
    ) -> Inst<'_> {
        let (base, index, scale, disp) = match m {
            Mem::Base(b, d) => (b.hw(), None, 0, d),
            Mem::Indexed(b, i, d) => (b.hw(), Some(i.hw()), 0, d),
            Mem::Scaled(b, i, shift, d) => {
                debug_assert!(shift <= 3, "a scale of 1, 2, 4 or 8");
                (b.hw(), Some(i.hw()), shift & 3, d)
            }
        };
        let mut inst = self.ops.begin();
        if let Some(p) = prefix {
            inst.byte(p);
        }
        Self::rex(&mut inst, w, reg, index.unwrap_or(0), base, byte_reg && (4..8).contains(&reg));
        inst.opcode(opcode);
        // mod 00 with base rbp/r13 means "no base", so those always carry a displacement.
        let mode = if disp == 0 && base & 7 != 5 {
            0
        } else if i8::try_from(disp).is_ok() {
            1
        } else {
            2
        };
        let reg_bits = (reg & 7) << 3;
        match index {
            // rsp/r12 as base can only be expressed through a SIB byte.
            None if base & 7 != 4 => inst.byte((mode << 6) | reg_bits | (base & 7)),
            None => {
                inst.byte((mode << 6) | reg_bits | 4);
                inst.byte(0x20 | (base & 7));
            }
            Some(i) => {
                inst.byte((mode << 6) | reg_bits | 4);
                inst.byte((scale << 6) | ((i & 7) << 3) | (base & 7));
            }
        }
        match mode {
            1 => inst.byte(disp as i8 as u8),
            2 => inst.imm32(disp),
            _ => {}
        }
        inst
    }

    #[inline]
    fn op_mem(&mut self, prefix: Option<u8>, w: bool, opcode: u32, reg: u8, m: Mem, byte_reg: bool) {
        self.encode_mem(prefix, w, opcode, reg, m, byte_reg).finish();
    }

    /// `opcode /digit` on a memory operand of an instruction whose operand is 64 bits
    /// wide without REX.W (call, jmp, push, pop).
    fn op_mem_64_by_default(&mut self, opcode: u32, digit: u8, m: Mem) {
        self.op_mem(None, false, opcode, digit, m, false);
    }

    /// The 0x81/0x83 group: `op r, imm`, 8-bit immediate when it fits.
    #[inline(always)]
    fn group1_ri(&mut self, digit: u8, size: OperandSize, r: Reg, imm: i32) {
        let w = size == OperandSize::S64;
        let mut inst;
        if let Ok(short) = i8::try_from(imm) {
            inst = self.encode_rr(None, w, 0x83, digit, r.hw());
            inst.byte(short as u8);
        } else {
            inst = self.encode_rr(None, w, 0x81, digit, r.hw());
            inst.imm32(imm);
        }
        inst.finish();
    }

    // ---- control transfer ----

    pub fn jmp(&mut self, label: DynamicLabel) {
        self.ops.jump(0xE9, label);
    }

    pub fn jcc(&mut self, cc: Cc, label: DynamicLabel) {
        self.ops.jump(0x0F80 | u32::from(cc.code()), label);
    }

    pub fn jmp_reg(&mut self, r: Reg) {
        // By hand, as `call_reg`.
        let r = r.hw();
        if r >= 8 {
            self.ops.push(0x41);
        }
        self.ops.extend([0xFF, 0xE0 | (r & 7)]);
    }

    pub fn call_label(&mut self, label: DynamicLabel) {
        dynasm!(self.ops ; .arch x64 ; call =>label);
    }

    pub fn call_reg(&mut self, r: Reg) {
        // By hand: dynasm gives a dynamic register a REX prefix even when it needs none.
        let r = r.hw();
        if r >= 8 {
            self.ops.push(0x41);
        }
        self.ops.extend([0xFF, 0xD0 | (r & 7)]);
    }

    pub fn call_mem(&mut self, m: Mem) {
        self.op_mem_64_by_default(0xFF, 2, m);
    }

    pub fn jmp_mem(&mut self, m: Mem) {
        self.op_mem_64_by_default(0xFF, 4, m);
    }

    /// `jmp rel32` with a zero displacement, patched by the linker like a call's.
    pub fn jmp_rel32_placeholder(&mut self) -> u32 {
        self.emit_bytes(&[0xE9, 0, 0, 0, 0]);
        self.offset() - 4
    }

    /// `call rel32` with a zero displacement; returns the offset of the displacement
    /// field for the linker to patch.
    pub fn call_rel32_placeholder(&mut self) -> u32 {
        self.emit_bytes(&[0xE8, 0, 0, 0, 0]);
        self.offset() - 4
    }

    /// Jumps through a table of 32-bit offsets (relative to the table) at `table`;
    /// clobbers `index` and the scratch register.
    pub fn jump_table_dispatch(&mut self, index: Reg, table: DynamicLabel) {
        let i = index.hw();
        dynasm!(self.ops
            ; .arch x64
            ; lea r11, [=>table]
            ; movsxd Rq(i), DWORD [r11 + Rq(i) * 4]
            ; add r11, Rq(i)
            ; jmp r11
        );
    }

    /// The offset a bound label resolved to.
    pub fn label_offset(&self, label: DynamicLabel) -> Option<u32> {
        self.ops.labels().resolve_dynamic(label).ok().map(|o| o.0 as u32)
    }

    pub fn ret(&mut self) {
        dynasm!(self.ops ; .arch x64 ; ret);
    }

    pub fn push(&mut self, r: Reg) {
        let mut inst = self.ops.begin();
        Self::rex(&mut inst, false, 0, 0, r.hw(), false);
        inst.byte(0x50 + (r.hw() & 7));
        inst.finish();
    }

    pub fn pop(&mut self, r: Reg) {
        let mut inst = self.ops.begin();
        Self::rex(&mut inst, false, 0, 0, r.hw(), false);
        inst.byte(0x58 + (r.hw() & 7));
        inst.finish();
    }

    pub fn push_mem(&mut self, m: Mem) {
        self.op_mem_64_by_default(0xFF, 6, m);
    }

    pub fn pop_mem(&mut self, m: Mem) {
        self.op_mem_64_by_default(0x8F, 0, m);
    }

    pub fn ud2(&mut self) {
        dynasm!(self.ops ; .arch x64 ; ud2);
    }

    /// `sub rsp, imm32` with a placeholder; returns the immediate's offset for patching.
    pub fn sub_rsp_placeholder(&mut self) -> u32 {
        self.emit_bytes(&[0x48, 0x81, 0xEC, 0, 0, 0, 0]);
        self.offset() - 4
    }

    /// Rewrites finished code so that `code[start..end]` is jumped over: a short `jmp`,
    /// then multi-byte `nop`s that never run (they keep the bytes decodable). False,
    /// and nothing written, if the region is too short or too long for that.
    pub fn jump_over(code: &mut [u8], start: usize, end: usize) -> bool {
        let Some(skipped) = end.checked_sub(start + 2).filter(|&n| n <= i8::MAX as usize) else {
            return false;
        };
        if end > code.len() {
            return false;
        }
        code[start] = 0xEB;
        code[start + 1] = skipped as u8;
        let mut at = start + 2;
        // `nop`s of at most 8 bytes, as this region has always been filled.
        for nop in nop_pieces(end - at, 8) {
            code[at..at + nop.len()].copy_from_slice(nop);
            at += nop.len();
        }
        true
    }

    pub fn rep_stosq(&mut self) {
        dynasm!(self.ops ; .arch x64 ; rep stosq);
    }

    // ---- moves ----

    #[inline]
    pub fn mov_rr(&mut self, size: OperandSize, dst: Reg, src: Reg) {
        self.op_rr(None, size == OperandSize::S64, 0x8B, dst.hw(), src.hw());
    }

    /// Swaps two registers' 64 bits (`xchg`, no lock: register operands only).
    pub fn xchg_rr(&mut self, a: Reg, b: Reg) {
        self.op_rr(None, true, 0x87, a.hw(), b.hw());
    }

    /// `mov_ri` without the `xor` form for zero, for code between a flags-setting
    /// instruction and the one that reads the flags.
    pub fn mov_ri_keeping_flags(&mut self, dst: Reg, imm: i64) {
        if imm == 0 {
            let d = dst.hw();
            let mut inst = self.ops.begin();
            Self::rex(&mut inst, false, 0, 0, d, false);
            inst.byte(0xB8 + (d & 7));
            inst.imm32(0);
            inst.finish();
        } else {
            self.mov_ri(dst, imm);
        }
    }

    /// Loads a 64-bit constant with the shortest encoding.
    pub fn mov_ri(&mut self, dst: Reg, imm: i64) {
        let d = dst.hw();
        let mut inst;
        if imm == 0 {
            inst = self.encode_rr(None, false, 0x33, d, d);
        } else if imm as u64 <= u32::MAX as u64 {
            inst = self.ops.begin();
            Self::rex(&mut inst, false, 0, 0, d, false);
            inst.byte(0xB8 + (d & 7));
            inst.imm32(imm as u32 as i32);
        } else if imm as i32 as i64 == imm {
            inst = self.encode_rr(None, true, 0xC7, 0, d);
            inst.imm32(imm as i32);
        } else {
            inst = self.ops.begin();
            Self::rex(&mut inst, true, 0, 0, d, false);
            inst.byte(0xB8 + (d & 7));
            inst.slice(&imm.to_le_bytes());
        }
        inst.finish();
    }

    #[inline(always)]
    pub fn load(&mut self, kind: crate::compiler::masm::LoadKind, dst: Reg, m: Mem) {
        use crate::compiler::masm::LoadKind::*;
        let (prefix, w, opcode): (Option<u8>, bool, u32) = match kind {
            U8 => (None, false, 0x0FB6),
            S8To32 => (None, false, 0x0FBE),
            S8To64 => (None, true, 0x0FBE),
            U16 => (None, false, 0x0FB7),
            S16To32 => (None, false, 0x0FBF),
            S16To64 => (None, true, 0x0FBF),
            U32 => (None, false, 0x8B),
            S32To64 => (None, true, 0x63),
            I64 => (None, true, 0x8B),
            F32 => (Some(0xF3), false, 0x0F10),
            F64 => (Some(0xF2), false, 0x0F10),
            V128 => (Some(0xF3), false, 0x0F6F),
        };
        self.op_mem(prefix, w, opcode, dst.hw(), m, false);
    }

    #[inline(always)]
    pub fn store(&mut self, kind: crate::compiler::masm::StoreKind, m: Mem, src: Reg) {
        use crate::compiler::masm::StoreKind::*;
        let (prefix, w, opcode): (Option<u8>, bool, u32) = match kind {
            I8 => (None, false, 0x88),
            I16 => (Some(0x66), false, 0x89),
            I32 => (None, false, 0x89),
            I64 => (None, true, 0x89),
            F32 => (Some(0xF3), false, 0x0F11),
            F64 => (Some(0xF2), false, 0x0F11),
            V128 => (Some(0xF3), false, 0x0F7F),
        };
        self.op_mem(prefix, w, opcode, src.hw(), m, kind == I8);
    }

    /// Stores an immediate (truncated to the store's width; sign-extended for 64 bits).
    #[inline(always)]
    pub fn store_imm(&mut self, kind: crate::compiler::masm::StoreKind, m: Mem, imm: i32) {
        use crate::compiler::masm::StoreKind::*;
        let inst = match kind {
            I8 => {
                let mut inst = self.encode_mem(None, false, 0xC6, 0, m, false);
                inst.byte(imm as u8);
                inst
            }
            I16 => {
                let mut inst = self.encode_mem(Some(0x66), false, 0xC7, 0, m, false);
                inst.slice(&(imm as u16).to_le_bytes());
                inst
            }
            I32 | F32 | I64 | F64 | V128 => {
                let mut inst = self.encode_mem(None, matches!(kind, I64 | F64), 0xC7, 0, m, false);
                inst.imm32(imm);
                inst
            }
        };
        inst.finish();
    }

    #[inline]
    pub fn lea(&mut self, dst: Reg, m: Mem) {
        self.op_mem(None, true, 0x8D, dst.hw(), m, false);
    }

    /// `lea` of `size`: a 32-bit one keeps the address's low half (an i32 sum, wrapped).
    pub fn lea_sized(&mut self, size: OperandSize, dst: Reg, m: Mem) {
        self.op_mem(None, size == OperandSize::S64, 0x8D, dst.hw(), m, false);
    }

    /// `lea` of `size` of `[base + (index << shift) + disp]`, or without a base of
    /// `[(index << shift) + disp32]`; `shift` at most 3, `index` never rsp. (Addresses of
    /// memory accesses never scale but by 8, so `Mem` has no such form.)
    pub fn lea_scaled(
        &mut self,
        size: OperandSize,
        dst: Reg,
        base: Option<Reg>,
        index: Reg,
        shift: u8,
        disp: i32,
    ) {
        debug_assert!(shift <= 3 && index.hw() != 4, "no SIB form for shift {shift} of {index:?}");
        let (d, i) = (dst.hw(), index.hw());
        // mod 00 with SIB base 101 means "no base, disp32"; rbp/r13 as a real base
        // therefore always carry a displacement.
        let (mode, b) = match base.map(Reg::hw) {
            None => (0, 5),
            Some(b) if disp == 0 && b & 7 != 5 => (0, b),
            Some(b) if i8::try_from(disp).is_ok() => (1, b),
            Some(b) => (2, b),
        };
        let rex_base = if base.is_some() { b } else { 0 };
        let mut inst = self.ops.begin();
        Self::rex(&mut inst, size == OperandSize::S64, d, i, rex_base, false);
        inst.opcode(0x8D);
        inst.byte((mode << 6) | ((d & 7) << 3) | 4);
        inst.byte((shift << 6) | ((i & 7) << 3) | (b & 7));
        match mode {
            1 => inst.byte(disp as i8 as u8),
            _ if mode == 2 || base.is_none() => inst.imm32(disp),
            _ => {}
        }
        inst.finish();
    }

    pub fn movsx_rr(&mut self, dst: Reg, src: Reg, from_bits: u8, to64: bool) {
        let (d, s) = (dst.hw(), src.hw());
        match (from_bits, to64) {
            (8, false) => dynasm!(self.ops ; .arch x64 ; movsx Rd(d), Rb(s)),
            (16, false) => dynasm!(self.ops ; .arch x64 ; movsx Rd(d), Rw(s)),
            (8, true) => dynasm!(self.ops ; .arch x64 ; movsx Rq(d), Rb(s)),
            (16, true) => dynasm!(self.ops ; .arch x64 ; movsx Rq(d), Rw(s)),
            _ => dynasm!(self.ops ; .arch x64 ; movsxd Rq(d), Rd(s)),
        }
    }

    /// `and` or `or` of two byte registers (the other ALU operations have no use here).
    pub fn alu_rr8(&mut self, op: AluOp, dst: Reg, src: Reg) {
        let opcode = match op {
            AluOp::And => 0x22,
            AluOp::Or => 0x0A,
            _ => unreachable!("8-bit {op:?} is never emitted"),
        };
        self.op_byte_rr(opcode, dst.hw(), true, src.hw());
    }

    pub fn movzx_r8(&mut self, dst: Reg, src: Reg) {
        self.op_byte_rr(0x0FB6, dst.hw(), false, src.hw());
    }

    pub fn movzx_r16(&mut self, dst: Reg, src: Reg) {
        self.op_rr(None, false, 0x0FB7, dst.hw(), src.hw());
    }

    pub fn cmov(&mut self, cc: Cc, size: OperandSize, dst: Reg, src: Reg) {
        self.op_rr(None, size == OperandSize::S64, 0x0F40 | u32::from(cc.code()), dst.hw(), src.hw());
    }

    pub fn cmov_rm(&mut self, cc: Cc, size: OperandSize, dst: Reg, m: Mem) {
        self.op_mem(None, size == OperandSize::S64, 0x0F40 | cc.code() as u32, dst.hw(), m, false);
    }

    pub fn setcc(&mut self, cc: Cc, dst: Reg) {
        self.op_byte_rr(0x0F90 | u32::from(cc.code()), 0, false, dst.hw());
    }

    // ---- integer arithmetic ----

    pub fn alu_rr(&mut self, op: AluOp, size: OperandSize, dst: Reg, src: Reg) {
        self.op_rr(None, size == OperandSize::S64, alu_opcode(op) as u32, dst.hw(), src.hw());
    }

    /// `op dst, imm` (sign-extended for 64-bit operations), 8-bit immediate when it fits.
    pub fn alu_ri(&mut self, op: AluOp, size: OperandSize, dst: Reg, imm: i32) {
        self.group1_ri(alu_digit(op), size, dst, imm);
    }

    /// `adc dst, imm` (`sbb` when `borrow`): adds (subtracts) the carry flag too.
    pub fn carry_ri(&mut self, borrow: bool, size: OperandSize, dst: Reg, imm: i32) {
        self.group1_ri(if borrow { 3 } else { 2 }, size, dst, imm);
    }

    /// `adc dst, src`, or `sbb` with `borrow`.
    pub fn carry_rr(&mut self, borrow: bool, size: OperandSize, dst: Reg, src: Reg) {
        self.op_rr(None, size == OperandSize::S64, if borrow { 0x1B } else { 0x13 }, dst.hw(), src.hw());
    }

    /// `op dst, [mem]`.
    pub fn alu_rm(&mut self, op: AluOp, size: OperandSize, dst: Reg, m: Mem) {
        self.op_mem(None, size == OperandSize::S64, alu_opcode(op) as u32, dst.hw(), m, false);
    }

    pub fn cmp_rr(&mut self, size: OperandSize, a: Reg, b: Reg) {
        self.op_rr(None, size == OperandSize::S64, 0x3B, a.hw(), b.hw());
    }

    pub fn cmp_ri(&mut self, size: OperandSize, a: Reg, imm: i32) {
        self.group1_ri(CMP_DIGIT, size, a, imm);
    }

    pub fn cmp_rm(&mut self, size: OperandSize, a: Reg, m: Mem) {
        self.op_mem(None, size == OperandSize::S64, 0x3B, a.hw(), m, false);
    }

    pub fn cmp_mi(&mut self, size: OperandSize, m: Mem, imm: i32) {
        self.group1_mi(CMP_DIGIT, size, m, imm);
    }

    /// `op [mem], imm` (sign-extended for 64-bit operations), 8-bit immediate when it fits.
    pub fn alu_mi(&mut self, op: AluOp, size: OperandSize, m: Mem, imm: i32) {
        self.group1_mi(alu_digit(op), size, m, imm);
    }

    fn group1_mi(&mut self, digit: u8, size: OperandSize, m: Mem, imm: i32) {
        let w = size == OperandSize::S64;
        let mut inst;
        if let Ok(short) = i8::try_from(imm) {
            inst = self.encode_mem(None, w, 0x83, digit, m, false);
            inst.byte(short as u8);
        } else {
            inst = self.encode_mem(None, w, 0x81, digit, m, false);
            inst.imm32(imm);
        }
        inst.finish();
    }

    pub fn test_rr(&mut self, size: OperandSize, a: Reg, b: Reg) {
        self.op_rr(None, size == OperandSize::S64, 0x85, b.hw(), a.hw());
    }

    /// `test r32, imm32`.
    pub fn test_ri(&mut self, r: Reg, imm: i32) {
        let mut inst = self.encode_rr(None, false, 0xF7, 0, r.hw());
        inst.imm32(imm);
        inst.finish();
    }

    /// An atomic read-modify-write of the `bytes` (1, 2, 4 or 8) at `m` with `r`:
    /// `xchg` (locked by itself), `lock xadd` or `lock cmpxchg` (against rax).
    pub fn atomic_rmw(&mut self, op: AtomicRmwInsn, bytes: u8, m: Mem, r: Reg) {
        let (lock, opcode) = match op {
            AtomicRmwInsn::Xchg => (false, 0x86),
            AtomicRmwInsn::Xadd => (true, 0x0FC0),
            AtomicRmwInsn::Cmpxchg => (true, 0x0FB0),
        };
        if lock {
            self.emit_bytes(&[0xF0]);
        }
        // The byte forms' opcodes are one below the others.
        let opcode = if bytes == 1 { opcode } else { opcode + 1 };
        let prefix = (bytes == 2).then_some(0x66);
        self.op_mem(prefix, bytes == 8, opcode, r.hw(), m, bytes == 1);
    }

    pub fn mfence(&mut self) {
        self.emit_bytes(&[0x0F, 0xAE, 0xF0]);
    }

    pub fn imul_rr(&mut self, size: OperandSize, dst: Reg, src: Reg) {
        self.op_rr(None, size == OperandSize::S64, 0x0FAF, dst.hw(), src.hw());
    }

    pub fn imul_rri(&mut self, size: OperandSize, dst: Reg, src: Reg, imm: i32) {
        let w = size == OperandSize::S64;
        let mut inst;
        if let Ok(short) = i8::try_from(imm) {
            inst = self.encode_rr(None, w, 0x6B, dst.hw(), src.hw());
            inst.byte(short as u8);
        } else {
            inst = self.encode_rr(None, w, 0x69, dst.hw(), src.hw());
            inst.imm32(imm);
        }
        inst.finish();
    }

    pub fn imul_rm(&mut self, size: OperandSize, dst: Reg, m: Mem) {
        self.op_mem(None, size == OperandSize::S64, 0x0FAF, dst.hw(), m, false);
    }

    /// Shift or rotate by `cl`.
    pub fn shift_cl(&mut self, op: ShiftOp, size: OperandSize, dst: Reg) {
        self.op_rr(None, size == OperandSize::S64, 0xD3, shift_digit(op), dst.hw());
    }

    /// Shift or rotate by an immediate.
    pub fn shift_ri(&mut self, op: ShiftOp, size: OperandSize, dst: Reg, imm: u8) {
        let mut inst = self.encode_rr(None, size == OperandSize::S64, 0xC1, shift_digit(op), dst.hw());
        inst.byte(imm);
        inst.finish();
    }

    /// Sign- or zero-extends rax into rdx, for a division.
    pub fn extend_dividend(&mut self, signed: bool, size: OperandSize) {
        match (signed, size) {
            (true, OperandSize::S32) => dynasm!(self.ops ; .arch x64 ; cdq),
            (true, OperandSize::S64) => dynasm!(self.ops ; .arch x64 ; cqo),
            (false, _) => dynasm!(self.ops ; .arch x64 ; xor edx, edx),
        }
    }

    /// Divides rdx:rax by `divisor`: quotient in rax, remainder in rdx.
    pub fn div(&mut self, signed: bool, size: OperandSize, divisor: Reg) {
        let s = divisor.hw();
        match (signed, size) {
            (true, OperandSize::S32) => dynasm!(self.ops ; .arch x64 ; idiv Rd(s)),
            (true, OperandSize::S64) => dynasm!(self.ops ; .arch x64 ; idiv Rq(s)),
            (false, OperandSize::S32) => dynasm!(self.ops ; .arch x64 ; div Rd(s)),
            (false, OperandSize::S64) => dynasm!(self.ops ; .arch x64 ; div Rq(s)),
        }
    }

    /// `rdx:rax = rax * src`, unsigned, 64 by 64 bits.
    pub fn mul_wide_u64(&mut self, src: Reg) {
        let s = src.hw();
        dynasm!(self.ops ; .arch x64 ; mul Rq(s));
    }

    /// `rdx:rax = rax * src`, signed, 64 by 64 bits.
    pub fn imul_wide_i64(&mut self, src: Reg) {
        self.op_rr(None, true, 0xF7, 5, src.hw());
    }

    /// `rdx:rax = rax * [rip + label]`, unsigned, 64 by 64 bits.
    pub fn mul_wide_u64_rip(&mut self, label: DynamicLabel) {
        dynasm!(self.ops ; .arch x64 ; mul QWORD [=>label]);
    }

    /// `dst = dst * [rip + label]`, 64 bits.
    pub fn imul_r_rip(&mut self, dst: Reg, label: DynamicLabel) {
        let d = dst.hw();
        dynasm!(self.ops ; .arch x64 ; imul Rq(d), QWORD [=>label]);
    }

    /// `dst = dst op [rip + label]`, 64 bits.
    pub fn alu_r_rip(&mut self, op: AluOp, dst: Reg, label: DynamicLabel) {
        let d = dst.hw();
        match op {
            AluOp::Add => dynasm!(self.ops ; .arch x64 ; add Rq(d), QWORD [=>label]),
            AluOp::Sub => dynasm!(self.ops ; .arch x64 ; sub Rq(d), QWORD [=>label]),
            AluOp::And => dynasm!(self.ops ; .arch x64 ; and Rq(d), QWORD [=>label]),
            AluOp::Or => dynasm!(self.ops ; .arch x64 ; or Rq(d), QWORD [=>label]),
            AluOp::Xor => dynasm!(self.ops ; .arch x64 ; xor Rq(d), QWORD [=>label]),
        }
    }

    /// `cmp r, [rip + label]`, 64 bits.
    pub fn cmp_r_rip(&mut self, r: Reg, label: DynamicLabel) {
        let r = r.hw();
        dynasm!(self.ops ; .arch x64 ; cmp Rq(r), QWORD [=>label]);
    }

    pub fn neg(&mut self, size: OperandSize, dst: Reg) {
        let d = dst.hw();
        match size {
            OperandSize::S32 => dynasm!(self.ops ; .arch x64 ; neg Rd(d)),
            OperandSize::S64 => dynasm!(self.ops ; .arch x64 ; neg Rq(d)),
        }
    }

    pub fn bitcount(&mut self, op: crate::compiler::masm::BitCountOp, size: OperandSize, dst: Reg, src: Reg) {
        use crate::compiler::masm::BitCountOp::*;
        let (d, s) = (dst.hw(), src.hw());
        match (op, size) {
            (Clz, OperandSize::S32) => dynasm!(self.ops ; .arch x64 ; lzcnt Rd(d), Rd(s)),
            (Clz, OperandSize::S64) => dynasm!(self.ops ; .arch x64 ; lzcnt Rq(d), Rq(s)),
            (Ctz, OperandSize::S32) => dynasm!(self.ops ; .arch x64 ; tzcnt Rd(d), Rd(s)),
            (Ctz, OperandSize::S64) => dynasm!(self.ops ; .arch x64 ; tzcnt Rq(d), Rq(s)),
            (Popcnt, OperandSize::S32) => dynasm!(self.ops ; .arch x64 ; popcnt Rd(d), Rd(s)),
            (Popcnt, OperandSize::S64) => dynasm!(self.ops ; .arch x64 ; popcnt Rq(d), Rq(s)),
        }
    }

    // ---- SSE ----

    /// `movss`/`movsd dst, [rip + label]`.
    pub fn load_float_rip(&mut self, double: bool, dst: Reg, label: DynamicLabel) {
        let d = dst.hw();
        if double {
            dynasm!(self.ops ; .arch x64 ; movsd Rx(d), QWORD [=>label]);
        } else {
            dynasm!(self.ops ; .arch x64 ; movss Rx(d), DWORD [=>label]);
        }
    }

    pub fn movaps(&mut self, dst: Reg, src: Reg) {
        self.op_rr(None, false, 0x0F28, dst.hw(), src.hw());
    }

    /// Moves the low 32 or 64 bits between a general register and an xmm register.
    pub fn mov_gpr_to_xmm(&mut self, size: OperandSize, dst: Reg, src: Reg) {
        let (d, s) = (dst.hw(), src.hw());
        match size {
            OperandSize::S32 => dynasm!(self.ops ; .arch x64 ; movd Rx(d), Rd(s)),
            OperandSize::S64 => dynasm!(self.ops ; .arch x64 ; movq Rx(d), Rq(s)),
        }
    }

    pub fn mov_xmm_to_gpr(&mut self, size: OperandSize, dst: Reg, src: Reg) {
        let (d, s) = (dst.hw(), src.hw());
        match size {
            OperandSize::S32 => dynasm!(self.ops ; .arch x64 ; movd Rd(d), Rx(s)),
            OperandSize::S64 => dynasm!(self.ops ; .arch x64 ; movq Rq(d), Rx(s)),
        }
    }

    sse_rr!(fadd, Some(0xF3), Some(0xF2), 0x58);
    sse_rr!(fsub, Some(0xF3), Some(0xF2), 0x5C);
    sse_rr!(fmul, Some(0xF3), Some(0xF2), 0x59);
    sse_rr!(fdiv, Some(0xF3), Some(0xF2), 0x5E);
    sse_rr!(fmin, Some(0xF3), Some(0xF2), 0x5D);
    sse_rr!(fmax, Some(0xF3), Some(0xF2), 0x5F);
    sse_rr!(fsqrt, Some(0xF3), Some(0xF2), 0x51);
    sse_rr!(ucomis, None, Some(0x66), 0x2E);
    sse_rr!(andp, None, Some(0x66), 0x54);
    sse_rr!(orp, None, Some(0x66), 0x56);
    sse_rr!(xorp, None, Some(0x66), 0x57);

    pub fn fround(&mut self, double: bool, dst: Reg, src: Reg, mode: i8) {
        let (d, s) = (dst.hw(), src.hw());
        if double {
            dynasm!(self.ops ; .arch x64 ; roundsd Rx(d), Rx(s), mode);
        } else {
            dynasm!(self.ops ; .arch x64 ; roundss Rx(d), Rx(s), mode);
        }
    }

    /// f32 <-> f64.
    pub fn cvt_float(&mut self, to_double: bool, dst: Reg, src: Reg) {
        let (d, s) = (dst.hw(), src.hw());
        if to_double {
            dynasm!(self.ops ; .arch x64 ; cvtss2sd Rx(d), Rx(s));
        } else {
            dynasm!(self.ops ; .arch x64 ; cvtsd2ss Rx(d), Rx(s));
        }
    }

    /// Signed integer to float.
    pub fn cvt_int_to_float(&mut self, double: bool, src_size: OperandSize, dst: Reg, src: Reg) {
        let (d, s) = (dst.hw(), src.hw());
        match (double, src_size) {
            (false, OperandSize::S32) => dynasm!(self.ops ; .arch x64 ; cvtsi2ss Rx(d), Rd(s)),
            (false, OperandSize::S64) => dynasm!(self.ops ; .arch x64 ; cvtsi2ss Rx(d), Rq(s)),
            (true, OperandSize::S32) => dynasm!(self.ops ; .arch x64 ; cvtsi2sd Rx(d), Rd(s)),
            (true, OperandSize::S64) => dynasm!(self.ops ; .arch x64 ; cvtsi2sd Rx(d), Rq(s)),
        }
    }

    /// Float to signed integer, truncating; out of range gives the "integer indefinite" value.
    pub fn cvtt_float_to_int(&mut self, double: bool, dst_size: OperandSize, dst: Reg, src: Reg) {
        let (d, s) = (dst.hw(), src.hw());
        match (double, dst_size) {
            (false, OperandSize::S32) => dynasm!(self.ops ; .arch x64 ; cvttss2si Rd(d), Rx(s)),
            (false, OperandSize::S64) => dynasm!(self.ops ; .arch x64 ; cvttss2si Rq(d), Rx(s)),
            (true, OperandSize::S32) => dynasm!(self.ops ; .arch x64 ; cvttsd2si Rd(d), Rx(s)),
            (true, OperandSize::S64) => dynasm!(self.ops ; .arch x64 ; cvttsd2si Rq(d), Rx(s)),
        }
    }

    // ---- SIMD (packed SSE) ----

    /// `op reg, rm` with register operands: ModRM.reg = `reg`, ModRM.rm = `rm` (for most
    /// instructions the destination is `reg`; for `pextr*` and `movd r, xmm` it is `rm`).
    pub fn sse_rr(&mut self, op: SseOp, reg: Reg, rm: Reg) {
        self.op_rr(op.prefix, op.w, op.opcode, reg.hw(), rm.hw());
    }

    /// `op reg, rm, imm8`.
    pub fn sse_rri(&mut self, op: SseOp, reg: Reg, rm: Reg, imm: u8) {
        let mut inst = self.encode_rr(op.prefix, op.w, op.opcode, reg.hw(), rm.hw());
        inst.byte(imm);
        inst.finish();
    }

    /// `op reg, [m]` (or `op [m], reg` for stores and `pextr*`).
    pub fn sse_rm(&mut self, op: SseOp, reg: Reg, m: Mem) {
        self.op_mem(op.prefix, op.w, op.opcode, reg.hw(), m, false);
    }

    /// `op reg, [m], imm8`.
    pub fn sse_rmi(&mut self, op: SseOp, reg: Reg, m: Mem, imm: u8) {
        let mut inst = self.encode_mem(op.prefix, op.w, op.opcode, reg.hw(), m, false);
        inst.byte(imm);
        inst.finish();
    }

    /// The shift-by-immediate group (`psllw xmm, imm8` is `66 0F 71 /6 ib`): `digit`
    /// selects the operation.
    pub fn sse_shift_imm(&mut self, op: SseOp, digit: u8, dst: Reg, imm: u8) {
        let mut inst = self.encode_rr(op.prefix, op.w, op.opcode, digit, dst.hw());
        inst.byte(imm);
        inst.finish();
    }

    /// `pshufb dst, [rip + label]`; the constant must be 16-byte aligned.
    pub fn pshufb_rip(&mut self, dst: Reg, label: DynamicLabel) {
        let d = dst.hw();
        dynasm!(self.ops ; .arch x64 ; pshufb Rx(d), [=>label]);
    }

    /// `movdqu dst, [rip + label]`.
    pub fn load_v128_rip(&mut self, dst: Reg, label: DynamicLabel) {
        let d = dst.hw();
        dynasm!(self.ops ; .arch x64 ; movdqu Rx(d), [=>label]);
    }
}

//! x86-64 registers and the roles the compiler gives them.

/// A machine register: 0-15 are general-purpose (hardware numbering), 16-31 are xmm0-15.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Reg(u8);

impl Reg {
    pub const fn gpr(n: u8) -> Reg {
        Reg(n)
    }
    pub const fn xmm(n: u8) -> Reg {
        Reg(16 + n)
    }
    pub fn is_xmm(self) -> bool {
        self.0 >= 16
    }
    /// The hardware encoding within its class.
    pub fn hw(self) -> u8 {
        self.0 & 15
    }
    /// Index 0-31, for register sets.
    pub const fn index(self) -> u8 {
        self.0
    }
    pub fn from_index(i: u8) -> Reg {
        Reg(i)
    }
}

pub const RAX: Reg = Reg::gpr(0);
pub const RCX: Reg = Reg::gpr(1);
pub const RDX: Reg = Reg::gpr(2);
pub const RBX: Reg = Reg::gpr(3);
pub const RSP: Reg = Reg::gpr(4);
pub const RBP: Reg = Reg::gpr(5);
pub const RSI: Reg = Reg::gpr(6);
pub const RDI: Reg = Reg::gpr(7);
pub const R8: Reg = Reg::gpr(8);
pub const R9: Reg = Reg::gpr(9);
pub const R10: Reg = Reg::gpr(10);
pub const R11: Reg = Reg::gpr(11);
pub const R12: Reg = Reg::gpr(12);
pub const R13: Reg = Reg::gpr(13);
pub const R14: Reg = Reg::gpr(14);
pub const R15: Reg = Reg::gpr(15);
pub const XMM0: Reg = Reg::xmm(0);
pub const XMM15: Reg = Reg::xmm(15);

/// Pinned: the instance's `VMContext`.
pub const VMCTX: Reg = R15;
/// Pinned: the base of memory 0.
pub const MEMORY_BASE: Reg = R14;
/// Never allocated: free for any single macro-instruction to use internally.
pub const SCRATCH: Reg = R11;
pub const FLOAT_SCRATCH: Reg = XMM15;

/// Registers the value stack may hand out, in preference order, minus those a function
/// pins to locals. rbx, r12, r13 and xmm12-14 are not among them: they are callee-saved
/// in our calling convention and only ever hold pinned locals (see `compiler::locals`).
pub const ALLOCATABLE_GPRS: [Reg; 8] = [RAX, RCX, RDX, RSI, RDI, R8, R9, R10];
pub const ALLOCATABLE_XMMS: [Reg; 12] = [
    Reg::xmm(0),
    Reg::xmm(1),
    Reg::xmm(2),
    Reg::xmm(3),
    Reg::xmm(4),
    Reg::xmm(5),
    Reg::xmm(6),
    Reg::xmm(7),
    Reg::xmm(8),
    Reg::xmm(9),
    Reg::xmm(10),
    Reg::xmm(11),
];

/// xmm registers that are callee-saved in our wasm calling convention, in the order
/// they are handed to pinned float locals. System V has no callee-saved xmm registers,
/// so these survive a call between wasm functions only: every way out of wasm code into
/// Rust (`Masm::call_host`, the host stub, the throw stub) saves them, and the
/// unwinder restores them like rbx, r12 and r13. They only ever hold pinned locals, whose
/// values are at most 64 bits wide, so 8 bytes of each are saved.
pub const CALLEE_SAVED_XMMS: [Reg; 3] = [Reg::xmm(14), Reg::xmm(13), Reg::xmm(12)];

/// Registers that also carry the first integer arguments of a wasm call (parameter
/// `i` in `WASM_ARG_GPRS[i]`, for callee types whose slots are 8 bytes), besides the
/// argument area: a callee that pins such a parameter takes it from the register. The
/// area is complete but for a direct call to a function of the same module, which
/// leaves these two out: the callee's prologue writes their homes where they can be
/// read. Every way into wasm code sets them (calls, tail calls, the entry trampolines);
/// host functions ignore them and get the complete area (imports and `call_indirect`
/// store it all). Neither is a pinning register nor used by the prologue before it
/// reads them.
pub const WASM_ARG_GPRS: [Reg; 2] = [RSI, RDX];

/// System V argument registers, for calls into runtime helpers.
pub const ARG_GPRS: [Reg; 6] = [RDI, RSI, RDX, RCX, R8, R9];

//! The x86-64 backend.
pub mod asm;
pub mod masm;
pub mod regs;
pub mod trampolines;

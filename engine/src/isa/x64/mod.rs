//! The x86-64 backend.
pub mod asm;
pub mod code_buffer;
pub mod masm;
pub mod regs;
pub mod simd;
pub mod trampolines;

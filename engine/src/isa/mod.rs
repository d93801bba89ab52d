//! Instruction-set backends. Only x86-64 exists today.
#[cfg(target_arch = "x86_64")]
pub mod x64;

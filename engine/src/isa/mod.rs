//! Instruction-set backends. Only x86-64 exists today. It builds on every host (it only emits bytes); `Engine`
//! refuses to run it anywhere but x86-64 Linux.
pub mod x64;

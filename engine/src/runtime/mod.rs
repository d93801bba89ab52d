//! The runtime: everything compiled code runs against.
pub mod code_memory;
pub mod exception;
pub mod fiber;
pub mod func;
pub mod global;
pub mod instance;
pub mod libcalls;
pub mod memory;
pub mod signals;
pub mod store;
pub mod table;
pub mod unwind;
pub mod vmcontext;
pub mod wasm_memory;

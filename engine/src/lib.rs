//! Sidewinder's WebAssembly engine: decoding and validation (wasmparser), a
//! single-pass baseline compiler to x86-64 machine code (dynasm), and the runtime.
//!
//! ```no_run
//! use sidewinder_engine::*;
//! let engine = Engine::default();
//! let store = Store::new(&engine);
//! let bytes = [0u8; 0]; // a module's bytes
//! let module = Module::new(&engine, &bytes)?;
//! let instance = Instance::new(&store, &module, &[])?;
//! let results = instance.call("add", &[Val::I32(1), Val::I32(2)])?;
//! # Ok::<(), Error>(())
//! ```

pub mod compiler;
mod engine;
mod error;
pub mod isa;
mod module;
mod perf_map;
pub mod runtime;
mod trap;
mod types;
mod values;

pub use engine::{Config, Engine};
pub use error::{Error, Result};
pub use isa::x64::trampolines::{SMALL_ARGS, WIDE_ARGS};
pub use module::Module;
pub use runtime::exception::{Exception, Tag};
pub use runtime::extern_caller::ExternCaller;
pub use runtime::fiber::Fiber;
pub use runtime::func::{
    Func, HostCallback, NumericHostCallback, SmallCaller, TrapFreeCaller, WideCaller, NUMERIC_AREA,
};
pub use runtime::gc::GcObject;
pub use runtime::global::Global;
pub use runtime::instance::{Extern, Instance};
pub use runtime::store::{GcStats, LiveHostValues, Store};
pub use runtime::table::Table;
pub use runtime::wasm_memory::Memory;
pub use trap::{Trap, TrapCode};
pub use types::*;
pub use values::{AnyRef, Val};

/// Frees the buffers compilations keep for the next one. The first pass of a compilation
/// buffers about 28 bytes per byte of a function's code, and fresh buffers cost a page
/// fault per 4 KiB as they are first written. The process therefore keeps the four
/// largest (up to 8 MiB each) from one compilation for the next. Call this after a
/// burst of compiling to give that memory back; later compilations still work and
/// allocate afresh.
pub fn release_compile_buffers() {
    compiler::release_compile_buffers();
}

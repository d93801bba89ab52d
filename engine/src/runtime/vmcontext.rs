//! The data layout shared between compiled code and the runtime.
//!
//! Machine code reaches every piece of instance state through the `VMContext` held in
//! `r15`. The offsets below are the contract: the compiler reads them from here and the
//! runtime builds the structures with `#[repr(C)]`, so they can never drift apart.

use std::mem::offset_of;

/// Per-store state that all instances of a store share. Its address never changes.
#[repr(C)]
#[derive(Debug, Default)]
pub struct VMRuntime {
    /// `rsp` saved by the innermost entry trampoline; the trap exit returns there.
    pub entry_rsp: u64,
    /// Wasm code traps with "call stack exhausted" when `rsp` drops below this. The
    /// outermost entry trampoline sets it, `max_wasm_stack` below its own `rsp`.
    pub stack_limit: u64,
    /// `Config::max_wasm_stack` of the store's engine.
    pub max_wasm_stack: u64,
    /// The `TrapCode` of the last trap.
    pub trap_code: u32,
    /// How many entry trampolines are active (wasm -> host -> wasm nests); they count
    /// themselves.
    pub depth: u32,
    /// How many host functions are running that were called directly, not from wasm.
    pub host_entries: u32,
    /// An exception on its way: what a host function threw (for the host stub to
    /// throw on), or what no handler caught (for the entry trampoline's caller).
    pub exception: u64,
    /// The wasm frames of the last trap (`backtrace::capture`); compiled code never
    /// reads it.
    pub backtrace: Vec<super::backtrace::BacktraceFrame>,
}

/// A function reference: what `call_indirect`, `ref.func`, tables and imports hold.
/// Every function of a store, host or wasm, has exactly one of these at a stable address,
/// so a `*const VMFuncRef` is the funcref value itself.
#[repr(C)]
#[derive(Debug)]
pub struct VMFuncRef {
    /// Entry point, following the internal wasm calling convention.
    pub code: *const u8,
    /// The `VMContext` to put in `r15` (for host functions: the host function record).
    pub vmctx: *mut u8,
    /// Process-wide canonical signature id, compared by `call_indirect`.
    pub type_id: u32,
    /// The type's chain of declared supertypes (`FuncType::supertype_chain`), which
    /// `call_indirect` reads when its type may have subtypes.
    pub supertypes: *const u32,
}

/// A linear memory as compiled code sees it.
#[repr(C)]
#[derive(Debug)]
pub struct VMMemory {
    pub base: *mut u8,
    /// Current length in bytes.
    pub length: u64,
}

/// A table as compiled code sees it: an array of raw references (0 is null).
#[repr(C)]
#[derive(Debug)]
pub struct VMTable {
    pub base: *mut u64,
    pub length: u64,
    /// For a funcref table, each element's entry point (`VMFuncRef::code`, 0 for null),
    /// beside `base`: `call_indirect` reads the target in one load from the index
    /// instead of two; null for other tables.
    pub codes: *mut u64,
}

/// A global's storage: 16 bytes, for a v128.
#[repr(C, align(16))]
#[derive(Debug, Default, Clone, Copy)]
pub struct VMGlobal {
    pub bits: u64,
    pub high: u64,
}

impl VMGlobal {
    /// Storage holding `raw`: a v128's 128 bits, any other value in the low half.
    pub fn new(raw: u128) -> VMGlobal {
        VMGlobal { bits: raw as u64, high: (raw >> 64) as u64 }
    }

    pub fn get(&self) -> u128 {
        self.bits as u128 | (self.high as u128) << 64
    }
}

/// Where a store's GC heap allocates next: compiled code bumps `cursor` by an object's
/// size while it stays at most `end`, and asks the runtime for a new chunk otherwise
/// (`runtime::gc`).
#[repr(C)]
#[derive(Debug, Default)]
pub struct VMGcBump {
    pub cursor: u64,
    pub end: u64,
}

/// The per-instance context in `r15`.
#[repr(C)]
#[derive(Debug)]
pub struct VMContext {
    pub runtime: *mut VMRuntime,
    /// Base of memory 0 (null without memory). Memories are reserved up front, so
    /// this never changes and compiled code may keep it in `r14`.
    pub memory0_base: *mut u8,
    pub memories: *const *mut VMMemory,
    /// Every function of the instance, imported ones first, by function index.
    pub func_refs: *const *const VMFuncRef,
    pub tables: *const *mut VMTable,
    /// `tables[0]` (null without tables): one load less on every `call_indirect`
    /// through table 0, which is the table nearly all of them use.
    pub table0: *mut VMTable,
    pub globals: *const *mut VMGlobal,
    /// `globals[0]` (null without globals): one load less on every access to the
    /// global that C and Rust toolchains make their stack pointer.
    pub global0: *mut VMGlobal,
    /// Every tag of the instance, imported ones first: the identities `catch` compares.
    pub tags: *const *const u8,
    /// The owning `InstanceInner`, for runtime helpers.
    pub instance: *const u8,
    /// The store's GC heap's bump pointer (`VMGcBump`).
    pub gc_bump: *mut VMGcBump,
}

/// Field offsets, as `i32` because that is how they appear in addressing modes.
pub mod offsets {
    use super::*;
    pub const RUNTIME_ENTRY_RSP: i32 = offset_of!(VMRuntime, entry_rsp) as i32;
    pub const RUNTIME_STACK_LIMIT: i32 = offset_of!(VMRuntime, stack_limit) as i32;
    pub const RUNTIME_TRAP_CODE: i32 = offset_of!(VMRuntime, trap_code) as i32;
    pub const RUNTIME_DEPTH: i32 = offset_of!(VMRuntime, depth) as i32;
    pub const RUNTIME_MAX_WASM_STACK: i32 = offset_of!(VMRuntime, max_wasm_stack) as i32;
    pub const RUNTIME_EXCEPTION: i32 = offset_of!(VMRuntime, exception) as i32;

    pub const FUNCREF_CODE: i32 = offset_of!(VMFuncRef, code) as i32;
    pub const FUNCREF_VMCTX: i32 = offset_of!(VMFuncRef, vmctx) as i32;
    pub const FUNCREF_TYPE_ID: i32 = offset_of!(VMFuncRef, type_id) as i32;
    pub const FUNCREF_SUPERTYPES: i32 = offset_of!(VMFuncRef, supertypes) as i32;

    pub const MEMORY_BASE: i32 = offset_of!(VMMemory, base) as i32;
    pub const MEMORY_LENGTH: i32 = offset_of!(VMMemory, length) as i32;

    pub const TABLE_BASE: i32 = offset_of!(VMTable, base) as i32;
    pub const TABLE_LENGTH: i32 = offset_of!(VMTable, length) as i32;
    pub const TABLE_CODES: i32 = offset_of!(VMTable, codes) as i32;

    pub const VMCTX_RUNTIME: i32 = offset_of!(VMContext, runtime) as i32;
    pub const VMCTX_MEMORY0_BASE: i32 = offset_of!(VMContext, memory0_base) as i32;
    pub const VMCTX_MEMORIES: i32 = offset_of!(VMContext, memories) as i32;
    pub const VMCTX_FUNC_REFS: i32 = offset_of!(VMContext, func_refs) as i32;
    pub const VMCTX_TABLES: i32 = offset_of!(VMContext, tables) as i32;
    pub const VMCTX_TABLE0: i32 = offset_of!(VMContext, table0) as i32;
    pub const VMCTX_GLOBALS: i32 = offset_of!(VMContext, globals) as i32;
    pub const VMCTX_GLOBAL0: i32 = offset_of!(VMContext, global0) as i32;
    pub const VMCTX_GC_BUMP: i32 = offset_of!(VMContext, gc_bump) as i32;

    pub const GC_BUMP_CURSOR: i32 = offset_of!(VMGcBump, cursor) as i32;
    pub const GC_BUMP_END: i32 = offset_of!(VMGcBump, end) as i32;
}

/// The record a host function's `VMFuncRef::vmctx` points to. It starts with the same
/// `runtime` field as `VMContext`, so the trap exit can find the runtime either way.
/// Calls through a `VMFuncRef` load `r14` from the `memory0_base` offset of whatever
/// context they switch to; for a host function that reads `func`, which the host stub
/// ignores, so the record must extend past that offset.
#[repr(C)]
pub struct VMHostContext {
    pub runtime: *mut VMRuntime,
    /// The `FuncInner` of the host function.
    pub func: *const u8,
}

const _: () = assert!(size_of::<VMHostContext>() >= offsets::VMCTX_MEMORY0_BASE as usize + 8);

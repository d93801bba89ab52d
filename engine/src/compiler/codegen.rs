//! The ISA-independent half of the single-pass compiler: operand-stack management,
//! register allocation, control-flow merges, calls and the frame.
//!
//! Frame layout (rbp-relative, growing down):
//! ```text
//!   [rbp + 16 + A*i]   parameter i / result i (the caller's argument area; A is 16
//!                      when the function's type has a v128, else 8)
//!   [rbp + 8]          return address
//!   [rbp]              caller's rbp
//!   [rbp - 8]          the caller's vmctx (r15), reloaded after calls that may switch it
//!   [rbp - 16 - 8*k]   the caller's value of callee-saved pin k: the GPRs used (rbx, r12,
//!                      r13), then the xmm registers used (low 8 bytes of xmm14, 13, 12)
//!   below              per legacy `try`, the exception its catch clause caught
//!   below              non-parameter local j, at [rbp - header_size - S*(j+1)]
//!   below              one spill slot per operand-stack depth, S bytes each
//!   [rsp + A'*i]       outgoing argument/result area (A' that of the callee's type)
//! ```
//!
//! S, the size of locals and spill slots, is 16 in functions where a v128 value can
//! appear (see `compile_function`), else 8.

use super::control::{Frame, FrameKind};
use super::handlers::{Catch, HandlerTable, Scope};
use super::locals::{is_callee_saved, PinnedLocals};
use super::masm::*;
use super::stack::{Loc, RegSet, Slot};
use super::CompileEnv;
use crate::error::Error;
use crate::isa::x64::asm::{Assembler, Cc, Mem};
use crate::isa::x64::masm::{CodeChunk, Masm};
use crate::isa::x64::regs::*;
use crate::runtime::table::keeps_entry_points;
use crate::runtime::vmcontext::offsets;
use crate::trap::TrapCode;
use crate::types::{address_from_raw, FuncType, ValType};

/// The compiler's error, boxed so that `CResult<()>`, which every operator's handler
/// returns, fits in a register: as a 32-byte `Result<(), Error>` it went through memory
/// at each of the ~280k calls per megabyte of code.
#[derive(Debug)]
pub struct CompileError(Box<Error>);

impl From<Error> for CompileError {
    #[cold]
    fn from(e: Error) -> CompileError {
        CompileError(Box::new(e))
    }
}

impl From<wasmparser::BinaryReaderError> for CompileError {
    #[cold]
    fn from(e: wasmparser::BinaryReaderError) -> CompileError {
        Error::from(e).into()
    }
}

impl From<CompileError> for Error {
    fn from(e: CompileError) -> Error {
        *e.0
    }
}

pub type CResult<T = ()> = Result<T, CompileError>;

/// The largest frame a leaf function (see `FuncCompiler::not_leaf`) may have
/// and still skip the stack check: it goes at most this far below the limit.
const LEAF_FRAME_MAX: usize = 1024;

pub fn size_of(ty: ValType) -> OperandSize {
    match ty {
        ValType::I32 | ValType::F32 => OperandSize::S32,
        _ => OperandSize::S64,
    }
}

/// Whether a function with these results returns in rax (one scalar or reference)
/// rather than through its argument area (several results, or a v128).
pub(crate) fn returns_in_rax(results: &[ValType]) -> bool {
    results.len() == 1 && results[0] != ValType::V128
}

pub(crate) fn load_kind(ty: ValType) -> LoadKind {
    match ty {
        ValType::I32 => LoadKind::U32,
        ValType::F32 => LoadKind::F32,
        ValType::F64 => LoadKind::F64,
        ValType::V128 => LoadKind::V128,
        _ => LoadKind::I64,
    }
}

pub(crate) fn store_kind(ty: ValType) -> StoreKind {
    match ty {
        ValType::I32 => StoreKind::I32,
        ValType::F32 => StoreKind::F32,
        ValType::F64 => StoreKind::F64,
        ValType::V128 => StoreKind::V128,
        _ => StoreKind::I64,
    }
}

/// The kind that copies a value of `ty` between memory locations. A 32-bit value is
/// copied as 32 bits: it was stored as 32 (`store_kind`), and a wider load of a recent
/// narrower store cannot take its value from the store buffer (a stall of some 10
/// cycles, at every call that passes a just-written local).
fn slot_copy_kind(ty: ValType) -> (LoadKind, StoreKind, Reg) {
    match ty {
        ValType::V128 => (LoadKind::V128, StoreKind::V128, FLOAT_SCRATCH),
        ValType::I32 | ValType::F32 => (LoadKind::U32, StoreKind::I32, SCRATCH),
        _ => (LoadKind::I64, StoreKind::I64, SCRATCH),
    }
}

/// The other operand of the add `FuncCompiler::scaled_add` folds a shift into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addend {
    /// On the stack below the shifted value: `a; x; k; shl; add`.
    Below,
    /// An `i32.const` or `i64.const` between the shift and the add (raw bits).
    Const(i64),
    /// A `local.get` between the shift and the add.
    Local(u32),
}

/// How a callee is reached.
#[derive(Clone, Copy, Debug)]
pub enum Callee {
    /// A function defined in this module: a direct `call rel32`.
    Local(u32),
    /// An imported function: through its `VMFuncRef`, switching vmctx.
    Import(u32),
}

/// Where a runtime helper's argument comes from.
#[derive(Clone, Copy, Debug)]
pub enum HelperArg {
    Vmctx,
    Imm(i64),
    /// The n-th popped operand, counting from the deepest one.
    Operand(usize),
    /// The outgoing area at `rsp`, where the caller stored what the helper reads.
    OutgoingArea,
}

/// What a runtime helper call calls.
#[derive(Clone, Copy, Debug)]
pub enum HelperTarget {
    /// A Rust function, through the function's `call_host` stub.
    Rust(usize),
    /// A process-wide stub (`Trampolines`).
    Stub(usize),
}

/// Where a latent local or a spilled value can be read.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Place {
    /// A pinned local's register: read it, never write or free it.
    Reg(Reg),
    Mem(Mem),
}

/// A catch clause while its landing pad is still a label.
#[derive(Debug)]
pub(crate) struct PendingCatch {
    pub tag: Option<u32>,
    pub landing: dynasmrt::DynamicLabel,
    pub payload_slot: i32,
    pub exnref_slot: Option<i32>,
}

#[derive(Debug, Default)]
pub(crate) struct PendingScope {
    pub parent: Option<u32>,
    pub catches: Vec<PendingCatch>,
}

pub struct FuncCompiler<'a> {
    pub(crate) masm: Masm,
    pub(crate) env: &'a CompileEnv<'a>,
    locals: Vec<ValType>,
    pins: PinnedLocals,
    /// Bytes below rbp before the first local: the saved vmctx, callee-saved pins and
    /// the legacy `try` exception slots.
    header_size: i32,
    /// Exception-handling scopes (see `handlers.rs`), the one in force, and the calls
    /// made inside scopes.
    pub(crate) scopes: Vec<PendingScope>,
    pub(crate) current_scope: Option<u32>,
    pub(crate) call_sites: Vec<(u32, u32)>,
    /// Legacy `try` blocks given an exception slot so far.
    pub(crate) legacy_tries: u32,
    pub(crate) num_params: usize,
    /// The function's index in its module: a `return_call` to itself jumps to
    /// `body_entry`.
    pub(crate) func_index: u32,
    /// Where the prologue starts initializing locals, after the frame is set up and the
    /// stack checked: a tail call of the function to itself reuses the frame.
    pub(crate) body_entry: Option<dynasmrt::DynamicLabel>,
    results: &'a [ValType],
    /// Bytes per parameter/result in this function's argument area (8 or 16).
    arg_stride: i32,
    /// Bytes per body local and per spill slot (8, or 16 where v128 values can appear).
    slot_size: i32,
    pub(crate) stack: Vec<Slot>,
    /// How many latent reads (`Loc::Local`) of each local the stack holds, so a write
    /// to a local nobody reads latently costs nothing, and one that does scans down only
    /// as far as the deepest such read.
    latent_reads: Vec<u32>,
    /// The bottom entries known to hold no register and no latent read (constants and
    /// spilled values): frame entries and calls only look above this height, so deep
    /// operand stacks do not make them quadratic.
    settled_height: usize,
    free: RegSet,
    /// Registers that still hold the current value of an unpinned local, oldest first:
    /// what a `local.set` stored from a register, or a copy a `local.tee` made. Owned
    /// by this list (neither free nor on the stack), so only `alloc`, `evict` and calls
    /// take them back; a `local.get` of the local takes the register itself instead of
    /// reading the frame slot just written (see `take_cached_local`).
    cached_locals: Vec<(Reg, u32)>,
    /// How many labels the assembler had bound when `cached_locals` was filled. A label
    /// bound since then is a place control may reach from elsewhere, with other values
    /// in those registers: the entries are stale and are dropped when next looked at
    /// (which costs the operators between nothing).
    cached_locals_labels: u32,
    /// Caller-saved pins whose frame home holds their register's value (bit `k` for
    /// `pins.caller_saved[k]`): a call stores those that are not, and then all are,
    /// until a write to the local clears its bit. Valid while the assembler has bound
    /// `synced_pins_labels` labels: control may reach a label from code where the
    /// registers had other values, so any bound since makes every bit stale.
    synced_pins: u64,
    synced_pins_labels: u32,
    /// Caller-saved pins (same bits) whose register does not hold the local since a
    /// call left out its reload (`reload_pinned_after_wasm_call`); the home does. No
    /// call stores such a register, whatever labels were bound since (an operator's
    /// own internal labels, as a float `select` binds, leave it as it was); a write or
    /// a reload makes it current again.
    stale_pins: u64,
    /// The register parameters (bit `i` for parameter `i`) whose home the prologue left
    /// unwritten: pinned, and read from their home only after a helper call, before
    /// which `save_pinned_for_call` stores them as if written.
    param_homes_unwritten: u8,
    /// Set by the compile loop before a `call` or `call_indirect`: the caller-saved pins
    /// (bit `k` for `pins.caller_saved[k]`) that the operators after it do not read
    /// before writing them or before the next call, on a straight line (see
    /// `compiler::unread_after_call`). Taken by the reload after the call.
    pub(crate) unread_after_call: u64,
    pub(crate) control: Vec<Frame<'a>>,
    pub(crate) reachable: bool,
    /// Nesting depth of blocks entered while unreachable (compiled as nothing).
    pub(crate) dead_depth: u32,
    /// An integer comparison whose result (the top of the stack, in a register not yet
    /// written) still lives only in the flags, so a following `br_if` can jump on them.
    pending_condition: Option<IntCond>,
    /// The register (and operand size) an add/sub/and/or/xor last wrote, with the
    /// assembler's position right after it: while the position is unchanged, the zero
    /// flag says whether that register is zero, so `eqz` and `br_if` need no `test`.
    zero_flag_of: Option<(Reg, OperandSize, (u32, u32))>,
    /// Set by the compile loop when the next operator is a `local.set`/`local.tee` of
    /// this local: an operation may then write its result straight into the local's
    /// pinned register (see `result_target`). Cleared after every operator.
    pub(crate) result_hint: Option<u32>,
    max_depth: usize,
    /// The outgoing argument area, in 8-byte slots.
    pub(crate) max_outgoing: usize,
    frame_size_patch: u32,
    /// The prologue's stack check and context store, `[start, end)`: a leaf function
    /// (see `not_leaf`) with a small frame jumps over them.
    stack_check: (u32, u32),
    /// Whether the function calls wasm code (tail calls too), throws, or has a landing
    /// pad: then its frame must hold its context (the unwinder and `reload_context`
    /// read it) and it must check the stack limit.
    pub(crate) not_leaf: bool,
    /// Whether the function has a `global.set`.
    pub(crate) sets_globals: bool,
    /// Whether the function has an instruction that could keep a reference past the
    /// call (`HandlerTable::keeps_references`); direct calls of defined functions are
    /// followed when the module is linked.
    pub(crate) keeps_references: bool,
    /// For `br_table`: the landing pad already made for each branch depth, if any
    /// (all `None` between tables).
    pub(crate) pad_of_depth: Vec<Option<u32>>,
}

impl<'a> FuncCompiler<'a> {
    /// A compiler for one thread's functions of the module: `begin` starts each function
    /// and `finish` returns its code, so every buffer (assembler, operand and control
    /// stacks, locals) keeps its allocation from one function to the next, and the
    /// compiler itself is never moved (it is large enough that moving it showed in
    /// profiles as a memcpy per function).
    pub fn new(env: &'a CompileEnv<'a>) -> FuncCompiler<'a> {
        FuncCompiler {
            masm: Masm::new(),
            env,
            locals: Vec::new(),
            pins: PinnedLocals::default(),
            header_size: 0,
            scopes: Vec::new(),
            current_scope: None,
            call_sites: Vec::new(),
            legacy_tries: 0,
            latent_reads: Vec::new(),
            settled_height: 0,
            num_params: 0,
            func_index: 0,
            body_entry: None,
            results: &[],
            arg_stride: 8,
            slot_size: 8,
            stack: Vec::new(),
            free: RegSet::default(),
            cached_locals: Vec::new(),
            cached_locals_labels: 0,
            synced_pins: 0,
            synced_pins_labels: 0,
            stale_pins: 0,
            param_homes_unwritten: 0,
            unread_after_call: 0,
            control: Vec::new(),
            reachable: true,
            dead_depth: 0,
            pending_condition: None,
            zero_flag_of: None,
            result_hint: None,
            max_depth: 0,
            max_outgoing: 0,
            frame_size_patch: 0,
            stack_check: (0, 0),
            not_leaf: false,
            sets_globals: false,
            keeps_references: false,
            pad_of_depth: Vec::new(),
        }
    }

    /// The locals of the next function, filled before `begin`: its parameters first,
    /// then the body's locals.
    pub(crate) fn locals_mut(&mut self) -> &mut Vec<ValType> {
        &mut self.locals
    }

    /// The next function's locals, and where `UseScan::choose_into` puts its pinned
    /// ones, before `begin`.
    pub(crate) fn locals_and_pins_mut(&mut self) -> (&[ValType], &mut PinnedLocals) {
        (&self.locals, &mut self.pins)
    }

    /// Starts a function of type `ty` whose locals and pins are already set; everything
    /// else left by the previous function (even one that failed) is reset.
    pub fn begin(
        &mut self,
        ty: &'a FuncType,
        func_index: u32,
        legacy_tries: u32,
        body_size: usize,
        wide_slots: bool,
    ) {
        self.func_index = func_index;
        self.body_entry = None;
        let mut free = RegSet::from_regs(&ALLOCATABLE_GPRS);
        for r in ALLOCATABLE_XMMS {
            free.insert(r);
        }
        for r in self.pins.regs.iter().flatten() {
            free.remove(*r);
        }
        self.free = free;
        self.cached_locals.clear();
        self.synced_pins = 0;
        self.stale_pins = 0;
        self.unread_after_call = 0;
        self.header_size = 8 + 8 * self.pins.callee_saved.len() as i32 + 8 * legacy_tries as i32;
        self.masm.reset();
        // Machine code runs about three bytes per byte of wasm.
        self.masm.asm.reserve(4 * body_size + 64);
        let label = self.masm.asm.new_label();
        self.stack.clear();
        self.latent_reads.clear();
        self.latent_reads.resize(self.locals.len(), 0);
        self.control.clear();
        self.control.push(Frame {
            kind: FrameKind::Function,
            label,
            else_label: None,
            height: 0,
            params: &[],
            results: ty.results(),
            label_used: false,
            outer_scope: None,
            scope: None,
            exn_slot: 0,
            rethrown: false,
        });
        self.scopes.clear();
        self.current_scope = None;
        self.call_sites.clear();
        self.legacy_tries = 0;
        self.settled_height = 0;
        self.num_params = ty.params().len();
        self.results = ty.results();
        self.arg_stride = 8 * ty.slot_width() as i32;
        self.slot_size = if wide_slots { 16 } else { 8 };
        self.reachable = true;
        self.dead_depth = 0;
        self.pending_condition = None;
        self.zero_flag_of = None;
        self.result_hint = None;
        self.max_depth = 0;
        self.max_outgoing = ty.area_slots();
        self.frame_size_patch = 0;
        self.stack_check = (0, 0);
        self.not_leaf = false;
        self.sets_globals = false;
        self.keeps_references = false;
        self.pad_of_depth.clear();
    }

    // ---- frame ----

    fn num_body_locals(&self) -> usize {
        self.locals.len() - self.num_params
    }

    pub(crate) fn local_type(&self, index: u32) -> ValType {
        self.locals[index as usize]
    }

    pub(crate) fn local_mem(&self, index: u32) -> Mem {
        let i = index as usize;
        if i < self.num_params {
            Mem::Base(RBP, 16 + self.arg_stride * i as i32)
        } else {
            Mem::Base(RBP, -self.header_size - self.slot_size * (i - self.num_params + 1) as i32)
        }
    }

    pub(crate) fn slot_mem(&self, depth: u32) -> Mem {
        Mem::Base(RBP, self.slot_offset(depth))
    }

    /// The rbp offset of the spill slot of `depth`.
    pub(crate) fn slot_offset(&self, depth: u32) -> i32 {
        -self.header_size - self.slot_size * (self.num_body_locals() as i32 + depth as i32 + 1)
    }

    /// Makes the frame hold spill slots up to `depth` (exclusive).
    pub(crate) fn reserve_depth(&mut self, depth: usize) {
        self.max_depth = self.max_depth.max(depth);
    }

    /// The register of a latent read of a pinned local.
    pub(crate) fn pinned(&self, loc: Loc) -> Option<Reg> {
        match loc {
            Loc::Local(i) => {
                debug_assert!(!self.is_stale_pin(i), "local {i} read from a register a call left stale");
                self.pins.reg(i)
            }
            _ => None,
        }
    }

    /// Where a latent local or spilled value is read (None for constants and registers).
    pub(crate) fn place(&self, loc: Loc) -> Option<Place> {
        match loc {
            Loc::Local(i) => Some(match self.pins.reg(i) {
                Some(r) => {
                    debug_assert!(!self.is_stale_pin(i), "local {i} read from a register a call left stale");
                    Place::Reg(r)
                }
                None => Place::Mem(self.local_mem(i)),
            }),
            Loc::Stack(d) => Some(Place::Mem(self.slot_mem(d))),
            _ => None,
        }
    }

    /// Like `place` for operands known to be in memory or pinned; `Loc::Reg` and
    /// constants are handled by every caller before this.
    fn place_of(&self, loc: Loc) -> Place {
        self.place(loc).unwrap_or(Place::Mem(Mem::Base(RBP, 0)))
    }

    pub fn emit_prologue(&mut self) {
        let a = &mut self.masm.asm;
        a.push(RBP);
        a.mov_rr(OperandSize::S64, RBP, RSP);
        self.frame_size_patch = a.sub_rsp_placeholder();
        let check_start = a.offset();
        a.store(StoreKind::I64, Mem::Base(RBP, -8), VMCTX);
        a.load(LoadKind::I64, SCRATCH, Mem::Base(VMCTX, offsets::VMCTX_RUNTIME));
        a.cmp_rm(OperandSize::S64, RSP, Mem::Base(SCRATCH, offsets::RUNTIME_STACK_LIMIT));
        self.masm.trap_if(Cc::B, TrapCode::StackOverflow);
        self.stack_check = (check_start, self.masm.asm.offset());
        // Only the body decides whether the function may trap: a function that keeps
        // this check is no leaf, and one that skips it never reaches its trap path.
        self.masm.may_trap = false;
        for (k, &r) in self.pins.callee_saved.iter().enumerate() {
            let kind = if r.is_xmm() { StoreKind::F64 } else { StoreKind::I64 };
            self.masm.asm.store(kind, Mem::Base(RBP, -16 - 8 * k as i32), r);
        }
        // The register arguments' homes: a direct call leaves them out of the area
        // (`emit_call`). A pinned parameter's home is read only when its register is
        // reloaded, at a landing pad or after a call that clobbers it: with no handlers,
        // a callee-saved one never is, and in a function that calls no wasm function
        // only a helper call could; `save_pinned_for_call` stores it before one. A tail
        // call to this function writes every home it reads itself and enters at
        // `body_entry`.
        let env = self.env;
        let own_type = &env.types[env.func_types[self.func_index as usize] as usize];
        self.param_homes_unwritten = 0;
        for (i, reg, ty) in register_params(own_type) {
            let home_unread = self.pins.reg(i as u32).is_some_and(|pin| {
                !self.pins.has_handlers && (is_callee_saved(pin) || self.pins.calls_no_wasm)
            });
            if home_unread {
                self.param_homes_unwritten |= 1 << i;
            } else {
                self.masm.asm.store(store_kind(ty), self.local_mem(i as u32), reg);
            }
        }
        let body_entry = self.masm.asm.new_label();
        self.masm.asm.bind(body_entry);
        self.body_entry = Some(body_entry);
        let quads_per_local = self.slot_size / 8;
        let body_locals = self.num_params as u32..self.locals.len() as u32;
        let (count, first, last) = body_locals
            .clone()
            .filter(|&i| self.home_needs_zero(i))
            .fold((0, u32::MAX, 0), |(count, first, last), i| (count + 1, first.min(i), last.max(i)));
        if count <= 8 {
            for index in body_locals {
                if !self.home_needs_zero(index) {
                    continue;
                }
                let Mem::Base(base, disp) = self.local_mem(index) else { continue };
                for q in 0..quads_per_local {
                    self.masm.asm.store_imm(StoreKind::I64, Mem::Base(base, disp + 8 * q), 0);
                }
            }
        } else {
            // One `rep stos` over the homes from the first to the last that need it (a
            // later local's home is lower). rdi, rcx and rax hold nothing at entry:
            // arguments arrive in memory and in rsi/rdx, which it leaves alone.
            let lowest = self.local_mem(last);
            let quads = (last - first + 1) as i64 * quads_per_local as i64;
            let a = &mut self.masm.asm;
            a.lea(RDI, lowest);
            a.mov_ri(RCX, quads);
            a.mov_ri(RAX, 0);
            a.rep_stosq();
        }
        for i in 0..self.locals.len() as u32 {
            if let Some(r) = self.pins.reg(i) {
                if let Some(arg) = self.arg_register(i) {
                    // i32s are zero-extended here, whatever the caller left above them.
                    self.masm.asm.mov_rr(size_of(self.local_type(i)), r, arg);
                } else if (i as usize) < self.num_params {
                    self.load_pinned(i, r);
                } else if self.set_before_read(i) {
                    continue;
                } else if r.is_xmm() {
                    self.masm.asm.xorp(false, r, r);
                } else {
                    self.masm.asm.alu_rr(AluOp::Xor, OperandSize::S32, r, r);
                }
            }
        }
    }

    /// The register that also brings parameter `index`, if one does (`register_params`).
    fn arg_register(&self, index: u32) -> Option<Reg> {
        let env = self.env;
        let own_type = &env.types[env.func_types[self.func_index as usize] as usize];
        register_params(own_type).find(|&(i, _, _)| i == index as usize).map(|(_, reg, _)| reg)
    }

    /// Whether a local's frame slot holds its current value: always for a local in
    /// memory, and for a pinned one that the body never writes.
    pub(crate) fn home_is_current(&self, index: u32) -> bool {
        (self.pins.reg(index).is_none() || !self.pins.written[index as usize]) && !self.home_unwritten(index)
    }

    /// Whether `index` is a parameter whose home the prologue left unwritten.
    fn home_unwritten(&self, index: u32) -> bool {
        index < 8 && self.param_homes_unwritten & (1 << index) != 0
    }

    /// Whether a local's frame slot is ever read. A pinned local's slot is read only when
    /// its register is reloaded after a call, and if the function writes the local, a
    /// store before every such call comes first; callee-saved pins are never reloaded.
    fn home_is_read(&self, index: u32) -> bool {
        match self.pins.reg(index) {
            None => true,
            Some(r) => !is_callee_saved(r) && !self.pins.written[index as usize],
        }
    }

    /// Whether a body local's frame slot must start as zero: it is read, and perhaps
    /// before the body sets it.
    fn home_needs_zero(&self, index: u32) -> bool {
        self.home_is_read(index) && !self.set_before_read(index)
    }

    /// Whether a body local of a plain type is set before anything reads it
    /// (`PinnedLocals::set_before_read`): its zero start can be left out. References
    /// always start as null.
    fn set_before_read(&self, index: u32) -> bool {
        let plain = !self.local_type(index).is_ref();
        plain && self.pins.set_before_read.get(index as usize) == Some(&true)
    }

    pub(crate) fn load_pinned(&mut self, index: u32, r: Reg) {
        let m = self.local_mem(index);
        self.masm.asm.load(load_kind(self.local_type(index)), r, m);
    }

    pub(crate) fn emit_epilogue(&mut self) {
        self.leave_frame();
        self.masm.asm.ret();
    }

    /// Before a call that clobbers caller-saved registers: pinned locals the function
    /// writes go to their frame homes (the others' homes are current already). Inside an
    /// exception-handling scope the callee-saved ones go too, since a landing pad in this
    /// function reloads every pinned local from its home.
    pub(crate) fn save_pinned_for_call(&mut self) {
        let home_current = self.synced_pins() | self.stale_pins;
        for k in 0..self.pins.caller_saved.len() {
            let (i, r) = self.pins.caller_saved[k];
            let home_stale = self.pins.written[i as usize] || self.home_unwritten(i);
            if !home_stale || home_current & (1 << k) != 0 {
                continue;
            }
            let m = self.local_mem(i);
            self.masm.asm.store(store_kind(self.local_type(i)), m, r);
        }
        self.mark_pins_synced();
        if self.current_scope.is_some() {
            for k in 0..self.pins.all.len() {
                let (i, r) = self.pins.all[k];
                if is_callee_saved(r) && self.pins.written[i as usize] {
                    let m = self.local_mem(i);
                    self.masm.asm.store(store_kind(self.local_type(i)), m, r);
                }
            }
        }
    }

    /// The wasm byte offsets of the function's operators, by index, for the sources of
    /// its code (`Masm::begin_sources`): they must stay in place until `finish`.
    pub fn begin_sources(&mut self, operator_offsets: &[u32]) {
        self.masm.begin_sources(operator_offsets);
    }

    /// Which buffered operator the code emitted next comes from (`Masm::operator`).
    #[inline(always)]
    pub fn set_operator_index(&mut self, index: u32) {
        self.masm.operator = index;
    }

    /// After a call or throw: inside a scope, its return address is a call site.
    pub(crate) fn record_call_site(&mut self) {
        self.not_leaf = true;
        self.masm.record_return_source();
        if let Some(scope) = self.current_scope {
            self.call_sites.push((self.masm.asm.offset(), scope));
        }
    }

    /// At a landing pad, registers hold whatever the frames unwound left: take the
    /// context and memory base from the frame, and every pinned local from its home
    /// (a local never written is still zero).
    pub(crate) fn reload_after_landing(&mut self) {
        debug_assert_eq!(self.param_homes_unwritten, 0, "a function with handlers writes every home");
        self.reload_context();
        self.stale_pins = 0;
        for k in 0..self.pins.all.len() {
            let (i, r) = self.pins.all[k];
            if (i as usize) < self.num_params || self.pins.written[i as usize] {
                self.load_pinned(i, r);
            } else if r.is_xmm() {
                self.masm.asm.xorp(false, r, r);
            } else {
                self.masm.asm.alu_rr(AluOp::Xor, OperandSize::S32, r, r);
            }
        }
    }

    /// The rbp offset of the next legacy `try`'s exception slot.
    pub(crate) fn next_exn_slot(&mut self) -> i32 {
        let k = self.legacy_tries as i32;
        self.legacy_tries += 1;
        -8 - 8 * self.pins.callee_saved.len() as i32 - 8 * (k + 1)
    }

    pub(crate) fn results(&self) -> &'a [ValType] {
        self.results
    }

    pub(crate) fn num_results(&self) -> usize {
        self.results.len()
    }

    pub(crate) fn result_type(&self, i: usize) -> ValType {
        self.results[i]
    }

    /// Where result `i` goes when results return through the argument area.
    pub(crate) fn result_mem(&self, i: usize) -> Mem {
        Mem::Base(RBP, 16 + self.arg_stride * i as i32)
    }

    /// The 8-byte slots each of this function's parameters and results takes in its
    /// argument area (`FuncType::slot_width`).
    pub(crate) fn slot_width(&self) -> usize {
        (self.arg_stride / 8) as usize
    }

    /// The 8-byte slots of this function's argument area that every caller reserved.
    pub(crate) fn incoming_area(&self) -> usize {
        self.num_params.max(self.results.len()) * self.slot_width()
    }

    /// Reloads the callee-saved registers the prologue saved.
    pub(crate) fn restore_callee_saved(&mut self) {
        for (k, &r) in self.pins.callee_saved.iter().enumerate() {
            let kind = if r.is_xmm() { LoadKind::F64 } else { LoadKind::I64 };
            self.masm.asm.load(kind, r, Mem::Base(RBP, -16 - 8 * k as i32));
        }
    }

    /// Restores what the prologue saved and pops the frame, leaving the return address
    /// on top: for a tail call, which then jumps to its callee.
    pub(crate) fn leave_frame(&mut self) {
        self.restore_callee_saved();
        let a = &mut self.masm.asm;
        a.mov_rr(OperandSize::S64, RSP, RBP);
        a.pop(RBP);
    }

    fn reload_pinned_after_call(&mut self) {
        self.reload_caller_saved_pins(0);
    }

    /// `reload_pinned_after_call` after a wasm call, but for the pins the code after it
    /// does not read before writing them or before the next call (`unread_after_call`).
    fn reload_pinned_after_wasm_call(&mut self) {
        let unread = std::mem::take(&mut self.unread_after_call);
        self.reload_caller_saved_pins(unread);
    }

    /// Reloads the caller-saved pins from their homes but those in `unread` that the
    /// stack does not read latently: their registers are left as the callee left them
    /// (`stale_pins`). Their homes hold their values, so the next call stores nothing
    /// for them (`synced_pins`) and a write makes the register current again.
    fn reload_caller_saved_pins(&mut self, unread: u64) {
        self.stale_pins = 0;
        for k in 0..self.pins.caller_saved.len() {
            let (i, r) = self.pins.caller_saved[k];
            if unread & (1 << k) != 0 && self.latent_reads[i as usize] == 0 {
                self.stale_pins |= 1 << k;
            } else {
                self.load_pinned(i, r);
            }
        }
        self.mark_pins_synced();
    }

    /// Every caller-saved pin's bit (`caller_saved_pin_bit`): 0 when there are none.
    pub(crate) fn caller_saved_pin_bits(&self) -> u64 {
        (1u64 << self.pins.caller_saved.len()) - 1
    }

    /// Local `index`'s bit in the masks over `pins.caller_saved` (`synced_pins`,
    /// `stale_pins`, `unread_after_call`), or 0 if it is not a caller-saved pin.
    pub(crate) fn caller_saved_pin_bit(&self, index: u32) -> u64 {
        // Caller-saved pins take allocatable caller-saved registers: a bit each fits.
        const _: () = assert!(ALLOCATABLE_GPRS.len() + ALLOCATABLE_XMMS.len() < 64);
        match self.pins.reg(index) {
            Some(r) if !is_callee_saved(r) => {
                self.pins.caller_saved.iter().position(|&(i, _)| i == index).map_or(0, |k| 1 << k)
            }
            _ => 0,
        }
    }

    /// `synced_pins`, or none if a label was bound since it was set.
    fn synced_pins(&self) -> u64 {
        if self.synced_pins_labels == self.masm.asm.labels_bound() {
            self.synced_pins
        } else {
            0
        }
    }

    /// Every caller-saved pin's home now holds its register's value.
    fn mark_pins_synced(&mut self) {
        self.synced_pins = u64::MAX;
        self.synced_pins_labels = self.masm.asm.labels_bound();
    }

    /// A pinned local's register is about to change: its home no longer matches, and
    /// the register is the local's again.
    fn unsync_pin(&mut self, index: u32) {
        if self.synced_pins == 0 && self.stale_pins == 0 {
            return;
        }
        let bit = self.caller_saved_pin_bit(index);
        self.synced_pins &= !bit;
        self.stale_pins &= !bit;
    }

    /// Whether a pinned local's register does not hold it (`stale_pins`): reading it
    /// then is a compiler bug.
    fn is_stale_pin(&self, index: u32) -> bool {
        self.stale_pins != 0 && self.stale_pins & self.caller_saved_pin_bit(index) != 0
    }

    /// Appends the function's code to `chunk`; the compiler is ready for the next
    /// `begin`.
    pub fn finish(&mut self, chunk: &mut CodeChunk) -> CResult<()> {
        self.finish_code(chunk)
    }

    fn finish_code(&mut self, chunk: &mut CodeChunk) -> CResult<()> {
        self.masm.emit_trap_stubs(self.env.trap_call);
        self.masm.emit_host_call_stub();
        let frame = self.header_size as usize
            + self.slot_size as usize * (self.num_body_locals() + self.max_depth)
            + 8 * self.max_outgoing;
        let frame = (frame + 15) & !15;
        if frame > i32::MAX as usize / 2 {
            self.masm.reset();
            return Err(Error::Unsupported("function frame too large".into()).into());
        }
        let mut scopes = Vec::with_capacity(self.scopes.len());
        for pending in std::mem::take(&mut self.scopes) {
            let mut catches = Vec::with_capacity(pending.catches.len());
            for c in pending.catches {
                let landing = self
                    .masm
                    .asm
                    .label_offset(c.landing)
                    .ok_or_else(|| Error::internal("unbound landing pad"))?;
                catches.push(Catch {
                    tag: c.tag,
                    landing,
                    payload_slot: c.payload_slot,
                    payload_stride: self.slot_size,
                    exnref_slot: c.exnref_slot,
                });
            }
            scopes.push(Scope { parent: pending.parent, catches });
        }
        // A leaf can go at most its frame below the stack limit, which host calls made
        // near the limit need far more room than; nothing reads its context slot.
        let skips_stack_check = !self.not_leaf && frame <= LEAF_FRAME_MAX;
        let leaf = skips_stack_check && !self.masm.calls_out;
        let handlers = HandlerTable {
            frame_size: frame as u32,
            outgoing_slots: self.max_outgoing as u32,
            callee_saved: self.pins.callee_saved.iter().filter(|r| !r.is_xmm()).count() as u8,
            callee_saved_xmms: self.pins.callee_saved.iter().filter(|r| r.is_xmm()).count() as u8,
            call_sites: std::mem::take(&mut self.call_sites),
            scopes,
            leaf,
            trap_free: leaf && !self.masm.may_trap,
            sets_globals: self.sets_globals,
            keeps_references: self.keeps_references,
        };
        let patch = self.frame_size_patch as usize;
        self.masm.finish()?;
        let code = self.masm.code_mut();
        code[patch..patch + 4].copy_from_slice(&(frame as i32).to_le_bytes());
        if skips_stack_check {
            let (start, end) = self.stack_check;
            Assembler::jump_over(code, start as usize, end as usize);
        }
        self.masm.append_to(chunk, handlers)?;
        Ok(())
    }

    // ---- registers ----

    pub(crate) fn take_free(&mut self, float: bool, avoid: RegSet) -> Option<Reg> {
        let pick =
            |regs: &[Reg]| regs.iter().copied().find(|r| self.free.contains(*r) && !avoid.contains(*r));
        let r = if float { pick(&ALLOCATABLE_XMMS) } else { pick(&ALLOCATABLE_GPRS) }?;
        self.free.remove(r);
        Some(r)
    }

    /// A free register of the class, spilling the deepest register-held stack entry
    /// if none is free.
    pub(crate) fn alloc_except(&mut self, float: bool, avoid: RegSet) -> Reg {
        if let Some(r) = self.take_free(float, avoid) {
            return r;
        }
        let reclaimable =
            self.cached_locals.iter().position(|&(r, _)| r.is_xmm() == float && !avoid.contains(r));
        if let Some(k) = reclaimable {
            return self.cached_locals.remove(k).0;
        }
        let settled = self.settled_height;
        let victim = self.stack[settled..]
            .iter()
            .position(|s| matches!(s.loc, Loc::Reg(r) if r.is_xmm() == float && !avoid.contains(r)))
            .map(|d| settled + d);
        match victim {
            Some(d) => {
                let r = self.stack[d].reg().unwrap_or(RAX);
                self.spill_entry(d);
                self.free.remove(r);
                r
            }
            // Unreachable: the stack keeps at least four GPRs and five XMMs, against at most
            // three live operands.
            None => panic!("register allocator: no register to spill"),
        }
    }

    pub(crate) fn alloc(&mut self, float: bool) -> Reg {
        self.alloc_except(float, RegSet::default())
    }

    pub(crate) fn alloc_for(&mut self, ty: ValType) -> Reg {
        self.alloc(ty.in_xmm())
    }

    pub(crate) fn free_reg(&mut self, r: Reg) {
        self.free.insert(r);
    }

    /// Takes `r`, which no stack entry holds (`evict` it first), for the caller.
    pub(crate) fn take_reg(&mut self, r: Reg) {
        self.free.remove(r);
    }

    /// Whether `s` reads a local that is always zero (`PinnedLocals::zero_v128`).
    pub(crate) fn is_zero_v128(&self, s: Slot) -> bool {
        matches!(s.loc, Loc::Local(l) if self.pins.zero_v128.get(l as usize) == Some(&true))
    }

    pub(crate) fn release(&mut self, s: Slot) {
        if let Loc::Reg(r) = s.loc {
            self.free_reg(r);
        }
    }

    // ---- registers holding locals' values ----

    /// Whether a local's values may stay cached in a register after it is written:
    /// unpinned integer locals (whose frame home is written all the same).
    pub(crate) fn cacheable_local(&self, index: u32) -> bool {
        !self.is_pinned(index) && matches!(self.local_type(index), ValType::I32 | ValType::I64)
    }

    /// Records that `r`, which the caller owns and gives up, holds local `index`'s
    /// current value.
    pub(crate) fn cache_local(&mut self, r: Reg, index: u32) {
        debug_assert!(!self.pins.all.iter().any(|&(_, p)| p == r), "a pinned register is never cached");
        self.drop_stale_cache();
        self.cached_locals.push((r, index));
    }

    /// After a `local.tee` of `index` left its value in `r` on the stack: a copy in a
    /// free register (if there is one) serves the local's next read. Copying every time
    /// costs a register move the CPU renames away; deciding which tees are read again
    /// soon, in the first pass, cost 2 % more compile time for fewer hits.
    pub(crate) fn cache_local_copy(&mut self, r: Reg, index: u32) {
        let Some(copy) = self.take_free(false, RegSet::default()) else { return };
        self.masm.asm.mov_rr(OperandSize::S64, copy, r);
        self.cache_local(copy, index);
    }

    /// The register holding local `index`'s current value, if one does; the caller
    /// owns it from now on.
    pub(crate) fn take_cached_local(&mut self, index: u32) -> Option<Reg> {
        self.drop_stale_cache();
        let k = self.cached_locals.iter().position(|&(_, i)| i == index)?;
        Some(self.cached_locals.remove(k).0)
    }

    /// Drops the cached value of a local about to be written.
    fn uncache_local(&mut self, index: u32) {
        if let Some(r) = self.take_cached_local(index) {
            self.free_reg(r);
        }
    }

    /// Frees `r` if it held a local's value; says whether it did.
    fn uncache_reg(&mut self, r: Reg) -> bool {
        let Some(k) = self.cached_locals.iter().position(|&(c, _)| c == r) else { return false };
        self.cached_locals.remove(k);
        self.free_reg(r);
        true
    }

    /// Frees the cached values if a label was bound since they were cached.
    #[inline]
    fn drop_stale_cache(&mut self) {
        let labels = self.masm.asm.labels_bound();
        if labels != self.cached_locals_labels {
            self.forget_cached_locals();
            self.cached_locals_labels = labels;
        }
    }

    /// Frees every cached value (calls clobber the registers).
    pub(crate) fn forget_cached_locals(&mut self) {
        while let Some((r, _)) = self.cached_locals.pop() {
            self.free_reg(r);
        }
    }

    pub(crate) fn spill_entry(&mut self, d: usize) {
        let s = self.stack[d];
        let m = self.slot_mem(d as u32);
        match s.loc {
            Loc::Reg(r) => {
                self.masm.asm.store(store_kind(s.ty), m, r);
                self.free_reg(r);
            }
            Loc::Stack(_) => return,
            Loc::Const(_) => self.store_loc(s.ty, s.loc, m),
            Loc::Local(i) => {
                self.store_loc(s.ty, s.loc, m);
                self.latent_reads[i as usize] -= 1;
            }
        }
        self.stack[d].loc = Loc::Stack(d as u32);
    }

    /// Makes `r` free by moving the stack entry that holds it (if any) elsewhere.
    pub(crate) fn evict(&mut self, r: Reg) {
        self.evict_except(r, RegSet::default());
    }

    /// Like `evict`, never moving the entry into a register of `avoid`.
    pub(crate) fn evict_except(&mut self, r: Reg, mut avoid: RegSet) {
        if self.free.contains(r) || self.uncache_reg(r) {
            return;
        }
        if let Some(d) = self.stack.iter().position(|s| s.loc == Loc::Reg(r)) {
            avoid.insert(r);
            match self.take_free(r.is_xmm(), avoid) {
                Some(n) => {
                    self.move_reg(self.stack[d].ty, n, r);
                    self.stack[d].loc = Loc::Reg(n);
                    self.free_reg(r);
                }
                None => self.spill_entry(d),
            }
        }
    }

    fn move_reg(&mut self, ty: ValType, dst: Reg, src: Reg) {
        if dst == src {
            return;
        }
        if ty.in_xmm() {
            self.masm.asm.movaps(dst, src);
        } else {
            self.masm.asm.mov_rr(OperandSize::S64, dst, src);
        }
    }

    /// Spills every register-held stack entry; calls clobber all allocatable registers.
    pub(crate) fn spill_registers(&mut self) {
        self.forget_cached_locals();
        for d in self.settled_height..self.stack.len() {
            if matches!(self.stack[d].loc, Loc::Reg(_)) {
                self.spill_entry(d);
            }
        }
    }

    // ---- operand stack ----

    pub(crate) fn push(&mut self, ty: ValType, loc: Loc) {
        if let Loc::Reg(r) = loc {
            self.free.remove(r);
        }
        if let Loc::Local(i) = loc {
            self.latent_reads[i as usize] += 1;
        }
        self.stack.push(Slot::new(ty, loc));
        self.max_depth = self.max_depth.max(self.stack.len());
    }

    pub(crate) fn push_reg(&mut self, ty: ValType, r: Reg) {
        self.push(ty, Loc::Reg(r));
    }

    pub(crate) fn push_const(&mut self, ty: ValType, bits: i64) {
        let bits = if size_of(ty) == OperandSize::S32 { bits as u32 as i64 } else { bits };
        self.push(ty, Loc::Const(bits));
    }

    /// Pops an operand. Its register stays allocated until `release`d or reused.
    pub(crate) fn pop(&mut self) -> Slot {
        self.settled_height = self.settled_height.min(self.stack.len().saturating_sub(1));
        match self.stack.pop() {
            Some(s) => {
                if let Loc::Local(i) = s.loc {
                    self.latent_reads[i as usize] -= 1;
                }
                s
            }
            // Validation guarantees operands; an empty stack here is a compiler bug.
            None => panic!("operand stack underflow"),
        }
    }

    pub(crate) fn peek(&self, from_top: usize) -> Slot {
        self.stack[self.stack.len() - 1 - from_top]
    }

    /// Puts a value into a register, reusing its own register when it has one.
    pub(crate) fn in_reg(&mut self, s: Slot) -> Reg {
        self.in_reg_except(s, RegSet::default())
    }

    pub(crate) fn in_reg_except(&mut self, s: Slot, avoid: RegSet) -> Reg {
        if let Loc::Reg(r) = s.loc {
            if !avoid.contains(r) {
                return r;
            }
        }
        let r = self.alloc_except(s.ty.in_xmm(), avoid);
        self.load_into(s, r);
        r
    }

    /// Copies a value into `dst` (freeing the value's own register if it had one).
    pub(crate) fn load_into(&mut self, s: Slot, dst: Reg) {
        match s.loc {
            Loc::Reg(r) => {
                self.move_reg(s.ty, dst, r);
                if r != dst {
                    self.free_reg(r);
                }
            }
            Loc::Const(c) => {
                if s.ty.is_float() {
                    self.masm.load_float_const(size_of(s.ty), dst, c as u64);
                } else {
                    self.masm.asm.mov_ri(dst, c);
                }
            }
            Loc::Local(_) | Loc::Stack(_) => match self.place_of(s.loc) {
                Place::Reg(r) => self.move_reg(s.ty, dst, r),
                Place::Mem(m) => self.masm.asm.load(load_kind(s.ty), dst, m),
            },
        }
    }

    /// `load_into` that leaves the flags alone (a zero constant is a `mov`, not a `xor`),
    /// for values moved between a comparison and the instruction that reads its flags.
    pub(crate) fn load_keeping_flags(&mut self, s: Slot, dst: Reg) {
        match s.loc {
            Loc::Const(c) if !s.ty.is_float() => self.masm.asm.mov_ri_keeping_flags(dst, c),
            _ => self.load_into(s, dst),
        }
    }

    /// `dst = s` if `cc` holds, reading `s` where it is (register, pinned local or frame
    /// slot); a constant goes through the scratch register. Leaves the flags alone.
    pub(crate) fn cmov_from(&mut self, cc: Cc, size: OperandSize, dst: Reg, s: Slot) {
        match s.loc {
            Loc::Reg(r) => {
                self.masm.asm.cmov(cc, size, dst, r);
                self.free_reg(r);
            }
            Loc::Const(c) => {
                self.masm.asm.mov_ri_keeping_flags(SCRATCH, c);
                self.masm.asm.cmov(cc, size, dst, SCRATCH);
            }
            Loc::Local(_) | Loc::Stack(_) => match self.place_of(s.loc) {
                Place::Reg(r) => self.masm.asm.cmov(cc, size, dst, r),
                Place::Mem(m) => self.masm.asm.cmov_rm(cc, size, dst, m),
            },
        }
    }

    /// Stores a value of `ty` held at `loc` into `m`, via the scratch register if needed.
    pub(crate) fn store_loc(&mut self, ty: ValType, loc: Loc, m: Mem) {
        match loc {
            Loc::Reg(r) => self.masm.asm.store(store_kind(ty), m, r),
            Loc::Const(c) => {
                let kind = if size_of(ty) == OperandSize::S32 { StoreKind::I32 } else { StoreKind::I64 };
                if kind == StoreKind::I32 || c as i32 as i64 == c {
                    self.masm.asm.store_imm(kind, m, c as i32);
                } else {
                    self.masm.asm.mov_ri(SCRATCH, c);
                    self.masm.asm.store(StoreKind::I64, m, SCRATCH);
                }
            }
            Loc::Local(_) | Loc::Stack(_) => match self.place_of(loc) {
                Place::Reg(r) => self.masm.asm.store(store_kind(ty), m, r),
                Place::Mem(src) => {
                    if src != m {
                        let (load, store, scratch) = slot_copy_kind(ty);
                        self.masm.asm.load(load, scratch, src);
                        self.masm.asm.store(store, m, scratch);
                    }
                }
            },
        }
    }

    /// Before a local is written, stack entries still reading it lazily must take
    /// their value now. In line, since there rarely are any (9 of esbuild's 553,000
    /// writes): the call alone cost 0.7 % of its compile.
    #[inline(always)]
    pub(crate) fn materialize_local(&mut self, index: u32) {
        if self.latent_reads[index as usize] != 0 {
            self.materialize_latent_reads(index);
        }
    }

    #[inline(never)]
    fn materialize_latent_reads(&mut self, index: u32) {
        let mut remaining = self.latent_reads[index as usize];
        let mut d = self.stack.len();
        while remaining > 0 && d > 0 {
            d -= 1;
            if self.stack[d].loc == Loc::Local(index) {
                remaining -= 1;
                let ty = self.stack[d].ty;
                match self.take_free(ty.in_xmm(), RegSet::default()) {
                    Some(r) => {
                        self.load_into(self.stack[d], r);
                        self.stack[d].loc = Loc::Reg(r);
                        self.latent_reads[index as usize] -= 1;
                    }
                    None => self.spill_entry(d),
                }
            }
        }
    }

    pub(crate) fn set_local(&mut self, index: u32, value: Slot) {
        self.unsync_pin(index);
        self.uncache_local(index);
        self.materialize_local(index);
        if value.loc == Loc::Local(index) {
            return;
        }
        match (self.pins.reg(index), value.loc) {
            // The caller still owns (and releases) the value's register.
            (Some(r), Loc::Reg(v)) => self.move_reg(value.ty, r, v),
            (Some(r), _) => self.load_into(value, r),
            (None, _) => {
                let m = self.local_mem(index);
                self.store_loc(value.ty, value.loc, m);
            }
        }
    }

    pub(crate) fn is_pinned(&self, index: u32) -> bool {
        self.pins.reg(index).is_some()
    }

    /// Where an operation `a op b` whose result the next operator stores in a pinned
    /// local should compute: that local's register, unless only `b` reads the local (`a`
    /// would be loaded into the register before `b` is read); when both do, as in
    /// `x = x * x`, nothing is loaded and the operation reads the register for both. For
    /// commutative operations the operands are swapped when only `b` is the local. Latent
    /// reads of the local still on the stack take their value first, as a `local.set`
    /// would make them.
    pub(crate) fn result_target(
        &mut self,
        a: &mut Slot,
        b: &mut Slot,
        commutative: bool,
    ) -> Option<(u32, Reg)> {
        let index = self.result_hint.filter(|&i| self.is_pinned(i))?;
        if commutative && b.loc == Loc::Local(index) {
            std::mem::swap(a, b);
        }
        if b.loc == Loc::Local(index) && a.loc != Loc::Local(index) {
            self.result_hint = None;
            return None;
        }
        self.take_result_target()
    }

    /// The hinted pinned local and its register, for an operation whose operands are all
    /// read before (or by the same instruction that) the result is written. Latent reads
    /// of the local still on the stack take their value first.
    fn take_result_target(&mut self) -> Option<(u32, Reg)> {
        let index = self.result_hint.take()?;
        let r = self.pins.reg(index)?;
        self.unsync_pin(index);
        self.materialize_local(index);
        Some((index, r))
    }

    /// Puts `a` into the result register: the target local's register (then the result
    /// is that local), or a register of its own.
    pub(crate) fn result_register(&mut self, a: Slot, target: Option<(u32, Reg)>) -> (Reg, Loc) {
        match target {
            Some((index, r)) => {
                if a.loc != Loc::Local(index) {
                    self.load_into(a, r);
                }
                (r, Loc::Local(index))
            }
            None => {
                let r = self.in_reg(a);
                (r, Loc::Reg(r))
            }
        }
    }

    /// The target local's register (then the result is that local), or a new register,
    /// for an instruction that writes its result without reading it first (`lea`, the
    /// three-operand `imul`).
    fn target_or_new_register(&mut self, target: Option<(u32, Reg)>) -> (Reg, Loc) {
        match target {
            Some((index, r)) => (r, Loc::Local(index)),
            None => {
                let r = self.alloc(false);
                (r, Loc::Reg(r))
            }
        }
    }

    // ---- control flow ----

    /// Brings the stack into the canonical state for entering a frame whose top
    /// `params` entries become its parameters.
    pub(crate) fn canonicalize_for_frame(&mut self, params: usize) {
        let first_param = self.stack.len() - params;
        // Settled entries may still be constants, which parameters may not stay.
        for d in self.settled_height.min(first_param)..self.stack.len() {
            let s = self.stack[d];
            let keep = matches!(s.loc, Loc::Const(_)) && d < first_param;
            if !keep {
                self.spill_entry(d);
            }
        }
        self.settled_height = self.stack.len();
    }

    /// Copies the top `n` values to the canonical slots of a label whose frame starts
    /// at `height`, without changing the compile-time stack (the copies happen only on
    /// the branch path).
    pub(crate) fn copy_to_label(&mut self, n: usize, height: usize) {
        let top = self.stack.len() - n;
        for i in 0..n {
            let s = self.stack[top + i];
            let d = (height + i) as u32;
            if s.loc != Loc::Stack(d) {
                let m = self.slot_mem(d);
                self.store_loc(s.ty, s.loc, m);
            }
        }
    }

    pub(crate) fn needs_copies(&self, n: usize, height: usize) -> bool {
        let top = self.stack.len() - n;
        (0..n).any(|i| self.stack[top + i].loc != Loc::Stack((height + i) as u32))
    }

    /// Replaces the stack above `height` by `types` in canonical slots.
    pub(crate) fn reset_stack(&mut self, height: usize, types: &[ValType]) {
        while self.stack.len() > height {
            let s = self.pop();
            self.release(s);
        }
        for (i, &ty) in types.iter().enumerate() {
            self.push(ty, Loc::Stack((height + i) as u32));
        }
    }

    /// Where in the control stack the frame a branch of `depth` targets is.
    pub(crate) fn frame_index(&self, depth: u32) -> usize {
        self.control.len() - 1 - depth as usize
    }

    /// The label a branch to the frame `depth` levels out can jump to with no code of
    /// its own (no values to move, not a return), marked used; None otherwise.
    pub(crate) fn direct_branch_target(&mut self, depth: u32) -> Option<dynasmrt::DynamicLabel> {
        let idx = self.frame_index(depth);
        let frame = &self.control[idx];
        if frame.kind == FrameKind::Function || self.needs_copies(frame.branch_types().len(), frame.height) {
            return None;
        }
        self.control[idx].label_used = true;
        Some(self.control[idx].label)
    }

    /// Branch-path code for `br` to the frame `depth` levels out (everything except the
    /// final jump, which it returns as a label, or None for a return).
    pub(crate) fn branch_prepare(&mut self, depth: u32) -> Option<dynasmrt::DynamicLabel> {
        let idx = self.frame_index(depth);
        if self.control[idx].kind == FrameKind::Function {
            return None;
        }
        let n = self.control[idx].branch_types().len();
        let height = self.control[idx].height;
        self.copy_to_label(n, height);
        self.control[idx].label_used = true;
        Some(self.control[idx].label)
    }

    pub(crate) fn branch(&mut self, depth: u32) {
        match self.branch_prepare(depth) {
            Some(label) => self.masm.asm.jmp(label),
            None => self.emit_return(),
        }
    }

    /// Multi-value returns write into the parameter area, so latent reads of
    /// parameters must be taken first.
    pub(crate) fn prepare_return(&mut self) {
        let n = self.results.len();
        if !returns_in_rax(self.results) {
            let top = self.stack.len() - n;
            for d in top..self.stack.len() {
                if let Loc::Local(i) = self.stack[d].loc {
                    if (i as usize) < self.num_params {
                        self.spill_entry(d);
                    }
                }
            }
        }
    }

    pub(crate) fn emit_return(&mut self) {
        self.prepare_return();
        let n = self.results.len();
        let top = self.stack.len() - n;
        if returns_in_rax(self.results) {
            let s = self.stack[top];
            let reg = s.reg().or_else(|| self.pinned(s.loc));
            match (s.loc, reg) {
                (_, Some(r)) if r.is_xmm() => self.masm.asm.mov_xmm_to_gpr(size_of(s.ty), RAX, r),
                (_, Some(r)) if r == RAX => {}
                (_, Some(r)) => self.masm.asm.mov_rr(OperandSize::S64, RAX, r),
                (Loc::Const(c), None) => self.masm.asm.mov_ri(RAX, c),
                (loc, None) => {
                    let m = match self.place_of(loc) {
                        Place::Mem(m) => m,
                        Place::Reg(_) => Mem::Base(RBP, 0),
                    };
                    let kind = if size_of(s.ty) == OperandSize::S32 { LoadKind::U32 } else { LoadKind::I64 };
                    self.masm.asm.load(kind, RAX, m);
                }
            }
        } else {
            for i in 0..n {
                let s = self.stack[top + i];
                self.store_loc(s.ty, s.loc, self.result_mem(i));
            }
        }
        self.emit_epilogue();
    }

    // ---- calls ----

    /// The callee of a `call` or `return_call` of function `function_index`. An import
    /// could keep a reference it is given (`keeps_references`); a function of this
    /// module is followed when the module is linked.
    pub(crate) fn direct_callee(&mut self, function_index: u32) -> Callee {
        if function_index < self.env.num_imported_funcs {
            self.keeps_references = true;
            Callee::Import(function_index)
        } else {
            Callee::Local(function_index)
        }
    }

    /// Calls a wasm function: arguments to the outgoing area, registers spilled,
    /// results pushed.
    pub(crate) fn emit_call(&mut self, callee: Callee, ty: &FuncType) {
        self.preload_register_args(ty);
        let register_args = self.register_arg_sources(ty);
        // A function of this module stores its register arguments itself (its
        // prologue); an import may be a host function, whose stub reads them all from
        // the area.
        self.store_outgoing_args(ty, !matches!(callee, Callee::Local(_)));
        self.spill_registers();
        self.save_pinned_for_call();
        self.set_register_args(register_args);
        match callee {
            Callee::Local(index) => {
                self.masm.call_function(index);
                self.record_call_site();
            }
            Callee::Import(index) => {
                let a = &mut self.masm.asm;
                a.load(LoadKind::I64, RAX, Mem::Base(VMCTX, offsets::VMCTX_FUNC_REFS));
                a.load(LoadKind::I64, RAX, Mem::Base(RAX, 8 * index as i32));
                self.load_callee_context(RAX);
                self.masm.asm.call_mem(Mem::Base(RAX, offsets::FUNCREF_CODE));
                self.record_call_site();
                self.reload_context();
            }
        }
        self.reload_pinned_after_wasm_call();
        self.push_call_results(ty);
    }

    /// Loads the arguments that `WASM_ARG_GPRS` carry, when they are in memory, into
    /// those registers if free, so that they are stored to the outgoing area from there
    /// and need no second load.
    pub(crate) fn preload_register_args(&mut self, ty: &FuncType) {
        let top = self.stack.len() - ty.params().len();
        for (i, reg, _) in register_params(ty) {
            let s = self.stack[top + i];
            let in_memory = matches!(s.loc, Loc::Local(_) | Loc::Stack(_))
                && matches!(self.place_of(s.loc), Place::Mem(_));
            if !in_memory || !self.free.contains(reg) {
                continue;
            }
            self.free.remove(reg);
            self.load_into(s, reg);
            if let Loc::Local(l) = s.loc {
                self.latent_reads[l as usize] -= 1;
            }
            self.stack[top + i].loc = Loc::Reg(reg);
        }
    }

    /// Where the arguments that `WASM_ARG_GPRS` carry to a callee of type `ty` are: the
    /// operands about to be stored to the outgoing area. Read before the store pops
    /// them; nothing the call sequence emits in between moves them.
    pub(crate) fn register_arg_sources(&self, ty: &FuncType) -> [Option<Slot>; 2] {
        let top = self.stack.len() - ty.params().len();
        let mut sources = [None; 2];
        for (i, _, _) in register_params(ty) {
            sources[i] = Some(self.stack[top + i]);
        }
        sources
    }

    /// Copies the arguments `register_arg_sources` found into `WASM_ARG_GPRS`, using
    /// no other register. The second goes first if the first would overwrite its
    /// source; if each would overwrite the other's, they are swapped.
    pub(crate) fn set_register_args(&mut self, sources: [Option<Slot>; 2]) {
        let [first, second] = WASM_ARG_GPRS;
        let reads = |s: Option<Slot>, r: Reg| s.is_some_and(|s| s.loc == Loc::Reg(r));
        if reads(sources[1], first) {
            if reads(sources[0], second) {
                self.masm.asm.xchg_rr(first, second);
                return;
            }
            self.move_arg(second, sources[1]);
            self.move_arg(first, sources[0]);
        } else {
            self.move_arg(first, sources[0]);
            self.move_arg(second, sources[1]);
        }
    }

    fn move_arg(&mut self, dst: Reg, source: Option<Slot>) {
        let Some(s) = source else { return };
        // Upper halves of i32s do not matter: the callee zero-extends.
        let kind = load_kind(s.ty);
        match s.loc {
            Loc::Reg(r) if r == dst => {}
            Loc::Reg(r) => self.masm.asm.mov_rr(OperandSize::S64, dst, r),
            Loc::Const(c) => self.masm.asm.mov_ri(dst, c),
            loc => match self.place_of(loc) {
                Place::Reg(p) => self.masm.asm.mov_rr(OperandSize::S64, dst, p),
                Place::Mem(m) => self.masm.asm.load(kind, dst, m),
            },
        }
    }

    /// Loads `WASM_ARG_GPRS` for a callee of type `ty` from its argument area at
    /// `[base + disp]`, where a tail call or the entry has put the arguments.
    pub(crate) fn load_register_args(&mut self, ty: &FuncType, base: Reg, disp: i32) {
        for (i, reg, param) in register_params(ty) {
            // The width the argument was stored with: a wider load than the store
            // before it misses store-to-load forwarding (tail-call loops ran 2x slower).
            self.masm.asm.load(load_kind(param), reg, Mem::Base(base, disp + 8 * i as i32));
        }
    }

    /// Moves the top `ty.params()` operands to the outgoing area, laid out for `ty`, but
    /// for the ones `WASM_ARG_GPRS` carry unless `with_register_args`: those a callee
    /// compiled here stores itself (`emit_prologue`).
    pub(crate) fn store_outgoing_args(&mut self, ty: &FuncType, with_register_args: bool) {
        let n = ty.params().len();
        let stride = 8 * ty.slot_width() as i32;
        let top = self.stack.len() - n;
        let mut carried = [false; WASM_ARG_GPRS.len()];
        if !with_register_args {
            for (i, _, _) in register_params(ty) {
                carried[i] = true;
            }
        }
        for i in 0..n {
            if carried.get(i) == Some(&true) {
                continue;
            }
            let s = self.stack[top + i];
            self.store_loc(s.ty, s.loc, Mem::Base(RSP, stride * i as i32));
        }
        for _ in 0..n {
            let s = self.pop();
            self.release(s);
        }
    }

    /// Before a call or jump that may enter another instance: the context of the
    /// funcref in `funcref`, and the base of that instance's memory 0, which its code
    /// addresses.
    pub(crate) fn load_callee_context(&mut self, funcref: Reg) {
        let a = &mut self.masm.asm;
        a.load(LoadKind::I64, VMCTX, Mem::Base(funcref, offsets::FUNCREF_VMCTX));
        a.load(LoadKind::I64, MEMORY_BASE, Mem::Base(VMCTX, offsets::VMCTX_MEMORY0_BASE));
    }

    /// After a call that may have entered another instance.
    pub(crate) fn reload_context(&mut self) {
        self.not_leaf = true;
        let a = &mut self.masm.asm;
        a.load(LoadKind::I64, VMCTX, Mem::Base(RBP, -8));
        a.load(LoadKind::I64, MEMORY_BASE, Mem::Base(VMCTX, offsets::VMCTX_MEMORY0_BASE));
    }

    pub(crate) fn push_call_results(&mut self, ty: &FuncType) {
        let results = ty.results();
        self.max_outgoing = self.max_outgoing.max(ty.area_slots());
        if returns_in_rax(results) {
            let rt = results[0];
            if rt.is_float() {
                let x = self.alloc(true);
                self.masm.asm.mov_gpr_to_xmm(size_of(rt), x, RAX);
                self.push_reg(rt, x);
            } else {
                self.free.remove(RAX);
                self.push_reg(rt, RAX);
            }
        } else {
            let stride = 8 * ty.slot_width() as i32;
            for (i, &rt) in results.iter().enumerate() {
                let r = self.alloc_for(rt);
                self.masm.asm.load(load_kind(rt), r, Mem::Base(RSP, stride * i as i32));
                self.push_reg(rt, r);
            }
        }
    }

    /// Calls a runtime helper (System V ABI) with `operands` popped values and the
    /// given argument list. Returns the register holding its integer result.
    pub(crate) fn call_helper(
        &mut self,
        addr: usize,
        num_operands: usize,
        args: &[HelperArg],
        traps: bool,
    ) -> Reg {
        self.call_helper_at(HelperTarget::Rust(addr), num_operands, args, traps)
    }

    /// `call_helper` of a Rust function or of a process-wide stub that takes the same
    /// arguments and keeps xmm12-14 itself.
    pub(crate) fn call_helper_at(
        &mut self,
        target: HelperTarget,
        num_operands: usize,
        args: &[HelperArg],
        traps: bool,
    ) -> Reg {
        // Operands go to their own (now free) spill slots, so loading the argument
        // registers afterwards has no ordering hazards.
        let base = self.stack.len() - num_operands;
        // Each operand is an argument register's worth: at most six.
        let mut operands = [None; 6];
        for (d, operand) in (base..self.stack.len()).zip(&mut operands) {
            self.spill_entry(d);
            *operand = Some(self.stack[d]);
        }
        for _ in 0..num_operands {
            self.pop();
        }
        self.spill_registers();
        self.save_pinned_for_call();
        for (i, arg) in args.iter().enumerate() {
            let dst = ARG_GPRS[i];
            match *arg {
                HelperArg::Vmctx => self.masm.asm.mov_rr(OperandSize::S64, dst, VMCTX),
                HelperArg::Imm(v) => self.masm.asm.mov_ri(dst, v),
                HelperArg::OutgoingArea => self.masm.asm.mov_rr(OperandSize::S64, dst, RSP),
                HelperArg::Operand(k) => {
                    let s = operands[k].expect("a helper argument names one of its popped operands");
                    let m = match self.place_of(s.loc) {
                        Place::Mem(m) => m,
                        Place::Reg(_) => Mem::Base(RBP, 0),
                    };
                    let kind = if size_of(s.ty) == OperandSize::S32 { LoadKind::U32 } else { LoadKind::I64 };
                    self.masm.asm.load(kind, dst, m);
                }
            }
        }
        match target {
            HelperTarget::Rust(addr) => self.masm.call_host(addr),
            HelperTarget::Stub(addr) => self.masm.call_stub(addr),
        }
        if traps {
            self.masm.trap_if_helper_failed(self.env.trap_call);
        }
        self.reload_pinned_after_call();
        self.free.remove(RAX);
        RAX
    }

    // ---- integer operations ----

    /// `a op b` for add/sub/and/or/xor, choosing the immediate, memory or register form.
    pub(crate) fn int_binop(&mut self, ty: ValType, op: AluOp) {
        let size = size_of(ty);
        let mut b = self.pop();
        let mut a = self.pop();
        if let (Some(x), Some(y)) = (a.constant(), b.constant()) {
            return self.push_const(ty, op.eval(x, y));
        }
        let commutative = op != AluOp::Sub;
        if commutative && (a.constant().is_some() || (a.reg().is_none() && b.reg().is_some())) {
            std::mem::swap(&mut a, &mut b);
        }
        let target = self.result_target(&mut a, &mut b, commutative);
        if let Some(result) = self.add_by_lea(op, size, a, b, target) {
            return self.push(ty, result);
        }
        if op == AluOp::And && size == OperandSize::S64 && b.constant() == Some(0xFFFF_FFFF) {
            // The low half (compiler-rt's 128-bit helpers split words so): a 32-bit move
            // zero-extends, where the `and` needs its 64-bit mask from memory. Straight
            // from where the value is: one `mov r32, src32`, not a copy and then that.
            let result = match (target, a.loc) {
                (Some((index, r)), loc) if loc == Loc::Local(index) => {
                    self.masm.asm.mov_rr(OperandSize::S32, r, r);
                    Loc::Local(index)
                }
                (Some((index, r)), _) => {
                    self.low_half_into(a, r);
                    Loc::Local(index)
                }
                (None, Loc::Reg(r)) => {
                    self.masm.asm.mov_rr(OperandSize::S32, r, r);
                    Loc::Reg(r)
                }
                (None, _) => {
                    let r = self.alloc(false);
                    self.low_half_into(a, r);
                    Loc::Reg(r)
                }
            };
            return self.push(ty, result);
        }
        let (dst, result) = self.result_register(a, target);
        self.apply_alu(op, size, dst, b);
        self.zero_flag_of = Some((dst, size, self.masm.asm.position()));
        self.push(ty, result);
    }

    /// The low 32 bits of integer `s`, zero-extended, into `dst` (freeing the value's own
    /// register if it had one).
    fn low_half_into(&mut self, s: Slot, dst: Reg) {
        match s.loc {
            Loc::Reg(r) => {
                self.masm.asm.mov_rr(OperandSize::S32, dst, r);
                if r != dst {
                    self.free_reg(r);
                }
            }
            Loc::Const(c) => self.masm.asm.mov_ri(dst, c as u32 as i64),
            Loc::Local(_) | Loc::Stack(_) => match self.place_of(s.loc) {
                Place::Reg(r) => self.masm.asm.mov_rr(OperandSize::S32, dst, r),
                Place::Mem(m) => self.masm.asm.load(LoadKind::U32, dst, m),
            },
        }
    }

    /// `x + c` or `x - c` for an i32 `x` and a comparison `c` on top of it, still in the
    /// flags, that is the carry flag (an unsigned `<` or `>=`): one `adc` or `sbb` instead
    /// of `setb`, `movzx` and the add (branchless partitions count `x < pivot` so). False,
    /// with nothing done, for any other condition.
    pub(crate) fn add_carry(&mut self, op: AluOp) -> bool {
        let (borrow, imm) = match (op, self.pending_condition) {
            (AluOp::Add, Some(IntCond::LtU)) => (false, 0),  // x + CF
            (AluOp::Add, Some(IntCond::GeU)) => (true, -1),  // x + 1 - CF
            (AluOp::Sub, Some(IntCond::LtU)) => (true, 0),   // x - CF
            (AluOp::Sub, Some(IntCond::GeU)) => (false, -1), // x - 1 + CF
            _ => return false,
        };
        self.pending_condition = None;
        let mut c = self.pop();
        let mut x = self.pop();
        // Everything up to the `adc` leaves the flags alone: moves, loads and spills.
        let target = self.result_target(&mut x, &mut c, false);
        self.release(c);
        let (dst, result) = match (target, x.loc) {
            (Some((index, r)), _) => {
                if x.loc != Loc::Local(index) {
                    self.load_keeping_flags(x, r);
                }
                (r, Loc::Local(index))
            }
            (None, Loc::Reg(r)) => (r, Loc::Reg(r)),
            (None, _) => {
                let r = self.alloc(false);
                self.load_keeping_flags(x, r);
                (r, Loc::Reg(r))
            }
        };
        self.masm.asm.carry_ri(borrow, OperandSize::S32, dst, imm);
        self.zero_flag_of = Some((dst, OperandSize::S32, self.masm.asm.position()));
        self.push(ValType::I32, result);
        true
    }

    /// `p + c`, `p - c` or `p + q` for locals pinned to `p` and `q` and a constant `c`,
    /// into another register: one `lea` instead of a copy of `p` and an `add`. None
    /// (nothing emitted) for other operations and operands. (`p + r` for a value in a
    /// register `r` never comes here: `int_binop` swaps it into an `add` to `r`.)
    fn add_by_lea(
        &mut self,
        op: AluOp,
        size: OperandSize,
        a: Slot,
        b: Slot,
        target: Option<(u32, Reg)>,
    ) -> Option<Loc> {
        let base = self.pinned(a.loc)?;
        if target.is_some_and(|(index, _)| a.loc == Loc::Local(index)) {
            // The local itself is the result: an `add` in place is already one instruction.
            return None;
        }
        let address = match (op, b.loc) {
            (AluOp::Add, Loc::Const(c)) => Mem::Base(base, i32::try_from(c).ok()?),
            (AluOp::Sub, Loc::Const(c)) => Mem::Base(base, i32::try_from(c.checked_neg()?).ok()?),
            (AluOp::Add, _) => Mem::Indexed(base, self.pinned(b.loc)?, 0),
            _ => return None,
        };
        let (dst, result) = self.target_or_new_register(target);
        self.masm.asm.lea_sized(size, dst, address);
        Some(result)
    }

    /// The count of a shift `scaled_add` can fold into its add: the operands on top of the
    /// stack are `x`, not a constant, and a constant count that is 1 to 3 in `ty`'s width.
    pub(crate) fn index_scale(&self, ty: ValType) -> Option<u8> {
        let bits = if size_of(ty) == OperandSize::S32 { 32 } else { 64 };
        let count = self.peek(0).constant()? & (bits - 1);
        ((1..=3).contains(&count) && self.peek(1).constant().is_none()).then_some(count as u8)
    }

    /// `a + (x << shift)`, the shift and add of an array index, as one `lea`. The stack
    /// holds `x` and the count (`index_scale` gave `shift`), with `a` below them for
    /// `Addend::Below`; the other addends are the operator right after the shift.
    pub(crate) fn scaled_add(&mut self, ty: ValType, shift: u8, addend: Addend) {
        let size = size_of(ty);
        self.pop();
        let x = self.pop();
        let a = match addend {
            Addend::Below => self.pop(),
            Addend::Const(c) => Slot::new(ty, Loc::Const(c)),
            Addend::Local(index) => Slot::new(ty, Loc::Local(index)),
        };
        // A 32-bit `lea` keeps the low half of the sum: the i32 add's wrapping. A 64-bit
        // one takes the constant as a sign-extended 32-bit displacement.
        let disp = match a.loc {
            Loc::Const(c) if size == OperandSize::S32 => Some(c as i32),
            Loc::Const(c) => i32::try_from(c).ok(),
            _ => None,
        };
        let target = self.take_result_target();
        // Registers of values other than pinned locals are temporaries: free once read,
        // and the result may reuse one.
        let (index, index_temporary) = match self.pinned(x.loc) {
            Some(p) => (p, false),
            None => (self.in_reg(x), true),
        };
        let (base, base_temporary) = match (disp, self.pinned(a.loc)) {
            (Some(_), _) => (None, false),
            (None, Some(p)) => (Some(p), false),
            (None, None) => (Some(self.in_reg(a)), true),
        };
        let temporaries = [index_temporary.then_some(index), base.filter(|_| base_temporary)];
        let (dst, result) = match (target, temporaries) {
            (None, [Some(r), _] | [None, Some(r)]) => (r, Loc::Reg(r)),
            _ => self.target_or_new_register(target),
        };
        self.masm.asm.lea_scaled(size, dst, base, index, shift, disp.unwrap_or(0));
        for r in temporaries.into_iter().flatten().filter(|&r| r != dst) {
            self.free_reg(r);
        }
        self.push(ty, result);
    }

    /// Sets the zero flag to whether `r` (of `size`) is zero, with a `test` unless the
    /// ALU operation just before left it so.
    fn test_for_zero(&mut self, size: OperandSize, r: Reg) {
        if self.zero_flag_of != Some((r, size, self.masm.asm.position())) {
            self.masm.asm.test_rr(size, r, r);
        }
    }

    fn apply_alu(&mut self, op: AluOp, size: OperandSize, dst: Reg, b: Slot) {
        match b.loc {
            Loc::Const(c) if size == OperandSize::S32 || c as i32 as i64 == c => {
                self.masm.asm.alu_ri(op, size, dst, c as i32)
            }
            Loc::Const(c) => {
                // Only a 64-bit constant does not fit the immediate.
                self.masm.alu_pooled(op, dst, c);
            }
            Loc::Reg(r) => {
                self.masm.asm.alu_rr(op, size, dst, r);
                self.free_reg(r);
            }
            Loc::Local(_) | Loc::Stack(_) => match self.place_of(b.loc) {
                Place::Reg(r) => self.masm.asm.alu_rr(op, size, dst, r),
                Place::Mem(m) => self.masm.asm.alu_rm(op, size, dst, m),
            },
        }
    }

    pub(crate) fn int_mul(&mut self, ty: ValType) {
        let size = size_of(ty);
        let mut b = self.pop();
        let mut a = self.pop();
        if let (Some(x), Some(y)) = (a.constant(), b.constant()) {
            return self.push_const(ty, x.wrapping_mul(y));
        }
        if a.constant().is_some() || (a.reg().is_none() && b.reg().is_some()) {
            std::mem::swap(&mut a, &mut b);
        }
        let target = self.result_target(&mut a, &mut b, true);
        // A pinned local times a constant: the three-operand `imul` reads it in place.
        let fits_immediate = |c: i64| size == OperandSize::S32 || c as i32 as i64 == c;
        if let (Some(p), Some(c)) = (self.pinned(a.loc), b.constant().filter(|&c| fits_immediate(c))) {
            let (dst, result) = self.target_or_new_register(target);
            self.masm.asm.imul_rri(size, dst, p, c as i32);
            return self.push(ty, result);
        }
        let (dst, result) = self.result_register(a, target);
        match b.loc {
            Loc::Const(c) if fits_immediate(c) => self.masm.asm.imul_rri(size, dst, dst, c as i32),
            Loc::Reg(r) => {
                self.masm.asm.imul_rr(size, dst, r);
                self.free_reg(r);
            }
            Loc::Local(_) | Loc::Stack(_) => match self.place_of(b.loc) {
                Place::Reg(r) => self.masm.asm.imul_rr(size, dst, r),
                Place::Mem(m) => self.masm.asm.imul_rm(size, dst, m),
            },
            Loc::Const(c) => {
                // Only a 64-bit constant does not fit the immediate.
                self.masm.imul_pooled(dst, c);
            }
        }
        self.push(ty, result);
    }

    pub(crate) fn int_div(&mut self, ty: ValType, op: DivOp) {
        let size = size_of(ty);
        let b = self.pop();
        let a = self.pop();
        if let (Some(x), Some(y)) = (a.constant(), b.constant()) {
            if let Some(v) = fold_div(op, size, x, y) {
                return self.push_const(ty, v);
            }
        }
        // Free rax and rdx of stack entries, then place the operands.
        let mut fixed = RegSet::default();
        fixed.insert(RAX);
        fixed.insert(RDX);
        self.evict_except(RAX, fixed);
        self.evict_except(RDX, fixed);
        // A divisor known at compile time: multiplications instead of `div` (signed ones
        // other than 0, 1 and -1, unsigned ones of at least 2).
        let known_divisor = b.constant().map(|c| if size == OperandSize::S32 { c as i32 as i64 } else { c });
        let magic = match (op, known_divisor) {
            (DivOp::DivU | DivOp::RemU, Some(c))
                if c as u64 >= 2 && (size == OperandSize::S64 || c as u32 >= 2) =>
            {
                Some((false, c))
            }
            (DivOp::DivS | DivOp::RemS, Some(c)) if !(-1..=1).contains(&c) => Some((true, c)),
            _ => None,
        };
        let result = if let Some((signed, c)) = magic {
            self.dividend_into_rax(a);
            if signed {
                let mask = self.alloc_except(false, fixed);
                let result = self.masm.signed_div_by_constant(op, size, c, mask);
                self.free_reg(mask);
                result
            } else {
                let divisor = if size == OperandSize::S32 { u64::from(c as u32) } else { c as u64 };
                self.masm.unsigned_div_by_constant(op, size, divisor)
            }
        } else {
            // A local pinned to a register (never rax or rdx) divides in place: `div` only
            // reads its divisor.
            let pinned_divisor = self.pinned(b.loc);
            let divisor = match (b.loc, pinned_divisor) {
                (_, Some(p)) => p,
                (Loc::Reg(r), _) if r != RAX && r != RDX => r,
                _ => {
                    // Keep a's register out of the way while choosing the divisor's.
                    if let Loc::Reg(r) = a.loc {
                        fixed.insert(r);
                    }
                    let r = self.alloc_except(false, fixed);
                    self.load_into(b, r);
                    r
                }
            };
            if pinned_divisor.is_none() {
                self.free.remove(divisor);
            }
            self.dividend_into_rax(a);
            let result = self.masm.int_div(op, size, divisor, known_divisor);
            if pinned_divisor.is_none() {
                self.free_reg(divisor);
            }
            result
        };
        // The division wrote both rax and rdx; the result keeps one.
        self.free_reg(if result == RAX { RDX } else { RAX });
        self.push_reg(ty, result);
    }

    /// Places a division's dividend in rax (free of stack entries, or holding `a` itself)
    /// and takes rax and rdx, which the division writes.
    fn dividend_into_rax(&mut self, a: Slot) {
        if a.loc != Loc::Reg(RAX) {
            self.load_into(a, RAX);
        }
        self.free.remove(RAX);
        self.free.remove(RDX);
    }

    pub(crate) fn int_shift(&mut self, ty: ValType, op: ShiftOp) {
        let size = size_of(ty);
        let bits = if size == OperandSize::S32 { 32 } else { 64 };
        let b = self.pop();
        let a = self.pop();
        if let (Some(x), Some(y)) = (a.constant(), b.constant()) {
            return self.push_const(ty, fold_shift(op, size, x, y));
        }
        if let Some(c) = b.constant() {
            let (mut a, mut b) = (a, b);
            let target = self.result_target(&mut a, &mut b, false);
            let (dst, result) = self.result_register(a, target);
            self.masm.asm.shift_ri(op, size, dst, (c & (bits - 1)) as u8);
            return self.push(ty, result);
        }
        self.evict(RCX);
        let mut avoid = RegSet::default();
        avoid.insert(RCX);
        // If `a` sits in rcx, move it out before the count goes there.
        let a = if a.loc == Loc::Reg(RCX) {
            let r = self.alloc_except(false, avoid);
            self.masm.asm.mov_rr(OperandSize::S64, r, RCX);
            Slot::new(a.ty, Loc::Reg(r))
        } else {
            a
        };
        if b.loc != Loc::Reg(RCX) {
            self.load_into(b, RCX);
        }
        self.free.remove(RCX);
        let dst = self.in_reg_except(a, avoid);
        self.masm.asm.shift_cl(op, size, dst);
        self.free_reg(RCX);
        self.push_reg(ty, dst);
    }

    pub(crate) fn int_compare(&mut self, ty: ValType, cond: IntCond) {
        let size = size_of(ty);
        let mut b = self.pop();
        let mut a = self.pop();
        if let (Some(x), Some(y)) = (a.constant(), b.constant()) {
            return self.push_const(ValType::I32, cond.eval(x, y, size) as i64);
        }
        let mut cond = cond;
        let in_register = |this: &Self, s: Slot| s.reg().or_else(|| this.pinned(s.loc)).is_some();
        if a.constant().is_some() || (!in_register(self, a) && in_register(self, b)) {
            std::mem::swap(&mut a, &mut b);
            cond = cond.swap();
        }
        // A pinned local is compared in place; the 0/1 result then needs a register of
        // its own, taken after the compare (allocation only ever emits moves).
        let pinned_a = self.pinned(a.loc);
        let ra = match pinned_a {
            Some(p) => p,
            None => self.in_reg(a),
        };
        match b.loc {
            Loc::Const(c) if size == OperandSize::S32 || c as i32 as i64 == c => {
                self.masm.asm.cmp_ri(size, ra, c as i32)
            }
            Loc::Const(c) => {
                // Only a 64-bit constant does not fit the immediate.
                self.masm.cmp_pooled(ra, c);
            }
            Loc::Reg(r) => {
                self.masm.asm.cmp_rr(size, ra, r);
                self.free_reg(r);
            }
            Loc::Local(_) | Loc::Stack(_) => match self.place_of(b.loc) {
                Place::Reg(r) => self.masm.asm.cmp_rr(size, ra, r),
                Place::Mem(m) => self.masm.asm.cmp_rm(size, ra, m),
            },
        }
        // The 0/1 value is produced lazily: `materialize_condition` writes it unless the
        // next operator branches on the flags directly.
        match self.take_result_target() {
            Some((index, _)) => {
                if pinned_a.is_none() {
                    self.free_reg(ra);
                }
                self.push(ValType::I32, Loc::Local(index));
            }
            None => {
                let result = if pinned_a.is_some() { self.alloc(false) } else { ra };
                self.push_reg(ValType::I32, result);
            }
        }
        self.pending_condition = Some(cond);
    }

    pub(crate) fn select(&mut self, ty: ValType) -> CResult {
        // A comparison still in the flags picks the value itself: `cmp; cmovcc`.
        let pending = self.pending_condition.take();
        let cond = self.pop();
        let b = self.pop();
        let a = self.pop();
        if let (None, Some(c)) = (pending, cond.constant()) {
            let (keep, drop) = if c as u32 != 0 { (a, b) } else { (b, a) };
            self.release(drop);
            // A spilled value lives in the slot of its own depth: `b`'s slot is the next
            // value's, so it moves to a register rather than be overwritten there.
            let loc = match keep.loc {
                Loc::Stack(d) if d as usize != self.stack.len() => Loc::Reg(self.in_reg(keep)),
                loc => loc,
            };
            self.push(ty, loc);
            return Ok(());
        }
        // The flags condition under which the result is `a`. Everything after it only
        // moves values (`load_keeping_flags`), so the flags survive until the choice.
        let take_a = match pending {
            Some(cc) => {
                self.release(cond);
                cc
            }
            None => {
                let pinned = self.pinned(cond.loc);
                let rc = pinned.unwrap_or_else(|| self.in_reg(cond));
                self.test_for_zero(OperandSize::S32, rc);
                if pinned.is_none() {
                    self.free_reg(rc);
                }
                IntCond::Ne
            }
        };
        // The result is computed where one operand already is (`keep`): the pinned local
        // the next operator sets, else a register of the operand's own, else a new one
        // holding `b`. Then the other operand replaces it under its condition.
        let target = self.take_result_target();
        let (dst, keep, other, take_other) = match (target, a.loc, b.loc) {
            (Some((index, r)), _, lb) if lb == Loc::Local(index) => (r, b, a, take_a),
            (Some((index, r)), la, _) if la == Loc::Local(index) => (r, a, b, take_a.invert()),
            (Some((_, r)), _, _) => (r, b, a, take_a),
            (None, _, Loc::Reg(r)) => (r, b, a, take_a),
            (None, Loc::Reg(r), _) => (r, a, b, take_a.invert()),
            (None, _, _) => (self.alloc_for(ty), b, a, take_a),
        };
        if keep.loc != Loc::Reg(dst) && Some(dst) != self.pinned(keep.loc) {
            self.load_keeping_flags(keep, dst);
        }
        if ty.in_xmm() {
            let skip = self.masm.asm.new_label();
            self.masm.asm.jcc(take_other.invert().into(), skip);
            self.load_into(other, dst);
            self.masm.asm.bind(skip);
        } else {
            self.cmov_from(take_other.into(), size_of(ty), dst, other);
        }
        match target {
            Some((index, _)) => self.push(ty, Loc::Local(index)),
            None => self.push_reg(ty, dst),
        }
        Ok(())
    }

    /// Pops a constant operand (it emits nothing).
    pub(crate) fn drop_constant(&mut self) {
        let s = self.pop();
        debug_assert!(s.constant().is_some(), "drop_constant of a computed value");
        self.release(s);
    }

    pub(crate) fn explicit_bounds_checks(&self) -> bool {
        self.env.explicit_bounds_checks
    }

    /// The comparison whose 0/1 result is still only in the flags, if any.
    pub(crate) fn pending_condition(&self) -> Option<IntCond> {
        self.pending_condition
    }

    /// Whether a `local.set` or `local.tee` of the operand on top emits moves only, which
    /// leave the flags as they are (a constant could be an `xor`).
    pub(crate) fn top_sets_without_flags(&self) -> bool {
        matches!(self.stack.last().map(|s| s.loc), Some(Loc::Reg(_) | Loc::Local(_)))
    }

    /// The operand on top is a local that was set to a comparison's result whose
    /// condition, `cond`, the flags still hold: it becomes that pending comparison again,
    /// so the branch or `select` after it reads the flags instead of testing the local.
    /// The operand moves to a register of its own (no code), so that writing the 0/1
    /// value, if an `i32.eqz` inverts it or a return spills it, never writes the local.
    pub(crate) fn reuse_flags_for_top(&mut self, cond: IntCond) {
        let s = self.pop();
        self.release(s);
        let r = self.alloc(false);
        self.push_reg(ValType::I32, r);
        self.pending_condition = Some(cond);
    }

    /// Drops the pending comparison on top without writing its result anywhere: the
    /// flags keep it for `push_condition` (see `temporaries.rs`). Emits nothing.
    pub(crate) fn set_aside_condition(&mut self) -> Option<IntCond> {
        let cond = self.pending_condition.take()?;
        let s = self.pop();
        self.release(s);
        Some(cond)
    }

    /// Pushes a comparison whose condition `cond` the flags still hold, as a pending
    /// one (the inverse of `set_aside_condition`). Emits nothing: the register it
    /// gets is written only if something needs the 0/1 value.
    pub(crate) fn push_condition(&mut self, cond: IntCond) {
        let r = self.alloc(false);
        self.push_reg(ValType::I32, r);
        self.pending_condition = Some(cond);
    }

    /// Writes a pending comparison's 0/1 result into its register. Called before every
    /// operator except `br_if`, `if`, `select` and `i32.eqz` (which inverts the
    /// condition), so nothing else can run while only the flags hold it.
    ///
    /// Inline, since nearly every operator calls it and nearly always finds nothing
    /// pending; the rare write is out of line.
    #[inline(always)]
    pub(crate) fn materialize_condition(&mut self) {
        if self.pending_condition.is_some() {
            self.write_pending_condition();
        }
    }

    #[inline(never)]
    fn write_pending_condition(&mut self) {
        if let Some(cond) = self.pending_condition.take() {
            // A register of its own, or a pinned local the next operator sets.
            if let Some(r) = self.stack.last().and_then(|s| s.reg().or_else(|| self.pinned(s.loc))) {
                self.masm.set_from_flags(cond.into(), r);
            }
        }
    }

    /// Pops a branch condition and returns the integer condition that means "taken":
    /// the fused comparison itself, or `value != 0` after a test.
    pub(crate) fn pop_branch_condition(&mut self) -> IntCond {
        if let Some(cond) = self.pending_condition.take() {
            let s = self.pop();
            self.release(s);
            return cond;
        }
        let s = self.pop();
        // A local pinned to a register is tested where it lives.
        if let Some(p) = self.pinned(s.loc) {
            self.test_for_zero(OperandSize::S32, p);
            return IntCond::Ne;
        }
        let r = self.in_reg(s);
        self.test_for_zero(OperandSize::S32, r);
        self.free_reg(r);
        IntCond::Ne
    }

    pub(crate) fn int_eqz(&mut self, ty: ValType) {
        // `eqz` of a comparison still in the flags is the opposite condition, also for
        // floats: the opposite of an ordered comparison's flags condition holds on NaN,
        // as `eqz` of its false does.
        if let Some(cond) = self.pending_condition.take() {
            self.pending_condition = Some(cond.invert());
            return;
        }
        let a = self.pop();
        if let Some(x) = a.constant() {
            return self.push_const(ValType::I32, (x == 0) as i64);
        }
        // A pinned local is tested where it lives; the 0/1 result then gets a register
        // of its own, taken after the test (allocation only ever emits moves).
        let r = match self.pinned(a.loc) {
            Some(p) => {
                self.test_for_zero(size_of(ty), p);
                self.alloc(false)
            }
            None => {
                let r = self.in_reg(a);
                self.test_for_zero(size_of(ty), r);
                r
            }
        };
        // Like a comparison's, the 0/1 result is left in the flags for a `br_if`
        // (`materialize_condition` writes it into `r` otherwise).
        self.push_reg(ValType::I32, r);
        self.pending_condition = Some(IntCond::Eq);
    }

    pub(crate) fn int_bitcount(&mut self, ty: ValType, op: BitCountOp) {
        let a = self.pop();
        let r = self.in_reg(a);
        self.masm.asm.bitcount(op, size_of(ty), r, r);
        self.push_reg(ty, r);
    }

    /// Unary integer operation in place.
    pub(crate) fn int_unop(&mut self, result: ValType, f: impl FnOnce(&mut Masm, Reg)) {
        let a = self.pop();
        let r = self.in_reg(a);
        f(&mut self.masm, r);
        self.push_reg(result, r);
    }

    // ---- floats ----

    pub(crate) fn float_binop(&mut self, ty: ValType, op: FloatBinOp) {
        let mut b = self.pop();
        let mut a = self.pop();
        // Operands are never swapped: the NaN an x86 operation returns depends on order.
        let target = self.result_target(&mut a, &mut b, false);
        let (dst, result) = self.result_register(a, target);
        let mut avoid = RegSet::default();
        avoid.insert(dst);
        // copysign rewrites its source; the others only read it.
        let src = match self.pinned(b.loc) {
            Some(p) if op != FloatBinOp::Copysign => p,
            _ => self.in_reg_except(b, avoid),
        };
        self.masm.float_binop(op, size_of(ty), dst, src);
        if self.pinned(b.loc) != Some(src) {
            self.free_reg(src);
        }
        self.push(ty, result);
    }

    pub(crate) fn float_unop(&mut self, ty: ValType, op: FloatUnOp) {
        let a = self.pop();
        let r = self.in_reg(a);
        self.masm.float_unop(op, size_of(ty), r);
        self.push_reg(ty, r);
    }

    pub(crate) fn float_compare(&mut self, ty: ValType, cond: FloatCond) {
        let b = self.pop();
        let a = self.pop();
        // Comparisons only read their operands, so pinned locals are used in place.
        let ra = self.pinned(a.loc).unwrap_or_else(|| self.in_reg(a));
        let mut avoid = RegSet::default();
        avoid.insert(ra);
        let rb = self.pinned(b.loc).unwrap_or_else(|| self.in_reg_except(b, avoid));
        // The result goes to a pinned local the next operator sets, or a register.
        let target = self.take_result_target();
        let dst = match target {
            Some((_, r)) => r,
            None => self.alloc(false),
        };
        // Ordered comparisons leave their result in the flags for a `br_if` or `if`, like
        // integer ones (`materialize_condition` writes it into `dst` otherwise).
        let in_flags = self.masm.float_cmp(cond, size_of(ty), dst, ra, rb);
        for (s, r) in [(a, ra), (b, rb)] {
            if self.pinned(s.loc).is_none() {
                self.free_reg(r);
            }
        }
        match target {
            Some((index, _)) => self.push(ValType::I32, Loc::Local(index)),
            None => self.push_reg(ValType::I32, dst),
        }
        self.pending_condition = in_flags;
    }

    /// Converts between register classes: `f` gets (dst, src); src is freed after.
    pub(crate) fn convert(&mut self, to: ValType, f: impl FnOnce(&mut Masm, Reg, Reg)) {
        let a = self.pop();
        let src = self.in_reg(a);
        let dst = if src.is_xmm() == to.is_float() { src } else { self.alloc_for(to) };
        f(&mut self.masm, dst, src);
        if dst != src {
            self.free_reg(src);
        }
        self.push_reg(to, dst);
    }

    /// Reinterprets bits: constants and memory operands just change type.
    pub(crate) fn reinterpret(&mut self, to: ValType) {
        let a = self.pop();
        match a.loc {
            Loc::Reg(r) => {
                let dst = self.alloc_for(to);
                if to.is_float() {
                    self.masm.asm.mov_gpr_to_xmm(size_of(to), dst, r);
                } else {
                    self.masm.asm.mov_xmm_to_gpr(size_of(to), dst, r);
                }
                self.free_reg(r);
                self.push_reg(to, dst);
            }
            Loc::Local(_) => {
                let r = self.alloc_for(to);
                match self.place_of(a.loc) {
                    Place::Reg(p) if to.is_float() => self.masm.asm.mov_gpr_to_xmm(size_of(to), r, p),
                    Place::Reg(p) => self.masm.asm.mov_xmm_to_gpr(size_of(to), r, p),
                    Place::Mem(m) => self.masm.asm.load(load_kind(to), r, m),
                }
                self.push_reg(to, r);
            }
            loc => self.push(to, loc),
        }
    }

    // ---- memory ----

    /// Traps unless `[addr + offset, addr + offset + size)` lies inside memory
    /// `memory_index`; `addr` is a constant or in a register. For a 32-bit memory the sum
    /// cannot overflow 64 bits; for a 64-bit one it can, and an overflow traps too (an
    /// `end` that already overflows at compile time is out of bounds for any address).
    fn bounds_check(&mut self, addr: Slot, memory_index: u32, offset: u64, size: u64) {
        let wide = self.memory_is_64(memory_index);
        let end = offset.checked_add(size);
        let mut avoid = RegSet::default();
        if let Some(r) = addr.reg() {
            avoid.insert(r);
        }
        let memory = self.alloc_except(false, avoid);
        self.load_vm_pointer(memory, offsets::VMCTX_MEMORIES, memory_index);
        let length = Mem::Base(memory, offsets::MEMORY_LENGTH);
        match (addr.loc, end) {
            (Loc::Const(a), _) => {
                let a = address_from_raw(a as u64, wide);
                let last = end.and_then(|e| a.checked_add(e)).unwrap_or(u64::MAX);
                self.masm.asm.mov_ri(SCRATCH, last as i64);
            }
            (_, None) => self.masm.asm.mov_ri(SCRATCH, -1),
            (_, Some(end)) => {
                let r = addr.reg().expect("a bounds-checked address is a constant or in a register");
                self.masm.asm.mov_ri(SCRATCH, end as i64);
                self.masm.asm.alu_rr(AluOp::Add, OperandSize::S64, SCRATCH, r);
                if wide {
                    self.masm.trap_if(Cc::B, TrapCode::MemoryOutOfBounds);
                }
            }
        }
        self.masm.asm.cmp_rm(OperandSize::S64, SCRATCH, length);
        self.masm.trap_if(Cc::A, TrapCode::MemoryOutOfBounds);
        self.free_reg(memory);
    }

    /// Whether memory `memory` is addressed by i64s (memory64).
    pub(crate) fn memory_is_64(&self, memory: u32) -> bool {
        self.env.memory64.get(memory as usize).copied().unwrap_or(false)
    }

    /// The address operand of an access of `size` bytes to memory `memory` at static
    /// offset `offset`. The register it returns, if any, holds the address and is the
    /// caller's to free.
    #[inline]
    pub(crate) fn memory_operand(
        &mut self,
        addr: Slot,
        memory: u32,
        offset: u64,
        size: u64,
    ) -> (Mem, Option<Reg>) {
        if memory != 0 || self.env.memory0_checked {
            return self.other_memory_operand(addr, memory, offset, size, RegSet::default());
        }
        if self.env.explicit_bounds_checks {
            let addr = match (addr.constant(), self.pinned(addr.loc)) {
                (Some(_), _) => addr,
                (None, Some(p)) => {
                    self.bounds_check(Slot::new(addr.ty, Loc::Reg(p)), 0, offset, size);
                    return self.memory_operand_unchecked(addr, offset);
                }
                (None, None) => Slot::new(addr.ty, Loc::Reg(self.in_reg(addr))),
            };
            self.bounds_check(addr, 0, offset, size);
            return self.memory_operand_unchecked(addr, offset);
        }
        self.memory_operand_unchecked(addr, offset)
    }

    /// `memory_operand` for a memory other than 0 or a 64-bit one: the base is added to
    /// the address in the register returned. Memory 0's base is in its register; any
    /// other's is read from the context at each access (two loads through the memory's
    /// record): multi-memory modules are rare and their other memories rarer still in hot
    /// loops, so this stays simple rather than caching bases. A 64-bit memory's accesses
    /// are always bounds-checked: its reservation only covers 32-bit addresses.
    /// `avoid`: registers the caller still needs.
    #[inline(never)]
    fn other_memory_operand(
        &mut self,
        addr: Slot,
        memory: u32,
        offset: u64,
        size: u64,
        mut avoid: RegSet,
    ) -> (Mem, Option<Reg>) {
        let index = match (addr.constant(), self.pinned(addr.loc)) {
            (Some(_), _) => None,
            (None, Some(p)) => Some((p, false)),
            (None, None) => {
                let r = match addr.reg() {
                    Some(r) => r,
                    None => {
                        let r = self.alloc_except(false, avoid);
                        self.load_into(addr, r);
                        r
                    }
                };
                Some((r, true))
            }
        };
        let wide = self.memory_is_64(memory);
        if self.env.explicit_bounds_checks
            || self.env.memory_checked.get(memory as usize).copied().unwrap_or(true)
        {
            let checked = index.map_or(addr, |(r, _)| Slot::new(addr.ty, Loc::Reg(r)));
            self.bounds_check(checked, memory, offset, size);
        }
        // The register that ends up holding the address: the index's own when it is a
        // temporary, else a new one.
        let address = match index {
            Some((r, true)) => r,
            _ => {
                if let Some((p, _)) = index {
                    avoid.insert(p);
                }
                self.alloc_except(false, avoid)
            }
        };
        let base = if memory == 0 {
            MEMORY_BASE
        } else {
            self.load_vm_pointer(SCRATCH, offsets::VMCTX_MEMORIES, memory);
            self.masm.asm.load(LoadKind::I64, SCRATCH, Mem::Base(SCRATCH, offsets::MEMORY_BASE));
            SCRATCH
        };
        let a = &mut self.masm.asm;
        // i32 addresses are kept zero-extended, so adding the whole register is exact.
        // Past a bounds check (always, for a 64-bit memory) address + offset is below
        // the memory's length; without one it is below 2^33, inside the reservation.
        let displacement = match (index, addr.constant()) {
            (Some((r, temporary)), _) => {
                if temporary {
                    a.alu_rr(AluOp::Add, OperandSize::S64, address, base);
                } else {
                    a.lea(address, Mem::Indexed(base, r, 0));
                }
                offset
            }
            (None, Some(c)) => {
                a.mov_rr(OperandSize::S64, address, base);
                let c = address_from_raw(c as u64, wide);
                // Wraps only where the bounds check above always traps.
                c.wrapping_add(offset)
            }
            (None, None) => unreachable!("an address is a constant or has a register"),
        };
        if displacement > i32::MAX as u64 {
            a.mov_ri(SCRATCH, displacement as i64);
            a.alu_rr(AluOp::Add, OperandSize::S64, address, SCRATCH);
            return (Mem::Base(address, 0), Some(address));
        }
        (Mem::Base(address, displacement as i32), Some(address))
    }

    #[inline(always)]
    fn memory_operand_unchecked(&mut self, addr: Slot, offset: u64) -> (Mem, Option<Reg>) {
        if let Some(p) = self.pinned(addr.loc) {
            // i32 values are kept zero-extended, so the pinned register indexes directly.
            if offset <= i32::MAX as u64 {
                return (Mem::Indexed(MEMORY_BASE, p, offset as i32), None);
            }
            self.masm.asm.mov_ri(SCRATCH, offset as i64);
            self.masm.asm.alu_rr(AluOp::Add, OperandSize::S64, SCRATCH, p);
            return (Mem::Indexed(MEMORY_BASE, SCRATCH, 0), None);
        }
        if let Some(a) = addr.constant() {
            let ea = a as u32 as u64 + offset;
            if ea <= i32::MAX as u64 {
                return (Mem::Base(MEMORY_BASE, ea as i32), None);
            }
            self.masm.asm.mov_ri(SCRATCH, ea as i64);
            return (Mem::Indexed(MEMORY_BASE, SCRATCH, 0), None);
        }
        let r = self.in_reg(addr);
        if offset <= i32::MAX as u64 {
            (Mem::Indexed(MEMORY_BASE, r, offset as i32), Some(r))
        } else {
            self.masm.asm.mov_ri(SCRATCH, offset as i64);
            self.masm.asm.alu_rr(AluOp::Add, OperandSize::S64, SCRATCH, r);
            (Mem::Indexed(MEMORY_BASE, SCRATCH, 0), Some(r))
        }
    }

    pub(crate) fn load(&mut self, ty: ValType, kind: LoadKind, memory: u32, offset: u64) {
        let addr = self.pop();
        // The address is read by the same instruction that writes the target.
        let target = self.take_result_target();
        let (mem, addr_reg) = self.memory_operand(addr, memory, offset, kind.bytes());
        self.load_from(ty, kind, target, mem, addr_reg);
    }

    /// A load from `[memory + (index << shift) + disp]`, `index` on top of the stack:
    /// for an address the compile loop proved stays below 2^31 with no 32-bit wrap
    /// (`value_bounds.rs`), so the shift and the added constant go into the
    /// addressing mode. Within the guard reservation: never with explicit bounds checks.
    pub(crate) fn load_scaled(&mut self, ty: ValType, kind: LoadKind, shift: u8, disp: i32) {
        debug_assert!(!self.env.explicit_bounds_checks && !self.env.memory0_checked);
        let index = self.pop();
        let target = self.take_result_target();
        let (r, temporary) = match self.pinned(index.loc) {
            Some(p) => (p, false),
            None => (self.in_reg(index), true),
        };
        self.load_from(ty, kind, target, Mem::Scaled(MEMORY_BASE, r, shift, disp), temporary.then_some(r));
    }

    /// The rest of a load from `mem`: into the target local or a register (`addr_reg`,
    /// a temporary the address used, when it can hold the value).
    #[inline(always)]
    fn load_from(
        &mut self,
        ty: ValType,
        kind: LoadKind,
        target: Option<(u32, Reg)>,
        mem: Mem,
        addr_reg: Option<Reg>,
    ) {
        if let Some((index, r)) = target {
            self.masm.wasm_load(kind, r, mem);
            if let Some(a) = addr_reg {
                self.free_reg(a);
            }
            return self.push(ty, Loc::Local(index));
        }
        let dst = match addr_reg {
            Some(r) if !ty.in_xmm() => r,
            _ => {
                let mut avoid = RegSet::default();
                if let Some(r) = addr_reg {
                    avoid.insert(r);
                }
                self.alloc_except(ty.in_xmm(), avoid)
            }
        };
        self.masm.wasm_load(kind, dst, mem);
        if let Some(r) = addr_reg {
            if r != dst {
                self.free_reg(r);
            }
        }
        self.push_reg(ty, dst);
    }

    pub(crate) fn store(&mut self, kind: StoreKind, memory: u32, offset: u64) {
        let value = self.pop();
        let addr = self.pop();
        let imm = match value.loc {
            Loc::Const(c) if size_of(value.ty) == OperandSize::S32 || c as i32 as i64 == c => Some(c as i32),
            _ => None,
        };
        let value_pinned = self.pinned(value.loc);
        let value_reg = match (imm, value_pinned) {
            (Some(_), _) => None,
            (None, Some(p)) => Some(p),
            (None, None) => Some(self.in_reg(value)),
        };
        let mut avoid = RegSet::default();
        if let Some(r) = value_reg {
            avoid.insert(r);
        }
        let (mem, addr_reg) = self.memory_operand_except(addr, memory, offset, kind.bytes(), avoid);
        match (imm, value_reg) {
            (Some(i), _) => self.masm.wasm_store_imm(kind, mem, i),
            (None, Some(r)) => self.masm.wasm_store(kind, mem, r),
            (None, None) => {}
        }
        if let Some(r) = value_reg.filter(|_| value_pinned.is_none()) {
            self.free_reg(r);
        }
        if let Some(r) = addr_reg {
            self.free_reg(r);
        }
    }

    #[inline(always)]
    pub(crate) fn memory_operand_except(
        &mut self,
        addr: Slot,
        memory: u32,
        offset: u64,
        size: u64,
        avoid: RegSet,
    ) -> (Mem, Option<Reg>) {
        if memory != 0 || self.env.memory0_checked {
            return self.other_memory_operand(addr, memory, offset, size, avoid);
        }
        if addr.constant().is_none() && addr.reg().is_none() && self.pinned(addr.loc).is_none() {
            let r = self.alloc_except(false, avoid);
            self.load_into(addr, r);
            return self.memory_operand(Slot::new(addr.ty, Loc::Reg(r)), 0, offset, size);
        }
        self.memory_operand(addr, 0, offset, size)
    }

    // ---- globals and references ----

    pub(crate) fn global_address(&mut self, index: u32) -> Mem {
        self.load_vm_pointer(SCRATCH, offsets::VMCTX_GLOBALS, index);
        Mem::Base(SCRATCH, 0)
    }

    /// Loads `[vmctx.<array_field>[index]]` (a pointer) into `dst`. Element 0 of the
    /// tables and of the globals has a field of its own in the context, read in one load.
    pub(crate) fn load_vm_pointer(&mut self, dst: Reg, array_field: i32, index: u32) {
        let own_field = match (array_field, index) {
            (offsets::VMCTX_TABLES, 0) => Some(offsets::VMCTX_TABLE0),
            (offsets::VMCTX_GLOBALS, 0) => Some(offsets::VMCTX_GLOBAL0),
            _ => None,
        };
        let a = &mut self.masm.asm;
        if let Some(field) = own_field {
            a.load(LoadKind::I64, dst, Mem::Base(VMCTX, field));
            return;
        }
        a.load(LoadKind::I64, dst, Mem::Base(VMCTX, array_field));
        a.load(LoadKind::I64, dst, Mem::Base(dst, 8 * index as i32));
    }

    /// Bounds-checks `index` against table `table` and leaves the element's address
    /// as `[SCRATCH + index*8]`.
    pub(crate) fn table_element(&mut self, table: u32, index: Reg, trap: TrapCode) -> Mem {
        self.checked_table(table, index, trap);
        self.masm.asm.load(LoadKind::I64, SCRATCH, Mem::Base(SCRATCH, offsets::TABLE_BASE));
        Mem::Scaled(SCRATCH, index, 3, 0)
    }

    /// Loads table `table`'s `VMTable` pointer into SCRATCH and traps with `trap` unless
    /// `index` is below its length.
    fn checked_table(&mut self, table: u32, index: Reg, trap: TrapCode) {
        self.load_vm_pointer(SCRATCH, offsets::VMCTX_TABLES, table);
        self.masm.asm.cmp_rm(OperandSize::S64, index, Mem::Base(SCRATCH, offsets::TABLE_LENGTH));
        self.masm.trap_if(Cc::Ae, trap);
    }

    /// For `call_indirect` and `return_call_indirect`: bounds-checks `index` against
    /// funcref table `table` and loads the element (the funcref, for the checks) into
    /// SCRATCH and, into `entry` if given, its entry point, each one load from the index.
    pub(crate) fn load_funcref_element(&mut self, table: u32, index: Reg, entry: Option<Reg>) {
        debug_assert!(
            keeps_entry_points(self.env.table_elements[table as usize]),
            "validated: a funcref table"
        );
        self.checked_table(table, index, TrapCode::UndefinedElement);
        let a = &mut self.masm.asm;
        if let Some(e) = entry {
            a.load(LoadKind::I64, e, Mem::Base(SCRATCH, offsets::TABLE_CODES));
        }
        a.load(LoadKind::I64, SCRATCH, Mem::Base(SCRATCH, offsets::TABLE_BASE));
        a.load(LoadKind::I64, SCRATCH, Mem::Scaled(SCRATCH, index, 3, 0));
        if let Some(e) = entry {
            a.load(LoadKind::I64, e, Mem::Scaled(e, index, 3, 0));
        }
    }

    /// `table.set` of funcref `value` at `index` (both in registers): the element, and
    /// beside it the entry point `call_indirect` reads (0 for null).
    pub(crate) fn set_funcref_element(&mut self, table: u32, index: Reg, value: Reg) {
        let mut avoid = RegSet::default();
        avoid.insert(index);
        avoid.insert(value);
        let codes = self.alloc_except(false, avoid);
        self.checked_table(table, index, TrapCode::TableOutOfBounds);
        let a = &mut self.masm.asm;
        a.load(LoadKind::I64, codes, Mem::Base(SCRATCH, offsets::TABLE_CODES));
        a.load(LoadKind::I64, SCRATCH, Mem::Base(SCRATCH, offsets::TABLE_BASE));
        a.store(StoreKind::I64, Mem::Scaled(SCRATCH, index, 3, 0), value);
        // Null (0) has entry point 0.
        let null = a.new_label();
        a.mov_rr(OperandSize::S64, SCRATCH, value);
        a.test_rr(OperandSize::S64, value, value);
        a.jcc(Cc::E, null);
        a.load(LoadKind::I64, SCRATCH, Mem::Base(value, offsets::FUNCREF_CODE));
        a.bind(null);
        a.store(StoreKind::I64, Mem::Scaled(codes, index, 3, 0), SCRATCH);
        self.free_reg(codes);
    }

    /// A caller-saved register, not one of `WASM_ARG_GPRS`, that holds neither `index`
    /// nor the source of an argument `set_register_args` will move: free to hold an
    /// indirect call's target from before the arguments move until the call.
    fn call_target_register(&self, index: Reg, register_args: &[Option<Slot>; 2]) -> Reg {
        let mut taken = RegSet::default();
        taken.insert(index);
        for s in register_args.iter().flatten() {
            match s.loc {
                Loc::Reg(r) => taken.insert(r),
                Loc::Const(_) => {}
                loc => {
                    if let Place::Reg(p) = self.place_of(loc) {
                        taken.insert(p);
                    }
                }
            }
        }
        // Six candidates, at most three taken: one is always left.
        let candidates = [RAX, RCX, RDI, R8, R9, R10];
        let found = candidates.into_iter().find(|&r| !taken.contains(r));
        debug_assert!(found.is_some(), "no register for the call target");
        found.unwrap_or(RAX)
    }

    pub(crate) fn call_indirect(&mut self, type_index: u32, table: u32) {
        let ty = &self.env.types[type_index as usize];
        // The entry point comes from the table's array of them, one load from the
        // index (not two, through the funcref): a mispredicted call resolves sooner.
        let (idx, register_args, target) = self.begin_indirect_call(ty);
        self.load_funcref_element(table, idx, Some(target));
        // After the last read of the index, which may be in one of the registers.
        self.set_register_args(register_args);
        let a = &mut self.masm.asm;
        a.test_rr(OperandSize::S64, SCRATCH, SCRATCH);
        self.masm.trap_if(Cc::E, TrapCode::IndirectCallToNull);
        self.check_signature(type_index);
        self.end_indirect_call(ty, idx, target);
    }

    /// The start of `call_indirect` and `call_ref`: the operand on top of the arguments
    /// (a table index or a funcref) in a register that survives the argument stores and
    /// the spill, which follow; then the sources of the register arguments, and a
    /// register for the entry point that the call clobbers anyway and that neither the
    /// operand nor an argument for `WASM_ARG_GPRS` is in.
    fn begin_indirect_call(&mut self, ty: &FuncType) -> (Reg, [Option<Slot>; 2], Reg) {
        let operand = self.pop();
        let r = self.in_reg(operand);
        self.preload_register_args(ty);
        let register_args = self.register_arg_sources(ty);
        self.store_outgoing_args(ty, true);
        self.spill_registers();
        self.save_pinned_for_call();
        let target = self.call_target_register(r, &register_args);
        (r, register_args, target)
    }

    /// The end of `call_indirect` and `call_ref`, once the non-null, checked funcref is
    /// in `SCRATCH` and its entry point in `target`: the call, and its results.
    fn end_indirect_call(&mut self, ty: &FuncType, operand: Reg, target: Reg) {
        self.call_funcref_in_scratch(target);
        self.free_reg(operand);
        self.reload_pinned_after_wasm_call();
        self.push_call_results(ty);
    }

    /// `call_indirect`'s signature check of the non-null funcref in `SCRATCH` against
    /// type `type_index`: its id, or for a type that may have subtypes, also any type
    /// whose chain of supertypes has that id at that type's depth. That path borrows rax
    /// around its load (every register may be live here) and leaves no flags behind
    /// but the comparison's.
    pub(crate) fn check_signature(&mut self, type_index: u32) {
        let ty = &self.env.types[type_index as usize];
        let type_id = ty.type_id() as i32;
        let a = &mut self.masm.asm;
        a.cmp_mi(OperandSize::S32, Mem::Base(SCRATCH, offsets::FUNCREF_TYPE_ID), type_id);
        if self.env.type_has_subtypes[type_index as usize] {
            let matched = a.new_label();
            a.jcc(Cc::E, matched);
            a.push(RAX);
            a.load(LoadKind::I64, RAX, Mem::Base(SCRATCH, offsets::FUNCREF_SUPERTYPES));
            a.cmp_mi(OperandSize::S32, Mem::Base(RAX, 4 * ty.depth() as i32), type_id);
            a.pop(RAX);
            self.masm.trap_if(Cc::Ne, TrapCode::BadSignature);
            self.masm.asm.bind(matched);
        } else {
            self.masm.trap_if(Cc::Ne, TrapCode::BadSignature);
        }
    }

    /// `call_ref`: as `call_indirect`, with the funcref from the operand stack and no
    /// signature check (validation proved the type), but a null check.
    pub(crate) fn call_ref(&mut self, type_index: u32) {
        let ty = &self.env.types[type_index as usize];
        let (funcref, register_args, target) = self.begin_indirect_call(ty);
        let a = &mut self.masm.asm;
        a.mov_rr(OperandSize::S64, SCRATCH, funcref);
        a.test_rr(OperandSize::S64, SCRATCH, SCRATCH);
        self.masm.trap_if(Cc::E, TrapCode::NullFunctionReference);
        self.masm.asm.load(LoadKind::I64, target, Mem::Base(SCRATCH, offsets::FUNCREF_CODE));
        // After the last read of the funcref, which may be in one of the registers.
        self.set_register_args(register_args);
        self.end_indirect_call(ty, funcref, target);
    }

    /// The call of an indirect call, once its arguments are in place: to the non-null
    /// funcref in `SCRATCH`, whose entry point is in `target`.
    fn call_funcref_in_scratch(&mut self, target: Reg) {
        let a = &mut self.masm.asm;
        // A callee of another instance gets its context and its own memory base, and
        // ours come back from the frame after it. Most indirect calls stay in the
        // instance: they skip those loads, which otherwise sit on the first memory access
        // after them (the callee's, or ours: qsort's comparator +20 %). A function of
        // this instance returns with r15 and r14 as they were (every call that changes
        // them reloads them before returning), as for a direct call.
        let (other_instance, done) = (a.new_label(), a.new_label());
        a.cmp_rm(OperandSize::S64, VMCTX, Mem::Base(SCRATCH, offsets::FUNCREF_VMCTX));
        a.jcc(Cc::Ne, other_instance);
        a.call_reg(target);
        self.record_call_site();
        let a = &mut self.masm.asm;
        a.jmp(done);
        a.bind(other_instance);
        self.load_callee_context(SCRATCH);
        self.masm.asm.call_reg(target);
        self.record_call_site();
        self.reload_context();
        self.masm.asm.bind(done);
    }
}

/// The parameters of a function of type `ty` that also travel in `WASM_ARG_GPRS`: index,
/// register and type of each integer one among the first two, for types whose slots
/// are 8 bytes. Callers set them, the callee's prologue reads them (`arg_register`).
fn register_params(ty: &FuncType) -> impl Iterator<Item = (usize, Reg, ValType)> + '_ {
    let carried = ty.slot_width() == 1;
    WASM_ARG_GPRS
        .iter()
        .zip(ty.params())
        .enumerate()
        .filter(move |(_, (_, t))| carried && matches!(t, ValType::I32 | ValType::I64))
        .map(|(i, (&reg, &t))| (i, reg, t))
}

fn fold_div(op: DivOp, size: OperandSize, x: i64, y: i64) -> Option<i64> {
    match size {
        OperandSize::S32 => {
            let (x, y) = (x as i32, y as i32);
            let v = match op {
                DivOp::DivS => x.checked_div(y)?,
                DivOp::RemS => x.checked_rem(y).or(if y == -1 { Some(0) } else { None })?,
                DivOp::DivU => (x as u32).checked_div(y as u32)? as i32,
                DivOp::RemU => (x as u32).checked_rem(y as u32)? as i32,
            };
            Some(v as u32 as i64)
        }
        OperandSize::S64 => Some(match op {
            DivOp::DivS => x.checked_div(y)?,
            DivOp::RemS => x.checked_rem(y).or(if y == -1 { Some(0) } else { None })?,
            DivOp::DivU => (x as u64).checked_div(y as u64)? as i64,
            DivOp::RemU => (x as u64).checked_rem(y as u64)? as i64,
        }),
    }
}

fn fold_shift(op: ShiftOp, size: OperandSize, x: i64, y: i64) -> i64 {
    match size {
        OperandSize::S32 => {
            let (x, y) = (x as u32, y as u32);
            (match op {
                ShiftOp::Shl => x.wrapping_shl(y),
                ShiftOp::ShrS => (x as i32).wrapping_shr(y) as u32,
                ShiftOp::ShrU => x.wrapping_shr(y),
                ShiftOp::Rotl => x.rotate_left(y % 32),
                ShiftOp::Rotr => x.rotate_right(y % 32),
            }) as i64
        }
        OperandSize::S64 => {
            let (x, y) = (x as u64, y as u32);
            (match op {
                ShiftOp::Shl => x.wrapping_shl(y),
                ShiftOp::ShrS => (x as i64).wrapping_shr(y) as u64,
                ShiftOp::ShrU => x.wrapping_shr(y),
                ShiftOp::Rotl => x.rotate_left(y % 64),
                ShiftOp::Rotr => x.rotate_right(y % 64),
            }) as i64
        }
    }
}

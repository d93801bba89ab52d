//! x86-64 macro-assembler: instruction selection for WebAssembly semantics.
//!
//! The compiler hands this layer values already in registers (or immediates and frame
//! slots) and gets exactly-specified results back: trapping division, NaN- and
//! signed-zero-correct min/max, checked and saturating float-to-int conversion.

use super::asm::{Assembler, AtomicRmwInsn, Cc, Mem};
use super::regs::*;
use crate::compiler::division::u64_division_magic;
use crate::compiler::masm::*;
use crate::runtime::code_memory::CodeWriter;
use crate::trap::TrapCode;
use dynasmrt::DynamicLabel;

/// A direct call to another function of the same module, patched at link time.
#[derive(Clone, Copy, Debug)]
pub struct CallReloc {
    /// Offset of the rel32 field within the function's code (within the chunk's, in a
    /// `CodeChunk`).
    pub offset: u32,
    pub callee: u32,
}

/// An out-of-line trap path of the function being compiled: one per trap code. The
/// first operator that may raise it jumps to `label`; each other operator jumps to a
/// thunk of its own that calls `via_thunk`, which goes on to the trap exit without a
/// call of its own, so that the return address the trap exit takes is the thunk's and
/// says which operator it was (for backtraces). A function whose sites of one code are all one
/// operator's (most are) has no thunks.
#[derive(Clone, Copy)]
struct TrapPath {
    code: TrapCode,
    label: DynamicLabel,
    /// The operator of the jumps to `label`.
    first_site: u32,
    /// The entry for thunks, once an operator other than `first_site`'s needs one.
    via_thunk: Option<DynamicLabel>,
    /// The last thunk made for this code, and its operator: a conversion's two checks
    /// share one.
    last_thunk: Option<(u32, DynamicLabel)>,
}

pub struct Masm {
    pub asm: Assembler,
    trap_labels: Vec<TrapPath>,
    /// (label, `trap_labels` index, operator) of each thunk (see `TrapPath`).
    trap_thunks: Vec<(DynamicLabel, usize, u32)>,
    /// The index of the operator being compiled (a store per operator), and the wasm
    /// byte offsets of the function's operators, by index (`begin_sources`): a site's
    /// offset is looked up when it is recorded.
    pub operator: u32,
    operator_offsets: *const u32,
    operator_count: u32,
    /// (code offset, wasm offset) of each return address a backtrace may see: after a
    /// call, and after a trap path's call of the trap exit when one operator uses it.
    pub return_sources: Vec<(u32, u32)>,
    /// Offsets of instructions whose fault means "out of bounds memory access", each
    /// with its operator's wasm offset (for backtraces).
    pub trap_sites: Vec<(u32, u32)>,
    /// Offsets of divisions, whose fault means "integer divide by zero", likewise.
    pub division_sites: Vec<(u32, u32)>,
    pub call_relocs: Vec<CallReloc>,
    /// The function's `call_host` stub, once a site calls it.
    host_call_stub: Option<DynamicLabel>,
    /// Whether the function calls out (a function, a runtime helper or stub), other than
    /// to leave for good through a trap path.
    pub calls_out: bool,
    /// Whether the function may trap or fault: it has a trap path, a load or store that
    /// may fault, or a division (a throw makes it no leaf). A function that neither may
    /// trap nor calls out never needs an entry trampoline's frame
    /// (`HandlerTable::trap_free`).
    pub may_trap: bool,
    jump_tables: Vec<(DynamicLabel, Vec<DynamicLabel>)>,
    /// 8-byte constants (float bit patterns, division multipliers) placed after the code
    /// and read with RIP-relative operands, one label per use: `place_constants` keeps
    /// one copy of each value.
    float_constants: Vec<(u64, DynamicLabel)>,
    /// 16-byte constants of v128 operations (masks, tables, `v128.const`), likewise (a
    /// function may have hundreds of thousands).
    vector_constants: Vec<(u128, DynamicLabel)>,
    /// Whether a loop header was aligned: the function then starts at a multiple of
    /// `LOOP_ALIGNMENT` too, so its loops are aligned in memory.
    aligned_loops: bool,
}

/// Where loop headers start: at a 64-byte boundary (one cache line and, on recent Intel
/// cores, one uop-cache window). On this project's machines a loop's speed depends on
/// where its code falls relative to these boundaries: the same interpreter loop ran in
/// 155 or 185-189 ms as code before it grew or shrank by 16 bytes (16- and 32-byte
/// alignment did not steady it; 64 did). Aligned, a loop's layout no longer depends on
/// the code before it.
pub const LOOP_ALIGNMENT: u32 = 64;
/// Where functions start when they have no aligned loop.
pub const FUNCTION_ALIGNMENT: u32 = 16;

/// The machine code of consecutive functions, laid out as they will lie in memory:
/// each function at its alignment relative to the chunk's start, which goes at a
/// `LOOP_ALIGNMENT` boundary. One buffer of each kind per chunk rather than per function:
/// four allocations and frees per function, and a copy of each, cost ~1,000
/// instructions a function. The code goes into a `CodeWriter`, which a module compiled
/// as one chunk makes executable where it is.
pub struct CodeChunk {
    pub bytes: CodeWriter,
    /// Where each function starts in `bytes`.
    pub starts: Vec<u32>,
    /// Offsets in `bytes` of instructions whose fault means "out of bounds memory access",
    /// with their wasm offsets, in code order.
    pub trap_sites: Vec<(u32, u32)>,
    /// Offsets in `bytes` of divisions, whose fault means "integer divide by zero",
    /// likewise.
    pub division_sites: Vec<(u32, u32)>,
    /// `Masm::return_sources` of every function, at offsets in `bytes`, in code order.
    pub return_sources: Vec<(u32, u32)>,
    /// Direct calls and tail calls, their rel32 fields at offsets in `bytes`.
    pub call_relocs: Vec<CallReloc>,
    /// Each function's frame layout and exception handlers.
    pub handlers: Vec<crate::compiler::handlers::HandlerTable>,
}

impl CodeChunk {
    /// An empty chunk for `functions` functions of `wasm_bytes` of code in all.
    pub fn new(wasm_bytes: usize, functions: usize) -> Result<CodeChunk, crate::error::Error> {
        // 1.6-2.2 bytes of machine code per byte of wasm code in the benchmark corpora,
        // and a prologue, epilogue and alignment of up to 64 bytes per function (a module
        // of 20,000 functions of 9 bytes made 5 bytes a byte): room for that, so that
        // growing (a copy, and every page faulted in again: 957 faults per sql.js compile
        // at 2x, against 375) is rare. Pages are allocated as they are written, but a
        // system that does not overcommit counts the whole mapping until
        // `into_executable` unmaps the rest.
        let room =
            wasm_bytes.saturating_mul(3).saturating_add(functions.saturating_mul(64)).saturating_add(4096);
        let bytes = if functions == 0 { CodeWriter::empty() } else { CodeWriter::with_capacity(room)? };
        Ok(CodeChunk {
            bytes,
            starts: Vec::with_capacity(functions),
            trap_sites: Vec::new(),
            division_sites: Vec::new(),
            return_sources: Vec::new(),
            call_relocs: Vec::new(),
            handlers: Vec::with_capacity(functions),
        })
    }
}

impl Default for Masm {
    fn default() -> Self {
        Self::new()
    }
}

fn is_double(size: OperandSize) -> bool {
    size == OperandSize::S64
}

/// Places a pool of constants, each value once, and binds every use's label to its copy.
/// Sorting brings equal values together: no index is kept while compiling, whose lookup
/// (SipHash, so that no module's constants make it slow) cost more than the sort.
fn place_constants<T: Ord + Copy, const N: usize>(
    asm: &mut Assembler,
    pool: &mut Vec<(T, DynamicLabel)>,
    bytes: fn(T) -> [u8; N],
) {
    pool.sort_unstable_by_key(|&(bits, _)| bits);
    for (i, &(bits, label)) in pool.iter().enumerate() {
        asm.bind(label);
        // The value goes after the last label bound to it.
        if pool.get(i + 1).is_none_or(|&(next, _)| next != bits) {
            asm.emit_bytes(&bytes(bits));
        }
    }
    pool.clear();
}

impl Masm {
    pub fn new() -> Masm {
        Masm {
            asm: Assembler::new(),
            trap_labels: Vec::new(),
            trap_thunks: Vec::new(),
            operator: 0,
            operator_offsets: std::ptr::null(),
            operator_count: 0,
            return_sources: Vec::new(),
            trap_sites: Vec::new(),
            division_sites: Vec::new(),
            call_relocs: Vec::new(),
            host_call_stub: None,
            calls_out: false,
            may_trap: false,
            jump_tables: Vec::new(),
            float_constants: Vec::new(),
            vector_constants: Vec::new(),
            aligned_loops: false,
        }
    }

    /// Pads (with `nop`s, which the code before falls through) to the next
    /// `LOOP_ALIGNMENT` boundary, where a loop header is bound next.
    pub fn align_loop_header(&mut self) {
        self.asm.align_with_nops(LOOP_ALIGNMENT as usize);
        self.aligned_loops = true;
    }

    /// The out-of-line label that raises `code`; emitted once per function by `emit_trap_stubs`.
    pub fn trap_label(&mut self, code: TrapCode) -> DynamicLabel {
        self.may_trap = true;
        let operator = self.operator;
        let Some(index) = self.trap_labels.iter().position(|p| p.code == code) else {
            let label = self.asm.new_label();
            self.trap_labels.push(TrapPath {
                code,
                label,
                first_site: operator,
                via_thunk: None,
                last_thunk: None,
            });
            return label;
        };
        let path = self.trap_labels[index];
        if path.first_site == operator {
            return path.label;
        }
        if let Some((op, thunk)) = path.last_thunk {
            if op == operator {
                return thunk;
            }
        }
        let thunk = self.asm.new_label();
        let via_thunk = path.via_thunk.unwrap_or_else(|| self.asm.new_label());
        self.trap_labels[index].via_thunk = Some(via_thunk);
        self.trap_labels[index].last_thunk = Some((operator, thunk));
        self.trap_thunks.push((thunk, index, operator));
        thunk
    }

    pub fn trap_if(&mut self, cc: Cc, code: TrapCode) {
        let l = self.trap_label(code);
        self.asm.jcc(cc, l);
    }

    pub fn trap(&mut self, code: TrapCode) {
        let l = self.trap_label(code);
        self.asm.jmp(l);
    }

    /// Out-of-line trap paths, placed after the function body so the hot path falls through.
    pub fn emit_trap_stubs(&mut self, trap_call: usize) {
        // By index rather than taking the vector, which keeps its allocation for the
        // next function.
        for i in 0..self.trap_labels.len() {
            let TrapPath { code, label, first_site, via_thunk, .. } = self.trap_labels[i];
            self.asm.bind(label);
            self.asm.mov_ri(RSI, code as u32 as i64);
            self.call_absolute(trap_call);
            self.record_return_source_of(first_site);
            if let Some(via_thunk) = via_thunk {
                // The thunk's call left its return address on the stack, for
                // `trap_call` to take.
                self.asm.bind(via_thunk);
                self.asm.mov_ri(RSI, code as u32 as i64);
                self.jump_absolute(trap_call);
            }
        }
        for i in 0..self.trap_thunks.len() {
            let (thunk, path, operator) = self.trap_thunks[i];
            self.asm.bind(thunk);
            let via_thunk = self.trap_labels[path].via_thunk.expect("a thunk's path has its entry");
            self.asm.call_label(via_thunk);
            self.record_return_source_of(operator);
        }
        self.trap_labels.clear();
        self.trap_thunks.clear();
    }

    pub fn jump_absolute(&mut self, addr: usize) {
        self.asm.mov_ri(SCRATCH, addr as i64);
        self.asm.jmp_reg(SCRATCH);
    }

    pub fn call_absolute(&mut self, addr: usize) {
        self.asm.mov_ri(SCRATCH, addr as i64);
        self.asm.call_reg(SCRATCH);
    }

    /// Calls one of the process-wide stubs that return (`call_absolute` is for trap paths).
    pub fn call_stub(&mut self, addr: usize) {
        self.calls_out = true;
        self.call_absolute(addr);
    }

    /// Calls a Rust function (System V ABI) from wasm code: it may clobber every xmm
    /// register, but wasm callers further up expect `CALLEE_SAVED_XMMS` intact. The call
    /// goes through one stub per function (`emit_host_call_stub`) that saves them around
    /// it, so each site costs a call of the stub, not six moves (functions with dozens of
    /// `memory.copy` sites grew a fifth with them inline).
    pub fn call_host(&mut self, addr: usize) {
        self.calls_out = true;
        let stub = *self.host_call_stub.get_or_insert_with(|| self.asm.new_label());
        self.asm.mov_ri(SCRATCH, addr as i64);
        self.asm.call_label(stub);
    }

    /// The stub `call_host` calls with the Rust function in the scratch register and its
    /// arguments in the System V registers: saves the callee-saved xmm registers below
    /// the stack pointer (what lies above, such as an outgoing argument area passed by
    /// address, is left as it is), calls, restores them. Entered with rsp 8 below a
    /// 16-byte boundary, as after any call: an odd number of 8-byte slots keeps the
    /// inner call aligned. Placed after the function's code, if any site calls it.
    pub fn emit_host_call_stub(&mut self) {
        let Some(label) = self.host_call_stub.take() else { return };
        self.asm.bind(label);
        call_scratch_keeping_xmms_and_return(&mut self.asm);
    }

    pub fn call_function(&mut self, callee: u32) {
        self.calls_out = true;
        let offset = self.asm.call_rel32_placeholder();
        self.call_relocs.push(CallReloc { offset, callee });
    }

    /// A tail call: `jmp rel32` to a function of the module (patched like a call).
    pub fn jump_function(&mut self, callee: u32) {
        let offset = self.asm.jmp_rel32_placeholder();
        self.call_relocs.push(CallReloc { offset, callee });
    }

    /// Jumps to `targets[index]`; `index` must already be bounds-checked and is clobbered.
    pub fn jump_table(&mut self, index: Reg, targets: Vec<DynamicLabel>) {
        let table = self.asm.new_label();
        self.asm.jump_table_dispatch(index, table);
        self.asm.align(4, 0xCC);
        self.asm.bind(table);
        self.asm.emit_bytes(&vec![0u8; targets.len() * 4]);
        self.jump_tables.push((table, targets));
    }

    /// Empties every buffer (keeping its allocation) for the next function.
    pub fn reset(&mut self) {
        self.asm.clear();
        self.trap_labels.clear();
        self.trap_thunks.clear();
        self.return_sources.clear();
        self.operator_offsets = std::ptr::null();
        self.operator_count = 0;
        self.trap_sites.clear();
        self.division_sites.clear();
        self.call_relocs.clear();
        self.jump_tables.clear();
        self.float_constants.clear();
        self.vector_constants.clear();
        self.aligned_loops = false;
        self.host_call_stub = None;
        self.calls_out = false;
        self.may_trap = false;
    }

    /// Places the constant pool, then resolves labels and jump tables. The code stays
    /// here for last patches (`code_mut`) until `append_to` moves it out; on error the
    /// assembler is left empty for the next function.
    pub fn finish(&mut self) -> Result<(), crate::error::Error> {
        let finished = self.finish_code();
        if finished.is_err() {
            self.reset();
        }
        finished
    }

    fn finish_code(&mut self) -> Result<(), crate::error::Error> {
        if !self.vector_constants.is_empty() {
            self.asm.align(16, 0xCC);
            place_constants(&mut self.asm, &mut self.vector_constants, u128::to_le_bytes);
        }
        if !self.float_constants.is_empty() {
            self.asm.align(8, 0xCC);
            place_constants(&mut self.asm, &mut self.float_constants, u64::to_le_bytes);
        }
        let internal = crate::error::Error::internal;
        let mut patches = Vec::new();
        for (table, targets) in &self.jump_tables {
            let base = self.asm.label_offset(*table).ok_or_else(|| internal("unbound jump table"))?;
            for (i, t) in targets.iter().enumerate() {
                let at = self.asm.label_offset(*t).ok_or_else(|| internal("unbound jump target"))?;
                patches.push((base as usize + 4 * i, at as i32 - base as i32));
            }
        }
        self.asm.resolve_in_place().map_err(|e| internal(&e.to_string()))?;
        let bytes = self.asm.code_mut();
        for (at, value) in patches {
            bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
        Ok(())
    }

    /// The finished function's code (`finish`), to patch.
    pub fn code_mut(&mut self) -> &mut [u8] {
        self.asm.code_mut()
    }

    /// Appends the finished function to `chunk` at its alignment, with its trap sites,
    /// calls and `handlers`, and empties every buffer (keeping its allocation) for the
    /// next function, also on error, after which the chunk is only fit to be dropped.
    pub fn append_to(
        &mut self,
        chunk: &mut CodeChunk,
        handlers: crate::compiler::handlers::HandlerTable,
    ) -> Result<(), crate::error::Error> {
        let start = match self.append_code(chunk) {
            Ok(start) => start,
            Err(e) => {
                // The chunk is abandoned with the compile; the assembler must still be
                // ready for another function.
                self.reset();
                return Err(e);
            }
        };
        chunk.starts.push(start);
        chunk.trap_sites.extend(self.trap_sites.iter().map(|&(at, wasm)| (at + start, wasm)));
        chunk.division_sites.extend(self.division_sites.iter().map(|&(at, wasm)| (at + start, wasm)));
        chunk.return_sources.extend(self.return_sources.iter().map(|&(at, wasm)| (at + start, wasm)));
        chunk.call_relocs.extend(
            self.call_relocs.iter().map(|r| CallReloc { offset: r.offset + start, callee: r.callee }),
        );
        chunk.handlers.push(handlers);
        self.reset();
        Ok(())
    }

    /// Copies the finished function's code into `chunk` at its alignment: where it starts.
    fn append_code(&self, chunk: &mut CodeChunk) -> Result<u32, crate::error::Error> {
        let alignment = if self.aligned_loops { LOOP_ALIGNMENT } else { FUNCTION_ALIGNMENT };
        let start = chunk.bytes.len().next_multiple_of(alignment as usize);
        // Calls between functions are rel32, so all the code stays below 2 GiB.
        if start.checked_add(self.asm.code().len()).is_none_or(|end| end > i32::MAX as usize) {
            return Err(crate::error::Error::Resource("more than 2 GiB of code".into()));
        }
        chunk.bytes.pad_to(start, 0xCC)?;
        chunk.bytes.extend_from_slice(self.asm.code())?;
        Ok(start as u32)
    }

    /// Traps with the code an allocating helper returned in rax instead of an address:
    /// anything below `first_address`.
    pub fn trap_if_result_is_code(&mut self, first_address: i32, trap_call: usize) {
        let ok = self.asm.new_label();
        self.asm.cmp_ri(OperandSize::S64, RAX, first_address);
        self.asm.jcc(Cc::Ae, ok);
        self.trap_with_code_in_eax(trap_call);
        self.asm.bind(ok);
    }

    /// Raises the trap whose code a runtime helper returned in eax, if any.
    pub fn trap_if_helper_failed(&mut self, trap_call: usize) {
        let ok = self.asm.new_label();
        self.asm.test_rr(OperandSize::S32, RAX, RAX);
        self.asm.jcc(Cc::E, ok);
        self.trap_with_code_in_eax(trap_call);
        self.asm.bind(ok);
    }

    /// Raises the trap whose code is in eax, from here (the call's return address is
    /// this operator's, for backtraces).
    fn trap_with_code_in_eax(&mut self, trap_call: usize) {
        self.may_trap = true;
        self.asm.mov_rr(OperandSize::S32, RSI, RAX);
        self.call_absolute(trap_call);
        self.record_return_source();
    }

    // ---- integers ----

    /// Integer comparison into a 0/1 register.
    pub fn set_from_flags(&mut self, cc: Cc, dst: Reg) {
        self.asm.setcc(cc, dst);
        self.asm.movzx_r8(dst, dst);
    }

    /// `rax` holds the dividend, `divisor` any other register but rdx; the result lands
    /// in rax (quotient) or rdx (remainder), which is returned. `known_divisor`: the
    /// divisor's value when it is a constant (sign-extended from 32 bits for `S32`),
    /// which drops the -1 check it cannot fail.
    ///
    /// A zero divisor is not tested: `div` by zero faults (#DE), and the division is a
    /// trap site the signal handler turns into `IntegerDivisionByZero`. The other cause
    /// of #DE, a quotient that does not fit, cannot reach it: rdx is the dividend's
    /// extension, and signed divisions by -1 take their own path first.
    pub fn int_div(&mut self, op: DivOp, size: OperandSize, divisor: Reg, known_divisor: Option<i64>) -> Reg {
        let done = self.asm.new_label();
        let signed_needs_minus_one_check = known_divisor.is_none_or(|c| c == -1);
        match op {
            DivOp::DivS | DivOp::RemS if !signed_needs_minus_one_check => self.divide(true, size, divisor),
            DivOp::DivS => {
                let ok = self.asm.new_label();
                self.asm.cmp_ri(size, divisor, -1);
                self.asm.jcc(Cc::Ne, ok);
                // INT_MIN / -1 is the one signed quotient that does not fit.
                self.asm.neg(size, RAX);
                self.trap_if(Cc::O, TrapCode::IntegerOverflow);
                self.asm.jmp(done);
                self.asm.bind(ok);
                self.divide(true, size, divisor);
            }
            DivOp::RemS => {
                let ok = self.asm.new_label();
                self.asm.cmp_ri(size, divisor, -1);
                self.asm.jcc(Cc::Ne, ok);
                // x rem -1 is 0, and idiv would fault on INT_MIN.
                self.asm.mov_ri(RDX, 0);
                self.asm.jmp(done);
                self.asm.bind(ok);
                self.divide(true, size, divisor);
            }
            DivOp::DivU | DivOp::RemU => self.divide(false, size, divisor),
        }
        self.asm.bind(done);
        match op {
            DivOp::DivS | DivOp::DivU => RAX,
            DivOp::RemS | DivOp::RemU => RDX,
        }
    }

    /// Extends rax into rdx and divides by `divisor`, the division recorded as a trap
    /// site: a zero divisor faults there.
    fn divide(&mut self, signed: bool, size: OperandSize, divisor: Reg) {
        self.may_trap = true;
        self.asm.extend_dividend(signed, size);
        let at = self.asm.offset();
        let wasm = self.wasm_offset(self.operator);
        self.division_sites.push((at, wasm));
        self.asm.div(signed, size, divisor);
    }

    /// The unsigned quotient or remainder (`op` is `DivU` or `RemU`) of the value in rax
    /// (eax for `S32`) by a constant `divisor` of at least 2, without a `div`. The result
    /// lands in rax or rdx, which is returned; the other one and SCRATCH are clobbered.
    pub fn unsigned_div_by_constant(&mut self, op: DivOp, size: OperandSize, divisor: u64) -> Reg {
        debug_assert!(matches!(op, DivOp::DivU | DivOp::RemU) && divisor >= 2);
        if size == OperandSize::S32 {
            // An i32 in a register may have any upper half.
            self.asm.mov_rr(OperandSize::S32, RAX, RAX);
        }
        self.magnitude_division(op == DivOp::RemU, size, divisor)
    }

    /// The signed quotient or remainder (`op` is `DivS` or `RemS`) of the value in rax
    /// (eax for `S32`) by a constant `divisor` other than 0, 1 and -1 (which cannot
    /// overflow): the unsigned division of the magnitudes, the sign applied after (the
    /// dividend's for a remainder, both operands' for a quotient). `mask` is a free
    /// register other than rax and rdx; the result lands in rax or rdx, which is
    /// returned; the other one and SCRATCH are clobbered.
    pub fn signed_div_by_constant(&mut self, op: DivOp, size: OperandSize, divisor: i64, mask: Reg) -> Reg {
        debug_assert!(matches!(op, DivOp::DivS | DivOp::RemS) && !(-1..=1).contains(&divisor));
        // mask = x < 0 ? -1 : 0, and rax = |x| (2^31 or 2^63 for the least value, as an
        // unsigned one).
        self.asm.extend_dividend(true, size);
        self.asm.mov_rr(size, mask, RDX);
        self.asm.alu_rr(AluOp::Xor, size, RAX, RDX);
        self.asm.alu_rr(AluOp::Sub, size, RAX, RDX);
        let result = self.magnitude_division(op == DivOp::RemS, size, divisor.unsigned_abs());
        if op == DivOp::DivS && divisor < 0 {
            self.asm.alu_ri(AluOp::Xor, size, mask, -1);
        }
        // (v ^ mask) - mask negates v when mask is -1.
        self.asm.alu_rr(AluOp::Xor, size, result, mask);
        self.asm.alu_rr(AluOp::Sub, size, result, mask);
        result
    }

    /// The unsigned division of a zero-extended rax by `divisor` (at least 2) for
    /// `size`-bit operands: returns rax or rdx, whichever holds the result.
    fn magnitude_division(&mut self, remainder: bool, size: OperandSize, divisor: u64) -> Reg {
        match size {
            OperandSize::S32 => {
                self.u32_magic_division(remainder, divisor as u32);
                RDX
            }
            OperandSize::S64 => self.u64_magic_division(remainder, divisor),
        }
    }

    /// edx = eax / divisor (or eax % divisor with `remainder`) for a zero-extended eax and
    /// a divisor of at least 2: with c = ceil(2^64 / divisor), the quotient is the high
    /// half of c * x, and the remainder the high half of (c * x mod 2^64) * divisor, exact
    /// for every 32-bit x (Lemire, Kaser and Kurz, "Faster remainder by direct
    /// computation", 2019). Clobbers rax and SCRATCH.
    fn u32_magic_division(&mut self, remainder: bool, divisor: u32) {
        debug_assert!(divisor >= 2);
        let c = u64::MAX / u64::from(divisor) + 1;
        self.asm.mov_ri(SCRATCH, c as i64);
        self.asm.mul_wide_u64(SCRATCH);
        if remainder {
            self.asm.mov_ri(SCRATCH, i64::from(divisor));
            self.asm.mul_wide_u64(SCRATCH);
        }
    }

    /// rax / divisor (or rax % divisor with `remainder`), unsigned, for a divisor of at
    /// least 2: one widening multiplication by the divisor's magic (see
    /// `compiler::division`), then shifts. Returns rax or rdx, whichever holds the
    /// result; clobbers the other and SCRATCH.
    fn u64_magic_division(&mut self, remainder: bool, divisor: u64) -> Reg {
        let magic = u64_division_magic(divisor);
        if magic.add_back || remainder {
            // The add-back and the remainder read the dividend again.
            self.asm.mov_rr(OperandSize::S64, SCRATCH, RAX);
        }
        let multiplier = self.constant_label(magic.multiplier);
        self.asm.mul_wide_u64_rip(multiplier);
        let quotient = if magic.add_back {
            self.asm.mov_rr(OperandSize::S64, RAX, SCRATCH);
            self.asm.alu_rr(AluOp::Sub, OperandSize::S64, RAX, RDX);
            self.asm.shift_ri(ShiftOp::ShrU, OperandSize::S64, RAX, 1);
            self.asm.alu_rr(AluOp::Add, OperandSize::S64, RAX, RDX);
            RAX
        } else {
            RDX
        };
        if magic.shift > 0 {
            self.asm.shift_ri(ShiftOp::ShrU, OperandSize::S64, quotient, magic.shift as u8);
        }
        if !remainder {
            return quotient;
        }
        // x - (x / d) * d, in the register the quotient left free.
        match i32::try_from(divisor) {
            Ok(imm) => self.asm.imul_rri(OperandSize::S64, quotient, quotient, imm),
            Err(_) => {
                let d = self.constant_label(divisor);
                self.asm.imul_r_rip(quotient, d);
            }
        }
        let rest = if quotient == RAX { RDX } else { RAX };
        self.asm.mov_rr(OperandSize::S64, rest, SCRATCH);
        self.asm.alu_rr(AluOp::Sub, OperandSize::S64, rest, quotient);
        rest
    }

    // ---- floats ----

    /// The label of a 16-byte constant in the pool (shared within the function).
    pub(crate) fn vector_constant(&mut self, bits: u128) -> DynamicLabel {
        let l = self.asm.new_label();
        self.vector_constants.push((bits, l));
        l
    }

    /// Loads a float bit pattern into the float scratch register.
    fn float_const_scratch(&mut self, size: OperandSize, bits: u64) {
        self.load_float_const(size, FLOAT_SCRATCH, bits);
    }

    /// One load from the function's constant pool (`xorps` for +0.0): a constant built
    /// in a general register and moved over costs two instructions and a domain crossing.
    pub fn load_float_const(&mut self, size: OperandSize, dst: Reg, bits: u64) {
        if bits == 0 {
            self.asm.xorp(false, dst, dst);
            return;
        }
        let label = self.constant_label(bits);
        self.asm.load_float_rip(is_double(size), dst, label);
    }

    /// `dst = dst op c` (64 bits) for a constant no 32-bit immediate holds: the operand is
    /// read from the constant pool, one instruction instead of a `movabs` and the operation.
    pub fn alu_pooled(&mut self, op: AluOp, dst: Reg, c: i64) {
        let label = self.constant_label(c as u64);
        self.asm.alu_r_rip(op, dst, label);
    }

    /// `dst = dst * c` (64 bits) with `c` from the constant pool, as `alu_pooled`.
    pub fn imul_pooled(&mut self, dst: Reg, c: i64) {
        let label = self.constant_label(c as u64);
        self.asm.imul_r_rip(dst, label);
    }

    /// `cmp r, c` (64 bits) with `c` from the constant pool, as `alu_pooled`.
    pub fn cmp_pooled(&mut self, r: Reg, c: i64) {
        let label = self.constant_label(c as u64);
        self.asm.cmp_r_rip(r, label);
    }

    /// The label of an 8-byte constant in the pool after the code (shared within the
    /// function).
    fn constant_label(&mut self, bits: u64) -> DynamicLabel {
        let l = self.asm.new_label();
        self.float_constants.push((bits, l));
        l
    }

    fn sign_mask(size: OperandSize) -> u64 {
        match size {
            OperandSize::S32 => 0x8000_0000,
            OperandSize::S64 => 0x8000_0000_0000_0000,
        }
    }

    /// `dst = dst op src`; `src` may be clobbered.
    pub fn float_binop(&mut self, op: FloatBinOp, size: OperandSize, dst: Reg, src: Reg) {
        let d = is_double(size);
        match op {
            FloatBinOp::Add => self.asm.fadd(d, dst, src),
            FloatBinOp::Sub => self.asm.fsub(d, dst, src),
            FloatBinOp::Mul => self.asm.fmul(d, dst, src),
            FloatBinOp::Div => self.asm.fdiv(d, dst, src),
            FloatBinOp::Min | FloatBinOp::Max => {
                // minss/maxss return the second operand for NaNs and for ±0 ties;
                // wasm wants NaN propagation and -0 < +0.
                let (normal, unordered, done) =
                    (self.asm.new_label(), self.asm.new_label(), self.asm.new_label());
                self.asm.ucomis(d, dst, src);
                self.asm.jcc(Cc::P, unordered);
                self.asm.jcc(Cc::Ne, normal);
                if op == FloatBinOp::Min {
                    self.asm.orp(d, dst, src);
                } else {
                    self.asm.andp(d, dst, src);
                }
                self.asm.jmp(done);
                self.asm.bind(unordered);
                self.asm.fadd(d, dst, src);
                self.asm.jmp(done);
                self.asm.bind(normal);
                if op == FloatBinOp::Min {
                    self.asm.fmin(d, dst, src);
                } else {
                    self.asm.fmax(d, dst, src);
                }
                self.asm.bind(done);
            }
            FloatBinOp::Copysign => {
                let sign = Self::sign_mask(size);
                self.float_const_scratch(size, sign);
                self.asm.andp(d, src, FLOAT_SCRATCH);
                self.float_const_scratch(size, !sign & if d { u64::MAX } else { u32::MAX as u64 });
                self.asm.andp(d, dst, FLOAT_SCRATCH);
                self.asm.orp(d, dst, src);
            }
        }
    }

    /// `dst = op(dst)`.
    pub fn float_unop(&mut self, op: FloatUnOp, size: OperandSize, dst: Reg) {
        let d = is_double(size);
        let sign = Self::sign_mask(size);
        let all = if d { u64::MAX } else { u32::MAX as u64 };
        match op {
            FloatUnOp::Abs => {
                self.float_const_scratch(size, !sign & all);
                self.asm.andp(d, dst, FLOAT_SCRATCH);
            }
            FloatUnOp::Neg => {
                self.float_const_scratch(size, sign);
                self.asm.xorp(d, dst, FLOAT_SCRATCH);
            }
            FloatUnOp::Sqrt => self.asm.fsqrt(d, dst, dst),
            FloatUnOp::Nearest => self.asm.fround(d, dst, dst, 0),
            FloatUnOp::Floor => self.asm.fround(d, dst, dst, 1),
            FloatUnOp::Ceil => self.asm.fround(d, dst, dst, 2),
            FloatUnOp::Trunc => self.asm.fround(d, dst, dst, 3),
        }
    }

    /// A float comparison. The ordered ones (lt, gt, le, ge) leave their result in the
    /// flags and return the unsigned integer condition that then means "true" (after
    /// `ucomis`, unordered operands read as false for both); eq and ne, which need the
    /// parity flag as well, write 0/1 into `dst` and return `None`. Every comparison with
    /// NaN is false except `ne`.
    pub fn float_cmp(
        &mut self,
        cond: FloatCond,
        size: OperandSize,
        dst: Reg,
        a: Reg,
        b: Reg,
    ) -> Option<IntCond> {
        let d = is_double(size);
        let (x, y, holds) = match cond {
            FloatCond::Eq => {
                self.asm.ucomis(d, a, b);
                self.asm.setcc(Cc::E, dst);
                self.asm.setcc(Cc::Np, SCRATCH);
                self.asm.alu_rr8(AluOp::And, dst, SCRATCH);
                self.asm.movzx_r8(dst, dst);
                return None;
            }
            FloatCond::Ne => {
                self.asm.ucomis(d, a, b);
                self.asm.setcc(Cc::Ne, dst);
                self.asm.setcc(Cc::P, SCRATCH);
                self.asm.alu_rr8(AluOp::Or, dst, SCRATCH);
                self.asm.movzx_r8(dst, dst);
                return None;
            }
            FloatCond::Lt => (b, a, IntCond::GtU),
            FloatCond::Gt => (a, b, IntCond::GtU),
            FloatCond::Le => (b, a, IntCond::GeU),
            FloatCond::Ge => (a, b, IntCond::GeU),
        };
        self.asm.ucomis(d, x, y);
        Some(holds)
    }

    /// Float to integer; `src` may be clobbered.
    pub fn trunc(&mut self, kind: TruncKind, dst: Reg, src: Reg) {
        let d = is_double(kind.from);
        let fsize = kind.from;
        let slow = self.asm.new_label();
        // 2^31, 2^32, 2^63 and their negatives as float bit patterns.
        let pow2 = |e: i32, neg: bool| -> u64 {
            let v = 2f64.powi(e) * if neg { -1.0 } else { 1.0 };
            if d {
                v.to_bits()
            } else {
                (v as f32).to_bits() as u64
            }
        };
        match (kind.signed, kind.to) {
            (true, to) => {
                self.asm.cvtt_float_to_int(d, to, dst, src);
                // The hardware answers INT_MIN for NaN and overflow; `cmp dst, 1`
                // overflows exactly for INT_MIN.
                self.asm.cmp_ri(to, dst, 1);
                self.asm.jcc(Cc::O, slow);
                let resume = self.asm.new_label();
                self.asm.jmp(resume);
                self.asm.bind(slow);
                if kind.saturating {
                    let nan = self.asm.new_label();
                    self.asm.ucomis(d, src, src);
                    self.asm.jcc(Cc::P, nan);
                    self.asm.xorp(d, FLOAT_SCRATCH, FLOAT_SCRATCH);
                    self.asm.ucomis(d, src, FLOAT_SCRATCH);
                    self.asm.jcc(Cc::B, resume);
                    let max = if to == OperandSize::S32 { i32::MAX as i64 } else { i64::MAX };
                    self.asm.mov_ri(dst, max);
                    self.asm.jmp(resume);
                    self.asm.bind(nan);
                    self.asm.mov_ri(dst, 0);
                    self.asm.jmp(resume);
                } else {
                    self.asm.ucomis(d, src, src);
                    self.trap_if(Cc::P, TrapCode::BadConversionToInteger);
                    // INT_MIN is right only for inputs in (INT_MIN - 1, INT_MIN].
                    let exponent = if to == OperandSize::S32 { 31 } else { 63 };
                    if d && to == OperandSize::S32 {
                        self.float_const_scratch(fsize, (-2147483649.0f64).to_bits());
                        self.asm.ucomis(d, src, FLOAT_SCRATCH);
                        self.trap_if(Cc::Be, TrapCode::IntegerOverflow);
                    } else {
                        self.float_const_scratch(fsize, pow2(exponent, true));
                        self.asm.ucomis(d, src, FLOAT_SCRATCH);
                        self.trap_if(Cc::B, TrapCode::IntegerOverflow);
                    }
                    self.asm.xorp(d, FLOAT_SCRATCH, FLOAT_SCRATCH);
                    self.asm.ucomis(d, src, FLOAT_SCRATCH);
                    self.trap_if(Cc::Ae, TrapCode::IntegerOverflow);
                    self.asm.jmp(resume);
                }
                self.asm.bind(resume);
            }
            (false, OperandSize::S32) => {
                // Convert through 64 bits: every valid input lands in [0, 2^32).
                self.asm.cvtt_float_to_int(d, OperandSize::S64, dst, src);
                self.asm.mov_rr(OperandSize::S64, SCRATCH, dst);
                self.asm.shift_ri(ShiftOp::ShrU, OperandSize::S64, SCRATCH, 32);
                self.asm.jcc(Cc::Ne, slow);
                let resume = self.asm.new_label();
                self.asm.jmp(resume);
                self.asm.bind(slow);
                self.asm.xorp(d, FLOAT_SCRATCH, FLOAT_SCRATCH);
                self.asm.ucomis(d, src, FLOAT_SCRATCH);
                if kind.saturating {
                    let zero = self.asm.new_label();
                    self.asm.jcc(Cc::P, zero);
                    self.asm.jcc(Cc::B, zero);
                    self.asm.mov_ri(dst, u32::MAX as i64);
                    self.asm.jmp(resume);
                    self.asm.bind(zero);
                    self.asm.mov_ri(dst, 0);
                    self.asm.jmp(resume);
                } else {
                    self.trap_if(Cc::P, TrapCode::BadConversionToInteger);
                    self.trap(TrapCode::IntegerOverflow);
                }
                self.asm.bind(resume);
            }
            (false, OperandSize::S64) => {
                let big = self.asm.new_label();
                let slow_big = self.asm.new_label();
                let resume = self.asm.new_label();
                self.float_const_scratch(fsize, pow2(63, false));
                self.asm.ucomis(d, src, FLOAT_SCRATCH);
                self.asm.jcc(Cc::Ae, big);
                // Below 2^63 (or NaN): a signed conversion is exact; negative means
                // NaN or an input <= -1.
                self.asm.cvtt_float_to_int(d, OperandSize::S64, dst, src);
                self.asm.test_rr(OperandSize::S64, dst, dst);
                self.asm.jcc(Cc::S, slow);
                self.asm.jmp(resume);
                self.asm.bind(big);
                self.asm.fsub(d, src, FLOAT_SCRATCH);
                self.asm.cvtt_float_to_int(d, OperandSize::S64, dst, src);
                self.asm.test_rr(OperandSize::S64, dst, dst);
                self.asm.jcc(Cc::S, slow_big);
                self.asm.mov_ri(SCRATCH, i64::MIN);
                self.asm.alu_rr(AluOp::Xor, OperandSize::S64, dst, SCRATCH);
                self.asm.jmp(resume);
                self.asm.bind(slow);
                if kind.saturating {
                    self.asm.mov_ri(dst, 0);
                    self.asm.jmp(resume);
                } else {
                    self.asm.ucomis(d, src, src);
                    self.trap_if(Cc::P, TrapCode::BadConversionToInteger);
                    self.trap(TrapCode::IntegerOverflow);
                }
                self.asm.bind(slow_big);
                if kind.saturating {
                    self.asm.mov_ri(dst, -1);
                    self.asm.jmp(resume);
                } else {
                    self.trap(TrapCode::IntegerOverflow);
                }
                self.asm.bind(resume);
            }
        }
    }

    /// Integer to float; `src` may be clobbered. i32 sources are zero-extended in
    /// their register, which makes u32 a plain 64-bit signed conversion.
    pub fn convert_int_to_float(
        &mut self,
        to: OperandSize,
        from: OperandSize,
        signed: bool,
        dst: Reg,
        src: Reg,
    ) {
        let d = is_double(to);
        self.asm.xorp(d, dst, dst);
        match (signed, from) {
            (true, OperandSize::S32) => self.asm.cvt_int_to_float(d, OperandSize::S32, dst, src),
            (true, OperandSize::S64) | (false, OperandSize::S32) => {
                self.asm.cvt_int_to_float(d, OperandSize::S64, dst, src)
            }
            (false, OperandSize::S64) => {
                let (big, done) = (self.asm.new_label(), self.asm.new_label());
                self.asm.test_rr(OperandSize::S64, src, src);
                self.asm.jcc(Cc::S, big);
                self.asm.cvt_int_to_float(d, OperandSize::S64, dst, src);
                self.asm.jmp(done);
                self.asm.bind(big);
                // Halve with the low bit folded in (round to odd) so the final doubling
                // rounds exactly once.
                self.asm.mov_rr(OperandSize::S64, SCRATCH, src);
                self.asm.shift_ri(ShiftOp::ShrU, OperandSize::S64, SCRATCH, 1);
                self.asm.alu_ri(AluOp::And, OperandSize::S64, src, 1);
                self.asm.alu_rr(AluOp::Or, OperandSize::S64, SCRATCH, src);
                self.asm.cvt_int_to_float(d, OperandSize::S64, dst, SCRATCH);
                self.asm.fadd(d, dst, dst);
                self.asm.bind(done);
            }
        }
    }

    // ---- linear memory ----

    /// A load or store whose fault is an out-of-bounds trap: record where it is.
    pub fn mark_trap_site(&mut self) {
        self.may_trap = true;
        let at = self.asm.offset();
        let wasm = self.wasm_offset(self.operator);
        self.trap_sites.push((at, wasm));
    }

    /// The instruction just emitted is a call: its return address is the current
    /// operator's, for backtraces.
    pub fn record_return_source(&mut self) {
        self.record_return_source_of(self.operator);
    }

    /// The instruction just emitted is a call whose return address is `operator`'s.
    fn record_return_source_of(&mut self, operator: u32) {
        let wasm = self.wasm_offset(operator);
        self.return_sources.push((self.asm.offset(), wasm));
    }

    /// The function's operators' wasm offsets, until `append_to`. They must stay where
    /// they are until then.
    pub fn begin_sources(&mut self, operator_offsets: &[u32]) {
        self.operator_offsets = operator_offsets.as_ptr();
        self.operator_count = operator_offsets.len() as u32;
    }

    /// The wasm offset of operator `index` (0 when there is none, which no caller
    /// gives: the index is of an operator being compiled).
    #[inline(always)]
    fn wasm_offset(&self, index: u32) -> u32 {
        if index < self.operator_count {
            // SAFETY: below the count `begin_sources` was given with the slice, which
            // stays in place until `append_to` (compile_function's contract).
            unsafe { *self.operator_offsets.add(index as usize) }
        } else {
            0
        }
    }

    pub fn wasm_load(&mut self, kind: LoadKind, dst: Reg, mem: Mem) {
        self.mark_trap_site();
        self.asm.load(kind, dst, mem);
    }

    pub fn wasm_store(&mut self, kind: StoreKind, mem: Mem, src: Reg) {
        self.mark_trap_site();
        self.asm.store(kind, mem, src);
    }

    pub fn wasm_store_imm(&mut self, kind: StoreKind, mem: Mem, imm: i32) {
        self.mark_trap_site();
        self.asm.store_imm(kind, mem, imm);
    }

    // ---- atomics (the threads proposal) ----
    //
    // x86-64 keeps plain loads sequentially consistent with `xchg` stores and locked
    // read-modify-writes, so atomic loads are plain loads and every write is locked.

    /// Traps with "unaligned atomic" unless `address` (native, into a memory whose base
    /// is 8-byte aligned: `MEMORY_BASE_ALIGNMENT`) is a multiple of `bytes`. The spec checks bounds first: with guard
    /// pages nothing has checked them yet, so a misaligned access reads its last byte
    /// (a trap site, out of bounds if the access is) before trapping.
    pub fn check_atomic_alignment(&mut self, address: Reg, bytes: u8) {
        if bytes == 1 {
            return;
        }
        let aligned = self.asm.new_label();
        self.asm.test_ri(address, i32::from(bytes) - 1);
        self.asm.jcc(Cc::E, aligned);
        self.wasm_load(LoadKind::U8, SCRATCH, Mem::Base(address, i32::from(bytes) - 1));
        self.trap(TrapCode::UnalignedAtomic);
        self.asm.bind(aligned);
    }

    pub fn wasm_atomic_rmw(&mut self, op: AtomicRmwInsn, bytes: u8, mem: Mem, r: Reg) {
        self.mark_trap_site();
        self.asm.atomic_rmw(op, bytes, mem, r);
    }

    /// Zero-extends the low `bytes` of `r` to 64 bits (nothing for 8).
    pub fn zero_extend(&mut self, bytes: u8, r: Reg) {
        match bytes {
            1 => self.asm.movzx_r8(r, r),
            2 => self.asm.movzx_r16(r, r),
            4 => self.asm.mov_rr(OperandSize::S32, r, r),
            _ => {}
        }
    }

    /// `atomic.fence`.
    pub fn fence(&mut self) {
        self.asm.mfence();
    }
}

/// Stores the low 8 bytes of each of `CALLEE_SAVED_XMMS`, in order, at `[base + disp]`
/// up: what every way from wasm code into Rust keeps for the wasm frames above it.
pub(crate) fn save_callee_saved_xmms(a: &mut Assembler, base: Reg, disp: i32) {
    for (k, &r) in CALLEE_SAVED_XMMS.iter().enumerate() {
        a.store(StoreKind::F64, Mem::Base(base, disp + 8 * k as i32), r);
    }
}

/// Reloads what `save_callee_saved_xmms` stored at `[base + disp]`.
pub(crate) fn restore_callee_saved_xmms(a: &mut Assembler, base: Reg, disp: i32) {
    for (k, &r) in CALLEE_SAVED_XMMS.iter().enumerate() {
        a.load(LoadKind::F64, r, Mem::Base(base, disp + 8 * k as i32));
    }
}

/// The end of a stub entered by a call (rsp 8 below a 16-byte boundary): calls the Rust
/// function in the scratch register with `CALLEE_SAVED_XMMS` saved below rsp around it
/// (an odd number of 8-byte slots keeps the inner call aligned), and returns its rax.
pub(crate) fn call_scratch_keeping_xmms_and_return(a: &mut Assembler) {
    const AREA: i32 = 8 * (CALLEE_SAVED_XMMS.len() as i32 | 1);
    a.alu_ri(AluOp::Sub, OperandSize::S64, RSP, AREA);
    save_callee_saved_xmms(a, RSP, 0);
    a.call_reg(SCRATCH);
    restore_callee_saved_xmms(a, RSP, 0);
    a.alu_ri(AluOp::Add, OperandSize::S64, RSP, AREA);
    a.ret();
}

//! The single-pass baseline compiler: wasm function bodies to x86-64 machine code.
//!
//! `visitor.rs` has one handler per opcode (wasmparser's `VisitOperator`), each a line
//! or two over `codegen.rs`, which owns the operand stack, registers, control flow and
//! calls. Instruction selection lives behind `masm.rs` in `isa::x64`.

mod atomics;
pub mod codegen;
pub mod control;
pub mod division;
mod exceptions;
pub mod first_pass;
mod gc;
pub mod handlers;
pub mod locals;
pub mod masm;
mod operator_buffers;
mod simd;
pub mod stack;
mod tail_calls;
mod temporaries;
mod value_bounds;
pub mod visitor;
mod wide_arithmetic;

use crate::error::Error;
use crate::isa::x64::masm::CodeChunk;
use crate::types::{FuncType, GlobalType, ValType};
use codegen::{Addend, CResult, FuncCompiler};
use first_pass::FirstPass;
use masm::IntCond;
use wasmparser::{FuncValidator, FunctionBody, Operator, ValidatorResources, VisitOperator};

/// What compiling a function body needs to know about its module.
pub struct CompileEnv<'a> {
    pub types: &'a [FuncType],
    /// Canonical signature id of each type index.
    pub type_ids: &'a [u32],
    /// Whether each type may have subtypes (declared without `final`, GC): a
    /// `call_indirect` through it then accepts them too.
    pub type_has_subtypes: &'a [bool],
    /// Type index of each function, imports first.
    pub func_types: &'a [u32],
    pub num_imported_funcs: u32,
    pub globals: &'a [GlobalType],
    /// Element type of each table.
    pub table_elements: &'a [ValType],
    /// Whether each memory is addressed by i64s (memory64).
    pub memory64: &'a [bool],
    /// Whether each memory's accesses are always bounds-checked: 64-bit memories (their
    /// reservation covers 32-bit addresses only) and memories of pages smaller than
    /// the system's (accessible bytes lie past their length).
    pub memory_checked: &'a [bool],
    /// `memory_checked[0]`, read on every access: memory 0's fast path (guard pages,
    /// the base in its register) is for the other memories.
    pub memory0_checked: bool,
    /// Each memory's page size, as a power of two (`memory.size` divides by it).
    pub memory_page_size_log2: &'a [u8],
    /// Whether each table is indexed by i64s (memory64's 64-bit tables).
    pub table64: &'a [bool],
    /// Type index of each tag, imports first.
    pub tags: &'a [u32],
    /// `Trampolines::trap_call`: what trap paths call.
    pub trap_call: usize,
    pub throw_stub: usize,
    /// `Trampolines::memory_copy_stub`.
    pub memory_copy_stub: usize,
    /// `Trampolines::gc_alloc_stub`.
    pub gc_alloc_stub: usize,
    pub explicit_bounds_checks: bool,
    /// Whether any type or global of the module has a v128: values of that type can then
    /// reach any function's stack through calls, globals and blocks.
    pub has_v128: bool,
}

/// What one compiling thread reuses from function to function: every buffer the
/// compiler needs, so a function allocates little beyond its own machine code.
pub struct Scratch<'a> {
    operators: Vec<Operator<'a>>,
    /// The wasm byte offset of each of `operators`.
    operator_offsets: Vec<u32>,
    uses: locals::UseScan,
    compiler: FuncCompiler<'a>,
}

impl<'a> Scratch<'a> {
    pub fn new(env: &'a CompileEnv<'a>) -> Scratch<'a> {
        Scratch {
            operators: operator_buffers::take(),
            operator_offsets: Vec::new(),
            uses: Default::default(),
            compiler: FuncCompiler::new(env),
        }
    }
}

/// See `crate::release_compile_buffers`.
pub fn release_compile_buffers() {
    operator_buffers::release();
}

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        operator_buffers::give_back(std::mem::take(&mut self.operators));
    }
}

/// Where the first pass buffers a function's operators, and each one's wasm byte offset
/// (for backtraces) at the same index.
pub struct Buffered<'s, 'a> {
    pub operators: &'s mut Vec<Operator<'a>>,
    pub offsets: &'s mut Vec<u32>,
}

/// The first pass over a function body: its locals, the parameters (`params`) first,
/// go to `locals`; each operator is decoded once, validated, weighed in `uses` and
/// buffered in `buffered`. `locals`, `buffered` and `uses` may hold the previous
/// function's: they are reset here. `type_ids` names the module's types, for locals of
/// concrete reference types.
pub fn run_first_pass<'a>(
    params: &[ValType],
    type_ids: &[u32],
    body: &FunctionBody<'a>,
    validator: &mut FuncValidator<ValidatorResources>,
    locals: &mut Vec<ValType>,
    buffered: Buffered<'_, 'a>,
    uses: &mut locals::UseScan,
) -> Result<(), Error> {
    let Buffered { operators, offsets } = buffered;
    let mut reader = body.get_binary_reader();
    // `body_bytes[i]` is the byte at the reader's position `body_start + i`.
    let (body_bytes, body_start) = (body.as_bytes(), reader.current_position());
    validator.read_locals(&mut reader)?;
    reader.set_features(*validator.features());
    locals.clear();
    locals.extend_from_slice(params);
    let mut locals_reader = body.get_locals_reader()?;
    for _ in 0..locals_reader.get_count() {
        let (count, ty) = locals_reader.read()?;
        let ty = ValType::from_wasmparser(ty, type_ids)
            .ok_or_else(|| Error::Unsupported(format!("local of type {ty:?}")))?;
        locals.extend(std::iter::repeat_n(ty, count as usize));
    }

    if uses.operators_own_memory {
        operators.clear();
    } else {
        // SAFETY: shrinking is always sound; and no buffered operator owns memory (the
        // first pass records any that does), so skipping their destructors, a check of
        // each operator's variant, leaks nothing.
        unsafe { operators.set_len(0) };
    }
    // About one operator per two bytes of code. A fresh vector when that needs more room:
    // growing the empty one would copy its old allocation.
    let wanted = body.as_bytes().len() / 2;
    if operators.capacity() < wanted {
        *operators = Vec::with_capacity(wanted);
    }
    // Every operator takes at least a byte: room for an offset per byte, written below
    // without a capacity check.
    offsets.clear();
    offsets.reserve(body.as_bytes().len() + 1);
    let offset_slots = offsets.spare_capacity_mut().as_mut_ptr().cast::<u32>();
    uses.reset(locals.len());
    while !reader.eof() {
        let offset = reader.original_position();
        let opcode = body_bytes[reader.current_position() - body_start];
        // The offset of the operator buffered next, at its index: the slot is below the
        // reserved room (fewer operators than bytes so far).
        // SAFETY: `operators.len()` is at most the bytes read so far, which are fewer
        // than the body's, for which there is room.
        unsafe { offset_slots.add(operators.len()).write(offset as u32) };
        let mut pass =
            FirstPass { validator: validator.visitor(offset), uses: &mut *uses, operators: &mut *operators };
        pass.visit_next(&mut reader, opcode)?;
    }
    // SAFETY: the first `operators.len()` slots were written, each before its operator.
    unsafe { offsets.set_len(operators.len()) };
    reader.finish_expression(&validator.visitor(reader.original_position()))?;
    if uses.simd_unvalidated {
        return Err(Error::Unsupported("SIMD without wasmparser's SIMD validator".into()));
    }
    Ok(())
}

/// Validates and compiles one function body. The body is decoded once: operators are
/// validated, weighed for register pinning (`locals.rs`) and buffered by the first pass
/// (`run_first_pass`, `first_pass.rs`), then compiled, and the code appended to `chunk`.
pub fn compile_function<'a>(
    env: &'a CompileEnv<'a>,
    func_index: u32,
    body: &FunctionBody<'a>,
    validator: &mut FuncValidator<ValidatorResources>,
    scratch: &mut Scratch<'a>,
    chunk: &mut CodeChunk,
) -> Result<(), Error> {
    let ty = &env.types[env.func_types[func_index as usize] as usize];
    let compiler = &mut scratch.compiler;
    let uses = &mut scratch.uses;
    run_first_pass(
        ty.params(),
        env.type_ids,
        body,
        validator,
        compiler.locals_mut(),
        Buffered { operators: &mut scratch.operators, offsets: &mut scratch.operator_offsets },
        uses,
    )?;
    let buffered = &scratch.operators;
    let offsets = &scratch.operator_offsets;

    let (all_locals, pins) = compiler.locals_and_pins_mut();
    let num_locals = all_locals.len();
    uses.choose_into(all_locals, ty.params().len(), pins);
    // Locals and spill slots are 16 bytes where a v128 can appear, else 8.
    let wide_slots = env.has_v128 || uses.simd || all_locals.contains(&ValType::V128);
    compiler.begin(ty, func_index, uses.legacy_tries, body.as_bytes().len(), wide_slots);
    // `offsets` stays as it is until `finish` below.
    compiler.begin_sources(offsets);
    // The prologue's stack check is told as the first operator's.
    compiler.set_operator_index(0);
    compiler.emit_prologue();
    let mut operators = buffered.iter().enumerate();
    // A local set to a comparison's result, and that comparison's condition, while the
    // flags still hold it: only operators that emit no code or moves only come after.
    let mut flags_of_local: Option<(u32, IntCond)> = None;
    // A comparison set into a local only the next branch reads (`temporaries.rs`): the
    // local and the condition the flags hold for it, written nowhere until that branch.
    // Which locals are straight-line temporaries is found when first needed.
    let mut set_aside = temporaries::SetAside::default();
    // One match on the operator decides what the loop does around the visit, and for the
    // most frequent operators makes the visit itself, by the operator's own method:
    // `visit_operator` would dispatch on the operator a second time.
    while let Some((i, op)) = operators.next() {
        compiler.set_operator_index(i as u32);
        if !compiler.reachable && !is_structured_control(op) {
            continue;
        }
        if set_aside.is_pending() && set_aside.before(compiler, op)? {
            continue;
        }
        // Visits `op` through `$visit`, its own method, with the result hint the generic
        // visit below gives it, and goes on to the next operator.
        macro_rules! visit_directly {
            ($visit:expr) => {{
                compiler.result_hint = result_hint(buffered.get(i + 1));
                $visit?;
                debug_assert_eq!(compiler.unread_after_call, 0, "a call left its reload plan");
                compiler.result_hint = None;
                continue;
            }};
        }
        // The same for an operator that computes no value into a register, which never
        // reads the hint (`FuncCompiler::result_target`): looking at the next operator
        // for it cost 1.8 % of compile instructions.
        macro_rules! visit_without_hint {
            ($visit:expr) => {{
                debug_assert!(compiler.result_hint.is_none());
                $visit?;
                debug_assert_eq!(compiler.unread_after_call, 0, "a call left its reload plan");
                continue;
            }};
        }
        match *op {
            Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => {
                let tee = matches!(op, Operator::LocalTee { .. });
                flags_of_local = match compiler.pending_condition() {
                    Some(_)
                        if !tee
                            && set_aside.try_set_aside(
                                compiler,
                                buffered,
                                i,
                                ty.params().len(),
                                num_locals,
                            ) =>
                    {
                        flags_of_local = None;
                        continue;
                    }
                    Some(cond) => Some((local_index, cond)),
                    None if flags_of_local.is_some_and(|(x, _)| x != local_index)
                        && compiler.top_sets_without_flags() =>
                    {
                        flags_of_local
                    }
                    None => None,
                };
                if tee && reuse_flags_of_local(compiler, flags_of_local, local_index, op, buffered, i)? {
                    continue;
                }
                compiler.materialize_condition();
                if tee {
                    visit_without_hint!(compiler.visit_local_tee(local_index));
                }
                visit_without_hint!(compiler.visit_local_set(local_index));
            }
            Operator::LocalGet { local_index } => {
                if reuse_flags_of_local(compiler, flags_of_local, local_index, op, buffered, i)? {
                    continue;
                }
                compiler.materialize_condition();
                visit_without_hint!(compiler.visit_local_get(local_index));
            }
            Operator::Nop => compiler.materialize_condition(),
            // These read a comparison still in the flags.
            Operator::BrIf { relative_depth } => {
                flags_of_local = None;
                visit_without_hint!(compiler.visit_br_if(relative_depth));
            }
            Operator::If { blockty } => {
                flags_of_local = None;
                visit_without_hint!(compiler.visit_if(blockty));
            }
            Operator::I32Eqz => {
                flags_of_local = None;
                visit_directly!(compiler.visit_i32_eqz());
            }
            Operator::I32Sub | Operator::Select | Operator::TypedSelect { .. } => flags_of_local = None,
            // A bounded value plus a constant, loaded from right away (`value_bounds.rs`).
            Operator::I32Add => {
                flags_of_local = None;
                if value_bounds::loads_next(&buffered[i + 1..]) {
                    if let Some(fused) = bounded_load(compiler, buffered, i)? {
                        operators.nth(fused - 1);
                        continue;
                    }
                }
                visit_directly!(compiler.visit_i32_add());
            }
            Operator::I32Shl | Operator::I64Shl => {
                flags_of_local = None;
                compiler.materialize_condition();
                // A bounded value shifted and loaded from right away (`value_bounds.rs`).
                if matches!(op, Operator::I32Shl) && value_bounds::loads_next(&buffered[i + 1..]) {
                    if let Some(fused) = bounded_load(compiler, buffered, i)? {
                        operators.nth(fused - 1);
                        continue;
                    }
                }
                if let Some((ty, addend, fused)) = scaled_add_after(op, &buffered[i + 1..]) {
                    if let Some(shift) = compiler.index_scale(ty) {
                        compiler.result_hint = result_hint(buffered.get(i + 1 + fused));
                        compiler.scaled_add(ty, shift, addend);
                        compiler.result_hint = None;
                        operators.nth(fused - 1);
                        continue;
                    }
                }
            }
            Operator::Call { .. } | Operator::CallIndirect { .. } | Operator::CallRef { .. } => {
                flags_of_local = None;
                compiler.materialize_condition();
                if compiler.caller_saved_pin_bits() != 0 {
                    // The call's reload takes it.
                    compiler.unread_after_call = unread_after_call(compiler, &buffered[i + 1..]);
                }
                if let Operator::Call { function_index } = *op {
                    visit_directly!(compiler.visit_call(function_index));
                }
            }
            // The rest of the most frequent operators, which only need the flags written.
            _ => {
                flags_of_local = None;
                compiler.materialize_condition();
                match *op {
                    Operator::I32Const { value } => visit_without_hint!(compiler.visit_i32_const(value)),
                    Operator::End => visit_without_hint!(compiler.visit_end()),
                    Operator::I32Load { memarg } => visit_directly!(compiler.visit_i32_load(memarg)),
                    Operator::I32Store { memarg } => visit_without_hint!(compiler.visit_i32_store(memarg)),
                    Operator::GlobalGet { global_index } => {
                        visit_directly!(compiler.visit_global_get(global_index))
                    }
                    Operator::Block { blockty } => visit_without_hint!(compiler.visit_block(blockty)),
                    Operator::I64Load { memarg } => visit_directly!(compiler.visit_i64_load(memarg)),
                    Operator::I64Store { memarg } => visit_without_hint!(compiler.visit_i64_store(memarg)),
                    Operator::Br { relative_depth } => visit_without_hint!(compiler.visit_br(relative_depth)),
                    Operator::I32Eq => visit_directly!(compiler.visit_i32_eq()),
                    Operator::I32Ne => visit_directly!(compiler.visit_i32_ne()),
                    Operator::I32Load8U { memarg } => visit_directly!(compiler.visit_i32_load8_u(memarg)),
                    Operator::Drop => visit_without_hint!(compiler.visit_drop()),
                    _ => {}
                }
            }
        }
        compiler.result_hint = result_hint(buffered.get(i + 1));
        compiler.visit_operator(op)?;
        debug_assert_eq!(compiler.unread_after_call, 0, "a call left its reload plan");
        compiler.result_hint = None;
    }
    compiler.finish(chunk).map_err(Error::from)
}

/// At `local.get` or `local.tee` of `local` (`op`, at `ops[i]`): when the flags still
/// hold the comparison the local was set to (`flags_of_local`) and a branch or `select`
/// reads the local next (optionally through an `i32.eqz`), visits `op` and makes the
/// operand that pending comparison again, so that the reader tests the flags. True if
/// it did, and `op` is done.
#[inline(always)]
fn reuse_flags_of_local(
    compiler: &mut FuncCompiler<'_>,
    flags_of_local: Option<(u32, IntCond)>,
    local: u32,
    op: &Operator<'_>,
    ops: &[Operator<'_>],
    i: usize,
) -> CResult<bool> {
    let Some((x, cond)) = flags_of_local else { return Ok(false) };
    if local != x || !tested_by_next_branch(ops, i) {
        return Ok(false);
    }
    compiler.materialize_condition();
    compiler.visit_operator(op)?;
    compiler.reuse_flags_for_top(cond);
    Ok(true)
}

/// Which caller-saved pinned locals (their `caller_saved_pin_bit`s) the
/// operators `after` a call do not read before writing them, or before the next call,
/// which finds their homes current and stores nothing: their reload after the call can
/// go. Only a straight line of plain operators is looked at (`reads_no_pin`), and at
/// most `LOOKAHEAD` of them; anything else, such as a branch or a label, may need every
/// pin in its register, and ends it.
#[inline(never)]
fn unread_after_call(compiler: &FuncCompiler<'_>, after: &[Operator<'_>]) -> u64 {
    const LOOKAHEAD: usize = 64;
    let all = compiler.caller_saved_pin_bits();
    let (mut decided, mut unread) = (0u64, 0u64);
    for op in after.iter().take(LOOKAHEAD) {
        let (local, written) = match *op {
            Operator::LocalGet { local_index } => (local_index, false),
            Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => (local_index, true),
            Operator::Call { .. } | Operator::CallIndirect { .. } | Operator::CallRef { .. } => {
                return unread | (all & !decided)
            }
            _ if reads_no_pin(op) => continue,
            _ => return unread,
        };
        let bit = compiler.caller_saved_pin_bit(local);
        if decided & bit == 0 {
            decided |= bit;
            if written {
                unread |= bit;
            }
            if decided == all {
                return unread;
            }
        }
    }
    unread
}

/// Operators that read no local, move no control and run no code that expects pinned
/// locals in their registers: `unread_after_call` looks past them. (A trap leaves the
/// function, or lands on a landing pad, which reloads every pin from its home.)
fn reads_no_pin(op: &Operator<'_>) -> bool {
    use Operator as O;
    matches!(
        op,
        O::Nop
            | O::Drop
            | O::Select
            | O::I32Const { .. }
            | O::I64Const { .. }
            | O::F32Const { .. }
            | O::F64Const { .. }
            | O::GlobalGet { .. }
            | O::GlobalSet { .. }
            | O::I32Load { .. }
            | O::I64Load { .. }
            | O::F32Load { .. }
            | O::F64Load { .. }
            | O::I32Load8S { .. }
            | O::I32Load8U { .. }
            | O::I32Load16S { .. }
            | O::I32Load16U { .. }
            | O::I64Load8S { .. }
            | O::I64Load8U { .. }
            | O::I64Load16S { .. }
            | O::I64Load16U { .. }
            | O::I64Load32S { .. }
            | O::I64Load32U { .. }
            | O::I32Store { .. }
            | O::I64Store { .. }
            | O::F32Store { .. }
            | O::F64Store { .. }
            | O::I32Store8 { .. }
            | O::I32Store16 { .. }
            | O::I64Store8 { .. }
            | O::I64Store16 { .. }
            | O::I64Store32 { .. }
            | O::I32Eqz
            | O::I32Eq
            | O::I32Ne
            | O::I32LtS
            | O::I32LtU
            | O::I32GtS
            | O::I32GtU
            | O::I32LeS
            | O::I32LeU
            | O::I32GeS
            | O::I32GeU
            | O::I64Eqz
            | O::I64Eq
            | O::I64Ne
            | O::I64LtS
            | O::I64LtU
            | O::I64GtS
            | O::I64GtU
            | O::I64LeS
            | O::I64LeU
            | O::I64GeS
            | O::I64GeU
            | O::I32Add
            | O::I32Sub
            | O::I32Mul
            | O::I32And
            | O::I32Or
            | O::I32Xor
            | O::I32Shl
            | O::I32ShrS
            | O::I32ShrU
            | O::I32Rotl
            | O::I32Rotr
            | O::I64Add
            | O::I64Sub
            | O::I64Mul
            | O::I64And
            | O::I64Or
            | O::I64Xor
            | O::I64Shl
            | O::I64ShrS
            | O::I64ShrU
            | O::I64Rotl
            | O::I64Rotr
            | O::I32WrapI64
            | O::I64ExtendI32S
            | O::I64ExtendI32U
    )
}

/// The local an operator's result goes straight to, if the next operator `next` sets one.
#[inline(always)]
fn result_hint(next: Option<&Operator<'_>>) -> Option<u32> {
    match next {
        Some(Operator::LocalSet { local_index } | Operator::LocalTee { local_index }) => Some(*local_index),
        _ => None,
    }
}

/// For a shift left `op` whose result the operators `after` it add to something (an
/// array index scaled to an address): its type, the other addend and how many of the
/// operators after it the add takes (see `FuncCompiler::scaled_add`).
fn scaled_add_after(op: &Operator<'_>, after: &[Operator<'_>]) -> Option<(ValType, Addend, usize)> {
    let wide = match op {
        Operator::I32Shl => false,
        Operator::I64Shl => true,
        _ => return None,
    };
    let is_add = |o: &Operator<'_>| matches!((o, wide), (Operator::I32Add, false) | (Operator::I64Add, true));
    let (addend, fused) = match after {
        [add, ..] if is_add(add) => (Addend::Below, 1),
        [Operator::I32Const { value }, add, ..] if !wide && is_add(add) => {
            (Addend::Const(*value as u32 as i64), 2)
        }
        [Operator::I64Const { value }, add, ..] if wide && is_add(add) => (Addend::Const(*value), 2),
        [Operator::LocalGet { local_index }, add, ..] if is_add(add) => (Addend::Local(*local_index), 2),
        _ => return None,
    };
    Some((if wide { ValType::I64 } else { ValType::I32 }, addend, fused))
}

/// At `ops[i]`, an `i32.shl` or `i32.add` followed by a load: compiles the shift or add
/// and the load as one load from a scaled, displaced index when the value shifted or
/// added to has a bound that keeps the i32 arithmetic from wrapping
/// (`value_bounds.rs`). How many operators after `ops[i]` that consumed, or None with
/// nothing done. Out of the compile loop's line.
#[inline(never)]
fn bounded_load(
    compiler: &mut FuncCompiler<'_>,
    ops: &[Operator<'_>],
    i: usize,
) -> Result<Option<usize>, Error> {
    if compiler.explicit_bounds_checks() || compiler.pending_condition().is_some() {
        return Ok(None);
    }
    let (shift, c) = match ops[i] {
        Operator::I32Shl => match compiler.index_scale(ValType::I32) {
            Some(shift) => (shift, 0),
            None => return Ok(None),
        },
        _ => match (compiler.peek(0).constant(), compiler.peek(1).constant()) {
            (Some(c), None) => (0, c as u32),
            _ => return Ok(None),
        },
    };
    if compiler.env.memory0_checked {
        // A memory of 1-byte pages (custom page sizes) as memory 0: its accesses are
        // all bounds-checked, and the fused load has no check of its own.
        return Ok(None);
    }
    let Some(bound) = value_bounds::bound_of(ops, i, 1) else { return Ok(None) };
    let Some(load) = value_bounds::scaled_load_after(&ops[i + 1..], bound, shift, c) else { return Ok(None) };
    compiler.drop_constant();
    compiler.result_hint = result_hint(ops.get(i + 1 + load.fused));
    // The load may fault: a backtrace names the load, not the add or shift before it.
    compiler.set_operator_index((i + load.fused) as u32);
    compiler.load_scaled(load.ty, load.kind, shift, load.disp);
    compiler.result_hint = None;
    Ok(Some(load.fused))
}

/// Whether the value `ops[k]` pushes is only the condition of a branch, `if` or `select`
/// right after it, or right after an `i32.eqz` of it: a comparison's flags can serve.
fn tested_by_next_branch(ops: &[Operator<'_>], k: usize) -> bool {
    let reader = if matches!(ops.get(k + 1), Some(Operator::I32Eqz)) { k + 2 } else { k + 1 };
    matches!(
        ops.get(reader),
        Some(Operator::BrIf { .. } | Operator::If { .. } | Operator::Select | Operator::TypedSelect { .. })
    )
}

/// Operators that matter even in unreachable code, because they open or close frames.
fn is_structured_control(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Else
            | Operator::End
            | Operator::TryTable { .. }
            | Operator::Try { .. }
            | Operator::Catch { .. }
            | Operator::CatchAll
            | Operator::Delegate { .. }
    )
}

//! One handler per WebAssembly opcode.
//!
//! Most handlers are a single line naming the operation and its operand type;
//! `codegen.rs` chooses constant folding, immediate, memory or register forms.

use super::atomics::RmwOp;
use super::codegen::{load_kind, size_of, store_kind};
use super::codegen::{CResult, FuncCompiler, HelperArg, HelperTarget};
use super::control::{Frame, FrameKind};
use super::masm::*;
use super::stack::{Loc, RegSet};
use crate::error::Error;
use crate::isa::x64::asm::{Cc, Mem};
use crate::isa::x64::regs::*;
use crate::runtime::libcalls;
use crate::runtime::table::keeps_entry_points;
use crate::runtime::vmcontext::offsets;
use crate::trap::TrapCode;
use crate::types::{index_type, RefType, ValType};
use wasmparser::{BlockType, BrTable, HeapType, MemArg, VisitOperator, VisitSimdOperator};

use ValType::{F32, F64, I32, I64};

/// The non-null version of a reference type.
fn non_null(ty: ValType) -> ValType {
    match ty {
        ValType::Ref(r) => ValType::Ref(r.with_nullable(false)),
        other => other,
    }
}

impl<'e> FuncCompiler<'e> {
    fn value_type(&self, ty: wasmparser::ValType) -> CResult<ValType> {
        ValType::from_wasmparser(ty, self.env.type_ids)
            .ok_or_else(|| Error::Unsupported(format!("value type {ty:?}")).into())
    }

    pub(crate) fn block_signature(&self, bt: BlockType) -> CResult<(&'e [ValType], &'e [ValType])> {
        Ok(match bt {
            BlockType::Empty => (&[], &[]),
            BlockType::Type(t) => (&[], self.value_type(t)?.as_slice()),
            BlockType::FuncType(i) => {
                let ty = &self.env.types[i as usize];
                (ty.params(), ty.results())
            }
        })
    }

    /// The branch of `br_on_null` (`when` is `IntCond::Eq`) or `br_on_non_null` (`Ne`),
    /// taken by the reference in `r`, which stays allocated: the operand stack is as
    /// the branch's label wants it.
    fn branch_on_reference(&mut self, relative_depth: u32, r: Reg, when: IntCond) {
        if self.targets_function(relative_depth) {
            self.prepare_return();
        }
        self.masm.asm.test_rr(OperandSize::S64, r, r);
        self.branch_if(relative_depth, when);
    }

    pub(crate) fn targets_function(&self, relative_depth: u32) -> bool {
        self.control[self.frame_index(relative_depth)].kind == FrameKind::Function
    }

    /// The conditional branch of `br_if` and the reference branches, `taken` by the
    /// flags, once a return's latent parameter reads are taken (`prepare_return`): one
    /// jump when the label needs no copies, else a jump over the copies and the branch.
    fn branch_if(&mut self, relative_depth: u32, taken: IntCond) {
        let idx = self.frame_index(relative_depth);
        let frame = &self.control[idx];
        if frame.kind != FrameKind::Function && !self.needs_copies(frame.branch_types().len(), frame.height) {
            let label = frame.label;
            self.control[idx].label_used = true;
            self.masm.asm.jcc(taken.into(), label);
        } else {
            let skip = self.masm.asm.new_label();
            self.masm.asm.jcc(taken.invert().into(), skip);
            self.branch(relative_depth);
            self.masm.asm.bind(skip);
        }
    }

    fn enter_frame(&mut self, kind: FrameKind, bt: BlockType) -> CResult {
        if !self.reachable {
            self.dead_depth += 1;
            return Ok(());
        }
        let (params, results) = self.block_signature(bt)?;
        // The condition of an `if` (taken: the then-arm runs) stays in the flags while
        // the stack is canonicalized, which only moves values and sets no flags.
        let if_taken = if kind == FrameKind::If { Some(self.pop_branch_condition()) } else { None };
        self.canonicalize_for_frame(params.len());
        let label = self.masm.asm.new_label();
        let mut else_label = None;
        match kind {
            FrameKind::Loop => {
                self.masm.align_loop_header();
                self.masm.asm.bind(label);
            }
            FrameKind::If => {
                let l = self.masm.asm.new_label();
                if let Some(taken) = if_taken {
                    self.masm.asm.jcc(taken.invert().into(), l);
                }
                else_label = Some(l);
            }
            _ => {}
        }
        let height = self.stack.len() - params.len();
        let outer_scope = self.current_scope;
        self.control.push(Frame {
            kind,
            label,
            else_label,
            height,
            params,
            results,
            label_used: false,
            outer_scope,
            scope: None,
            exn_slot: 0,
            rethrown: false,
        });
        Ok(())
    }

    /// `end` (and legacy `delegate`) of a frame entered in reachable code.
    pub(crate) fn end_frame(&mut self) -> CResult {
        let frame = match self.control.pop() {
            Some(f) => f,
            None => return Err(Error::internal("end without frame").into()),
        };
        if matches!(frame.kind, FrameKind::TryTable | FrameKind::Try | FrameKind::Catch) {
            self.current_scope = frame.outer_scope;
        }
        if let (FrameKind::Catch, Some(scope), false) = (frame.kind, frame.scope, frame.rethrown) {
            for catch in &mut self.scopes[scope as usize].catches {
                catch.exnref_slot = None;
            }
        }
        match frame.kind {
            FrameKind::Function => {
                if self.reachable {
                    self.emit_return();
                }
                self.reachable = false;
            }
            FrameKind::Loop => {
                if !self.reachable {
                    self.reset_stack(frame.height, frame.results);
                }
            }
            FrameKind::Block | FrameKind::If | FrameKind::TryTable | FrameKind::Try | FrameKind::Catch => {
                let merges = frame.label_used || frame.else_label.is_some();
                if !merges {
                    // Nothing branches here: the fallthrough state continues as is.
                    if !self.reachable {
                        self.reset_stack(frame.height, frame.results);
                    }
                    self.masm.asm.bind(frame.label);
                    return Ok(());
                }
                if self.reachable {
                    self.copy_to_label(frame.results.len(), frame.height);
                }
                if let Some(l) = frame.else_label {
                    // An `if` without `else` passes its parameters through, already in
                    // their canonical slots.
                    self.masm.asm.bind(l);
                }
                self.masm.asm.bind(frame.label);
                self.reset_stack(frame.height, frame.results);
                self.reachable = true;
            }
        }
        Ok(())
    }

    /// The memory an access reads or writes. wasmparser's memargs can also name GC
    /// arrays, which validation refuses while the GC proposal is off.
    pub(crate) fn memory_of(&self, memarg: &MemArg) -> CResult<u32> {
        match memarg.target {
            wasmparser::MemArgTarget::Memory(index) => Ok(index),
            wasmparser::MemArgTarget::Array(_) => Err(Error::Unsupported("GC array accesses".into()).into()),
        }
    }

    pub(crate) fn load_op(&mut self, ty: ValType, kind: LoadKind, memarg: MemArg) -> CResult {
        let memory = self.memory_of(&memarg)?;
        self.load(ty, kind, memory, memarg.offset);
        Ok(())
    }

    pub(crate) fn store_op(&mut self, kind: StoreKind, memarg: MemArg) -> CResult {
        let memory = self.memory_of(&memarg)?;
        self.store(kind, memory, memarg.offset);
        Ok(())
    }

    fn trunc_op(&mut self, from: ValType, to: ValType, signed: bool, saturating: bool) -> CResult {
        let kind = TruncKind { from: size_of(from), to: size_of(to), signed, saturating };
        self.convert(to, |m, dst, src| m.trunc(kind, dst, src));
        Ok(())
    }

    fn convert_op(&mut self, from: ValType, to: ValType, signed: bool) -> CResult {
        self.convert(to, |m, dst, src| m.convert_int_to_float(size_of(to), size_of(from), signed, dst, src));
        Ok(())
    }

    fn sign_extend(&mut self, ty: ValType, from_bits: u8) -> CResult {
        let to64 = ty == I64;
        self.int_unop(ty, |m, r| m.asm.movsx_rr(r, r, from_bits, to64));
        Ok(())
    }

    /// A runtime helper taking (vmctx, immediates..., operands...) and returning a trap code.
    pub(crate) fn helper(&mut self, addr: usize, imms: &[i64], operands: usize, traps: bool) -> Reg {
        // System V passes six integer arguments in registers; no helper takes more.
        let mut args = [HelperArg::Vmctx; 6];
        let count = 1 + imms.len() + operands;
        assert!(count <= args.len(), "runtime helper with {count} arguments");
        for (slot, &v) in args[1..].iter_mut().zip(imms) {
            *slot = HelperArg::Imm(v);
        }
        for (slot, n) in args[1 + imms.len()..count].iter_mut().zip(0..operands) {
            *slot = HelperArg::Operand(n);
        }
        self.call_helper(addr, operands, &args[..count], traps)
    }

    fn void_helper(&mut self, addr: usize, imms: &[i64], operands: usize) -> CResult {
        let r = self.helper(addr, imms, operands, true);
        self.free_reg(r);
        Ok(())
    }
}

macro_rules! unsupported_proposals {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            unsupported_proposals!(@one $proposal $visit $({ $($arg: $argty),* })?);
        )*
    };
    (@one mvp $($rest:tt)*) => {};
    (@one sign_extension $($rest:tt)*) => {};
    (@one saturating_float_to_int $($rest:tt)*) => {};
    (@one bulk_memory $($rest:tt)*) => {};
    (@one reference_types $($rest:tt)*) => {};
    (@one exceptions $($rest:tt)*) => {};
    (@one legacy_exceptions $($rest:tt)*) => {};
    (@one tail_call $($rest:tt)*) => {};
    (@one function_references $($rest:tt)*) => {};
    (@one gc $($rest:tt)*) => {};
    (@one custom_descriptors $($rest:tt)*) => {};
    (@one threads $($rest:tt)*) => {};
    (@one wide_arithmetic $($rest:tt)*) => {};
    (@one $proposal:ident $visit:ident $({ $($arg:ident: $argty:ty),* })?) => {
        fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
            $($(let _ = $arg;)*)?
            Err(Error::Unsupported(format!(
                "the {} proposal ({}) is not supported yet",
                stringify!($proposal),
                stringify!($visit)
            ))
            .into())
        }
    };
}

impl<'a> VisitOperator<'a> for FuncCompiler<'_> {
    type Output = CResult;

    wasmparser::for_each_visit_operator!(unsupported_proposals);

    // Without a SIMD visitor, wasmparser panics on a (valid) SIMD operator.
    fn simd_visitor(&mut self) -> Option<&mut dyn VisitSimdOperator<'a, Output = CResult>> {
        Some(self)
    }

    // ---- control ----

    fn visit_unreachable(&mut self) -> CResult {
        self.masm.trap(TrapCode::Unreachable);
        self.reachable = false;
        Ok(())
    }
    fn visit_nop(&mut self) -> CResult {
        Ok(())
    }
    fn visit_block(&mut self, bt: BlockType) -> CResult {
        self.enter_frame(FrameKind::Block, bt)
    }
    fn visit_loop(&mut self, bt: BlockType) -> CResult {
        self.enter_frame(FrameKind::Loop, bt)
    }
    fn visit_if(&mut self, bt: BlockType) -> CResult {
        self.enter_frame(FrameKind::If, bt)
    }
    fn visit_else(&mut self) -> CResult {
        if self.dead_depth > 0 {
            return Ok(());
        }
        let idx = self.control.len() - 1;
        let (n, height) = (self.control[idx].results.len(), self.control[idx].height);
        if self.reachable {
            self.copy_to_label(n, height);
            let label = self.control[idx].label;
            self.masm.asm.jmp(label);
            self.control[idx].label_used = true;
        }
        if let Some(l) = self.control[idx].else_label.take() {
            self.masm.asm.bind(l);
        }
        let params = self.control[idx].params;
        self.reset_stack(height, params);
        self.reachable = true;
        Ok(())
    }
    fn visit_end(&mut self) -> CResult {
        if self.dead_depth > 0 {
            self.dead_depth -= 1;
            return Ok(());
        }
        self.end_frame()
    }

    // ---- exceptions ----

    fn visit_try_table(&mut self, try_table: wasmparser::TryTable) -> CResult {
        self.enter_try_table(&try_table)
    }
    fn visit_throw(&mut self, tag_index: u32) -> CResult {
        self.keeps_references = true;
        self.throw(tag_index)
    }
    fn visit_throw_ref(&mut self) -> CResult {
        self.keeps_references = true;
        self.throw_ref()
    }
    fn visit_try(&mut self, blockty: BlockType) -> CResult {
        self.enter_try(blockty)
    }
    fn visit_catch(&mut self, tag_index: u32) -> CResult {
        self.legacy_catch(Some(tag_index))
    }
    fn visit_catch_all(&mut self) -> CResult {
        self.legacy_catch(None)
    }
    fn visit_delegate(&mut self, relative_depth: u32) -> CResult {
        self.legacy_delegate(relative_depth)
    }
    fn visit_rethrow(&mut self, relative_depth: u32) -> CResult {
        self.keeps_references = true;
        self.legacy_rethrow(relative_depth)
    }
    fn visit_br(&mut self, relative_depth: u32) -> CResult {
        self.branch(relative_depth);
        self.reachable = false;
        Ok(())
    }
    fn visit_br_if(&mut self, relative_depth: u32) -> CResult {
        let to_function = self.targets_function(relative_depth);
        if to_function {
            // Returning may spill before the jump: keep the flags out of it.
            self.materialize_condition();
        }
        let taken = self.pop_branch_condition();
        if to_function {
            self.prepare_return();
        }
        self.branch_if(relative_depth, taken);
        Ok(())
    }
    fn visit_br_table(&mut self, targets: BrTable<'a>) -> CResult {
        let index = self.pop();
        let r = self.in_reg(index);
        let depths = targets.targets().collect::<Result<Vec<u32>, _>>()?;
        let default = targets.default();
        // Targets that are the function frame return: take latent parameter reads first,
        // on the shared path, before any landing pad writes results.
        let function_depth = self.control.len() as u32 - 1;
        if depths.iter().chain([&default]).any(|&d| d == function_depth) {
            self.prepare_return();
        }
        // One landing pad per distinct target: copies for that label, then the jump.
        // `pad_of_depth` finds a target's pad (giant tables stay linear); only the
        // entries set here are cleared again, so deep nesting costs nothing per table.
        let mut pads: Vec<(u32, dynasmrt::DynamicLabel)> = Vec::new();
        let mut pad_of_depth = std::mem::take(&mut self.pad_of_depth);
        if pad_of_depth.len() < self.control.len() {
            pad_of_depth.resize(self.control.len(), None);
        }
        let mut pad_for = |this: &mut Self, depth: u32| {
            // A target that needs no copies and is not the function's return is reached
            // straight from the table: its pad would be a lone jump (Go's resumption
            // dispatch has thousands of such targets).
            if let Some(label) = this.direct_branch_target(depth) {
                return label;
            }
            let slot = &mut pad_of_depth[depth as usize];
            if let Some(k) = *slot {
                return pads[k as usize].1;
            }
            let l = this.masm.asm.new_label();
            *slot = Some(pads.len() as u32);
            pads.push((depth, l));
            l
        };
        let table: Vec<_> = depths.iter().map(|&d| pad_for(self, d)).collect();
        let default_pad = pad_for(self, default);
        for &(depth, _) in &pads {
            pad_of_depth[depth as usize] = None;
        }
        self.pad_of_depth = pad_of_depth;
        self.masm.asm.cmp_ri(OperandSize::S32, r, depths.len() as i32);
        self.masm.asm.jcc(Cc::Ae, default_pad);
        if !table.is_empty() {
            self.masm.jump_table(r, table);
        }
        self.free_reg(r);
        for (depth, label) in pads {
            self.masm.asm.bind(label);
            self.branch(depth);
        }
        self.reachable = false;
        Ok(())
    }
    fn visit_return(&mut self) -> CResult {
        self.emit_return();
        self.reachable = false;
        Ok(())
    }
    fn visit_call(&mut self, function_index: u32) -> CResult {
        let env = self.env;
        let ty = &env.types[env.func_types[function_index as usize] as usize];
        let callee = self.direct_callee(function_index);
        self.emit_call(callee, ty);
        Ok(())
    }
    fn visit_call_indirect(&mut self, type_index: u32, table_index: u32) -> CResult {
        self.keeps_references = true;
        self.call_indirect(type_index, table_index);
        Ok(())
    }
    fn visit_return_call(&mut self, function_index: u32) -> CResult {
        let env = self.env;
        let ty = &env.types[env.func_types[function_index as usize] as usize];
        let callee = self.direct_callee(function_index);
        self.return_call(callee, ty)
    }
    fn visit_return_call_indirect(&mut self, type_index: u32, table_index: u32) -> CResult {
        self.keeps_references = true;
        self.return_call_indirect(type_index, table_index)
    }
    fn visit_call_ref(&mut self, type_index: u32) -> CResult {
        self.keeps_references = true;
        self.call_ref(type_index);
        Ok(())
    }
    fn visit_return_call_ref(&mut self, type_index: u32) -> CResult {
        self.keeps_references = true;
        self.return_call_ref(type_index)
    }

    // ---- parametric ----

    fn visit_drop(&mut self) -> CResult {
        let s = self.pop();
        self.release(s);
        Ok(())
    }
    fn visit_select(&mut self) -> CResult {
        let ty = self.peek(1).ty;
        self.select(ty)
    }
    fn visit_typed_select(&mut self, ty: wasmparser::ValType) -> CResult {
        let ty = self.value_type(ty)?;
        self.select(ty)
    }
    fn visit_typed_select_multi(&mut self, _tys: Vec<wasmparser::ValType>) -> CResult {
        Err(Error::Unsupported("select with multiple results".into()).into())
    }

    // ---- variables ----

    fn visit_local_get(&mut self, local_index: u32) -> CResult {
        let ty = self.local_type(local_index);
        match self.take_cached_local(local_index) {
            Some(r) => self.push_reg(ty, r),
            None => self.push(ty, Loc::Local(local_index)),
        }
        Ok(())
    }
    fn visit_local_set(&mut self, local_index: u32) -> CResult {
        let v = self.pop();
        self.set_local(local_index, v);
        match v.reg() {
            Some(r) if self.cacheable_local(local_index) => self.cache_local(r, local_index),
            _ => self.release(v),
        }
        Ok(())
    }
    fn visit_local_tee(&mut self, local_index: u32) -> CResult {
        let v = self.pop();
        self.set_local(local_index, v);
        if self.is_pinned(local_index) {
            // The local's own register now holds the value: no second copy needed.
            self.release(v);
            self.push(v.ty, Loc::Local(local_index));
        } else {
            if let Some(r) = v.reg().filter(|_| self.cacheable_local(local_index)) {
                self.cache_local_copy(r, local_index);
            }
            self.push(v.ty, v.loc);
        }
        Ok(())
    }
    fn visit_global_get(&mut self, global_index: u32) -> CResult {
        let ty = self.env.globals[global_index as usize].content;
        let r = self.alloc_for(ty);
        let m = self.global_address(global_index);
        self.masm.asm.load(load_kind(ty), r, m);
        self.push_reg(ty, r);
        Ok(())
    }
    fn visit_global_set(&mut self, global_index: u32) -> CResult {
        self.sets_globals = true;
        self.keeps_references |= self.env.globals[global_index as usize].content.is_ref();
        let v = self.pop();
        let r = self.in_reg(v);
        let m = self.global_address(global_index);
        self.masm.asm.store(store_kind(v.ty), m, r);
        self.free_reg(r);
        Ok(())
    }

    // ---- memory ----

    fn visit_i32_load(&mut self, memarg: MemArg) -> CResult {
        self.load_op(I32, LoadKind::U32, memarg)
    }
    fn visit_i64_load(&mut self, memarg: MemArg) -> CResult {
        self.load_op(I64, LoadKind::I64, memarg)
    }
    fn visit_f32_load(&mut self, memarg: MemArg) -> CResult {
        self.load_op(F32, LoadKind::F32, memarg)
    }
    fn visit_f64_load(&mut self, memarg: MemArg) -> CResult {
        self.load_op(F64, LoadKind::F64, memarg)
    }
    fn visit_i32_load8_s(&mut self, memarg: MemArg) -> CResult {
        self.load_op(I32, LoadKind::S8To32, memarg)
    }
    fn visit_i32_load8_u(&mut self, memarg: MemArg) -> CResult {
        self.load_op(I32, LoadKind::U8, memarg)
    }
    fn visit_i32_load16_s(&mut self, memarg: MemArg) -> CResult {
        self.load_op(I32, LoadKind::S16To32, memarg)
    }
    fn visit_i32_load16_u(&mut self, memarg: MemArg) -> CResult {
        self.load_op(I32, LoadKind::U16, memarg)
    }
    fn visit_i64_load8_s(&mut self, memarg: MemArg) -> CResult {
        self.load_op(I64, LoadKind::S8To64, memarg)
    }
    fn visit_i64_load8_u(&mut self, memarg: MemArg) -> CResult {
        self.load_op(I64, LoadKind::U8, memarg)
    }
    fn visit_i64_load16_s(&mut self, memarg: MemArg) -> CResult {
        self.load_op(I64, LoadKind::S16To64, memarg)
    }
    fn visit_i64_load16_u(&mut self, memarg: MemArg) -> CResult {
        self.load_op(I64, LoadKind::U16, memarg)
    }
    fn visit_i64_load32_s(&mut self, memarg: MemArg) -> CResult {
        self.load_op(I64, LoadKind::S32To64, memarg)
    }
    fn visit_i64_load32_u(&mut self, memarg: MemArg) -> CResult {
        self.load_op(I64, LoadKind::U32, memarg)
    }
    fn visit_i32_store(&mut self, memarg: MemArg) -> CResult {
        self.store_op(StoreKind::I32, memarg)
    }
    fn visit_i64_store(&mut self, memarg: MemArg) -> CResult {
        self.store_op(StoreKind::I64, memarg)
    }
    fn visit_f32_store(&mut self, memarg: MemArg) -> CResult {
        self.store_op(StoreKind::F32, memarg)
    }
    fn visit_f64_store(&mut self, memarg: MemArg) -> CResult {
        self.store_op(StoreKind::F64, memarg)
    }
    fn visit_i32_store8(&mut self, memarg: MemArg) -> CResult {
        self.store_op(StoreKind::I8, memarg)
    }
    fn visit_i32_store16(&mut self, memarg: MemArg) -> CResult {
        self.store_op(StoreKind::I16, memarg)
    }
    fn visit_i64_store8(&mut self, memarg: MemArg) -> CResult {
        self.store_op(StoreKind::I8, memarg)
    }
    fn visit_i64_store16(&mut self, memarg: MemArg) -> CResult {
        self.store_op(StoreKind::I16, memarg)
    }
    fn visit_i64_store32(&mut self, memarg: MemArg) -> CResult {
        self.store_op(StoreKind::I32, memarg)
    }
    fn visit_memory_size(&mut self, mem: u32) -> CResult {
        let r = self.alloc(false);
        self.load_vm_pointer(r, offsets::VMCTX_MEMORIES, mem);
        self.masm.asm.load(LoadKind::I64, r, Mem::Base(r, offsets::MEMORY_LENGTH));
        let page_size_log2 = self
            .env
            .memory_page_size_log2
            .get(mem as usize)
            .copied()
            .unwrap_or(crate::runtime::memory::DEFAULT_PAGE_SIZE_LOG2);
        if page_size_log2 > 0 {
            self.masm.asm.shift_ri(ShiftOp::ShrU, OperandSize::S64, r, page_size_log2);
        }
        self.push_reg(index_type(self.memory_is_64(mem)), r);
        Ok(())
    }
    fn visit_memory_grow(&mut self, mem: u32) -> CResult {
        let r = self.helper(libcalls::memory_grow as *const () as usize, &[mem as i64], 1, false);
        self.push_grow_result(r, self.memory_is_64(mem));
        Ok(())
    }
    fn visit_memory_init(&mut self, data_index: u32, mem: u32) -> CResult {
        self.void_helper(libcalls::memory_init as *const () as usize, &[mem as i64, data_index as i64], 3)
    }
    fn visit_data_drop(&mut self, data_index: u32) -> CResult {
        self.void_helper(libcalls::data_drop as *const () as usize, &[data_index as i64], 0)
    }
    fn visit_memory_copy(&mut self, dst_mem: u32, src_mem: u32) -> CResult {
        if dst_mem != 0 || src_mem != 0 || self.env.memory0_checked {
            let memories = [dst_mem as i64, src_mem as i64];
            return self.void_helper(libcalls::memory_copy as *const () as usize, &memories, 3);
        }
        // The stub copies small ranges of memory 0 itself and calls `memory_copy` for
        // the rest.
        let args = [
            HelperArg::Vmctx,
            HelperArg::Imm(dst_mem as i64),
            HelperArg::Imm(src_mem as i64),
            HelperArg::Operand(0),
            HelperArg::Operand(1),
            HelperArg::Operand(2),
        ];
        let r = self.call_helper_at(HelperTarget::Stub(self.env.memory_copy_stub), 3, &args, true);
        self.free_reg(r);
        Ok(())
    }
    fn visit_memory_fill(&mut self, mem: u32) -> CResult {
        self.void_helper(libcalls::memory_fill as *const () as usize, &[mem as i64], 3)
    }

    // ---- 128-bit arithmetic (the wide-arithmetic proposal; `wide_arithmetic.rs`) ----

    fn visit_i64_add128(&mut self) -> CResult {
        self.add_sub_128(false)
    }
    fn visit_i64_sub128(&mut self) -> CResult {
        self.add_sub_128(true)
    }
    fn visit_i64_mul_wide_s(&mut self) -> CResult {
        self.mul_wide(true)
    }
    fn visit_i64_mul_wide_u(&mut self) -> CResult {
        self.mul_wide(false)
    }

    // ---- atomics (the threads proposal; `atomics.rs`) ----

    fn visit_memory_atomic_notify(&mut self, memarg: MemArg) -> CResult {
        self.atomic_wait_or_notify(0, memarg)
    }
    fn visit_memory_atomic_wait32(&mut self, memarg: MemArg) -> CResult {
        self.atomic_wait_or_notify(4, memarg)
    }
    fn visit_memory_atomic_wait64(&mut self, memarg: MemArg) -> CResult {
        self.atomic_wait_or_notify(8, memarg)
    }
    fn visit_atomic_fence(&mut self, _ordering: wasmparser::Ordering) -> CResult {
        self.masm.fence();
        Ok(())
    }
    fn visit_i32_atomic_load(&mut self, memarg: MemArg) -> CResult {
        self.atomic_load(I32, 4, memarg)
    }
    fn visit_i32_atomic_load8_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_load(I32, 1, memarg)
    }
    fn visit_i32_atomic_load16_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_load(I32, 2, memarg)
    }
    fn visit_i32_atomic_store(&mut self, memarg: MemArg) -> CResult {
        self.atomic_store(4, memarg)
    }
    fn visit_i32_atomic_store8(&mut self, memarg: MemArg) -> CResult {
        self.atomic_store(1, memarg)
    }
    fn visit_i32_atomic_store16(&mut self, memarg: MemArg) -> CResult {
        self.atomic_store(2, memarg)
    }
    fn visit_i32_atomic_rmw_add(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I32, RmwOp::Add, 4, memarg)
    }
    fn visit_i32_atomic_rmw8_add_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I32, RmwOp::Add, 1, memarg)
    }
    fn visit_i32_atomic_rmw16_add_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I32, RmwOp::Add, 2, memarg)
    }
    fn visit_i32_atomic_rmw_sub(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I32, RmwOp::Sub, 4, memarg)
    }
    fn visit_i32_atomic_rmw8_sub_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I32, RmwOp::Sub, 1, memarg)
    }
    fn visit_i32_atomic_rmw16_sub_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I32, RmwOp::Sub, 2, memarg)
    }
    fn visit_i32_atomic_rmw_and(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I32, RmwOp::And, 4, memarg)
    }
    fn visit_i32_atomic_rmw8_and_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I32, RmwOp::And, 1, memarg)
    }
    fn visit_i32_atomic_rmw16_and_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I32, RmwOp::And, 2, memarg)
    }
    fn visit_i32_atomic_rmw_or(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I32, RmwOp::Or, 4, memarg)
    }
    fn visit_i32_atomic_rmw8_or_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I32, RmwOp::Or, 1, memarg)
    }
    fn visit_i32_atomic_rmw16_or_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I32, RmwOp::Or, 2, memarg)
    }
    fn visit_i32_atomic_rmw_xor(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I32, RmwOp::Xor, 4, memarg)
    }
    fn visit_i32_atomic_rmw8_xor_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I32, RmwOp::Xor, 1, memarg)
    }
    fn visit_i32_atomic_rmw16_xor_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I32, RmwOp::Xor, 2, memarg)
    }
    fn visit_i32_atomic_rmw_xchg(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I32, RmwOp::Xchg, 4, memarg)
    }
    fn visit_i32_atomic_rmw8_xchg_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I32, RmwOp::Xchg, 1, memarg)
    }
    fn visit_i32_atomic_rmw16_xchg_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I32, RmwOp::Xchg, 2, memarg)
    }
    fn visit_i32_atomic_rmw_cmpxchg(&mut self, memarg: MemArg) -> CResult {
        self.atomic_cmpxchg(I32, 4, memarg)
    }
    fn visit_i32_atomic_rmw8_cmpxchg_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_cmpxchg(I32, 1, memarg)
    }
    fn visit_i32_atomic_rmw16_cmpxchg_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_cmpxchg(I32, 2, memarg)
    }
    fn visit_i64_atomic_load(&mut self, memarg: MemArg) -> CResult {
        self.atomic_load(I64, 8, memarg)
    }
    fn visit_i64_atomic_load8_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_load(I64, 1, memarg)
    }
    fn visit_i64_atomic_load16_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_load(I64, 2, memarg)
    }
    fn visit_i64_atomic_load32_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_load(I64, 4, memarg)
    }
    fn visit_i64_atomic_store(&mut self, memarg: MemArg) -> CResult {
        self.atomic_store(8, memarg)
    }
    fn visit_i64_atomic_store8(&mut self, memarg: MemArg) -> CResult {
        self.atomic_store(1, memarg)
    }
    fn visit_i64_atomic_store16(&mut self, memarg: MemArg) -> CResult {
        self.atomic_store(2, memarg)
    }
    fn visit_i64_atomic_store32(&mut self, memarg: MemArg) -> CResult {
        self.atomic_store(4, memarg)
    }
    fn visit_i64_atomic_rmw_add(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::Add, 8, memarg)
    }
    fn visit_i64_atomic_rmw8_add_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::Add, 1, memarg)
    }
    fn visit_i64_atomic_rmw16_add_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::Add, 2, memarg)
    }
    fn visit_i64_atomic_rmw32_add_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::Add, 4, memarg)
    }
    fn visit_i64_atomic_rmw_sub(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::Sub, 8, memarg)
    }
    fn visit_i64_atomic_rmw8_sub_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::Sub, 1, memarg)
    }
    fn visit_i64_atomic_rmw16_sub_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::Sub, 2, memarg)
    }
    fn visit_i64_atomic_rmw32_sub_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::Sub, 4, memarg)
    }
    fn visit_i64_atomic_rmw_and(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::And, 8, memarg)
    }
    fn visit_i64_atomic_rmw8_and_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::And, 1, memarg)
    }
    fn visit_i64_atomic_rmw16_and_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::And, 2, memarg)
    }
    fn visit_i64_atomic_rmw32_and_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::And, 4, memarg)
    }
    fn visit_i64_atomic_rmw_or(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::Or, 8, memarg)
    }
    fn visit_i64_atomic_rmw8_or_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::Or, 1, memarg)
    }
    fn visit_i64_atomic_rmw16_or_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::Or, 2, memarg)
    }
    fn visit_i64_atomic_rmw32_or_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::Or, 4, memarg)
    }
    fn visit_i64_atomic_rmw_xor(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::Xor, 8, memarg)
    }
    fn visit_i64_atomic_rmw8_xor_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::Xor, 1, memarg)
    }
    fn visit_i64_atomic_rmw16_xor_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::Xor, 2, memarg)
    }
    fn visit_i64_atomic_rmw32_xor_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::Xor, 4, memarg)
    }
    fn visit_i64_atomic_rmw_xchg(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::Xchg, 8, memarg)
    }
    fn visit_i64_atomic_rmw8_xchg_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::Xchg, 1, memarg)
    }
    fn visit_i64_atomic_rmw16_xchg_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::Xchg, 2, memarg)
    }
    fn visit_i64_atomic_rmw32_xchg_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_rmw(I64, RmwOp::Xchg, 4, memarg)
    }
    fn visit_i64_atomic_rmw_cmpxchg(&mut self, memarg: MemArg) -> CResult {
        self.atomic_cmpxchg(I64, 8, memarg)
    }
    fn visit_i64_atomic_rmw8_cmpxchg_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_cmpxchg(I64, 1, memarg)
    }
    fn visit_i64_atomic_rmw16_cmpxchg_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_cmpxchg(I64, 2, memarg)
    }
    fn visit_i64_atomic_rmw32_cmpxchg_u(&mut self, memarg: MemArg) -> CResult {
        self.atomic_cmpxchg(I64, 4, memarg)
    }

    // ---- constants ----

    fn visit_i32_const(&mut self, value: i32) -> CResult {
        self.push_const(I32, value as i64);
        Ok(())
    }
    fn visit_i64_const(&mut self, value: i64) -> CResult {
        self.push_const(I64, value);
        Ok(())
    }
    fn visit_f32_const(&mut self, value: wasmparser::Ieee32) -> CResult {
        self.push_const(F32, value.bits() as i64);
        Ok(())
    }
    fn visit_f64_const(&mut self, value: wasmparser::Ieee64) -> CResult {
        self.push_const(F64, value.bits() as i64);
        Ok(())
    }

    // ---- integer comparison ----

    fn visit_i32_eqz(&mut self) -> CResult {
        self.int_eqz(I32);
        Ok(())
    }
    fn visit_i32_eq(&mut self) -> CResult {
        self.int_compare(I32, IntCond::Eq);
        Ok(())
    }
    fn visit_i32_ne(&mut self) -> CResult {
        self.int_compare(I32, IntCond::Ne);
        Ok(())
    }
    fn visit_i32_lt_s(&mut self) -> CResult {
        self.int_compare(I32, IntCond::LtS);
        Ok(())
    }
    fn visit_i32_lt_u(&mut self) -> CResult {
        self.int_compare(I32, IntCond::LtU);
        Ok(())
    }
    fn visit_i32_gt_s(&mut self) -> CResult {
        self.int_compare(I32, IntCond::GtS);
        Ok(())
    }
    fn visit_i32_gt_u(&mut self) -> CResult {
        self.int_compare(I32, IntCond::GtU);
        Ok(())
    }
    fn visit_i32_le_s(&mut self) -> CResult {
        self.int_compare(I32, IntCond::LeS);
        Ok(())
    }
    fn visit_i32_le_u(&mut self) -> CResult {
        self.int_compare(I32, IntCond::LeU);
        Ok(())
    }
    fn visit_i32_ge_s(&mut self) -> CResult {
        self.int_compare(I32, IntCond::GeS);
        Ok(())
    }
    fn visit_i32_ge_u(&mut self) -> CResult {
        self.int_compare(I32, IntCond::GeU);
        Ok(())
    }
    fn visit_i64_eqz(&mut self) -> CResult {
        self.int_eqz(I64);
        Ok(())
    }
    fn visit_i64_eq(&mut self) -> CResult {
        self.int_compare(I64, IntCond::Eq);
        Ok(())
    }
    fn visit_i64_ne(&mut self) -> CResult {
        self.int_compare(I64, IntCond::Ne);
        Ok(())
    }
    fn visit_i64_lt_s(&mut self) -> CResult {
        self.int_compare(I64, IntCond::LtS);
        Ok(())
    }
    fn visit_i64_lt_u(&mut self) -> CResult {
        self.int_compare(I64, IntCond::LtU);
        Ok(())
    }
    fn visit_i64_gt_s(&mut self) -> CResult {
        self.int_compare(I64, IntCond::GtS);
        Ok(())
    }
    fn visit_i64_gt_u(&mut self) -> CResult {
        self.int_compare(I64, IntCond::GtU);
        Ok(())
    }
    fn visit_i64_le_s(&mut self) -> CResult {
        self.int_compare(I64, IntCond::LeS);
        Ok(())
    }
    fn visit_i64_le_u(&mut self) -> CResult {
        self.int_compare(I64, IntCond::LeU);
        Ok(())
    }
    fn visit_i64_ge_s(&mut self) -> CResult {
        self.int_compare(I64, IntCond::GeS);
        Ok(())
    }
    fn visit_i64_ge_u(&mut self) -> CResult {
        self.int_compare(I64, IntCond::GeU);
        Ok(())
    }

    // ---- float comparison ----

    fn visit_f32_eq(&mut self) -> CResult {
        self.float_compare(F32, FloatCond::Eq);
        Ok(())
    }
    fn visit_f32_ne(&mut self) -> CResult {
        self.float_compare(F32, FloatCond::Ne);
        Ok(())
    }
    fn visit_f32_lt(&mut self) -> CResult {
        self.float_compare(F32, FloatCond::Lt);
        Ok(())
    }
    fn visit_f32_gt(&mut self) -> CResult {
        self.float_compare(F32, FloatCond::Gt);
        Ok(())
    }
    fn visit_f32_le(&mut self) -> CResult {
        self.float_compare(F32, FloatCond::Le);
        Ok(())
    }
    fn visit_f32_ge(&mut self) -> CResult {
        self.float_compare(F32, FloatCond::Ge);
        Ok(())
    }
    fn visit_f64_eq(&mut self) -> CResult {
        self.float_compare(F64, FloatCond::Eq);
        Ok(())
    }
    fn visit_f64_ne(&mut self) -> CResult {
        self.float_compare(F64, FloatCond::Ne);
        Ok(())
    }
    fn visit_f64_lt(&mut self) -> CResult {
        self.float_compare(F64, FloatCond::Lt);
        Ok(())
    }
    fn visit_f64_gt(&mut self) -> CResult {
        self.float_compare(F64, FloatCond::Gt);
        Ok(())
    }
    fn visit_f64_le(&mut self) -> CResult {
        self.float_compare(F64, FloatCond::Le);
        Ok(())
    }
    fn visit_f64_ge(&mut self) -> CResult {
        self.float_compare(F64, FloatCond::Ge);
        Ok(())
    }

    // ---- integer arithmetic ----

    fn visit_i32_clz(&mut self) -> CResult {
        self.int_bitcount(I32, BitCountOp::Clz);
        Ok(())
    }
    fn visit_i32_ctz(&mut self) -> CResult {
        self.int_bitcount(I32, BitCountOp::Ctz);
        Ok(())
    }
    fn visit_i32_popcnt(&mut self) -> CResult {
        self.int_bitcount(I32, BitCountOp::Popcnt);
        Ok(())
    }
    fn visit_i32_add(&mut self) -> CResult {
        if !self.add_carry(AluOp::Add) {
            self.materialize_condition();
            self.int_binop(I32, AluOp::Add);
        }
        Ok(())
    }
    fn visit_i32_sub(&mut self) -> CResult {
        if !self.add_carry(AluOp::Sub) {
            self.materialize_condition();
            self.int_binop(I32, AluOp::Sub);
        }
        Ok(())
    }
    fn visit_i32_mul(&mut self) -> CResult {
        self.int_mul(I32);
        Ok(())
    }
    fn visit_i32_div_s(&mut self) -> CResult {
        self.int_div(I32, DivOp::DivS);
        Ok(())
    }
    fn visit_i32_div_u(&mut self) -> CResult {
        self.int_div(I32, DivOp::DivU);
        Ok(())
    }
    fn visit_i32_rem_s(&mut self) -> CResult {
        self.int_div(I32, DivOp::RemS);
        Ok(())
    }
    fn visit_i32_rem_u(&mut self) -> CResult {
        self.int_div(I32, DivOp::RemU);
        Ok(())
    }
    fn visit_i32_and(&mut self) -> CResult {
        self.int_binop(I32, AluOp::And);
        Ok(())
    }
    fn visit_i32_or(&mut self) -> CResult {
        self.int_binop(I32, AluOp::Or);
        Ok(())
    }
    fn visit_i32_xor(&mut self) -> CResult {
        self.int_binop(I32, AluOp::Xor);
        Ok(())
    }
    fn visit_i32_shl(&mut self) -> CResult {
        self.int_shift(I32, ShiftOp::Shl);
        Ok(())
    }
    fn visit_i32_shr_s(&mut self) -> CResult {
        self.int_shift(I32, ShiftOp::ShrS);
        Ok(())
    }
    fn visit_i32_shr_u(&mut self) -> CResult {
        self.int_shift(I32, ShiftOp::ShrU);
        Ok(())
    }
    fn visit_i32_rotl(&mut self) -> CResult {
        self.int_shift(I32, ShiftOp::Rotl);
        Ok(())
    }
    fn visit_i32_rotr(&mut self) -> CResult {
        self.int_shift(I32, ShiftOp::Rotr);
        Ok(())
    }
    fn visit_i64_clz(&mut self) -> CResult {
        self.int_bitcount(I64, BitCountOp::Clz);
        Ok(())
    }
    fn visit_i64_ctz(&mut self) -> CResult {
        self.int_bitcount(I64, BitCountOp::Ctz);
        Ok(())
    }
    fn visit_i64_popcnt(&mut self) -> CResult {
        self.int_bitcount(I64, BitCountOp::Popcnt);
        Ok(())
    }
    fn visit_i64_add(&mut self) -> CResult {
        self.int_binop(I64, AluOp::Add);
        Ok(())
    }
    fn visit_i64_sub(&mut self) -> CResult {
        self.int_binop(I64, AluOp::Sub);
        Ok(())
    }
    fn visit_i64_mul(&mut self) -> CResult {
        self.int_mul(I64);
        Ok(())
    }
    fn visit_i64_div_s(&mut self) -> CResult {
        self.int_div(I64, DivOp::DivS);
        Ok(())
    }
    fn visit_i64_div_u(&mut self) -> CResult {
        self.int_div(I64, DivOp::DivU);
        Ok(())
    }
    fn visit_i64_rem_s(&mut self) -> CResult {
        self.int_div(I64, DivOp::RemS);
        Ok(())
    }
    fn visit_i64_rem_u(&mut self) -> CResult {
        self.int_div(I64, DivOp::RemU);
        Ok(())
    }
    fn visit_i64_and(&mut self) -> CResult {
        self.int_binop(I64, AluOp::And);
        Ok(())
    }
    fn visit_i64_or(&mut self) -> CResult {
        self.int_binop(I64, AluOp::Or);
        Ok(())
    }
    fn visit_i64_xor(&mut self) -> CResult {
        self.int_binop(I64, AluOp::Xor);
        Ok(())
    }
    fn visit_i64_shl(&mut self) -> CResult {
        self.int_shift(I64, ShiftOp::Shl);
        Ok(())
    }
    fn visit_i64_shr_s(&mut self) -> CResult {
        self.int_shift(I64, ShiftOp::ShrS);
        Ok(())
    }
    fn visit_i64_shr_u(&mut self) -> CResult {
        self.int_shift(I64, ShiftOp::ShrU);
        Ok(())
    }
    fn visit_i64_rotl(&mut self) -> CResult {
        self.int_shift(I64, ShiftOp::Rotl);
        Ok(())
    }
    fn visit_i64_rotr(&mut self) -> CResult {
        self.int_shift(I64, ShiftOp::Rotr);
        Ok(())
    }

    // ---- float arithmetic ----

    fn visit_f32_abs(&mut self) -> CResult {
        self.float_unop(F32, FloatUnOp::Abs);
        Ok(())
    }
    fn visit_f32_neg(&mut self) -> CResult {
        self.float_unop(F32, FloatUnOp::Neg);
        Ok(())
    }
    fn visit_f32_ceil(&mut self) -> CResult {
        self.float_unop(F32, FloatUnOp::Ceil);
        Ok(())
    }
    fn visit_f32_floor(&mut self) -> CResult {
        self.float_unop(F32, FloatUnOp::Floor);
        Ok(())
    }
    fn visit_f32_trunc(&mut self) -> CResult {
        self.float_unop(F32, FloatUnOp::Trunc);
        Ok(())
    }
    fn visit_f32_nearest(&mut self) -> CResult {
        self.float_unop(F32, FloatUnOp::Nearest);
        Ok(())
    }
    fn visit_f32_sqrt(&mut self) -> CResult {
        self.float_unop(F32, FloatUnOp::Sqrt);
        Ok(())
    }
    fn visit_f32_add(&mut self) -> CResult {
        self.float_binop(F32, FloatBinOp::Add);
        Ok(())
    }
    fn visit_f32_sub(&mut self) -> CResult {
        self.float_binop(F32, FloatBinOp::Sub);
        Ok(())
    }
    fn visit_f32_mul(&mut self) -> CResult {
        self.float_binop(F32, FloatBinOp::Mul);
        Ok(())
    }
    fn visit_f32_div(&mut self) -> CResult {
        self.float_binop(F32, FloatBinOp::Div);
        Ok(())
    }
    fn visit_f32_min(&mut self) -> CResult {
        self.float_binop(F32, FloatBinOp::Min);
        Ok(())
    }
    fn visit_f32_max(&mut self) -> CResult {
        self.float_binop(F32, FloatBinOp::Max);
        Ok(())
    }
    fn visit_f32_copysign(&mut self) -> CResult {
        self.float_binop(F32, FloatBinOp::Copysign);
        Ok(())
    }
    fn visit_f64_abs(&mut self) -> CResult {
        self.float_unop(F64, FloatUnOp::Abs);
        Ok(())
    }
    fn visit_f64_neg(&mut self) -> CResult {
        self.float_unop(F64, FloatUnOp::Neg);
        Ok(())
    }
    fn visit_f64_ceil(&mut self) -> CResult {
        self.float_unop(F64, FloatUnOp::Ceil);
        Ok(())
    }
    fn visit_f64_floor(&mut self) -> CResult {
        self.float_unop(F64, FloatUnOp::Floor);
        Ok(())
    }
    fn visit_f64_trunc(&mut self) -> CResult {
        self.float_unop(F64, FloatUnOp::Trunc);
        Ok(())
    }
    fn visit_f64_nearest(&mut self) -> CResult {
        self.float_unop(F64, FloatUnOp::Nearest);
        Ok(())
    }
    fn visit_f64_sqrt(&mut self) -> CResult {
        self.float_unop(F64, FloatUnOp::Sqrt);
        Ok(())
    }
    fn visit_f64_add(&mut self) -> CResult {
        self.float_binop(F64, FloatBinOp::Add);
        Ok(())
    }
    fn visit_f64_sub(&mut self) -> CResult {
        self.float_binop(F64, FloatBinOp::Sub);
        Ok(())
    }
    fn visit_f64_mul(&mut self) -> CResult {
        self.float_binop(F64, FloatBinOp::Mul);
        Ok(())
    }
    fn visit_f64_div(&mut self) -> CResult {
        self.float_binop(F64, FloatBinOp::Div);
        Ok(())
    }
    fn visit_f64_min(&mut self) -> CResult {
        self.float_binop(F64, FloatBinOp::Min);
        Ok(())
    }
    fn visit_f64_max(&mut self) -> CResult {
        self.float_binop(F64, FloatBinOp::Max);
        Ok(())
    }
    fn visit_f64_copysign(&mut self) -> CResult {
        self.float_binop(F64, FloatBinOp::Copysign);
        Ok(())
    }

    // ---- conversions ----

    fn visit_i32_wrap_i64(&mut self) -> CResult {
        if let Some(c) = self.peek(0).constant() {
            self.pop();
            self.push_const(I32, c);
            return Ok(());
        }
        self.int_unop(I32, |m, r| m.asm.mov_rr(OperandSize::S32, r, r));
        Ok(())
    }
    fn visit_i32_trunc_f32_s(&mut self) -> CResult {
        self.trunc_op(F32, I32, true, false)
    }
    fn visit_i32_trunc_f32_u(&mut self) -> CResult {
        self.trunc_op(F32, I32, false, false)
    }
    fn visit_i32_trunc_f64_s(&mut self) -> CResult {
        self.trunc_op(F64, I32, true, false)
    }
    fn visit_i32_trunc_f64_u(&mut self) -> CResult {
        self.trunc_op(F64, I32, false, false)
    }
    fn visit_i64_extend_i32_s(&mut self) -> CResult {
        if let Some(c) = self.peek(0).constant() {
            self.pop();
            self.push_const(I64, c as i32 as i64);
            return Ok(());
        }
        self.int_unop(I64, |m, r| m.asm.movsx_rr(r, r, 32, true));
        Ok(())
    }
    fn visit_i64_extend_i32_u(&mut self) -> CResult {
        // i32 values are kept zero-extended, so only the type changes.
        let v = self.pop();
        self.push(I64, v.loc);
        if let Loc::Local(_) | Loc::Stack(_) = v.loc {
            // A 64-bit read of the slot would see stale upper bits: load as 32-bit.
            let s = self.pop();
            let r = self.in_reg(crate::compiler::stack::Slot::new(I32, s.loc));
            self.push_reg(I64, r);
        }
        Ok(())
    }
    fn visit_i64_trunc_f32_s(&mut self) -> CResult {
        self.trunc_op(F32, I64, true, false)
    }
    fn visit_i64_trunc_f32_u(&mut self) -> CResult {
        self.trunc_op(F32, I64, false, false)
    }
    fn visit_i64_trunc_f64_s(&mut self) -> CResult {
        self.trunc_op(F64, I64, true, false)
    }
    fn visit_i64_trunc_f64_u(&mut self) -> CResult {
        self.trunc_op(F64, I64, false, false)
    }
    fn visit_f32_convert_i32_s(&mut self) -> CResult {
        self.convert_op(I32, F32, true)
    }
    fn visit_f32_convert_i32_u(&mut self) -> CResult {
        self.convert_op(I32, F32, false)
    }
    fn visit_f32_convert_i64_s(&mut self) -> CResult {
        self.convert_op(I64, F32, true)
    }
    fn visit_f32_convert_i64_u(&mut self) -> CResult {
        self.convert_op(I64, F32, false)
    }
    fn visit_f32_demote_f64(&mut self) -> CResult {
        self.convert(F32, |m, dst, src| m.asm.cvt_float(false, dst, src));
        Ok(())
    }
    fn visit_f64_convert_i32_s(&mut self) -> CResult {
        self.convert_op(I32, F64, true)
    }
    fn visit_f64_convert_i32_u(&mut self) -> CResult {
        self.convert_op(I32, F64, false)
    }
    fn visit_f64_convert_i64_s(&mut self) -> CResult {
        self.convert_op(I64, F64, true)
    }
    fn visit_f64_convert_i64_u(&mut self) -> CResult {
        self.convert_op(I64, F64, false)
    }
    fn visit_f64_promote_f32(&mut self) -> CResult {
        self.convert(F64, |m, dst, src| m.asm.cvt_float(true, dst, src));
        Ok(())
    }
    fn visit_i32_reinterpret_f32(&mut self) -> CResult {
        self.reinterpret(I32);
        Ok(())
    }
    fn visit_i64_reinterpret_f64(&mut self) -> CResult {
        self.reinterpret(I64);
        Ok(())
    }
    fn visit_f32_reinterpret_i32(&mut self) -> CResult {
        self.reinterpret(F32);
        Ok(())
    }
    fn visit_f64_reinterpret_i64(&mut self) -> CResult {
        self.reinterpret(F64);
        Ok(())
    }

    // ---- sign extension ----

    fn visit_i32_extend8_s(&mut self) -> CResult {
        self.sign_extend(I32, 8)
    }
    fn visit_i32_extend16_s(&mut self) -> CResult {
        self.sign_extend(I32, 16)
    }
    fn visit_i64_extend8_s(&mut self) -> CResult {
        self.sign_extend(I64, 8)
    }
    fn visit_i64_extend16_s(&mut self) -> CResult {
        self.sign_extend(I64, 16)
    }
    fn visit_i64_extend32_s(&mut self) -> CResult {
        self.sign_extend(I64, 32)
    }

    // ---- saturating truncation ----

    fn visit_i32_trunc_sat_f32_s(&mut self) -> CResult {
        self.trunc_op(F32, I32, true, true)
    }
    fn visit_i32_trunc_sat_f32_u(&mut self) -> CResult {
        self.trunc_op(F32, I32, false, true)
    }
    fn visit_i32_trunc_sat_f64_s(&mut self) -> CResult {
        self.trunc_op(F64, I32, true, true)
    }
    fn visit_i32_trunc_sat_f64_u(&mut self) -> CResult {
        self.trunc_op(F64, I32, false, true)
    }
    fn visit_i64_trunc_sat_f32_s(&mut self) -> CResult {
        self.trunc_op(F32, I64, true, true)
    }
    fn visit_i64_trunc_sat_f32_u(&mut self) -> CResult {
        self.trunc_op(F32, I64, false, true)
    }
    fn visit_i64_trunc_sat_f64_s(&mut self) -> CResult {
        self.trunc_op(F64, I64, true, true)
    }
    fn visit_i64_trunc_sat_f64_u(&mut self) -> CResult {
        self.trunc_op(F64, I64, false, true)
    }

    // ---- reference types and tables ----

    fn visit_ref_null(&mut self, hty: HeapType) -> CResult {
        let heap = crate::types::HeapType::from_wasmparser(hty, self.env.type_ids)
            .ok_or_else(|| Error::Unsupported(format!("heap type {hty:?}")))?;
        self.push_const(ValType::Ref(RefType::new(true, heap)), 0);
        Ok(())
    }
    fn visit_ref_as_non_null(&mut self) -> CResult {
        let reference = self.pop();
        let r = self.in_reg(reference);
        self.masm.asm.test_rr(OperandSize::S64, r, r);
        self.masm.trap_if(Cc::E, TrapCode::NullReference);
        self.push_reg(non_null(reference.ty), r);
        Ok(())
    }
    fn visit_br_on_null(&mut self, relative_depth: u32) -> CResult {
        let reference = self.pop();
        let r = self.in_reg(reference);
        self.branch_on_reference(relative_depth, r, IntCond::Eq);
        self.push_reg(non_null(reference.ty), r);
        Ok(())
    }
    fn visit_br_on_non_null(&mut self, relative_depth: u32) -> CResult {
        // The reference goes with the branch, so it stays on the stack for it.
        let reference = self.pop();
        let r = self.in_reg(reference);
        self.push_reg(non_null(reference.ty), r);
        self.branch_on_reference(relative_depth, r, IntCond::Ne);
        let s = self.pop();
        self.release(s);
        Ok(())
    }
    fn visit_ref_is_null(&mut self) -> CResult {
        self.int_eqz(I64);
        Ok(())
    }
    fn visit_ref_func(&mut self, function_index: u32) -> CResult {
        let r = self.alloc(false);
        self.load_vm_pointer(r, offsets::VMCTX_FUNC_REFS, function_index);
        self.push_reg(ValType::FUNCREF, r);
        Ok(())
    }
    fn visit_table_get(&mut self, table: u32) -> CResult {
        let ty = self.env_table_type(table);
        let index = self.pop();
        let r = self.in_reg(index);
        let element = self.table_element(table, r, TrapCode::TableOutOfBounds);
        self.masm.asm.load(LoadKind::I64, r, element);
        self.push_reg(ty, r);
        Ok(())
    }
    fn visit_table_set(&mut self, table: u32) -> CResult {
        self.keeps_references = true;
        let value = self.pop();
        let index = self.pop();
        let v = self.in_reg(value);
        let mut avoid = RegSet::default();
        avoid.insert(v);
        let i = self.in_reg_except(index, avoid);
        if keeps_entry_points(self.env.table_elements[table as usize]) {
            self.set_funcref_element(table, i, v);
        } else {
            let element = self.table_element(table, i, TrapCode::TableOutOfBounds);
            self.masm.asm.store(StoreKind::I64, element, v);
        }
        self.free_reg(v);
        self.free_reg(i);
        Ok(())
    }
    fn visit_table_size(&mut self, table: u32) -> CResult {
        let r = self.alloc(false);
        self.load_vm_pointer(r, offsets::VMCTX_TABLES, table);
        // No table grows past 2^32 elements (`MAX_TABLE_ELEMENTS`): the low half is all.
        self.masm.asm.load(LoadKind::U32, r, Mem::Base(r, offsets::TABLE_LENGTH));
        self.push_reg(index_type(self.table_is_64(table)), r);
        Ok(())
    }
    fn visit_table_grow(&mut self, table: u32) -> CResult {
        self.keeps_references = true;
        let r = self.helper(libcalls::table_grow as *const () as usize, &[table as i64], 2, false);
        self.push_grow_result(r, self.table_is_64(table));
        Ok(())
    }
    fn visit_table_fill(&mut self, table: u32) -> CResult {
        self.keeps_references = true;
        self.void_helper(libcalls::table_fill as *const () as usize, &[table as i64], 3)
    }
    fn visit_table_copy(&mut self, dst_table: u32, src_table: u32) -> CResult {
        self.void_helper(libcalls::table_copy as *const () as usize, &[dst_table as i64, src_table as i64], 3)
    }
    fn visit_table_init(&mut self, elem_index: u32, table: u32) -> CResult {
        self.void_helper(libcalls::table_init as *const () as usize, &[table as i64, elem_index as i64], 3)
    }
    fn visit_elem_drop(&mut self, elem_index: u32) -> CResult {
        self.void_helper(libcalls::elem_drop as *const () as usize, &[elem_index as i64], 0)
    }

    // ---- GC (compiler/gc.rs) ----

    fn visit_ref_eq(&mut self) -> CResult {
        self.ref_eq()
    }
    fn visit_struct_new(&mut self, struct_type_index: u32) -> CResult {
        self.struct_new(struct_type_index, false, false)
    }
    fn visit_struct_new_default(&mut self, struct_type_index: u32) -> CResult {
        self.struct_new(struct_type_index, true, false)
    }
    fn visit_struct_new_desc(&mut self, struct_type_index: u32) -> CResult {
        self.struct_new(struct_type_index, false, true)
    }
    fn visit_struct_new_default_desc(&mut self, struct_type_index: u32) -> CResult {
        self.struct_new(struct_type_index, true, true)
    }
    fn visit_ref_get_desc(&mut self, type_index: u32) -> CResult {
        self.ref_get_desc(type_index)
    }
    fn visit_ref_cast_desc_eq_non_null(&mut self, hty: HeapType) -> CResult {
        self.ref_cast_desc_eq(false, hty)
    }
    fn visit_ref_cast_desc_eq_nullable(&mut self, hty: HeapType) -> CResult {
        self.ref_cast_desc_eq(true, hty)
    }
    fn visit_br_on_cast_desc_eq(
        &mut self,
        relative_depth: u32,
        from_ref_type: wasmparser::RefType,
        to_ref_type: wasmparser::RefType,
    ) -> CResult {
        self.branch_on_cast(relative_depth, from_ref_type, to_ref_type, false, true)
    }
    fn visit_br_on_cast_desc_eq_fail(
        &mut self,
        relative_depth: u32,
        from_ref_type: wasmparser::RefType,
        to_ref_type: wasmparser::RefType,
    ) -> CResult {
        self.branch_on_cast(relative_depth, from_ref_type, to_ref_type, true, true)
    }
    fn visit_struct_get(&mut self, struct_type_index: u32, field_index: u32) -> CResult {
        self.struct_get(struct_type_index, field_index, false)
    }
    fn visit_struct_get_s(&mut self, struct_type_index: u32, field_index: u32) -> CResult {
        self.struct_get(struct_type_index, field_index, true)
    }
    fn visit_struct_get_u(&mut self, struct_type_index: u32, field_index: u32) -> CResult {
        self.struct_get(struct_type_index, field_index, false)
    }
    fn visit_struct_set(&mut self, struct_type_index: u32, field_index: u32) -> CResult {
        self.struct_set(struct_type_index, field_index)
    }
    fn visit_array_new(&mut self, array_type_index: u32) -> CResult {
        self.gc_allocate(libcalls::array_new as *const () as usize, array_type_index, &[0], 2)
    }
    fn visit_array_new_default(&mut self, array_type_index: u32) -> CResult {
        self.array_new_default(array_type_index)
    }
    fn visit_array_new_fixed(&mut self, array_type_index: u32, array_size: u32) -> CResult {
        self.array_new_fixed(array_type_index, array_size)
    }
    fn visit_array_new_data(&mut self, array_type_index: u32, array_data_index: u32) -> CResult {
        let addr = libcalls::array_new_data as *const () as usize;
        self.gc_allocate(addr, array_type_index, &[array_data_index as i64], 2)
    }
    fn visit_array_new_elem(&mut self, array_type_index: u32, array_elem_index: u32) -> CResult {
        let addr = libcalls::array_new_elem as *const () as usize;
        self.gc_allocate(addr, array_type_index, &[array_elem_index as i64], 2)
    }
    fn visit_array_get(&mut self, array_type_index: u32) -> CResult {
        self.array_get(array_type_index, false)
    }
    fn visit_array_get_s(&mut self, array_type_index: u32) -> CResult {
        self.array_get(array_type_index, true)
    }
    fn visit_array_get_u(&mut self, array_type_index: u32) -> CResult {
        self.array_get(array_type_index, false)
    }
    fn visit_array_set(&mut self, array_type_index: u32) -> CResult {
        self.array_set(array_type_index)
    }
    fn visit_array_len(&mut self) -> CResult {
        self.array_len()
    }
    fn visit_array_fill(&mut self, _array_type_index: u32) -> CResult {
        self.gc_bulk(libcalls::array_fill as *const () as usize, &[], 4)
    }
    fn visit_array_copy(&mut self, _array_type_index_dst: u32, _array_type_index_src: u32) -> CResult {
        self.gc_bulk(libcalls::array_copy as *const () as usize, &[], 5)
    }
    fn visit_array_init_data(&mut self, _array_type_index: u32, array_data_index: u32) -> CResult {
        self.gc_bulk(libcalls::array_init_data as *const () as usize, &[array_data_index as i64], 4)
    }
    fn visit_array_init_elem(&mut self, _array_type_index: u32, array_elem_index: u32) -> CResult {
        self.gc_bulk(libcalls::array_init_elem as *const () as usize, &[array_elem_index as i64], 4)
    }
    fn visit_ref_test_non_null(&mut self, hty: HeapType) -> CResult {
        self.ref_test(false, hty)
    }
    fn visit_ref_test_nullable(&mut self, hty: HeapType) -> CResult {
        self.ref_test(true, hty)
    }
    fn visit_ref_cast_non_null(&mut self, hty: HeapType) -> CResult {
        self.ref_cast(false, hty)
    }
    fn visit_ref_cast_nullable(&mut self, hty: HeapType) -> CResult {
        self.ref_cast(true, hty)
    }
    fn visit_br_on_cast(
        &mut self,
        relative_depth: u32,
        from_ref_type: wasmparser::RefType,
        to_ref_type: wasmparser::RefType,
    ) -> CResult {
        self.branch_on_cast(relative_depth, from_ref_type, to_ref_type, false, false)
    }
    fn visit_br_on_cast_fail(
        &mut self,
        relative_depth: u32,
        from_ref_type: wasmparser::RefType,
        to_ref_type: wasmparser::RefType,
    ) -> CResult {
        self.branch_on_cast(relative_depth, from_ref_type, to_ref_type, true, false)
    }
    fn visit_any_convert_extern(&mut self) -> CResult {
        self.convert_reference(crate::types::HeapType::Any)
    }
    fn visit_extern_convert_any(&mut self) -> CResult {
        self.convert_reference(crate::types::HeapType::Extern)
    }
    fn visit_ref_i31(&mut self) -> CResult {
        self.ref_i31()
    }
    fn visit_i31_get_s(&mut self) -> CResult {
        self.i31_get(true)
    }
    fn visit_i31_get_u(&mut self) -> CResult {
        self.i31_get(false)
    }
}

impl FuncCompiler<'_> {
    /// Whether table `table` is indexed by i64s (memory64's 64-bit tables).
    fn table_is_64(&self, table: u32) -> bool {
        self.env.table64.get(table as usize).copied().unwrap_or(false)
    }

    /// Pushes what `memory_grow` or `table_grow` returned in `r` (the old size, or
    /// u64::MAX for failure) as the grown object's index type: for an i32, truncated,
    /// which makes failure -1.
    fn push_grow_result(&mut self, r: Reg, is_64: bool) {
        if !is_64 {
            self.masm.asm.mov_rr(OperandSize::S32, r, r);
        }
        self.push_reg(index_type(is_64), r);
    }

    fn env_table_type(&self, table: u32) -> ValType {
        self.env.table_elements.get(table as usize).copied().unwrap_or(ValType::FUNCREF)
    }
}

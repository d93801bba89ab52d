//! Exception handling in the compiler: `try_table`, `throw`, `throw_ref`, and the legacy
//! `try` / `catch` / `catch_all` / `delegate` / `rethrow`.
//!
//! A throw creates the exception (for `throw`) and calls the process-wide throw stub,
//! which asks the unwinder (`runtime/unwind.rs`) for a handler and jumps to its landing
//! pad. A landing pad finds its frame as the unwinder left it: the payload (and exnref)
//! written into the frame slots the clause's label receives, every register clobbered.
//! It reloads the context and the pinned locals (`reload_after_landing`) and continues
//! like a branch to that label. Merge points keep everything below a frame in memory,
//! so nothing else needs restoring.

use super::codegen::{returns_in_rax, CResult, FuncCompiler, PendingCatch, PendingScope};
use super::control::{Frame, FrameKind};
use super::stack::Loc;
use crate::isa::x64::asm::{Cc, Mem};
use crate::isa::x64::regs::*;
use crate::runtime::libcalls;
use crate::trap::TrapCode;
use crate::types::{FuncType, ValType};
use wasmparser::{BlockType, Catch, TryTable};

use super::masm::{LoadKind, OperandSize};

impl<'a> FuncCompiler<'a> {
    /// A tag's type: its parameters are the payload's types.
    fn tag_type(&self, tag: u32) -> &'a FuncType {
        let env = self.env;
        &env.types[env.tags[tag as usize] as usize]
    }

    fn tag_params(&self, tag: u32) -> &'a [ValType] {
        self.tag_type(tag).params()
    }

    fn open_scope(&mut self, catches: Vec<PendingCatch>) -> u32 {
        let id = self.scopes.len() as u32;
        self.scopes.push(PendingScope { parent: self.current_scope, catches });
        id
    }

    fn push_handler_frame(&mut self, kind: FrameKind, bt: BlockType, scope: u32, exn_slot: i32) -> CResult {
        let (params, results) = self.block_signature(bt)?;
        let label = self.masm.asm.new_label();
        let height = self.stack.len() - params.len();
        self.control.push(Frame {
            kind,
            label,
            else_label: None,
            height,
            params,
            results,
            label_used: false,
            outer_scope: self.current_scope,
            scope: Some(scope),
            exn_slot,
            rethrown: false,
        });
        self.current_scope = Some(scope);
        Ok(())
    }

    pub(crate) fn enter_try_table(&mut self, table: &TryTable) -> CResult {
        if !self.reachable {
            self.dead_depth += 1;
            return Ok(());
        }
        let (params, _) = self.block_signature(table.ty)?;
        self.canonicalize_for_frame(params.len());
        // The landing pads go before the body, which jumps over them. Their labels are
        // counted from outside the try_table, as the control stack stands now.
        let body = self.masm.asm.new_label();
        self.masm.asm.jmp(body);
        let mut catches = Vec::with_capacity(table.catches.len());
        for catch in &table.catches {
            let (tag, with_ref, depth) = match *catch {
                Catch::One { tag, label } => (Some(tag), false, label),
                Catch::OneRef { tag, label } => (Some(tag), true, label),
                Catch::All { label } => (None, false, label),
                Catch::AllRef { label } => (None, true, label),
            };
            let payload = tag.map_or(0, |t| self.tag_params(t).len());
            let idx = self.frame_index(depth);
            let height = self.control[idx].height;
            let landing = self.masm.asm.new_label();
            self.masm.asm.bind(landing);
            self.reload_after_landing();
            let values = payload + usize::from(with_ref);
            self.reserve_depth(height + values);
            if self.control[idx].kind == FrameKind::Function {
                self.return_from_slots(height, values);
            } else {
                self.control[idx].label_used = true;
                let label = self.control[idx].label;
                self.masm.asm.jmp(label);
            }
            catches.push(PendingCatch {
                tag,
                landing,
                payload_slot: self.slot_offset(height as u32),
                exnref_slot: with_ref.then(|| self.slot_offset((height + payload) as u32)),
            });
        }
        self.masm.asm.bind(body);
        let scope = self.open_scope(catches);
        self.push_handler_frame(FrameKind::TryTable, table.ty, scope, 0)
    }

    /// A landing pad whose clause targets the function's own label: the values in the
    /// slots from `height` are the function's results.
    fn return_from_slots(&mut self, height: usize, count: usize) {
        debug_assert_eq!(count, self.num_results());
        if returns_in_rax(self.results()) {
            // An i32 or f32 comes back zero-extended in rax, as `emit_return` leaves it.
            let m = self.slot_mem(height as u32);
            let kind = match self.result_type(0) {
                ValType::I32 | ValType::F32 => LoadKind::U32,
                _ => LoadKind::I64,
            };
            self.masm.asm.load(kind, RAX, m);
        } else {
            for i in 0..count {
                let m = self.result_mem(i);
                self.store_loc(self.result_type(i), Loc::Stack((height + i) as u32), m);
            }
        }
        self.emit_epilogue();
    }

    /// Calls the throw stub with the exnref in rdi; it does not return here.
    fn call_throw_stub(&mut self) {
        self.masm.call_absolute(self.env.throw_stub);
        self.record_call_site();
        self.reachable = false;
    }

    pub(crate) fn throw(&mut self, tag: u32) -> CResult {
        let ty = self.tag_type(tag);
        self.store_outgoing_args(ty, true);
        self.max_outgoing = self.max_outgoing.max(ty.area_slots());
        self.save_pinned_for_call();
        let a = &mut self.masm.asm;
        a.mov_rr(OperandSize::S64, RDI, VMCTX);
        a.mov_ri(RSI, tag as i64);
        a.mov_rr(OperandSize::S64, RDX, RSP);
        self.masm.call_host(libcalls::exception_new as *const () as usize);
        self.masm.asm.mov_rr(OperandSize::S64, RDI, RAX);
        self.call_throw_stub();
        Ok(())
    }

    pub(crate) fn throw_ref(&mut self) -> CResult {
        let exn = self.pop();
        self.save_pinned_for_call();
        self.load_into(exn, RDI);
        self.masm.asm.test_rr(OperandSize::S64, RDI, RDI);
        self.masm.trap_if(Cc::E, TrapCode::NullExceptionReference);
        self.call_throw_stub();
        Ok(())
    }

    // ---- the legacy instructions ----

    pub(crate) fn enter_try(&mut self, bt: BlockType) -> CResult {
        if !self.reachable {
            self.dead_depth += 1;
            return Ok(());
        }
        let (params, _) = self.block_signature(bt)?;
        self.canonicalize_for_frame(params.len());
        let scope = self.open_scope(Vec::new());
        let exn_slot = self.next_exn_slot();
        self.push_handler_frame(FrameKind::Try, bt, scope, exn_slot)
    }

    /// `catch tag` (or `catch_all` for `None`): ends the try body or the previous catch
    /// body, and starts this clause's body at its landing pad.
    pub(crate) fn legacy_catch(&mut self, tag: Option<u32>) -> CResult {
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
        let frame = &mut self.control[idx];
        frame.kind = FrameKind::Catch;
        let (scope, exn_slot) = (frame.scope.unwrap_or_default(), frame.exn_slot);
        self.current_scope = frame.outer_scope;
        let landing = self.masm.asm.new_label();
        self.masm.asm.bind(landing);
        self.reload_after_landing();
        let params = tag.map_or(&[][..], |t| self.tag_params(t));
        self.reset_stack(height, params);
        let payload_slot = self.slot_offset(height as u32);
        self.scopes[scope as usize].catches.push(PendingCatch {
            tag,
            landing,
            payload_slot,
            exnref_slot: Some(exn_slot),
        });
        self.reachable = true;
        Ok(())
    }

    /// `delegate depth`: ends the try block; what its body throws goes on as if thrown
    /// directly in the body of the frame `depth` levels outside the try.
    pub(crate) fn legacy_delegate(&mut self, depth: u32) -> CResult {
        if self.dead_depth > 0 {
            self.dead_depth -= 1;
            return Ok(());
        }
        let idx = self.control.len() - 1;
        let target = idx - 1 - depth as usize;
        let parent = self.control[target].body_scope();
        if let Some(scope) = self.control[idx].scope {
            self.scopes[scope as usize].parent = parent;
        }
        self.end_frame()
    }

    pub(crate) fn legacy_rethrow(&mut self, depth: u32) -> CResult {
        let idx = self.frame_index(depth);
        self.control[idx].rethrown = true;
        let slot = self.control[idx].exn_slot;
        self.save_pinned_for_call();
        self.masm.asm.load(LoadKind::I64, RDI, Mem::Base(RBP, slot));
        self.call_throw_stub();
        Ok(())
    }
}

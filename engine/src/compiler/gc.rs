//! GC's instructions in the compiler: structs, arrays, `i31`, `ref.eq` and casts.
//!
//! Field and element accesses are inline: a null check, for arrays a bounds check
//! against the length in the header, and one load or store at an offset the type
//! fixes (`types::GcLayout`). Allocation and the bulk array operations call runtime
//! helpers (`libcalls.rs`) with their operands in the outgoing area, 16 bytes apart.
//!
//! A reference in the `any` hierarchy is one word (`values.rs`): odd for an `i31`,
//! ending in binary 10 for a host value, else an object's address, whose header
//! (`types::OBJECT_HEADER`) holds its type's supertype chain and its kind. Casts read
//! those; a cast to a defined type compares one entry of the chain, as `call_indirect`
//! does for function types that may have subtypes.
//!
//! Null and tag checks never trust the compiler's own operand types, which merge
//! references of one nullability and hierarchy (`ValType::as_slice`): only the
//! validator's types (`br_on_cast`'s) skip a check.

use super::codegen::{store_kind, CResult, FuncCompiler, HelperArg};
use super::masm::{AluOp, IntCond, LoadKind, OperandSize, ShiftOp, StoreKind};
use super::stack::{Loc, RegSet};
use crate::isa::x64::asm::{Cc, Mem};
use crate::isa::x64::regs::*;
use crate::runtime::libcalls;
use crate::runtime::vmcontext::{offsets, VMFuncRef};
use crate::trap::TrapCode;
use crate::types::{
    array_object_bytes, kind_word, FieldType, FuncType, HeapType, ObjectKind, RefType, StorageType, ValType,
    ARRAY_LENGTH, DESCRIBED_BYTE, DESCRIPTOR_OFFSET, MAX_SUBTYPE_CHAIN, OBJECT_HEADER, OBJECT_KIND,
};
use dynasmrt::DynamicLabel;

/// The largest array `array.new_default` with a constant length allocates in line
/// (its elements' bytes): beyond, the helper's large-object path is the better deal.
const INLINE_ARRAY_BYTES: u64 = 4096;

fn load_kind_of(storage: StorageType, signed: bool) -> LoadKind {
    match (storage, signed) {
        (StorageType::I8, true) => LoadKind::S8To32,
        (StorageType::I8, false) => LoadKind::U8,
        (StorageType::I16, true) => LoadKind::S16To32,
        (StorageType::I16, false) => LoadKind::U16,
        (StorageType::Val(v), _) => super::codegen::load_kind(v),
    }
}

fn store_kind_of(storage: StorageType) -> StoreKind {
    match storage {
        StorageType::I8 => StoreKind::I8,
        StorageType::I16 => StoreKind::I16,
        StorageType::Val(v) => store_kind(v),
    }
}

impl<'a> FuncCompiler<'a> {
    fn defined_type(&self, index: u32) -> &'a FuncType {
        &self.env.types[index as usize]
    }

    /// A non-null reference to the module's type `index`.
    fn object_type(&self, index: u32) -> ValType {
        ValType::Ref(RefType::new(false, HeapType::Concrete(self.env.type_ids[index as usize])))
    }

    fn struct_field(&self, type_index: u32, field: u32) -> (FieldType, i32) {
        let layout = self.defined_type(type_index).layout().expect("validated struct type");
        (layout.fields[field as usize], layout.offsets[field as usize] as i32)
    }

    fn array_element(&self, type_index: u32) -> FieldType {
        self.defined_type(type_index).array_element().expect("validated array type")
    }

    /// Stores the top `n` operands into the outgoing area, 16 bytes apart, and pops them.
    fn operands_to_area(&mut self, n: usize) {
        let top = self.stack.len() - n;
        for i in 0..n {
            let s = self.stack[top + i];
            let m = Mem::Base(RSP, 16 * i as i32);
            if s.ty == ValType::V128 {
                // A constant v128 is only known to be zero; a register has all of it.
                let fresh = s.reg().is_none();
                let r = self.in_reg(s);
                self.masm.asm.store(StoreKind::V128, m, r);
                if fresh {
                    self.free_reg(r);
                }
            } else {
                self.store_loc(s.ty, s.loc, m);
            }
        }
        for _ in 0..n {
            let s = self.pop();
            self.release(s);
        }
        self.max_outgoing = self.max_outgoing.max(2 * n);
    }

    /// Calls helper `addr` with (vmctx, `imms`..., the outgoing area) after moving the top
    /// `operands` there. Returns rax.
    fn call_with_area(&mut self, addr: usize, imms: &[i64], operands: usize, traps: bool) -> Reg {
        // Every such helper allocates or writes an object (and an allocation may run
        // the embedder's GC pressure hook).
        self.keeps_references = true;
        self.operands_to_area(operands);
        let mut args = [HelperArg::Vmctx; 6];
        for (slot, &v) in args[1..].iter_mut().zip(imms) {
            *slot = HelperArg::Imm(v);
        }
        args[1 + imms.len()] = HelperArg::OutgoingArea;
        self.call_helper(addr, 0, &args[..2 + imms.len()], traps)
    }

    /// An allocating helper's call: pushes the new object of type `type_index`, or traps
    /// with the code the helper returned instead.
    pub(crate) fn gc_allocate(
        &mut self,
        addr: usize,
        type_index: u32,
        imms: &[i64],
        operands: usize,
    ) -> CResult {
        let mut all = vec![type_index as i64];
        all.extend_from_slice(imms);
        let r = self.call_with_area(addr, &all, operands, false);
        debug_assert_eq!(r, RAX);
        self.masm.trap_if_result_is_code(libcalls::FIRST_OBJECT_ADDRESS, self.env.trap_call);
        self.push_reg(self.object_type(type_index), r);
        Ok(())
    }

    /// Allocates an object of `size` bytes (a multiple of 8) in line: bumps the heap's
    /// pointer, or when the chunk is full calls the GC allocation stub, which keeps
    /// every register; writes the header (the type's chain, then `kind_word` and
    /// `length` as the two u32s after it); stores the top `fields.len()` operands at
    /// their offsets with their store kinds; pushes the new object of type `type_index`.
    fn allocate_inline(
        &mut self,
        type_index: u32,
        size: u32,
        kind_word: i32,
        length: u32,
        fields: &[(i32, StoreKind)],
    ) {
        // Its fields may take references, and a full chunk calls the GC allocation stub.
        self.keeps_references = true;
        let chain = self.defined_type(type_index).supertype_chain().as_ptr() as i64;
        let object = self.alloc(false);
        let bump = self.alloc_except(false, RegSet::from_regs(&[object]));
        let (fits, join) = (self.masm.asm.new_label(), self.masm.asm.new_label());
        let asm = &mut self.masm.asm;
        asm.load(LoadKind::I64, bump, Mem::Base(VMCTX, offsets::VMCTX_GC_BUMP));
        asm.load(LoadKind::I64, object, Mem::Base(bump, offsets::GC_BUMP_CURSOR));
        asm.lea(SCRATCH, Mem::Base(object, size as i32));
        asm.cmp_rm(OperandSize::S64, SCRATCH, Mem::Base(bump, offsets::GC_BUMP_END));
        asm.jcc(Cc::Be, fits);
        asm.mov_ri(SCRATCH, size as i64);
        asm.mov_gpr_to_xmm(OperandSize::S64, FLOAT_SCRATCH, SCRATCH);
        self.masm.call_stub(self.env.gc_alloc_stub);
        // Its trap's backtrace starts at this return address.
        self.masm.record_return_source();
        let asm = &mut self.masm.asm;
        asm.mov_rr(OperandSize::S64, object, SCRATCH);
        asm.jmp(join);
        asm.bind(fits);
        asm.store(StoreKind::I64, Mem::Base(bump, offsets::GC_BUMP_CURSOR), SCRATCH);
        asm.bind(join);
        self.free_reg(bump);
        // Fresh memory is zero: only the header's non-zero parts are written.
        self.masm.asm.mov_ri(SCRATCH, chain);
        self.masm.asm.store(StoreKind::I64, Mem::Base(object, 0), SCRATCH);
        self.masm.asm.store_imm(StoreKind::I32, Mem::Base(object, OBJECT_KIND), kind_word);
        if length != 0 {
            self.masm.asm.store_imm(StoreKind::I32, Mem::Base(object, ARRAY_LENGTH), length as i32);
        }
        let top = self.stack.len() - fields.len();
        for (i, &(offset, kind)) in fields.iter().enumerate() {
            let s = self.stack[top + i];
            let m = Mem::Base(object, offset);
            let wide = matches!(kind, StoreKind::I64 | StoreKind::F64);
            match s.loc {
                // Floats' constants are their bits.
                Loc::Const(c) if s.ty != ValType::V128 && (!wide || c as i32 as i64 == c) => {
                    let kind = match kind {
                        StoreKind::F32 => StoreKind::I32,
                        StoreKind::F64 => StoreKind::I64,
                        other => other,
                    };
                    self.masm.asm.store_imm(kind, m, c as i32);
                }
                _ => {
                    let fresh = s.reg().is_none();
                    let r = self.in_reg_except(s, RegSet::from_regs(&[object]));
                    self.masm.asm.store(kind, m, r);
                    if fresh {
                        self.free_reg(r);
                    }
                }
            }
        }
        for _ in 0..fields.len() {
            let s = self.pop();
            self.release(s);
        }
        self.push_reg(self.object_type(type_index), object);
    }

    /// `struct.new` (`default`: `struct.new_default`, no operands), in line; with
    /// `descriptor`, `struct.new_desc` and `struct.new_default_desc`, whose descriptor is
    /// the top operand (a null one traps).
    pub(crate) fn struct_new(&mut self, type_index: u32, default: bool, descriptor: bool) -> CResult {
        let layout = self.defined_type(type_index).layout().expect("validated struct type");
        let mut fields: Vec<(i32, StoreKind)> = if default {
            Vec::new()
        } else {
            layout
                .fields
                .iter()
                .zip(&layout.offsets[..])
                .map(|(f, &o)| (o as i32, store_kind_of(f.storage)))
                .collect()
        };
        if descriptor {
            let ty = self.peek(0).ty;
            let d = self.pop_descriptor();
            self.push_reg(ty, d);
            fields.push((DESCRIPTOR_OFFSET, StoreKind::I64));
        }
        self.allocate_inline(type_index, layout.size, layout.kind_word() as i32, 0, &fields);
        Ok(())
    }

    /// `ref.get_desc`: the descriptor of a struct of a type that has one.
    pub(crate) fn ref_get_desc(&mut self, type_index: u32) -> CResult {
        let descriptor =
            self.defined_type(type_index).descriptor_type_id().expect("validated described type");
        let s = self.pop();
        let r = self.in_reg(s);
        self.null_check(r, TrapCode::NullReference);
        self.masm.asm.load(LoadKind::I64, r, Mem::Base(r, DESCRIPTOR_OFFSET));
        self.push_reg(ValType::Ref(RefType::new(false, HeapType::Concrete(descriptor))), r);
        Ok(())
    }

    /// Jumps to `fail` unless the reference in `r` is null and `nullable`, or a struct
    /// whose descriptor is the one in `d` (not null). An object has a descriptor only if
    /// its type has one (`DESCRIBED_BYTE`), and then it is of the type that descriptor's
    /// type describes: below the cast's target, which validation checked through the
    /// descriptor's static type. Clobbers the scratch register and the flags.
    fn test_descriptor(&mut self, r: Reg, d: Reg, nullable: bool, fail: DynamicLabel) {
        let asm = &mut self.masm.asm;
        let done = asm.new_label();
        asm.test_rr(OperandSize::S64, r, r);
        asm.jcc(Cc::E, if nullable { done } else { fail });
        Self::fail_unless_address(asm, r, fail);
        asm.load(LoadKind::U8, SCRATCH, Mem::Base(r, DESCRIBED_BYTE));
        asm.test_rr(OperandSize::S32, SCRATCH, SCRATCH);
        asm.jcc(Cc::E, fail);
        asm.cmp_rm(OperandSize::S64, d, Mem::Base(r, DESCRIPTOR_OFFSET));
        asm.jcc(Cc::Ne, fail);
        asm.bind(done);
    }

    /// Pops the descriptor operand of a descriptor cast into a register, trapping if it
    /// is null.
    fn pop_descriptor(&mut self) -> Reg {
        let s = self.pop();
        let d = self.in_reg(s);
        self.null_check(d, TrapCode::NullDescriptorReference);
        d
    }

    /// `ref.cast_desc_eq`.
    pub(crate) fn ref_cast_desc_eq(&mut self, nullable: bool, heap: wasmparser::HeapType) -> CResult {
        let to = self.cast_target(nullable, heap)?;
        let d = self.pop_descriptor();
        let s = self.pop();
        let r = self.in_reg_except(s, RegSet::from_regs(&[d]));
        let fail = self.masm.trap_label(TrapCode::DescriptorCastFailure);
        self.test_descriptor(r, d, nullable, fail);
        self.free_reg(d);
        self.push_reg(ValType::Ref(to), r);
        Ok(())
    }

    /// An array of `n` elements of type `type_index` allocated in line, its elements
    /// from the top `n` operands (`with_operands`) or zero.
    fn allocate_array_inline(&mut self, type_index: u32, n: u32, with_operands: bool) {
        let element = self.array_element(type_index);
        let bytes = element.storage.bytes();
        // At most `INLINE_ARRAY_BYTES`: fits a u32.
        let size = array_object_bytes(n as u64, bytes as u64) as u32;
        let kind = store_kind_of(element.storage);
        let fields: Vec<(i32, StoreKind)> = match with_operands {
            true => (0..n).map(|i| ((OBJECT_HEADER + i * bytes) as i32, kind)).collect(),
            false => Vec::new(),
        };
        self.allocate_inline(type_index, size, kind_word(ObjectKind::Array, bytes) as i32, n, &fields);
    }

    /// `array.new_fixed`, in line.
    pub(crate) fn array_new_fixed(&mut self, type_index: u32, n: u32) -> CResult {
        self.allocate_array_inline(type_index, n, true);
        Ok(())
    }

    /// `array.new_default`: in line for a constant length up to `INLINE_ARRAY_BYTES` of
    /// elements (fresh memory is already zero), else through the helper.
    pub(crate) fn array_new_default(&mut self, type_index: u32) -> CResult {
        let bytes = self.array_element(type_index).storage.bytes();
        let length = self.peek(0).constant().map(|c| c as u32);
        match length {
            Some(n) if n as u64 * bytes as u64 <= INLINE_ARRAY_BYTES => {
                self.drop_constant();
                self.allocate_array_inline(type_index, n, false);
                Ok(())
            }
            _ => self.gc_allocate(libcalls::array_new as *const () as usize, type_index, &[1], 1),
        }
    }

    /// A bulk array helper's call, which returns 0 or a trap code.
    pub(crate) fn gc_bulk(&mut self, addr: usize, imms: &[i64], operands: usize) -> CResult {
        let r = self.call_with_area(addr, imms, operands, true);
        self.free_reg(r);
        Ok(())
    }

    /// Traps with `code` if the reference in `r` is null.
    fn null_check(&mut self, r: Reg, code: TrapCode) {
        self.masm.asm.test_rr(OperandSize::S64, r, r);
        self.masm.trap_if(Cc::E, code);
    }

    /// Loads into a new register what `m` (based on `base`, then freed) holds, and pushes it.
    fn push_loaded(&mut self, storage: StorageType, signed: bool, base: Reg, m: impl Fn(Reg) -> Mem) {
        let ty = storage.unpacked();
        let kind = load_kind_of(storage, signed);
        if ty.in_xmm() {
            let x = self.alloc(true);
            self.masm.asm.load(kind, x, m(base));
            self.free_reg(base);
            self.push_reg(ty, x);
        } else {
            self.masm.asm.load(kind, base, m(base));
            self.push_reg(ty, base);
        }
    }

    pub(crate) fn struct_get(&mut self, type_index: u32, field: u32, signed: bool) -> CResult {
        let (field, offset) = self.struct_field(type_index, field);
        let s = self.pop();
        let r = self.in_reg(s);
        self.null_check(r, TrapCode::NullStructReference);
        self.push_loaded(field.storage, signed, r, |r| Mem::Base(r, offset));
        Ok(())
    }

    pub(crate) fn struct_set(&mut self, type_index: u32, field: u32) -> CResult {
        self.keeps_references = true;
        let (field, offset) = self.struct_field(type_index, field);
        let value = self.pop();
        let object = self.pop();
        let v = self.in_reg(value);
        let o = self.in_reg_except(object, RegSet::from_regs(&[v]));
        self.null_check(o, TrapCode::NullStructReference);
        self.masm.asm.store(store_kind_of(field.storage), Mem::Base(o, offset), v);
        self.free_reg(v);
        self.free_reg(o);
        Ok(())
    }

    /// Checks the array in `a` and the index in `i` (zero-extended here), and returns
    /// the element's operand.
    fn element(&mut self, a: Reg, i: Reg, element: FieldType) -> Mem {
        self.null_check(a, TrapCode::NullArrayReference);
        self.masm.asm.mov_rr(OperandSize::S32, i, i);
        self.masm.asm.cmp_rm(OperandSize::S32, i, Mem::Base(a, ARRAY_LENGTH));
        self.masm.trap_if(Cc::Ae, TrapCode::ArrayOutOfBounds);
        let bytes = element.storage.bytes();
        if bytes == 16 {
            self.masm.asm.shift_ri(ShiftOp::Shl, OperandSize::S64, i, 4);
            Mem::Indexed(a, i, OBJECT_HEADER as i32)
        } else {
            Mem::Scaled(a, i, bytes.trailing_zeros() as u8, OBJECT_HEADER as i32)
        }
    }

    pub(crate) fn array_get(&mut self, type_index: u32, signed: bool) -> CResult {
        let element = self.array_element(type_index);
        let index = self.pop();
        let array = self.pop();
        let i = self.in_reg(index);
        let a = self.in_reg_except(array, RegSet::from_regs(&[i]));
        let m = self.element(a, i, element);
        // The index register takes the value; the array's is free after the load.
        self.push_loaded(element.storage, signed, i, |_| m);
        self.free_reg(a);
        Ok(())
    }

    pub(crate) fn array_set(&mut self, type_index: u32) -> CResult {
        self.keeps_references = true;
        let element = self.array_element(type_index);
        let value = self.pop();
        let index = self.pop();
        let array = self.pop();
        let v = self.in_reg(value);
        let i = self.in_reg_except(index, RegSet::from_regs(&[v]));
        let a = self.in_reg_except(array, RegSet::from_regs(&[v, i]));
        let m = self.element(a, i, element);
        self.masm.asm.store(store_kind_of(element.storage), m, v);
        for r in [v, i, a] {
            self.free_reg(r);
        }
        Ok(())
    }

    pub(crate) fn array_len(&mut self) -> CResult {
        let s = self.pop();
        let r = self.in_reg(s);
        self.null_check(r, TrapCode::NullArrayReference);
        self.masm.asm.load(LoadKind::U32, r, Mem::Base(r, ARRAY_LENGTH));
        self.push_reg(ValType::I32, r);
        Ok(())
    }

    pub(crate) fn ref_i31(&mut self) -> CResult {
        let s = self.pop();
        let ty = ValType::Ref(RefType::new(false, HeapType::I31));
        if let Some(c) = s.constant() {
            self.push_const(ty, ((c as u32) << 1 | 1) as i64);
            return Ok(());
        }
        let r = self.in_reg(s);
        // 2x + 1 in 32 bits drops x's top bit and zero-extends: the i31 word.
        self.masm.asm.lea_sized(OperandSize::S32, r, Mem::Indexed(r, r, 1));
        self.push_reg(ty, r);
        Ok(())
    }

    pub(crate) fn i31_get(&mut self, signed: bool) -> CResult {
        let s = self.pop();
        let r = self.in_reg(s);
        self.null_check(r, TrapCode::NullI31Reference);
        let op = if signed { ShiftOp::ShrS } else { ShiftOp::ShrU };
        self.masm.asm.shift_ri(op, OperandSize::S32, r, 1);
        self.push_reg(ValType::I32, r);
        Ok(())
    }

    pub(crate) fn ref_eq(&mut self) -> CResult {
        self.int_compare(ValType::I64, IntCond::Eq);
        Ok(())
    }

    /// `any.convert_extern` and `extern.convert_any`: the same word, now of type `to`'s
    /// hierarchy.
    pub(crate) fn convert_reference(&mut self, top: HeapType) -> CResult {
        let s = self.pop();
        let nullable = s.ty.as_ref_type().is_none_or(|r| r.nullable());
        self.push(ValType::Ref(RefType::new(nullable, top)), s.loc);
        Ok(())
    }

    /// A target type in the form the validator gives it.
    fn cast_target(&self, nullable: bool, heap: wasmparser::HeapType) -> CResult<RefType> {
        let heap = HeapType::from_wasmparser(heap, self.env.type_ids)
            .ok_or_else(|| crate::error::Error::Unsupported(format!("heap type {heap:?}")))?;
        Ok(RefType::new(nullable, heap))
    }

    fn ref_type(&self, r: wasmparser::RefType) -> CResult<RefType> {
        RefType::from_wasmparser(r, self.env.type_ids)
            .ok_or_else(|| crate::error::Error::Unsupported(format!("reference type {r:?}")).into())
    }

    /// Jumps to `fail` unless the reference in `r`, known to be of type `from`, is of
    /// type `to`; falls through when it is. Leaves `r` alone; clobbers the scratch
    /// register and the flags.
    fn test_reference(&mut self, r: Reg, from: RefType, to: RefType, fail: DynamicLabel) {
        let asm = &mut self.masm.asm;
        let done = asm.new_label();
        if from.nullable() {
            asm.test_rr(OperandSize::S64, r, r);
            asm.jcc(Cc::E, if to.nullable() { done } else { fail });
        }
        let (from_heap, heap) = (from.heap(), to.heap());
        if from_heap.matches(heap) {
            asm.bind(done);
            return;
        }
        // Whether the word may be an i31 or a host value rather than an address. With
        // custom descriptors, `br_on_cast` only needs `to` in `from`'s hierarchy, not
        // below it: `(ref i31)` may be cast to `(ref struct)`.
        let may_be_unboxed = matches!(from_heap, HeapType::Any | HeapType::Eq | HeapType::I31);
        match heap {
            HeapType::None | HeapType::NoFunc | HeapType::NoExtern | HeapType::NoExn => asm.jmp(fail),
            HeapType::Any | HeapType::Func | HeapType::Extern | HeapType::Exn => {}
            HeapType::Eq => {
                asm.mov_rr(OperandSize::S32, SCRATCH, r);
                asm.alu_ri(AluOp::And, OperandSize::S32, SCRATCH, 3);
                asm.cmp_ri(OperandSize::S32, SCRATCH, 2);
                asm.jcc(Cc::E, fail);
            }
            HeapType::I31 => {
                asm.mov_rr(OperandSize::S32, SCRATCH, r);
                asm.alu_ri(AluOp::And, OperandSize::S32, SCRATCH, 1);
                asm.jcc(Cc::E, fail);
            }
            HeapType::Struct | HeapType::Array => {
                if may_be_unboxed {
                    Self::fail_unless_address(asm, r, fail);
                }
                let kind = if heap == HeapType::Struct { ObjectKind::Struct } else { ObjectKind::Array };
                asm.load(LoadKind::U8, SCRATCH, Mem::Base(r, OBJECT_KIND));
                asm.cmp_ri(OperandSize::S32, SCRATCH, kind as i32);
                asm.jcc(Cc::Ne, fail);
            }
            HeapType::Concrete(id) | HeapType::Exact(id) => {
                let ty = FuncType::from_type_id(id).expect("a concrete type has an id");
                let chain_at = if ty.kind() == ObjectKind::Func {
                    std::mem::offset_of!(VMFuncRef, supertypes) as i32
                } else {
                    if may_be_unboxed {
                        Self::fail_unless_address(asm, r, fail);
                    }
                    0
                };
                asm.load(LoadKind::I64, SCRATCH, Mem::Base(r, chain_at));
                let depth = ty.depth() as i32;
                asm.cmp_mi(OperandSize::S32, Mem::Base(SCRATCH, 4 * depth), id as i32);
                asm.jcc(Cc::Ne, fail);
                // Exactly this type: nothing below it in the chain (the chain ends at
                // the object's own type, then zeros).
                if matches!(heap, HeapType::Exact(_)) && (depth as usize) < MAX_SUBTYPE_CHAIN - 1 {
                    asm.cmp_mi(OperandSize::S32, Mem::Base(SCRATCH, 4 * (depth + 1)), 0);
                    asm.jcc(Cc::Ne, fail);
                }
            }
        }
        asm.bind(done);
    }

    /// Jumps to `fail` if the word in `r` is an i31 or a host value.
    fn fail_unless_address(asm: &mut crate::isa::x64::asm::Assembler, r: Reg, fail: DynamicLabel) {
        asm.mov_rr(OperandSize::S32, SCRATCH, r);
        asm.alu_ri(AluOp::And, OperandSize::S32, SCRATCH, 3);
        asm.jcc(Cc::Ne, fail);
    }

    /// What a reference of unknown static type may be, in `to`'s hierarchy.
    fn any_of_hierarchy(to: RefType) -> RefType {
        RefType::new(true, to.heap().top())
    }

    pub(crate) fn ref_test(&mut self, nullable: bool, heap: wasmparser::HeapType) -> CResult {
        let to = self.cast_target(nullable, heap)?;
        let s = self.pop();
        let r = self.in_reg(s);
        let (fail, done) = (self.masm.asm.new_label(), self.masm.asm.new_label());
        self.test_reference(r, Self::any_of_hierarchy(to), to, fail);
        self.masm.asm.mov_ri(r, 1);
        self.masm.asm.jmp(done);
        self.masm.asm.bind(fail);
        self.masm.asm.mov_ri(r, 0);
        self.masm.asm.bind(done);
        self.push_reg(ValType::I32, r);
        Ok(())
    }

    pub(crate) fn ref_cast(&mut self, nullable: bool, heap: wasmparser::HeapType) -> CResult {
        let to = self.cast_target(nullable, heap)?;
        let s = self.pop();
        let r = self.in_reg(s);
        let fail = self.masm.trap_label(TrapCode::CastFailure);
        self.test_reference(r, Self::any_of_hierarchy(to), to, fail);
        self.push_reg(ValType::Ref(to), r);
        Ok(())
    }

    /// `br_on_cast` (`on_failure` false) and `br_on_cast_fail`; with `descriptor`,
    /// `br_on_cast_desc_eq` and `br_on_cast_desc_eq_fail`, whose descriptor is the top
    /// operand (a null one traps).
    pub(crate) fn branch_on_cast(
        &mut self,
        relative_depth: u32,
        from: wasmparser::RefType,
        to: wasmparser::RefType,
        on_failure: bool,
        descriptor: bool,
    ) -> CResult {
        let (from, to) = (self.ref_type(from)?, self.ref_type(to)?);
        // What fails the cast: `from` without null when `to` takes null.
        let rest = if to.nullable() { from.with_nullable(false) } else { from };
        let (taken, fallthrough) = if on_failure { (rest, to) } else { (to, rest) };
        let d = descriptor.then(|| self.pop_descriptor());
        let s = self.pop();
        let r = self.in_reg_except(s, RegSet::from_regs(d.as_slice()));
        // The reference goes with the branch, so it stays on the stack for it.
        self.push_reg(ValType::Ref(taken), r);
        if self.targets_function(relative_depth) {
            self.prepare_return();
        }
        let (fail, skip) = (self.masm.asm.new_label(), self.masm.asm.new_label());
        match d {
            Some(d) => {
                self.test_descriptor(r, d, to.nullable(), fail);
                self.free_reg(d);
            }
            None => self.test_reference(r, from, to, fail),
        }
        if on_failure {
            self.masm.asm.jmp(skip);
            self.masm.asm.bind(fail);
            self.branch(relative_depth);
        } else {
            self.branch(relative_depth);
            self.masm.asm.bind(fail);
        }
        self.masm.asm.bind(skip);
        let s = self.pop();
        self.push(ValType::Ref(fallthrough), s.loc);
        Ok(())
    }
}

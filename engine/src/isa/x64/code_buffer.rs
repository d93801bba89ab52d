//! The buffer machine code is assembled into, and the fast path for hand-encoded
//! instructions.
//!
//! dynasmrt's `VecAssembler` appends byte by byte, and since a byte store may alias the
//! vector's own length and pointer, every byte costs a reload, a capacity check and a
//! store: emitting was a tenth of compile time. Here an instruction is encoded by an
//! `Inst`, which writes into the spare capacity through a pointer of its own and sets the
//! length once at the end (encoding into a stack array and copying it over cost 1.2 %
//! more compile instructions). The buffer also implements
//! dynasm's traits (with dynasmrt's own label and relocation registries), so the
//! instructions written with `dynasm!` land in the same place, and it keeps its
//! allocations from one function to the next.
//!
//! Jumps to labels, the most frequent references, are not dynasm relocations: `jump`
//! encodes them by hand and keeps the rel32 field's position beside the label, and
//! `resolve_in_place` writes each with one store. dynasmrt's generic relocation (a
//! 48-byte record made when emitting, decoded again when patching) cost about 1 % of
//! compile time.

use dynasmrt::components::{LabelRegistry, PatchLoc, RelocRegistry, StaticLabel};
use dynasmrt::x64::X64Relocation;
use dynasmrt::{AssemblyOffset, DynamicLabel, DynasmApi, DynasmError, DynasmLabelApi, LabelKind, TargetKind};

/// The longest x86-64 instruction is 15 bytes.
const MAX_INST: usize = 16;

/// One instruction being encoded, written straight into the code buffer's spare
/// capacity (`CodeBuffer::begin`) and committed by `finish`. The write position is a
/// field of this (register-held) value, not of the vector, so a byte store costs no
/// reload; the borrow of the buffer keeps anything else from touching it meanwhile.
pub struct Inst<'a> {
    buffer: &'a mut Vec<u8>,
    at: *mut u8,
    len: usize,
}

impl Inst<'_> {
    #[inline]
    pub fn byte(&mut self, b: u8) {
        // SAFETY: `begin` reserved MAX_INST bytes at `at`, and the mask keeps every write
        // inside them (an instruction has at most 15 bytes).
        unsafe { *self.at.add(self.len & (MAX_INST - 1)) = b };
        self.len += 1;
    }

    #[inline]
    pub fn slice(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.byte(b);
        }
    }

    /// A one-byte opcode, a two-byte one in the 0x0F map (`0x0FAF`), or a three-byte one
    /// in the 0x0F38 / 0x0F3A maps (`0x0F3800`).
    #[inline]
    pub fn opcode(&mut self, opcode: u32) {
        if opcode > 0xFFFF {
            self.byte((opcode >> 16) as u8);
        }
        if opcode > 0xFF {
            self.byte((opcode >> 8) as u8);
        }
        self.byte(opcode as u8);
    }

    #[inline]
    pub fn imm32(&mut self, v: i32) {
        let [a, b, c, d] = v.to_le_bytes();
        self.byte(a);
        self.byte(b);
        self.byte(c);
        self.byte(d);
    }

    /// Appends the instruction to the code.
    #[inline]
    pub fn finish(self) {
        debug_assert!(self.len <= 15, "instruction longer than 15 bytes");
        let written = self.len.min(MAX_INST);
        // SAFETY: the `written` bytes past the vector's length were initialized by `byte`
        // (positions 0..len, or all MAX_INST when len wrapped), inside the capacity
        // `begin` reserved; the exclusive borrow kept the vector unchanged since.
        unsafe { self.buffer.set_len(self.buffer.len() + written) };
    }
}

#[derive(Debug)]
pub struct CodeBuffer {
    bytes: Vec<u8>,
    labels: LabelRegistry,
    relocs: RelocRegistry<X64Relocation>,
    /// The rel32 field of each `jump`, by its position in the code, and its target.
    jumps: Vec<(u32, DynamicLabel)>,
    error: Option<DynasmError>,
}

impl Default for CodeBuffer {
    fn default() -> Self {
        CodeBuffer {
            bytes: Vec::new(),
            labels: LabelRegistry::new(),
            relocs: RelocRegistry::new(),
            jumps: Vec::new(),
            error: None,
        }
    }
}

impl CodeBuffer {
    pub fn reserve(&mut self, bytes: usize) {
        self.bytes.reserve(bytes);
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Starts an instruction at the end of the code (see `Inst`).
    #[inline]
    pub fn begin(&mut self) -> Inst<'_> {
        self.bytes.reserve(MAX_INST);
        let len = self.bytes.len();
        // SAFETY: `reserve` made the capacity at least `len + MAX_INST`, so the pointer
        // stays inside the allocation.
        let at = unsafe { self.bytes.as_mut_ptr().add(len) };
        Inst { buffer: &mut self.bytes, at, len: 0 }
    }

    /// A jump to `label` with a 32-bit displacement: `opcode` is `jmp`'s (`0xE9`) or a
    /// `jcc`'s (`0x0F8x`). The displacement is written when the code is finished.
    #[inline]
    pub fn jump(&mut self, opcode: u32, label: DynamicLabel) {
        let mut inst = self.begin();
        inst.opcode(opcode);
        inst.imm32(0);
        inst.finish();
        self.jumps.push(((self.bytes.len() - 4) as u32, label));
    }

    pub fn new_dynamic_label(&mut self) -> DynamicLabel {
        self.labels.new_dynamic_label()
    }

    pub fn labels(&self) -> &LabelRegistry {
        &self.labels
    }

    /// Resolves every label reference and returns the code, leaving the buffer empty:
    /// the label and relocation tables keep their allocations, the code moves out.
    pub fn finish(&mut self) -> Result<Vec<u8>, DynasmError> {
        let result = self.resolve_in_place().map(|()| std::mem::take(&mut self.bytes));
        self.clear();
        result
    }

    pub fn code(&self) -> &[u8] {
        &self.bytes
    }

    pub fn code_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// Forgets everything emitted and every label.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.labels.clear();
        self.jumps.clear();
        // Resolving drains these; an error may have left some behind.
        self.relocs.take_statics().for_each(drop);
        self.relocs.take_dynamics().for_each(drop);
        self.error = None;
    }

    /// Resolves every label reference in place: the code stays here, to be patched
    /// (`code_mut`) and copied out before `clear` empties the buffer, keeping its
    /// allocation for the next function.
    pub fn resolve_in_place(&mut self) -> Result<(), DynasmError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        for (loc, label) in self.relocs.take_statics() {
            let target = self.labels.resolve_static(&label)?;
            let kind = if label.is_global() {
                TargetKind::Global(label.get_name())
            } else {
                TargetKind::Local(label.get_name())
            };
            loc.patch(&mut self.bytes[loc.range(0)], 0, target.0)
                .map_err(|_| DynasmError::ImpossibleRelocation(kind))?;
        }
        for &(field, label) in &self.jumps {
            let target = self.labels.resolve_dynamic(label)?;
            // Relative to the end of the field, which ends the instruction.
            let displacement = target.0 as i64 - (i64::from(field) + 4);
            let displacement = i32::try_from(displacement)
                .map_err(|_| DynasmError::ImpossibleRelocation(TargetKind::Dynamic(label)))?;
            let field = field as usize;
            self.bytes[field..field + 4].copy_from_slice(&displacement.to_le_bytes());
        }
        for (loc, id) in self.relocs.take_dynamics() {
            let target = self.labels.resolve_dynamic(id)?;
            loc.patch(&mut self.bytes[loc.range(0)], 0, target.0)
                .map_err(|_| DynasmError::ImpossibleRelocation(TargetKind::Dynamic(id)))?;
        }
        Ok(())
    }
}

impl Extend<u8> for CodeBuffer {
    fn extend<T: IntoIterator<Item = u8>>(&mut self, iter: T) {
        self.bytes.extend(iter)
    }
}

impl<'a> Extend<&'a u8> for CodeBuffer {
    fn extend<T: IntoIterator<Item = &'a u8>>(&mut self, iter: T) {
        self.bytes.extend(iter)
    }
}

impl DynasmApi for CodeBuffer {
    fn offset(&self) -> AssemblyOffset {
        AssemblyOffset(self.bytes.len())
    }

    fn push(&mut self, byte: u8) {
        self.bytes.push(byte);
    }

    fn align(&mut self, alignment: usize, with: u8) {
        while !self.bytes.len().is_multiple_of(alignment) {
            self.bytes.push(with);
        }
    }
}

// Code is assembled at offset 0 and copied into executable memory later, so
// `resolve_in_place` patches with base address 0: right for the relative relocations the
// assembler uses (jumps, RIP-relative loads), wrong for an absolute one, which it must
// never emit.
impl DynasmLabelApi for CodeBuffer {
    type Relocation = X64Relocation;

    fn local_label(&mut self, name: &'static str) {
        let offset = self.offset();
        self.labels.define_local(name, offset);
    }

    fn global_label(&mut self, name: &'static str) {
        let offset = self.offset();
        if let Err(e) = self.labels.define_global(name, offset) {
            self.error = Some(e);
        }
    }

    fn dynamic_label(&mut self, id: DynamicLabel) {
        let offset = self.offset();
        if let Err(e) = self.labels.define_dynamic(id, offset) {
            self.error = Some(e);
        }
    }

    fn forward_relocation(
        &mut self,
        name: &'static str,
        target_offset: isize,
        field_offset: u8,
        ref_offset: u8,
        kind: X64Relocation,
    ) {
        let label = match self.labels.place_local_reference(name) {
            Some(label) => label.next(),
            None => StaticLabel::first(name),
        };
        let loc = PatchLoc::new(self.offset(), target_offset, field_offset, ref_offset, kind);
        self.relocs.add_static(label, loc);
    }

    fn backward_relocation(
        &mut self,
        name: &'static str,
        target_offset: isize,
        field_offset: u8,
        ref_offset: u8,
        kind: X64Relocation,
    ) {
        match self.labels.place_local_reference(name) {
            Some(label) => {
                let loc = PatchLoc::new(self.offset(), target_offset, field_offset, ref_offset, kind);
                self.relocs.add_static(label, loc);
            }
            None => self.error = Some(DynasmError::UnknownLabel(LabelKind::Local(name))),
        }
    }

    fn global_relocation(
        &mut self,
        name: &'static str,
        target_offset: isize,
        field_offset: u8,
        ref_offset: u8,
        kind: X64Relocation,
    ) {
        let loc = PatchLoc::new(self.offset(), target_offset, field_offset, ref_offset, kind);
        self.relocs.add_static(StaticLabel::global(name), loc);
    }

    fn dynamic_relocation(
        &mut self,
        id: DynamicLabel,
        target_offset: isize,
        field_offset: u8,
        ref_offset: u8,
        kind: X64Relocation,
    ) {
        let loc = PatchLoc::new(self.offset(), target_offset, field_offset, ref_offset, kind);
        self.relocs.add_dynamic(id, loc);
    }

    fn value_relocation(&mut self, value: usize, field_offset: u8, ref_offset: u8, kind: X64Relocation) {
        let loc = PatchLoc::new(self.offset(), 0, field_offset, ref_offset, kind);
        if loc.patch(&mut self.bytes[loc.range(0)], 0, value).is_err() {
            self.error = Some(DynasmError::ImpossibleRelocation(TargetKind::Value(value)));
        }
    }
}

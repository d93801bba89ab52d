//! The first pass over a function body: each operator is decoded once and, in the same
//! visit, validated by wasmparser, weighed for register pinning (`locals.rs`) and kept
//! for the compile pass.
//!
//! Visiting the decoder directly, instead of reading `Operator`s and matching on each
//! again for the validator and for the use scan, saves two dispatches per operator: the
//! use scan's match folds away inside each `visit_*` method, where the operator is known.
//! The most frequent operators are decoded here (`visit_next`), the rest by wasmparser's
//! decoder; either way the same `visit_*` method sees them, but for plain memory
//! accesses, which `visit_next` validates and keeps itself.

use super::locals::UseScan;
use std::mem::ManuallyDrop;
use wasmparser::{
    BinaryReader, BlockType, FrameKind, FrameStack, MemArg, MemArgTarget, Operator, ValType, VisitOperator,
    VisitSimdOperator,
};

pub struct FirstPass<'s, 'a, V> {
    /// wasmparser's validator for this one operator (it is made per offset).
    pub validator: V,
    pub uses: &'s mut UseScan,
    pub operators: &'s mut Vec<Operator<'a>>,
}

impl<'a, V> FirstPass<'_, 'a, V> {
    /// Weighs the operator `build` makes and buffers it, built in the buffer: built on
    /// the stack (as `push(op)` did, with the use scan's calls after building it), its
    /// narrow stores were copied with 16-byte loads, which the CPU cannot forward from
    /// them, a stall on every operator (lightningcss compiles 5-6 % faster without it). So
    /// the scan weighs a copy, which it only reads, and the one buffered is built after
    /// that, with room already made, so nothing is called between building and storing.
    /// `owns_memory` (a constant per operator) says whether the operator may own heap
    /// memory, which the scan's copy must then free.
    #[inline(always)]
    fn keep(&mut self, owns_memory: bool, build: impl Fn() -> Operator<'a>) {
        let scanned = ManuallyDrop::new(build());
        self.uses.observe(&scanned, self.operators.last());
        if owns_memory {
            self.uses.operators_own_memory = true;
            drop(ManuallyDrop::into_inner(scanned));
        }
        self.operators.reserve(1);
        let len = self.operators.len();
        self.operators.spare_capacity_mut()[0].write(build());
        // SAFETY: the slot after the first `len` was just initialized.
        unsafe { self.operators.set_len(len + 1) };
    }
}

/// The operators decoded here rather than by wasmparser's decoder, by opcode: the most
/// frequent ones whose immediates `BinaryReader` can read publicly, each with its reader
/// method (`-` for none), and the plain memory accesses with their natural alignment
/// (`max_align`), as in wasmparser's own decoder. (`end`, which can close the function,
/// has an arm of its own in `visit_next`.)
macro_rules! for_each_common_operator {
    ($m:ident) => {
        $m! {
            0x0C => visit_br(read_var_u32)
            0x0D => visit_br_if(read_var_u32)
            0x0F => visit_return(-)
            0x10 => visit_call(read_var_u32)
            0x1A => visit_drop(-)
            0x1B => visit_select(-)
            0x20 => visit_local_get(read_var_u32)
            0x21 => visit_local_set(read_var_u32)
            0x22 => visit_local_tee(read_var_u32)
            0x23 => visit_global_get(read_var_u32)
            0x24 => visit_global_set(read_var_u32)
            0x41 => visit_i32_const(read_var_i32)
            0x42 => visit_i64_const(BinaryReader::read_var_i64)
            0x45 => visit_i32_eqz(-)
            0x46 => visit_i32_eq(-)
            0x47 => visit_i32_ne(-)
            0x48 => visit_i32_lt_s(-)
            0x49 => visit_i32_lt_u(-)
            0x4A => visit_i32_gt_s(-)
            0x4B => visit_i32_gt_u(-)
            0x4C => visit_i32_le_s(-)
            0x4D => visit_i32_le_u(-)
            0x4E => visit_i32_ge_s(-)
            0x4F => visit_i32_ge_u(-)
            0x50 => visit_i64_eqz(-)
            0x6A => visit_i32_add(-)
            0x6B => visit_i32_sub(-)
            0x6C => visit_i32_mul(-)
            0x71 => visit_i32_and(-)
            0x72 => visit_i32_or(-)
            0x73 => visit_i32_xor(-)
            0x74 => visit_i32_shl(-)
            0x75 => visit_i32_shr_s(-)
            0x76 => visit_i32_shr_u(-)
            0x7C => visit_i64_add(-)
            0x7D => visit_i64_sub(-)
            0x83 => visit_i64_and(-)
            0xA7 => visit_i32_wrap_i64(-)
            0xAD => visit_i64_extend_i32_u(-)
            @block {
            0x02 => visit_block
            0x03 => visit_loop
            0x04 => visit_if
            }
            @memory {
            0x28 => visit_i32_load(2) I32Load
            0x29 => visit_i64_load(3) I64Load
            0x2A => visit_f32_load(2) F32Load
            0x2B => visit_f64_load(3) F64Load
            0x2C => visit_i32_load8_s(0) I32Load8S
            0x2D => visit_i32_load8_u(0) I32Load8U
            0x2E => visit_i32_load16_s(1) I32Load16S
            0x2F => visit_i32_load16_u(1) I32Load16U
            0x30 => visit_i64_load8_s(0) I64Load8S
            0x31 => visit_i64_load8_u(0) I64Load8U
            0x32 => visit_i64_load16_s(1) I64Load16S
            0x33 => visit_i64_load16_u(1) I64Load16U
            0x34 => visit_i64_load32_s(2) I64Load32S
            0x35 => visit_i64_load32_u(2) I64Load32U
            0x36 => visit_i32_store(2) I32Store
            0x37 => visit_i64_store(3) I64Store
            0x38 => visit_f32_store(2) F32Store
            0x39 => visit_f64_store(3) F64Store
            0x3A => visit_i32_store8(0) I32Store8
            0x3B => visit_i32_store16(1) I32Store16
            0x3C => visit_i64_store8(0) I64Store8
            0x3D => visit_i64_store16(1) I64Store16
            0x3E => visit_i64_store32(2) I64Store32
            }
        }
    };
}

macro_rules! decode_common {
    (
        $($opcode:literal => $visit:ident($($read:tt)*))*
        @block { $($block_opcode:literal => $block_visit:ident)* }
        @memory { $($memory_opcode:literal => $memory_visit:ident($max_align:literal) $variant:ident)* }
    ) => {
        /// Decodes and visits the operator at the reader, whose first byte `opcode` is.
        /// wasmparser's `BinaryReader::visit_operator` is one function over every opcode,
        /// whose entry and exit (with rustc 1.95 and fat LTO: a 0x338-byte frame, six
        /// saved registers) cost more than decoding a common operator: those are decoded
        /// here, the rest there.
        #[inline(always)]
        pub fn visit_next(&mut self, reader: &mut BinaryReader<'a>, opcode: u8) -> wasmparser::Result<()> {
            match opcode {
                0x0B => {
                    reader.read_u8()?;
                    self.visit_end()?;
                    // wasmparser's decoder refuses any operator after the function's final
                    // `end`: it takes the next one, if any, at once. Only `end` closes the
                    // function's own block (`delegate` closes a `try`), so operators need
                    // no check of their own that it is still open.
                    if self.validator.current_frame().is_none() && !reader.eof() {
                        return reader.visit_operator(self)?;
                    }
                    Ok(())
                }
                $($opcode => {
                    reader.read_u8()?;
                    decode_common!(@visit self, reader, $visit, $($read)*)
                })*
                $($block_opcode => match read_plain_block_type(reader) {
                    Some(blockty) => self.$block_visit(blockty),
                    None => reader.visit_operator(self)?,
                })*
                // The immediate comes back in registers and the `MemArg` is built field by
                // field where it is used: passed in memory, built with narrow stores and
                // copied with wide loads, it stalled as `keep` explains. This does what
                // `visit_plain`'s method for the operator does (validate, then keep): a
                // change there must be made here too.
                $($memory_opcode => match read_plain_memarg(reader) {
                    Some(immediate) => {
                        let (align, offset) = immediate?;
                        let memarg = move || MemArg {
                            align,
                            max_align: $max_align,
                            offset: u64::from(offset),
                            target: MemArgTarget::Memory(0),
                            ordering: None,
                        };
                        self.validator.$memory_visit(memarg())?;
                        self.keep(false, || Operator::$variant { memarg: memarg() });
                        Ok(())
                    }
                    None => reader.visit_operator(self)?,
                })*
                _ => reader.visit_operator(self)?,
            }
        }
    };
    (@visit $self:ident, $reader:ident, $visit:ident, -) => { $self.$visit() };
    (@visit $self:ident, $reader:ident, $visit:ident, $read:path) => {{
        let immediate = $read($reader)?;
        $self.$visit(immediate)
    }};
}

/// `BinaryReader::read_var_u32` with its one-byte case inlined: an index below 128,
/// nearly every one, then costs a byte read instead of a call. (Inlining the whole
/// decoding of `i32.const` and `i64.const` immediates cost more than it saved:
/// `visit_next` grew past what is inlined into it; `read_var_i32` inlines only the
/// one-byte case.) The byte is read as an `Option`: matched as a `Result`, whose error
/// owns memory, its drop was a call at every index (1.4 % of sql.js's compile).
#[inline(always)]
fn read_var_u32(reader: &mut BinaryReader<'_>) -> wasmparser::Result<u32> {
    match read_one_byte_leb128(reader) {
        Some(byte) => Ok(u32::from(byte)),
        None => reader.read_var_u32(),
    }
}

/// `BinaryReader::read_var_i32` with its one-byte case, a constant from -64 to 63,
/// inlined; the rest stays a call (inlining all of it cost more than it saved, as
/// `read_var_u32` says).
#[inline(always)]
fn read_var_i32(reader: &mut BinaryReader<'_>) -> wasmparser::Result<i32> {
    match read_one_byte_leb128(reader) {
        // The low 7 bits, sign-extended from bit 6.
        Some(byte) => Ok(i32::from(byte << 1) << 24 >> 25),
        None => reader.read_var_i32(),
    }
}

/// The next byte, read, if it is a whole LEB128 number (below 0x80); else `None`, with
/// the reader untouched.
#[inline(always)]
fn read_one_byte_leb128(reader: &mut BinaryReader<'_>) -> Option<u8> {
    let mut ahead = reader.clone();
    let byte = ahead.read_u8().ok().filter(|&byte| byte < 0x80)?;
    *reader = ahead;
    Some(byte)
}

/// Reads a block's opcode and its type when that is a single byte for no value or one
/// number type, as wasmparser reads it (the validator checks the type's features):
/// the type. `None`, with the reader untouched, for any other type (a type index, a
/// vector or reference type), which wasmparser's decoder reads.
#[inline(always)]
fn read_plain_block_type(reader: &mut BinaryReader<'_>) -> Option<BlockType> {
    let mut ahead = reader.clone();
    ahead.read_u8().ok()?;
    let blockty = match ahead.read_u8().ok()? {
        0x40 => BlockType::Empty,
        0x7F => BlockType::Type(ValType::I32),
        0x7E => BlockType::Type(ValType::I64),
        0x7D => BlockType::Type(ValType::F32),
        0x7C => BlockType::Type(ValType::F64),
        _ => return None,
    };
    *reader = ahead;
    Some(blockty)
}

/// Reads a plain memory access (opcode and immediate) as wasmparser reads it, when its
/// alignment byte has no flag bits (no memory index, no ordering: read alike with any
/// features) and its offset is a u32 LEB128: its alignment and offset. `None`, with the
/// reader untouched, for anything else. With memory64 on, wasmparser reads offsets as
/// u64 LEB128s, which agree with every u32 one; the others (larger, or longer) are its
/// to read. Out of line, so that `visit_next` stays small enough for the decoding of
/// LEB128 immediates to be inlined there.
#[inline(never)]
fn read_plain_memarg(reader: &mut BinaryReader<'_>) -> Option<wasmparser::Result<(u8, u32)>> {
    let mut ahead = reader.clone();
    ahead.read_u8().ok()?;
    let align = ahead.read_u8().ok().filter(|&align| align < 0x10)?;
    let offset = match ahead.read_var_u32() {
        Ok(offset) => offset,
        Err(_) if ahead.features().memory64() => return None,
        Err(e) => return Some(Err(e)),
    };
    *reader = ahead;
    Some(Ok((align, offset)))
}

impl<'a, V> FirstPass<'_, 'a, V>
where
    V: VisitOperator<'a, Output = wasmparser::Result<()>> + FrameStack,
{
    for_each_common_operator!(decode_common);
}

macro_rules! visit_plain {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                self.validator.$visit($($($arg.clone()),*)?)?;
                // A constant per operator: true only for the few that carry a vector.
                let owns_memory = false $($(|| std::mem::needs_drop::<$argty>())*)?;
                self.keep(owns_memory, || Operator::$op $({ $($arg: $arg.clone()),* })?);
                Ok(())
            }
        )*
    };
}

macro_rules! visit_simd {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                // wasmparser's validator always has a SIMD visitor (its `simd` feature
                // is on); were it ever missing, the operator must not pass unvalidated.
                match self.validator.simd_visitor() {
                    Some(validator) => validator.$visit($($($arg.clone()),*)?)?,
                    None => self.uses.simd_unvalidated = true,
                }
                self.uses.simd = true;
                let owns_memory = false $($(|| std::mem::needs_drop::<$argty>())*)?;
                self.keep(owns_memory, || Operator::$op $({ $($arg: $arg.clone()),* })?);
                Ok(())
            }
        )*
    };
}

impl<'a, V> VisitOperator<'a> for FirstPass<'_, 'a, V>
where
    V: VisitOperator<'a, Output = wasmparser::Result<()>>,
{
    type Output = wasmparser::Result<()>;

    fn simd_visitor(&mut self) -> Option<&mut dyn VisitSimdOperator<'a, Output = Self::Output>> {
        Some(self)
    }

    wasmparser::for_each_visit_operator!(visit_plain);
}

impl<'a, V> VisitSimdOperator<'a> for FirstPass<'_, 'a, V>
where
    V: VisitOperator<'a, Output = wasmparser::Result<()>>,
{
    wasmparser::for_each_visit_simd_operator!(visit_simd);
}

/// The decoder checks block structure (an `else` only inside an `if`, nothing after the
/// final `end`) against the validator's control stack.
impl<'a, V: FrameStack> FrameStack for FirstPass<'_, 'a, V> {
    fn current_frame(&self) -> Option<FrameKind> {
        self.validator.current_frame()
    }
}

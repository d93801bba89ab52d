//! Values crossing the boundary between Rust and wasm.

use crate::runtime::exception::Exception;
use crate::runtime::func::Func;
use crate::types::{HeapType, ValType};

#[derive(Clone, Debug)]
pub enum Val {
    I32(i32),
    I64(i64),
    /// Bit pattern, so NaN payloads survive.
    F32(u32),
    F64(u64),
    /// The 128 bits, lane 0 in the low bits (wasm's little-endian lane order).
    V128(u128),
    FuncRef(Option<Func>),
    /// An opaque host value; the engine never looks inside.
    ExternRef(Option<u64>),
    ExnRef(Option<Exception>),
}

impl Val {
    /// The type of this kind of value: for references, the nullable top of their
    /// hierarchy (a function's own type is in `Func::ty`).
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FUNCREF,
            Val::ExternRef(_) => ValType::EXTERNREF,
            Val::ExnRef(_) => ValType::EXNREF,
        }
    }

    /// Whether this value belongs to `ty`: null only to nullable types, and a function
    /// to `(ref $t)` only if its type is `$t` or declared below it.
    pub fn matches(&self, ty: ValType) -> bool {
        let ValType::Ref(r) = ty else { return self.ty() == ty };
        let (top, non_null) = match self {
            Val::FuncRef(f) => (HeapType::Func, f.is_some()),
            Val::ExternRef(e) => (HeapType::Extern, e.is_some()),
            Val::ExnRef(e) => (HeapType::Exn, e.is_some()),
            _ => return false,
        };
        if r.heap().top() != top {
            return false;
        }
        if !non_null {
            return r.nullable();
        }
        match (self, r.heap()) {
            (_, HeapType::NoFunc | HeapType::NoExtern | HeapType::NoExn) => false,
            (Val::FuncRef(Some(f)), HeapType::Concrete(id)) => crate::types::is_subtype(f.type_id(), id),
            _ => true,
        }
    }

    /// The zero value of a type (null for references, even non-nullable ones: callers
    /// fill those before wasm can observe them).
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::V128 => Val::V128(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::Ref(r) => match r.heap().top() {
                HeapType::Extern => Val::ExternRef(None),
                HeapType::Exn => Val::ExnRef(None),
                _ => Val::FuncRef(None),
            },
        }
    }

    /// The 64-bit slot representation machine code uses (a v128's low half: see
    /// `to_raw128` and `write_slots`).
    pub(crate) fn to_raw(&self) -> u64 {
        match self {
            Val::I32(v) => *v as u32 as u64,
            Val::I64(v) => *v as u64,
            Val::F32(b) => *b as u64,
            Val::F64(b) => *b,
            Val::V128(v) => *v as u64,
            Val::FuncRef(f) => f.as_ref().map_or(0, |f| f.raw() as u64),
            // Non-null externrefs are stored +1 so that 0 can mean null.
            Val::ExternRef(e) => e.map_or(0, |v| v.wrapping_add(1)),
            Val::ExnRef(e) => e.as_ref().map_or(0, |e| e.raw()),
        }
    }

    /// # Safety
    /// For funcref and exnref, `raw` must be 0 or a `VMFuncRef` / exception still alive.
    pub(crate) unsafe fn from_raw(ty: ValType, raw: u64) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw as u32 as i32),
            ValType::I64 => Val::I64(raw as i64),
            ValType::V128 => Val::V128(raw as u128),
            ValType::F32 => Val::F32(raw as u32),
            ValType::F64 => Val::F64(raw),
            ValType::Ref(r) => match r.heap().top() {
                HeapType::Extern => Val::ExternRef(if raw == 0 { None } else { Some(raw - 1) }),
                // SAFETY: forwarded from the caller's contract.
                HeapType::Exn => Val::ExnRef(unsafe { Exception::from_raw(raw) }),
                // SAFETY: forwarded from the caller's contract.
                _ => Val::FuncRef(unsafe { Func::from_raw(raw as usize) }),
            },
        }
    }

    /// Any value as the 128 bits of a global's storage (scalars in the low half).
    pub(crate) fn to_raw128(&self) -> u128 {
        match self {
            Val::V128(v) => *v,
            v => v.to_raw() as u128,
        }
    }

    /// # Safety
    /// As `from_raw`.
    pub(crate) unsafe fn from_raw128(ty: ValType, raw: u128) -> Val {
        match ty {
            ValType::V128 => Val::V128(raw),
            // SAFETY: forwarded from the caller's contract.
            _ => unsafe { Val::from_raw(ty, raw as u64) },
        }
    }
}

/// Writes `values` into an area laid out `width` 8-byte words per value, as machine code
/// lays out arguments, results and exception payloads (`FuncType::slot_width`): a v128
/// fills two words, any other value the first.
pub(crate) fn write_area(values: &[Val], width: usize, area: &mut [u64]) {
    for (v, words) in values.iter().zip(area.chunks_mut(width)) {
        match v {
            Val::V128(bits) => {
                words[0] = *bits as u64;
                words[1] = (*bits >> 64) as u64;
            }
            v => words[0] = v.to_raw(),
        }
    }
}

/// The values of `types` from an area laid out as `write_area` writes it.
///
/// # Safety
/// As `Val::from_raw`, for each value.
pub(crate) unsafe fn read_area<'a>(
    types: &'a [ValType],
    width: usize,
    area: &'a [u64],
) -> impl Iterator<Item = Val> + 'a {
    types.iter().zip(area.chunks(width)).map(|(&ty, words)| match ty {
        ValType::V128 => Val::V128(words[0] as u128 | (words[1] as u128) << 64),
        // SAFETY: forwarded from `read_area`'s contract.
        _ => unsafe { Val::from_raw(ty, words[0]) },
    })
}

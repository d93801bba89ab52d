//! Values crossing the boundary between Rust and wasm.

use crate::runtime::exception::Exception;
use crate::runtime::func::Func;
use crate::runtime::gc::GcObject;
use crate::types::{HeapType, ObjectKind, ValType};

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
    /// An opaque host value; the engine never looks inside. Below 2^62: machine code
    /// keeps it as `(value << 2) | 2`, beside `i31` numbers and object addresses.
    ExternRef(Option<u64>),
    /// GC's internal values. Host values and internal ones cross between the `extern`
    /// and `any` hierarchies unchanged (`any.convert_extern`, `extern.convert_any`), so
    /// either variant may hold a value of either; null is null in both.
    AnyRef(Option<AnyRef>),
    ExnRef(Option<Exception>),
}

/// A non-null internal reference: an unboxed 31-bit integer, or a struct or array.
#[derive(Clone, Debug)]
pub enum AnyRef {
    /// The 31 bits, zero-extended (`i31.get_u`'s view).
    I31(u32),
    Object(GcObject),
}

/// How machine code tells the values of the `any` and `extern` hierarchies apart: an
/// odd word is an `i31` (`(value << 1) | 1`), one ending in binary 10 a host value,
/// any other non-zero word an object's address.
pub(crate) const HOST_TAG: u64 = 2;

impl Val {
    /// Host values (`ExternRef`) are below this: machine code keeps them in 62 bits.
    /// Larger ones match no type, so every boundary refuses them.
    pub const HOST_VALUE_LIMIT: u64 = 1 << 62;

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
            Val::AnyRef(_) => ValType::ANYREF,
            Val::ExnRef(_) => ValType::EXNREF,
        }
    }

    /// Whether this value belongs to `ty`: null to every nullable reference type, a
    /// function or object to `(ref $t)` only if its type is `$t` or declared below it,
    /// a host value to `extern` and `any`.
    pub fn matches(&self, ty: ValType) -> bool {
        let ValType::Ref(r) = ty else { return self.ty() == ty };
        let heap = r.heap();
        // A defined type's id names one kind (function, struct or array), and subtypes
        // keep their supertype's kind: a subtype check alone tells the hierarchy.
        match self {
            // Null is the same word in every hierarchy; which variant holds it does not
            // matter (a script or embedder may not know what a defined type describes).
            Val::FuncRef(None) | Val::ExnRef(None) | Val::ExternRef(None) | Val::AnyRef(None) => r.nullable(),
            Val::FuncRef(Some(f)) => match heap {
                HeapType::Func => true,
                HeapType::Concrete(id) => crate::types::is_subtype(f.type_id(), id),
                HeapType::Exact(id) => f.type_id() == id,
                _ => false,
            },
            Val::ExnRef(Some(_)) => heap == HeapType::Exn,
            Val::ExternRef(Some(v)) => {
                *v < Val::HOST_VALUE_LIMIT && matches!(heap, HeapType::Extern | HeapType::Any)
            }
            Val::AnyRef(Some(AnyRef::I31(_))) => {
                matches!(heap, HeapType::Extern | HeapType::Any | HeapType::Eq | HeapType::I31)
            }
            Val::AnyRef(Some(AnyRef::Object(o))) => match heap {
                HeapType::Extern | HeapType::Any | HeapType::Eq => true,
                HeapType::Struct => o.kind() == ObjectKind::Struct,
                HeapType::Array => o.kind() == ObjectKind::Array,
                HeapType::Concrete(id) => o.is_instance_of(id),
                HeapType::Exact(id) => o.type_id() == id,
                _ => false,
            },
            _ => false,
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
                HeapType::Any => Val::AnyRef(None),
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
            Val::ExternRef(e) => e.map_or(0, |v| v << 2 | HOST_TAG),
            Val::AnyRef(None) => 0,
            Val::AnyRef(Some(AnyRef::I31(v))) => (*v as u64 & 0x7fff_ffff) << 1 | 1,
            Val::AnyRef(Some(AnyRef::Object(o))) => o.raw(),
            Val::ExnRef(e) => e.as_ref().map_or(0, |e| e.raw()),
        }
    }

    /// # Safety
    /// For funcref and exnref, `raw` must be 0 or a `VMFuncRef` / exception still alive;
    /// for the `any` and `extern` hierarchies, an object's address must be one of a
    /// live heap.
    pub(crate) unsafe fn from_raw(ty: ValType, raw: u64) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw as u32 as i32),
            ValType::I64 => Val::I64(raw as i64),
            ValType::V128 => Val::V128(raw as u128),
            ValType::F32 => Val::F32(raw as u32),
            ValType::F64 => Val::F64(raw),
            ValType::Ref(r) => match r.heap().top() {
                HeapType::Extern | HeapType::Any => match raw {
                    0 if r.heap().top() == HeapType::Extern => Val::ExternRef(None),
                    0 => Val::AnyRef(None),
                    _ if raw & 1 == 1 => Val::AnyRef(Some(AnyRef::I31((raw >> 1) as u32 & 0x7fff_ffff))),
                    _ if raw & 3 == HOST_TAG => Val::ExternRef(Some(raw >> 2)),
                    // SAFETY: forwarded from the caller's contract.
                    _ => Val::AnyRef(Some(AnyRef::Object(unsafe { GcObject::from_raw(raw) }))),
                },
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

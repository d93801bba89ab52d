//! Engine-neutral values, call outcomes and instance snapshots, and how they compare.

use std::fmt;

/// A wasm value as both engines can express it. References are compared by null-ness
/// only: the two engines' function identities are not comparable. A v128 has lane 0 in
/// its low bits, as both engines' values do.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum V {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    FuncRef { null: bool },
    ExternRef { null: bool },
}

impl V {
    /// Bit-exact equality, except that any two scalar NaNs are equal: the spec lets NaN
    /// results carry any (canonical or arithmetic) payload. A v128 compares bit for bit:
    /// wasm-smith's `canonicalize_nans` also canonicalizes the float lanes of SIMD
    /// arithmetic, and the NaN-producing lane operations it leaves alone
    /// (`f64x2.promote_low_f32x4`, `f32x4.demote_f64x2_zero`) come down to the same x86
    /// conversions in both engines, which keep the payload and set the quiet bit.
    pub fn matches(&self, other: &V) -> bool {
        match (*self, *other) {
            (V::F32(a), V::F32(b)) => a == b || (f32::from_bits(a).is_nan() && f32::from_bits(b).is_nan()),
            (V::F64(a), V::F64(b)) => a == b || (f64::from_bits(a).is_nan() && f64::from_bits(b).is_nan()),
            (a, b) => a == b,
        }
    }
}

impl fmt::Debug for V {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            V::I32(v) => write!(f, "i32:{v}"),
            V::I64(v) => write!(f, "i64:{v}"),
            V::F32(b) => write!(f, "f32:{:?}({b:#010x})", f32::from_bits(b)),
            V::F64(b) => write!(f, "f64:{:?}({b:#018x})", f64::from_bits(b)),
            V::V128(b) => write!(f, "v128:{b:#034x}"),
            V::FuncRef { null } => f.write_str(if null { "funcref:null" } else { "funcref:nonnull" }),
            V::ExternRef { null } => f.write_str(if null { "externref:null" } else { "externref:nonnull" }),
        }
    }
}

/// The parameter and result types the harness deals in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    I32,
    I64,
    F32,
    F64,
    V128,
    FuncRef,
    ExternRef,
}

/// Trap kinds, merged where the two engines draw finer distinctions differently
/// (Sidewinder tells "undefined element" from "table out of bounds" and "uninitialized
/// element" from "indirect call to null"; wasmi does not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrapKind {
    Unreachable,
    IntegerDivisionByZero,
    IntegerOverflow,
    BadConversionToInteger,
    MemoryOutOfBounds,
    TableOutOfBounds,
    UninitializedElement,
    BadSignature,
    StackOverflow,
}

#[derive(Clone, Debug)]
pub enum Outcome {
    Values(Vec<V>),
    Trap(TrapKind),
    /// Any other error (link, resource, host); compared loosely. The message is only
    /// printed (through `Debug`) in mismatch reports.
    #[allow(dead_code)]
    Error(String),
}

impl Outcome {
    pub fn is_stack_overflow(&self) -> bool {
        matches!(self, Outcome::Trap(TrapKind::StackOverflow))
    }

    pub fn matches(&self, other: &Outcome) -> bool {
        match (self, other) {
            (Outcome::Values(a), Outcome::Values(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.matches(y))
            }
            (Outcome::Trap(a), Outcome::Trap(b)) => a == b,
            (Outcome::Error(_), Outcome::Error(_)) => true,
            _ => false,
        }
    }
}

/// The observable state of an instance: exported memories, globals and tables, in
/// export order.
#[derive(Default)]
pub struct Snapshot {
    pub memories: Vec<(String, Vec<u8>)>,
    pub globals: Vec<(String, V)>,
    /// Per element: is it null?
    pub tables: Vec<(String, Vec<bool>)>,
}

impl Snapshot {
    /// A description of the first difference, treating `other` as the expectation.
    pub fn difference(&self, other: &Snapshot) -> Option<String> {
        for ((name, a), (_, b)) in self.memories.iter().zip(&other.memories) {
            if a.len() != b.len() {
                return Some(format!(
                    "memory {name:?} has {} bytes, expected {} (pages {} vs {})",
                    a.len(),
                    b.len(),
                    a.len() / 65536,
                    b.len() / 65536
                ));
            }
            if let Some(i) = a.iter().zip(b).position(|(x, y)| x != y) {
                let end = (i + 16).min(a.len());
                return Some(format!(
                    "memory {name:?} differs at byte {i}: {:02x?}, expected {:02x?}",
                    &a[i..end],
                    &b[i..end]
                ));
            }
        }
        for ((name, a), (_, b)) in self.globals.iter().zip(&other.globals) {
            if !a.matches(b) {
                return Some(format!("global {name:?} is {a:?}, expected {b:?}"));
            }
        }
        for ((name, a), (_, b)) in self.tables.iter().zip(&other.tables) {
            if a != b {
                let first = a.iter().zip(b).position(|(x, y)| x != y);
                return Some(format!(
                    "table {name:?} differs (sizes {} vs expected {}, first differing element {first:?})",
                    a.len(),
                    b.len()
                ));
            }
        }
        if self.memories.len() != other.memories.len()
            || self.globals.len() != other.globals.len()
            || self.tables.len() != other.tables.len()
        {
            return Some("different numbers of exported memories/globals/tables".into());
        }
        None
    }
}

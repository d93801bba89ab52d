//! The `js-string` builtin set (JS String Builtins): `wasm:js-string` imports provided by
//! the host, implemented in Rust over Boa's `JsString`.
//!
//! Each builtin is a host function of a fixed type. i32 arguments are read as unsigned,
//! as the proposal's reference semantics do (`x >>>= 0`). A builtin "traps" by failing
//! with a RuntimeError, as if wasm had executed a trap.

use crate::conversions::{to_js, to_wasm};
use crate::function::exported_function_named;
use crate::realm::{store, with_current_context};
use boa_engine::{Context, JsError, JsNativeError, JsString, JsValue};
use sidewinder_engine::{
    AnyRef, FieldType, Func, FuncType, GcObject, HeapType, RefType, StorageType, Trap, Val, ValType,
};

/// The builtin set's name in `WebAssemblyCompileOptions.builtins`.
pub(crate) const SET_NAME: &str = "js-string";
/// Its qualified name: the import module name of its builtins.
pub(crate) const QUALIFIED_NAME: &str = "wasm:js-string";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Builtin {
    Cast,
    Test,
    FromCharCodeArray,
    IntoCharCodeArray,
    FromCharCode,
    FromCodePoint,
    CharCodeAt,
    CodePointAt,
    Length,
    Concat,
    Substring,
    Equals,
    Compare,
}

const ALL: [Builtin; 13] = [
    Builtin::Cast,
    Builtin::Test,
    Builtin::FromCharCodeArray,
    Builtin::IntoCharCodeArray,
    Builtin::FromCharCode,
    Builtin::FromCodePoint,
    Builtin::CharCodeAt,
    Builtin::CodePointAt,
    Builtin::Length,
    Builtin::Concat,
    Builtin::Substring,
    Builtin::Equals,
    Builtin::Compare,
];

impl Builtin {
    /// The builtin of this set called `name`, if any.
    pub fn find(name: &str) -> Option<Builtin> {
        ALL.into_iter().find(|b| b.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Builtin::Cast => "cast",
            Builtin::Test => "test",
            Builtin::FromCharCodeArray => "fromCharCodeArray",
            Builtin::IntoCharCodeArray => "intoCharCodeArray",
            Builtin::FromCharCode => "fromCharCode",
            Builtin::FromCodePoint => "fromCodePoint",
            Builtin::CharCodeAt => "charCodeAt",
            Builtin::CodePointAt => "codePointAt",
            Builtin::Length => "length",
            Builtin::Concat => "concat",
            Builtin::Substring => "substring",
            Builtin::Equals => "equals",
            Builtin::Compare => "compare",
        }
    }

    /// The builtin's function type. The two array builtins take
    /// `(ref null (array (mut i16)))`.
    pub fn func_type(self) -> FuncType {
        const EXT: ValType = ValType::EXTERNREF;
        const REF_EXT: ValType = ValType::REF_EXTERN;
        const I32: ValType = ValType::I32;
        let array = char_code_array();
        let (params, results): (&[ValType], &[ValType]) = match self {
            Builtin::Cast => (&[EXT], &[REF_EXT]),
            Builtin::Test | Builtin::Length => (&[EXT], &[I32]),
            Builtin::FromCharCodeArray => (&[array, I32, I32], &[REF_EXT]),
            Builtin::IntoCharCodeArray => (&[EXT, array, I32], &[I32]),
            Builtin::FromCharCode | Builtin::FromCodePoint => (&[I32], &[REF_EXT]),
            Builtin::CharCodeAt | Builtin::CodePointAt => (&[EXT, I32], &[I32]),
            Builtin::Concat => (&[EXT, EXT], &[REF_EXT]),
            Builtin::Substring => (&[EXT, I32, I32], &[REF_EXT]),
            Builtin::Equals | Builtin::Compare => (&[EXT, EXT], &[I32]),
        };
        FuncType::new(params.iter().copied(), results.iter().copied())
    }
}

/// `(ref null (array (mut i16)))`: the arrays of UTF-16 code units the array builtins
/// read and write.
fn char_code_array() -> ValType {
    let element = FieldType { storage: StorageType::I16, mutable: true };
    let array = FuncType::new_array(element);
    ValType::Ref(RefType::new(true, HeapType::Concrete(array.type_id())))
}

/// A new host function for `builtin` ("create a builtin function"), with its exported
/// function object named after the builtin.
pub(crate) fn builtin_function(builtin: Builtin, ctx: &mut Context) -> Result<Func, JsError> {
    let ty = builtin.func_type();
    let store = store(ctx)?;
    let func = Func::new(&store, ty, move |params: &[Val], results: &mut [Val]| {
        let outcome = with_current_context(|ctx| run(builtin, params, ctx));
        match outcome {
            Some(Ok(v)) => {
                if let (Some(slot), Some(v)) = (results.first_mut(), v) {
                    *slot = v;
                }
                Ok(())
            }
            Some(Err(trap)) => Err(trap),
            None => Err(Trap::host_message("a string builtin was called outside of a JavaScript call")),
        }
    });
    exported_function_named(&func, builtin.name(), ctx)?;
    Ok(func)
}

/// The trap of the proposal's `trap()`: a RuntimeError.
fn trap(builtin: Builtin, why: &str) -> Trap {
    Trap::host_message(format!("{QUALIFIED_NAME} {}: {why}", builtin.name()))
}

fn js_error(e: JsError) -> Trap {
    Trap::host(Box::new(e))
}

/// The argument as a JS string, if it is one (null and other values are not).
fn as_string(v: &Val, ctx: &mut Context) -> Result<Option<JsString>, Trap> {
    match v {
        Val::ExternRef(Some(_)) => Ok(to_js(v, ctx).map_err(js_error)?.as_string()),
        _ => Ok(None),
    }
}

/// UnwrapString: the argument as a JS string, or a trap.
fn unwrap_string(builtin: Builtin, v: &Val, ctx: &mut Context) -> Result<JsString, Trap> {
    as_string(v, ctx)?.ok_or_else(|| trap(builtin, "the argument is not a string"))
}

/// The array argument of the array builtins, or a trap for null.
fn unwrap_array(builtin: Builtin, v: &Val) -> Result<GcObject, Trap> {
    match v {
        Val::AnyRef(Some(AnyRef::Object(array))) => Ok(array.clone()),
        _ => Err(trap(builtin, "the array is null")),
    }
}

/// An i32 argument, reinterpreted as unsigned.
fn unsigned(v: Option<&Val>) -> u32 {
    match v {
        Some(Val::I32(x)) => *x as u32,
        _ => 0,
    }
}

fn i32_result(x: i32) -> Option<Val> {
    Some(Val::I32(x))
}

/// A new string as a `(ref extern)` result.
fn string_result(s: JsString, ctx: &mut Context) -> Result<Option<Val>, Trap> {
    to_wasm(&JsValue::from(s), ValType::REF_EXTERN, ctx).map(Some).map_err(js_error)
}

/// The UTF-16 encoding of a code point up to 0x10FFFF (lone surrogates stay as they are,
/// as `String.fromCodePoint` does).
fn code_point_units(cp: u32) -> Vec<u16> {
    if cp < 0x1_0000 {
        vec![cp as u16]
    } else {
        let v = cp - 0x1_0000;
        vec![0xD800 | (v >> 10) as u16, 0xDC00 | (v & 0x3FF) as u16]
    }
}

fn run(builtin: Builtin, params: &[Val], ctx: &mut Context) -> Result<Option<Val>, Trap> {
    let arg = |i: usize| params.get(i).cloned().unwrap_or(Val::ExternRef(None));
    match builtin {
        Builtin::Test => Ok(i32_result(as_string(&arg(0), ctx)?.is_some() as i32)),
        Builtin::Cast => {
            unwrap_string(builtin, &arg(0), ctx)?;
            // The same externref: no new handle for the same value.
            Ok(Some(arg(0)))
        }
        Builtin::FromCharCode => {
            // String.fromCharCode applies ToUint16.
            let unit = unsigned(params.first()) as u16;
            string_result(JsString::from(&[unit][..]), ctx)
        }
        Builtin::FromCodePoint => {
            let cp = unsigned(params.first());
            if cp > 0x10_FFFF {
                return Err(trap(builtin, "the code point is out of range"));
            }
            string_result(JsString::from(&code_point_units(cp)[..]), ctx)
        }
        Builtin::CharCodeAt | Builtin::CodePointAt => {
            let s = unwrap_string(builtin, &arg(0), ctx)?;
            let index = unsigned(params.get(1)) as usize;
            if index >= s.len() {
                return Err(trap(builtin, "the index is out of bounds"));
            }
            let value = if builtin == Builtin::CharCodeAt {
                s.code_unit_at(index).map(u32::from).unwrap_or_default()
            } else {
                s.code_point_at(index).as_u32()
            };
            Ok(i32_result(value as i32))
        }
        Builtin::Length => {
            let s = unwrap_string(builtin, &arg(0), ctx)?;
            Ok(i32_result(s.len() as i32))
        }
        Builtin::Concat => {
            let a = unwrap_string(builtin, &arg(0), ctx)?;
            let b = unwrap_string(builtin, &arg(1), ctx)?;
            // Boa's limit on string length; String.prototype.concat would throw.
            if a.len().saturating_add(b.len()) > u32::MAX as usize {
                return Err(js_error(JsNativeError::range().with_message("Invalid string length").into()));
            }
            string_result(JsString::concat(a.as_str(), b.as_str()), ctx)
        }
        Builtin::Substring => {
            let s = unwrap_string(builtin, &arg(0), ctx)?;
            let start = unsigned(params.get(1)) as usize;
            let end = unsigned(params.get(2)) as usize;
            if start > end || start > s.len() {
                return string_result(JsString::default(), ctx);
            }
            // `slice` clamps `end` to the length, as `substring` does.
            string_result(s.slice(start, end), ctx)
        }
        Builtin::Equals => {
            let (a, b) = (arg(0), arg(1));
            let a_str = as_string(&a, ctx)?;
            let b_str = as_string(&b, ctx)?;
            for (v, s) in [(&a, &a_str), (&b, &b_str)] {
                if !matches!(v, Val::ExternRef(None)) && s.is_none() {
                    return Err(trap(builtin, "an argument is neither null nor a string"));
                }
            }
            // Null equals only null; strings compare by contents (IsStrictlyEqual).
            Ok(i32_result((a_str == b_str) as i32))
        }
        Builtin::Compare => {
            let a = unwrap_string(builtin, &arg(0), ctx)?;
            let b = unwrap_string(builtin, &arg(1), ctx)?;
            // IsLessThan on strings: lexicographic by UTF-16 code units.
            let order = match a.iter().cmp(b.iter()) {
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
                std::cmp::Ordering::Greater => 1,
            };
            Ok(i32_result(order))
        }
        Builtin::FromCharCodeArray => {
            let array = unwrap_array(builtin, &arg(0))?;
            let (start, end) = (unsigned(params.get(1)), unsigned(params.get(2)));
            let units = (start <= end && end <= array.array_len())
                .then(|| array.get_range(start, end))
                .flatten()
                .ok_or_else(|| trap(builtin, "the range is out of bounds"))?;
            let units: Vec<u16> =
                units.iter().map(|v| if let Val::I32(u) = v { *u as u16 } else { 0 }).collect();
            string_result(JsString::from(&units[..]), ctx)
        }
        Builtin::IntoCharCodeArray => {
            let array = unwrap_array(builtin, &arg(1))?;
            let s = unwrap_string(builtin, &arg(0), ctx)?;
            let start = unsigned(params.get(2));
            let units: Vec<Val> = s.iter().map(|u| Val::I32(i32::from(u))).collect();
            // `set_range` writes nothing when the range does not fit.
            array.set_range(start, &units).map_err(|_| trap(builtin, "the range is out of bounds"))?;
            Ok(i32_result(units.len() as i32))
        }
    }
}

//! `sidewinder module.wasm --invoke NAME ARGS...`: instantiate a module with
//! sidewinder-engine directly (no JavaScript) and print the results, like
//! `wasmtime run --invoke`.

use sidewinder_engine::{
    AnyRef, Config, Engine, Error, Extern, ExternType, FuncType, Instance, Module, ObjectKind, Store, Val,
    ValType,
};
use std::fmt::Write as _;
use std::path::Path;

/// A failure, already worded for the user; `Display` is the whole message.
#[derive(Debug)]
pub struct InvokeError(pub String);

impl std::fmt::Display for InvokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn fail<T>(message: impl Into<String>) -> Result<T, InvokeError> {
    Err(InvokeError(message.into()))
}

/// Reads a `.wasm` file, or assembles a `.wat`/`.wast` file (or a `.wasm` that is text).
pub fn load_module_bytes(path: &Path) -> Result<Vec<u8>, InvokeError> {
    let bytes =
        std::fs::read(path).map_err(|e| InvokeError(format!("cannot read {}: {e}", path.display())))?;
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes);
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| InvokeError(format!("{} is neither a wasm binary nor text", path.display())))?;
    wat::parse_str(&text).map_err(|mut e| {
        e.set_path(path);
        InvokeError(format!("invalid WebAssembly text: {e}"))
    })
}

/// Instantiates the module and calls `name` (or `_start` when `None`), returning the
/// lines to print.
pub fn invoke(
    path: &Path,
    name: Option<&str>,
    args: &[String],
    max_wasm_stack: usize,
) -> Result<Vec<String>, InvokeError> {
    let bytes = load_module_bytes(path)?;
    let engine = Engine::new(Config { max_wasm_stack, ..Config::default() })
        .map_err(|e| InvokeError(e.to_string()))?;
    let module = Module::new(&engine, &bytes).map_err(|e| match e {
        Error::Compile { .. } => InvokeError(format!("invalid module {}: {e}", path.display())),
        e => InvokeError(e.to_string()),
    })?;

    let imports = module.imports();
    if !imports.is_empty() {
        let mut msg =
            format!("{} has {} import(s), which --invoke cannot provide:", path.display(), imports.len());
        for i in &imports {
            let _ = write!(msg, "\n  {}::{}: {}", i.module, i.name, extern_type_text(&i.ty));
        }
        return fail(msg);
    }

    let exports = module.exports();
    let export_list = || {
        let funcs: Vec<String> = exports
            .iter()
            .filter_map(|e| match &e.ty {
                ExternType::Func(f) => Some(format!("\n  {}: {}", e.name, func_type_text(f))),
                _ => None,
            })
            .collect();
        if funcs.is_empty() {
            " (the module exports no functions)".to_string()
        } else {
            format!("; exported functions:{}", funcs.concat())
        }
    };
    let name = match name {
        Some(n) => n.to_string(),
        None if exports.iter().any(|e| e.name == "_start") => "_start".into(),
        None => return fail(format!("no function to run: use --invoke NAME{}", export_list())),
    };
    let ty: FuncType = match exports.iter().find(|e| e.name == name) {
        Some(e) => match &e.ty {
            ExternType::Func(f) => f.clone(),
            other => {
                return fail(format!(
                    "export `{name}` is a {}, not a function{}",
                    extern_type_text(other),
                    export_list()
                ))
            }
        },
        None => return fail(format!("no exported function `{name}`{}", export_list())),
    };

    if args.len() != ty.params().len() {
        return fail(format!(
            "`{name}` takes {} argument(s) {}, got {}",
            ty.params().len(),
            func_type_text(&ty),
            args.len()
        ));
    }
    let params = ty
        .params()
        .iter()
        .zip(args)
        .enumerate()
        .map(|(i, (t, a))| {
            parse_val(*t, a).map_err(|why| InvokeError(format!("argument {} ({t}): {why}", i + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?;

    let store = Store::new(&engine);
    let instance = Instance::new(&store, &module, &[]).map_err(describe_error)?;
    let func = match instance.get_export(&name) {
        Some(Extern::Func(f)) => f,
        _ => return fail(format!("no exported function `{name}`")),
    };
    let results = func.call(&params).map_err(describe_error)?;
    Ok(results.iter().map(format_val).collect())
}

fn describe_error(e: Error) -> InvokeError {
    match e {
        Error::Trap(t) => InvokeError(format!("wasm trap: {t}")),
        Error::Exception(e) => InvokeError(format!(
            "uncaught wasm exception ({}) with payload [{}]",
            func_type_text(&e.tag().ty()),
            e.payload().iter().map(format_val).collect::<Vec<_>>().join(", ")
        )),
        e => InvokeError(e.to_string()),
    }
}

fn extern_type_text(ty: &ExternType) -> String {
    match ty {
        ExternType::Func(f) => func_type_text(f),
        ExternType::Table(t) => format!("table {} {:?} {:?}", t.element, t.minimum, t.maximum),
        ExternType::Memory(m) => match m.maximum {
            Some(max) => format!("memory {} {max}", m.minimum),
            None => format!("memory {}", m.minimum),
        },
        ExternType::Global(g) if g.mutable => format!("global (mut {})", g.content),
        ExternType::Global(g) => format!("global {}", g.content),
        ExternType::Tag(t) => format!("tag {}", func_type_text(t)),
    }
}

fn func_type_text(ty: &FuncType) -> String {
    let list = |kind: &str, tys: &[ValType]| {
        if tys.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = tys.iter().map(|t| t.to_string()).collect();
            format!(" ({kind} {})", names.join(" "))
        }
    };
    format!("(func{}{})", list("param", ty.params()), list("result", ty.results()))
}

/// Integers: decimal or `0x` hex, optionally negative; values up to the unsigned
/// maximum wrap (so `4294967295` is `-1i32`). Floats: decimal, `inf`, `nan`.
pub fn parse_val(ty: ValType, text: &str) -> Result<Val, String> {
    let t = text.trim().replace('_', "");
    match ty {
        ValType::I32 => {
            let v = parse_int(&t)?;
            if v < i32::MIN as i128 || v > u32::MAX as i128 {
                return Err(format!("{text:?} is out of range for i32"));
            }
            Ok(Val::I32(v as u32 as i32))
        }
        ValType::I64 => {
            let v = parse_int(&t)?;
            if v < i64::MIN as i128 || v > u64::MAX as i128 {
                return Err(format!("{text:?} is out of range for i64"));
            }
            Ok(Val::I64(v as u64 as i64))
        }
        ValType::F32 => Ok(Val::F32((parse_float(&t)? as f32).to_bits())),
        ValType::F64 => Ok(Val::F64(parse_float(&t)?.to_bits())),
        // The 128 bits as one unsigned number, lane 0 in the low bits (as wasmtime takes it).
        ValType::V128 => {
            let bits = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                Some(hex) => u128::from_str_radix(hex, 16),
                None => t.parse::<u128>(),
            };
            bits.map(Val::V128).map_err(|_| format!("{text:?} is not a v128 (an unsigned 128-bit integer)"))
        }
        other => Err(format!("parameters of type {other} cannot be given on the command line")),
    }
}

fn parse_int(t: &str) -> Result<i128, String> {
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let magnitude = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => i128::from_str_radix(hex, 16),
        None => digits.parse::<i128>(),
    }
    .map_err(|_| format!("{t:?} is not an integer (decimal or 0x hex)"))?;
    Ok(if negative { -magnitude } else { magnitude })
}

fn parse_float(t: &str) -> Result<f64, String> {
    let lower = t.to_ascii_lowercase();
    let (sign, body) = match lower.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, lower.strip_prefix('+').unwrap_or(&lower)),
    };
    let magnitude = match body {
        "inf" | "infinity" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => body.parse::<f64>().map_err(|_| format!("{t:?} is not a number (decimal, inf or nan)"))?,
    };
    Ok(sign * magnitude)
}

pub fn format_val(v: &Val) -> String {
    match v {
        Val::I32(i) => i.to_string(),
        Val::I64(i) => i.to_string(),
        Val::F32(bits) => float_text(f32::from_bits(*bits) as f64, f32::from_bits(*bits).is_nan()),
        Val::F64(bits) => float_text(f64::from_bits(*bits), f64::from_bits(*bits).is_nan()),
        Val::FuncRef(None) | Val::ExternRef(None) | Val::AnyRef(None) => "null".into(),
        Val::AnyRef(Some(AnyRef::I31(bits))) => format!("<i31 {}>", ((bits << 1) as i32) >> 1),
        Val::AnyRef(Some(AnyRef::Object(o))) => match o.kind() {
            ObjectKind::Array => format!("<array of {}>", o.array_len()),
            _ => "<struct>".into(),
        },
        Val::FuncRef(Some(_)) => "<funcref>".into(),
        Val::ExternRef(Some(x)) => format!("<externref {x}>"),
        Val::ExnRef(None) => "null".into(),
        Val::ExnRef(Some(_)) => "<exnref>".into(),
        Val::V128(bits) => format!("{bits:#034x}"),
    }
}

fn float_text(f: f64, nan: bool) -> String {
    if nan {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        // Same as `wasmtime run --invoke`: shortest round-trip decimal.
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints() {
        assert!(matches!(parse_val(ValType::I32, "-1"), Ok(Val::I32(-1))));
        assert!(matches!(parse_val(ValType::I32, "0xffffffff"), Ok(Val::I32(-1))));
        assert!(parse_val(ValType::I32, "4294967296").is_err());
        assert!(matches!(parse_val(ValType::I64, "-0x10"), Ok(Val::I64(-16))));
        assert!(matches!(parse_val(ValType::I64, "18446744073709551615"), Ok(Val::I64(-1))));
        assert!(parse_val(ValType::I32, "1.5").is_err());
    }

    #[test]
    fn floats() {
        let Ok(Val::F64(b)) = parse_val(ValType::F64, "-inf") else { panic!() };
        assert_eq!(f64::from_bits(b), f64::NEG_INFINITY);
        let Ok(Val::F32(b)) = parse_val(ValType::F32, "nan") else { panic!() };
        assert!(f32::from_bits(b).is_nan());
        let Ok(Val::F64(b)) = parse_val(ValType::F64, "2.5") else { panic!() };
        assert_eq!(format_val(&Val::F64(b)), "2.5");
        assert_eq!(format_val(&Val::F32(3.0f32.to_bits())), "3");
    }

    #[test]
    fn v128() {
        let Ok(Val::V128(b)) = parse_val(ValType::V128, "0x0000000400000003_0000000200000001") else {
            panic!()
        };
        assert_eq!(b, 0x0000000400000003_0000000200000001);
        assert!(matches!(parse_val(ValType::V128, "5"), Ok(Val::V128(5))));
        assert!(parse_val(ValType::V128, "-1").is_err());
        assert_eq!(format_val(&Val::V128(1)), "0x00000000000000000000000000000001");
    }
}

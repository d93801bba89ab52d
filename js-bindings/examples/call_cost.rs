//! One mode of the JS-call cost benchmark (`bench/js-call.sh` runs every mode under
//! callgrind and reports instructions per call): a JS loop of `N` calls to a wasm
//! export, to a Boa builtin, or to a native function an embedder defines as a closure,
//! each doing the same small piece of work; or the loop alone, to subtract.
//!
//! Run: cargo run --release -p sidewinder-js --example call_cost -- MODE [N]

use boa_engine::object::FunctionObjectBuilder;
use boa_engine::property::Attribute;
use boa_engine::{js_string, Context, JsResult, JsValue, NativeFunction, Source};
use boa_gc::{Finalize, Trace};

/// What an embedder's native function captures: something, so that Boa calls it as a
/// closure (`NativeFunction::from_copy_closure_with_captures`), the way a wasm export
/// object is called.
#[derive(Trace, Finalize)]
struct Captured {
    floor: f64,
}

/// `Math.max` of two arguments, as an embedder would write it.
fn closure_max(
    _this: &JsValue,
    args: &[JsValue],
    captured: &Captured,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    let mut highest = captured.floor;
    for arg in args {
        let n = arg.to_number(ctx)?;
        if n.is_nan() {
            return Ok(JsValue::from(f64::NAN));
        }
        highest = highest.max(n);
    }
    Ok(JsValue::from(highest))
}

/// `Math.abs`, as an embedder would write it.
fn closure_abs(
    _this: &JsValue,
    args: &[JsValue],
    _captured: &Captured,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    let n = args.first().cloned().unwrap_or_default().to_number(ctx)?;
    Ok(JsValue::from(n.abs()))
}

const EXPORTS: &str = r#"(module
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "neg") (param f64) (result f64) local.get 0 f64.neg))"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().ok_or("usage: call_cost MODE [N]")?;
    let n: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(200_000);
    // Two families: two integer arguments (`f(i, 1)`), and one fractional (`f(i + 0.5)`).
    // Each callee's answer for `f(2, 1)` or `f(2.5)`, checked once after the loop.
    let (callee, two_ints, expected) = match mode.as_str() {
        "empty-int" => ("null", true, ""),
        "export-add" => ("exports.add", true, "3"),
        "math-max" => ("Math.max", true, "2"),
        "closure-max" => ("closureMax", true, "2"),
        "empty-frac" => ("null", false, ""),
        "export-neg" => ("exports.neg", false, "-2.5"),
        "math-abs" => ("Math.abs", false, "2.5"),
        "closure-abs" => ("closureAbs", false, "2.5"),
        other => return Err(format!("unknown mode {other}").into()),
    };

    let mut ctx = Context::default();
    sidewinder_js::install(&mut ctx).map_err(|e| e.to_string())?;
    let captured = || Captured { floor: f64::NEG_INFINITY };
    let natives = [
        ("closureMax", NativeFunction::from_copy_closure_with_captures(closure_max, captured())),
        ("closureAbs", NativeFunction::from_copy_closure_with_captures(closure_abs, captured())),
    ];
    for (name, function) in natives {
        let object =
            FunctionObjectBuilder::new(ctx.realm(), function).name(js_string!(name)).length(2).build();
        ctx.register_global_property(js_string!(name), object, Attribute::all())
            .map_err(|e| e.to_string())?;
    }
    let bytes = wat::parse_str(EXPORTS)?;
    let list = bytes.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(",");
    let (call, work, check) =
        if two_ints { ("f(i, 1)", "i + 1", "f(2, 1)") } else { ("f(i + 0.5)", "i + 0.5", "f(2.5)") };
    let script = format!(
        "const exports = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array([{list}]))).exports;
         const f = {callee};
         if (f) {{ for (let i = 0; i < {n}; i++) {call}; }} else {{ for (let i = 0; i < {n}; i++) {{ {work}; }} }}
         f ? String({check}) : ''"
    );
    let answer = ctx.eval(Source::from_bytes(&script)).map_err(|e| e.to_string())?;
    let answer = answer.to_string(&mut ctx).map_err(|e| e.to_string())?.to_std_string_escaped();
    if answer != expected {
        return Err(format!("{mode}: {check} gave {answer}, expected {expected}").into());
    }
    Ok(())
}

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

/// The sum of the arguments' ToInt32, wrapping, as an embedder would write it.
fn closure_sum(
    _this: &JsValue,
    args: &[JsValue],
    _captured: &Captured,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    let mut sum = 0i32;
    for arg in args {
        sum = sum.wrapping_add(arg.to_i32(ctx)?);
    }
    Ok(JsValue::from(sum))
}

/// ToBigInt64 of the first argument, plus one, as an embedder would write it.
fn closure_inc64(
    _this: &JsValue,
    args: &[JsValue],
    _captured: &Captured,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    let n = args.first().cloned().unwrap_or_default().to_big_int64(ctx)?;
    Ok(boa_engine::JsBigInt::from(n.wrapping_add(1)).into())
}

/// Its two arguments' ToInt32 swapped, in an array, as an embedder would write it.
fn closure_swap(
    _this: &JsValue,
    args: &[JsValue],
    _captured: &Captured,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    let undefined = JsValue::undefined();
    let a = args.first().unwrap_or(&undefined).to_i32(ctx)?;
    let b = args.get(1).unwrap_or(&undefined).to_i32(ctx)?;
    Ok(boa_engine::object::builtins::JsArray::from_iter([JsValue::from(b), JsValue::from(a)], ctx).into())
}

/// The identity on its first argument, as an embedder would write it.
fn closure_identity(
    _this: &JsValue,
    args: &[JsValue],
    _captured: &Captured,
    _ctx: &mut Context,
) -> JsResult<JsValue> {
    Ok(args.first().cloned().unwrap_or_default())
}

/// What a closure that keeps its argument captures: where it keeps it.
#[derive(Trace, Finalize)]
struct Kept {
    last: boa_gc::GcRefCell<JsValue>,
}

/// The identity on its first argument, which it also keeps, as an embedder would write
/// it: against a wasm export that sets an `externref` global.
fn closure_keep(_this: &JsValue, args: &[JsValue], kept: &Kept, _ctx: &mut Context) -> JsResult<JsValue> {
    let v = args.first().cloned().unwrap_or_default();
    *kept.last.borrow_mut() = v.clone();
    Ok(v)
}

/// Keeps both its arguments and returns the second, as an embedder would write it:
/// against a wasm export that sets two `externref` globals.
fn closure_keep_two(
    _this: &JsValue,
    args: &[JsValue],
    kept: &KeptTwo,
    _ctx: &mut Context,
) -> JsResult<JsValue> {
    let first = args.first().cloned().unwrap_or_default();
    let second = args.get(1).cloned().unwrap_or_default();
    *kept.first.borrow_mut() = first;
    *kept.second.borrow_mut() = second.clone();
    Ok(second)
}

/// Where `closure_keep_two` keeps its arguments.
#[derive(Trace, Finalize)]
struct KeptTwo {
    first: boa_gc::GcRefCell<JsValue>,
    second: boa_gc::GcRefCell<JsValue>,
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
  (import "m" "f" (func $f (param i32 i32) (result i32)))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "neg") (param f64) (result f64) local.get 0 f64.neg)
  ;; The same through a call: the callee is no leaf, so the call sets up what host code
  ;; it might reach needs (`Func::is_leaf`).
  (func $add (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "addCalling") (param i32 i32) (result i32) (call $add (local.get 0) (local.get 1)))
  (func $neg (param f64) (result f64) local.get 0 f64.neg)
  ;; Five parameters: one more than the small entries take in registers.
  (func (export "sum5") (param i32 i32 i32 i32 i32) (result i32)
    (i32.add (i32.add (i32.add (local.get 0) (local.get 1)) (i32.add (local.get 2) (local.get 3))) (local.get 4)))
  ;; Two results, which come back as an array.
  (func (export "swap") (param i32 i32) (result i32 i32) (local.get 1) (local.get 0))
  ;; A BigInt in and out.
  (func (export "inc64") (param i64) (result i64) (i64.add (local.get 0) (i64.const 1)))
  ;; A JS value through wasm and back, as an externref.
  (func (export "identity") (param externref) (result externref) local.get 0)
  (func $identity (param externref) (result externref) local.get 0)
  (func (export "identityCalling") (param externref) (result externref) (call $identity (local.get 0)))
  ;; Five parameters, one an externref: more than the small entries take (`ExternCaller`
  ;; calls it through `WideCaller`).
  (func (export "identity5") (param externref i32 i32 i32 i32) (result externref) (call $identity (local.get 0)))
  (global $kept (mut externref) (ref.null extern))
  (func (export "keep") (param externref) (result externref) (global.set $kept (local.get 0)) (local.get 0))
  (global $keptFirst (mut externref) (ref.null extern))
  (func (export "keepTwo") (param externref externref) (result externref)
    (global.set $keptFirst (local.get 0)) (global.set $kept (local.get 1)) (local.get 1))
  (func (export "negCalling") (param f64) (result f64) (call $neg (local.get 0)))
  ;; The same with a load from memory: leaves still, but a load may trap, so the call
  ;; goes through the entry trampoline (`Func::is_trap_free`). Byte 1 holds 1, and the
  ;; f64 at 8 is 0.
  (memory 1)
  (data (i32.const 1) "\01")
  (func (export "addLoad") (param i32 i32) (result i32) (i32.add (local.get 0) (i32.load8_u (local.get 1))))
  (func (export "negLoad") (param f64) (result f64) (f64.sub (f64.load (i32.const 8)) (local.get 0)))
  (func (export "sum5Load") (param i32 i32 i32 i32 i32) (result i32)
    (i32.add (i32.add (i32.add (local.get 0) (local.get 1)) (i32.add (local.get 2) (local.get 3)))
      (i32.sub (local.get 4) (i32.load8_u (i32.const 1)))))
  ;; n calls of the JS import f(i, 1), or the same loop without them (`call` 0).
  (func (export "callImport") (param $n i32) (param $call i32) (result i32)
    (local $i i32) (local $acc i32)
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (if (local.get $call) (then
        (local.set $acc (i32.add (local.get $acc) (call $f (local.get $i) (i32.const 1))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top)))
    (local.get $acc)))"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().ok_or("usage: call_cost MODE [N]")?;
    let n: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(200_000);
    // Four families: two integer arguments (`f(i, 1)`), one fractional (`f(i + 0.5)`),
    // one object, the same each time (`f(o)`) or one of 1,024 in turn. Each callee's
    // answer for `f(2, 1)`, `f(2.5)` or `f(o)`, checked once after the loop.
    let (callee, family, expected) = match mode.as_str() {
        "empty-int" => ("null", Family::Int, ""),
        "export-add" => ("exports.add", Family::Int, "3"),
        "export-add-calling" => ("exports.addCalling", Family::Int, "3"),
        "export-add-load" => ("exports.addLoad", Family::Int, "3"),
        "math-max" => ("Math.max", Family::Int, "2"),
        "closure-max" => ("closureMax", Family::Int, "2"),
        "empty-frac" => ("null", Family::Frac, ""),
        "export-neg" => ("exports.neg", Family::Frac, "-2.5"),
        "export-neg-calling" => ("exports.negCalling", Family::Frac, "-2.5"),
        "export-neg-load" => ("exports.negLoad", Family::Frac, "-2.5"),
        "math-abs" => ("Math.abs", Family::Frac, "2.5"),
        "closure-abs" => ("closureAbs", Family::Frac, "2.5"),
        "empty-int5" => ("null", Family::Int5, ""),
        "export-sum5" => ("exports.sum5", Family::Int5, "12"),
        "export-sum5-load" => ("exports.sum5Load", Family::Int5, "11"),
        "closure-sum5" => ("closureSum", Family::Int5, "12"),
        "export-swap" => ("exports.swap", Family::Int, "1,2"),
        "closure-swap" => ("closureSwap", Family::Int, "1,2"),
        "empty-big" => ("null", Family::Big, ""),
        "export-inc64" => ("exports.inc64", Family::Big, "6"),
        "closure-inc64" => ("closureInc64", Family::Big, "6"),
        "empty-ref" => ("null", Family::Ref, ""),
        "export-identity" => ("exports.identity", Family::Ref, "[object Object]"),
        "export-identity-calling" => ("exports.identityCalling", Family::Ref, "[object Object]"),
        "export-identity5" => ("exports.identity5", Family::Ref5, "[object Object]"),
        "closure-identity" => ("closureIdentity", Family::Ref, "[object Object]"),
        "empty-refs" => ("null", Family::Refs, ""),
        "empty-ref5" => ("null", Family::Ref5, ""),
        "closure-identity5" => ("closureIdentity", Family::Ref5, "[object Object]"),
        "export-identity-refs" => ("exports.identity", Family::Refs, "[object Object]"),
        "export-keep" => ("exports.keep", Family::Ref, "[object Object]"),
        "closure-keep" => ("closureKeep", Family::Ref, "[object Object]"),
        "export-keep-refs" => ("exports.keep", Family::Refs, "[object Object]"),
        "closure-keep-refs" => ("closureKeep", Family::Refs, "[object Object]"),
        "empty-fresh" => ("null", Family::Fresh, ""),
        "export-keep-fresh" => ("exports.keep", Family::Fresh, "[object Object]"),
        "closure-keep-fresh" => ("closureKeep", Family::Fresh, "[object Object]"),
        "closure-identity-refs" => ("closureIdentity", Family::Refs, "[object Object]"),
        "empty-two" => ("null", Family::Two, ""),
        "export-keep-two" => ("exports.keepTwo", Family::Two, "[object Object]"),
        "closure-keep-two" => ("closureKeepTwo", Family::Two, "[object Object]"),
        "empty-beside" => ("null", Family::Beside, ""),
        "export-keep-beside" => ("exports.keepTwo", Family::Beside, "[object Object]"),
        "closure-keep-beside" => ("closureKeepTwo", Family::Beside, "[object Object]"),
        // A JS function called from a JS loop, against the same function imported by
        // wasm and called from a wasm loop (each minus its loop alone).
        "js-function" => ("jsFunction", Family::Int, "2"),
        "wasm-loop" | "import-js" => ("", Family::Int, ""),
        other => return Err(format!("unknown mode {other}").into()),
    };

    let mut ctx = Context::default();
    sidewinder_js::install(&mut ctx).map_err(|e| e.to_string())?;
    let captured = || Captured { floor: f64::NEG_INFINITY };
    // Named with literals, which are static strings as the exports' names are: Boa clones
    // and drops a native function's name on every call, which costs a heap string about
    // 11 instructions more.
    let natives = [
        (js_string!("closureMax"), NativeFunction::from_copy_closure_with_captures(closure_max, captured())),
        (js_string!("closureAbs"), NativeFunction::from_copy_closure_with_captures(closure_abs, captured())),
        (
            js_string!("closureInc64"),
            NativeFunction::from_copy_closure_with_captures(closure_inc64, captured()),
        ),
        (
            js_string!("closureSwap"),
            NativeFunction::from_copy_closure_with_captures(closure_swap, captured()),
        ),
        (js_string!("closureSum"), NativeFunction::from_copy_closure_with_captures(closure_sum, captured())),
        (
            js_string!("closureIdentity"),
            NativeFunction::from_copy_closure_with_captures(closure_identity, captured()),
        ),
    ];
    let kept = Kept { last: boa_gc::GcRefCell::new(JsValue::undefined()) };
    let kept_two = KeptTwo {
        first: boa_gc::GcRefCell::new(JsValue::undefined()),
        second: boa_gc::GcRefCell::new(JsValue::undefined()),
    };
    let natives = natives.into_iter().chain([
        (js_string!("closureKeep"), NativeFunction::from_copy_closure_with_captures(closure_keep, kept)),
        (
            js_string!("closureKeepTwo"),
            NativeFunction::from_copy_closure_with_captures(closure_keep_two, kept_two),
        ),
    ]);
    for (name, function) in natives {
        let object = FunctionObjectBuilder::new(ctx.realm(), function).name(name.clone()).length(2).build();
        ctx.register_global_property(name, object, Attribute::all()).map_err(|e| e.to_string())?;
    }
    let bytes = wat::parse_str(EXPORTS)?;
    let list = bytes.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(",");
    let (call, work, check) = match family {
        Family::Int => ("f(i, 1)", "i + 1", "f(2, 1)"),
        Family::Frac => ("f(i + 0.5)", "i + 0.5", "f(2.5)"),
        Family::Int5 => ("f(i, 1, 2, 3, 4)", "i + 1", "f(2, 1, 2, 3, 4)"),
        Family::Big => ("f(big)", "big", "f(big)"),
        Family::Ref => ("f(o)", "o", "f(o)"),
        Family::Refs => ("f(objects[i & 1023])", "objects[i & 1023]", "f(o)"),
        Family::Ref5 => ("f(o, i, 1, 2, 3)", "o", "f(o, 1, 2, 3, 4)"),
        Family::Fresh => ("f({ k: i })", "({ k: i })", "f(o)"),
        Family::Two => ("f(o, p)", "p", "f(p, o)"),
        Family::Beside => ("f(o, { k: i })", "({ k: i })", "f(p, o)"),
    };
    let setup = format!(
        "const jsFunction = (a, b) => a;
         const o = {{}};
         const p = {{ p: 1 }};
         const big = 5n;
         const objects = Array.from({{ length: 1024 }}, (_, k) => ({{ k }}));
         const exports = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array([{list}])),
           {{ m: {{ f: jsFunction }} }}).exports;"
    );
    let (script, expected) = match mode.as_str() {
        // The sum of i for i < n, wrapped to i32, when the import is called.
        "import-js" => (format!("{setup} String(exports.callImport({n}, 1))"), wrapped_sum(n)),
        "wasm-loop" => (format!("{setup} String(exports.callImport({n}, 0))"), "0".to_string()),
        _ => (
            format!(
                "{setup}
                 const f = {callee};
                 if (f) {{ for (let i = 0; i < {n}; i++) {call}; }} else {{ for (let i = 0; i < {n}; i++) {{ {work}; }} }}
                 f ? String({check}) : ''"
            ),
            expected.to_string(),
        ),
    };
    let answer = ctx.eval(Source::from_bytes(&script)).map_err(|e| e.to_string())?;
    let answer = answer.to_string(&mut ctx).map_err(|e| e.to_string())?.to_std_string_escaped();
    if answer != expected {
        return Err(format!("{mode}: {check} gave {answer}, expected {expected}").into());
    }
    Ok(())
}

/// The arguments of a mode's calls.
enum Family {
    /// Two integers.
    Int,
    /// One fraction.
    Frac,
    /// Five integers.
    Int5,
    /// One BigInt.
    Big,
    /// One object, the same in every call.
    Ref,
    /// One object, of 1,024 in turn.
    Refs,
    /// One object, the same in every call, and four integers.
    Ref5,
    /// A new object in every call.
    Fresh,
    /// Two objects, the same two in every call.
    Two,
    /// The same object beside a new one in every call.
    Beside,
}

/// The sum of the integers below `n`, as wasm's i32 arithmetic gives it.
fn wrapped_sum(n: u32) -> String {
    (0..n).fold(0i32, |acc, i| acc.wrapping_add(i as i32)).to_string()
}

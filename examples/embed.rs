//! Embedding Sidewinder in a Rust program: a Boa context with the WebAssembly namespace,
//! a host function written in Rust, and wasm calling it through a JS import.
//!
//! Run: cargo run -p sidewinder-js --example embed

use boa_engine::object::FunctionObjectBuilder;
use boa_engine::property::Attribute;
use boa_engine::{js_string, Context, JsResult, JsValue, NativeFunction, Source};

/// A host function defined in Rust: `rustScale(x)` returns `x * 1000`.
fn rust_scale(_this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let x = args.first().cloned().unwrap_or_default().to_number(ctx)?;
    Ok(JsValue::from(x * 1000.0))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut ctx = Context::default();
    sidewinder_js::install(&mut ctx).map_err(|e| e.to_string())?;
    let scale = FunctionObjectBuilder::new(ctx.realm(), NativeFunction::from_fn_ptr(rust_scale))
        .name(js_string!("rustScale"))
        .length(1)
        .build();
    ctx.register_global_property(js_string!("rustScale"), scale, Attribute::all())
        .map_err(|e| e.to_string())?;

    // The module imports `env.scale` and calls it from a loop in machine code.
    let wasm = wat::parse_str(
        r#"(module
             (import "env" "scale" (func $scale (param f64) (result f64)))
             (func (export "sumScaled") (param i32) (result f64)
               (local $i i32) (local $acc f64)
               loop
                 local.get $acc
                 local.get $i f64.convert_i32_u call $scale
                 f64.add local.set $acc
                 local.get $i i32.const 1 i32.add local.tee $i
                 local.get 0 i32.lt_u br_if 0
               end
               local.get $acc))"#,
    )?;
    let bytes = wasm.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(",");
    let script = format!(
        "const bytes = new Uint8Array([{bytes}]);
         const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {{ env: {{ scale: rustScale }} }});
         instance.exports.sumScaled(10);"
    );
    let result = ctx.eval(Source::from_bytes(&script)).map_err(|e| e.to_string())?;
    let result = result.to_number(&mut ctx).map_err(|e| e.to_string())?;
    println!("sum of rustScale(i) for i in 0..10 = {result}");
    assert_eq!(result, 45_000.0);
    Ok(())
}

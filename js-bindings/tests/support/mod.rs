//! What the script-driven test files share: a context with the namespace installed,
//! evaluation to a string, the constructor name of what an expression throws, and
//! modules defined as `Uint8Array` globals.

// Each test crate that includes this module uses some of it.
#![allow(dead_code)]

use boa_engine::property::Attribute;
use boa_engine::{js_string, Context, Source};

/// A fresh Boa context with `WebAssembly` installed.
pub fn context() -> Context {
    let mut ctx = Context::default();
    sidewinder_js::install(&mut ctx).expect("install");
    ctx
}

/// Evaluates `src`, runs the job queue (promise reactions), and returns the completion
/// value as a string; a script that throws fails the test.
pub fn eval(ctx: &mut Context, src: &str) -> String {
    let v = match ctx.eval(Source::from_bytes(src)) {
        Ok(v) => v,
        Err(e) => panic!("script failed: {e}\n{src}"),
    };
    ctx.run_jobs().expect("jobs");
    v.to_string(ctx).expect("string").to_std_string_escaped()
}

/// The constructor name of what `expr` throws, or "no error".
pub fn thrown(ctx: &mut Context, expr: &str) -> String {
    eval(
        ctx,
        &format!(
            "(() => {{ try {{ {expr}; return 'no error'; }} catch (e) {{ return e.constructor.name; }} }})()"
        ),
    )
}

/// Defines the global `name` as a `Uint8Array` of the module `wat`.
pub fn define_bytes(ctx: &mut Context, name: &str, wat: &str) {
    let bytes = wat::parse_str(wat).unwrap_or_else(|e| panic!("{e}"));
    let list = bytes.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(",");
    eval(ctx, &format!("var {name} = new Uint8Array([{list}]); 0"));
}

/// Enters a new realm of `ctx`, installs `WebAssembly` there, and binds `A` in it to the
/// global object of the realm it left.
pub fn enter_second_realm(ctx: &mut Context) {
    let a_global = ctx.global_object();
    let b = ctx.create_realm().expect("realm");
    ctx.enter_realm(b);
    sidewinder_js::install(ctx).expect("install");
    ctx.register_global_property(js_string!("A"), a_global, Attribute::all()).expect("A");
}

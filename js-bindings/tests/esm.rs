//! ES module integration: `import` of `.wasm` files through `WasmModuleLoader`, from real
//! module files in a temporary directory.

use boa_engine::{Context, Module, Source};
use sidewinder_js::WasmModuleLoader;
use std::path::Path;
use std::rc::Rc;

mod support;

fn write_wasm(dir: &Path, name: &str, wat: &str) {
    std::fs::write(dir.join(name), wat::parse_str(wat).expect("valid wat")).expect("write");
}

/// Runs `main.mjs` in `dir` as a module and returns what it left in `globalThis.result`
/// (or the rejection, as a string).
fn run_main(dir: &Path, main: &str) -> String {
    let loader = Rc::new(WasmModuleLoader::new(dir).expect("loader"));
    let mut ctx = Context::builder().module_loader(loader).build().expect("context");
    sidewinder_js::install(&mut ctx).expect("install");
    if let Some(e) = evaluate_module(dir, "main.mjs", main, &mut ctx) {
        return format!("rejected: {e}");
    }
    let result = ctx.eval(Source::from_bytes("String(globalThis.result)")).expect("result");
    result.to_string(&mut ctx).expect("string").to_std_string_escaped()
}

/// Runs `name` in `dir` as a module in the context's current realm; returns the
/// rejection, if any, as a string.
fn evaluate_module(dir: &Path, name: &str, source: &str, ctx: &mut Context) -> Option<String> {
    std::fs::write(dir.join(name), source).expect("write");
    let path = dir.canonicalize().expect("dir").join(name);
    let module = Module::parse(Source::from_bytes(source).with_path(&path), None, ctx).expect("parse");
    let promise = module.load_link_evaluate(ctx);
    ctx.run_jobs().expect("jobs");
    promise.state().as_rejected().map(|e| e.display().to_string())
}

const COUNTER: &str = r#"(module
  (global $g (export "count") (mut i32) (i32.const 1))
  (global (export "fixed") i64 (i64.const 7))
  (func (export "bump") (global.set $g (i32.add (global.get $g) (i32.const 1))))
  (func (export "get") (result i32) (global.get $g)))"#;

/// A temporary directory holding `counter.wasm` (from `COUNTER`).
fn dir_with_counter() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write_wasm(dir.path(), "counter.wasm", COUNTER);
    dir
}

#[test]
fn exports_unwrap_globals_and_stay_live() {
    let dir = dir_with_counter();
    let result = run_main(
        dir.path(),
        r#"import { count, fixed, bump, get } from "./counter.wasm";
           import * as ns from "./counter.wasm";
           const before = count;
           bump(); bump();
           const afterBumps = count;
           const instance = WebAssembly.namespaceInstance(ns);
           instance.exports.count.value = 10;
           globalThis.result = [before, afterBumps, count, typeof fixed, fixed === 7n, get(), ns.count,
             instance.exports.get === get, Object.keys(ns).join()].join();"#,
    );
    assert_eq!(result, "1,3,10,bigint,true,10,10,true,bump,count,fixed,get");
}

#[test]
fn wasm_imports_wasm_and_js_and_shares_one_instance() {
    let dir = dir_with_counter();
    write_wasm(
        dir.path(),
        "user.wasm",
        r#"(module
             (import "./counter.wasm" "count" (global $c (mut i32)))
             (import "./counter.wasm" "bump" (func $bump))
             (import "./scale.mjs" "factor" (global $f i32))
             (import "./scale.mjs" "report" (func $report (param i32)))
             (func (export "run") (call $bump) (call $report (i32.mul (global.get $c) (global.get $f)))))"#,
    );
    std::fs::write(
        dir.path().join("scale.mjs"),
        "export const factor = 100; export const seen = []; export function report(v) { seen.push(v); }",
    )
    .expect("write");
    let result = run_main(
        dir.path(),
        r#"import { run } from "./user.wasm";
           import { count } from "./counter.wasm";
           import { seen } from "./scale.mjs";
           run(); run();
           globalThis.result = seen.join() + ";" + count;"#,
    );
    // One counter instance: user.wasm's bumps are the ones main.mjs sees.
    assert_eq!(result, "200,300;3");
}

#[test]
fn link_errors_reject_the_import() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_wasm(dir.path(), "reserved.wasm", r#"(module (func (export "wasm:f")))"#);
    write_wasm(dir.path(), "needs.wasm", r#"(module (import "./nothing.mjs" "x" (func)))"#);
    std::fs::write(dir.path().join("nothing.mjs"), "export const y = 1;").expect("write");
    let result = run_main(
        dir.path(),
        r#"const outcomes = [];
           for (const file of ["./reserved.wasm", "./needs.wasm", "./missing.wasm"]) {
             try { await import(file); outcomes.push("loaded"); }
             catch (e) { outcomes.push(e.constructor.name); }
           }
           globalThis.result = outcomes.join();"#,
    );
    assert_eq!(result, "LinkError,LinkError,TypeError");
}

#[test]
fn namespace_instance_refuses_other_objects() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("plain.mjs"), "export const a = 1;").expect("write");
    let result = run_main(
        dir.path(),
        r#"import * as plain from "./plain.mjs";
           const refused = [plain, {}, null, 1].map(v => {
             try { WebAssembly.namespaceInstance(v); return "no"; } catch (e) { return e instanceof TypeError; }
           });
           globalThis.result = refused.join();"#,
    );
    assert_eq!(result, "true,true,true,true");
}

#[test]
fn the_helper_module_is_only_for_generated_modules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let result = run_main(
        dir.path(),
        r#"let outcome;
           try { await import("sidewinder:esm"); outcome = "imported"; }
           catch (e) { outcome = e.constructor.name; }
           globalThis.result = outcome;"#,
    );
    assert_eq!(result, "TypeError");
}

/// A wasm module's own import of the helpers' old fixed name: its wrapper imports the
/// modules its wasm module imports, and the loader gave that one the helpers (a wasm
/// module could register refreshers that ran after every call, their errors ignored;
/// found by review, 2026-12-06). Now the name is a file like any other.
#[test]
fn a_wasm_module_cannot_import_the_helpers() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_wasm(
        dir.path(),
        "sneaky.wasm",
        r#"(module (import "sidewinder:esm" "liveBindings" (func $register (param externref)))
             (func (export "reg") (param externref) (call $register (local.get 0))))"#,
    );
    let result = run_main(
        dir.path(),
        r#"let outcome;
           try { await import("./sneaky.wasm"); outcome = "imported"; }
           catch (e) { outcome = e.constructor.name; }
           globalThis.result = outcome;"#,
    );
    assert_eq!(result, "TypeError");
}

#[test]
fn live_bindings_do_not_go_through_the_value_accessor() {
    let dir = dir_with_counter();
    let result = run_main(
        dir.path(),
        r#"Object.defineProperty(WebAssembly.Global.prototype, "value", { get() { throw new Error("hijacked"); } });
           const { count, bump } = await import("./counter.wasm");
           const ns = await import("./counter.wasm");
           bump();
           globalThis.result = [count, ns.count].join();"#,
    );
    assert_eq!(result, "1,2");
}

#[test]
fn a_start_function_updates_live_bindings() {
    let dir = dir_with_counter();
    let starter = wat::parse_str(r#"(module (import "m" "bump" (func $bump)) (start $bump))"#).expect("wat");
    let bytes = starter.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(",");
    let result = run_main(
        dir.path(),
        &format!(
            r#"import {{ count, bump }} from "./counter.wasm";
               new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array([{bytes}])), {{ m: {{ bump }} }});
               globalThis.result = count;"#
        ),
    );
    assert_eq!(result, "2");
}

#[test]
fn suspending_and_resuming_update_live_bindings() {
    // JSPI: a wasm export run by `WebAssembly.promising` sets its exported global, then
    // suspends in a Suspending import; the import and the JS that runs while the wasm
    // waits see the new value, and the value it sets after resuming shows too.
    let dir = tempfile::tempdir().expect("tempdir");
    write_wasm(
        dir.path(),
        "suspender.wasm",
        r#"(module
             (import "./host.mjs" "wait" (func $wait))
             (global $g (export "g") (mut i32) (i32.const 0))
             (func (export "run")
               (global.set $g (i32.const 1))
               (call $wait)
               (global.set $g (i32.const 2))))"#,
    );
    std::fs::write(
        dir.path().join("host.mjs"),
        "export const wait = new WebAssembly.Suspending(async () => { globalThis.inWait = globalThis.readG(); });",
    )
    .expect("write");
    let result = run_main(
        dir.path(),
        r#"import { g, run } from "./suspender.wasm";
           globalThis.readG = () => g;
           const done = WebAssembly.promising(run)();
           const whileWaiting = g;
           done.then(() => { globalThis.result = [globalThis.inWait, whileWaiting, g].join(); });"#,
    );
    assert_eq!(result, "1,1,2");
}

/// The module loader serves every realm of its context: a second realm imports wasm
/// modules too, and a binding stays live whichever realm's wasm or JS writes the global.
#[test]
fn wasm_modules_import_into_two_realms_and_bindings_stay_live_across_them() {
    let dir = dir_with_counter();
    write_wasm(dir.path(), "seven.wasm", r#"(module (global (export "seven") i32 (i32.const 7)))"#);
    let loader = Rc::new(WasmModuleLoader::new(dir.path()).expect("loader"));
    let mut ctx = Context::builder().module_loader(loader).build().expect("context");
    sidewinder_js::install(&mut ctx).expect("install");
    let a_main = r#"import { count, bump } from "./counter.wasm";
        import * as ns from "./counter.wasm";
        globalThis.readCount = () => count; globalThis.ns = ns; bump();"#;
    assert_eq!(evaluate_module(dir.path(), "a.mjs", a_main, &mut ctx), None);
    support::enter_second_realm(&mut ctx);
    let setter = wat::parse_str(
        r#"(module (import "m" "g" (global (mut i32))) (func (export "set") (param i32) local.get 0 global.set 0))"#,
    )
    .expect("wat");
    let list = setter.iter().map(u8::to_string).collect::<Vec<_>>().join(",");
    ctx.eval(Source::from_bytes(&format!("globalThis.setterBytes = new Uint8Array([{list}])")))
        .expect("bytes");
    let b_main = r#"import { seven } from "./seven.wasm";
        const g = A.WebAssembly.namespaceInstance(A.ns).exports.count;
        const setter = new WebAssembly.Instance(new WebAssembly.Module(globalThis.setterBytes),
          {m: {g}}).exports;
        setter.set(50);
        const afterWasm = A.readCount();
        g.value = 60;
        globalThis.result = [seven, afterWasm, A.readCount()].join();"#;
    assert_eq!(evaluate_module(dir.path(), "b.mjs", b_main, &mut ctx), None);
    let result = ctx.eval(Source::from_bytes("String(globalThis.result)")).expect("result");
    assert_eq!(result.to_string(&mut ctx).expect("string").to_std_string_escaped(), "7,50,60");
}

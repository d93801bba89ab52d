//! JS Promise Integration beyond WPT: fibers inside fibers, and rejections caught by
//! wasm.

mod support;
use support::{context, define_bytes, eval};

#[test]
fn a_promising_call_started_inside_another_suspends_on_its_own() {
    let mut ctx = context();
    define_bytes(
        &mut ctx,
        "bytes",
        r#"(module
          (import "m" "wait" (func $wait (param i32) (result i32)))
          (import "m" "nested" (func $nested (result i32)))
          (func (export "inner") (result i32) (i32.add (call $wait (i32.const 1)) (i32.const 100)))
          (func (export "outer") (result i32)
            (i32.add (call $nested) (call $wait (i32.const 2)))))"#,
    );
    let script = r#"
        var log = [];
        var exports;
        var innerPromise;
        var imports = { m: {
          wait: new WebAssembly.Suspending(x => { log.push("wait " + x); return x * 10; }),
          nested() { innerPromise = WebAssembly.promising(exports.inner)(); log.push("nested"); return 5; },
        } };
        exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports).exports;
        var results = [];
        WebAssembly.promising(exports.outer)().then(v => results.push("outer " + v));
        innerPromise.then(v => results.push("inner " + v));
        log.push("sync end");
        0"#;
    eval(&mut ctx, script);
    assert_eq!(eval(&mut ctx, "log.join()"), "wait 1,nested,wait 2,sync end");
    assert_eq!(eval(&mut ctx, "results.sort().join()"), "inner 110,outer 25");
}

#[test]
fn a_rejection_enters_wasm_as_a_catchable_exception() {
    let mut ctx = context();
    define_bytes(
        &mut ctx,
        "bytes",
        r#"(module
          (import "m" "tag" (tag $js (param externref)))
          (import "m" "fail" (func $fail (result i32)))
          (func (export "run") (result externref)
            (block $h (result externref)
              (try_table (catch $js $h) (drop (call $fail)))
              (ref.null extern))))"#,
    );
    let script = r#"
        var reason = { why: "no" };
        var imports = { m: { tag: WebAssembly.JSTag,
                              fail: new WebAssembly.Suspending(() => Promise.reject(reason)) } };
        var exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports).exports;
        var caught;
        WebAssembly.promising(exports.run)().then(v => caught = v);
        0"#;
    eval(&mut ctx, script);
    assert_eq!(eval(&mut ctx, "caught === reason"), "true");
}

/// Found by review: a Suspending import re-exported and called from JS inside a
/// promising call passed the "only wasm frames" check (calling a host function from JS
/// did not count as leaving wasm) and suspended with the JS frame on the fiber, which
/// corrupted Boa's frame stack. It must throw a SuspendError; and `promising` of a JS
/// function that wasm imports is a TypeError.
#[test]
fn suspending_is_refused_with_javascript_frames_on_the_fiber() {
    let mut ctx = context();
    define_bytes(
        &mut ctx,
        "bytes",
        r#"(module
          (import "m" "wait" (func $w (result i32)))
          (import "m" "js" (func $js (result i32)))
          (export "wait" (func $w))
          (func (export "run") (result i32) (call $js)))"#,
    );
    let script = r#"
        var inst;
        var js = () => {
          try { inst.exports.wait(); return 0; }
          catch (e) { return e instanceof WebAssembly.SuspendError ? 7 : 8; }
        };
        inst = new WebAssembly.Instance(new WebAssembly.Module(bytes),
          { m: { wait: new WebAssembly.Suspending(() => 1), js } });
        var out;
        WebAssembly.promising(inst.exports.run)().then(v => out = v);
        var after = "ran";
        0"#;
    eval(&mut ctx, script);
    assert_eq!(eval(&mut ctx, "after + ' ' + out"), "ran 7");
    assert_eq!(
        eval(&mut ctx, "try { WebAssembly.promising(js); 'no' } catch (e) { e instanceof TypeError }"),
        "true"
    );
}

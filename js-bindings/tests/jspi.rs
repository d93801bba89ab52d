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

/// A promising call's arguments are converted on its fiber: a `valueOf` there is a JS
/// frame, so wasm it calls may not suspend (it could, leaving a conversion half done on
/// a suspended stack, whose held externref handle was then reused; found by review,
/// 2026-12-06).
#[test]
fn suspending_is_refused_under_an_argument_conversion() {
    let mut ctx = context();
    define_bytes(
        &mut ctx,
        "bytes",
        r#"(module
          (import "m" "wait" (func $wait (result i32)))
          (func (export "inner") (result i32) (call $wait))
          (func (export "outer") (param externref i32) (result externref) (local.get 0)))"#,
    );
    let script = r#"
        var inst = new WebAssembly.Instance(new WebAssembly.Module(bytes),
          { m: { wait: new WebAssembly.Suspending(() => new Promise(() => {})) } });
        var outcome = "pending";
        var arg = { name: "A" };
        WebAssembly.promising(inst.exports.outer)(arg, { valueOf: inst.exports.inner })
          .then(v => outcome = v === arg ? "resolved" : "wrong value",
                e => outcome = e instanceof WebAssembly.SuspendError ? "SuspendError" : String(e));
        0"#;
    eval(&mut ctx, script);
    assert_eq!(eval(&mut ctx, "outcome"), "SuspendError");
}

/// WasmGC objects live across suspensions while the heap collects around them: ten
/// promising calls interleave, each keeping a list (in a local) across 20 suspensions
/// and making 240 KB of garbage after each, 48 MB in all through a 4 MiB heap.
#[test]
fn suspended_calls_keep_their_objects_while_the_heap_collects() {
    let mut ctx = boa_engine::Context::default();
    let config =
        sidewinder_engine::Config { gc_heap_limit: 4 << 20, gc_collect_after: 1 << 20, ..Default::default() };
    sidewinder_js::install_with_config(&mut ctx, config).expect("install");
    define_bytes(
        &mut ctx,
        "bytes",
        r#"(module
          (type $node (struct (field $next (ref null $node)) (field $value i32)))
          (import "m" "wait" (func $wait (param i32) (result i32)))
          (func $build (param $n i32) (result (ref null $node))
            (local $list (ref null $node))
            (block $done (loop $l
              (br_if $done (i32.eqz (local.get $n)))
              (local.set $n (i32.sub (local.get $n) (i32.const 1)))
              (local.set $list (struct.new $node (local.get $list) (local.get $n)))
              (br $l)))
            (local.get $list))
          (func $sum (param $list (ref null $node)) (result i32)
            (local $sum i32)
            (block $done (loop $l
              (br_if $done (ref.is_null (local.get $list)))
              (local.set $sum (i32.add (local.get $sum) (struct.get $node $value (local.get $list))))
              (local.set $list (struct.get $node $next (local.get $list)))
              (br $l)))
            (local.get $sum))
          (func $garbage (param $n i32)
            (loop $l
              (drop (struct.new $node (ref.null $node) (local.get $n)))
              (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
          (func (export "run") (param $id i32) (param $rounds i32) (result i32)
            (local $list (ref null $node)) (local $total i32)
            (local.set $list (call $build (i32.add (local.get $id) (i32.const 100))))
            (loop $l
              (local.set $total (i32.add (local.get $total) (call $wait (local.get $id))))
              (call $garbage (i32.const 10000))
              (local.set $total (i32.add (local.get $total) (call $sum (local.get $list))))
              (br_if $l (local.tee $rounds (i32.sub (local.get $rounds) (i32.const 1)))))
            (local.get $total)))"#,
    );
    let script = r#"
        var imports = { m: { wait: new WebAssembly.Suspending(x => Promise.resolve(x)) } };
        var run = WebAssembly.promising(new WebAssembly.Instance(new WebAssembly.Module(bytes), imports).exports.run);
        var results = [];
        for (let id = 0; id < 10; id++) run(id, 20).then(v => results.push(v), e => results.push(String(e)));
        0"#;
    eval(&mut ctx, script);
    let expected: Vec<String> =
        (0..10).map(|id: i32| (20 * (id + (id + 100) * (id + 99) / 2)).to_string()).collect();
    assert_eq!(eval(&mut ctx, "results.join()"), expected.join(","));
}

/// JSPI waits for a Suspending import's result as `await` does: PromiseResolve reads the
/// promise's `constructor` once, and nothing reads it again (Boa's `JsPromise::then`
/// would, for the species).
#[test]
fn a_suspending_result_is_awaited_with_one_read_of_its_constructor() {
    let mut ctx = context();
    define_bytes(
        &mut ctx,
        "bytes",
        r#"(module
          (import "m" "wait" (func $wait (result i32)))
          (func (export "run") (result i32) (i32.add (call $wait) (i32.const 1))))"#,
    );
    let script = r#"
        function promiseReadingConstructor(throwFrom) {
          const p = Promise.resolve(41);
          let reads = 0;
          Object.defineProperty(p, 'constructor', { get() {
            reads++;
            if (reads >= throwFrom) throw new Error('read ' + reads);
            return Promise;
          } });
          return [p, () => reads];
        }
        function run(throwFrom) {
          const [p, reads] = promiseReadingConstructor(throwFrom);
          const imports = { m: { wait: new WebAssembly.Suspending(() => p) } };
          const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports).exports;
          const out = { reads };
          WebAssembly.promising(exports.run)().then(v => out.value = v, e => out.value = 'rejected: ' + e.message);
          return out;
        }
        var secondReadThrows = run(2), firstReadThrows = run(1);
        0"#;
    eval(&mut ctx, script);
    assert_eq!(eval(&mut ctx, "secondReadThrows.value + ' ' + secondReadThrows.reads()"), "42 1");
    // An abrupt PromiseResolve throws from the import, into wasm and out of the call.
    assert_eq!(eval(&mut ctx, "firstReadThrows.value + ' ' + firstReadThrows.reads()"), "rejected: read 1 1");
}

/// `end_suspended_calls` called from wasm running on a fiber (through a JS import)
/// ends the other waiting calls and leaves the running one, which it cannot resume, to
/// go on; a later call ends that one once it waits.
#[test]
fn ending_waiting_calls_from_inside_a_running_fiber_ends_the_others() {
    use boa_engine::object::FunctionObjectBuilder;
    use boa_engine::property::Attribute;
    use boa_engine::{js_string, JsValue, NativeFunction};
    let mut ctx = context();
    let end = NativeFunction::from_fn_ptr(|_, _, ctx| {
        Ok(JsValue::from(sidewinder_js::end_suspended_calls(ctx) as u32))
    });
    let end = FunctionObjectBuilder::new(ctx.realm(), end).name(js_string!("end")).build();
    ctx.register_global_property(js_string!("end"), end, Attribute::all()).expect("end");
    define_bytes(
        &mut ctx,
        "bytes",
        r#"(module
          (import "m" "wait" (func $wait (param i32) (result i32)))
          (import "m" "after" (func $after (result i32)))
          (func (export "run") (param i32) (result i32)
            (i32.add (call $wait (local.get 0)) (call $after))))"#,
    );
    let script = r#"
        var log = [];
        var forever = new Promise(() => {});
        var x = new WebAssembly.Instance(new WebAssembly.Module(bytes), { m: {
          wait: new WebAssembly.Suspending(y => y === 7 ? forever : Promise.resolve(y)),
          after() { log.push("ended " + end()); return 0; },
        } }).exports;
        var outcome = p => p.then(v => "fulfilled " + v,
          e => (e instanceof WebAssembly.RuntimeError) + " " + e.message);
        var waitsForever = outcome(WebAssembly.promising(x.run)(7));
        var resumesAndEnds = outcome(WebAssembly.promising(x.run)(1));
        var results;
        Promise.all([waitsForever, resumesAndEnds]).then(r => results = r);
        0"#;
    eval(&mut ctx, script);
    assert_eq!(
        eval(&mut ctx, "log.join() + ' | ' + results.join(' | ')"),
        "ended 1 | true the call was ended while it waited for a promise | fulfilled 1"
    );
    assert_eq!(eval(&mut ctx, "end()"), "0");
}

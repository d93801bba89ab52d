//! A dropped context lets go of its store: nothing the JS API makes may tie the store
//! to the context's objects in a cycle Boa's collector cannot see (the store holding a
//! JS import's callable, a memory's ArrayBuffer or a JSPI call's objects outside Boa's
//! heap while those objects' wrappers hold the store).

use boa_engine::{Context, JsData, Source};
use boa_gc::{Finalize, Gc, Trace, WeakGc};
use sidewinder_engine::Store;

/// Put in a realm's host-defined slot: alive as long as the realm is.
#[derive(Trace, Finalize, JsData)]
struct RealmMarker(Gc<u8>);

mod support;
use support::define_bytes;

const IMPORTING: &str = r#"(module
  (import "m" "f" (func $f (param i32) (result i32)))
  (memory (export "mem") 1)
  (func (export "g") (param i32) (result i32) (call $f (local.get 0))))"#;

/// Whether the store and the realms of a context that ran `script` (with the module
/// `bytes`) are freed once the context is dropped; `two_realms` installs in a second
/// realm too. (Boa's collector never releases a `Gc` dropped while it sweeps: a JS
/// object the store holds must be let go of before the store can go in a sweep.)
fn store_freed_after(script: &str, two_realms: bool) -> bool {
    store_freed_after_ending(script, two_realms, |_| {})
}

/// `store_freed_after`, with `before_drop` run on the context last.
fn store_freed_after_ending(script: &str, two_realms: bool, before_drop: impl FnOnce(&mut Context)) -> bool {
    boa_gc::force_collect();
    let before = Store::alive_on_this_thread();
    let marker = Gc::new(0u8);
    let realm_alive = WeakGc::new(&marker);
    {
        let mut ctx = Context::default();
        ctx.realm().host_defined_mut().insert(RealmMarker(marker));
        sidewinder_js::install(&mut ctx).expect("install");
        if two_realms {
            support::enter_second_realm(&mut ctx);
        }
        define_bytes(&mut ctx, "bytes", IMPORTING);
        ctx.eval(Source::from_bytes(script)).expect("script");
        ctx.run_jobs().expect("jobs");
        assert_eq!(Store::alive_on_this_thread(), before + 1);
        before_drop(&mut ctx);
    }
    boa_gc::force_collect();
    boa_gc::force_collect();
    Store::alive_on_this_thread() == before && !realm_alive.is_upgradable()
}

#[test]
fn a_context_whose_instance_imports_a_js_function_frees_its_store() {
    let script = "var x = new WebAssembly.Instance(new WebAssembly.Module(bytes), {m: {f: y => y + 1}}).exports; x.g(1)";
    assert!(store_freed_after(script, false));
    assert!(store_freed_after(script, true));
    assert!(store_freed_after(
        "new WebAssembly.Instance(new WebAssembly.Module(bytes), {m: {f: y => y}}); 0",
        false
    ));
}

#[test]
fn a_context_without_wasm_frees_its_realm() {
    // The check itself: a realm is freed with its context.
    assert!(store_freed_after("var o = {}; 0", false));
}

#[test]
fn a_context_that_read_a_memory_buffer_frees_its_store() {
    assert!(store_freed_after("var m = new WebAssembly.Memory({initial: 1}); var b = m.buffer; 0", false));
}

#[test]
fn a_context_with_a_webassembly_function_frees_its_store() {
    let script = "var f = new WebAssembly.Function({parameters: ['i32'], results: ['i32']}, y => y); f(3)";
    assert!(store_freed_after(script, false));
}

#[test]
fn a_context_whose_jspi_calls_settled_frees_its_store() {
    let script = "var x = new WebAssembly.Instance(new WebAssembly.Module(bytes),
                    {m: {f: new WebAssembly.Suspending(y => Promise.resolve(y + 1))}}).exports;
                  var r; WebAssembly.promising(x.g)(1).then(v => r = v); 0";
    assert!(store_freed_after(script, false));
}

/// A JSPI call still waiting holds JS objects on its suspended stack, which only
/// unwinding it lets go of: `end_suspended_calls` does that while the context is whole,
/// rejecting the call's promise with a RuntimeError.
#[test]
fn a_context_whose_waiting_jspi_calls_were_ended_frees_its_store() {
    let script = "var x = new WebAssembly.Instance(new WebAssembly.Module(bytes),
                    {m: {f: new WebAssembly.Suspending(y => new Promise(() => {}))}}).exports;
                  var outcome = 'waiting';
                  for (let i = 0; i < 3; i++)
                    WebAssembly.promising(x.g)(i).then(v => outcome = 'fulfilled',
                      e => outcome = (e instanceof WebAssembly.RuntimeError) + ' ' + e.message);
                  0";
    let ended = std::cell::Cell::new(0);
    let outcome = std::cell::RefCell::new(String::new());
    let freed = store_freed_after_ending(script, true, |ctx| {
        ended.set(sidewinder_js::end_suspended_calls(ctx));
        // Nothing is left to end, and the rejections run with the jobs.
        assert_eq!(sidewinder_js::end_suspended_calls(ctx), 0);
        ctx.run_jobs().expect("jobs");
        let v = ctx.eval(Source::from_bytes("outcome")).expect("outcome");
        *outcome.borrow_mut() = v.to_string(ctx).expect("string").to_std_string_escaped();
    });
    assert_eq!(ended.get(), 3);
    assert_eq!(*outcome.borrow(), "true the call was ended while it waited for a promise");
    assert!(freed);
}

/// The store can outlive its context (here a wasm GC object an embedder kept holds it),
/// and its memory's bytes with it: dropping the context gives the ArrayBuffer's bytes
/// back to the store instead of freeing them under compiled code.
#[test]
fn a_memory_outliving_its_context_keeps_its_bytes() {
    let (peek, poke, _kept) = {
        let mut a = support::context();
        define_bytes(
            &mut a,
            "bytes",
            r#"(module (type $s (struct (field i32)))
                 (memory (export "mem") 1 1)
                 (func (export "mk") (result (ref $s)) (struct.new $s (i32.const 5)))
                 (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
                 (func (export "peek") (param i32) (result i32) (i32.load (local.get 0))))"#,
        );
        let x = "var x = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports; x.mem.buffer; x.poke(8, 7); 0";
        a.eval(Source::from_bytes(x)).expect("instance");
        let get = |a: &mut Context, e: &str| a.eval(Source::from_bytes(e)).expect(e);
        (get(&mut a, "x.peek"), get(&mut a, "x.poke"), get(&mut a, "x.mk()"))
    };
    boa_gc::force_collect();
    let mut b = support::context();
    // Reuses what the first context freed, if its buffer took the bytes with it.
    b.eval(Source::from_bytes("new WebAssembly.Memory({initial: 1, maximum: 1}).buffer; 0")).expect("memory");
    let call = |f: &boa_engine::JsValue, args: &[boa_engine::JsValue], b: &mut Context| {
        f.as_callable().expect("function").call(&boa_engine::JsValue::undefined(), args, b).expect("call")
    };
    assert_eq!(call(&peek, &[8.into()], &mut b).as_number(), Some(7.0));
    call(&poke, &[8.into(), 9.into()], &mut b);
    assert_eq!(call(&peek, &[8.into()], &mut b).as_number(), Some(9.0));
}

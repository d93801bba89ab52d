//! Realms of one context share the agent's store and object caches (JS API 2.1 "Each
//! agent has an associated store", 2.2 "WebAssembly JS Object Caches"): a memory, table,
//! global or function of one realm imports into another realm's instance, and a wasm
//! object has one JS object whichever realm asks for it.

use boa_engine::Context;

mod support;
use support::{define_bytes, enter_second_realm, eval};

/// A context whose current realm ("B") has `A` bound to the global object of the
/// context's first realm; both have `WebAssembly` and the module `bytes`.
fn two_realms() -> Context {
    let mut ctx = Context::default();
    sidewinder_js::install(&mut ctx).expect("install in A");
    define_bytes(&mut ctx, "bytes", SHARED_STATE);
    enter_second_realm(&mut ctx);
    define_bytes(&mut ctx, "bytes", SHARED_STATE);
    // `A.make` instantiates in realm A (its Module and Instance constructors).
    eval(
        &mut ctx,
        "A.eval('var make = (g, t, mem) => new WebAssembly.Instance(new WebAssembly.Module(bytes), {m: {g, t, mem}}).exports');
         var make = (g, t, mem) => new WebAssembly.Instance(new WebAssembly.Module(bytes), {m: {g, t, mem}}).exports; 0",
    );
    ctx
}

/// Imports a global, a table and a memory, and reads and writes each.
const SHARED_STATE: &str = r#"(module
  (import "m" "g" (global $g (mut externref)))
  (import "m" "t" (table $t 4 externref))
  (import "m" "mem" (memory 1))
  (func (export "setGlobal") (param externref) local.get 0 global.set $g)
  (func (export "getGlobal") (result externref) global.get $g)
  (func (export "setTable") (param i32 externref) local.get 0 local.get 1 table.set $t)
  (func (export "getTable") (param i32) (result externref) local.get 0 table.get $t)
  (func (export "same") (param externref) (result externref) local.get 0)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (export "memory" (memory 0)))"#;

const MAKE_IN_A: &str = "var g = new A.WebAssembly.Global({value: 'externref', mutable: true}, 'first');
   var t = new A.WebAssembly.Table({element: 'externref', initial: 4});
   var mem = new A.WebAssembly.Memory({initial: 1});
   var inA = A.make(g, t, mem);
   var inB = make(g, t, mem); 0";

#[test]
fn one_realms_memory_table_and_global_import_into_another_realms_instance() {
    let mut ctx = two_realms();
    eval(&mut ctx, MAKE_IN_A);
    assert_eq!(eval(&mut ctx, "inB.getGlobal()"), "first");
    assert_eq!(
        eval(&mut ctx, "var o = {}; inB.setGlobal(o); inA.getGlobal() === o && g.value === o"),
        "true"
    );
    assert_eq!(
        eval(&mut ctx, "var p = {}; inA.setTable(1, p); inB.getTable(1) === p && t.get(1) === p"),
        "true"
    );
    assert_eq!(eval(&mut ctx, "inB.store(8, 77); inA.load(8) + new Uint32Array(mem.buffer)[2]"), "154");
    // And the other way: realm B's objects in an instance of realm A.
    assert_eq!(
        eval(
            &mut ctx,
            "var g2 = new WebAssembly.Global({value: 'externref', mutable: true});
             var mem2 = new WebAssembly.Memory({initial: 1});
             var inA2 = A.make(g2, new WebAssembly.Table({element: 'externref', initial: 4}), mem2);
             var q = {}; inA2.setGlobal(q); inA2.store(0, 5);
             (g2.value === q) + ' ' + new Uint32Array(mem2.buffer)[0]"
        ),
        "true 5"
    );
}

#[test]
fn externrefs_keep_their_identity_between_realms_across_sweeps() {
    let mut ctx = two_realms();
    eval(&mut ctx, MAKE_IN_A);
    // Each realm's exports pass values on to the other's; enough handles for several
    // sweeps of the handle list, with the values kept only by the table.
    let src = "var kept = [];
       for (let i = 0; i < 20000; i++) {
         const v = {i};
         (i & 1 ? inA : inB).setTable(i & 3, v);
         if (i % 997 == 0) kept.push(v);
       }
       var o = {};
       [inA.getTable(3).i, inB.getTable(2).i, inA.same(inB.same(o)) === o,
        kept.every(v => inB.same(inA.same(v)) === v)].join(' ')";
    assert_eq!(eval(&mut ctx, src), "19999 19998 true true");
}

#[test]
fn a_wasm_object_has_one_js_object_in_every_realm() {
    let mut ctx = two_realms();
    eval(&mut ctx, MAKE_IN_A);
    // The Memory object cache is the agent's: the memory realm A made, exported by
    // realm B's instance, is the same object.
    assert_eq!(eval(&mut ctx, "inB.memory === mem && inA.memory === mem"), "true");
    assert_eq!(
        eval(&mut ctx, "Object.getPrototypeOf(inB.memory) === A.WebAssembly.Memory.prototype"),
        "true"
    );
    // An exported function of A imported by B's instance and read back from its table.
    define_bytes(
        &mut ctx,
        "reexport",
        r#"(module (import "m" "f" (func $f (param externref) (result externref)))
                   (table (export "t") 1 funcref (ref.func $f)) (export "f" (func $f)))"#,
    );
    assert_eq!(
        eval(
            &mut ctx,
            "var x = new WebAssembly.Instance(new WebAssembly.Module(reexport), {m: {f: inA.same}}).exports;
             x.f === inA.same && x.t.get(0) === inA.same"
        ),
        "true"
    );
    // The JavaScript exception tag is the agent's.
    assert_eq!(eval(&mut ctx, "WebAssembly.JSTag === A.WebAssembly.JSTag"), "true");
}

#[test]
fn a_new_realms_namespace_has_its_own_interface_objects() {
    let mut ctx = two_realms();
    assert_eq!(
        eval(&mut ctx, "WebAssembly !== A.WebAssembly && WebAssembly.Memory !== A.WebAssembly.Memory"),
        "true"
    );
    assert_eq!(
        eval(
            &mut ctx,
            "Object.getPrototypeOf(new WebAssembly.Memory({initial: 0})) === WebAssembly.Memory.prototype"
        ),
        "true"
    );
    assert_eq!(
        eval(&mut ctx, "new A.WebAssembly.Memory({initial: 0}) instanceof WebAssembly.Memory"),
        "false"
    );
}

#[test]
fn installing_again_leaves_a_realm_as_it_is_and_another_config_is_refused() {
    let mut ctx = Context::default();
    sidewinder_js::install(&mut ctx).expect("install");
    eval(&mut ctx, "var first = WebAssembly; var tag = WebAssembly.JSTag; 0");
    sidewinder_js::install(&mut ctx).expect("install again");
    assert_eq!(
        eval(
            &mut ctx,
            "WebAssembly === first && WebAssembly.JSTag === tag && tag instanceof WebAssembly.Tag"
        ),
        "true"
    );
    // One engine per context: a second realm may not ask for another.
    let b = ctx.create_realm().expect("realm B");
    ctx.enter_realm(b);
    let other = sidewinder_engine::Config { max_wasm_stack: 2 << 20, ..Default::default() };
    assert!(sidewinder_js::install_with_config(&mut ctx, other).is_err());
    sidewinder_js::install(&mut ctx).expect("install in B with the context's config");
    assert_eq!(eval(&mut ctx, "typeof WebAssembly.Module"), "function");
}

/// WebIDL's "internally create a new object implementing the interface" and
/// GetPrototypeFromConstructor: when `newTarget.prototype` is not an object, the
/// prototype is the interface's in newTarget's realm.
#[test]
fn a_new_target_without_a_prototype_object_gives_the_prototype_of_its_own_realm() {
    let mut ctx = two_realms();
    let src = "function NT() {} NT.prototype = 1;
       const bound = NT.bind(null);
       [Reflect.construct(A.WebAssembly.Memory, [{initial: 0}], NT),
        Reflect.construct(A.WebAssembly.Tag, [{parameters: []}], bound),
        Reflect.construct(A.WebAssembly.CompileError, ['m'], NT)]
         .map((o, i) => Object.getPrototypeOf(o) === [WebAssembly.Memory, WebAssembly.Tag, WebAssembly.CompileError][i].prototype)
         .join()";
    assert_eq!(eval(&mut ctx, src), "true,true,true");
    // And newTarget from realm A, constructing with realm B's interface.
    assert_eq!(
        eval(&mut ctx, "const ANT = A.eval('(function () {})'); ANT.prototype = null;
             Object.getPrototypeOf(Reflect.construct(WebAssembly.Memory, [{initial: 0}], ANT)) === A.WebAssembly.Memory.prototype"),
        "true"
    );
}

/// A memory's buffer belongs to the realm current when its Memory object was made, or
/// when `grow` last refreshed it, not to the realm that reads it first.
#[test]
fn a_memory_buffer_is_made_in_the_realm_of_its_memory_object_or_last_grow() {
    let mut ctx = two_realms();
    let src =
        "const getBuffer = Object.getOwnPropertyDescriptor(A.WebAssembly.Memory.prototype, 'buffer').get;
       const m = new WebAssembly.Memory({initial: 1});
       const first = Object.getPrototypeOf(getBuffer.call(m)) === ArrayBuffer.prototype;
       A.WebAssembly.Memory.prototype.grow.call(m, 1);
       const afterGrow = Object.getPrototypeOf(m.buffer) === A.ArrayBuffer.prototype;
       [first, afterGrow].join()";
    assert_eq!(eval(&mut ctx, src), "true,true");
}

#[test]
fn a_memory_buffer_after_a_wasm_grow_is_made_in_the_realm_of_the_growing_export() {
    let mut ctx = two_realms();
    // Each instance's exported functions are made in its realm; while one runs, its
    // realm is the current one, in which the JS API makes the grown memory's buffer.
    let src = "const g = new WebAssembly.Global({value: 'externref', mutable: true});
       const t = new WebAssembly.Table({element: 'externref', initial: 4});
       const m = new WebAssembly.Memory({initial: 1});
       const [inA, inB] = [A.make(g, t, m), make(g, t, m)];
       const before = Object.getPrototypeOf(m.buffer) === ArrayBuffer.prototype;
       inA.grow(1);
       const afterA = Object.getPrototypeOf(m.buffer) === A.ArrayBuffer.prototype;
       inB.grow(1);
       const afterB = Object.getPrototypeOf(m.buffer) === ArrayBuffer.prototype;
       A.WebAssembly.Memory.prototype.grow.call(m, 1);
       const afterJs = Object.getPrototypeOf(m.buffer) === A.ArrayBuffer.prototype;
       [before, afterA, afterB, afterJs, m.buffer.byteLength / 65536].join()";
    assert_eq!(eval(&mut ctx, src), "true,true,true,true,4");
}

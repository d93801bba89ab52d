//! GC values through real scripts, beyond WPT's `gc/` files: the i31 and host-value
//! conversions of the `any` and `extern` hierarchies, and exported GC objects' identity.

mod support;
use support::{context, define_bytes, eval, thrown};

const MODULE: &str = r#"(module
  (type $s (struct (field (mut i32))))
  (func (export "isI31") (param externref) (result i32)
    (ref.test (ref i31) (any.convert_extern (local.get 0))))
  (func (export "id") (param externref) (result externref) (local.get 0))
  (func (export "anyId") (param anyref) (result anyref) (local.get 0))
  (func (export "make") (param i32) (result (ref $s)) (struct.new $s (local.get 0)))
  (func (export "get") (param (ref $s)) (result i32) (struct.get $s 0 (local.get 0)))
  (func (export "same") (param eqref eqref) (result i32) (ref.eq (local.get 0) (local.get 1)))
  (func (export "externalize") (param anyref) (result externref) (extern.convert_any (local.get 0))))"#;

fn exports() -> boa_engine::Context {
    let mut ctx = context();
    define_bytes(&mut ctx, "gcBytes", MODULE);
    eval(&mut ctx, "var g = new WebAssembly.Instance(new WebAssembly.Module(gcBytes)).exports; 0");
    ctx
}

/// ToWebAssemblyValue converts an `externref` as an `anyref` first: integral Numbers in
/// [-2^30, 2^30) become i31 values (and come back as the same Number), others stay host
/// values; -0 stays a host value, so it comes back as -0.
#[test]
fn numbers_in_range_are_i31_in_both_hierarchies() {
    let mut ctx = exports();
    assert_eq!(eval(&mut ctx, "[5, -5, 2**30 - 1, -(2**30)].map(n => g.isI31(n)).join()"), "1,1,1,1");
    assert_eq!(
        eval(&mut ctx, "[2**30, 0.5, -0, 'x', 5n, {}, null].map(n => g.isI31(n)).join()"),
        "0,0,0,0,0,0,0"
    );
    assert_eq!(eval(&mut ctx, "[7, -7, 2**30, 0.5, 'x'].every(v => Object.is(g.id(v), v))"), "true");
    assert_eq!(eval(&mut ctx, "Object.is(g.id(-0), -0) && Object.is(g.anyId(-0), -0)"), "true");
    assert_eq!(eval(&mut ctx, "g.anyId(-(2**30))"), (-(1i64 << 30)).to_string());
    let o = "var o = {}; g.anyId(o) === o && g.id(o) === o";
    assert_eq!(eval(&mut ctx, o), "true");
}

/// One JS object per struct, every time it crosses; it crosses back as the struct, in
/// either hierarchy; it is not a struct JS can forge.
#[test]
fn exported_gc_objects_keep_their_identity() {
    let mut ctx = exports();
    eval(&mut ctx, "var s = g.make(41); 0");
    assert_eq!(eval(&mut ctx, "g.anyId(s) === s && g.externalize(s) === s && g.id(s) === s"), "true");
    assert_eq!(eval(&mut ctx, "g.get(s)"), "41");
    assert_eq!(eval(&mut ctx, "g.same(s, g.anyId(s))"), "1");
    assert_eq!(eval(&mut ctx, "g.same(s, g.make(41))"), "0");
    assert_eq!(eval(&mut ctx, "g.same(3, 3)"), "1");
    assert_eq!(thrown(&mut ctx, "g.get({})"), "TypeError");
    assert_eq!(thrown(&mut ctx, "g.get(1)"), "TypeError");
    assert_eq!(thrown(&mut ctx, "g.get(null)"), "TypeError");
    assert_eq!(thrown(&mut ctx, "g.same('a', 'a')"), "TypeError");
    assert_eq!(eval(&mut ctx, "Object.getPrototypeOf(s) === null && !Object.isExtensible(s)"), "true");
    assert_eq!(thrown(&mut ctx, "s.x = 1"), "TypeError");
    assert_eq!(eval(&mut ctx, "Reflect.setPrototypeOf(s, null)"), "false");
}

/// Objects exported to JS are collected once JS drops them and Boa collects their
/// wrappers (which the heap asks for when it is full: `Store::set_gc_pressure_hook`): 20 MB of structs and arrays cross to JS through a 4 MiB heap. Those JS
/// keeps stay usable and keep their identity; addresses reused get new wrappers.
#[test]
fn objects_js_drops_are_collected() {
    let mut ctx = boa_engine::Context::default();
    let config =
        sidewinder_engine::Config { gc_heap_limit: 4 << 20, gc_collect_after: 1 << 20, ..Default::default() };
    sidewinder_js::install_with_config(&mut ctx, config).expect("install");
    define_bytes(
        &mut ctx,
        "bytes",
        r#"(module
          (type $a (array (mut i8)))
          (type $s (struct (field i32) (field (ref $a))))
          (func (export "make") (param i32) (result anyref)
            (struct.new $s (local.get 0) (array.new_default $a (i32.const 1000))))
          (func (export "makeBig") (param i32) (result anyref)
            (struct.new $s (local.get 0) (array.new_default $a (i32.const 100000))))
          (func (export "id") (param anyref) (result anyref) (local.get 0))
          (func (export "get") (param anyref) (result i32)
            (struct.get $s 0 (ref.cast (ref $s) (local.get 0)))))"#,
    );
    eval(
        &mut ctx,
        "var w = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
         var kept = w.make(42); 0",
    );
    for round in 0..10 {
        // Each new object gets a wrapper of its own, even at an address reused.
        let script = format!(
            "for (let i = 0; i < 2000; i++) {{ const o = w.make(i); if (w.get(o) !== i || w.id(o) !== o) throw i; }}
             w.get(kept) + {round}"
        );
        assert_eq!(eval(&mut ctx, &script), (42 + round).to_string());
    }
    assert_eq!(eval(&mut ctx, "w.get(kept) === 42 && w.id(kept) === kept"), "true");
    // 20 MB in 200 objects: too few wrappers for Boa to collect on its own account.
    let script =
        "for (let i = 0; i < 200; i++) { const o = w.makeBig(i); if (w.get(o) !== i) throw i; } w.get(kept)";
    assert_eq!(eval(&mut ctx, script), "42");
}

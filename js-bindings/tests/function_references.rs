//! Typed function references at the JS boundary: ToWebAssemblyValue checks a function's
//! type against `(ref $t)` and null against non-nullable types, wherever a value comes
//! in from JS (arguments, results of JS imports, tables, globals, imports), and
//! non-nullable element types have no default value.

use boa_engine::Context;

mod support;
use support::{context, define_bytes, eval, thrown};

/// A module with functions of two types, and a table, a global and functions typed with
/// the first. `$f` (exported as `f`) is of type `$t`, `$g` (`g`) is not.
const TYPED: &str = r#"(module
  (type $t (func (param i32) (result i32)))
  (type $u (func (param f64)))
  (import "js" "make" (func $make (result (ref $t))))
  (func $f (export "f") (type $t) (i32.add (local.get 0) (i32.const 1)))
  (func $g (export "g") (type $u))
  (table (export "nullable") 2 (ref null $t))
  (table (export "non_null") 1 (ref $t) (ref.func $f))
  (global (export "global") (mut (ref null $t)) (ref.null $t))
  (func (export "apply") (param (ref $t)) (param i32) (result i32)
    (call_ref $t (local.get 1) (local.get 0)))
  (func (export "apply_nullable") (param (ref null $t)) (param i32) (result i32)
    (call_ref $t (local.get 1) (local.get 0)))
  (func (export "give") (result (ref $t)) (ref.func $f))
  (func (export "call_made") (param i32) (result i32)
    (call_ref $t (local.get 0) (call $make)))
)"#;

fn typed_instance(ctx: &mut Context) {
    define_bytes(ctx, "bytes", TYPED);
    eval(
        ctx,
        "var made = null; \
         var i = new WebAssembly.Instance(new WebAssembly.Module(bytes), { js: { make: () => made } }); \
         var e = i.exports; 0",
    );
}

#[test]
fn arguments_and_results_are_checked_against_the_function_type() {
    let mut ctx = context();
    typed_instance(&mut ctx);
    assert_eq!(eval(&mut ctx, "e.apply(e.f, 41)"), "42");
    assert_eq!(eval(&mut ctx, "e.apply_nullable(e.f, 1)"), "2");
    assert_eq!(thrown(&mut ctx, "e.apply(e.g, 1)"), "TypeError");
    assert_eq!(thrown(&mut ctx, "e.apply(null, 1)"), "TypeError");
    assert_eq!(thrown(&mut ctx, "e.apply((x) => x, 1)"), "TypeError");
    assert_eq!(thrown(&mut ctx, "e.apply_nullable(e.g, 1)"), "TypeError");
    // A null that passes the type traps in call_ref.
    assert_eq!(thrown(&mut ctx, "e.apply_nullable(null, 1)"), "RuntimeError");
    assert_eq!(eval(&mut ctx, "e.give() === e.f"), "true");
    // A JS import's result of type (ref $t).
    assert_eq!(eval(&mut ctx, "made = e.f; e.call_made(6)"), "7");
    assert_eq!(thrown(&mut ctx, "made = e.g; e.call_made(6)"), "TypeError");
    assert_eq!(thrown(&mut ctx, "made = null; e.call_made(6)"), "TypeError");
}

#[test]
fn tables_and_globals_take_only_functions_of_their_type() {
    let mut ctx = context();
    typed_instance(&mut ctx);
    let t = "e.nullable";
    assert_eq!(eval(&mut ctx, &format!("{t}.set(0, e.f); {t}.get(0) === e.f")), "true");
    assert_eq!(thrown(&mut ctx, &format!("{t}.set(0, e.g)")), "TypeError");
    assert_eq!(thrown(&mut ctx, &format!("{t}.grow(1, e.g)")), "TypeError");
    assert_eq!(eval(&mut ctx, &format!("{t}.set(0, null); {t}.set(1); {t}.get(0) === null")), "true");
    assert_eq!(eval(&mut ctx, &format!("{t}.grow(1, e.f)")), "2");
    // An explicit undefined is a value, and no function (as WPT's get-set.any.js wants).
    assert_eq!(thrown(&mut ctx, &format!("{t}.set(0, undefined)")), "TypeError");

    // Non-nullable: no null, and no default value when the value is left out.
    let t = "e.non_null";
    assert_eq!(eval(&mut ctx, &format!("{t}.get(0) === e.f")), "true");
    assert_eq!(thrown(&mut ctx, &format!("{t}.set(0, null)")), "TypeError");
    assert_eq!(thrown(&mut ctx, &format!("{t}.set(0)")), "TypeError");
    assert_eq!(thrown(&mut ctx, &format!("{t}.grow(1)")), "TypeError");
    assert_eq!(thrown(&mut ctx, &format!("{t}.set(0, undefined)")), "TypeError");
    assert_eq!(eval(&mut ctx, &format!("{t}.grow(1, e.f); {t}.length")), "2");

    assert_eq!(eval(&mut ctx, "e.global.value === null"), "true");
    assert_eq!(eval(&mut ctx, "e.global.value = e.f; e.global.value === e.f"), "true");
    assert_eq!(thrown(&mut ctx, "e.global.value = e.g"), "TypeError");
    assert_eq!(thrown(&mut ctx, "e.global.value = {}"), "TypeError");
}

/// Imports of typed globals and functions: a JS value is converted as the type says, and
/// a wasm function must have the very type imported.
#[test]
fn imports_of_typed_references() {
    let mut ctx = context();
    typed_instance(&mut ctx);
    define_bytes(
        &mut ctx,
        "importer",
        r#"(module
          (type $t (func (param i32) (result i32)))
          (import "m" "g" (global $g (ref $t)))
          (import "m" "h" (func $h (param (ref $t)) (param i32) (result i32)))
          (func (export "run") (param i32) (result i32)
            (i32.add (call $h (global.get $g) (local.get 0))
              (call_ref $t (local.get 0) (global.get $g)))))"#,
    );
    let instantiate = |g: &str, h: &str| {
        format!("new WebAssembly.Instance(new WebAssembly.Module(importer), {{ m: {{ g: {g}, h: {h} }} }})")
    };
    assert_eq!(eval(&mut ctx, &format!("{}.exports.run(10)", instantiate("e.f", "e.apply"))), "22");
    // The JS function import receives the reference as the exported function object.
    assert_eq!(
        eval(&mut ctx, &format!("{}.exports.run(10)", instantiate("e.f", "(f, x) => f(x) * 100"))),
        "1111"
    );
    assert_eq!(thrown(&mut ctx, &instantiate("e.g", "e.apply")), "LinkError");
    assert_eq!(thrown(&mut ctx, &instantiate("null", "e.apply")), "LinkError");
    assert_eq!(thrown(&mut ctx, &instantiate("e.f", "e.apply_nullable")), "LinkError");
}

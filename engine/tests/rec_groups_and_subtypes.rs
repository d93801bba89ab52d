//! GC's type system for function types: recursion groups (type identity by the whole
//! group, across modules), declared subtypes (`sub`, `final`) accepted by
//! `call_indirect`, imports and the host, and constant expressions that read the
//! module's own globals. GC's heap types are not implemented; the spec scripts
//! type-canon, type-equivalence, type-rec and type-subtyping cover the rest.

use sidewinder_engine::{
    Config, Engine, Error, Extern, Func, Global, GlobalType, HeapType, Instance, Module, RefType, Store,
    TrapCode, Val, ValType,
};

#[allow(dead_code)] // the verdict helpers are for the tests that compare verdicts
mod support;
use support::{assert_trap, compile, integer_result};

fn export_func(instance: &Instance, name: &str) -> Func {
    match instance.get_export(name) {
        Some(Extern::Func(f)) => f,
        other => panic!("{name}: {other:?}"),
    }
}

/// `$base` is open, `$derived` declared below it, `$sibling` has the same signature but
/// no declared relation: only the first two pass a `call_indirect` through `$base`,
/// plain or as a tail call.
const SUBTYPES: &str = r#"(module
  (type $base (sub (func (result i32))))
  (type $derived (sub $base (func (result i32))))
  (type $sibling (func (result i32)))
  (func $b (type $base) (i32.const 1))
  (func $d (type $derived) (i32.const 2))
  (func $s (type $sibling) (i32.const 3))
  (table 3 funcref)
  (elem (i32.const 0) func $b $d $s)
  (func (export "call") (param i32) (result i32) (call_indirect (type $base) (local.get 0)))
  (func (export "tail") (param i32) (result i32) (return_call_indirect (type $base) (local.get 0)))
  (func (export "call_derived") (param i32) (result i32) (call_indirect (type $derived) (local.get 0)))
  (func (export "b") (type $base) (i32.const 10))
  (func (export "d") (type $derived) (i32.const 20))
)"#;

#[test]
fn call_indirect_accepts_declared_subtypes() {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let instance = Instance::new(&store, &compile(&engine, SUBTYPES), &[]).unwrap();
    for name in ["call", "tail"] {
        assert_eq!(integer_result(&instance, name, &[Val::I32(0)]), 1);
        assert_eq!(integer_result(&instance, name, &[Val::I32(1)]), 2);
        assert_trap(&instance, name, &[Val::I32(2)], TrapCode::BadSignature);
    }
    // Not upwards: a $base function is no $derived one.
    assert_trap(&instance, "call_derived", &[Val::I32(0)], TrapCode::BadSignature);
    assert_eq!(integer_result(&instance, "call_derived", &[Val::I32(1)]), 2);
}

#[test]
fn imports_and_the_host_accept_declared_subtypes() {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let exporter = Instance::new(&store, &compile(&engine, SUBTYPES), &[]).unwrap();
    let (b, d) = (export_func(&exporter, "b"), export_func(&exporter, "d"));
    let wants_base = compile(
        &engine,
        r#"(module (type $base (sub (func (result i32))))
             (import "m" "f" (func $f (type $base)))
             (func (export "run") (result i32) (call $f)))"#,
    );
    let wants_derived = compile(
        &engine,
        r#"(module (type $base (sub (func (result i32))))
             (type $derived (sub $base (func (result i32))))
             (import "m" "f" (func (type $derived))))"#,
    );
    let linked = Instance::new(&store, &wants_base, &[Extern::Func(d.clone())]).expect("a subtype serves");
    assert_eq!(integer_result(&linked, "run", &[]), 20);
    assert!(matches!(Instance::new(&store, &wants_derived, &[Extern::Func(b.clone())]), Err(Error::Link(_))));

    // The host: values of (ref $base) include $derived functions, not the reverse.
    let ref_to = |f: &Func| ValType::Ref(RefType::new(false, HeapType::Concrete(f.type_id())));
    assert!(Val::FuncRef(Some(d.clone())).matches(ref_to(&b)));
    assert!(!Val::FuncRef(Some(b.clone())).matches(ref_to(&d)));
    assert!(ref_to(&d).matches(ref_to(&b)) && !ref_to(&b).matches(ref_to(&d)));
    let global = GlobalType { content: ref_to(&b), mutable: true };
    let g = Global::new(&store, global, Val::FuncRef(Some(b))).unwrap();
    assert!(g.set(Val::FuncRef(Some(d))).is_ok());
}

/// Types are the same when their whole recursion groups are: the same group in two
/// modules links, a group with other members does not, and two members of one group
/// with the same signature are different types.
#[test]
fn recursion_groups_are_types_as_a_whole() {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let exporter = compile(
        &engine,
        r#"(module
             (rec (type $a (func (param (ref null $b)) (result i32))) (type $b (func (param (ref null $a)) (result i32))))
             (func (export "f") (type $a) (i32.const 5))
             (table 2 funcref) (elem (i32.const 0) func $g $h)
             (func $g (type $a) (i32.const 6))
             (func $h (type $b) (i32.const 7))
             (func (export "via_a") (param i32) (result i32) (call_indirect (type $a) (ref.null $b) (local.get 0))))"#,
    );
    let exporter = Instance::new(&store, &exporter, &[]).unwrap();
    // $a and $b differ only by position: $h is no $a.
    assert_eq!(integer_result(&exporter, "via_a", &[Val::I32(0)]), 6);
    assert_trap(&exporter, "via_a", &[Val::I32(1)], TrapCode::BadSignature);

    let f = Extern::Func(export_func(&exporter, "f"));
    let same_group = r#"(module
      (rec (type $x (func (param (ref null $y)) (result i32))) (type $y (func (param (ref null $x)) (result i32))))
      (import "m" "f" (func (type $x))))"#;
    Instance::new(&store, &compile(&engine, same_group), std::slice::from_ref(&f)).expect("same group links");
    let second_member = r#"(module
      (rec (type $x (func (param (ref null $y)) (result i32))) (type $y (func (param (ref null $x)) (result i32))))
      (import "m" "f" (func (type $y))))"#;
    let other_group = r#"(module
      (rec (type $x (func (param (ref null $y)) (result i32))) (type $y (func (param (ref null $x)) (result i32))) (type (func)))
      (import "m" "f" (func (type $x))))"#;
    for wat in [second_member, other_group] {
        let outcome = Instance::new(&store, &compile(&engine, wat), std::slice::from_ref(&f));
        assert!(matches!(outcome, Err(Error::Link(_))), "{wat}");
    }
}

/// Writing a type refers to other types by id inside a function type, so a type that
/// refers to itself, or a long chain of types each referring twice to the one before,
/// prints in a few lines rather than forever.
#[test]
fn recursive_and_deep_types_print_in_bounded_text() {
    let engine = Engine::default();
    let mut wat = String::from("(module (type $t0 (func)) ");
    for i in 1..64 {
        wat += &format!("(type $t{i} (func (param (ref $t{p}) (ref $t{p})))) ", p = i - 1);
    }
    wat += "(rec (type $self (func (param (ref null $self))))) (func (export \"last\") (type $t63)) (func (export \"self\") (type $self)))";
    let m = compile(&engine, &wat);
    for export in m.exports() {
        let text = format!("{:?}", export.ty);
        assert!(text.len() < 200, "{}: {text}", export.name);
    }
}

/// Constant expressions may read the module's own (earlier, immutable) globals with
/// GC's rules; WebAssembly 2.0 allowed imported ones only.
#[test]
fn constant_expressions_read_defined_globals() {
    let wat = r#"(module
      (global $a i32 (i32.const 40))
      (global $b i32 (i32.add (global.get $a) (i32.const 2)))
      (func (export "b") (result i32) (global.get $b)))"#;
    let bytes = wat::parse_str(wat).unwrap();
    let engine = Engine::default();
    let store = Store::new(&engine);
    let instance = Instance::new(&store, &Module::new(&engine, &bytes).unwrap(), &[]).unwrap();
    assert_eq!(integer_result(&instance, "b", &[]), 42);
    let wasm2 = Engine::new(Config { gc_types: false, ..Config::default() }).unwrap();
    assert!(matches!(Module::new(&wasm2, &bytes), Err(Error::Compile { .. })));
}

//! Function references: `(ref extern)`, typed function references `(ref $t)` and
//! `(ref func)`, and the instructions `call_ref`, `return_call_ref`, `ref.as_non_null`,
//! `br_on_null` and `br_on_non_null`. The wasm-3.0 scripts of the proposal run in the
//! spec suite; these tests cover what they do not: the embedder's side (values of
//! concrete types, tables and globals made by the host, import matching across
//! modules) and the compiler's operand forms.

use sidewinder_engine::{
    Config, Engine, Error, Extern, Func, FuncType, Global, GlobalType, HeapType, Instance, Module, RefType,
    Store, Table, TableType, TrapCode, Val, ValType,
};

#[allow(dead_code)] // the verdict helpers are for the tests that compare verdicts
mod support;
use support::{assert_trap, compile, in_both_bounds_modes, integer_result};

fn bytes(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn ref_extern_is_a_value_type() {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let module = compile(
        &engine,
        r#"(module
              (import "m" "g" (global $g (ref extern)))
              (import "m" "id" (func $id (param externref) (result (ref extern))))
              (global $copy (ref extern) (global.get $g))
              (func (export "get") (result (ref extern)) global.get $copy)
              (func (export "pass") (param (ref extern)) (result externref)
                (local $l (ref extern))
                (local.set $l (local.get 0))
                (block (result (ref extern)) (local.get $l)))
              (func (export "through") (param externref) (result (ref extern))
                (call $id (local.get 0))))"#,
    );
    let imports = module.imports();
    assert_eq!(
        imports[0].ty,
        sidewinder_engine::ExternType::Global(GlobalType { content: ValType::REF_EXTERN, mutable: false })
    );
    assert_eq!(ValType::REF_EXTERN.to_string(), "(ref extern)");

    let g_ty = GlobalType { content: ValType::REF_EXTERN, mutable: false };
    assert!(Global::new(&store, g_ty.clone(), Val::ExternRef(None)).is_err(), "null is not a (ref extern)");
    let g = Global::new(&store, g_ty, Val::ExternRef(Some(7))).expect("non-null");
    let id_ty = FuncType::new([ValType::EXTERNREF], [ValType::REF_EXTERN]);
    // The host function returns its argument, so null comes back as a wrong-typed result.
    let id = Func::new(&store, id_ty, |p, r| {
        r[0] = p[0].clone();
        Ok(())
    });
    let instance =
        Instance::new(&store, &module, &[Extern::Global(g), Extern::Func(id)]).expect("instantiates");
    assert!(matches!(instance.call("get", &[]).unwrap()[..], [Val::ExternRef(Some(7))]));
    assert!(matches!(
        instance.call("pass", &[Val::ExternRef(Some(3))]).unwrap()[..],
        [Val::ExternRef(Some(3))]
    ));
    assert!(instance.call("pass", &[Val::ExternRef(None)]).is_err(), "null argument for (ref extern)");
    assert!(matches!(
        instance.call("through", &[Val::ExternRef(Some(1))]).unwrap()[..],
        [Val::ExternRef(Some(1))]
    ));
    match instance.call("through", &[Val::ExternRef(None)]) {
        Err(Error::Trap(_)) => {}
        other => panic!("a host function returning null for (ref extern) must trap, got {other:?}"),
    }
}

#[test]
fn immutable_globals_import_by_subtyping() {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let wants_nullable = compile(&engine, r#"(module (import "m" "g" (global externref)))"#);
    let wants_non_null = compile(&engine, r#"(module (import "m" "g" (global (ref extern))))"#);
    let non_null = GlobalType { content: ValType::REF_EXTERN, mutable: false };
    let nullable = GlobalType { content: ValType::EXTERNREF, mutable: false };
    let g = Global::new(&store, non_null, Val::ExternRef(Some(0))).unwrap();
    assert!(Instance::new(&store, &wants_nullable, &[Extern::Global(g)]).is_ok());
    let g = Global::new(&store, nullable, Val::ExternRef(Some(0))).unwrap();
    assert!(matches!(Instance::new(&store, &wants_non_null, &[Extern::Global(g)]), Err(Error::Link(_))));
    // Mutable globals stay invariant.
    let wants_mut = compile(&engine, r#"(module (import "m" "g" (global (mut externref))))"#);
    let g = Global::new(
        &store,
        GlobalType { content: ValType::REF_EXTERN, mutable: true },
        Val::ExternRef(Some(0)),
    )
    .unwrap();
    assert!(matches!(Instance::new(&store, &wants_mut, &[Extern::Global(g)]), Err(Error::Link(_))));
}

const CALLS: &str = r#"(module
  (type $binary (func (param i32 i32) (result i32)))
  (type $unary (func (param i64) (result i64)))
  (func $sub (type $binary) (i32.sub (local.get 0) (local.get 1)))
  (func $mul (type $binary) (i32.mul (local.get 0) (local.get 1)))
  (table $ops 2 (ref $binary) (ref.func $sub))
  (elem (table $ops) (i32.const 1) (ref $binary) (ref.func $mul))
  (global $op (mut (ref null $binary)) (ref.null $binary))
  (func (export "select") (param i32) (global.set $op (table.get $ops (local.get 0))))
  (func (export "clear") (global.set $op (ref.null $binary)))
  ;; The funcref on top of the arguments, in each operand form: a global, a local, a
  ;; table element, and one computed under live values that must survive the call.
  (func (export "apply") (param i32 i32) (result i32)
    (call_ref $binary (local.get 0) (local.get 1) (global.get $op)))
  (func (export "apply_local") (param i32 i32) (result i32)
    (local $f (ref null $binary))
    (local.set $f (global.get $op))
    (call_ref $binary (local.get 0) (local.get 1) (local.get $f)))
  (func (export "apply_live") (param i32 i32) (result i32)
    (i32.add (i32.mul (local.get 0) (i32.const 1000))
      (i32.add (local.get 1)
        (call_ref $binary (local.get 0) (local.get 1) (ref.as_non_null (global.get $op))))))
  ;; Tail calls through references: a countdown far deeper than the stack.
  (func $count (type $unary)
    (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 7))
      (else (return_call_ref $unary (i64.sub (local.get 0) (i64.const 1)) (ref.func $count)))))
  (func (export "count") (param i64) (result i64) (call $count (local.get 0)))
  (func (export "tail_apply") (param i32 i32) (result i32)
    (return_call_ref $binary (local.get 0) (local.get 1) (global.get $op)))
  (elem declare func $count)
  ;; br_on_null and br_on_non_null, falling through and branching, to a block and to the
  ;; function's own label.
  (func (export "or_default") (param i32 i32) (result i32)
    (block $null
      (return (call_ref $binary (local.get 0) (local.get 1) (br_on_null $null (global.get $op)))))
    (i32.const -1))
  (func (export "returned") (result funcref)
    (br_on_non_null 0 (global.get $op))
    (ref.null func))
  (func (export "with_non_null") (param i32 i32) (result i32)
    (local $f (ref null $binary))
    (local.set $f
      (block $some (result (ref $binary))
        (br_on_non_null $some (global.get $op))
        (return (i32.const -3))))
    (call_ref $binary (local.get 0) (local.get 1) (local.get $f)))
)"#;

#[test]
fn calls_through_references() {
    in_both_bounds_modes(CALLS, |instance| {
        let (a, b) = (Val::I32(7), Val::I32(3));
        let args = [a.clone(), b.clone()];
        for (index, want) in [(0, 4), (1, 21)] {
            instance.call("select", &[Val::I32(index)]).unwrap();
            assert_eq!(integer_result(instance, "apply", &args), want);
            assert_eq!(integer_result(instance, "apply_local", &args), want);
            assert_eq!(integer_result(instance, "apply_live", &args), 7000 + 3 + want);
            assert_eq!(integer_result(instance, "tail_apply", &args), want);
            assert_eq!(integer_result(instance, "or_default", &args), want);
            assert_eq!(integer_result(instance, "with_non_null", &args), want);
            assert!(matches!(instance.call("returned", &[]).unwrap()[..], [Val::FuncRef(Some(_))]));
        }
        assert_eq!(integer_result(instance, "count", &[Val::I64(1_000_000)]), 7);
        instance.call("clear", &[]).unwrap();
        assert_trap(instance, "apply", &args, TrapCode::NullFunctionReference);
        assert_trap(instance, "apply_local", &args, TrapCode::NullFunctionReference);
        assert_trap(instance, "tail_apply", &args, TrapCode::NullFunctionReference);
        assert_trap(instance, "apply_live", &args, TrapCode::NullReference);
        assert_eq!(integer_result(instance, "or_default", &args), -1);
        assert_eq!(integer_result(instance, "with_non_null", &args), -3);
        assert!(matches!(instance.call("returned", &[]).unwrap()[..], [Val::FuncRef(None)]));
    });
}

/// A reference to another instance's function is called in that instance: with its
/// own memory, whatever the caller's.
#[test]
fn call_ref_enters_the_callee_instance() {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let callee = compile(
        &engine,
        r#"(module (memory 1) (data (i32.const 8) "\2a")
              (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0))))"#,
    );
    let callee = Instance::new(&store, &callee, &[]).unwrap();
    let caller = compile(
        &engine,
        r#"(module (type $peek (func (param i32) (result i32)))
              (global $f (import "m" "f") (ref $peek))
              (memory 1) (data (i32.const 8) "\05")
              (func (export "call") (param i32) (result i32)
                (i32.add (i32.load8_u (i32.const 8)) (call_ref $peek (local.get 0) (global.get $f))))
              (func (export "tail") (param i32) (result i32)
                (return_call_ref $peek (local.get 0) (global.get $f))))"#,
    );
    let Some(Extern::Func(peek)) = callee.get_export("peek") else { panic!("peek is a function") };
    let peek_type = ValType::Ref(RefType::new(false, HeapType::Concrete(peek.type_id())));
    let global =
        Global::new(&store, GlobalType { content: peek_type, mutable: false }, Val::FuncRef(Some(peek)))
            .unwrap();
    let caller = Instance::new(&store, &caller, &[Extern::Global(global)]).unwrap();
    assert_eq!(integer_result(&caller, "call", &[Val::I32(8)]), 5 + 42);
    assert_eq!(integer_result(&caller, "tail", &[Val::I32(8)]), 42);
}

/// Values of a concrete type are checked wherever the host hands them over: a function
/// of another type would be called with the wrong signature by `call_ref`, which checks
/// none.
#[test]
fn the_host_cannot_store_a_function_of_the_wrong_type() {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let unary = FuncType::new([ValType::I32], [ValType::I32]);
    let nullary = FuncType::new([], [ValType::I32]);
    let ok = Func::new(&store, unary.clone(), |p, r| {
        r[0] = p[0].clone();
        Ok(())
    });
    let wrong = Func::new(&store, nullary, |_, r| {
        r[0] = Val::I32(1);
        Ok(())
    });
    let typed = |nullable| ValType::Ref(RefType::new(nullable, HeapType::Concrete(unary.type_id())));
    assert!(Val::FuncRef(Some(ok.clone())).matches(typed(false)));
    assert!(!Val::FuncRef(Some(wrong.clone())).matches(typed(true)));
    assert!(!Val::FuncRef(None).matches(typed(false)));
    assert!(Val::FuncRef(None).matches(typed(true)));
    assert!(Val::FuncRef(Some(wrong.clone())).matches(ValType::REF_FUNC));
    let nofunc = ValType::Ref(RefType::new(true, HeapType::NoFunc));
    assert!(!Val::FuncRef(Some(ok.clone())).matches(nofunc));

    let gt = GlobalType { content: typed(true), mutable: true };
    assert!(Global::new(&store, gt.clone(), Val::FuncRef(Some(wrong.clone()))).is_err());
    let g = Global::new(&store, gt, Val::FuncRef(Some(ok.clone()))).unwrap();
    assert!(g.set(Val::FuncRef(Some(wrong.clone()))).is_err());
    assert!(g.set(Val::FuncRef(None)).is_ok());

    let non_null = TableType { element: typed(false), minimum: 1, maximum: None, table64: false };
    assert!(Table::new(&store, non_null.clone(), Val::FuncRef(None)).is_err(), "null in a (ref $t) table");
    assert!(Table::new(&store, non_null.clone(), Val::FuncRef(Some(wrong.clone()))).is_err());
    let table = Table::new(&store, non_null, Val::FuncRef(Some(ok.clone()))).unwrap();
    assert!(table.set(0, Val::FuncRef(Some(wrong.clone()))).is_err());
    assert!(table.set(0, Val::FuncRef(None)).is_err());
    assert_eq!(table.grow(1, Val::FuncRef(Some(wrong))), None);
    assert_eq!(table.grow(1, Val::FuncRef(Some(ok))), Some(1));

    // A module calling through that table's elements with `call_ref`.
    let module = compile(
        &engine,
        r#"(module (type $u (func (param i32) (result i32)))
              (import "m" "t" (table 1 (ref $u)))
              (func (export "call") (param i32 i32) (result i32)
                (call_ref $u (local.get 1) (table.get 0 (local.get 0)))))"#,
    );
    let instance = Instance::new(&store, &module, &[Extern::Table(table)]).unwrap();
    assert_eq!(integer_result(&instance, "call", &[Val::I32(1), Val::I32(9)]), 9);
}

/// Concrete types are compared by structure across modules, as the spec's type
/// equivalence says: a function type that refers to another is the same in two modules
/// when the types it refers to are.
#[test]
fn imports_match_concrete_types_across_modules() {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let exporter = compile(
        &engine,
        r#"(module
              (type $leaf (func (param f64)))
              (type $taker (func (param (ref $leaf)) (result i32)))
              (func $take (export "take") (type $taker) (i32.const 11))
              (table (export "table") 2 (ref null $taker))
              (global (export "global") (ref $taker) (ref.func $take)))"#,
    );
    let exporter = Instance::new(&store, &exporter, &[]).unwrap();
    let exports: Vec<Extern> =
        ["take", "table", "global"].iter().map(|n| exporter.get_export(n).unwrap()).collect();

    // The same types in another order and under other names: links.
    let same = r#"(module
      (type $other (func))
      (type $l (func (param f64)))
      (type $t (func (param (ref $l)) (result i32)))
      (import "m" "take" (func (type $t)))
      (import "m" "table" (table 2 (ref null $t)))
      (import "m" "global" (global (ref null $t))))"#;
    let module = compile(&engine, same);
    Instance::new(&store, &module, &exports).expect("structurally equal types link");

    // Each import with a leaf type of f32 instead of f64: none links.
    let imports = [
        r#"(import "m" "take" (func (type $t)))"#,
        r#"(import "m" "table" (table 2 (ref null $t)))"#,
        r#"(import "m" "global" (global (ref null $t)))"#,
    ];
    for (import, provided) in imports.iter().zip(&exports) {
        let wat = format!(
            r#"(module (type $l (func (param f32))) (type $t (func (param (ref $l)) (result i32))) {import})"#
        );
        let module = compile(&engine, &wat);
        match Instance::new(&store, &module, std::slice::from_ref(provided)) {
            Err(Error::Link(_)) => {}
            other => panic!("{import}: expected a link error, got {other:?}"),
        }
    }
    // Tables are invariant: a (ref null $t) table is no funcref table.
    let module = compile(&engine, r#"(module (import "m" "table" (table 2 funcref)))"#);
    assert!(matches!(Instance::new(&store, &module, &exports[1..2]), Err(Error::Link(_))));
    // Immutable globals are covariant: a (ref $t) global is a funcref one.
    let module = compile(&engine, r#"(module (import "m" "global" (global funcref)))"#);
    assert!(Instance::new(&store, &module, &exports[2..3]).is_ok());
}

#[test]
fn reference_types_print_as_the_text_format_writes_them() {
    let leaf = FuncType::new([ValType::F64], []);
    let typed = ValType::Ref(RefType::new(true, HeapType::Concrete(leaf.type_id())));
    assert_eq!(typed.to_string(), "(ref null (func (param f64) (result )))");
    assert_eq!(ValType::REF_FUNC.to_string(), "(ref func)");
    assert_eq!(ValType::FUNCREF.to_string(), "funcref");
    assert_eq!(ValType::Ref(RefType::new(true, HeapType::NoExtern)).to_string(), "nullexternref");
}

/// GC's heap types need the GC proposal: an engine validating as WebAssembly 2.0
/// with function references (`Config::gc_types` off) refuses them cleanly, and the
/// default engine takes them (`gc.rs` runs them).
#[test]
fn gc_types_need_the_gc_proposal() {
    let without_gc = Engine::new(Config { gc_types: false, ..Config::default() }).unwrap();
    let cases = [
        ("struct type", r#"(module (type (struct)))"#),
        ("array type", r#"(module (type (array i8)))"#),
        ("anyref", r#"(module (func (param anyref)))"#),
    ];
    for (what, wat) in cases {
        let b = bytes(wat);
        assert!(Module::new(&without_gc, &b).is_err(), "{what}: accepted without GC");
        assert!(Module::new(&Engine::default(), &b).is_ok(), "{what}: refused with GC");
        assert!(Module::validate(&b).is_ok(), "{what}: validate refused it");
    }
}

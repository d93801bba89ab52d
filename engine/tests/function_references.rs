//! The part of function references the engine takes: `(ref extern)` as a value type.
//! Everything else that proposal adds must be refused cleanly, by `new` and `validate`
//! alike.

use sidewinder_engine::{
    Engine, Error, Extern, Func, FuncType, Global, GlobalType, Instance, Module, Store, Val, ValType,
};

fn bytes(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("valid wat")
}

#[test]
fn ref_extern_is_a_value_type() {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let module = Module::new(
        &engine,
        &bytes(
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
        ),
    )
    .expect("compiles");
    let imports = module.imports();
    assert_eq!(
        imports[0].ty,
        sidewinder_engine::ExternType::Global(GlobalType {
            content: ValType::NonNullExternRef,
            mutable: false
        })
    );
    assert_eq!(ValType::NonNullExternRef.to_string(), "(ref extern)");

    let g_ty = GlobalType { content: ValType::NonNullExternRef, mutable: false };
    assert!(Global::new(&store, g_ty.clone(), Val::ExternRef(None)).is_err(), "null is not a (ref extern)");
    let g = Global::new(&store, g_ty, Val::ExternRef(Some(7))).expect("non-null");
    let id_ty = FuncType::new([ValType::ExternRef], [ValType::NonNullExternRef]);
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
    let wants_nullable =
        Module::new(&engine, &bytes(r#"(module (import "m" "g" (global externref)))"#)).unwrap();
    let wants_non_null =
        Module::new(&engine, &bytes(r#"(module (import "m" "g" (global (ref extern))))"#)).unwrap();
    let non_null = GlobalType { content: ValType::NonNullExternRef, mutable: false };
    let nullable = GlobalType { content: ValType::ExternRef, mutable: false };
    let g = Global::new(&store, non_null, Val::ExternRef(Some(0))).unwrap();
    assert!(Instance::new(&store, &wants_nullable, &[Extern::Global(g)]).is_ok());
    let g = Global::new(&store, nullable, Val::ExternRef(Some(0))).unwrap();
    assert!(matches!(Instance::new(&store, &wants_non_null, &[Extern::Global(g)]), Err(Error::Link(_))));
    // Mutable globals stay invariant.
    let wants_mut =
        Module::new(&engine, &bytes(r#"(module (import "m" "g" (global (mut externref))))"#)).unwrap();
    let g = Global::new(
        &store,
        GlobalType { content: ValType::NonNullExternRef, mutable: true },
        Val::ExternRef(Some(0)),
    )
    .unwrap();
    assert!(matches!(Instance::new(&store, &wants_mut, &[Extern::Global(g)]), Err(Error::Link(_))));
}

/// Each of these is valid with function references; none is compiled. `new` and
/// `validate` must both refuse it, without panicking.
#[test]
fn unimplemented_function_references_are_refused() {
    let engine = Engine::default();
    let cases = [
        (
            "call_ref",
            r#"(module (type $t (func)) (elem declare func $f) (func $f)
            (func (call_ref $t (ref.func $f))))"#,
        ),
        (
            "ref.as_non_null",
            r#"(module (func (param externref) (result (ref extern))
            (ref.as_non_null (local.get 0))))"#,
        ),
        (
            "br_on_null",
            r#"(module (func (param externref) (result (ref extern))
            (block (br_on_null 0 (local.get 0)) (return)) (unreachable)))"#,
        ),
        (
            "br_on_non_null",
            r#"(module (func (param externref) (result externref)
            (block (result (ref extern)) (br_on_non_null 0 (local.get 0)) (ref.null extern) (return))))"#,
        ),
        ("typed function reference param", r#"(module (type $t (func)) (func (param (ref null $t))))"#),
        ("typed function reference local", r#"(module (type $t (func)) (func (local (ref null $t))))"#),
        ("(ref func) global", r#"(module (elem declare func 0) (func) (global (ref func) (ref.func 0)))"#),
        ("(ref extern) table", r#"(module (import "m" "t" (table 1 (ref extern))))"#),
        ("table initializer", r#"(module (table 1 externref (ref.null extern)))"#),
    ];
    for (what, wat) in cases {
        let b = bytes(wat);
        assert!(Module::new(&engine, &b).is_err(), "{what}: new accepted it");
        assert!(Module::validate(&b).is_err(), "{what}: validate accepted it");
    }
}

/// Dead code is skipped by the compiler, so there an unimplemented instruction is fine;
/// `validate` agrees because it runs the compiler.
#[test]
fn validate_agrees_with_new_on_dead_code() {
    let engine = Engine::default();
    let b = bytes(r#"(module (func (param externref) unreachable (drop (ref.as_non_null (local.get 0)))))"#);
    let compiled = Module::new(&engine, &b).is_ok();
    assert_eq!(Module::validate(&b).is_ok(), compiled);
}

//! 64-bit tables (memory64's i64 table indices): every table instruction and
//! `call_indirect` with i64 indices, which must trap rather than truncate past 2^32.

use sidewinder_engine::{
    Config, Engine, Error, Extern, Instance, Module, Store, Table, TableType, TrapCode, Val, ValType,
};
#[allow(dead_code)] // the verdict helpers are for the tests that compare verdicts
mod support;
use support::{assert_trap, call_ok, instantiate, integer_result};

const WAT: &str = r#"(module
  (type $ret (func (result i32)))
  (table $wide i64 4 8 funcref)
  (table $narrow 4 funcref)
  (elem (table $wide) (i64.const 1) func $seven $eight)
  (elem $passive func $nine)
  (func $seven (result i32) (i32.const 7))
  (func $eight (result i32) (i32.const 8))
  (func $nine (result i32) (i32.const 9))
  (func (export "call") (param i64) (result i32) (call_indirect $wide (type $ret) (local.get 0)))
  (func (export "call_narrow") (param i32) (result i32) (call_indirect $narrow (type $ret) (local.get 0)))
  (func (export "is_null") (param i64) (result i32) (ref.is_null (table.get $wide (local.get 0))))
  (func (export "move") (param i64 i64) (table.set $wide (local.get 1) (table.get $wide (local.get 0))))
  (func (export "size") (result i64) (table.size $wide))
  (func (export "grow") (param i64) (result i64) (table.grow $wide (ref.null func) (local.get 0)))
  (func (export "fill") (param i64 i64) (table.fill $wide (local.get 0) (ref.func $nine) (local.get 1)))
  (func (export "copy_within") (param i64 i64 i64) (table.copy $wide $wide (local.get 0) (local.get 1) (local.get 2)))
  ;; Across a 64- and a 32-bit table the length is an i32.
  (func (export "copy_to_narrow") (param i32 i64 i32)
    (table.copy $narrow $wide (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i64 i32 i32) (table.init $wide $passive (local.get 0) (local.get 1) (local.get 2)))
)"#;

#[test]
fn indirect_calls_take_i64_indices() {
    let (_store, i) = instantiate(WAT, Config::default());
    assert_eq!(integer_result(&i, "call", &[Val::I64(1)]), 7);
    assert_eq!(integer_result(&i, "call", &[Val::I64(2)]), 8);
    assert_trap(&i, "call", &[Val::I64(0)], TrapCode::IndirectCallToNull);
    // 2^32 + 1 would be element 1 if the index were truncated.
    assert_trap(&i, "call", &[Val::I64((1 << 32) + 1)], TrapCode::UndefinedElement);
    assert_trap(&i, "call", &[Val::I64(-1)], TrapCode::UndefinedElement);
    assert_trap(&i, "call_narrow", &[Val::I32(-1)], TrapCode::UndefinedElement);
}

#[test]
fn gets_sets_and_sizes_are_i64() {
    let (_store, i) = instantiate(WAT, Config::default());
    assert_eq!(integer_result(&i, "is_null", &[Val::I64(1)]), 0);
    assert_eq!(integer_result(&i, "is_null", &[Val::I64(3)]), 1);
    call_ok(&i, "move", &[Val::I64(2), Val::I64(3)]);
    assert_eq!(integer_result(&i, "call", &[Val::I64(3)]), 8);
    assert_trap(&i, "is_null", &[Val::I64((1 << 32) + 1)], TrapCode::TableOutOfBounds);
    assert_trap(&i, "move", &[Val::I64(1), Val::I64(1 << 33)], TrapCode::TableOutOfBounds);

    assert_eq!(integer_result(&i, "size", &[]), 4);
    assert_eq!(integer_result(&i, "grow", &[Val::I64(2)]), 4);
    assert_eq!(integer_result(&i, "size", &[]), 6);
    assert_eq!(integer_result(&i, "grow", &[Val::I64(3)]), -1, "past the maximum of 8");
    assert_eq!(integer_result(&i, "grow", &[Val::I64(1 << 40)]), -1);
    assert_eq!(integer_result(&i, "is_null", &[Val::I64(5)]), 1);
}

#[test]
fn bulk_operations_take_i64_operands() {
    let (_store, i) = instantiate(WAT, Config::default());
    call_ok(&i, "fill", &[Val::I64(2), Val::I64(2)]);
    assert_eq!(integer_result(&i, "call", &[Val::I64(3)]), 9);
    call_ok(&i, "copy_within", &[Val::I64(0), Val::I64(1), Val::I64(1)]);
    assert_eq!(integer_result(&i, "call", &[Val::I64(0)]), 7);
    call_ok(&i, "copy_to_narrow", &[Val::I32(2), Val::I64(0), Val::I32(2)]);
    assert_eq!(integer_result(&i, "call_narrow", &[Val::I32(3)]), 7);
    call_ok(&i, "init", &[Val::I64(3), Val::I32(0), Val::I32(1)]);
    assert_eq!(integer_result(&i, "call", &[Val::I64(3)]), 9);

    let oob = TrapCode::TableOutOfBounds;
    assert_trap(&i, "fill", &[Val::I64(1 << 32), Val::I64(0)], oob);
    assert_trap(&i, "fill", &[Val::I64(0), Val::I64((1 << 32) + 1)], oob);
    assert_trap(&i, "copy_within", &[Val::I64(0), Val::I64(1 << 32), Val::I64(1)], oob);
    assert_trap(&i, "copy_to_narrow", &[Val::I32(0), Val::I64(1 << 32), Val::I32(1)], oob);
    assert_trap(&i, "init", &[Val::I64((1 << 32) + 3), Val::I32(0), Val::I32(1)], oob);
}

#[test]
fn imports_match_only_tables_of_the_same_index_type() {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let wat = r#"(module (import "m" "t" (table i64 1 funcref)) (func (export "size") (result i64) (table.size 0)))"#;
    let module = Module::new(&engine, &wat::parse_str(wat).expect("valid wat")).expect("compiles");
    let table = |table64| {
        let ty = TableType { element: ValType::FUNCREF, minimum: 1, maximum: None, table64 };
        Table::new(&store, ty, Val::FuncRef(None)).expect("table")
    };
    match Instance::new(&store, &module, &[Extern::Table(table(false))]) {
        Err(Error::Link(message)) => assert!(message.contains("table"), "{message}"),
        other => panic!("a 32-bit table for a 64-bit import: {other:?}"),
    }
    let instance = Instance::new(&store, &module, &[Extern::Table(table(true))]).expect("links");
    assert_eq!(integer_result(&instance, "size", &[]), 1);
}

//! Miscompiles found once, kept so they stay fixed.

use sidewinder_engine::{Engine, Instance, Module, Store, Val};

fn call(wat: &str, args: &[Val]) -> Vec<Val> {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let bytes = wat::parse_str(wat).expect("valid wat");
    let module = Module::new(&engine, &bytes).expect("compiles");
    let instance = Instance::new(&store, &module, &[]).expect("instantiates");
    instance.call("f", args).expect("runs")
}

fn i32_result(v: &[Val]) -> i32 {
    match v {
        [Val::I32(x)] => *x,
        other => panic!("expected one i32, got {other:?}"),
    }
}

/// Nine live integers reach rbx/r12/r13, which the entry trampoline used to rely on
/// across the call into wasm.
#[test]
fn callee_saved_registers_may_hold_wasm_values() {
    let wat = r#"(module (global $g (mut i32) (i32.const 5))
      (func (export "f") (result i32)
        global.get $g global.get $g global.get $g global.get $g global.get $g
        global.get $g global.get $g global.get $g global.get $g global.get $g
        global.get $g global.get $g
        i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add
        i32.add i32.add i32.add))"#;
    assert_eq!(i32_result(&call(wat, &[])), 60);
}

/// Evicting rax then rdx before a division used to bounce a live value back into rax,
/// where the quotient overwrote it.
#[test]
fn division_keeps_values_living_in_rax_and_rdx() {
    let wat = r#"(module (func (export "f") (param i32 i32) (result i32)
      (i32.add (local.get 0) (i32.const 0))
      (i32.add (local.get 0) (i32.const 0))
      (local.get 1) (i32.rem_u) (i32.add)))"#;
    assert_eq!(i32_result(&call(wat, &[Val::I32(100), Val::I32(3)])), 101);
}

/// br_table in a function with several results used to run the return preparation
/// even when no target returned, underflowing the operand stack (found by the
/// differential test).
#[test]
fn br_table_in_multi_result_function() {
    let wat = r#"(module (func (export "f") (param i32) (result i32 i32)
      block
        local.get 0
        br_table 0 0
      end
      i32.const 1
      i32.const 2))"#;
    let out = call(wat, &[Val::I32(0)]);
    assert!(matches!(out[..], [Val::I32(1), Val::I32(2)]), "{out:?}");
}

/// `select` with a constant condition used to keep the chosen operand where it was: a
/// value spilled to the slot of depth d+1 then sat at depth d, and the next value
/// spilled at depth d+1 (here a block result) overwrote it.
#[test]
fn select_with_constant_condition_keeps_its_spilled_operand() {
    let wat = r#"(module
      (func $two (result i32 i32) (i32.const 100) (i32.const 200))
      (func (export "f") (result i32)
        (block (result i32 i32) (br 0 (call $two)))
        (i32.const 0)
        (select)
        (block (result i32) (br 0 (i32.const 7)))
        (i32.sub)))"#;
    assert_eq!(i32_result(&call(wat, &[])), 193);
}

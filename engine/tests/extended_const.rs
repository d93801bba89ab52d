//! Extended constant expressions (wasm-3.0): `i32`/`i64` `add`, `sub` and `mul` in global
//! initializers and in data and element segment offsets, over constants and imported
//! globals, with wrapping arithmetic.

use sidewinder_engine::{
    Engine, Error, Extern, Global, GlobalType, Instance, Module, Store, TrapCode, Val, ValType,
};

const WAT: &str = r#"(module
  (import "env" "base" (global $base i32))
  (import "env" "big" (global $big i64))
  (memory (export "memory") 1)
  (table (export "table") 8 funcref)
  (global (export "sum") i32 (i32.add (global.get $base) (i32.const 7)))
  (global (export "wrapped") i32 (i32.mul (i32.const 0x10000) (i32.const 0x10001)))
  (global (export "nested") i32
    (i32.sub (i32.mul (global.get $base) (i32.const 3)) (i32.add (i32.const 1) (i32.const 2))))
  (global (export "wide") i64 (i64.sub (i64.mul (global.get $big) (i64.const 4)) (i64.const 1)))
  (data (i32.add (global.get $base) (i32.const 16)) "\2a")
  (elem (i32.sub (global.get $base) (i32.const 97)) func $f)
  (func $f (result i32) (i32.const 55))
  (func (export "byte") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "call") (param i32) (result i32) (call_indirect (result i32) (local.get 0)))
)"#;

fn instantiate(base: i32, big: i64) -> (Store, Result<Instance, Error>) {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let module = Module::new(&engine, &wat::parse_str(WAT).expect("valid wat")).expect("compiles");
    let global = |ty, v| Global::new(&store, GlobalType { content: ty, mutable: false }, v).expect("global");
    let imports = [
        Extern::Global(global(ValType::I32, Val::I32(base))),
        Extern::Global(global(ValType::I64, Val::I64(big))),
    ];
    let instance = Instance::new(&store, &module, &imports);
    (store, instance)
}

fn global_value(instance: &Instance, name: &str) -> Val {
    match instance.get_export(name) {
        Some(Extern::Global(g)) => g.get(),
        other => panic!("{name}: {other:?}"),
    }
}

fn i32_of(instance: &Instance, name: &str, args: &[Val]) -> i32 {
    match instance.call(name, args).unwrap_or_else(|e| panic!("{name}: {e:?}")).as_slice() {
        [Val::I32(v)] => *v,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn globals_and_segment_offsets_are_computed() {
    let (_store, instance) = instantiate(100, 1 << 62);
    let instance = instance.expect("instantiates");
    assert!(matches!(global_value(&instance, "sum"), Val::I32(107)));
    // 0x10000 * 0x10001 = 0x1_0001_0000, wrapped to 32 bits.
    assert!(matches!(global_value(&instance, "wrapped"), Val::I32(0x10000)));
    assert!(matches!(global_value(&instance, "nested"), Val::I32(297)));
    // (2^62 * 4) wraps to 0; minus 1 is -1.
    assert!(matches!(global_value(&instance, "wide"), Val::I64(-1)));
    assert_eq!(i32_of(&instance, "byte", &[Val::I32(116)]), 42);
    assert_eq!(i32_of(&instance, "byte", &[Val::I32(115)]), 0);
    assert_eq!(i32_of(&instance, "call", &[Val::I32(3)]), 55);
}

#[test]
fn a_computed_offset_out_of_range_fails_instantiation() {
    // The element offset 100 - 97 = 3 fits the table; with base 200 it is 103.
    let (_store, instance) = instantiate(200, 0);
    match instance {
        Err(Error::Trap(t)) => assert_eq!(t.code(), TrapCode::TableOutOfBounds),
        other => panic!("expected an out-of-bounds trap, got {other:?}"),
    }
}

//! `Func::call_into`, the allocation-free call path embedders use for every call:
//! results land in caller-provided slots, on the stack for small signatures and on the
//! heap past 15 parameters or results.

use sidewinder_engine::{
    Engine, Error, Extern, Func, FuncType, Instance, Module, Store, Val, ValType, NUMERIC_AREA,
};

fn instance(store: &Store, wat: &str) -> Instance {
    let module = Module::new(store.engine(), &wat::parse_str(wat).expect("valid wat")).expect("compiles");
    Instance::new(store, &module, &[]).expect("instantiates")
}

fn export(instance: &Instance, name: &str) -> sidewinder_engine::Func {
    match instance.get_export(name) {
        Some(Extern::Func(f)) => f,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn call_into_writes_every_result_slot() {
    let store = Store::new(&Engine::default());
    let inst = instance(
        &store,
        r#"(module (func (export "f") (param i32 i64) (result i64 i32 f64)
             (i64.add (local.get 1) (i64.extend_i32_s (local.get 0)))
             (i32.mul (local.get 0) (i32.const 3))
             (f64.convert_i32_s (local.get 0))))"#,
    );
    let f = export(&inst, "f");
    let mut results = [Val::I32(0), Val::I32(0), Val::I32(0)];
    f.call_into(&[Val::I32(-4), Val::I64(10)], &mut results).expect("runs");
    assert!(matches!(results, [Val::I64(6), Val::I32(-12), Val::F64(bits)] if f64::from_bits(bits) == -4.0));
    let mut wrong = [Val::I32(0)];
    let err = f.call_into(&[Val::I32(1), Val::I64(1)], &mut wrong).unwrap_err();
    assert!(matches!(err, Error::Link(_)), "{err}");
}

#[test]
fn call_into_with_more_slots_than_fit_on_the_stack() {
    let store = Store::new(&Engine::default());
    let params = "i64 ".repeat(20);
    let sum =
        (0..20).fold(String::from("(i64.const 0)"), |acc, i| format!("(i64.add {acc} (local.get {i}))"));
    let results = "i64 ".repeat(17);
    let outputs: String = (0..17).map(|i| format!("(i64.mul (local.get {i}) (i64.const 2)) ")).collect();
    let wat = format!(
        r#"(module
             (func (export "sum") (param {params}) (result i64) {sum})
             (func (export "many") (param {params}) (result {results}) {outputs}))"#
    );
    let inst = instance(&store, &wat);
    let args: Vec<Val> = (1..=20).map(Val::I64).collect();
    let mut one = [Val::I64(0)];
    export(&inst, "sum").call_into(&args, &mut one).expect("runs");
    assert!(matches!(one, [Val::I64(210)]), "{one:?}");
    let mut many: Vec<Val> = vec![Val::I64(0); 17];
    export(&inst, "many").call_into(&args, &mut many).expect("runs");
    for (i, v) in many.iter().enumerate() {
        assert!(matches!(v, Val::I64(x) if *x == 2 * (i as i64 + 1)), "result {i}: {v:?}");
    }
}

#[test]
fn call_numeric_passes_raw_numbers() {
    let store = Store::new(&Engine::default());
    let inst = instance(
        &store,
        r#"(module
             (func (export "mix") (param i32 i64 f32 f64) (result f64 i32 f32 i64)
               (f64.add (local.get 3) (f64.convert_i32_s (local.get 0)))
               (i32.sub (i32.const 0) (local.get 0))
               (f32.neg (local.get 2))
               (i64.mul (local.get 1) (i64.const -2)))
             (func (export "neg") (param i32) (result i32) (i32.sub (i32.const 0) (local.get 0)))
             (func (export "ref") (param externref) (result i32) (i32.const 0)))"#,
    );
    let mut one = [0u64];
    export(&inst, "neg").call_numeric(&[5], &mut one).expect("runs");
    // -5 as an i32, zero-extended: the upper half is never garbage.
    assert_eq!(one[0], (-5i32) as u32 as u64);
    let args = [7u64, (-3i64) as u64, 1.5f32.to_bits() as u64, 0.25f64.to_bits()];
    let mut out = [0u64; 4];
    export(&inst, "mix").call_numeric(&args, &mut out).expect("runs");
    assert_eq!(f64::from_bits(out[0]), 7.25);
    assert_eq!(out[1], (-7i32) as u32 as u64);
    assert_eq!(out[2], (-1.5f32).to_bits() as u64);
    assert_eq!(out[3] as i64, 6);
    // Reference types and wrong counts are refused, not reinterpreted.
    assert!(matches!(export(&inst, "ref").call_numeric(&[0], &mut one), Err(Error::Link(_))));
    assert!(matches!(export(&inst, "neg").call_numeric(&[], &mut one), Err(Error::Link(_))));
}

#[test]
fn call_numeric_in_place_returns_results_from_the_area() {
    let store = Store::new(&Engine::default());
    let inst = instance(
        &store,
        r#"(module
             (func (export "neg") (param i32) (result i32) (i32.sub (i32.const 0) (local.get 0)))
             (func (export "swap") (param i64 f64 i32) (result i32 f64 i64)
               (local.get 2) (local.get 1) (local.get 0))
             (func (export "ref") (param externref) (result i32) (i32.const 0)))"#,
    );
    let mut area = [u64::MAX; NUMERIC_AREA];
    area[0] = 5;
    let results = export(&inst, "neg").call_numeric_in_place(&mut area).expect("runs");
    assert_eq!(results, [(-5i32) as u32 as u64]);
    let mut area = [0u64; NUMERIC_AREA];
    area[..3].copy_from_slice(&[(-9i64) as u64, 2.5f64.to_bits(), u32::MAX as u64]);
    let results = export(&inst, "swap").call_numeric_in_place(&mut area).expect("runs");
    assert_eq!(results, [u32::MAX as u64, 2.5f64.to_bits(), (-9i64) as u64]);
    // Host functions take the same path, their results moved to the front.
    let host =
        Func::new(&store, FuncType::new([ValType::I32, ValType::I32], [ValType::I64]), |args, results| {
            let (Val::I32(a), Val::I32(b)) = (&args[0], &args[1]) else { unreachable!("typed") };
            results[0] = Val::I64(*a as i64 * *b as i64);
            Ok(())
        });
    let mut area = [0u64; NUMERIC_AREA];
    area[..2].copy_from_slice(&[(-3i32) as u32 as u64, 7]);
    assert_eq!(host.call_numeric_in_place(&mut area).expect("runs"), [(-21i64) as u64]);
    let mut area = [0u64; NUMERIC_AREA];
    assert!(matches!(export(&inst, "ref").call_numeric_in_place(&mut area), Err(Error::Link(_))));
    // More parameters and results together than the area holds (9 + 8): still fine.
    let wide = Func::new(&store, FuncType::new([ValType::I32; 9], [ValType::I32; 8]), |args, results| {
        for (i, r) in results.iter_mut().enumerate() {
            let Val::I32(a) = args[i + 1] else { unreachable!("typed") };
            *r = Val::I32(a * 10);
        }
        Ok(())
    });
    let mut area = [0u64; NUMERIC_AREA];
    for (i, slot) in area[..9].iter_mut().enumerate() {
        *slot = i as u64;
    }
    assert_eq!(wide.call_numeric_in_place(&mut area).expect("runs"), [10, 20, 30, 40, 50, 60, 70, 80]);
    let mut results = [0u64; 8];
    wide.call_numeric(&[1, 2, 3, 4, 5, 6, 7, 8, 9], &mut results).expect("runs");
    assert_eq!(results, [20, 30, 40, 50, 60, 70, 80, 90]);
}

#[test]
fn call_numeric_in_place_refuses_signatures_longer_than_the_area() {
    let store = Store::new(&Engine::default());
    let params = "i32 ".repeat(NUMERIC_AREA);
    let inst = instance(
        &store,
        &format!(r#"(module (func (export "long") (param {params}) (result i32) (local.get 15)))"#),
    );
    let long = export(&inst, "long");
    let mut area = [1u64; NUMERIC_AREA];
    assert!(matches!(long.call_numeric_in_place(&mut area), Err(Error::Link(_))));
    // The slice form spills to the heap instead.
    let args: Vec<u64> = (0..NUMERIC_AREA as u64).collect();
    let mut one = [0u64];
    long.call_numeric(&args, &mut one).expect("runs");
    assert_eq!(one, [15]);
}

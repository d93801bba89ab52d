//! Wasm functions of numbers that small calls do not serve (more parameters than
//! `SMALL_ARGS`, or several results; at most `WIDE_ARGS` of each) are called through
//! `WideCaller`: straight into their code when they are trap-free and return at most one
//! result, else through a wide entry trampoline. Its outcomes must be those of
//! `Func::call` through the general entry: results bit for bit, traps with their codes,
//! host functions' errors, with the caller's running values intact.

use sidewinder_engine::{
    Engine, Error, Extern, Func, FuncType, Instance, Module, Store, Trap, TrapCode, Val, ValType, SMALL_ARGS,
    WIDE_ARGS,
};

#[allow(dead_code)] // only `instance_in`, `exported_func` and `Rng` are used here
mod support;
use support::{exported_func, instance_in, Rng};

/// How the function of `wide_module` reaches its result.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    /// Arithmetic only: trap-free.
    TrapFree,
    /// Adds a byte loaded from memory (0): a leaf that may trap.
    Loading,
    /// Passes its sum through an imported host function (the identity): not a leaf.
    Calling,
}

/// A function of `types` that mixes every parameter into one i64: each converted to
/// i64 bits, multiplied by its position plus one, summed; then as `shape` says. It
/// imports `host.id`, an i64 identity.
fn wide_module(types: &[&str], shape: Shape) -> String {
    let params = types.join(" ");
    let mut body = String::from("(i64.const 0)");
    for (i, t) in types.iter().enumerate() {
        let as_i64 = match *t {
            "i32" => format!("(i64.extend_i32_u (local.get {i}))"),
            "i64" => format!("(local.get {i})"),
            "f32" => format!("(i64.extend_i32_u (i32.reinterpret_f32 (local.get {i})))"),
            _ => format!("(i64.reinterpret_f64 (local.get {i}))"),
        };
        body = format!("(i64.add {body} (i64.mul {as_i64} (i64.const {})))", i + 1);
    }
    let body = match shape {
        Shape::TrapFree => body,
        Shape::Loading => format!("(i64.add {body} (i64.load8_u (i32.const 0)))"),
        Shape::Calling => format!("(call $id {body})"),
    };
    format!(
        "(module (import \"host\" \"id\" (func $id (param i64) (result i64))) (memory 1)
           (func (export \"wide\") (param {params}) (result i64) {body}))"
    )
}

/// The host's i64 identity, counting its calls in `calls`.
fn host_identity(store: &Store, calls: std::rc::Rc<std::cell::Cell<u64>>) -> Func {
    Func::new(store, FuncType::new([ValType::I64], [ValType::I64]), move |params, results| {
        calls.set(calls.get() + 1);
        results[0] = params[0].clone();
        Ok(())
    })
}

fn instance_with(store: &Store, wat: &str, imports: &[Extern]) -> Instance {
    let module = Module::new(store.engine(), &wat::parse_str(wat).expect("valid wat")).expect("compiles");
    Instance::new(store, &module, imports).expect("instantiates")
}

/// Every count from 5 to `WIDE_ARGS`, mixed types, each shape: `WideCaller::call`
/// gives what `Func::call` gives, and the caller's running values survive the calls.
#[test]
fn wide_calls_match_the_general_entry() {
    let store = Store::new(&Engine::default());
    let calls = std::rc::Rc::new(std::cell::Cell::new(0));
    let id = Extern::Func(host_identity(&store, calls.clone()));
    let kinds = ["i32", "i64", "f32", "f64"];
    let mut rng = Rng::salted(1, 0x5749_4445);
    let mut next = || rng.next_u64();
    let (mut checks, mut running) = (1u64, 1u64);
    for shape in [Shape::TrapFree, Shape::Loading, Shape::Calling] {
        for count in SMALL_ARGS + 1..=WIDE_ARGS {
            let types: Vec<&str> = (0..count).map(|i| kinds[(i * 7 + count) % 4]).collect();
            let inst = instance_with(&store, &wide_module(&types, shape), std::slice::from_ref(&id));
            let wide = exported_func(&inst, "wide");
            assert_eq!(wide.is_trap_free(), shape == Shape::TrapFree, "{shape:?}");
            let caller = wide.wide_caller().expect("served");
            assert_eq!(caller.params(), count);
            assert_eq!(caller.is_leaf(), shape != Shape::Calling, "{shape:?}");
            for _ in 0..100 {
                let mut area = [0u64; WIDE_ARGS];
                let mut vals = Vec::new();
                for (slot, t) in area.iter_mut().zip(&types) {
                    let bits = next();
                    let (raw, val) = match *t {
                        "i32" => (bits as u32 as u64, Val::I32(bits as i32)),
                        "i64" => (bits, Val::I64(bits as i64)),
                        "f32" => (bits as u32 as u64, Val::F32(bits as u32)),
                        _ => (bits, Val::F64(bits)),
                    };
                    *slot = raw;
                    vals.push(val);
                }
                // Slots past the parameters are ignored.
                for slot in &mut area[count..] {
                    *slot = next();
                }
                let expected = match &wide.call(&vals).expect("runs")[..] {
                    [Val::I64(v)] => *v as u64,
                    other => panic!("{other:?}"),
                };
                running = running.wrapping_mul(31).wrapping_add(expected);
                let direct = caller.call(&mut area).expect("runs");
                assert_eq!(direct, expected, "{shape:?}, {count} parameters: {types:?}");
                checks = checks.wrapping_mul(31).wrapping_add(direct);
            }
        }
    }
    assert_eq!(checks, running, "the caller's running values survive the calls");
    // Both paths called the host: 100 calls each for every count.
    assert_eq!(calls.get(), 2 * 100 * (WIDE_ARGS - SMALL_ARGS) as u64);
}

/// Traps and host errors come back as `Func::call` gives them, from a leaf and from a
/// function that calls the host; calls after them work.
#[test]
fn wide_calls_trap_as_the_general_entry_does() {
    let store = Store::new(&Engine::default());
    let fail = Func::new(&store, FuncType::new([ValType::I32], []), |params, _| match params[0] {
        Val::I32(0) => Ok(()),
        _ => Err(Trap::host_message("the host says no")),
    });
    let inst = instance_with(
        &store,
        r#"(module (import "host" "fail" (func $fail (param i32))) (memory 1)
             (func (export "load") (param i32 i32 i32 i32 i32) (result i32)
               (i32.add (local.get 0) (i32.load (local.get 4))))
             (func (export "divide") (param i32 i32 i32 i32 i32 i32) (result i32)
               (i32.div_s (local.get 0) (local.get 5)))
             (func (export "ask") (param i32 i32 i32 i32 i32) (result i32)
               (call $fail (local.get 4)) (local.get 0)))"#,
        &[Extern::Func(fail)],
    );
    let trap_code = |outcome: Result<u64, Error>| match outcome {
        Err(Error::Trap(t)) => (t.code(), t.to_string()),
        other => panic!("expected a trap, got {other:?}"),
    };
    let general_trap = |name: &str, args: &[i32]| {
        let vals: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
        trap_code(exported_func(&inst, name).call(&vals).map(|_| 0))
    };
    let wide_call = |name: &str, args: &[i32]| {
        let mut area = [0u64; WIDE_ARGS];
        for (slot, &a) in area.iter_mut().zip(args) {
            *slot = a as u32 as u64;
        }
        exported_func(&inst, name).wide_caller().expect("served").call(&mut area)
    };
    for (name, args, code) in [
        ("load", &[1, 0, 0, 0, 65536][..], TrapCode::MemoryOutOfBounds),
        ("load", &[1, 0, 0, 0, -1][..], TrapCode::MemoryOutOfBounds),
        ("divide", &[7, 0, 0, 0, 0, 0][..], TrapCode::IntegerDivisionByZero),
        ("divide", &[i32::MIN, 0, 0, 0, 0, -1][..], TrapCode::IntegerOverflow),
        ("ask", &[1, 0, 0, 0, 1][..], TrapCode::Host),
    ] {
        let (wide_code, wide_message) = trap_code(wide_call(name, args));
        assert_eq!(wide_code, code, "{name}{args:?}");
        assert_eq!((wide_code, wide_message), general_trap(name, args), "{name}{args:?}");
        // The runtime is as it was: the next call works.
        let fine = [5, 0, 0, 0, 0, 1];
        assert_eq!(wide_call(name, &fine[..args.len()]).expect("runs") as u32, 5, "{name} after a trap");
    }
    assert_eq!(wide_call("load", &[1, 0, 0, 0, 65532]).expect("runs") as u32, 1);
}

/// Only wasm functions of numbers with 5 to `WIDE_ARGS` parameters, or 2 to `WIDE_ARGS`
/// results, get a `WideCaller`; a call after the store is gone fails.
#[test]
fn only_wide_numeric_wasm_functions_have_wide_callers() {
    let store = Store::new(&Engine::default());
    let inst = instance_in(
        &store,
        r#"(module (memory 1)
                 (func (export "four") (param i32 i32 i32 i32) (result i32) (local.get 0))
                 (func (export "five") (param i32 i32 i32 i32 i32) (result i32) (local.get 4))
                 (func (export "sixteen") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i64)
                   (result i64) (local.get 15))
                 (func (export "seventeen") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32))
                 (func (export "loads") (param i32 i32 i32 i32 i32) (result i32) (i32.load (local.get 4)))
                 (func $first (param i32) (result i32) (local.get 0))
                 (func (export "calls") (param i32 i32 i32 i32 i32) (result i32) (call $first (local.get 4)))
                 (func (export "two") (param i32 i32 i32 i32 i32) (result i32 i32) (local.get 0) (local.get 1))
                 (func (export "pair") (result i64 i64) (i64.const -1) (i64.const 2))
                 (func (export "one") (param i32) (result i32) (local.get 0))
                 (func (export "seventeenResults") (result i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)
                   (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
                   (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
                   (i32.const 0))
                 (func (export "vector") (param i32 i32 i32 i32 v128) (result i32) (local.get 0))
                 (func (export "refs") (param i32 i32 i32 i32 externref) (result i32) (local.get 0)))"#,
    );
    let five = exported_func(&inst, "five").wide_caller().expect("served");
    let loads = exported_func(&inst, "loads").wide_caller().expect("served");
    let calls = exported_func(&inst, "calls").wide_caller().expect("served");
    assert!(!calls.is_leaf());
    let mut area = [0u64; WIDE_ARGS];
    area[4] = 77;
    assert_eq!(five.call(&mut area).expect("runs") as u32, 77);
    assert_eq!(calls.call(&mut area).expect("runs") as u32, 77);
    area[15] = u64::MAX - 1;
    let sixteen = exported_func(&inst, "sixteen").wide_caller().expect("served");
    assert_eq!(sixteen.call(&mut area).expect("runs"), u64::MAX - 1, "the last of sixteen");
    let mut pair_area = [7u64; WIDE_ARGS];
    exported_func(&inst, "pair").wide_caller().expect("served").call(&mut pair_area).expect("runs");
    assert_eq!(pair_area[..2], [u64::MAX, 2], "two results, left in the area");
    area[0] = 5;
    exported_func(&inst, "two").wide_caller().expect("served").call(&mut area).expect("runs");
    assert_eq!(area[..2].iter().map(|&r| r as u32).collect::<Vec<_>>(), [5, 0]);
    for name in ["four", "one", "seventeen", "seventeenResults", "vector", "refs"] {
        assert!(exported_func(&inst, name).wide_caller().is_none(), "{name}");
    }
    let host = Func::new(&store, FuncType::new([ValType::I32; 5], []), |_, _| Ok(()));
    assert!(host.wide_caller().is_none(), "a host function");
    drop((inst, store));
    assert!(matches!(five.call(&mut area), Err(Error::Link(_))), "trap-free, after the store is gone");
    assert!(matches!(loads.call(&mut area), Err(Error::Link(_))), "a leaf, after the store is gone");
    assert!(matches!(calls.call(&mut area), Err(Error::Link(_))), "after the store is gone");
}

/// A function of `params` (each a type of `kinds`) and `results` results, result `i`
/// being parameter `i % params` (or a constant without parameters) plus `i`, converted
/// to the result's type; then as `shape` says (a load added to the first, or the first
/// passed through the host's identity).
fn several_results_module(params: &[&str], results: &[&str], shape: Shape) -> String {
    let mut body = String::new();
    for (i, r) in results.iter().enumerate() {
        let as_i64 = match params.get(i % params.len().max(1)).filter(|_| !params.is_empty()) {
            Some(&"i32") => format!("(i64.extend_i32_s (local.get {}))", i % params.len()),
            Some(&"i64") => format!("(local.get {})", i % params.len()),
            Some(&"f32") => format!("(i64.trunc_sat_f32_s (local.get {}))", i % params.len()),
            Some(_) => format!("(i64.trunc_sat_f64_s (local.get {}))", i % params.len()),
            None => "(i64.const 1234567890123)".to_string(),
        };
        let mut value = format!("(i64.add {as_i64} (i64.const {i}))");
        if i == 0 {
            value = match shape {
                Shape::TrapFree => value,
                Shape::Loading => format!("(i64.add {value} (i64.load8_u (i32.const 0)))"),
                Shape::Calling => format!("(call $id {value})"),
            };
        }
        body.push_str(&match *r {
            "i32" => format!("(i32.wrap_i64 {value})"),
            "i64" => value,
            "f32" => format!("(f32.convert_i64_s {value})"),
            _ => format!("(f64.convert_i64_s {value})"),
        });
    }
    format!(
        "(module (import \"host\" \"id\" (func $id (param i64) (result i64))) (memory 1)
           (func (export \"several\") (param {}) (result {}) {body}))",
        params.join(" "),
        results.join(" ")
    )
}

/// Functions of 0 to `WIDE_ARGS` parameters and 2 to `WIDE_ARGS` results, mixed types,
/// each shape: `WideCaller::call` leaves in the area what `Func::call` returns.
#[test]
fn several_results_match_the_general_entry() {
    let store = Store::new(&Engine::default());
    let calls = std::rc::Rc::new(std::cell::Cell::new(0));
    let id = Extern::Func(host_identity(&store, calls.clone()));
    let kinds = ["i32", "i64", "f32", "f64"];
    let mut rng = Rng::salted(1, 0x5345_5645);
    let mut next = || rng.next_u64();
    let mut cases = 0;
    for shape in [Shape::TrapFree, Shape::Loading, Shape::Calling] {
        for (num_params, num_results) in
            [(0, 2), (1, 2), (2, 2), (3, 5), (4, 3), (5, 2), (7, 16), (16, 16), (16, 9), (2, 15)]
        {
            let params: Vec<&str> = (0..num_params).map(|i| kinds[(i * 3 + num_results) % 4]).collect();
            let results: Vec<&str> = (0..num_results).map(|i| kinds[(i + num_params) % 4]).collect();
            let inst = instance_with(
                &store,
                &several_results_module(&params, &results, shape),
                std::slice::from_ref(&id),
            );
            let several = exported_func(&inst, "several");
            let caller = several.wide_caller().expect("served");
            assert_eq!(caller.is_leaf(), shape != Shape::Calling, "{shape:?}");
            for _ in 0..50 {
                let mut area = [0u64; WIDE_ARGS];
                let mut vals = Vec::new();
                for (slot, t) in area.iter_mut().zip(&params) {
                    // Small enough that every conversion is exact.
                    let n = (next() % 2_000_001) as i64 - 1_000_000;
                    let (raw, val) = match *t {
                        "i32" => (n as i32 as u32 as u64, Val::I32(n as i32)),
                        "i64" => (n as u64, Val::I64(n)),
                        "f32" => ((n as f32).to_bits() as u64, Val::F32((n as f32).to_bits())),
                        _ => ((n as f64).to_bits(), Val::F64((n as f64).to_bits())),
                    };
                    *slot = raw;
                    vals.push(val);
                }
                for slot in &mut area[num_params..] {
                    *slot = next();
                }
                let expected = several.call(&vals).expect("runs");
                caller.call(&mut area).expect("runs");
                for (i, (v, &raw)) in expected.iter().zip(area.iter()).enumerate() {
                    let got = match v {
                        Val::I32(x) => (raw as u32 == *x as u32, *x as u32 as u64),
                        Val::I64(x) => (raw == *x as u64, *x as u64),
                        Val::F32(bits) => (raw as u32 == *bits, *bits as u64),
                        Val::F64(bits) => (raw == *bits, *bits),
                        other => panic!("{other:?}"),
                    };
                    assert!(
                        got.0,
                        "{shape:?}, {params:?} -> {results:?}: result {i} is {raw:#x}, not {:#x}",
                        got.1
                    );
                }
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 3 * 10 * 50);
    assert_eq!(calls.get(), 2 * 10 * 50, "both paths called the host");
}

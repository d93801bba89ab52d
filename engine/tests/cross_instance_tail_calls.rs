//! Tail calls between instances run in constant stack: a chain of `return_call`,
//! `return_call_indirect` and `return_call_ref` into another instance (imports,
//! tables, references) keeps one bridge frame, however long it runs. Each instance
//! reads its own memory along the way, so a callee running with its caller's context
//! (or a caller returned to with its callee's) shows as a wrong sum.

use sidewinder_engine::*;

/// Two instances of this module call each other: `even` and `odd` count `n` down,
/// each step a tail call into the other instance, and add the byte at address 0 of
/// the memory of the instance running the step. Every style of tail call is used.
const PING_PONG: &str = r#"(module
  (import "peer" "even" (func $peer_even (param i64 i64) (result i64)))
  (import "peer" "odd" (func $peer_odd (param i64 i64) (result i64)))
  (import "peer" "wide" (func $peer_wide (param i64 i64 i64 i64 i64 i64) (result i64)))
  (type $step (func (param i64 i64) (result i64)))
  (memory 1)
  (data (i32.const 0) "\01")
  (table $peers 2 funcref)
  (global $peer_odd_ref (mut funcref) (ref.null func))
  (elem declare func $even $odd $narrow)
  (func (export "set_byte") (param i32) (i32.store8 (i32.const 0) (local.get 0)))
  (func (export "link") (param funcref funcref)
    (table.set $peers (i32.const 0) (local.get 0))
    (table.set $peers (i32.const 1) (local.get 1))
    (global.set $peer_odd_ref (local.get 1)))
  ;; Through the import.
  (func $even (export "even") (param $n i64) (param $acc i64) (result i64)
    (local.set $acc (i64.add (local.get $acc) (i64.load8_u (i32.const 0))))
    (if (result i64) (i64.eqz (local.get $n))
      (then (local.get $acc))
      (else (return_call $peer_odd (i64.sub (local.get $n) (i64.const 1)) (local.get $acc)))))
  ;; Through the table, then through a reference, alternately.
  (func $odd (export "odd") (param $n i64) (param $acc i64) (result i64)
    (local.set $acc (i64.add (local.get $acc) (i64.load8_u (i32.const 0))))
    (if (result i64) (i64.eqz (local.get $n))
      (then (local.get $acc))
      (else
        (if (result i64) (i64.eqz (i64.and (local.get $n) (i64.const 2)))
          (then (return_call_indirect $peers (type $step)
            (i64.sub (local.get $n) (i64.const 1)) (local.get $acc) (i32.const 0)))
          (else (return_call_ref $step
            (i64.sub (local.get $n) (i64.const 1)) (local.get $acc)
            (ref.cast (ref $step) (table.get $peers (i32.const 0)))))))))
  ;; A callee with more parameters than its caller's area holds (the area widens).
  (func $narrow (export "narrow") (param $n i64) (param $acc i64) (result i64)
    (local.set $acc (i64.add (local.get $acc) (i64.load8_u (i32.const 0))))
    (if (result i64) (i64.eqz (local.get $n))
      (then (local.get $acc))
      (else (return_call $peer_wide (i64.sub (local.get $n) (i64.const 1)) (local.get $acc)
        (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0)))))
  (func (export "wide") (param $n i64) (param $acc i64) (param i64 i64 i64 i64) (result i64)
    (local.set $acc (i64.add (local.get $acc) (i64.load8_u (i32.const 0))))
    (if (result i64) (i64.eqz (local.get $n))
      (then (local.get $acc))
      (else (return_call_indirect $peers (type $step)
        (i64.sub (local.get $n) (i64.const 1)) (local.get $acc) (i32.const 1)))))
  ;; A direct caller of this instance: reads its own memory after the chain returns.
  (func (export "run_even") (param $n i64) (result i64)
    (i64.add (call $even (local.get $n) (i64.const 0)) (i64.mul (i64.load8_u (i32.const 0)) (i64.const 1000000000))))
  (func (export "run_narrow") (param $n i64) (result i64)
    (i64.add (call $peer_wide (local.get $n) (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0))
      (i64.mul (i64.load8_u (i32.const 0)) (i64.const 1000000000)))))"#;

/// Forwards to the functions `link` gives it, with a tail call each: `a` imports these
/// while `b` does not exist yet.
const FORWARDER: &str = r#"(module
  (type $step (func (param i64 i64) (result i64)))
  (type $wide (func (param i64 i64 i64 i64 i64 i64) (result i64)))
  (table $t 3 funcref)
  (func (export "link") (param funcref funcref funcref)
    (table.set $t (i32.const 0) (local.get 0))
    (table.set $t (i32.const 1) (local.get 1))
    (table.set $t (i32.const 2) (local.get 2)))
  (func (export "even") (param i64 i64) (result i64)
    (return_call_indirect $t (type $step) (local.get 0) (local.get 1) (i32.const 0)))
  (func (export "odd") (param i64 i64) (result i64)
    (return_call_indirect $t (type $step) (local.get 0) (local.get 1) (i32.const 1)))
  (func (export "wide") (param i64 i64 i64 i64 i64 i64) (result i64)
    (return_call_indirect $t (type $wide)
      (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5)
      (i32.const 2))))"#;

fn instance(store: &Store, wat: &str, imports: &[Extern]) -> Instance {
    let bytes = wat::parse_str(wat).expect("valid wat");
    let module = Module::new(store.engine(), &bytes).expect("compiles");
    Instance::new(store, &module, imports).expect("instantiates")
}

fn exports(instance: &Instance, names: &[&str]) -> Vec<Extern> {
    names.iter().map(|n| instance.get_export(n).expect("export")).collect()
}

fn func(e: &Extern) -> Func {
    match e {
        Extern::Func(f) => f.clone(),
        _ => panic!("not a function"),
    }
}

/// Instances `a` (byte 1) and `b` (byte 2): `b` imports `a`'s functions, `a` imports a
/// forwarder's, which tail-call `b`'s; each also reaches the other's through its table.
fn pair(store: &Store) -> (Instance, Instance) {
    let forwarder = instance(store, FORWARDER, &[]);
    let a = instance(store, PING_PONG, &exports(&forwarder, &["even", "odd", "wide"]));
    let b = instance(store, PING_PONG, &exports(&a, &["even", "odd", "wide"]));
    b.call("set_byte", &[Val::I32(2)]).expect("set");
    let funcs = |i: &Instance, names: &[&str]| -> Vec<Val> {
        exports(i, names).iter().map(|e| Val::FuncRef(Some(func(e)))).collect()
    };
    forwarder.call("link", &funcs(&b, &["even", "odd", "wide"])).expect("link forwarder");
    a.call("link", &funcs(&b, &["even", "narrow"])).expect("link a");
    b.call("link", &funcs(&a, &["even", "narrow"])).expect("link b");
    (a, b)
}

fn i64_result(r: Result<Vec<Val>>) -> i64 {
    match r.expect("call")[..] {
        [Val::I64(x)] => x,
        ref v => panic!("unexpected results {v:?}"),
    }
}

/// Starting in `b` (byte 2): steps alternate b, a, b, ...; `n + 1` steps in all.
fn expected(n: i64, first_byte: i64, caller_byte: i64) -> i64 {
    let steps = n + 1;
    let firsts = (steps + 1) / 2;
    let seconds = steps / 2;
    firsts * first_byte + seconds * (3 - first_byte) + caller_byte * 1_000_000_000
}

#[test]
fn a_million_tail_calls_between_two_instances_run_in_constant_stack() {
    // A small wasm stack: a million frames would need far more.
    let engine = Engine::new(Config { max_wasm_stack: 256 << 10, ..Config::default() }).expect("engine");
    let store = Store::new(&engine);
    let (a, b) = pair(&store);
    for n in [0, 1, 2, 3, 10, 1_000_000] {
        assert_eq!(i64_result(b.call("run_even", &[Val::I64(n)])), expected(n, 2, 2), "b, n = {n}");
        assert_eq!(i64_result(a.call("run_even", &[Val::I64(n)])), expected(n, 1, 1), "a, n = {n}");
        // Called from the embedder: the entry is the bridge.
        assert_eq!(
            i64_result(b.call("even", &[Val::I64(n), Val::I64(0)])),
            expected(n, 2, 0),
            "b.even, n = {n}"
        );
    }
}

#[test]
fn tail_calls_between_instances_that_widen_the_area_run_in_constant_stack() {
    let engine = Engine::new(Config { max_wasm_stack: 256 << 10, ..Config::default() }).expect("engine");
    let store = Store::new(&engine);
    let (a, b) = pair(&store);
    for n in [0, 1, 2, 5, 1_000_000] {
        // run_narrow calls the peer's `wide` (the peer's byte first), which
        // tail-calls our `narrow` through its table, which tail-calls the peer's
        // `wide` through the import (a wider area), and so on.
        assert_eq!(i64_result(a.call("run_narrow", &[Val::I64(n)])), expected(n, 2, 1), "a, n = {n}");
        assert_eq!(i64_result(b.call("run_narrow", &[Val::I64(n)])), expected(n, 1, 2), "b, n = {n}");
    }
}

#[test]
fn a_host_function_may_be_tail_called_from_a_chain() {
    let store = Store::new(&Engine::default());
    let host =
        Func::new(&store, FuncType::new([ValType::I64, ValType::I64], [ValType::I64]), |args, results| {
            let (Val::I64(n), Val::I64(acc)) = (&args[0], &args[1]) else { panic!("args {args:?}") };
            results[0] = Val::I64(acc * 1000 + n);
            Ok(())
        });
    let forwarder = instance(&store, FORWARDER, &[]);
    let forwarded = exports(&forwarder, &["even", "odd", "wide"]);
    // `odd` is the host function: `even` tail-calls it.
    let a = instance(&store, PING_PONG, &[forwarded[0].clone(), Extern::Func(host), forwarded[2].clone()]);
    // a.even(3, 0): +1 (a's byte), then tail-calls host(2, 1) = 1002.
    assert_eq!(i64_result(a.call("even", &[Val::I64(3), Val::I64(0)])), 1002);
    assert_eq!(i64_result(a.call("run_even", &[Val::I64(3)])), 1002 + 1_000_000_000);
}

/// An exception thrown at the end of a chain of tail calls between instances unwinds
/// through the bridge (which has no handler of its own: its frame was replaced, in the
/// spec's terms) to the caller's `try_table`; a trap there leaves the store usable.
#[test]
fn exceptions_and_traps_leave_a_chain_of_tail_calls_between_instances() {
    let store = Store::new(&Engine::default());
    let thrower = instance(
        &store,
        r#"(module
          (tag $t (export "t") (param i64))
          (func (export "boom") (param i64 i64) (result i64) (throw $t (local.get 1)))
          (func (export "trap") (param i64 i64) (result i64) (unreachable)))"#,
        &[],
    );
    let forwarder = instance(&store, FORWARDER, &[]);
    let boom = thrower.get_export("boom").expect("boom");
    let trap = thrower.get_export("trap").expect("trap");
    forwarder
        .call("link", &[Val::FuncRef(Some(func(&boom))), Val::FuncRef(Some(func(&trap))), Val::FuncRef(None)])
        .expect("link");
    let caller = instance(
        &store,
        r#"(module
          (import "x" "t" (tag $t (param i64)))
          (import "x" "boom" (func $boom (param i64 i64) (result i64)))
          (import "f" "even" (func $via_forwarder (param i64 i64) (result i64)))
          (import "f" "odd" (func $trap_via_forwarder (param i64 i64) (result i64)))
          (memory 1)
          (data (i32.const 0) "\05")
          (func $direct (param i64 i64) (result i64) (return_call $boom (local.get 0) (local.get 1)))
          (func $forwarded (param i64 i64) (result i64) (return_call $via_forwarder (local.get 0) (local.get 1)))
          (func $trapping (param i64 i64) (result i64) (return_call $trap_via_forwarder (local.get 0) (local.get 1)))
          (func (export "catch_direct") (result i64)
            (block $h (result i64)
              (try_table (catch $t $h) (drop (call $direct (i64.const 0) (i64.const 77))))
              (i64.const -1))
            (i64.add (i64.load8_u (i32.const 0))))
          (func (export "catch_forwarded") (result i64)
            (block $h (result i64)
              (try_table (catch $t $h) (drop (call $forwarded (i64.const 0) (i64.const 78))))
              (i64.const -1))
            (i64.add (i64.load8_u (i32.const 0))))
          (func (export "trap") (result i64) (call $trapping (i64.const 0) (i64.const 0))))"#,
        &[
            thrower.get_export("t").expect("tag"),
            boom.clone(),
            forwarder.get_export("even").expect("even"),
            forwarder.get_export("odd").expect("odd"),
        ],
    );
    for _ in 0..3 {
        assert_eq!(i64_result(caller.call("catch_direct", &[])), 82);
        assert_eq!(i64_result(caller.call("catch_forwarded", &[])), 83);
        match caller.call("trap", &[]) {
            Err(Error::Trap(t)) => assert_eq!(t.code(), TrapCode::Unreachable),
            r => panic!("expected a trap: {r:?}"),
        }
    }
}

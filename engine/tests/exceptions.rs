//! Exception handling through the Rust API: throw, catch, rethrow, unwinding through
//! frames and host functions, and what reaches the embedder.

use sidewinder_engine::*;

fn instantiate(store: &Store, wat: &str, imports: &[Extern]) -> Instance {
    let bytes = wat::parse_str(wat).expect("valid wat");
    let module = Module::new(store.engine(), &bytes).expect("compiles");
    Instance::new(store, &module, imports).expect("instantiates")
}

fn i32_result(r: Result<Vec<Val>>) -> i32 {
    match r {
        Ok(v) => match v[..] {
            [Val::I32(x)] => x,
            _ => panic!("unexpected results {v:?}"),
        },
        Err(e) => panic!("call failed: {e}"),
    }
}

fn i64_result(r: Result<Vec<Val>>) -> i64 {
    match r.expect("call")[..] {
        [Val::I64(x)] => x,
        ref v => panic!("unexpected results {v:?}"),
    }
}

/// Calls export `name` with i64 arguments; its one i64 result.
fn call_on_i64s(instance: &Instance, name: &str, args: &[i64]) -> i64 {
    let args: Vec<Val> = args.iter().map(|&x| Val::I64(x)).collect();
    i64_result(instance.call(name, &args))
}

#[test]
fn try_table_catches_a_throw_from_a_callee() {
    let store = Store::new(&Engine::default());
    let instance = instantiate(
        &store,
        r#"(module
          (tag $e (param i32 i32))
          (func $thrower (i32.const 1) (i32.const 2) (throw $e))
          (func (export "run") (result i32)
            (block $h (result i32 i32)
              (try_table (catch $e $h) (call $thrower))
              (return (i32.const -1)))
            i32.sub))"#,
        &[],
    );
    assert_eq!(i32_result(instance.call("run", &[])), -1);
}

#[test]
fn an_uncaught_exception_reaches_the_caller_with_its_tag_and_payload() {
    let store = Store::new(&Engine::default());
    let instance = instantiate(
        &store,
        r#"(module
          (tag $e (export "e") (param i32 f64 i64))
          (func (export "run") (param i32)
            (throw $e (local.get 0) (f64.const 2.5) (i64.const -7))))"#,
        &[],
    );
    let Some(Extern::Tag(tag)) = instance.get_export("e") else { panic!("tag export") };
    match instance.call("run", &[Val::I32(41)]) {
        Err(Error::Exception(e)) => {
            assert!(Tag::ptr_eq(&e.tag(), &tag));
            assert!(
                matches!(e.payload()[..], [Val::I32(41), Val::F64(b), Val::I64(-7)] if b == 2.5f64.to_bits())
            );
        }
        other => panic!("expected an exception, got {other:?}"),
    }
}

/// Locals pinned to callee-saved registers on every level: `outer` keeps three across
/// the call, `catcher` pins one of those registers itself, and the two frames below it
/// pin all three. After the landing, `catcher`'s local is reloaded, and `outer` gets
/// back the two registers `catcher` never saved only because the unwinder restored them
/// from the frames it passed over.
#[test]
fn landing_restores_pinned_locals_and_callee_saved_registers() {
    let store = Store::new(&Engine::default());
    let instance = instantiate(
        &store,
        r#"(module
          (tag $e (param i32))
          (func $thrower (param $n i32) (local $a i32) (local $b i32) (local $c i32)
            (loop $l
              (local.set $a (i32.add (local.get $a) (i32.const 1)))
              (local.set $b (i32.add (local.get $b) (i32.const 2)))
              (local.set $c (i32.add (local.get $c) (i32.const 3)))
              (br_if $l (i32.lt_u (local.get $a) (local.get $n))))
            (throw $e (i32.add (local.get $b) (local.get $c))))
          (func $middle (param i32) (local $x i32) (local $y i32) (local $z i32)
            (loop $l
              (local.set $x (i32.add (local.get $x) (i32.const 100)))
              (local.set $y (i32.add (local.get $y) (i32.const 200)))
              (local.set $z (i32.add (local.get $z) (i32.const 300)))
              (br_if $l (i32.lt_u (local.get $x) (i32.const 1000))))
            (call $thrower (local.get 0)))
          (func $catcher (param $n i32) (result i32) (local $p i32)
            (loop $l
              (local.set $p (i32.add (local.get $p) (i32.const 7)))
              (br_if $l (i32.lt_u (local.get $p) (i32.const 70))))
            (block $h (result i32)
              (try_table (catch $e $h) (call $middle (local.get $n)))
              (i32.const -1))
            (local.get $p)
            i32.add)
          (func (export "outer") (param $n i32) (result i32) (local $s i32) (local $t i32) (local $u i32)
            (loop $l
              (local.set $s (i32.add (local.get $s) (i32.const 1)))
              (local.set $t (i32.add (local.get $t) (i32.const 1000)))
              (local.set $u (i32.add (local.get $u) (i32.const 100000)))
              (br_if $l (i32.lt_u (local.get $s) (i32.const 3))))
            (call $catcher (local.get $n))
            (i32.add (local.get $s))
            (i32.add (local.get $t))
            (i32.add (local.get $u))))"#,
        &[],
    );
    // thrower: b + c = 5n; catcher: p = 70; outer: 3 + 3000 + 300000.
    for n in [1, 10, 1000] {
        assert_eq!(i32_result(instance.call("outer", &[Val::I32(n)])), 5 * n + 70 + 303_003);
    }
}

#[test]
fn catch_ref_and_throw_ref_keep_the_exception_identity() {
    let store = Store::new(&Engine::default());
    let instance = instantiate(
        &store,
        r#"(module
          (tag $e (param i32))
          (func (export "run") (param i32) (result i32)
            (block $h (result i32 exnref)
              (try_table (catch_ref $e $h) (throw $e (local.get 0)))
              (unreachable))
            (throw_ref))
          (func (export "null") (throw_ref (ref.null exn))))"#,
        &[],
    );
    let first = match instance.call("run", &[Val::I32(5)]) {
        Err(Error::Exception(e)) => e,
        other => panic!("expected an exception, got {other:?}"),
    };
    assert!(matches!(first.payload()[..], [Val::I32(5)]));
    match instance.call("null", &[]) {
        Err(Error::Trap(t)) => assert_eq!(t.code(), TrapCode::NullExceptionReference),
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn host_functions_throw_into_wasm_and_wasm_catches_them() {
    let store = Store::new(&Engine::default());
    let tag = Tag::new(&store, FuncType::new([ValType::I64], [])).expect("tag");
    let thrown = Exception::new(&store, &tag, &[Val::I64(99)]).expect("exception");
    let thrown_in_host = thrown.clone();
    let host = Func::new(&store, FuncType::new([], []), move |_, _| Err(Trap::throw(thrown_in_host.clone())));
    let instance = instantiate(
        &store,
        r#"(module
          (import "host" "tag" (tag $t (param i64)))
          (import "host" "f" (func $f))
          (func (export "catch") (result i64)
            (block $h (result i64)
              (try_table (catch $t $h) (call $f))
              (i64.const -1)))
          (func (export "pass") (call $f))
          (func (export "catch_all") (result i32)
            (block $h
              (try_table (catch_all $h) (call $f))
              (return (i32.const 0)))
            (i32.const 1)))"#,
        &[Extern::Tag(tag.clone()), Extern::Func(host)],
    );
    assert!(matches!(instance.call("catch", &[]).expect("caught")[..], [Val::I64(99)]));
    assert_eq!(i32_result(instance.call("catch_all", &[])), 1);
    match instance.call("pass", &[]) {
        Err(Error::Exception(e)) => assert!(Exception::ptr_eq(&e, &thrown)),
        other => panic!("expected the host's exception, got {other:?}"),
    }
}

#[test]
fn traps_are_not_caught() {
    let store = Store::new(&Engine::default());
    let instance = instantiate(
        &store,
        r#"(module
          (func $trap unreachable)
          (func (export "run")
            (block $h (try_table (catch_all $h) (call $trap)))))"#,
        &[],
    );
    match instance.call("run", &[]) {
        Err(Error::Trap(t)) => assert_eq!(t.code(), TrapCode::Unreachable),
        other => panic!("expected a trap, got {other:?}"),
    }
}

/// The legacy instructions, in the flat syntax (the `wast` crate does not read the
/// folded `(try (do ...) (catch ...))` form the wasm-3.0 legacy scripts use).
#[test]
fn legacy_try_catch_rethrow_and_delegate() {
    let store = Store::new(&Engine::default());
    let instance = instantiate(
        &store,
        r#"(module
          (tag $a (param i32))
          (tag $b)
          (func $throw_a (param i32) (throw $a (local.get 0)))
          (func (export "catch") (param i32) (result i32)
            try (result i32)
              local.get 0
              call $throw_a
              i32.const -1
            catch $a
              i32.const 1
              i32.add
            end)
          (func (export "catch_all") (result i32)
            try (result i32)
              throw $b
            catch $a
              drop
              i32.const 1
            catch_all
              i32.const 2
            end)
          (func (export "rethrow") (param i32) (result i32)
            try (result i32)
              try
                local.get 0
                call $throw_a
              catch $a
                drop
                rethrow 0
              end
              i32.const -1
            catch $a
              i32.const 100
              i32.add
            end)
          (func (export "delegate") (result i32)
            try (result i32)
              try
                throw $b
              delegate 0
              i32.const -1
            catch $b
              i32.const 7
            end)
          (func (export "delegate_to_caller")
            try
              try
                throw $b
              delegate 1
            catch_all
            end))"#,
        &[],
    );
    assert_eq!(i32_result(instance.call("catch", &[Val::I32(41)])), 42);
    assert_eq!(i32_result(instance.call("catch_all", &[])), 2);
    assert_eq!(i32_result(instance.call("rethrow", &[Val::I32(5)])), 105);
    assert_eq!(i32_result(instance.call("delegate", &[])), 7);
    assert!(matches!(instance.call("delegate_to_caller", &[]), Err(Error::Exception(_))));
}

/// wasm -> host -> wasm: the inner activation's exception leaves it, the host passes it
/// on, and a handler in the outer activation catches it.
#[test]
fn exceptions_cross_nested_activations() {
    let store = Store::new(&Engine::default());
    let inner = instantiate(
        &store,
        r#"(module
          (tag $e (export "e") (param i32))
          (func (export "throw") (param i32) (throw $e (local.get 0))))"#,
        &[],
    );
    let Some(Extern::Func(inner_throw)) = inner.get_export("throw") else { panic!() };
    let Some(Extern::Tag(tag)) = inner.get_export("e") else { panic!() };
    let host = Func::new(&store, FuncType::new([ValType::I32], []), move |params, _| {
        match inner_throw.call(params) {
            Err(Error::Exception(e)) => Err(Trap::throw(e)),
            other => panic!("expected an exception, got {other:?}"),
        }
    });
    let outer = instantiate(
        &store,
        r#"(module
          (import "inner" "e" (tag $e (param i32)))
          (import "host" "f" (func $f (param i32)))
          (func (export "run") (result i32)
            (block $h (result i32)
              (try_table (catch $e $h) (call $f (i32.const 12)))
              (i32.const -1))))"#,
        &[Extern::Tag(tag), Extern::Func(host)],
    );
    assert_eq!(i32_result(outer.call("run", &[])), 12);
}

/// Tail calls (here with the exception tests, since a tail call takes its frame out of
/// reach of the caller's handlers): deep mutual recursion runs in constant stack, the
/// fallbacks (more parameters than the caller's area, another instance's callee) give
/// the right results, and a `try_table` around a `return_call` does not catch.
#[test]
fn tail_calls_in_place_and_fallbacks() {
    let store = Store::new(&Engine::default());
    let other = instantiate(
        &store,
        r#"(module
          (func (export "triple") (param i64) (result i64) (i64.mul (local.get 0) (i64.const 3))))"#,
        &[],
    );
    let Some(triple) = other.get_export("triple") else { panic!() };
    let instance = instantiate(
        &store,
        r#"(module
          (import "other" "triple" (func $triple (param i64) (result i64)))
          (type $t (func (param i64) (result i64)))
          (table funcref (elem $triple $double))
          (tag $e)
          (func $double (param i64) (result i64) (i64.add (local.get 0) (local.get 0)))
          (func $even (export "even") (param i64) (result i32)
            (if (result i32) (i64.eqz (local.get 0)) (then (i32.const 1))
              (else (return_call $odd (i64.sub (local.get 0) (i64.const 1))))))
          (func $odd (param i64) (result i32)
            (if (result i32) (i64.eqz (local.get 0)) (then (i32.const 0))
              (else (return_call $even (i64.sub (local.get 0) (i64.const 1))))))
          (func $sum4 (param i64 i64 i64 i64) (result i64)
            (i64.add (i64.add (local.get 0) (local.get 1)) (i64.add (local.get 2) (local.get 3))))
          (func (export "wider") (param i64) (result i64)
            (return_call $sum4 (local.get 0) (i64.const 1) (i64.const 2) (i64.const 3)))
          (func (export "indirect") (param i64 i32) (result i64)
            (return_call_indirect (type $t) (local.get 0) (local.get 1)))
          (func (export "import") (param i64) (result i64) (return_call $triple (local.get 0)))
          (func $thrower (throw $e))
          (func (export "not_caught")
            (block $h (try_table (catch_all $h) (return_call $thrower)))))"#,
        &[triple],
    );
    assert_eq!(i32_result(instance.call("even", &[Val::I64(1_000_001)])), 0);
    assert_eq!(i32_result(instance.call("even", &[Val::I64(1_000_000)])), 1);
    assert_eq!(i64_result(instance.call("wider", &[Val::I64(10)])), 16);
    assert_eq!(i64_result(instance.call("indirect", &[Val::I64(7), Val::I32(0)])), 21);
    assert_eq!(i64_result(instance.call("indirect", &[Val::I64(7), Val::I32(1)])), 14);
    assert_eq!(i64_result(instance.call("import", &[Val::I64(5)])), 15);
    assert!(matches!(instance.call("not_caught", &[]), Err(Error::Exception(_))));
}

/// Found by the fifth held-out benchmark batch (tailfsm): a function tail-calling one
/// with more parameters than its own type took the fallback (call, then return), so a
/// chain alternating between a narrow and a wider signature ran out of stack. Such a
/// call now moves the return address down and widens the area: the chains run in
/// constant stack, entered from the general entry, the small entry and a wasm call site
/// (also once per iteration of a loop, which must not sink the stack), directly and
/// through a table, with one result in rax and with two in the area, and to a callee of
/// twelve parameters.
#[test]
fn tail_calls_to_wider_callees_run_in_constant_stack() {
    let store = Store::new(&Engine::default());
    let instance = instantiate(
        &store,
        r#"(module
          (type $three (func (param i64 i64 i64) (result i64)))
          (table funcref (elem $wide_indirect))
          ;; narrow(n, acc) -> wide(n - 1, acc, n) -> narrow(n - 1, acc + n): the sum 1..n.
          (func $narrow (export "narrow") (param i64 i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0)) (then (local.get 1))
              (else (return_call $wide (i64.sub (local.get 0) (i64.const 1)) (local.get 1) (local.get 0)))))
          (func $wide (param i64 i64 i64) (result i64)
            (return_call $narrow (i64.add (local.get 0) (i64.const 0)) (i64.add (local.get 1) (local.get 2))))
          (func (export "from_wasm") (param i64) (result i64)
            (i64.add (call $narrow (local.get 0) (i64.const 0)) (i64.const 1)))
          ;; The same through the table, from a one-parameter function.
          (func $narrow_indirect (export "narrow_indirect") (param i64) (result i64)
            (call $one_indirect (local.get 0)))
          (func $one_indirect (param i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 0))
              (else (return_call_indirect (type $three)
                (i64.sub (local.get 0) (i64.const 1)) (i64.const 0) (local.get 0) (i32.const 0)))))
          (func $wide_indirect (param i64 i64 i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0)) (then (i64.add (local.get 1) (local.get 2)))
              (else (return_call $wide_indirect
                (i64.sub (local.get 0) (i64.const 1)) (i64.add (local.get 1) (local.get 2)) (local.get 0)))))
          ;; Two results in the area: (sum, count) of 1..n, narrowing and widening.
          (func $pair (export "pair") (param i64) (result i64 i64)
            (return_call $pair_step (local.get 0) (i64.const 0) (i64.const 0)))
          (func $pair_step (param i64 i64 i64) (result i64 i64)
            (if (result i64 i64) (i64.eqz (local.get 0)) (then (local.get 1) (local.get 2))
              (else (return_call $pair_back (i64.sub (local.get 0) (i64.const 1))
                (i64.add (local.get 1) (local.get 0)) (i64.add (local.get 2) (i64.const 1))))))
          (func $pair_back (param i64 i64 i64) (result i64 i64)
            (return_call $pair_step (local.get 0) (local.get 1) (local.get 2)))
          ;; One parameter to twelve and back; twelve adds the eleven others to a global.
          (global $ones (mut i64) (i64.const 0))
          (func $one (export "one") (param i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0)) (then (global.get $ones))
              (else (return_call $twelve (i64.sub (local.get 0) (i64.const 1))
                (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4) (i64.const 5) (i64.const 6)
                (i64.const 7) (i64.const 8) (i64.const 9) (i64.const 10) (i64.const 11)))))
          (func $twelve (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64)
            (global.set $ones (i64.add (global.get $ones)
              (i64.add (i64.add (i64.add (local.get 1) (local.get 2)) (i64.add (local.get 3) (local.get 4)))
                (i64.add (i64.add (i64.add (local.get 5) (local.get 6)) (i64.add (local.get 7) (local.get 8)))
                  (i64.add (i64.add (local.get 9) (local.get 10)) (local.get 11))))))
            (return_call $one (local.get 0)))
          ;; A loop calling a function that widens once per call: n calls of narrow(1, k).
          (func (export "loop") (param i64) (result i64) (local $k i64) (local $total i64)
            (loop $again
              (local.set $total (i64.add (local.get $total) (call $narrow (i64.const 1) (local.get $k))))
              (local.set $k (i64.add (local.get $k) (i64.const 1)))
              (br_if $again (i64.lt_u (local.get $k) (local.get 0))))
            (local.get $total)))"#,
        &[],
    );
    const N: i64 = 2_000_000;
    let sum = N * (N + 1) / 2;
    assert_eq!(i64_result(instance.call("narrow", &[Val::I64(N), Val::I64(0)])), sum);
    assert_eq!(i64_result(instance.call("from_wasm", &[Val::I64(N)])), sum + 1);
    assert_eq!(i64_result(instance.call("narrow_indirect", &[Val::I64(N)])), sum);
    assert_eq!(i64_result(instance.call("one", &[Val::I64(N)])), 66 * N);
    let Some(Extern::Func(one)) = instance.get_export("one") else { panic!("export one") };
    assert!(one.takes_small_calls());
    assert_eq!(one.call_small([N as u64, 0, 0, 0]).expect("small call"), 2 * 66 * N as u64);
    // narrow(1, k) = k + 1: the sum of 1..=n.
    assert_eq!(i64_result(instance.call("loop", &[Val::I64(N)])), sum);
    match instance.call("pair", &[Val::I64(N)]).expect("call")[..] {
        [Val::I64(s), Val::I64(count)] => assert_eq!((s, count), (sum, N)),
        ref v => panic!("unexpected {v:?}"),
    }
}

/// Tail-call arguments go straight into the caller's own parameter slots unless one of
/// them reads a parameter an earlier argument has already overwritten: rotations and
/// swaps of the parameters (which must go through the outgoing area) and arguments that
/// keep or copy forward parameters (which may not), each recursing deep enough that a
/// growing stack would trap.
#[test]
fn tail_call_arguments_that_permute_parameters() {
    let store = Store::new(&Engine::default());
    let instance = instantiate(
        &store,
        r#"(module
          (func $rotate (export "rotate") (param i64 i64 i64 i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0))
              (then (i64.add (i64.mul (local.get 1) (i64.const 100))
                (i64.add (i64.mul (local.get 2) (i64.const 10)) (local.get 3))))
              (else (return_call $rotate (i64.sub (local.get 0) (i64.const 1))
                (local.get 3) (local.get 1) (local.get 2)))))
          (func $swap (export "swap") (param i64 i64 i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0))
              (then (i64.sub (i64.mul (local.get 1) (i64.const 10)) (local.get 2)))
              (else (return_call $swap (i64.sub (local.get 0) (i64.const 1)) (local.get 2) (local.get 1)))))
          (func $keep (export "keep") (param i64 i64 i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0)) (then (local.get 2))
              (else (return_call $keep (i64.sub (local.get 0) (i64.const 1))
                (local.get 1) (i64.add (local.get 1) (local.get 2))))))
          (func $forward (export "forward") (param i64 i64 i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0)) (then (i64.sub (local.get 1) (local.get 2)))
              (else (return_call $forward (i64.sub (local.get 0) (i64.const 1))
                (local.get 2) (i64.add (local.get 2) (i64.const 1)))))))"#,
        &[],
    );
    let call = |name: &str, args: &[i64]| call_on_i64s(&instance, name, args);
    // Three rotations are the identity: 3,000,001 of them leave one.
    assert_eq!(call("rotate", &[3_000_000, 1, 2, 3]), 123);
    assert_eq!(call("rotate", &[3_000_001, 1, 2, 3]), 312);
    assert_eq!(call("swap", &[2_000_000, 7, 5]), 65);
    assert_eq!(call("swap", &[2_000_001, 7, 5]), 43);
    assert_eq!(call("keep", &[1_000_000, 3, 0]), 3_000_000);
    // forward(n, a, b) -> forward(n - 1, b, b + 1): a - b is -1 after any step.
    assert_eq!(call("forward", &[1_000_000, 10, 4]), -1);
    assert_eq!(call("forward", &[0, 10, 4]), 6);
}

/// Paths of the tail-call changes that the tests above do not reach (suggested by a
/// review): arguments stored in place, then a `return_call_indirect` whose target
/// belongs to another instance (the fallback call copies them to the outgoing area);
/// an exception thrown from a callee that widened its area, caught by the caller, which
/// then calls again; and a function tail-calling itself, whose locals (more than eight,
/// so zeroed with `rep stos`, one a funcref, one pinned through a loop) must start
/// fresh on every iteration.
#[test]
fn tail_call_paths_across_instances_exceptions_and_self_loops() {
    let store = Store::new(&Engine::default());
    let other = instantiate(
        &store,
        r#"(module (func (export "sub") (param i64 i64) (result i64) (i64.sub (local.get 0) (local.get 1))))"#,
        &[],
    );
    let Some(sub) = other.get_export("sub") else { panic!("export sub") };
    let instance = instantiate(
        &store,
        r#"(module
          (import "other" "sub" (func $sub (param i64 i64) (result i64)))
          (type $two (func (param i64 i64) (result i64)))
          (table funcref (elem $sub))
          (tag $stop (param i64))
          ;; Both arguments are new values, stored in place, then copied for the call.
          (func (export "across") (param i64 i64) (result i64)
            (return_call_indirect (type $two)
              (i64.add (local.get 0) (i64.const 100)) (i64.mul (local.get 1) (i64.const 2)) (i32.const 0)))
          ;; narrow(k) widens into wide(k, 1, 2), which throws k + 3 when k is 7.
          (func $narrow (param i64) (result i64)
            (return_call $wide (local.get 0) (i64.const 1) (i64.const 2)))
          (func $wide (param i64 i64 i64) (result i64)
            (if (i64.eq (local.get 0) (i64.const 7))
              (then (throw $stop (i64.add (local.get 0) (i64.add (local.get 1) (local.get 2))))))
            (i64.add (local.get 0) (local.get 2)))
          ;; Sum of narrow(k) for k < n, plus 1000 times each caught value.
          (func (export "catching") (param i64) (result i64) (local $k i64) (local $total i64)
            (local $thrown i64)
            (loop $next
              (block $caught (result i64)
                (try_table (catch $stop $caught)
                  (local.set $total (i64.add (local.get $total) (call $narrow (local.get $k)))))
                (br $caught (i64.const 0)))
              (local.set $thrown)
              (local.set $total (i64.add (local.get $total) (i64.mul (local.get $thrown) (i64.const 1000))))
              (local.set $k (i64.add (local.get $k) (i64.const 1)))
              (br_if $next (i64.lt_u (local.get $k) (local.get 0))))
            (local.get $total))
          ;; Each iteration adds its locals' starting values (all zero or null), then
          ;; dirties them.
          (func $fresh (export "fresh") (param $n i64) (param $acc i64) (result i64)
            (local $a i64) (local $b i64) (local $c i64) (local $d i64) (local $e i64)
            (local $f i64) (local $g i64) (local $h i64) (local $i i64) (local $r funcref)
            (local $hot i64)
            (if (i64.eqz (local.get $n)) (then (return (local.get $acc))))
            (local.set $acc (i64.add (local.get $acc)
              (i64.add (i64.add (i64.add (local.get $a) (local.get $b)) (i64.add (local.get $c) (local.get $d)))
                (i64.add (i64.add (local.get $e) (local.get $f)) (i64.add (local.get $g) (local.get $h))))))
            (local.set $acc (i64.add (i64.add (local.get $acc) (local.get $i)) (local.get $hot)))
            (if (i32.eqz (ref.is_null (local.get $r))) (then (local.set $acc (i64.add (local.get $acc) (i64.const 1000000)))))
            (local.set $a (i64.const 1)) (local.set $b (i64.const 1)) (local.set $c (i64.const 1))
            (local.set $d (i64.const 1)) (local.set $e (i64.const 1)) (local.set $f (i64.const 1))
            (local.set $g (i64.const 1)) (local.set $h (i64.const 1)) (local.set $i (i64.const 1))
            (local.set $r (ref.func $fresh))
            (loop $spin
              (local.set $hot (i64.add (local.get $hot) (i64.const 1)))
              (br_if $spin (i64.lt_u (local.get $hot) (i64.const 3))))
            (return_call $fresh (i64.sub (local.get $n) (i64.const 1)) (i64.add (local.get $acc) (i64.const 1))))
          (elem declare func $fresh))"#,
        &[sub],
    );
    let call = |name: &str, args: &[i64]| call_on_i64s(&instance, name, args);
    assert_eq!(call("across", &[5, 20]), 105 - 40);
    // narrow(k) = k + 2 for k != 7; k = 7 throws 10.
    let n = 20;
    let want: i64 = (0..n).filter(|&k| k != 7).map(|k| k + 2).sum::<i64>() + 10_000;
    assert_eq!(call("catching", &[n]), want);
    assert_eq!(call("fresh", &[100_000, 0]), 100_000);
}

/// Found by review: an i32 payload was written into its slot with stale upper bits (a
/// 4-byte store into the outgoing area, copied whole), and a catch targeting the
/// function's own label returned the slot with a 64-bit load. The i32 then indexed
/// memory far beyond the 8 GiB reservation.
#[test]
fn caught_i32_returned_by_the_function_is_zero_extended() {
    let store = Store::new(&Engine::default());
    let instance = instantiate(
        &store,
        r#"(module
          (tag $t (param i32))
          (memory 1)
          (func $poison (param i64))
          (func $g (result i32)
            (call $poison (i64.const 0x500000000))
            (try_table (catch $t 0) (throw $t (i32.const 16)))
            (unreachable))
          (func (export "wrong") (result i64) (i64.extend_i32_u (call $g)))
          (func (export "load") (result i32) (i32.store (i32.const 16) (i32.const 77)) (i32.load (call $g))))"#,
        &[],
    );
    assert!(matches!(instance.call("wrong", &[]).expect("call")[..], [Val::I64(16)]));
    assert_eq!(i32_result(instance.call("load", &[])), 77);
}

/// Found by review: `(ref exn)` was compiled as `exnref`, so a function taking a
/// non-null exnref linked where a nullable one was imported.
#[test]
fn non_null_exnref_is_its_own_type_at_link_time() {
    let store = Store::new(&Engine::default());
    let a = instantiate(
        &store,
        r#"(module (func (export "f") (param (ref exn)) (throw_ref (local.get 0))))"#,
        &[],
    );
    let Some(f) = a.get_export("f") else { panic!() };
    let bytes = wat::parse_str(r#"(module (import "A" "f" (func (param exnref))))"#).expect("wat");
    let module = Module::new(store.engine(), &bytes).expect("compiles");
    assert!(matches!(Instance::new(&store, &module, &[f]), Err(Error::Link(_))));
}

/// Exceptions nobody can name any more are freed: thrown and caught by a plain
/// `catch` (or a legacy `catch` whose body does not rethrow), none stays alive; caught
/// with `catch_ref`, each is kept (its exnref could have been stored anywhere) until a
/// reclamation finds nothing naming it: fewer than 1024 kept never start one (see
/// `exception_reclaiming.rs`).
#[test]
fn exceptions_caught_without_a_reference_are_freed() {
    use sidewinder_engine::runtime::exception::live_exceptions;
    let store = Store::new(&Engine::default());
    let instance = instantiate(
        &store,
        r#"(module
          (tag $e (param i32))
          (func $thrower (param i32) (throw $e (local.get 0)))
          (func (export "plain") (param $n i32) (result i32) (local $sum i32)
            (loop $l
              (block $h (result i32)
                (try_table (catch $e $h) (call $thrower (local.get $n)))
                (i32.const 0))
              (local.set $sum (i32.add (local.get $sum)))
              (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
            (local.get $sum))
          (func (export "legacy") (param $n i32)
            (loop $l
              try
                (call $thrower (local.get $n))
              catch $e
                drop
              end
              (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
          (func (export "with_ref") (param $n i32)
            (loop $l
              (block $h (result i32 exnref)
                (try_table (catch_ref $e $h) (call $thrower (local.get $n)))
                (unreachable))
              (drop) (drop)
              (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))"#,
        &[],
    );
    let before = live_exceptions();
    assert_eq!(i32_result(instance.call("plain", &[Val::I32(100_000)])), (100_000i64 * 100_001 / 2) as i32);
    instance.call("legacy", &[Val::I32(100_000)]).expect("legacy");
    assert_eq!(live_exceptions(), before);
    instance.call("with_ref", &[Val::I32(1_000)]).expect("with_ref");
    assert_eq!(live_exceptions(), before + 1_000);
}

/// Found by review: a host function throwing an exception made in another store, which
/// is dropped at once, left the throw with a dangling exnref. The calling store now
/// keeps such an exception alive.
#[test]
fn a_host_may_throw_an_exception_of_another_store() {
    let store = Store::new(&Engine::default());
    let engine = store.engine().clone();
    let host = Func::new(&store, FuncType::new([], []), move |_, _| {
        let other = Store::new(&engine);
        let tag = Tag::new(&other, FuncType::new([ValType::I32], [])).expect("tag");
        Err(Trap::throw(Exception::new(&other, &tag, &[Val::I32(31)]).expect("exception")))
    });
    let instance = instantiate(
        &store,
        r#"(module (import "host" "f" (func $f))
          (func (export "run") (block $h (try_table (catch_all $h) (call $f))))
          (func (export "pass") (call $f)))"#,
        &[Extern::Func(host)],
    );
    let before = sidewinder_engine::runtime::exception::live_exceptions();
    instance.call("run", &[]).expect("caught");
    // The other store is gone; this one keeps the exception it threw.
    assert_eq!(sidewinder_engine::runtime::exception::live_exceptions(), before + 1);
    match instance.call("pass", &[]) {
        Err(Error::Exception(e)) => assert!(matches!(e.payload()[..], [Val::I32(31)])),
        other => panic!("expected the exception, got {other:?}"),
    }
}

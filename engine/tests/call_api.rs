//! `Func::call_into`, the allocation-free call path embedders use for every call:
//! results land in caller-provided slots, on the stack for small signatures and on the
//! heap past 15 parameters or results; and `Func::call_small`, the register entry for
//! numeric signatures of up to `SMALL_ARGS` parameters and one result.

use sidewinder_engine::{
    Engine, Error, Extern, Func, FuncType, Instance, Module, Store, Trap, TrapCode, Val, ValType,
    NUMERIC_AREA, SMALL_ARGS,
};

#[allow(dead_code)] // only `instance_in` and `exported_func` are used here
mod support;
use support::{exported_func, instance_in};

#[test]
fn call_into_writes_every_result_slot() {
    let store = Store::new(&Engine::default());
    let inst = instance_in(
        &store,
        r#"(module (func (export "f") (param i32 i64) (result i64 i32 f64)
             (i64.add (local.get 1) (i64.extend_i32_s (local.get 0)))
             (i32.mul (local.get 0) (i32.const 3))
             (f64.convert_i32_s (local.get 0))))"#,
    );
    let f = exported_func(&inst, "f");
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
    let inst = instance_in(&store, &wat);
    let args: Vec<Val> = (1..=20).map(Val::I64).collect();
    let mut one = [Val::I64(0)];
    exported_func(&inst, "sum").call_into(&args, &mut one).expect("runs");
    assert!(matches!(one, [Val::I64(210)]), "{one:?}");
    let mut many: Vec<Val> = vec![Val::I64(0); 17];
    exported_func(&inst, "many").call_into(&args, &mut many).expect("runs");
    for (i, v) in many.iter().enumerate() {
        assert!(matches!(v, Val::I64(x) if *x == 2 * (i as i64 + 1)), "result {i}: {v:?}");
    }
}

#[test]
fn call_numeric_passes_raw_numbers() {
    let store = Store::new(&Engine::default());
    let inst = instance_in(
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
    exported_func(&inst, "neg").call_numeric(&[5], &mut one).expect("runs");
    // -5 as an i32, zero-extended: the upper half is never garbage.
    assert_eq!(one[0], (-5i32) as u32 as u64);
    let args = [7u64, (-3i64) as u64, 1.5f32.to_bits() as u64, 0.25f64.to_bits()];
    let mut out = [0u64; 4];
    exported_func(&inst, "mix").call_numeric(&args, &mut out).expect("runs");
    assert_eq!(f64::from_bits(out[0]), 7.25);
    assert_eq!(out[1], (-7i32) as u32 as u64);
    assert_eq!(out[2], (-1.5f32).to_bits() as u64);
    assert_eq!(out[3] as i64, 6);
    // Reference types and wrong counts are refused, not reinterpreted.
    assert!(matches!(exported_func(&inst, "ref").call_numeric(&[0], &mut one), Err(Error::Link(_))));
    assert!(matches!(exported_func(&inst, "neg").call_numeric(&[], &mut one), Err(Error::Link(_))));
}

#[test]
fn call_numeric_in_place_returns_results_from_the_area() {
    let store = Store::new(&Engine::default());
    let inst = instance_in(
        &store,
        r#"(module
             (func (export "neg") (param i32) (result i32) (i32.sub (i32.const 0) (local.get 0)))
             (func (export "swap") (param i64 f64 i32) (result i32 f64 i64)
               (local.get 2) (local.get 1) (local.get 0))
             (func (export "ref") (param externref) (result i32) (i32.const 0)))"#,
    );
    let mut area = [u64::MAX; NUMERIC_AREA];
    area[0] = 5;
    let results = exported_func(&inst, "neg").call_numeric_in_place(&mut area).expect("runs");
    assert_eq!(results, [(-5i32) as u32 as u64]);
    let mut area = [0u64; NUMERIC_AREA];
    area[..3].copy_from_slice(&[(-9i64) as u64, 2.5f64.to_bits(), u32::MAX as u64]);
    let results = exported_func(&inst, "swap").call_numeric_in_place(&mut area).expect("runs");
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
    assert!(matches!(exported_func(&inst, "ref").call_numeric_in_place(&mut area), Err(Error::Link(_))));
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
    let inst = instance_in(
        &store,
        &format!(r#"(module (func (export "long") (param {params}) (result i32) (local.get 15)))"#),
    );
    let long = exported_func(&inst, "long");
    let mut area = [1u64; NUMERIC_AREA];
    assert!(matches!(long.call_numeric_in_place(&mut area), Err(Error::Link(_))));
    // The slice form spills to the heap instead.
    let args: Vec<u64> = (0..NUMERIC_AREA as u64).collect();
    let mut one = [0u64];
    long.call_numeric(&args, &mut one).expect("runs");
    assert_eq!(one, [15]);
}

#[test]
fn call_small_passes_arguments_in_order_and_masks_results() {
    let store = Store::new(&Engine::default());
    let inst = instance_in(
        &store,
        r#"(module
             (global $g (export "g") (mut i64) (i64.const 0))
             (func (export "digits") (param i32 i32 i32 i32) (result i32)
               (i32.add (i32.add (i32.mul (local.get 0) (i32.const 1000)) (i32.mul (local.get 1) (i32.const 100)))
                        (i32.add (i32.mul (local.get 2) (i32.const 10)) (local.get 3))))
             (func (export "minus_one") (result i32) (i32.const -1))
             (func (export "wide") (param i64) (result i64) (i64.sub (i64.const 0) (local.get 0)))
             (func (export "half") (param f32) (result f32) (f32.mul (local.get 0) (f32.const 0.5)))
             (func (export "hypot") (param f64 f64) (result f64)
               (f64.sqrt (f64.add (f64.mul (local.get 0) (local.get 0)) (f64.mul (local.get 1) (local.get 1)))))
             (func (export "set") (param i64) (global.set $g (local.get 0)))
             (func (export "five") (param i32 i32 i32 i32 i32) (result i32) (local.get 4))
             (func (export "two") (result i32 i32) (i32.const 1) (i32.const 2)))"#,
    );
    let digits = exported_func(&inst, "digits");
    assert!(digits.takes_small_calls());
    assert_eq!(SMALL_ARGS, 4);
    assert_eq!(digits.call_small([1, 2, 3, 4]).expect("runs"), 1234);
    // The upper half of an i32 result is undefined in rax: cleared.
    assert_eq!(exported_func(&inst, "minus_one").call_small([7; SMALL_ARGS]).expect("runs"), u32::MAX as u64);
    assert_eq!(exported_func(&inst, "wide").call_small([5, 0, 0, 0]).expect("runs"), (-5i64) as u64);
    let half = exported_func(&inst, "half").call_small([3.0f32.to_bits() as u64, 0, 0, 0]).expect("runs");
    assert_eq!(half, 1.5f32.to_bits() as u64);
    let hypot =
        exported_func(&inst, "hypot").call_small([3.0f64.to_bits(), 4.0f64.to_bits(), 0, 0]).expect("runs");
    assert_eq!(f64::from_bits(hypot), 5.0);
    assert_eq!(exported_func(&inst, "set").call_small([42, 0, 0, 0]).expect("runs"), 0);
    let Some(Extern::Global(g)) = inst.get_export("g") else { panic!("global") };
    assert!(matches!(g.get(), Val::I64(42)));
    // Other signatures and host functions are refused, not run.
    for name in ["five", "two"] {
        let f = exported_func(&inst, name);
        assert!(!f.takes_small_calls(), "{name}");
        assert!(matches!(f.call_small([0; SMALL_ARGS]), Err(Error::Link(_))), "{name}");
    }
    let host = Func::new(&store, FuncType::new([ValType::I32], [ValType::I32]), |_, _| Ok(()));
    assert!(!host.takes_small_calls());
    assert!(matches!(host.call_small([0; SMALL_ARGS]), Err(Error::Link(_))));
}

/// `Func::small_caller::<N>`: the prepared small call passes its `N` arguments to the
/// entry for `N` (a leaf's or another's), serves callees of at most `N` parameters, and
/// refuses the rest.
#[test]
fn small_callers_pass_their_arguments_to_callees_of_at_most_as_many() {
    let store = Store::new(&Engine::default());
    let inst = instance_in(
        &store,
        r#"(module
             (func $id (param i32) (result i32) (local.get 0))
             (func (export "none") (result i32) (i32.const 7))
             (func (export "one") (param f64) (result f64) (f64.neg (local.get 0)))
             (func (export "two") (param i32 i32) (result i32) (i32.sub (local.get 0) (local.get 1)))
             (func (export "three") (param i64 i64 i64) (result i64)
               (i64.add (i64.mul (local.get 0) (i64.const 100)) (i64.add (i64.mul (local.get 1) (i64.const 10)) (local.get 2))))
             (func (export "four") (param i32 i32 i32 i32) (result i32)
               (call $id (i32.add (i32.add (i32.mul (local.get 0) (i32.const 1000)) (i32.mul (local.get 1) (i32.const 100)))
                                  (i32.add (i32.mul (local.get 2) (i32.const 10)) (local.get 3)))))
             (func (export "five") (param i32 i32 i32 i32 i32) (result i32) (local.get 4)))"#,
    );
    let low32 = |raw: u64| raw as u32;
    let none = exported_func(&inst, "none");
    assert_eq!(low32(none.small_caller::<0>().expect("served").call([]).expect("runs")), 7);
    assert_eq!(low32(none.small_caller::<3>().expect("served").call([1, 2, 3]).expect("runs")), 7);
    let one = exported_func(&inst, "one");
    let negated = one.small_caller::<1>().expect("served").call([2.5f64.to_bits()]).expect("runs");
    assert_eq!(f64::from_bits(negated), -2.5);
    let two = exported_func(&inst, "two");
    assert!(two.small_caller::<1>().is_none(), "fewer arguments than parameters");
    assert_eq!(low32(two.small_caller::<2>().expect("served").call([10, 3]).expect("runs")), 7);
    assert_eq!(low32(two.small_caller::<4>().expect("served").call([10, 4, 99, 99]).expect("runs")), 6);
    let three = exported_func(&inst, "three").small_caller::<3>().expect("served");
    assert_eq!(three.call([1, 2, 3]).expect("runs"), 123);
    assert_eq!(three.call([(-1i64) as u64, 0, 0]).expect("runs"), (-100i64) as u64);
    let four = exported_func(&inst, "four").small_caller::<4>().expect("served");
    assert_eq!(low32(four.call([1, 2, 3, 4]).expect("runs")), 1234);
    assert!(exported_func(&inst, "five").small_caller::<4>().is_none());
    let host = Func::new(&store, FuncType::new([ValType::I32], [ValType::I32]), |_, _| Ok(()));
    assert!(host.small_caller::<1>().is_none());
}

/// What the compiler tells of a function's code: a leaf calls nothing (no function, no
/// runtime helper or stub) and has a frame small enough to skip the stack check; a
/// trap-free function is a leaf that cannot trap or fault either; and whether it sets
/// globals.
#[test]
fn functions_tell_whether_they_are_leaves_trap_free_and_set_globals() {
    let store = Store::new(&Engine::default());
    let big_frame = "(local ".to_string() + &"i64 ".repeat(200) + ")";
    let inst = instance_in(
        &store,
        &format!(
            r#"(module
                 (type $s (struct (field i32)))
                 (memory 1)
                 (table 1 funcref)
                 (global $g (mut i32) (i32.const 0))
                 (func $callee)
                 (func (export "computes") (param i32 f64) (result f64)
                   (f64.add (f64.convert_i32_s (i32.mul (local.get 0) (global.get $g))) (f64.sqrt (local.get 1))))
                 (func (export "saturates") (param f64) (result i32) (i32.trunc_sat_f64_s (local.get 0)))
                 (func (export "arithmetic") (param i32) (result i32)
                   (i32.add (i32.load (local.get 0)) (global.get $g)))
                 (func (export "stores") (param i32) (i32.store8 (local.get 0) (i32.const 1)))
                 (func (export "traps") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
                 (func (export "converts") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
                 (func (export "unreachable") (unreachable))
                 (func (export "reads_table") (param i32) (result funcref) (table.get (local.get 0)))
                 (func (export "checks_null") (param funcref) (result funcref) (ref.as_non_null (local.get 0)))
                 (func (export "sets") (param i32) (global.set $g (local.get 0)))
                 (func (export "calls") (call $callee))
                 (func (export "grows") (result i32) (memory.grow (i32.const 1)))
                 (func (export "copies") (memory.copy (i32.const 0) (i32.const 8) (i32.const 8)))
                 (func (export "allocates") (drop (struct.new $s (i32.const 1))))
                 (func (export "big_frame") {big_frame} (local.set 199 (i64.const 1)))
                 (func (export "loops") (loop $l (br $l))))"#
        ),
    );
    let facts = |name: &str| {
        let f = exported_func(&inst, name);
        (f.is_leaf(), f.is_trap_free(), f.sets_globals())
    };
    for name in ["computes", "saturates", "loops"] {
        assert_eq!(facts(name), (true, true, false), "{name}");
    }
    assert_eq!(facts("sets"), (true, true, true));
    for name in ["arithmetic", "stores", "traps", "converts", "unreachable", "reads_table", "checks_null"] {
        assert_eq!(facts(name), (true, false, false), "{name}");
    }
    for name in ["calls", "grows", "copies", "allocates", "big_frame"] {
        assert_eq!(facts(name), (false, false, false), "{name}");
    }
    let host = Func::new(&store, FuncType::new([], []), |_, _| Ok(()));
    assert_eq!((host.is_leaf(), host.is_trap_free(), host.sets_globals()), (false, false, true));
}

/// A leaf's small entry leaves the stack limit alone (the leaf never reads it): the next
/// call that checks it still gets its own, also when the first call of a store is a
/// leaf's. Traps in a leaf come back with their frame, and a caller whose store is gone
/// errs instead of running.
#[test]
fn small_callers_of_leaves_trap_and_leave_the_stack_limit_to_others() {
    on_a_big_stack_with_256_kib_for_wasm(|store| {
        let inst = instance_in(
            &store,
            r#"(module
                     (global $reached (mut i32) (i32.const 0))
                     (func $dive (export "dive")
                       (global.set $reached (i32.add (global.get $reached) (i32.const 1)))
                       (call $dive))
                     (func (export "reached") (result i32) (global.get $reached))
                     (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1))))"#,
        );
        let div = exported_func(&inst, "div");
        assert!(div.is_leaf());
        let div = div.small_caller::<2>().expect("served");
        let dive = exported_func(&inst, "dive").small_caller::<0>().expect("served");
        let reached = exported_func(&inst, "reached").small_caller::<0>().expect("served");
        let mut dives = Vec::new();
        for depth in [0, 1 << 20, 0] {
            at_stack_depth(depth, || {
                assert_eq!(div.call([12, 4]).expect("runs") as u32, 3);
                match div.call([1, 0]) {
                    Err(Error::Trap(t)) => {
                        assert_eq!(t.code(), TrapCode::IntegerDivisionByZero);
                        assert_eq!(t.backtrace().first().map(|f| f.func_index()), Some(2));
                    }
                    other => panic!("{other:?}"),
                }
                let before = reached.call([]).expect("runs") as u32;
                match dive.call([]) {
                    Err(Error::Trap(t)) => assert_eq!(t.code(), TrapCode::StackOverflow),
                    other => panic!("{other:?}"),
                }
                dives.push(reached.call([]).expect("runs") as u32 - before);
            });
        }
        // Each dive goes about 256 KiB below where it entered.
        assert!(dives[0] > 1000, "{dives:?}");
        assert!(dives.iter().all(|n| n.abs_diff(dives[0]) * 50 < dives[0]), "{dives:?}");
        drop((inst, store));
        assert!(matches!(div.call([1, 1]), Err(Error::Link(_))));
    });
}

/// Traps, uncaught exceptions and stack overflow leave through the small entry as
/// through the general one, and the store can call again afterwards.
#[test]
fn call_small_reports_traps_and_exceptions_and_stays_usable() {
    let store = Store::new(&Engine::default());
    let inst = instance_in(
        &store,
        r#"(module
             (tag $t (param i32))
             (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
             (func $deep (param i32) (result i32) (call $deep (i32.add (local.get 0) (i32.const 1))))
             (func (export "recurse") (param i32) (result i32) (call $deep (local.get 0)))
             (func $throw (param i32) (throw $t (local.get 0)))
             (func (export "uncaught") (param i32) (result i32) (call $throw (local.get 0)) (i32.const 0))
             (func (export "caught") (param i32) (result i32)
               (block $h (result i32)
                 (try_table (catch $t $h) (call $throw (local.get 0)))
                 (i32.const -1))))"#,
    );
    let div = exported_func(&inst, "div");
    for _ in 0..3 {
        match div.call_small([1, 0, 0, 0]) {
            Err(Error::Trap(t)) => assert_eq!(t.code(), TrapCode::IntegerDivisionByZero),
            other => panic!("{other:?}"),
        }
        assert_eq!(div.call_small([(-9i32) as u32 as u64, 3, 0, 0]).expect("runs"), (-3i32) as u32 as u64);
        match exported_func(&inst, "recurse").call_small([0; SMALL_ARGS]) {
            Err(Error::Trap(t)) => assert_eq!(t.code(), TrapCode::StackOverflow),
            other => panic!("{other:?}"),
        }
        match exported_func(&inst, "uncaught").call_small([17, 0, 0, 0]) {
            Err(Error::Exception(e)) => assert!(matches!(e.payload()[..], [Val::I32(17)])),
            other => panic!("{other:?}"),
        }
        assert_eq!(exported_func(&inst, "caught").call_small([23, 0, 0, 0]).expect("runs"), 23);
    }
}

/// wasm -> host -> wasm, both entries small: an exception the inner activation does not
/// catch stops at the inner entry (the unwinder knows its return address) instead of
/// walking into the host's frames, and the outer call goes on.
#[test]
fn call_small_nests_through_host_functions() {
    let store = Store::new(&Engine::default());
    let inner = instance_in(
        &store,
        r#"(module (tag $t (param i32))
             (func (export "throw_or_double") (param i32) (result i32)
               (if (i32.eqz (local.get 0)) (then (throw $t (i32.const 5))))
               (i32.mul (local.get 0) (i32.const 2))))"#,
    );
    let inner_fn = exported_func(&inner, "throw_or_double");
    let host = Func::new(&store, FuncType::new([ValType::I32], [ValType::I32]), move |args, results| {
        let Val::I32(x) = args[0] else { unreachable!("typed") };
        results[0] = match inner_fn.call_small([x as u32 as u64, 0, 0, 0]) {
            Ok(raw) => Val::I32(raw as i32),
            Err(Error::Exception(_)) => Val::I32(-100),
            Err(e) => return Err(Trap::host_message(format!("{e}"))),
        };
        Ok(())
    });
    let module = Module::new(
        store.engine(),
        &wat::parse_str(
            r#"(module (import "" "host" (func $host (param i32) (result i32)))
                 (func (export "outer") (param i32) (result i32)
                   (i32.add (call $host (local.get 0)) (i32.const 1))))"#,
        )
        .expect("valid wat"),
    )
    .expect("compiles");
    let outer_inst = Instance::new(&store, &module, &[Extern::Func(host)]).expect("instantiates");
    let outer = exported_func(&outer_inst, "outer");
    assert_eq!(outer.call_small([21, 0, 0, 0]).expect("runs"), 43);
    assert_eq!(outer.call_small([0; SMALL_ARGS]).expect("runs"), (-99i32) as u32 as u64);
    assert_eq!(outer.call_small([4, 0, 0, 0]).expect("runs"), 9);
}

/// Runs `f` with a fresh store on a thread of 16 MiB of stack, of which wasm may use
/// 256 KiB below its outermost entry.
fn on_a_big_stack_with_256_kib_for_wasm(f: impl FnOnce(Store) + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(|| {
            let config = sidewinder_engine::Config { max_wasm_stack: 256 << 10, ..Default::default() };
            f(Store::new(&Engine::new(config).expect("engine")))
        })
        .expect("thread")
        .join()
        .expect("no panic");
}

/// Runs `f` about `bytes` further down the native stack.
fn at_stack_depth<R>(bytes: usize, f: impl FnOnce() -> R) -> R {
    let mut pad = [0u8; 4096];
    std::hint::black_box(&mut pad);
    let r = if bytes <= pad.len() { f() } else { at_stack_depth(bytes - pad.len(), f) };
    std::hint::black_box(&pad);
    r
}

#[test]
fn every_outermost_call_measures_the_wasm_stack_from_where_it_enters() {
    // The entry trampolines count activations and set the stack limit on the outermost
    // one: a call that ends (normally or by a trap) must leave the next outermost call
    // measuring its own stack, whichever entry either took.
    on_a_big_stack_with_256_kib_for_wasm(|store| {
        let inst = instance_in(
            &store,
            r#"(module (global $reached (mut i32) (i32.const 0))
                     (func $dive (export "dive")
                       (global.set $reached (i32.add (global.get $reached) (i32.const 1)))
                       (call $dive))
                     (func (export "reached") (result i32)
                       (global.get $reached)
                       (global.set $reached (i32.const 0))))"#,
        );
        let (dive, reached) = (exported_func(&inst, "dive"), exported_func(&inst, "reached"));
        assert!(dive.takes_small_calls());
        let reach = |small: bool| {
            let outcome =
                if small { dive.call_small([0; SMALL_ARGS]).map(drop) } else { dive.call(&[]).map(drop) };
            match outcome {
                Err(Error::Trap(t)) if t.code() == TrapCode::StackOverflow => {}
                other => panic!("expected a stack overflow, got {other:?}"),
            }
            reached.call_small([0; SMALL_ARGS]).expect("runs")
        };
        let shallow = reach(true);
        let deep = at_stack_depth(1 << 20, || reach(false));
        let shallow_again = reach(false);
        let deep_again = at_stack_depth(1 << 20, || reach(true));
        assert!(shallow > 1000, "{shallow} calls fit in 256 KiB");
        for (what, n) in [("deep", deep), ("shallow again", shallow_again), ("deep again", deep_again)] {
            assert!(n.abs_diff(shallow) * 50 < shallow, "{what}: {n} calls, first time {shallow}");
        }
    });
}

#[test]
fn host_functions_get_every_parameter_and_result_in_order_however_many() {
    // Up to eight parameters and results together live on the stack in the host shim
    // (a `Func::new_numeric` one keeps up to four results apart), more on the heap:
    // both, from wasm, for `Func::new` and `Func::new_numeric`.
    let store = Store::new(&Engine::default());
    let result_types =
        |m: usize| (0..m).map(|i| if i % 2 == 0 { ValType::I64 } else { ValType::F64 }).collect::<Vec<_>>();
    let digits_plus = |digits: i64, i: usize| digits + i as i64;
    let half_more = |digits: i64| (digits as f64 + 0.5).to_bits();
    let vals_host = |n: usize, m: usize| {
        Func::new(&store, FuncType::new(vec![ValType::I64; n], result_types(m)), move |args, results| {
            let digits = args.iter().fold(0i64, |acc, v| match v {
                Val::I64(x) => acc * 10 + x,
                other => panic!("{other:?}"),
            });
            for (i, r) in results.iter_mut().enumerate() {
                *r = if i % 2 == 0 { Val::I64(digits_plus(digits, i)) } else { Val::F64(half_more(digits)) };
            }
            Ok(())
        })
    };
    let numeric_host = |n: usize, m: usize| {
        let ty = FuncType::new(vec![ValType::I64; n], result_types(m));
        Func::new_numeric(&store, ty, move |args, results| {
            assert!(results.iter().all(|&r| r == 0), "results arrive as zeros: {results:?}");
            let digits = args.iter().fold(0i64, |acc, &raw| acc * 10 + raw as i64);
            for (i, r) in results.iter_mut().enumerate() {
                *r = if i % 2 == 0 { digits_plus(digits, i) as u64 } else { half_more(digits) };
            }
            Ok(())
        })
        .expect("a numeric signature")
    };
    for ((n, m), numeric) in [(2, 1), (4, 4), (6, 1), (3, 5), (7, 6), (0, 0)]
        .into_iter()
        .flat_map(|shape| [(shape, false), (shape, true)])
    {
        let params = "i64 ".repeat(n);
        let results: String = (0..m).map(|i| if i % 2 == 0 { "i64 " } else { "f64 " }).collect();
        let args: String = (1..=n).map(|i| format!("(i64.const {i}) ")).collect();
        // Each result into a local of its own (the last pops first), then one number:
        // result i times 16^(m-1-i), f64s doubled to integers.
        let locals: String = (0..m).map(|i| if i % 2 == 0 { "i64 " } else { "f64 " }).collect();
        let pops: String = (0..m).rev().map(|i| format!("(local.set {i}) ")).collect();
        let sum: String = (0..m).fold(String::from("(i64.const 0)"), |acc, i| {
            let value = if i % 2 == 0 {
                format!("(local.get {i})")
            } else {
                format!("(i64.trunc_f64_s (f64.mul (local.get {i}) (f64.const 2)))")
            };
            format!("(i64.add {acc} (i64.mul {value} (i64.const {})))", 1i64 << (4 * (m - 1 - i)))
        });
        let wat = format!(
            r#"(module (import "" "h" (func $h (param {params}) (result {results})))
                 (func (export "run") (result i64) (local {locals})
                   (call $h {args}) {pops} {sum}))"#
        );
        let module =
            Module::new(store.engine(), &wat::parse_str(&wat).expect("valid wat")).expect("compiles");
        let host = if numeric { numeric_host(n, m) } else { vals_host(n, m) };
        let inst = Instance::new(&store, &module, &[Extern::Func(host)]).expect("instantiates");
        let digits = (1..=n as i64).fold(0, |acc, d| acc * 10 + d);
        let expected: i64 = (0..m)
            .map(|i| {
                let value = if i % 2 == 0 { digits + i as i64 } else { 2 * digits + 1 };
                value * (1i64 << (4 * (m - 1 - i)))
            })
            .sum();
        let mut out = [Val::I64(0)];
        exported_func(&inst, "run").call_into(&[], &mut out).expect("runs");
        assert!(
            matches!(out, [Val::I64(v)] if v == expected),
            "{n} params, {m} results (numeric: {numeric}): {out:?}, expected {expected}"
        );
    }
}

#[test]
fn numeric_host_functions_see_and_give_zero_extended_narrow_values() {
    // i32 and f32 values reach the callback zero-extended, and their results count only
    // in the low half: wasm uses the i32 result as a 64-bit address register, so junk
    // left above it must not reach memory accesses.
    let store = Store::new(&Engine::default());
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let record = seen.clone();
    let ty = FuncType::new(
        vec![ValType::I32, ValType::F32, ValType::I64, ValType::F64],
        vec![ValType::I32, ValType::F32],
    );
    let host = Func::new_numeric(&store, ty, move |args, results| {
        record.borrow_mut().extend_from_slice(args);
        results[0] = 0xDEAD_BEEF_0000_0008;
        results[1] = 0xFFFF_FFFF_0000_0000 | 1.5f32.to_bits() as u64;
        Ok(())
    })
    .expect("a numeric signature");
    // A single result comes back in a register, used as it is.
    let junk_above_8 = Func::new_numeric(&store, FuncType::new(vec![], vec![ValType::I32]), |_, results| {
        results[0] = 0xDEAD_BEEF_0000_0008;
        Ok(())
    })
    .expect("a numeric signature");
    let module = Module::new(
        store.engine(),
        &wat::parse_str(
            r#"(module (import "" "h" (func $h (param i32 f32 i64 f64) (result i32 f32)))
                 (import "" "eight" (func $eight (result i32)))
                 (memory 1) (data (i32.const 8) "\2a")
                 (func (export "run") (result i32 i64 f64) (local $f f32) (local $i i32)
                   (call $h (i32.const -1) (f32.const -0) (i64.const -1) (f64.const 1.5))
                   (local.set $f) (local.set $i)
                   (i32.load8_u (local.get $i))
                   (i64.extend_i32_u (local.get $i))
                   (f64.promote_f32 (local.get $f)))
                 (func (export "direct") (result i32 i64)
                   (i32.load8_u (call $eight))
                   (i64.extend_i32_u (call $eight))))"#,
        )
        .expect("valid wat"),
    )
    .expect("compiles");
    let imports = [Extern::Func(host.clone()), Extern::Func(junk_above_8)];
    let inst = Instance::new(&store, &module, &imports).expect("instantiates");
    let out = exported_func(&inst, "run").call(&[]).expect("runs");
    assert!(
        matches!(out[..], [Val::I32(42), Val::I64(8), Val::F64(f)] if f64::from_bits(f) == 1.5),
        "{out:?}"
    );
    let out = exported_func(&inst, "direct").call(&[]).expect("runs");
    assert!(matches!(out[..], [Val::I32(42), Val::I64(8)]), "{out:?}");
    assert_eq!(*seen.borrow(), [0xFFFF_FFFF, 0x8000_0000, u64::MAX, 1.5f64.to_bits()]);

    // From Rust too, through `Val`s and raw.
    seen.borrow_mut().clear();
    let args = [Val::I32(-1), Val::F32((-0.0f32).to_bits()), Val::I64(-1), Val::F64(1.5f64.to_bits())];
    let out = host.call(&args).expect("calls");
    assert!(matches!(out[..], [Val::I32(8), Val::F32(f)] if f == 1.5f32.to_bits()), "{out:?}");
    let mut raw = [0u64; 2];
    host.call_numeric(&[u64::MAX, 0x8000_0000, u64::MAX, 1.5f64.to_bits()], &mut raw).expect("calls");
    assert_eq!(raw, [8, 1.5f32.to_bits() as u64]);
    assert_eq!(seen.borrow()[..4], [0xFFFF_FFFF, 0x8000_0000, u64::MAX, 1.5f64.to_bits()]);
    assert_eq!(seen.borrow()[4..], [0xFFFF_FFFF, 0x8000_0000, u64::MAX, 1.5f64.to_bits()]);
}

#[test]
fn numeric_host_functions_trap_and_panic_as_traps_and_take_only_numbers() {
    let store = Store::new(&Engine::default());
    let ty = || FuncType::new(vec![ValType::I32], vec![ValType::I32]);
    let failing = Func::new_numeric(&store, ty(), |args, _| {
        if args[0] == 0 {
            Err(Trap::host_message("zero refused"))
        } else {
            panic!("one refused")
        }
    })
    .expect("a numeric signature");
    let module = Module::new(
        store.engine(),
        &wat::parse_str(
            r#"(module (import "" "h" (func $h (param i32) (result i32)))
                 (func (export "run") (param i32) (result i32) (call $h (local.get 0))))"#,
        )
        .expect("valid wat"),
    )
    .expect("compiles");
    let inst = Instance::new(&store, &module, &[Extern::Func(failing)]).expect("instantiates");
    let run = exported_func(&inst, "run");
    for (arg, message) in [(0, "zero refused"), (1, "host function panicked")] {
        match run.call(&[Val::I32(arg)]) {
            Err(Error::Trap(t)) => assert!(t.to_string().contains(message), "{arg}: {t}"),
            other => panic!("{arg}: {other:?}"),
        }
    }
    let not_numeric = FuncType::new(vec![ValType::FUNCREF], vec![]);
    assert!(Func::new_numeric(&store, not_numeric, |_, _| Ok(())).is_err());
}

//! v128 across the boundaries the spec scripts barely reach: calls with mixed parameter
//! widths (direct, indirect, imported wasm and host functions, tail calls), results
//! through the argument area, register pressure, merges of control flow, many locals,
//! globals from Rust, and memory bounds in both bounds-checking modes.

use sidewinder_engine::{
    Config, Engine, Error, Exception, Extern, Func, FuncType, Global, GlobalType, Instance, Module, Store,
    Tag, Trap, Val, ValType,
};

fn module(engine: &Engine, wat: &str) -> Module {
    Module::new(engine, &wat::parse_str(wat).expect("valid wat")).expect("compiles")
}

fn run(wat: &str, name: &str, args: &[Val]) -> Vec<Val> {
    let store = Store::new(&Engine::default());
    let instance = Instance::new(&store, &module(store.engine(), wat), &[]).expect("instantiates");
    instance.call(name, args).expect("runs")
}

fn v128(lanes: [u32; 4]) -> u128 {
    lanes.iter().rev().fold(0u128, |acc, &l| acc << 32 | l as u128)
}

fn as_v128(v: &Val) -> u128 {
    match v {
        Val::V128(bits) => *bits,
        other => panic!("expected a v128, got {other:?}"),
    }
}

/// A callee taking (i32, v128, f64, v128) and returning (v128, i32, v128): every value
/// sits in a 16-byte slot of the argument area, both ways.
const MIXED: &str = r#"
  (type $mixed (func (param i32 v128 f64 v128) (result v128 i32 v128)))
  (func $callee (type $mixed)
    (i32x4.add (local.get 1) (local.get 3))
    (i32.add (local.get 0) (i32.trunc_f64_s (local.get 2)))
    (i32x4.sub (local.get 1) (local.get 3)))
  (table 1 funcref) (elem (i32.const 0) $callee)
"#;

#[test]
fn mixed_signatures_through_every_kind_of_call() {
    let callers = [
        "call $callee",
        "(call_indirect (type $mixed) (i32.const 0))",
        "(return_call $callee)",
        "(return_call_indirect (type $mixed) (i32.const 0))",
    ];
    for call in callers {
        let wat = format!(
            r#"(module {MIXED}
              (func (export "f") (param v128 v128) (result v128 i32 v128)
                (i32.const 40) (local.get 0) (f64.const 2.9) (local.get 1) {call}))"#
        );
        let a = v128([1, 2, 3, 4]);
        let b = v128([10, 20, 30, 40]);
        let out = run(&wat, "f", &[Val::V128(a), Val::V128(b)]);
        assert_eq!(as_v128(&out[0]), v128([11, 22, 33, 44]), "{call}");
        assert!(matches!(out[1], Val::I32(42)), "{call}: {:?}", out[1]);
        assert_eq!(
            as_v128(&out[2]),
            v128([1u32.wrapping_sub(10), 2u32.wrapping_sub(20), (-27i32) as u32, (-36i32) as u32]),
            "{call}"
        );
    }
}

#[test]
fn a_single_v128_result_and_parameters_cross_host_and_instance_boundaries() {
    let engine = Engine::default();
    let store = Store::new(&engine);
    // A host function (v128, i64) -> v128 that swaps the halves and adds to lane 0.
    let host =
        Func::new(&store, FuncType::new([ValType::V128, ValType::I64], [ValType::V128]), |args, results| {
            let (Val::V128(v), Val::I64(n)) = (&args[0], &args[1]) else { unreachable!("typed") };
            let swapped = v.rotate_left(64);
            results[0] = Val::V128(swapped.wrapping_add(*n as u128));
            Ok(())
        });
    let provider = Instance::new(
        &store,
        &module(
            &engine,
            r#"(module (func (export "splat") (param i32) (result v128) (i32x4.splat (local.get 0))))"#,
        ),
        &[],
    )
    .expect("instantiates");
    let Some(Extern::Func(splat)) = provider.get_export("splat") else { panic!("no splat") };
    let user = Instance::new(
        &store,
        &module(
            &engine,
            r#"(module
              (import "host" "swap" (func $swap (param v128 i64) (result v128)))
              (import "other" "splat" (func $splat (param i32) (result v128)))
              (func (export "f") (result v128)
                (call $swap
                  (i32x4.replace_lane 3 (call $splat (i32.const 7)) (i32.const 9))
                  (i64.const 5))))"#,
        ),
        &[Extern::Func(host.clone()), Extern::Func(splat)],
    )
    .expect("instantiates");
    let out = user.call("f", &[]).expect("runs");
    assert_eq!(as_v128(&out[0]), v128([7 + 5, 9, 7, 7]));
    // Rust calls the host function directly, and a wasm function with a v128 result.
    let direct = host.call(&[Val::V128(v128([1, 2, 3, 4])), Val::I64(1)]).expect("runs");
    assert_eq!(as_v128(&direct[0]), v128([4, 4, 1, 2]));
    let wrong = host.call(&[Val::I64(0), Val::I64(1)]);
    assert!(matches!(wrong, Err(Error::Link(_))), "{wrong:?}");
}

#[test]
fn register_pressure_spills_whole_vectors() {
    // 20 vectors live at once: more than the 15 allocatable xmm registers.
    let mut body = String::new();
    for i in 0..20 {
        body.push_str(&format!("(i32x4.splat (i32.const {}))\n", i * 0x0101_0101u32));
    }
    body.push_str(&"i8x16.add\n".repeat(19));
    let wat = format!(r#"(module (func (export "f") (result v128) {body}))"#);
    let out = run(&wat, "f", &[]);
    // Byte lanes: sum of i for i in 0..20 = 190, in every byte.
    assert_eq!(as_v128(&out[0]), u128::from_le_bytes([190; 16]));
}

#[test]
fn vectors_flow_through_blocks_loops_and_branch_tables() {
    let wat = r#"(module
      (func (export "f") (param i32) (result v128)
        (local $acc v128) (local $i i32)
        (loop $top
          (local.set $acc (i32x4.add (local.get $acc) (v128.const i32x4 1 2 3 4)))
          (br_if $top (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get 0))))
        (block $b2 (result v128)
          (block $b1 (result v128)
            (block $b0 (result v128)
              (local.get $acc)
              (br_table $b0 $b1 $b2 (i32.and (local.get 0) (i32.const 3))))
            (return (i32x4.mul (v128.const i32x4 10 10 10 10))))
          (return (i32x4.neg)))
        (v128.not)))"#;
    let expect = |n: u32, sel: u32| {
        let acc = [n, 2 * n, 3 * n, 4 * n];
        match sel {
            0 => v128(acc.map(|x| x * 10)),
            1 => v128(acc.map(|x| x.wrapping_neg())),
            _ => !v128(acc),
        }
    };
    for n in [1u32, 2, 3, 6, 7] {
        let out = run(wat, "f", &[Val::I32(n as i32)]);
        assert_eq!(as_v128(&out[0]), expect(n, (n & 3).min(2)), "n = {n}");
    }
}

#[test]
fn many_vector_locals_start_at_zero() {
    // Over 8 body locals: the prologue zeroes them with `rep stosq`, two quadwords each.
    let locals = "(local v128 v128 v128 v128 v128 v128 v128 v128 v128 v128 v128 v128 i64 i32)";
    let mut body = String::from("(local.get 0)");
    for i in 1..12 {
        body.push_str(&format!(" (local.get {i}) v128.or"));
    }
    let wat = format!(
        r#"(module (func (export "f") (result v128 i64 i32) {locals}
             (local.set 3 (v128.const i64x2 -1 -1)) (local.set 3 (v128.const i64x2 0 0))
             {body} (local.get 12) (local.get 13)))"#
    );
    let out = run(&wat, "f", &[]);
    assert_eq!(as_v128(&out[0]), 0);
    assert!(matches!((&out[1], &out[2]), (Val::I64(0), Val::I32(0))), "{out:?}");
}

#[test]
fn v128_globals_from_rust_and_wasm() {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let ty = GlobalType { content: ValType::V128, mutable: true };
    let bits = v128([0xdead_beef, 1, 2, 0x8000_0000]);
    let global = Global::new(&store, ty, Val::V128(bits)).expect("a v128 global");
    let constant_ty = GlobalType { content: ValType::V128, mutable: false };
    let constant =
        Global::new(&store, constant_ty, Val::V128(v128([5, 6, 7, 8]) << 1)).expect("a v128 global");
    let instance = Instance::new(
        &store,
        &module(
            &engine,
            r#"(module
              (import "env" "g" (global $g (mut v128)))
              (import "env" "k" (global $k v128))
              (global $own v128 (v128.const i32x4 5 6 7 8))
              (global $copy (export "copy") v128 (global.get $k))
              (func (export "bump")
                (global.set $g (i32x4.add (global.get $g) (global.get $own)))))"#,
        ),
        &[Extern::Global(global.clone()), Extern::Global(constant)],
    )
    .expect("instantiates");
    instance.call("bump", &[]).expect("runs");
    assert_eq!(as_v128(&global.get()), v128([0xdead_beef + 5, 7, 9, 0x8000_0008]));
    let Some(Extern::Global(copy)) = instance.get_export("copy") else { panic!("no export") };
    assert_eq!(as_v128(&copy.get()), v128([10, 12, 14, 16]));
    global.set(Val::V128(u128::MAX)).expect("mutable");
    instance.call("bump", &[]).expect("runs");
    assert_eq!(as_v128(&global.get()), v128([4, 5, 6, 7]));
}

#[test]
fn vector_accesses_at_the_end_of_memory_trap_in_both_bounds_modes() {
    let wat = r#"(module (memory 1)
      (func (export "load") (param i32) (result v128) (v128.load (local.get 0)))
      (func (export "store") (param i32) (v128.store (local.get 0) (v128.const i64x2 -1 -1)))
      (func (export "lane") (param i32) (result v128) (v128.load64_lane 1 (local.get 0) (v128.const i64x2 0 0)))
      (func (export "splat") (param i32) (result v128) (v128.load32_splat (local.get 0))))"#;
    for explicit in [false, true] {
        let engine =
            Engine::new(Config { explicit_bounds_checks: explicit, ..Config::default() }).expect("engine");
        let store = Store::new(&engine);
        let instance = Instance::new(&store, &module(&engine, wat), &[]).expect("instantiates");
        let call = |name: &str, at: i32| instance.call(name, &[Val::I32(at)]);
        assert!(call("store", 65536 - 16).is_ok());
        assert_eq!(as_v128(&call("load", 65536 - 16).expect("in bounds")[0]), u128::MAX);
        for (name, last_ok) in
            [("load", 65536 - 16), ("store", 65536 - 16), ("lane", 65536 - 8), ("splat", 65536 - 4)]
        {
            assert!(call(name, last_ok).is_ok(), "{name} at {last_ok} (explicit: {explicit})");
            for at in [last_ok + 1, 65535, -1] {
                let err = call(name, at).expect_err("out of bounds");
                assert!(err.to_string().contains("out of bounds"), "{name} at {at}: {err}");
            }
        }
    }
}

/// A tail callee whose slot width differs from the caller's (a v128 parameter on one
/// side only) must not take over the caller's argument area: with results in the area,
/// each would land where the caller reads another (found by review: a caller could read
/// a v128's high half as a funcref).
#[test]
fn tail_calls_between_slot_widths_keep_results_in_place() {
    let cases = [
        // Narrow caller, wide callee.
        r#"(func $g (param v128) (result i64 i64) (i64.const 111) (i64.const 222))
           (type $t (func (param v128) (result i64 i64)))
           (func $f (param i64 i64 i64 i64) (result i64 i64)
             (return_call $g (v128.const i64x2 0x1111 0x4141414141414141)))"#,
        // Wide caller, narrow callee.
        r#"(func $g (param i64) (result i64 i64) (i64.const 111) (i64.const 222))
           (type $t (func (param i64) (result i64 i64)))
           (func $f (param v128 i64 i64 i64) (result i64 i64) (return_call $g (i64.const 0)))"#,
        // Through a table.
        r#"(func $g (param v128) (result i64 i64) (i64.const 111) (i64.const 222))
           (type $t (func (param v128) (result i64 i64)))
           (table funcref (elem $g))
           (func $f (param i64 i64 i64 i64) (result i64 i64)
             (return_call_indirect (type $t) (v128.const i64x2 0x1111 0x4343434343434343) (i32.const 0)))"#,
    ];
    for (i, functions) in cases.iter().enumerate() {
        let caller_params = if i == 1 { "(v128.const i64x2 5 6)" } else { "(i64.const 5)" };
        let wat = format!(
            r#"(module {functions}
              (func (export "main") (result i64 i64)
                (call $f {caller_params} (i64.const 2) (i64.const 3) (i64.const 4))))"#
        );
        let out = run(&wat, "main", &[]);
        assert!(matches!(out[..], [Val::I64(111), Val::I64(222)]), "case {i}: {out:?}");
    }
    // The same with references: a stale slot must never come back as a funcref.
    let wat = r#"(module
      (func $target (result i32) (i32.const 7))
      (elem declare func $target)
      (func $g (param v128) (result funcref funcref) (ref.func $target) (ref.null func))
      (func $f (param i64 i64 i64 i64) (result funcref funcref)
        (return_call $g (v128.const i64x2 0 0x4141414141414141)))
      (func (export "main") (result i32) (local $a funcref) (local $b funcref)
        (call $f (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4))
        (local.set $b) (local.set $a)
        (i32.add (i32.mul (ref.is_null (local.get $b)) (i32.const 10)) (ref.is_null (local.get $a)))))"#;
    assert!(matches!(run(wat, "main", &[])[..], [Val::I32(10)]));
}

/// Exceptions carry v128 payloads whole: thrown and caught in wasm (`try_table` in the
/// same function and across calls, legacy `try`/`catch`), thrown by a host function,
/// uncaught into Rust, and made and read from Rust.
#[test]
fn exceptions_carry_v128_payloads() {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let tag = Tag::new(&store, FuncType::new([ValType::I32, ValType::V128, ValType::F64], [])).expect("tag");
    let bits = v128([1, 0xdead_beef, 3, 0x8000_0000]);
    let from_host =
        Exception::new(&store, &tag, &[Val::I32(-7), Val::V128(!bits), Val::F64(2.5f64.to_bits())])
            .expect("a v128 payload");
    let payload = from_host.payload();
    assert!(
        matches!(payload[..], [Val::I32(-7), Val::V128(b), Val::F64(f)] if b == !bits && f == 2.5f64.to_bits())
    );
    let host = Func::new(&store, FuncType::new([], []), move |_, _| Err(Trap::throw(from_host.clone())));
    let wat = r#"(module
      (import "env" "tag" (tag $t (param i32 v128 f64)))
      (import "env" "host" (func $host))
      (func $throw (export "throw") (param v128) (throw $t (i32.const 42) (local.get 0) (f64.const 1.5)))
      (func (export "same") (param v128) (result i32 v128 f64)
        (block $h (result i32 v128 f64)
          (try_table (catch $t $h) (throw $t (i32.const 1) (local.get 0) (f64.const 0.5)))
          (unreachable)))
      (func (export "across") (param v128) (result i32 v128 f64)
        (block $h (result i32 v128 f64)
          (try_table (catch $t $h) (call $throw (local.get 0)))
          (unreachable)))
      (func (export "legacy") (param v128) (result v128) (local $v v128)
        try (result v128)
          (call $throw (local.get 0))
          (v128.const i64x2 0 0)
        catch $t
          drop local.set $v drop local.get $v
        end)
      (func (export "from_host") (result i32 v128 f64)
        (block $h (result i32 v128 f64)
          (try_table (catch $t $h) (call $host))
          (unreachable))))"#;
    let instance = Instance::new(&store, &module(&engine, wat), &[Extern::Tag(tag), Extern::Func(host)])
        .expect("instantiates");
    let check = |out: Vec<Val>, i: i32, v: u128, f: f64| {
        assert!(
            matches!(out[..], [Val::I32(a), Val::V128(b), Val::F64(c)] if a == i && b == v && c == f.to_bits()),
            "{out:?}"
        );
    };
    check(instance.call("same", &[Val::V128(bits)]).expect("caught"), 1, bits, 0.5);
    check(instance.call("across", &[Val::V128(bits)]).expect("caught"), 42, bits, 1.5);
    check(instance.call("from_host", &[]).expect("caught"), -7, !bits, 2.5);
    let legacy = instance.call("legacy", &[Val::V128(bits)]).expect("caught");
    assert!(matches!(legacy[..], [Val::V128(b)] if b == bits));
    match instance.call("throw", &[Val::V128(bits)]) {
        Err(Error::Exception(e)) => {
            assert!(matches!(e.payload()[..], [Val::I32(42), Val::V128(b), Val::F64(_)] if b == bits))
        }
        other => panic!("expected the exception, got {other:?}"),
    }
}

/// Tables hold references: a table of v128 (or of any number type) made from Rust is
/// refused rather than holding truncated values.
#[test]
fn tables_of_vectors_are_refused() {
    let store = Store::new(&Engine::default());
    for element in [ValType::V128, ValType::I64] {
        let ty = sidewinder_engine::TableType { element, minimum: 1, maximum: None, table64: false };
        let init = Val::default_for(element);
        let made = sidewinder_engine::Table::new(&store, ty, init);
        assert!(matches!(made, Err(Error::Link(_))), "{element}: {made:?}");
    }
}

/// Found by review: a tail call without results between a signature with a v128
/// parameter (16-byte slots) and one without took the call-then-return fallback, so a
/// chain alternating between them ran out of stack. With no results nothing is read
/// back from the area, and the slot widths may differ.
#[test]
fn tail_calls_without_results_between_slot_widths_run_in_constant_stack() {
    let wat = r#"(module
      (global $sum (mut i64) (i64.const 0))
      (func $a (param i64 v128)
        (global.set $sum (i64.add (global.get $sum) (i64x2.extract_lane 1 (local.get 1))))
        (if (i64.eqz (local.get 0)) (then return))
        (return_call $b (i64.sub (local.get 0) (i64.const 1))))
      (func $b (param i64)
        (return_call $a (local.get 0) (v128.const i64x2 0 3)))
      (func (export "run") (param i64) (result i64)
        (call $b (local.get 0))
        (global.get $sum)))"#;
    let out = run(wat, "run", &[Val::I64(1_000_000)]);
    assert!(matches!(out[..], [Val::I64(3_000_003)]), "{out:?}");
}

/// `i8x16.shuffle` against a reference, for lane patterns that hit every lowering (each
/// unpack, each zero-extension, byte shifts both ways, `pshufd`, the identity, random
/// masks) and for operands of every kind: two parameters, a v128 local that only ever
/// holds zero on either side or both, and one written with zero and then something else
/// (which must not count as zero).
#[test]
fn shuffles_match_a_reference_for_every_operand_kind() {
    let mut patterns: Vec<[u8; 16]> = Vec::new();
    for unit in [1usize, 2, 4, 8] {
        for half in [0usize, 8] {
            patterns.push(std::array::from_fn(|i| {
                let element = i / unit;
                ((element % 2) * 16 + half + element / 2 * unit + i % unit) as u8
            }));
        }
    }
    for unit in [1usize, 2, 4] {
        // The low lanes extended with bytes of the other operand (zero when it is).
        patterns.push(std::array::from_fn(|i| {
            let (lane, byte) = (i / (2 * unit), i % (2 * unit));
            if byte < unit {
                (lane * unit + byte) as u8
            } else {
                16 + i as u8
            }
        }));
    }
    for n in [1u8, 4, 8, 15] {
        patterns.push(std::array::from_fn(|i| i as u8 + n)); // bytes shifted down
        patterns.push(std::array::from_fn(|i| if (i as u8) < n { 16 } else { i as u8 - n }));
    }
    patterns.push(std::array::from_fn(|i| i as u8));
    patterns.push(std::array::from_fn(|i| 16 + i as u8));
    patterns.push(std::array::from_fn(|i| ((3 - i / 4) * 4 + i % 4) as u8));
    let mut seed = 0x9e37_79b9_u32;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    for range in [16u32, 32, 32, 32] {
        for _ in 0..6 {
            patterns.push(std::array::from_fn(|_| (next() % range) as u8));
        }
    }

    let a: [u8; 16] = std::array::from_fn(|i| 1 + i as u8);
    let b: [u8; 16] = std::array::from_fn(|i| 101 + i as u8);
    // (name, first operand, second operand, the operands' bytes the reference sees)
    type OperandKind<'a> = (&'a str, &'a str, &'a str, [u8; 16], [u8; 16]);
    let zero = [0u8; 16];
    let kinds: [OperandKind; 5] = [
        ("ab", "(local.get 0)", "(local.get 1)", a, b),
        ("zb", "(local.get $zero)", "(local.get 1)", zero, b),
        ("az", "(local.get 0)", "(local.get $zero)", a, zero),
        ("zz", "(local.get $zero)", "(local.tee $zero (v128.const i64x2 0 0))", zero, zero),
        ("mb", "(local.get $maybe)", "(local.get 1)", a, b),
    ];
    let mut funcs = String::new();
    for (p, lanes) in patterns.iter().enumerate() {
        let lanes_text = lanes.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(" ");
        for (kind, first, second, ..) in &kinds {
            funcs.push_str(&format!(
                r#"(func (export "{kind}{p}") (param v128 v128) (result v128) (local $zero v128) (local $maybe v128)
                     (local.set $zero (v128.const i64x2 0 0))
                     (local.set $maybe (v128.const i64x2 0 0))
                     (local.set $maybe (local.get 0))
                     (i8x16.shuffle {lanes_text} {first} {second}))
                "#
            ));
        }
    }
    let store = Store::new(&Engine::default());
    let instance = Instance::new(&store, &module(store.engine(), &format!("(module {funcs})")), &[])
        .expect("instantiates");
    let (a_bits, b_bits) = (u128::from_le_bytes(a), u128::from_le_bytes(b));
    for (p, lanes) in patterns.iter().enumerate() {
        for (kind, _, _, first, second) in &kinds {
            let want = lanes.map(|l| if l < 16 { first[l as usize] } else { second[l as usize - 16] });
            let got =
                instance.call(&format!("{kind}{p}"), &[Val::V128(a_bits), Val::V128(b_bits)]).expect("runs");
            assert_eq!(as_v128(&got[0]).to_le_bytes(), want, "{kind} {lanes:?}");
        }
    }
}

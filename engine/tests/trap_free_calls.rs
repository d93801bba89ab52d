//! Trap-free functions (`Func::is_trap_free`: leaves that cannot trap or fault) are
//! called straight from Rust, without the entry trampoline, by `TrapFreeCaller::call`
//! and `Func::call_small`. Their results must match a model in Rust over many arguments,
//! with the caller's own values (kept in callee-saved registers across the calls) intact,
//! every argument count from 0 to `SMALL_ARGS`, loops that pin locals to the
//! callee-saved registers, and globals set by the callee seen by the host.

use sidewinder_engine::{Engine, Error, Extern, Func, Store, Val, SMALL_ARGS};

#[allow(dead_code)] // only `instance_in` and `exported_func` are used here
mod support;
use support::{exported_func, instance_in};

const MODULE: &str = r#"(module
  (global $ticks (export "ticks") (mut i64) (i64.const 0))
  (func (export "tick") (result i64)
    (global.set $ticks (i64.add (global.get $ticks) (i64.const 1)))
    (global.get $ticks))
  (func (export "poly") (param $x f32) (result f32)
    (f32.sub (f32.add (f32.mul (f32.mul (local.get $x) (local.get $x)) (f32.const 0.5)) (local.get $x))
             (f32.const 3)))
  ;; Loops, and three integer locals used in them: rbx, r12 and r13 hold them.
  (func (export "mix2") (param $a i32) (param $b i64) (result i64) (local $i i64) (local $h i64) (local $k i64)
    (local.set $h (local.get $b))
    (local.set $k (i64.extend_i32_u (local.get $a)))
    (loop $l
      (local.set $h (i64.mul (i64.xor (local.get $h) (local.get $k)) (i64.const 0x100000001b3)))
      (local.set $k (i64.add (i64.rotr (local.get $k) (i64.const 7)) (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $l (i64.lt_u (local.get $i) (i64.const 8))))
    (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 29))))
  ;; Float locals in a loop: pinned to the callee-saved xmm registers.
  (func (export "horner") (param $x f64) (param $n i32) (param $y f64) (result f64) (local $acc f64) (local $i i32)
    (loop $l
      (local.set $acc (f64.add (f64.mul (local.get $acc) (local.get $x)) (local.get $y)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_s (local.get $i) (i32.and (local.get $n) (i32.const 7)))))
    (select (local.get $acc) (f64.neg (local.get $acc)) (i32.gt_s (local.get $n) (i32.const 0))))
  (func (export "mix4") (param $a i32) (param $b i32) (param $c i32) (param $d i32) (result i32)
    (local $i i32) (local $acc i32) (local $x i32)
    (local.set $x (i32.xor (local.get $a) (local.get $b)))
    (loop $l
      (local.set $acc (i32.xor (i32.rotl (i32.add (local.get $acc) (local.get $x)) (i32.const 5))
                               (i32.add (local.get $d) (local.get $i))))
      (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 0x9e3779b1)) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.and (local.get $c) (i32.const 15)))))
    (i32.add (i32.add (local.get $acc) (i32.popcnt (local.get $a)))
             (i32.add (i32.clz (i32.or (local.get $b) (i32.const 1)))
                      (select (local.get $a) (local.get $b) (i32.lt_s (local.get $a) (local.get $b)))))))"#;

fn poly(x: f32) -> f32 {
    x * x * 0.5 + x - 3.0
}

fn mix2(a: u32, b: u64) -> u64 {
    let (mut h, mut k) = (b, a as u64);
    for i in 0..8u64 {
        h = (h ^ k).wrapping_mul(0x100000001b3);
        k = k.rotate_right(7).wrapping_add(i);
    }
    h ^ (h >> 29)
}

fn horner(x: f64, n: i32, y: f64) -> f64 {
    let (mut acc, mut i) = (0.0f64, 0);
    loop {
        acc = acc * x + y;
        i += 1;
        if i >= (n & 7) {
            break;
        }
    }
    if n > 0 {
        acc
    } else {
        -acc
    }
}

fn mix4(a: u32, b: u32, c: u32, d: u32) -> u32 {
    let (mut acc, mut x, mut i) = (0u32, a ^ b, 0u32);
    loop {
        acc = acc.wrapping_add(x).rotate_left(5) ^ d.wrapping_add(i);
        x = x.wrapping_mul(0x9e3779b1).wrapping_add(i);
        i += 1;
        if i >= c & 15 {
            break;
        }
    }
    let smaller = if (a as i32) < (b as i32) { a } else { b };
    acc.wrapping_add(a.count_ones()).wrapping_add((b | 1).leading_zeros()).wrapping_add(smaller)
}

struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// A float in [-range, range).
    fn float(&mut self, range: f64) -> f64 {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * range
    }
}

fn args<const N: usize>(small: [u64; SMALL_ARGS]) -> [u64; N] {
    std::array::from_fn(|i| small[i])
}

#[test]
fn trap_free_calls_match_the_model_and_keep_the_callers_registers() {
    let store = Store::new(&Engine::default());
    let inst = instance_in(&store, MODULE);
    let names = ["tick", "poly", "mix2", "horner", "mix4"];
    for name in names {
        assert!(exported_func(&inst, name).is_trap_free(), "{name}");
    }
    let tick = exported_func(&inst, "tick");
    let (poly_f, mix2_f, horner_f, mix4_f) = (
        exported_func(&inst, "poly"),
        exported_func(&inst, "mix2"),
        exported_func(&inst, "horner"),
        exported_func(&inst, "mix4"),
    );
    let tick0 = tick.trap_free_caller::<0>().expect("served");
    let poly1 = poly_f.trap_free_caller::<1>().expect("served");
    let mix2_2 = mix2_f.trap_free_caller::<2>().expect("served");
    // More arguments than parameters: the extra ones are ignored.
    let mix2_3 = mix2_f.trap_free_caller::<3>().expect("served");
    let horner3 = horner_f.trap_free_caller::<3>().expect("served");
    let mix4_4 = mix4_f.trap_free_caller::<4>().expect("served");
    // Through the entry trampoline, for comparison.
    let mix4_trampoline = mix4_f.small_caller::<4>().expect("served");

    let mut rng = Xorshift(0x2545_f491_4f6c_dd1d);
    // The caller's own running values, live across every call: a callee that broke the
    // convention (rbx, r12-r15, rbp) would change them.
    let (mut checks, mut ints, mut floats, mut ticks) = (0u64, 0u64, 0.0f64, 0u64);
    for round in 0..20_000u64 {
        let small = [rng.next(), rng.next(), rng.next(), rng.next()];
        let (a, b, c, d) = (small[0] as u32, small[1] as u32, small[2] as u32, small[3] as u32);

        ticks += 1;
        let t = if round % 2 == 0 { tick0.call([]) } else { tick.call_small(small) }.expect("runs");
        assert_eq!(t, ticks);

        let x = rng.float(4.0) as f32;
        let via = poly1.call([x.to_bits() as u64]).expect("runs") as u32;
        assert_eq!(f32::from_bits(via).to_bits(), poly(x).to_bits(), "poly({x})");
        assert_eq!(poly_f.call_small([x.to_bits() as u64, small[1], 0, 0]).expect("runs") as u32, via);

        let expected = mix2(a, small[1]);
        assert_eq!(mix2_2.call(args(small)).expect("runs"), expected, "mix2({a}, {})", small[1]);
        assert_eq!(mix2_3.call(args(small)).expect("runs"), expected);
        assert_eq!(mix2_f.call_small(small).expect("runs"), expected);

        let (hx, hy) = (rng.float(1.5), rng.float(10.0));
        let h = horner3.call([hx.to_bits(), c as u64, hy.to_bits()]).expect("runs");
        assert_eq!(
            f64::from_bits(h).to_bits(),
            horner(hx, c as i32, hy).to_bits(),
            "horner({hx}, {c}, {hy})"
        );
        assert_eq!(horner_f.call_small([hx.to_bits(), c as u64, hy.to_bits(), small[3]]).expect("runs"), h);

        let m = mix4_4.call(args(small)).expect("runs") as u32;
        assert_eq!(m, mix4(a, b, c, d), "mix4({a}, {b}, {c}, {d})");
        assert_eq!(mix4_f.call_small(small).expect("runs"), m as u64, "call_small masks to 32 bits");
        assert_eq!(mix4_trampoline.call(args(small)).expect("runs") as u32, m);

        checks = checks.rotate_left(3) ^ expected ^ m as u64;
        ints = ints.wrapping_add(a as u64 * 3 + d as u64);
        floats += f64::from_bits(h).abs().min(1e6);
    }
    // The same running values computed again without any call in between.
    let mut rng = Xorshift(0x2545_f491_4f6c_dd1d);
    let (mut checks_again, mut ints_again, mut floats_again) = (0u64, 0u64, 0.0f64);
    for _ in 0..20_000u64 {
        let small = [rng.next(), rng.next(), rng.next(), rng.next()];
        let (a, b, c, d) = (small[0] as u32, small[1] as u32, small[2] as u32, small[3] as u32);
        let _ = rng.float(4.0);
        let (hx, hy) = (rng.float(1.5), rng.float(10.0));
        checks_again = checks_again.rotate_left(3) ^ mix2(a, small[1]) ^ mix4(a, b, c, d) as u64;
        ints_again = ints_again.wrapping_add(a as u64 * 3 + d as u64);
        floats_again += horner(hx, c as i32, hy).abs().min(1e6);
    }
    assert_eq!((checks, ints, floats.to_bits()), (checks_again, ints_again, floats_again.to_bits()));
    // The global the callee set is the host's to read.
    match inst.get_export("ticks") {
        Some(Extern::Global(g)) => assert!(matches!(g.get(), Val::I64(n) if n as u64 == ticks)),
        other => panic!("{other:?}"),
    }
}

/// A direct call checks that the store is alive first: once it is gone, the call errs
/// instead of running code that was freed with it.
#[test]
fn trap_free_calls_after_the_store_is_gone_err() {
    let store = Store::new(&Engine::default());
    let inst = instance_in(&store, MODULE);
    let mix4_f = exported_func(&inst, "mix4");
    let mix4_4 = mix4_f.trap_free_caller::<4>().expect("served");
    assert_eq!(mix4_4.call([1, 2, 3, 4]).expect("runs") as u32, mix4(1, 2, 3, 4));
    drop((inst, store));
    assert!(matches!(mix4_4.call([1, 2, 3, 4]), Err(Error::Link(_))));
    assert!(matches!(mix4_f.call_small([1, 2, 3, 4]), Err(Error::Link(_))));
}

/// Only trap-free wasm functions get a `TrapFreeCaller`, and only for at least as many
/// arguments as they have parameters.
#[test]
fn only_trap_free_functions_have_trap_free_callers() {
    let store = Store::new(&Engine::default());
    let inst = instance_in(
        &store,
        r#"(module (memory 1)
                 (func (export "loads") (param i32) (result i32) (i32.load (local.get 0)))
                 (func (export "adds") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#,
    );
    assert!(exported_func(&inst, "loads").trap_free_caller::<1>().is_none());
    let adds = exported_func(&inst, "adds");
    assert!(adds.trap_free_caller::<1>().is_none(), "fewer arguments than parameters");
    assert_eq!(adds.trap_free_caller::<2>().expect("served").call([40, 2]).expect("runs") as u32, 42);
    let host = Func::new(&store, sidewinder_engine::FuncType::new([], []), |_, _| Ok(()));
    assert!(host.trap_free_caller::<0>().is_none());
}

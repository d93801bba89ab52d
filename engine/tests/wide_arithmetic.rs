//! The wide-arithmetic proposal beyond its spec script: each instruction against 128-bit
//! arithmetic in Rust on random and edge operands, with operands from locals (pinned to
//! registers inside a loop, and read again after the instruction), from calls (rax, which
//! the multiplications need) and from constants.

use sidewinder_engine::{Config, Instance, Val};

#[allow(dead_code)] // the verdict helpers are for the tests that compare verdicts
mod support;
use support::{instantiate, Rng};

const WAT: &str = r#"(module
  (func $id (param i64) (result i64) (local.get 0))
  ;; Both halves folded into one i64 so a function returns one value: lo ^ rotl(hi, 17).
  (func $fold (param i64 i64) (result i64) (i64.xor (local.get 0) (i64.rotl (local.get 1) (i64.const 17))))

  (func (export "add128") (param i64 i64 i64 i64) (result i64)
    (call $fold (i64.add128 (local.get 0) (local.get 1) (local.get 2) (local.get 3))))
  (func (export "sub128") (param i64 i64 i64 i64) (result i64)
    (call $fold (i64.sub128 (local.get 0) (local.get 1) (local.get 2) (local.get 3))))
  (func (export "mul_wide_s") (param i64 i64) (result i64)
    (call $fold (i64.mul_wide_s (local.get 0) (local.get 1))))
  (func (export "mul_wide_u") (param i64 i64) (result i64)
    (call $fold (i64.mul_wide_u (local.get 0) (local.get 1))))

  (func (export "add128_calls") (param i64 i64 i64 i64) (result i64)
    (call $fold (i64.add128 (call $id (local.get 0)) (call $id (local.get 1)) (call $id (local.get 2)) (call $id (local.get 3)))))
  (func (export "sub128_calls") (param i64 i64 i64 i64) (result i64)
    (call $fold (i64.sub128 (call $id (local.get 0)) (call $id (local.get 1)) (call $id (local.get 2)) (call $id (local.get 3)))))
  (func (export "mul_wide_s_calls") (param i64 i64) (result i64)
    (call $fold (i64.mul_wide_s (call $id (local.get 0)) (call $id (local.get 1)))))
  (func (export "mul_wide_u_calls") (param i64 i64) (result i64)
    (call $fold (i64.mul_wide_u (call $id (local.get 0)) (call $id (local.get 1)))))

  ;; In a loop run once, so the locals are pinned; they must be unchanged afterwards.
  (func (export "sub128_pinned") (param $a i64) (param $b i64) (param $c i64) (param $d i64) (result i64)
    (local $r i64) (local $n i32)
    (loop $l
      (local.set $r (call $fold (i64.sub128 (local.get $a) (local.get $b) (local.get $c) (local.get $d))))
      (br_if $l (i32.lt_u (local.tee $n (i32.add (local.get $n) (i32.const 1))) (i32.const 1))))
    (i64.xor (local.get $r)
      (i64.add (local.get $a) (i64.mul (local.get $b) (i64.add (local.get $c) (i64.mul (local.get $d) (i64.const 3)))))))
  (func (export "mul_wide_s_pinned") (param $a i64) (param $b i64) (result i64)
    (local $r i64) (local $n i32)
    (loop $l
      (local.set $r (call $fold (i64.mul_wide_s (local.get $a) (local.get $b))))
      (br_if $l (i32.lt_u (local.tee $n (i32.add (local.get $n) (i32.const 1))) (i32.const 1))))
    (i64.xor (local.get $r) (i64.add (local.get $a) (i64.mul (local.get $b) (i64.const 3)))))
  (func (export "mul_wide_u_const") (param i64) (result i64)
    (call $fold (i64.mul_wide_u (local.get 0) (i64.const -3))))
  (func (export "add128_const") (param i64 i64) (result i64)
    (call $fold (i64.add128 (local.get 0) (local.get 1) (i64.const -1) (i64.const 0)))))"#;

fn fold(v: u128) -> u64 {
    (v as u64) ^ ((v >> 64) as u64).rotate_left(17)
}

fn pair(lo: u64, hi: u64) -> u128 {
    u128::from(lo) | (u128::from(hi) << 64)
}

fn call(instance: &Instance, name: &str, args: &[u64]) -> u64 {
    let args: Vec<Val> = args.iter().map(|&a| Val::I64(a as i64)).collect();
    match instance.call(name, &args).unwrap_or_else(|e| panic!("{name}: {e:?}"))[..] {
        [Val::I64(v)] => v as u64,
        ref other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn every_instruction_matches_128_bit_arithmetic() {
    let mut rng = Rng::salted(7, 0x5749_4445); // "WIDE"
    let edges = [0u64, 1, 2, u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) - 1, 0xFFFF_FFFF, 1 << 32];
    let mut values: Vec<u64> = edges.to_vec();
    values.extend((0..40).map(|_| rng.next_u64()));
    for explicit_bounds_checks in [false, true] {
        let (_store, i) = instantiate(WAT, Config { explicit_bounds_checks, ..Config::default() });
        for _ in 0..400 {
            let mut pick = || values[rng.below(values.len() as u64) as usize];
            let (a, b, c, d) = (pick(), pick(), pick(), pick());
            let (x, y) = (pair(a, b), pair(c, d));
            let sum = fold(x.wrapping_add(y));
            let difference = fold(x.wrapping_sub(y));
            let signed = fold((i128::from(a as i64) * i128::from(b as i64)) as u128);
            let unsigned = fold(u128::from(a) * u128::from(b));
            for suffix in ["", "_calls"] {
                assert_eq!(
                    call(&i, &format!("add128{suffix}"), &[a, b, c, d]),
                    sum,
                    "{a:#x} {b:#x} {c:#x} {d:#x}"
                );
                assert_eq!(call(&i, &format!("sub128{suffix}"), &[a, b, c, d]), difference);
                assert_eq!(call(&i, &format!("mul_wide_s{suffix}"), &[a, b]), signed, "{a:#x} * {b:#x}");
                assert_eq!(call(&i, &format!("mul_wide_u{suffix}"), &[a, b]), unsigned, "{a:#x} * {b:#x}");
            }
            let locals = a.wrapping_add(b.wrapping_mul(c.wrapping_add(d.wrapping_mul(3))));
            assert_eq!(call(&i, "sub128_pinned", &[a, b, c, d]), difference ^ locals);
            assert_eq!(call(&i, "mul_wide_s_pinned", &[a, b]), signed ^ a.wrapping_add(b.wrapping_mul(3)));
            assert_eq!(call(&i, "mul_wide_u_const", &[a]), fold(u128::from(a) * u128::from(u64::MAX - 2)));
            assert_eq!(
                call(&i, "add128_const", &[a, b]),
                fold(pair(a, b).wrapping_add(u128::from(u64::MAX)))
            );
        }
    }
}

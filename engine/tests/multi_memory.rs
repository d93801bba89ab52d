//! Loads and stores of memories other than 0, whose base the compiled code reads from the
//! instance context at each access (memory 0's stays in a register): every form an
//! address takes (constant, temporary, pinned local, offsets past 2^31), with guard pages
//! and with explicit bounds checks.

use sidewinder_engine::{TrapCode, Val};
#[allow(dead_code)] // the verdict helpers are for the tests that compare verdicts
mod support;
use support::{assert_trap, in_both_bounds_modes, integer_result};

const OOB: TrapCode = TrapCode::MemoryOutOfBounds;

const WAT: &str = r#"(module
  (memory $a 1)
  (memory $b 1)
  (memory $c 2)
  (func (export "store_b") (param i32 i32) (i32.store $b (local.get 0) (local.get 1)))
  (func (export "load_a") (param i32) (result i32) (i32.load $a (local.get 0)))
  (func (export "load_b") (param i32) (result i32) (i32.load $b (local.get 0)))
  (func (export "load_c") (param i32) (result i32) (i32.load $c (local.get 0)))
  ;; A temporary address, and a big static offset that wraps no 32-bit arithmetic.
  (func (export "load_b_plus_4") (param i32) (result i32)
    (i32.load $b offset=4 (i32.add (local.get 0) (i32.const 0))))
  (func (export "load_b_far") (param i32) (result i32)
    (i32.load $b offset=0xfffffff0 (local.get 0)))
  ;; Constant addresses, in and out of range.
  (func (export "store_c_const") (param i32)
    (i64.store $c offset=8 (i32.const 131048) (i64.extend_i32_u (local.get 0))))
  (func (export "load_c_const") (result i64) (i64.load $c offset=8 (i32.const 131048)))
  (func (export "load_c_const_oob") (result i64) (i64.load $c offset=8 (i32.const 131065)))
  ;; A loop whose counter (pinned in a register) addresses memory $c, summing bytes
  ;; written to $b and $c.
  (func (export "copy_and_sum") (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 $c (local.get $i) (i32.load8_u $b (local.get $i)))
        (local.set $sum (i32.add (local.get $sum) (i32.load8_s $c (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $sum))
  ;; Many values live across an access to $b: the address's register and the base's
  ;; come under pressure.
  (func (export "pressure") (param $p i32) (result i32)
    (local.get $p) (i32.const 1) (i32.add)
    (local.get $p) (i32.const 2) (i32.add)
    (local.get $p) (i32.const 3) (i32.add)
    (local.get $p) (i32.const 4) (i32.add)
    (local.get $p) (i32.const 5) (i32.add)
    (local.get $p) (i32.const 6) (i32.add)
    (local.get $p) (i32.const 7) (i32.add)
    (local.get $p) (i32.const 8) (i32.add)
    (local.get $p) (i32.const 9) (i32.add)
    (local.get $p) (i32.const 10) (i32.add)
    (local.get $p) (i32.const 11) (i32.add)
    (local.get $p) (i32.const 12) (i32.add)
    (local.get $p) (i32.const 13) (i32.add)
    (i32.load $b (i32.mul (local.get $p) (i32.const 4)))
    (i32.add) (i32.add) (i32.add) (i32.add) (i32.add) (i32.add) (i32.add)
    (i32.add) (i32.add) (i32.add) (i32.add) (i32.add) (i32.add))
  (func (export "float_and_vector") (param f64) (result f64)
    (f64.store $c offset=16 (i32.const 32) (local.get 0))
    (v128.store $b (i32.const 48) (v128.load $c (i32.const 48)))
    (v128.store64_lane $b 1 (i32.const 72) (v128.load64_splat $c (i32.const 48)))
    (f64.add (f64.load $b (i32.const 48)) (f64.load $b (i32.const 72))))
  (func (export "grow_c") (result i32) (memory.grow $c (i32.const 1)))
)"#;

#[test]
fn each_memory_keeps_its_own_bytes() {
    in_both_bounds_modes(WAT, |i| {
        i.call("store_b", &[Val::I32(16), Val::I32(0x1234_5678)]).expect("store");
        assert_eq!(integer_result(i, "load_b", &[Val::I32(16)]), 0x1234_5678);
        assert_eq!(integer_result(i, "load_a", &[Val::I32(16)]), 0, "memory 0 untouched");
        assert_eq!(integer_result(i, "load_c", &[Val::I32(16)]), 0, "memory 2 untouched");
        assert_eq!(integer_result(i, "load_b_plus_4", &[Val::I32(12)]), 0x1234_5678);
    });
}

#[test]
fn each_memory_has_its_own_bounds() {
    in_both_bounds_modes(WAT, |i| {
        // One page in $a and $b, two in $c.
        assert_eq!(integer_result(i, "load_a", &[Val::I32(65532)]), 0);
        assert_eq!(integer_result(i, "load_b", &[Val::I32(65532)]), 0);
        assert_trap(i, "load_b", &[Val::I32(65533)], OOB);
        assert_eq!(integer_result(i, "load_c", &[Val::I32(65533)]), 0);
        assert_eq!(integer_result(i, "load_c", &[Val::I32(131068)]), 0);
        assert_trap(i, "load_c", &[Val::I32(131069)], OOB);
        assert_trap(i, "load_c", &[Val::I32(-1)], OOB);
        assert_trap(i, "load_b_far", &[Val::I32(0)], OOB);
        assert_trap(i, "load_b_plus_4", &[Val::I32(65530)], OOB);
        assert_trap(i, "load_c_const_oob", &[], OOB);
        // Growing $c moves its bound and no other.
        assert_eq!(integer_result(i, "grow_c", &[]), 2);
        assert_eq!(integer_result(i, "load_c", &[Val::I32(131069)]), 0);
        assert_trap(i, "load_b", &[Val::I32(65533)], OOB);
    });
}

#[test]
fn constant_addresses_reach_the_right_memory() {
    in_both_bounds_modes(WAT, |i| {
        i.call("store_c_const", &[Val::I32(-7)]).expect("store");
        match i.call("load_c_const", &[]).expect("load").as_slice() {
            [Val::I64(v)] => assert_eq!(*v, 0xffff_fff9),
            other => panic!("load_c_const: {other:?}"),
        }
        assert_eq!(integer_result(i, "load_c", &[Val::I32(131056)]), -7);
    });
}

#[test]
fn a_pinned_loop_counter_addresses_other_memories() {
    in_both_bounds_modes(WAT, |i| {
        for k in 0..64 {
            i.call("store_b", &[Val::I32(4 * k), Val::I32(0x0101_0101 * (k % 3))]).expect("store");
        }
        // Bytes 0..256 of $b are k % 3 for k = index / 4; summed as signed bytes.
        let expected: i64 = (0..256).map(|b| (b / 4) % 3).sum();
        assert_eq!(integer_result(i, "copy_and_sum", &[Val::I32(256)]), expected);
        assert_eq!(integer_result(i, "load_c", &[Val::I32(4 * 5)]), 0x0202_0202);
    });
}

#[test]
fn an_access_under_register_pressure() {
    in_both_bounds_modes(WAT, |i| {
        i.call("store_b", &[Val::I32(40), Val::I32(1000)]).expect("store");
        // 13 values p+1..p+13 live across the load of $b[4p], for p = 10.
        let expected = (1..=13).map(|k| 10 + k).sum::<i64>() + 1000;
        assert_eq!(integer_result(i, "pressure", &[Val::I32(10)]), expected);
    });
}

#[test]
fn floats_and_vectors_move_between_memories() {
    in_both_bounds_modes(WAT, |i| {
        match i.call("float_and_vector", &[Val::F64(2.5f64.to_bits())]).expect("runs").as_slice() {
            [Val::F64(bits)] => assert_eq!(f64::from_bits(*bits), 5.0),
            other => panic!("float_and_vector: {other:?}"),
        }
    });
}

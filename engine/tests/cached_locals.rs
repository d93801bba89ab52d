//! Unpinned locals whose value stays in a register after a `local.set` or `local.tee`
//! (`FuncCompiler::cached_locals`): the next `local.get` takes that register instead of
//! reading the frame slot. The register must be given up whenever something else writes
//! it (division's rax and rdx, a shift count's rcx, calls, register pressure) and at
//! every point control can reach from elsewhere. The functions here have no loops and
//! read each local fewer than eight times, so no local is pinned; each is checked
//! against a Rust model on several inputs.

use sidewinder_engine::{Engine, Instance, Module, Store, Val};

fn call_i32(wat: &str, args: &[i32]) -> i32 {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let module = Module::new(&engine, &wat::parse_str(wat).expect("valid wat")).expect("compiles");
    let instance = Instance::new(&store, &module, &[]).expect("instantiates");
    let args: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
    match instance.call("f", &args).expect("runs").as_slice() {
        [Val::I32(v)] => *v,
        other => panic!("expected one i32, got {other:?}"),
    }
}

const INPUTS: [(i32, i32); 6] = [(0, 0), (1, 2), (7, 1000), (-5, 123_456), (i32::MAX, -1), (40_000, 3)];

/// Each value is written to a local and read back after an operator that takes fixed
/// registers (division: rax and rdx; a shift by a variable count: rcx) or calls.
const FIXED_REGISTERS_AND_CALLS: &str = r#"(module
  (func $mix (param i32) (result i32) (i32.add (i32.mul (local.get 0) (i32.const 31)) (i32.const 7)))
  (func (export "f") (param $a i32) (param $b i32) (result i32)
    (local $x i32) (local $y i32) (local $z i32) (local $w i32) (local $s i32) (local $t i32)
    (local.set $x (i32.add (i32.mul (local.get $a) (i32.const 3)) (i32.const 1)))
    (local.set $y (i32.div_u (local.get $b) (i32.or (local.get $x) (i32.const 1))))
    (local.set $z (i32.shl (local.get $x) (local.get $y)))
    (local.set $t (i32.rem_s (local.tee $w (i32.xor (local.get $z) (local.get $b))) (i32.const 13)))
    (local.set $s (i32.add (call $mix (local.get $w)) (local.get $t)))
    (i32.xor
      (i32.xor (local.get $x) (i32.rotl (local.get $y) (local.get $t)))
      (i32.xor (local.get $z) (i32.xor (local.get $w) (i32.add (local.get $s) (local.get $t)))))))"#;

fn fixed_registers_and_calls_model(a: i32, b: i32) -> i32 {
    let mix = |v: i32| v.wrapping_mul(31).wrapping_add(7);
    let x = a.wrapping_mul(3).wrapping_add(1);
    let y = ((b as u32) / ((x | 1) as u32)) as i32;
    let z = x.wrapping_shl(y as u32);
    let w = z ^ b;
    let t = w.wrapping_rem(13);
    let s = mix(w).wrapping_add(t);
    (x ^ y.rotate_left(t as u32)) ^ (z ^ (w ^ s.wrapping_add(t)))
}

#[test]
fn cached_locals_survive_fixed_register_operators_and_calls() {
    for (a, b) in INPUTS {
        assert_eq!(
            call_i32(FIXED_REGISTERS_AND_CALLS, &[a, b]),
            fixed_registers_and_calls_model(a, b),
            "{a}, {b}"
        );
    }
}

/// Values left cached (in rax, then rcx: the first registers handed out) while a
/// division takes rax and rdx, a shift takes rcx and a call clobbers everything, and
/// read only after those.
const CACHED_ACROSS_CLOBBERS: &str = r#"(module
  ;; A right-leaning tree of products: eight values live at once, in every register the
  ;; operand stack has, so the call clobbers whatever the caller cached.
  (func $mix (param i32) (result i32)
    (i32.add (i32.mul (local.get 0) (i32.const 3)) (i32.xor (i32.mul (local.get 0) (i32.const 5))
    (i32.sub (i32.mul (local.get 0) (i32.const 7)) (i32.add (i32.mul (local.get 0) (i32.const 9))
    (i32.xor (i32.mul (local.get 0) (i32.const 11)) (i32.sub (i32.mul (local.get 0) (i32.const 13))
    (i32.add (i32.mul (local.get 0) (i32.const 15)) (i32.mul (local.get 0) (i32.const 17))))))))))
  (func (export "f") (param $a i32) (param $b i32) (result i32)
    (local $x i32) (local $w i32) (local $q i32) (local $r i32) (local $c i32) (local $v i32) (local $u i32)
    (local.set $x (i32.add (local.get $a) (i32.const 1)))
    (local.set $w (i32.mul (local.get $b) (i32.const 3)))
    (local.set $q (i32.div_u (local.get $b) (i32.or (local.get $a) (i32.const 1))))
    (local.set $v (i32.sub (local.get $a) (i32.const 5)))
    (local.set $u (i32.xor (local.get $b) (i32.const 77)))
    (local.set $r (i32.shl (local.get $a) (local.get $b)))
    (local.set $c (i32.add (local.get $x) (local.get $w)))
    (local.set $x (i32.rem_u (local.get $q) (i32.const 10)))
    (local.set $w (i32.add (call $mix (local.get $a)) (local.get $u)))
    (i32.add (local.get $x)
      (i32.xor (local.get $w)
        (i32.add (local.get $q) (i32.xor (local.get $r) (i32.add (local.get $c) (local.get $v))))))))"#;

fn cached_across_clobbers_model(a: i32, b: i32) -> i32 {
    let mix = |v: i32| {
        let m = |k: i32| v.wrapping_mul(k);
        let inner = m(13).wrapping_sub(m(15).wrapping_add(m(17)));
        let inner = m(9).wrapping_add(m(11) ^ inner);
        m(3).wrapping_add(m(5) ^ m(7).wrapping_sub(inner))
    };
    let x0 = a.wrapping_add(1);
    let w0 = b.wrapping_mul(3);
    let q = ((b as u32) / ((a | 1) as u32)) as i32;
    let v = a.wrapping_sub(5);
    let u = b ^ 77;
    let r = a.wrapping_shl(b as u32);
    let c = x0.wrapping_add(w0);
    let x = ((q as u32) % 10) as i32;
    let w = mix(a).wrapping_add(u);
    x.wrapping_add(w ^ q.wrapping_add(r ^ c.wrapping_add(v)))
}

#[test]
fn cached_values_outlive_operators_that_take_their_registers() {
    for (a, b) in INPUTS {
        assert_eq!(call_i32(CACHED_ACROSS_CLOBBERS, &[a, b]), cached_across_clobbers_model(a, b), "{a}, {b}");
    }
}

/// A local written in both arms of an `if` (each arm leaves its value in some register)
/// and in a block a `br_if` may leave early: after the merges, the reads must see the
/// value of the path taken.
const MERGES: &str = r#"(module
  (func (export "f") (param $a i32) (param $b i32) (result i32)
    (local $x i32) (local $y i32)
    (local.set $y (i32.mul (local.get $b) (i32.const 5)))
    (if (i32.lt_s (local.get $a) (local.get $b))
      (then (local.set $x (i32.add (local.get $a) (i32.const 100))))
      (else (local.set $x (i32.sub (local.get $b) (local.get $y)))))
    (block $out
      (local.set $y (i32.xor (local.get $x) (i32.const 0x5555)))
      (br_if $out (i32.and (local.get $a) (i32.const 1)))
      (local.set $y (i32.add (local.get $y) (local.get $x))))
    (i32.add (i32.mul (local.get $x) (i32.const 3)) (local.get $y))))"#;

fn merges_model(a: i32, b: i32) -> i32 {
    let y = b.wrapping_mul(5);
    let x = if a < b { a.wrapping_add(100) } else { b.wrapping_sub(y) };
    let mut y = x ^ 0x5555;
    if a & 1 == 0 {
        y = y.wrapping_add(x);
    }
    x.wrapping_mul(3).wrapping_add(y)
}

#[test]
fn cached_locals_are_given_up_at_merges() {
    for (a, b) in INPUTS {
        assert_eq!(call_i32(MERGES, &[a, b]), merges_model(a, b), "{a}, {b}");
    }
}

/// Twelve locals set in a row and then read while the operand stack grows: more cached
/// values than free registers, so allocations take cached registers back (and deep
/// operands spill) with the locals' values still right.
fn pressure_wat() -> String {
    let mut body = String::new();
    for k in 0..12 {
        body.push_str(&format!(
            "(local.set {l} (i32.add (i32.mul (local.get 0) (i32.const {m})) (local.get 1)))\n",
            l = k + 2,
            m = 2 * k + 3
        ));
    }
    // ((l2 - (l3 ^ (l4 - (l5 ^ ...)))): every read before any operator consumes.
    for k in 0..12 {
        body.push_str(&format!("(local.get {})\n", k + 2));
    }
    for k in (0..11).rev() {
        body.push_str(if k % 2 == 0 { "(i32.sub)\n" } else { "(i32.xor)\n" });
    }
    format!(
        "(module (func (export \"f\") (param i32 i32) (result i32) (local {})\n{body}))",
        "i32 ".repeat(12)
    )
}

fn pressure_model(a: i32, b: i32) -> i32 {
    let locals: Vec<i32> = (0..12).map(|k| a.wrapping_mul(2 * k + 3).wrapping_add(b)).collect();
    let mut acc = locals[11];
    for k in (0..11).rev() {
        acc = if k % 2 == 0 { locals[k].wrapping_sub(acc) } else { locals[k] ^ acc };
    }
    acc
}

#[test]
fn cached_locals_give_way_under_register_pressure() {
    let wat = pressure_wat();
    for (a, b) in INPUTS {
        assert_eq!(call_i32(&wat, &[a, b]), pressure_model(a, b), "{a}, {b}");
    }
}

/// A local read after a later write to it: the register cached by the first write must
/// not serve the read after the second, and a value taken before the second write keeps
/// the first value.
#[test]
fn a_rewritten_local_is_read_anew() {
    let wat = r#"(module
      (func (export "f") (param $a i32) (param $b i32) (result i32) (local $x i32)
        (local.set $x (i32.add (local.get $a) (i32.const 1)))
        (local.get $x)
        (local.set $x (i32.mul (local.get $b) (i32.const 7)))
        (local.get $x)
        (i32.sub)
        (local.tee $x (i32.xor (local.get $x) (local.get $a)))
        (i32.add)
        (local.set $x (i32.add (local.get $x) (i32.const 9)))
        (i32.add (local.get $x))))"#;
    for (a, b) in INPUTS {
        let d = a.wrapping_add(1).wrapping_sub(b.wrapping_mul(7));
        let x = b.wrapping_mul(7) ^ a;
        let want = d.wrapping_add(x).wrapping_add(x.wrapping_add(9));
        assert_eq!(call_i32(wat, &[a, b]), want, "{a}, {b}");
    }
}

//! Locals that live in registers for a whole function (compiler/locals.rs): their
//! values must survive calls of every kind, traps that unwind past them, and writes
//! while latent reads of them are still on the operand stack. Each test runs with
//! guard pages and with explicit bounds checks, since addresses in pinned registers
//! take a different path through both.

use sidewinder_engine::{
    Config, Engine, Error, Extern, Func, FuncType, Instance, Module, Store, Val, ValType,
};

fn engines() -> Vec<Engine> {
    [false, true]
        .into_iter()
        .map(|explicit_bounds_checks| {
            Engine::new(Config { explicit_bounds_checks, ..Config::default() }).expect("engine")
        })
        .collect()
}

fn run(engine: &Engine, wat: &str, imports: impl FnOnce(&Store) -> Vec<Extern>, args: &[Val]) -> Vec<Val> {
    let store = Store::new(engine);
    let module = Module::new(engine, &wat::parse_str(wat).expect("valid wat")).expect("compiles");
    let imports = imports(&store);
    let instance = Instance::new(&store, &module, &imports).expect("instantiates");
    instance.call("f", args).expect("runs")
}

fn one_i64(v: &[Val]) -> i64 {
    match v {
        [Val::I64(x)] => *x,
        [Val::I32(x)] => *x as i64,
        other => panic!("expected one integer, got {other:?}"),
    }
}

/// What every helper in these tests returns: the host function of `host_helper`, and
/// the wasm functions `$helper` and `$clobber`.
fn helper_result(v: i32) -> i32 {
    v.wrapping_mul(3).wrapping_add(1)
}

/// Reference model of `LOOP_WITH_CALLS`.
fn loop_with_calls_model(n: i32) -> i64 {
    let (mut a, mut b, mut c, mut d, mut e, mut f, mut g) = (1i32, 2i32, 3i32, 4i32, 5i32, 6i32, 7i32);
    let mut x = 0.5f64;
    let mut y = 1.25f64;
    let mut sum = 0i64;
    for i in 0..n {
        a = a.wrapping_add(i);
        b ^= a;
        c = c.wrapping_add(helper_result(b));
        d = d.wrapping_sub(c);
        e = e.wrapping_add(d.rotate_left(3));
        f = f.wrapping_add(helper_result(e));
        g ^= f;
        x += a as f64 * 0.5;
        y = y * 0.75 + x;
        sum = sum.wrapping_add((a ^ b ^ c ^ d ^ e ^ f ^ g) as i64) + (x + y) as i64 % 1000;
    }
    sum
}

/// Seven integer and two float locals in a loop that calls: more than the three
/// callee-saved registers, so some pins are caller-saved and must be stored before
/// and reloaded after each call. The callee pins locals of its own.
const LOOP_WITH_CALLS: &str = r#"(module
  (import "host" "helper" (func $host (param i32) (result i32)))
  (func $helper (param $v i32) (result i32)
    (local $i i32) (local $acc i32)
    ;; A loop of its own, so the callee pins (and clobbers) registers too.
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (local.get $v)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))
    (i32.add (local.get $acc) (i32.const 1)))
  (func (export "f") (param $n i32) (result i64)
    (local $i i32) (local $a i32) (local $b i32) (local $c i32) (local $d i32)
    (local $e i32) (local $f i32) (local $g i32) (local $x f64) (local $y f64) (local $sum i64)
    (local.set $a (i32.const 1)) (local.set $b (i32.const 2)) (local.set $c (i32.const 3))
    (local.set $d (i32.const 4)) (local.set $e (i32.const 5)) (local.set $f (i32.const 6))
    (local.set $g (i32.const 7)) (local.set $x (f64.const 0.5)) (local.set $y (f64.const 1.25))
    (block $done
      (loop $top
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $a (i32.add (local.get $a) (local.get $i)))
        (local.set $b (i32.xor (local.get $b) (local.get $a)))
        (local.set $c (i32.add (local.get $c) (call $helper (local.get $b))))
        (local.set $d (i32.sub (local.get $d) (local.get $c)))
        (local.set $e (i32.add (local.get $e) (i32.rotl (local.get $d) (i32.const 3))))
        (local.set $f (i32.add (local.get $f) (call $host (local.get $e))))
        (local.set $g (i32.xor (local.get $g) (local.get $f)))
        (local.set $x (f64.add (local.get $x) (f64.mul (f64.convert_i32_s (local.get $a)) (f64.const 0.5))))
        (local.set $y (f64.add (f64.mul (local.get $y) (f64.const 0.75)) (local.get $x)))
        (local.set $sum
          (i64.add
            (i64.add (local.get $sum)
              (i64.extend_i32_s
                (i32.xor (local.get $a) (i32.xor (local.get $b) (i32.xor (local.get $c)
                  (i32.xor (local.get $d) (i32.xor (local.get $e) (i32.xor (local.get $f) (local.get $g)))))))))
            (i64.rem_s (i64.trunc_f64_s (f64.add (local.get $x) (local.get $y))) (i64.const 1000))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (local.get $sum)))"#;

fn host_helper(store: &Store) -> Vec<Extern> {
    let f = Func::new(store, FuncType::new([ValType::I32], [ValType::I32]), |p, r| {
        let Val::I32(v) = p[0] else { panic!("bad argument {p:?}") };
        r[0] = Val::I32(helper_result(v));
        Ok(())
    });
    vec![Extern::Func(f)]
}

#[test]
fn pinned_locals_survive_wasm_and_host_calls() {
    for engine in engines() {
        for n in [0, 1, 7, 100] {
            let got = one_i64(&run(&engine, LOOP_WITH_CALLS, host_helper, &[Val::I32(n)]));
            assert_eq!(got, loop_with_calls_model(n), "n = {n}");
        }
    }
}

/// A trap deep inside a callee unwinds past frames whose callee-saved pins were saved
/// in their prologues; the host's registers come back from the entry trampoline, and
/// the store keeps working.
#[test]
fn trap_unwinds_past_callee_saved_pins() {
    let wat = r#"(module
      (func $inner (param $k i32) (result i32) (local $i i32) (local $s i32)
        (loop $l
          (local.set $s (i32.add (local.get $s) (i32.div_u (i32.const 100) (i32.sub (local.get $k) (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
        (local.get $s))
      (func (export "f") (param $k i32) (result i32) (local $i i32) (local $t i32)
        (loop $l
          (local.set $t (i32.add (local.get $t) (call $inner (local.get $k))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))
        (local.get $t)))"#;
    for engine in engines() {
        let store = Store::new(&engine);
        let module = Module::new(&engine, &wat::parse_str(wat).unwrap()).unwrap();
        let instance = Instance::new(&store, &module, &[]).unwrap();
        // k = 10: 100/10 + 100/9 + 100/8 + 100/7 = 10 + 11 + 12 + 14 = 47, three times.
        assert_eq!(one_i64(&instance.call("f", &[Val::I32(10)]).unwrap()), 141);
        // k = 2 divides by zero at i = 2.
        let err = instance.call("f", &[Val::I32(2)]).unwrap_err();
        assert!(matches!(err, Error::Trap(_)), "{err:?}");
        assert_eq!(one_i64(&instance.call("f", &[Val::I32(10)]).unwrap()), 141);
    }
}

/// `local.set` while latent reads of the same pinned local sit on the operand stack,
/// `local.tee`, pinned addresses, pinned stored values and a pinned float read as bits.
#[test]
fn writes_under_latent_reads_and_pinned_operands() {
    let wat = r#"(module (memory 1)
      (func (export "f") (param $n i32) (result i64)
        (local $i i32) (local $p i32) (local $v f64) (local $acc i64)
        (loop $l
          ;; old $i + (set $i to $i + 1, then read it): the latent read must see the old value.
          (local.get $i)
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (local.get $i)
          (i32.add)
          (local.set $p (i32.and (i32.mul (local.tee $p (i32.add (local.get $p) (i32.const 12))) (i32.const 4)) (i32.const 4088)))
          (i32.store offset=8 (local.get $p) (local.get $i))
          (local.set $v (f64.add (local.get $v) (f64.convert_i32_u (i32.load offset=8 (local.get $p)))))
          (i64.extend_i32_u)
          (local.set $acc (i64.add (local.get $acc)))
          (local.set $acc (i64.xor (local.get $acc) (i64.reinterpret_f64 (local.get $v))))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
        (local.get $acc)))"#;
    let model = |n: u32| {
        let (mut i, mut p, mut v, mut acc) = (0u32, 0u32, 0f64, 0u64);
        loop {
            let old = i;
            i += 1;
            let pair = old + i;
            p = (p + 12).wrapping_mul(4) & 4088;
            // The stored value is read straight back.
            v += i as f64;
            acc = acc.wrapping_add(pair as u64);
            acc ^= v.to_bits();
            if i >= n {
                break acc as i64;
            }
        }
    };
    for engine in engines() {
        for n in [1u32, 2, 50, 1000] {
            let got = one_i64(&run(&engine, wat, |_| vec![], &[Val::I32(n as i32)]));
            assert_eq!(got, model(n), "n = {n}");
        }
    }
}

/// Results stored straight into a pinned local's register by the operation before the
/// `local.set`/`local.tee`: the cases where the local is also the second operand (it
/// must not be overwritten before it is read), is both operands (`x = x * x`), is read
/// latently deeper in the stack, or is the address of a load.
#[test]
fn results_computed_into_pinned_registers() {
    let wat = r#"(module (memory 1)
      (func (export "f") (param $n i32) (result i64)
        (local $i i32) (local $x i32) (local $y i32) (local $f f64) (local $g f64) (local $acc i64)
        (local $z i32) (local $w i32) (local $h f64)
        (local.set $z (i32.const 7))
        (local.set $w (i32.const 5))
        (local.set $h (f64.const 1.0001))
        (local.set $x (i32.const 3))
        (local.set $f (f64.const 1.5))
        (loop $l
          (local.set $y (i32.sub (local.get $i) (local.get $y)))       ;; y = i - y
          (local.set $x (i32.add (local.get $x) (local.get $x)))       ;; x = x + x
          (local.set $x (i32.sub (i32.const 1000) (local.get $x)))     ;; x = 1000 - x
          (local.get $x)                                               ;; latent read of the old x
          (local.set $x (i32.mul (local.get $x) (i32.const 3)))        ;; x = x * 3
          (local.set $x (i32.shr_u (local.tee $x (i32.xor (local.get $x) (local.get $y))) (i32.const 1)))
          (i32.store (i32.and (local.get $i) (i32.const 255)) (local.get $x))
          (local.set $y (i32.load (i32.and (local.get $y) (i32.const 252)))) ;; y = load(y & 252)
          (local.set $g (f64.div (local.get $f) (local.get $g)))      ;; g = f / g (g = 0 at first: inf)
          (local.set $f (f64.sub (f64.const 2.5) (local.get $f)))     ;; f = 2.5 - f
          (local.set $z (i32.mul (local.get $z) (local.get $z)))       ;; z = z * z
          (local.set $z (i32.add (local.get $z) (local.get $i)))       ;; z = z + i
          (local.set $w (i32.sub (local.get $w) (local.get $w)))       ;; w = w - w
          (local.set $w (i32.add (local.get $w) (local.get $z)))       ;; w = w + z
          (local.set $h (f64.mul (local.get $h) (local.get $h)))       ;; h = h * h
          (local.set $h (f64.min (local.get $h) (local.get $h)))       ;; h = min(h, h)
          (local.set $acc (i64.xor (local.get $acc) (i64.extend_i32_u (local.get $w))))
          (local.set $acc (i64.add (local.get $acc) (i64.reinterpret_f64 (local.get $h))))
          (i64.extend_i32_u)                                           ;; the old x, still on the stack
          (i64.extend_i32_u (i32.add (local.get $x) (local.get $y)))
          (i64.add)
          (local.set $acc (i64.add (local.get $acc)))
          (local.set $acc (i64.xor (local.get $acc) (i64.reinterpret_f64 (f64.add (local.get $f) (local.get $g)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
        (local.get $acc)))"#;
    let model = |n: u32| {
        let mut mem = [0u8; 256 + 4];
        let (mut i, mut x, mut y, mut f, mut g, mut acc) = (0u32, 3u32, 0u32, 1.5f64, 0f64, 0u64);
        // w starts at 5 in the module, but `w - w` clears it before every use.
        let (mut z, mut h) = (7u32, 1.0001f64);
        loop {
            y = i.wrapping_sub(y);
            x = x.wrapping_add(x);
            x = 1000u32.wrapping_sub(x);
            let old_x = x;
            x = x.wrapping_mul(3);
            x ^= y;
            x >>= 1;
            let at = (i & 255) as usize;
            mem[at..at + 4].copy_from_slice(&x.to_le_bytes());
            let from = (y & 252) as usize;
            y = u32::from_le_bytes(mem[from..from + 4].try_into().unwrap());
            g = f / g;
            f = 2.5 - f;
            z = z.wrapping_mul(z).wrapping_add(i);
            let w = z;
            h *= h;
            acc ^= u64::from(w);
            acc = acc.wrapping_add(h.to_bits());
            acc = acc.wrapping_add((old_x as u64).wrapping_add(x.wrapping_add(y) as u64));
            acc ^= (f + g).to_bits();
            i += 1;
            if i >= n {
                break acc as i64;
            }
        }
    };
    for engine in engines() {
        for n in [1u32, 2, 3, 64, 300] {
            let got = one_i64(&run(&engine, wat, |_| vec![], &[Val::I32(n as i32)]));
            assert_eq!(got, model(n), "n = {n}");
        }
    }
}

/// Without SIMD operators, ten float locals get registers (xmm14 down to xmm5), leaving
/// xmm0-4 to the operand stack: every scalar float operation, including the
/// multi-instruction ones (min/max, copysign, checked and saturating conversions,
/// select), must fit beside them, and a call in the loop must save and restore them.
#[test]
fn ten_float_locals_in_registers() {
    let wat = r#"(module
      (func $half (param f64) (result f64) (f64.mul (local.get 0) (f64.const 0.5)))
      (func (export "f") (param $n i32) (result i64)
        (local $a f64) (local $b f64) (local $c f64) (local $d f64) (local $e f64)
        (local $g f64) (local $h f64) (local $k f64) (local $m f64) (local $p f32)
        (local $i i32)
        (local.set $a (f64.const 1.5)) (local.set $b (f64.const -2.25)) (local.set $c (f64.const 3))
        (local.set $d (f64.const 0.125)) (local.set $e (f64.const -7)) (local.set $g (f64.const 11))
        (local.set $h (f64.const 0.5)) (local.set $k (f64.const 100)) (local.set $m (f64.const -0.0))
        (local.set $p (f32.const 2.5))
        (loop $l
          (local.set $a (f64.add (local.get $a) (f64.mul (local.get $b) (local.get $h))))
          (local.set $b (f64.min (f64.sub (local.get $c) (local.get $a)) (f64.max (local.get $d) (local.get $e))))
          (local.set $c (f64.copysign (f64.sqrt (f64.abs (local.get $g))) (local.get $b)))
          (local.set $d (f64.convert_i64_s (i64.trunc_sat_f64_s (f64.mul (local.get $a) (local.get $k)))))
          (local.set $e (select (local.get $e) (f64.neg (local.get $d))
                                (f64.lt (local.get $e) (local.get $d))))
          (local.set $g (f64.div (f64.add (local.get $g) (local.get $c)) (f64.const 1.25)))
          (local.set $h (call $half (f64.add (local.get $h) (local.get $m))))
          (local.set $k (f64.max (f64.nearest (local.get $k)) (f64.floor (local.get $a))))
          (local.set $m (f64.min (local.get $m) (f64.promote_f32 (local.get $p))))
          (local.set $p (f32.demote_f64 (f64.add (f64.promote_f32 (local.get $p)) (local.get $h))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
        (i64.xor
          (i64.xor
            (i64.xor (i64.reinterpret_f64 (local.get $a)) (i64.reinterpret_f64 (local.get $b)))
            (i64.xor (i64.reinterpret_f64 (local.get $c)) (i64.reinterpret_f64 (local.get $d))))
          (i64.add
            (i64.add
              (i64.add (i64.reinterpret_f64 (local.get $e)) (i64.reinterpret_f64 (local.get $g)))
              (i64.add (i64.reinterpret_f64 (local.get $h)) (i64.reinterpret_f64 (local.get $k))))
            (i64.add (i64.reinterpret_f64 (local.get $m)) (i64.extend_i32_u (i32.reinterpret_f32 (local.get $p))))))))"#;
    // wasm's min/max: -0 below +0, which only equal operands can differ in (no NaNs
    // arise here): their sign bits or-ed for min, and-ed for max.
    let min = |x: f64, y: f64| if x == y { f64::from_bits(x.to_bits() | y.to_bits()) } else { x.min(y) };
    let max = |x: f64, y: f64| if x == y { f64::from_bits(x.to_bits() & y.to_bits()) } else { x.max(y) };
    let model = |n: u32| {
        let (mut a, mut b, mut c, mut d, mut e) = (1.5f64, -2.25f64, 3f64, 0.125f64, -7f64);
        let (mut g, mut h, mut k, mut m, mut p) = (11f64, 0.5f64, 100f64, -0.0f64, 2.5f32);
        let mut i = 0u32;
        loop {
            a += b * h;
            b = min(c - a, max(d, e));
            c = g.abs().sqrt().copysign(b);
            d = ((a * k) as i64) as f64;
            e = if e < d { e } else { -d };
            g = (g + c) / 1.25;
            h = (h + m) * 0.5;
            k = max(k.round_ties_even(), a.floor());
            m = min(m, f64::from(p));
            p = (f64::from(p) + h) as f32;
            i += 1;
            if i >= n {
                break;
            }
        }
        let bits = |x: f64| x.to_bits();
        ((bits(a) ^ bits(b)) ^ (bits(c) ^ bits(d)))
            ^ (bits(e)
                .wrapping_add(bits(g))
                .wrapping_add(bits(h).wrapping_add(bits(k)))
                .wrapping_add(bits(m).wrapping_add(u64::from(p.to_bits()))))
    };
    for engine in engines() {
        for n in [1u32, 2, 5, 100] {
            let got = one_i64(&run(&engine, wat, |_| vec![], &[Val::I32(n as i32)]));
            assert_eq!(got as u64, model(n), "n = {n}");
        }
    }
}

/// Comparisons whose 0/1 result a pinned local takes are written straight into its
/// register, integer and float, ordered and not, including a local compared with its
/// own old value (`c = c < 1`), and with NaN operands.
#[test]
fn comparisons_into_pinned_locals() {
    let wat = r#"(module
      (func (export "f") (param $n i32) (param $f f64) (param $g f64) (result i32)
        (local $i i32) (local $c i32) (local $e i32) (local $l i32) (local $acc i32)
        (loop $l
          (local.set $c (i32.lt_u (local.get $c) (i32.const 1)))
          (local.set $e (f64.eq (local.get $f) (local.get $g)))
          (local.set $l (f64.lt (local.get $f) (local.get $g)))
          (local.set $f (f64.add (local.get $f) (f64.const 0.5)))
          (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 3))
            (i32.add (local.get $c) (i32.add (i32.shl (local.get $e) (i32.const 1))
                                             (i32.shl (local.get $l) (i32.const 2))))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
        (local.get $acc)))"#;
    let model = |n: u32, mut f: f64, g: f64| {
        let (mut i, mut c, mut acc) = (0u32, 0u32, 0u32);
        loop {
            c = u32::from(c < 1);
            let e = u32::from(f == g);
            let l = u32::from(f < g);
            f += 0.5;
            acc = acc.wrapping_mul(3).wrapping_add(c + (e << 1) + (l << 2));
            i += 1;
            if i >= n {
                break acc as i32;
            }
        }
    };
    for engine in engines() {
        for (n, f, g) in
            [(1u32, 0.0, 0.0), (7, -1.0, 1.0), (40, 0.0, 3.5), (9, f64::NAN, 1.0), (9, 0.0, f64::NAN)]
        {
            let args = [Val::I32(n as i32), Val::F64(f.to_bits()), Val::F64(g.to_bits())];
            let got = one_i64(&run(&engine, wat, |_| vec![], &args));
            assert_eq!(got as i32, model(n, f, g), "n = {n}, f = {f}, g = {g}");
        }
    }
}

/// Sums of a pinned local and a constant or another pinned local into a fresh register
/// (one `lea`) wrap exactly as `i32.add`/`i32.sub`/`i64.add` do, near 2^32 and 2^64.
#[test]
fn sums_of_pinned_locals_wrap() {
    let wat = r#"(module
      (func (export "f") (param $p i32) (param $q i32) (param $w i64) (result i64)
        (local $i i32) (local $acc i64)
        (loop $l
          (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (i32.add (local.get $p) (i32.const 0x20)))))
          (local.set $acc (i64.xor (local.get $acc) (i64.extend_i32_u (i32.sub (local.get $p) (i32.const 0x7fffffff)))))
          (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (i32.add (local.get $p) (local.get $q)))))
          (local.set $acc (i64.mul (local.get $acc) (i64.add (local.get $w) (i64.const -5))))
          (local.set $acc (i64.add (local.get $acc) (i64.add (local.get $w) (i64.extend_i32_u (local.get $q)))))
          (local.set $p (i32.add (local.get $p) (i32.const 0x10)))
          (local.set $w (i64.add (local.get $w) (i64.const 3)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 9))))
        (local.get $acc)))"#;
    let model = |mut p: u32, q: u32, mut w: u64| {
        let mut acc = 0u64;
        for _ in 0..9 {
            acc = acc.wrapping_add(u64::from(p.wrapping_add(0x20)));
            acc ^= u64::from(p.wrapping_sub(0x7fff_ffff));
            acc = acc.wrapping_add(u64::from(p.wrapping_add(q)));
            acc = acc.wrapping_mul(w.wrapping_sub(5));
            acc = acc.wrapping_add(w.wrapping_add(u64::from(q)));
            p = p.wrapping_add(0x10);
            w = w.wrapping_add(3);
        }
        acc as i64
    };
    for engine in engines() {
        for (p, q, w) in [
            (0xFFFF_FFC0u32, 0x80u32, u64::MAX - 10),
            (3, 0xFFFF_FFFF, 2),
            (0x7FFF_FFF0, 0x7FFF_FFFF, 1 << 63),
        ] {
            let args = [Val::I32(p as i32), Val::I32(q as i32), Val::I64(w as i64)];
            assert_eq!(
                one_i64(&run(&engine, wat, |_| vec![], &args)),
                model(p, q, w),
                "p = {p:#x}, q = {q:#x}"
            );
        }
    }
}

/// Overwrites every xmm register, as Rust code called from wasm may.
fn clobber_all_xmms() {
    // SAFETY: writes only the registers it declares as clobbered.
    unsafe {
        std::arch::asm!(
            "pcmpeqd xmm0, xmm0", "pcmpeqd xmm1, xmm1", "pcmpeqd xmm2, xmm2", "pcmpeqd xmm3, xmm3",
            "pcmpeqd xmm4, xmm4", "pcmpeqd xmm5, xmm5", "pcmpeqd xmm6, xmm6", "pcmpeqd xmm7, xmm7",
            "pcmpeqd xmm8, xmm8", "pcmpeqd xmm9, xmm9", "pcmpeqd xmm10, xmm10", "pcmpeqd xmm11, xmm11",
            out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _,
            out("xmm4") _, out("xmm5") _, out("xmm6") _, out("xmm7") _,
            out("xmm8") _, out("xmm9") _, out("xmm10") _, out("xmm11") _,
        );
    }
}

/// Two v128 accumulators, heavy enough to get (caller-saved) registers, keep all their
/// lanes across a host function that clobbers every caller-saved xmm register, a wasm
/// callee, a runtime helper (`memory.grow`), and a throw caught in the loop (whose
/// landing pad reloads them).
#[test]
fn v128_locals_in_registers_keep_all_lanes() {
    let wat = r#"(module
      (import "host" "clobber" (func $clobber))
      (tag $e)
      (memory 1)
      (func $simd_callee (param $x v128) (result v128)
        (i32x4.mul (local.get $x) (i32x4.add (local.get $x) (v128.const i32x4 7 7 7 7))))
      (func $thrower (param $n i32) (if (i32.and (local.get $n) (i32.const 1)) (then (throw $e))))
      (func (export "f") (param $n i32) (result v128 v128)
        (local $a v128) (local $b v128) (local $i i32)
        (local.set $a (v128.const i32x4 1 2 3 4))
        (local.set $b (v128.const f64x2 0.5 -0.25))
        (loop $l
          (local.set $a (i32x4.add (local.get $a) (v128.const i32x4 1 10 100 1000)))
          (local.set $b (f64x2.add (local.get $b) (v128.const f64x2 1 2)))
          (call $clobber)
          (local.set $a (i32x4.sub (local.get $a) (v128.const i32x4 0 0 0 -1)))
          (drop (call $simd_callee (local.get $b)))
          (local.set $b (f64x2.mul (local.get $b) (v128.const f64x2 1 1)))
          (drop (memory.grow (i32.const 0)))
          (block $caught (try_table (catch $e $caught) (call $thrower (local.get $i))))
          (local.set $a (i32x4.add (local.get $a) (v128.const i32x4 0 0 0 0)))
          (local.set $b (f64x2.sub (local.get $b) (v128.const f64x2 0 0)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
        (local.get $a)
        (local.get $b)))"#;
    let clobber = |store: &Store| {
        vec![Extern::Func(Func::new(store, FuncType::new([], []), |_, _| {
            clobber_all_xmms();
            Ok(())
        }))]
    };
    let i32x4 = |l: [u32; 4]| l.iter().rev().fold(0u128, |acc, &x| (acc << 32) | x as u128);
    let f64x2 = |l: [f64; 2]| ((l[1].to_bits() as u128) << 64) | l[0].to_bits() as u128;
    for engine in engines() {
        for n in [1u32, 2, 9] {
            let got = run(&engine, wat, clobber, &[Val::I32(n as i32)]);
            let a = i32x4([1 + n, 2 + 10 * n, 3 + 100 * n, 4 + 1001 * n]);
            let b = f64x2([0.5 + n as f64, -0.25 + 2.0 * n as f64]);
            assert!(matches!(got[..], [Val::V128(x), Val::V128(y)] if x == a && y == b), "n = {n}: {got:?}");
        }
    }
}

/// An instance of `wat` (importing `imports`) in `store`.
fn instance(store: &Store, wat: &str, imports: &[Extern]) -> Instance {
    let module = Module::new(store.engine(), &wat::parse_str(wat).expect("valid wat")).expect("compiles");
    Instance::new(store, &module, imports).expect("instantiates")
}

fn call_i64(instance: &Instance, name: &str, args: &[Val]) -> i64 {
    one_i64(&instance.call(name, args).unwrap_or_else(|e| panic!("{name}: {e}")))
}

/// Functions without loops pin every local used twice (caller-saved registers first in
/// leaves): those values must survive throws caught in the same function, throws from
/// a callee, legacy try/catch/rethrow and delegate, whatever registers they got.
#[test]
fn straight_line_pins_survive_exceptions() {
    let wat = r#"(module
      (tag $e (param i64)) (tag $e32 (param i32))
      (func $id (param i64) (result i64) (local.get 0))
      (func $g (param i64) (local i64 i64 i64)
        (local.set 1 (call $id (i64.const 111)))
        (local.set 2 (i64.add (local.get 1) (i64.const 222)))
        (local.set 3 (i64.add (local.get 2) (i64.const 333)))
        (local.set 1 (i64.add (local.get 1) (local.get 3)))
        (local.set 2 (i64.add (local.get 2) (local.get 1)))
        (local.set 3 (i64.add (local.get 3) (local.get 2)))
        (throw $e (i64.add (local.get 0) (i64.add (local.get 1) (i64.add (local.get 2) (local.get 3))))))
      (func $catching (param i64) (result i64)
        (block $h (result i64)
          (try_table (catch $e $h) (call $g (local.get 0)))
          (i64.const -1)))
      (func (export "through_callees") (param i64 i64 i64) (result i64) (local i64)
        (local.set 3 (call $catching (local.get 0)))
        (i64.add (i64.add (local.get 0) (local.get 1))
          (i64.add (local.get 2) (i64.add (local.get 3) (i64.mul (local.get 0) (i64.add (local.get 1) (local.get 2)))))))
      (func (export "leaf_throw") (param i32 i64) (result i64) (local i64)
        (local.set 2 (i64.mul (local.get 1) (i64.const 3)))
        (block $h (result i32)
          (try_table (catch $e32 $h)
            (local.set 2 (i64.add (local.get 2) (i64.const 100)))
            (local.set 0 (i32.add (local.get 0) (i32.const 1)))
            (throw $e32 (i32.mul (local.get 0) (i32.const 2))))
          (unreachable))
        i64.extend_i32_u
        (i64.add (local.get 2)) (i64.add (i64.extend_i32_u (local.get 0))) (i64.add (local.get 1)))
      (func (export "rethrown") (param i64 i64) (result i64) (local i64)
        (local.set 2 (i64.add (local.get 0) (local.get 1)))
        try (result i64)
          try
            (local.set 0 (i64.mul (local.get 0) (i64.const 10))) (throw $e (local.get 2))
          catch $e
            (local.set 1 (i64.add (local.get 1) (i64.const 1000))) (drop) (rethrow 0)
          end
          (i64.const -1)
        catch $e
          (i64.add (local.get 0)) (i64.add (local.get 1)) (i64.add (local.get 2))
        end)
      (func $thrower (param i64) (throw $e (local.get 0)))
      (func (export "callee_throws") (param i64 i64) (result i64) (local i64 i64)
        (local.set 2 (i64.add (local.get 0) (local.get 1)))
        (local.set 3 (i64.const 5))
        (block $h (result i64)
          (try_table (catch $e $h)
            (local.set 0 (i64.mul (local.get 0) (i64.const 10)))
            (local.set 3 (i64.add (local.get 3) (local.get 2)))
            (call $thrower (local.get 2))
            (local.set 0 (i64.const 0)))
          (i64.const -1))
        (i64.add (local.get 0)) (i64.add (local.get 1)) (i64.add (local.get 2)) (i64.add (local.get 3)))
      (func (export "delegated") (param i64 i64) (result i64) (local i64 i64)
        (local.set 2 (i64.add (local.get 0) (local.get 1)))
        (local.set 3 (i64.const 5))
        try (result i64)
          try
            (local.set 0 (i64.mul (local.get 0) (i64.const 10)))
            (local.set 3 (i64.add (local.get 3) (local.get 2)))
            (call $thrower (local.get 2))
            (local.set 0 (i64.const 0))
          delegate 0
          (i64.const -1)
        catch_all (i64.const 0)
        end
        (i64.add (local.get 0)) (i64.add (local.get 1)) (i64.add (local.get 2)) (i64.add (local.get 3)))
      (func (export "float_and_ints") (param i64 i64) (result i64) (local i64 i64 f64)
        (local.set 2 (call $id (i64.add (local.get 0) (local.get 1))))
        (local.set 3 (i64.mul (local.get 2) (local.get 0)))
        (local.set 4 (f64.convert_i64_s (local.get 3)))
        (block $h (result i64)
          (try_table (catch $e $h)
            (local.set 2 (i64.add (local.get 2) (i64.const 1000)))
            (local.set 1 (i64.add (local.get 1) (local.get 3)))
            (local.set 4 (f64.add (local.get 4) (f64.const 0.5)))
            (if (i64.ne (local.get 0) (i64.const 0)) (then (throw $e (local.get 3))))
            (local.set 2 (i64.const 0)))
          (i64.const 7))
        (i64.add (local.get 2)) (i64.add (local.get 1)) (i64.add (local.get 3))
        (i64.add (i64.trunc_f64_s (f64.mul (local.get 4) (f64.const 2))))))"#;
    for engine in engines() {
        let store = Store::new(&engine);
        let i = instance(&store, wat, &[]);
        let (a, b, c) = (3, 4, 5);
        // $g throws a + (111 + 666) + (333 + 777) + (666 + 1110) = a + 3663.
        let args = [Val::I64(a), Val::I64(b), Val::I64(c)];
        assert_eq!(call_i64(&i, "through_callees", &args), a + b + c + (a + 3663) + a * (b + c));
        // Payload (5 + 1) * 2, then 30 + 100, 6 and 10.
        assert_eq!(call_i64(&i, "leaf_throw", &[Val::I32(5), Val::I64(10)]), 12 + 130 + 6 + 10);
        // Payload 5, then 20, 1003 and 5.
        assert_eq!(call_i64(&i, "rethrown", &[Val::I64(2), Val::I64(3)]), 5 + 20 + 1003 + 5);
        // Payload 5, then 20, 3, 5 and 10.
        assert_eq!(call_i64(&i, "callee_throws", &[Val::I64(2), Val::I64(3)]), 5 + 20 + 3 + 5 + 10);
        assert_eq!(call_i64(&i, "delegated", &[Val::I64(2), Val::I64(3)]), 20 + 3 + 5 + 10);
        // Thrown: 21, then 1007, 25, 21 and (21.5 * 2).
        assert_eq!(call_i64(&i, "float_and_ints", &[Val::I64(3), Val::I64(4)]), 21 + 1007 + 25 + 21 + 43);
        // Not thrown: 7, then 0, 4, 0 and (0.5 * 2).
        assert_eq!(call_i64(&i, "float_and_ints", &[Val::I64(0), Val::I64(4)]), 7 + 4 + 1);
    }
}

/// Tail calls out of functions without loops, whose parameters are pinned: to an
/// import, through tables into another instance (arguments passed on unchanged or
/// written), and chains through the instance's own table that also write imported
/// global 0; then table 0, imported, grown by its owner and global 0 set from either side.
#[test]
fn straight_line_pins_across_tail_calls_and_instances() {
    let owner_wat = r#"(module (table (export "table") 2 funcref) (elem (i32.const 0) $add3)
      (global (export "g0") (mut i64) (i64.const 7))
      (func $add3 (export "add3") (param i32 i32) (result i32) (i32.add (i32.mul (local.get 0) (i32.const 3)) (local.get 1)))
      (func (export "grow") (result i32) (table.grow (ref.func $add3) (i32.const 1000)))
      (func (export "get") (result i64) (global.get 0))
      (func (export "set") (param i64) (global.set 0 (local.get 0))))"#;
    let user_wat = r#"(module (import "a" "add3" (func $add3 (param i32 i32) (result i32)))
      (import "a" "table" (table 1 funcref)) (import "a" "g0" (global (mut i64)))
      (type $t (func (param i32 i32) (result i32)))
      (type $ts (func (param i32 i64) (result i64)))
      (table $own 2 funcref) (elem (table $own) (i32.const 0) func $count $add_to_global)
      (func (export "import_or_table") (param i32 i32) (result i32)
        (if (i32.gt_u (local.get 0) (local.get 1)) (then (return_call $add3 (local.get 0) (local.get 1))))
        (return_call_indirect (type $t) (local.get 0) (local.get 1) (i32.const 0)))
      (func (export "written_argument") (param i32 i32) (result i32) (local i32)
        (local.set 2 (i32.add (local.get 0) (local.get 1)))
        (return_call_indirect (type $t) (local.get 0) (local.get 2) (i32.const 0)))
      (func $count (param i32 i64) (result i64)
        (if (i32.eqz (local.get 0)) (then (return (local.get 1))))
        (return_call_indirect $own (type $ts) (i32.sub (local.get 0) (i32.const 1))
          (i64.add (local.get 1) (i64.extend_i32_u (local.get 0))) (i32.const 0)))
      (func $add_to_global (export "add_to_global") (param i32 i64) (result i64)
        (if (i32.eqz (local.get 0)) (then (return (i64.add (local.get 1) (local.get 1)))))
        (global.set 0 (i64.add (global.get 0) (local.get 1)))
        (return_call_indirect $own (type $ts) (i32.sub (local.get 0) (i32.const 1)) (local.get 1)
          (i32.wrap_i64 (i64.and (local.get 1) (i64.const 1)))))
      (func (export "count") (param i32 i64) (result i64) (return_call $count (local.get 0) (local.get 1)))
      (func (export "size_plus_call") (param i32 i32 i32) (result i32)
        (i32.add (table.size 0) (call_indirect (type $t) (local.get 0) (local.get 1) (local.get 2))))
      (func (export "get") (result i64) (global.get 0))
      (func (export "set") (param i64) (global.set 0 (local.get 0))))"#;
    for engine in engines() {
        let store = Store::new(&engine);
        let owner = instance(&store, owner_wat, &[]);
        let imports: Vec<Extern> =
            ["add3", "table", "g0"].iter().map(|n| owner.get_export(n).expect("export")).collect();
        let user = instance(&store, user_wat, &imports);
        let i32s = |v: &[i32]| v.iter().map(|&x| Val::I32(x)).collect::<Vec<_>>();
        assert_eq!(call_i64(&user, "import_or_table", &i32s(&[5, 2])), 17);
        assert_eq!(call_i64(&user, "import_or_table", &i32s(&[2, 5])), 11);
        assert_eq!(call_i64(&user, "written_argument", &i32s(&[2, 5])), 13);
        assert_eq!(call_i64(&user, "count", &[Val::I32(4), Val::I64(10)]), 10 + 4 + 3 + 2 + 1);
        // 6 is even: one step adds it to the global, then $count runs 3, 2, 1 down.
        assert_eq!(call_i64(&user, "add_to_global", &[Val::I32(4), Val::I64(6)]), 6 + 3 + 2 + 1);
        assert_eq!(call_i64(&owner, "get", &[]), 7 + 6);
        // 5 is odd: every step adds it, and the last returns it doubled.
        assert_eq!(call_i64(&user, "add_to_global", &[Val::I32(3), Val::I64(5)]), 10);
        assert_eq!(call_i64(&user, "get", &[]), 7 + 6 + 3 * 5);
        assert_eq!(call_i64(&owner, "grow", &[]), 2);
        assert_eq!(call_i64(&user, "size_plus_call", &i32s(&[2, 5, 1001])), 1002 + 11);
        match user.call("size_plus_call", &i32s(&[2, 5, 1002])) {
            Err(Error::Trap(t)) => assert_eq!(t.code(), sidewinder_engine::TrapCode::UndefinedElement),
            other => panic!("{other:?}"),
        }
        owner.call("set", &[Val::I64(-5)]).expect("set");
        assert_eq!(call_i64(&user, "get", &[]), -5);
        user.call("set", &[Val::I64(99)]).expect("set");
        assert_eq!(call_i64(&owner, "get", &[]), 99);
    }
}

/// A branch on a local set to a comparison reads the comparison's flags when only moves
/// come between (`compiler/mod.rs`, `flags_of_local`). Each function pairs a shape
/// that may reuse them with what must stop it or must not be written: a constant zero,
/// pushed before the comparison, set between (an `xor`, which rewrites the flags), an
/// `xor` of values between, an `eqz` of the local for a branch out of the function
/// (whose 0/1 value gets written: into a register of its own, not the local), and the
/// loop-exit shape with a `local.tee`. Each is checked against a model on inputs around
/// every boundary.
#[test]
fn branches_on_locals_set_to_comparisons() {
    type Model = fn(i32, i32) -> i32;
    let cases: [(&str, Model); 5] = [
        (
            "(module (func (export \"f\") (param i32 i32) (result i32) (local i32 i32)
               (local.set 2 (i32.lt_u (local.get 0) (local.get 1)))
               (local.set 3 (local.get 0))
               (if (i32.eqz (local.get 2)) (then (return (i32.add (i32.const 100) (local.get 3)))))
               (i32.add (i32.const 200) (i32.add (local.get 2) (local.get 3)))))",
            |a, b| if (a as u32) < (b as u32) { a.wrapping_add(201) } else { a.wrapping_add(100) },
        ),
        (
            "(module (func (export \"f\") (param i32 i32) (result i32) (local i32 i32)
               (local.set 2 (i32.lt_s (local.get 0) (local.get 1)))
               (local.set 3 (local.get 1))
               (drop (br_if 0 (local.get 2) (i32.eqz (local.get 2))))
               (i32.add (i32.mul (local.get 2) (i32.const 1000)) (local.get 3))))",
            |a, b| if a < b { b.wrapping_add(1000) } else { 0 },
        ),
        (
            "(module (func (export \"f\") (param i32 i32) (result i32) (local i32 i32)
               (block
                 ;; The zero waits below the comparison: its set right after is an `xor`.
                 i32.const 0
                 (local.set 2 (i32.eq (local.get 0) (local.get 1)))
                 local.set 3
                 (br_if 0 (local.get 2))
                 (local.set 3 (i32.const 7)))
               (i32.add (local.get 3) (i32.mul (local.get 2) (i32.const 10)))))",
            |a, b| if a == b { 10 } else { 7 },
        ),
        (
            "(module (func (export \"f\") (param i32 i32) (result i32) (local i32 i32)
               (block
                 (local.set 2 (i32.gt_u (local.get 0) (local.get 1)))
                 (local.set 3 (i32.xor (local.get 0) (local.get 1)))
                 (br_if 0 (local.get 2))
                 (local.set 3 (i32.const 5)))
               (i32.add (local.get 3) (i32.mul (local.get 2) (i32.const 100)))))",
            |a, b| if (a as u32) > (b as u32) { (a ^ b).wrapping_add(100) } else { 5 },
        ),
        (
            "(module (func (export \"f\") (param i32 i32) (result i32) (local i32 i32 i32)
               (loop
                 (local.set 2 (i32.add (local.get 2) (i32.const 1)))
                 (local.set 4 (local.get 2))
                 (br_if 0 (local.tee 3 (i32.lt_s (local.get 2) (local.get 0)))))
               (i32.add (i32.add (local.get 4) (local.get 1)) (i32.mul (local.get 3) (i32.const 1000)))))",
            |a, b| a.clamp(1, 40).wrapping_add(b),
        ),
    ];
    let inputs = [(0, 0), (1, 2), (2, 1), (-1, 1), (1, -1), (5, 5), (i32::MIN, i32::MAX), (40, 3), (-7, -7)];
    for engine in engines() {
        for (k, (wat, model)) in cases.iter().enumerate() {
            for &(a, b) in &inputs {
                let got = one_i64(&run(&engine, wat, |_| vec![], &[Val::I32(a), Val::I32(b)]));
                assert_eq!(got, model(a, b) as i64, "case {k} with ({a}, {b})");
            }
        }
    }
}

/// A callee that pins eight locals of its own, clobbering the caller-saved registers,
/// and returns `helper_result` of its argument.
const CLOBBER: &str = "(func $clobber (param $v i32) (result i32)
    (local $i i32) (local $a i32) (local $b i32) (local $c i32) (local $d i32)
    (local $e i32) (local $f i32) (local $g i32)
    (loop $l
      (local.set $a (i32.add (local.get $a) (i32.const -1)))
      (local.set $b (i32.xor (local.get $b) (local.get $a)))
      (local.set $c (i32.sub (local.get $c) (local.get $b)))
      (local.set $d (i32.add (local.get $d) (local.get $c)))
      (local.set $e (i32.xor (local.get $e) (local.get $d)))
      (local.set $f (i32.sub (local.get $f) (local.get $e)))
      (local.set $g (i32.add (local.get $g) (local.get $f)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 2))))
    (drop (i32.add (local.get $g) (local.get $a)))
    (i32.add (i32.mul (local.get $v) (i32.const 3)) (i32.const 1)))";

/// Two rounds of mixing the locals `$p`, `$q` and `$u` (`mix_pqu`): read more than the
/// others, they take the callee-saved registers.
const MIX_PQU: &str = "(local.set $p (i32.add (local.get $p) (i32.add (local.get $q) (local.get $u))))
      (local.set $q (i32.xor (local.get $q) (i32.add (local.get $p) (local.get $u))))
      (local.set $u (i32.sub (local.get $u) (i32.xor (local.get $p) (local.get $q))))
      (local.set $p (i32.add (local.get $p) (i32.add (local.get $q) (local.get $u))))
      (local.set $q (i32.xor (local.get $q) (i32.add (local.get $p) (local.get $u))))
      (local.set $u (i32.sub (local.get $u) (i32.xor (local.get $p) (local.get $q))))";

/// Reference model of `MIX_PQU`.
fn mix_pqu(mut p: i32, mut q: i32, mut u: i32) -> (i32, i32, i32) {
    for _ in 0..2 {
        p = p.wrapping_add(q.wrapping_add(u));
        q ^= p.wrapping_add(u);
        u = u.wrapping_sub(p ^ q);
    }
    (p, q, u)
}

/// Runs export `f` of `wat` (with `imports`) for each of `ns` on every engine and
/// compares its result with `model`.
fn check_against_model(wat: &str, imports: fn(&Store) -> Vec<Extern>, model: fn(i32) -> i32, ns: &[i32]) {
    for engine in engines() {
        for &n in ns {
            let got = one_i64(&run(&engine, wat, imports, &[Val::I32(n)]));
            assert_eq!(got, model(n) as i64, "n = {n}");
        }
    }
}

/// Reference model of `calls_between_writes`.
fn calls_between_writes_model(n: i32) -> i32 {
    let (mut a, mut b, mut c, mut d, mut e, mut f, mut g) = (1i32, 2i32, 3i32, 4i32, 5i32, 6i32, 7i32);
    let mut s = 0i32;
    for i in 0..n {
        a = a.wrapping_add(i);
        let r0 = helper_result(a);
        b ^= r0;
        let r1 = helper_result(b);
        e = r1;
        f = helper_result(c);
        a = a.wrapping_add(1);
        let r2 = helper_result(c);
        if i & 1 != 0 {
            c = c.wrapping_add(r1);
        }
        let r3 = helper_result(a);
        d = d.wrapping_add(r2 ^ r3);
        let r4 = helper_result(d);
        e = e.wrapping_add(r4).wrapping_add(a ^ b ^ c);
        f = f.wrapping_add(e).wrapping_add(g);
        g ^= f.wrapping_add(d);
        let mixed = a ^ b.wrapping_add(c ^ d.wrapping_add(e ^ f.wrapping_add(g)));
        s = s.wrapping_add(mixed.wrapping_mul(6));
    }
    s ^ a ^ b ^ c ^ d ^ e ^ f ^ g
}

/// Seven pinned locals, some of them in caller-saved registers, with calls of every
/// kind between writes to them: a call stores a caller-saved pin only if it was written
/// since the last call stored or reloaded it (`synced_pins`). Between calls here the
/// locals are written by a `local.set` of another local, by an operation that computes
/// into the local's register (`a + 1`), on one arm of an `if` (whose end may be reached
/// with the home stale), by a call's result, and not at all; the loop's header is reached both
/// after a call before the loop and from the bottom, after writes. Every callee clobbers every
/// caller-saved register it can: one pins eight locals of its own, one is a host
/// function, one is called through a table, and `memory.grow` calls a helper.
fn calls_between_writes() -> String {
    let mix_into_s = "(local.set $s (i32.add (local.get $s) (i32.xor (local.get $a) (i32.add (local.get $b)
          (i32.xor (local.get $c) (i32.add (local.get $d) (i32.xor (local.get $e) (i32.add (local.get $f) (local.get $g)))))))))
        ";
    let six_mixes_into_s = mix_into_s.repeat(6);
    format!(
        r#"(module
  (import "host" "helper" (func $host (param i32) (result i32)))
  (type $t (func (param i32) (result i32)))
  (table 1 funcref) (elem (i32.const 0) $clobber)
  (memory 1)
  {CLOBBER}
  (func (export "f") (param $n i32) (result i32)
    (local $i i32) (local $a i32) (local $b i32) (local $c i32) (local $d i32)
    (local $e i32) (local $f i32) (local $g i32) (local $s i32) (local $r1 i32) (local $r2 i32) (local $r3 i32)
    (local.set $a (i32.const 1)) (local.set $b (i32.const 2)) (local.set $c (i32.const 3))
    (local.set $d (i32.const 4)) (local.set $e (i32.const 5)) (local.set $f (i32.const 6))
    (local.set $g (i32.const 7))
    ;; A call before the loop: its header is reached from the bottom too, after writes.
    (local.set $r1 (call $host (local.get $n)))
    (block $done
      (loop $top
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $a (i32.add (local.get $a) (local.get $i)))
        (local.set $b (i32.xor (local.get $b) (call $clobber (local.get $a))))
        (local.set $r1 (call $host (local.get $b)))
        (local.set $e (local.get $r1))
        ;; A call whose result goes straight to a pinned local (f's old value is dead).
        (local.set $f (call $host (local.get $c)))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (local.set $r2 (call_indirect (type $t) (local.get $c) (i32.const 0)))
        (if (i32.and (local.get $i) (i32.const 1))
          (then (local.set $c (i32.add (local.get $c) (local.get $r1)))))
        (local.set $r3 (call $clobber (local.get $a)))
        (drop (memory.grow (i32.const 0)))
        (local.set $d (i32.add (local.get $d) (i32.xor (local.get $r2) (local.get $r3))))
        (local.set $e (i32.add (local.get $e)
          (i32.add (call $host (local.get $d))
            (i32.xor (local.get $a) (i32.xor (local.get $b) (local.get $c))))))
        (local.set $f (i32.add (local.get $f) (i32.add (local.get $e) (local.get $g))))
        (local.set $g (i32.xor (local.get $g) (i32.add (local.get $f) (local.get $d))))
        ;; Six reads of each local more: enough uses for the locals to outweigh the calls,
        ;; so that those not in callee-saved registers are pinned in caller-saved ones.
        {six_mixes_into_s}
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (i32.xor (local.get $s) (i32.xor (local.get $a) (i32.xor (local.get $b) (i32.xor (local.get $c)
      (i32.xor (local.get $d) (i32.xor (local.get $e) (i32.xor (local.get $f) (local.get $g))))))))))"#
    )
}

#[test]
fn caller_saved_pins_are_stored_when_written_since_the_last_call() {
    check_against_model(
        &calls_between_writes(),
        host_helper,
        calls_between_writes_model,
        &[0, 1, 2, 3, 10, 101],
    );
}

/// Reference model of `call_result_over_latent_read`.
fn call_result_over_latent_read_model(n: i32) -> i32 {
    let (mut i, mut p, mut q, mut u, mut w) = (0i32, 0i32, 0i32, 0i32, 5i32);
    loop {
        (p, q, u) = mix_pqu(p, q, u);
        let before = w;
        w = helper_result(w.wrapping_add(i));
        p = p.wrapping_add(before.wrapping_sub(w));
        i += 1;
        if (i as u32) >= (n as u32) {
            return p ^ q ^ u ^ w;
        }
    }
}

/// A call's result stored straight into a caller-saved pinned local (`w`: p, q and u,
/// read more, take the callee-saved registers) while the stack still reads the local's
/// value from before the call: the register must be reloaded for that read first,
/// although the store overwrites it next. The callee pins eight locals, clobbering
/// the caller-saved registers.
fn call_result_over_latent_read() -> String {
    format!(
        r#"(module
  {CLOBBER}
  (func (export "f") (param $n i32) (result i32)
    (local $i i32) (local $p i32) (local $q i32) (local $u i32) (local $w i32)
    (local.set $w (i32.const 5))
    (loop $l
      {MIX_PQU}
      local.get $w
      (local.set $w (call $clobber (i32.add (local.get $w) (local.get $i))))
      local.get $w
      i32.sub
      (local.set $p (i32.add (local.get $p)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i32.xor (local.get $p) (i32.xor (local.get $q) (i32.xor (local.get $u) (local.get $w))))))"#
    )
}

#[test]
fn call_result_stored_over_a_latent_read_of_the_local() {
    check_against_model(
        &call_result_over_latent_read(),
        |_| Vec::new(),
        call_result_over_latent_read_model,
        &[0, 1, 2, 9, 100],
    );
}

/// Reference model of `call_then_branch`.
fn call_then_branch_model(n: i32) -> i32 {
    let (mut i, mut p, mut q, mut u, mut x, mut y) = (0i32, 0i32, 0i32, 0i32, 5i32, 11i32);
    loop {
        (p, q, u) = mix_pqu(p, q, u);
        p = p.wrapping_add(helper_result(i));
        if i & 1 == 0 {
            x = i.wrapping_add(7);
            y = 40;
        }
        q = q.wrapping_add(x ^ y);
        i += 1;
        if (i as u32) >= (n as u32) {
            return p ^ q ^ u ^ x ^ y;
        }
    }
}

/// A branch right after a call, past code that writes the caller-saved pins `x` and
/// `y` before any read and before the next call: their reload after the first call
/// looks dead on the straight line, but the branch arrives where they are read, so
/// the reload must stay (`unread_after_call` stops at the branch).
fn call_then_branch() -> String {
    format!(
        r#"(module
  {CLOBBER}
  (func (export "f") (param $n i32) (result i32)
    (local $i i32) (local $p i32) (local $q i32) (local $u i32) (local $x i32) (local $y i32)
    (local.set $x (i32.const 5)) (local.set $y (i32.const 11))
    (loop $l
      {MIX_PQU}
      (block $out
        (local.set $p (i32.add (local.get $p) (call $clobber (local.get $i))))
        ;; Leaves with x and y as they were: they are read after the block.
        (br_if $out (i32.and (local.get $i) (i32.const 1)))
        (local.set $x (i32.add (local.get $i) (i32.const 7)))
        (local.set $y (global.get 0))
        (drop (call $clobber (i32.const 0))))
      (local.set $q (i32.add (local.get $q) (i32.xor (local.get $x) (local.get $y))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i32.xor (local.get $p) (i32.xor (local.get $q) (i32.xor (local.get $u) (i32.xor (local.get $x) (local.get $y))))))
  (global (mut i32) (i32.const 40)))
"#
    )
}

#[test]
fn pins_reloaded_for_a_branch_after_a_call() {
    check_against_model(&call_then_branch(), |_| Vec::new(), call_then_branch_model, &[0, 1, 2, 9, 100]);
}

/// Reference model of `calls_around_a_float_select`.
fn calls_around_a_float_select_model(n: i32) -> i32 {
    let (mut i, mut p, mut q, mut u, mut x) = (0i32, 0i32, 0i32, 0i32, 5i32);
    loop {
        (p, q, u) = mix_pqu(p, q, u);
        x = x.wrapping_add(i);
        p = p.wrapping_add(helper_result(i));
        let y = if i & 1 != 0 { 1.5f64 } else { 2.5 };
        q = q.wrapping_add(helper_result(u));
        u = u.wrapping_add(x.wrapping_add(y as i32));
        i += 1;
        if (i as u32) >= (n as u32) {
            return p ^ q ^ u ^ x;
        }
    }
}

/// The caller-saved pin `x`, written in the loop, is neither read nor written between
/// two calls, so the first call leaves out its reload; a float `select` between them
/// binds a label of its own, after which the second call stores every written pin it
/// cannot prove current, but never one whose register the first call left stale
/// (`stale_pins`): that would overwrite `x`'s home with what the callee left there.
fn calls_around_a_float_select() -> String {
    format!(
        r#"(module
  {CLOBBER}
  (func (export "f") (param $n i32) (result i32)
    (local $i i32) (local $p i32) (local $q i32) (local $u i32) (local $x i32) (local $y f64)
    (local.set $x (i32.const 5))
    (loop $l
      {MIX_PQU}
      (local.set $x (i32.add (local.get $x) (local.get $i)))
      (local.set $p (i32.add (local.get $p) (call $clobber (local.get $i))))
      ;; A float select binds a label of its own between the calls.
      (local.set $y (select (f64.const 1.5) (f64.const 2.5) (i32.and (local.get $i) (i32.const 1))))
      (local.set $q (i32.add (local.get $q) (call $clobber (local.get $u))))
      (local.set $u (i32.add (local.get $u) (i32.add (local.get $x) (i32.trunc_f64_s (local.get $y)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i32.xor (local.get $p) (i32.xor (local.get $q) (i32.xor (local.get $u) (local.get $x))))))
"#
    )
}

#[test]
fn a_pin_left_stale_by_a_call_is_not_stored_by_the_next() {
    check_against_model(
        &calls_around_a_float_select(),
        |_| Vec::new(),
        calls_around_a_float_select_model,
        &[0, 1, 2, 9, 100],
    );
}

/// Reference model of `call_at_a_loop_header`.
fn call_at_a_loop_header_model(n: i32) -> i32 {
    let (mut i, mut q, mut u, mut x) = (0i32, 0i32, 0i32, 5i32);
    let mut p = helper_result(n);
    loop {
        (p, q, u) = mix_pqu(p, q, u);
        q = q.wrapping_add(helper_result(x));
        x = x.wrapping_add(i);
        i += 1;
        if (i as u32) >= (n as u32) {
            return p ^ q ^ u ^ x;
        }
    }
}

/// The caller-saved pin `x` is stored at a call before the loop, so that call leaves
/// its home current; the loop's call reads `x` and the loop's bottom writes it. The
/// loop header is reached from that bottom too, so the loop's call must store `x`
/// again: a label bound since a call makes `synced_pins` stale.
fn call_at_a_loop_header() -> String {
    format!(
        r#"(module
  {CLOBBER}
  (func (export "f") (param $n i32) (result i32)
    (local $i i32) (local $p i32) (local $q i32) (local $u i32) (local $x i32)
    (local.set $x (i32.const 5))
    (local.set $p (call $clobber (local.get $n)))
    (loop $l
      {MIX_PQU}
      (local.set $q (i32.add (local.get $q) (call $clobber (local.get $x))))
      (local.set $x (i32.add (local.get $x) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i32.xor (local.get $p) (i32.xor (local.get $q) (i32.xor (local.get $u) (local.get $x))))))"#
    )
}

#[test]
fn a_call_after_a_loop_header_stores_what_the_loop_wrote() {
    check_against_model(
        &call_at_a_loop_header(),
        |_| Vec::new(),
        call_at_a_loop_header_model,
        &[0, 1, 2, 9, 100],
    );
}

//! Modules that keep many locals in registers across calls, where wasm-smith rarely goes:
//! one exported function with nine i32, two i64, five f64 and two f32 locals (and a v128
//! in some), a loop of random statements among which direct, indirect and 64-bit calls,
//! (one with ten parameters of mixed types) then a hash of every local as the result. Pinned locals are stored before a call only
//! when stale and reloaded after it only when read again (`synced_pins`,
//! `unread_after_call`), and may skip their zero start (`set_before_read`): a mistake in
//! any of these shows up here as a wrong hash. A generator of this shape (helper-26's, in
//! the nineteenth session) found the nested-`if` zero-start bug that 48fc627 fixed.

use super::generate::Rng;
use std::fmt::Write;

const INTS: [&str; 9] = ["$i0", "$i1", "$i2", "$i3", "$i4", "$i5", "$i6", "$i7", "$i8"];
const LONGS: [&str; 2] = ["$l0", "$l1"];
const DOUBLES: [&str; 5] = ["$d0", "$d1", "$d2", "$d3", "$d4"];
const FLOATS: [&str; 2] = ["$s0", "$s1"];

/// Expressions nest at most this deep.
const MAX_DEPTH: u32 = 3;

struct Calls {
    rng: Rng,
    v128: bool,
}

impl Calls {
    fn percent(&mut self) -> u64 {
        self.rng.below(100)
    }

    fn pick<'s>(&mut self, names: &[&'s str]) -> &'s str {
        names[self.rng.below(names.len() as u64) as usize]
    }

    fn int_in(&mut self, low: i64, high: i64) -> i64 {
        low + self.rng.below((high - low + 1) as u64) as i64
    }

    fn address(&mut self, depth: u32) -> String {
        format!("(i32.and {} (i32.const 0xff8))", self.int(depth))
    }

    fn int(&mut self, depth: u32) -> String {
        if depth >= MAX_DEPTH || self.percent() < 25 {
            return if self.percent() < 60 {
                format!("(local.get {})", self.pick(&INTS))
            } else {
                format!("(i32.const {})", self.int_in(-50, 1000))
            };
        }
        let d = depth + 1;
        match self.percent() {
            0..35 => {
                let op = self.pick(&[
                    "add", "sub", "mul", "and", "or", "xor", "shl", "shr_s", "shr_u", "rotl", "rotr",
                ]);
                format!("(i32.{op} {} {})", self.int(d), self.int(d))
            }
            35..45 => {
                let op =
                    self.pick(&["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"]);
                format!("(i32.{op} {} {})", self.int(d), self.int(d))
            }
            45..50 => format!("(i32.eqz {})", self.int(d)),
            50..60 => {
                let width = self.pick(&["", "8_s", "8_u", "16_s", "16_u"]);
                let offset = self.rng.below(65);
                format!("(i32.load{width} offset={offset} {})", self.address(d))
            }
            60..70 => format!("(select {} {} {})", self.int(d), self.int(d), self.int(d)),
            70..75 => "(global.get $g)".into(),
            75..82 => format!("(local.tee {} {})", self.pick(&INTS), self.int(d)),
            82..87 => format!("(i32.wrap_i64 {})", self.long(d)),
            87..92 => format!("(i64.eqz {})", self.long(d)),
            _ => format!("(local.get {})", self.pick(&INTS)),
        }
    }

    fn long(&mut self, depth: u32) -> String {
        if depth >= MAX_DEPTH || self.percent() < 30 {
            return if self.percent() < 50 {
                format!("(local.get {})", self.pick(&LONGS))
            } else {
                format!("(i64.extend_i32_{} {})", self.pick(&["s", "u"]), self.int(depth + 1))
            };
        }
        let d = depth + 1;
        match self.percent() {
            0..43 => {
                let op = self.pick(&["add", "sub", "mul", "xor", "rotl"]);
                format!("(i64.{op} {} {})", self.long(d), self.long(d))
            }
            43..57 => format!("(i64.load offset=8 {})", self.address(d)),
            57..79 => format!("(select {} {} {})", self.long(d), self.long(d), self.int(d)),
            _ => format!("(local.tee {} {})", self.pick(&LONGS), self.long(d)),
        }
    }

    /// A float operand of type `ty` that nests nothing: one of `locals`, or a constant.
    fn float_leaf(&mut self, ty: &str, locals: &[&str]) -> String {
        if self.percent() < 60 {
            format!("(local.get {})", self.pick(locals))
        } else {
            format!("({ty}.const {})", self.int_in(-100, 100) as f64 / 4.0)
        }
    }

    fn double(&mut self, depth: u32) -> String {
        if depth >= MAX_DEPTH || self.percent() < 40 {
            return self.float_leaf("f64", &DOUBLES);
        }
        let d = depth + 1;
        match self.percent() {
            0..50 => format!("(select {} {} {})", self.double(d), self.double(d), self.int(d)),
            50..67 => format!("(f64.load offset=16 {})", self.address(d)),
            67..83 => format!("(local.tee {} {})", self.pick(&DOUBLES), self.double(d)),
            // Canonicalized: of two NaNs, Sidewinder's sum keeps the left one's payload
            // and wasmi's the right one's (both allowed), and loads can make NaNs of any
            // payload.
            _ => {
                let sum = format!("(f64.add {} {})", self.double(d), self.double(d));
                format!("(select (f64.const nan) (local.tee $sum {sum}) (f64.ne (local.get $sum) (local.get $sum)))")
            }
        }
    }

    fn float(&mut self, depth: u32) -> String {
        if depth >= MAX_DEPTH || self.percent() < 50 {
            return self.float_leaf("f32", &FLOATS);
        }
        let d = depth + 1;
        if self.percent() < 60 {
            format!("(select {} {} {})", self.float(d), self.float(d), self.int(d))
        } else {
            format!("(f32.load offset=4 {})", self.address(d))
        }
    }

    fn vector(&mut self) -> String {
        if self.percent() < 50 {
            return "(local.get $v)".into();
        }
        let (a, b) = (self.rng.below(10), self.rng.below(10));
        format!("(select (local.get $v) (v128.const i32x4 {a} {b} 7 8) {})", self.int(1))
    }

    fn call(&mut self) -> String {
        match self.percent() {
            0..40 => format!("(call $h {} {})", self.int(1), self.int(1)),
            40..60 => {
                let (a, b, index) = (self.int(1), self.int(1), self.int(1));
                format!("(call_indirect (type $t) {a} {b} (i32.and {index} (i32.const 1)))")
            }
            60..75 => format!("(call $k {})", self.int(1)),
            75..88 => format!("(i32.wrap_i64 (call $q {}))", self.long(1)),
            // Ten parameters of mixed types: the ones `WASM_ARG_GPRS` carry (here the
            // second and, as an i64, the third are not: only the first two slots are),
            // and the ones past them, which only the outgoing area brings.
            _ => {
                let (d, a, l, b, c) = (self.double(1), self.int(1), self.long(1), self.int(1), self.int(1));
                let (f, e, g, m, h) = (self.float(1), self.int(1), self.int(1), self.long(1), self.int(1));
                format!("(call $w {d} {a} {l} {b} {c} {f} {e} {g} {m} {h})")
            }
        }
    }

    fn statement(&mut self) -> String {
        let roll = self.percent();
        match roll {
            0..30 => format!("(local.set {} {})", self.pick(&INTS), self.int(0)),
            30..38 => format!("(local.set {} {})", self.pick(&LONGS), self.long(0)),
            38..48 => format!("(local.set {} {})", self.pick(&DOUBLES), self.double(0)),
            48..53 => format!("(local.set {} {})", self.pick(&FLOATS), self.float(0)),
            53..57 if self.v128 => format!("(local.set $v {})", self.vector()),
            53..62 => {
                let offset = self.rng.below(33);
                format!("(i32.store offset={offset} {} {})", self.address(0), self.int(0))
            }
            62..65 => format!("(f64.store offset=16 {} {})", self.address(0), self.double(0)),
            65..68 => format!("(global.set $g {})", self.int(0)),
            68..70 => format!("(drop {})", self.int(0)),
            70..85 => format!("(local.set {} {})", self.pick(&INTS), self.call()),
            85..88 => format!("(drop {})", self.call()),
            88..91 => {
                let condition = self.int(0);
                format!(
                    "(if (i32.and {condition} (i32.const 1)) (then {}) (else {}))",
                    self.statement(),
                    self.statement()
                )
            }
            91..93 => format!("(br_if $cont (i32.eqz (i32.and {} (i32.const 7))))", self.int(0)),
            93..95 => {
                let (target, a, b) = (self.pick(&INTS), self.int(0), self.int(0));
                format!("(local.set {target} (i32.div_u {a} (i32.or {b} (i32.const 1))))")
            }
            95..97 => format!("(local.set {} (i32.clz {}))", self.pick(&INTS), self.int(0)),
            _ => "(nop)".into(),
        }
    }
}

/// Mixes `value` (an i32 expression) into `$acc`.
fn mix(hash: &mut String, value: &str) {
    writeln!(hash, "(local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) {value}))").unwrap();
}

/// The module for `seed`, in the text format.
pub fn module_text(seed: u64) -> String {
    let mut g = Calls { rng: Rng::new(seed ^ 0xca11_5eed), v128: false };
    g.v128 = g.percent() < 30;
    let statements: Vec<String> = (0..15 + g.rng.below(31)).map(|_| g.statement()).collect();
    let mut hash = String::from("(local.set $acc (i32.const 0))\n");
    for x in INTS {
        mix(&mut hash, &format!("(local.get {x})"));
    }
    for x in LONGS {
        mix(
            &mut hash,
            &format!("(i32.wrap_i64 (i64.xor (local.get {x}) (i64.shr_u (local.get {x}) (i64.const 32))))"),
        );
    }
    for x in DOUBLES {
        mix(&mut hash, &format!("(i32.wrap_i64 (i64.reinterpret_f64 (local.get {x})))"));
    }
    for x in FLOATS {
        mix(&mut hash, &format!("(i32.reinterpret_f32 (local.get {x}))"));
    }
    if g.v128 {
        hash.push_str("(local.set $acc (i32.add (local.get $acc) (i32x4.extract_lane 3 (local.get $v))))\n");
    }
    mix(&mut hash, "(global.get $g)");
    // $i0 and $i1 are the parameters.
    let mut locals: String = INTS[2..].iter().map(|x| format!("(local {x} i32) ")).collect();
    for (names, ty) in [(&LONGS[..], "i64"), (&DOUBLES[..], "f64"), (&FLOATS[..], "f32")] {
        for x in names {
            write!(locals, "(local {x} {ty}) ").unwrap();
        }
    }
    if g.v128 {
        locals.push_str("(local $v v128) ");
    }
    locals.push_str("(local $n i32) (local $acc i32) (local $sum f64)");
    let iterations = 3 + g.rng.below(10);
    let body = statements.join("\n        ");
    format!(
        r#"(module
  (type $t (func (param i32 i32) (result i32)))
  (memory 1)
  (global $g (mut i32) (i32.const 5))
  (table 2 funcref) (elem (i32.const 0) $h $h2)
  (func $h (type $t) (local $a i32) (local $b i32) (local $c i32) (local $d i32)
    (local.set $a (local.get 0)) (local.set $b (local.get 1))
    (local.set $c (i32.add (local.get $a) (i32.mul (local.get $b) (i32.const 3))))
    (local.set $d (i32.xor (local.get $c) (i32.const 0x5555)))
    (global.set $g (i32.add (global.get $g) (i32.const 1)))
    (i32.store offset=4 (i32.and (local.get $d) (i32.const 0xff0)) (local.get $c))
    (i32.add (local.get $d) (i32.rotl (local.get $a) (local.get $b))))
  (func $h2 (type $t) (local $a f64) (local $b f64)
    (local.set $a (f64.convert_i32_s (local.get 0)))
    (local.set $b (f64.mul (local.get $a) (f64.const 1.5)))
    (f64.store offset=16 (i32.and (local.get 1) (i32.const 0xff8)) (local.get $b))
    (i32.sub (local.get 0) (i32.trunc_sat_f64_s (local.get $b))))
  (func $k (param i32) (result i32) (local $x i32) (local $y i64) (local $z f64)
    (local.set $x (i32.mul (local.get 0) (i32.const 7)))
    (local.set $y (i64.extend_i32_s (local.get $x)))
    (local.set $z (f64.const 3.25))
    (i32.wrap_i64 (i64.add (local.get $y) (i64.trunc_sat_f64_s (local.get $z)))))
  (func $q (param i64) (result i64) (i64.rotl (local.get 0) (i64.const 13)))
  (func $w (param f64 i32 i64 i32 i32 f32 i32 i32 i64 i32) (result i32)
    (i32.add (i32.add (i32.add (i32.wrap_i64 (i64.reinterpret_f64 (local.get 0))) (i32.mul (local.get 1) (i32.const 3)))
                      (i32.add (i32.wrap_i64 (i64.mul (local.get 2) (i64.const 5))) (i32.mul (local.get 3) (i32.const 7))))
             (i32.add (i32.add (i32.mul (local.get 4) (i32.const 11)) (i32.reinterpret_f32 (local.get 5)))
                      (i32.add (i32.add (i32.mul (local.get 6) (i32.const 13)) (i32.mul (local.get 7) (i32.const 17)))
                               (i32.add (i32.wrap_i64 (i64.rotl (local.get 8) (i64.const 7))) (i32.mul (local.get 9) (i32.const 19)))))))
  (func (export "f") (param $i0 i32) (param $i1 i32) (result i32) {locals}
    (local.set $n (i32.const {iterations}))
    (loop $top
      (block $cont
        {body}
      )
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $top (local.get $n)))
    {hash}
    (local.get $acc)))
"#
    )
}

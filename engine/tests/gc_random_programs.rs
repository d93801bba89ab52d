//! Random programs of struct and array instructions, checked against a model in Rust.
//! The spec scripts fix one operand form per assertion and wasm-smith's GC modules
//! mostly trap early, so this test varies what the compiler must get right: field and
//! element sizes (packed ones read signed and unsigned), values from constants,
//! parameters, locals and expressions, objects from locals, a global and block results,
//! many values live at once (a wide `struct.new`), indices in and out of bounds, and
//! bulk array operations. Each program folds what it reads into an i64 checksum; a
//! program with an out-of-bounds index must trap there.
//!
//! `SIDEWINDER_GC_PROGRAMS` (default 300) and `SIDEWINDER_GC_PROGRAM_SEED` (the first
//! seed) widen a local sweep.

#[allow(dead_code)] // the verdict helpers are for the tests that compare verdicts
mod support;

use sidewinder_engine::{Config, Engine, Error, Instance, Module, Store, TrapCode, Val};
use std::fmt::Write as _;
use support::Rng;

/// A field's or element's storage, all integers: the model wraps to its width.
#[derive(Clone, Copy, Debug)]
enum Storage {
    I8,
    I16,
    I32,
    I64,
}

impl Storage {
    fn random(rng: &mut Rng) -> Storage {
        [Storage::I8, Storage::I16, Storage::I32, Storage::I64][rng.below(4) as usize]
    }
    fn wat(self) -> &'static str {
        match self {
            Storage::I8 => "i8",
            Storage::I16 => "i16",
            Storage::I32 => "i32",
            Storage::I64 => "i64",
        }
    }
    /// What reading back a stored `v` gives, as an i64 (`signed`: `get_s`; i32 and i64
    /// fields read as the value itself, then sign-extended to i64 by the fold).
    fn read(self, v: i64, signed: bool) -> i64 {
        match (self, signed) {
            (Storage::I8, true) => v as i8 as i64,
            (Storage::I8, false) => v as u8 as i64,
            (Storage::I16, true) => v as i16 as i64,
            (Storage::I16, false) => v as u16 as i64,
            (Storage::I32, _) => v as i32 as i64,
            (Storage::I64, _) => v,
        }
    }
    /// The instruction suffix that reads it, and the conversion to i64.
    fn getter(self, signed: bool) -> (&'static str, &'static str) {
        match (self, signed) {
            (Storage::I64, _) => ("", ""),
            (Storage::I32, _) => ("", "i64.extend_i32_s"),
            (_, true) => ("_s", "i64.extend_i32_s"),
            (_, false) => ("_u", "i64.extend_i32_s"),
        }
    }
}

/// A value: its text and what it is (as an i64; an i32 operand's bits sign-extended).
struct Value {
    wat: String,
    model: i64,
}

/// A random value for a field of `storage`, from a constant, a parameter or an
/// expression over them (`p0`/`p1` are the function's i32/i64 parameters).
fn value(rng: &mut Rng, storage: Storage, params: (i32, i64)) -> Value {
    let wide = matches!(storage, Storage::I64);
    let c: i64 = match rng.below(4) {
        0 => rng.below(256) as i64 - 128,
        1 => rng.next_u64() as i64,
        2 => [0, -1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, i32::MIN as i64][rng.below(9) as usize],
        _ => rng.below(1 << 20) as i64,
    };
    let (ty, c) = if wide { ("i64", c) } else { ("i32", c as i32 as i64) };
    match rng.below(4) {
        0 => Value { wat: format!("({ty}.const {c})"), model: c },
        1 if wide => Value { wat: "(local.get $p1)".into(), model: params.1 },
        1 => Value { wat: "(local.get $p0)".into(), model: params.0 as i64 },
        2 if wide => Value {
            wat: format!("(i64.add (local.get $p1) (i64.const {c}))"),
            model: params.1.wrapping_add(c),
        },
        2 => Value {
            wat: format!("(i32.mul (local.get $p0) (i32.const {c}))"),
            model: (params.0).wrapping_mul(c as i32) as i64,
        },
        _ if wide => Value { wat: "(i64.extend_i32_s (local.get $p0))".into(), model: params.0 as i64 },
        _ => Value { wat: "(i32.wrap_i64 (local.get $p1))".into(), model: params.1 as i32 as i64 },
    }
}

/// Where the program takes the struct from for an access.
fn struct_ref(rng: &mut Rng) -> &'static str {
    ["(local.get $s)", "(global.get $gs)", "(block (result (ref null $S)) (local.get $s))"]
        [rng.below(3) as usize]
}

fn array_ref(rng: &mut Rng) -> &'static str {
    [
        "(local.get $a)",
        "(ref.cast (ref $A) (global.get $ga))",
        "(block (result (ref null $A)) (local.get $a))",
    ][rng.below(3) as usize]
}

struct Program {
    wat: String,
    params: (i32, i64),
    /// The checksum, or the trap an out-of-bounds access ends it with.
    expected: Result<i64, TrapCode>,
}

fn program(seed: u64) -> Program {
    let mut rng = Rng::new(seed);
    let params = (rng.next_u64() as i32, rng.next_u64() as i64);
    let fields: Vec<Storage> = (0..1 + rng.below(12)).map(|_| Storage::random(&mut rng)).collect();
    let element = Storage::random(&mut rng);
    let len = rng.below(6) as usize;

    let mut body = String::new();
    let mut model_fields = Vec::new();
    // A wide struct.new: every field's value is live at once.
    let mut new = String::from("(local.set $s (struct.new $S");
    for &f in &fields {
        let v = value(&mut rng, f, params);
        write!(new, " {}", v.wat).unwrap();
        model_fields.push(v.model);
    }
    body.push_str(&new);
    body.push_str("))\n(global.set $gs (local.get $s))\n");
    let mut model_elements: Vec<i64>;
    if rng.chance(50) {
        let v = value(&mut rng, element, params);
        writeln!(body, "(local.set $a (array.new $A {} (i32.const {len})))", v.wat).unwrap();
        model_elements = vec![v.model; len];
    } else {
        let mut fixed = format!("(local.set $a (array.new_fixed $A {len}");
        model_elements = Vec::new();
        for _ in 0..len {
            let v = value(&mut rng, element, params);
            write!(fixed, " {}", v.wat).unwrap();
            model_elements.push(v.model);
        }
        body.push_str(&fixed);
        body.push_str("))\n");
    }
    body.push_str("(global.set $ga (local.get $a))\n");

    let mut acc: i64 = 0;
    let fold = |acc: i64, v: i64| acc.wrapping_mul(31).wrapping_add(v);
    let mut trap = None;
    for _ in 0..rng.below(24) {
        match rng.below(7) {
            0 => {
                let k = rng.below(fields.len() as u64) as usize;
                let v = value(&mut rng, fields[k], params);
                writeln!(body, "(struct.set $S {k} {} {})", struct_ref(&mut rng), v.wat).unwrap();
                model_fields[k] = v.model;
            }
            1 | 2 => {
                let k = rng.below(fields.len() as u64) as usize;
                let signed = rng.chance(50);
                let (suffix, extend) = fields[k].getter(signed);
                let get = format!("(struct.get{suffix} $S {k} {})", struct_ref(&mut rng));
                let get = if extend.is_empty() { get } else { format!("({extend} {get})") };
                writeln!(body, "(local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 31)) {get}))")
                    .unwrap();
                acc = fold(acc, fields[k].read(model_fields[k], signed));
            }
            3 => {
                // Sometimes one past the end, or far past it (an unsigned index).
                let index: i64 = match rng.below(8) {
                    0 => len as i64,
                    1 => -1,
                    _ if len == 0 => 0,
                    _ => rng.below(len as u64) as i64,
                };
                let v = value(&mut rng, element, params);
                writeln!(body, "(array.set $A {} (i32.const {index}) {})", array_ref(&mut rng), v.wat)
                    .unwrap();
                if index < 0 || index as usize >= len {
                    trap = Some(TrapCode::ArrayOutOfBounds);
                    break;
                }
                model_elements[index as usize] = v.model;
            }
            4 | 5 => {
                let index = if len == 0 || rng.chance(10) { len } else { rng.below(len as u64) as usize };
                let signed = rng.chance(50);
                let (suffix, extend) = element.getter(signed);
                let get = format!("(array.get{suffix} $A {} (i32.const {index}))", array_ref(&mut rng));
                let get = if extend.is_empty() { get } else { format!("({extend} {get})") };
                writeln!(body, "(local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 31)) {get}))")
                    .unwrap();
                if index >= len {
                    trap = Some(TrapCode::ArrayOutOfBounds);
                    break;
                }
                acc = fold(acc, element.read(model_elements[index], signed));
            }
            _ => {
                // A fill or an overlapping copy inside the array, sometimes past its end.
                let start = rng.below(len as u64 + 2) as usize;
                let n = rng.below(len as u64 + 2) as usize;
                if rng.chance(50) {
                    let v = value(&mut rng, element, params);
                    writeln!(
                        body,
                        "(array.fill $A {} (i32.const {start}) {} (i32.const {n}))",
                        array_ref(&mut rng),
                        v.wat
                    )
                    .unwrap();
                    if start + n > len {
                        trap = Some(TrapCode::ArrayOutOfBounds);
                        break;
                    }
                    model_elements[start..start + n].fill(v.model);
                } else {
                    let from = rng.below(len as u64 + 1) as usize;
                    let (a, b) = (array_ref(&mut rng), array_ref(&mut rng));
                    writeln!(
                        body,
                        "(array.copy $A $A {a} (i32.const {start}) {b} (i32.const {from}) (i32.const {n}))"
                    )
                    .unwrap();
                    if start + n > len || from + n > len {
                        trap = Some(TrapCode::ArrayOutOfBounds);
                        break;
                    }
                    model_elements.copy_within(from..from + n, start);
                }
            }
        }
    }
    writeln!(
        body,
        "(local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (array.len (local.get $a)))))"
    )
    .unwrap();
    acc = acc.wrapping_add(len as i64);

    let field_list: String =
        fields.iter().map(|f| format!(" (field (mut {}))", f.wat())).collect::<Vec<_>>().concat();
    let wat = format!(
        "(module
          (type $S (struct{field_list}))
          (type $A (array (mut {el})))
          (global $gs (mut (ref null $S)) (ref.null $S))
          (global $ga (mut anyref) (ref.null any))
          (func (export \"run\") (param $p0 i32) (param $p1 i64) (result i64)
            (local $s (ref null $S)) (local $a (ref null $A)) (local $acc i64)
            {body}
            (local.get $acc)))",
        el = element.wat(),
    );
    Program { wat, params, expected: trap.map_or(Ok(acc), Err) }
}

#[test]
fn random_gc_programs_agree_with_the_model() {
    let cases = std::env::var("SIDEWINDER_GC_PROGRAMS").ok().and_then(|s| s.parse().ok()).unwrap_or(300u64);
    let first = std::env::var("SIDEWINDER_GC_PROGRAM_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0u64);
    let mut failures = Vec::new();
    // Both bounds-check modes, and the collector's test mode (a collection at every
    // allocation compiled code cannot make in line, and room for one object at a time).
    for (explicit, collect_after) in
        [(false, Config::default().gc_collect_after), (true, 16 << 20), (false, 0)]
    {
        let config =
            Config { explicit_bounds_checks: explicit, gc_collect_after: collect_after, ..Config::default() };
        let engine = Engine::new(config).unwrap();
        for seed in first..first + cases {
            let p = program(seed);
            let bytes =
                wat::parse_str(&p.wat).unwrap_or_else(|e| panic!("seed {seed}: bad text: {e}\n{}", p.wat));
            let module =
                Module::new(&engine, &bytes).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{}", p.wat));
            let store = Store::new(&engine);
            let instance = Instance::new(&store, &module, &[]).unwrap();
            let got = match instance.call("run", &[Val::I32(p.params.0), Val::I64(p.params.1)]) {
                Ok(v) => match v[..] {
                    [Val::I64(x)] => Ok(x),
                    _ => panic!("seed {seed}: {v:?}"),
                },
                Err(Error::Trap(t)) => Err(t.code()),
                Err(e) => panic!("seed {seed}: {e}"),
            };
            if got != p.expected {
                failures.push(format!(
                    "seed {seed} (explicit bounds {explicit}, collect after {collect_after}): got {got:?}, expected {:?}\n{}",
                    p.expected, p.wat
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} failures, the first:\n{}", failures.len(), failures[0]);
}

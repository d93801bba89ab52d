//! Random programs of `call_ref`, `return_call_ref`, `br_on_null`, `br_on_non_null` and
//! `ref.as_non_null`, checked against a model in Rust. wasm-smith makes these
//! instructions only in modules that also use GC types, so neither the differential
//! test nor the damaged-module sweep reaches them; this test varies what the compiler
//! must get right around them: where the function reference comes from (a local, a
//! global, a table, a block's result, a constant null), where the arguments come from,
//! values live across the call, and loops that make locals live in registers.
//!
//! `SIDEWINDER_FUNCREF_CASES` (default 300) and `SIDEWINDER_FUNCREF_SEED` (the first
//! seed) widen a local sweep.

#[allow(dead_code)] // the verdict helpers are for the tests that compare verdicts
mod support;

use sidewinder_engine::{Config, Engine, Instance, Module, Store, Val};
use support::Rng;

/// A callee's body, and what it computes of its two parameters.
type Callee = (&'static str, fn(i32, i64) -> i64);

/// The callees, all `(func (param i32 i64) (result i64))`: `CALLEES[k](a, b)`.
const CALLEES: [Callee; 4] = [
    ("(i64.add (i64.extend_i32_s (local.get 0)) (local.get 1))", |a, b| (a as i64).wrapping_add(b)),
    ("(i64.mul (i64.extend_i32_s (local.get 0)) (local.get 1))", |a, b| (a as i64).wrapping_mul(b)),
    ("(i64.sub (local.get 1) (i64.extend_i32_s (local.get 0)))", |a, b| b.wrapping_sub(a as i64)),
    ("(i64.xor (i64.shl (local.get 1) (i64.const 3)) (i64.extend_i32_u (local.get 0)))", |a, b| {
        (b << 3) ^ (a as u32 as i64)
    }),
];

/// A function reference: callee `Some(k)`, or null.
#[derive(Clone, Copy, Debug)]
enum Source {
    /// `(table.get $t (i32.const k))`; the table's last entry is null.
    Table(Option<usize>),
    /// Set into `$g` first, then `(global.get $g)`.
    Global(Option<usize>),
    /// Set into the local `$r` first, then `(local.get $r)`.
    Local(Option<usize>),
    /// `(ref.func $fk)`.
    Func(usize),
    /// `(ref.null $bin)`.
    Null,
}

impl Source {
    fn random(rng: &mut Rng) -> Source {
        let callee = |rng: &mut Rng| {
            if rng.chance(10) {
                None
            } else {
                Some(rng.below(CALLEES.len() as u64) as usize)
            }
        };
        match rng.below(9) {
            0 | 1 => Source::Table(callee(rng)),
            2 | 3 => Source::Global(callee(rng)),
            4 | 5 => Source::Local(callee(rng)),
            6 | 7 => Source::Func(rng.below(CALLEES.len() as u64) as usize),
            _ => Source::Null,
        }
    }

    fn callee(self) -> Option<usize> {
        match self {
            Source::Table(c) | Source::Global(c) | Source::Local(c) => c,
            Source::Func(k) => Some(k),
            Source::Null => None,
        }
    }

    /// Statements that prepare the reference, and the expression that gives it.
    fn wat(self) -> (String, String) {
        let entry =
            |c: Option<usize>| c.map_or("(ref.null $bin)".to_string(), |k| format!("(ref.func $f{k})"));
        match self {
            Source::Table(c) => {
                (String::new(), format!("(table.get $t (i32.const {}))", c.unwrap_or(CALLEES.len())))
            }
            Source::Global(c) => (format!("(global.set $g {})", entry(c)), "(global.get $g)".into()),
            Source::Local(c) => (format!("(local.set $r {})", entry(c)), "(local.get $r)".into()),
            Source::Func(k) => (String::new(), format!("(ref.func $f{k})")),
            Source::Null => (String::new(), "(ref.null $bin)".into()),
        }
    }
}

/// An i32 argument: `$x`, a constant, or the low half of the accumulator.
#[derive(Clone, Copy, Debug)]
enum IntArg {
    X,
    Const(i32),
    AccLow,
}

/// An i64 argument: `$y`, a constant, or the accumulator.
#[derive(Clone, Copy, Debug)]
enum LongArg {
    Y,
    Const(i64),
    Acc,
}

#[derive(Clone, Copy, Debug)]
enum Call {
    /// `call_ref`.
    Plain,
    /// Through `$tail`, which `return_call_ref`s.
    Tail,
    /// `br_on_null` out of a block when null, else `call_ref`.
    OrSkip,
    /// `br_on_non_null` into the call when not null, else skip.
    IfPresent,
    /// `ref.as_non_null`, then `call_ref` (traps on null).
    AsNonNull,
}

#[derive(Clone, Copy, Debug)]
struct Step {
    source: Source,
    a: IntArg,
    b: LongArg,
    call: Call,
    /// `acc = acc * 3 + call(...)` keeps the accumulator live across the call in a
    /// longer expression than `acc = acc + call(...)`.
    scaled: bool,
}

struct Program {
    steps: Vec<Step>,
    /// The steps run this many times, in a loop (so the compiler may pin locals).
    rounds: u32,
}

impl Program {
    fn random(rng: &mut Rng) -> Program {
        let steps = (0..1 + rng.below(8))
            .map(|_| Step {
                source: Source::random(rng),
                a: match rng.below(3) {
                    0 => IntArg::X,
                    1 => IntArg::Const(rng.next_u64() as i32),
                    _ => IntArg::AccLow,
                },
                b: match rng.below(3) {
                    0 => LongArg::Y,
                    1 => LongArg::Const(rng.next_u64() as i64),
                    _ => LongArg::Acc,
                },
                call: match rng.below(5) {
                    0 => Call::Plain,
                    1 => Call::Tail,
                    2 => Call::OrSkip,
                    3 => Call::IfPresent,
                    _ => Call::AsNonNull,
                },
                scaled: rng.chance(50),
            })
            .collect();
        Program { steps, rounds: 1 + rng.below(3) as u32 }
    }

    fn wat(&self) -> String {
        let mut m = String::from("(module\n  (type $bin (func (param i32 i64) (result i64)))\n");
        for (k, (body, _)) in CALLEES.iter().enumerate() {
            m += &format!("  (func $f{k} (type $bin) {body})\n");
        }
        let entries: Vec<String> = (0..CALLEES.len()).map(|k| format!("(ref.func $f{k})")).collect();
        m += &format!(
            "  (table $t {} (ref null $bin))\n  (elem (table $t) (i32.const 0) (ref null $bin) {})\n",
            CALLEES.len() + 1,
            entries.join(" ")
        );
        m += "  (global $g (mut (ref null $bin)) (ref.null $bin))\n";
        m += "  (func $tail (param i32 i64 (ref null $bin)) (result i64)\n";
        m += "    (return_call_ref $bin (local.get 0) (local.get 1) (local.get 2)))\n";
        m += "  (func (export \"run\") (param $x i32) (param $y i64) (result i64)\n";
        m += "    (local $acc i64) (local $r (ref null $bin)) (local $round i32)\n";
        m += "    (loop $again\n";
        for step in &self.steps {
            let (prepare, reference) = step.source.wat();
            let a = match step.a {
                IntArg::X => "(local.get $x)".to_string(),
                IntArg::Const(c) => format!("(i32.const {c})"),
                IntArg::AccLow => "(i32.wrap_i64 (local.get $acc))".into(),
            };
            let b = match step.b {
                LongArg::Y => "(local.get $y)".to_string(),
                LongArg::Const(c) => format!("(i64.const {c})"),
                LongArg::Acc => "(local.get $acc)".into(),
            };
            let combine = |call: String| {
                if step.scaled {
                    format!("(i64.add (i64.mul (local.get $acc) (i64.const 3)) {call})")
                } else {
                    format!("(i64.add (local.get $acc) {call})")
                }
            };
            m += &format!("      {prepare}\n");
            m += &match step.call {
                Call::Plain => format!("      (local.set $acc {})\n", combine(format!("(call_ref $bin {a} {b} {reference})"))),
                Call::Tail => format!("      (local.set $acc {})\n", combine(format!("(call $tail {a} {b} {reference})"))),
                Call::AsNonNull => format!(
                    "      (local.set $acc {})\n",
                    combine(format!("(call_ref $bin {a} {b} (ref.as_non_null {reference}))"))
                ),
                Call::OrSkip => format!(
                    "      (block $null (local.set $acc {}))\n",
                    combine(format!("(call_ref $bin {a} {b} (br_on_null $null {reference}))"))
                ),
                Call::IfPresent => format!(
                    "      (block $none (local.set $acc {}))\n",
                    combine(format!(
                        "(call_ref $bin {a} {b} (block $some (result (ref $bin)) (br_on_non_null $some {reference}) (br $none)))"
                    ))
                ),
            };
        }
        m += &format!(
            "      (local.set $round (i32.add (local.get $round) (i32.const 1)))\n      (br_if $again (i32.lt_u (local.get $round) (i32.const {}))))\n",
            self.rounds
        );
        m += "    (local.get $acc)))\n";
        m
    }

    /// The model: the result, or `Err(())` for a trap (a call through null).
    fn expected(&self, x: i32, y: i64) -> Result<i64, ()> {
        let mut acc: i64 = 0;
        for _ in 0..self.rounds {
            for step in &self.steps {
                let a = match step.a {
                    IntArg::X => x,
                    IntArg::Const(c) => c,
                    IntArg::AccLow => acc as i32,
                };
                let b = match step.b {
                    LongArg::Y => y,
                    LongArg::Const(c) => c,
                    LongArg::Acc => acc,
                };
                let value = match (step.source.callee(), step.call) {
                    (Some(k), _) => CALLEES[k].1(a, b),
                    (None, Call::OrSkip | Call::IfPresent) => continue,
                    (None, _) => return Err(()),
                };
                acc = if step.scaled { acc.wrapping_mul(3) } else { acc }.wrapping_add(value);
            }
        }
        Ok(acc)
    }
}

#[test]
fn random_programs_agree_with_the_model() {
    let env =
        |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let (cases, first) = (env("SIDEWINDER_FUNCREF_CASES", 300), env("SIDEWINDER_FUNCREF_SEED", 0));
    let engines: Vec<Engine> = [false, true]
        .into_iter()
        .map(|explicit_bounds_checks| {
            Engine::new(Config { explicit_bounds_checks, ..Config::default() }).unwrap()
        })
        .collect();
    let (mut traps, mut results) = (0, 0);
    for seed in first..first + cases {
        let mut rng = Rng::salted(seed, 0x4655_4e43_5245_4600); // "FUNCREF"
        let program = Program::random(&mut rng);
        let wat = program.wat();
        let bytes = wat::parse_str(&wat).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{wat}"));
        let (x, y) = (rng.next_u64() as i32, rng.next_u64() as i64);
        let expected = program.expected(x, y);
        for engine in &engines {
            let store = Store::new(engine);
            let module = Module::new(engine, &bytes).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{wat}"));
            let instance = Instance::new(&store, &module, &[]).unwrap();
            let got = instance.call("run", &[Val::I32(x), Val::I64(y)]);
            match (&expected, &got) {
                (Ok(e), Ok(v)) if matches!(v[..], [Val::I64(g)] if g == *e) => {}
                (Err(()), Err(sidewinder_engine::Error::Trap(_))) => {}
                _ => panic!("seed {seed}, x {x}, y {y}: expected {expected:?}, got {got:?}\n{wat}"),
            }
        }
        match expected {
            Ok(_) => results += 1,
            Err(()) => traps += 1,
        }
    }
    println!("function-reference programs: {cases} cases, {results} results and {traps} traps agree");
    // Both outcomes must be common, or the generator has stopped testing one of them.
    assert!(cases < 100 || (results > cases / 4 && traps > cases / 10), "{results} results, {traps} traps");
}

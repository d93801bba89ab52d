//! Random object graphs under the collector, checked against a model in Rust. Each
//! program keeps structs and arrays in eight `anyref` locals and a global, links them
//! (cycles and sharing included), drops them, and allocates garbage in between, so that
//! collections (at every allocation compiled code cannot make in line, in the
//! collector's test mode) meet objects reachable only from registers, frames, fields,
//! array elements and the global, and many that are dead. At the end a digest walks the
//! graph from every local to a fixed depth; the model walks its own copy the same way.
//!
//! `SIDEWINDER_GC_GRAPHS` (default 200) and `SIDEWINDER_GC_GRAPH_SEED` (the first seed)
//! widen a local sweep.

#[allow(dead_code)] // the verdict helpers are for the tests that compare verdicts
mod support;

use sidewinder_engine::{Config, Engine, Instance, Module, Store, Val};
use std::fmt::Write as _;
use support::Rng;

const LOCALS: usize = 8;
const DEPTH: u32 = 5;

#[derive(Clone)]
enum Object {
    Node { id: i32, a: Option<usize>, b: Option<usize> },
    Array(Vec<Option<usize>>),
}

/// The model: objects in an arena (never freed: the model needs no collector), and
/// what each local and the global refer to.
struct Model {
    objects: Vec<Object>,
    locals: [Option<usize>; LOCALS],
    global: Option<usize>,
}

impl Model {
    fn is_node(&self, r: Option<usize>) -> bool {
        matches!(r.map(|i| &self.objects[i]), Some(Object::Node { .. }))
    }

    /// The digest `$digest` computes, with i64 wrapping arithmetic.
    fn digest(&self, r: Option<usize>, depth: u32) -> i64 {
        let Some(i) = r else { return 1 };
        if depth == 0 {
            return 0;
        }
        match &self.objects[i] {
            Object::Node { id, a, b } => (*id as i64)
                .wrapping_mul(31)
                .wrapping_add(self.digest(*a, depth - 1).wrapping_mul(7))
                .wrapping_add(self.digest(*b, depth - 1).wrapping_mul(13)),
            Object::Array(elements) => elements.iter().enumerate().fold(5, |acc, (k, e)| {
                acc.wrapping_add(self.digest(*e, depth - 1).wrapping_mul(k as i64 + 3))
            }),
        }
    }
}

/// A random program: its text and the result the model expects.
fn program(seed: u64) -> (String, i64) {
    let mut rng = Rng::salted(seed, 0x6772_6170);
    let mut m = Model { objects: Vec::new(), locals: [None; LOCALS], global: None };
    let mut body = String::new();
    let local = |rng: &mut Rng| rng.below(LOCALS as u64) as usize;
    for step in 0..rng.below(60) + 10 {
        let dst = local(&mut rng);
        match rng.below(9) {
            0 | 1 => {
                // A node whose `a` is a local holding a node (else null), `b` any local.
                let (id, a, b) =
                    (step as i32 * 100 + rng.below(100) as i32, local(&mut rng), local(&mut rng));
                let a_ref = if m.is_node(m.locals[a]) { m.locals[a] } else { None };
                let a_wat = if a_ref.is_some() {
                    format!("(ref.cast (ref null $node) (local.get {a}))")
                } else {
                    "(ref.null $node)".into()
                };
                writeln!(
                    body,
                    "(local.set {dst} (struct.new $node (i32.const {id}) {a_wat} (local.get {b})))"
                )
                .unwrap();
                m.objects.push(Object::Node { id, a: a_ref, b: m.locals[b] });
                m.locals[dst] = Some(m.objects.len() - 1);
            }
            2 => {
                let (len, init) = (rng.below(5), local(&mut rng));
                writeln!(body, "(local.set {dst} (array.new $arr (local.get {init}) (i32.const {len})))")
                    .unwrap();
                m.objects.push(Object::Array(vec![m.locals[init]; len as usize]));
                m.locals[dst] = Some(m.objects.len() - 1);
            }
            3 => {
                // The `b` field of the node in `dst`, or an element of the array there.
                let src = local(&mut rng);
                match m.locals[dst].map(|i| m.objects[i].clone()) {
                    Some(Object::Node { .. }) => {
                        writeln!(
                            body,
                            "(struct.set $node $b (ref.cast (ref $node) (local.get {dst})) (local.get {src}))"
                        )
                        .unwrap();
                        let value = m.locals[src];
                        if let Some(Object::Node { b, .. }) = m.locals[dst].map(|i| &mut m.objects[i]) {
                            *b = value;
                        }
                    }
                    Some(Object::Array(elements)) if !elements.is_empty() => {
                        let k = rng.below(elements.len() as u64);
                        writeln!(
                            body,
                            "(array.set $arr (ref.cast (ref $arr) (local.get {dst})) (i32.const {k}) (local.get {src}))"
                        )
                        .unwrap();
                        let value = m.locals[src];
                        if let Some(Object::Array(elements)) = m.locals[dst].map(|i| &mut m.objects[i]) {
                            elements[k as usize] = value;
                        }
                    }
                    _ => {}
                }
            }
            4 => {
                writeln!(body, "(local.set {dst} (ref.null any))").unwrap();
                m.locals[dst] = None;
            }
            5 => {
                let src = local(&mut rng);
                writeln!(body, "(local.set {dst} (local.get {src}))").unwrap();
                m.locals[dst] = m.locals[src];
            }
            6 => {
                writeln!(body, "(global.set $g (local.get {dst}))").unwrap();
                m.global = m.locals[dst];
            }
            7 => {
                writeln!(body, "(local.set {dst} (global.get $g))").unwrap();
                m.locals[dst] = m.global;
            }
            _ => writeln!(body, "(call $garbage (i32.const {}))", rng.below(20) + 1).unwrap(),
        }
    }
    let mut expected = 0i64;
    let mut digest = String::from("(i64.const 0)");
    for (i, r) in m.locals.iter().enumerate() {
        expected = expected.wrapping_add(m.digest(*r, DEPTH).wrapping_mul(i as i64 + 1));
        digest = format!(
            "(i64.add {digest} (i64.mul (call $digest (local.get {i}) (i32.const {DEPTH})) (i64.const {})))",
            i + 1
        );
    }
    let locals = "anyref ".repeat(LOCALS);
    let wat = format!(
        r#"(module
  (type $node (struct (field $id i32) (field $a (mut (ref null $node))) (field $b (mut anyref))))
  (type $arr (array (mut anyref)))
  (type $bytes (array (mut i8)))
  (global $g (mut anyref) (ref.null any))
  (func $garbage (param $n i32)
    (loop $l
      (drop (struct.new $node (local.get $n) (ref.null $node) (ref.null any)))
      (drop (array.new_default $bytes (i32.mul (local.get $n) (i32.const 400))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func $digest (param $r anyref) (param $depth i32) (result i64)
    (local $k i32) (local $acc i64) (local $a (ref $arr))
    (if (ref.is_null (local.get $r)) (then (return (i64.const 1))))
    (if (i32.eqz (local.get $depth)) (then (return (i64.const 0))))
    (if (ref.test (ref $node) (local.get $r))
      (then
        (return
          (i64.add
            (i64.mul (i64.extend_i32_s (struct.get $node $id (ref.cast (ref $node) (local.get $r)))) (i64.const 31))
            (i64.add
              (i64.mul (call $digest (struct.get $node $a (ref.cast (ref $node) (local.get $r)))
                                     (i32.sub (local.get $depth) (i32.const 1))) (i64.const 7))
              (i64.mul (call $digest (struct.get $node $b (ref.cast (ref $node) (local.get $r)))
                                     (i32.sub (local.get $depth) (i32.const 1))) (i64.const 13)))))))
    (local.set $a (ref.cast (ref $arr) (local.get $r)))
    (local.set $acc (i64.const 5))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $k) (array.len (local.get $a))))
      (local.set $acc (i64.add (local.get $acc)
        (i64.mul (call $digest (array.get $arr (local.get $a) (local.get $k)) (i32.sub (local.get $depth) (i32.const 1)))
                 (i64.extend_i32_u (i32.add (local.get $k) (i32.const 3))))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $l)))
    (local.get $acc))
  (func (export "run") (result i64) (local {locals})
{body}    {digest}))"#
    );
    (wat, expected)
}

#[test]
fn random_graphs_survive_collections() {
    let cases = std::env::var("SIDEWINDER_GC_GRAPHS").ok().and_then(|s| s.parse().ok()).unwrap_or(200u64);
    let first = std::env::var("SIDEWINDER_GC_GRAPH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0u64);
    let mut failures = Vec::new();
    let mut collections = 0;
    // The collector's test mode, and a collection whenever the holes run out.
    for collect_after in [0, 1] {
        let engine = Engine::new(Config { gc_collect_after: collect_after, ..Config::default() }).unwrap();
        for seed in first..first + cases {
            let (wat, expected) = program(seed);
            let bytes = wat::parse_str(&wat).unwrap_or_else(|e| panic!("seed {seed}: bad text: {e}\n{wat}"));
            let module = Module::new(&engine, &bytes).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{wat}"));
            let store = Store::new(&engine);
            let instance = Instance::new(&store, &module, &[]).unwrap();
            match instance.call("run", &[]).as_deref() {
                Ok([Val::I64(got)]) if *got == expected => {}
                other => failures.push(format!(
                    "seed {seed} (collect after {collect_after}): got {other:?}, expected {expected}\n{wat}"
                )),
            }
            collections += store.gc_stats().collections;
        }
    }
    assert!(failures.is_empty(), "{} failures, the first:\n{}", failures.len(), failures[0]);
    assert!(collections > cases * 10, "{collections} collections");
}

//! The custom descriptors proposal beyond its spec scripts: what the engine's layout
//! must get right. A descriptor is a hidden reference after the object header, so the
//! collector must trace it; a descriptor cast reads it only in objects whose type has
//! one, so a struct or array that holds the same reference at that offset must fail the
//! cast; exact casts and exact imports refuse subtypes; the proposal is off unless
//! `Config::custom_descriptors` asks for it.

use sidewinder_engine::{Config, Engine, Error, Instance, Module, Store, TrapCode, Val};

#[allow(dead_code)] // the verdict helpers are for the tests that compare verdicts
mod support;
use support::{assert_trap, integer_result};

fn config() -> Config {
    Config { custom_descriptors: true, ..Config::default() }
}

fn instantiate(wat: &str, config: Config) -> (Store, Instance) {
    support::instantiate(wat, config)
}

const TYPES: &str = r#"
  (rec
    (type $a (sub (descriptor $a.desc) (struct (field i32))))
    (type $a.desc (sub (describes $a) (struct (field i64))))
    (type $b (sub $a (descriptor $b.desc) (struct (field i32) (field i32))))
    (type $b.desc (sub $a.desc (describes $b) (struct (field i64)))))
  (type $plain (struct (field anyref)))
  (type $list (array (mut anyref)))"#;

/// Every descriptor is reachable only through the object it describes, and the heap
/// collects at every allocation: a descriptor the collector did not trace is freed and
/// its memory zeroed or reused, and the sum comes out wrong.
#[test]
fn descriptors_survive_collections() {
    let wat = format!(
        r#"(module {TYPES}
  (func (export "sum") (param $n i32) (result i64)
    (local $objects (ref $list)) (local $i i32) (local $sum i64)
    (local.set $objects (array.new_default $list (local.get $n)))
    (loop $make
      (array.set $list (local.get $objects) (local.get $i)
        (struct.new_desc $a (local.get $i) (struct.new $a.desc (i64.extend_i32_u (local.get $i)))))
      (br_if $make (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.set $i (i32.const 0))
    (loop $read
      (local.set $sum (i64.add (local.get $sum)
        (struct.get $a.desc 0 (ref.get_desc $a
          (ref.cast (ref $a) (array.get $list (local.get $objects) (local.get $i)))))))
      (br_if $read (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $sum)))"#
    );
    let (_store, i) = instantiate(&wat, Config { gc_collect_after: 0, ..config() });
    let n = 3000i64;
    assert_eq!(integer_result(&i, "sum", &[Val::I32(n as i32)]), n * (n - 1) / 2);
}

/// `ref.cast_desc_eq` and `br_on_cast_desc_eq` against a model, over objects that hold
/// the descriptor `$d1` as a field or element right where a described struct keeps its
/// descriptor: only a struct whose type has a descriptor may pass.
#[test]
fn descriptor_casts_read_descriptors_only_where_there_are_some() {
    let wat = format!(
        r#"(module {TYPES}
  (global $d1 (ref (exact $a.desc)) (struct.new $a.desc (i64.const 1)))
  (global $d2 (ref (exact $a.desc)) (struct.new $a.desc (i64.const 2)))
  (global $d3 (ref (exact $b.desc)) (struct.new $b.desc (i64.const 3)))
  ;; 0 null, 1 an i31, 2 $plain holding $d1, 3 $list holding $d1, 4 $a of $d1,
  ;; 5 $a of $d2, 6 $b of $d3
  (func $object (param $k i32) (result anyref)
    (block $null (block $i31 (block $plain (block $list (block $a1 (block $a2 (block $b3
      (br_table $null $i31 $plain $list $a1 $a2 $b3 (local.get $k)))
      (return (struct.new_desc $b (i32.const 6) (i32.const 6) (global.get $d3))))
      (return (struct.new_desc $a (i32.const 5) (global.get $d2))))
      (return (struct.new_desc $a (i32.const 4) (global.get $d1))))
      (return (array.new $list (global.get $d1) (i32.const 3))))
      (return (struct.new $plain (global.get $d1))))
      (return (ref.i31 (i32.const 1))))
    (ref.null none))
  ;; 0 null, 1 $d1, 2 $d2, 3 $d3
  (func $descriptor (param $k i32) (result (ref null $a.desc))
    (block $null (block $one (block $two (block $three
      (br_table $null $one $two $three (local.get $k)))
      (return (global.get $d3)))
      (return (global.get $d2)))
      (return (global.get $d1)))
    (ref.null none))
  ;; -1 for null, else the object's field 0
  (func $field (param (ref null $a)) (result i32)
    (if (result i32) (ref.is_null (local.get 0))
      (then (i32.const -1)) (else (struct.get $a 0 (local.get 0)))))
  (func (export "cast") (param $o i32) (param $d i32) (result i32)
    (call $field (ref.cast_desc_eq (ref $a) (call $object (local.get $o)) (call $descriptor (local.get $d)))))
  (func (export "cast_null") (param $o i32) (param $d i32) (result i32)
    (call $field (ref.cast_desc_eq (ref null $a) (call $object (local.get $o)) (call $descriptor (local.get $d)))))
  (func (export "branch") (param $o i32) (param $d i32) (result i32)
    (call $field
      (block $yes (result (ref null $a))
        (drop (br_on_cast_desc_eq $yes anyref (ref null $a)
          (call $object (local.get $o)) (call $descriptor (local.get $d))))
        (return (i32.const -2)))))
  (func (export "branch_fail") (param $o i32) (param $d i32) (result i32)
    (drop (block $no (result anyref)
      (return (call $field (br_on_cast_desc_eq_fail $no anyref (ref $a)
        (call $object (local.get $o)) (call $descriptor (local.get $d)))))))
    (i32.const -2)))"#
    );
    let (_store, i) = instantiate(&wat, config());
    // The object each descriptor describes, and each object's field 0.
    let described_by = |d: i32| -> i64 {
        match d {
            1 => 4,
            2 => 5,
            3 => 6,
            _ => unreachable!(),
        }
    };
    for o in 0..=6i64 {
        for d in 0..=3 {
            let args = [Val::I32(o as i32), Val::I32(d)];
            let matching = d != 0 && described_by(d) == o;
            if d == 0 {
                for name in ["cast", "cast_null", "branch", "branch_fail"] {
                    assert_trap(&i, name, &args, TrapCode::NullDescriptorReference);
                }
                continue;
            }
            match (o, matching) {
                (0, _) => {
                    assert_trap(&i, "cast", &args, TrapCode::DescriptorCastFailure);
                    assert_eq!(integer_result(&i, "cast_null", &args), -1);
                    assert_eq!(integer_result(&i, "branch", &args), -1, "null goes to a nullable target");
                    assert_eq!(integer_result(&i, "branch_fail", &args), -2, "null fails (ref $a)");
                }
                (_, true) => {
                    assert_eq!(integer_result(&i, "cast", &args), o);
                    assert_eq!(integer_result(&i, "cast_null", &args), o);
                    assert_eq!(integer_result(&i, "branch", &args), o);
                    assert_eq!(integer_result(&i, "branch_fail", &args), o);
                }
                (_, false) => {
                    assert_trap(&i, "cast", &args, TrapCode::DescriptorCastFailure);
                    assert_trap(&i, "cast_null", &args, TrapCode::DescriptorCastFailure);
                    assert_eq!(integer_result(&i, "branch", &args), -2, "object {o}, descriptor {d}");
                    assert_eq!(integer_result(&i, "branch_fail", &args), -2, "object {o}, descriptor {d}");
                }
            }
        }
    }
}

/// Exact casts accept the type itself and refuse its subtypes (structs and functions),
/// and an exact function import refuses a function of a subtype.
#[test]
fn exact_types_refuse_subtypes() {
    let wat = r#"(module
  (type $s (sub (struct (field i32))))
  (type $t (sub $s (struct (field i32) (field i32))))
  (type $f (sub (func (result i32))))
  (type $g (sub $f (func (result i32))))
  (func $from_f (type $f) (i32.const 1))
  (func $from_g (type $g) (i32.const 2))
  (elem declare func $from_f $from_g)
  (func (export "struct") (param i32) (result i32)
    (local $o anyref)
    (local.set $o (if (result anyref) (local.get 0)
      (then (struct.new $t (i32.const 0) (i32.const 0))) (else (struct.new $s (i32.const 0)))))
    (i32.add (i32.mul (ref.test (ref (exact $s)) (local.get $o)) (i32.const 10))
      (ref.test (ref $s) (local.get $o))))
  (func (export "func") (param i32) (result i32)
    (local $f funcref)
    (local.set $f (if (result funcref) (local.get 0) (then (ref.func $from_g)) (else (ref.func $from_f))))
    (i32.add (i32.mul (ref.test (ref (exact $f)) (local.get $f)) (i32.const 10))
      (ref.test (ref $f) (local.get $f))))
  (func (export "cast") (result i32)
    (struct.get $s 0 (ref.cast (ref (exact $s)) (struct.new $t (i32.const 7) (i32.const 0))))))"#;
    let (_store, i) = instantiate(wat, config());
    assert_eq!(integer_result(&i, "struct", &[Val::I32(0)]), 11);
    assert_eq!(integer_result(&i, "struct", &[Val::I32(1)]), 1);
    assert_eq!(integer_result(&i, "func", &[Val::I32(0)]), 11);
    assert_eq!(integer_result(&i, "func", &[Val::I32(1)]), 1);
    assert_trap(&i, "cast", &[], TrapCode::CastFailure);

    let engine = Engine::new(config()).unwrap();
    let store = Store::new(&engine);
    let exporter = r#"(module
      (type $f (sub (func (result i32))))
      (type $g (sub $f (func (result i32))))
      (func (export "f") (type $f) (i32.const 1))
      (func (export "g") (type $g) (i32.const 2)))"#;
    let exporter = Module::new(&engine, &wat::parse_str(exporter).unwrap()).unwrap();
    let exporter = Instance::new(&store, &exporter, &[]).unwrap();
    let importer = r#"(module
      (type $f (sub (func (result i32))))
      (import "m" "f" (func (exact (type $f)))))"#;
    let importer = Module::new(&engine, &wat::parse_str(importer).unwrap()).unwrap();
    let export = |name: &str| exporter.get_export(name).unwrap();
    assert!(Instance::new(&store, &importer, &[export("f")]).is_ok());
    assert!(matches!(Instance::new(&store, &importer, &[export("g")]), Err(Error::Link(_))));
    let inexact = r#"(module
      (type $f (sub (func (result i32))))
      (import "m" "f" (func (type $f))))"#;
    let inexact = Module::new(&engine, &wat::parse_str(inexact).unwrap()).unwrap();
    assert!(Instance::new(&store, &inexact, &[export("g")]).is_ok());
}

/// `struct.new_desc` in a constant expression: the descriptor is kept, and a null one
/// fails instantiation with the trap the instruction has.
#[test]
fn constant_expressions_make_described_structs() {
    let wat = format!(
        r#"(module {TYPES}
  (global $d (ref (exact $a.desc)) (struct.new $a.desc (i64.const 42)))
  (global $o (ref $a) (struct.new_desc $a (i32.const 5) (global.get $d)))
  (global $p (ref $a) (struct.new_default_desc $a (global.get $d)))
  (func (export "read") (result i64)
    (i64.add (struct.get $a.desc 0 (ref.get_desc $a (global.get $o)))
      (i64.extend_i32_u (i32.add (struct.get $a 0 (global.get $o)) (struct.get $a 0 (global.get $p)))))))"#
    );
    let (_store, i) = instantiate(&wat, Config { gc_collect_after: 0, ..config() });
    assert_eq!(integer_result(&i, "read", &[]), 47);

    let engine = Engine::new(config()).unwrap();
    let null_descriptor = format!(
        r#"(module {TYPES}
  (global $d (ref null (exact $a.desc)) (ref.null none))
  (global (ref $a) (struct.new_desc $a (i32.const 5) (global.get $d))))"#
    );
    let module = Module::new(&engine, &wat::parse_str(&null_descriptor).unwrap()).unwrap();
    match Instance::new(&Store::new(&engine), &module, &[]) {
        Err(Error::Trap(t)) => assert_eq!(t.code(), TrapCode::NullDescriptorReference),
        Err(e) => panic!("expected a trap, got {e}"),
        Ok(_) => panic!("expected a trap, got an instance"),
    }
}

/// Off by default: the proposal's types and exact references are invalid, as in
/// WebAssembly 3.0.
#[test]
fn the_proposal_is_off_by_default() {
    let engine = Engine::default();
    for wat in [
        "(module (rec (type (descriptor 1) (struct)) (type (describes 0) (struct))))",
        "(module (type $s (struct)) (func (param (ref (exact $s)))))",
    ] {
        match Module::new(&engine, &wat::parse_str(wat).unwrap()) {
            Err(Error::Compile { .. }) => {}
            other => panic!("{wat}: expected a compile error, got {:?}", other.map(|_| ())),
        }
    }
}

/// The proposal lets `br_on_cast` cast to any type of the source's hierarchy, not only
/// below it: from `(ref i31)` to a struct type, the word is no address and must not be
/// read as one (it was, found by review, 2026-12-06).
#[test]
fn casts_from_i31_to_structs_do_not_read_memory() {
    let wat = r#"(module
  (type $t (struct (field i32)))
  (func (export "to_struct") (param i32) (result i32)
    (block $l (result (ref struct))
      (br_on_cast $l (ref i31) (ref struct) (ref.i31 (local.get 0)))
      (drop) (return (i32.const 0)))
    (drop) (i32.const 1))
  (func (export "to_type") (param i32) (result i32)
    (block $l (result (ref $t))
      (br_on_cast $l (ref i31) (ref $t) (ref.i31 (local.get 0)))
      (drop) (return (i32.const 0)))
    (drop) (i32.const 1))
  (func (export "to_type_fail") (param i32) (result i32)
    (block $l (result (ref i31))
      (br_on_cast_fail $l (ref i31) (ref $t) (ref.i31 (local.get 0)))
      (drop) (return (i32.const 1)))
    (drop) (i32.const 0)))"#;
    let (_store, i) = instantiate(wat, config());
    for name in ["to_struct", "to_type", "to_type_fail"] {
        for v in [0, 0x1234_5678, -1] {
            assert_eq!(integer_result(&i, name, &[Val::I32(v)]), 0, "{name}({v})");
        }
    }
}

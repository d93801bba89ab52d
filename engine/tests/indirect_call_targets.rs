//! `call_indirect` takes its target from the table's array of entry points, which every
//! way of changing a funcref table keeps in step with the elements: compiled
//! `table.set`, `table.fill`, `table.copy` (within a table and between two),
//! `table.init`, `table.grow`, element segments at instantiation, and the embedder's
//! `Table::set` and `Table::grow`, on a table of the module or an imported one changed
//! by another instance. After each change, a call through every element must run the
//! function the element now holds (or trap on null).

use sidewinder_engine::{
    Engine, Error, Extern, Func, FuncType, Instance, Module, Store, Table, TableType, TrapCode, Val, ValType,
};

/// Functions 0-3 return 100-103; `call i` calls element i of the table (`tail_call i`
/// too, by a tail call); the other
/// exports change the table in each way wasm can.
const MODULE: &str = r#"(module
  (import "env" "table" (table $t 4 funcref))
  (type $answer (func (result i32)))
  (func $f0 (type $answer) (i32.const 100))
  (func $f1 (type $answer) (i32.const 101))
  (func $f2 (type $answer) (i32.const 102))
  (func $f3 (type $answer) (i32.const 103))
  (table $own 2 funcref)
  (elem (table $t) (i32.const 0) func $f0 $f1 $f2 $f3)
  (elem $passive func $f3 $f2 $f1 $f0)
  (elem declare func $f0 $f1 $f2 $f3)
  (func (export "call") (param i32) (result i32) (call_indirect $t (type $answer) (local.get 0)))
  (func (export "tail_call") (param i32) (result i32) (return_call_indirect $t (type $answer) (local.get 0)))
  (func (export "set") (param i32 i32)
    (table.set $t (local.get 0) (table.get $own (local.get 1))))
  (func (export "set_null") (param i32) (table.set $t (local.get 0) (ref.null func)))
  (func (export "set_f2") (param i32) (table.set $t (local.get 0) (ref.func $f2)))
  (func (export "fill") (param i32 i32) (table.fill $t (local.get 0) (ref.func $f1) (local.get 1)))
  (func (export "copy") (param i32 i32 i32) (table.copy $t $t (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_from_own") (param i32 i32 i32)
    (table.copy $t $own (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i32 i32 i32) (table.init $t $passive (local.get 0) (local.get 1) (local.get 2)))
  (func (export "grow") (param i32) (result i32) (table.grow $t (ref.func $f3) (local.get 0)))
  (func (export "size") (result i32) (table.size $t))
  (func (export "fill_own") (table.set $own (i32.const 0) (ref.func $f0)) (table.set $own (i32.const 1) (ref.func $f3))))"#;

/// What the table holds, as the functions' answers (None for null).
type Model = Vec<Option<i32>>;

struct Fixture {
    store: Store,
    table: Table,
    instance: Instance,
}

impl Fixture {
    fn new() -> Fixture {
        let engine = Engine::default();
        let store = Store::new(&engine);
        let ty = TableType { element: ValType::FUNCREF, minimum: 4, maximum: Some(16), table64: false };
        let table = Table::new(&store, ty, Val::FuncRef(None)).expect("table");
        let instance = instantiate(&store, &table);
        call(&instance, "fill_own", &[]);
        Fixture { store, table, instance }
    }

    fn run(&self, name: &str, args: &[i32]) {
        call(&self.instance, name, args);
    }

    /// Calls through every element, by a call and by a tail call, and compares with
    /// `model`.
    fn check(&self, model: &Model, after: &str) {
        let size = i32_of(&call(&self.instance, "size", &[]));
        assert_eq!(size as usize, model.len(), "size after {after}");
        for how in ["call", "tail_call"] {
            for (i, expected) in model.iter().enumerate() {
                let outcome = self.instance.call(how, &[Val::I32(i as i32)]);
                match (expected, outcome) {
                    (Some(v), Ok(results)) => assert_eq!(i32_of(&results), *v, "{how} {i} after {after}"),
                    (None, Err(Error::Trap(t))) => {
                        assert_eq!(t.code(), TrapCode::IndirectCallToNull, "{how} {i} after {after}")
                    }
                    (expected, outcome) => {
                        panic!("{how} {i} after {after}: {outcome:?}, expected {expected:?}")
                    }
                }
            }
            let past_end = self.instance.call(how, &[Val::I32(model.len() as i32)]);
            assert!(
                matches!(past_end, Err(Error::Trap(ref t)) if t.code() == TrapCode::UndefinedElement),
                "{how} past the end after {after}: {past_end:?}"
            );
        }
    }

    /// The exported function answering `answer` (100-103).
    fn func(&self, answer: i32) -> Func {
        let other = instantiate(&self.store, &self.table);
        // Instantiating again rewrote elements 0-3 through the active segment.
        match other.get_export(&format!("f{}", answer - 100)) {
            Some(Extern::Func(f)) => f,
            _ => unreachable!("the module exports no f{answer}"),
        }
    }
}

fn instantiate(store: &Store, table: &Table) -> Instance {
    let engine = store.engine();
    let wat = MODULE.replace(
        "(func $f0 (type $answer)",
        r#"(export "f0" (func $f0)) (export "f1" (func $f1)) (export "f2" (func $f2))
           (export "f3" (func $f3)) (func $f0 (type $answer)"#,
    );
    let module = Module::new(engine, &wat::parse_str(&wat).expect("valid wat")).expect("compiles");
    Instance::new(store, &module, &[Extern::Table(table.clone())]).expect("instantiates")
}

fn call(instance: &Instance, name: &str, args: &[i32]) -> Vec<Val> {
    let args: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
    instance.call(name, &args).unwrap_or_else(|e| panic!("{name}{args:?}: {e:?}"))
}

fn i32_of(results: &[Val]) -> i32 {
    match results {
        [Val::I32(v)] => *v,
        other => panic!("expected one i32, got {other:?}"),
    }
}

#[test]
fn every_table_change_moves_the_call_target_with_the_element() {
    let f = Fixture::new();
    let mut model: Model = vec![Some(100), Some(101), Some(102), Some(103)];
    f.check(&model, "the active segment");

    f.run("set", &[0, 1]);
    model[0] = Some(103);
    f.check(&model, "table.set of another table's element");
    f.run("set_null", &[1]);
    model[1] = None;
    f.check(&model, "table.set of null");
    f.run("set_f2", &[1]);
    model[1] = Some(102);
    f.check(&model, "table.set of ref.func");

    f.run("fill", &[2, 2]);
    model[2] = Some(101);
    model[3] = Some(101);
    f.check(&model, "table.fill");

    f.run("copy", &[1, 0, 3]);
    model.copy_within(0..3, 1);
    f.check(&model, "table.copy forwards over itself");
    f.run("copy", &[0, 1, 3]);
    model.copy_within(1..4, 0);
    f.check(&model, "table.copy backwards over itself");
    f.run("copy_from_own", &[2, 0, 2]);
    model[2] = Some(100);
    model[3] = Some(103);
    f.check(&model, "table.copy from another table");

    f.run("init", &[0, 1, 3]);
    model[0..3].copy_from_slice(&[Some(102), Some(101), Some(100)]);
    f.check(&model, "table.init");

    assert_eq!(i32_of(&call(&f.instance, "grow", &[2])), 4);
    model.extend([Some(103), Some(103)]);
    f.check(&model, "table.grow");
    f.run("set_null", &[5]);
    model[5] = None;
    f.check(&model, "table.set past the old end");

    f.table.set(4, Val::FuncRef(None)).expect("in bounds");
    model[4] = None;
    f.check(&model, "Table::set of null");
    let f1 = f.func(101);
    // Making `f1` instantiated the module again: its active segment rewrote 0-3.
    model[0..4].copy_from_slice(&[Some(100), Some(101), Some(102), Some(103)]);
    f.check(&model, "another instance's active segment");
    f.table.set(3, Val::FuncRef(Some(f1.clone()))).expect("in bounds");
    model[3] = Some(101);
    f.check(&model, "Table::set");
    assert_eq!(f.table.grow(3, Val::FuncRef(Some(f1))), Some(6));
    model.extend([Some(101); 3]);
    f.check(&model, "Table::grow");
}

/// `(i32 i32) -> i32` functions in a second table, defined by the module and filled
/// from a host-made table and by host functions: each call passes two arguments (in
/// the argument registers, from constants, a pinned local and the stack), and a tail
/// call goes to a callee with more parameters than its caller (the caller's argument
/// area grows first).
const WITH_ARGS: &str = r#"(module
  (type $binary (func (param i32 i32) (result i32)))
  (type $ternary (func (param i32 i32 i32) (result i32)))
  (import "env" "host_table" (table $host 3 funcref))
  (import "env" "mul" (func $mul (type $binary)))
  (table $first 1 funcref)
  (table $t 3 funcref)
  (func $sub (type $binary) (i32.sub (local.get 0) (local.get 1)))
  (func $add3 (type $ternary) (i32.add (i32.add (local.get 0) (local.get 1)) (local.get 2)))
  (elem (table $t) (i32.const 0) func $sub $mul $sub)
  (elem (table $first) (i32.const 0) func $add3)
  (elem declare func $sub $mul)
  ;; call i a b: element i of $t on (a, b), passed three ways.
  (func (export "call") (param $i i32) (param $a i32) (param $b i32) (result i32)
    (local $sum i32)
    (local.set $sum (call_indirect $t (type $binary) (local.get $a) (local.get $b) (local.get $i)))
    (local.set $sum (i32.add (local.get $sum)
      (call_indirect $t (type $binary) (i32.const 1000) (local.get $b) (local.get $i))))
    (i32.add (local.get $sum)
      (call_indirect $t (type $binary) (i32.add (local.get $a) (i32.const 1)) (i32.const 7) (local.get $i))))
  ;; A tail call of element 0 of $first (three parameters) from two.
  (func (export "widen") (param $a i32) (param $b i32) (result i32)
    (return_call_indirect $first (type $ternary) (local.get $a) (local.get $b) (i32.const 100) (i32.const 0)))
  (func (export "copy_host") (param $dst i32) (param $src i32) (param $n i32)
    (table.copy $t $host (local.get $dst) (local.get $src) (local.get $n)))
  (func (export "set_sub") (param $i i32) (table.set $t (local.get $i) (ref.func $sub)))
  (func (export "fill_null") (param $i i32) (param $n i32) (table.fill $t (local.get $i) (ref.null func) (local.get $n)))
  (func (export "grow_null") (param $n i32) (result i32) (table.grow $t (ref.null func) (local.get $n)))
  (func (export "bad_fill") (table.fill $t (i32.const 2) (ref.func $mul) (i32.const 5)))
  (func (export "bad_init") (table.init $t 0 (i32.const 1) (i32.const 0) (i32.const 9))))"#;

/// What element `f` computes on (a, b): None for null.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Binary {
    Sub,
    Mul,
    Xor,
}

fn apply(f: Binary, a: i32, b: i32) -> i32 {
    match f {
        Binary::Sub => a.wrapping_sub(b),
        Binary::Mul => a.wrapping_mul(b),
        Binary::Xor => a ^ b,
    }
}

fn check_with_args(instance: &Instance, model: &[Option<Binary>], after: &str) {
    for (i, f) in model.iter().enumerate() {
        let (a, b) = (40 + i as i32, 3);
        let outcome = instance.call("call", &[Val::I32(i as i32), Val::I32(a), Val::I32(b)]);
        match (f, outcome) {
            (Some(f), Ok(results)) => {
                let expected =
                    apply(*f, a, b).wrapping_add(apply(*f, 1000, b)).wrapping_add(apply(*f, a + 1, 7));
                assert_eq!(i32_of(&results), expected, "element {i} ({f:?}) after {after}");
            }
            (None, Err(Error::Trap(t))) => {
                assert_eq!(t.code(), TrapCode::IndirectCallToNull, "element {i} after {after}")
            }
            (f, outcome) => panic!("element {i} after {after}: {outcome:?}, expected {f:?}"),
        }
    }
}

#[test]
fn calls_with_arguments_through_a_second_table_follow_its_elements() {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let binary = || FuncType::new([ValType::I32, ValType::I32], [ValType::I32]);
    let host = |f: Binary| {
        Func::new(&store, binary(), move |args, results| {
            let (Val::I32(a), Val::I32(b)) = (&args[0], &args[1]) else { unreachable!("typed") };
            results[0] = Val::I32(apply(f, *a, *b));
            Ok(())
        })
    };
    // A host-made table whose elements start non-null.
    let ty = TableType { element: ValType::FUNCREF, minimum: 3, maximum: None, table64: false };
    let host_table = Table::new(&store, ty, Val::FuncRef(Some(host(Binary::Xor)))).expect("table");
    let module = Module::new(&engine, &wat::parse_str(WITH_ARGS).expect("valid wat")).expect("compiles");
    let imports = [Extern::Table(host_table.clone()), Extern::Func(host(Binary::Mul))];
    let instance = Instance::new(&store, &module, &imports).expect("instantiates");

    let mut model = vec![Some(Binary::Sub), Some(Binary::Mul), Some(Binary::Sub)];
    check_with_args(&instance, &model, "the active segment");
    let widened = i32_of(&instance.call("widen", &[Val::I32(5), Val::I32(6)]).expect("runs"));
    assert_eq!(widened, 111, "a tail call to a callee with more parameters");

    call(&instance, "copy_host", &[0, 1, 2]);
    model[0..2].copy_from_slice(&[Some(Binary::Xor); 2]);
    check_with_args(&instance, &model, "table.copy from a host-made table");
    host_table.set(2, Val::FuncRef(Some(host(Binary::Sub)))).expect("in bounds");
    call(&instance, "copy_host", &[1, 2, 1]);
    model[1] = Some(Binary::Sub);
    check_with_args(&instance, &model, "table.copy of a host function set by Table::set");

    call(&instance, "fill_null", &[1, 2]);
    model[1..3].copy_from_slice(&[None, None]);
    check_with_args(&instance, &model, "table.fill with null");
    assert_eq!(i32_of(&call(&instance, "grow_null", &[2])), 3);
    model.extend([None, None]);
    check_with_args(&instance, &model, "table.grow with null");
    call(&instance, "set_sub", &[4]);
    model[4] = Some(Binary::Sub);
    check_with_args(&instance, &model, "table.set after a grow");

    // Out-of-bounds bulk operations trap before writing anything.
    for name in ["bad_fill", "bad_init"] {
        let outcome = instance.call(name, &[]);
        assert!(
            matches!(outcome, Err(Error::Trap(ref t)) if t.code() == TrapCode::TableOutOfBounds),
            "{name}: {outcome:?}"
        );
        check_with_args(&instance, &model, name);
    }
}

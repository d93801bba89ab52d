//! `call_indirect` takes its target from the table's array of entry points, which every
//! way of changing a funcref table keeps in step with the elements: compiled
//! `table.set`, `table.fill`, `table.copy` (within a table and between two),
//! `table.init`, `table.grow`, element segments at instantiation, and the embedder's
//! `Table::set` and `Table::grow`, on a table of the module or an imported one changed
//! by another instance. After each change, a call through every element must run the
//! function the element now holds (or trap on null).

use sidewinder_engine::{
    Engine, Error, Extern, Func, Instance, Module, Store, Table, TableType, TrapCode, Val, ValType,
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
        let ty = TableType { element: ValType::FuncRef, minimum: 4, maximum: Some(16) };
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

//! 64-bit memories (memory64): i64 addresses whose sums with the static offset may pass
//! 2^32 and wrap 2^64, every access bounds-checked (the guard reservation only covers
//! 32-bit addresses), sizes and bulk operations in i64, with guard pages for the 32-bit
//! memory beside it and with explicit bounds checks everywhere.

use sidewinder_engine::{
    Config, Engine, Error, Extern, Instance, Memory, MemoryType, Module, Store, TrapCode, Val,
};

const WAT: &str = r#"(module
  (memory $wide (export "wide") i64 1 3)
  (memory $narrow 1)
  (data $wide (i64.const 0x10) "\01\02\03\04")
  (data $init "\aa\bb\cc")
  (func (export "load") (param i64) (result i32) (i32.load $wide (local.get 0)))
  (func (export "load_far") (param i64) (result i32) (i32.load $wide offset=0xffffffff (local.get 0)))
  (func (export "load_huge") (param i64) (result i64)
    (i64.load $wide offset=0xfffffffffffffff0 (local.get 0)))
  (func (export "store") (param i64 i32) (i32.store $wide (local.get 0) (local.get 1)))
  (func (export "store_sum") (param i64 i64 i32)
    (i32.store8 $wide offset=2 (i64.add (local.get 0) (local.get 1)) (local.get 2)))
  (func (export "const_loads") (result i32)
    (i32.add (i32.load8_u $wide (i64.const 0x11)) (i32.load8_u $wide offset=0x12 (i64.const 0))))
  (func (export "const_oob") (result i32) (i32.load $wide (i64.const 0x1_0000_0000)))
  ;; A loop over a pinned i64 counter summing bytes.
  (func (export "sum") (param $from i64) (param $to i64) (result i32)
    (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $from) (local.get $to)))
        (local.set $acc (i32.add (local.get $acc) (i32.load8_u $wide (local.get $from))))
        (local.set $from (i64.add (local.get $from) (i64.const 1)))
        (br $next)))
    (local.get $acc))
  (func (export "size") (result i64) (memory.size $wide))
  (func (export "grow") (param i64) (result i64) (memory.grow $wide (local.get 0)))
  (func (export "fill") (param i64 i32 i64) (memory.fill $wide (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_within") (param i64 i64 i64) (memory.copy $wide $wide (local.get 0) (local.get 1) (local.get 2)))
  ;; Across memories the length has the narrower type.
  (func (export "copy_to_narrow") (param i32 i64 i32)
    (memory.copy $narrow $wide (local.get 0) (local.get 1) (local.get 2)))
  (func (export "narrow_byte") (param i32) (result i32) (i32.load8_u $narrow (local.get 0)))
  (func (export "init") (param i64 i32 i32) (memory.init $wide $init (local.get 0) (local.get 1) (local.get 2)))
)"#;

fn instance(explicit_bounds_checks: bool) -> (Store, Instance) {
    let engine = Engine::new(Config { explicit_bounds_checks, ..Config::default() }).expect("engine");
    let store = Store::new(&engine);
    let module = Module::new(&engine, &wat::parse_str(WAT).expect("valid wat")).expect("compiles");
    let instance = Instance::new(&store, &module, &[]).expect("instantiates");
    (store, instance)
}

fn both_modes(check: impl Fn(&Instance)) {
    for explicit in [false, true] {
        let (_store, instance) = instance(explicit);
        check(&instance);
    }
}

fn one(instance: &Instance, name: &str, args: &[Val]) -> i64 {
    match instance.call(name, args).unwrap_or_else(|e| panic!("{name}{args:?}: {e:?}")).as_slice() {
        [Val::I32(v)] => *v as i64,
        [Val::I64(v)] => *v,
        other => panic!("{name}: {other:?}"),
    }
}

fn run(instance: &Instance, name: &str, args: &[Val]) {
    instance.call(name, args).unwrap_or_else(|e| panic!("{name}{args:?}: {e:?}"));
}

fn assert_out_of_bounds(instance: &Instance, name: &str, args: &[Val]) {
    match instance.call(name, args) {
        Err(Error::Trap(t)) => assert_eq!(t.code(), TrapCode::MemoryOutOfBounds, "{name}{args:?}"),
        other => panic!("{name}{args:?}: expected an out-of-bounds trap, got {other:?}"),
    }
}

#[test]
fn i64_addresses_load_and_store() {
    both_modes(|i| {
        assert_eq!(one(i, "load", &[Val::I64(0x10)]), 0x0403_0201);
        run(i, "store", &[Val::I64(65532), Val::I32(-2)]);
        assert_eq!(one(i, "load", &[Val::I64(65532)]), -2);
        run(i, "store_sum", &[Val::I64(100), Val::I64(-50), Val::I32(9)]);
        assert_eq!(one(i, "load", &[Val::I64(52)]), 9);
        assert_eq!(one(i, "const_loads", &[]), 2 + 3);
        assert_eq!(one(i, "sum", &[Val::I64(0x10), Val::I64(0x14)]), 1 + 2 + 3 + 4);
    });
}

#[test]
fn addresses_past_the_memory_trap_and_never_wrap() {
    both_modes(|i| {
        assert_out_of_bounds(i, "load", &[Val::I64(65533)]);
        // Past 2^32: a 32-bit view of the address would be in bounds.
        assert_out_of_bounds(i, "load", &[Val::I64(0x1_0000_0010)]);
        assert_out_of_bounds(i, "load", &[Val::I64(-1)]);
        assert_out_of_bounds(i, "load", &[Val::I64(i64::MIN)]);
        assert_out_of_bounds(i, "load_far", &[Val::I64(0)]);
        // address + offset wraps 2^64 to 0x10, inside the memory: still a trap.
        assert_out_of_bounds(i, "load_huge", &[Val::I64(0x20)]);
        assert_out_of_bounds(i, "load_huge", &[Val::I64(0)]);
        assert_out_of_bounds(i, "store_sum", &[Val::I64(-3), Val::I64(1), Val::I32(1)]);
        assert_out_of_bounds(i, "const_oob", &[]);
    });
}

#[test]
fn sizes_grow_and_bulk_operations_are_i64() {
    both_modes(|i| {
        assert_eq!(one(i, "size", &[]), 1);
        assert_eq!(one(i, "grow", &[Val::I64(1)]), 1);
        assert_eq!(one(i, "size", &[]), 2);
        // Past the maximum of 3 pages, and a delta no 32-bit grow could express.
        assert_eq!(one(i, "grow", &[Val::I64(2)]), -1);
        assert_eq!(one(i, "grow", &[Val::I64(1 << 40)]), -1);
        assert_eq!(one(i, "load", &[Val::I64(65536 + 8)]), 0);

        run(i, "fill", &[Val::I64(65536), Val::I32(0x7f), Val::I64(8)]);
        assert_eq!(one(i, "load", &[Val::I64(65536 + 4)]), 0x7f7f_7f7f);
        run(i, "copy_within", &[Val::I64(0x20), Val::I64(0x10), Val::I64(4)]);
        assert_eq!(one(i, "load", &[Val::I64(0x20)]), 0x0403_0201);
        run(i, "copy_to_narrow", &[Val::I32(7), Val::I64(0x10), Val::I32(4)]);
        assert_eq!(one(i, "narrow_byte", &[Val::I32(10)]), 4);
        run(i, "init", &[Val::I64(0x30), Val::I32(1), Val::I32(2)]);
        assert_eq!(one(i, "load", &[Val::I64(0x30)]) & 0xffff, 0xccbb);

        // Lengths and starts past 2^32 trap rather than truncate.
        assert_out_of_bounds(i, "fill", &[Val::I64(0), Val::I32(1), Val::I64(1 << 32)]);
        assert_out_of_bounds(i, "fill", &[Val::I64(1 << 32), Val::I32(1), Val::I64(0)]);
        assert_out_of_bounds(i, "copy_within", &[Val::I64(0), Val::I64(1 << 32), Val::I64(1)]);
        assert_out_of_bounds(i, "copy_to_narrow", &[Val::I32(0), Val::I64(1 << 32), Val::I32(1)]);
        assert_out_of_bounds(i, "init", &[Val::I64((1 << 32) + 0x30), Val::I32(0), Val::I32(1)]);
        assert_eq!(one(i, "load", &[Val::I64(0)]), 0, "nothing written by the failed operations");
    });
}

#[test]
fn imports_match_only_memories_of_the_same_address_type() {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let wat =
        r#"(module (import "m" "mem" (memory i64 1)) (func (export "size") (result i64) (memory.size)))"#;
    let module = Module::new(&engine, &wat::parse_str(wat).expect("valid wat")).expect("compiles");
    let narrow =
        Memory::new(&store, MemoryType { minimum: 1, maximum: None, memory64: false }).expect("memory");
    match Instance::new(&store, &module, &[Extern::Memory(narrow)]) {
        Err(Error::Link(message)) => assert!(message.contains("memory"), "{message}"),
        other => panic!("a 32-bit memory for a 64-bit import: {other:?}"),
    }
    let wide = Memory::new(&store, MemoryType { minimum: 1, maximum: None, memory64: true }).expect("memory");
    let instance = Instance::new(&store, &module, &[Extern::Memory(wide)]).expect("links");
    assert_eq!(one(&instance, "size", &[]), 1);
}

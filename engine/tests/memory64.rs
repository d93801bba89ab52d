//! 64-bit memories (memory64): i64 addresses whose sums with the static offset may pass
//! 2^32 and wrap 2^64, every access bounds-checked (the guard reservation only covers
//! 32-bit addresses), sizes and bulk operations in i64, with guard pages for the 32-bit
//! memory beside it and with explicit bounds checks everywhere.

use sidewinder_engine::{Engine, Error, Extern, Instance, Memory, MemoryType, Module, Store, TrapCode, Val};
#[allow(dead_code)] // the verdict helpers are for the tests that compare verdicts
mod support;
use support::{assert_trap, call_ok, in_both_bounds_modes, integer_result};

const OOB: TrapCode = TrapCode::MemoryOutOfBounds;

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

#[test]
fn i64_addresses_load_and_store() {
    in_both_bounds_modes(WAT, |i| {
        assert_eq!(integer_result(i, "load", &[Val::I64(0x10)]), 0x0403_0201);
        call_ok(i, "store", &[Val::I64(65532), Val::I32(-2)]);
        assert_eq!(integer_result(i, "load", &[Val::I64(65532)]), -2);
        call_ok(i, "store_sum", &[Val::I64(100), Val::I64(-50), Val::I32(9)]);
        assert_eq!(integer_result(i, "load", &[Val::I64(52)]), 9);
        assert_eq!(integer_result(i, "const_loads", &[]), 2 + 3);
        assert_eq!(integer_result(i, "sum", &[Val::I64(0x10), Val::I64(0x14)]), 1 + 2 + 3 + 4);
    });
}

#[test]
fn addresses_past_the_memory_trap_and_never_wrap() {
    in_both_bounds_modes(WAT, |i| {
        assert_trap(i, "load", &[Val::I64(65533)], OOB);
        // Past 2^32: a 32-bit view of the address would be in bounds.
        assert_trap(i, "load", &[Val::I64(0x1_0000_0010)], OOB);
        assert_trap(i, "load", &[Val::I64(-1)], OOB);
        assert_trap(i, "load", &[Val::I64(i64::MIN)], OOB);
        assert_trap(i, "load_far", &[Val::I64(0)], OOB);
        // address + offset wraps 2^64 to 0x10, inside the memory: still a trap.
        assert_trap(i, "load_huge", &[Val::I64(0x20)], OOB);
        assert_trap(i, "load_huge", &[Val::I64(0)], OOB);
        assert_trap(i, "store_sum", &[Val::I64(-3), Val::I64(1), Val::I32(1)], OOB);
        assert_trap(i, "const_oob", &[], OOB);
    });
}

#[test]
fn sizes_grow_and_bulk_operations_are_i64() {
    in_both_bounds_modes(WAT, |i| {
        assert_eq!(integer_result(i, "size", &[]), 1);
        assert_eq!(integer_result(i, "grow", &[Val::I64(1)]), 1);
        assert_eq!(integer_result(i, "size", &[]), 2);
        // Past the maximum of 3 pages, and a delta no 32-bit grow could express.
        assert_eq!(integer_result(i, "grow", &[Val::I64(2)]), -1);
        assert_eq!(integer_result(i, "grow", &[Val::I64(1 << 40)]), -1);
        assert_eq!(integer_result(i, "load", &[Val::I64(65536 + 8)]), 0);

        call_ok(i, "fill", &[Val::I64(65536), Val::I32(0x7f), Val::I64(8)]);
        assert_eq!(integer_result(i, "load", &[Val::I64(65536 + 4)]), 0x7f7f_7f7f);
        call_ok(i, "copy_within", &[Val::I64(0x20), Val::I64(0x10), Val::I64(4)]);
        assert_eq!(integer_result(i, "load", &[Val::I64(0x20)]), 0x0403_0201);
        call_ok(i, "copy_to_narrow", &[Val::I32(7), Val::I64(0x10), Val::I32(4)]);
        assert_eq!(integer_result(i, "narrow_byte", &[Val::I32(10)]), 4);
        call_ok(i, "init", &[Val::I64(0x30), Val::I32(1), Val::I32(2)]);
        assert_eq!(integer_result(i, "load", &[Val::I64(0x30)]) & 0xffff, 0xccbb);

        // Lengths and starts past 2^32 trap rather than truncate.
        assert_trap(i, "fill", &[Val::I64(0), Val::I32(1), Val::I64(1 << 32)], OOB);
        assert_trap(i, "fill", &[Val::I64(1 << 32), Val::I32(1), Val::I64(0)], OOB);
        assert_trap(i, "copy_within", &[Val::I64(0), Val::I64(1 << 32), Val::I64(1)], OOB);
        assert_trap(i, "copy_to_narrow", &[Val::I32(0), Val::I64(1 << 32), Val::I32(1)], OOB);
        assert_trap(i, "init", &[Val::I64((1 << 32) + 0x30), Val::I32(0), Val::I32(1)], OOB);
        assert_eq!(integer_result(i, "load", &[Val::I64(0)]), 0, "nothing written by the failed operations");
    });
}

#[test]
fn imports_match_only_memories_of_the_same_address_type() {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let wat =
        r#"(module (import "m" "mem" (memory i64 1)) (func (export "size") (result i64) (memory.size)))"#;
    let module = Module::new(&engine, &wat::parse_str(wat).expect("valid wat")).expect("compiles");
    let narrow = Memory::new(
        &store,
        MemoryType { minimum: 1, maximum: None, memory64: false, shared: false, page_size_log2: 16 },
    )
    .expect("memory");
    match Instance::new(&store, &module, &[Extern::Memory(narrow)]) {
        Err(Error::Link(message)) => assert!(message.contains("memory"), "{message}"),
        other => panic!("a 32-bit memory for a 64-bit import: {other:?}"),
    }
    let wide = Memory::new(
        &store,
        MemoryType { minimum: 1, maximum: None, memory64: true, shared: false, page_size_log2: 16 },
    )
    .expect("memory");
    let instance = Instance::new(&store, &module, &[Extern::Memory(wide)]).expect("links");
    assert_eq!(integer_result(&instance, "size", &[]), 1);
}

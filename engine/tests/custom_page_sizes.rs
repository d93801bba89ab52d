//! The custom-page-sizes proposal beyond its spec scripts: a memory of 1-byte pages has
//! accessible bytes past its length (the system maps whole pages), so every access to
//! it must be bounds-checked. Every access width, SIMD, atomics and the bulk operations
//! trap exactly at the length, as memory 0 and as a second memory, with the address
//! from a local, a pinned local and a constant, before and after growing, in both
//! bounds modes; `memory.size` counts bytes; imports match on the page size.

use sidewinder_engine::{Config, Error, Extern, Instance, Memory, MemoryType, TrapCode, Val};

#[allow(dead_code)] // the verdict helpers are for the tests that compare verdicts
mod support;
use support::{assert_trap, compile, instantiate, integer_result};

/// Accesses of each width at `$a`, and at the constant 4097 - width (just past a 4097-byte
/// length, inside the system page that holds byte 4096).
fn module(second_memory: bool) -> String {
    let m = if second_memory { "$small" } else { "0" };
    let memories = if second_memory {
        "(memory $big 1) (memory $small 4097 (pagesize 1))"
    } else {
        "(memory $small 4097 (pagesize 1)) (memory $big 1)"
    };
    let mut funcs = String::new();
    for (name, load, bytes) in [
        ("i32.load8_u", "i32.load8_u", 1),
        ("i32.load16_u", "i32.load16_u", 2),
        ("i32.load", "i32.load", 4),
        ("i64.load", "i64.load", 8),
    ] {
        let ty = if name.starts_with("i64") { "i64" } else { "i32" };
        funcs.push_str(&format!(
            r#"
  (func (export "{name}") (param $a i32) (result {ty}) ({load} {m} (local.get $a)))
  (func (export "{name}/const") (result {ty}) ({load} {m} (i32.const {past})))
  (func (export "{name}/pinned") (param $a i32) (result {ty}) (local $r {ty}) (local $n i32)
    (loop $l
      (local.set $r ({load} {m} (local.get $a)))
      (br_if $l (i32.lt_u (local.tee $n (i32.add (local.get $n) (i32.const 1))) (i32.const 2))))
    (local.get $r))"#,
            past = 4097 - bytes + 1,
        ));
    }
    format!(
        r#"(module
  {memories}
  (func (export "store") (param $a i32) (i32.store {m} (local.get $a) (i32.const -1)))
  (func (export "v128") (param $a i32) (result i32) (i32x4.extract_lane 0 (v128.load {m} (local.get $a))))
  (func (export "atomic") (param $a i32) (result i32) (i32.atomic.load {m} (local.get $a)))
  (func (export "fill") (param $a i32) (param $n i32) (memory.fill {m} (local.get $a) (i32.const 7) (local.get $n)))
  (func (export "copy") (param $a i32) (param $n i32) (memory.copy {m} {m} (local.get $a) (i32.const 0) (local.get $n)))
  (func (export "size") (result i32) (memory.size {m}))
  (func (export "grow") (param i32) (result i32) (memory.grow {m} (local.get 0)))
  {funcs})"#
    )
}

fn check(i: &Instance, length: i32) {
    assert_eq!(integer_result(i, "size", &[]), i64::from(length));
    for (name, bytes) in [("i32.load8_u", 1), ("i32.load16_u", 2), ("i32.load", 4), ("i64.load", 8)] {
        let last = length - bytes;
        for form in ["", "/pinned"] {
            let export = format!("{name}{form}");
            assert_eq!(integer_result(i, &export, &[Val::I32(last)]), 0, "{export} at {last}");
            assert_trap(i, &export, &[Val::I32(last + 1)], TrapCode::MemoryOutOfBounds);
            assert_trap(i, &export, &[Val::I32(length)], TrapCode::MemoryOutOfBounds);
        }
    }
    assert_trap(i, "store", &[Val::I32(length - 3)], TrapCode::MemoryOutOfBounds);
    assert_trap(i, "v128", &[Val::I32(length - 15)], TrapCode::MemoryOutOfBounds);
    assert_eq!(integer_result(i, "v128", &[Val::I32(length - 16)]), 0);
    assert_trap(i, "atomic", &[Val::I32((length + 3) & !3)], TrapCode::MemoryOutOfBounds);
    assert_trap(i, "fill", &[Val::I32(length - 1), Val::I32(2)], TrapCode::MemoryOutOfBounds);
    assert_trap(i, "copy", &[Val::I32(length - 1), Val::I32(2)], TrapCode::MemoryOutOfBounds);
    // Nothing past the length was written by the trapping calls.
    assert_eq!(integer_result(i, "i32.load8_u", &[Val::I32(length - 1)]), 0);
}

#[test]
fn every_access_to_one_byte_pages_traps_at_the_length() {
    for explicit_bounds_checks in [false, true] {
        for second_memory in [false, true] {
            let (_store, i) =
                instantiate(&module(second_memory), Config { explicit_bounds_checks, ..Config::default() });
            check(&i, 4097);
            for (name, bytes) in [("i32.load8_u", 1), ("i32.load16_u", 2), ("i32.load", 4), ("i64.load", 8)] {
                let _ = bytes;
                assert_trap(&i, &format!("{name}/const"), &[], TrapCode::MemoryOutOfBounds);
            }
            // Growing by 3 bytes: accessible up to 4100, still inside the same system page.
            assert_eq!(integer_result(&i, "grow", &[Val::I32(3)]), 4097);
            check(&i, 4100);
            assert_eq!(integer_result(&i, "grow", &[Val::I32(5000)]), 4100);
            check(&i, 9100);
        }
    }
}

#[test]
fn imports_match_page_sizes() {
    let (store, _) = instantiate("(module)", Config::default());
    let ty = |page_size_log2| MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2,
    };
    let small = Memory::new(&store, ty(0)).unwrap();
    let large = Memory::new(&store, ty(16)).unwrap();
    assert_eq!(small.size_bytes(), 1);
    assert!(Memory::new(&store, ty(12)).is_err() && Memory::new(&store, ty(200)).is_err());
    let engine = store.engine().clone();
    let import =
        |page: u32| compile(&engine, &format!(r#"(module (import "m" "m" (memory 1 (pagesize {page}))))"#));
    assert!(Instance::new(&store, &import(1), &[Extern::Memory(small.clone())]).is_ok());
    assert!(Instance::new(&store, &import(65536), &[Extern::Memory(large.clone())]).is_ok());
    assert!(matches!(Instance::new(&store, &import(1), &[Extern::Memory(large)]), Err(Error::Link(_))));
    assert!(matches!(Instance::new(&store, &import(65536), &[Extern::Memory(small)]), Err(Error::Link(_))));
}

//! The threads proposal's atomic instructions beyond its spec script: every access
//! width and operation against a model in Rust with random memory and operands, in
//! three operand forms (locals; values that arrive in rax from calls, which the
//! cmpxchg loops need for themselves; a constant address), in both bounds modes and on
//! a second memory; the order of the bounds and alignment traps; `wait` and `notify`.

use sidewinder_engine::{Config, Error, Instance, Memory, TrapCode, Val};
use std::fmt::Write;

#[allow(dead_code)] // the verdict helpers are for the tests that compare verdicts
mod support;
use support::{assert_trap, instantiate, integer_result, Rng};

const OPS: [&str; 6] = ["add", "sub", "and", "or", "xor", "xchg"];
/// Where the constant-address form accesses.
const FIXED: u64 = 4096;

/// The widths of each type's accesses, in bits.
fn widths(ty: &str) -> &'static [u32] {
    if ty == "i32" {
        &[32, 8, 16]
    } else {
        &[64, 8, 16, 32]
    }
}

/// The instruction name of an access of `bits` in `ty`: `rmw` for instance becomes
/// `i64.atomic.rmw16.add_u`.
fn instruction(ty: &str, bits: u32, kind: &str, op: &str) -> String {
    let full = (ty == "i32" && bits == 32) || bits == 64;
    match (kind, full) {
        ("load", true) => format!("{ty}.atomic.load"),
        ("load", false) => format!("{ty}.atomic.load{bits}_u"),
        ("store", true) => format!("{ty}.atomic.store"),
        ("store", false) => format!("{ty}.atomic.store{bits}"),
        (_, true) => format!("{ty}.atomic.rmw.{op}"),
        (_, false) => format!("{ty}.atomic.rmw{bits}.{op}_u"),
    }
}

/// A module with an export per instruction and operand form, on the first of its two
/// memories or the second, named `form/instruction`.
fn module(second_memory: bool) -> String {
    let mut funcs = String::new();
    let memory = if second_memory { "1" } else { "0" };
    for ty in ["i32", "i64"] {
        for &bits in widths(ty) {
            let mut ops: Vec<(String, &str)> = vec![
                (instruction(ty, bits, "load", ""), "load"),
                (instruction(ty, bits, "store", ""), "store"),
                (instruction(ty, bits, "rmw", "cmpxchg"), "cmpxchg"),
            ];
            ops.extend(OPS.iter().map(|op| (instruction(ty, bits, "rmw", op), "rmw")));
            for (name, kind) in ops {
                let (params, operands, result) = match kind {
                    "load" => ("(param $a i32)".to_string(), 0, format!("(result {ty})")),
                    "store" => (format!("(param $a i32) (param $v {ty})"), 1, String::new()),
                    "cmpxchg" => (
                        format!("(param $a i32) (param $e {ty}) (param $v {ty})"),
                        2,
                        format!("(result {ty})"),
                    ),
                    _ => (format!("(param $a i32) (param $v {ty})"), 1, format!("(result {ty})")),
                };
                let values: Vec<&str> = ["$e", "$v"].into_iter().skip(2 - operands).collect();
                let locals: String = values.iter().map(|v| format!(" (local.get {v})")).collect();
                let through_calls: String =
                    values.iter().map(|v| format!(" (call $id_{ty} (local.get {v}))")).collect();
                let _ = writeln!(
                    funcs,
                    r#"  (func (export "locals/{name}") {params} {result} ({name} {memory} (local.get $a){locals}))
  (func (export "calls/{name}") {params} {result} ({name} {memory} (call $id_i32 (local.get $a)){through_calls}))
  (func (export "fixed/{name}") {params} {result} ({name} {memory} offset={FIXED} (i32.const 0){locals}))"#
                );
            }
        }
    }
    format!(
        r#"(module
  (memory (export "m0") 1 1 shared)
  (memory (export "m1") 1 1 shared)
  (func $id_i32 (param i32) (result i32) (local.get 0))
  (func $id_i64 (param i64) (result i64) (local.get 0))
{funcs})"#
    )
}

/// What an instruction does to `old` (the bytes at the address, zero-extended from
/// `bits`): the result and the new memory value, both `bits` wide.
fn model(kind: &str, op: &str, bits: u32, old: u64, expected: u64, value: u64) -> (u64, u64) {
    let mask = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    let v = value & mask;
    let new = match (kind, op) {
        ("load", _) => old,
        ("store", _) => v,
        ("cmpxchg", _) => {
            if old == expected & mask {
                v
            } else {
                old
            }
        }
        (_, "add") => old.wrapping_add(v) & mask,
        (_, "sub") => old.wrapping_sub(v) & mask,
        (_, "and") => old & v,
        (_, "or") => old | v,
        (_, "xor") => old ^ v,
        _ => v,
    };
    (old, new)
}

fn raw(v: &Val) -> u64 {
    match v {
        Val::I32(x) => *x as u32 as u64,
        Val::I64(x) => *x as u64,
        other => panic!("{other:?}"),
    }
}

fn typed(ty: &str, bits: u64) -> Val {
    if ty == "i32" {
        Val::I32(bits as u32 as i32)
    } else {
        Val::I64(bits as i64)
    }
}

/// Every instruction in every form against the model, on random memory and operands
/// (a cmpxchg's expected value matches the memory half the time, in its low bytes
/// only a quarter of the time: the wrap to the access's width).
fn check_against_model(instance: &Instance, memory: &Memory, seed: u64) {
    let mut rng = Rng::salted(seed, 0x4154_4f4d_4943_5300); // "ATOMICS"
    for ty in ["i32", "i64"] {
        let type_mask = if ty == "i32" { u32::MAX as u64 } else { u64::MAX };
        for &bits in widths(ty) {
            let bytes = u64::from(bits / 8);
            let mut cases: Vec<(&str, &str)> = vec![("load", ""), ("store", ""), ("cmpxchg", "cmpxchg")];
            cases.extend(OPS.iter().map(|&op| ("rmw", op)));
            for (kind, op) in cases {
                let name = instruction(ty, bits, if kind == "cmpxchg" { "rmw" } else { kind }, op);
                for form in ["locals", "calls", "fixed"] {
                    for _ in 0..8 {
                        let address = if form == "fixed" { FIXED } else { rng.below(65536 / bytes) * bytes };
                        let mut around = [0u8; 24];
                        rng.fill(&mut around);
                        let window = address.saturating_sub(8).min(65536 - 24);
                        memory.write(window, &around).unwrap();
                        let mut old_bytes = [0u8; 8];
                        memory.read(address, &mut old_bytes[..bytes as usize]).unwrap();
                        let old = u64::from_le_bytes(old_bytes);
                        let value = rng.next_u64() & type_mask;
                        let expected = match rng.below(4) {
                            0 => old,
                            1 => (old | (rng.next_u64() << bits.min(63))) & type_mask,
                            _ => rng.next_u64() & type_mask,
                        };
                        let address_arg = Val::I32(if form == "fixed" { 0 } else { address as i32 });
                        let args = match kind {
                            "load" => vec![address_arg],
                            "cmpxchg" => vec![address_arg, typed(ty, expected), typed(ty, value)],
                            _ => vec![address_arg, typed(ty, value)],
                        };
                        let export = format!("{form}/{name}");
                        let results =
                            instance.call(&export, &args).unwrap_or_else(|e| panic!("{export}: {e:?}"));
                        let (want_result, want_new) = model(kind, op, bits, old, expected, value);
                        if kind != "store" {
                            assert_eq!(raw(&results[0]), want_result, "{export}{args:?} over {old:#x}");
                        }
                        let mut after = [0u8; 24];
                        memory.read(window, &mut after).unwrap();
                        let mut want = around;
                        let at = (address - window) as usize;
                        want[at..at + bytes as usize]
                            .copy_from_slice(&want_new.to_le_bytes()[..bytes as usize]);
                        assert_eq!(after, want, "{export}{args:?}: memory around {address:#x}");
                    }
                }
            }
        }
    }
}

fn memory_named(instance: &Instance, second: bool) -> Memory {
    match instance.get_export(if second { "m1" } else { "m0" }) {
        Some(sidewinder_engine::Extern::Memory(m)) => m,
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_access_width_and_operation_matches_the_model() {
    for explicit_bounds_checks in [false, true] {
        for second_memory in [false, true] {
            let config = Config { explicit_bounds_checks, ..Config::default() };
            let (_store, instance) = instantiate(&module(second_memory), config);
            let memory = memory_named(&instance, second_memory);
            check_against_model(
                &instance,
                &memory,
                u64::from(explicit_bounds_checks) * 2 + u64::from(second_memory),
            );
        }
    }
}

#[test]
fn bounds_are_checked_before_alignment() {
    let wat = r#"(module
      (memory 1 1 shared)
      (func (export "load") (param i32) (result i64) (i64.atomic.load (local.get 0)))
      (func (export "add") (param i32) (result i32) (i32.atomic.rmw16.add_u offset=2 (local.get 0) (i32.const 1)))
      (func (export "cmpxchg") (param i32) (result i32)
        (i32.atomic.rmw.cmpxchg (local.get 0) (i32.const 0) (i32.const 1))))"#;
    for explicit_bounds_checks in [false, true] {
        let (_store, i) = instantiate(wat, Config { explicit_bounds_checks, ..Config::default() });
        // Misaligned inside: unaligned; misaligned and out of bounds: out of bounds.
        assert_trap(&i, "load", &[Val::I32(65520 + 4)], TrapCode::UnalignedAtomic);
        assert_trap(&i, "load", &[Val::I32(65532)], TrapCode::MemoryOutOfBounds);
        assert_trap(&i, "load", &[Val::I32(-4)], TrapCode::MemoryOutOfBounds);
        assert_eq!(integer_result(&i, "load", &[Val::I32(65528)]), 0);
        assert_trap(&i, "add", &[Val::I32(1)], TrapCode::UnalignedAtomic);
        assert_trap(&i, "add", &[Val::I32(65533)], TrapCode::MemoryOutOfBounds);
        assert_eq!(integer_result(&i, "add", &[Val::I32(65532)]), 0);
        assert_trap(&i, "cmpxchg", &[Val::I32(2)], TrapCode::UnalignedAtomic);
        assert_trap(&i, "cmpxchg", &[Val::I32(65534)], TrapCode::MemoryOutOfBounds);
    }
}

#[test]
fn wait_and_notify() {
    let wat = r#"(module
      (memory $shared 1 1 shared)
      (memory $plain 1)
      (func (export "wait32") (param i32 i32 i64) (result i32)
        (memory.atomic.wait32 $shared (local.get 0) (local.get 1) (local.get 2)))
      (func (export "wait64") (param i32 i64 i64) (result i32)
        (memory.atomic.wait64 $shared offset=8 (local.get 0) (local.get 1) (local.get 2)))
      (func (export "wait_plain") (param i32) (result i32)
        (memory.atomic.wait32 $plain (local.get 0) (i32.const 0) (i64.const 0)))
      (func (export "notify") (param i32 i32) (result i32)
        (memory.atomic.notify $shared (local.get 0) (local.get 1)))
      (func (export "notify_plain") (param i32) (result i32)
        (memory.atomic.notify $plain (local.get 0) (i32.const 1)))
      (func (export "set") (param i32 i32) (i32.atomic.store $shared (local.get 0) (local.get 1))))"#;
    let (_store, i) = instantiate(wat, Config::default());
    let wait32 = |addr: i32, expected: i32, timeout: i64| {
        i.call("wait32", &[Val::I32(addr), Val::I32(expected), Val::I64(timeout)])
    };
    i.call("set", &[Val::I32(16), Val::I32(7)]).unwrap();
    // Not equal: 1 at once, whatever the timeout.
    assert!(matches!(wait32(16, 8, -1).unwrap()[..], [Val::I32(1)]));
    // Equal: 2 once the timeout passed; nothing else could end it.
    assert!(matches!(wait32(16, 7, 1_000).unwrap()[..], [Val::I32(2)]));
    match wait32(16, 7, -1) {
        Err(Error::Trap(t)) => assert_eq!(t.code(), TrapCode::WaitForever),
        other => panic!("{other:?}"),
    }
    assert!(matches!(wait32(65532, 0, 0).unwrap()[..], [Val::I32(2)]));
    assert_trap(&i, "wait32", &[Val::I32(65536), Val::I32(0), Val::I64(0)], TrapCode::MemoryOutOfBounds);
    assert_trap(&i, "wait32", &[Val::I32(2), Val::I32(0), Val::I64(0)], TrapCode::UnalignedAtomic);
    // The offset counts: 8 + 65528 is past the end; 8 + 4 is misaligned for 8 bytes.
    assert_trap(&i, "wait64", &[Val::I32(65528), Val::I64(0), Val::I64(0)], TrapCode::MemoryOutOfBounds);
    assert_trap(&i, "wait64", &[Val::I32(4), Val::I64(0), Val::I64(0)], TrapCode::UnalignedAtomic);
    assert!(matches!(
        i.call("wait64", &[Val::I32(8), Val::I64(8), Val::I64(-1)]).unwrap()[..],
        [Val::I32(1)]
    ));
    assert!(matches!(i.call("wait64", &[Val::I32(8), Val::I64(7), Val::I64(0)]).unwrap()[..], [Val::I32(2)]));
    // A memory that is not shared cannot be waited on, but can be notified.
    assert_trap(&i, "wait_plain", &[Val::I32(0)], TrapCode::ExpectedSharedMemory);
    assert_eq!(integer_result(&i, "notify", &[Val::I32(16), Val::I32(5)]), 0);
    assert_eq!(integer_result(&i, "notify_plain", &[Val::I32(0)]), 0);
    assert_trap(&i, "notify", &[Val::I32(65536), Val::I32(1)], TrapCode::MemoryOutOfBounds);
    assert_trap(&i, "notify", &[Val::I32(1), Val::I32(1)], TrapCode::UnalignedAtomic);
}

#[test]
fn shared_memories_link_only_to_shared_imports() {
    let (store, _) = instantiate("(module)", Config::default());
    let ty = |shared| sidewinder_engine::MemoryType {
        minimum: 1,
        maximum: Some(2),
        memory64: false,
        shared,
        page_size_log2: 16,
    };
    let shared = Memory::new(&store, ty(true)).unwrap();
    let plain = Memory::new(&store, ty(false)).unwrap();
    assert!(Memory::new(&store, sidewinder_engine::MemoryType { maximum: None, ..ty(true) }).is_err());
    let engine = store.engine().clone();
    let import = |shared: bool| {
        let wat = format!(r#"(module (import "m" "m" (memory 1 2{})))"#, if shared { " shared" } else { "" });
        support::compile(&engine, &wat)
    };
    use sidewinder_engine::Extern;
    assert!(Instance::new(&store, &import(true), &[Extern::Memory(shared.clone())]).is_ok());
    assert!(Instance::new(&store, &import(false), &[Extern::Memory(plain.clone())]).is_ok());
    assert!(matches!(Instance::new(&store, &import(true), &[Extern::Memory(plain)]), Err(Error::Link(_))));
    assert!(matches!(Instance::new(&store, &import(false), &[Extern::Memory(shared)]), Err(Error::Link(_))));
}

/// Compiled atomics check alignment on native addresses, so an external memory's base
/// must be aligned; a shared one needs a maximum there too.
#[test]
fn external_memories_are_aligned_and_shared_ones_bounded() {
    let (store, _) = instantiate("(module)", Config::default());
    let ty = |shared, maximum| sidewinder_engine::MemoryType {
        minimum: 1,
        maximum,
        memory64: false,
        shared,
        page_size_log2: 16,
    };
    let mut block = vec![0u64; 65536 / 8 + 1];
    let aligned = block.as_mut_ptr().cast::<u8>();
    // SAFETY: `block` is dropped after `store` and holds a page and 8 bytes, enough
    // from either base; nothing grows.
    unsafe {
        assert!(Memory::new_external(&store, ty(false, None), aligned.add(1), 65536, |_, _| false).is_err());
        assert!(Memory::new_external(&store, ty(true, None), aligned, 65536, |_, _| false).is_err());
        assert!(Memory::new_external(&store, ty(true, Some(1)), aligned, 65536, |_, _| false).is_ok());
    }
    drop(store);
    drop(block);
}

//! Data sections. The usual form (passive segments and active ones at an `i32.const`
//! offset) is read without wasmparser's validator (module.rs `read_plain_data_section`,
//! whose unit tests check which sections take that path); every other form goes through
//! the validator. Both must fill memory alike, and a module must be accepted exactly when
//! wasmparser's validator accepts it. (The error then reported is wasmparser's own:
//! `Module::compile` validates a refused module again to report its first error; the
//! tests check that too.)

use sidewinder_engine::{Engine, Extern, Global, GlobalType, Instance, Module, Store, Val, ValType};
use support::{engine_verdict, leb, wasmparser_verdict};

#[allow(dead_code)] // `Rng` is for the tests that generate modules
mod support;

/// A module with one page of memory (or none), an imported i32 global `g` and an export
/// `load(addr) -> byte`, with `data` appended as its data section (the last section, so
/// no data count is needed).
fn module_with_data(memory: bool, data: &[u8]) -> Vec<u8> {
    let wat = if memory {
        r#"(module (import "" "g" (global i32)) (memory 1)
             (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))"#
    } else {
        r#"(module (import "" "g" (global i32))
             (func (export "load") (param i32) (result i32) (i32.const 0)))"#
    };
    let mut bytes = wat::parse_str(wat).expect("valid wat");
    bytes.push(11);
    leb(&mut bytes, data.len() as u32);
    bytes.extend_from_slice(data);
    bytes
}

/// A data section of `count` followed by the given segments' bytes.
fn section(count: u32, segments: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    leb(&mut out, count);
    for s in segments {
        out.extend_from_slice(s);
    }
    out
}

fn memory_bytes(module_bytes: &[u8], len: i32) -> Vec<i32> {
    let store = Store::new(&Engine::default());
    let module = Module::new(store.engine(), module_bytes).expect("compiles");
    let g = Global::new(&store, GlobalType { content: ValType::I32, mutable: false }, Val::I32(GLOBAL_G))
        .expect("a global");
    let instance = Instance::new(&store, &module, &[Extern::Global(g)]).expect("instantiates");
    (0..len)
        .map(|addr| match instance.call("load", &[Val::I32(addr)]).expect("loads")[..] {
            [Val::I32(b)] => b,
            ref other => panic!("{other:?}"),
        })
        .collect()
}

const A_AT_0: &[u8] = &[0x00, 0x41, 0x00, 0x0B, 0x01, b'a'];
/// Memory 0 named explicitly (flags 2).
const B_AT_1: &[u8] = &[0x02, 0x00, 0x41, 0x01, 0x0B, 0x01, b'b'];
const PASSIVE_C: &[u8] = &[0x01, 0x01, b'c'];
const EMPTY_AT_3: &[u8] = &[0x00, 0x41, 0x03, 0x0B, 0x00];
/// The offset 4 in a five-byte LEB128.
const XY_AT_4: &[u8] = &[0x00, 0x41, 0x84, 0x80, 0x80, 0x80, 0x00, 0x0B, 0x02, b'x', b'y'];
/// Flags 0 as a two-byte LEB128, which wasmparser accepts and the plain reader leaves to
/// the validating path: an active segment at 6.
const Z_AT_6_LONG_FLAGS: &[u8] = &[0x80, 0x00, 0x41, 0x06, 0x0B, 0x01, b'z'];

/// The value of the imported global `g` (global 0).
const GLOBAL_G: i32 = 7;
/// At offset `g`, the form Emscripten's dynamic libraries use: left to the validator.
const W_AT_G: &[u8] = &[0x00, 0x23, 0x00, 0x0B, 0x01, b'w'];

#[test]
fn plain_and_validated_data_sections_fill_memory_alike() {
    let (a, b, x, y, z) = (b'a' as i32, b'b' as i32, b'x' as i32, b'y' as i32, b'z' as i32);
    let plain = module_with_data(true, &section(5, &[A_AT_0, B_AT_1, PASSIVE_C, EMPTY_AT_3, XY_AT_4]));
    assert_eq!(memory_bytes(&plain, 8), [a, b, 0, 0, x, y, 0, 0]);
    let validated = module_with_data(
        true,
        &section(6, &[A_AT_0, B_AT_1, PASSIVE_C, EMPTY_AT_3, XY_AT_4, Z_AT_6_LONG_FLAGS]),
    );
    assert_eq!(memory_bytes(&validated, 8), [a, b, 0, 0, x, y, z, 0]);
    let at_global = module_with_data(true, &section(3, &[A_AT_0, B_AT_1, W_AT_G]));
    assert_eq!(memory_bytes(&at_global, 8), [a, b, 0, 0, 0, 0, 0, b'w' as i32]);
}

/// The error `Module::validate` gives for `bytes`, which must be invalid, as wasmparser's
/// validator gives it (message and offset).
fn assert_same_error_as_wasmparser(bytes: &[u8]) {
    let expected = wasmparser_verdict(bytes);
    assert!(expected.is_err(), "an invalid module");
    assert_eq!(engine_verdict(bytes), expected);
}

#[test]
fn bad_data_sections_are_reported_as_wasmparser_reports_them() {
    let mut too_many = Vec::new();
    leb(&mut too_many, 100_001);
    for _ in 0..100_001 {
        too_many.extend_from_slice(&[0x01, 0x00]);
    }
    let cases: [(&str, bool, Vec<u8>); 10] = [
        ("a memory that does not exist", true, section(2, &[A_AT_0, &[0x02, 0x01, 0x41, 0x00, 0x0B, 0x00]])),
        ("no memory at all", false, section(1, &[A_AT_0])),
        ("an i64 offset", true, section(2, &[A_AT_0, &[0x00, 0x42, 0x00, 0x0B, 0x00]])),
        ("an offset without end", true, section(1, &[&[0x00, 0x41, 0x00, 0x00, 0x00]])),
        // Memory 65, or memory 0 at offset 0 to a reader that skipped the index.
        ("a memory index that reads as an offset", true, section(1, &[&[0x02, 0x41, 0x00, 0x0B, 0x00]])),
        ("flags 3", true, section(2, &[A_AT_0, &[0x03, 0x00]])),
        ("bytes past the section's end", true, section(1, &[&[0x00, 0x41, 0x00, 0x0B, 0x05, b'a']])),
        ("fewer segments than counted", true, section(3, &[A_AT_0, B_AT_1])),
        ("bytes after the last segment", true, section(1, &[A_AT_0, &[0x01]])),
        ("more segments than the limit", true, too_many),
    ];
    for (what, memory, data) in cases {
        eprintln!("{what}");
        assert_same_error_as_wasmparser(&module_with_data(memory, &data));
    }
}

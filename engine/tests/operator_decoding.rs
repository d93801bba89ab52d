//! The first pass decodes the most frequent operators and the usual encodings of plain
//! memory accesses itself (compiler/first_pass.rs `visit_next`) and leaves the rest to
//! wasmparser's decoder. A module using any of those operators, in any encoding, damaged
//! or not, must be accepted exactly when wasmparser's validator accepts it. (The error
//! then reported is wasmparser's own: `Module::compile` validates a refused module again
//! to report its first error; the tests check that too.) These tests compare verdicts
//! only: an operator decoded as another of the same type (`i32.add` as `i32.sub`) would
//! pass here and fail the spec suite and the differential test, which run the code.

use support::{engine_verdict, leb, wasmparser_verdict};

#[allow(dead_code)] // `Rng` is for the tests that generate modules
mod support;

/// Each opcode `visit_next` decodes, with a valid immediate (empty for none).
const COMMON: [(u8, &[u8]); 24] = [
    (0x0B, &[]),
    (0x0C, &[0x00]),
    (0x0D, &[0x00]),
    (0x10, &[0x00]),
    (0x1A, &[]),
    (0x20, &[0x00]),
    (0x21, &[0x00]),
    (0x22, &[0x00]),
    (0x23, &[0x00]),
    (0x24, &[0x00]),
    (0x41, &[0x7F]),
    (0x42, &[0x7F]),
    (0x45, &[]),
    (0x46, &[]),
    (0x47, &[]),
    (0x50, &[]),
    (0x6A, &[]),
    (0x6B, &[]),
    (0x71, &[]),
    (0x7C, &[]),
    (0x7D, &[]),
    (0x83, &[]),
    (0xA7, &[]),
    (0xAD, &[]),
];

fn section(out: &mut Vec<u8>, id: u8, contents: &[u8]) {
    out.push(id);
    leb(out, contents.len() as u32);
    out.extend_from_slice(contents);
}

/// A module of one function `(param i32) (result i32)`, with one mutable i32 global,
/// whose body (after its local declarations) is `code`.
fn module_with_body(code: &[u8]) -> Vec<u8> {
    module_with(true, code)
}

/// The same module with one page of memory or without memory.
fn module_with(memory: bool, code: &[u8]) -> Vec<u8> {
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    section(&mut bytes, 1, &[0x01, 0x60, 0x01, 0x7F, 0x01, 0x7F]);
    section(&mut bytes, 3, &[0x01, 0x00]);
    if memory {
        section(&mut bytes, 5, &[0x01, 0x00, 0x01]);
    }
    section(&mut bytes, 6, &[0x01, 0x7F, 0x01, 0x41, 0x00, 0x0B]);
    let mut body = vec![0x00];
    body.extend_from_slice(code);
    let mut entry = Vec::new();
    leb(&mut entry, body.len() as u32);
    entry.extend_from_slice(&body);
    section(&mut bytes, 10, &[&[0x01][..], &entry].concat());
    bytes
}

#[test]
fn damaged_common_operators_are_refused_as_wasmparser_refuses_them() {
    let mut refused = 0;
    for (opcode, immediate) in COMMON {
        let op = [&[opcode][..], immediate].concat();
        let mut bodies = vec![
            // After the function's final `end`.
            [&[0x20, 0x00, 0x0B][..], &op].concat(),
            // With too few operands, or a result of the wrong type (`end`: after the
            // final `end`).
            [&op[..], &[0x0B]].concat(),
        ];
        if opcode != 0x0B {
            // In place of the final `end`: the body ends inside the function.
            bodies.push([&[0x20, 0x00][..], &op].concat());
        }
        if !immediate.is_empty() {
            // The immediate cut off by the body's end, and too long.
            bodies.push(vec![opcode, 0x80]);
            bodies.push([&[opcode][..], &[0x80; 10], &[0x00, 0x0B]].concat());
            // An index out of range (locals, globals, functions, labels).
            bodies.push([&[0x20, 0x00, opcode][..], &[0xFF, 0x01, 0x0B]].concat());
        }
        for body in bodies {
            let bytes = module_with_body(&body);
            let expected = wasmparser_verdict(&bytes);
            assert_eq!(engine_verdict(&bytes), expected, "opcode {opcode:#04x}: body {body:02x?}");
            refused += usize::from(expected.is_err());
        }
    }
    // All but the few that are valid by chance (`local.get 0` then `end`, ...).
    assert!(refused >= 95, "{refused}");
}

#[test]
fn common_operators_in_valid_bodies_are_accepted() {
    let valid: [&[u8]; 6] = [
        &[0x20, 0x00, 0x0B],
        &[0x20, 0x00, 0x21, 0x00, 0x20, 0x00, 0x22, 0x00, 0x1A, 0x23, 0x00, 0x24, 0x00, 0x20, 0x00, 0x0B],
        &[
            0x41, 0x7F, 0x41, 0x01, 0x6A, 0x41, 0x02, 0x6B, 0x41, 0x03, 0x71, 0x45, 0x41, 0x00, 0x46, 0x41,
            0x00, 0x47, 0x0B,
        ],
        &[0x42, 0x7F, 0x42, 0x01, 0x7C, 0x42, 0x02, 0x7D, 0x42, 0x03, 0x83, 0x50, 0xAD, 0xA7, 0x0B],
        &[0x02, 0x40, 0x20, 0x00, 0x0D, 0x00, 0x0C, 0x00, 0x0B, 0x20, 0x00, 0x10, 0x00, 0x0B],
        // A long LEB that is still valid: local 0 in five bytes.
        &[0x20, 0x80, 0x80, 0x80, 0x80, 0x00, 0x0B],
    ];
    for body in valid {
        let bytes = module_with_body(body);
        assert_eq!(wasmparser_verdict(&bytes), Ok(()), "{body:02x?}");
        assert_eq!(engine_verdict(&bytes), Ok(()), "{body:02x?}");
    }
}

/// Each plain memory access, with its natural alignment and, for a store, the encoding
/// of a constant of its value type.
const MEMORY: [(u8, u8, &[u8]); 23] = [
    (0x28, 2, &[]),
    (0x29, 3, &[]),
    (0x2A, 2, &[]),
    (0x2B, 3, &[]),
    (0x2C, 0, &[]),
    (0x2D, 0, &[]),
    (0x2E, 1, &[]),
    (0x2F, 1, &[]),
    (0x30, 0, &[]),
    (0x31, 0, &[]),
    (0x32, 1, &[]),
    (0x33, 1, &[]),
    (0x34, 2, &[]),
    (0x35, 2, &[]),
    (0x36, 2, &[0x41, 0x00]),
    (0x37, 3, &[0x42, 0x00]),
    (0x38, 2, &[0x43, 0, 0, 0, 0]),
    (0x39, 3, &[0x44, 0, 0, 0, 0, 0, 0, 0, 0]),
    (0x3A, 0, &[0x41, 0x00]),
    (0x3B, 1, &[0x41, 0x00]),
    (0x3C, 0, &[0x42, 0x00]),
    (0x3D, 1, &[0x42, 0x00]),
    (0x3E, 2, &[0x42, 0x00]),
];

#[test]
fn memory_accesses_in_every_encoding_are_read_as_wasmparser_reads_them() {
    let (mut accepted, mut refused) = (0, 0);
    for (opcode, natural, value) in MEMORY {
        // The address, the value to store if any, the access; then the function's result.
        let access = |memarg: &[u8]| -> Vec<u8> {
            let is_load = value.is_empty();
            let drop_result: &[u8] = if is_load { &[0x1A] } else { &[] };
            [&[0x20, 0x00][..], value, &[opcode], memarg, drop_result, &[0x20, 0x00, 0x0B]].concat()
        };
        let memargs: Vec<Vec<u8>> = vec![
            vec![natural, 0x00],
            vec![0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F],
            // Alignment above natural, then with flag bits: a memory index (multi-memory),
            // an ordering, an array type, all of them, and bits no proposal has.
            vec![natural + 1, 0x00],
            vec![0x40 | natural, 0x00, 0x00],
            vec![0x10 | natural, 0x00],
            vec![0x20 | natural, 0x00, 0x00],
            vec![0x70 | natural, 0x00, 0x00, 0x00],
            vec![0x80 | natural, 0x01, 0x00],
            // The alignment in two bytes; the offset in six bytes (too long for a u32
            // LEB128, fine for memory64's u64 ones), and too large.
            vec![0x80 | natural, 0x00, 0x00],
            vec![natural, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
            vec![natural, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F],
        ];
        let mut modules: Vec<Vec<u8>> =
            memargs.iter().map(|memarg| module_with_body(&access(memarg))).collect();
        // No memory; the immediate cut off by the body's end, after the alignment and
        // inside the offset; after the function's final `end`.
        modules.push(module_with(false, &access(&[natural, 0x00])));
        modules.push(module_with_body(&[0x20, 0x00, opcode, natural]));
        modules.push(module_with_body(&[0x20, 0x00, opcode, natural, 0x80]));
        modules.push(module_with_body(&[&[0x20, 0x00, 0x0B, opcode][..], &[natural, 0x00]].concat()));
        for (i, bytes) in modules.iter().enumerate() {
            let expected = wasmparser_verdict(bytes);
            assert_eq!(engine_verdict(bytes), expected, "opcode {opcode:#04x}, case {i}");
            if i < 2 {
                assert_eq!(expected, Ok(()), "opcode {opcode:#04x}, case {i}");
            }
            accepted += usize::from(expected.is_ok());
            refused += usize::from(expected.is_err());
        }
    }
    // Valid: the natural alignment, alignment 0 with the largest offset, the explicit
    // memory index 0 (multi-memory), the two-byte alignment and the six-byte offset
    // (memory64 makes every offset a u64 LEB128), for each of the 23.
    assert_eq!((accepted, refused), (5 * 23, 10 * 23));
}

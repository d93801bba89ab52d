//! Modules large enough to compile on several threads must produce exactly the code a
//! single thread produces, and report the same (first) error when a body is invalid.

use sidewinder_engine::{Config, Engine, Error, Instance, Module, Store, Val};

const FUNCTIONS: usize = 6000;

/// 6000 functions of about 50 bytes each: above the parallel threshold (256 KiB).
fn big_module(invalid_functions: &[usize]) -> Vec<u8> {
    let mut wat = String::from("(module\n");
    for i in 0..FUNCTIONS {
        let body = if invalid_functions.contains(&i) {
            // i32.add with one operand: invalid.
            "(i32.add (local.get 0))".to_string()
        } else {
            format!(
                "(local $i i32) (local $acc i32)
                 (loop $l
                   (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const {k})) (local.get $i)))
                   (local.set $acc (i32.xor (local.get $acc) (i32.shr_u (local.get $acc) (i32.const 7))))
                   (local.set $i (i32.add (local.get $i) (i32.const 1)))
                   (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
                 (i32.add (local.get $acc) (i32.const {i}))",
                k = 2 * i + 1
            )
        };
        wat.push_str(&format!("(func (export \"f{i}\") (param i32) (result i32) {body})\n"));
    }
    wat.push(')');
    wat::parse_str(&wat).expect("valid wat")
}

fn model(i: usize, n: u32) -> i32 {
    let (mut acc, mut j) = (0u32, 0u32);
    loop {
        acc = acc.wrapping_mul(2 * i as u32 + 1).wrapping_add(j);
        acc ^= acc >> 7;
        j += 1;
        if j >= n {
            break;
        }
    }
    acc.wrapping_add(i as u32) as i32
}

/// Where the body of defined function `index` lies in the module's bytes.
fn body_range(bytes: &[u8], index: usize) -> std::ops::Range<usize> {
    let mut seen = 0;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload {
            if seen == index {
                let r = body.range();
                return r.start as usize..r.end as usize;
            }
            seen += 1;
        }
    }
    panic!("no function {index}");
}

fn engine(compile_threads: usize) -> Engine {
    Engine::new(Config { compile_threads, ..Config::default() }).expect("engine")
}

#[test]
fn parallel_code_is_identical_and_runs() {
    let bytes = big_module(&[]);
    let code_size = body_range(&bytes, FUNCTIONS - 1).end - body_range(&bytes, 0).start;
    assert!(code_size > 256 * 1024, "the module must be big enough to compile in parallel: {code_size}");
    let sequential = Module::new(&engine(1), &bytes).expect("compiles on one thread");
    for threads in [2, 3, 8] {
        let e = engine(threads);
        let parallel = Module::new(&e, &bytes).expect("compiles in parallel");
        for f in 0..FUNCTIONS as u32 {
            assert_eq!(
                sequential.function_code(f),
                parallel.function_code(f),
                "function {f}, {threads} threads"
            );
        }
        let store = Store::new(&e);
        let instance = Instance::new(&store, &parallel, &[]).expect("instantiates");
        for i in [0, 1, FUNCTIONS / 2, FUNCTIONS - 1] {
            let got = instance.call(&format!("f{i}"), &[Val::I32(10)]).expect("runs");
            assert!(matches!(got[..], [Val::I32(v)] if v == model(i, 10)), "f{i}: {got:?}");
        }
    }
}

#[test]
fn parallel_compile_reports_the_first_invalid_body() {
    // With 4 threads these two land in different chunks; the earlier one must win.
    let bytes = big_module(&[FUNCTIONS * 5 / 8, FUNCTIONS - 3]);
    let describe = |threads| match Module::new(&engine(threads), &bytes) {
        Err(Error::Compile { message, offset }) => (message, offset),
        Err(other) => panic!("{threads} threads: not a compile error: {other}"),
        Ok(_) => panic!("{threads} threads: an invalid module compiled"),
    };
    let (message, offset) = describe(1);
    assert!(message.contains("type mismatch"), "{message}");
    let body = body_range(&bytes, FUNCTIONS * 5 / 8);
    assert!(body.contains(&offset), "offset {offset:#x} outside the first invalid body {body:x?}");
    for threads in [2, 4] {
        assert_eq!(describe(threads), (message.clone(), offset), "{threads} threads");
    }
}

//! Modules large enough to compile on several threads must produce the code a single
//! thread produces, call across the chunks the threads compiled, and report the same
//! (first) error when a body is invalid.

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

/// Every function here has a loop, so it starts at a 64-byte boundary, as every chunk
/// does: the layout is the same however many chunks there are, and so is each
/// function's code, padding included.
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

/// Functions without loops (16-byte aligned, so chunks end at any 16 bytes and the next
/// starts at 64) calling functions far away, in other chunks when compiled in parallel:
/// function `i` returns `i + x` plus what function `(i * 7919 + 1) % N` returns for `x - 1`;
/// at `x` = 0, `i + 100 / (p + 1) + load(p)`. A call patched to the wrong function or
/// offset gives a wrong sum; a trap site registered at the wrong offset, a crash.
#[test]
fn calls_and_traps_across_chunks() {
    const N: usize = 12000;
    let callee = |i: usize| (i * 7919 + 1) % N;
    let mut wat = String::from("(module (memory 1)\n");
    for i in 0..N {
        wat.push_str(&format!(
            "(func $f{i} (export \"f{i}\") (param i32 i32) (result i32)
               (if (result i32) (local.get 0)
                 (then (i32.add (i32.add (local.get 0) (i32.const {i}))
                                (call $f{c} (i32.sub (local.get 0) (i32.const 1)) (local.get 1))))
                 (else (i32.add (i32.add (i32.const {i})
                                         (i32.div_u (i32.const 100) (i32.add (local.get 1) (i32.const 1))))
                                (i32.load (local.get 1))))))\n",
            c = callee(i)
        ));
    }
    wat.push(')');
    let bytes = wat::parse_str(&wat).expect("valid wat");
    let code_size = body_range(&bytes, N - 1).end - body_range(&bytes, 0).start;
    assert!(code_size > 256 * 1024, "the module must be big enough to compile in parallel: {code_size}");
    let model = |mut i: usize, mut x: i32| {
        let mut sum = 0i32;
        while x != 0 {
            sum = sum.wrapping_add(x + i as i32);
            i = callee(i);
            x -= 1;
        }
        sum.wrapping_add(i as i32 + 100)
    };
    for threads in [1, 2, 3] {
        let e = engine(threads);
        let module = Module::new(&e, &bytes).expect("compiles");
        let store = Store::new(&e);
        let instance = Instance::new(&store, &module, &[]).expect("instantiates");
        for i in (0..N).step_by(97).chain([N - 1]) {
            let got = instance.call(&format!("f{i}"), &[Val::I32(40), Val::I32(0)]).expect("runs");
            assert!(
                matches!(got[..], [Val::I32(v)] if v == model(i, 40)),
                "f{i}, {threads} threads: {got:?}"
            );
        }
        // The traps happen in the last function of each call chain, anywhere in the code.
        for i in (0..N).step_by(997) {
            for (p, trap) in [(70_000, "out of bounds memory access"), (-1, "integer divide by zero")] {
                let err = instance.call(&format!("f{i}"), &[Val::I32(5), Val::I32(p)]).expect_err("traps");
                assert!(err.to_string().contains(trap), "f{i}, {threads} threads: {err}");
            }
        }
    }
}

/// `Func::keeps_references` follows direct calls across the chunks threads compiled:
/// each function's flag must be the one a model of the call graph gives (a function
/// keeps references if it sets the externref global or calls, directly, one that
/// does), compiled on one thread or several.
#[test]
fn keeps_references_follows_calls_across_chunks() {
    let keeper = |i: usize| i.is_multiple_of(97);
    let callee = |i: usize| (!i.is_multiple_of(4)).then_some((i * 7919 + 13) % FUNCTIONS);
    let mut wat = String::from("(module (global $g (mut externref) (ref.null extern))\n");
    for i in 0..FUNCTIONS {
        let keeps = if keeper(i) { "(global.set $g (local.get 0))" } else { "" };
        let call = match callee(i) {
            Some(c) => format!("(drop (call $f{c} (local.get 0) (local.get $acc)))"),
            None => String::new(),
        };
        wat.push_str(&format!(
            "(func $f{i} (export \"f{i}\") (param externref i32) (result externref) (local $acc i32)
               (loop $l
                 (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const {k})) (local.get 1)))
                 (local.set $acc (i32.xor (local.get $acc) (i32.shr_u (local.get $acc) (i32.const 7))))
                 (local.set $acc (i32.rotl (local.get $acc) (i32.const 3)))
                 (br_if $l (i32.lt_u (local.get $acc) (local.get 1))))
               {keeps} {call} (local.get 0))\n",
            k = 2 * i + 1
        ));
    }
    wat.push(')');
    let bytes = wat::parse_str(&wat).expect("valid wat");
    // With room: the threshold counts the bodies without their size fields.
    let code_size = body_range(&bytes, FUNCTIONS - 1).end - body_range(&bytes, 0).start;
    assert!(code_size > 280 * 1024, "the module must be big enough to compile in parallel: {code_size}");
    // The model: keepers, then every caller of a keeper, until nothing changes.
    let mut expected: Vec<bool> = (0..FUNCTIONS).map(keeper).collect();
    loop {
        let next: Vec<bool> =
            (0..FUNCTIONS).map(|i| expected[i] || callee(i).is_some_and(|c| expected[c])).collect();
        if next == expected {
            break;
        }
        expected = next;
    }
    let keeping = expected.iter().filter(|&&k| k).count();
    assert!(keeping > FUNCTIONS / 10 && keeping < FUNCTIONS * 9 / 10, "{keeping} of {FUNCTIONS} keep");
    for threads in [1, 2, 3, 8] {
        let e = engine(threads);
        let store = Store::new(&e);
        let module = Module::new(&e, &bytes).expect("compiles");
        let instance = Instance::new(&store, &module, &[]).expect("instantiates");
        for (i, &keeps) in expected.iter().enumerate() {
            let f = match instance.get_export(&format!("f{i}")) {
                Some(sidewinder_engine::Extern::Func(f)) => f,
                other => panic!("f{i}: {other:?}"),
            };
            assert_eq!(f.keeps_references(), keeps, "f{i} on {threads} threads");
        }
    }
}

//! A trap's backtrace: the wasm frames it unwound, innermost first, with each
//! function's index and `name`-section name, from every way compiled code traps
//! (an out-of-line trap path, a faulting load, a division, a runtime helper, a host
//! function, a stack overflow).

use sidewinder_engine::runtime::backtrace::MAX_FRAMES;
use sidewinder_engine::{
    Config, Engine, Error, Extern, Func, FuncType, Instance, Module, Store, Trap, TrapCode, Val,
};

#[allow(dead_code)] // only `compile` is used here
mod support;
use support::compile;

/// Three named functions, `outer` -> `middle` -> `inner`, where `inner` traps the way
/// its body says, after one import (so the defined functions are 1, 2 and 3).
fn chain(inner_body: &str) -> String {
    format!(
        r#"(module
          (import "host" "f" (func $host))
          (memory 1)
          (func $inner (param i32) (result i32) {inner_body})
          (func $middle (param i32) (result i32) (i32.add (call $inner (local.get 0)) (i32.const 1)))
          (func $outer (export "run") (param i32) (result i32) (i32.add (call $middle (local.get 0)) (i32.const 1))))"#
    )
}

fn trap_of(config: Config, wat: &str, host: impl Fn() -> Result<(), Trap> + 'static) -> Trap {
    let engine = Engine::new(config).expect("engine");
    let store = Store::new(&engine);
    let host = Func::new(&store, FuncType::new([], []), move |_, _| host());
    run_trapping(&store, &compile(&engine, wat), &[Extern::Func(host)], &[Val::I32(0)])
}

/// The trap of calling export `run` with `args`, in an instance of `module` in `store`
/// with `imports`.
fn run_trapping(store: &Store, module: &Module, imports: &[Extern], args: &[Val]) -> Trap {
    let instance = Instance::new(store, module, imports).expect("instantiates");
    match instance.call("run", args) {
        Err(Error::Trap(trap)) => trap,
        other => panic!("expected a trap, got {other:?}"),
    }
}

/// `(index, name)` of each frame.
fn frames(trap: &Trap) -> Vec<(u32, Option<String>)> {
    trap.backtrace().iter().map(|f| (f.func_index(), f.func_name())).collect()
}

fn named(frames: &[(u32, &str)]) -> Vec<(u32, Option<String>)> {
    frames.iter().map(|&(i, n)| (i, Some(n.to_string()))).collect()
}

fn no_host() -> Result<(), Trap> {
    Ok(())
}

/// The byte offset in `bytes` of the first operator of function `func_index` (imports
/// counted) that `wanted` picks.
fn operator_offset(bytes: &[u8], func_index: u32, wanted: impl Fn(&wasmparser::Operator) -> bool) -> u32 {
    let mut imported = 0;
    let mut defined = 0;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload.expect("valid module") {
            wasmparser::Payload::ImportSection(imports) => imported = imports.count(),
            wasmparser::Payload::CodeSectionEntry(body) => {
                if imported + defined == func_index {
                    let mut reader = body.get_operators_reader().expect("operators");
                    while !reader.eof() {
                        let (op, offset) = reader.read_with_offset().expect("operator");
                        if wanted(&op) {
                            return offset as u32;
                        }
                    }
                }
                defined += 1;
            }
            _ => {}
        }
    }
    panic!("no such operator in function {func_index}");
}

/// The wasm offset of each frame.
fn wasm_offsets(trap: &Trap) -> Vec<Option<u32>> {
    trap.backtrace().iter().map(|f| f.wasm_offset()).collect()
}

/// Where `chain`'s calls are: `middle`'s call of `inner`, `outer`'s of `middle`.
fn chain_calls(bytes: &[u8]) -> [u32; 2] {
    let is_call = |op: &wasmparser::Operator| matches!(op, wasmparser::Operator::Call { .. });
    [operator_offset(bytes, 2, is_call), operator_offset(bytes, 3, is_call)]
}

#[test]
fn every_way_of_trapping_starts_the_backtrace_in_the_trapping_function() {
    let chain_of_three = named(&[(1, "inner"), (2, "middle"), (3, "outer")]);
    use wasmparser::Operator as O;
    type Pick = fn(&O) -> bool;
    let cases: [(&str, &str, TrapCode, Pick); 6] = [
        ("out-of-line path", "unreachable", TrapCode::Unreachable, |op| matches!(op, O::Unreachable)),
        ("faulting load", "(i32.load (i32.const 70000))", TrapCode::MemoryOutOfBounds, |op| {
            matches!(op, O::I32Load { .. })
        }),
        (
            "division fault",
            "(i32.div_u (i32.const 1) (local.get 0))",
            TrapCode::IntegerDivisionByZero,
            |op| matches!(op, O::I32DivU),
        ),
        (
            "signed overflow",
            "(i32.div_s (i32.const 0x80000000) (i32.sub (local.get 0) (i32.const 1)))",
            TrapCode::IntegerOverflow,
            |op| matches!(op, O::I32DivS),
        ),
        (
            // Two checks of one operator share the trap path.
            "conversion",
            "(drop (i32.trunc_f64_s (f64.const 1e100))) (local.get 0)",
            TrapCode::IntegerOverflow,
            |op| matches!(op, O::I32TruncF64S),
        ),
        (
            "runtime helper",
            "(memory.fill (i32.const 65530) (i32.const 0) (i32.const 100)) (local.get 0)",
            TrapCode::MemoryOutOfBounds,
            |op| matches!(op, O::MemoryFill { .. }),
        ),
    ];
    for explicit_bounds_checks in [false, true] {
        for (what, body, code, trapping) in cases {
            let config = Config { explicit_bounds_checks, ..Config::default() };
            let wat = chain(body);
            let trap = trap_of(config, &wat, no_host);
            let context = format!("{what}, explicit bounds checks {explicit_bounds_checks}");
            assert_eq!(trap.code(), code, "{context}");
            assert_eq!(frames(&trap), chain_of_three, "{context}");
            let bytes = wat::parse_str(&wat).expect("valid wat");
            let [middle, outer] = chain_calls(&bytes);
            let at = operator_offset(&bytes, 1, trapping);
            assert_eq!(wasm_offsets(&trap), [Some(at), Some(middle), Some(outer)], "{context}");
        }
    }
}

#[test]
fn a_host_trap_starts_the_backtrace_at_the_calling_function() {
    let wat = chain("(call $host) (local.get 0)");
    let trap = trap_of(Config::default(), &wat, || Err(Trap::host_message("no")));
    assert_eq!(trap.code(), TrapCode::Host);
    assert_eq!(frames(&trap), named(&[(1, "inner"), (2, "middle"), (3, "outer")]));
    let bytes = wat::parse_str(&wat).expect("valid wat");
    let [middle, outer] = chain_calls(&bytes);
    let host_call = operator_offset(&bytes, 1, |op| matches!(op, wasmparser::Operator::Call { .. }));
    assert_eq!(wasm_offsets(&trap), [Some(host_call), Some(middle), Some(outer)]);
}

#[test]
fn a_stack_overflow_keeps_the_innermost_frames() {
    let wat = r#"(module (import "host" "f" (func))
      (func $down (export "run") (param i32) (result i32) (call $down (i32.add (local.get 0) (i32.const 1)))))"#;
    let trap = trap_of(Config::default(), wat, no_host);
    assert_eq!(trap.code(), TrapCode::StackOverflow);
    assert_eq!(frames(&trap), vec![(1, Some("down".to_string())); MAX_FRAMES]);
    // The innermost frame overflowed in its prologue: its first operator; the others at
    // their call.
    let bytes = wat::parse_str(wat).expect("valid wat");
    let first = operator_offset(&bytes, 1, |_| true);
    let call = operator_offset(&bytes, 1, |op| matches!(op, wasmparser::Operator::Call { .. }));
    let mut expected = vec![Some(call); MAX_FRAMES];
    expected[0] = Some(first);
    assert_eq!(wasm_offsets(&trap), expected);
}

#[test]
fn each_operator_sharing_a_trap_path_is_told_apart() {
    // Three operators raise the same trap; the one that runs is the second, then the
    // third in another call.
    let wat = chain(
        "(if (i32.eq (local.get 0) (i32.const 7)) (then unreachable))
         (if (i32.eqz (local.get 0)) (then unreachable))
         (if (i32.eq (local.get 0) (i32.const 1)) (then unreachable))
         (local.get 0)",
    );
    let bytes = wat::parse_str(&wat).expect("valid wat");
    let [middle, outer] = chain_calls(&bytes);
    let unreachables: Vec<u32> = (0..3)
        .map(|k| {
            let seen = std::cell::Cell::new(0);
            operator_offset(&bytes, 1, |op| {
                let is = matches!(op, wasmparser::Operator::Unreachable);
                seen.set(seen.get() + u32::from(is));
                is && seen.get() == k + 1
            })
        })
        .collect();
    for (argument, expected) in [(0, unreachables[1]), (1, unreachables[2]), (7, unreachables[0])] {
        let engine = Engine::default();
        let store = Store::new(&engine);
        let module = Module::new(&engine, &bytes).expect("compiles");
        let host = Func::new(&store, FuncType::new([], []), |_, _| Ok(()));
        let trap = run_trapping(&store, &module, &[Extern::Func(host)], &[Val::I32(argument)]);
        assert_eq!(wasm_offsets(&trap), [Some(expected), Some(middle), Some(outer)], "argument {argument}");
    }
}

#[test]
fn frames_of_other_modules_have_their_own_indices_and_names() {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let callee = compile(
        &engine,
        r#"(module (func $pad) (func $fails (export "fails") (param i32) (result i32) (local.get 0) unreachable))"#,
    );
    let callee = Instance::new(&store, &callee, &[]).expect("instantiates");
    let fails = callee.get_export("fails").expect("export");
    // No names here: the frame has an index only.
    let caller_bytes = wat::parse_str(
        r#"(module (import "a" "fails" (func (param i32) (result i32)))
          (func (export "run") (param i32) (result i32) (call 0 (local.get 0))))"#,
    )
    .expect("valid wat");
    assert!(!caller_bytes.windows(4).any(|w| w == b"name"), "the text format added a name section");
    let caller = Module::new(&engine, &caller_bytes).expect("compiles");
    let trap = run_trapping(&store, &caller, &[fails], &[Val::I32(0)]);
    assert_eq!(frames(&trap), vec![(1, Some("fails".to_string())), (1, None)]);
}

#[test]
fn a_trap_passed_on_by_a_host_function_keeps_the_inner_frames_first() {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let inner = compile(&engine, r#"(module (func $deep (export "deep") unreachable))"#);
    let inner = Instance::new(&store, &inner, &[]).expect("instantiates");
    let host = Func::new(&store, FuncType::new([], []), move |_, _| match inner.call("deep", &[]) {
        Err(Error::Trap(trap)) => Err(trap),
        other => panic!("expected a trap, got {other:?}"),
    });
    let outer = compile(&engine, &chain("(call $host) (local.get 0)"));
    let trap = run_trapping(&store, &outer, &[Extern::Func(host)], &[Val::I32(0)]);
    assert_eq!(trap.code(), TrapCode::Unreachable);
    assert_eq!(frames(&trap), named(&[(0, "deep"), (1, "inner"), (2, "middle"), (3, "outer")]));
}

#[test]
fn a_walk_ends_at_the_entry_after_tail_calls() {
    // After the tail call, the calling function's caller is the entry trampoline.
    let wat = r#"(module (import "host" "f" (func $host))
      (func (export "run") (param i32) (result i32) (return_call $host_i32 (local.get 0)))
      (func $host_i32 (param i32) (result i32) (call $host) (local.get 0)))"#;
    let trap = trap_of(Config::default(), wat, || Err(Trap::host_message("no")));
    assert_eq!(frames(&trap), vec![(2, Some("host_i32".to_string()))]);
    let direct = r#"(module (import "host" "f" (func $host (param i32) (result i32)))
      (func (export "run") (param i32) (result i32) (return_call $host (local.get 0))))"#;
    let engine = Engine::default();
    let store = Store::new(&engine);
    let host = Func::new(
        &store,
        FuncType::new([sidewinder_engine::ValType::I32], [sidewinder_engine::ValType::I32]),
        |_, _| Err(Trap::host_message("no")),
    );
    let trap = run_trapping(&store, &compile(&engine, direct), &[Extern::Func(host)], &[Val::I32(0)]);
    // A tail call of an import may keep the caller's frame (it does here); either way
    // the walk ends at the entry.
    assert!([vec![], vec![(1, None)]].contains(&frames(&trap)), "{:?}", frames(&trap));
}

#[test]
fn a_load_fused_with_its_address_arithmetic_is_told_as_the_load() {
    // A bounded index shifted (or offset) and loaded from compiles as one access.
    for (body, argument) in [
        ("(i32.load (i32.shl (i32.and (local.get 0) (i32.const 0xFFFF)) (i32.const 2)))", 0x8000),
        ("(i32.load (i32.add (i32.and (local.get 0) (i32.const 0xFFFFF)) (i32.const 4)))", 0x10000),
    ] {
        let wat = format!(r#"(module (memory 1) (func $f (export "run") (param i32) (result i32) {body}))"#);
        let bytes = wat::parse_str(&wat).expect("valid wat");
        let engine = Engine::default();
        let store = Store::new(&engine);
        let module = Module::new(&engine, &bytes).expect("compiles");
        let trap = run_trapping(&store, &module, &[], &[Val::I32(argument)]);
        assert_eq!(trap.code(), TrapCode::MemoryOutOfBounds);
        let load = operator_offset(&bytes, 0, |op| matches!(op, wasmparser::Operator::I32Load { .. }));
        assert_eq!(wasm_offsets(&trap), [Some(load)], "{body}");
    }
}

#[test]
fn a_tail_call_into_another_instance_keeps_a_frame_at_the_call() {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let callee = compile(&engine, r#"(module (func $fails (export "fails") unreachable))"#);
    let callee = Instance::new(&store, &callee, &[]).expect("instantiates");
    let caller_wat = r#"(module (type $v (func)) (import "a" "fails" (func $fails))
      (table 1 funcref) (elem (i32.const 0) $fails)
      (func $mid (return_call_indirect (type $v) (i32.const 0)))
      (func $top (export "run") (call $mid)))"#;
    let fails = callee.get_export("fails").expect("export");
    let trap = run_trapping(&store, &compile(&engine, caller_wat), &[fails], &[]);
    let bytes = wat::parse_str(caller_wat).expect("valid wat");
    let tail_call =
        operator_offset(&bytes, 1, |op| matches!(op, wasmparser::Operator::ReturnCallIndirect { .. }));
    let call = operator_offset(&bytes, 2, |op| matches!(op, wasmparser::Operator::Call { .. }));
    // Every frame has its offset; the bridging one is the tail call's.
    let offsets = wasm_offsets(&trap);
    assert!(offsets.iter().all(Option::is_some), "{offsets:?}");
    assert_eq!(offsets[1..], [Some(tail_call), Some(call)], "{offsets:?}");
}

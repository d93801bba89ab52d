//! A trap's error shows where in wasm it happened: an own `stack` whose first lines are
//! the wasm frames the trap unwound (innermost first, named from the `name` section,
//! with the byte offset of the instruction), above the JS frames Boa records. Node 20
//! prints the same names, indices and offsets for these modules.

mod support;
use support::{context, define_bytes, eval};

const CHAIN: &str = r#"(module
  (import "js" "poke" (func $poke))
  (func $inner (param i32) (result i32) (call $poke) (i32.div_u (i32.const 1) (local.get 0)))
  (func $outer (export "run") (param i32) (result i32) (call $inner (local.get 0)))
  (func $down (export "down") (param i32) (result i32) (call $down (local.get 0))))"#;

/// `wasm-function[func_index]:0x...` at the first operator of that function (imports
/// counted) that `wanted` picks, in the module `wat`.
fn place(wat: &str, func_index: u32, wanted: impl Fn(&wasmparser::Operator) -> bool) -> String {
    let bytes = wat::parse_str(wat).expect("valid wat");
    let (mut imported, mut defined) = (0, 0);
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        match payload.expect("valid module") {
            wasmparser::Payload::ImportSection(imports) => imported = imports.count(),
            wasmparser::Payload::CodeSectionEntry(body) => {
                if imported + defined == func_index {
                    let mut reader = body.get_operators_reader().expect("operators");
                    while !reader.eof() {
                        let (op, offset) = reader.read_with_offset().expect("operator");
                        if wanted(&op) {
                            return format!("wasm-function[{func_index}]:{offset:#x}");
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

fn is_call(op: &wasmparser::Operator) -> bool {
    matches!(op, wasmparser::Operator::Call { .. })
}

fn is_div(op: &wasmparser::Operator) -> bool {
    matches!(op, wasmparser::Operator::I32DivU)
}

fn instantiate(ctx: &mut boa_engine::Context) {
    define_bytes(ctx, "chainBytes", CHAIN);
    eval(
        ctx,
        "var pokes = 0;
         var chain = new WebAssembly.Instance(new WebAssembly.Module(chainBytes),
           { js: { poke() { pokes++; } } }).exports;
         function callFromJs() { return chain.run(0); }",
    );
}

#[test]
fn a_runtime_error_lists_the_wasm_frames_then_the_js_frames() {
    let mut ctx = context();
    instantiate(&mut ctx);
    let stack = eval(&mut ctx, "try { callFromJs(); 'no trap' } catch (e) { e.stack }");
    let lines: Vec<&str> = stack.lines().collect();
    let expected = [
        format!("    at inner ({})", place(CHAIN, 1, is_div)),
        format!("    at outer ({})", place(CHAIN, 2, is_call)),
    ];
    assert_eq!(lines[..2], expected, "{stack}");
    assert!(lines[2..].iter().any(|l| l.contains("at callFromJs")), "{stack}");
    assert_eq!(
        eval(
            &mut ctx,
            "try { chain.run(0) } catch (e) {
               const d = Object.getOwnPropertyDescriptor(e, 'stack');
               [e instanceof WebAssembly.RuntimeError, e.message, typeof d.value, d.writable, d.enumerable,
                d.configurable].join()
             }"
        ),
        "true,integer divide by zero,string,true,false,true"
    );
}

#[test]
fn making_the_stack_runs_no_script_code() {
    let mut ctx = context();
    instantiate(&mut ctx);
    let result = eval(
        &mut ctx,
        "var getterCalls = 0;
         Object.defineProperty(Error.prototype, 'stack', {
           get() { getterCalls++; throw new Error('user getter'); }, configurable: true });
         let trapped;
         try { chain.run(0) } catch (e) { trapped = e; }
         [trapped instanceof WebAssembly.RuntimeError, getterCalls,
          Object.getOwnPropertyDescriptor(trapped, 'stack').value.split('\\n')[0]].join()",
    );
    assert_eq!(result, format!("true,0,    at inner ({})", place(CHAIN, 1, is_div)));
}

#[test]
fn a_stack_overflow_shows_at_most_ten_wasm_frames() {
    let mut ctx = context();
    instantiate(&mut ctx);
    let result = eval(
        &mut ctx,
        "try { chain.down(0) } catch (e) {
           const wasm = e.stack.split('\\n').filter(l => l.includes('wasm-function'));
           [e instanceof RangeError, wasm.length, wasm[0]].join()
         }",
    );
    // The innermost frame overflowed in its prologue: at its first operator.
    assert_eq!(result, format!("true,10,    at down ({})", place(CHAIN, 3, |_| true)));
}

#[test]
fn an_import_exception_keeps_its_own_stack_and_unnamed_functions_have_an_index() {
    let mut ctx = context();
    let plain = r#"(module (import "js" "f" (func (param i32)))
             (func (export "call") (param i32) (call 0 (local.get 0)))
             (func (export "trap") unreachable))"#;
    define_bytes(&mut ctx, "plainBytes", plain);
    let result = eval(
        &mut ctx,
        "const thrown = new TypeError('from JS');
         const plain = new WebAssembly.Instance(new WebAssembly.Module(plainBytes),
           { js: { f() { throw thrown; } } }).exports;
         let caught, trapped;
         try { plain.call(1) } catch (e) { caught = e; }
         try { plain.trap() } catch (e) { trapped = e; }
         [caught === thrown, Object.getOwnPropertyDescriptor(caught, 'stack') === undefined,
          trapped.stack.split('\\n')[0]].join()",
    );
    let unreachable = place(plain, 2, |op| matches!(op, wasmparser::Operator::Unreachable));
    assert_eq!(result, format!("true,true,    at {unreachable}"));
}

#[test]
fn a_stack_getter_a_script_set_before_install_is_not_run() {
    let mut ctx = boa_engine::Context::default();
    eval(
        &mut ctx,
        "var getterCalls = 0;
         Object.defineProperty(Error.prototype, 'stack', { get() { getterCalls++; return 'mine'; }, configurable: true });
         0",
    );
    sidewinder_js::install(&mut ctx).expect("install");
    instantiate(&mut ctx);
    let result = eval(
        &mut ctx,
        "let trapped;
         try { chain.run(0) } catch (e) { trapped = e; }
         const own = Object.getOwnPropertyDescriptor(trapped, 'stack').value.split('\\n');
         [getterCalls, own[0], own.length].join()",
    );
    // The two wasm frames, and no JS frames: the only getter there was is the script's.
    assert_eq!(result, format!("0,    at inner ({}),3", place(CHAIN, 1, is_div)));
}

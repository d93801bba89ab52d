//! A trap's error shows where in wasm it happened: an own `stack` whose first lines are
//! the wasm frames the trap unwound (innermost first, named from the `name` section),
//! above the JS frames Boa records.

mod support;
use support::{context, define_bytes, eval};

const CHAIN: &str = r#"(module
  (import "js" "poke" (func $poke))
  (func $inner (param i32) (result i32) (call $poke) (i32.div_u (i32.const 1) (local.get 0)))
  (func $outer (export "run") (param i32) (result i32) (call $inner (local.get 0)))
  (func $down (export "down") (param i32) (result i32) (call $down (local.get 0))))"#;

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
    assert_eq!(lines[..2], ["    at inner (wasm-function[1])", "    at outer (wasm-function[2])"], "{stack}");
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
    assert_eq!(result, "true,0,    at inner (wasm-function[1])");
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
    assert_eq!(result, "true,10,    at down (wasm-function[3])");
}

#[test]
fn an_import_exception_keeps_its_own_stack_and_unnamed_functions_have_an_index() {
    let mut ctx = context();
    define_bytes(
        &mut ctx,
        "plainBytes",
        r#"(module (import "js" "f" (func (param i32)))
             (func (export "call") (param i32) (call 0 (local.get 0)))
             (func (export "trap") unreachable))"#,
    );
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
    assert_eq!(result, "true,true,    at wasm-function[2]");
}

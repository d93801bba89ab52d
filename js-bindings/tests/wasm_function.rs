//! WebAssembly.Function (type reflection): JS callables wrapped as typed wasm functions,
//! called from JS and from wasm through a table, and reflected by `type()`.

mod support;
use support::{context, eval};

#[test]
fn wraps_a_callable_with_wasm_conversions() {
    let mut ctx = context();
    // Arguments and the result go through ToWebAssemblyValue / ToJSValue for i32.
    let got = eval(
        &mut ctx,
        r#"const f = new WebAssembly.Function({parameters: ["i32", "i32"], results: ["i32"]},
                                              (a, b) => a + b + 0.75);
           [f(2 ** 32 + 5, 1.9), f instanceof WebAssembly.Function, f instanceof Function,
            typeof f, JSON.stringify(f.type())].join(" ")"#,
    );
    assert_eq!(got, r#"6 true true function {"parameters":["i32","i32"],"results":["i32"]}"#);
}

#[test]
fn constructor_checks_its_arguments() {
    let mut ctx = context();
    let got = eval(
        &mut ctx,
        r#"function name(f) { try { f(); return "ok" } catch (e) { return e.name } }
           [name(() => WebAssembly.Function({parameters: [], results: []}, () => 0)),
            name(() => new WebAssembly.Function({results: []}, () => 0)),
            name(() => new WebAssembly.Function({parameters: ["x"], results: []}, () => 0)),
            name(() => new WebAssembly.Function({parameters: [], results: []}, {})),
            name(() => new (new WebAssembly.Function({parameters: [], results: []}, () => 0))()),
            WebAssembly.Function.length, WebAssembly.Function.name].join(" ")"#,
    );
    assert_eq!(got, "TypeError TypeError TypeError TypeError TypeError 2 Function");
}

#[test]
fn goes_through_tables_and_wasm_calls_keeping_identity() {
    let mut ctx = context();
    let wat = r#"(module (type $t (func (param i64) (result i64)))
        (table (export "table") 1 funcref)
        (func (export "callAt0") (param i64) (result i64) (call_indirect (type $t) (local.get 0) (i32.const 0)))
        (func (export "answer") (result i32) (i32.const 42)))"#;
    let bytes = wat::parse_str(wat).expect("wat");
    let list = bytes.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(",");
    let got = eval(
        &mut ctx,
        &format!(
            r#"const {{ exports }} = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array([{list}])));
               const twice = new WebAssembly.Function({{parameters: ["i64"], results: ["i64"]}}, x => x * 2n);
               exports.table.set(0, twice);
               [exports.callAt0(21n), exports.table.get(0) === twice,
                Object.getPrototypeOf(exports.answer) === WebAssembly.Function.prototype,
                JSON.stringify(exports.answer.type())].join(" ")"#
        ),
    );
    assert_eq!(got, r#"42 true true {"parameters":[],"results":["i32"]}"#);
}

/// Parameters and results together outnumber the engine's argument area (9 + 8 slots):
/// called from JS, the results still come back (this once panicked in the numeric path).
#[test]
fn many_parameters_and_results_called_from_js() {
    let mut ctx = context();
    let got = eval(
        &mut ctx,
        r#"const f = new WebAssembly.Function(
             {parameters: Array(9).fill("i32"), results: Array(8).fill("i32")},
             (...a) => a.slice(1).map(x => x * 10));
           f(0, 1, 2, 3, 4, 5, 6, 7, 8).join()"#,
    );
    assert_eq!(got, "10,20,30,40,50,60,70,80");
}

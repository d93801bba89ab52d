//! JS String Builtins through real scripts: the compile options, imported string
//! constants, and every `wasm:js-string` builtin with its trap.

use boa_engine::Context;

mod support;
use support::{context, define_bytes, eval};

/// Runs `expr` and names the error it throws, or "no error".
const THROWS: &str = "function throws(f) { try { f(); return 'no error' } catch (e) { return e.name } } 0";

/// Every builtin imported with its type, each called through a wasm function of the same
/// type (so the calls really go wasm -> builtin).
const ALL_BUILTINS: &str = r#"(module
  (import "wasm:js-string" "test" (func $test (param externref) (result i32)))
  (import "wasm:js-string" "cast" (func $cast (param externref) (result (ref extern))))
  (import "wasm:js-string" "fromCharCode" (func $fromCharCode (param i32) (result (ref extern))))
  (import "wasm:js-string" "fromCodePoint" (func $fromCodePoint (param i32) (result (ref extern))))
  (import "wasm:js-string" "charCodeAt" (func $charCodeAt (param externref i32) (result i32)))
  (import "wasm:js-string" "codePointAt" (func $codePointAt (param externref i32) (result i32)))
  (import "wasm:js-string" "length" (func $length (param externref) (result i32)))
  (import "wasm:js-string" "concat" (func $concat (param externref externref) (result (ref extern))))
  (import "wasm:js-string" "substring" (func $substring (param externref i32 i32) (result (ref extern))))
  (import "wasm:js-string" "equals" (func $equals (param externref externref) (result i32)))
  (import "wasm:js-string" "compare" (func $compare (param externref externref) (result i32)))
  (func (export "test") (param externref) (result i32) (call $test (local.get 0)))
  (func (export "cast") (param externref) (result (ref extern)) (call $cast (local.get 0)))
  (func (export "fromCharCode") (param i32) (result (ref extern)) (call $fromCharCode (local.get 0)))
  (func (export "fromCodePoint") (param i32) (result (ref extern)) (call $fromCodePoint (local.get 0)))
  (func (export "charCodeAt") (param externref i32) (result i32) (call $charCodeAt (local.get 0) (local.get 1)))
  (func (export "codePointAt") (param externref i32) (result i32) (call $codePointAt (local.get 0) (local.get 1)))
  (func (export "length") (param externref) (result i32) (call $length (local.get 0)))
  (func (export "concat") (param externref externref) (result (ref extern)) (call $concat (local.get 0) (local.get 1)))
  (func (export "substring") (param externref i32 i32) (result (ref extern))
    (call $substring (local.get 0) (local.get 1) (local.get 2)))
  (func (export "equals") (param externref externref) (result i32) (call $equals (local.get 0) (local.get 1)))
  (func (export "compare") (param externref externref) (result i32) (call $compare (local.get 0) (local.get 1)))
  (export "rawLength" (func $length)))"#;

fn builtins_instance(ctx: &mut Context) {
    define_bytes(ctx, "allBytes", ALL_BUILTINS);
    eval(ctx, THROWS);
    eval(
        ctx,
        "var s = new WebAssembly.Instance(new WebAssembly.Module(allBytes, {builtins: ['js-string']}), {}).exports; 0",
    );
}

#[test]
fn string_constants_are_imported_by_name() {
    let mut ctx = context();
    define_bytes(
        &mut ctx,
        "constBytes",
        r#"(module (import "'" "hello" (global $a externref))
                   (import "'" "w\c3\b6rld \f0\9f\98\80" (global $b (ref extern)))
                   (import "'" "" (global $c externref))
                   (export "a" (global $a)) (export "b" (global $b)) (export "c" (global $c)))"#,
    );
    let src = "var m = new WebAssembly.Module(constBytes, {importedStringConstants: \"'\"});
               var e = new WebAssembly.Instance(m, {}).exports;
               [e.a.value, e.b.value, JSON.stringify(e.c.value), WebAssembly.Module.imports(m).length].join('|')";
    assert_eq!(eval(&mut ctx, src), "hello|wörld 😀|\"\"|0");
    // Without the option they are ordinary imports, read from the import object.
    let plain = "var p = new WebAssembly.Module(constBytes);
                 var q = new WebAssembly.Instance(p, {\"'\": {hello: 1, 'wörld 😀': 2, '': 3}}).exports;
                 WebAssembly.Module.imports(p).length + ',' + q.a.value + q.b.value + q.c.value";
    assert_eq!(eval(&mut ctx, plain), "3,123");
    // The import object is not consulted for them, even through a getter.
    let untouched = "var touched = false;
                     var o = {}; Object.defineProperty(o, \"'\", {get() { touched = true; return {}; }});
                     new WebAssembly.Instance(m, o).exports.a.value + ',' + touched";
    assert_eq!(eval(&mut ctx, untouched), "hello,false");
    // Asynchronous paths honour the option too.
    eval(
        &mut ctx,
        "var out = [];
         WebAssembly.instantiate(constBytes, {}, {importedStringConstants: \"'\"})
           .then(r => out.push(r.instance.exports.a.value, WebAssembly.Module.imports(r.module).length));
         WebAssembly.compile(constBytes, {importedStringConstants: \"'\"})
           .then(m => WebAssembly.instantiate(m, {})).then(i => out.push(i.exports.b.value)); 0",
    );
    assert_eq!(eval(&mut ctx, "out.join()"), "hello,0,wörld 😀");
}

#[test]
fn string_constants_must_be_immutable_externref_globals() {
    let mut ctx = context();
    eval(&mut ctx, THROWS);
    for (i, wat) in [
        r#"(module (import "s" "x" (global (mut externref))))"#,
        r#"(module (import "s" "x" (global funcref)))"#,
        r#"(module (import "s" "x" (global i32)))"#,
        r#"(module (import "s" "x" (func)))"#,
        r#"(module (import "s" "x" (memory 1)))"#,
    ]
    .iter()
    .enumerate()
    {
        let name = format!("bad{i}");
        define_bytes(&mut ctx, &name, wat);
        let src = format!(
            "throws(() => new WebAssembly.Module({name}, {{importedStringConstants: 's'}})) + ',' +
             WebAssembly.validate({name}, {{importedStringConstants: 's'}}) + ',' +
             WebAssembly.validate({name}) + ',' +
             throws(() => new WebAssembly.Module({name}, {{importedStringConstants: 'other'}}))"
        );
        assert_eq!(eval(&mut ctx, &src), "CompileError,false,true,no error", "{wat}");
    }
}

#[test]
fn builtins_happy_paths() {
    let mut ctx = context();
    builtins_instance(&mut ctx);
    let checks = [
        ("[s.test('x'), s.test(''), s.test(null), s.test(1), s.test({})].join()", "1,1,0,0,0"),
        ("s.cast('abc')", "abc"),
        ("s.fromCharCode(0x41) + s.fromCharCode(0x10042) + s.fromCharCode(-1).charCodeAt(0)", "AB65535"),
        ("s.fromCodePoint(0x1F600) === '\\u{1F600}' && s.fromCodePoint(0xD800) === '\\uD800'", "true"),
        ("[s.charCodeAt('a\\u{1F600}', 0), s.charCodeAt('a\\u{1F600}', 1), s.charCodeAt('a\\u{1F600}', 2)].join()", "97,55357,56832"),
        ("[s.codePointAt('a\\u{1F600}', 1), s.codePointAt('a\\u{1F600}', 2)].join()", "128512,56832"),
        ("[s.length(''), s.length('abc'), s.length('\\u{1F600}')].join()", "0,3,2"),
        ("s.concat('foo', 'bar') + s.concat('', '')", "foobar"),
        ("[s.substring('hello', 1, 3), s.substring('hello', 3, 99), s.substring('hello', 3, 1), s.substring('hello', 9, 10), s.substring('hello', -1, 2)].map(x => '<' + x + '>').join()", "<el>,<lo>,<>,<>,<>"),
        ("[s.equals('a', 'a'), s.equals('a', 'b'), s.equals(null, null), s.equals('a', null), s.equals(null, '')].join()", "1,0,1,0,0"),
        ("[s.compare('a', 'b'), s.compare('b', 'a'), s.compare('a', 'a'), s.compare('\\uFFFF', '\\u{10000}'), s.compare('', 'a')].join()", "-1,1,0,1,-1"),
    ];
    for (src, want) in checks {
        assert_eq!(eval(&mut ctx, src), want, "{src}");
    }
    // A re-exported builtin is a function named after itself, callable from JS.
    assert_eq!(
        eval(&mut ctx, "s.rawLength.name + ',' + s.rawLength.length + ',' + s.rawLength('four')"),
        "length,1,4"
    );
}

#[test]
fn builtins_trap_as_runtime_errors() {
    let mut ctx = context();
    builtins_instance(&mut ctx);
    let traps = [
        "s.cast(null)",
        "s.cast(42)",
        "s.fromCodePoint(0x110000)",
        "s.fromCodePoint(-1)",
        "s.charCodeAt('abc', 3)",
        "s.charCodeAt('abc', -1)",
        "s.charCodeAt(null, 0)",
        "s.codePointAt('', 0)",
        "s.codePointAt({}, 0)",
        "s.length(null)",
        "s.length(Symbol())",
        "s.concat('a', null)",
        "s.concat(1, 'a')",
        "s.substring(null, 0, 0)",
        "s.equals('a', 1)",
        "s.equals({}, null)",
        "s.compare(null, 'a')",
        "s.compare('a', null)",
        "s.rawLength(7)",
    ];
    for src in traps {
        assert_eq!(eval(&mut ctx, &format!("throws(() => {src})")), "RuntimeError", "{src}");
    }
    assert_eq!(
        eval(&mut ctx, "try { s.cast(1) } catch (e) { e instanceof WebAssembly.RuntimeError && e.message.includes('cast') }"),
        "true"
    );
}

#[test]
fn builtin_type_mismatch_is_a_compile_error() {
    let mut ctx = context();
    eval(&mut ctx, THROWS);
    for (i, import) in [
        r#"(func (param externref) (result externref))"#, // cast returns (ref extern)
        r#"(func (param externref) (result i64))"#,
        r#"(func (param externref))"#,
        r#"(func (param i32 i32) (result (ref extern)))"#,
        r#"(global externref)"#,
    ]
    .iter()
    .enumerate()
    {
        let name = format!("mismatch{i}");
        let field = if i == 3 { "fromCharCode" } else { "cast" };
        define_bytes(&mut ctx, &name, &format!(r#"(module (import "wasm:js-string" "{field}" {import}))"#));
        let src = format!(
            "throws(() => new WebAssembly.Module({name}, {{builtins: ['js-string']}})) + ',' +
             WebAssembly.validate({name}, {{builtins: ['js-string']}}) + ',' +
             WebAssembly.validate({name}) + ',' + throws(() => new WebAssembly.Module({name}))"
        );
        assert_eq!(eval(&mut ctx, &src), "CompileError,false,true,no error", "{import}");
    }
    // An array builtin imported at the wrong type.
    define_bytes(&mut ctx, "arrays", r#"(module (import "wasm:js-string" "fromCharCodeArray" (func)))"#);
    assert_eq!(
        eval(&mut ctx, "throws(() => new WebAssembly.Module(arrays, {builtins: ['js-string']}))"),
        "CompileError"
    );
    eval(
        &mut ctx,
        "var rejected = []; WebAssembly.compile(mismatch0, {builtins: ['js-string']}).catch(e => rejected.push(e.name));
         WebAssembly.instantiate(mismatch0, {}, {builtins: ['js-string']}).catch(e => rejected.push(e.name)); 0",
    );
    assert_eq!(eval(&mut ctx, "rejected.join()"), "CompileError,CompileError");
}

#[test]
fn module_imports_omits_builtins_and_constants() {
    let mut ctx = context();
    define_bytes(
        &mut ctx,
        "mixed",
        r#"(module (import "env" "f" (func))
                   (import "wasm:js-string" "length" (func (param externref) (result i32)))
                   (import "strs" "k" (global externref))
                   (import "wasm:js-string" "notABuiltin" (func))
                   (import "wasm:js-string" "length" (func (param externref) (result i32)))
                   (export "len1" (func 1)) (export "len2" (func 3)))"#,
    );
    let describe =
        "(m => WebAssembly.Module.imports(m).map(i => i.module + ':' + i.name + ':' + i.kind).join())";
    let with = format!("{describe}(new WebAssembly.Module(mixed, {{builtins: ['js-string'], importedStringConstants: 'strs'}}))");
    assert_eq!(eval(&mut ctx, &with), "env:f:function,wasm:js-string:notABuiltin:function");
    let without = format!("{describe}(new WebAssembly.Module(mixed))");
    assert_eq!(
        eval(&mut ctx, &without),
        "env:f:function,wasm:js-string:length:function,strs:k:global,wasm:js-string:notABuiltin:function,wasm:js-string:length:function"
    );
    // A name the set does not have is an ordinary import; a builtin imported twice is
    // one function within an instance and a new one in another instance.
    let src = "var mm = new WebAssembly.Module(mixed, {builtins: ['js-string'], importedStringConstants: 'strs'});
               var imp = {env: {f() {}}, 'wasm:js-string': {notABuiltin() {}}};
               var x = new WebAssembly.Instance(mm, imp).exports, y = new WebAssembly.Instance(mm, imp).exports;
               [x.len1 === x.len2, x.len1 === y.len1, x.len1('abc')].join()";
    assert_eq!(eval(&mut ctx, src), "true,false,3");
}

#[test]
fn compile_options_follow_webidl() {
    let mut ctx = context();
    eval(&mut ctx, THROWS);
    define_bytes(&mut ctx, "empty", "(module)");
    // Members are read in lexicographic order, through getters, after the bytes' type check.
    let order = "var log = [];
                 var opts = { get importedStringConstants() { log.push('isc'); return null; },
                              get builtins() { log.push('builtins'); return ['js-string']; } };
                 new WebAssembly.Module(empty, opts); WebAssembly.validate(empty, opts);
                 WebAssembly.compile(empty, opts); WebAssembly.instantiate(empty, undefined, opts);
                 log.join()";
    assert_eq!(eval(&mut ctx, order), "builtins,isc,builtins,isc,builtins,isc,builtins,isc");
    assert_eq!(eval(&mut ctx, "throws(() => new WebAssembly.Module(empty, 1))"), "TypeError");
    assert_eq!(eval(&mut ctx, "throws(() => WebAssembly.validate(empty, 'x'))"), "TypeError");
    assert_eq!(
        eval(&mut ctx, "throws(() => new WebAssembly.Module(empty, {builtins: 'js-string'}))"),
        "TypeError"
    );
    assert_eq!(eval(&mut ctx, "throws(() => new WebAssembly.Module(empty, {builtins: {}}))"), "TypeError");
    assert_eq!(
        eval(&mut ctx, "throws(() => new WebAssembly.Module(empty, {builtins: [Symbol()]}))"),
        "TypeError"
    );
    assert_eq!(eval(&mut ctx, "throws(() => new WebAssembly.Module(empty, null))"), "no error");
    assert_eq!(
        eval(
            &mut ctx,
            "throws(() => new WebAssembly.Module(empty, {builtins: new Set(['js-string', 'unknown'])}))"
        ),
        "no error"
    );
    // A getter is not run when the bytes are not a BufferSource.
    assert_eq!(
        eval(&mut ctx, "var ran = false; throws(() => new WebAssembly.Module(1, {get builtins() { ran = true; }})) + ran"),
        "TypeErrorfalse"
    );
    // Listing a set twice is a CompileError (known or not); validate says false.
    assert_eq!(
        eval(&mut ctx, "throws(() => new WebAssembly.Module(empty, {builtins: ['x', 'x']})) + WebAssembly.validate(empty, {builtins: ['js-string', 'js-string']})"),
        "CompileErrorfalse"
    );
    eval(
        &mut ctx,
        "var outcomes = []; WebAssembly.compile(empty, 5).catch(e => outcomes.push(e.name));
         WebAssembly.instantiate(empty, 5, {get builtins() { outcomes.push('read'); }}).catch(e => outcomes.push(e.name)); 0",
    );
    assert_eq!(eval(&mut ctx, "outcomes.join()"), "TypeError,TypeError");
}

#[test]
fn without_the_option_wasm_js_string_is_an_ordinary_module_name() {
    let mut ctx = context();
    define_bytes(
        &mut ctx,
        "poly",
        r#"(module (import "wasm:js-string" "length" (func $len (param externref) (result i32)))
                   (func (export "len") (param externref) (result i32) (call $len (local.get 0))))"#,
    );
    let src = "var polyfill = {'wasm:js-string': {length: s => 40 + s.length}};
               [new WebAssembly.Instance(new WebAssembly.Module(poly), polyfill).exports.len('ab'),
                new WebAssembly.Instance(new WebAssembly.Module(poly, {builtins: ['other']}), polyfill).exports.len('ab'),
                new WebAssembly.Instance(new WebAssembly.Module(poly, {builtins: ['js-string']}), polyfill).exports.len('ab')].join()";
    assert_eq!(eval(&mut ctx, src), "42,42,2");
}

/// `fromCharCodeArray` and `intoCharCodeArray` over `(array (mut i16))`: wasm fills or
/// reads the array, the builtin makes or copies the string, and each traps (a
/// RuntimeError) on null, on a range past the end and, for `into`, on a non-string.
#[test]
fn array_builtins_copy_code_units() {
    let mut ctx = context();
    define_bytes(
        &mut ctx,
        "arrayBytes",
        r#"(module
          (type $a (array (mut i16)))
          (import "wasm:js-string" "fromCharCodeArray"
            (func $from (param (ref null $a) i32 i32) (result (ref extern))))
          (import "wasm:js-string" "intoCharCodeArray"
            (func $into (param externref (ref null $a) i32) (result i32)))
          (func (export "abc") (param i32 i32) (result (ref extern))
            (call $from (array.new_fixed $a 3 (i32.const 0x61) (i32.const 0xd83d) (i32.const 0xde00))
                        (local.get 0) (local.get 1)))
          (func (export "nullFrom") (result (ref extern)) (call $from (ref.null $a) (i32.const 0) (i32.const 0)))
          ;; Copies the string into an array of `len` units at `at`, returns the sum of the
          ;; units read back by wasm and the builtin's count times 1,000,000.
          (func (export "into") (param externref i32 i32) (result i32)
            (local $arr (ref $a)) (local $i i32) (local $sum i32) (local $n i32)
            (local.set $arr (array.new_default $a (local.get 1)))
            (local.set $n (call $into (local.get 0) (local.get $arr) (local.get 2)))
            (block $done (loop $l
              (br_if $done (i32.ge_u (local.get $i) (local.get 1)))
              (local.set $sum (i32.add (local.get $sum) (array.get_u $a (local.get $arr) (local.get $i))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $l)))
            (i32.add (local.get $sum) (i32.mul (local.get $n) (i32.const 1000000))))
          (func (export "nullInto") (result i32) (call $into (ref.null extern) (ref.null $a) (i32.const 0))))"#,
    );
    eval(&mut ctx, THROWS);
    eval(
        &mut ctx,
        "var a = new WebAssembly.Instance(new WebAssembly.Module(arrayBytes, {builtins: ['js-string']}), {}).exports; 0",
    );
    assert_eq!(eval(&mut ctx, "a.abc(0, 3) === 'a\\u{1F600}'"), "true");
    assert_eq!(eval(&mut ctx, "a.abc(1, 2).charCodeAt(0)"), "55357");
    assert_eq!(eval(&mut ctx, "a.abc(3, 3).length"), "0");
    for bad in ["a.abc(2, 1)", "a.abc(0, 4)", "a.abc(4, 4)", "a.abc(0, -1)", "a.nullFrom()"] {
        assert_eq!(eval(&mut ctx, &format!("throws(() => {bad})")), "RuntimeError", "{bad}");
    }
    assert_eq!(eval(&mut ctx, "a.into('ab', 4, 1)"), (2_000_000 + 0x61 + 0x62).to_string());
    assert_eq!(eval(&mut ctx, "a.into('', 0, 0)"), "0");
    for bad in ["a.into('abc', 4, 2)", "a.into('a', 4, -1)", "a.into(5, 4, 0)", "a.nullInto()"] {
        assert_eq!(eval(&mut ctx, &format!("throws(() => {bad})")), "RuntimeError", "{bad}");
    }
}

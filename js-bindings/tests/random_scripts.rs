//! Robustness of the JS API against hostile scripts: random programs of WebAssembly API
//! calls (constructors, methods called on objects of every brand, exported functions,
//! JSPI, two realms) on random values, including objects whose `valueOf`, getters or
//! Proxy traps call the API again in the middle of a conversion. Every statement runs
//! in its own `try`. A case fails when anything panics in Rust, when Boa reports an
//! internal error (`EnginePanic`), or when the process dies (run with
//! `SIDEWINDER_JS_FUZZ_VERBOSE=1` to see the script that killed it).
//!
//! Environment: `SIDEWINDER_JS_FUZZ_CASES` (default [`DEFAULT_CASES`]) and
//! `SIDEWINDER_JS_FUZZ_SEED` (the first seed; seeds are consecutive); with
//! `SIDEWINDER_JS_FUZZ_LEAKS`, scripts whose context keeps its first realm after it is
//! dropped are reported. Each case ends its waiting JSPI calls before the context goes
//! (`end_suspended_calls`), without which a call that never settles keeps the realm.

use boa_engine::{Context, Source};
use boa_gc::{Gc, WeakGc};
use std::fmt::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};

mod support;

const DEFAULT_CASES: u64 = 300;

/// Put in the first realm's host-defined slot: alive as long as that realm is.
#[derive(boa_gc::Trace, boa_gc::Finalize, boa_engine::JsData)]
struct RealmMarker(Gc<u8>);
/// Statements per script.
const STATEMENTS: usize = 40;
/// Variables `v[0]`..`v[VARS - 1]` the statements assign and use.
const VARS: usize = 8;

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// Every kind of export, with bounded work: loops and allocations take their sizes
/// masked, recursion is unbounded (a RangeError).
const EXPORTS: &str = r#"(module
  (type $s (struct (field (mut i32)) (field (mut externref))))
  (type $a (array (mut i32)))
  (type $sig (func (param i32) (result i32)))
  (import "m" "f" (func $f (param i32) (result i32)))
  (tag $t (export "tag") (param i32 f64))
  (tag $e (export "etag") (param externref))
  (memory (export "mem") 1 4)
  (table (export "tab") 4 8 funcref)
  (table (export "etab") 2 externref)
  (global (export "g") (mut i32) (i32.const 0))
  (global (export "gi64") (mut i64) (i64.const 0))
  (global (export "gx") (mut externref) (ref.null extern))
  (global (export "gf") (mut funcref) (ref.null func))
  (global (export "ga") (mut anyref) (ref.null any))
  (global (export "gc") i32 (i32.const 7))
  (elem (table 0) (i32.const 0) func $add1 $callf)
  (func $add1 (export "add1") (type $sig) (i32.add (local.get 0) (i32.const 1)))
  (func $callf (export "callf") (type $sig) (call $f (local.get 0)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "i64") (param i64) (result i64) (i64.mul (local.get 0) (i64.const 3)))
  (func (export "f32") (param f32) (result f32) (f32.sqrt (local.get 0)))
  (func (export "f64") (param f64 f64) (result f64) (f64.div (local.get 0) (local.get 1)))
  (func $ext (export "ext") (param externref) (result externref) (local.get 0))
  ;; Keeping no argument, but not trap-free: argument handles through a load that may
  ;; trap and through a call.
  (func (export "extld") (param externref i32) (result externref)
    (drop (i32.load (local.get 1))) (local.get 0))
  (func (export "extcall") (param externref) (result externref) (call $ext (local.get 0)))
  (func (export "any") (param anyref) (result anyref) (local.get 0))
  (func (export "fref") (param funcref) (result funcref) (local.get 0))
  (func (export "eq") (param eqref) (result i32) (ref.is_null (local.get 0)))
  (func (export "i31") (param i32) (result (ref i31)) (ref.i31 (local.get 0)))
  (func (export "mkstruct") (param i32 externref) (result (ref $s))
    (struct.new $s (local.get 0) (local.get 1)))
  (func (export "mkarray") (param i32) (result (ref $a))
    (array.new $a (i32.const 5) (i32.and (local.get 0) (i32.const 255))))
  (func (export "alen") (param (ref null $a)) (result i32) (array.len (local.get 0)))
  (func (export "sget") (param (ref null $s)) (result externref) (struct.get $s 1 (local.get 0)))
  (func (export "throw") (param i32 f64) (throw $t (local.get 0) (local.get 1)))
  (func (export "throwx") (param externref) (throw $e (local.get 0)))
  (func (export "catch") (param i32) (result i32)
    (block $h (result i32 f64)
      (try_table (catch $t $h) (drop (call $f (local.get 0))))
      (return (i32.const -1)))
    (drop))
  (func (export "trap") (unreachable))
  (func $rec (export "recurse") (param i32) (result i32)
    (i32.add (call $rec (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "multi") (param i32) (result i32 i64 f64)
    (local.get 0) (i64.extend_i32_s (local.get 0)) (f64.convert_i32_s (local.get 0)))
  (func (export "v128") (param v128) (result i32) (i32x4.extract_lane 0 (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (i32.and (local.get 0) (i32.const 3))))
  (func (export "tset") (param i32 funcref) (table.set 0 (local.get 0) (local.get 1)))
  (func (export "tgrow") (param i32) (result i32)
    (table.grow 1 (ref.null extern) (i32.and (local.get 0) (i32.const 7))))
  (func (export "callind") (param i32 i32) (result i32)
    (call_indirect (type $sig) (local.get 1) (local.get 0)))
  (func (export "setgx") (param externref) (global.set 2 (local.get 0)))
  ;; More parameters than small calls take (`WideCaller`): trap-free, a leaf that may
  ;; trap, and one that calls JS.
  (func (export "wide") (param i32 f64 i64 f32 i32 i32) (result f64)
    (f64.add (f64.add (local.get 1) (f64.convert_i64_s (local.get 2)))
             (f64.add (f64.promote_f32 (local.get 3)) (f64.convert_i32_s (i32.add (local.get 0) (local.get 5))))))
  (func (export "wideld") (param i32 i32 i32 i32 i32) (result i32) (i32.load (i32.add (local.get 0) (local.get 4))))
  (func (export "widecall") (param i32 i32 i32 i32 i32 i32 i32) (result i32)
    (call $f (i32.add (local.get 0) (local.get 6)))))"#;

/// Imports one of each kind, so that random import objects meet every check.
const IMPORTS: &str = r#"(module
  (import "m" "f" (func (param i32) (result i32)))
  (import "m" "mem" (memory 1 8))
  (import "m" "tab" (table 1 funcref))
  (import "m" "g" (global (mut i32)))
  (import "m" "gx" (global externref))
  (import "m" "tag" (tag (param i32 f64)))
  (func (export "run") (param i32) (result i32) (call 0 (local.get 0))))"#;

/// What scripts start with: the two modules' bytes, an instance of each, two variables
/// of every kind, and `A`, the first realm's global object (the script runs in a second
/// realm of the same context).
const PRELUDE: &str = r#"
var W = WebAssembly;
var log = [];
var v = new Array(8).fill(undefined);
var imp = { m: { f: x => x + 1 } };
var mod = new W.Module(exportsBytes);
var inst = new W.Instance(mod, imp);
var x = inst.exports;
var imod = new W.Module(importsBytes);
var mem = new W.Memory({initial: 1, maximum: 8});
var tab = new W.Table({element: 'anyfunc', initial: 2});
var glob = new W.Global({value: 'i32', mutable: true}, 1);
var tag = new W.Tag({parameters: ['i32', 'f64']});
var exc = new W.Exception(tag, [1, 2.5]);
var amem = new A.WebAssembly.Memory({initial: 1});
v = [mod, inst, x.mem, x.tab, x.g, x.tag, exc, amem];
// A promise whose `constructor` getter throws from its `n`th read on.
function hostilePromise(n, value) {
  const p = Promise.resolve(value);
  let reads = 0;
  Object.defineProperty(p, 'constructor', { get() { if (++reads >= n) throw new Error('read ' + reads); return Promise; } });
  return p;
}
"#;

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "7",
    "-1",
    "-0",
    "0.5",
    "NaN",
    "Infinity",
    "-Infinity",
    "2**31",
    "2**32",
    "2**32 + 1",
    "2**53",
    "65537",
    "'1'",
    "'x'",
    "true",
    "null",
    "undefined",
    "1n",
    "-1n",
    "2n**64n",
    "[]",
    "[1]",
];

const TYPES: &[&str] = &[
    "'i32'",
    "'i64'",
    "'f32'",
    "'f64'",
    "'v128'",
    "'externref'",
    "'anyfunc'",
    "'funcref'",
    "'anyref'",
    "'eqref'",
    "'exnref'",
    "'nullref'",
    "'x'",
    "undefined",
    "{}",
];

const CONSTRUCTORS: &[&str] =
    &["Module", "Instance", "Memory", "Table", "Global", "Tag", "Exception", "Function", "Suspending"];

const METHODS: &[(&str, &[&str])] = &[
    ("Memory", &["grow", "toFixedLengthBuffer", "toResizableBuffer", "type"]),
    ("Table", &["grow", "get", "set", "type"]),
    ("Global", &["valueOf", "type"]),
    ("Exception", &["getArg", "is"]),
    ("Tag", &["type"]),
    ("Function", &["type"]),
];

const GETTERS: &[(&str, &str)] = &[
    ("Memory", "buffer"),
    ("Table", "length"),
    ("Global", "value"),
    ("Instance", "exports"),
    ("Exception", "stack"),
];

const EXPORT_NAMES: &[&str] = &[
    "add1", "callf", "add", "i64", "f32", "f64", "ext", "any", "fref", "eq", "i31", "mkstruct", "mkarray",
    "alen", "sget", "throw", "throwx", "catch", "trap", "recurse", "multi", "v128", "load", "store", "grow",
    "tset", "tgrow", "callind", "setgx", "wide", "wideld", "widecall", "extld", "extcall",
];

struct Script<'a> {
    rng: &'a mut Rng,
    /// How deep inside a value's callback the generator is: callbacks nest once.
    depth: usize,
}

impl Script<'_> {
    fn var(&mut self) -> String {
        format!("v[{}]", self.rng.below(VARS))
    }

    /// Any value a statement may pass.
    fn value(&mut self) -> String {
        match self.rng.below(14) {
            0..=3 => self.rng.pick(NUMBERS).to_string(),
            4..=6 => self.var(),
            7 => format!("x.{}", self.rng.pick(EXPORT_NAMES)),
            8 => self
                .rng
                .pick(&["mem", "tab", "glob", "tag", "exc", "amem", "x.mem", "x.etab", "x.gx"])
                .to_string(),
            9 => self
                .rng
                .pick(&["{}", "function () {}", "Symbol()", "'str'", "new Proxy({}, {})", "W", "A"])
                .to_string(),
            10 if self.depth == 0 => {
                self.depth += 1;
                let inner = self.statement();
                self.depth -= 1;
                let result = self.rng.pick(NUMBERS);
                format!("{{ valueOf() {{ try {{ {inner} }} catch (e) {{ note(e) }} return {result}; }} }}")
            }
            11 if self.depth == 0 => {
                self.depth += 1;
                let inner = self.statement();
                self.depth -= 1;
                let result = self.value();
                format!(
                    "new Proxy({{}}, {{ get(t, k) {{ try {{ {inner} }} catch (e) {{ note(e) }} return {result}; }} }})"
                )
            }
            12 => self.descriptor(),
            _ => format!("[{}, {}]", self.rng.pick(NUMBERS), self.rng.pick(NUMBERS)),
        }
    }

    /// A descriptor object for one of the constructors.
    fn descriptor(&mut self) -> String {
        let mut fields = Vec::new();
        for key in
            ["initial", "maximum", "minimum", "element", "value", "mutable", "parameters", "shared", "index"]
        {
            if self.rng.chance(3) {
                let v = match key {
                    "element" | "value" => self.rng.pick(TYPES).to_string(),
                    "parameters" => format!("[{}, {}]", self.rng.pick(TYPES), self.rng.pick(TYPES)),
                    "mutable" | "shared" => self.rng.pick(&["true", "false", "1", "undefined"]).to_string(),
                    "index" => self.rng.pick(&["'i32'", "'i64'", "'x'"]).to_string(),
                    _ => self.rng.pick(NUMBERS).to_string(),
                };
                fields.push(format!("{key}: {v}"));
            }
        }
        format!("{{{}}}", fields.join(", "))
    }

    fn args(&mut self, max: usize) -> String {
        let n = self.rng.below(max + 1);
        (0..n).map(|_| self.value()).collect::<Vec<_>>().join(", ")
    }

    fn statement(&mut self) -> String {
        match self.rng.below(13) {
            // Tampering with what conversions and promises look up.
            12 => self
                .rng
                .pick(&[
                    "Object.prototype.initial = 2",
                    "Object.prototype.element = 'externref'",
                    "Object.prototype.value = 'i64'",
                    "var inGetter = false; Object.defineProperty(Object.prototype, 'maximum', { get() { if (!inGetter) { inGetter = true; try { v[5] = new W.Memory({initial: 1}); } finally { inGetter = false; } } return 3; }, configurable: true })",
                    "delete Object.prototype.initial; delete Object.prototype.element; delete Object.prototype.value; delete Object.prototype.maximum",
                    "Array.prototype[Symbol.iterator] = function* () { yield 'i32'; v[2].grow(1); yield 'f64'; }",
                    "Promise.prototype.then = function () { throw new Error('then') }",
                    "Object.defineProperty(Promise, Symbol.species, { get() { throw new Error('species') }, configurable: true })",
                    "Promise = function () { throw new Error('Promise') }",
                    "W.Memory.prototype.grow = null",
                    "Object.setPrototypeOf(x.mem, null)",
                ])
                .to_string(),
            // A constructor with random arguments.
            0 | 1 => {
                let ctor = self.rng.pick(CONSTRUCTORS);
                let realm = if self.rng.chance(4) { "A.WebAssembly" } else { "W" };
                let args = self.args(3);
                format!("{} = new {realm}.{ctor}({args})", self.var())
            }
            // A method of some interface, on any object.
            2 | 3 => {
                let (iface, methods) = METHODS[self.rng.below(METHODS.len())];
                if methods.is_empty() {
                    return format!("{}.valueOf()", self.var());
                }
                let method = self.rng.pick(methods);
                let this = if self.rng.chance(2) { self.var() } else { self.value() };
                let args = self.args(3);
                format!("log.push(W.{iface}.prototype.{method}.call({this}{}{args}))", if args.is_empty() { "" } else { ", " })
            }
            // A getter, or a setter, on any object.
            4 => {
                let (iface, name) = GETTERS[self.rng.below(GETTERS.len())];
                let this = self.var();
                if name == "value" && self.rng.chance(2) {
                    let value = self.value();
                    format!("Object.getOwnPropertyDescriptor(W.{iface}.prototype, '{name}').set.call({this}, {value})")
                } else {
                    format!("log.push(Object.getOwnPropertyDescriptor(W.{iface}.prototype, '{name}').get.call({this}))")
                }
            }
            // An exported function.
            5 | 6 => {
                let name = self.rng.pick(EXPORT_NAMES);
                let args = self.args(3);
                format!("log.push(x.{name}({args}))")
            }
            // Instantiation with a random import object.
            7 => {
                let m = self.rng.pick(&["mod", "imod", "v[0]", "exportsBytes", "importsBytes"]);
                let imports = match self.rng.below(4) {
                    0 => self.value(),
                    1 => "imp".to_string(),
                    _ => format!(
                        "{{ m: {{ f: {}, mem: {}, tab: {}, g: {}, gx: {}, tag: {} }} }}",
                        self.value(),
                        self.value(),
                        self.value(),
                        self.value(),
                        self.value(),
                        self.value()
                    ),
                };
                let form = self.rng.below(3);
                match form {
                    0 => format!("{} = new W.Instance({m}, {imports})", self.var()),
                    1 => format!("W.instantiate({m}, {imports}).then(r => {{ v[1] = r.instance || r; }}, note)"),
                    _ => format!("{} = W.Module.{}({m})", self.var(), self.rng.pick(&["imports", "exports"])),
                }
            }
            // JSPI.
            8 => {
                let name = self.rng.pick(EXPORT_NAMES);
                let args = self.args(2);
                let suspending = match self.rng.below(4) {
                    0 => self.value(),
                    1 => format!(
                        "() => hostilePromise({}, {})",
                        self.rng.pick(&["1", "2", "3"]),
                        self.value()
                    ),
                    2 => format!("() => ({{ then(resolve) {{ resolve({}) }} }})", self.value()),
                    _ => format!("y => Promise.resolve({})", self.value()),
                };
                let f = if self.rng.chance(3) { "imp.m.f".to_string() } else { format!("new W.Suspending({suspending})") };
                format!(
                    "W.promising(new W.Instance(mod, {{ m: {{ f: {f} }} }}).exports.{name})({args}).then(r => log.push(r), note)"
                )
            }
            // Namespace functions.
            9 => match self.rng.below(6) {
                0 | 1 => {
                    let f = self.rng.pick(&["validate", "compile", "instantiate"]);
                    let arg =
                        self.rng.pick(&["exportsBytes", "importsBytes", "exportsBytes.buffer", "new Uint8Array(3)"]);
                    let arg = if self.rng.chance(3) { self.value() } else { arg.to_string() };
                    // JS String Builtins' compile options, now and then.
                    let options = if self.rng.chance(3) {
                        format!(", {{ builtins: {}, importedStringConstants: {} }}", self.value(), self.value())
                    } else {
                        String::new()
                    };
                    let second = if f == "instantiate" { ", imp" } else { "" };
                    format!("log.push(W.{f}({arg}{second}{options}))")
                }
                // Type reflection: typed functions over any callable.
                2 => format!(
                    "{} = new W.Function({{ parameters: [{}], results: [{}] }}, {})",
                    self.var(),
                    self.rng.pick(TYPES),
                    self.rng.pick(TYPES),
                    self.value()
                ),
                // Exceptions crossing both ways.
                3 => match self.rng.below(3) {
                    0 => format!("{} = new W.Exception(W.JSTag, [{}])", self.var(), self.value()),
                    1 => format!("log.push({}.getArg(W.JSTag, 0))", self.var()),
                    _ => format!("try {{ x.throwx({}) }} catch (e) {{ log.push(e) }}", self.value()),
                },
                // GC objects back into wasm.
                4 => {
                    let make = self.rng.pick(&["x.mkstruct(1, {})", "x.mkarray(3)", "x.i31(5)", "x.any({})"]);
                    let take = self.rng.pick(&["sget", "alen", "any", "eq", "ext"]);
                    format!("log.push(x.{take}({make}))")
                }
                _ => format!("log.push(W.Module.customSections({}, {}))", self.rng.pick(&["mod", "v[0]"]), self.value()),
            },
            // Table and global traffic through exports and wrappers.
            10 => {
                let target = self.rng.pick(&["x.tab", "x.etab", "tab", "v[3]"]);
                match self.rng.below(3) {
                    0 => format!("{target}.set({}, {})", self.rng.pick(NUMBERS), self.value()),
                    1 => format!("{target}.grow({}, {})", self.rng.pick(&["0", "1", "2", "-1", "2**32"]), self.value()),
                    _ => format!("log.push({target}.get({}))", self.rng.pick(NUMBERS)),
                }
            }
            // Memory traffic: growth under a view, detaching; and externrefs that must come
            // back as themselves, whichever way the call goes (argument handles or not).
            _ => match self.rng.below(5) {
                0 => format!("{}.grow({})", self.rng.pick(&["mem", "x.mem", "amem", "v[2]"]), self.rng.pick(&["0", "1", "2", "-1", "7", "NaN"])),
                1 => "log.push(new Uint8Array(x.mem.buffer)[0] = 1)".to_string(),
                2 => "log.push(x.mem.buffer.transfer ? x.mem.buffer.transfer() : 0)".to_string(),
                3 => {
                    let name = self.rng.pick(&["ext", "extld", "extcall"]);
                    let value = self.value();
                    let at = self.rng.pick(&["0", "4", "65536", "-1"]);
                    format!(
                        "{{ const a = {value}; const r = x.{name}(a, {at}); \
                         if (!Object.is(r, a)) internal.push('{name} gave back another value'); }}"
                    )
                }
                _ => format!("x.gx.value = {}", self.value()),
            },
        }
    }
}

fn script(seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut s = Script { rng: &mut rng, depth: 0 };
    let mut out = String::from(PRELUDE);
    for _ in 0..STATEMENTS {
        let statement = s.statement();
        let _ = writeln!(out, "try {{ {statement}; }} catch (e) {{ note(e); }}");
    }
    // Everything the script made, turned into strings (which reads every wrapper).
    out.push_str("try { String(v.map(String)) + String(log.length) } catch (e) { note(e) }\n");
    out
}

fn bytes_literal(wat: &str) -> String {
    let bytes = wat::parse_str(wat).expect("module");
    format!("new Uint8Array([{}])", bytes.iter().map(u8::to_string).collect::<Vec<_>>().join(","))
}

/// Runs one script in the second realm of a fresh context; returns what went wrong.
fn run_case(source: &str, modules: &(String, String), marker: Option<RealmMarker>) -> Result<(), String> {
    let mut ctx = Context::default();
    if let Some(marker) = marker {
        ctx.realm().host_defined_mut().insert(marker);
    }
    sidewinder_js::install(&mut ctx).map_err(|e| format!("install: {e}"))?;
    support::enter_second_realm(&mut ctx);
    let setup = format!(
        "var exportsBytes = {}; var importsBytes = {};
         var internal = [], kinds = {{}};
         function note(e) {{ const k = e && e.constructor && e.constructor.name; kinds[k] = (kinds[k] || 0) + 1;
           if (String(e && e.message || e).includes('EnginePanic') || String(e).includes('EnginePanic')) internal.push(String(e)); }}",
        modules.0, modules.1
    );
    if let Some(path) = std::env::var_os("SIDEWINDER_JS_FUZZ_SETUP_OUT") {
        let _ = std::fs::write(path, &setup);
    }
    ctx.eval(Source::from_bytes(&setup)).map_err(|e| format!("setup: {e}"))?;
    if let Err(e) = ctx.eval(Source::from_bytes(source)) {
        // Statements are each in a `try`: only the prelude can throw here.
        return Err(format!("the script threw: {e}"));
    }
    let _ = ctx.run_jobs();
    // JSPI calls still waiting end (their promises rejected), as an embedder ends them
    // before dropping a context; the rejections' reactions run too.
    sidewinder_js::end_suspended_calls(&mut ctx);
    let _ = ctx.run_jobs();
    let internal = ctx
        .eval(Source::from_bytes("internal.join('\\n')"))
        .map_err(|e| e.to_string())?
        .to_string(&mut ctx)
        .map_err(|e| e.to_string())?
        .to_std_string_escaped();
    if std::env::var_os("SIDEWINDER_JS_FUZZ_VERBOSE").is_some() {
        let kinds = ctx
            .eval(Source::from_bytes("JSON.stringify(kinds) + ' log ' + log.length"))
            .map_err(|e| e.to_string())?;
        eprintln!(
            "errors by kind: {}",
            kinds.to_string(&mut ctx).map_err(|e| e.to_string())?.to_std_string_escaped()
        );
    }
    if internal.is_empty() {
        Ok(())
    } else {
        Err(format!("internal errors:\n{internal}"))
    }
}

/// This process's resident memory, for the progress lines (0 where /proc is missing).
fn resident_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok());
    kb.unwrap_or(0) / 1024
}

#[test]
fn random_api_scripts_never_panic() {
    let cases =
        std::env::var("SIDEWINDER_JS_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_CASES);
    let first = std::env::var("SIDEWINDER_JS_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let verbose = std::env::var_os("SIDEWINDER_JS_FUZZ_VERBOSE").is_some();
    let check_leaks = std::env::var_os("SIDEWINDER_JS_FUZZ_LEAKS").is_some();
    let modules = (bytes_literal(EXPORTS), bytes_literal(IMPORTS));
    let mut failures = Vec::new();
    for seed in first..first + cases {
        let source = script(seed);
        if verbose {
            eprintln!("--- seed {seed}\n{source}");
        }
        // With SIDEWINDER_JS_FUZZ_LEAKS, a script whose context keeps its first realm
        // after the context is dropped is reported.
        let marker = Gc::new(0u8);
        let realm_alive = WeakGc::new(&marker);
        let marker = check_leaks.then(|| RealmMarker(marker));
        let outcome = catch_unwind(AssertUnwindSafe(|| run_case(&source, &modules, marker)));
        if check_leaks {
            boa_gc::force_collect();
            if realm_alive.is_upgradable() {
                eprintln!("seed {seed}: the context's realm outlived it");
            }
        }
        let failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(panic) => Some(format!(
                "panicked: {}",
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
        };
        if let Some(f) = failure {
            eprintln!("seed {seed}: {f}");
            failures.push(seed);
        }
        if (seed - first + 1).is_multiple_of(100) {
            eprintln!(
                "random_scripts: {} of {cases} scripts ({} MB resident)",
                seed - first + 1,
                resident_mb()
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} scripts failed (seeds {failures:?}); rerun one with SIDEWINDER_JS_FUZZ_SEED=N SIDEWINDER_JS_FUZZ_CASES=1 SIDEWINDER_JS_FUZZ_VERBOSE=1",
        failures.len()
    );
}

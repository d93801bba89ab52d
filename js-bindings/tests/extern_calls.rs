//! Exported functions that take or return `externref`s with at most four parameters
//! are called through `ExternCaller` when every argument is plain (numbers, and values
//! that are no wasm object), and the way any export is called otherwise. Either way a
//! JS value must come back as itself (`Object.is`), arguments must convert in order and
//! once, and an object passed again and again must not fill the handle table.

mod support;
use support::{context, define_bytes, eval};

const MODULE: &str = r#"(module
  (type $point (struct (field i32)))
  (memory 1)
  (table $held (export "held") 4 externref)
  (global $calls (export "calls") (mut i32) (i32.const 0))
  (func (export "id") (param externref) (result externref) (local.get 0))
  (func $id (param externref) (result externref) (local.get 0))
  (func (export "idCalling") (param externref) (result externref) (call $id (local.get 0)))
  (func (export "idLoading") (param externref) (result externref)
    (drop (i32.load8_u (i32.const 0)))
    (local.get 0))
  (func (export "idLoadingAt") (param externref i32) (result externref)
    (drop (i32.load8_u (local.get 1)))
    (local.get 0))
  (func (export "pick") (param i32 externref f64 externref) (result externref)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (select (result externref) (local.get 1) (local.get 3) (local.get 0)))
  (func (export "sumBeside") (param i32 externref f64 externref) (result f64)
    (f64.add (f64.convert_i32_s (local.get 0)) (local.get 2)))
  (func (export "isNull") (param externref) (result i32) (ref.is_null (local.get 0)))
  ;; Ones that keep their arguments, so that they take handles in the agent's table.
  (global $last (export "last") (mut externref) (ref.null extern))
  (func $idKeeping (export "idKeeping") (param externref) (result externref)
    (global.set $last (local.get 0))
    (local.get 0))
  (func (export "pickKeeping") (param i32 externref f64 externref) (result externref)
    (table.set $held (i32.const 2) (local.get 3))
    (select (result externref) (local.get 1) (local.get 3) (local.get 0)))
  (func (export "pickWideKeeping") (param i32 f64 i32 i32 externref externref) (result externref)
    (call $idKeeping (select (result externref) (local.get 4) (local.get 5) (local.get 0))))
  ;; Keeps its externref, and gives back another, beside an i64 whose bits may be any
  ;; host value's word.
  (global $other (export "other") (mut externref) (ref.null extern))
  (func (export "otherBeside") (param i64 externref) (result externref)
    (global.set $last (local.get 1))
    (global.get $other))
  (func (export "hold") (param i32 externref) (table.set $held (local.get 0) (local.get 1)))
  (func (export "point") (param i32) (result externref)
    (extern.convert_any (struct.new $point (local.get 0))))
  (global $kept (mut externref) (ref.null extern))
  (func (export "keep") (param externref) (global.set $kept (local.get 0)))
  ;; Keeping no argument: its argument goes in as an argument handle, while
  ;; the host value it returns is one the agent's table holds.
  (func (export "keptIf") (param externref i32) (result externref)
    (select (result externref) (global.get $kept) (local.get 0) (local.get 1)))
  (func (export "pointValue") (param externref) (result i32)
    (struct.get $point 0 (ref.cast (ref $point) (any.convert_extern (local.get 0)))))
  ;; More parameters than small calls take: trap-free, a leaf that may trap, one that
  ;; calls (all three with argument handles), one that keeps its argument, and one of
  ;; sixteen that holds its argument in a table.
  (func (export "pickWide") (param i32 f64 i32 i32 externref externref) (result externref)
    (select (result externref) (local.get 4) (local.get 5) (local.get 0)))
  (func (export "pickWideLoading") (param i32 f64 i32 i32 externref externref) (result externref)
    (drop (i32.load8_u (local.get 2)))
    (select (result externref) (local.get 4) (local.get 5) (local.get 0)))
  (func (export "pickWideCalling") (param i32 f64 i32 i32 externref externref) (result externref)
    (call $id (select (result externref) (local.get 4) (local.get 5) (local.get 0))))
  (func (export "hold16")
    (param i32 i64 f32 f64 i32 i32 i32 externref i32 i32 i32 i32 i32 i32 f64 externref) (result f64)
    (table.set $held (i32.const 3) (select (result externref) (local.get 7) (local.get 15) (local.get 0)))
    (f64.add (local.get 3) (local.get 14))))"#;

fn exports_context() -> boa_engine::Context {
    let mut ctx = context();
    define_bytes(&mut ctx, "bytes", MODULE);
    eval(&mut ctx, "var e = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports; 0");
    ctx
}

/// Every kind of JS value, i31-sized numbers and not, wasm objects and Proxies among
/// them, through a trap-free function, a leaf that may trap, a function that calls, and
/// as either externref of a mixed signature.
#[test]
fn every_kind_of_value_comes_back_as_itself() {
    let mut ctx = exports_context();
    let script = r#"
      const values = [{}, [], null, undefined, 0, 1, -1, 2 ** 30 - 1, 2 ** 30, -(2 ** 30), -(2 ** 30) - 1,
        -0, 0.5, NaN, Infinity, 2 ** 53, "", "text", Symbol("s"), 10n, true, false, () => 1,
        new Proxy({}, {}), e.id, new WebAssembly.Memory({ initial: 1 }), e.point(7)];
      const failures = [];
      values.forEach((v, i) => {
        const other = values[(i + 3) % values.length];
        const checks = {
          id: e.id(v), idCalling: e.idCalling(v), idLoading: e.idLoading(v), idKeeping: e.idKeeping(v),
          pick1: e.pick(1, v, 2.5, other), pick0: e.pick(0, other, 2.5, v),
          pickKeeping1: e.pickKeeping(1, v, 2.5, other), pickKeeping0: e.pickKeeping(0, other, 2.5, v),
        };
        for (const [how, got] of Object.entries(checks)) {
          if (!Object.is(got, v)) failures.push(`${how} ${i}`);
        }
        if (e.sumBeside(-3, v, 0.25, other) !== -2.75) failures.push(`sumBeside ${i}`);
        if (e.isNull(v) !== (v === null ? 1 : 0)) failures.push(`isNull ${i}`);
      });
      // Missing arguments are undefined, which is a host value.
      if (e.id() !== undefined || e.isNull() !== 0 || e.pick(1) !== undefined) failures.push("missing");
      if (e.pointValue(e.point(42)) !== 42) failures.push("point");
      if (e.calls.value !== 2 * values.length + 1) failures.push(`calls ${e.calls.value}`);
      failures.join(", ") || "ok""#;
    assert_eq!(eval(&mut ctx, script), "ok");
}

/// Exports of more than four parameters with externrefs among them (through
/// `WideCaller`) give every kind of value back as itself, whichever way in; one of
/// sixteen keeps it in a table as itself; arguments that are not plain convert in order,
/// once.
#[test]
fn every_kind_of_value_comes_back_from_wide_calls() {
    let mut ctx = exports_context();
    let script = r#"
      const values = [{}, [], null, undefined, 0, 1, -1, 2 ** 30 - 1, 2 ** 30, -(2 ** 30) - 1,
        -0, 0.5, NaN, "", "text", Symbol("s"), 10n, true, () => 1, new Proxy({}, {}), e.id,
        new WebAssembly.Memory({ initial: 1 }), e.point(7)];
      const held = new WebAssembly.Table({ element: "externref", initial: 1 });
      const failures = [];
      values.forEach((v, i) => {
        const other = values[(i + 5) % values.length];
        for (const name of ["pickWide", "pickWideLoading", "pickWideCalling", "pickWideKeeping"]) {
          if (!Object.is(e[name](1, 0.5, 8, 0, v, other), v)) failures.push(`${name} 1 ${i}`);
          if (!Object.is(e[name](0, 0.5, 8, 0, other, v), v)) failures.push(`${name} 0 ${i}`);
        }
        const sum = e.hold16(i & 1, 2n, 0.5, 1.25, 0, 0, 0, v, 0, 0, 0, 0, 0, 0, 2, other);
        if (sum !== 3.25 || !Object.is(e.held.get(3), i & 1 ? v : other)) failures.push(`hold16 ${i}`);
      });
      // Not plain: a `valueOf` runs once, in order, before the call.
      const log = [];
      const n = (k) => ({ valueOf() { log.push(k); return k; } });
      const o = {};
      if (e.pickWideCalling(n(1), n(2), n(3), n(4), o, null) !== o || log.join() !== "1,2,3,4") {
        failures.push(`valueOf ${log}`);
      }
      try { e.pickWideLoading(1, 0, 65536, 0, o, o); failures.push("no trap"); }
      catch (err) { if (!(err instanceof WebAssembly.RuntimeError)) failures.push(`trap ${err}`); }
      if (e.pickWide(1) !== undefined) failures.push("missing");
      failures.join(", ") || "ok""#;
    assert_eq!(eval(&mut ctx, script), "ok");
}

/// An argument that is not plain sends the call the general way, which converts every
/// argument in order, once: the plain ones before it ran no user code.
#[test]
fn arguments_that_are_not_plain_convert_in_order_once() {
    let mut ctx = exports_context();
    let script = r#"
      const log = [];
      const a = { a: 1 }, b = { b: 2 };
      const i = { valueOf() { log.push("i"); return 1; } };
      const x = { valueOf() { log.push("x"); return 0.5; } };
      const results = [
        e.pick(i, a, x, b) === a,
        e.pick("0", a, "2", b) === b,
        e.sumBeside(i, a, x, b) === 1.5,
        e.sumBeside(2n ** 0n === 1n ? 4 : 0, e.point(1), 1, e.point(2)) === 5,
      ];
      results.join() + " " + log.join("")"#;
    assert_eq!(eval(&mut ctx, script), "true,true,true,true ixix");
}

/// One object passed 100,000 times to a function that keeps it takes one handle, and
/// four objects passed in turn as two arguments of each call take four; objects held
/// in a table stay theirs while the same and fresh objects go through in between,
/// across sweeps.
#[test]
fn an_object_passed_again_takes_its_handle_again() {
    let mut ctx = exports_context();
    let before = sidewinder_js::extern_ref_count(&mut ctx);
    let script = r#"
      const o = { o: 1 };
      let ok = true;
      for (let k = 0; k < 100000; k++) if (e.idKeeping(o) !== o || e.last.value !== o) ok = false;
      String(ok)"#;
    assert_eq!(eval(&mut ctx, script), "true");
    let after = sidewinder_js::extern_ref_count(&mut ctx);
    assert!(after <= before + 1, "{before} handles before, {after} after");
    let script = r#"
      const four = [{ a: 1 }, { b: 1 }, { c: 1 }, { d: 1 }];
      let right = true;
      for (let k = 0; k < 50000; k++) {
        if (e.pickKeeping(1, four[0], 2.5, four[1]) !== four[0]) right = false;
        if (e.held.get(2) !== four[1]) right = false;
        if (e.pickKeeping(0, four[2], 2.5, four[3]) !== four[3] || e.held.get(2) !== four[3]) right = false;
      }
      String(right)"#;
    assert_eq!(eval(&mut ctx, script), "true");
    let four = sidewinder_js::extern_ref_count(&mut ctx);
    assert!(four <= after + 4, "{after} handles before four objects in turn, {four} after");
    let script = r#"
      const kept = [{ kept: 0 }, { kept: 1 }];
      e.hold(0, kept[0]);
      let good = true;
      for (let k = 0; k < 30000; k++) {
        // The held object, a fresh one, and the other kept one in turn: fresh objects
        // take handles until sweeps come, and the last object changes every call.
        const v = k % 3 === 0 ? kept[0] : k % 3 === 1 ? { k } : kept[1];
        if (e.idKeeping(v) !== v || e.last.value !== v) good = false;
        if (k === 15000) e.hold(1, kept[1]);
      }
      good && e.held.get(0) === kept[0] && e.held.get(1) === kept[1] && e.id(kept[0]) === kept[0]"#;
    assert_eq!(eval(&mut ctx, script), "true");
    let count = sidewinder_js::extern_ref_count(&mut ctx);
    assert!(count < 20_000, "{count} handles held after 10,000 fresh objects");
}

/// An export that cannot keep its arguments (`ExternCaller::keeps_no_arguments`:
/// trap-free or not, calling other such functions or not, setting numeric globals or
/// not) gets them as argument handles, which take no slot in the agent's table, and
/// gives them back as themselves; a host value it reads from a global comes from the
/// table. Exports that could keep them take handles.
#[test]
fn arguments_of_calls_that_cannot_keep_them_take_no_handles() {
    let mut ctx = exports_context();
    eval(&mut ctx, "var kept = { kept: true }; e.keep(kept); 0");
    let before = sidewinder_js::extern_ref_count(&mut ctx);
    let script = r#"
      let ok = true;
      for (let k = 0; k < 20000; k++) {
        const fresh = { k };
        if (e.id(fresh) !== fresh || e.keptIf(fresh, 0) !== fresh || e.keptIf(fresh, 1) !== kept) ok = false;
        if (e.isNull(fresh) !== 0) ok = false;
        if (e.idCalling(fresh) !== fresh || e.idLoading(fresh) !== fresh) ok = false;
        if (e.pick(0, 1, 2, fresh) !== fresh || e.pickWideCalling(1, 0, 0, 0, fresh, 2) !== fresh) ok = false;
      }
      ok && e.keptIf("s", 1) === kept && e.keptIf("s", 0) === "s" && e.keptIf(undefined, 0) === undefined &&
        e.keptIf() === undefined"#;
    assert_eq!(eval(&mut ctx, script), "true");
    let after = sidewinder_js::extern_ref_count(&mut ctx);
    assert_eq!(after, before, "handles taken by calls that cannot keep their arguments");
    // A callee that takes argument handles and traps: the trap is an error, and the
    // next call works.
    let script = r#"
      const o = {};
      let name;
      try { e.idLoadingAt(o, 65536); } catch (err) { name = err.constructor.name; }
      name + " " + (e.idLoadingAt(o, 0) === o)"#;
    assert_eq!(eval(&mut ctx, script), "RuntimeError true");
    // Callees that keep their arguments; what one keeps is read back as itself.
    for keeping in [
        "if (e.idKeeping(fresh) !== fresh || e.last.value !== fresh) throw new Error(k)",
        "e.pickKeeping(0, 1, 2, fresh)",
        "e.pickWideKeeping(1, 0, 0, 0, fresh, 2)",
    ] {
        let before = sidewinder_js::extern_ref_count(&mut ctx);
        let script = format!("for (let k = 0; k < 100; k++) {{ const fresh = {{ k }}; {keeping}; }} 0");
        eval(&mut ctx, &script);
        let taken = sidewinder_js::extern_ref_count(&mut ctx) - before;
        assert_eq!(taken, 100, "{keeping}: handles taken for 100 fresh objects");
    }
}

/// A call of a function that keeps its arguments converts them in turn, and converting
/// the second may sweep the agent's table: the first's handle is then only a word on
/// the stack, which the store's scan must find, or its slot goes to the second and the
/// call sees the second twice. 40,000 calls with two fresh objects each, and 10,000
/// with one (so that the sweeps do not all fall on first arguments), come to over a
/// hundred sweeps.
#[test]
fn the_first_of_two_fresh_arguments_survives_a_sweep_at_the_second() {
    let mut ctx = exports_context();
    let script = r#"
      let bad = 0;
      for (let k = 0; k < 10000; k++) {
        const a = { a: k }, b = { b: k };
        if (e.pickKeeping(1, a, 2.5, b) !== a || e.pickKeeping(0, a, 2.5, b) !== b) bad++;
        const c = { c: k }, d = { d: k };
        if (e.pickWideKeeping(1, 0, 0, 0, c, d) !== c || e.pickWideKeeping(0, 0, 0, 0, c, d) !== d) bad++;
        e.idKeeping({ k });
      }
      bad"#;
    assert_eq!(eval(&mut ctx, script), "0");
}

/// A call that keeps its arguments takes a handle for each host value, and a host value
/// it gives back whose word is an `externref` argument's is that argument. An i64
/// argument's bits may equal any host value's word: a host value given back beside it
/// is still the value its handle names.
#[test]
fn a_host_value_given_back_is_not_a_number_argument_of_its_bits() {
    let mut ctx = exports_context();
    let script = r#"
      const other = { other: true };
      e.other.value = other;
      let bad = [];
      for (let w = 0n; w < 4096n; w++) {
        const fresh = { w };
        const got = e.otherBeside(w, fresh);
        if (got !== other) bad.push(`${w}: ${typeof got}`);
        if (e.last.value !== fresh) bad.push(`${w}: last`);
      }
      bad.slice(0, 5).join(", ") || "ok""#;
    assert_eq!(eval(&mut ctx, script), "ok");
}

/// An object remembered with its handle (so that it takes the same one when passed
/// again) is forgotten when a sweep frees the handle: passed again after the slot went
/// to another value, it takes a new one, and wasm keeps it, not that value.
#[test]
fn an_object_whose_handle_was_freed_takes_a_new_one() {
    let mut ctx = exports_context();
    let script = r#"
      let bad = 0;
      for (let k = 0; k < 20000; k++) {
        const a = { a: k };
        e.idKeeping(a);
        e.last.value = null;
        e.idKeeping({ fresh: k });
        e.last.value = null;
        if (e.idKeeping(a) !== a || e.last.value !== a) bad++;
      }
      bad"#;
    assert_eq!(eval(&mut ctx, script), "0");
}

//! The JS API's address types (memory64): `address: "i64"` descriptors, BigInt sizes and
//! indices for 64-bit memories and tables, type reflection, and imports matched by
//! address type.

mod support;
use support::{context, define_bytes, eval, thrown};

#[test]
fn i64_memories_take_and_give_bigints() {
    let mut ctx = context();
    eval(&mut ctx, r#"var m = new WebAssembly.Memory({ address: "i64", initial: 1n, maximum: 3n }); 0"#);
    let ty = r#"var t = m.type(); [typeof t.minimum, t.minimum, t.maximum, t.shared, t.address].join()"#;
    assert_eq!(eval(&mut ctx, ty), "bigint,1,3,false,i64");
    assert_eq!(eval(&mut ctx, "m.buffer.byteLength"), "65536");
    assert_eq!(eval(&mut ctx, "m.grow(1n) === 1n && m.grow(0n) === 2n"), "true");
    assert_eq!(thrown(&mut ctx, "m.grow(1)"), "TypeError");
    assert_eq!(thrown(&mut ctx, "m.grow(-1n)"), "TypeError");
    assert_eq!(thrown(&mut ctx, "m.grow(2n)"), "RangeError");
    // Deltas whose size in bytes overflows 64 bits, from JS and from wasm.
    assert_eq!(thrown(&mut ctx, "m.grow(1n << 48n)"), "RangeError");
    assert_eq!(thrown(&mut ctx, "m.grow(2n ** 64n - 1n)"), "RangeError");
    // ToBigInt accepts strings and booleans.
    assert_eq!(eval(&mut ctx, "m.grow('0') === 2n"), "true");

    let new_memory = |d: &str| format!("new WebAssembly.Memory({d})");
    assert_eq!(thrown(&mut ctx, &new_memory(r#"{ address: "i64", initial: 1 }"#)), "TypeError");
    assert_eq!(thrown(&mut ctx, &new_memory(r#"{ address: "i64", initial: -1n }"#)), "TypeError");
    assert_eq!(thrown(&mut ctx, &new_memory(r#"{ address: "i64", initial: 2n ** 64n }"#)), "TypeError");
    assert_eq!(
        thrown(&mut ctx, &new_memory(r#"{ address: "i64", initial: 10n, maximum: 9n }"#)),
        "RangeError"
    );
    assert_eq!(thrown(&mut ctx, &new_memory(r#"{ address: "i128", initial: 1n }"#)), "TypeError");
    // Declared far above what can be allocated: the maximum is only a bound.
    assert_eq!(
        thrown(&mut ctx, &new_memory(r#"{ address: "i64", initial: 0n, maximum: 2n ** 40n }"#)),
        "no error"
    );
    assert_eq!(
        thrown(&mut ctx, &new_memory(r#"{ address: "i64", initial: 0n, maximum: 2n ** 48n + 1n }"#)),
        "RangeError"
    );
    // The default stays i32, with Numbers.
    assert_eq!(
        eval(
            &mut ctx,
            "var n = new WebAssembly.Memory({ initial: 1 }); [n.grow(1), n.type().address].join()"
        ),
        "1,i32"
    );
    assert_eq!(
        eval(&mut ctx, r#"new WebAssembly.Memory({ address: "i32", initial: 1 }).type().minimum"#),
        "1"
    );
}

#[test]
fn i64_tables_take_and_give_bigints() {
    let mut ctx = context();
    define_bytes(&mut ctx, "fBytes", r#"(module (func (export "f") (result i32) (i32.const 5)))"#);
    eval(&mut ctx, "var f = new WebAssembly.Instance(new WebAssembly.Module(fBytes)).exports.f; 0");
    eval(
        &mut ctx,
        r#"var t = new WebAssembly.Table({ address: "i64", element: "anyfunc", initial: 2n }); 0"#,
    );
    assert_eq!(
        eval(&mut ctx, "[typeof t.length, t.length, t.type().address, typeof t.type().minimum].join()"),
        "bigint,2,i64,bigint"
    );
    assert_eq!(eval(&mut ctx, "t.grow(1n, f) === 2n && t.get(2n)() === 5"), "true");
    assert_eq!(eval(&mut ctx, "t.set(0n, f); t.get(0n)()"), "5");
    assert_eq!(thrown(&mut ctx, "t.get(0)"), "TypeError");
    assert_eq!(thrown(&mut ctx, "t.get(3n)"), "RangeError");
    assert_eq!(thrown(&mut ctx, "t.set(2n ** 32n, null)"), "RangeError");
    assert_eq!(
        thrown(&mut ctx, r#"new WebAssembly.Table({ address: "i64", element: "anyfunc", initial: 1 })"#),
        "TypeError"
    );
    assert_eq!(
        eval(&mut ctx, r#"new WebAssembly.Table({ element: "anyfunc", initial: 1 }).type().address"#),
        "i32"
    );
}

#[test]
fn imports_and_exports_keep_their_address_type() {
    let mut ctx = context();
    define_bytes(
        &mut ctx,
        "importer",
        r#"(module (import "e" "m" (memory i64 1)) (import "e" "t" (table i64 1 funcref))
             (memory $own (export "own") i64 2)
             (func (export "store") (param i64 i32) (i32.store (local.get 0) (local.get 1)))
             (func (export "size") (result i64) (table.size 0)))"#,
    );
    eval(
        &mut ctx,
        r#"var m = new WebAssembly.Memory({ address: "i64", initial: 1n });
           var t = new WebAssembly.Table({ address: "i64", element: "anyfunc", initial: 1n });
           var mod = new WebAssembly.Module(importer);
           var x = new WebAssembly.Instance(mod, { e: { m, t } }).exports; 0"#,
    );
    assert_eq!(eval(&mut ctx, "x.store(8n, 42); new Int32Array(m.buffer)[2]"), "42");
    assert_eq!(
        eval(&mut ctx, "x.size() === 1n && x.own.type().address === 'i64' && x.own.grow(0n) === 2n"),
        "true"
    );
    let narrow_memory =
        "new WebAssembly.Instance(mod, { e: { m: new WebAssembly.Memory({ initial: 1 }), t } })";
    assert_eq!(thrown(&mut ctx, narrow_memory), "LinkError");
    let narrow_table = "new WebAssembly.Instance(mod, { e: { m, t: new WebAssembly.Table({ element: 'anyfunc', initial: 1 }) } })";
    assert_eq!(thrown(&mut ctx, narrow_table), "LinkError");
}

#[test]
fn growing_by_huge_deltas_fails_cleanly() {
    let mut ctx = context();
    define_bytes(
        &mut ctx,
        "grower",
        r#"(module (memory (export "m") i64 0)
             (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0))))"#,
    );
    eval(&mut ctx, "var g = new WebAssembly.Instance(new WebAssembly.Module(grower)).exports; 0");
    assert_eq!(eval(&mut ctx, "g.grow(1n << 48n)"), "-1");
    assert_eq!(eval(&mut ctx, "g.grow(-1n)"), "-1");
    assert_eq!(eval(&mut ctx, "g.grow(1n)"), "0");
}

/// WebIDL reads and converts dictionary members in lexicographic order: address,
/// (element,) initial, maximum, minimum, shared.
#[test]
fn descriptor_members_are_read_in_dictionary_order() {
    let mut ctx = context();
    let recorder = r#"
        function recorder(order, values) {
            const d = {};
            for (const [name, value] of Object.entries(values)) {
                Object.defineProperty(d, name, { get() {
                    order.push(name);
                    if (typeof value === 'boolean') return value;
                    return { valueOf() { order.push(name + ' valueOf'); return value; },
                             toString() { order.push(name + ' toString'); return String(value); } };
                } });
            }
            return d;
        }
        0"#;
    eval(&mut ctx, recorder);
    let memory = r#"var o = []; new WebAssembly.Memory(recorder(o, { shared: false, minimum: 1, maximum: 2, address: 'i32' })); o.join()"#;
    assert_eq!(
        eval(&mut ctx, memory),
        "address,address toString,maximum,maximum valueOf,minimum,minimum valueOf,shared"
    );
    let table = r#"var o = []; new WebAssembly.Table(recorder(o, { minimum: 1, maximum: 2, element: 'anyfunc', address: 'i32' })); o.join()"#;
    assert_eq!(
        eval(&mut ctx, table),
        "address,address toString,element,element toString,maximum,maximum valueOf,minimum,minimum valueOf"
    );
    // Both initial and minimum: a TypeError once all three are read.
    let both = r#"var o = []; try { new WebAssembly.Memory(recorder(o, { initial: 1, minimum: 1, maximum: 2 })) } catch (e) { o.push(e.constructor.name) } o.join()"#;
    assert_eq!(
        eval(&mut ctx, both),
        "initial,initial valueOf,maximum,maximum valueOf,minimum,minimum valueOf,TypeError"
    );
}

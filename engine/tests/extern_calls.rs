//! `ExternCaller`: small calls of functions whose parameters and result include
//! `externref`s, with host values passed as words (`Val::extern_word`). The words must
//! reach wasm and come back unchanged, whichever way the call goes in (straight into a
//! trap-free function, through the entry trampoline for a leaf that may trap or for a
//! function that calls); a word that could be an object's address must be refused
//! before any wasm runs; and objects wasm returns must come back as objects.

use sidewinder_engine::{AnyRef, Engine, Error, Extern, Func, Store, Val};

#[allow(dead_code)] // only `instance_in` and `exported_func` are used here
mod support;
use support::{exported_func, instance_in};

const MODULE: &str = r#"(module
  (type $point (struct (field i32)))
  (memory 1)
  (global $calls (export "calls") (mut i32) (i32.const 0))
  (table $held (export "held") 4 externref)
  (func (export "id") (param externref) (result externref) (local.get 0))
  (func $id (param externref) (result externref) (local.get 0))
  (func (export "id_calling") (param externref) (result externref) (call $id (local.get 0)))
  ;; A leaf that may trap: the load is out of bounds when $at is 65536 or more.
  (func (export "id_loading") (param externref) (param $at i32) (result externref)
    (drop (i32.load8_u (local.get $at)))
    (local.get 0))
  (func (export "pick") (param i32 externref f64 externref) (result externref)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (select (result externref) (local.get 1) (local.get 3) (local.get 0)))
  (func (export "sum_beside") (param i32 externref f64 externref) (result f64)
    (f64.add (f64.convert_i32_s (local.get 0)) (local.get 2)))
  (func (export "is_null") (param externref) (result i32) (ref.is_null (local.get 0)))
  (func (export "hold") (param i32 externref) (table.set $held (local.get 0) (local.get 1)))
  (func (export "point") (param i32) (result externref)
    (extern.convert_any (struct.new $point (local.get 0))))
  (func (export "takes_anyref") (param anyref) (result i32) (i32.const 1))
  ;; More parameters than small calls take (through `WideCaller`): trap-free, a leaf
  ;; that may trap, and one that calls; and sixteen, with externrefs in the middle and
  ;; last.
  (func (export "pick_wide") (param i32 i32 i32 i32 externref externref) (result externref)
    (select (result externref) (local.get 4) (local.get 5) (local.get 0)))
  (func (export "pick_wide_loading") (param i32 i32 i32 i32 externref externref) (result externref)
    (drop (i32.load8_u (local.get 1)))
    (select (result externref) (local.get 4) (local.get 5) (local.get 0)))
  (func (export "pick_wide_calling") (param i32 i32 i32 i32 externref externref) (result externref)
    (call $id (select (result externref) (local.get 4) (local.get 5) (local.get 0))))
  (func (export "pick16")
    (param i32 i64 f32 f64 i32 i32 i32 externref i32 i32 i32 i32 i32 i32 f64 externref) (result externref)
    (select (result externref) (local.get 7) (local.get 15) (i32.eq (local.get 13) (i32.const 1)))))"#;

/// The words of null, i31s and host values, with what each stands for.
fn extern_values() -> Vec<Val> {
    let mut values = vec![Val::ExternRef(None), Val::AnyRef(None)];
    for bits in [0u32, 1, 7, 0x3fff_ffff, 0x4000_0000, 0x7fff_ffff] {
        values.push(Val::AnyRef(Some(AnyRef::I31(bits))));
    }
    for handle in [0u64, 1, 2, 1000, (1 << 40) + 3, Val::HOST_VALUE_LIMIT - 1] {
        values.push(Val::ExternRef(Some(handle)));
    }
    values
}

/// The same value, whichever variant holds null.
fn same(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::ExternRef(None) | Val::AnyRef(None), Val::ExternRef(None) | Val::AnyRef(None)) => true,
        (Val::ExternRef(Some(x)), Val::ExternRef(Some(y))) => x == y,
        (Val::AnyRef(Some(AnyRef::I31(x))), Val::AnyRef(Some(AnyRef::I31(y)))) => x == y,
        _ => false,
    }
}

#[test]
fn host_values_go_through_every_way_in_unchanged() {
    let store = Store::new(&Engine::default());
    let inst = instance_in(&store, MODULE);
    let id = exported_func(&inst, "id").extern_caller::<1>().expect("served");
    let id_calling = exported_func(&inst, "id_calling").extern_caller::<1>().expect("served");
    let id_loading = exported_func(&inst, "id_loading").extern_caller::<2>().expect("served");
    let pick = exported_func(&inst, "pick").extern_caller::<4>().expect("served");
    let sum_beside = exported_func(&inst, "sum_beside").extern_caller::<4>().expect("served");
    let is_null = exported_func(&inst, "is_null").extern_caller::<1>().expect("served");
    assert!(id.is_leaf() && id_loading.is_leaf() && !id_calling.is_leaf());
    let values = extern_values();
    for (i, v) in values.iter().enumerate() {
        let word = v.extern_word().expect("a word");
        for (how, got) in [
            ("direct", id.call([word])),
            ("calling", id_calling.call([word])),
            ("loading", id_loading.call([word, 8])),
        ] {
            let got = got.expect("runs").expect("a result");
            assert!(same(&got, v), "{how}: {v:?} came back as {got:?}");
        }
        let other = &values[(i + 5) % values.len()];
        let other_word = other.extern_word().expect("a word");
        for choose in [0u64, 1] {
            let got =
                pick.call([choose, word, 2.5f64.to_bits(), other_word]).expect("runs").expect("a result");
            assert!(same(&got, if choose == 1 { v } else { other }), "pick {choose}: {got:?}");
        }
        let sum =
            sum_beside.call([(-3i32) as u32 as u64, word, 0.25f64.to_bits(), other_word]).expect("runs");
        assert!(matches!(sum, Some(Val::F64(bits)) if f64::from_bits(bits) == -2.75), "{sum:?}");
        let null = is_null.call([word]).expect("runs");
        let is_null_value = matches!(v, Val::ExternRef(None) | Val::AnyRef(None));
        assert!(matches!(null, Some(Val::I32(n)) if n == is_null_value as i32), "{v:?}: {null:?}");
    }
    // `pick` set a global: its caller sees it.
    match inst.get_export("calls") {
        Some(Extern::Global(g)) => assert!(matches!(g.get(), Val::I32(n) if n == 2 * values.len() as i32)),
        other => panic!("{other:?}"),
    }
}

/// Functions of more than four parameters, with externrefs among them, go through
/// `WideCaller`: host values come back unchanged whichever way in, words that are no
/// host value are refused, traps are errors.
#[test]
fn host_values_go_through_wide_calls_unchanged() {
    let store = Store::new(&Engine::default());
    let inst = instance_in(&store, MODULE);
    let ways: Vec<_> = ["pick_wide", "pick_wide_loading", "pick_wide_calling"]
        .into_iter()
        .map(|name| (name, exported_func(&inst, name).extern_caller::<6>().expect("served")))
        .collect();
    assert!(ways[0].1.is_trap_free() && ways[1].1.is_leaf() && !ways[1].1.is_trap_free());
    // Each passes its arguments through only (`$id` too): none keeps them.
    assert!(!ways[2].1.is_leaf() && ways.iter().all(|(_, way)| way.keeps_no_arguments()));
    let pick16 = exported_func(&inst, "pick16").extern_caller::<16>().expect("served");
    assert!(
        exported_func(&inst, "pick16").extern_caller::<15>().is_none(),
        "fewer arguments than parameters"
    );
    let values = extern_values();
    for (i, v) in values.iter().enumerate() {
        let word = v.extern_word().expect("a word");
        let other = &values[(i + 3) % values.len()];
        let other_word = other.extern_word().expect("a word");
        for (name, way) in &ways {
            for choose in [0u64, 1] {
                let got = way.call([choose, 8, 0, 0, word, other_word]).expect("runs").expect("a result");
                assert!(
                    same(&got, if choose == 1 { v } else { other }),
                    "{name} {choose}: {v:?} gave {got:?}"
                );
            }
        }
        let mut args = [u64::MAX; 16];
        args[7] = word;
        args[15] = other_word;
        for (choose, expected) in [(1u64, v), (0, other)] {
            args[13] = choose;
            let got = pick16.call(args).expect("runs").expect("a result");
            assert!(same(&got, expected), "pick16 {choose}: {got:?}");
        }
    }
    let host = Val::ExternRef(Some(5)).extern_word().expect("a word");
    for (name, way) in &ways {
        assert!(
            matches!(way.call([1, 0, 0, 0, host, 8]), Err(Error::Link(_))),
            "{name}: an address-like word"
        );
        assert!(
            matches!(way.call([1, 0, 0, 0, 1 << 32 | 1, host]), Err(Error::Link(_))),
            "{name}: a wide i31"
        );
    }
    assert!(matches!(ways[1].1.call([1, 1 << 16, 0, 0, host, host]), Err(Error::Trap(_))), "a trap");
    assert!(matches!(ways[1].1.call([1, 0, 0, 0, host, 0]), Ok(Some(Val::ExternRef(Some(5))))), "after it");
    drop((inst, store));
    for (name, way) in &ways {
        assert!(
            matches!(way.call([1, 0, 0, 0, host, host]), Err(Error::Link(_))),
            "{name}: the store is gone"
        );
    }
}

/// Words that could be an object's address (non-zero, ending in binary 00), and i31s
/// with bits above the 32 an i31's word has, are refused before the callee runs.
#[test]
fn words_that_are_no_host_value_are_refused_before_wasm_runs() {
    let store = Store::new(&Engine::default());
    let inst = instance_in(&store, MODULE);
    let pick = exported_func(&inst, "pick").extern_caller::<4>().expect("served");
    let hold = exported_func(&inst, "hold").extern_caller::<2>().expect("served");
    let calls = || match inst.get_export("calls") {
        Some(Extern::Global(g)) => g.get(),
        other => panic!("{other:?}"),
    };
    let host = Val::ExternRef(Some(5)).extern_word().expect("a word");
    for bad in [4u64, 8, 0x1000, 0xdead_beef_0000, 1 << 32 | 1, u64::MAX] {
        assert!(matches!(pick.call([1, bad, 0, host]), Err(Error::Link(_))), "{bad:#x} as parameter 1");
        assert!(matches!(pick.call([1, host, 0, bad]), Err(Error::Link(_))), "{bad:#x} as parameter 3");
        assert!(matches!(hold.call([0, bad]), Err(Error::Link(_))), "{bad:#x} held");
    }
    assert!(matches!(calls(), Val::I32(0)), "pick ran");
    match inst.get_export("held") {
        Some(Extern::Table(t)) => assert!(matches!(t.get(0), Some(Val::ExternRef(None)))),
        other => panic!("{other:?}"),
    }
    // Numbers in number parameters are not checked: any bits are an i32 or an f64.
    assert!(pick.call([u64::MAX, host, u64::MAX, host]).is_ok());
    // Values that have no word.
    assert_eq!(Val::ExternRef(Some(Val::HOST_VALUE_LIMIT)).extern_word(), None);
    assert_eq!(Val::I32(1).extern_word(), None);
    assert_eq!(Val::host_value_word(Val::HOST_VALUE_LIMIT), None);
    assert_eq!(Val::host_value_word(5), Some(host));
}

/// A trap in the callee is the call's error; an object the callee returns comes back
/// as one, which wasm code can use again.
#[test]
fn traps_are_errors_and_objects_come_back_as_objects() {
    let store = Store::new(&Engine::default());
    let inst = instance_in(&store, MODULE);
    let id_loading = exported_func(&inst, "id_loading").extern_caller::<2>().expect("served");
    let host = Val::ExternRef(Some(9)).extern_word().expect("a word");
    assert!(matches!(id_loading.call([host, 1 << 16]), Err(Error::Trap(_))));
    assert!(matches!(id_loading.call([host, 0]), Ok(Some(Val::ExternRef(Some(9))))));
    let point = exported_func(&inst, "point").extern_caller::<1>().expect("served");
    let object = point.call([42]).expect("runs").expect("a result");
    assert!(matches!(object, Val::AnyRef(Some(AnyRef::Object(_)))), "{object:?}");
    // Objects have no word: they go back into wasm through `Func::call`.
    assert_eq!(object.extern_word(), None);
    let Val::AnyRef(Some(AnyRef::Object(sent))) = &object else { unreachable!() };
    let back = exported_func(&inst, "id").call(std::slice::from_ref(&object)).expect("runs");
    assert!(matches!(&back[..], [Val::AnyRef(Some(AnyRef::Object(o)))] if o.address() == sent.address()));
}

/// Signatures with other reference types or more than one result are not served;
/// neither are host functions, nor fewer arguments than parameters.
#[test]
fn only_numbers_and_externrefs_are_served() {
    let store = Store::new(&Engine::default());
    let inst = instance_in(&store, MODULE);
    assert!(exported_func(&inst, "takes_anyref").extern_caller::<1>().is_none());
    assert!(exported_func(&inst, "pick").extern_caller::<3>().is_none());
    let other = instance_in(
        &store,
        r#"(module
                 (func (export "five") (param externref i32 i32 i32 i32))
                 (func (export "seventeen")
                   (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 externref))
                 (func (export "two") (param externref) (result externref externref) (local.get 0) (local.get 0))
                 (func (export "funcs") (param funcref) (result i32) (i32.const 0))
                 (func (export "non_null") (param (ref extern)) (result i32) (i32.const 0)))"#,
    );
    assert!(exported_func(&other, "five").extern_caller::<4>().is_none());
    assert!(exported_func(&other, "five").extern_caller::<5>().is_some());
    // An externref past the sixteenth parameter: refused before its bit is made.
    assert!(exported_func(&other, "seventeen").extern_caller::<16>().is_none());
    assert!(exported_func(&other, "two").extern_caller::<1>().is_none());
    assert!(exported_func(&other, "funcs").extern_caller::<1>().is_none());
    assert!(exported_func(&other, "non_null").extern_caller::<1>().is_none());
    let host = Func::new(&store, sidewinder_engine::FuncType::new([], []), |_, _| Ok(()));
    assert!(host.extern_caller::<0>().is_none());
}

/// A call after the store is gone errs instead of running code freed with it.
#[test]
fn extern_calls_after_the_store_is_gone_err() {
    let store = Store::new(&Engine::default());
    let inst = instance_in(&store, MODULE);
    let id = exported_func(&inst, "id").extern_caller::<1>().expect("served");
    let id_calling = exported_func(&inst, "id_calling").extern_caller::<1>().expect("served");
    drop((inst, store));
    assert!(matches!(id.call([0]), Err(Error::Link(_))));
    assert!(matches!(id_calling.call([0]), Err(Error::Link(_))));
}

/// `ExternCaller::keeps_no_arguments` (`!Func::keeps_references`) lets an embedder pass
/// host values it has no lasting name for. Every way a function could keep an
/// `externref` argument must make it false, however cheap the store looks (a constant
/// index into a table far larger than it, a field of a fresh object), and so must a
/// call, however far down, of a function that could, or of code the compiler cannot
/// see. Functions that only pass it through are true, even when they may trap, call
/// other such functions (recursion too), or set a numeric global.
#[test]
fn functions_that_could_keep_an_argument_do_not_say_they_keep_none() {
    let store = Store::new(&Engine::default());
    let wat = r#"(module
                 (import "host" "f" (func $host (param externref)))
                 (import "host" "g" (func $host_g (param externref) (result externref)))
                 (type $box (struct (field (mut externref))))
                 (type $boxes (array (mut externref)))
                 (type $numbers (array (mut i32)))
                 (type $takes (func (param externref) (result externref)))
                 (tag $t (param externref))
                 (table $t100 100 externref)
                 (table $funcs 1 funcref)
                 (elem declare func $id)
                 (memory 1)
                 (global $g (mut externref) (ref.null extern))
                 (global $count (mut i32) (i32.const 0))
                 (global $boxed (mut (ref null $box)) (ref.null $box))
                 (global $many (mut (ref null $boxes)) (ref.null $boxes))
                 (global $any (mut anyref) (ref.null any))
                 (func $id (export "id") (param externref) (result externref) (local.get 0))
                 (func (export "is_null") (param externref) (result i32) (ref.is_null (local.get 0)))
                 (func (export "picks") (param externref externref i32) (result externref)
                   (select (result externref) (local.get 0) (local.get 1) (local.get 2)))
                 (func (export "reads_global") (param externref) (result externref) (global.get $g))
                 (func (export "loads") (param externref) (result externref)
                   (drop (i32.load (i32.const 65536))) (local.get 0))
                 (func (export "counts") (param externref) (result externref)
                   (global.set $count (i32.add (global.get $count) (i32.const 1))) (local.get 0))
                 (func $deep (export "calls_id") (param externref) (result externref) (call $id (local.get 0)))
                 (func (export "calls_deep") (param externref) (result externref) (call $deep (local.get 0)))
                 (func (export "tail_calls_id") (param externref) (result externref)
                   (return_call $id (local.get 0)))
                 (func $even (export "recurses") (param externref i32) (result externref)
                   (if (result externref) (i32.eqz (local.get 1)) (then (local.get 0))
                     (else (call $odd (local.get 0) (i32.sub (local.get 1) (i32.const 1))))))
                 (func $odd (param externref i32) (result externref)
                   (call $even (local.get 0) (local.get 1)))
                 (func $table_set (export "table_set") (param externref)
                   (table.set $t100 (i32.const 0) (local.get 0)))
                 (func (export "table_fill") (param externref)
                   (table.fill $t100 (i32.const 0) (local.get 0) (i32.const 1)))
                 (func (export "table_grow") (param externref) (result i32)
                   (table.grow $t100 (local.get 0) (i32.const 1)))
                 (func $global_set (export "global_set") (param externref) (global.set $g (local.get 0)))
                 (func (export "struct_new") (param externref) (result (ref $box)) (struct.new $box (local.get 0)))
                 (func (export "struct_set") (param externref)
                   (struct.set $box 0 (global.get $boxed) (local.get 0)))
                 (func (export "array_new") (param externref) (result (ref $boxes))
                   (array.new $boxes (local.get 0) (i32.const 1)))
                 (func (export "array_set") (param externref)
                   (array.set $boxes (global.get $many) (i32.const 0) (local.get 0)))
                 (func (export "array_fill") (param externref)
                   (array.fill $boxes (global.get $many) (i32.const 0) (local.get 0) (i32.const 1)))
                 (func (export "array_new_dropped") (param externref)
                   (drop (array.new $boxes (local.get 0) (i32.const 1))))
                 (func (export "array_new_fixed") (param externref)
                   (drop (array.new_fixed $boxes 2 (local.get 0) (local.get 0))))
                 (func (export "array_copy") (param externref)
                   (array.copy $boxes $boxes (global.get $many) (i32.const 0) (global.get $many) (i32.const 0)
                     (i32.const 0)))
                 (func (export "array_new_default_sized") (param externref i32) (result externref)
                   (drop (array.new_default $numbers (local.get 1))) (local.get 0))
                 (func (export "any_global_set") (param externref)
                   (global.set $any (any.convert_extern (local.get 0))))
                 (func (export "allocates") (param externref) (drop (struct.new $box (local.get 0))))
                 (func (export "allocates_numbers") (param externref) (result externref)
                   (drop (array.new_default $numbers (i32.const 4))) (local.get 0))
                 (func $throws (export "throws") (param externref) (throw $t (local.get 0)))
                 (func (export "rethrows") (param externref)
                   (block $caught (result exnref)
                     (try_table (catch_all_ref $caught) (call $throws (local.get 0))) (unreachable))
                   (throw_ref))
                 (func (export "calls_host") (param externref) (call $host (local.get 0)))
                 (func (export "tail_calls_host") (param externref) (result externref)
                   (return_call $host_g (local.get 0)))
                 (func (export "tail_calls_indirect") (param externref) (result externref)
                   (return_call_indirect $funcs (type $takes) (local.get 0) (i32.const 0)))
                 (func (export "calls_indirect") (param externref) (result externref)
                   (call_indirect $funcs (type $takes) (local.get 0) (i32.const 0)))
                 (func (export "calls_ref") (param externref) (result externref)
                   (call_ref $takes (local.get 0) (ref.func $id)))
                 (func (export "tail_calls_ref") (param externref) (result externref)
                   (return_call_ref $takes (local.get 0) (ref.func $id)))
                 (func $sets_later (export "calls_table_set") (param externref) (result externref)
                   (call $table_set (local.get 0)) (local.get 0))
                 (func (export "calls_that_later") (param externref) (result externref)
                   (call $sets_later (local.get 0)))
                 (func (export "tail_calls_global_set") (param externref) (return_call $global_set (local.get 0)))
                 ;; A cycle with a keeper hanging off it: every function on it keeps.
                 (func $ring_a (export "ring") (param externref i32) (result externref)
                   (if (i32.eqz (local.get 1)) (then (call $global_set (local.get 0))))
                   (call $ring_b (local.get 0) (local.get 1)))
                 (func $ring_b (param externref i32) (result externref)
                   (if (result externref) (local.get 1)
                     (then (call $ring_a (local.get 0) (i32.sub (local.get 1) (i32.const 1))))
                     (else (local.get 0)))))"#;
    let module = sidewinder_engine::Module::new(store.engine(), &wat::parse_str(wat).expect("valid wat"))
        .expect("compiles");
    let externref = sidewinder_engine::ValType::EXTERNREF;
    let host = Func::new(&store, sidewinder_engine::FuncType::new([externref], []), |_, _| Ok(()));
    let host_g = Func::new(&store, sidewinder_engine::FuncType::new([externref], [externref]), |_, _| Ok(()));
    let imports = [Extern::Func(host), Extern::Func(host_g)];
    let inst = sidewinder_engine::Instance::new(&store, &module, &imports).expect("instantiates");
    let keeps_none = |name: &str| {
        let f = exported_func(&inst, name);
        let by_caller = match f.signature().params().len() {
            1 => f.extern_caller::<1>().expect("served").keeps_no_arguments(),
            2 => f.extern_caller::<2>().expect("served").keeps_no_arguments(),
            _ => f.extern_caller::<3>().expect("served").keeps_no_arguments(),
        };
        assert_eq!(by_caller, !f.keeps_references(), "{name}");
        by_caller
    };
    for name in [
        "id",
        "is_null",
        "picks",
        "reads_global",
        "loads",
        "counts",
        "calls_id",
        "calls_deep",
        "tail_calls_id",
        "recurses",
    ] {
        assert!(keeps_none(name), "{name} keeps none");
    }
    for name in [
        "table_set",
        "table_fill",
        "table_grow",
        "global_set",
        "struct_set",
        "array_set",
        "array_fill",
        "array_new_dropped",
        "array_new_fixed",
        "array_copy",
        "array_new_default_sized",
        "any_global_set",
        "allocates",
        "allocates_numbers",
        "throws",
        "rethrows",
        "calls_host",
        "tail_calls_host",
        "tail_calls_indirect",
        "calls_indirect",
        "calls_ref",
        "tail_calls_ref",
        "calls_table_set",
        "calls_that_later",
        "tail_calls_global_set",
        "ring",
    ] {
        assert!(!keeps_none(name), "{name} keeps its argument");
    }
    // Results that are objects are not served at all.
    for name in ["struct_new", "array_new"] {
        assert!(exported_func(&inst, name).extern_caller::<1>().is_none(), "{name}");
    }
}

/// `Store::live_host_values(below)` names the host values below the bound that a table,
/// a global and a GC object hold, not one nothing ever held, and says every value from
/// the bound up may be held (it does not look for those). (A value let go of may still
/// be named: the stacks are scanned conservatively.)
#[test]
fn live_host_values_are_those_the_store_holds_below_the_bound() {
    let store = Store::new(&Engine::default());
    let instance = instance_in(
        &store,
        r#"(module
          (type $box (struct (field externref)))
          (table $t (export "t") 4 externref)
          (global $g (export "g") (mut externref) (ref.null extern))
          (global $boxed (mut (ref null $box)) (ref.null $box))
          (func (export "box") (param externref) (global.set $boxed (struct.new $box (local.get 0)))))"#,
    );
    let Some(Extern::Table(table)) = instance.get_export("t") else { panic!("no table") };
    let Some(Extern::Global(global)) = instance.get_export("g") else { panic!("no global") };
    // Far from the small numbers stack words often are, which a conservative scan
    // would take for host values.
    const BASE: u64 = 3_000_000;
    table.set(1, Val::ExternRef(Some(BASE + 3))).expect("set");
    global.set(Val::ExternRef(Some(BASE + 64))).expect("set");
    instance.call("box", &[Val::ExternRef(Some(BASE + 130))]).expect("box");
    table.set(2, Val::ExternRef(Some(BASE + 1000))).expect("set");
    let live = store.live_host_values(BASE + 200).expect("the collection ran");
    for held in [3, 64, 130] {
        assert!(live.contains(BASE + held), "BASE + {held} is held");
    }
    for never in [0, 2, 4, 63, 65, 129, 131, 199] {
        assert!(!live.contains(BASE + never), "BASE + {never} was never held");
    }
    for at_or_above_bound in [BASE + 200, BASE + 1000, BASE + 1001, u64::MAX] {
        assert!(live.contains(at_or_above_bound), "{at_or_above_bound} is not looked for");
    }
}

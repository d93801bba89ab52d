//! GC: structs, arrays, `i31` and casts. The wasm-3.0 scripts of the proposal run in
//! the spec suite; these tests cover what they do not: every field and element size in
//! each operand form, the words a cast must never dereference (i31 numbers and host
//! values in an `anyref`), objects crossing to the embedder and between stores, and
//! the heap's limit and chunks.

use sidewinder_engine::{
    AnyRef, Config, Engine, Extern, Global, GlobalType, HeapType, Instance, ObjectKind, RefType, Store,
    TrapCode, Val, ValType,
};

const ANYREF: ValType = ValType::ANYREF;

#[allow(dead_code)] // the verdict helpers are for the tests that compare verdicts
mod support;
use support::{assert_trap, compile, in_both_bounds_modes, instantiate, integer_result};

fn object(v: &Val) -> sidewinder_engine::GcObject {
    match v {
        Val::AnyRef(Some(AnyRef::Object(o))) => o.clone(),
        other => panic!("not an object: {other:?}"),
    }
}

#[test]
fn struct_fields_of_every_storage_type() {
    in_both_bounds_modes(
        r#"(module
          (type $s (struct (field $a (mut i8)) (field $b (mut i16)) (field $c (mut i32))
                           (field $d (mut i64)) (field $e (mut f32)) (field $f (mut f64))
                           (field $g (mut eqref)) (field $h i8)))
          (global $keep (mut (ref null $s)) (ref.null $s))
          (func $make (result (ref $s))
            (struct.new $s (i32.const 0x1ff) (i32.const 0x1ffff) (i32.const -5) (i64.const -6)
                           (f32.const 1.5) (f64.const -2.5) (ref.i31 (i32.const 9)) (i32.const 0x80)))
          (func (export "packed") (result i32)
            (local $o (ref $s))
            (local.set $o (call $make))
            ;; 0xff sign-extends to -1, 0xffff to -1; unsigned they are 255 and 65535.
            (i32.add
              (i32.add (struct.get_s $s $a (local.get $o)) (struct.get_s $s $b (local.get $o)))
              (i32.add (struct.get_u $s $a (local.get $o))
                       (i32.add (struct.get_u $s $b (local.get $o)) (struct.get_s $s $h (local.get $o))))))
          (func (export "wide") (result f64)
            (local $o (ref $s))
            (local.set $o (call $make))
            (f64.add
              (f64.add (f64.convert_i32_s (struct.get $s $c (local.get $o)))
                       (f64.convert_i64_s (struct.get $s $d (local.get $o))))
              (f64.add (f64.promote_f32 (struct.get $s $e (local.get $o))) (struct.get $s $f (local.get $o)))))
          (func (export "set") (param i32 i64 f32 f64) (result i64)
            (local $o (ref $s))
            (local.set $o (call $make))
            (struct.set $s $a (local.get $o) (local.get 0))
            (struct.set $s $b (local.get $o) (i32.add (local.get 0) (i32.const 1)))
            (struct.set $s $c (local.get $o) (local.get 0))
            (struct.set $s $d (local.get $o) (local.get 1))
            (struct.set $s $e (local.get $o) (local.get 2))
            (struct.set $s $f (local.get $o) (local.get 3))
            (struct.set $s $g (local.get $o) (local.get $o))
            (global.set $keep (local.get $o))
            ;; Each field kept its own bytes: the neighbours of a narrow write are intact.
            (i64.add
              (i64.add (i64.extend_i32_u (struct.get_u $s $a (local.get $o)))
                       (i64.extend_i32_u (struct.get_u $s $b (local.get $o))))
              (i64.add (i64.extend_i32_s (struct.get $s $c (local.get $o)))
                       (i64.add (struct.get $s $d (local.get $o))
                                (i64.add (i64.trunc_f32_s (struct.get $s $e (local.get $o)))
                                         (i64.trunc_f64_s (struct.get $s $f (local.get $o))))))))
          (func (export "self") (result i32)
            (ref.eq (struct.get $s $g (global.get $keep)) (global.get $keep)))
          (func (export "null_get") (result i32) (struct.get $s $c (ref.null $s)))
          (func (export "null_set") (struct.set $s $c (global.get $keep) (i32.const 1))))"#,
        |i| {
            assert_eq!(integer_result(i, "packed", &[]), -1 - 1 + 255 + 65535 - 128);
            let wide = i.call("wide", &[]).unwrap();
            assert!(matches!(wide[0], Val::F64(b) if f64::from_bits(b) == -5.0 - 6.0 + 1.5 - 2.5));
            assert_trap(i, "null_set", &[], TrapCode::NullStructReference);
            let args =
                [Val::I32(0x1234), Val::I64(1 << 40), Val::F32(3.0f32.to_bits()), Val::F64(4.0f64.to_bits())];
            assert_eq!(integer_result(i, "set", &args), 0x34 + 0x1235 + 0x1234 + (1 << 40) + 3 + 4);
            assert_eq!(integer_result(i, "self", &[]), 1);
            assert_trap(i, "null_get", &[], TrapCode::NullStructReference);
        },
    );
}

#[test]
fn arrays_of_every_element_size() {
    in_both_bounds_modes(
        r#"(module
          (type $a8 (array (mut i8)))
          (type $a16 (array (mut i16)))
          (type $a32 (array (mut i32)))
          (type $a64 (array (mut i64)))
          (type $av (array (mut v128)))
          (type $ar (array (mut anyref)))
          (data $bytes "\01\02\03\04\05\06\07\08")
          (func (export "sizes") (param $n i32) (result i32)
            (i32.add
              (i32.add (array.len (array.new_default $a8 (local.get $n)))
                       (array.len (array.new $a16 (i32.const 7) (local.get $n))))
              (i32.add (array.len (array.new_fixed $a64 3 (i64.const 1) (i64.const 2) (i64.const 3)))
                       (array.len (array.new_default $av (local.get $n))))))
          (func (export "last") (param $n i32) (result i64)
            (local $b (ref $a8)) (local $h (ref $a16)) (local $w (ref $a32)) (local $q (ref $a64))
            (local $v (ref $av))
            (local.set $b (array.new $a8 (i32.const -1) (local.get $n)))
            (local.set $h (array.new $a16 (i32.const -2) (local.get $n)))
            (local.set $w (array.new $a32 (i32.const -3) (local.get $n)))
            (local.set $q (array.new $a64 (i64.const -4) (local.get $n)))
            (local.set $v (array.new $av (v128.const i64x2 5 6) (local.get $n)))
            (array.set $a8 (local.get $b) (i32.sub (local.get $n) (i32.const 1)) (i32.const 0x7f))
            (array.set $a64 (local.get $q) (i32.sub (local.get $n) (i32.const 1)) (i64.const 1000))
            (array.set $av (local.get $v) (i32.const 0) (v128.const i64x2 7 8))
            (i64.add
              (i64.add
                (i64.extend_i32_s (array.get_s $a8 (local.get $b) (i32.sub (local.get $n) (i32.const 1))))
                (i64.extend_i32_s (array.get_s $a8 (local.get $b) (i32.const 0))))
              (i64.add
                (i64.add (i64.extend_i32_u (array.get_u $a16 (local.get $h) (i32.const 0)))
                         (i64.extend_i32_s (array.get $a32 (local.get $w) (i32.sub (local.get $n) (i32.const 1)))))
                (i64.add (array.get $a64 (local.get $q) (i32.sub (local.get $n) (i32.const 1)))
                         (i64.add (i64x2.extract_lane 1 (array.get $av (local.get $v) (i32.const 0)))
                                  (i64x2.extract_lane 0 (array.get $av (local.get $v) (i32.sub (local.get $n) (i32.const 1)))))))))
          (func (export "get_at") (param $n i32) (param $i i32) (result i32)
            (array.get $a32 (array.new_default $a32 (local.get $n)) (local.get $i)))
          (func (export "set_at") (param $n i32) (param $i i32)
            (array.set $av (array.new_default $av (local.get $n)) (local.get $i) (v128.const i64x2 0 0)))
          (func (export "bulk") (result i32)
            (local $x (ref $a16))
            (local.set $x (array.new_data $a16 $bytes (i32.const 0) (i32.const 4)))
            ;; Overlapping copy within one array, then a fill.
            (array.copy $a16 $a16 (local.get $x) (i32.const 1) (local.get $x) (i32.const 0) (i32.const 3))
            (array.fill $a16 (local.get $x) (i32.const 0) (i32.const 9) (i32.const 1))
            (i32.add (i32.mul (array.get_u $a16 (local.get $x) (i32.const 0)) (i32.const 0x10000))
                     (array.get_u $a16 (local.get $x) (i32.const 3))))
          (func (export "null_len") (result i32) (array.len (ref.null $a8)))
          (func (export "copy_past_end") (param $n i32)
            (array.copy $ar $ar (array.new_default $ar (i32.const 4)) (i32.const 2)
                                 (array.new_default $ar (i32.const 4)) (i32.const 0) (local.get $n))))"#,
        |i| {
            assert_eq!(integer_result(i, "sizes", &[Val::I32(5)]), 5 + 5 + 3 + 5);
            // 0x7f; -1 (0xff sign-extended); 0xfffe; -3; 1000; 8 (lane 1 of element 0); 5.
            assert_eq!(integer_result(i, "last", &[Val::I32(3)]), 0x7f - 1 + 0xfffe - 3 + 1000 + 8 + 5);
            assert_eq!(integer_result(i, "get_at", &[Val::I32(4), Val::I32(3)]), 0);
            // The index is an unsigned 32-bit number: -1 is past the end, not before it.
            for index in [4, -1, i32::MIN] {
                assert_trap(i, "get_at", &[Val::I32(4), Val::I32(index)], TrapCode::ArrayOutOfBounds);
                assert_trap(i, "set_at", &[Val::I32(4), Val::I32(index)], TrapCode::ArrayOutOfBounds);
            }
            assert_trap(i, "get_at", &[Val::I32(0), Val::I32(0)], TrapCode::ArrayOutOfBounds);
            // Little-endian pairs: 0x0201 0x0201 0x0403 0x0605, then element 0 filled with 9.
            assert_eq!(integer_result(i, "bulk", &[]), 9 * 0x10000 + 0x0605);
            assert_trap(i, "null_len", &[], TrapCode::NullArrayReference);
            i.call("copy_past_end", &[Val::I32(2)]).unwrap();
            assert_trap(i, "copy_past_end", &[Val::I32(3)], TrapCode::ArrayOutOfBounds);
        },
    );
}

/// Each kind of `anyref` word against each cast target. A host value and an i31 are
/// words that a cast to a struct or array type must not dereference.
#[test]
fn casts_tell_every_kind_apart() {
    let wat = r#"(module
      (type $s (sub (struct (field i32))))
      (type $sub (sub $s (struct (field i32) (field i64))))
      (type $a (array i8))
      (func (export "make") (param $kind i32) (param $host externref) (result anyref)
        (block $host (block $array (block $sub (block $struct (block $i31
          (br_table $i31 $struct $sub $array $host (local.get $kind)))
          (return (ref.i31 (i32.const -1))))
          (return (struct.new $s (i32.const 1))))
          (return (struct.new $sub (i32.const 1) (i64.const 2))))
          (return (array.new_default $a (i32.const 3))))
        (any.convert_extern (local.get $host)))
      (func (export "test") (param $v anyref) (result i32)
        ;; One bit per target, in this order.
        (i32.or (i32.or (i32.or (ref.test anyref (local.get $v))
                                (i32.shl (ref.test (ref any) (local.get $v)) (i32.const 1)))
                        (i32.or (i32.shl (ref.test (ref eq) (local.get $v)) (i32.const 2))
                                (i32.shl (ref.test (ref i31) (local.get $v)) (i32.const 3))))
                (i32.or (i32.or (i32.shl (ref.test (ref struct) (local.get $v)) (i32.const 4))
                                (i32.shl (ref.test (ref array) (local.get $v)) (i32.const 5)))
                        (i32.or (i32.shl (ref.test (ref $s) (local.get $v)) (i32.const 6))
                                (i32.or (i32.shl (ref.test (ref $sub) (local.get $v)) (i32.const 7))
                                        (i32.shl (ref.test nullref (local.get $v)) (i32.const 8)))))))
      (func (export "cast_struct") (param $v anyref) (result i32)
        (struct.get $s 0 (ref.cast (ref $s) (local.get $v))))
      (func (export "branch") (param $v anyref) (result i32)
        (block $is_s (result (ref $s))
          (br_on_cast $is_s anyref (ref $s) (local.get $v))
          (drop)
          (return (i32.const -1)))
        (struct.get $s 0))
      (func (export "branch_fail") (param $v anyref) (result i32)
        (block $not_array (result anyref)
          (br_on_cast_fail $not_array anyref (ref $a) (local.get $v))
          (return (array.len)))
        (drop)
        (i32.const -1)))"#;
    let (_store, i) = instantiate(wat, Config::default());
    let make =
        |kind: i32| i.call("make", &[Val::I32(kind), Val::ExternRef(Some(0x1234))]).unwrap()[0].clone();
    let null = Val::AnyRef(None);
    // bits: anyref, (ref any), eq, i31, struct, array, $s, $sub, nullref
    let cases = [
        (null.clone(), 0b1_0000_0001),
        (make(0), 0b0_0000_1111),
        (make(1), 0b0_0101_0111),
        (make(2), 0b0_1101_0111),
        (make(3), 0b0_0010_0111),
        (make(4), 0b0_0000_0011),
    ];
    for (value, bits) in &cases {
        assert_eq!(integer_result(&i, "test", std::slice::from_ref(value)), *bits, "{value:?}");
    }
    assert!(matches!(make(4), Val::ExternRef(Some(0x1234))), "a host value comes back as itself");
    assert!(matches!(make(0), Val::AnyRef(Some(AnyRef::I31(0x7fff_ffff)))));
    assert_eq!(integer_result(&i, "cast_struct", &[make(2)]), 1, "a subtype casts to its supertype");
    for kind in [0, 3, 4] {
        assert_trap(&i, "cast_struct", &[make(kind)], TrapCode::CastFailure);
        assert_eq!(integer_result(&i, "branch", &[make(kind)]), -1);
    }
    assert_trap(&i, "cast_struct", std::slice::from_ref(&null), TrapCode::CastFailure);
    assert_eq!(integer_result(&i, "branch", &[make(1)]), 1);
    assert_eq!(integer_result(&i, "branch_fail", &[make(3)]), 3);
    for kind in [0, 1, 4] {
        assert_eq!(integer_result(&i, "branch_fail", &[make(kind)]), -1);
    }
    assert_eq!(integer_result(&i, "branch_fail", &[null]), -1);
}

/// Objects cross to the embedder and back, and keep their store alive while the
/// embedder holds them; another store refuses them everywhere (as Wasmtime refuses
/// values of another store), so no store ever holds addresses into another's heap.
#[test]
fn objects_cross_to_the_embedder_but_not_to_another_store() {
    let engine = Engine::default();
    let wat = r#"(module
      (type $a (array (mut i32)))
      (type $f (func (result i32)))
      (type $s (struct (field (ref $f)) (field (mut anyref))))
      (tag $t (export "t") (param anyref))
      (global $g (export "g") (mut anyref) (ref.null any))
      (table $tab (export "tab") 1 anyref)
      (func $seven (type $f) (i32.const 7))
      (elem declare func $seven)
      (func (export "make") (param i32) (result (ref $a)) (array.new $a (local.get 0) (i32.const 70000)))
      (func (export "make_s") (result (ref $s)) (struct.new $s (ref.func $seven) (ref.null any)))
      (func (export "run_s") (param (ref $s)) (result i32) (call_ref $f (struct.get $s 0 (local.get 0))))
      (func (export "sum") (param (ref null $a)) (result i32)
        (i32.add (array.get $a (local.get 0) (i32.const 0)) (array.get $a (local.get 0) (i32.const 69999)))))"#;
    let module = compile(&engine, wat);
    let store_a = Store::new(&engine);
    let a = Instance::new(&store_a, &module, &[]).unwrap();
    let array = a.call("make", &[Val::I32(21)]).unwrap().remove(0);
    let o = object(&array);
    assert_eq!((o.kind(), o.array_len()), (ObjectKind::Array, 70000));
    assert_eq!(integer_result(&a, "sum", std::slice::from_ref(&array)), 42);

    // The handle keeps its store, and so the function a field points at, alive.
    let s = a.call("make_s", &[]).unwrap().remove(0);
    let run_s = a.get_export("run_s").unwrap();
    drop((a, store_a));
    let Extern::Func(run_s) = run_s else { panic!("no function") };
    assert!(matches!(run_s.call(std::slice::from_ref(&s)).unwrap()[..], [Val::I32(7)]));

    let store_b = Store::new(&engine);
    let b = Instance::new(&store_b, &module, &[]).unwrap();
    assert!(b.call("sum", std::slice::from_ref(&array)).is_err(), "an argument");
    let Some(Extern::Global(g)) = b.get_export("g") else { panic!("no global") };
    assert!(g.set(array.clone()).is_err(), "a global");
    let Some(Extern::Table(t)) = b.get_export("tab") else { panic!("no table") };
    assert!(t.set(0, array.clone()).is_err(), "a table");
    assert!(t.grow(1, array.clone()).is_none(), "a table's growth");
    let mine = object(&b.call("make_s", &[]).unwrap()[0]);
    assert!(mine.set(1, array.clone()).is_err(), "a field");
    let Some(Extern::Tag(tag)) = b.get_export("t") else { panic!("no tag") };
    assert!(
        sidewinder_engine::Exception::new(&store_b, &tag, std::slice::from_ref(&array)).is_err(),
        "a payload"
    );
    let any = GlobalType { content: ANYREF, mutable: true };
    assert!(Global::new(&store_b, any, array.clone()).is_err(), "a new global");
    let host = sidewinder_engine::Func::new(
        &store_b,
        sidewinder_engine::FuncType::new([], [ANYREF]),
        move |_, results| {
            results[0] = array.clone();
            Ok(())
        },
    );
    let caller = compile(
        &engine,
        r#"(module (import "h" "f" (func $f (result anyref))) (func (export "call") (result anyref) (call $f)))"#,
    );
    let caller = Instance::new(&store_b, &caller, &[Extern::Func(host)]).unwrap();
    assert!(caller.call("call", &[]).is_err(), "a host function's result, into wasm");

    // Nor do another store's functions, tables and globals, which would hand its
    // objects over.
    let importer = compile(&engine, r#"(module (import "a" "g" (global (mut anyref))))"#);
    let store_c = Store::new(&engine);
    let g_of_c =
        Global::new(&store_c, GlobalType { content: ANYREF, mutable: true }, Val::AnyRef(None)).unwrap();
    assert!(matches!(
        Instance::new(&store_b, &importer, &[Extern::Global(g_of_c.clone())]),
        Err(sidewinder_engine::Error::Link(_))
    ));
    assert!(Instance::new(&store_c, &importer, &[Extern::Global(g_of_c)]).is_ok());

    // A host value is no array: the embedder cannot forge one.
    assert!(b.call("sum", &[Val::ExternRef(Some(5))]).is_err());
    assert!(b.call("sum", &[Val::AnyRef(Some(AnyRef::I31(5)))]).is_err());
    let ty = GlobalType { content: ValType::Ref(RefType::new(false, HeapType::Struct)), mutable: false };
    let arr = b.call("make", &[Val::I32(1)]).unwrap().remove(0);
    assert!(Global::new(&store_b, ty, arr).is_err(), "an array is no struct");
}

#[test]
fn the_heap_limit_traps_and_the_store_stays_usable() {
    let config = Config { gc_heap_limit: 1 << 20, ..Config::default() };
    let (store, i) = instantiate(
        r#"(module
          (type $a (array (mut i64)))
          (type $s (struct (field i64)))
          (type $node (struct (field (ref null $node))))
          (func (export "array") (param i32) (result i32) (array.len (array.new_default $a (local.get 0))))
          (func (export "structs") (param $n i32)
            (loop $l
              (drop (struct.new $s (i64.const 1)))
              (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
          (func (export "list") (param $n i32) (result i32)
            (local $list (ref null $node))
            (loop $l
              (local.set $list (struct.new $node (local.get $list)))
              (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
            (ref.is_null (local.get $list))))"#,
        config,
    );
    assert_trap(&i, "array", &[Val::I32(-1)], TrapCode::AllocationTooLarge);
    assert_trap(&i, "array", &[Val::I32(1 << 17)], TrapCode::AllocationTooLarge);
    assert_eq!(integer_result(&i, "array", &[Val::I32(1000)]), 1000);
    // 24-byte structs, a megabyte's worth 30 times over: garbage, collected.
    i.call("structs", &[Val::I32(1_300_000)]).unwrap();
    assert!(store.gc_stats().collections > 0, "{:?}", store.gc_stats());
    assert!(store.gc_stats().mapped_bytes <= 1 << 20);
    // 24-byte list nodes, all alive: about 43,000 fit the megabyte.
    assert_eq!(integer_result(&i, "list", &[Val::I32(20_000)]), 0);
    assert_trap(&i, "list", &[Val::I32(100_000)], TrapCode::AllocationTooLarge);
    // The trapped call's list is garbage now.
    assert_eq!(integer_result(&i, "array", &[Val::I32(1000)]), 1000);
    assert_eq!(integer_result(&i, "list", &[Val::I32(20_000)]), 0);
}

/// A linked list of many small objects spans many chunks, with large arrays (chunks of
/// their own) allocated in between: every link must still hold.
#[test]
fn objects_span_chunks() {
    let (_store, i) = instantiate(
        r#"(module
          (type $node (struct (field $next (ref null $node)) (field $value i32) (field $big anyref)))
          (type $bytes (array i8))
          (func (export "build_and_sum") (param $n i32) (result i64)
            (local $list (ref null $node)) (local $k i32) (local $sum i64)
            (loop $build
              (local.set $list (struct.new $node (local.get $list) (local.get $k)
                (if (result anyref) (i32.eqz (i32.rem_u (local.get $k) (i32.const 10000)))
                  (then (array.new_default $bytes (i32.const 300000)))
                  (else (ref.null none)))))
              (br_if $build (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 1))) (local.get $n))))
            (block $done
              (loop $walk
                (br_if $done (ref.is_null (local.get $list)))
                (local.set $sum (i64.add (local.get $sum)
                  (i64.extend_i32_u (struct.get $node $value (local.get $list)))))
                (if (i32.eqz (ref.is_null (struct.get $node $big (local.get $list))))
                  (then (local.set $sum (i64.add (local.get $sum) (i64.extend_i32_u
                    (array.len (ref.cast (ref $bytes) (struct.get $node $big (local.get $list)))))))))
                (local.set $list (struct.get $node $next (local.get $list)))
                (br $walk)))
            (local.get $sum)))"#,
        Config::default(),
    );
    let n: i64 = 200_000;
    assert_eq!(integer_result(&i, "build_and_sum", &[Val::I32(n as i32)]), n * (n - 1) / 2 + 20 * 300_000);
}

#[test]
fn i31_values_wrap_to_31_bits() {
    let (_store, i) = instantiate(
        r#"(module
          (func (export "s") (param i32) (result i32) (i31.get_s (ref.i31 (local.get 0))))
          (func (export "u") (param i32) (result i32) (i31.get_u (ref.i31 (local.get 0))))
          (func (export "const_s") (result i32) (i31.get_s (ref.i31 (i32.const 0x40000000))))
          (func (export "id") (param i31ref) (result i31ref) (local.get 0))
          (func (export "null") (result i32) (i31.get_u (ref.null i31))))"#,
        Config::default(),
    );
    for (x, s, u) in [(0, 0, 0), (1, 1, 1), (-1, -1, 0x7fff_ffff), (0x4000_0000, -0x4000_0000, 0x4000_0000)] {
        assert_eq!(integer_result(&i, "s", &[Val::I32(x)]), s, "get_s {x}");
        assert_eq!(integer_result(&i, "u", &[Val::I32(x)]), u, "get_u {x}");
    }
    assert_eq!(integer_result(&i, "u", &[Val::I32(i32::MIN)]), 0, "bit 31 is dropped");
    assert_eq!(integer_result(&i, "const_s", &[]), -0x4000_0000);
    let back = i.call("id", &[Val::AnyRef(Some(AnyRef::I31(0x7fff_fffe)))]).unwrap();
    assert!(matches!(back[0], Val::AnyRef(Some(AnyRef::I31(0x7fff_fffe)))));
    assert!(i.call("id", &[Val::ExternRef(Some(1))]).is_err(), "a host value is no i31");
    assert_trap(&i, "null", &[], TrapCode::NullI31Reference);
}

/// The embedder reads and writes fields and elements through `GcObject`, with the
/// field's type and mutability checked; `FuncType::new_array` is the same type as a
/// module's own `(type (array ...))`.
#[test]
fn the_embedder_reads_and_writes_fields() {
    let (_store, i) = instantiate(
        r#"(module
          (type $s (struct (field i32) (field (mut i8)) (field (mut anyref))))
          (type $a (array (mut i16)))
          (func (export "s") (result (ref $s)) (struct.new $s (i32.const 5) (i32.const -1) (ref.null any)))
          (func (export "a") (result (ref $a)) (array.new $a (i32.const 0x1234) (i32.const 3)))
          (func (export "field2") (param (ref $s)) (result anyref) (struct.get $s 2 (local.get 0)))
          (func (export "sum") (param (ref $a)) (result i32)
            (i32.add (array.get_u $a (local.get 0) (i32.const 0)) (array.get_u $a (local.get 0) (i32.const 2)))))"#,
        Config::default(),
    );
    let s = object(&i.call("s", &[]).unwrap()[0]);
    assert!(matches!(s.get(0), Some(Val::I32(5))));
    assert!(matches!(s.get(1), Some(Val::I32(0xff))), "packed fields read zero-extended");
    assert!(s.get(3).is_none());
    assert!(s.set(0, Val::I32(1)).is_err(), "field 0 is immutable");
    assert!(s.set(1, Val::I64(1)).is_err(), "an i8 field takes i32s");
    s.set(1, Val::I32(0x1_2345)).unwrap();
    assert!(matches!(s.get(1), Some(Val::I32(0x45))), "the low 8 bits");
    s.set(2, Val::AnyRef(Some(AnyRef::I31(9)))).unwrap();
    let back = i.call("field2", &[Val::AnyRef(Some(AnyRef::Object(s.clone())))]).unwrap();
    assert!(matches!(back[0], Val::AnyRef(Some(AnyRef::I31(9)))));

    let a = object(&i.call("a", &[]).unwrap()[0]);
    let ty = sidewinder_engine::FuncType::new_array(sidewinder_engine::FieldType {
        storage: sidewinder_engine::StorageType::I16,
        mutable: true,
    });
    assert_eq!(a.ty(), Some(ty.clone()), "the host's array type is the module's");
    assert!(a.is_instance_of(ty.type_id()));
    a.set_range(1, &[Val::I32(7), Val::I32(8)]).unwrap();
    assert!(a.set_range(2, &[Val::I32(1), Val::I32(1)]).is_err(), "past the end");
    assert!(matches!(a.get(2), Some(Val::I32(8))), "a failed write writes nothing");
    assert_eq!(integer_result(&i, "sum", &[Val::AnyRef(Some(AnyRef::Object(a)))]), 0x1234 + 8);
}

/// Values live in registers across allocations that run out of chunk (the GC
/// allocation stub then runs): the stub must give every register back as it was.
#[test]
fn registers_survive_the_allocation_stub() {
    let (_store, i) = instantiate(
        r#"(module
          (type $s (struct (field i64) (field f64)))
          (func (export "run") (param $n i32) (param $x i64) (param $y f64) (result f64)
            (local $a i64) (local $b i64) (local $c i64) (local $d i64)
            (local $e f64) (local $f f64) (local $g f64) (local $h f64) (local $last (ref null $s))
            (local.set $a (i64.add (local.get $x) (i64.const 1)))
            (local.set $b (i64.mul (local.get $x) (i64.const 3)))
            (local.set $c (i64.xor (local.get $x) (i64.const 0x5555)))
            (local.set $d (i64.sub (i64.const 0) (local.get $x)))
            (local.set $e (f64.add (local.get $y) (f64.const 0.5)))
            (local.set $f (f64.mul (local.get $y) (f64.const 3)))
            (local.set $g (f64.sub (f64.const 0) (local.get $y)))
            (local.set $h (f64.sqrt (local.get $y)))
            (loop $l
              ;; 24-byte structs, 100,000 of them: many chunk refills.
              (local.set $last (struct.new $s
                (i64.add (local.get $a) (i64.add (local.get $b) (i64.add (local.get $c) (local.get $d))))
                (f64.add (local.get $e) (f64.add (local.get $f) (f64.add (local.get $g) (local.get $h))))))
              (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
            (f64.add (f64.convert_i64_s (struct.get $s 0 (local.get $last))) (struct.get $s 1 (local.get $last)))))"#,
        Config::default(),
    );
    let (x, y) = (1000i64, 16.0f64);
    let ints = (x + 1) + x * 3 + (x ^ 0x5555) - x;
    let floats = (y + 0.5) + (y * 3.0 + (-y + y.sqrt()));
    let got = i.call("run", &[Val::I32(100_000), Val::I64(x), Val::F64(y.to_bits())]).unwrap();
    assert!(matches!(got[0], Val::F64(b) if f64::from_bits(b) == ints as f64 + floats), "{got:?}");
}

/// `array.new_default` of a constant length allocates in line up to 4 KiB of elements
/// (then through the helper): zero elements, the right length and element size,
/// across chunk refills.
#[test]
fn constant_length_default_arrays() {
    let (_store, i) = instantiate(
        r#"(module
          (type $b (array (mut i8)))
          (type $q (array (mut i64)))
          (func (export "run") (param $n i32) (result i64)
            (local $x (ref null $q)) (local $sum i64)
            (loop $l
              (local.set $x (array.new_default $q (i32.const 300)))
              (array.set $q (local.get $x) (i32.const 299) (i64.extend_i32_u (local.get $n)))
              (local.set $sum (i64.add (local.get $sum)
                (i64.add (array.get $q (local.get $x) (i32.const 299)) (array.get $q (local.get $x) (i32.const 0)))))
              (local.set $sum (i64.add (local.get $sum) (i64.extend_i32_u (array.len (local.get $x)))))
              (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
            (i64.add (local.get $sum)
              (i64.add (i64.extend_i32_u (array.len (array.new_default $b (i32.const 0))))
                       (i64.extend_i32_u (array.len (array.new_default $b (i32.const 100000)))))))
          (func (export "past_end") (result i32) (array.get_u $b (array.new_default $b (i32.const 7)) (i32.const 7))))"#,
        Config::default(),
    );
    // 2,000 arrays of 2,416 bytes: several chunks.
    let n: i64 = 2000;
    assert_eq!(integer_result(&i, "run", &[Val::I32(n as i32)]), n * (n + 1) / 2 + 300 * n + 100_000);
    assert_trap(&i, "past_end", &[], TrapCode::ArrayOutOfBounds);
}

/// `collections_keep_every_reachable_object`'s module.
const ROOTS_MODULE: &str = r#"(module
          (type $box (struct (field i32)))
          (type $node (struct (field $next (ref null $node)) (field $value i32)))
          (type $boxes (array (mut (ref null $box))))
          (type $pair (struct (field (ref $box)) (field (ref $box))))
          (import "host" "collect" (func $collect (param (ref $box)) (result i32)))
          ;; Overwrites the stack below its caller's frame, then collects: only the roots
          ;; under test keep what stale stack words no longer do. The garbage after it
          ;; reuses what the collection freed.
          (import "host" "scrub" (func $scrub))
          (tag $thrown (param (ref $box)))
          (global $g (mut anyref) (ref.null any))
          (table $t 2 anyref)
          (table $x 1 externref)
          (elem $seg (ref $box) (item (struct.new $box (i32.const 77))) (item (struct.new $box (i32.const 78))))
          (func $garbage (param $n i32)
            (loop $l
              (drop (struct.new $box (local.get $n)))
              (drop (array.new $boxes (ref.null $box) (i32.const 100)))
              (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
          (func (export "garbage") (param i32) (call $garbage (local.get 0)))
          (func $get (param anyref) (result i32) (struct.get $box 0 (ref.cast (ref $box) (local.get 0))))
          (func (export "list") (param $n i32) (result i32)
            (local $list (ref null $node)) (local $k i32) (local $sum i32)
            (loop $build
              (local.set $list (struct.new $node (local.get $list) (local.get $k)))
              (call $garbage (i32.const 3))
              (br_if $build (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 1))) (local.get $n))))
            (block $done (loop $walk
              (br_if $done (ref.is_null (local.get $list)))
              (local.set $sum (i32.add (local.get $sum) (struct.get $node $value (local.get $list))))
              (local.set $list (struct.get $node $next (local.get $list)))
              (br $walk)))
            (local.get $sum))
          (func (export "operands") (result i32)
            (local $p (ref $pair))
            ;; The first box is an operand while the second and the pair are allocated.
            (local.set $p (struct.new $pair (struct.new $box (i32.const 5)) (struct.new $box (i32.const 6))))
            (call $garbage (i32.const 10))
            (i32.add (struct.get $box 0 (struct.get $pair 0 (local.get $p)))
                     (struct.get $box 0 (struct.get $pair 1 (local.get $p)))))
          (func (export "host_argument") (result i32)
            (local $b (ref $box))
            (local.set $b (struct.new $box (i32.const 40)))
            (i32.add (call $collect (local.get $b)) (struct.get $box 0 (local.get $b))))
          (func (export "stored") (result i32)
            (global.set $g (struct.new $box (i32.const 1)))
            (table.set $t (i32.const 1) (struct.new $box (i32.const 2)))
            (table.set $x (i32.const 0) (extern.convert_any (struct.new $box (i32.const 3))))
            (call $garbage (i32.const 10))
            (i32.add (call $get (global.get $g))
              (i32.add (call $get (table.get $t (i32.const 1)))
                       (call $get (any.convert_extern (table.get $x (i32.const 0)))))))
          (func $throw_box (param i32) (throw $thrown (struct.new $box (local.get 0))))
          (func $catch (result exnref)
            (block $h (result exnref)
              (try_table (catch_all_ref $h) (call $throw_box (i32.const 9)))
              (unreachable)))
          (func (export "exception") (result i32)
            (local $caught exnref)
            (local.set $caught (call $catch))
            (call $scrub)
            (call $garbage (i32.const 10))
            (struct.get $box 0
              (block $again (result (ref $box))
                (try_table (catch $thrown $again) (throw_ref (local.get $caught)))
                (unreachable))))
          (func (export "segment") (result i32)
            (local $a (ref $boxes))
            (call $garbage (i32.const 10))
            (local.set $a (array.new_elem $boxes $seg (i32.const 0) (i32.const 2)))
            (call $garbage (i32.const 10))
            (i32.add (struct.get $box 0 (array.get $boxes (local.get $a) (i32.const 0)))
                     (struct.get $box 0 (array.get $boxes (local.get $a) (i32.const 1)))))
          (func $fill (param $a (ref $boxes)) (local $k i32)
            (loop $l
              (array.set $boxes (local.get $a) (local.get $k) (struct.new $box (local.get $k)))
              (br_if $l (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 1))) (i32.const 8)))))
          (func (export "elements") (result i32)
            (local $a (ref $boxes)) (local $k i32) (local $sum i32)
            (local.set $a (array.new_default $boxes (i32.const 8)))
            (call $fill (local.get $a))
            (call $scrub)
            (call $garbage (i32.const 10))
            (loop $l
              (local.set $sum (i32.add (local.get $sum)
                (struct.get $box 0 (array.get $boxes (local.get $a) (local.get $k)))))
              (br_if $l (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 1))) (i32.const 8))))
            (local.get $sum))
          (func (export "make") (result anyref) (struct.new $box (i32.const 123))))"#;

/// With a collection at every allocation compiled code cannot make in line, every kind
/// of root keeps its objects: locals and operands of running code (in registers and
/// frames), a host function's arguments, globals, tables (an `externref` one holding a
/// converted struct), a caught exception's payload, a passive element segment, the
/// embedder's handles, and fields of objects kept so. Garbage is freed: the heap stays
/// small while many times its size is allocated.
#[test]
fn collections_keep_every_reachable_object() {
    let config = Config { gc_collect_after: 0, gc_heap_limit: 4 << 20, ..Config::default() };
    let engine = Engine::new(config).unwrap();
    let store = Store::new(&engine);
    let module = compile(&engine, ROOTS_MODULE);
    let collector = store.clone();
    let collect = sidewinder_engine::Func::new(&store, module_import_type(&module), move |args, results| {
        assert!(collector.gc(), "the collector runs in a host function");
        let value = object(&args[0]).get(0).unwrap();
        results[0] = value;
        Ok(())
    });
    let i = Instance::new(&store, &module, &[Extern::Func(collect), scrub_and_collect(&store)]).unwrap();
    let before = store.gc_stats().collections;
    assert_eq!(integer_result(&i, "list", &[Val::I32(300)]), (0..300).sum::<i64>());
    assert_eq!(integer_result(&i, "operands", &[]), 11);
    assert_eq!(integer_result(&i, "host_argument", &[]), 80);
    assert_eq!(integer_result(&i, "stored", &[]), 6);
    assert_eq!(integer_result(&i, "exception", &[]), 9);
    assert_eq!(integer_result(&i, "segment", &[]), 155);
    assert_eq!(integer_result(&i, "elements", &[]), 28);
    // Handles on the heap, where only their count keeps their objects.
    let held: Vec<_> = (0..4).map(|_| object(&i.call("make", &[]).unwrap()[0])).collect();
    i.call("garbage", &[Val::I32(10)]).unwrap();
    scrub_stack();
    assert!(store.gc());
    assert!(held.iter().all(|o| matches!(o.get(0), Some(Val::I32(123)))));
    assert!(store.gc_stats().collections > before + 1000, "{:?}", store.gc_stats());

    // Outside the test mode: about 60 MB of garbage through a 4 MiB heap that collects
    // after 1 MiB, while the objects above stay.
    let config = Config { gc_collect_after: 1 << 20, gc_heap_limit: 4 << 20, ..Config::default() };
    let engine = Engine::new(config).unwrap();
    let store = Store::new(&engine);
    let module = compile(&engine, ROOTS_MODULE);
    let collect = sidewinder_engine::Func::new(&store, module_import_type(&module), |args, results| {
        results[0] = object(&args[0]).get(0).unwrap();
        Ok(())
    });
    let i = Instance::new(&store, &module, &[Extern::Func(collect), scrub_and_collect(&store)]).unwrap();
    assert_eq!(integer_result(&i, "stored", &[]), 6);
    let held = object(&i.call("make", &[]).unwrap()[0]);
    i.call("garbage", &[Val::I32(70_000)]).unwrap();
    let stats = store.gc_stats();
    // A collection per megabyte or so, not one each time the bump pointer refills.
    assert!((10..=200).contains(&stats.collections) && stats.mapped_bytes <= 2 << 20, "{stats:?}");
    assert!(matches!(held.get(0), Some(Val::I32(123))));
    assert_eq!(integer_result(&i, "stored", &[]), 6);
    assert_eq!(integer_result(&i, "list", &[Val::I32(3000)]), (0..3000).sum::<i64>());
}

/// Overwrites 64 KiB of the stack below the caller's frame.
#[inline(never)]
fn scrub_stack() {
    std::hint::black_box([0u64; 8192]);
}

/// `ROOTS_MODULE`'s `scrub`: overwrites the stack below wasm's frames, then collects.
fn scrub_and_collect(store: &Store) -> Extern {
    let collector = store.clone();
    let ty = sidewinder_engine::FuncType::new([], []);
    Extern::Func(sidewinder_engine::Func::new(store, ty, move |_, _| {
        scrub_stack();
        assert!(collector.gc(), "the collector runs in a host function");
        Ok(())
    }))
}

/// The type of `module`'s first import, a function.
fn module_import_type(module: &sidewinder_engine::Module) -> sidewinder_engine::FuncType {
    match &module.imports()[0].ty {
        sidewinder_engine::ExternType::Func(ty) => ty.clone(),
        other => panic!("{other:?}"),
    }
}

/// A large object's chunk (bigger than 1 MiB here) holds nothing else, even after
/// collections free the space around it: objects must start in the first megabyte of
/// their chunk, where their store and their chunk are found.
#[test]
fn large_objects_keep_their_chunks_to_themselves() {
    let config = Config { gc_collect_after: 0, ..Config::default() };
    let (_store, i) = instantiate(
        r#"(module
          (type $bytes (array (mut i8)))
          (type $node (struct (field $next (ref null $node)) (field $value i32)))
          (global $big (mut (ref null $bytes)) (ref.null $bytes))
          (func (export "run") (param $n i32) (result i32)
            (local $list (ref null $node)) (local $k i32) (local $sum i32)
            ;; 2 MiB + 32 bytes of array: a chunk of its own with a 4,064-byte tail.
            (global.set $big (array.new_default $bytes (i32.const 2097152)))
            (array.set $bytes (global.get $big) (i32.const 2097151) (i32.const 7))
            (loop $build
              (local.set $list (struct.new $node (local.get $list) (local.get $k)))
              (br_if $build (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 1))) (local.get $n))))
            (block $done (loop $walk
              (br_if $done (ref.is_null (local.get $list)))
              (local.set $sum (i32.add (local.get $sum) (struct.get $node $value (local.get $list))))
              (local.set $list (struct.get $node $next (local.get $list)))
              (br $walk)))
            (i32.add (local.get $sum) (array.get_u $bytes (global.get $big) (i32.const 2097151)))))"#,
        config,
    );
    assert_eq!(integer_result(&i, "run", &[Val::I32(2000)]), (0..2000).sum::<i64>() + 7);
}

/// A few survivors in every chunk do not make the heap grow: the next collection's
/// threshold counts surviving objects, not the chunks they keep. 160 MB of garbage,
/// with one object in a thousand kept in a list, runs in the default 16 MiB.
#[test]
fn scattered_survivors_do_not_grow_the_heap() {
    let (store, i) = instantiate(
        r#"(module
          (type $node (struct (field $next (ref null $node)) (field $v i64)))
          (func (export "churn") (param $n i32) (result i64)
            (local $keep (ref null $node)) (local $sum i64) (local $i i32)
            (loop $l
              (drop (struct.new $node (ref.null $node) (i64.extend_i32_u (local.get $i))))
              (if (i32.eqz (i32.rem_u (local.get $i) (i32.const 1000)))
                (then (local.set $keep (struct.new $node (local.get $keep) (i64.extend_i32_u (local.get $i))))))
              (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
            (block $done (loop $w
              (br_if $done (ref.is_null (local.get $keep)))
              (local.set $sum (i64.add (local.get $sum) (struct.get $node $v (local.get $keep))))
              (local.set $keep (struct.get $node $next (local.get $keep)))
              (br $w)))
            (local.get $sum)))"#,
        Config::default(),
    );
    let n = 5_000_000i64;
    assert_eq!(
        integer_result(&i, "churn", &[Val::I32(n as i32)]),
        (0..n / 1000).map(|k| k * 1000).sum::<i64>()
    );
    let stats = store.gc_stats();
    assert!(stats.collections >= 5 && stats.mapped_bytes <= 24 << 20, "{stats:?}");
}

/// Constant expressions allocate at safepoints: instantiating into a heap full of
/// garbage collects it (without, the heap's limit is passed), and what the expressions
/// made so far, which only Rust vectors hold until the instance does (an element
/// segment's items, a struct's first field while its second is made), survives.
#[test]
fn instantiation_collects_and_keeps_what_it_made() {
    const ITEMS: usize = 400;
    let pair = |k: usize| {
        format!(
            "(struct.new $pair (array.new_fixed $arr 2 (i32.const {k}) (i32.const {k}))
                (array.new $arr (i32.const {k}) (i32.const 1000)))"
        )
    };
    let items: String = (0..ITEMS).map(|k| format!("(item {})\n", pair(k))).collect();
    let wat = format!(
        r#"(module
          (type $arr (array (mut i32)))
          (type $pair (struct (field (ref $arr)) (field (ref $arr))))
          (global $g (ref $pair) {global})
          (table $t {ITEMS} (ref null $pair))
          (elem (table $t) (i32.const 0) (ref $pair) {items})
          (elem $passive (ref $pair) {items})
          (func $good (param $p (ref null $pair)) (param $k i32) (result i32)
            (i32.and
              (i32.and
                (i32.eq (array.get $arr (struct.get $pair 0 (local.get $p)) (i32.const 1)) (local.get $k))
                (i32.eq (array.len (struct.get $pair 1 (local.get $p))) (i32.const 1000)))
              (i32.eq (array.get $arr (struct.get $pair 1 (local.get $p)) (i32.const 999)) (local.get $k))))
          ;; How many of the table's, the passive segment's (copied to the table) and the
          ;; global's pairs hold what they were made with.
          (func (export "check") (result i32) (local $k i32) (local $good i32)
            (loop $l
              (local.set $good (i32.add (local.get $good) (call $good (table.get $t (local.get $k)) (local.get $k))))
              (br_if $l (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 1))) (i32.const {ITEMS}))))
            (table.init $t $passive (i32.const 0) (i32.const 0) (i32.const {ITEMS}))
            (local.set $k (i32.const 0))
            (loop $l
              (local.set $good (i32.add (local.get $good) (call $good (table.get $t (local.get $k)) (local.get $k))))
              (br_if $l (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 1))) (i32.const {ITEMS}))))
            (i32.add (local.get $good) (call $good (global.get $g) (i32.const 9)))))"#,
        global = pair(9),
    );
    let garbage = r#"(module
      (type $node (struct (field i64) (field i64)))
      (func (export "garbage") (param $n i32)
        (loop $l
          (drop (struct.new_default $node))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))"#;
    // The test mode (a collection at each allocation), then a heap whose 1.9 MB of
    // garbage and 3.3 MB of new objects would pass its 5 MiB limit.
    for (config, garbage_objects) in [
        (Config { gc_collect_after: 0, gc_heap_limit: 8 << 20, ..Config::default() }, 1_000),
        (Config { gc_collect_after: 2 << 20, gc_heap_limit: 5 << 20, ..Config::default() }, 80_000),
    ] {
        let engine = Engine::new(config).unwrap();
        let store = Store::new(&engine);
        let filler = Instance::new(&store, &compile(&engine, garbage), &[]).unwrap();
        filler.call("garbage", &[Val::I32(garbage_objects)]).unwrap();
        let before = store.gc_stats().collections;
        let instance = Instance::new(&store, &compile(&engine, &wat), &[]).expect("instantiates");
        assert!(store.gc_stats().collections > before, "{:?}", store.gc_stats());
        assert_eq!(integer_result(&instance, "check", &[]), 2 * ITEMS as i64 + 1);
    }
}

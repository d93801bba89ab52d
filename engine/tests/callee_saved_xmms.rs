//! xmm12-14 are callee-saved between wasm functions (see `compiler::locals`): a caller's
//! pinned float locals stay in them across calls. Each test puts values there that only
//! survive if one part of the convention holds: a callee saving what it pins, the host
//! stub around a host function that clobbers them, the unwinder restoring them from the
//! frames an exception passes, a tail call restoring them before it jumps.

use sidewinder_engine::*;

fn instantiate(store: &Store, wat: &str, imports: &[Extern]) -> Instance {
    let bytes = wat::parse_str(wat).expect("valid wat");
    let module = Module::new(store.engine(), &bytes).expect("compiles");
    Instance::new(store, &module, imports).expect("instantiates")
}

fn f64_result(r: Result<Vec<Val>>) -> f64 {
    match r.expect("call")[..] {
        [Val::F64(bits)] => f64::from_bits(bits),
        ref v => panic!("unexpected results {v:?}"),
    }
}

/// Overwrites xmm12-15 the way any Rust code may, System V having no callee-saved xmm
/// registers.
fn clobber_xmm12_to_15() {
    // SAFETY: writes only the registers it declares as clobbered.
    unsafe {
        std::arch::asm!(
            "pcmpeqd xmm12, xmm12",
            "pcmpeqd xmm13, xmm13",
            "pcmpeqd xmm14, xmm14",
            "pcmpeqd xmm15, xmm15",
            out("xmm12") _,
            out("xmm13") _,
            out("xmm14") _,
            out("xmm15") _,
        );
    }
}

fn clobbering_host(store: &Store) -> Func {
    Func::new(store, FuncType::new([], []), |_, _| {
        clobber_xmm12_to_15();
        Ok(())
    })
}

/// A tag `$e` and a host function that clobbers xmm12-15, then throws `$e`: the imports
/// `host.tag` and `host.throw`, in that order.
fn throwing_host(store: &Store) -> [Extern; 2] {
    let tag = Tag::new(store, FuncType::new([], [])).expect("tag");
    let thrown = Exception::new(store, &tag, &[]).expect("exception");
    let host = Func::new(store, FuncType::new([], []), move |_, _| {
        clobber_xmm12_to_15();
        Err(Trap::throw(thrown.clone()))
    });
    [Extern::Tag(tag), Extern::Func(host)]
}

/// `outer` keeps three f64 accumulators in xmm12-14 across its calls; `$callee` (what
/// each test varies) runs in between. The result is exact in f64.
const OUTER: &str = r#"
  (func (export "outer") (param $n i32) (result f64)
    (local $s f64) (local $t f64) (local $u f64) (local $i i32)
    (loop $l
      (local.set $s (f64.add (local.get $s) (f64.const 1)))
      (call $callee (local.get $n))
      (local.set $t (f64.add (local.get $t) (f64.const 1000)))
      (local.set $u (f64.add (local.get $u) (f64.const 1000000)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))
    (f64.add (local.get $s) (f64.add (local.get $t) (local.get $u))))
  (func $nop)
"#;
const OUTER_RESULT: f64 = 3_003_003.0;

/// A float-heavy callee pins xmm12-14 itself (it calls, so it takes the callee-saved
/// ones) and must give the caller's values back.
#[test]
fn a_wasm_callee_restores_the_registers_it_pins() {
    let store = Store::new(&Engine::default());
    let wat = format!(
        r#"(module {OUTER}
          (func $callee (param $n i32) (local $a f64) (local $b f64) (local $c f64)
            (loop $l
              (local.set $a (f64.sub (local.get $a) (f64.const 0.5)))
              (local.set $b (f64.sub (local.get $b) (f64.const 7)))
              (local.set $c (f64.sub (local.get $c) (f64.const 9)))
              (call $nop)
              (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
              (br_if $l)))
          (func (export "callee_sum") (param $n i32) (result f64)
            (local $a f64) (local $b f64)
            (loop $l
              (local.set $a (f64.add (local.get $a) (f64.const 2)))
              (call $callee (local.get $n))
              (local.set $b (f64.add (local.get $b) (local.get $a)))
              (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
              (br_if $l))
            (f64.add (local.get $a) (local.get $b))))"#
    );
    let instance = instantiate(&store, &wat, &[]);
    for n in [1, 5] {
        assert_eq!(f64_result(instance.call("outer", &[Val::I32(n)])), OUTER_RESULT);
    }
    // a = 2n, b = 2 + 4 + ... + 2n = n(n + 1).
    assert_eq!(f64_result(instance.call("callee_sum", &[Val::I32(4)])), 8.0 + 20.0);
}

/// A host function that clobbers xmm12-15, called directly, through a table and by a
/// tail call from a wasm function with float pins of its own.
#[test]
fn host_functions_leave_the_callers_registers_alone() {
    let store = Store::new(&Engine::default());
    let wat = format!(
        r#"(module
          (import "host" "clobber" (func $clobber))
          (type $v (func))
          (table 1 funcref)
          (elem (i32.const 0) $clobber)
          {OUTER}
          (func $callee (param $n i32) (local $a f64)
            (loop $l
              (local.set $a (f64.add (local.get $a) (f64.const 3)))
              (call $clobber)
              (call_indirect (type $v) (i32.const 0))
              (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
              (br_if $l))
            (if (f64.ne (local.get $a) (f64.const 3)) (then (call $nop)))
            (return_call $clobber)))"#
    );
    let instance = instantiate(&store, &wat, &[Extern::Func(clobbering_host(&store))]);
    for n in [1, 4] {
        assert_eq!(f64_result(instance.call("outer", &[Val::I32(n)])), OUTER_RESULT);
    }
}

/// Runtime helpers are Rust too, called through each function's helper stub, which
/// saves xmm12-14 around them. `memory.grow` of an external memory runs the embedder's
/// grow callback, which here clobbers them (as glibc's `memmove` in `memory.copy`
/// could on another machine): directly in `$callee`, between `outer`'s pins, and in a
/// callee with float pins of its own.
#[test]
fn runtime_helpers_leave_the_callers_registers_alone() {
    // External memories need explicit bounds checks.
    let engine = Engine::new(Config { explicit_bounds_checks: true, ..Config::default() }).expect("engine");
    let mut bytes = vec![0u8; 64 << 16];
    let store = Store::new(&engine);
    let grow = |_old: u64, _new: u64| {
        clobber_xmm12_to_15();
        true
    };
    let ty = MemoryType { minimum: 1, maximum: Some(64), memory64: false, shared: false, page_size_log2: 16 };
    // SAFETY: `bytes` holds all 64 pages, zeroed, and outlives the store (dropped after it).
    let memory = unsafe { Memory::new_external(&store, ty, bytes.as_mut_ptr(), bytes.len() as u64, grow) }
        .expect("memory");
    let wat = format!(
        r#"(module
          (import "host" "memory" (memory 1 64))
          {OUTER}
          (func $callee (param $n i32) (local $a f64)
            (loop $l
              (local.set $a (f64.add (local.get $a) (f64.const 3)))
              (drop (memory.grow (i32.const 1)))
              (call $nop)
              (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
              (br_if $l))
            (if (f64.ne (local.get $a) (f64.const 3)) (then (call $nop)))))"#
    );
    let instance = instantiate(&store, &wat, &[Extern::Memory(memory.clone())]);
    for n in [1, 4] {
        assert_eq!(f64_result(instance.call("outer", &[Val::I32(n)])), OUTER_RESULT);
    }
    assert_eq!(memory.size_pages(), 1 + 3 * (1 + 4));
    drop(instance);
    drop(store);
    drop(bytes);
}

/// An exception thrown from below frames that pinned xmm12-14 lands in a frame that
/// never touches them: only the unwinder, restoring each passed frame's saved registers,
/// gives `outer` its values back. The host variant throws from a host function that
/// clobbered them first.
#[test]
fn unwinding_restores_the_registers_of_the_frames_it_passes() {
    let store = Store::new(&Engine::default());
    let wat = format!(
        r#"(module
          (import "host" "tag" (tag $e))
          (import "host" "throw" (func $host_throw))
          {OUTER}
          (func $thrower (param $n i32) (local $a f64) (local $b f64) (local $c f64)
            (loop $l
              (local.set $a (f64.sub (local.get $a) (f64.const 0.5)))
              (local.set $b (f64.sub (local.get $b) (f64.const 7)))
              (local.set $c (f64.sub (local.get $c) (f64.const 9)))
              (call $nop)
              (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
              (br_if $l))
            (if (f64.lt (f64.add (local.get $a) (local.get $b)) (f64.add (local.get $c) (f64.const 10)))
              (then (call $host_throw)))
            (throw $e))
          (func $middle (param $n i32) (local $x f64) (local $y f64) (local $z f64)
            (loop $l
              (local.set $x (f64.add (local.get $x) (f64.const 1)))
              (local.set $y (f64.add (local.get $y) (f64.const 2)))
              (local.set $z (f64.add (local.get $z) (f64.const 3)))
              (call $nop)
              (br_if $l (f64.lt (local.get $x) (f64.const 4))))
            (call $thrower (local.get $n)))
          (func $callee (param $n i32)
            (block $h
              (try_table (catch $e $h) (call $middle (local.get $n)))
              (unreachable))))"#
    );
    let instance = instantiate(&store, &wat, &throwing_host(&store));
    // a + b = -7.5n is below c + 10 = 10 - 9n for n < 6.7: the host throws for n = 1
    // and 3, wasm for n = 10.
    for n in [1, 3, 10] {
        assert_eq!(f64_result(instance.call("outer", &[Val::I32(n)])), OUTER_RESULT);
    }
}

/// When no frame between the throw and the landing saved xmm12-14, `outer`'s values are
/// the ones in the registers at the throw, which the throw stub carries through its
/// `Landing` record and the (Rust) unwinder. Thrown from wasm, and from a host function
/// that clobbered them first.
#[test]
fn a_throw_keeps_the_registers_no_frame_saved() {
    let store = Store::new(&Engine::default());
    let wat = format!(
        r#"(module
          (import "host" "tag" (tag $e))
          (import "host" "throw" (func $host_throw))
          {OUTER}
          (func $thrower (param $n i32)
            (if (i32.and (local.get $n) (i32.const 1)) (then (call $host_throw)))
            (throw $e))
          (func $callee (param $n i32)
            (block $h
              (try_table (catch $e $h) (call $thrower (local.get $n)))
              (unreachable))))"#
    );
    let instance = instantiate(&store, &wat, &throwing_host(&store));
    for n in [1, 2] {
        assert_eq!(f64_result(instance.call("outer", &[Val::I32(n)])), OUTER_RESULT);
    }
}

//! Fibers: wasm running on a stack of its own, suspending inside a host function and
//! resumed later, with the store usable in between.

use sidewinder_engine::*;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

fn module(store: &Store, wat: &str, imports: &[Extern]) -> Instance {
    let bytes = wat::parse_str(wat).expect("wat");
    let module = Module::new(store.engine(), &bytes).expect("compiles");
    Instance::new(store, &module, imports).expect("instantiates")
}

const WAT: &str = r#"(module
  (import "host" "wait" (func $wait (param i32) (result i32)))
  (memory (export "memory") 1)
  (func $deep (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (call $deep (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))))
  (func (export "run") (param i32) (result i32) (local $sum i32) (local $i i32)
    (loop $l
      (local.set $sum (i32.add (local.get $sum) (call $wait (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
    (i32.add (local.get $sum) (call $deep (i32.const 1000))))
  (func (export "recurse") (result i32) (call $deep (i32.const 100000000)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#;

#[test]
fn a_fiber_suspends_in_a_host_function_and_resumes_with_the_store_usable_between() {
    let store = Store::new(&Engine::default());
    // The host function suspends the fiber and returns what the resumer left.
    let mailbox: Rc<Cell<i32>> = Rc::new(Cell::new(0));
    let inbox = mailbox.clone();
    let wait_ty = FuncType::new([ValType::I32], [ValType::I32]);
    let wait = Func::new(&store, wait_ty, move |params, results| {
        assert!(matches!(params, [Val::I32(_)]));
        Fiber::suspend().map_err(|_| Trap::host_message("not on a fiber"))?;
        results[0] = Val::I32(inbox.get());
        Ok(())
    });
    let instance = module(&store, WAT, &[Extern::Func(wait)]);
    let Some(Extern::Func(run)) = instance.get_export("run") else { panic!() };
    let Some(Extern::Func(add)) = instance.get_export("add") else { panic!() };
    let result: Rc<RefCell<Option<Result<Vec<Val>>>>> = Rc::new(RefCell::new(None));
    let out = result.clone();
    let mut fiber =
        Fiber::new(&store, move || *out.borrow_mut() = Some(run.call(&[Val::I32(5)]))).expect("fiber");
    let mut resumes = 0;
    while !fiber.resume() {
        resumes += 1;
        // Between resumptions, the store runs other calls on the main stack, traps too.
        assert!(matches!(add.call(&[Val::I32(2), Val::I32(3)]).expect("add")[..], [Val::I32(5)]));
        assert!(matches!(instance.call("recurse", &[]), Err(Error::Trap(_))));
        mailbox.set(resumes * 10);
    }
    assert_eq!(resumes, 5);
    assert!(fiber.is_finished());
    // 10 + 20 + 30 + 40 + 50, plus the recursion's 1000.
    assert!(matches!(result.borrow_mut().take().expect("ran").expect("no trap")[..], [Val::I32(1150)]));
}

#[test]
fn a_fiber_traps_on_deep_recursion_and_a_suspended_fiber_can_be_dropped() {
    let store = Store::new(&Engine::default());
    let suspended = Rc::new(Cell::new(false));
    let flag = suspended.clone();
    let wait = Func::new(&store, FuncType::new([ValType::I32], [ValType::I32]), move |_, results| {
        flag.set(true);
        Fiber::suspend().map_err(|_| Trap::host_message("not on a fiber"))?;
        results[0] = Val::I32(0);
        Ok(())
    });
    let instance = module(&store, WAT, &[Extern::Func(wait)]);
    let Some(Extern::Func(recurse)) = instance.get_export("recurse") else { panic!() };
    let Some(Extern::Func(run)) = instance.get_export("run") else { panic!() };
    let outcome = Rc::new(RefCell::new(None));
    let out = outcome.clone();
    let mut fiber = Fiber::new(&store, move || *out.borrow_mut() = Some(recurse.call(&[]))).expect("fiber");
    assert!(fiber.resume());
    let trapped = matches!(outcome.borrow_mut().take(), Some(Err(Error::Trap(t))) if t.code() == TrapCode::StackOverflow);
    assert!(trapped);
    // Suspended forever, then dropped: the store keeps working.
    let mut abandoned = Fiber::new(&store, move || drop(run.call(&[Val::I32(1)]))).expect("fiber");
    assert!(!abandoned.resume());
    assert!(suspended.get());
    drop(abandoned);
    assert!(matches!(instance.call("add", &[Val::I32(1), Val::I32(1)]).expect("add")[..], [Val::I32(2)]));
    // Outside any fiber, suspending is refused.
    assert!(Fiber::suspend().is_err());
    assert!(!Fiber::can_suspend(&store));
}

/// Found by review: a fiber kept only a raw pointer to its store's runtime, so resuming
/// it after the last store handle was dropped touched freed memory. It keeps the store.
#[test]
fn a_fiber_keeps_its_store_alive() {
    let store = Store::new(&Engine::default());
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let mut fiber = Fiber::new(&store, move || flag.set(true)).expect("fiber");
    drop(store);
    assert!(fiber.resume());
    assert!(ran.get());
}

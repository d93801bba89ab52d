//! GC collections while fibers live: a suspended fiber's frames, and the frames below
//! a running fiber in the resume chain (the thread's stack, and fibers that resumed
//! another), keep their objects; a collection may run on a fiber.

use sidewinder_engine::{Config, Engine, Extern, Fiber, Func, FuncType, Instance, Module, Store, Trap, Val};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

const MODULE: &str = r#"(module
  (type $node (struct (field $next (ref null $node)) (field $value i32)))
  (import "host" "pause" (func $pause))
  (func $build (param $n i32) (result (ref null $node))
    (local $list (ref null $node))
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (local.set $list (struct.new $node (local.get $list) (local.get $n)))
      (br $l)))
    (local.get $list))
  (func $sum (param $list (ref null $node)) (result i32)
    (local $sum i32)
    (block $done (loop $l
      (br_if $done (ref.is_null (local.get $list)))
      (local.set $sum (i32.add (local.get $sum) (struct.get $node $value (local.get $list))))
      (local.set $list (struct.get $node $next (local.get $list)))
      (br $l)))
    (local.get $sum))
  ;; Two lists only this frame holds across the pause: one in a local, one on the
  ;; operand stack.
  (func (export "hold") (param $n i32) (result i32)
    (local $list (ref null $node))
    (local.set $list (call $build (local.get $n)))
    (i32.add
      (call $sum (block (result (ref null $node)) (call $build (local.get $n)) (call $pause)))
      (call $sum (local.get $list))))
  (func (export "garbage") (param $n i32)
    (loop $l
      (drop (struct.new $node (ref.null $node) (local.get $n)))
      (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l))))"#;

/// What `hold(n)` returns: twice 0 + 1 + ... + (n - 1).
fn held_sum(n: i32) -> i32 {
    n * (n - 1)
}

type Actions = Rc<RefCell<VecDeque<Box<dyn FnOnce()>>>>;
type Outcome = Rc<RefCell<Option<sidewinder_engine::Result<Vec<Val>>>>>;

struct Setup {
    store: Store,
    hold: Func,
    garbage: Func,
    /// What the next `pause` does; with none left, it suspends the running fiber.
    actions: Actions,
}

fn setup(config: Config) -> Setup {
    let store = Store::new(&Engine::new(config).unwrap());
    let actions: Actions = Rc::default();
    let queue = actions.clone();
    let pause = Func::new(&store, FuncType::new([], []), move |_, _| {
        let next = queue.borrow_mut().pop_front();
        match next {
            Some(action) => action(),
            None => Fiber::suspend().map_err(|_| Trap::host_message("not on a fiber"))?,
        }
        Ok(())
    });
    let module = Module::new(store.engine(), &wat::parse_str(MODULE).unwrap()).unwrap();
    let instance = Instance::new(&store, &module, &[Extern::Func(pause)]).unwrap();
    let export = |name| match instance.get_export(name) {
        Some(Extern::Func(f)) => f,
        other => panic!("{other:?}"),
    };
    Setup { hold: export("hold"), garbage: export("garbage"), store, actions }
}

/// A fiber that calls `hold(n)`, and where its outcome will be.
fn holding_fiber(s: &Setup, n: i32) -> (Fiber, Outcome) {
    let outcome: Outcome = Rc::default();
    let (out, hold) = (outcome.clone(), s.hold.clone());
    let fiber = Fiber::new(&s.store, move || *out.borrow_mut() = Some(hold.call(&[Val::I32(n)]))).unwrap();
    (fiber, outcome)
}

fn held(outcome: &Outcome) -> i32 {
    match outcome.borrow_mut().take().expect("finished").expect("no trap")[..] {
        [Val::I32(v)] => v,
        ref other => panic!("{other:?}"),
    }
}

/// Garbage enough to pass the heap limit unless collections run, then a collection
/// with the stack below overwritten, so stale words do not hide a missing root.
fn churn(s: &Setup, objects: i32) {
    s.garbage.call(&[Val::I32(objects)]).expect("collections make room");
    scrub_stack();
    assert!(s.store.gc(), "the collector runs");
}

/// Overwrites 64 KiB of the stack below the caller's frame.
#[inline(never)]
fn scrub_stack() {
    std::hint::black_box([0u64; 8192]);
}

/// The test mode (a collection at every allocation), then collections every megabyte
/// under a 2 MiB limit that 4.8 MB of garbage would pass without them.
fn modes() -> [(Config, i32); 2] {
    [
        (Config { gc_collect_after: 0, gc_heap_limit: 4 << 20, ..Config::default() }, 2_000),
        (Config { gc_collect_after: 1 << 20, gc_heap_limit: 2 << 20, ..Config::default() }, 200_000),
    ]
}

#[test]
fn suspended_fibers_keep_their_objects() {
    for (config, objects) in modes() {
        let s = setup(config);
        let mut fibers: Vec<_> = [30, 200, 1000].into_iter().map(|n| (n, holding_fiber(&s, n))).collect();
        for (_, (fiber, _)) in &mut fibers {
            assert!(!fiber.resume(), "suspends in pause");
        }
        let before = s.store.gc_stats().collections;
        churn(&s, objects);
        assert!(s.store.gc_stats().collections >= before + 2, "{:?}", s.store.gc_stats());
        for (n, (mut fiber, outcome)) in fibers {
            assert!(fiber.resume(), "finishes");
            assert_eq!(held(&outcome), held_sum(n));
        }
    }
}

#[test]
fn collections_on_a_fiber_keep_the_frames_below() {
    for (config, objects) in modes() {
        let s = setup(config);
        // Suspended throughout.
        let (mut bystander, bystander_outcome) = holding_fiber(&s, 20);
        assert!(!bystander.resume());
        // The thread's `hold(50)` pauses by resuming `outer`, whose `hold(7)` pauses by
        // resuming `inner`, which collects with both lists' frames below it.
        let (mut outer, outer_outcome) = holding_fiber(&s, 7);
        let (garbage, store) = (s.garbage.clone(), s.store.clone());
        let mut inner = Fiber::new(&s.store, move || {
            garbage.call(&[Val::I32(objects)]).expect("collections make room");
            scrub_stack();
            assert!(store.gc(), "the collector runs on a fiber");
        })
        .unwrap();
        let before = s.store.gc_stats().collections;
        s.actions.borrow_mut().push_back(Box::new(move || assert!(outer.resume(), "outer finishes")));
        s.actions.borrow_mut().push_back(Box::new(move || assert!(inner.resume(), "inner finishes")));
        let result = s.hold.call(&[Val::I32(50)]).expect("no trap");
        assert!(matches!(result[..], [Val::I32(v)] if v == held_sum(50)), "{result:?}");
        assert!(s.actions.borrow().is_empty());
        assert_eq!(held(&outer_outcome), held_sum(7));
        assert!(s.store.gc_stats().collections >= before + 2, "{:?}", s.store.gc_stats());
        // And the suspended one, after a collection on the thread's stack too.
        churn(&s, objects);
        assert!(bystander.resume());
        assert_eq!(held(&bystander_outcome), held_sum(20));
    }
}

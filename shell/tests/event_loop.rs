//! The shell's event loop (`event_loop.rs`): Boa's executor's error handling, HTML's
//! order (promise jobs before any timer and after each), and waiting for a timer
//! sleeps rather than spins.

use boa_engine::{Context, Source};
use sidewinder_shell::environment::{new_context, Options};
use sidewinder_shell::runner::drain_jobs;
use std::time::{Duration, Instant};

/// Runs `f` with a fresh shell context on a thread of its own (the CPU time measured
/// below is that thread's).
fn with_context<R: Send + 'static>(f: impl FnOnce(&mut Context) -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            let options = Options { stack_size: 64 << 20, ..Options::default() };
            let mut context = new_context(&options).expect("context");
            f(&mut context)
        })
        .expect("thread")
        .join()
        .expect("no panic")
}

/// The CPU time this thread has used, in clock ticks (user and system).
fn thread_cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("/proc/thread-self/stat");
    // Fields after the command name (which may hold spaces) end with ')'; utime and stime
    // are the 14th and 15th fields of the line, the 12th and 13th after it.
    let after_name = &stat[stat.rfind(')').expect("command name") + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

fn eval_then_drain(context: &mut Context, code: &str) -> String {
    context.eval(Source::from_bytes(code)).expect("runs");
    drain_jobs(context).expect("jobs run");
    eval_to_string(context, "globalThis.result")
}

/// `code`'s value as a string.
fn eval_to_string(context: &mut Context, code: &str) -> String {
    let value = context.eval(Source::from_bytes(code)).expect("runs");
    value.to_string(context).expect("a string").to_std_string_escaped()
}

#[test]
fn timers_run_in_due_order_with_promise_jobs_after_each_timer() {
    let order = with_context(|context| {
        eval_then_drain(
            context,
            "const order = [];
             Promise.resolve().then(() => order.push('promise'));
             setTimeout(() => {
               order.push('t20');
               Promise.resolve().then(() => order.push('promise after t20'));
             }, 20);
             setTimeout(() => order.push('t10'), 10);
             setTimeout(() => order.push('t20 again'), 20);
             const cancelled = setTimeout(() => order.push('cancelled'), 5);
             clearTimeout(cancelled);
             let ticks = 0;
             const interval = setInterval(() => {
               order.push('interval ' + ++ticks);
               if (ticks === 3) {
                 clearInterval(interval);
                 globalThis.result = order.join();
               }
             }, 30);",
        )
    });
    // As HTML (and Node) order them: the promise jobs a timer queued run before the
    // next timer, even one due at the same time. (Boa's executor runs the timers due
    // on a pass together, then their promise jobs: "t20,t20 again,promise after t20".)
    assert_eq!(order, "promise,t10,t20,promise after t20,t20 again,interval 1,interval 2,interval 3");
}

#[test]
fn waiting_for_a_timer_sleeps() {
    let (waited, cpu_ticks, done) = with_context(|context| {
        let (started, before) = (Instant::now(), thread_cpu_ticks());
        let done = eval_then_drain(context, "setTimeout(() => { globalThis.result = 'done'; }, 400);");
        (started.elapsed(), thread_cpu_ticks() - before, done)
    });
    assert_eq!(done, "done");
    assert!(waited >= Duration::from_millis(400), "{waited:?}");
    // Spinning for the 400 ms cost about 40 ticks (of 10 ms); sleeping, none.
    assert!(cpu_ticks < 15, "{cpu_ticks} ticks of CPU time while waiting");
}

#[test]
fn an_error_in_a_timer_ends_the_loop_and_drops_every_job_left() {
    let (error, ran) = with_context(|context| {
        context
            .eval(Source::from_bytes(
                "globalThis.ran = [];
                 setTimeout(() => {
                   Promise.resolve().then(() => ran.push('promise job of the failed timer'));
                   throw new Error('from a timer');
                 }, 10);
                 setTimeout(() => ran.push('later timer'), 20);",
            ))
            .expect("runs");
        let error = drain_jobs(context).expect_err("the timer's error").to_string();
        drain_jobs(context).expect("nothing left");
        (error, eval_to_string(context, "ran.join()"))
    });
    assert!(error.contains("from a timer"), "{error}");
    assert_eq!(ran, "");
}

/// Collected objects are let go of between timers, and a `FinalizationRegistry` whose
/// target a timer collects still calls back once nothing else waits (as in Boa's
/// executor: its cleanup jobs are looked at when the queues are empty).
#[test]
fn weak_references_and_finalization_work_across_timers() {
    let result = with_context(|context| {
        eval_then_drain(
            context,
            "const seen = [];
             const registry = new FinalizationRegistry(held => seen.push('finalized ' + held));
             let weak;
             (function () {
               const target = {};
               registry.register(target, 'x');
               weak = new WeakRef({});
             })();
             setTimeout(() => { gc(); seen.push('weak target ' + (weak.deref() === undefined ? 'gone' : 'kept')); }, 20);
             setTimeout(() => seen.push('later'), 60);
             globalThis.result = seen;",
        )
    });
    assert_eq!(result, "weak target gone,later,finalized x");
}

//! The shell's job executor: Boa's `SimpleJobExecutor` algorithm (promise, async, generic
//! and finalization jobs, and timers, with the same error handling), except that when
//! only timers wait, it sleeps until the next one is due, and that promise jobs run
//! before timers. Boa's executor polls the clock in a loop then, which kept a core busy
//! for as long as a script waited on `setTimeout`.
//!
//! The executor is otherwise Boa's on purpose (a review of a first version that
//! drained Boa's executor between timers found four differences scripts can see:
//! `FinalizationRegistry` callbacks lost, `WeakRef` targets kept, a failed timer's
//! promise jobs left queued, cancelled timers kept until due). The changes are the
//! sleep; that timers due at the current instant run now rather than on the next pass;
//! and that promise jobs run to the last before any timer and after each, as HTML's
//! microtask checkpoints do (Boa's runs the timers due first in each pass, so a script
//! that took longer than a timer's delay saw the timer before its own microtasks). So,
//! as in browsers and Node, a chain of promise jobs that never ends starves timers: a
//! `setTimeout` watchdog cannot stop it.

use boa_engine::context::time::JsInstant;
use boa_engine::job::{
    GenericJob, IntervalJob, Job, JobExecutor, NativeAsyncJob, PromiseJob, SimpleJobExecutor, TimeoutJob,
};
use boa_engine::{Context, JsResult};
use futures_concurrency::future::FutureGroup;
use futures_lite::{future, StreamExt};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

#[derive(Default)]
pub struct EventLoop {
    promise_jobs: RefCell<VecDeque<PromiseJob>>,
    async_jobs: RefCell<VecDeque<NativeAsyncJob>>,
    generic_jobs: RefCell<VecDeque<GenericJob>>,
    finalization_jobs: RefCell<VecDeque<NativeAsyncJob>>,
    /// By due time; timers due at the same time run in the order they were set.
    timers: RefCell<BTreeMap<JsInstant, Vec<Timer>>>,
    /// Kinds of job Boa may add (`Job` is non-exhaustive), run by Boa's own executor on
    /// each pass once one came.
    other_jobs: Rc<SimpleJobExecutor>,
    has_other_jobs: std::cell::Cell<bool>,
}

enum Timer {
    Timeout(TimeoutJob),
    Interval(IntervalJob),
}

impl Timer {
    fn cancelled(&self) -> bool {
        match self {
            Timer::Timeout(t) => t.cancelled(),
            Timer::Interval(i) => i.cancelled(),
        }
    }
}

impl EventLoop {
    fn add_timer(&self, due: JsInstant, timer: Timer) {
        self.timers.borrow_mut().entry(due).or_default().push(timer);
    }

    /// Jobs other than timers and finalization jobs are waiting.
    fn has_jobs_besides_timers(&self) -> bool {
        !(self.promise_jobs.borrow().is_empty()
            && self.async_jobs.borrow().is_empty()
            && self.generic_jobs.borrow().is_empty())
    }

    /// Nothing but finalization jobs is waiting.
    fn is_empty(&self) -> bool {
        !self.has_jobs_besides_timers() && self.timers.borrow().is_empty()
    }

    /// What an uncaught error drops: everything but finalization jobs.
    fn clear(&self) {
        self.promise_jobs.borrow_mut().clear();
        self.async_jobs.borrow_mut().clear();
        self.generic_jobs.borrow_mut().clear();
        self.timers.borrow_mut().clear();
    }

    /// Takes the timers due by `now`, in order, and drops cancelled ones from those left.
    fn take_due(&self, now: JsInstant) -> Vec<Timer> {
        let mut timers = self.timers.borrow_mut();
        let mut due = Vec::new();
        while let Some(entry) = timers.first_entry().filter(|e| *e.key() <= now) {
            due.extend(entry.remove());
        }
        timers.retain(|_, waiting| {
            waiting.retain(|t| !t.cancelled());
            !waiting.is_empty()
        });
        due
    }

    fn run_timer(&self, timer: Timer, context: &mut Context) -> JsResult<()> {
        match timer {
            Timer::Timeout(t) if !t.cancelled() => t.call(context).map(drop),
            Timer::Interval(i) if !i.cancelled() => {
                // The next run is an interval after this one began.
                let began = context.clock().now();
                i.call(context)?;
                if !i.cancelled() {
                    self.add_timer(began + i.interval(), Timer::Interval(i));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Runs promise jobs (microtasks) until none is left, those they queue included;
    /// then lets go of the `WeakRef` targets kept meanwhile, as HTML's checkpoint does.
    fn run_promise_jobs(&self, context: &mut Context) -> JsResult<()> {
        loop {
            let jobs = take(&self.promise_jobs);
            if jobs.is_empty() {
                context.clear_kept_objects();
                return Ok(());
            }
            for job in jobs {
                job.call(context)?;
            }
        }
    }

    /// When only timers wait, sleeps until the first is due.
    fn sleep_until_a_timer_is_due(&self, context: &Context) {
        if self.has_jobs_besides_timers() {
            return;
        }
        let Some(next) = self.timers.borrow().keys().next().copied() else { return };
        let now = context.clock().now();
        if next > now {
            std::thread::sleep((next - now).into());
        }
    }
}

/// The jobs of a queue, taken out before any runs: a job may queue more.
fn take<T>(queue: &RefCell<VecDeque<T>>) -> VecDeque<T> {
    std::mem::take(&mut *queue.borrow_mut())
}

impl JobExecutor for EventLoop {
    fn enqueue_job(self: Rc<Self>, job: Job, context: &mut Context) {
        match job {
            Job::PromiseJob(p) => self.promise_jobs.borrow_mut().push_back(p),
            Job::AsyncJob(a) => self.async_jobs.borrow_mut().push_back(a),
            Job::GenericJob(g) => self.generic_jobs.borrow_mut().push_back(g),
            Job::FinalizationRegistryCleanupJob(f) => self.finalization_jobs.borrow_mut().push_back(f),
            Job::TimeoutJob(t) => self.add_timer(context.clock().now() + t.timeout(), Timer::Timeout(t)),
            Job::IntervalJob(i) => self.add_timer(context.clock().now() + i.interval(), Timer::Interval(i)),
            other => {
                self.has_other_jobs.set(true);
                self.other_jobs.clone().enqueue_job(other, context);
            }
        }
    }

    fn run_jobs(self: Rc<Self>, context: &mut Context) -> JsResult<()> {
        future::block_on(self.run_jobs_async(&RefCell::new(context)))
    }

    async fn run_jobs_async(self: Rc<Self>, context: &RefCell<&mut Context>) -> JsResult<()> {
        let mut running = FutureGroup::new();
        let mut finalizing = FutureGroup::new();
        loop {
            for job in take(&self.async_jobs) {
                running.insert(job.call(context));
            }
            for job in take(&self.finalization_jobs) {
                finalizing.insert(job.call(context));
            }
            // What the script or the last job queued runs before any timer, and what a
            // timer queues before the next: HTML's microtask checkpoint after each task,
            // which d8 and Node keep too. Boa's executor runs the timers due first, so
            // the order scripts saw depended on how long they took.
            if let Err(e) = self.run_promise_jobs(&mut context.borrow_mut()) {
                self.clear();
                return Err(e);
            }
            let now = context.borrow().clock().now();
            for timer in self.take_due(now) {
                let mut context = context.borrow_mut();
                if let Err(e) =
                    self.run_timer(timer, &mut context).and_then(|()| self.run_promise_jobs(&mut context))
                {
                    self.clear();
                    return Err(e);
                }
            }
            // Finalization jobs are looked at only when nothing else waits, and do not
            // keep the loop going by themselves.
            if self.is_empty() && running.is_empty() {
                match future::poll_once(finalizing.next()).await.flatten() {
                    Some(Err(e)) => {
                        self.clear();
                        return Err(e);
                    }
                    _ if !self.is_empty() => {}
                    _ => return Ok(()),
                }
            }
            if let Some(Err(e)) = future::poll_once(running.next()).await.flatten() {
                self.clear();
                return Err(e);
            }
            if let Err(e) = self.run_promise_jobs(&mut context.borrow_mut()) {
                self.clear();
                return Err(e);
            }
            for job in take(&self.generic_jobs) {
                if let Err(e) = job.call(&mut context.borrow_mut()) {
                    self.clear();
                    return Err(e);
                }
            }
            if self.has_other_jobs.get() {
                if let Err(e) = self.other_jobs.clone().run_jobs(&mut context.borrow_mut()) {
                    self.clear();
                    return Err(e);
                }
            }
            context.borrow_mut().clear_kept_objects();
            if running.is_empty() {
                self.sleep_until_a_timer_is_due(&context.borrow());
            }
            future::yield_now().await;
        }
    }
}

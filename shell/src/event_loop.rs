//! The shell's job executor. Promise, async, generic and finalization jobs run as in Boa's
//! `SimpleJobExecutor`, which this wraps; timers (`setTimeout`, `setInterval`) are kept
//! here, so that waiting for the next one sleeps. Boa's executor polls the clock in a
//! loop until a timer is due, which kept a core busy for as long as a script waited.
//!
//! Between timers, all other jobs run to completion, as an HTML event loop runs the
//! microtasks after each task.

use boa_engine::context::time::JsInstant;
use boa_engine::job::{IntervalJob, Job, JobExecutor, SimpleJobExecutor, TimeoutJob};
use boa_engine::{Context, JsResult};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

#[derive(Default)]
pub struct EventLoop {
    jobs: Rc<SimpleJobExecutor>,
    /// By due time; timers due at the same time run in the order they were set.
    timers: RefCell<BTreeMap<JsInstant, VecDeque<Timer>>>,
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
    fn add(&self, due: JsInstant, timer: Timer) {
        self.timers.borrow_mut().entry(due).or_default().push_back(timer);
    }

    /// The earliest timer not cancelled, taken out, with its due time.
    fn take_next(&self) -> Option<(JsInstant, Timer)> {
        let mut timers = self.timers.borrow_mut();
        loop {
            let mut first = timers.first_entry()?;
            let due = *first.key();
            let timer = first.get_mut().pop_front();
            if first.get().is_empty() {
                first.remove();
            }
            match timer {
                Some(timer) if !timer.cancelled() => return Some((due, timer)),
                _ => {}
            }
        }
    }
}

impl JobExecutor for EventLoop {
    fn enqueue_job(self: Rc<Self>, job: Job, context: &mut Context) {
        match job {
            Job::TimeoutJob(t) => self.add(context.clock().now() + t.timeout(), Timer::Timeout(t)),
            Job::IntervalJob(i) => self.add(context.clock().now() + i.interval(), Timer::Interval(i)),
            other => self.jobs.clone().enqueue_job(other, context),
        }
    }

    fn run_jobs(self: Rc<Self>, context: &mut Context) -> JsResult<()> {
        loop {
            let ran = self.jobs.clone().run_jobs(context).and_then(|()| {
                let Some((due, timer)) = self.take_next() else { return Ok(false) };
                let now = context.clock().now();
                if due > now {
                    std::thread::sleep((due - now).into());
                }
                match timer {
                    Timer::Timeout(t) => t.call(context).map(drop)?,
                    Timer::Interval(i) => {
                        // The next run is an interval after this one began, as in Boa's executor.
                        let began = context.clock().now();
                        i.call(context)?;
                        if !i.cancelled() {
                            self.add(began + i.interval(), Timer::Interval(i));
                        }
                    }
                }
                Ok(true)
            });
            match ran {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e) => {
                    // As Boa's executor does: an uncaught error ends the loop and drops what
                    // was still waiting.
                    self.timers.borrow_mut().clear();
                    return Err(e);
                }
            }
        }
    }
}

//! One WPT test file in one fresh Boa realm.
//!
//! The order of evaluation matters (see the notes in `shared/notes/wpt-in-a-shell.md`):
//! testharness.js's shell environment marks loading complete from a promise job, so the
//! prelude, testharness.js, our reporter, the META helpers and the test must all be evaluated
//! before the first job runs; only then do we drain the job queue and the fake timers.
//!
//! Everything the realm reports goes straight into a [`Progress`] shared with the runner,
//! because a file that hangs never returns: the watchdog then reads whatever was recorded.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use boa_engine::object::ObjectInitializer;
use boa_engine::property::Attribute;
use boa_engine::{js_string, Context, JsError, JsResult, JsValue, NativeFunction, Source};

use crate::manifest::{self, Meta};
use crate::{Status, Subtest};

const PRELUDE: &str = include_str!("js/prelude.js");
const REPORTER: &str = include_str!("js/reporter.js");

/// A file whose `setInterval` never stops, before its harness completes, would otherwise spin
/// until the watchdog fires.
const MAX_TIMER_FIRINGS: usize = 10_000;
/// Captured `print`/`console` output is for diagnosis; a chatty test must not eat memory.
const MAX_LOG_LINES: usize = 1_000;

/// What to run.
#[derive(Debug, Clone)]
pub struct FileJob {
    /// Root of the wpt checkout (the server's `/`).
    pub wpt_root: PathBuf,
    /// The `.any.js` file.
    pub test_path: PathBuf,
    /// Its URL path, `/wasm/jsapi/...`, which becomes `location.pathname`.
    pub url_path: String,
    pub meta: Meta,
}

/// A subtest as the realm reported it; `index` is testharness.js's 1-based registration order.
#[derive(Debug, Clone)]
struct Reported {
    name: String,
    status: Status,
    message: String,
}

/// The harness's completion report.
#[derive(Debug, Clone)]
struct Completion {
    /// `OK`, `ERROR`, `TIMEOUT` or `PRECONDITION_FAILED`.
    status: String,
    message: String,
    tests: Vec<(u32, Reported)>,
}

/// Everything one realm has reported so far.
#[derive(Debug, Default)]
pub struct Progress {
    registered: BTreeMap<u32, String>,
    results: BTreeMap<u32, Reported>,
    final_tests: Vec<(u32, Reported)>,
    completion: Option<Completion>,
    /// File-level problems: unreadable scripts, uncaught exceptions, harness errors.
    problems: Vec<String>,
    /// `print` / `console.*` output, in order.
    pub log: Vec<String>,
    log_dropped: usize,
}

pub type SharedProgress = Arc<Mutex<Progress>>;

/// A poisoned lock only means a panic elsewhere, which the runner reports separately; the
/// data recorded before it is still what we want to show.
pub fn lock(progress: &SharedProgress) -> MutexGuard<'_, Progress> {
    progress.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Progress {
    /// Records a file-level problem, e.g. a panic the runner caught.
    pub fn add_problem(&mut self, problem: String) {
        self.problems.push(problem);
    }

    /// Turns what was reported into the file's subtest list, plus a `<file> [harness]` entry
    /// for file-level problems. `timed_out` is the watchdog's limit if it gave up on the file.
    pub fn subtests(&self, file: &str, timed_out: Option<Duration>) -> Vec<Subtest> {
        let mut problems = self.problems.clone();
        let mut harness_status = Status::Error;
        let mut subtests = Vec::new();
        let to_subtest = |reported: &Reported| Subtest {
            name: reported.name.clone(),
            status: reported.status,
            message: reported.message.clone(),
        };

        if let Some(completion) = &self.completion {
            let harness_timed_out = completion.status == "TIMEOUT";
            for (index, reported) in &completion.tests {
                // When the harness times out, the subtests still running are marked complete
                // without a result and keep their initial NOTRUN; they really timed out.
                if harness_timed_out && reported.status == Status::NotRun && !self.results.contains_key(index)
                {
                    subtests.push(Subtest {
                        name: reported.name.clone(),
                        status: Status::Timeout,
                        message: "still pending when every promise job and timer had run".to_string(),
                    });
                } else {
                    subtests.push(to_subtest(reported));
                }
            }
            match completion.status.as_str() {
                "OK" => {}
                "TIMEOUT" if completion.tests.is_empty() => {
                    harness_status = Status::Timeout;
                    problems.push("the harness timed out before any subtest registered".into());
                }
                // Pending subtests already count as TIMEOUT failures above.
                "TIMEOUT" => {}
                other => problems.push(format!(
                    "harness status {other}: {}",
                    if completion.message.is_empty() { "(no message)" } else { &completion.message }
                )),
            }
        } else {
            // No completion: the watchdog fired, or the harness could not even be timed out.
            let pending = match timed_out {
                Some(limit) => format!("timed out after {:.0}s", limit.as_secs_f64()),
                None => "the harness never completed".to_string(),
            };
            for (index, name) in &self.registered {
                match self.results.get(index) {
                    Some(reported) => subtests.push(to_subtest(reported)),
                    None => subtests.push(Subtest {
                        name: name.clone(),
                        status: Status::Timeout,
                        message: pending.clone(),
                    }),
                }
            }
            if timed_out.is_none() {
                problems.push("the harness never reported completion".into());
            } else if self.registered.is_empty() {
                // Nothing else would show that the file failed.
                harness_status = Status::Timeout;
                problems.push(format!("{pending} before any subtest registered"));
            }
        }

        if !problems.is_empty() {
            subtests.push(Subtest {
                name: format!("{file} [harness]"),
                status: harness_status,
                message: problems.join("\n"),
            });
        }
        subtests
    }

    fn push_log(&mut self, line: String) {
        if self.log.len() < MAX_LOG_LINES {
            self.log.push(line);
        } else {
            self.log_dropped += 1;
        }
    }

    /// Number of `print` lines not kept.
    pub fn log_dropped(&self) -> usize {
        self.log_dropped
    }
}

/// The context-held handle our native functions report through.
struct Recorder(SharedProgress);

/// Runs one test file to completion (or until it hangs; the runner's watchdog handles that).
/// All results and problems are recorded in `progress`.
pub fn run_file(job: &FileJob, progress: &SharedProgress) {
    let problem = |message: String| lock(progress).add_problem(message);
    let mut context = match new_context(job, progress) {
        Ok(context) => context,
        Err(e) => {
            problem(format!("cannot set up the realm: {e}"));
            return;
        }
    };

    let test_dir = job.test_path.parent().unwrap_or(Path::new("/"));
    let file = |path: PathBuf| Script::File {
        // Boa names scripts in error positions and resolves `import()` specifiers against
        // them; a path relative to the module loader's root (the wpt checkout) serves both
        // and keeps messages, and so the expectations file, independent of the machine.
        name: path.strip_prefix(&job.wpt_root).unwrap_or(&path).to_path_buf(),
        path,
    };
    let mut scripts: Vec<Script> = vec![
        Script::Builtin("<prelude>", PRELUDE),
        file(job.wpt_root.join("resources").join("testharness.js")),
        Script::Builtin("<reporter>", REPORTER),
    ];
    scripts
        .extend(job.meta.scripts.iter().map(|s| file(manifest::resolve_script(&job.wpt_root, test_dir, s))));
    scripts.push(file(job.test_path.clone()));

    // Like separate <script> elements: one that throws does not stop the others, and its
    // error is reported for the file.
    for script in &scripts {
        if let Err(message) = script.evaluate(&mut context) {
            problem(message);
        }
    }

    drain(&mut context, progress);
    if lock(progress).completion.is_none() {
        // Some subtest never finished (a promise that never settles). testharness.js's
        // `timeout()` completes the harness with status TIMEOUT, marking the pending subtests
        // as not run, which `Progress::subtests` turns into TIMEOUT failures.
        if let Err(e) = context.eval(Source::from_bytes("timeout();")) {
            problem(format!("cannot time out the harness: {}", describe(&e, &mut context)));
        }
        drain(&mut context, progress);
    }
}

enum Script {
    Builtin(&'static str, &'static str),
    File { path: PathBuf, name: PathBuf },
}

impl Script {
    fn evaluate(&self, context: &mut Context) -> Result<(), String> {
        let (name, result) = match self {
            Script::Builtin(name, source) => ((*name).to_string(), context.eval(Source::from_bytes(source))),
            Script::File { path, name } => {
                let source =
                    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", name.display()))?;
                let result = context.eval(Source::from_bytes(&source).with_path(name));
                (name.display().to_string(), result)
            }
        };
        result.map(drop).map_err(|e| format!("uncaught exception in {name}: {}", describe(&e, context)))
    }
}

/// A `.wasm` resource, or its build from the `.wat` beside it when the binary is missing
/// (../shared/wpt/SOURCE.txt: four esm-integration binaries could not be obtained).
fn read_wasm_resource(path: &Path) -> std::io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && path.with_extension("wat").exists() => {
            wat::parse_file(path.with_extension("wat")).map_err(std::io::Error::other)
        }
        other => other,
    }
}

fn new_context(job: &FileJob, progress: &SharedProgress) -> JsResult<Context> {
    // Rooted at the wpt checkout, so that the esm-integration tests' relative `import()`s
    // resolve like URLs on the wpt server would (but nothing outside it can be loaded).
    let loader = sidewinder_js::WasmModuleLoader::new(&job.wpt_root)?.with_reader(read_wasm_resource);
    let mut context = Context::builder().module_loader(Rc::new(loader)).build()?;
    context.insert_data(Recorder(progress.clone()));

    let mut host = ObjectInitializer::new(&mut context);
    host.function(NativeFunction::from_fn_ptr(host_print), js_string!("print"), 1)
        .function(NativeFunction::from_fn_ptr(host_register), js_string!("register"), 2)
        .function(NativeFunction::from_fn_ptr(host_result), js_string!("result"), 4)
        .function(NativeFunction::from_fn_ptr(host_final), js_string!("final"), 4)
        .function(NativeFunction::from_fn_ptr(host_complete), js_string!("complete"), 2)
        .property(js_string!("path"), js_string!(job.url_path.as_str()), Attribute::READONLY);
    if let Some(title) = &job.meta.title {
        host.property(js_string!("title"), js_string!(title.as_str()), Attribute::READONLY);
    }
    let host = host.build();
    // Configurable so that the reporter can delete it once it has captured what it needs.
    context.register_global_property(
        js_string!("__sidewinder_wpt"),
        host,
        Attribute::WRITABLE | Attribute::CONFIGURABLE,
    )?;

    sidewinder_js::install(&mut context)?;
    Ok(context)
}

/// Runs promise jobs and fake timers until neither has anything left.
fn drain(context: &mut Context, progress: &SharedProgress) {
    let problem = |message: String| lock(progress).add_problem(message);
    let mut firings = 0;
    loop {
        // On an error Boa's job executor drops every queued job, so there is nothing to retry.
        if let Err(e) = context.run_jobs() {
            problem(format!("uncaught error while running promise jobs: {}", describe(&e, context)));
        }
        // Once the harness has reported, the results are final; a browser would tear the page
        // down, so timers still pending (an interval nobody clears) no longer matter.
        if lock(progress).completion.is_some() {
            return;
        }
        if firings == MAX_TIMER_FIRINGS {
            problem(format!(
                "gave up after {MAX_TIMER_FIRINGS} timer callbacks (a setInterval that never stops?)"
            ));
            return;
        }
        firings += 1;
        match fire_timer(context) {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => problem(format!("uncaught exception in a timer callback: {}", describe(&e, context))),
        }
    }
}

fn fire_timer(context: &mut Context) -> JsResult<bool> {
    let global = context.global_object();
    let fire = global.get(js_string!("__sidewinder_fire_timer"), context)?;
    match fire.as_callable() {
        Some(fire) => Ok(fire.call(&JsValue::undefined(), &[], context)?.to_boolean()),
        // A test replaced or deleted it; then it cannot have timers of ours either.
        None => Ok(false),
    }
}

/// How a browser console would show an uncaught exception: `String(e)` for thrown values
/// (`TypeError: message`), Boa's own text for its native and engine errors.
fn describe(error: &JsError, context: &mut Context) -> String {
    match error.as_opaque() {
        Some(value) => {
            let value = value.clone();
            match value.to_string(context) {
                Ok(text) => text.to_std_string_lossy(),
                Err(_) => value.display().to_string(),
            }
        }
        None => error.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Native functions behind `__sidewinder_wpt`.
// ---------------------------------------------------------------------------------------------

fn with_progress(context: &Context, record: impl FnOnce(&mut Progress)) {
    if let Some(Recorder(progress)) = context.get_data::<Recorder>() {
        record(&mut lock(progress));
    }
}

fn string_arg(args: &[JsValue], at: usize, context: &mut Context) -> JsResult<String> {
    let value = args.get(at).cloned().unwrap_or_default();
    Ok(value.to_string(context)?.to_std_string_lossy())
}

fn index_arg(args: &[JsValue], at: usize) -> u32 {
    // testharness.js indexes are small positive integers; anything else is a harness change
    // we would rather see as a collision on 0 than as a crash.
    args.get(at)
        .and_then(JsValue::as_number)
        .filter(|n| n.is_finite() && *n >= 0.0 && *n <= f64::from(u32::MAX))
        .map_or(0, |n| n as u32)
}

fn reported_args(args: &[JsValue], context: &mut Context) -> JsResult<(u32, Reported)> {
    let index = index_arg(args, 0);
    let name = string_arg(args, 1, context)?;
    let status_name = string_arg(args, 2, context)?;
    let mut message = string_arg(args, 3, context)?;
    let status = Status::from_name(&status_name).unwrap_or_else(|| {
        message = format!("unknown status {status_name}: {message}");
        Status::Fail
    });
    Ok((index, Reported { name, status, message }))
}

fn host_print(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let line = string_arg(args, 0, context)?;
    with_progress(context, |p| p.push_log(line));
    Ok(JsValue::undefined())
}

fn host_register(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let index = index_arg(args, 0);
    let name = string_arg(args, 1, context)?;
    with_progress(context, |p| {
        p.registered.insert(index, name);
    });
    Ok(JsValue::undefined())
}

fn host_result(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let (index, reported) = reported_args(args, context)?;
    with_progress(context, |p| {
        p.results.insert(index, reported);
    });
    Ok(JsValue::undefined())
}

fn host_final(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let entry = reported_args(args, context)?;
    with_progress(context, |p| p.final_tests.push(entry));
    Ok(JsValue::undefined())
}

fn host_complete(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let status = string_arg(args, 0, context)?;
    let message = string_arg(args, 1, context)?;
    with_progress(context, |p| {
        // Completion callbacks fire once; if a broken harness fired them again, keep the first.
        if p.completion.is_none() {
            let tests = std::mem::take(&mut p.final_tests);
            p.completion = Some(Completion { status, message, tests });
        }
    });
    Ok(JsValue::undefined())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reported(name: &str, status: Status) -> Reported {
        Reported { name: name.into(), status, message: String::new() }
    }

    #[test]
    fn completed_file_reports_final_statuses() {
        let mut p = Progress::default();
        p.results.insert(1, reported("a", Status::Pass));
        p.completion = Some(Completion {
            status: "OK".into(),
            message: String::new(),
            tests: vec![(1, reported("a", Status::Pass)), (2, reported("b", Status::Fail))],
        });
        let got = p.subtests("f.any.js", None);
        let statuses: Vec<_> = got.iter().map(|s| (s.name.as_str(), s.status)).collect();
        assert_eq!(statuses, [("a", Status::Pass), ("b", Status::Fail)]);
    }

    #[test]
    fn harness_timeout_turns_pending_subtests_into_timeouts() {
        let mut p = Progress::default();
        p.results.insert(1, reported("done", Status::Pass));
        p.completion = Some(Completion {
            status: "TIMEOUT".into(),
            message: String::new(),
            tests: vec![(1, reported("done", Status::Pass)), (2, reported("hung", Status::NotRun))],
        });
        let got = p.subtests("f.any.js", None);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1].status, Status::Timeout);
    }

    #[test]
    fn harness_error_and_problems_add_one_file_entry() {
        let mut p = Progress::default();
        p.add_problem("uncaught exception in x.js: boom".into());
        p.completion = Some(Completion {
            status: "ERROR".into(),
            message: "duplicate test name".into(),
            tests: vec![(1, reported("a", Status::Pass))],
        });
        let got = p.subtests("dir/f.any.js", None);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].name, "dir/f.any.js [harness]");
        assert_eq!(got[1].status, Status::Error);
        assert!(got[1].message.contains("boom"));
        assert!(got[1].message.contains("duplicate test name"));
    }

    #[test]
    fn watchdog_timeout_counts_registered_subtests() {
        let mut p = Progress::default();
        p.registered.insert(1, "a".into());
        p.registered.insert(2, "b".into());
        p.results.insert(1, reported("a", Status::Pass));
        let limit = Some(Duration::from_secs(60));
        let got = p.subtests("f.any.js", limit);
        let statuses: Vec<_> = got.iter().map(|s| s.status).collect();
        assert_eq!(statuses, [Status::Pass, Status::Timeout]);
        assert_eq!(got[1].message, "timed out after 60s");

        let empty = Progress::default().subtests("f.any.js", limit);
        assert_eq!(empty.len(), 1);
        assert_eq!(empty[0].status, Status::Timeout);
        assert_eq!(empty[0].name, "f.any.js [harness]");
    }
}

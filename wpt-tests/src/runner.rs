//! The whole run: settings, file discovery, one thread per file with a watchdog, the
//! comparison with `expectations.txt`, and the summary.
//!
//! Environment:
//! - `SIDEWINDER_WPT_DIR`: the wpt checkout (default `<workspace>/../shared/wpt`).
//! - `SIDEWINDER_WPT_FILTER`: only files whose path (relative to wasm/jsapi) contains this
//!   text; the first non-flag argument (`cargo test -p sidewinder-wpt --test wpt -- memory/`)
//!   does the same.
//! - `SIDEWINDER_WPT_BLESS=1`: rewrite `expectations.txt` with the current failures.
//! - `SIDEWINDER_WPT_VERBOSE=1`: also list expected failures, full messages and all output.
//! - `SIDEWINDER_WPT_TIMEOUT`: per-file watchdog in seconds (default 60; doubled for
//!   `// META: timeout=long`).
//! - `SIDEWINDER_WPT_JOBS`: files run at once (default: the number of CPUs, at most 4).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use std::{env, fs, io, thread};

use crate::expectations::{self, Entry, Expectations};
use crate::harness::{self, FileJob, Progress, SharedProgress};
use crate::manifest::Meta;
use crate::{Status, Subtest};

/// Boa recurses on the native stack for nested JS calls, and wasm→JS→wasm round trips add to
/// it; the default 2 MiB thread stack is far from enough. Only touched pages cost memory.
const WORKER_STACK: usize = 256 << 20;
const DEFAULT_TIMEOUT_SECS: u64 = 60;
const MAX_DEFAULT_JOBS: usize = 4;
/// Files that take far longer than the rest (js-string/constants.any.js builds a
/// 100,000-character import name byte by byte in wasm-module-builder.js: seconds in Boa
/// where the other files take a fraction of one). Starting them first lets them overlap with
/// everything else instead of running alone at the end; results are still printed in order.
const SLOW_FILES: &[&str] = &["js-string/constants.any.js"];
/// Lines of `print` output shown per file unless verbose.
const LOG_LINES_SHOWN: usize = 20;

pub struct Settings {
    pub wpt_root: PathBuf,
    pub expectations: PathBuf,
    pub filter: Option<String>,
    pub bless: bool,
    pub verbose: bool,
    pub timeout: Duration,
    pub jobs: usize,
}

impl Settings {
    /// Reads the environment and the command line (`args` without the program name).
    pub fn from_env(args: &[String]) -> Settings {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let wpt_root = match env::var_os("SIDEWINDER_WPT_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => manifest.join("..").join("..").join("shared").join("wpt"),
        };
        let filter = filter_from_args(args)
            .or_else(|| env::var("SIDEWINDER_WPT_FILTER").ok())
            .filter(|f| !f.is_empty());
        let timeout = env::var("SIDEWINDER_WPT_TIMEOUT")
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .map_or(Duration::from_secs(DEFAULT_TIMEOUT_SECS), Duration::from_secs_f64);
        let jobs = env::var("SIDEWINDER_WPT_JOBS")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_DEFAULT_JOBS));
        Settings {
            wpt_root,
            expectations: manifest.join("expectations.txt"),
            filter,
            bless: env_flag("SIDEWINDER_WPT_BLESS"),
            verbose: env_flag("SIDEWINDER_WPT_VERBOSE"),
            timeout,
            jobs,
        }
    }
}

fn env_flag(name: &str) -> bool {
    env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `cargo test` forwards its own flags to every test binary, so skip anything that looks like
/// a libtest option (and the value of the ones that take one).
fn filter_from_args(args: &[String]) -> Option<String> {
    const TAKES_VALUE: &[&str] =
        &["--color", "--format", "--logfile", "--test-threads", "--skip", "--shuffle-seed", "-Z"];
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if TAKES_VALUE.contains(&arg.as_str()) {
            args.next();
        } else if !arg.starts_with('-') {
            return Some(arg.clone());
        }
    }
    None
}

/// Runs everything and returns the process exit code.
pub fn main(args: &[String]) -> i32 {
    // `cargo test -- --list` asks every test binary what it contains; running the whole
    // suite in response would be a surprise.
    if args.iter().any(|a| a == "--list") {
        println!("wpt: test");
        return 0;
    }
    run(&Settings::from_env(args))
}

/// A test file to run: its path relative to wasm/jsapi (the name used everywhere) and the job.
struct TestFile {
    name: String,
    job: FileJob,
}

pub fn run(settings: &Settings) -> i32 {
    // Canonical, so that paths in messages carry no `..` from the default location.
    let wpt_root = fs::canonicalize(&settings.wpt_root).unwrap_or_else(|_| settings.wpt_root.clone());
    let jsapi = wpt_root.join("wasm").join("jsapi");
    if !jsapi.is_dir() {
        warn_missing_corpus(&jsapi);
        println!("wpt: 0 passed, 0 failed");
        return 0;
    }
    // Like a missing corpus, a host the engine cannot run on must not fail everybody's
    // `cargo test`; anything else wrong with the engine is a real failure.
    if let Err(e) = sidewinder_engine::Engine::new(sidewinder_engine::Config::default()) {
        eprintln!("WARNING: WPT skipped, the engine cannot run on this machine: {e}");
        println!("wpt: 0 passed, 0 failed");
        return i32::from(!matches!(e, sidewinder_engine::Error::Unsupported(_)));
    }

    let setup = load_expectations(&settings.expectations).and_then(|expected| {
        list_tests(&wpt_root, &jsapi, settings.filter.as_deref())
            .map(|files| (expected, files))
            .map_err(|e| format!("cannot list {}: {e}", jsapi.display()))
    });
    let (expected, files) = match setup {
        Ok(setup) => setup,
        Err(message) => {
            eprintln!("error: {message}");
            println!("wpt: 0 passed, 0 failed");
            return 1;
        }
    };
    if files.is_empty() {
        eprintln!("warning: no jsshell test matches the filter {:?}", settings.filter);
    }

    let started = Instant::now();
    let mut summary = Summary::new(settings, &expected, &files);
    run_files(&files, settings, |report| summary.add_file(report));
    let elapsed = started.elapsed().as_secs_f64();

    if settings.filter.is_none() {
        let present: BTreeSet<&str> = files.iter().map(|f| f.name.as_str()).collect();
        let stale: BTreeSet<&str> =
            expected.keys().map(|(file, _)| file.as_str()).filter(|file| !present.contains(file)).collect();
        for file in stale {
            println!("STALE (not a jsshell test of the corpus; remove from expectations): {file}");
        }
    }

    let mut exit_code = i32::from(summary.unlisted > 0);
    if settings.bless {
        let mut entries = Expectations::new();
        if settings.filter.is_some() {
            entries.extend(
                expected
                    .iter()
                    .filter(|((file, _), _)| !summary.ran_files.contains(file))
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
        }
        // A failure already listed keeps its (possibly hand-written) reason, as long as
        // it still fails the same way.
        entries.extend(summary.failures.iter().map(|(key, entry)| {
            let mut entry = entry.clone();
            if let Some(old) = expected.get(key).filter(|old| old.status == entry.status) {
                entry.reason = old.reason.clone();
            }
            (key.clone(), entry)
        }));
        exit_code = match fs::write(&settings.expectations, expectations::render(&entries)) {
            Ok(()) => {
                let path = settings.expectations.display();
                println!("blessed: wrote {} entries to {path}", entries.len());
                0
            }
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", settings.expectations.display());
                1
            }
        };
    } else {
        if summary.unlisted > 0 {
            println!(
                "{} unexpected failure(s): fix them, or if they are known, list them in \
                 wpt-tests/expectations.txt (SIDEWINDER_WPT_BLESS=1 rewrites it)",
                summary.unlisted
            );
        }
        if summary.now_passing > 0 {
            println!(
                "{} expected failure(s) now pass; remove them from wpt-tests/expectations.txt",
                summary.now_passing
            );
        }
    }
    println!(
        "{} files, {} subtests, {} expected failures, {:.1}s with {} job(s)",
        summary.ran_files.len(),
        summary.passed + summary.failed,
        summary.failed - summary.unlisted,
        elapsed,
        settings.jobs
    );
    println!("wpt: {} passed, {} failed", summary.passed, summary.failed);
    exit_code
}

fn warn_missing_corpus(dir: &Path) {
    let rule = "=".repeat(78);
    eprintln!("{rule}");
    eprintln!("WARNING: the web-platform-tests corpus is missing:");
    eprintln!("    {}", dir.display());
    eprintln!("The WPT wasm/jsapi tests were NOT run. Point SIDEWINDER_WPT_DIR at a wpt checkout");
    eprintln!("(https://github.com/web-platform-tests/wpt; only wasm/, resources/ and common/");
    eprintln!("are needed), e.g.");
    eprintln!("    SIDEWINDER_WPT_DIR=/path/to/wpt cargo test -p sidewinder-wpt --test wpt");
    eprintln!("{rule}");
}

fn load_expectations(path: &Path) -> Result<Expectations, String> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let (entries, errors) = expectations::parse(&text);
    for error in errors {
        eprintln!("warning: {}:{}: {} (line ignored)", path.display(), error.line, error.message);
    }
    Ok(entries)
}

/// Every `.any.js` under `jsapi` that wpt would run in a JS shell, sorted by name.
fn list_tests(wpt_root: &Path, jsapi: &Path, filter: Option<&str>) -> io::Result<Vec<TestFile>> {
    let mut paths = Vec::new();
    collect_any_js(jsapi, &mut paths)?;
    let mut files = Vec::new();
    for path in paths {
        let Some(name) = relative_url(jsapi, &path) else {
            continue;
        };
        if filter.is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let meta = Meta::parse(&fs::read_to_string(&path)?);
        if !meta.runs_in_jsshell() {
            continue;
        }
        files.push(TestFile {
            job: FileJob {
                wpt_root: wpt_root.to_path_buf(),
                url_path: format!("/wasm/jsapi/{name}"),
                test_path: path,
                meta,
            },
            name,
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

fn collect_any_js(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect_any_js(&path, out)?;
        } else if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(".any.js")) {
            out.push(path);
        }
    }
    Ok(())
}

/// `path` relative to `base`, with `/` separators whatever the platform.
fn relative_url(base: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(base).ok()?;
    let parts: Option<Vec<&str>> = relative.iter().map(|p| p.to_str()).collect();
    Some(parts?.join("/"))
}

// ---------------------------------------------------------------------------------------------
// Running files: a few at a time, each on its own thread, under a watchdog.
// ---------------------------------------------------------------------------------------------

struct FileReport<'a> {
    file: &'a TestFile,
    subtests: Vec<Subtest>,
    log: Vec<String>,
    log_dropped: usize,
    elapsed: Duration,
}

struct Running {
    started: Instant,
    deadline: Instant,
    progress: SharedProgress,
}

/// Runs `files` with up to `settings.jobs` at once and hands their reports to `report` in
/// file order, each as soon as it and every file before it are done.
fn run_files<'a>(files: &'a [TestFile], settings: &Settings, mut report: impl FnMut(FileReport<'a>)) {
    // Workers send their index when they finish, with the panic that stopped them, if any.
    let (done_tx, done_rx) = mpsc::channel::<(usize, Option<String>)>();
    let mut running: HashMap<usize, Running> = HashMap::new();
    let mut finished: BTreeMap<usize, FileReport<'a>> = BTreeMap::new();
    let mut start_order: Vec<usize> = (0..files.len()).collect();
    start_order.sort_by_key(|&i| !SLOW_FILES.contains(&files[i].name.as_str()));
    let mut to_start = start_order.into_iter();
    let mut next_to_report = 0;

    let finish = |index: usize, running: Running, timed_out: bool, problem: Option<String>| {
        let file = &files[index];
        let mut progress = harness::lock(&running.progress);
        if let Some(problem) = problem {
            progress.add_problem(problem);
        }
        FileReport {
            file,
            // A timed-out thread cannot be stopped (Boa has no interrupt); it is abandoned and
            // ends with the process.
            subtests: progress.subtests(&file.name, timed_out.then(|| running.deadline - running.started)),
            log: progress.log.clone(),
            log_dropped: progress.log_dropped(),
            elapsed: running.started.elapsed(),
        }
    };

    while next_to_report < files.len() {
        while running.len() < settings.jobs {
            let Some(index) = to_start.next() else {
                break;
            };
            let file = &files[index];
            let progress: SharedProgress = Arc::new(Mutex::new(Progress::default()));
            let timeout = if file.job.meta.long_timeout { settings.timeout * 2 } else { settings.timeout };
            let started = Instant::now();
            let entry = Running { started, deadline: started + timeout, progress: progress.clone() };
            let job = file.job.clone();
            let done = done_tx.clone();
            let spawned = thread::Builder::new()
                .name(format!("wpt {}", file.name))
                .stack_size(WORKER_STACK)
                .spawn(move || {
                    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                        harness::run_file(&job, &progress);
                    }));
                    // The receiver is gone only if the runner already gave up on this file.
                    let _ =
                        done.send((index, outcome.err().map(|p| format!("panicked: {}", panic_message(p)))));
                });
            match spawned {
                Ok(_) => {
                    running.insert(index, entry);
                }
                Err(e) => {
                    let problem = Some(format!("cannot start a thread: {e}"));
                    finished.insert(index, finish(index, entry, false, problem));
                }
            }
        }

        let now = Instant::now();
        let wait = running.values().map(|r| r.deadline.saturating_duration_since(now)).min();
        match wait.map(|wait| done_rx.recv_timeout(wait)) {
            Some(Ok((index, panic))) => {
                // A late message from a file the watchdog already gave up on finds no entry.
                if let Some(entry) = running.remove(&index) {
                    finished.insert(index, finish(index, entry, false, panic));
                }
            }
            Some(Err(RecvTimeoutError::Timeout)) => {
                let now = Instant::now();
                let expired: Vec<usize> =
                    running.iter().filter(|(_, r)| r.deadline <= now).map(|(&i, _)| i).collect();
                for index in expired {
                    if let Some(entry) = running.remove(&index) {
                        finished.insert(index, finish(index, entry, true, None));
                    }
                }
            }
            // We hold a sender, so the channel cannot disconnect; and with nothing running,
            // every started file has been reported into `finished`.
            Some(Err(RecvTimeoutError::Disconnected)) | None => {}
        }

        while let Some(file_report) = finished.remove(&next_to_report) {
            report(file_report);
            next_to_report += 1;
        }
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Comparing with the expectations and printing.
// ---------------------------------------------------------------------------------------------

struct Summary<'e> {
    expected: &'e Expectations,
    verbose: bool,
    name_width: usize,
    passed: usize,
    /// Every subtest that did not pass, expected or not.
    failed: usize,
    /// Failures not listed in the expectations file: these fail the run.
    unlisted: usize,
    now_passing: usize,
    ran_files: BTreeSet<String>,
    /// Every current failure, for blessing.
    failures: Expectations,
}

impl<'e> Summary<'e> {
    fn new(settings: &Settings, expected: &'e Expectations, files: &[TestFile]) -> Summary<'e> {
        Summary {
            expected,
            verbose: settings.verbose,
            name_width: files.iter().map(|f| f.name.len()).max().unwrap_or(0),
            passed: 0,
            failed: 0,
            unlisted: 0,
            now_passing: 0,
            ran_files: BTreeSet::new(),
            failures: Expectations::new(),
        }
    }

    /// Counts one file's subtests and prints its progress line and what needs attention.
    fn add_file(&mut self, report: FileReport<'_>) {
        let file = report.file.name.as_str();
        let mut lines = Vec::new();
        let mut passed = 0;
        let mut failed = 0;
        let mut listed = 0;
        let mut seen = BTreeSet::new();
        for subtest in &report.subtests {
            let key = (file.to_string(), subtest.name.clone());
            seen.insert(subtest.name.as_str());
            let expectation = self.expected.get(&key);
            if subtest.status == Status::Pass {
                passed += 1;
                if expectation.is_some() {
                    self.now_passing += 1;
                    lines.push(format!(
                        "    NOW PASSING (remove from expectations): {file} | {}",
                        subtest.name
                    ));
                }
                continue;
            }
            failed += 1;
            let line = format!(
                "{file} | {} | {} | {}",
                subtest.name,
                subtest.status,
                expectations::short_reason(&subtest.message)
            );
            match expectation {
                Some(entry) => {
                    listed += 1;
                    if self.verbose {
                        lines.push(format!("    expected: {line}"));
                        if entry.status != subtest.status {
                            lines.push(format!("      (listed as {})", entry.status));
                        }
                    }
                }
                None => {
                    self.unlisted += 1;
                    lines.push(format!("    FAIL {line}"));
                }
            }
            if self.verbose && subtest.message.contains('\n') {
                for message_line in subtest.message.lines() {
                    lines.push(format!("        {message_line}"));
                }
            }
            self.failures.insert(
                key,
                Entry {
                    file: file.to_string(),
                    name: subtest.name.clone(),
                    status: subtest.status,
                    reason: subtest.message.clone(),
                },
            );
        }
        // A listed subtest that no longer shows up at all is not a failure (the file's
        // [harness] entry covers a file that stopped registering), but the list is stale.
        for ((_, name), _) in self
            .expected
            .range((file.to_string(), String::new())..)
            .take_while(|((f, _), _)| f == file)
            .filter(|((_, name), _)| !seen.contains(name.as_str()))
        {
            lines.push(format!(
                "    NOT REPORTED (remove from expectations if it is gone for good): {file} | {name}"
            ));
        }

        let shown = if self.verbose { report.log.len() } else { LOG_LINES_SHOWN };
        for line in report.log.iter().take(shown) {
            lines.push(format!("    print: {line}"));
        }
        let hidden = report.log.len().saturating_sub(shown) + report.log_dropped;
        if hidden > 0 {
            lines.push(format!("    ({hidden} more line(s) of output)"));
        }

        let listed = if listed > 0 { format!("  [{listed} expected]") } else { String::new() };
        let secs = report.elapsed.as_secs_f64();
        let width = self.name_width;
        println!("  {file:<width$} {passed:>4} passed {failed:>4} failed  ({secs:.1}s){listed}");
        for line in lines {
            println!("{line}");
        }
        self.passed += passed;
        self.failed += failed;
        self.ran_files.insert(file.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn filter_skips_libtest_flags() {
        assert_eq!(filter_from_args(&strings(&["--nocapture", "--quiet"])), None);
        assert_eq!(
            filter_from_args(&strings(&["--test-threads", "2", "memory/"])).as_deref(),
            Some("memory/")
        );
        assert_eq!(
            filter_from_args(&strings(&["--test-threads=1", "grow", "other"])).as_deref(),
            Some("grow")
        );
    }

    #[test]
    fn relative_names_use_slashes() {
        assert_eq!(
            relative_url(Path::new("/w/jsapi"), Path::new("/w/jsapi/memory/grow.any.js")).as_deref(),
            Some("memory/grow.any.js")
        );
        assert_eq!(relative_url(Path::new("/w/jsapi"), Path::new("/other/x.any.js")), None);
    }
}

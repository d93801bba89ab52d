//! Runs the WebAssembly spec test suite (`*.wast` scripts) against the engine.
//!
//! This is a `harness = false` test so that one run can report per-assertion results for
//! tens of thousands of assertions and compare them with `tests/spec-expectations.txt`,
//! which lists the failures we know about. Only failures missing from that list fail the run.
//!
//! Environment:
//! - `SIDEWINDER_SPEC_DIR`: directory of `*.wast` files
//!   (default `<workspace>/../shared/testsuite/wasm-2.0`).
//! - `SIDEWINDER_SPEC3_DIR`: the wasm-3.0 suite (default `.../testsuite/wasm-3.0`), of
//!   which the files of the proposals the engine implements run too (`PROPOSAL_FILES`),
//!   named `wasm-3.0/<path>` in the output and the expectations;
//!   `SIDEWINDER_SPEC_PROPOSALS=0` leaves them out.
//! - `SIDEWINDER_SPEC_FILTER`: only run files whose name contains this text; the first
//!   non-flag command-line argument (`cargo test --test spec -- i32`) does the same.
//! - `SIDEWINDER_SPEC_BLESS=1`: rewrite the expectations file with the current failures.
//! - `SIDEWINDER_SPEC_VERBOSE=1`: also list expected failures, and print engine panics in full.
//! - `SIDEWINDER_SPEC_TIMEOUT`: per-file watchdog in seconds (default 120).
//! - `SIDEWINDER_SPEC_WASM3=1` (or `SIDEWINDER_SPEC_MULTI_MEMORY=1`): validate every
//!   script as WebAssembly 3.0 (several memories, GC's validation rules), not only the
//!   wasm-3.0 ones (to run the whole wasm-3.0 directory as the corpus).

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::{self, Write as _};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use std::{env, fs, process, thread};

use sidewinder_engine::{
    AnyRef, Config, Engine, Error, Extern, ExternCaller, Func, FuncType, Global, GlobalType, Instance,
    Memory, MemoryType, Module, ObjectKind, Store, Table, TableType, Val, ValType, WideCaller, SMALL_ARGS,
    WIDE_ARGS,
};
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::token::{Id, Span};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet};

/// Deeply nested scripts and modules recurse in the parser and the compiler; the default
/// 2 MiB thread stack is not enough for some spec files.
const WORKER_STACK: usize = 256 << 20;
const DEFAULT_TIMEOUT_SECS: u64 = 120;
/// The wasm-3.0 scripts of the proposals beyond 2.0 that the engine implements:
/// exception handling (with its legacy instructions), tail calls, relaxed SIMD, 64-bit
/// memories and multiple memories (the numbered files: the multi-memory proposal's
/// variants of 2.0 scripts), function references, GC, and from the `proposals/`
/// subdirectory threads (atomics and shared memories), wide arithmetic and custom page
/// sizes.
const PROPOSAL_FILES: &[&str] = &[
    "i16x8_relaxed_q15mulr_s.wast",
    "i32x4_relaxed_trunc.wast",
    "i8x16_relaxed_swizzle.wast",
    "relaxed_dot_product.wast",
    "relaxed_laneselect.wast",
    "relaxed_madd_nmadd.wast",
    "relaxed_min_max.wast",
    "return_call.wast",
    "return_call_indirect.wast",
    "tag.wast",
    "throw.wast",
    "throw_ref.wast",
    "try_table.wast",
    "legacy/rethrow.wast",
    "legacy/throw.wast",
    "legacy/try_catch.wast",
    "legacy/try_delegate.wast",
    // memory64: 64-bit memories and tables
    "call_indirect64.wast",
    "memory64-imports.wast",
    "table64.wast",
    "table_copy64.wast",
    "table_copy_mixed.wast",
    "table_fill64.wast",
    "table_get64.wast",
    "table_grow64.wast",
    "table_init64.wast",
    "table_set64.wast",
    "table_size64.wast",
    "address64.wast",
    "align64.wast",
    "binary_leb128_64.wast",
    "bulk64.wast",
    "endianness64.wast",
    "float_memory64.wast",
    "load64.wast",
    "memory64.wast",
    "memory_copy64.wast",
    "memory_fill64.wast",
    "memory_grow64.wast",
    "memory_init64.wast",
    "memory_redundancy64.wast",
    "memory_trap64.wast",
    // multi-memory
    "address0.wast",
    "address1.wast",
    "align0.wast",
    "binary0.wast",
    "data0.wast",
    "data1.wast",
    "data_drop0.wast",
    "exports0.wast",
    "float_exprs0.wast",
    "float_exprs1.wast",
    "float_memory0.wast",
    "imports0.wast",
    "imports1.wast",
    "imports2.wast",
    "imports3.wast",
    "imports4.wast",
    "linking0.wast",
    "linking1.wast",
    "linking2.wast",
    "linking3.wast",
    "load0.wast",
    "load1.wast",
    "load2.wast",
    "memory-multi.wast",
    "memory_copy0.wast",
    "memory_copy1.wast",
    "memory_fill0.wast",
    "memory_init0.wast",
    "memory_size0.wast",
    "memory_size1.wast",
    "memory_size2.wast",
    "memory_size3.wast",
    "memory_size_import.wast",
    "memory_trap0.wast",
    "memory_trap1.wast",
    "simd_memory-multi.wast",
    "start0.wast",
    "store0.wast",
    "store1.wast",
    "store2.wast",
    "traps0.wast",
    // function references: the proposal's own scripts, and the 3.0 versions of the
    // 2.0 scripts it extends with typed references
    "br_on_non_null.wast",
    "br_on_null.wast",
    "call_ref.wast",
    "ref_as_non_null.wast",
    "return_call_ref.wast",
    "local_init.wast",
    "ref.wast",
    "ref_func.wast",
    "ref_is_null.wast",
    "table-sub.wast",
    "unreached-valid.wast",
    "br_table.wast",
    "instance.wast",
    "linking.wast",
    "table.wast",
    "select.wast",
    "elem.wast",
    "global.wast",
    // GC's type system for function types: recursion groups, type equivalence across
    // modules, declared subtypes (call_indirect, imports)
    "type-canon.wast",
    "type-equivalence.wast",
    "type-rec.wast",
    "type-subtyping.wast",
    // GC: structs, arrays, i31, the any/eq hierarchy, casts, and the 3.0 versions of
    // the 2.0 scripts it extends
    "array.wast",
    "array_copy.wast",
    "array_fill.wast",
    "array_init_data.wast",
    "array_init_elem.wast",
    "array_new_data.wast",
    "array_new_elem.wast",
    "binary-gc.wast",
    "br_on_cast.wast",
    "br_on_cast_fail.wast",
    "extern.wast",
    "i31.wast",
    "ref_cast.wast",
    "ref_eq.wast",
    "ref_null.wast",
    "ref_test.wast",
    "struct.wast",
    "proposals/threads/atomic.wast",
    "proposals/threads/exports.wast",
    "proposals/threads/imports.wast",
    "proposals/threads/memory.wast",
    "proposals/wide-arithmetic/wide-arithmetic.wast",
    "proposals/custom-page-sizes/binary.wast",
    "proposals/custom-page-sizes/custom-page-sizes-invalid.wast",
    "proposals/custom-page-sizes/custom-page-sizes.wast",
    "proposals/custom-page-sizes/memory_max.wast",
    "proposals/custom-page-sizes/memory_max_i64.wast",
    "proposals/custom-descriptors/array_new_exact.wast",
    "proposals/custom-descriptors/binary-descriptors.wast",
    "proposals/custom-descriptors/binary.wast",
    "proposals/custom-descriptors/br_on_cast.wast",
    "proposals/custom-descriptors/br_on_cast_desc_eq.wast",
    "proposals/custom-descriptors/br_on_cast_desc_eq_fail.wast",
    "proposals/custom-descriptors/br_on_cast_fail.wast",
    "proposals/custom-descriptors/descriptors.wast",
    "proposals/custom-descriptors/exact-casts.wast",
    "proposals/custom-descriptors/exact-func-import.wast",
    "proposals/custom-descriptors/exact.wast",
    "proposals/custom-descriptors/ref_cast_desc_eq.wast",
    "proposals/custom-descriptors/ref_get_desc.wast",
    "proposals/custom-descriptors/struct_new_desc.wast",
];
const PROPOSAL_PREFIX: &str = "wasm-3.0/";
/// The custom descriptors proposal's scripts, run with `Config::custom_descriptors`.
const CUSTOM_DESCRIPTORS_PREFIX: &str = "wasm-3.0/proposals/custom-descriptors/";
/// The legacy exception-handling scripts, which `unfold_legacy_try` rewrites.
const LEGACY_PREFIX: &str = "wasm-3.0/legacy/";
const NAME_WIDTH: usize = 28;
const REASON_MAX_CHARS: usize = 160;

const EXPECTATIONS_HEADER: &str = "\
# Known failures of the WebAssembly spec test suite, checked by engine/tests/spec.rs.
#
# Format: one `file.wast:LINE  reason` per line (LINE is the 1-based line of the failing
# directive); `#` comments and blank lines are ignored. A failure listed here does not fail
# the run; an unlisted one does. A listed entry that passes again is reported as NOW PASSING
# and should be removed.
#
# Regenerate with: SIDEWINDER_SPEC_BLESS=1 cargo test -p sidewinder-engine --test spec
# (with a filter active, only the entries of the files that ran are replaced).
";

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    // `cargo test -- --list` asks every test binary what it contains; running the whole
    // suite in response would be a surprise.
    if args.iter().any(|a| a == "--list") {
        println!("spec: test");
        return;
    }
    let settings = Settings::new(&args);
    install_panic_hook(settings.verbose);
    process::exit(run(&settings));
}

struct Settings {
    corpus: PathBuf,
    corpus3: PathBuf,
    proposals: bool,
    expectations: PathBuf,
    filter: Option<String>,
    bless: bool,
    verbose: bool,
    timeout: Duration,
}

impl Settings {
    fn new(args: &[String]) -> Settings {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let corpus = match env::var_os("SIDEWINDER_SPEC_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => manifest.join("..").join("..").join("shared").join("testsuite").join("wasm-2.0"),
        };
        let corpus3 = match env::var_os("SIDEWINDER_SPEC3_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => manifest.join("..").join("..").join("shared").join("testsuite").join("wasm-3.0"),
        };
        let filter = filter_from_args(args)
            .or_else(|| env::var("SIDEWINDER_SPEC_FILTER").ok())
            .filter(|f| !f.is_empty());
        let timeout = env::var("SIDEWINDER_SPEC_TIMEOUT")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(DEFAULT_TIMEOUT_SECS);
        Settings {
            corpus,
            corpus3,
            proposals: env::var("SIDEWINDER_SPEC_PROPOSALS").as_deref() != Ok("0"),
            expectations: manifest.join("tests").join("spec-expectations.txt"),
            filter,
            bless: env_flag("SIDEWINDER_SPEC_BLESS"),
            verbose: env_flag("SIDEWINDER_SPEC_VERBOSE"),
            timeout: Duration::from_secs(timeout),
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

// ---------------------------------------------------------------------------------------------
// The whole run: files, expectations, summary.
// ---------------------------------------------------------------------------------------------

type Key = (String, usize);

/// Returns the process exit code.
fn run(settings: &Settings) -> i32 {
    if !settings.corpus.is_dir() {
        warn_missing_corpus(&settings.corpus);
        println!("spec: 0 passed, 0 failed");
        return 0;
    }
    // Like a missing corpus, an unsupported host must not fail everybody's `cargo test`.
    if let Err(e) = Engine::new(Config::default()) {
        eprintln!("WARNING: spec tests skipped, the engine cannot run on this machine: {e}");
        println!("spec: 0 passed, 0 failed");
        return if matches!(e, Error::Unsupported(_)) { 0 } else { 1 };
    }
    let setup = load_expectations(&settings.expectations)
        .map_err(|e| format!("cannot read {}: {e}", settings.expectations.display()))
        .and_then(|expected| {
            list_scripts(&settings.corpus, settings.filter.as_deref())
                .map(|files| (expected, files))
                .map_err(|e| format!("cannot list {}: {e}", settings.corpus.display()))
        });
    let (expected, mut files) = match setup {
        Ok(setup) => setup,
        Err(message) => {
            eprintln!("error: {message}");
            println!("spec: 0 passed, 0 failed");
            return 1;
        }
    };

    if !settings.proposals {
        println!("wasm-3.0 proposal scripts not run (SIDEWINDER_SPEC_PROPOSALS=0)");
    } else if settings.corpus3.is_dir() {
        files.extend(proposal_scripts(&settings.corpus3, settings.filter.as_deref()));
    } else {
        eprintln!(
            "WARNING: the wasm-3.0 corpus is missing ({}): its proposal scripts (exceptions, tail calls, relaxed SIMD, multiple memories) were NOT run",
            settings.corpus3.display()
        );
    }

    let mut summary = Summary::default();
    for (name, path) in &files {
        let name = name.clone();
        let started = Instant::now();
        let checks = match fs::read_to_string(path) {
            Ok(text) if name.starts_with(LEGACY_PREFIX) => {
                run_file_isolated(unfold_legacy_try(&text), settings.timeout, engine_config(&name))
            }
            Ok(text) => run_file_isolated(text, settings.timeout, engine_config(&name)),
            Err(e) => vec![Check::failed(1, format!("cannot read: {e}"))],
        };
        summary.add_file(&name, &checks, &expected, started.elapsed(), settings.verbose);
    }

    if settings.filter.is_none() {
        let present: BTreeSet<String> = files.iter().map(|(name, _)| name.clone()).collect();
        let proposals_ran = settings.proposals && settings.corpus3.is_dir();
        let stale =
            |file: &String| !present.contains(file) && (proposals_ran || !file.starts_with(PROPOSAL_PREFIX));
        for (file, line) in expected.keys().filter(|(file, _)| stale(file)) {
            println!("STALE (not in the corpus; remove from spec-expectations.txt): {file}:{line}");
        }
    }

    let mut exit_code = i32::from(summary.unlisted > 0);
    if settings.bless {
        let mut entries: BTreeMap<Key, String> = BTreeMap::new();
        if settings.filter.is_some() {
            let ran = &summary.ran_files;
            entries.extend(expected.into_iter().filter(|((file, _), _)| !ran.contains(file)));
        }
        entries.extend(summary.failures);
        exit_code = match write_expectations(&settings.expectations, &entries) {
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
                 spec-expectations.txt (SIDEWINDER_SPEC_BLESS=1 rewrites it)",
                summary.unlisted
            );
        }
        if summary.now_passing > 0 {
            println!(
                "{} expected failure(s) now pass; remove them from spec-expectations.txt",
                summary.now_passing
            );
        }
    }
    println!(
        "spec: {} passed, {} failed ({} invocations of trap-free functions also made without the \
         trampoline, {} of them with externrefs also through ExternCaller; {} invocations made \
         through WideCaller)",
        summary.passed,
        summary.failed,
        TRAP_FREE_CROSS_CHECKS.load(std::sync::atomic::Ordering::Relaxed),
        EXTERN_CROSS_CHECKS.load(std::sync::atomic::Ordering::Relaxed),
        WIDE_CALLS.load(std::sync::atomic::Ordering::Relaxed)
    );
    exit_code
}

#[derive(Default)]
struct Summary {
    passed: usize,
    failed: usize,
    /// Failures not listed in the expectations file: these fail the run.
    unlisted: usize,
    now_passing: usize,
    ran_files: BTreeSet<String>,
    /// Every current failure with its first message, for blessing.
    failures: BTreeMap<Key, String>,
}

impl Summary {
    /// Counts one file's checks and prints its progress line and failures.
    fn add_file(
        &mut self,
        name: &str,
        checks: &[Check],
        expected: &BTreeMap<Key, String>,
        elapsed: Duration,
        verbose: bool,
    ) {
        let mut report = Vec::new();
        let mut failed_lines = BTreeSet::new();
        let mut listed = 0;
        for check in checks {
            let Err(message) = &check.result else {
                continue;
            };
            let key = (name.to_string(), check.line);
            failed_lines.insert(check.line);
            if expected.contains_key(&key) {
                listed += 1;
                if verbose {
                    report.push(format!("    expected failure {name}:{}: {message}", check.line));
                }
            } else {
                self.unlisted += 1;
                report.push(format!("    FAIL {name}:{}: {message}", check.line));
            }
            self.failures.entry(key).or_insert_with(|| message.clone());
        }
        for (_, line) in expected.keys().filter(|(file, line)| file == name && !failed_lines.contains(line)) {
            self.now_passing += 1;
            report.push(format!("    NOW PASSING (remove from spec-expectations.txt): {name}:{line}"));
        }

        let passed = checks.iter().filter(|c| c.result.is_ok()).count();
        let failed = checks.len() - passed;
        let listed = if listed > 0 { format!("  [{listed} expected]") } else { String::new() };
        let secs = elapsed.as_secs_f64();
        println!("  {name:<NAME_WIDTH$} {passed:>5} passed {failed:>5} failed   ({secs:.2}s){listed}");
        for line in report {
            println!("{line}");
        }
        self.passed += passed;
        self.failed += failed;
        self.ran_files.insert(name.to_string());
    }
}

fn warn_missing_corpus(dir: &Path) {
    let rule = "=".repeat(78);
    eprintln!("{rule}");
    eprintln!("WARNING: the WebAssembly spec test corpus is missing:");
    eprintln!("    {}", dir.display());
    eprintln!("The spec tests were NOT run. Point SIDEWINDER_SPEC_DIR at a directory of *.wast");
    eprintln!("files (the wasm-2.0 tests of https://github.com/WebAssembly/testsuite), e.g.");
    eprintln!("    SIDEWINDER_SPEC_DIR=/path/to/testsuite cargo test -p sidewinder-engine --test spec");
    eprintln!("{rule}");
}

/// The `*.wast` files of `dir`, as (name, path).
fn list_scripts(dir: &Path, filter: Option<&str>) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "wast") && filter.is_none_or(|f| name.contains(f)) {
            files.push((name.to_string(), path.clone()));
        }
    }
    files.sort();
    Ok(files)
}

/// The `wast` crate reads the legacy `try` only in its flat form (`try bt instr*
/// catch $t instr* catch_all instr* end`, `try bt instr* delegate $l`), while the legacy
/// scripts use the folded one (`(try bt (do instr*) (catch $t instr*) (delegate $l))`).
/// This rewrites folded into flat in place, character for character except that the
/// closing parenthesis of a `try` without `delegate` becomes ` end`, so line numbers
/// stay those of the original script.
fn unfold_legacy_try(text: &str) -> String {
    struct List {
        open: usize,
        close: usize,
        head: String,
        parent: Option<usize>,
    }
    let bytes = text.as_bytes();
    let mut lists: Vec<List> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b';' if bytes.get(i + 1) == Some(&b';') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' if bytes.get(i + 1) == Some(&b';') => {
                while i + 1 < bytes.len() && !(bytes[i] == b';' && bytes[i + 1] == b')') {
                    i += 1;
                }
                i += 1;
            }
            b'(' => {
                let head: String = text[i + 1..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '(' && *c != ')')
                    .collect();
                lists.push(List { open: i, close: i, head, parent: open.last().copied() });
                open.push(lists.len() - 1);
            }
            b')' => {
                if let Some(l) = open.pop() {
                    lists[l].close = i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    // (position, replacement) pairs; each replaces one character.
    let mut edits: Vec<(usize, &str)> = Vec::new();
    for (index, list) in lists.iter().enumerate() {
        let children = || lists.iter().filter(move |c| c.parent == Some(index));
        if list.head != "try" || !children().any(|c| c.head == "do") {
            continue;
        }
        edits.push((list.open, " "));
        let mut delegates = false;
        for child in children() {
            match child.head.as_str() {
                "do" => edits.extend([(child.open, " "), (child.open + 1, " "), (child.open + 2, " ")]),
                "catch" | "catch_all" => edits.push((child.open, " ")),
                "delegate" => {
                    delegates = true;
                    edits.push((child.open, " "));
                }
                _ => continue,
            }
            edits.push((child.close, " "));
        }
        edits.push((list.close, if delegates { " " } else { " end" }));
    }
    edits.sort();
    let mut out = String::with_capacity(text.len() + 4 * edits.len());
    let mut at = 0;
    for (pos, replacement) in edits {
        out.push_str(&text[at..pos]);
        out.push_str(replacement);
        at = pos + 1;
    }
    out.push_str(&text[at..]);
    out
}

/// The `PROPOSAL_FILES` of the wasm-3.0 corpus. A listed file that is missing is a
/// failure of its own, so a moved corpus cannot silently shrink the run.
fn proposal_scripts(dir: &Path, filter: Option<&str>) -> Vec<(String, PathBuf)> {
    PROPOSAL_FILES
        .iter()
        .map(|file| (format!("{PROPOSAL_PREFIX}{file}"), dir.join(file)))
        .filter(|(name, _)| filter.is_none_or(|f| name.contains(f)))
        .collect()
}

fn load_expectations(path: &Path) -> std::io::Result<BTreeMap<Key, String>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let mut entries = BTreeMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, reason) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        match key.rsplit_once(':').and_then(|(file, n)| Some((file, n.parse::<usize>().ok()?))) {
            Some((file, n)) => {
                entries.insert((file.to_string(), n), reason.trim().to_string());
            }
            None => eprintln!(
                "warning: {}:{}: ignoring malformed entry (expected `file.wast:LINE  reason`)",
                path.display(),
                index + 1
            ),
        }
    }
    Ok(entries)
}

fn write_expectations(path: &Path, entries: &BTreeMap<Key, String>) -> std::io::Result<()> {
    let mut out = String::from(EXPECTATIONS_HEADER);
    out.push('\n');
    for ((file, line), reason) in entries {
        let reason: String = one_line(reason).chars().take(REASON_MAX_CHARS).collect();
        let _ = writeln!(out, "{file}:{line}  {reason}");
    }
    fs::write(path, out)
}

// ---------------------------------------------------------------------------------------------
// One file, isolated in its own thread.
// ---------------------------------------------------------------------------------------------

/// The result of one assertion; `Err` holds what went wrong.
struct Check {
    line: usize,
    result: Result<(), String>,
}

impl Check {
    fn failed(line: usize, message: String) -> Check {
        Check { line, result: Err(message) }
    }
}

/// Shared with the worker so that whatever it recorded survives if it dies or hangs.
#[derive(Default)]
struct Progress {
    /// Lines of every assertion in the file, known once it has parsed.
    planned: Option<Vec<usize>>,
    checks: Vec<Check>,
}

fn lock(progress: &Mutex<Progress>) -> MutexGuard<'_, Progress> {
    // A poisoned lock only means the worker panicked; what it recorded is still valid.
    progress.lock().unwrap_or_else(PoisonError::into_inner)
}

fn run_file_isolated(text: String, timeout: Duration, config: Config) -> Vec<Check> {
    let progress = Arc::new(Mutex::new(Progress::default()));
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let worker_progress = Arc::clone(&progress);
    let spawned =
        thread::Builder::new().name("spec-worker".to_string()).stack_size(WORKER_STACK).spawn(move || {
            run_file(&text, &worker_progress, config);
            // Never sent when the worker dies, which the receiver sees as a disconnect.
            let _ = done_tx.send(());
        });
    let worker = match spawned {
        Ok(handle) => handle,
        Err(e) => {
            let message = format!("cannot spawn the runner thread: {e}");
            return vec![Check::failed(1, message)];
        }
    };

    let abandoned = match done_rx.recv_timeout(timeout) {
        Ok(()) => {
            let _ = worker.join();
            None
        }
        Err(RecvTimeoutError::Disconnected) => Some(match worker.join() {
            Err(payload) => format!("runner thread died: {}", panic_message(&*payload)),
            Ok(()) => "runner thread stopped early".to_string(),
        }),
        // Threads cannot be killed; the stuck one keeps running until the process exits.
        Err(RecvTimeoutError::Timeout) => Some(format!(
            "timed out after {}s (SIDEWINDER_SPEC_TIMEOUT); the rest of the file was not run",
            timeout.as_secs()
        )),
    };

    let progress = std::mem::take(&mut *lock(&progress));
    let mut checks = progress.checks;
    if let Some(reason) = abandoned {
        match progress.planned {
            Some(planned) => {
                let rest: Vec<usize> = planned.into_iter().skip(checks.len()).collect();
                checks.extend(rest.into_iter().map(|line| Check::failed(line, reason.clone())));
            }
            None => checks.push(Check::failed(1, reason)),
        }
    }
    checks
}

/// Runs on the worker thread.
fn run_file(text: &str, progress: &Arc<Mutex<Progress>>, config: Config) {
    let parse_failed = |e: wast::Error| {
        let line = line_of(e.span(), text);
        let message = format!("cannot parse the script: {}", e.message());
        lock(progress).checks.push(Check::failed(line, message));
    };
    let mut lexer = Lexer::new(text);
    // names.wast and friends deliberately use bidi and other look-alike characters.
    lexer.allow_confusing_unicode(true);
    let buf = match ParseBuffer::new_with_lexer(lexer) {
        Ok(buf) => buf,
        Err(e) => return parse_failed(e),
    };
    let script = match parser::parse::<Wast>(&buf) {
        Ok(script) => script,
        Err(e) => return parse_failed(e),
    };
    let planned: Vec<usize> =
        script.directives.iter().filter(|d| is_assertion(d)).map(|d| line_of(d.span(), text)).collect();
    lock(progress).planned = Some(planned.clone());

    match guarded(|| {
        SpecRunner::new(Arc::clone(progress), config).map_err(|e| format!("cannot create engine: {e}"))
    }) {
        Ok(mut runner) => {
            runner.run_script(script.directives, text);
            if let Err(message) = guarded(move || {
                drop(runner);
                Ok(())
            }) {
                let last = planned.last().copied().unwrap_or(1);
                let message = format!("while dropping the store: {message}");
                lock(progress).checks.push(Check::failed(last, message));
            }
        }
        Err(message) => {
            let mut progress = lock(progress);
            progress.checks.extend(planned.into_iter().map(|line| Check::failed(line, message.clone())));
        }
    }
}

/// Directives that count as one assertion each. `register` only names an instance.
fn is_assertion(directive: &WastDirective<'_>) -> bool {
    !matches!(directive, WastDirective::Register { .. })
}

fn line_of(span: Span, text: &str) -> usize {
    span.linecol_in(text).0 + 1
}

// ---------------------------------------------------------------------------------------------
// Panics: an engine panic is one failed assertion, not the end of the run.
// ---------------------------------------------------------------------------------------------

thread_local! {
    /// Whether the current thread is inside `guarded`, where a panic becomes a failed assertion.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
    static PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_panic_hook(verbose: bool) {
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        // A guarded panic is reported as a failure with its message and location; thousands
        // of default panic reports would bury the summary. Panics anywhere else are harness
        // bugs and get the full default report.
        if GUARDED.get() {
            PANIC_LOCATION.set(info.location().map(ToString::to_string));
            if !verbose {
                return;
            }
        }
        default_hook(info);
    }));
}

fn panic_message(payload: &dyn Any) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    let outer = GUARDED.replace(true);
    let outcome = panic::catch_unwind(AssertUnwindSafe(f));
    GUARDED.set(outer);
    match outcome {
        Ok(result) => result,
        Err(payload) => {
            let location = PANIC_LOCATION.take();
            let at = location.map(|l| format!(" (at {l})")).unwrap_or_default();
            Err(format!("PANIC: {}{at}", one_line(&panic_message(&*payload))))
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------------------------------------
// The script interpreter.
// ---------------------------------------------------------------------------------------------

/// Why a module could not be instantiated.
enum InstantiateError {
    /// No registered instance (or `spectest`) provides this import.
    Unresolved(String),
    Engine(Error),
}

impl fmt::Display for InstantiateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstantiateError::Unresolved(m) => write!(f, "unresolved import: {m}"),
            InstantiateError::Engine(e) => write!(f, "{e}"),
        }
    }
}

impl From<Error> for InstantiateError {
    fn from(e: Error) -> Self {
        InstantiateError::Engine(e)
    }
}

// Fields drop in declaration order: instances and host objects go before the store and
// engine that own their memory.
struct SpecRunner {
    /// The most recently instantiated module, the target of anonymous `invoke`/`get`.
    current: Option<Instance>,
    /// Instances by their `$name` in the script.
    named: HashMap<String, Instance>,
    /// Instances importable by module name, from `register`.
    registered: HashMap<String, Instance>,
    /// `(module definition ...)` modules, by name; `last_definition` is for the unnamed case.
    definitions: HashMap<String, Module>,
    last_definition: Option<Module>,
    /// Built on first use so that a failure to create a host object only fails the
    /// modules that import `spectest`.
    spectest: Option<HashMap<&'static str, Extern>>,
    store: Store,
    engine: Engine,
    progress: Arc<Mutex<Progress>>,
}

/// An action's outcome: the outer `Err` means the harness could not even perform it
/// (unknown export, unresolved import, compile error), the inner one is the engine's answer.
type ActionResult = Result<Result<Vec<Val>, Error>, String>;

impl SpecRunner {
    fn new(progress: Arc<Mutex<Progress>>, config: Config) -> Result<SpecRunner, Error> {
        let engine = Engine::new(config)?;
        let store = Store::new(&engine);
        Ok(SpecRunner {
            current: None,
            named: HashMap::new(),
            registered: HashMap::new(),
            definitions: HashMap::new(),
            last_definition: None,
            spectest: None,
            store,
            engine,
            progress,
        })
    }

    fn run_script(&mut self, directives: Vec<WastDirective<'_>>, text: &str) {
        for mut directive in directives {
            let line = line_of(directive.span(), text);
            let result = guarded(|| self.directive(&mut directive));
            if is_assertion(&directive) {
                lock(&self.progress).checks.push(Check { line, result });
            }
        }
    }

    fn directive(&mut self, directive: &mut WastDirective<'_>) -> Result<(), String> {
        match directive {
            WastDirective::Module(module) => self.module(module),
            WastDirective::ModuleDefinition(module) => {
                let compiled = self.compile(module)?;
                if let Some(id) = module.name() {
                    self.definitions.insert(id.name().to_string(), compiled.clone());
                }
                self.last_definition = Some(compiled);
                Ok(())
            }
            WastDirective::ModuleInstance { instance, module, .. } => {
                let definition = match module {
                    Some(id) => self.definitions.get(id.name()),
                    None => self.last_definition.as_ref(),
                };
                let definition = definition.cloned().ok_or("no such module definition")?;
                let name = instance.map(|id| id.name().to_string());
                self.forget(name.as_deref());
                let created =
                    self.instantiate(&definition).map_err(|e| format!("instantiation failed: {e}"))?;
                self.remember(name, created);
                Ok(())
            }
            WastDirective::Register { name, module, .. } => {
                let instance = self.instance(*module)?;
                self.registered.insert(name.to_string(), instance);
                Ok(())
            }
            WastDirective::Invoke(call) => match self.invoke(call)? {
                Ok(_) => Ok(()),
                Err(e) => Err(format!("invoke \"{}\" failed: {e}", call.name)),
            },
            WastDirective::AssertReturn { exec, results, .. } => match self.execute(exec)? {
                Ok(values) => check_results(&values, results),
                Err(e) => Err(format!("expected {}, got {e}", describe_rets(results))),
            },
            WastDirective::AssertTrap { exec, message, .. } => {
                let result = self.execute(exec)?;
                expect_trap(result, message)
            }
            WastDirective::AssertExhaustion { call, message, .. } => {
                let result = self.invoke(call)?;
                expect_trap(result, message)
            }
            WastDirective::AssertInvalid { module, message, .. } => {
                self.expect_compile_error(module, message, false)
            }
            WastDirective::AssertMalformed { module, message, .. } => {
                // The text format is part of what is malformed: `wat` rejecting it is a pass.
                self.expect_compile_error(module, message, true)
            }
            WastDirective::AssertUnlinkable { module, message, .. } => {
                let bytes = module.encode().map_err(|e| format!("cannot encode module: {}", e.message()))?;
                let compiled = Module::new(&self.engine, &bytes)
                    .map_err(|e| format!("module failed to compile: {e}"))?;
                match self.instantiate(&compiled) {
                    Ok(_) => Err(format!("expected link failure \"{message}\", but it instantiated")),
                    Err(InstantiateError::Unresolved(_) | InstantiateError::Engine(Error::Link(_))) => Ok(()),
                    Err(e) => Err(format!("expected link failure \"{message}\", got {e}")),
                }
            }
            WastDirective::AssertException { exec, .. } => match self.execute(exec)? {
                Err(Error::Exception(_)) => Ok(()),
                Ok(values) => Err(format!("expected an exception, got {}", describe_vals(&values))),
                Err(e) => Err(format!("expected an exception, got {e}")),
            },
            WastDirective::AssertSuspension { .. } => {
                Err("assert_suspension: stack switching is not supported".into())
            }
            WastDirective::AssertInvalidCustom { .. } | WastDirective::AssertMalformedCustom { .. } => {
                Err("custom-section assertions are not supported".into())
            }
            WastDirective::Thread(_) | WastDirective::Wait { .. } => Err("threads are not supported".into()),
        }
    }

    fn module(&mut self, module: &mut QuoteWat<'_>) -> Result<(), String> {
        let name = module.name().map(|id| id.name().to_string());
        // If this module fails, later invokes must fail too instead of silently running an
        // older module's exports.
        self.forget(name.as_deref());
        let compiled = self.compile(module)?;
        let instance = self.instantiate(&compiled).map_err(|e| format!("instantiation failed: {e}"))?;
        self.remember(name, instance);
        Ok(())
    }

    fn forget(&mut self, name: Option<&str>) {
        self.current = None;
        if let Some(name) = name {
            self.named.remove(name);
        }
    }

    fn remember(&mut self, name: Option<String>, instance: Instance) {
        if let Some(name) = name {
            self.named.insert(name, instance.clone());
        }
        self.current = Some(instance);
    }

    fn compile(&self, module: &mut QuoteWat<'_>) -> Result<Module, String> {
        let bytes = module.encode().map_err(|e| format!("cannot encode module: {}", e.message()))?;
        Module::new(&self.engine, &bytes).map_err(|e| format!("compile error: {e}"))
    }

    fn expect_compile_error(
        &self,
        module: &mut QuoteWat<'_>,
        message: &str,
        encode_error_passes: bool,
    ) -> Result<(), String> {
        let bytes = match module.encode() {
            Ok(bytes) => bytes,
            Err(_) if encode_error_passes => return Ok(()),
            Err(e) => return Err(format!("cannot encode module: {}", e.message())),
        };
        match Module::new(&self.engine, &bytes) {
            Ok(_) => Err(format!("expected compile error \"{message}\", but the module compiled")),
            Err(Error::Compile { .. }) => Ok(()),
            Err(e) => Err(format!("expected compile error \"{message}\", got {e}")),
        }
    }

    fn instance(&self, name: Option<Id<'_>>) -> Result<Instance, String> {
        match name {
            Some(id) => self
                .named
                .get(id.name())
                .cloned()
                .ok_or_else(|| format!("no instance named ${} (did its module fail?)", id.name())),
            None => self
                .current
                .clone()
                .ok_or_else(|| "no current instance (did the last module fail?)".to_string()),
        }
    }

    fn instantiate(&mut self, module: &Module) -> Result<Instance, InstantiateError> {
        let mut imports = Vec::new();
        for import in module.imports() {
            // Kind and type mismatches are the engine's to detect, so only a missing
            // name is decided here.
            let resolved = if import.module == "spectest" {
                self.spectest()?.get(import.name.as_str()).cloned()
            } else {
                self.registered.get(&import.module).and_then(|instance| instance.get_export(&import.name))
            };
            let resolved = resolved.ok_or_else(|| {
                InstantiateError::Unresolved(format!("\"{}\" \"{}\"", import.module, import.name))
            })?;
            imports.push(resolved);
        }
        Ok(Instance::new(&self.store, module, &imports)?)
    }

    fn spectest(&mut self) -> Result<&HashMap<&'static str, Extern>, Error> {
        let items = match self.spectest.take() {
            Some(items) => items,
            None => build_spectest(&self.store)?,
        };
        Ok(self.spectest.insert(items))
    }

    fn invoke(&mut self, call: &WastInvoke<'_>) -> ActionResult {
        let instance = self.instance(call.module)?;
        let func = match instance.get_export(call.name) {
            Some(Extern::Func(func)) => func,
            Some(_) => return Err(format!("export \"{}\" is not a function", call.name)),
            None => return Err(format!("no export named \"{}\"", call.name)),
        };
        let args = call.args.iter().map(arg_to_val).collect::<Result<Vec<_>, _>>()?;
        let outcome = match call_wide_every_other_time(&func, &args) {
            Some(outcome) => outcome,
            None => func.call(&args),
        };
        cross_check_trap_free_call(&func, &args, &outcome)?;
        cross_check_extern_call(&func, &args, &outcome)?;
        Ok(outcome)
    }

    fn execute(&mut self, exec: &mut WastExecute<'_>) -> ActionResult {
        match exec {
            WastExecute::Invoke(call) => self.invoke(call),
            WastExecute::Get { module, global, .. } => match self.instance(*module)?.get_export(global) {
                Some(Extern::Global(g)) => Ok(Ok(vec![g.get()])),
                Some(_) => Err(format!("export \"{global}\" is not a global")),
                None => Err(format!("no export named \"{global}\"")),
            },
            // Instantiating a module as an action: the spec's "uninstantiable" checks.
            WastExecute::Wat(wat) => {
                let bytes = wat.encode().map_err(|e| format!("cannot encode module: {}", e.message()))?;
                let compiled =
                    Module::new(&self.engine, &bytes).map_err(|e| format!("compile error: {e}"))?;
                match self.instantiate(&compiled) {
                    Ok(_) => Ok(Ok(Vec::new())),
                    Err(InstantiateError::Engine(e)) => Ok(Err(e)),
                    Err(e) => Err(e.to_string()),
                }
            }
        }
    }
}

/// The `spectest` module that the reference interpreter provides to every script.
fn build_spectest(store: &Store) -> Result<HashMap<&'static str, Extern>, Error> {
    use ValType::{F32, F64, I32, I64};
    let mut items = HashMap::new();
    let funcs: [(&str, &[ValType]); 7] = [
        ("print", &[]),
        ("print_i32", &[I32]),
        ("print_i64", &[I64]),
        ("print_f32", &[F32]),
        ("print_f64", &[F64]),
        ("print_i32_f32", &[I32, F32]),
        ("print_f64_f64", &[F64, F64]),
    ];
    for (name, params) in funcs {
        let ty = FuncType::new(params.iter().copied(), []);
        items.insert(name, Extern::Func(Func::new(store, ty, |_, _| Ok(()))));
    }
    let globals = [
        ("global_i32", Val::I32(666)),
        ("global_i64", Val::I64(666)),
        ("global_f32", Val::F32(666.6f32.to_bits())),
        ("global_f64", Val::F64(666.6f64.to_bits())),
    ];
    for (name, value) in globals {
        let ty = GlobalType { content: value.ty(), mutable: false };
        items.insert(name, Extern::Global(Global::new(store, ty, value)?));
    }
    let table = TableType { element: ValType::FUNCREF, minimum: 10, maximum: Some(20), table64: false };
    items.insert("table", Extern::Table(Table::new(store, table, Val::FuncRef(None))?));
    // The wasm-3.0 reference interpreter's spectest also has a 64-bit table.
    let table64 = TableType { element: ValType::FUNCREF, minimum: 10, maximum: Some(20), table64: true };
    items.insert("table64", Extern::Table(Table::new(store, table64, Val::FuncRef(None))?));
    let memory =
        MemoryType { minimum: 1, maximum: Some(2), memory64: false, shared: false, page_size_log2: 16 };
    items.insert("memory", Extern::Memory(Memory::new(store, memory)?));
    // The threads proposal's spectest also has a shared memory.
    let shared_memory =
        MemoryType { minimum: 1, maximum: Some(2), memory64: false, shared: true, page_size_log2: 16 };
    items.insert("shared_memory", Extern::Memory(Memory::new(store, shared_memory)?));
    Ok(items)
}

// ---------------------------------------------------------------------------------------------
// Values.
// ---------------------------------------------------------------------------------------------

fn arg_to_val(arg: &WastArg<'_>) -> Result<Val, String> {
    let WastArg::Core(arg) = arg else {
        return Err("component-model arguments are not supported".into());
    };
    Ok(match arg {
        WastArgCore::I32(x) => Val::I32(*x),
        WastArgCore::I64(x) => Val::I64(*x),
        WastArgCore::F32(x) => Val::F32(x.bits),
        WastArgCore::F64(x) => Val::F64(x.bits),
        WastArgCore::V128(v) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
        WastArgCore::RefNull(heap) => match null_kind(heap) {
            Some(ValType::FUNCREF) => Val::FuncRef(None),
            Some(ValType::EXNREF) => Val::ExnRef(None),
            Some(ValType::EXTERNREF) => Val::ExternRef(None),
            // A null of a defined type the script cannot tell apart: null is null in
            // every hierarchy (`Val::matches`).
            _ => Val::AnyRef(None),
        },
        // Host values are the same word in the `extern` and `any` hierarchies: the
        // reference interpreter's `ref.extern n` is `ref.host n` made external.
        WastArgCore::RefExtern(n) | WastArgCore::RefHost(n) => Val::ExternRef(Some(u64::from(*n))),
    })
}

/// Which of our reference types a null of this heap type is, if any.
fn null_kind(heap: &HeapType<'_>) -> Option<ValType> {
    match heap {
        HeapType::Abstract { shared: false, ty: AbstractHeapType::Func | AbstractHeapType::NoFunc } => {
            Some(ValType::FUNCREF)
        }
        HeapType::Abstract { shared: false, ty: AbstractHeapType::Extern | AbstractHeapType::NoExtern } => {
            Some(ValType::EXTERNREF)
        }
        HeapType::Abstract { shared: false, ty: AbstractHeapType::Exn | AbstractHeapType::NoExn } => {
            Some(ValType::EXNREF)
        }
        HeapType::Abstract {
            shared: false,
            ty:
                AbstractHeapType::Any
                | AbstractHeapType::Eq
                | AbstractHeapType::I31
                | AbstractHeapType::Struct
                | AbstractHeapType::Array
                | AbstractHeapType::None,
        } => Some(ValType::ANYREF),
        // A defined type may be a function, struct or array type: any null will do.
        _ => None,
    }
}

fn check_results(actual: &[Val], expected: &[WastRet<'_>]) -> Result<(), String> {
    let mismatch = || format!("expected {}, got {}", describe_rets(expected), describe_vals(actual));
    if actual.len() != expected.len() {
        return Err(mismatch());
    }
    for (value, pattern) in actual.iter().zip(expected) {
        let WastRet::Core(pattern) = pattern else {
            return Err("component-model results are not supported".into());
        };
        if !matches_ret(value, pattern)? {
            return Err(mismatch());
        }
    }
    Ok(())
}

/// `Err` when the pattern is one the engine cannot produce at all (SIMD, GC).
fn matches_ret(value: &Val, pattern: &WastRetCore<'_>) -> Result<bool, String> {
    Ok(match (pattern, value) {
        (WastRetCore::I32(e), Val::I32(a)) => e == a,
        (WastRetCore::I64(e), Val::I64(a)) => e == a,
        (WastRetCore::F32(e), Val::F32(a)) => f32_matches(e, *a),
        (WastRetCore::F64(e), Val::F64(a)) => f64_matches(e, *a),
        (WastRetCore::RefNull(heap), _) => {
            let is_null = matches!(
                value,
                Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None)
            );
            is_null
                && heap.as_ref().and_then(null_kind).is_none_or(|kind| kind.as_ref_type() == top_of(value))
        }
        (WastRetCore::RefExtern(None), _) => matches!(value, Val::ExternRef(Some(_)) | Val::AnyRef(Some(_))),
        (WastRetCore::RefExtern(Some(e)) | WastRetCore::RefHost(e), _) => {
            matches!(value, Val::ExternRef(Some(a)) if *a == u64::from(*e))
        }
        (WastRetCore::RefAny, _) => matches!(value, Val::ExternRef(Some(_)) | Val::AnyRef(Some(_))),
        (WastRetCore::RefEq, _) => matches!(value, Val::AnyRef(Some(_))),
        (WastRetCore::RefI31, _) => matches!(value, Val::AnyRef(Some(AnyRef::I31(_)))),
        (WastRetCore::RefStruct, _) => {
            matches!(value, Val::AnyRef(Some(AnyRef::Object(o))) if o.kind() == ObjectKind::Struct)
        }
        (WastRetCore::RefArray, _) => {
            matches!(value, Val::AnyRef(Some(AnyRef::Object(o))) if o.kind() == ObjectKind::Array)
        }
        // Which function a funcref points at is not observable from outside the instance.
        (WastRetCore::RefFunc(_), _) => matches!(value, Val::FuncRef(Some(_))),
        (WastRetCore::Either(alternatives), _) => {
            let mut unsupported = None;
            for alternative in alternatives {
                match matches_ret(value, alternative) {
                    Ok(true) => return Ok(true),
                    Ok(false) => {}
                    Err(e) => unsupported = Some(e),
                }
            }
            return unsupported.map_or(Ok(false), Err);
        }
        (WastRetCore::V128(pattern), Val::V128(bits)) => matches_v128(pattern, *bits),
        (WastRetCore::RefI31Shared, _) => return Err("shared references are not supported".into()),
        _ => false,
    })
}

/// Lane by lane, float lanes with the NaN patterns of scalar results.
fn matches_v128(pattern: &V128Pattern, bits: u128) -> bool {
    let bytes = bits.to_le_bytes();
    let lane = |i: usize, width: usize| -> u64 {
        let mut le = [0u8; 8];
        le[..width].copy_from_slice(&bytes[i * width..(i + 1) * width]);
        u64::from_le_bytes(le)
    };
    match pattern {
        V128Pattern::I8x16(e) => e.iter().enumerate().all(|(i, &x)| lane(i, 1) == x as u8 as u64),
        V128Pattern::I16x8(e) => e.iter().enumerate().all(|(i, &x)| lane(i, 2) == x as u16 as u64),
        V128Pattern::I32x4(e) => e.iter().enumerate().all(|(i, &x)| lane(i, 4) == x as u32 as u64),
        V128Pattern::I64x2(e) => e.iter().enumerate().all(|(i, &x)| lane(i, 8) == x as u64),
        V128Pattern::F32x4(e) => e.iter().enumerate().all(|(i, p)| f32_matches(p, lane(i, 4) as u32)),
        V128Pattern::F64x2(e) => e.iter().enumerate().all(|(i, p)| f64_matches(p, lane(i, 8))),
    }
}

fn f32_matches(pattern: &NanPattern<wast::token::F32>, bits: u32) -> bool {
    match pattern {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => bits & 0x7fc0_0000 == 0x7fc0_0000,
        NanPattern::Value(e) => e.bits == bits,
    }
}

fn f64_matches(pattern: &NanPattern<wast::token::F64>, bits: u64) -> bool {
    match pattern {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => bits & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
        NanPattern::Value(e) => e.bits == bits,
    }
}

fn expect_trap(result: Result<Vec<Val>, Error>, expected: &str) -> Result<(), String> {
    match result {
        Ok(values) => Err(format!("expected trap \"{expected}\", got {}", describe_vals(&values))),
        Err(Error::Trap(trap)) => {
            let actual = trap.to_string();
            // The suite sometimes appends detail ("uninitialized element 2"), and engines
            // sometimes add their own, so a prefix either way is a match.
            if !actual.is_empty() && (actual.starts_with(expected) || expected.starts_with(&actual)) {
                Ok(())
            } else {
                Err(format!("expected trap \"{expected}\", got trap \"{actual}\""))
            }
        }
        Err(e) => Err(format!("expected trap \"{expected}\", got {e}")),
    }
}

/// The nullable top type of a reference value's hierarchy, as `null_kind` names it.
fn top_of(value: &Val) -> Option<sidewinder_engine::RefType> {
    match value {
        Val::ExternRef(_) => ValType::EXTERNREF.as_ref_type(),
        other => other.ty().as_ref_type(),
    }
}

fn describe_vals(values: &[Val]) -> String {
    if values.is_empty() {
        return "no values".to_string();
    }
    let parts: Vec<String> = values
        .iter()
        .map(|v| match v {
            Val::I32(x) => format!("(i32.const {x})"),
            Val::I64(x) => format!("(i64.const {x})"),
            Val::F32(bits) => format!("(f32.const {} /* {bits:#010x} */)", f32::from_bits(*bits)),
            Val::F64(bits) => format!("(f64.const {} /* {bits:#018x} */)", f64::from_bits(*bits)),
            Val::V128(bits) => format!("(v128.const i64x2 {:#x} {:#x})", *bits as u64, (bits >> 64) as u64),
            Val::FuncRef(None) => "(ref.null func)".to_string(),
            Val::FuncRef(Some(_)) => "(ref.func)".to_string(),
            Val::ExternRef(None) => "(ref.null extern)".to_string(),
            Val::ExternRef(Some(n)) => format!("(ref.extern {n})"),
            Val::ExnRef(None) => "(ref.null exn)".to_string(),
            Val::ExnRef(Some(_)) => "(ref.exn)".to_string(),
            Val::AnyRef(None) => "(ref.null any)".to_string(),
            Val::AnyRef(Some(AnyRef::I31(v))) => format!("(ref.i31 {v})"),
            Val::AnyRef(Some(AnyRef::Object(o))) => format!("({o:?})"),
        })
        .collect();
    parts.join(" ")
}

fn describe_rets(patterns: &[WastRet<'_>]) -> String {
    fn core(pattern: &WastRetCore<'_>) -> String {
        fn nan<T>(p: &NanPattern<T>, ty: &str, value: impl Fn(&T) -> String) -> String {
            match p {
                NanPattern::CanonicalNan => format!("({ty}.const nan:canonical)"),
                NanPattern::ArithmeticNan => format!("({ty}.const nan:arithmetic)"),
                NanPattern::Value(v) => format!("({ty}.const {})", value(v)),
            }
        }
        match pattern {
            WastRetCore::I32(x) => format!("(i32.const {x})"),
            WastRetCore::I64(x) => format!("(i64.const {x})"),
            WastRetCore::F32(p) => {
                nan(p, "f32", |v| format!("{} /* {:#010x} */", f32::from_bits(v.bits), v.bits))
            }
            WastRetCore::F64(p) => {
                nan(p, "f64", |v| format!("{} /* {:#018x} */", f64::from_bits(v.bits), v.bits))
            }
            WastRetCore::RefNull(heap) => match heap.as_ref().and_then(null_kind) {
                Some(ValType::FUNCREF) => "(ref.null func)".to_string(),
                Some(_) => "(ref.null extern)".to_string(),
                None => "(ref.null)".to_string(),
            },
            WastRetCore::RefExtern(Some(n)) => format!("(ref.extern {n})"),
            WastRetCore::RefExtern(None) => "(ref.extern)".to_string(),
            WastRetCore::RefFunc(_) => "(ref.func)".to_string(),
            WastRetCore::Either(alternatives) => {
                let parts: Vec<String> = alternatives.iter().map(core).collect();
                format!("(either {})", parts.join(" "))
            }
            other => format!("{other:?}"),
        }
    }
    if patterns.is_empty() {
        return "no values".to_string();
    }
    let parts: Vec<String> = patterns
        .iter()
        .map(|p| match p {
            WastRet::Core(c) => core(c),
            other => format!("{other:?}"),
        })
        .collect();
    parts.join(" ")
}

/// The engine for the script `name`. `SIDEWINDER_SPEC_BOUNDS=explicit` runs the suite with
/// explicit bounds checks instead of guard pages, so both code paths are proven by the same
/// assertions. The wasm-2.0 scripts assert that a second memory is invalid, and that a
/// constant expression may not read a global the module defines; the wasm-3.0 ones use
/// both. So multi-memory and GC's validation rules are on for the latter only, unless
/// `SIDEWINDER_SPEC_WASM3=1` (or its older name `SIDEWINDER_SPEC_MULTI_MEMORY=1`).
/// `SIDEWINDER_SPEC_GC_STRESS=1` collects the GC heap at every allocation compiled code
/// cannot make in line (and gives it room for one object at a time), so the GC scripts'
/// objects must survive a collection at every allocation.
fn engine_config(name: &str) -> Config {
    let explicit = std::env::var("SIDEWINDER_SPEC_BOUNDS").is_ok_and(|v| v == "explicit");
    let flag = |var: &str| std::env::var(var).is_ok_and(|v| v == "1");
    let wasm3 = name.starts_with(PROPOSAL_PREFIX)
        || flag("SIDEWINDER_SPEC_WASM3")
        || flag("SIDEWINDER_SPEC_MULTI_MEMORY");
    let gc_collect_after =
        if flag("SIDEWINDER_SPEC_GC_STRESS") { 0 } else { Config::default().gc_collect_after };
    Config {
        explicit_bounds_checks: explicit,
        multi_memory: wasm3,
        gc_types: wasm3,
        custom_descriptors: name.starts_with(CUSTOM_DESCRIPTORS_PREFIX),
        gc_collect_after,
        ..Config::default()
    }
}

/// Invocations `call_wide_every_other_time` made through `WideCaller`.
static WIDE_CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// Invocations of functions `WideCaller` serves (but trap-free ones) seen so far.
static WIDE_SEEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Every other invocation of a function that `Func::wide_caller` serves and that may
/// trap or run host code is made through `WideCaller` instead of `Func::call` (the
/// others through `Func::call`, so both paths meet the corpus's assertions); its outcome
/// is the script's to check. Trap-free ones are pure, and `cross_check_trap_free_call`
/// makes all of theirs again through it.
fn call_wide_every_other_time(func: &Func, args: &[Val]) -> Option<Result<Vec<Val>, Error>> {
    let wide = func.wide_caller().filter(|_| !func.is_trap_free())?;
    if WIDE_SEEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed).is_multiple_of(2) {
        return None;
    }
    let mut area = wide_area(args)?;
    WIDE_CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Some(call_wide(func, &wide, &mut area))
}

/// `args` in the slots `WideCaller::call` takes them in, if they are all numbers.
fn wide_area(args: &[Val]) -> Option<[u64; WIDE_ARGS]> {
    let mut area = [0u64; WIDE_ARGS];
    for (slot, v) in area.iter_mut().zip(args) {
        *slot = number_bits(v)?;
    }
    Some(area)
}

/// The outcome of `func`'s call through `wide` with `area`, its results as `Func::call`
/// gives them: one from the value returned, several from the area, each masked to its
/// type.
fn call_wide(func: &Func, wide: &WideCaller, area: &mut [u64; WIDE_ARGS]) -> Result<Vec<Val>, Error> {
    let raw = wide.call(area)?;
    let value = |raw: u64, t: &ValType| match t {
        ValType::I32 => Val::I32(raw as i32),
        ValType::I64 => Val::I64(raw as i64),
        ValType::F32 => Val::F32(raw as u32),
        _ => Val::F64(raw),
    };
    Ok(match func.signature().results() {
        [t] => vec![value(raw, t)],
        types => types.iter().zip(area.iter()).map(|(t, &raw)| value(raw, t)).collect(),
    })
}

/// Invocations of trap-free functions that `cross_check_trap_free_call` made again.
static TRAP_FREE_CROSS_CHECKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A trap-free function (`Func::is_trap_free`) that sets no global is a pure function of
/// its arguments: its call through `Func::call_small`, straight into its code without
/// the entry trampoline, must give what `Func::call` gave, bit for bit. Each such
/// invocation in the corpus is made again that way.
fn cross_check_trap_free_call(
    func: &Func,
    args: &[Val],
    outcome: &Result<Vec<Val>, Error>,
) -> Result<(), String> {
    let wide = func.wide_caller();
    if !func.is_trap_free() || func.sets_globals() || !(func.takes_small_calls() || wide.is_some()) {
        return Ok(());
    }
    let Some(mut raw) = wide_area(args) else {
        return Ok(());
    };
    let expected: Vec<u64> = match outcome {
        Ok(results) => results.iter().filter_map(number_bits).collect(),
        Err(e) => return Err(format!("a trap-free function failed: {e}")),
    };
    TRAP_FREE_CROSS_CHECKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let called = match wide {
        Some(wide) => {
            call_wide(func, &wide, &mut raw).map(|results| results.iter().filter_map(number_bits).collect())
        }
        // `call_small` masks its result; without one it gives 0.
        None => func.call_small(std::array::from_fn(|i| raw[i])).map(|r| {
            if func.signature().results().is_empty() {
                Vec::new()
            } else {
                vec![r]
            }
        }),
    };
    match called {
        Ok(direct) if direct == expected => Ok(()),
        Ok(direct) => {
            Err(format!("called directly, a trap-free function gave {direct:x?}, not {expected:x?}"))
        }
        Err(e) => Err(format!("called directly, a trap-free function failed: {e}")),
    }
}

/// Invocations of functions with externrefs that `cross_check_extern_call` made again.
static EXTERN_CROSS_CHECKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// `cross_check_trap_free_call` for trap-free functions whose signature has an
/// `externref` (pure too, if they set no global): their call through `ExternCaller`,
/// with host values as words, must give the value `Func::call` gave.
fn cross_check_extern_call(
    func: &Func,
    args: &[Val],
    outcome: &Result<Vec<Val>, Error>,
) -> Result<(), String> {
    let ty = func.signature();
    let has_externref = ty.params().iter().chain(ty.results()).any(|&t| t == ValType::EXTERNREF);
    if !has_externref || !func.is_trap_free() || func.sets_globals() {
        return Ok(());
    }
    // Small calls where they serve, else through `WideCaller`.
    match (func.extern_caller::<SMALL_ARGS>(), func.extern_caller::<WIDE_ARGS>()) {
        (Some(small), _) => cross_check_extern_caller(&small, ty, args, outcome),
        (None, Some(wide)) => cross_check_extern_caller(&wide, ty, args, outcome),
        (None, None) => Ok(()),
    }
}

/// `cross_check_extern_call` through `caller`.
fn cross_check_extern_caller<const N: usize>(
    caller: &ExternCaller<N>,
    ty: &FuncType,
    args: &[Val],
    outcome: &Result<Vec<Val>, Error>,
) -> Result<(), String> {
    let mut words = [0u64; N];
    for ((slot, v), &t) in words.iter_mut().zip(args).zip(ty.params()) {
        let word = match t {
            ValType::EXTERNREF => v.extern_word(),
            _ => number_bits(v),
        };
        match word {
            Some(w) => *slot = w,
            None => return Ok(()),
        }
    }
    let expected = match outcome {
        Ok(results) => results.first().cloned(),
        Err(e) => return Err(format!("a trap-free function failed: {e}")),
    };
    EXTERN_CROSS_CHECKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let got =
        caller.call(words).map_err(|e| format!("through ExternCaller, a trap-free function failed: {e}"))?;
    let bits = |v: &Option<Val>| match v {
        None => None,
        Some(Val::AnyRef(None)) => Some(Val::ExternRef(None).extern_word()),
        Some(Val::AnyRef(Some(AnyRef::Object(o)))) => Some(Some(o.address() as u64)),
        Some(other) => Some(number_bits(other).or_else(|| other.extern_word())),
    };
    if bits(&got) == bits(&expected) {
        Ok(())
    } else {
        Err(format!("through ExternCaller, a trap-free function gave {got:?}, not {expected:?}"))
    }
}

/// A number's bits as a raw slot holds them (`None` for other values).
fn number_bits(v: &Val) -> Option<u64> {
    match *v {
        Val::I32(x) => Some(x as u32 as u64),
        Val::I64(x) => Some(x as u64),
        Val::F32(bits) => Some(bits as u64),
        Val::F64(bits) => Some(bits),
        _ => None,
    }
}

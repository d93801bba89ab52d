//! Benchmark runner: Sidewinder against its peers, side by side in one process run.
//!
//! For every `bench/wasm/<name>.wasm` with an expected checksum in `bench/expected.txt`,
//! and every engine, it compiles the module `--runs` times (median compile time) and
//! runs `run()` `--runs` times, each in a fresh instance (median run time), checking the
//! checksum every time. Rounds are interleaved across engines (round 1 of every engine,
//! then round 2, ...) so background noise on this shared machine spreads evenly.
//! V8 (node --liftoff-only / --no-liftoff) runs in a subprocess driven by bench/node/run.mjs.
//!
//! usage: sidewinder-bench [--runs N] [--dir BENCH_DIR] [--out results.md] [--svg plot.svg]
//!                         [--engines a,b,...] [--only name,...]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

type Res<T> = Result<T, String>;

/// One engine's handle on a compiled module: instantiate + call `run`.
trait Compiled {
    fn run(&self) -> Res<u32>;
    /// Machine-code bytes, if the engine exposes them.
    fn code_bytes(&self) -> Option<usize> {
        None
    }
}

trait EngineUnderTest {
    fn name(&self) -> &'static str;
    /// Gets ready for the next `compile` of a module that needs `used`, outside the
    /// timed part.
    fn prepare(&self, _used: &[Proposal]) {}
    fn compile(&self, bytes: &[u8]) -> Res<Box<dyn Compiled>>;
    /// The proposals the engine does not implement: benchmarks that use one are marked
    /// "n/a" for it, rather than failed.
    fn lacks(&self) -> &'static [Proposal] {
        &[]
    }
}

/// A proposal beyond wasm 2.0 that some benchmarks use and some engines lack.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Proposal {
    Simd,
    /// Exception handling with `exnref` (`try_table`, `throw_ref`).
    Exceptions,
    TailCalls,
    /// GC's structs, arrays and casts.
    Gc,
}

impl Proposal {
    const ALL: [Proposal; 4] = [Proposal::Simd, Proposal::Exceptions, Proposal::TailCalls, Proposal::Gc];

    fn features(self) -> wasmparser::WasmFeatures {
        use wasmparser::WasmFeatures as F;
        match self {
            Proposal::Simd => F::SIMD | F::RELAXED_SIMD,
            Proposal::Exceptions => F::EXCEPTIONS,
            Proposal::TailCalls => F::TAIL_CALL,
            Proposal::Gc => F::GC,
        }
    }

    /// Why an engine without it shows "n/a".
    fn missing(self) -> &'static str {
        match self {
            Proposal::Simd => "no SIMD",
            Proposal::Exceptions => "no exceptions",
            Proposal::TailCalls => "no tail calls",
            Proposal::Gc => "no GC",
        }
    }
}

/// The proposals `bytes` needs: those it does not validate without.
fn proposals_used(bytes: &[u8]) -> Vec<Proposal> {
    Proposal::ALL
        .into_iter()
        .filter(|p| {
            let mut features = wasmparser::WasmFeatures::default();
            features.remove(p.features());
            wasmparser::Validator::new_with_features(features).validate_all(bytes).is_err()
        })
        .collect()
}

/// The first proposal `used` needs that `lacking` holds, as the "n/a" reason.
fn unsupported(used: &[Proposal], lacking: &[Proposal]) -> Option<&'static str> {
    used.iter().find(|p| lacking.contains(p)).map(|p| p.missing())
}

// ---------------------------------------------------------------- Sidewinder
/// Sidewinder compiling on one thread ("sidewinder") or on every core ("sidewinder-mt"),
/// and with its linear memories in transparent huge pages ("sidewinder-thp",
/// `Config::huge_pages`, off by default: the peers ask for none either).
struct Sidewinder(sidewinder_engine::Engine, &'static str);
impl Sidewinder {
    fn new(compile_threads: usize, huge_pages: bool, name: &'static str) -> Sidewinder {
        let config = sidewinder_engine::Config { compile_threads, huge_pages, ..Default::default() };
        Sidewinder(sidewinder_engine::Engine::new(config).expect("sidewinder engine"), name)
    }
}
struct SwModule {
    engine: sidewinder_engine::Engine,
    module: sidewinder_engine::Module,
    funcs: u32,
}
impl EngineUnderTest for Sidewinder {
    fn name(&self) -> &'static str {
        self.1
    }
    fn compile(&self, bytes: &[u8]) -> Res<Box<dyn Compiled>> {
        let module = sidewinder_engine::Module::new(&self.0, bytes).map_err(|e| e.to_string())?;
        Ok(Box::new(SwModule { engine: self.0.clone(), module, funcs: count_funcs(bytes) }))
    }
}
impl Compiled for SwModule {
    fn run(&self) -> Res<u32> {
        let store = sidewinder_engine::Store::new(&self.engine);
        let inst = sidewinder_engine::Instance::new(&store, &self.module, &[]).map_err(|e| e.to_string())?;
        match inst.call("run", &[]).map_err(|e| e.to_string())?.as_slice() {
            [sidewinder_engine::Val::I32(v)] => Ok(*v as u32),
            other => Err(format!("unexpected results {other:?}")),
        }
    }
    fn code_bytes(&self) -> Option<usize> {
        // Imported functions have no code; function_code returns None for them.
        Some((0..self.funcs).filter_map(|i| self.module.function_code(i)).map(|c| c.len()).sum())
    }
}

// ---------------------------------------------------------------- Wasmtime
/// The engine, a second one with GC on for the modules that need it (so that turning
/// GC on changes nothing for the others), which `prepare` picks, the name and what
/// the compiler lacks.
#[cfg(feature = "wasmtime")]
struct Wasmtime(
    wasmtime::Engine,
    Option<wasmtime::Engine>,
    std::cell::Cell<bool>,
    &'static str,
    &'static [Proposal],
);
#[cfg(feature = "wasmtime")]
impl Wasmtime {
    /// `parallel`: compile functions on every core (rayon), else on the calling thread.
    fn new(strategy: wasmtime::Strategy, parallel: bool, name: &'static str) -> Res<Self> {
        let mut c = wasmtime::Config::new();
        c.strategy(strategy);
        c.parallel_compilation(parallel);
        // Profiling both compilers' code with perf: Sidewinder writes the same map.
        if std::env::var_os("SIDEWINDER_PERF_MAP").is_some_and(|v| !v.is_empty() && v != "0") {
            c.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        // Winch implements neither exceptions, tail calls nor GC (Wasmtime leaves them
        // off for it); Cranelift has all three (exceptions need the `gc` features), GC
        // with its deferred reference-counting collector (`gc-drc`).
        let (lacks, gc): (&[Proposal], _) = match strategy {
            wasmtime::Strategy::Winch => (&[Proposal::Exceptions, Proposal::TailCalls, Proposal::Gc], None),
            _ => {
                let mut with_gc = c.clone();
                with_gc.wasm_gc(true);
                (&[], Some(wasmtime::Engine::new(&with_gc).map_err(|e| e.to_string())?))
            }
        };
        let engine = wasmtime::Engine::new(&c).map_err(|e| e.to_string())?;
        Ok(Wasmtime(engine, gc, std::cell::Cell::new(false), name, lacks))
    }
}
#[cfg(feature = "wasmtime")]
struct WtModule(wasmtime::Engine, wasmtime::Module);
#[cfg(feature = "wasmtime")]
impl EngineUnderTest for Wasmtime {
    fn name(&self) -> &'static str {
        self.3
    }
    fn lacks(&self) -> &'static [Proposal] {
        self.4
    }
    fn prepare(&self, used: &[Proposal]) {
        self.2.set(used.contains(&Proposal::Gc));
    }
    fn compile(&self, bytes: &[u8]) -> Res<Box<dyn Compiled>> {
        let engine = match &self.1 {
            Some(gc) if self.2.get() => gc,
            _ => &self.0,
        };
        let m = wasmtime::Module::new(engine, bytes).map_err(|e| e.to_string())?;
        Ok(Box::new(WtModule(engine.clone(), m)))
    }
}
#[cfg(feature = "wasmtime")]
impl Compiled for WtModule {
    fn run(&self) -> Res<u32> {
        let mut store = wasmtime::Store::new(&self.0, ());
        let inst = wasmtime::Instance::new(&mut store, &self.1, &[]).map_err(|e| e.to_string())?;
        let f = inst.get_typed_func::<(), i32>(&mut store, "run").map_err(|e| e.to_string())?;
        f.call(&mut store, ()).map(|v| v as u32).map_err(|e| e.to_string())
    }
    // Code size not reported: `Module::text()` is the whole page-rounded .text with
    // trampolines, meaningless for these few-KB modules. TODO: sum per-function ranges.
}

// ---------------------------------------------------------------- wasmi
#[cfg(feature = "wasmi")]
struct Wasmi(wasmi::Engine);
#[cfg(feature = "wasmi")]
struct WiModule(wasmi::Engine, wasmi::Module);
#[cfg(feature = "wasmi")]
impl EngineUnderTest for Wasmi {
    fn name(&self) -> &'static str {
        "wasmi"
    }
    /// wasmi 2.0 has tail calls and SIMD, not exception handling or GC.
    fn lacks(&self) -> &'static [Proposal] {
        &[Proposal::Exceptions, Proposal::Gc]
    }
    fn compile(&self, bytes: &[u8]) -> Res<Box<dyn Compiled>> {
        let m = wasmi::Module::new(&self.0, bytes).map_err(|e| e.to_string())?;
        Ok(Box::new(WiModule(self.0.clone(), m)))
    }
}
#[cfg(feature = "wasmi")]
impl Compiled for WiModule {
    fn run(&self) -> Res<u32> {
        let mut store = wasmi::Store::new(&self.0, ());
        let inst = wasmi::Instance::new(&mut store, &self.1, &[]).map_err(|e| e.to_string())?;
        let f = inst.get_typed_func::<(), i32>(&store, "run").map_err(|e| e.to_string())?;
        f.call(&mut store, ()).map(|v| v as u32).map_err(|e| e.to_string())
    }
}

// ---------------------------------------------------------------- Wasmer
/// Wasmer compiles functions on a rayon pool of its own (`num_threads`, one per core by
/// default) and checks table use with rayon's current pool. `wasmer-singlepass` is given
/// one thread for both, so that its compile times are single-threaded like every other
/// engine's; `wasmer-singlepass-mt` keeps the defaults.
///
/// Each compile gets an engine of its own, made by `prepare` before the timer starts: an
/// engine keeps the code of every module it compiled until it is dropped itself, and with
/// one engine for the whole corpus run the process grew by ~40 MB a compile, and Liftoff
/// ran up to 45 % and wasmi up to 70 % slower in such runs (see bench/README.md).
#[cfg(feature = "wasmer")]
struct Wasmer {
    one_thread: Option<rayon::ThreadPool>,
    next_engine: std::cell::RefCell<Option<wasmer::Engine>>,
    name: &'static str,
}
#[cfg(feature = "wasmer")]
impl Wasmer {
    fn new(single_threaded: bool, name: &'static str) -> Wasmer {
        let one_thread = single_threaded
            .then(|| rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("rayon pool"));
        Wasmer { one_thread, next_engine: Default::default(), name }
    }

    fn engine(&self) -> wasmer::Engine {
        let mut singlepass = wasmer::sys::Singlepass::default();
        if self.one_thread.is_some() {
            singlepass.num_threads(std::num::NonZeroUsize::MIN);
        }
        wasmer::Engine::from(singlepass)
    }
}
#[cfg(feature = "wasmer")]
struct WrModule(wasmer::Engine, wasmer::Module);
#[cfg(feature = "wasmer")]
impl EngineUnderTest for Wasmer {
    fn name(&self) -> &'static str {
        self.name
    }
    fn prepare(&self, _used: &[Proposal]) {
        *self.next_engine.borrow_mut() = Some(self.engine());
    }
    /// Singlepass rejects SIMD operators ("not yet implemented: I32x4Splat"), and
    /// implements neither exceptions, tail calls nor GC.
    fn lacks(&self) -> &'static [Proposal] {
        &[Proposal::Simd, Proposal::Exceptions, Proposal::TailCalls, Proposal::Gc]
    }
    fn compile(&self, bytes: &[u8]) -> Res<Box<dyn Compiled>> {
        let engine = self.next_engine.borrow_mut().take().unwrap_or_else(|| self.engine());
        let compile = || wasmer::Module::new(&engine, bytes);
        let m = match &self.one_thread {
            Some(pool) => pool.install(compile),
            None => compile(),
        };
        let m = m.map_err(|e| e.to_string())?;
        Ok(Box::new(WrModule(engine, m)))
    }
}
#[cfg(feature = "wasmer")]
impl Compiled for WrModule {
    fn run(&self) -> Res<u32> {
        let mut store = wasmer::Store::new(self.0.clone());
        let inst =
            wasmer::Instance::new(&mut store, &self.1, &wasmer::imports! {}).map_err(|e| e.to_string())?;
        let f = inst.exports.get_typed_function::<(), i32>(&store, "run").map_err(|e| e.to_string())?;
        f.call(&mut store).map(|v| v as u32).map_err(|e| e.to_string())
    }
}

// ---------------------------------------------------------------- helpers
fn count_funcs(bytes: &[u8]) -> u32 {
    let mut n = 0;
    for p in wasmparser::Parser::new(0).parse_all(bytes).flatten() {
        match p {
            wasmparser::Payload::ImportSection(r) => {
                for imp in r.into_imports().flatten() {
                    if matches!(imp.ty, wasmparser::TypeRef::Func(_)) {
                        n += 1;
                    }
                }
            }
            wasmparser::Payload::FunctionSection(r) => n += r.count(),
            _ => {}
        }
    }
    n
}

fn code_section_size(bytes: &[u8]) -> usize {
    for p in wasmparser::Parser::new(0).parse_all(bytes).flatten() {
        if let wasmparser::Payload::CodeSectionStart { size, .. } = p {
            return size as usize;
        }
    }
    0
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if s.is_empty() {
        return f64::NAN;
    }
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn geomean(v: &[f64]) -> f64 {
    let v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite() && *x > 0.0).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp()
}

fn sh(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

#[derive(Default, Clone)]
struct Measurement {
    compile_ms: Vec<f64>,
    run_ms: Vec<f64>,
    code_bytes: Option<usize>,
    error: Option<String>,
    /// The engine lacks a feature the benchmark needs (not a failure; no figures).
    unsupported: Option<&'static str>,
}

/// Node 20's V8 (11.3) has legacy exceptions but not `exnref`, and GC only behind a
/// flag, in an encoding from before the final one.
const NODE_LACKS: &[Proposal] = &[Proposal::Exceptions, Proposal::Gc];
const NODE_ENGINES: [(&str, &str); 2] = [("v8-liftoff", "--liftoff-only"), ("v8-turbofan", "--no-liftoff")];
/// V8 tiers measured on the corpus only, compiling on every core (without
/// `--single-threaded`, V8 compiles on background threads besides the main one).
const NODE_CORPUS_ENGINES: [(&str, &str); 1] = [("v8-liftoff-mt", "--liftoff-only")];

fn node_measure(dir: &Path, wasm: &Path, flag: &str, runs: usize, expected: u32) -> Measurement {
    let out = Command::new("node")
        .args([flag, "--no-wasm-lazy-compilation", "--single-threaded"])
        .arg(dir.join("node/run.mjs"))
        .arg(wasm)
        .arg(runs.to_string())
        .output();
    let mut m = Measurement::default();
    match out {
        Ok(o) if o.status.success() => {
            let s = String::from_utf8_lossy(&o.stdout);
            // Tiny hand parser for {"compile_ms":[..],"run_ms":[..],"result":N}
            let arr = |key: &str| -> Vec<f64> {
                s.split(&format!("\"{key}\":["))
                    .nth(1)
                    .and_then(|r| r.split(']').next())
                    .map(|l| l.split(',').filter_map(|x| x.trim().parse().ok()).collect())
                    .unwrap_or_default()
            };
            m.compile_ms = arr("compile_ms");
            m.run_ms = arr("run_ms");
            let result: Option<u32> = s
                .split("\"result\":")
                .nth(1)
                .and_then(|r| r.trim_end_matches(['}', '\n', ' ']).trim().parse().ok());
            if result != Some(expected) {
                m.error = Some(format!("checksum {result:?}, expected {expected}"));
            }
        }
        Ok(o) => {
            m.error = Some(format!(
                "node failed: {}",
                String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("")
            ))
        }
        Err(e) => m.error = Some(format!("node: {e}")),
    }
    m
}

fn main() {
    // Deep recursion and big frames: run on a thread with a roomy stack.
    let h = std::thread::Builder::new().stack_size(256 << 20).spawn(real_main).unwrap();
    std::process::exit(h.join().unwrap_or(2));
}

fn real_main() -> i32 {
    let mut runs = 5usize;
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out: Option<PathBuf> = None;
    let mut svg: Option<PathBuf> = None;
    let mut only: Option<Vec<String>> = None;
    let mut engines_sel: Option<Vec<String>> = None;
    let mut corpus: Option<PathBuf> = None;
    // Write Sidewinder's machine code per function (raw bytes) for disassembly, and
    // Cranelift's per module:
    //   objdump -D -b binary -m i386:x86-64 -M intel DIR/interp.f3.bin
    //   objdump -d -M intel DIR/interp.cranelift.o
    let mut dump: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().and_then(|s| s.parse().ok()).expect("--runs N"),
            "--dir" => dir = PathBuf::from(args.next().expect("--dir")),
            "--out" => out = Some(PathBuf::from(args.next().expect("--out"))),
            "--svg" => svg = Some(PathBuf::from(args.next().expect("--svg"))),
            "--only" => only = Some(args.next().expect("--only").split(',').map(String::from).collect()),
            "--dump" => dump = Some(PathBuf::from(args.next().expect("--dump"))),
            "--corpus" => corpus = Some(PathBuf::from(args.next().expect("--corpus"))),
            "--engines" => {
                engines_sel = Some(args.next().expect("--engines").split(',').map(String::from).collect())
            }
            _ => {
                eprintln!("unknown argument {a}");
                return 2;
            }
        }
    }
    let dir = dir.canonicalize().expect("bench dir");

    let mut engines: Vec<Box<dyn EngineUnderTest>> = vec![Box::new(Sidewinder::new(1, false, "sidewinder"))];
    if corpus.is_some() {
        // Parallel compilation only matters (and only kicks in) for large modules.
        engines.push(Box::new(Sidewinder::new(0, false, "sidewinder-mt")));
    } else {
        engines.push(Box::new(Sidewinder::new(1, true, "sidewinder-thp")));
    }
    #[cfg(feature = "wasmtime")]
    {
        engines.push(Box::new(Wasmtime::new(wasmtime::Strategy::Cranelift, false, "cranelift").unwrap()));
        engines.push(Box::new(Wasmtime::new(wasmtime::Strategy::Winch, false, "winch").unwrap()));
        if corpus.is_some() {
            engines.push(Box::new(Wasmtime::new(wasmtime::Strategy::Winch, true, "winch-mt").unwrap()));
        }
    }
    #[cfg(feature = "wasmer")]
    {
        engines.push(Box::new(Wasmer::new(true, "wasmer-singlepass")));
        if corpus.is_some() {
            engines.push(Box::new(Wasmer::new(false, "wasmer-singlepass-mt")));
        }
    }
    #[cfg(feature = "wasmi")]
    {
        let mut c = wasmi::Config::default();
        c.compilation_mode(wasmi::CompilationMode::Eager);
        engines.push(Box::new(Wasmi(wasmi::Engine::new(&c))));
    }
    let have_node =
        Command::new("node").arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    let mut engine_names: Vec<&'static str> = engines.iter().map(|e| e.name()).collect();
    if have_node {
        engine_names.extend(NODE_ENGINES.iter().map(|e| e.0));
        if corpus.is_some() {
            engine_names.extend(NODE_CORPUS_ENGINES.iter().map(|e| e.0));
        }
    }
    if let Some(sel) = &engines_sel {
        engines.retain(|e| sel.iter().any(|s| s == e.name()));
        engine_names.retain(|n| sel.iter().any(|s| s == n));
    }

    if let Some(d) = dump {
        std::fs::create_dir_all(&d).expect("dump dir");
        let mut files = Vec::new();
        find_wasm(&dir.join("wasm"), &mut files);
        let eng = sidewinder_engine::Engine::new(Default::default()).unwrap();
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            let m = sidewinder_engine::Module::new(&eng, &bytes).expect("compile");
            let stem = f.file_stem().unwrap().to_string_lossy().to_string();
            for i in 0..count_funcs(&bytes) {
                if let Some(code) = m.function_code(i) {
                    std::fs::write(d.join(format!("{stem}.f{i}.bin")), code).unwrap();
                }
            }
            // Cranelift's code for the same module, as the ELF object Wasmtime would
            // load (`objdump -d DIR/sieve.cranelift.o`), to compare instruction choices.
            #[cfg(feature = "wasmtime")]
            if let Ok(object) = wasmtime::Engine::default().precompile_module(&bytes) {
                std::fs::write(d.join(format!("{stem}.cranelift.o")), object).unwrap();
            }
        }
        return 0;
    }
    if let Some(c) = corpus {
        let report = corpus_report(&dir, &c, runs, &engines, &engine_names);
        println!("{report}");
        if let Some(o) = out {
            std::fs::write(&o, &report).expect("write report");
            eprintln!("wrote {}", o.display());
        }
        return 0;
    }

    let expected: BTreeMap<String, u32> = std::fs::read_to_string(dir.join("expected.txt"))
        .expect("expected.txt")
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect();

    // results[bench][engine]
    let mut results: BTreeMap<String, BTreeMap<&'static str, Measurement>> = BTreeMap::new();
    let mut sizes: BTreeMap<String, (usize, usize)> = BTreeMap::new(); // (file, code section)
    let mut failures = 0;
    for (bench, &want) in &expected {
        if let Some(o) = &only {
            if !o.contains(bench) {
                continue;
            }
        }
        let path = dir.join("wasm").join(format!("{bench}.wasm"));
        let bytes = std::fs::read(&path).expect("wasm file");
        sizes.insert(bench.clone(), (bytes.len(), code_section_size(&bytes)));
        let row = results.entry(bench.clone()).or_default();
        let mut compiled: Vec<Option<Box<dyn Compiled>>> = Vec::new();
        // Compile rounds, interleaved.
        let used = proposals_used(&bytes);
        for e in &engines {
            let unsupported = unsupported(&used, e.lacks());
            row.insert(e.name(), Measurement { unsupported, ..Default::default() });
        }
        compiled.resize_with(engines.len(), || None);
        for _ in 0..runs {
            for (i, e) in engines.iter().enumerate() {
                let m = row.get_mut(e.name()).unwrap();
                if m.error.is_some() || m.unsupported.is_some() {
                    continue;
                }
                e.prepare(&used);
                let t = Instant::now();
                match e.compile(&bytes) {
                    Ok(c) => {
                        m.compile_ms.push(ms(t.elapsed()));
                        m.code_bytes = c.code_bytes();
                        compiled[i] = Some(c);
                    }
                    Err(err) => m.error = Some(format!("compile: {err}")),
                }
            }
        }
        // Run rounds, interleaved; a fresh instance (fresh memory) every time.
        for round in 0..runs {
            for (i, e) in engines.iter().enumerate() {
                let m = row.get_mut(e.name()).unwrap();
                let Some(c) = &compiled[i] else { continue };
                if m.error.is_some() {
                    continue;
                }
                let t = Instant::now();
                let r = c.run();
                let dt = ms(t.elapsed());
                match r {
                    Ok(v) if v == want => m.run_ms.push(dt),
                    Ok(v) => m.error = Some(format!("round {round}: checksum {v}, expected {want}")),
                    Err(err) => m.error = Some(format!("round {round}: {err}")),
                }
            }
        }
        if have_node {
            for (name, flag) in NODE_ENGINES {
                if !engine_names.contains(&name) {
                    continue;
                }
                let measurement = match unsupported(&used, NODE_LACKS) {
                    Some(why) => Measurement { unsupported: Some(why), ..Default::default() },
                    None => node_measure(&dir, &path, flag, runs, want),
                };
                row.insert(name, measurement);
            }
        }
        eprint!("{bench:>8}:");
        for name in &engine_names {
            if let Some(m) = row.get(name) {
                match (&m.error, m.unsupported) {
                    (Some(e), _) => {
                        failures += 1;
                        eprint!("  {name} FAILED ({e})")
                    }
                    (None, Some(why)) => eprint!("  {name} n/a ({why})"),
                    (None, None) => eprint!("  {name} {:.0} ms", median(&m.run_ms)),
                }
            }
        }
        eprintln!();
    }

    let report = render(&dir, runs, &engine_names, &results, &sizes);
    println!("{report}");
    if let Some(o) = out {
        std::fs::write(&o, &report).expect("write report");
        eprintln!("wrote {}", o.display());
    }
    if let Some(s) = svg {
        std::fs::write(&s, render_svg(&engine_names, &results)).expect("write svg");
        eprintln!("wrote {}", s.display());
    }
    if failures > 0 {
        1
    } else {
        0
    }
}

fn run_ms(m: Option<&Measurement>) -> f64 {
    match m {
        Some(m) if m.error.is_none() && m.unsupported.is_none() => median(&m.run_ms),
        _ => f64::NAN,
    }
}

fn fmt(x: f64, prec: usize) -> String {
    if x.is_finite() {
        format!("{x:.prec$}")
    } else {
        "–".into()
    }
}

fn render(
    dir: &Path,
    runs: usize,
    engines: &[&'static str],
    results: &BTreeMap<String, BTreeMap<&'static str, Measurement>>,
    sizes: &BTreeMap<String, (usize, usize)>,
) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("?")
        .trim()
        .to_string();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let _ = writeln!(s, "## Results\n");
    let _ = writeln!(
        s,
        "Machine: {cpu}, {cores} cores, {} ({}); date {}; node {}.",
        sh("uname", &["-sr"]),
        sh("rustc", &["--version"]),
        sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        sh("node", &["--version"])
    );
    let _ = writeln!(
        s,
        "Method: median of {runs} runs per engine, rounds interleaved across engines in one process; \
         each run instantiates a fresh instance and calls `run()` (instantiation excluded), checking the checksum \
         in {}/expected.txt. Compile times are single-threaded. V8 runs in a node subprocess \
         (`--no-wasm-lazy-compilation --single-threaded`).\n",
        dir.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default()
    );
    let _ = writeln!(s, "### Run time, ms (median); in brackets: ratio to Cranelift\n");
    let _ = write!(s, "| benchmark |");
    for e in engines {
        let _ = write!(s, " {e} |");
    }
    let _ = writeln!(s);
    let _ = write!(s, "|---|");
    for _ in engines {
        let _ = write!(s, "---:|");
    }
    let _ = writeln!(s);
    let mut ratios: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (bench, row) in results {
        let base = run_ms(row.get("cranelift"));
        let _ = write!(s, "| {bench} |");
        for e in engines {
            let t = run_ms(row.get(e));
            let r = t / base;
            ratios.entry(e).or_default().push(r);
            if let Some(why) = row.get(e).and_then(|m| m.unsupported) {
                let _ = write!(s, " n/a ({why}) |");
                continue;
            }
            match row.get(e).and_then(|m| m.error.as_ref()) {
                Some(err) => {
                    let _ = write!(s, " FAIL: {} |", err.replace('|', "/"));
                }
                None if base.is_finite() => {
                    let _ = write!(s, " {} ({}×) |", fmt(t, 0), fmt(r, 2));
                }
                None => {
                    let _ = write!(s, " {} |", fmt(t, 0));
                }
            }
        }
        let _ = writeln!(s);
    }
    let _ = write!(s, "| **geomean ratio to Cranelift** |");
    for e in engines {
        let _ = write!(s, " **{}×** |", fmt(geomean(&ratios[e]), 2));
    }
    let _ = writeln!(s, "\n");
    if results.values().any(|row| row.values().any(|m| m.unsupported.is_some())) {
        let _ = writeln!(
            s,
            "n/a: the engine lacks a feature the benchmark needs; its geometric mean (and compile \
             total) is over the benchmarks it ran.\n"
        );
    }

    let _ = writeln!(s, "### Compile time, ms (median, single-threaded)\n");
    let _ = write!(s, "| benchmark | code section bytes |");
    for e in engines {
        let _ = write!(s, " {e} |");
    }
    let _ = writeln!(s);
    let _ = write!(s, "|---|---:|");
    for _ in engines {
        let _ = write!(s, "---:|");
    }
    let _ = writeln!(s);
    let mut total_code = 0usize;
    // Per engine: code bytes and milliseconds over the benchmarks it supports.
    let mut totals: BTreeMap<&str, (usize, f64)> = BTreeMap::new();
    for (bench, row) in results {
        let code = sizes[bench].1;
        total_code += code;
        let _ = write!(s, "| {bench} | {code} |");
        for e in engines {
            let m = row.get(e);
            let c = m.map(|m| median(&m.compile_ms)).unwrap_or(f64::NAN);
            if m.is_none_or(|m| m.unsupported.is_none()) {
                let total = totals.entry(e).or_default();
                *total = (total.0 + code, total.1 + c);
            }
            let _ = write!(s, " {} |", fmt(c, 3));
        }
        let _ = writeln!(s);
    }
    let _ = write!(s, "| **total → MB/s of code section** | {total_code} |");
    for e in engines {
        let (code, ms) = totals.get(e).copied().unwrap_or((0, f64::NAN));
        let _ = write!(s, " {} MB/s |", fmt(code as f64 / 1e6 / (ms / 1e3), 1));
    }
    let _ = writeln!(
        s,
        "\n\nMost of these modules are small (a few KB), so their compile times are dominated by \
         fixed per-module costs; the Rust crate programs reach 1.2 MB (regexscan). Throughput on \
         large real modules is what bench/corpus.sh measures.\n"
    );

    let _ = writeln!(s, "### Machine-code bytes per wasm code-section byte\n");
    let code_engines: Vec<&str> = engines
        .iter()
        .copied()
        .filter(|e| results.values().any(|r| r.get(e).and_then(|m| m.code_bytes).is_some()))
        .collect();
    let _ = write!(s, "| benchmark |");
    for e in &code_engines {
        let _ = write!(s, " {e} |");
    }
    let _ = writeln!(s);
    let _ = write!(s, "|---|");
    for _ in &code_engines {
        let _ = write!(s, "---:|");
    }
    let _ = writeln!(s);
    let mut sum_code: BTreeMap<&str, usize> = BTreeMap::new();
    for (bench, row) in results {
        let code = sizes[bench].1 as f64;
        let _ = write!(s, "| {bench} |");
        for e in &code_engines {
            let b = row.get(e).and_then(|m| m.code_bytes);
            *sum_code.entry(e).or_default() += b.unwrap_or(0);
            let _ = write!(s, " {} |", fmt(b.map(|b| b as f64 / code).unwrap_or(f64::NAN), 2));
        }
        let _ = writeln!(s);
    }
    let _ = write!(s, "| **all** |");
    for e in &code_engines {
        let _ = write!(s, " **{}** |", fmt(sum_code[e] as f64 / total_code as f64, 2));
    }
    let _ = writeln!(
        s,
        "\n\nSidewinder: sum of `Module::function_code` over defined functions (peers not measured yet)."
    );
    s
}

/// A grouped bar chart of run-time ratio to Cranelift, log scale; plain SVG.
fn render_svg(
    engines: &[&'static str],
    results: &BTreeMap<String, BTreeMap<&'static str, Measurement>>,
) -> String {
    use std::fmt::Write;
    let colors = ["#d62728", "#1f77b4", "#aec7e8", "#9467bd", "#7f7f7f", "#2ca02c", "#98df8a", "#ff7f0e"];
    let benches: Vec<&String> = results.keys().collect();
    let (w, h, left, top, bottom) = (900.0, 420.0, 60.0, 30.0, 60.0);
    let plot_h = h - top - bottom;
    let group_w = (w - left - 20.0) / (benches.len() as f64 + 1.0);
    let bar_w = group_w * 0.8 / engines.len() as f64;
    // log2 scale from 1/2 to 16
    let (lo, hi) = (-1.0f64, 4.0f64);
    let y = |r: f64| top + plot_h * (1.0 - ((r.log2() - lo) / (hi - lo)).clamp(0.0, 1.0));
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{left}" y="18" font-size="13">Run time relative to Wasmtime Cranelift (log scale, lower is better)</text>"#
    );
    for t in [0.5, 1.0, 2.0, 4.0, 8.0, 16.0] {
        let yy = y(t);
        let _ = writeln!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="{}"/><text x="{}" y="{:.1}" text-anchor="end">{t}×</text>"##,
            w - 10.0,
            if t == 1.0 { "#000" } else { "#ddd" },
            left - 4.0,
            yy + 4.0
        );
    }
    let mut groups: Vec<(String, Vec<f64>)> = Vec::new();
    let mut all: Vec<Vec<f64>> = vec![Vec::new(); engines.len()];
    for b in &benches {
        let row = &results[*b];
        let base = run_ms(row.get("cranelift"));
        let rs: Vec<f64> = engines.iter().map(|e| run_ms(row.get(e)) / base).collect();
        for (i, r) in rs.iter().enumerate() {
            all[i].push(*r);
        }
        groups.push(((*b).clone(), rs));
    }
    groups.push(("geomean".into(), all.iter().map(|v| geomean(v)).collect()));
    for (gi, (name, rs)) in groups.iter().enumerate() {
        let gx = left + gi as f64 * group_w + group_w * 0.1;
        for (ei, r) in rs.iter().enumerate() {
            if !r.is_finite() {
                continue;
            }
            let (y0, y1) = (y(1.0), y(*r));
            let _ = writeln!(
                s,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{} {}: {:.2}×</title></rect>"#,
                gx + ei as f64 * bar_w,
                y0.min(y1),
                bar_w,
                (y1 - y0).abs().max(0.5),
                colors[ei % colors.len()],
                name,
                engines[ei],
                r
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{name}</text>"#,
            gx + group_w * 0.4,
            h - bottom + 14.0
        );
    }
    for (ei, e) in engines.iter().enumerate() {
        let lx = left + ei as f64 * 110.0;
        let _ = writeln!(
            s,
            r#"<rect x="{lx}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}">{e}</text>"#,
            h - 22.0,
            colors[ei % colors.len()],
            lx + 14.0,
            h - 13.0
        );
    }
    let _ = writeln!(s, "</svg>");
    s
}

fn find_wasm(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            find_wasm(&p, out);
        } else if p.extension().is_some_and(|e| e == "wasm") {
            out.push(p);
        }
    }
}

/// How the corpus measures one engine.
enum Contender<'e> {
    InProcess(&'e dyn EngineUnderTest),
    /// A V8 tier, by its node flag, on one thread or on every core.
    Node {
        flag: &'static str,
        single_threaded: bool,
    },
}

/// One warm compile in V8: a fresh node process compiles the module twice (the first
/// pays for process-level warm-up) and the second time is returned.
fn node_compile_once(dir: &Path, flag: &str, single_threaded: bool, file: &Path) -> Result<f64, String> {
    let out = Command::new("node")
        .args([flag, "--no-wasm-lazy-compilation"])
        .args(single_threaded.then_some("--single-threaded"))
        .arg(dir.join("node/compile.mjs"))
        .arg(file)
        .arg("2")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("node failed").to_string());
    }
    let st = String::from_utf8_lossy(&out.stdout);
    let v: Vec<f64> = st
        .split('[')
        .nth(1)
        .and_then(|r| r.split(']').next())
        .map(|l| l.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_default();
    v.last().copied().ok_or_else(|| "node printed no times".to_string())
}

/// Compile throughput over real-world modules: median compile time per engine.
fn corpus_report(
    dir: &Path,
    corpus: &Path,
    runs: usize,
    engines: &[Box<dyn EngineUnderTest>],
    names: &[&'static str],
) -> String {
    use std::fmt::Write;
    let mut files = Vec::new();
    find_wasm(&dir.join(corpus), &mut files);
    let mut s = String::new();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1).map(|x| x.trim().to_string()))
        .unwrap_or_default();
    let _ = writeln!(s, "## Compile throughput: npm corpus\n");
    let _ = writeln!(
        s,
        "Machine: {cpu}, {} cores; date {}. Median of {runs} single-threaded compiles per engine, \
         in rounds interleaved across engines (one sample of each per round), except the \
         `-mt` columns, each an engine compiling on every core. Each sample is the second of \
         two compiles in a row, the first untimed: in this process, or for V8 \
         (`--no-wasm-lazy-compilation` and, but for `v8-liftoff-mt`, `--single-threaded`) in \
         a fresh node process per round, with a fresh custom section per compile to defeat \
         its cache. MB/s = code-section bytes / compile time (validation included for every \
         engine).\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
    );
    let _ = write!(s, "| module | code section MB |");
    for n in names {
        let _ = write!(s, " {n} ms (MB/s) |");
    }
    // Liftoff's time over ours, taken per round (the two compiles of a round run a few
    // seconds apart, so a burst of load on this shared machine rarely hits one alone).
    let paired = names.contains(&PAIR.0) && names.contains(&PAIR.1);
    if paired {
        let _ = write!(s, " {} / {} per round: median (min-max) |", PAIR.1, PAIR.0);
    }
    let _ = writeln!(s, " sidewinder code bytes / wasm byte |");
    let _ = write!(s, "|---|---:|");
    for _ in names {
        let _ = write!(s, "---:|");
    }
    if paired {
        let _ = write!(s, "---:|");
    }
    let _ = writeln!(s, "---:|");
    // Per round, the sum over modules every engine compiled, for the paired engines.
    let mut round_totals: Vec<(f64, f64)> = vec![(0.0, 0.0); runs];
    let mut tot: BTreeMap<&str, (f64, f64)> = BTreeMap::new(); // (bytes, ms) over modules all engines compiled
    let mut sw_code = (0usize, 0usize);
    // Each requested engine that exists here: measured in this process, or by node.
    let contenders: Vec<(&str, Contender)> = names
        .iter()
        .filter_map(|n| {
            if let Some(e) = engines.iter().find(|e| e.name() == *n) {
                Some((*n, Contender::InProcess(e.as_ref())))
            } else {
                let single = NODE_ENGINES.iter().find(|(nm, _)| nm == n).map(|&(_, flag)| (flag, true));
                let every_core =
                    NODE_CORPUS_ENGINES.iter().find(|(nm, _)| nm == n).map(|&(_, flag)| (flag, false));
                single
                    .or(every_core)
                    .map(|(flag, single_threaded)| (*n, Contender::Node { flag, single_threaded }))
            }
        })
        .collect();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let code = code_section_size(&bytes);
        let rel = f.strip_prefix(dir.join(corpus)).unwrap_or(f).display().to_string();
        // Rounds are interleaved across engines (one compile of each per round), so a
        // burst of load on this shared machine hits every engine alike.
        let mut ratio = f64::NAN;
        let mut samples: Vec<Result<Vec<f64>, String>> = contenders.iter().map(|_| Ok(Vec::new())).collect();
        for round in 0..runs {
            for ((n, contender), sampled) in contenders.iter().zip(samples.iter_mut()) {
                let Ok(times) = sampled else { continue };
                let sample: Result<f64, String> = match contender {
                    Contender::InProcess(e) => {
                        // Timed as V8 is: the second of two compiles in a row, the first
                        // untimed, so that no engine pays for the caches the engine before
                        // it left cold.
                        let compile =
                            || std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| e.compile(&bytes)));
                        e.prepare(&[]);
                        drop(compile());
                        e.prepare(&[]);
                        let t = Instant::now();
                        let res = compile();
                        let dt = ms(t.elapsed());
                        match res {
                            Ok(Ok(c)) => {
                                if *n == "sidewinder" && round == 0 {
                                    if let Some(b) = c.code_bytes() {
                                        ratio = b as f64 / code as f64;
                                        sw_code = (sw_code.0 + b, sw_code.1 + code);
                                    }
                                }
                                Ok(dt)
                            }
                            Ok(Err(x)) => Err(x),
                            Err(_) => Err("panicked".into()),
                        }
                    }
                    Contender::Node { flag, single_threaded } => {
                        node_compile_once(dir, flag, *single_threaded, f)
                    }
                };
                match sample {
                    Ok(t) => times.push(t),
                    Err(x) => *sampled = Err(x),
                }
            }
        }
        let times_of = |name: &str| {
            contenders.iter().zip(&samples).find(|((n, _), _)| *n == name).and_then(|(_, r)| r.as_ref().ok())
        };
        let pair = match (times_of(PAIR.0), times_of(PAIR.1)) {
            (Some(ours), Some(theirs)) if ours.len() == runs && theirs.len() == runs => {
                Some(ours.iter().zip(theirs).map(|(&o, &t)| (o, t)).collect::<Vec<_>>())
            }
            _ => None,
        };
        let mut row: Vec<(&str, Result<f64, String>)> = Vec::new();
        for ((n, _), r) in contenders.iter().zip(samples) {
            let r = r.map(|times| median(&times));
            eprintln!("{rel}: {n}: {r:?}");
            row.push((n, r));
        }
        let all_ok = row.iter().all(|(_, r)| r.is_ok());
        let _ = write!(s, "| {rel} | {:.2} |", code as f64 / 1e6);
        for (n, r) in &row {
            match r {
                Ok(t) => {
                    let _ = write!(s, " {t:.1} ({:.1}) |", code as f64 / 1e6 / (t / 1e3));
                    if all_ok {
                        let e = tot.entry(n).or_default();
                        e.0 += code as f64;
                        e.1 += t;
                    }
                }
                Err(x) => {
                    let x: String = x.replace('|', "/").chars().take(80).collect();
                    let _ = write!(s, " FAIL: {x} |");
                }
            }
        }
        if paired {
            match &pair {
                Some(pair) => {
                    let ratios: Vec<f64> = pair.iter().map(|(o, t)| t / o).collect();
                    let _ = write!(s, " {} |", ratio_summary(&ratios));
                    if all_ok {
                        for ((o, t), total) in pair.iter().zip(&mut round_totals) {
                            total.0 += o;
                            total.1 += t;
                        }
                    }
                }
                None => {
                    let _ = write!(s, " – |");
                }
            }
        }
        let _ = writeln!(s, " {} |", fmt(ratio, 2));
    }
    let _ = write!(
        s,
        "| **total (modules every engine compiled)** | {:.2} |",
        tot.values().next().map(|t| t.0 / 1e6).unwrap_or(0.0)
    );
    for n in names {
        match tot.get(n) {
            Some((b, t)) => {
                let _ = write!(s, " **{:.0} ms ({:.1} MB/s)** |", t, b / 1e6 / (t / 1e3));
            }
            None => {
                let _ = write!(s, " – |");
            }
        }
    }
    if paired {
        let ratios: Vec<f64> = round_totals.iter().map(|(o, t)| t / o).collect();
        let _ = write!(s, " **{}** |", ratio_summary(&ratios));
    }
    let _ = writeln!(s, " **{}** |", fmt(sw_code.0 as f64 / sw_code.1 as f64, 2));
    if paired {
        let _ = writeln!(
            s,
            "\nThe {0} / {1} column divides, round by round, the two engines' times for \
             the same module (for the total: their sums over the modules in that round), \
             then takes the median and range of those ratios: a burst of load that slows \
             one engine's samples moves it less than the ratio of medians.",
            PAIR.1, PAIR.0
        );
    }
    s
}

/// The engines whose times the corpus report also compares round by round: ours and
/// the target of the compile-speed goal.
const PAIR: (&str, &str) = ("sidewinder", "v8-liftoff");

/// `median (min-max)` of ratios, as `1.52× (1.41-1.60)`.
fn ratio_summary(ratios: &[f64]) -> String {
    let finite: Vec<f64> = ratios.iter().copied().filter(|r| r.is_finite()).collect();
    if finite.is_empty() {
        return "–".into();
    }
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{:.2}× ({lo:.2}-{hi:.2})", median(&finite))
}

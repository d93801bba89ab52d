//! Random GC modules from `wasm-smith`, run in the engine alone: no oracle here runs GC
//! (wasmi has none), so this checks what must hold whatever the results: every module
//! wasm-smith makes compiles and instantiates (or traps doing so), every export called
//! returns or traps, never crashes, and every result is of the export's declared type
//! (`Val::matches`: an object of the right struct or array type, an `i31`, null only
//! where allowed). Arguments come from earlier results where their types match, so
//! objects travel between functions.
//!
//! Environment: `SIDEWINDER_GC_CASES` (default [`DEFAULT_CASES`]) and
//! `SIDEWINDER_GC_SEED` (the first seed; seeds are consecutive).

#[allow(dead_code)] // shared with differential.rs, which uses the rest
mod differential {
    pub mod calls;
    pub mod generate;
    pub mod value;
}

#[allow(dead_code)] // the verdict helpers are for the tests that build modules by hand
mod support;

use differential::generate::{config, module_bytes_with, Rng};
use sidewinder_engine::{Config, Engine, Error, Extern, Instance, Module, Store, Val};
use std::collections::BTreeMap;

const DEFAULT_CASES: u64 = 2_000;

fn gc_module(seed: u64) -> arbitrary::Result<Vec<u8>> {
    let mut c = config();
    c.gc_enabled = true;
    c.max_instructions = 400;
    c.max_types = 16;
    module_bytes_with(&mut Rng::new(seed ^ 0x4743_4743), c)
}

#[derive(Default)]
struct Tally {
    modules: u64,
    calls: u64,
    traps: BTreeMap<String, u64>,
    object_results: u64,
    i31_results: u64,
}

fn run(engine: &Engine, seed: u64, tally: &mut Tally) -> Result<(), String> {
    let Ok(bytes) = gc_module(seed) else { return Ok(()) };
    let module = match Module::new(engine, &bytes) {
        Ok(m) => m,
        Err(Error::Unsupported(_)) => return Ok(()),
        Err(e) => return Err(format!("wasm-smith's module refused: {e}")),
    };
    tally.modules += 1;
    let store = Store::new(engine);
    let instance = match Instance::new(&store, &module, &[]) {
        Ok(i) => i,
        Err(Error::Trap(t)) => {
            *tally.traps.entry(t.code().message().to_string()).or_default() += 1;
            return Ok(());
        }
        Err(e) => return Err(format!("instantiation failed: {e}")),
    };
    let mut pool: Vec<Val> = Vec::new();
    for (name, export) in instance.exports() {
        let Extern::Func(f) = export else { continue };
        let ty = f.ty();
        let args: Option<Vec<Val>> = ty
            .params()
            .iter()
            .map(|&p| {
                pool.iter().rev().find(|v| v.matches(p)).cloned().or_else(|| {
                    let zero = Val::default_for(p);
                    zero.matches(p).then_some(zero)
                })
            })
            .collect();
        // A non-nullable reference parameter with nothing to pass.
        let Some(args) = args else { continue };
        tally.calls += 1;
        match f.call(&args) {
            Ok(results) => {
                for (value, &expected) in results.iter().zip(ty.results()) {
                    if !value.matches(expected) {
                        return Err(format!("{name}: result {value:?} is not a {expected}"));
                    }
                    match value {
                        Val::AnyRef(Some(sidewinder_engine::AnyRef::Object(_))) => tally.object_results += 1,
                        Val::AnyRef(Some(sidewinder_engine::AnyRef::I31(_))) => tally.i31_results += 1,
                        _ => {}
                    }
                }
                pool.extend(results);
            }
            Err(Error::Trap(t)) => *tally.traps.entry(t.code().message().to_string()).or_default() += 1,
            Err(e) => return Err(format!("{name}: {e}")),
        }
    }
    Ok(())
}

#[test]
fn random_gc_modules_run_safely() {
    let cases =
        std::env::var("SIDEWINDER_GC_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_CASES);
    let first = std::env::var("SIDEWINDER_GC_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0u64);
    // Odd seeds run in the collector's test mode: a collection at every allocation
    // compiled code cannot make in line.
    let engines =
        [Engine::default(), Engine::new(Config { gc_collect_after: 0, ..Config::default() }).unwrap()];
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for seed in first..first + cases {
        if let Err(e) = run(&engines[(seed % 2) as usize], seed, &mut tally) {
            failures.push(format!("seed {seed}: {e}"));
        }
        if (seed - first + 1).is_multiple_of(1000) {
            eprintln!("  {} of {cases} seeds", seed - first + 1);
        }
    }
    eprintln!(
        "gc modules: {} ran, {} calls, {} struct/array and {} i31 results; traps {:?}",
        tally.modules, tally.calls, tally.object_results, tally.i31_results, tally.traps
    );
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    // The generator must keep making what this test is for.
    assert!(tally.modules > cases / 2, "only {} of {cases} seeds made a module", tally.modules);
}

//! Robustness against damaged input: modules from `wasm-smith` (the differential test's
//! generator), with one to three random byte edits each (flip a bit, overwrite, insert,
//! delete, truncate). For every one, `Module::new` must neither panic nor report an
//! internal compiler error (a panic caught inside the compiler), and must accept exactly
//! what wasmparser's validator accepts with the engine's features, except what it refuses
//! as unsupported; `Module::validate` must agree with `Module::new`. (An invalid module's
//! error is the validator's own, by design of `Module::compile`; the check that its
//! offset lies inside the module guards that path.)
//!
//! Environment: `SIDEWINDER_MUTATION_CASES` (default [`DEFAULT_CASES`]) and
//! `SIDEWINDER_MUTATION_SEED` (the first seed; seeds are consecutive). A failing
//! module is written to `<target dir>/mutation-failures/<seed>.wasm`.

#[allow(dead_code)] // shared with differential.rs, which uses the rest
mod differential {
    pub mod calls;
    pub mod generate;
    pub mod value;
}

#[allow(dead_code)] // `leb` and the verdict helpers are for the tests that build modules by hand
mod support;

use differential::generate::{config, module_bytes, module_bytes_with, Rng};
use sidewinder_engine::{Engine, Error, Module};
use std::panic::{catch_unwind, AssertUnwindSafe};
use support::engine_features;
use wasmparser::Validator;

const DEFAULT_CASES: u64 = 10_000;

/// A module that may use exceptions (`try_table`, `throw`, `throw_ref`), relaxed SIMD,
/// SIMD, several memories, 64-bit memories and tables, extended constant expressions,
/// atomics and shared memories, wide arithmetic, custom page sizes
/// besides what the differential test's modules use; and for one seed in two, GC, the
/// only way wasm-smith makes typed function references. Most such modules are invalid
/// without GC (refused with the validator's error), about one in six is valid; in a
/// count of 4,000 none of those used a function-references instruction (`call_ref`,
/// `br_on_null`, ...), which the spec scripts and `tests/function_references.rs` cover.
fn module_with_proposals(seed: u64) -> arbitrary::Result<Vec<u8>> {
    let mut c = config();
    c.gc_enabled = seed % 4 == 3;
    c.exceptions_enabled = true;
    c.simd_enabled = true;
    c.relaxed_simd_enabled = true;
    c.max_memories = 2;
    c.memory64_enabled = true;
    c.max_memory64_bytes = 4 * 65536;
    c.extended_const_enabled = true;
    c.threads_enabled = true;
    c.wide_arithmetic_enabled = true;
    c.custom_page_sizes_enabled = true;
    c.max_instructions = 600;
    c.max_funcs = 4;
    module_bytes_with(&mut Rng::new(seed ^ 0x5052_4f50), c)
}

/// One to three random edits of `bytes`.
fn mutate(bytes: &mut Vec<u8>, rng: &mut Rng) {
    for _ in 0..1 + rng.below(3) {
        if bytes.is_empty() {
            return;
        }
        let at = rng.below(bytes.len() as u64) as usize;
        let byte = rng.below(256) as u8;
        match rng.below(5) {
            0 => bytes[at] ^= 1 << rng.below(8),
            1 => bytes[at] = byte,
            2 => bytes.insert(at, byte),
            3 => drop(bytes.remove(at)),
            _ => bytes.truncate(at),
        }
    }
}

/// How a damaged module fared.
#[derive(Default)]
struct Tally {
    rejected: u64,
    accepted: u64,
    unsupported: u64,
}

fn check(engine: &Engine, bytes: &[u8], tally: &mut Tally) -> Result<(), String> {
    let reference = Validator::new_with_features(engine_features()).validate_all(bytes);
    let ours = catch_unwind(AssertUnwindSafe(|| Module::new(engine, bytes)))
        .map_err(|_| "Module::new panicked".to_string())?;
    let validated = catch_unwind(AssertUnwindSafe(|| Module::validate(bytes)))
        .map_err(|_| "Module::validate panicked".to_string())?;
    if let Some(e) = ours.as_ref().err().filter(|e| e.is_internal()) {
        return Err(format!("internal compiler error: {e}"));
    }
    if validated.is_ok() != ours.is_ok() {
        return Err(format!("Module::validate says {validated:?}, Module::new {:?}", ours.err()));
    }
    match (reference, ours) {
        (Err(_), Err(Error::Compile { offset, message })) => {
            if offset > bytes.len() {
                return Err(format!("offset {offset} past the module's {} bytes: {message}", bytes.len()));
            }
            tally.rejected += 1;
        }
        (Err(e), Ok(_)) => return Err(format!("accepted an invalid module ({e})")),
        (Err(e), Err(other)) => return Err(format!("invalid module ({e}) rejected as {other:?}")),
        (Ok(_), Ok(_)) => tally.accepted += 1,
        (Ok(_), Err(Error::Unsupported(_))) => tally.unsupported += 1,
        (Ok(_), Err(Error::Compile { message, .. })) if message.contains("unsupported") => {
            tally.unsupported += 1
        }
        (Ok(_), Err(other)) => return Err(format!("rejected a valid module: {other:?}")),
    }
    Ok(())
}

#[test]
fn damaged_modules_are_rejected_cleanly_or_accepted_as_the_validator_does() {
    let env =
        |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let cases = env("SIDEWINDER_MUTATION_CASES", DEFAULT_CASES);
    let first = env("SIDEWINDER_MUTATION_SEED", 0);
    let engine = Engine::default();
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    let started = std::time::Instant::now();
    for seed in first..first + cases {
        let done = seed - first;
        if done > 0 && done % 500 == 0 {
            println!("mutated modules: {done}/{cases} ({:.1?})", started.elapsed());
        }
        // Every other seed: the proposals the differential test cannot run (its oracle
        // lacks them, or their results are nondeterministic), compiled only here.
        let generated = if seed % 2 == 0 { module_bytes(seed) } else { module_with_proposals(seed) };
        let Ok(mut bytes) = generated else { continue };
        mutate(&mut bytes, &mut Rng::new(seed.wrapping_mul(0x9e37_79b9)));
        if let Err(why) = check(&engine, &bytes, &mut tally) {
            let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("mutation-failures");
            let saved = std::fs::create_dir_all(&dir)
                .and_then(|_| std::fs::write(dir.join(format!("{seed}.wasm")), &bytes));
            failures.push(format!("seed {seed}: {why} (saved: {})", saved.is_ok()));
        }
    }
    println!(
        "mutated modules: {cases} cases, {} rejected, {} accepted, {} unsupported, {} failures ({:.1?})",
        tally.rejected,
        tally.accepted,
        tally.unsupported,
        failures.len(),
        started.elapsed()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // A mutator that no longer damages anything would pass vacuously.
    // (Most edits break a module; a few percent leave it valid, for the compiler. One
    // seed alone, to reproduce a failure, is exempt.)
    assert!(
        cases < 1000 || (tally.rejected > cases / 2 && tally.accepted > cases / 50),
        "too one-sided to mean anything"
    );
}

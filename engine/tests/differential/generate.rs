//! Deterministic module and argument generation.

use super::value::{Ty, V};
pub use crate::support::Rng;
use arbitrary::Unstructured;

/// Fuel for `wasm-smith`'s termination instrumentation: every loop iteration and
/// function entry costs one unit; when it runs out the code executes `unreachable`.
const FUEL: u32 = 2_000;

/// `wasm-smith` restricted to WebAssembly 2.0 without SIMD (some [`profile`]s turn it on, and
/// some allow several memories, 64-bit memories and tables, and extended constant
/// expressions),
/// plus tail calls; no imports, everything exported, and sizes small enough that one
/// module takes milliseconds.
pub fn config() -> wasm_smith::Config {
    wasm_smith::Config {
        // Proposals beyond 2.0 off. Relaxed SIMD stays off even where SIMD is on: its
        // results are implementation-defined, and Sidewinder refuses it.
        simd_enabled: false,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        tail_call_enabled: true,
        exceptions_enabled: false,
        gc_enabled: false,
        memory64_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        extended_const_enabled: false,
        custom_descriptors_enabled: false,
        max_memories: 1,
        // The 2.0 feature set.
        reference_types_enabled: true,
        bulk_memory_enabled: true,
        multi_value_enabled: true,
        sign_extension_ops_enabled: true,
        saturating_float_to_int_enabled: true,
        allow_floats: true,
        // Everything observable is exported; nothing is imported.
        export_everything: true,
        max_imports: 0,
        min_funcs: 1,
        // Bounded sizes.
        max_funcs: 8,
        max_instructions: 250,
        max_types: 12,
        max_globals: 12,
        max_tables: 2,
        max_table_elements: 64,
        table_max_size_required: true,
        max_elements: 32,
        max_element_segments: 6,
        max_data_segments: 6,
        max_memory32_bytes: 4 * 65536,
        memory_max_size_required: true,
        max_values: 6,
        // NaN payloads are nondeterministic (e.g. which operand's payload `f64.min`
        // propagates); canonicalizing keeps them out of memories and globals, where they
        // would be compared bit for bit.
        canonicalize_nans: true,
        disallow_traps: false,
        ..wasm_smith::Config::default()
    }
}

/// A variation of [`config`], chosen per seed, to steer wasm-smith toward code that
/// stresses a single-pass compiler: long straight-line arithmetic with many live values.
fn profile(rng: &mut Rng) -> wasm_smith::Config {
    use wasm_smith::{InstructionKind as K, InstructionKinds};
    let mut c = config();
    match rng.below(5) {
        // Everything, with up to three memories (loads and stores of memories other
        // than 0 take another code path) and extended constant expressions.
        0 => {
            c.max_memories = 3;
            c.extended_const_enabled = true;
        }
        // Numeric code that does not trap, so that calls run to the end. (Its division
        // guards, `select(1, x, i32.eqz(x))`, hit a wasmi 2.0.0 bug, which the oracle
        // works around: `oracle::avoid_miscompiled_patterns`.)
        // With up to two memories; memories and tables may be 64-bit.
        1 => {
            c.max_memories = 2;
            c.memory64_enabled = true;
            c.max_memory64_bytes = 4 * 65536;
            c.disallow_traps = true;
            c.allowed_instructions =
                InstructionKinds::new(&[K::Numeric, K::Variable, K::Parametric, K::Control, K::Memory]);
        }
        // Integer-only, larger functions: register pressure on the general registers.
        2 => {
            c.allow_floats = false;
            c.max_instructions = 600;
            c.max_funcs = 4;
            c.allowed_instructions =
                InstructionKinds::new(&[K::NumericInt, K::Variable, K::Parametric, K::Control, K::MemoryInt]);
        }
        // Few, large functions of everything, SIMD included.
        3 => {
            c.simd_enabled = true;
            c.max_instructions = 1000;
            c.max_funcs = 3;
        }
        // SIMD-heavy numeric code, larger functions: register pressure on the xmm
        // registers, which v128 and scalar floats share.
        _ => {
            c.simd_enabled = true;
            c.max_instructions = 600;
            c.max_funcs = 4;
            c.allowed_instructions = InstructionKinds::new(&[
                K::Numeric,
                K::Vector,
                K::Variable,
                K::Parametric,
                K::Control,
                K::Memory,
            ]);
        }
    }
    c
}

/// Seeds `n` with `n % CALLS_EVERY == CALLS_EVERY - 1` get a module of `calls.rs`.
const CALLS_EVERY: u64 = 10;

/// The module for `seed`: from wasm-smith, or for one seed in `CALLS_EVERY` from
/// `calls.rs`.
pub fn module_bytes(seed: u64) -> arbitrary::Result<Vec<u8>> {
    if seed % CALLS_EVERY == CALLS_EVERY - 1 {
        let text = super::calls::module_text(seed);
        return Ok(wat::parse_str(&text)
            .unwrap_or_else(|e| panic!("calls.rs made invalid text for seed {seed}: {e}")));
    }
    let mut rng = Rng::new(seed);
    let config = profile(&mut rng);
    module_bytes_with(&mut rng, config)
}

/// A module of `config` from `rng`'s bytes, instrumented to terminate.
pub fn module_bytes_with(rng: &mut Rng, config: wasm_smith::Config) -> arbitrary::Result<Vec<u8>> {
    let len = 512 + rng.below(8 * 1024) as usize;
    let mut data = vec![0u8; len];
    rng.fill(&mut data);
    let mut u = Unstructured::new(&data);
    let mut module = wasm_smith::Module::new(config, &mut u)?;
    module.ensure_termination(FUEL).map_err(|_| arbitrary::Error::IncorrectFormat)?;
    Ok(module.to_bytes())
}

const INT_EDGES: [u64; 18] = [
    0,
    1,
    2,
    3,
    31,
    32,
    63,
    64,
    0x7f,
    0x80,
    0xff,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
];

const F64_EDGES: [f64; 16] = [
    0.0,
    -0.0,
    0.5,
    -1.5,
    2.5,
    1e10,
    -1e-10,
    2147483648.0,
    -2147483649.0,
    4294967296.0,
    9.223372036854776e18,
    -9.223372036854776e18,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::MIN_POSITIVE,
    f64::MAX,
];

fn random_value(rng: &mut Rng, ty: Ty) -> V {
    let int = |rng: &mut Rng| match rng.below(3) {
        0 => INT_EDGES[rng.below(INT_EDGES.len() as u64) as usize],
        1 => rng.below(256),
        _ => rng.next_u64(),
    };
    let float = |rng: &mut Rng| match rng.below(4) {
        0 | 1 => F64_EDGES[rng.below(F64_EDGES.len() as u64) as usize],
        2 => (rng.next_u64() as i64 as f64) / (1u64 << rng.below(64)) as f64,
        _ => f64::NAN,
    };
    match ty {
        Ty::V128 => {
            // Lanes of one shape, each drawn like a scalar: code usually builds and reads
            // a v128 as one shape, and the edge cases that matter are per lane.
            const SHAPES: [(u32, Ty); 6] =
                [(8, Ty::I32), (16, Ty::I32), (32, Ty::I32), (64, Ty::I64), (32, Ty::F32), (64, Ty::F64)];
            let (lane_bits, lane_ty) = SHAPES[rng.below(SHAPES.len() as u64) as usize];
            let mask = u128::MAX >> (128 - lane_bits);
            V::V128((0..128 / lane_bits).fold(0, |acc, i| {
                let lane = match random_value(rng, lane_ty) {
                    V::I32(x) => x as u32 as u128,
                    V::I64(x) => x as u64 as u128,
                    V::F32(b) => b as u128,
                    V::F64(b) => b as u128,
                    other => unreachable!("{other:?} as a lane"),
                };
                acc | (lane & mask) << (i * lane_bits)
            }))
        }
        Ty::I32 => V::I32(int(rng) as i32),
        Ty::I64 => V::I64(int(rng) as i64),
        Ty::F32 => match rng.below(8) {
            0 => V::F32(rng.next_u64() as u32),
            1 => V::F32(0x7fa0_0001), // a signalling NaN
            _ => V::F32((float(rng) as f32).to_bits()),
        },
        Ty::F64 => match rng.below(8) {
            0 => V::F64(rng.next_u64()),
            1 => V::F64(0x7ff4_0000_0000_0001), // a signalling NaN
            _ => V::F64(float(rng).to_bits()),
        },
        Ty::FuncRef => V::FuncRef { null: true },
        Ty::ExternRef => V::ExternRef { null: true },
    }
}

/// Argument vectors for one function: all zeros, all ones, all minus one, minimum
/// values, maximum values / NaN, then a few random mixes of edge cases. A v128 takes the
/// i32 value in every 32-bit lane (so the minimum is also `-0.0` per f32 lane, and
/// `i32::MAX` is also a NaN with every payload bit set).
pub fn argument_vectors(module_hash: u64, func: u64, params: &[Ty]) -> Vec<Vec<V>> {
    let fixed = |i: i32, l: V, f: V, d: V| -> Vec<V> {
        params
            .iter()
            .map(|t| match t {
                Ty::I32 => V::I32(i),
                Ty::I64 => l,
                Ty::F32 => f,
                Ty::F64 => d,
                Ty::V128 => V::V128(i as u32 as u128 * 0x0000_0001_0000_0001_0000_0001_0000_0001),
                Ty::FuncRef => V::FuncRef { null: true },
                Ty::ExternRef => V::ExternRef { null: true },
            })
            .collect()
    };
    let mut out = vec![
        fixed(0, V::I64(0), V::F32(0), V::F64(0)),
        fixed(1, V::I64(1), V::F32(1f32.to_bits()), V::F64(1f64.to_bits())),
        fixed(-1, V::I64(-1), V::F32((-1f32).to_bits()), V::F64((-1f64).to_bits())),
        fixed(i32::MIN, V::I64(i64::MIN), V::F32((-0f32).to_bits()), V::F64((-0f64).to_bits())),
        fixed(i32::MAX, V::I64(i64::MAX), V::F32(f32::NAN.to_bits()), V::F64(f64::NAN.to_bits())),
    ];
    if params.is_empty() {
        out.truncate(2); // Calling twice still shows state carried between calls.
        return out;
    }
    let mut rng = Rng::new(module_hash ^ func.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    for _ in 0..3 {
        out.push(params.iter().map(|&t| random_value(&mut rng, t)).collect());
    }
    out
}

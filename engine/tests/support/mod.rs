//! What several test files share.

use wasmparser::WasmFeatures;

/// The proposals `Module::new` accepts (engine/src/module.rs `features`, not public), for
/// tests that compare the engine's verdicts with wasmparser's validator: were that list
/// to grow, they would report the new proposals' modules as invalid ones accepted.
pub fn engine_features() -> WasmFeatures {
    WasmFeatures::WASM2
        | WasmFeatures::FUNCTION_REFERENCES
        | WasmFeatures::EXCEPTIONS
        | WasmFeatures::LEGACY_EXCEPTIONS
        | WasmFeatures::TAIL_CALL
        | WasmFeatures::RELAXED_SIMD
}

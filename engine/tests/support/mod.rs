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

/// Appends `n` as an unsigned LEB128.
pub fn leb(out: &mut Vec<u8>, mut n: u32) {
    loop {
        let byte = (n & 0x7F) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

//! What several test files share.

use sidewinder_engine::{Config, Engine, Error, Extern, Func, Instance, Module, Store, TrapCode, Val};
use wasmparser::{Validator, WasmFeatures};

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
        | WasmFeatures::EXTENDED_CONST
        | WasmFeatures::MEMORY64
        | WasmFeatures::MULTI_MEMORY
        | WasmFeatures::GC
        | WasmFeatures::THREADS
        | WasmFeatures::WIDE_ARITHMETIC
        | WasmFeatures::CUSTOM_PAGE_SIZES
}

/// wasmparser's verdict on `bytes` with the engine's features: for an invalid module,
/// its error's message and offset.
pub fn wasmparser_verdict(bytes: &[u8]) -> Result<(), (String, usize)> {
    Validator::new_with_features(engine_features())
        .validate_all(bytes)
        .map(drop)
        .map_err(|e| (e.message().to_string(), e.offset() as usize))
}

/// `Module::validate`'s verdict on `bytes`, in the same form; any error but a compile
/// error fails the test.
pub fn engine_verdict(bytes: &[u8]) -> Result<(), (String, usize)> {
    match Module::validate(bytes) {
        Ok(()) => Ok(()),
        Err(Error::Compile { message, offset }) => Err((message, offset)),
        Err(other) => panic!("not a compile error: {other}"),
    }
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

/// `br_table`s that carry the top values to targets at different depths: two i64s over a
/// third, and a v128 over an i32. `f(target)` returns (2, 3) and the v128 1, 2, 3, 4
/// for every target. Minimized from seeds 12490915 and 14158164, which wasmi 2.0.0 gets
/// wrong (the differential test's `WASMI_BR_TABLE_BUG`); regressions.rs checks that
/// Sidewinder gets them right.
#[allow(dead_code)] // used by those two of the crates that include this module
pub const BR_TABLES_CARRYING_TOP_VALUES: [&str; 2] = [
    r#"(module
  (func (export "f") (param i32) (result i64 i64)
    block (result i64 i64)
      block (result i64 i64)
        i64.const 1
        i64.const 2
        i64.const 3
        local.get 0
        br_table 0 1 0
      end
    end))"#,
    r#"(module
  (func (export "f") (param i32) (result v128)
    block (result v128)
      i32.const 7
      v128.const i32x4 1 2 3 4
      local.get 0
      br_table 0 1 1
    end))"#,
];

/// SplitMix64: small, fast and good enough to feed `arbitrary` and the test generators.
pub struct Rng(u64);

impl Rng {
    /// The differential test's generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng::salted(seed, 0x5344_5744_4946_4600) // "SDWDIFF"
    }

    /// A generator for `seed` whose streams differ from other tests' by `salt`.
    pub fn salted(seed: u64, salt: u64) -> Rng {
        Rng(seed ^ salt)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// `wat` compiled by `engine`; a module that does not parse or compile fails the test.
pub fn compile(engine: &Engine, wat: &str) -> Module {
    let bytes = wat::parse_str(wat).unwrap_or_else(|e| panic!("{e}"));
    Module::new(engine, &bytes).unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh store of an engine with `config`, and an instance of `wat` (no imports) in it.
pub fn instantiate(wat: &str, config: Config) -> (Store, Instance) {
    let engine = Engine::new(config).expect("engine");
    let store = Store::new(&engine);
    let module = Module::new(&engine, &wat::parse_str(wat).expect("valid wat")).expect("compiles");
    let instance = Instance::new(&store, &module, &[]).expect("instantiates");
    (store, instance)
}

/// An instance of `wat` (no imports) in `store`.
pub fn instance_in(store: &Store, wat: &str) -> Instance {
    let module = Module::new(store.engine(), &wat::parse_str(wat).expect("valid wat")).expect("compiles");
    Instance::new(store, &module, &[]).expect("instantiates")
}

/// The function `instance` exports as `name`; anything else fails the test.
pub fn exported_func(instance: &Instance, name: &str) -> Func {
    match instance.get_export(name) {
        Some(Extern::Func(f)) => f,
        other => panic!("{name}: {other:?}"),
    }
}

/// Runs `check` on a fresh instance of `wat` with guard pages, then on one with explicit
/// bounds checks.
pub fn in_both_bounds_modes(wat: &str, check: impl Fn(&Instance)) {
    for explicit_bounds_checks in [false, true] {
        let (_store, instance) = instantiate(wat, Config { explicit_bounds_checks, ..Config::default() });
        check(&instance);
    }
}

/// The one integer result of calling export `name` (an i32 sign-extended); a failed
/// call or any other result fails the test.
pub fn integer_result(instance: &Instance, name: &str, args: &[Val]) -> i64 {
    match instance.call(name, args).unwrap_or_else(|e| panic!("{name}{args:?}: {e:?}")).as_slice() {
        [Val::I32(v)] => *v as i64,
        [Val::I64(v)] => *v,
        other => panic!("{name}: {other:?}"),
    }
}

/// Calls export `name`; a failed call fails the test.
pub fn call_ok(instance: &Instance, name: &str, args: &[Val]) {
    instance.call(name, args).unwrap_or_else(|e| panic!("{name}{args:?}: {e:?}"));
}

/// Calls export `name`, which must trap with `code`.
pub fn assert_trap(instance: &Instance, name: &str, args: &[Val], code: TrapCode) {
    match instance.call(name, args) {
        Err(Error::Trap(t)) => assert_eq!(t.code(), code, "{name}{args:?}"),
        other => panic!("{name}{args:?}: expected {code:?}, got {other:?}"),
    }
}

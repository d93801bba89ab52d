//! The buffers compilations keep for the next one (`compiler/operator_buffers.rs`), and
//! `release_compile_buffers`, which gives their memory back.

use sidewinder_engine::{release_compile_buffers, Config, Engine, Instance, Module, Store, Val};

/// A module whose one function has `adds` additions: about two bytes of code and one
/// buffered operator (56 bytes) per instruction.
fn big_function(adds: usize) -> Vec<u8> {
    let body = "local.get 0 i32.const 1 i32.add local.set 0\n".repeat(adds);
    wat::parse_str(format!("(module (func (export \"f\") (param i32) (result i32) {body} local.get 0))"))
        .expect("valid wat")
}

/// Resident memory of this process, in bytes.
fn resident() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("resident pages");
    pages * 4096
}

#[test]
fn compile_buffers_are_kept_until_released_and_compiling_goes_on_after() {
    let engine = Engine::new(Config { compile_threads: 1, ..Config::default() }).expect("engine");
    // 20,000 x 4 instructions: about 80,000 operators, a 4.5 MB buffer, under the 8 MiB
    // a kept buffer may have.
    let bytes = big_function(20_000);
    let module = Module::new(&engine, &bytes).expect("compiles");
    drop(module);
    let kept = resident();
    release_compile_buffers();
    let released = resident();
    assert!(
        kept.saturating_sub(released) >= 2 << 20,
        "releasing freed {} KiB of a buffer of about 4.5 MB",
        kept.saturating_sub(released) >> 10
    );
    // Compiling again allocates afresh, and the code is right.
    let module = Module::new(&engine, &big_function(1_000)).expect("compiles after release");
    let store = Store::new(&engine);
    let instance = Instance::new(&store, &module, &[]).expect("instantiates");
    let results = instance.call("f", &[Val::I32(5)]).expect("runs");
    assert!(matches!(results.as_slice(), [Val::I32(1_005)]), "{results:?}");
}

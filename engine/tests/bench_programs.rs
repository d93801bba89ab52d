//! The benchmark programs (bench/wasm/*.wasm: C by clang, Rust by rustc and cargo, and text with
//! exceptions and tail calls) as end-to-end tests: each `run()` must return the checksum
//! the same program gave built natively (bench/expected.txt). Real code from real
//! compilers, checked on every test run rather than only when someone runs the
//! benchmarks.

use sidewinder_engine::{Engine, Instance, Module, Store, Val};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

/// Each program runs well under a second; a miscompile can also loop forever, which
/// should fail the test rather than hang it.
const TIME_LIMIT: Duration = Duration::from_secs(60);

fn checksum_of(engine: &Engine, name: &str, bytes: &[u8]) -> u32 {
    let module = Module::new(engine, bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    let store = Store::new(engine);
    let instance = Instance::new(&store, &module, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
    match instance.call("run", &[]).unwrap_or_else(|e| panic!("{name}: {e}")).as_slice() {
        [Val::I32(v)] => *v as u32,
        other => panic!("{name}: run() returned {other:?}"),
    }
}

#[test]
fn every_benchmark_returns_its_native_checksum() {
    let bench = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench");
    let expected = std::fs::read_to_string(bench.join("expected.txt")).expect("bench/expected.txt");
    let mut checked = 0;
    for line in expected.lines() {
        let mut fields = line.split_whitespace();
        let (Some(name), Some(sum)) = (fields.next(), fields.next()) else { continue };
        let want: u32 = sum.parse().unwrap_or_else(|_| panic!("bad checksum line {line:?}"));
        let path = bench.join("wasm").join(format!("{name}.wasm"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (send, receive) = mpsc::channel();
        let runner_name = name.to_string();
        // A runaway program's thread is left behind; the test process ends anyway.
        std::thread::spawn(move || {
            let _ = send.send(checksum_of(&Engine::default(), &runner_name, &bytes));
        });
        match receive.recv_timeout(TIME_LIMIT) {
            Ok(got) => assert_eq!(got, want, "{name}: checksum"),
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("{name}: still running after {TIME_LIMIT:?}"),
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{name}: failed (see its panic above)"),
        }
        checked += 1;
    }
    assert!(checked >= 43, "only {checked} benchmarks in bench/expected.txt");
}

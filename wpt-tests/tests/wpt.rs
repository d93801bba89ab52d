//! Runs the web-platform-tests `wasm/jsapi` suite against the `WebAssembly` namespace of
//! `sidewinder-js`, comparing the results with `wpt-tests/expectations.txt`.
//!
//! A `harness = false` test, so that one run can print a line per WPT file and a final
//! `wpt: N passed, N failed`. See `sidewinder_wpt::runner` for the environment variables.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Exiting (rather than returning) also ends any worker thread the watchdog abandoned.
    std::process::exit(sidewinder_wpt::runner::main(&args));
}

//! Compiles a .wasm (or .wat) file and reports the compile throughput:
//! `cargo run --release -p sidewinder-engine --example compile -- file.wasm [runs] [threads]`
//! (threads: 0, the default, is one per core).
//! Handy under a profiler (`valgrind --tool=callgrind`), since it does nothing else.

use sidewinder_engine::{Config, Engine, Module};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: compile <file.wasm> [runs] [threads]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5).max(1);
    let compile_threads: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let read = if path.ends_with(".wat") {
        wat::parse_file(&path).map_err(|e| e.to_string())
    } else {
        std::fs::read(&path).map_err(|e| e.to_string())
    };
    let bytes = read.unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1);
    });
    let engine = Engine::new(Config { compile_threads, ..Config::default() }).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1);
    });
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        if let Err(e) = Module::new(&engine, &bytes) {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let mb = bytes.len() as f64 / 1e6;
    println!("{path}: {:.1} ms median of {runs}, {:.1} MB/s of module bytes", median * 1e3, mb / median);
}

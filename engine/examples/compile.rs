//! Compiles a .wasm (or .wat) file and reports the compile throughput:
//! `cargo run --release -p sidewinder-engine --example compile -- file.wasm [runs] [threads]`
//! (threads: 0, the default, is one per core).
//! Handy under a profiler (`valgrind --tool=callgrind`), since it does nothing else.
//! With `SIDEWINDER_CODE_DUMP=file`, also writes every defined function's machine code,
//! one after another, to `file`: a change meant to leave the emitted code alone can be
//! checked on real modules (disassemble both dumps with
//! `objdump -D -b binary -m i386:x86-64` and compare, ignoring `movabs` addresses, which
//! differ between builds).

use sidewinder_engine::{Config, Engine, ExternType, Module};
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
    if let Some(dump) = std::env::var_os("SIDEWINDER_CODE_DUMP") {
        let module = Module::new(&engine, &bytes).expect("compiled above");
        // Imported functions come first and have no code; defined ones follow.
        let imported = module.imports().iter().filter(|i| matches!(i.ty, ExternType::Func(_))).count() as u32;
        let code: Vec<u8> =
            (imported..).map_while(|index| module.function_code(index)).flatten().copied().collect();
        std::fs::write(&dump, code).unwrap_or_else(|e| {
            eprintln!("{}: {e}", dump.to_string_lossy());
            std::process::exit(1);
        });
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let mb = bytes.len() as f64 / 1e6;
    println!("{path}: {:.1} ms median of {runs}, {:.1} MB/s of module bytes", median * 1e3, mb / median);
}

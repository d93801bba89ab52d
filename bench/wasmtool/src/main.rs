//! wasmtool: `wasmtool wat2wasm IN.wat OUT.wasm` converts (and validates via the
//! wat crate's parser) a text module; `wasmtool print IN.wasm` prints a module as text
//! (used to check that tail-call / exception instructions are really present).
use std::process::exit;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("wat2wasm") if args.len() == 4 => {
            let bin = wat::parse_file(&args[2]).unwrap_or_else(|e| {
                eprintln!("{e}");
                exit(1)
            });
            std::fs::write(&args[3], bin).expect("write output");
        }
        Some("print") if args.len() == 3 => {
            let bin = std::fs::read(&args[2]).expect("read input");
            match wasmprinter::print_bytes(&bin) {
                Ok(s) => print!("{s}"),
                Err(e) => {
                    eprintln!("{e}");
                    exit(1)
                }
            }
        }
        _ => {
            eprintln!("usage: wasmtool wat2wasm IN.wat OUT.wasm | wasmtool print IN.wasm");
            exit(2)
        }
    }
}

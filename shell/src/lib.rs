//! The `sidewinder` shell: a JavaScript REPL and script runner on Boa with the
//! WebAssembly namespace, plus a JS-free `--invoke` mode for wasm modules.
//!
//! The binary is a thin wrapper around [`run`]; [`environment::new_context`] is
//! reusable by other harnesses (for example the WPT runner).

pub mod cli;
pub mod environment;
pub mod event_loop;
pub mod printer;
pub mod repl;
pub mod runner;
pub mod wasm_invoke;

use cli::{Cli, ColorChoice, Mode};
use environment::Options;
use runner::Program;
use std::io::Write;

/// Runs the shell as `cli` describes and returns the process exit status. Call it on
/// a thread with `cli.stack_size` bytes of stack ([`run_on_large_stack`]).
pub fn run(cli: Cli) -> i32 {
    match cli.color {
        ColorChoice::Auto => {}
        ColorChoice::Always => printer::set_color_override(true),
        ColorChoice::Never => printer::set_color_override(false),
    }
    match &cli.mode {
        Mode::Help => {
            println!("{}", cli::USAGE);
            0
        }
        Mode::Version => {
            println!("sidewinder {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Mode::Invoke { file, name } => {
            match wasm_invoke::invoke(file, name.as_deref(), &cli.args, cli.max_wasm_stack) {
                Ok(lines) => {
                    let mut out = std::io::stdout().lock();
                    for line in lines {
                        let _ = writeln!(out, "{line}");
                    }
                    0
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    1
                }
            }
        }
        Mode::Repl | Mode::Script(_) | Mode::Module(_) | Mode::Eval(_) => run_js(&cli),
    }
}

fn run_js(cli: &Cli) -> i32 {
    let module_root = match &cli.mode {
        Mode::Module(path) | Mode::Script(path) => {
            path.canonicalize().ok().and_then(|p| p.parent().map(|d| d.to_path_buf()))
        }
        _ => None,
    };
    let options = Options {
        script_args: cli.args.clone(),
        module_root,
        stack_size: cli.stack_size,
        recursion_limit: cli.recursion_limit,
        max_wasm_stack: cli.max_wasm_stack,
    };
    let mut context = match environment::new_context(&options) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: cannot create the JavaScript context: {e}");
            return 1;
        }
    };
    let program = match &cli.mode {
        Mode::Script(p) => Program::Script(p),
        Mode::Module(p) => Program::Module(p),
        Mode::Eval(code) => Program::Code(code),
        _ => return repl::run(context),
    };
    if let Err(status) = runner::run(program, &mut context) {
        return status;
    }
    if cli.interactive {
        return repl::run(context);
    }
    0
}

/// Runs `cli` on a fresh thread whose stack is `cli.stack_size` bytes, so deep
/// recursion in JS or wasm ends in an error instead of overflowing the main thread.
pub fn run_on_large_stack(cli: Cli) -> i32 {
    let stack = cli.stack_size;
    let spawned =
        std::thread::Builder::new().name("sidewinder".into()).stack_size(stack).spawn(move || run(cli));
    match spawned {
        Ok(handle) => handle.join().unwrap_or(101),
        Err(e) => {
            eprintln!("error: cannot start a thread with a {} MiB stack: {e}", stack >> 20);
            1
        }
    }
}

//! Command-line parsing.
//!
//! Everything after the script file (or after `--invoke NAME`) belongs to the script,
//! so those arguments are taken raw: `-5` there is a number, not an option.

use crate::environment::DEFAULT_STACK_SIZE;
use std::ffi::OsString;
use std::path::PathBuf;

pub const USAGE: &str = "\
Usage:
  sidewinder [OPTIONS]                          start the REPL
  sidewinder [OPTIONS] FILE.js [ARGS...]        run a script
  sidewinder [OPTIONS] -m FILE.mjs [ARGS...]    run an ES module
  sidewinder [OPTIONS] -e CODE [ARGS...]        run CODE
  sidewinder [OPTIONS] MODULE.wasm|.wat --invoke NAME [ARGS...]
                                                call a wasm export without JS

Options:
  -e, --eval CODE          evaluate CODE as a script
  -m, --module             treat FILE as an ES module (also implied by .mjs)
  -i, --interactive        start the REPL after running FILE or -e CODE
      --invoke NAME        call export NAME of a .wasm/.wat module, print results
      --stack-size=MiB     native stack of the JS/wasm thread (default 256)
      --max-wasm-stack=KiB native stack wasm may use before trapping (default 1024)
      --recursion-limit=N  Boa's call-depth limit (default derived from --stack-size)
      --color=WHEN         auto (default), always or never; NO_COLOR disables colour
  -h, --help               print this help
  -V, --version            print the version

Globals: print, console, read(path[, \"binary\"]), readbuffer(path), load(path),
quit([code]), wat(text), gc(), arguments / scriptArgs, WebAssembly, TextEncoder,
TextDecoder, setTimeout / setInterval / clear*, queueMicrotask, performance.now().

Environment: SIDEWINDER_HISTORY (REPL history file, default ~/.sidewinder_history),
NO_COLOR.";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Repl,
    Script(PathBuf),
    Module(PathBuf),
    Eval(String),
    Invoke { file: PathBuf, name: Option<String> },
    Help,
    Version,
}

#[derive(Clone, Debug)]
pub struct Cli {
    pub mode: Mode,
    pub args: Vec<String>,
    pub interactive: bool,
    pub stack_size: usize,
    pub max_wasm_stack: usize,
    pub recursion_limit: Option<usize>,
    pub color: ColorChoice,
}

impl Default for Cli {
    fn default() -> Self {
        Cli {
            mode: Mode::Repl,
            args: Vec::new(),
            interactive: false,
            stack_size: DEFAULT_STACK_SIZE,
            max_wasm_stack: sidewinder_engine::Config::default().max_wasm_stack,
            recursion_limit: None,
            color: ColorChoice::Auto,
        }
    }
}

fn is_wasm_file(path: &std::path::Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("wasm") | Some("wat") | Some("wast"))
}

fn parse_number<T: std::str::FromStr>(flag: &str, value: OsString) -> Result<T, String> {
    let s = value.into_string().map_err(|_| format!("{flag}: not valid UTF-8"))?;
    s.trim().parse().map_err(|_| format!("{flag}: expected a number, got {s:?}"))
}

fn utf8(value: OsString) -> Result<String, String> {
    value.into_string().map_err(|v| format!("argument is not valid UTF-8: {}", v.to_string_lossy()))
}

/// Parses the arguments after the program name.
pub fn parse<I>(args: I) -> Result<Cli, String>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    use lexopt::prelude::*;
    let mut cli = Cli::default();
    let mut parser = lexopt::Parser::from_args(args);
    let mut module_flag = false;
    let mut invoke: Option<String> = None;
    let mut file: Option<PathBuf> = None;
    let mut eval: Option<String> = None;
    let map_err = |e: lexopt::Error| e.to_string();

    while let Some(arg) = parser.next().map_err(map_err)? {
        match arg {
            Short('h') | Long("help") => cli.mode = Mode::Help,
            Short('V') | Long("version") => cli.mode = Mode::Version,
            Short('m') | Long("module") => module_flag = true,
            Short('i') | Long("interactive") => cli.interactive = true,
            Short('e') | Long("eval") => {
                eval = Some(utf8(parser.value().map_err(map_err)?)?);
                break;
            }
            Long("invoke") => {
                invoke = Some(utf8(parser.value().map_err(map_err)?)?);
                if file.is_some() {
                    break;
                }
            }
            Long("stack-size") => {
                let mib: usize = parse_number("--stack-size", parser.value().map_err(map_err)?)?;
                if !(1..=1 << 16).contains(&mib) {
                    return Err("--stack-size: expected 1 to 65536 MiB".into());
                }
                cli.stack_size = mib << 20;
            }
            Long("max-wasm-stack") => {
                let kib: usize = parse_number("--max-wasm-stack", parser.value().map_err(map_err)?)?;
                if kib == 0 {
                    return Err("--max-wasm-stack: must be at least 1 KiB".into());
                }
                cli.max_wasm_stack = kib << 10;
            }
            Long("recursion-limit") => {
                cli.recursion_limit =
                    Some(parse_number("--recursion-limit", parser.value().map_err(map_err)?)?);
            }
            Long("color") | Long("colour") => {
                let v = utf8(parser.value().map_err(map_err)?)?;
                cli.color = match v.as_str() {
                    "auto" => ColorChoice::Auto,
                    "always" => ColorChoice::Always,
                    "never" => ColorChoice::Never,
                    _ => return Err(format!("--color: expected auto, always or never, got {v:?}")),
                };
            }
            Long("no-color") => cli.color = ColorChoice::Never,
            Value(v) => {
                let path = PathBuf::from(v);
                let wasm = is_wasm_file(&path);
                file = Some(path);
                // A wasm module may be followed by more options (`m.wasm --invoke f 1`);
                // a script takes the rest verbatim.
                if !wasm || invoke.is_some() {
                    break;
                }
            }
            _ => return Err(arg.unexpected().to_string()),
        }
    }
    for raw in parser.raw_args().map_err(map_err)? {
        cli.args.push(utf8(raw)?);
    }

    if matches!(cli.mode, Mode::Help | Mode::Version) {
        return Ok(cli);
    }
    cli.mode = match (eval, file, invoke) {
        (Some(_), Some(_), _) => unreachable!("-e stops option parsing"),
        (Some(code), None, None) => Mode::Eval(code),
        (Some(_), None, Some(_)) => return Err("--invoke needs a .wasm or .wat file, not -e".into()),
        (None, Some(file), invoke) if is_wasm_file(&file) => {
            if cli.interactive {
                return Err("-i cannot be combined with a wasm module".into());
            }
            Mode::Invoke { file, name: invoke }
        }
        (None, Some(file), None) => {
            let mjs = file.extension().is_some_and(|e| e == "mjs");
            if module_flag || mjs {
                Mode::Module(file)
            } else {
                Mode::Script(file)
            }
        }
        (None, Some(file), Some(_)) => {
            return Err(format!("--invoke needs a .wasm or .wat module, got {}", file.display()))
        }
        (None, None, Some(_)) => return Err("--invoke needs a .wasm or .wat module".into()),
        (None, None, None) => {
            if module_flag {
                return Err("-m/--module needs a FILE".into());
            }
            Mode::Repl
        }
    };
    if let Some(limit) = cli.recursion_limit {
        if limit == 0 {
            return Err("--recursion-limit: must be positive".into());
        }
    }
    if cli.max_wasm_stack + (4 << 20) > cli.stack_size {
        return Err(format!(
            "--max-wasm-stack ({} KiB) must leave at least 4 MiB of the {} MiB thread stack",
            cli.max_wasm_stack >> 10,
            cli.stack_size >> 20
        ));
    }
    Ok(cli)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_args_are_raw() {
        let cli = parse(["a.js", "-e", "--x", "1"]).unwrap();
        assert_eq!(cli.mode, Mode::Script("a.js".into()));
        assert_eq!(cli.args, ["-e", "--x", "1"]);
    }

    #[test]
    fn invoke_after_module() {
        let cli = parse(["--stack-size=64", "m.wat", "--invoke", "add", "-1", "2"]).unwrap();
        assert_eq!(cli.mode, Mode::Invoke { file: "m.wat".into(), name: Some("add".into()) });
        assert_eq!(cli.args, ["-1", "2"]);
        assert_eq!(cli.stack_size, 64 << 20);
    }

    #[test]
    fn invoke_before_module() {
        let cli = parse(["--invoke", "f", "m.wasm", "-0x10"]).unwrap();
        assert_eq!(cli.mode, Mode::Invoke { file: "m.wasm".into(), name: Some("f".into()) });
        assert_eq!(cli.args, ["-0x10"]);
    }

    #[test]
    fn eval_and_module() {
        let cli = parse(["-e", "print(1)", "x"]).unwrap();
        assert_eq!(cli.mode, Mode::Eval("print(1)".into()));
        assert_eq!(cli.args, ["x"]);
        assert_eq!(parse(["-m", "a.js"]).unwrap().mode, Mode::Module("a.js".into()));
        assert_eq!(parse(["b.mjs"]).unwrap().mode, Mode::Module("b.mjs".into()));
    }

    #[test]
    fn errors() {
        assert!(parse(["--bogus"]).is_err());
        assert!(parse(["--stack-size=abc"]).is_err());
        assert!(parse(["--invoke", "f", "a.js"]).is_err());
        assert!(parse(["--stack-size=8", "--max-wasm-stack=8192"]).is_err());
    }
}

//! Non-interactive execution: script files, `-e CODE` and ES modules.

use crate::printer::{stderr_wants_color, Printer};
use boa_engine::builtins::promise::PromiseState;
use boa_engine::{Context, JsError, JsResult, JsValue, Module, Source};
use std::io::Write;
use std::path::Path;

/// What to run.
pub enum Program<'a> {
    Script(&'a Path),
    Module(&'a Path),
    Code(&'a str),
}

/// Runs `program` and then all pending jobs. On an uncaught exception the message
/// and stack go to stderr and the result is the exit status to use (1).
pub fn run(program: Program<'_>, context: &mut Context) -> Result<JsValue, i32> {
    let result = match program {
        Program::Script(path) => run_script(path, context),
        Program::Code(code) => {
            let r = context.eval(Source::from_bytes(code).with_path(Path::new("<eval>")));
            r.and_then(|v| drain_jobs(context).map(|()| v))
        }
        Program::Module(path) => run_module(path, context),
    };
    result.map_err(|e| {
        report_uncaught(&e, context);
        1
    })
}

fn read_source(path: &Path) -> JsResult<String> {
    std::fs::read_to_string(path).map_err(|e| {
        boa_engine::JsNativeError::error().with_message(format!("cannot read {}: {e}", path.display())).into()
    })
}

fn run_script(path: &Path, context: &mut Context) -> JsResult<JsValue> {
    let text = read_source(path)?;
    let value = context.eval(Source::from_bytes(&text).with_path(path))?;
    drain_jobs(context)?;
    Ok(value)
}

fn run_module(path: &Path, context: &mut Context) -> JsResult<JsValue> {
    // The loader resolves relative imports against the referrer's path, so the entry
    // module needs its absolute path.
    let path = path.canonicalize().map_err(|e| {
        JsError::from(
            boa_engine::JsNativeError::error().with_message(format!("cannot open {}: {e}", path.display())),
        )
    })?;
    let text = read_source(&path)?;
    let module = Module::parse(Source::from_bytes(&text).with_path(&path), None, context)?;
    let promise = module.load_link_evaluate(context);
    drain_jobs(context)?;
    match promise.state() {
        PromiseState::Fulfilled(_) => Ok(JsValue::undefined()),
        PromiseState::Rejected(reason) => Err(JsError::from_opaque(reason)),
        PromiseState::Pending => Err(boa_engine::JsNativeError::error()
            .with_message(
                "the module never finished evaluating (top-level await on a promise that never settles)",
            )
            .into()),
    }
}

/// Runs promise and other jobs until none are left.
pub fn drain_jobs(context: &mut Context) -> JsResult<()> {
    context.run_jobs()
}

pub fn report_uncaught(error: &JsError, context: &mut Context) {
    let _ = std::io::stdout().flush();
    let printer = Printer::new(stderr_wants_color());
    let text = printer.format_error(error, context);
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

//! The JavaScript global environment of the shell: a Boa [`Context`] with the
//! `WebAssembly` namespace, `console`, d8/SpiderMonkey-style host functions, and what
//! wasm toolchains' JS glue reaches for: `TextEncoder`/`TextDecoder` (Node has them),
//! timers and `performance.now()` (d8 has them; `event_loop.rs` waits for timers),
//! `queueMicrotask`.

use boa_engine::context::ContextBuilder;
use boa_engine::native_function::NativeFunction;
use boa_engine::object::builtins::{AlignedVec, JsArray, JsArrayBuffer, JsUint8Array};
use boa_engine::object::FunctionObjectBuilder;
use boa_engine::property::Attribute;
use boa_engine::vm::RuntimeLimits;
use boa_engine::{
    js_string, Context, Finalize, JsArgs, JsError, JsNativeError, JsResult, JsString, JsValue, Source, Trace,
};
use boa_runtime::{Console, ConsoleState, Logger};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Default native stack of the thread that runs JavaScript and wasm.
pub const DEFAULT_STACK_SIZE: usize = 256 << 20;

/// Settings that shape a fresh [`Context`].
#[derive(Clone, Debug)]
pub struct Options {
    /// Exposed to scripts as `arguments` and `scriptArgs`.
    pub script_args: Vec<String>,
    /// Root directory of the module loader; the current directory when `None`.
    pub module_root: Option<PathBuf>,
    /// Native stack (bytes) of the thread the context will run on; used to pick a
    /// recursion limit that errors out before the stack overflows.
    pub stack_size: usize,
    /// Overrides the recursion limit derived from `stack_size`.
    pub recursion_limit: Option<usize>,
    /// Native stack (bytes) wasm may use below its outermost entry before trapping.
    pub max_wasm_stack: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            script_args: Vec::new(),
            module_root: None,
            stack_size: DEFAULT_STACK_SIZE,
            recursion_limit: None,
            max_wasm_stack: sidewinder_engine::Config::default().max_wasm_stack,
        }
    }
}

impl Options {
    /// Boa counts frames, not bytes. A native→JS re-entry (e.g. `[].map(f)` or a wasm
    /// import calling JS) costs up to ~10 KB of Rust stack in debug builds, so budget
    /// 32 KiB per level to stay well clear of a real overflow, which would abort.
    pub fn effective_recursion_limit(&self) -> usize {
        self.recursion_limit.unwrap_or_else(|| (self.stack_size / (32 << 10)).clamp(256, 100_000))
    }
}

/// Creates a context with the `WebAssembly` namespace and all shell host functions.
pub fn new_context(options: &Options) -> JsResult<Context> {
    let root = match &options.module_root {
        Some(root) => root.clone(),
        None => std::env::current_dir().map_err(JsError::from_rust)?,
    };
    let loader = sidewinder_js::WasmModuleLoader::new(root)?;
    let mut context = ContextBuilder::new()
        .module_loader(Rc::new(loader))
        .job_executor(Rc::new(crate::event_loop::EventLoop::default()))
        .build()?;

    let mut limits = RuntimeLimits::default();
    let recursion = options.effective_recursion_limit();
    limits.set_recursion_limit(recursion);
    // The value stack is a heap Vec; it only needs to be big enough that the recursion
    // limit, not this one, is what deep JS recursion hits first.
    limits.set_stack_size_limit(recursion.saturating_mul(64).max(10_240));
    context.set_runtime_limits(limits);

    // JS runs on fibers (JSPI) as deep as on this thread: give them the same stack.
    let engine_config = sidewinder_engine::Config {
        max_wasm_stack: options.max_wasm_stack,
        fiber_stack_size: options.stack_size,
        ..Default::default()
    };
    sidewinder_js::install_with_config(&mut context, engine_config)?;
    // Not boa_runtime's full set: it includes structuredClone, which can detach (and
    // free) buffers that back wasm memories.
    Console::register_with_logger(ShellLogger, &mut context)?;
    boa_runtime::text::register(None, &mut context)?;
    boa_runtime::microtask::register(None, &mut context)?;
    // The job loop (`event_loop.rs`) runs a timer's callback once it is due, sleeping
    // until then.
    boa_runtime::interval::register(&mut context)?;
    install_performance(&mut context)?;
    install_host_functions(&mut context, &options.script_args)?;
    Ok(context)
}

fn install_host_functions(context: &mut Context, args: &[String]) -> JsResult<()> {
    let functions: [(&str, usize, NativeFunction); 7] = [
        ("print", 0, NativeFunction::from_fn_ptr(print)),
        ("read", 1, NativeFunction::from_fn_ptr(read)),
        ("readbuffer", 1, NativeFunction::from_fn_ptr(readbuffer)),
        ("load", 1, NativeFunction::from_fn_ptr(load)),
        ("quit", 0, NativeFunction::from_fn_ptr(quit)),
        ("wat", 1, NativeFunction::from_fn_ptr(wat)),
        ("gc", 0, NativeFunction::from_fn_ptr(gc)),
    ];
    for (name, length, body) in functions {
        let f =
            FunctionObjectBuilder::new(context.realm(), body).name(js_string!(name)).length(length).build();
        context.register_global_property(
            js_string!(name),
            f,
            Attribute::WRITABLE | Attribute::CONFIGURABLE,
        )?;
    }
    for name in ["arguments", "scriptArgs"] {
        let array =
            JsArray::from_iter(args.iter().map(|a| JsValue::from(JsString::from(a.as_str()))), context);
        context.register_global_property(
            js_string!(name),
            array,
            Attribute::WRITABLE | Attribute::CONFIGURABLE,
        )?;
    }
    Ok(())
}

/// `performance.now()`: milliseconds since the context was made, with a fraction.
fn install_performance(context: &mut Context) -> JsResult<()> {
    let origin = std::time::Instant::now();
    let now = NativeFunction::from_copy_closure(move |_, _, _| {
        Ok(JsValue::from(origin.elapsed().as_secs_f64() * 1000.0))
    });
    let now = FunctionObjectBuilder::new(context.realm(), now).name(js_string!("now")).length(0).build();
    let performance = boa_engine::object::ObjectInitializer::new(context)
        .property(
            js_string!("now"),
            now,
            Attribute::WRITABLE | Attribute::CONFIGURABLE | Attribute::ENUMERABLE,
        )
        .build();
    context.register_global_property(
        js_string!("performance"),
        performance,
        Attribute::WRITABLE | Attribute::CONFIGURABLE,
    )
}

fn join_args(args: &[JsValue], context: &mut Context) -> JsResult<String> {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&arg.to_string(context)?.to_std_string_escaped());
    }
    Ok(out)
}

fn print(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let line = join_args(args, context)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").map_err(JsError::from_rust)?;
    Ok(JsValue::undefined())
}

fn path_arg(args: &[JsValue], context: &mut Context) -> JsResult<PathBuf> {
    let path = args.get_or_undefined(0);
    if path.is_undefined() {
        return Err(JsNativeError::typ().with_message("expected a file name").into());
    }
    Ok(PathBuf::from(path.to_string(context)?.to_std_string_escaped()))
}

fn read_bytes(path: &Path) -> JsResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        JsNativeError::error().with_message(format!("cannot read {}: {e}", path.display())).into()
    })
}

/// Bytes become an ArrayBuffer without a copy: Boa takes ownership of the block.
pub fn bytes_to_array_buffer(bytes: &[u8], context: &mut Context) -> JsResult<JsArrayBuffer> {
    let mut block = AlignedVec::<u8>::with_capacity(64, bytes.len());
    block.extend_from_slice(bytes);
    JsArrayBuffer::from_byte_block(block, context)
}

pub fn bytes_to_uint8array(bytes: &[u8], context: &mut Context) -> JsResult<JsUint8Array> {
    let buffer = bytes_to_array_buffer(bytes, context)?;
    JsUint8Array::from_array_buffer(buffer, context)
}

/// `read(path)` returns text; `read(path, "binary")` a Uint8Array, as in d8.
fn read(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let path = path_arg(args, context)?;
    let mode = args.get_or_undefined(1);
    let binary = !mode.is_undefined() && mode.to_string(context)?.to_std_string_escaped() == "binary";
    let bytes = read_bytes(&path)?;
    if binary {
        return Ok(bytes_to_uint8array(&bytes, context)?.into());
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        JsNativeError::error()
            .with_message(format!("{} is not valid UTF-8 (use read(path, \"binary\"))", path.display()))
    })?;
    Ok(JsString::from(text.as_str()).into())
}

fn readbuffer(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let path = path_arg(args, context)?;
    let bytes = read_bytes(&path)?;
    Ok(bytes_to_array_buffer(&bytes, context)?.into())
}

fn load(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let path = path_arg(args, context)?;
    let source = Source::from_filepath(&path)
        .map_err(|e| JsNativeError::error().with_message(format!("cannot load {}: {e}", path.display())))?;
    context.eval(source)
}

fn quit(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let code = match args.first() {
        Some(v) if !v.is_undefined() => v.to_i32(context)?,
        _ => 0,
    };
    // process::exit skips destructors, including the buffers of stdout.
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    std::process::exit(code)
}

fn wat(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let text = args.get_or_undefined(0).to_string(context)?.to_std_string_escaped();
    let bytes = ::wat::parse_str(&text)
        .map_err(|e| JsNativeError::syntax().with_message(format!("invalid WebAssembly text: {e}")))?;
    Ok(bytes_to_uint8array(&bytes, context)?.into())
}

fn gc(_: &JsValue, _: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    boa_gc::force_collect();
    Ok(JsValue::undefined())
}

/// `console.log`/`info`/`debug` go to stdout, `warn`/`error` to stderr (as in Node).
#[derive(Debug, Trace, Finalize)]
struct ShellLogger;

fn write_line(mut to: impl Write, msg: &str, state: &ConsoleState) -> JsResult<()> {
    let indent = state.indent();
    for line in msg.split('\n') {
        writeln!(to, "{:indent$}{line}", "").map_err(JsError::from_rust)?;
    }
    Ok(())
}

impl Logger for ShellLogger {
    fn log(&self, msg: String, state: &ConsoleState, _: &mut Context) -> JsResult<()> {
        write_line(std::io::stdout().lock(), &msg, state)
    }

    fn info(&self, msg: String, state: &ConsoleState, _: &mut Context) -> JsResult<()> {
        write_line(std::io::stdout().lock(), &msg, state)
    }

    fn warn(&self, msg: String, state: &ConsoleState, _: &mut Context) -> JsResult<()> {
        write_line(std::io::stderr().lock(), &msg, state)
    }

    fn error(&self, msg: String, state: &ConsoleState, _: &mut Context) -> JsResult<()> {
        write_line(std::io::stderr().lock(), &msg, state)
    }
}

//! CompileError, LinkError, RuntimeError and (JSPI) SuspendError, and how engine
//! errors become JS errors.

use crate::realm::{prototypes, Prototypes};
use boa_engine::native_function::NativeFunctionObject;
use boa_engine::object::{ConstructorBuilder, JsObject};
use boa_engine::property::{Attribute, PropertyDescriptor};
use boa_engine::{js_string, Context, JsError, JsNativeError, JsResult, JsValue, NativeFunction};
use sidewinder_engine::runtime::backtrace::BacktraceFrame;
use sidewinder_engine::{Error, TrapCode};
use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    Compile,
    Link,
    Runtime,
    Suspend,
}

impl ErrorKind {
    fn from_code(code: u8) -> ErrorKind {
        match code {
            0 => ErrorKind::Compile,
            1 => ErrorKind::Link,
            3 => ErrorKind::Suspend,
            _ => ErrorKind::Runtime,
        }
    }

    fn code(self) -> u8 {
        self as u8
    }

    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Compile => "CompileError",
            ErrorKind::Link => "LinkError",
            ErrorKind::Runtime => "RuntimeError",
            ErrorKind::Suspend => "SuspendError",
        }
    }
}

/// Builds one NativeError-style constructor: `Object.getPrototypeOf(C) === Error` and
/// `C.prototype.__proto__ === Error.prototype`.
pub(crate) fn build_constructor(kind: ErrorKind, ctx: &mut Context) -> (JsObject, JsObject) {
    let error = ctx.intrinsics().constructors().error().clone();
    let mut b = ConstructorBuilder::new(
        ctx,
        NativeFunction::from_copy_closure_with_captures(construct_native, kind.code()),
    );
    b.name(kind.name())
        .length(1)
        .custom_prototype(error.constructor())
        .inherit(error.prototype())
        .property(js_string!("name"), js_string!(kind.name()), Attribute::WRITABLE | Attribute::CONFIGURABLE)
        .property(js_string!("message"), js_string!(""), Attribute::WRITABLE | Attribute::CONFIGURABLE);
    let sc = b.build();
    (sc.constructor(), sc.prototype())
}

fn error_prototype(p: &Prototypes, kind: ErrorKind) -> JsObject {
    match kind {
        ErrorKind::Compile => p.compile_error.clone(),
        ErrorKind::Link => p.link_error.clone(),
        ErrorKind::Runtime => p.runtime_error.clone(),
        ErrorKind::Suspend => p.suspend_error.clone(),
    }
}

fn construct_native(
    new_target: &JsValue,
    args: &[JsValue],
    kind: &u8,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    construct(new_target, args, &ErrorKind::from_code(*kind), ctx)
}

/// Like the NativeError constructors, callable with or without `new`.
fn construct(
    new_target: &JsValue,
    args: &[JsValue],
    kind: &ErrorKind,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    let proto = match new_target.as_object() {
        Some(nt) => crate::interface::prototype_from(&nt, |p| error_prototype(p, *kind), ctx)?,
        None => error_prototype(&prototypes(ctx)?, *kind),
    };
    let error_ctor = ctx.intrinsics().constructors().error().constructor();
    let object = error_ctor.construct(args, None, ctx)?;
    object.set_prototype(Some(proto));
    Ok(object.into())
}

/// A new error object of `kind` with `message`.
pub(crate) fn new_error(kind: ErrorKind, message: &str, ctx: &mut Context) -> JsError {
    match construct(&JsValue::undefined(), &[js_string!(message).into()], &kind, ctx) {
        Ok(v) => JsError::from_opaque(v),
        Err(e) => e,
    }
}

/// The JS exception for an engine error. A trap that carries a JS exception (thrown by
/// an import) is that exception, unchanged.
pub(crate) fn engine_error(error: Error, ctx: &mut Context) -> JsError {
    match error {
        Error::Compile { message, offset } => {
            new_error(ErrorKind::Compile, &format!("{message} (at byte offset {offset})"), ctx)
        }
        Error::Link(m) => new_error(ErrorKind::Link, &m, ctx),
        Error::Trap(trap) => {
            let frames = trap.backtrace().to_vec();
            let error = if trap.code() == TrapCode::StackOverflow {
                JsNativeError::range().with_message("Maximum call stack size exceeded").into()
            } else {
                let message = trap.to_string();
                match trap.into_payload().map(|p| p.downcast::<JsError>()) {
                    // An import's exception goes on as it was thrown.
                    Some(Ok(js)) => return *js,
                    _ => new_error(ErrorKind::Runtime, &message, ctx),
                }
            };
            show_wasm_frames(error, &frames, ctx)
        }
        Error::Exception(e) => crate::exception::thrown_to_js(&e, ctx),
        Error::Resource(m) => JsNativeError::range().with_message(m).into(),
        Error::Unsupported(m) => new_error(ErrorKind::Compile, &m, ctx),
    }
}

/// Wasm frames a trap's `stack` shows at most: as many frames as V8 shows by default
/// (`Error.stackTraceLimit`).
const SHOWN_WASM_FRAMES: usize = 10;

/// Boa's `get Error.prototype.stack` in the current realm, if it is still a native
/// getter (called at install; a script that ran before may have replaced it with its
/// own function, which a trap must not run).
pub(crate) fn error_stack_getter(ctx: &mut Context) -> Option<JsObject> {
    let prototype = ctx.intrinsics().constructors().error().prototype();
    let descriptor = prototype.borrow().properties().get(&js_string!("stack").into())?;
    descriptor.get().and_then(JsValue::as_object).filter(|getter| getter.is::<NativeFunctionObject>())
}

/// A trap's error with an own `stack`: the wasm frames the trap unwound, innermost
/// first, above the JS frames Boa records (which know nothing of wasm), the way V8 and
/// SpiderMonkey show them (`BacktraceFrame`'s `Display`: `at NAME
/// (wasm-function[INDEX]:0xOFFSET)`). The property is what `Error.prototype.stack`'s
/// setter would make, but not enumerable, as V8's. The JS frames come from Boa's own
/// getter, saved at install, so no script code runs while a trap becomes an error.
fn show_wasm_frames(error: JsError, frames: &[BacktraceFrame], ctx: &mut Context) -> JsError {
    if frames.is_empty() {
        return error;
    }
    let value = match error.into_opaque(ctx) {
        Ok(value) => value,
        Err(e) => return e,
    };
    let Some(object) = value.as_object() else {
        return JsError::from_opaque(value);
    };
    let mut stack = String::new();
    for frame in frames.iter().take(SHOWN_WASM_FRAMES) {
        let _ = writeln!(stack, "    at {frame}");
    }
    let getter = crate::realm::with_realm(ctx, |r| r.error_stack_getter.clone()).ok().flatten();
    if let Some(js_frames) = getter.and_then(|g| g.call(&value, &[], ctx).ok()) {
        if let Some(text) = js_frames.as_string() {
            stack.push_str(&text.to_std_string_escaped());
        }
    }
    let property = PropertyDescriptor::builder()
        .value(js_string!(stack))
        .writable(true)
        .enumerable(false)
        .configurable(true);
    // A fresh error object: ordinary, extensible, without an own `stack`.
    let _ = object.define_property_or_throw(js_string!("stack"), property, ctx);
    JsError::from_opaque(value)
}

//! CompileError, LinkError, RuntimeError and (JSPI) SuspendError, and how engine
//! errors become JS errors.

use crate::realm::{prototypes, Prototypes};
use boa_engine::object::{ConstructorBuilder, JsObject};
use boa_engine::property::Attribute;
use boa_engine::{js_string, Context, JsError, JsNativeError, JsResult, JsValue, NativeFunction};
use sidewinder_engine::{Error, TrapCode};

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
            if trap.code() == TrapCode::StackOverflow {
                return JsNativeError::range().with_message("Maximum call stack size exceeded").into();
            }
            let message = trap.to_string();
            match trap.into_payload().map(|p| p.downcast::<JsError>()) {
                Some(Ok(js)) => *js,
                _ => new_error(ErrorKind::Runtime, &message, ctx),
            }
        }
        Error::Exception(e) => crate::exception::thrown_to_js(&e, ctx),
        Error::Resource(m) => JsNativeError::range().with_message(m).into(),
        Error::Unsupported(m) => new_error(ErrorKind::Compile, &m, ctx),
    }
}

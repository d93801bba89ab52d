//! WebAssembly.Exception: an exception object carrying a tag and its payload. Created
//! from JS; wasm `throw`/`try` arrive with the exception-handling proposal.

use crate::conversions::{to_js, to_wasm};
use crate::function::iterable_to_list;
use crate::interface::{brand, prototype_from, require_new, Interface};
use crate::realm::prototypes;
use crate::tag::tag_parameters;
use boa_engine::object::JsObject;
use boa_engine::{js_string, Context, JsData, JsNativeError, JsResult, JsValue};
use boa_gc::{Finalize, Trace};
use sidewinder_engine::Val;

#[derive(Trace, Finalize, JsData)]
pub(crate) struct ExceptionData {
    tag: JsObject,
    #[unsafe_ignore_trace]
    payload: Vec<Val>,
}

pub(crate) const INTERFACE: Interface = Interface {
    name: "Exception",
    length: 1,
    constructor: construct,
    operations: &[("getArg", 2, get_arg), ("is", 1, is)],
    attributes: &[],
    static_operations: &[],
};

fn construct(new_target: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let nt = require_new(new_target, "Exception")?;
    let (tag, parameters) =
        tag_parameters(&args.first().cloned().unwrap_or_default(), "WebAssembly.Exception")?;
    let values = iterable_to_list(&args.get(1).cloned().unwrap_or_default(), ctx)?;
    if values.len() != parameters.len() {
        return Err(JsNativeError::typ()
            .with_message(format!(
                "WebAssembly.Exception: expected {} values, got {}",
                parameters.len(),
                values.len()
            ))
            .into());
    }
    let payload =
        values.iter().zip(&parameters).map(|(v, t)| to_wasm(v, *t, ctx)).collect::<JsResult<Vec<_>>>()?;
    let trace_stack = match args.get(2).and_then(JsValue::as_object) {
        Some(options) => options.get(js_string!("traceStack"), ctx)?.to_boolean(),
        None => false,
    };
    let proto = prototype_from(&nt, prototypes(ctx)?.exception.clone(), ctx)?;
    let object = JsObject::from_proto_and_data(proto, ExceptionData { tag, payload });
    if trace_stack {
        // The stack of an Error created here, as engines that trace stacks expose it.
        let error = ctx.intrinsics().constructors().error().constructor().construct(&[], None, ctx)?;
        let stack = error.get(js_string!("stack"), ctx)?;
        object.create_data_property_or_throw(js_string!("stack"), stack, ctx)?;
    }
    Ok(object.into())
}

fn exception_of(this: &JsValue, what: &str) -> JsResult<(JsObject, Vec<Val>)> {
    let o = brand::<ExceptionData>(this, what)?;
    let d = o.downcast_ref::<ExceptionData>().map(|d| (d.tag.clone(), d.payload.clone()));
    d.ok_or_else(|| JsNativeError::typ().with_message(format!("{what}: not an Exception")).into())
}

fn get_arg(this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let (tag, payload) = exception_of(this, "WebAssembly.Exception.prototype.getArg")?;
    let (asked, _) =
        tag_parameters(&args.first().cloned().unwrap_or_default(), "WebAssembly.Exception.prototype.getArg")?;
    if args.len() < 2 {
        return Err(JsNativeError::typ()
            .with_message("WebAssembly.Exception.getArg: 2 arguments required")
            .into());
    }
    // `unsigned long` without [EnforceRange]: ToUint32, then a range check.
    let index = args.get(1).cloned().unwrap_or_default().to_u32(ctx)?;
    if asked != tag {
        return Err(JsNativeError::typ().with_message("WebAssembly.Exception.getArg: wrong tag").into());
    }
    match payload.get(index as usize) {
        Some(v) => to_js(v, ctx),
        None => Err(JsNativeError::range()
            .with_message("WebAssembly.Exception.getArg: index out of range")
            .into()),
    }
}

fn is(this: &JsValue, args: &[JsValue], _ctx: &mut Context) -> JsResult<JsValue> {
    let (tag, _) = exception_of(this, "WebAssembly.Exception.prototype.is")?;
    let (asked, _) =
        tag_parameters(&args.first().cloned().unwrap_or_default(), "WebAssembly.Exception.prototype.is")?;
    Ok((asked == tag).into())
}

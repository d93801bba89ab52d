//! WebAssembly.Exception: an exception object over an engine `Exception` (a tag and its
//! payload). The same engine exception always yields the same object, so an exception
//! thrown from JS, caught by wasm and rethrown arrives back as itself; and what crosses
//! between JS and wasm goes through `thrown_to_js` / `thrown_to_wasm`.

use crate::conversions::{to_js, to_wasm};
use crate::errors::engine_error;
use crate::function::iterable_to_list;
use crate::interface::{brand, prototype_from, require_new, Interface};
use crate::realm::{prototypes, store, with_agent};
use crate::tag::{js_tag, tag_parameters};
use boa_engine::object::JsObject;
use boa_engine::{js_string, Context, JsData, JsError, JsNativeError, JsResult, JsValue};
use boa_gc::{Finalize, Gc, GcRefCell, Trace};
use sidewinder_engine::{Exception, Tag, Trap, Val, ValType};

#[derive(Trace, Finalize, JsData)]
pub(crate) struct ExceptionData {
    #[unsafe_ignore_trace]
    exception: Exception,
    /// The realm's weak way to this object, alive as long as the object is.
    holder: Gc<ExceptionHolder>,
}

/// Ties an exception object to the realm's table of them (`WasmRealm::exception_objects`,
/// by `Exception::id`): the object keeps it, the table holds it weakly. Once JS drops an
/// exception object and Boa collects it, the realm lets go of it too (it kept every one
/// before, about 300 bytes per exception caught in JS). Identity is kept while JS can
/// tell: the same exception gets the same object as long as that object is alive.
#[derive(Trace, Finalize)]
pub(crate) struct ExceptionHolder {
    object: GcRefCell<Option<JsObject>>,
}

/// The living object of `exception`, if it has one.
fn cached_exception_object(exception: &Exception, ctx: &mut Context) -> JsResult<Option<JsObject>> {
    with_agent(ctx, |r| {
        let holder = r.exception_objects.get(exception.id())?;
        let object = holder.object.borrow().clone();
        object
    })
}

/// A new exception object for `exception` with prototype `proto`, remembered weakly.
fn new_exception_object(exception: &Exception, proto: JsObject, ctx: &mut Context) -> JsResult<JsObject> {
    let holder = Gc::new(ExceptionHolder { object: GcRefCell::new(None) });
    let data = ExceptionData { exception: exception.clone(), holder: holder.clone() };
    let object = JsObject::from_proto_and_data(proto, data);
    *holder.object.borrow_mut() = Some(object.clone());
    with_agent(ctx, |r| r.exception_objects.insert(exception.id(), &holder))?;
    Ok(object)
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
    if Tag::ptr_eq(&tag, &js_tag(ctx)?) {
        return Err(JsNativeError::typ()
            .with_message("WebAssembly.Exception: JSTag exceptions are made by throwing in JavaScript")
            .into());
    }
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
    // Until the engine holds the payload: the options and the prototype may run JS.
    let _converting = crate::conversions::ConvertingSeveral::enter();
    let payload =
        values.iter().zip(&parameters).map(|(v, t)| to_wasm(v, *t, ctx)).collect::<JsResult<Vec<_>>>()?;
    let trace_stack = match args.get(2).and_then(JsValue::as_object) {
        Some(options) => options.get(js_string!("traceStack"), ctx)?.to_boolean(),
        None => false,
    };
    let proto = prototype_from(&nt, |p| p.exception.clone(), ctx)?;
    let store = store(ctx)?;
    let exception = Exception::new(&store, &tag, &payload).map_err(|e| engine_error(e, ctx))?;
    let object = new_exception_object(&exception, proto, ctx)?;
    if trace_stack {
        // The stack of an Error created here, as engines that trace stacks expose it.
        let error = ctx.intrinsics().constructors().error().constructor().construct(&[], None, ctx)?;
        let stack = error.get(js_string!("stack"), ctx)?;
        object.create_data_property_or_throw(js_string!("stack"), stack, ctx)?;
    }
    Ok(object.into())
}

fn exception_of(this: &JsValue, what: &str) -> JsResult<(Tag, Vec<Val>)> {
    let o = brand::<ExceptionData>(this, what)?;
    let d = o.downcast_ref::<ExceptionData>().map(|d| (d.exception.tag(), d.exception.payload()));
    d.ok_or_else(|| JsNativeError::typ().with_message(format!("{what}: not an Exception")).into())
}

/// The Exception object of an engine exception, made once per exception.
fn exception_object(exception: &Exception, ctx: &mut Context) -> JsResult<JsObject> {
    if let Some(o) = cached_exception_object(exception, ctx)? {
        return Ok(o);
    }
    new_exception_object(exception, prototypes(ctx)?.exception.clone(), ctx)
}

/// A wasm exception reaching JS: for JSTag, the value JS threw in the first place;
/// otherwise its Exception object.
pub(crate) fn thrown_to_js(exception: &Exception, ctx: &mut Context) -> JsError {
    let value = if Tag::ptr_eq(
        &exception.tag(),
        &match js_tag(ctx) {
            Ok(t) => t,
            Err(e) => return e,
        },
    ) {
        match exception.payload().first() {
            Some(v) => to_js(v, ctx),
            None => Ok(JsValue::undefined()),
        }
    } else {
        exception_object(exception, ctx).map(JsValue::from)
    };
    match value {
        Ok(v) => JsError::from_opaque(v),
        Err(e) => e,
    }
}

/// A JS exception reaching wasm (thrown by an import): an Exception object throws its
/// engine exception; any other value is wrapped in a JSTag exception. Boa's runtime
/// limits, which JS cannot catch, stay traps that no wasm handler sees.
pub(crate) fn thrown_to_wasm(error: JsError, ctx: &mut Context) -> Trap {
    let value = match error.clone().into_opaque(ctx) {
        Ok(v) => v,
        Err(_) => return Trap::host(Box::new(error)),
    };
    if let Some(exception) =
        value.as_object().and_then(|o| o.downcast_ref::<ExceptionData>().map(|d| d.exception.clone()))
    {
        return Trap::throw(exception);
    }
    let wrapped = (|| {
        let tag = js_tag(ctx)?;
        let payload = to_wasm(&value, ValType::EXTERNREF, ctx)?;
        let store = store(ctx)?;
        Exception::new(&store, &tag, &[payload]).map_err(|e| engine_error(e, ctx))
    })();
    match wrapped {
        Ok(exception) => Trap::throw(exception),
        Err(_) => Trap::host(Box::new(error)),
    }
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
    if !Tag::ptr_eq(&asked, &tag) {
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
    Ok(Tag::ptr_eq(&asked, &tag).into())
}

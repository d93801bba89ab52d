//! WebAssembly.Global.

use crate::conversions::{default_value, parse_value_type, to_js, to_wasm, value_type_name};
use crate::errors::engine_error;
use crate::interface::{brand, prototype_from, require_new, Interface};
use crate::realm::{cached_wrapper, prototypes, remember_wrapper, store};
use boa_engine::object::JsObject;
use boa_engine::{js_string, Context, JsData, JsNativeError, JsResult, JsValue};
use boa_gc::{Finalize, Trace};
use sidewinder_engine::{Global, GlobalType, ValType};

#[derive(Trace, Finalize, JsData)]
pub(crate) struct GlobalData {
    #[unsafe_ignore_trace]
    pub global: Global,
}

pub(crate) const INTERFACE: Interface = Interface {
    name: "Global",
    length: 1,
    constructor: construct,
    operations: &[("valueOf", 0, value_of), ("type", 0, global_type)],
    attributes: &[("value", get_value, Some(set_value))],
    static_operations: &[],
};

pub(crate) fn global_object(global: &Global, ctx: &mut Context) -> JsResult<JsObject> {
    let key = global.identity();
    if let Some(o) = cached_wrapper(ctx, key)? {
        return Ok(o);
    }
    let proto = prototypes(ctx)?.global.clone();
    wrap(global.clone(), proto, ctx)
}

fn wrap(global: Global, proto: JsObject, ctx: &mut Context) -> JsResult<JsObject> {
    let key = global.identity();
    let object = JsObject::from_proto_and_data(proto, GlobalData { global });
    remember_wrapper(ctx, key, &object)?;
    Ok(object)
}

fn construct(new_target: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let nt = require_new(new_target, "Global")?;
    let Some(descriptor) = args.first().and_then(JsValue::as_object) else {
        return Err(JsNativeError::typ()
            .with_message("WebAssembly.Global: descriptor must be an object")
            .into());
    };
    let mutable = descriptor.get(js_string!("mutable"), ctx)?.to_boolean();
    let ty = descriptor.get(js_string!("value"), ctx)?;
    let ty = parse_value_type(&ty, ctx)?;
    if ty == ValType::V128 {
        return Err(JsNativeError::typ()
            .with_message("WebAssembly.Global: v128 globals are not supported")
            .into());
    }
    let value = match args.get(1) {
        None => default_value(ty, ctx)?,
        Some(v) if v.is_undefined() => default_value(ty, ctx)?,
        Some(v) => to_wasm(v, ty, ctx)?,
    };
    let store = store(ctx)?;
    let global =
        Global::new(&store, GlobalType { content: ty, mutable }, value).map_err(|e| engine_error(e, ctx))?;
    let proto = prototype_from(&nt, |p| p.global.clone(), ctx)?;
    Ok(wrap(global, proto, ctx)?.into())
}

/// Type reflection: `{ mutable, value }`.
fn global_type(this: &JsValue, _args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let global = global_of(this, "WebAssembly.Global.prototype.type")?;
    let ty = global.ty();
    let o = JsObject::with_object_proto(ctx.intrinsics());
    o.create_data_property_or_throw(js_string!("mutable"), ty.mutable, ctx)?;
    o.create_data_property_or_throw(js_string!("value"), js_string!(value_type_name(ty.content)), ctx)?;
    Ok(o.into())
}

fn global_of(this: &JsValue, what: &str) -> JsResult<Global> {
    let o = brand::<GlobalData>(this, what)?;
    let g = o.downcast_ref::<GlobalData>().map(|d| d.global.clone());
    g.ok_or_else(|| JsNativeError::typ().with_message(format!("{what}: not a Global")).into())
}

pub(crate) fn get_value(this: &JsValue, _args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let global = global_of(this, "WebAssembly.Global.prototype.value")?;
    if global.ty().content == ValType::V128 {
        return Err(JsNativeError::typ().with_message("v128 values cannot cross into JavaScript").into());
    }
    to_js(&global.get(), ctx)
}

fn value_of(this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let _ = global_of(this, "WebAssembly.Global.prototype.valueOf")?;
    get_value(this, args, ctx)
}

fn set_value(this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let global = global_of(this, "WebAssembly.Global.prototype.value")?;
    let ty = global.ty();
    if !ty.mutable {
        return Err(JsNativeError::typ()
            .with_message("WebAssembly.Global: cannot set an immutable global")
            .into());
    }
    let Some(v) = args.first() else {
        return Err(JsNativeError::typ().with_message("WebAssembly.Global: setter needs a value").into());
    };
    let value = to_wasm(v, ty.content, ctx)?;
    global.set(value).map_err(|e| engine_error(e, ctx))?;
    crate::esm::refresh_live_bindings(ctx);
    Ok(JsValue::undefined())
}

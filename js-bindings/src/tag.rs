//! WebAssembly.Tag: exception tags, each over an engine `Tag` (its identity: the same
//! engine tag always yields the same object), and `WebAssembly.JSTag`, the tag of the
//! exceptions JavaScript throws into wasm.

use crate::conversions::{parse_value_type, value_type_name};
use crate::errors::engine_error;
use crate::function::iterable_to_list;
use crate::interface::{brand, prototype_from, require_new, Interface};
use crate::realm::{cached_wrapper, prototypes, remember_wrapper, store, with_agent};
use boa_engine::object::builtins::JsArray;
use boa_engine::object::JsObject;
use boa_engine::{js_string, Context, JsData, JsNativeError, JsResult, JsValue};
use boa_gc::{Finalize, Trace};
use sidewinder_engine::{FuncType, Tag, ValType};

#[derive(Trace, Finalize, JsData)]
pub(crate) struct TagData {
    #[unsafe_ignore_trace]
    pub tag: Tag,
}

pub(crate) const INTERFACE: Interface = Interface {
    name: "Tag",
    length: 1,
    constructor: construct,
    operations: &[("type", 0, tag_type)],
    attributes: &[],
    static_operations: &[],
};

fn construct(new_target: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let nt = require_new(new_target, "Tag")?;
    let Some(descriptor) = args.first().and_then(JsValue::as_object) else {
        return Err(JsNativeError::typ()
            .with_message("WebAssembly.Tag: descriptor must be an object")
            .into());
    };
    let parameters = descriptor.get(js_string!("parameters"), ctx)?;
    if parameters.is_undefined() {
        return Err(JsNativeError::typ().with_message("WebAssembly.Tag: 'parameters' is required").into());
    }
    let parameters = iterable_to_list(&parameters, ctx)?
        .iter()
        .map(|v| parse_value_type(v, ctx))
        .collect::<JsResult<Vec<_>>>()?;
    let proto = prototype_from(&nt, |p| p.tag.clone(), ctx)?;
    let store = store(ctx)?;
    let tag = Tag::new(&store, FuncType::new(parameters, [])).map_err(|e| engine_error(e, ctx))?;
    let object = JsObject::from_proto_and_data(proto, TagData { tag: tag.clone() });
    remember_wrapper(ctx, tag.id(), &object)?;
    Ok(object.into())
}

/// The Tag object of an engine tag (exported, or JSTag), made once per tag.
pub(crate) fn tag_object(tag: &Tag, ctx: &mut Context) -> JsResult<JsObject> {
    if let Some(o) = cached_wrapper(ctx, tag.id())? {
        return Ok(o);
    }
    let object = JsObject::from_proto_and_data(prototypes(ctx)?.tag.clone(), TagData { tag: tag.clone() });
    remember_wrapper(ctx, tag.id(), &object)?;
    Ok(object)
}

/// The engine tag of a Tag object, if `v` is one.
pub(crate) fn tag_of(v: &JsValue) -> Option<Tag> {
    v.as_object().and_then(|o| o.downcast_ref::<TagData>().map(|d| d.tag.clone()))
}

/// A Tag object's engine tag and parameter types, or a TypeError naming `what`.
pub(crate) fn tag_parameters(v: &JsValue, what: &str) -> JsResult<(Tag, Vec<ValType>)> {
    let o = brand::<TagData>(v, what)?;
    let tag = o.downcast_ref::<TagData>().map(|d| d.tag.clone());
    let tag = tag.ok_or_else(|| JsNativeError::typ().with_message(format!("{what}: not a Tag")))?;
    let parameters = tag.ty().params().to_vec();
    Ok((tag, parameters))
}

/// This realm's JSTag: the tag (with one externref parameter) of every exception that
/// JavaScript throws into wasm, whose payload is the thrown value.
pub(crate) fn js_tag(ctx: &mut Context) -> JsResult<Tag> {
    with_agent(ctx, |r| r.js_tag.clone())
}

/// Type reflection: `{ parameters: [...] }`.
fn tag_type(this: &JsValue, _args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let (_, parameters) = tag_parameters(this, "WebAssembly.Tag.prototype.type")?;
    let names: Vec<JsValue> = parameters.iter().map(|t| js_string!(value_type_name(*t)).into()).collect();
    let o = JsObject::with_object_proto(ctx.intrinsics());
    o.create_data_property_or_throw(js_string!("parameters"), JsArray::from_iter(names, ctx), ctx)?;
    Ok(o.into())
}

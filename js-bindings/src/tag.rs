//! WebAssembly.Tag: exception tags. The engine does not run exception handling yet, so
//! tags exist on the JS side: an identity and a parameter list.

use crate::conversions::{parse_value_type, value_type_name};
use crate::function::iterable_to_list;
use crate::interface::{brand, prototype_from, require_new, Interface};
use crate::realm::prototypes;
use boa_engine::object::builtins::JsArray;
use boa_engine::object::JsObject;
use boa_engine::{js_string, Context, JsData, JsNativeError, JsResult, JsValue};
use boa_gc::{Finalize, Trace};
use sidewinder_engine::ValType;

#[derive(Trace, Finalize, JsData)]
pub(crate) struct TagData {
    #[unsafe_ignore_trace]
    pub parameters: Vec<ValType>,
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
    let proto = prototype_from(&nt, prototypes(ctx)?.tag.clone(), ctx)?;
    Ok(JsObject::from_proto_and_data(proto, TagData { parameters }).into())
}

pub(crate) fn tag_parameters(v: &JsValue, what: &str) -> JsResult<(JsObject, Vec<ValType>)> {
    let o = brand::<TagData>(v, what)?;
    let p = o.downcast_ref::<TagData>().map(|d| d.parameters.clone()).unwrap_or_default();
    Ok((o, p))
}

/// Type reflection: `{ parameters: [...] }`.
fn tag_type(this: &JsValue, _args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let (_, parameters) = tag_parameters(this, "WebAssembly.Tag.prototype.type")?;
    let names: Vec<JsValue> = parameters.iter().map(|t| js_string!(value_type_name(*t)).into()).collect();
    let o = JsObject::with_object_proto(ctx.intrinsics());
    o.create_data_property_or_throw(js_string!("parameters"), JsArray::from_iter(names, ctx), ctx)?;
    Ok(o.into())
}

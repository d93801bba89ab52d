//! WebAssembly.Function, from the type reflection proposal: wraps a JS callable as a
//! wasm function of a given type, callable from JS (arguments go through the wasm type's
//! conversions) and storable in tables. Its objects inherit from Function.prototype, and
//! `type()` reflects the signature.

use crate::conversions::{parse_value_type, value_type_name};
use crate::function::{exported_function_named, func_of_object, iterable_to_list, new_host_func};
use crate::interface::{prototype_from, require_new, Interface};
use boa_engine::object::builtins::JsArray;
use boa_engine::object::JsObject;
use boa_engine::{js_string, Context, JsNativeError, JsResult, JsValue};
use sidewinder_engine::{FuncType, ValType};

pub(crate) const INTERFACE: Interface = Interface {
    name: "Function",
    length: 2,
    constructor: construct,
    operations: &[("type", 0, function_type)],
    attributes: &[],
    static_operations: &[],
};

/// Reads one required `sequence<ValueType>` member of the FunctionType dictionary.
fn value_types(descriptor: &JsObject, member: &str, ctx: &mut Context) -> JsResult<Vec<ValType>> {
    let list = descriptor.get(js_string!(member), ctx)?;
    if list.is_undefined() {
        return Err(JsNativeError::typ()
            .with_message(format!("WebAssembly.Function: '{member}' is required"))
            .into());
    }
    iterable_to_list(&list, ctx)?.iter().map(|v| parse_value_type(v, ctx)).collect()
}

fn construct(new_target: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let nt = require_new(new_target, "Function")?;
    let Some(descriptor) = args.first().and_then(JsValue::as_object) else {
        return Err(JsNativeError::typ()
            .with_message("WebAssembly.Function: the type must be an object")
            .into());
    };
    // Dictionary members are converted in lexicographic order.
    let parameters = value_types(&descriptor, "parameters", ctx)?;
    let results = value_types(&descriptor, "results", ctx)?;
    let Some(callable) = args.get(1).and_then(JsValue::as_object).filter(|o| o.is_callable()) else {
        return Err(JsNativeError::typ()
            .with_message("WebAssembly.Function: the second argument must be callable")
            .into());
    };
    let func = new_host_func(&callable, FuncType::new(parameters, results), ctx)?;
    let object = exported_function_named(&func, "", ctx)?;
    let proto = prototype_from(&nt, |p| p.function.clone(), ctx)?;
    object.set_prototype(Some(proto));
    Ok(object.into())
}

/// Type reflection: `{ parameters: [...], results: [...] }`.
fn function_type(this: &JsValue, _args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let func = this.as_object().and_then(|o| func_of_object(&o, ctx)).ok_or_else(|| {
        JsNativeError::typ()
            .with_message("WebAssembly.Function.prototype.type: receiver is not a wasm function")
    })?;
    let ty = func.ty();
    let names = |types: &[ValType], ctx: &mut Context| {
        let values: Vec<JsValue> = types.iter().map(|t| js_string!(value_type_name(*t)).into()).collect();
        JsArray::from_iter(values, ctx)
    };
    let o = JsObject::with_object_proto(ctx.intrinsics());
    let parameters = names(ty.params(), ctx);
    o.create_data_property_or_throw(js_string!("parameters"), parameters, ctx)?;
    let results = names(ty.results(), ctx);
    o.create_data_property_or_throw(js_string!("results"), results, ctx)?;
    Ok(o.into())
}

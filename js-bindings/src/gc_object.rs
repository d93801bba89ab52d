//! Exported GC objects: the opaque JS objects that stand for wasm structs and arrays.
//!
//! The GC proposal's JS API gives each struct or array one JS object (the same one every
//! time it crosses), with no prototype, no properties and no way to change either:
//! getting a property gives `undefined`, setting or deleting one throws a TypeError,
//! and [[PreventExtensions]], [[SetPrototypeOf]] and [[DefineOwnProperty]] report
//! failure. Boa 0.22 offers no custom exotic objects to embedders, so each is a Proxy
//! over a sealed, empty, null-prototype target: the target already answers the reads
//! as the proposal says, and the traps below refuse the writes.

use crate::realm::with_realm;
use boa_engine::object::builtins::JsProxy;
use boa_engine::object::{IntegrityLevel, JsObject};
use boa_engine::{Context, JsNativeError, JsResult, JsValue};
use boa_gc::{Finalize, Trace};
use sidewinder_engine::GcObject;

/// A struct or array held by the realm's table of exported GC objects: a handle, which
/// the store's collector counts as a root (nothing in it is Boa's to trace). The table
/// never lets go, so objects exported to JS are never collected: Boa 0.22 gives an
/// embedder no weak reference to a `JsObject` to key it by.
#[derive(Trace, Finalize, Clone)]
pub(crate) struct HeldGcObject(#[unsafe_ignore_trace] pub GcObject);

/// The JS object for `object`, made on first use.
pub(crate) fn exported_gc_object(object: &GcObject, ctx: &mut Context) -> JsResult<JsObject> {
    let key = object.address();
    if let Some(wrapper) = with_realm(ctx, |r| r.gc_wrappers.get(&key).cloned())? {
        return Ok(wrapper);
    }
    let target = JsObject::with_null_proto();
    target.set_integrity_level(IntegrityLevel::Sealed, ctx)?;
    let wrapper: JsObject = JsProxy::builder(target)
        .set(refuse_write)
        .delete_property(refuse_write)
        .define_property(report_failure)
        .prevent_extensions(report_failure)
        .set_prototype_of(report_failure)
        .build(ctx)?
        .into();
    with_realm(ctx, |r| {
        r.gc_wrappers.insert(key, wrapper.clone());
        r.gc_objects.insert(wrapper.clone(), HeldGcObject(object.clone()));
    })?;
    Ok(wrapper)
}

/// The struct or array `object` stands for, if it is an exported GC object.
pub(crate) fn gc_object_of(object: &JsObject, ctx: &mut Context) -> JsResult<Option<GcObject>> {
    with_realm(ctx, |r| r.gc_objects.get(object).map(|held| held.0.clone()))
}

fn refuse_write(_: &JsValue, _: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    Err(JsNativeError::typ().with_message("WebAssembly GC objects cannot be modified from JavaScript").into())
}

fn report_failure(_: &JsValue, _: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    Ok(JsValue::from(false))
}

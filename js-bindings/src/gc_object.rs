//! Exported GC objects: the opaque JS objects that stand for wasm structs and arrays.
//!
//! The GC proposal's JS API gives each struct or array one JS object (the same one every
//! time it crosses), with no prototype, no properties and no way to change either:
//! getting a property gives `undefined`, setting or deleting one throws a TypeError,
//! and [[PreventExtensions]], [[SetPrototypeOf]] and [[DefineOwnProperty]] report
//! failure. Boa 0.22 offers no custom exotic objects to embedders, so each is a Proxy
//! over a sealed, empty, null-prototype target: the target already answers the reads
//! as the proposal says, and the traps below refuse the writes.
//!
//! The wrapper owns the struct's or array's handle (which the store's collector counts
//! as a root), through its target: once JS drops the wrapper and Boa collects it, the
//! wasm object can be collected too. The realm finds wrappers by address through weak
//! references only: a `GcHolder` that holds the wrapper and that the wrapper holds (Boa
//! gives embedders weak references to its own `Gc` cells, not to a `JsObject`), and a
//! `WeakMap` from wrapper to target for the way back. An address whose holder is gone
//! may name a new object: it gets a new wrapper.

use crate::realm::{with_agent, WeakTable};
use boa_engine::builtins::proxy::Proxy;
use boa_engine::object::builtins::{JsProxy, JsWeakMap};
use boa_engine::object::{IntegrityLevel, JsObject};
use boa_engine::{Context, JsData, JsNativeError, JsResult, JsValue};
use boa_gc::{Finalize, Gc, GcRefCell, Trace};
use sidewinder_engine::GcObject;

/// The realm's tables of exported GC objects.
#[derive(Trace, Finalize, Default)]
pub(crate) struct GcWrappers {
    /// Each exported object's holder, by the object's address.
    by_address: WeakTable<GcHolder>,
    /// Wrapper to target (`GcTarget`), made with the first wrapper.
    targets: Option<JsWeakMap>,
}

/// What ties a wrapper to its struct or array, in both directions.
#[derive(Trace, Finalize)]
struct GcHolder {
    wrapper: GcRefCell<Option<JsObject>>,
    #[unsafe_ignore_trace]
    object: GcObject,
}

/// A wrapper's Proxy target: an empty object (as the proposal's reads need) that keeps
/// the holder.
#[derive(Trace, Finalize, JsData)]
struct GcTarget(Gc<GcHolder>);

/// The JS object for `object`, made on first use.
pub(crate) fn exported_gc_object(object: &GcObject, ctx: &mut Context) -> JsResult<JsObject> {
    let key = object.address();
    let alive = with_agent(ctx, |r| {
        let holder = r.gc_wrappers.by_address.get(key)?;
        let wrapper = holder.wrapper.borrow().clone();
        wrapper
    })?;
    if let Some(wrapper) = alive {
        return Ok(wrapper);
    }
    let holder = Gc::new(GcHolder { wrapper: GcRefCell::new(None), object: object.clone() });
    let target = JsObject::from_proto_and_data(None, GcTarget(holder.clone()));
    target.set_integrity_level(IntegrityLevel::Sealed, ctx)?;
    let wrapper: JsObject = JsProxy::builder(target.clone())
        .set(refuse_write)
        .delete_property(refuse_write)
        .define_property(report_failure)
        .prevent_extensions(report_failure)
        .set_prototype_of(report_failure)
        .build(ctx)?
        .into();
    *holder.wrapper.borrow_mut() = Some(wrapper.clone());
    let targets = match with_agent(ctx, |r| r.gc_wrappers.targets.clone())? {
        Some(targets) => targets,
        None => {
            let targets = JsWeakMap::new(ctx);
            with_agent(ctx, |r| r.gc_wrappers.targets = Some(targets.clone()))?;
            targets
        }
    };
    targets.set(&wrapper, target.into(), ctx)?;
    with_agent(ctx, |r| r.gc_wrappers.by_address.insert(key, &holder))?;
    Ok(wrapper)
}

/// The struct or array `object` stands for, if it is an exported GC object.
pub(crate) fn gc_object_of(object: &JsObject, ctx: &mut Context) -> JsResult<Option<GcObject>> {
    // Every wrapper is a Proxy: other objects (any JS object or function crossing as a
    // reference) skip the WeakMap call.
    if !object.is::<Proxy>() {
        return Ok(None);
    }
    let Some(targets) = with_agent(ctx, |r| r.gc_wrappers.targets.clone())? else { return Ok(None) };
    let target = targets.get(object, ctx)?;
    Ok(target.as_object().and_then(|t| t.downcast_ref::<GcTarget>().map(|t| t.0.object.clone())))
}

fn refuse_write(_: &JsValue, _: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    Err(JsNativeError::typ().with_message("WebAssembly GC objects cannot be modified from JavaScript").into())
}

fn report_failure(_: &JsValue, _: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    Ok(JsValue::from(false))
}

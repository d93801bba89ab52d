//! WebIDL plumbing shared by the interfaces: constructors, enumerable operations,
//! attributes, brand checks and BufferSource copies.

use crate::realm::{prototypes, Prototypes, WasmRealm};
use boa_engine::builtins::function::{BoundFunction, OrdinaryFunction};
use boa_engine::object::builtins::{JsArrayBuffer, JsDataView, JsFunction, JsTypedArray};
use boa_engine::object::{ConstructorBuilder, FunctionObjectBuilder, JsObject, NativeObject};
use boa_engine::property::Attribute;
use boa_engine::realm::Realm;
use boa_engine::{js_string, Context, JsNativeError, JsResult, JsSymbol, JsValue, NativeFunction};

pub(crate) type NativeFn = fn(&JsValue, &[JsValue], &mut Context) -> JsResult<JsValue>;

/// An interface object: `new`-only constructor plus prototype members.
pub(crate) struct Interface {
    pub name: &'static str,
    pub length: usize,
    pub constructor: NativeFn,
    pub operations: &'static [(&'static str, usize, NativeFn)],
    pub attributes: &'static [(&'static str, NativeFn, Option<NativeFn>)],
    pub static_operations: &'static [(&'static str, usize, NativeFn)],
}

pub(crate) fn operation(ctx: &mut Context, name: &str, length: usize, f: NativeFn) -> JsObject {
    FunctionObjectBuilder::new(ctx.realm(), NativeFunction::from_fn_ptr(f))
        .name(js_string!(name))
        .length(length)
        .build()
        .into()
}

impl Interface {
    /// Builds the constructor and prototype; returns (constructor, prototype).
    pub fn build(&self, ctx: &mut Context) -> (JsObject, JsObject) {
        let ops: Vec<(JsObject, &str)> =
            self.operations.iter().map(|(n, l, f)| (operation(ctx, n, *l, *f), *n)).collect();
        let statics: Vec<(JsObject, &str)> =
            self.static_operations.iter().map(|(n, l, f)| (operation(ctx, n, *l, *f), *n)).collect();
        let attrs: Vec<(&str, JsFunction, Option<JsFunction>)> = self
            .attributes
            .iter()
            .map(|(n, get, set)| {
                let getter = FunctionObjectBuilder::new(ctx.realm(), NativeFunction::from_fn_ptr(*get))
                    .name(js_string!(format!("get {n}")))
                    .length(0)
                    .build();
                let setter = set.map(|s| {
                    FunctionObjectBuilder::new(ctx.realm(), NativeFunction::from_fn_ptr(s))
                        .name(js_string!(format!("set {n}")))
                        .length(1)
                        .build()
                });
                (*n, getter, setter)
            })
            .collect();
        let mut b = ConstructorBuilder::new(ctx, NativeFunction::from_fn_ptr(self.constructor));
        b.name(self.name).length(self.length);
        for (f, n) in ops {
            b.property(js_string!(n), f, Attribute::all());
        }
        for (f, n) in statics {
            b.static_property(js_string!(n), f, Attribute::all());
        }
        for (n, get, set) in attrs {
            b.accessor(js_string!(n), Some(get), set, Attribute::ENUMERABLE | Attribute::CONFIGURABLE);
        }
        b.property(
            JsSymbol::to_string_tag(),
            js_string!(format!("WebAssembly.{}", self.name)),
            Attribute::CONFIGURABLE,
        );
        let sc = b.build();
        (sc.constructor(), sc.prototype())
    }
}

/// Rejects calls without `new`.
pub(crate) fn require_new(new_target: &JsValue, name: &str) -> JsResult<JsObject> {
    new_target.as_object().ok_or_else(|| {
        JsNativeError::typ().with_message(format!("WebAssembly.{name} must be called with 'new'")).into()
    })
}

/// GetPrototypeFromConstructor, with the current realm's interface prototype as fallback.
pub(crate) fn prototype_from(
    new_target: &JsObject,
    pick: impl Fn(&Prototypes) -> JsObject,
    ctx: &mut Context,
) -> JsResult<JsObject> {
    if let Some(proto) = new_target.get(js_string!("prototype"), ctx)?.as_object() {
        return Ok(proto);
    }
    // WebIDL: the interface's prototype in newTarget's realm (GetFunctionRealm).
    let theirs = function_realm(new_target).and_then(|realm| {
        let host = realm.host_defined();
        host.get::<WasmRealm>().and_then(|r| r.prototypes.as_ref().map(&pick))
    });
    match theirs {
        Some(proto) => Ok(proto),
        None => Ok(pick(&prototypes(ctx)?)),
    }
}

/// GetFunctionRealm for the functions whose realm Boa 0.22 shows embedders: ordinary
/// functions and classes, through bound functions; `None` for the rest (native functions
/// and proxies), which then use the current realm.
fn function_realm(f: &JsObject) -> Option<Realm> {
    let mut f = f.clone();
    loop {
        if let Some(ordinary) = f.downcast_ref::<OrdinaryFunction>() {
            return Some(ordinary.realm().clone());
        }
        let target = f.downcast_ref::<BoundFunction>()?.target_function().clone();
        f = target;
    }
}

/// The receiver as an object carrying `T`, or a TypeError naming the operation.
pub(crate) fn brand<T: NativeObject>(this: &JsValue, what: &str) -> JsResult<JsObject> {
    match this.as_object() {
        Some(o) if o.is::<T>() => Ok(o.clone()),
        _ => Err(JsNativeError::typ()
            .with_message(format!("{what}: receiver is not the right kind of object"))
            .into()),
    }
}

/// The WebIDL type check of a BufferSource argument, for operations that convert later
/// arguments before copying the bytes.
pub(crate) fn check_buffer_source(v: &JsValue) -> JsResult<()> {
    let is_buffer_source = v.as_object().is_some_and(|o| {
        JsArrayBuffer::from_object(o.clone()).is_ok()
            || JsTypedArray::from_object(o.clone()).is_ok()
            || JsDataView::from_object(o.clone()).is_ok()
    });
    if is_buffer_source {
        Ok(())
    } else {
        Err(JsNativeError::typ()
            .with_message("argument must be an ArrayBuffer or an ArrayBuffer view")
            .into())
    }
}

/// A copy of the bytes of a BufferSource (ArrayBuffer or view); TypeError otherwise.
pub(crate) fn buffer_source_bytes(v: &JsValue, ctx: &mut Context) -> JsResult<Vec<u8>> {
    let err =
        || JsNativeError::typ().with_message("argument must be an ArrayBuffer or an ArrayBuffer view").into();
    let Some(o) = v.as_object() else { return Err(err()) };
    if let Ok(buf) = JsArrayBuffer::from_object(o.clone()) {
        return Ok(buf.data().map(|d| d.to_vec()).unwrap_or_default());
    }
    let (buffer, offset, length) = if let Ok(ta) = JsTypedArray::from_object(o.clone()) {
        (ta.buffer(ctx)?, ta.byte_offset(ctx)?, ta.byte_length(ctx)?)
    } else if let Ok(dv) = JsDataView::from_object(o.clone()) {
        (dv.buffer(ctx)?, dv.byte_offset(ctx)? as usize, dv.byte_length(ctx)? as usize)
    } else {
        return Err(err());
    };
    let Some(buffer) = buffer.as_object().and_then(|b| JsArrayBuffer::from_object(b.clone()).ok()) else {
        // A view over a SharedArrayBuffer: not supported for module bytes yet.
        return Err(err());
    };
    let data = buffer.data();
    Ok(data.and_then(|d| d.get(offset..offset + length).map(<[u8]>::to_vec)).unwrap_or_default())
}

/// A data property that is writable, enumerable and configurable.
pub(crate) fn set_data(o: &JsObject, key: &str, v: impl Into<JsValue>, ctx: &mut Context) -> JsResult<()> {
    o.create_data_property_or_throw(js_string!(key), v, ctx)?;
    Ok(())
}

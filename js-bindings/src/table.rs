//! WebAssembly.Table.

use crate::conversions::{
    address_type, address_value, default_value, limits, parse_value_type, to_js, to_wasm, value_type_name,
    AddressType,
};
use crate::errors::engine_error;
use crate::interface::{brand, prototype_from, require_new, Interface};
use crate::realm::{cached_wrapper, prototypes, remember_wrapper, store};
use boa_engine::object::JsObject;
use boa_engine::{js_string, Context, JsData, JsNativeError, JsResult, JsValue};
use boa_gc::{Finalize, Trace};
use sidewinder_engine::{Table, TableType, Val, ValType};

/// The largest table the constructor accepts, as in the JS API's implementation limits.
const MAX_TABLE_INITIAL: u64 = 10_000_000;

#[derive(Trace, Finalize, JsData)]
pub(crate) struct TableData {
    #[unsafe_ignore_trace]
    pub table: Table,
}

pub(crate) const INTERFACE: Interface = Interface {
    name: "Table",
    length: 1,
    constructor: construct,
    operations: &[("grow", 1, grow), ("get", 1, get), ("set", 1, set), ("type", 0, table_type)],
    attributes: &[("length", get_length, None)],
    static_operations: &[],
};

fn table_key(t: &Table) -> usize {
    // Tables live as long as the store; the handle's address is a stable identity.
    t.identity()
}

pub(crate) fn table_object(table: &Table, ctx: &mut Context) -> JsResult<JsObject> {
    let key = table_key(table);
    if let Some(o) = cached_wrapper(ctx, key)? {
        return Ok(o);
    }
    let proto = prototypes(ctx)?.table.clone();
    wrap(table.clone(), proto, ctx)
}

fn wrap(table: Table, proto: JsObject, ctx: &mut Context) -> JsResult<JsObject> {
    let key = table_key(&table);
    let object = JsObject::from_proto_and_data(proto, TableData { table });
    remember_wrapper(ctx, key, &object)?;
    Ok(object)
}

/// An optional value argument: DefaultValue when missing, else ToWebAssemblyValue. An
/// explicit `undefined` is a value here (WPT's table/get-set.any.js "Setting
/// non-function" wants `set(0, undefined)` on a funcref table to throw).
fn value_arg(args: &[JsValue], i: usize, ty: ValType, ctx: &mut Context) -> JsResult<Val> {
    match args.get(i) {
        Some(v) => to_wasm(v, ty, ctx),
        None => default_value(ty, ctx),
    }
}

fn construct(new_target: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let nt = require_new(new_target, "Table")?;
    let Some(descriptor) = args.first().and_then(JsValue::as_object) else {
        return Err(JsNativeError::typ()
            .with_message("WebAssembly.Table: descriptor must be an object")
            .into());
    };
    // Dictionary members are read in lexicographic order: address, element, initial, ...
    let address = address_type(&descriptor, "WebAssembly.Table", ctx)?;
    let element = descriptor.get(js_string!("element"), ctx)?;
    let element = parse_value_type(&element, ctx)?;
    if !element.is_ref() {
        return Err(JsNativeError::typ().with_message("WebAssembly.Table: invalid element type").into());
    }
    let (initial, maximum) = limits(&descriptor, address, "WebAssembly.Table", ctx)?;
    if maximum.is_some_and(|m| m < initial) {
        return Err(JsNativeError::range()
            .with_message("WebAssembly.Table: maximum is below initial")
            .into());
    }
    if initial > MAX_TABLE_INITIAL {
        return Err(JsNativeError::range()
            .with_message("WebAssembly.Table: initial size is too large")
            .into());
    }
    let init = value_arg(args, 1, element, ctx)?;
    let store = store(ctx)?;
    let ty = TableType { element, minimum: initial, maximum, table64: address.is_64() };
    let table = Table::new(&store, ty, init).map_err(|e| engine_error(e, ctx))?;
    let proto = prototype_from(&nt, |p| p.table.clone(), ctx)?;
    Ok(wrap(table, proto, ctx)?.into())
}

fn table_of(this: &JsValue, what: &str) -> JsResult<Table> {
    let o = brand::<TableData>(this, what)?;
    let t = o.downcast_ref::<TableData>().map(|d| d.table.clone());
    t.ok_or_else(|| JsNativeError::typ().with_message(format!("{what}: not a Table")).into())
}

/// Type reflection: `{ minimum, maximum?, element, address }`, sizes as the address
/// type's values.
fn table_type(this: &JsValue, _args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let table = table_of(this, "WebAssembly.Table.prototype.type")?;
    let ty = table.ty();
    let address = AddressType::of(ty.table64);
    let o = JsObject::with_object_proto(ctx.intrinsics());
    o.create_data_property_or_throw(js_string!("minimum"), address.value(ty.minimum), ctx)?;
    if let Some(max) = ty.maximum {
        o.create_data_property_or_throw(js_string!("maximum"), address.value(max), ctx)?;
    }
    o.create_data_property_or_throw(js_string!("element"), js_string!(value_type_name(ty.element)), ctx)?;
    o.create_data_property_or_throw(js_string!("address"), js_string!(address.name()), ctx)?;
    Ok(o.into())
}

fn get_length(this: &JsValue, _args: &[JsValue], _ctx: &mut Context) -> JsResult<JsValue> {
    let table = table_of(this, "WebAssembly.Table.prototype.length")?;
    Ok(AddressType::of(table.ty().table64).value(table.size()))
}

fn grow(this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let table = table_of(this, "WebAssembly.Table.prototype.grow")?;
    let ty = table.ty();
    let address = AddressType::of(ty.table64);
    let delta = address_value(&args.first().cloned().unwrap_or_default(), address, "delta", ctx)?;
    let init = value_arg(args, 1, ty.element, ctx)?;
    match table.grow(delta, init) {
        Some(old) => Ok(address.value(old)),
        None => {
            Err(JsNativeError::range().with_message("WebAssembly.Table.grow: failed to grow table").into())
        }
    }
}

fn get(this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let table = table_of(this, "WebAssembly.Table.prototype.get")?;
    let address = AddressType::of(table.ty().table64);
    let index = address_value(&args.first().cloned().unwrap_or_default(), address, "index", ctx)?;
    match table.get(index) {
        Some(v) => to_js(&v, ctx),
        None => Err(JsNativeError::range().with_message("WebAssembly.Table.get: index out of bounds").into()),
    }
}

fn set(this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let table = table_of(this, "WebAssembly.Table.prototype.set")?;
    let ty = table.ty();
    let index =
        address_value(&args.first().cloned().unwrap_or_default(), AddressType::of(ty.table64), "index", ctx)?;
    let value = value_arg(args, 1, ty.element, ctx)?;
    if index >= table.size() {
        return Err(JsNativeError::range().with_message("WebAssembly.Table.set: index out of bounds").into());
    }
    table.set(index, value).map_err(|e| engine_error(e, ctx))?;
    Ok(JsValue::undefined())
}

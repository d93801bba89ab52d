//! WebAssembly.Instance: reading the imports, instantiating, the exports object.

use crate::compile_options::{ImportPlan, ImportSource};
use crate::conversions::{never_crosses_to_js, to_wasm};
use crate::errors::{engine_error, new_error, ErrorKind};
use crate::function::{exported_function, host_function};
use crate::global::{global_object, GlobalData};
use crate::interface::{brand, prototype_from, require_new, Interface};
use crate::jspi::{suspending_import, suspending_of};
use crate::memory::{memory_object, MemoryData};
use crate::module::module_of;
use crate::realm::{prototypes, store, with_agent, ContextScope};
use crate::string_builtins::{builtin_function, Builtin};
use crate::table::{table_object, TableData};
use crate::tag::{tag_object, tag_of};
use boa_engine::object::{IntegrityLevel, JsObject};
use boa_engine::{js_string, Context, JsData, JsNativeError, JsResult, JsString, JsValue};
use boa_gc::{Finalize, Trace};
use sidewinder_engine::{Extern, ExternType, Func, Global, GlobalType, Instance, Module, ValType};
use std::collections::HashMap;

#[derive(Trace, Finalize, JsData)]
pub(crate) struct InstanceData {
    /// Keeps the instance reachable from its JS object (the store also holds it).
    #[unsafe_ignore_trace]
    pub _instance: Instance,
    pub exports: JsObject,
}

pub(crate) const INTERFACE: Interface = Interface {
    name: "Instance",
    length: 1,
    constructor: construct,
    operations: &[],
    attributes: &[("exports", get_exports, None)],
    static_operations: &[],
};

fn construct(new_target: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let nt = require_new(new_target, "Instance")?;
    let (module, plan) = module_of(&args.first().cloned().unwrap_or_default(), "WebAssembly.Instance")?;
    let imports = read_imports(&module, &plan, &args.get(1).cloned().unwrap_or_default(), ctx)?;
    let proto = prototype_from(&nt, |p| p.instance.clone(), ctx)?;
    Ok(instantiate(&module, &imports, Some(proto), ctx)?.into())
}

/// "Read the imports": resolves each import against the import object, or, as `plan`
/// says, to a string constant or a builtin (the import object is not consulted for those).
pub(crate) fn read_imports(
    module: &Module,
    plan: &ImportPlan,
    import_object: &JsValue,
    ctx: &mut Context,
) -> JsResult<Vec<Extern>> {
    let imports = module.imports();
    if !imports.is_empty() && import_object.is_undefined() {
        return Err(JsNativeError::typ()
            .with_message("imports argument must be present and must be an object")
            .into());
    }
    if !import_object.is_undefined() && !import_object.is_object() {
        return Err(JsNativeError::typ().with_message("imports argument must be an object").into());
    }
    let mut externs = Vec::with_capacity(imports.len());
    // How many functions `externs` holds: a host function made here is known by that
    // number (JS API "index of the host function"), its name if it is exported.
    let mut functions = 0u32;
    // This instantiation's builtins: importing one twice gives the same function.
    let mut builtins: HashMap<Builtin, Func> = HashMap::new();
    for (index, import) in imports.into_iter().enumerate() {
        match plan.source(index) {
            ImportSource::ImportObject => {}
            ImportSource::StringConstant => {
                // The plan only gives this source to immutable externref globals; the
                // value is the field name, as a fresh global of the import's type.
                if let ExternType::Global(gt) = &import.ty {
                    let value = JsValue::from(JsString::from(import.name.as_str()));
                    if let Some(g) = global_import(&value, gt, ctx)? {
                        externs.push(Extern::Global(g));
                        continue;
                    }
                }
                return Err(new_error(ErrorKind::Link, "string constant import is not a global", ctx));
            }
            ImportSource::Builtin(b) => {
                let func = match builtins.get(&b) {
                    Some(f) => f.clone(),
                    None => {
                        let f = builtin_function(b, ctx)?;
                        builtins.insert(b, f.clone());
                        f
                    }
                };
                externs.push(Extern::Func(func));
                functions += 1;
                continue;
            }
        }
        let Some(object) = import_object.as_object() else {
            return Err(JsNativeError::typ().with_message("imports argument must be an object").into());
        };
        let namespace = object.get(js_string!(import.module.as_str()), ctx)?;
        let Some(namespace) = namespace.as_object() else {
            return Err(JsNativeError::typ()
                .with_message(format!("import module {:?} is not an object", import.module))
                .into());
        };
        let v = namespace.get(js_string!(import.name.as_str()), ctx)?;
        let what = format!("import {:?} {:?}", import.module, import.name);
        let link = |msg: &str, ctx: &mut Context| new_error(ErrorKind::Link, &format!("{what}: {msg}"), ctx);
        let ext = match &import.ty {
            ExternType::Func(ty) => {
                let func = match (suspending_of(&v), v.as_callable()) {
                    (Some(f), _) => suspending_import(&f, ty.clone(), ctx)?,
                    (None, Some(f)) => host_function(&f.clone(), ty.clone(), ctx)?,
                    (None, None) => return Err(link("must be a function", ctx)),
                };
                // An Exported Function imported as itself keeps the index it has.
                if func.wasm_index().is_none() {
                    with_agent(ctx, |r| {
                        r.host_function_indices.entry(func.id()).or_insert(functions);
                    })?;
                }
                Extern::Func(func)
            }
            ExternType::Global(gt) => match global_import(&v, gt, ctx) {
                Ok(Some(g)) => Extern::Global(g),
                Ok(None) => return Err(link("must be a WebAssembly.Global or a number", ctx)),
                Err(e) => return Err(e),
            },
            ExternType::Memory(_) => {
                match v.as_object().and_then(|o| o.downcast_ref::<MemoryData>().map(|m| m.memory.clone())) {
                    Some(m) => Extern::Memory(m),
                    None => return Err(link("must be a WebAssembly.Memory", ctx)),
                }
            }
            ExternType::Table(_) => {
                match v.as_object().and_then(|o| o.downcast_ref::<TableData>().map(|t| t.table.clone())) {
                    Some(t) => Extern::Table(t),
                    None => return Err(link("must be a WebAssembly.Table", ctx)),
                }
            }
            ExternType::Tag(_) => match tag_of(&v) {
                Some(t) => Extern::Tag(t),
                None => return Err(link("must be a WebAssembly.Tag", ctx)),
            },
        };
        functions += u32::from(matches!(ext, Extern::Func(_)));
        externs.push(ext);
    }
    Ok(externs)
}

/// A global import: a WebAssembly.Global, or a plain value for an immutable global.
fn global_import(v: &JsValue, gt: &GlobalType, ctx: &mut Context) -> JsResult<Option<Global>> {
    if let Some(g) = v.as_object().and_then(|o| o.downcast_ref::<GlobalData>().map(|g| g.global.clone())) {
        return Ok(Some(g));
    }
    let what = "global import";
    if gt.mutable {
        return Err(new_error(
            ErrorKind::Link,
            &format!("{what}: a mutable global must be a WebAssembly.Global"),
            ctx,
        ));
    }
    let acceptable = match gt.content {
        ValType::I64 => v.is_bigint(),
        ValType::I32 | ValType::F32 | ValType::F64 => v.is_number(),
        other => !never_crosses_to_js(other),
    };
    if !acceptable {
        return Err(new_error(ErrorKind::Link, &format!("{what}: value of the wrong type"), ctx));
    }
    let value = match to_wasm(v, gt.content, ctx) {
        Ok(value) => value,
        Err(_) => return Err(new_error(ErrorKind::Link, &format!("{what}: value of the wrong type"), ctx)),
    };
    let store = store(ctx)?;
    Global::new(&store, gt.clone(), value).map(Some).map_err(|e| engine_error(e, ctx))
}

/// Instantiates and wraps: LinkError, or RuntimeError if a segment or the start traps.
pub(crate) fn instantiate(
    module: &Module,
    imports: &[Extern],
    proto: Option<JsObject>,
    ctx: &mut Context,
) -> JsResult<JsObject> {
    let store = store(ctx)?;
    let outcome = {
        let _scope = ContextScope::enter(ctx);
        Instance::new(&store, module, imports)
    };
    // A start function may have written globals that ES modules export.
    crate::esm::refresh_live_bindings(ctx);
    let instance = outcome.map_err(|e| engine_error(e, ctx))?;
    let exports = exports_object(&instance, ctx)?;
    let proto = match proto {
        Some(p) => p,
        None => prototypes(ctx)?.instance.clone(),
    };
    Ok(JsObject::from_proto_and_data(proto, InstanceData { _instance: instance, exports }))
}

/// The frozen, null-prototype exports object.
fn exports_object(instance: &Instance, ctx: &mut Context) -> JsResult<JsObject> {
    let exports = JsObject::with_null_proto();
    for (name, ext) in instance.exports() {
        let value: JsValue = match &ext {
            Extern::Func(f) => exported_function(f, ctx)?.into(),
            Extern::Memory(m) => memory_object(m, ctx)?.into(),
            Extern::Table(t) => table_object(t, ctx)?.into(),
            Extern::Global(g) => global_object(g, ctx)?.into(),
            Extern::Tag(t) => tag_object(t, ctx)?.into(),
        };
        exports.create_data_property_or_throw(js_string!(name), value, ctx)?;
    }
    exports.set_integrity_level(IntegrityLevel::Frozen, ctx)?;
    Ok(exports)
}

fn get_exports(this: &JsValue, _args: &[JsValue], _ctx: &mut Context) -> JsResult<JsValue> {
    let o = brand::<InstanceData>(this, "WebAssembly.Instance.prototype.exports")?;
    let exports = o.downcast_ref::<InstanceData>().map(|d| d.exports.clone());
    Ok(exports.map(JsValue::from).unwrap_or_default())
}

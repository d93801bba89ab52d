//! WebAssembly.Module.

use crate::compile_options::{CompileOptions, ImportPlan, ImportSource};
use crate::errors::{engine_error, new_error, ErrorKind};
use crate::interface::{
    brand, buffer_source_bytes, check_buffer_source, prototype_from, require_new, set_data, Interface,
};
use crate::realm::{engine, prototypes};
use boa_engine::object::builtins::{JsArray, JsArrayBuffer};
use boa_engine::object::JsObject;
use boa_engine::{js_string, Context, JsData, JsResult, JsValue};
use boa_gc::{Finalize, Trace};
use sidewinder_engine::{ExternType, Module};

#[derive(Trace, Finalize, JsData)]
pub(crate) struct ModuleData {
    #[unsafe_ignore_trace]
    pub module: Module,
    /// [[BuiltinSets]] and [[ImportedStringModule]], applied to each import.
    #[unsafe_ignore_trace]
    pub plan: ImportPlan,
}

pub(crate) const INTERFACE: Interface = Interface {
    name: "Module",
    length: 1,
    constructor: construct,
    operations: &[],
    attributes: &[],
    static_operations: &[
        ("exports", 1, exports),
        ("imports", 1, imports),
        ("customSections", 2, custom_sections),
    ],
};

/// Compiles bytes into a module and checks its imports against the compile options
/// (CompileError on failure).
pub(crate) fn compile(
    bytes: &[u8],
    options: &CompileOptions,
    ctx: &mut Context,
) -> JsResult<(Module, ImportPlan)> {
    let engine = engine(ctx)?;
    let module = Module::new(&engine, bytes).map_err(|e| engine_error(e, ctx))?;
    let plan = ImportPlan::new(&module, options).map_err(|m| new_error(ErrorKind::Compile, &m, ctx))?;
    Ok((module, plan))
}

pub(crate) fn module_object(
    (module, plan): (Module, ImportPlan),
    proto: Option<JsObject>,
    ctx: &mut Context,
) -> JsResult<JsObject> {
    let proto = match proto {
        Some(p) => p,
        None => prototypes(ctx)?.module.clone(),
    };
    Ok(JsObject::from_proto_and_data(proto, ModuleData { module, plan }))
}

fn construct(new_target: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let nt = require_new(new_target, "Module")?;
    let source = args.first().cloned().unwrap_or_default();
    check_buffer_source(&source)?;
    let options = CompileOptions::from_js(&args.get(1).cloned().unwrap_or_default(), ctx)?;
    let bytes = buffer_source_bytes(&source, ctx)?;
    let module = compile(&bytes, &options, ctx)?;
    let proto = prototype_from(&nt, |p| p.module.clone(), ctx)?;
    Ok(module_object(module, Some(proto), ctx)?.into())
}

/// The module behind a Module object, with its import plan.
pub(crate) fn module_of(v: &JsValue, what: &str) -> JsResult<(Module, ImportPlan)> {
    let o = brand::<ModuleData>(v, what)?;
    let m = o.downcast_ref::<ModuleData>().map(|d| (d.module.clone(), d.plan.clone()));
    m.ok_or_else(|| boa_engine::JsNativeError::typ().with_message(format!("{what}: not a Module")).into())
}

pub(crate) fn kind_name(ty: &ExternType) -> &'static str {
    match ty {
        ExternType::Func(_) => "function",
        ExternType::Table(_) => "table",
        ExternType::Memory(_) => "memory",
        ExternType::Global(_) => "global",
        ExternType::Tag(_) => "tag",
    }
}

fn exports(_this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let (module, _) = module_of(&args.first().cloned().unwrap_or_default(), "WebAssembly.Module.exports")?;
    let mut list = Vec::new();
    for e in module.exports() {
        let o = JsObject::with_object_proto(ctx.intrinsics());
        set_data(&o, "name", js_string!(e.name), ctx)?;
        set_data(&o, "kind", js_string!(kind_name(&e.ty)), ctx)?;
        list.push(o.into());
    }
    Ok(JsArray::from_iter(list, ctx).into())
}

fn imports(_this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let (module, plan) = module_of(&args.first().cloned().unwrap_or_default(), "WebAssembly.Module.imports")?;
    let mut list = Vec::new();
    for (index, i) in module.imports().into_iter().enumerate() {
        // Builtins and string constants are not imports the import object provides.
        if plan.source(index) != ImportSource::ImportObject {
            continue;
        }
        let o = JsObject::with_object_proto(ctx.intrinsics());
        set_data(&o, "module", js_string!(i.module), ctx)?;
        set_data(&o, "name", js_string!(i.name), ctx)?;
        set_data(&o, "kind", js_string!(kind_name(&i.ty)), ctx)?;
        list.push(o.into());
    }
    Ok(JsArray::from_iter(list, ctx).into())
}

fn custom_sections(_this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let (module, _) =
        module_of(&args.first().cloned().unwrap_or_default(), "WebAssembly.Module.customSections")?;
    let Some(name) = args.get(1).filter(|v| !v.is_undefined()) else {
        return Err(boa_engine::JsNativeError::typ()
            .with_message("customSections requires a section name")
            .into());
    };
    // Names compare as strings: one with a lone surrogate equals no section's name,
    // which is valid UTF-8 (escaping it matched a section named by the escape's six
    // characters; replacing it with U+FFFD matched one with U+FFFD, which WPT's
    // "Custom sections with U+FFFD" refuses).
    let mut list = Vec::new();
    let Ok(name) = name.to_string(ctx)?.to_std_string() else {
        return Ok(JsArray::from_iter(list, ctx).into());
    };
    for data in module.custom_sections(&name) {
        let mut block = boa_engine::object::builtins::AlignedVec::new(64);
        block.extend_from_slice(data);
        list.push(JsArrayBuffer::from_byte_block(block, ctx)?.into());
    }
    Ok(JsArray::from_iter(list, ctx).into())
}

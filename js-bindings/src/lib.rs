//! The W3C WebAssembly JavaScript Interface for Boa, backed by `sidewinder-engine`.
//!
//! `install(context)` defines the `WebAssembly` namespace on the context's global
//! object. Files follow the spec's table of contents: `namespace.rs` (validate,
//! compile, instantiate), `module.rs`, `instance.rs`, `memory.rs`, `table.rs`,
//! `global.rs`, `tag.rs`, `exception.rs`, `errors.rs` (CompileError, LinkError, RuntimeError), `conversions.rs`
//! (ToWebAssemblyValue / ToJSValue), `function.rs` (exported and host functions),
//! `interface.rs` (WebIDL plumbing), `realm.rs` (the agent's store and caches, shared by
//! a context's realms, and each realm's interface objects), and for JS String
//! Builtins `compile_options.rs` (WebAssemblyCompileOptions) and `string_builtins.rs`,
//! and for the ES module integration `esm.rs` (`WasmModuleLoader`: `import` of `.wasm`).

mod compile_options;
mod conversions;
mod errors;
mod esm;
mod exception;
mod function;
mod gc_object;
mod global;
mod instance;
mod interface;
mod jspi;
mod memory;
mod module;
mod namespace;
mod realm;
mod string_builtins;
mod table;
mod tag;
mod wasm_function;

pub use esm::WasmModuleLoader;

/// The struct or array `object` stands for, if it is an exported GC object of the
/// realm of `context` (for embedders that display or inspect values, such as a REPL).
pub fn gc_object_of(object: &JsObject, context: &mut Context) -> Option<sidewinder_engine::GcObject> {
    gc_object::gc_object_of(object, context).ok().flatten()
}

use boa_engine::object::JsObject;
use boa_engine::property::{Attribute, PropertyDescriptor};
use boa_engine::{js_string, Context, JsNativeError, JsResult, JsSymbol};
use errors::ErrorKind;
use realm::{Prototypes, WasmAgent, WasmRealm};
use sidewinder_engine::{Config, Engine, FuncType, Store, Tag, ValType};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// How many `WebAssembly.Exception` objects of this context's realm are alive (a test
/// hook: the realm holds them weakly).
#[doc(hidden)]
pub fn exception_object_count(context: &mut Context) -> usize {
    realm::with_agent(context, |r| r.exception_objects.alive()).unwrap_or(0)
}

/// How many JS values wasm may hold as externrefs in this context's realm (a test hook:
/// values wasm no longer holds are let go of as more are passed).
#[doc(hidden)]
pub fn extern_ref_count(context: &mut Context) -> usize {
    realm::with_agent(context, |r| r.extern_refs.borrow().taken()).unwrap_or(0)
}

/// The collections of this context's wasm GC heap so far, and its size: each sweep of
/// the externrefs wasm may hold is one. `None` before `install`.
pub fn gc_stats(context: &mut Context) -> Option<sidewinder_engine::GcStats> {
    realm::store(context).ok().map(|store| store.gc_stats())
}

/// Ends every JSPI call of `context` still waiting for a promise: each one's Suspending
/// import returns a trap instead of waiting, the wasm frames unwind, and the call's
/// promise is rejected with a RuntimeError (its reactions run if jobs run after).
/// Returns how many there were. Call it before dropping a context in which such calls
/// may still wait: their suspended stacks hold JS objects that only unwinding lets go
/// of, which needs the whole context, so without it the context's realm outlives it.
pub fn end_suspended_calls(context: &mut Context) -> usize {
    jspi::end_suspended_calls(context)
}

/// Installs the `WebAssembly` namespace object on the global object of `context`'s
/// current realm. Install it in each realm that needs it: the realms of one context share
/// one store, as the realms of one agent do in the JS API, so wasm objects move freely
/// between them. A realm that has it already is left as it is.
pub fn install(context: &mut Context) -> JsResult<()> {
    let config = match context.get_data::<WasmAgent>() {
        Some(agent) => agent.engine.config().clone(),
        None => Config::default(),
    };
    install_with_config(context, config)
}

/// Like `install`, with engine settings (such as `max_wasm_stack`). Bounds checks are
/// always explicit here: Boa owns every ArrayBuffer's bytes, so memories are
/// embedder-owned blocks without guard pages. All realms of a context share one engine:
/// a config other than the one the context's first install gave is an error.
pub fn install_with_config(context: &mut Context, config: Config) -> JsResult<()> {
    let config = Config { explicit_bounds_checks: true, ..config };
    match context.get_data::<WasmAgent>() {
        Some(agent) if *agent.engine.config() != config => {
            return Err(JsNativeError::error()
                .with_message("WebAssembly is installed in this context with another config")
                .into());
        }
        Some(_) => {}
        None => {
            let agent = new_agent(config)?;
            context.insert_data(agent);
        }
    }
    if context.realm().host_defined().get::<WasmRealm>().is_some() {
        return Ok(());
    }
    let error_stack_getter = errors::error_stack_getter(context);
    context.realm().host_defined_mut().insert(WasmRealm {
        prototypes: None,
        await_then: None,
        error_stack_getter,
    });

    let (module_ctor, module_proto) = module::INTERFACE.build(context);
    let (instance_ctor, instance_proto) = instance::INTERFACE.build(context);
    let (memory_ctor, memory_proto) = memory::INTERFACE.build(context);
    let (table_ctor, table_proto) = table::INTERFACE.build(context);
    let (global_ctor, global_proto) = global::INTERFACE.build(context);
    let (tag_ctor, tag_proto) = tag::INTERFACE.build(context);
    let (exception_ctor, exception_proto) = exception::INTERFACE.build(context);
    let (function_ctor, function_proto) = wasm_function::INTERFACE.build(context);
    // WebAssembly.Function objects are functions: the interface object inherits from
    // %Function% and its prototype from %Function.prototype%.
    let function_intrinsic = context.intrinsics().constructors().function();
    function_proto.set_prototype(Some(function_intrinsic.prototype()));
    function_ctor.set_prototype(Some(function_intrinsic.constructor()));
    let (compile_error, compile_error_proto) = errors::build_constructor(ErrorKind::Compile, context);
    let (link_error, link_error_proto) = errors::build_constructor(ErrorKind::Link, context);
    let (runtime_error, runtime_error_proto) = errors::build_constructor(ErrorKind::Runtime, context);
    let (suspend_error, suspend_error_proto) = errors::build_constructor(ErrorKind::Suspend, context);
    let (suspending_ctor, suspending_proto) = jspi::SUSPENDING.build(context);
    realm::with_realm(context, |r| {
        r.prototypes = Some(Prototypes {
            module: module_proto,
            instance: instance_proto,
            memory: memory_proto,
            table: table_proto,
            global: global_proto,
            tag: tag_proto,
            exception: exception_proto,
            function: function_proto,
            compile_error: compile_error_proto,
            link_error: link_error_proto,
            runtime_error: runtime_error_proto,
            suspend_error: suspend_error_proto,
            suspending: suspending_proto,
        })
    })?;

    let namespace = JsObject::with_object_proto(context.intrinsics());
    for (name, length, f) in [
        ("validate", 1, namespace::validate as interface::NativeFn),
        ("compile", 1, namespace::compile),
        ("instantiate", 1, namespace::instantiate),
        ("promising", 1, jspi::promising),
        ("namespaceInstance", 1, esm::namespace_instance),
    ] {
        let function = interface::operation(context, name, length, f);
        namespace.define_property_or_throw(
            js_string!(name),
            PropertyDescriptor::builder().value(function).writable(true).enumerable(true).configurable(true),
            context,
        )?;
    }
    for (name, ctor) in [
        ("Module", module_ctor),
        ("Instance", instance_ctor),
        ("Memory", memory_ctor),
        ("Table", table_ctor),
        ("Global", global_ctor),
        ("Tag", tag_ctor),
        ("Exception", exception_ctor),
        ("Function", function_ctor),
        ("CompileError", compile_error),
        ("LinkError", link_error),
        ("RuntimeError", runtime_error),
        ("SuspendError", suspend_error),
        ("Suspending", suspending_ctor),
    ] {
        namespace.define_property_or_throw(
            js_string!(name),
            PropertyDescriptor::builder().value(ctor).writable(true).enumerable(false).configurable(true),
            context,
        )?;
    }
    // `readonly attribute Tag JSTag`: an accessor, like every WebIDL attribute.
    let js_tag_getter = interface::operation(context, "get JSTag", 0, |_, _, ctx| {
        let tag = tag::js_tag(ctx)?;
        Ok(tag::tag_object(&tag, ctx)?.into())
    });
    namespace.define_property_or_throw(
        js_string!("JSTag"),
        PropertyDescriptor::builder().get(js_tag_getter).enumerable(true).configurable(true),
        context,
    )?;
    namespace.define_property_or_throw(
        JsSymbol::to_string_tag(),
        PropertyDescriptor::builder()
            .value(js_string!("WebAssembly"))
            .writable(false)
            .enumerable(false)
            .configurable(true),
        context,
    )?;
    context.register_global_property(
        js_string!("WebAssembly"),
        namespace,
        Attribute::WRITABLE | Attribute::CONFIGURABLE,
    )?;
    Ok(())
}

/// The store and caches of a context's first install.
fn new_agent(config: Config) -> JsResult<WasmAgent> {
    let engine = Engine::new(config).map_err(|e| JsNativeError::error().with_message(e.to_string()))?;
    let store = Store::new(&engine);
    // Wrappers of objects JS dropped hold their handles until Boa collects them.
    store.set_gc_pressure_hook(boa_gc::force_collect);
    let memory_buffers: memory::BufferRegistry = Rc::new(RefCell::new(HashMap::new()));
    let js_tag = Tag::new(&store, FuncType::new([ValType::EXTERNREF], []))
        .map_err(|e| JsNativeError::error().with_message(e.to_string()))?;
    {
        let registry = memory_buffers.clone();
        store.set_memory_creator(move |store, ty| memory::create_memory(store, ty, &registry));
    }
    Ok(WasmAgent {
        engine,
        store,
        extern_refs: Default::default(),
        function_objects: HashMap::new(),
        functions_by_object: HashMap::new(),
        funcs: HashMap::new(),
        host_function_indices: HashMap::new(),
        wrappers: HashMap::new(),
        gc_wrappers: Default::default(),
        exception_objects: Default::default(),
        memory_buffers,
        js_tag,
        esm: Default::default(),
        held_for_store: Vec::new(),
        suspended_calls: HashMap::new(),
    })
}

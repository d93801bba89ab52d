//! The WebAssembly namespace's operations: validate, compile, instantiate.

use crate::compile_options::{CompileOptions, ImportPlan};
use crate::instance::{instantiate as instantiate_module, read_imports};
use crate::interface::{buffer_source_bytes, check_buffer_source};
use crate::module::{compile as compile_module, module_object, ModuleData};
use crate::realm::engine;
use boa_engine::job::GenericJob;
use boa_engine::object::builtins::JsPromise;
use boa_engine::object::JsObject;
use boa_engine::{js_string, Context, JsError, JsNativeError, JsResult, JsValue};
use sidewinder_engine::Module;

fn rejected(e: JsError, ctx: &mut Context) -> JsResult<JsValue> {
    Ok(JsPromise::reject(e, ctx)?.into())
}

/// Runs `work` as a job and settles the returned promise with its outcome.
fn promise_job(ctx: &mut Context, work: impl FnOnce(&mut Context) -> JsResult<JsValue> + 'static) -> JsValue {
    let (promise, resolvers) = JsPromise::new_pending(ctx);
    let realm = ctx.realm().clone();
    let job = GenericJob::new(
        move |ctx| match work(ctx) {
            Ok(v) => resolvers.resolve.call(&JsValue::undefined(), &[v], ctx),
            Err(e) => {
                let e = e.into_opaque(ctx)?;
                resolvers.reject.call(&JsValue::undefined(), &[e], ctx)
            }
        },
        realm,
    );
    ctx.enqueue_job(job.into());
    promise.into()
}

pub(crate) fn validate(_this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let source = args.first().cloned().unwrap_or_default();
    check_buffer_source(&source)?;
    let options = CompileOptions::from_js(&args.get(1).cloned().unwrap_or_default(), ctx)?;
    let bytes = buffer_source_bytes(&source, ctx)?;
    let engine = engine(ctx)?;
    if options.is_empty() {
        return Ok(Module::validate_for(&engine, &bytes).is_ok().into());
    }
    // The options are checked against the module's imports, which a compile gives.
    let valid = match Module::new(&engine, &bytes) {
        Ok(module) => ImportPlan::new(&module, &options).is_ok(),
        Err(_) => false,
    };
    Ok(valid.into())
}

/// The bytes and compile options of `compile(bytes, options)` and
/// `instantiate(bytes, importObject, options)`, converted in argument order.
fn bytes_and_options(
    source: &JsValue,
    import_object: Option<&JsValue>,
    options: &JsValue,
    ctx: &mut Context,
) -> JsResult<(Vec<u8>, CompileOptions)> {
    check_buffer_source(source)?;
    if let Some(imports) = import_object {
        if !imports.is_undefined() && !imports.is_object() {
            return Err(JsNativeError::typ().with_message("imports argument must be an object").into());
        }
    }
    let options = CompileOptions::from_js(options, ctx)?;
    Ok((buffer_source_bytes(source, ctx)?, options))
}

pub(crate) fn compile(_this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let source = args.first().cloned().unwrap_or_default();
    let options = args.get(1).cloned().unwrap_or_default();
    let (bytes, options) = match bytes_and_options(&source, None, &options, ctx) {
        Ok(b) => b,
        Err(e) => return rejected(e, ctx),
    };
    Ok(promise_job(ctx, move |ctx| {
        let module = compile_module(&bytes, &options, ctx)?;
        Ok(module_object(module, None, ctx)?.into())
    }))
}

pub(crate) fn instantiate(_this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let source = args.first().cloned().unwrap_or_default();
    let import_object = args.get(1).cloned().unwrap_or_default();
    // instantiate(moduleObject, importObject) resolves to an Instance; the imports are
    // read synchronously, so their errors reject without a job in between.
    let module = source
        .as_object()
        .and_then(|o| o.downcast_ref::<ModuleData>().map(|d| (d.module.clone(), d.plan.clone())));
    if let Some((module, plan)) = module {
        let imports = match read_imports(&module, &plan, &import_object, ctx) {
            Ok(i) => i,
            Err(e) => return rejected(e, ctx),
        };
        return Ok(promise_job(ctx, move |ctx| Ok(instantiate_module(&module, &imports, None, ctx)?.into())));
    }
    // instantiate(bytes, importObject, options) resolves to { module, instance }.
    let options = args.get(2).cloned().unwrap_or_default();
    let (bytes, options) = match bytes_and_options(&source, Some(&import_object), &options, ctx) {
        Ok(b) => b,
        Err(e) => return rejected(e, ctx),
    };
    Ok(promise_job(ctx, move |ctx| {
        let (module, plan) = compile_module(&bytes, &options, ctx)?;
        let module_obj = module_object((module.clone(), plan.clone()), None, ctx)?;
        let imports = read_imports(&module, &plan, &import_object, ctx)?;
        let instance = instantiate_module(&module, &imports, None, ctx)?;
        let result = JsObject::with_object_proto(ctx.intrinsics());
        result.create_data_property_or_throw(js_string!("module"), module_obj, ctx)?;
        result.create_data_property_or_throw(js_string!("instance"), instance, ctx)?;
        Ok(result.into())
    }))
}

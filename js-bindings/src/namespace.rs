//! The WebAssembly namespace's operations: validate, compile, instantiate.

use crate::instance::{instantiate as instantiate_module, read_imports};
use crate::interface::buffer_source_bytes;
use crate::module::{compile as compile_module, module_object, ModuleData};
use crate::realm::engine;
use boa_engine::job::GenericJob;
use boa_engine::object::builtins::JsPromise;
use boa_engine::object::JsObject;
use boa_engine::{js_string, Context, JsError, JsResult, JsValue};
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
    let bytes = buffer_source_bytes(&args.first().cloned().unwrap_or_default(), ctx)?;
    let _ = engine(ctx)?;
    Ok(Module::validate(&bytes).is_ok().into())
}

pub(crate) fn compile(_this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let bytes = match buffer_source_bytes(&args.first().cloned().unwrap_or_default(), ctx) {
        Ok(b) => b,
        Err(e) => return rejected(e, ctx),
    };
    Ok(promise_job(ctx, move |ctx| {
        let module = compile_module(&bytes, ctx)?;
        Ok(module_object(module, None, ctx)?.into())
    }))
}

pub(crate) fn instantiate(_this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let source = args.first().cloned().unwrap_or_default();
    let import_object = args.get(1).cloned().unwrap_or_default();
    // instantiate(moduleObject, importObject) resolves to an Instance; the imports are
    // read synchronously, so their errors reject without a job in between.
    let module = source.as_object().and_then(|o| o.downcast_ref::<ModuleData>().map(|d| d.module.clone()));
    if let Some(module) = module {
        let imports = match read_imports(&module, &import_object, ctx) {
            Ok(i) => i,
            Err(e) => return rejected(e, ctx),
        };
        return Ok(promise_job(ctx, move |ctx| Ok(instantiate_module(&module, &imports, None, ctx)?.into())));
    }
    // instantiate(bytes, importObject) resolves to { module, instance }.
    let bytes = match buffer_source_bytes(&source, ctx) {
        Ok(b) => b,
        Err(e) => return rejected(e, ctx),
    };
    Ok(promise_job(ctx, move |ctx| {
        let module = compile_module(&bytes, ctx)?;
        let module_obj = module_object(module.clone(), None, ctx)?;
        let imports = read_imports(&module, &import_object, ctx)?;
        let instance = instantiate_module(&module, &imports, None, ctx)?;
        let result = JsObject::with_object_proto(ctx.intrinsics());
        result.create_data_property_or_throw(js_string!("module"), module_obj, ctx)?;
        result.create_data_property_or_throw(js_string!("instance"), instance, ctx)?;
        Ok(result.into())
    }))
}

//! JS Promise Integration: `WebAssembly.Suspending` wraps a JS function so that wasm
//! calling it as an import waits for the promise it returns, and
//! `WebAssembly.promising` wraps an export so that calling it runs the wasm on a fiber
//! of its own (`sidewinder_engine::Fiber`) and returns a promise of its result.
//!
//! A call of a Suspending import on a fiber calls the JS function, and then suspends
//! the fiber: the `promising` call (or the promise job that resumed the fiber last)
//! returns. Reactions on `Promise.resolve(result)` (made as `await` makes them) resume the fiber, and the import
//! returns the value or throws the reason. Suspending is allowed only with nothing but
//! wasm frames between the `promising` call and the import; otherwise the import
//! throws a SuspendError (which wasm can catch, as a JS exception).

use crate::conversions::{open_conversions, to_js};
use crate::errors::{engine_error, new_error, ErrorKind};
use crate::esm::refresh_live_bindings;
use crate::exception::thrown_to_wasm;
use crate::function::{call_js, func_of_object, js_unusable_type, reject_js_unusable, results_from_js};
use crate::interface::{prototype_from, require_new, Interface};
use crate::realm::{store, with_current_context, with_realm, ContextScope, HeldForStore};
use boa_engine::object::builtins::JsPromise;
use boa_engine::object::{FunctionObjectBuilder, JsObject};
use boa_engine::{
    js_string, Context, JsData, JsError, JsNativeError, JsResult, JsValue, NativeFunction, Source,
};
use boa_gc::{Finalize, Trace};
use sidewinder_engine::{Fiber, Func, FuncType, Trap, Val};
use std::cell::RefCell;
use std::rc::Rc;

#[derive(Trace, Finalize, JsData)]
pub(crate) struct SuspendingData {
    callable: JsObject,
}

pub(crate) const SUSPENDING: Interface = Interface {
    name: "Suspending",
    length: 1,
    constructor: construct,
    operations: &[],
    attributes: &[],
    static_operations: &[],
};

fn construct(new_target: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let nt = require_new(new_target, "Suspending")?;
    let Some(callable) = args.first().and_then(JsValue::as_callable) else {
        return Err(JsNativeError::typ()
            .with_message("WebAssembly.Suspending: argument must be a function")
            .into());
    };
    let proto = prototype_from(&nt, |p| p.suspending.clone(), ctx)?;
    Ok(JsObject::from_proto_and_data(proto, SuspendingData { callable }).into())
}

/// The function a Suspending object wraps, if `v` is one.
pub(crate) fn suspending_of(v: &JsValue) -> Option<JsObject> {
    v.as_object().and_then(|o| o.downcast_ref::<SuspendingData>().map(|d| d.callable.clone()))
}

type FiberCell = Rc<RefCell<Option<Fiber>>>;
type Outcome = Rc<RefCell<Option<Result<JsValue, JsValue>>>>;

thread_local! {
    /// The fibers being resumed, innermost last: a Suspending import finds its own here,
    /// with how many conversions of several values were open when it was resumed
    /// (`ConvertingSeveral`): one opened since runs JS on the fiber, below the import.
    static RUNNING: RefCell<Vec<(FiberCell, u32)>> = const { RefCell::new(Vec::new()) };
    /// `end_suspended_calls` is resuming fibers: their imports trap instead of going on.
    static ENDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The key of a fiber in `WasmAgent::suspended_calls`.
fn fiber_key(fiber: &FiberCell) -> usize {
    Rc::as_ptr(fiber) as usize
}

/// Resumes every fiber waiting in a Suspending import with the import trapping, so
/// that each unwinds (letting go of the JS objects on its stack) and its promise is
/// rejected; returns how many. Resumed fibers run no JS: the trap leaves the wasm at
/// once. A fiber running now (this was called from its wasm, through JS) is not
/// waiting: it stays listed, for a later call to end once it waits again.
pub(crate) fn end_suspended_calls(ctx: &mut Context) -> usize {
    let listed: Vec<(usize, FiberCell)> = crate::realm::with_agent(ctx, |a| {
        a.suspended_calls.retain(|_, fiber| fiber.strong_count() > 0);
        a.suspended_calls.iter().filter_map(|(&key, fiber)| Some((key, fiber.upgrade()?))).collect()
    })
    .unwrap_or_default();
    let mut ended = 0;
    for (key, fiber) in listed {
        let waiting = match fiber.try_borrow() {
            Ok(state) => state.is_some(),
            // Being resumed: it is running, somewhere below this call.
            Err(_) => continue,
        };
        if !waiting {
            let _ = crate::realm::with_agent(ctx, |a| a.suspended_calls.remove(&key));
            continue;
        }
        ENDING.with(|e| e.set(true));
        resume(&fiber, ctx);
        ENDING.with(|e| e.set(false));
        ended += 1;
    }
    ended
}

/// Runs `fiber` until it suspends or finishes, with `ctx` as the context of its host
/// calls; a finished fiber is dropped (its stack freed).
fn resume(fiber: &FiberCell, ctx: &mut Context) {
    let finished = {
        let _scope = ContextScope::enter(ctx);
        RUNNING.with(|r| r.borrow_mut().push((fiber.clone(), open_conversions())));
        let finished = fiber.borrow_mut().as_mut().is_none_or(Fiber::resume);
        RUNNING.with(|r| r.borrow_mut().pop());
        finished
    };
    if finished {
        fiber.borrow_mut().take();
        let key = fiber_key(fiber);
        let _ = crate::realm::with_agent(ctx, |a| a.suspended_calls.remove(&key));
    }
    // JS runs next: what the wasm on the fiber did to exported globals before it
    // suspended shows in their ES module bindings, as after any call into wasm.
    refresh_live_bindings(ctx);
}

#[derive(Trace, Finalize)]
struct PromisingCaptures {
    target: JsObject,
}

/// `WebAssembly.promising(wasmFunc)`.
pub(crate) fn promising(_this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let not_export = || {
        JsNativeError::typ()
            .with_message("WebAssembly.promising: argument must be a WebAssembly exported function")
    };
    let target = args.first().and_then(JsValue::as_callable).ok_or_else(not_export)?;
    // A JS function imported by wasm also maps to an engine function: only wasm
    // functions may be promising (suspending must leave no JS frame on the fiber).
    let func = func_of_object(&target, ctx).filter(|f| f.wasm_index().is_some()).ok_or_else(not_export)?;
    let wrapper = FunctionObjectBuilder::new(
        ctx.realm(),
        NativeFunction::from_copy_closure_with_captures(call_promising, PromisingCaptures { target }),
    )
    .name(js_string!(""))
    .length(func.signature().params().len())
    .build();
    Ok(JsObject::from(wrapper).into())
}

fn call_promising(
    _this: &JsValue,
    args: &[JsValue],
    caps: &PromisingCaptures,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    let (promise, resolvers) = JsPromise::new_pending(ctx);
    let target = caps.target.clone();
    let args = args.to_vec();
    let body = move || {
        with_current_context(|ctx| {
            let undefined = JsValue::undefined();
            let settled = match target.call(&undefined, &args, ctx) {
                Ok(v) => resolvers.resolve.call(&undefined, &[v], ctx),
                Err(e) => {
                    // Boa's runtime limits cannot be caught; the promise still settles.
                    let reason = e.into_opaque(ctx).unwrap_or_else(|e| {
                        JsNativeError::range().with_message(e.to_string()).into_opaque(ctx).into()
                    });
                    resolvers.reject.call(&undefined, &[reason], ctx)
                }
            };
            drop(settled);
        });
    };
    let fiber = Fiber::new(&store(ctx)?, body).map_err(|e| engine_error(e, ctx))?;
    resume(&Rc::new(RefCell::new(Some(fiber))), ctx);
    Ok(promise.into())
}

#[derive(Trace, Finalize)]
struct Settle {
    #[unsafe_ignore_trace]
    fiber: FiberCell,
    #[unsafe_ignore_trace]
    outcome: Outcome,
    fulfilled: bool,
}

/// A reaction to the promise a Suspending import waits for: records how it settled
/// and resumes the fiber.
fn settle(_this: &JsValue, args: &[JsValue], caps: &Settle, ctx: &mut Context) -> JsResult<JsValue> {
    let v = args.first().cloned().unwrap_or_default();
    *caps.outcome.borrow_mut() = Some(if caps.fulfilled { Ok(v) } else { Err(v) });
    resume(&caps.fiber, ctx);
    Ok(JsValue::undefined())
}

/// The host function for an import given a Suspending object.
pub(crate) fn suspending_import(callable: &JsObject, ty: FuncType, ctx: &mut Context) -> JsResult<Func> {
    let store = store(ctx)?;
    // The closure is the store's: what it keeps must not keep the store
    // (`start_suspending_call` finds it through the context) or the callable's realm
    // (see `HeldForStore`).
    let target = HeldForStore::new(callable, ctx)?;
    let result_types = ty.results().to_vec();
    let unusable = js_unusable_type(&ty);
    Ok(Func::new(&store, ty, move |params: &[Val], results: &mut [Val]| {
        let outside = || Trap::host_message("a JavaScript import was called outside of a JavaScript call");
        let outcome = with_current_context(|ctx| {
            // As for any JS import: a v128 or exnref signature throws before the call.
            reject_js_unusable(unusable).map_err(|e| thrown_to_wasm(e, ctx))?;
            target.with(|target| start_suspending_call(target, params, ctx)).ok_or_else(outside)?
        })
        .ok_or_else(outside)??;
        Fiber::suspend().map_err(|_| Trap::host_message("no fiber to suspend"))?;
        if ENDING.with(std::cell::Cell::get) {
            return Err(Trap::host_message("the call was ended while it waited for a promise"));
        }
        let settled = outcome.borrow_mut().take();
        with_current_context(|ctx| match settled {
            Some(Ok(v)) => {
                results_from_js(&v, &result_types, results, ctx).map_err(|e| thrown_to_wasm(e, ctx))
            }
            Some(Err(reason)) => Err(thrown_to_wasm(JsError::from_opaque(reason), ctx)),
            None => Err(Trap::host_message("a suspended import resumed without a result")),
        })
        .ok_or_else(outside)?
    }))
}

/// `awaitThen(value, onFulfilled, onRejected)`: PromiseResolve(%Promise%, value) and then
/// PerformPromiseThen on the result with the two reactions, as JSPI (and `await`) do.
/// Boa keeps `PerformPromiseThen` to itself, and `JsPromise::then` looks up the
/// promise's species (a second read of `constructor`, which user code can make throw);
/// its `await` does exactly the two steps. An abrupt PromiseResolve throws from the call.
const AWAIT_THEN: &str = "(value, onFulfilled, onRejected) => {
  let calling = true, threw = false, error;
  (async () => {
    let result;
    try {
      result = await value;
    } catch (e) {
      if (calling) { threw = true; error = e; } else { onRejected(e); }
      return;
    }
    onFulfilled(result);
  })();
  calling = false;
  if (threw) throw error;
}";

/// This realm's `AWAIT_THEN` function, made on first use.
fn await_helper(ctx: &mut Context) -> JsResult<JsObject> {
    if let Some(helper) = with_realm(ctx, |r| r.await_then.clone())? {
        return Ok(helper);
    }
    let helper = ctx
        .eval(Source::from_bytes(AWAIT_THEN))?
        .as_object()
        .ok_or_else(|| JsNativeError::typ().with_message("the await helper is not a function"))?;
    with_realm(ctx, |r| r.await_then = Some(helper.clone()))?;
    Ok(helper)
}

/// Calls the JS function and arranges for the fiber to be resumed when its result
/// settles. Errors (as wasm exceptions) when suspending is not allowed here.
fn start_suspending_call(target: &JsObject, params: &[Val], ctx: &mut Context) -> Result<Outcome, Trap> {
    let store = store(ctx).map_err(|e| thrown_to_wasm(e, ctx))?;
    // Nothing but wasm frames since the fiber started: no host function below this one
    // (`can_suspend`), and no conversion of a call's arguments that ran JS (a
    // `valueOf`) which called the wasm that called this import.
    let running = RUNNING.with(|r| r.borrow().last().cloned());
    let fiber = running.filter(|&(_, open)| open == open_conversions()).map(|(fiber, _)| fiber);
    let Some(fiber) = fiber.filter(|_| Fiber::can_suspend(&store)) else {
        let e = new_error(
            ErrorKind::Suspend,
            "trying to suspend without WebAssembly.promising, or with JavaScript frames in between",
            ctx,
        );
        return Err(thrown_to_wasm(e, ctx));
    };
    let started = (|| -> JsResult<Outcome> {
        let ret = call_js(target, params.len(), |i, ctx| to_js(&params[i], ctx), ctx)?;
        let outcome: Outcome = Rc::new(RefCell::new(None));
        let reaction = |fulfilled: bool, ctx: &mut Context| {
            let caps = Settle { fiber: fiber.clone(), outcome: outcome.clone(), fulfilled };
            FunctionObjectBuilder::new(
                ctx.realm(),
                NativeFunction::from_copy_closure_with_captures(settle, caps),
            )
            .length(1)
            .build()
        };
        let (on_fulfilled, on_rejected) = (reaction(true, ctx), reaction(false, ctx));
        let args = [ret, on_fulfilled.into(), on_rejected.into()];
        await_helper(ctx)?.call(&JsValue::undefined(), &args, ctx)?;
        // Waiting from here: `end_suspended_calls` can find it.
        let key = fiber_key(&fiber);
        crate::realm::with_agent(ctx, |a| a.suspended_calls.insert(key, Rc::downgrade(&fiber)))?;
        Ok(outcome)
    })();
    started.map_err(|e| thrown_to_wasm(e, ctx))
}

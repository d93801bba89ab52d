//! The state of the WebAssembly namespace: the agent's (the context's) engine store and
//! the side tables that give wasm objects stable JS identities, and each realm's interface objects.

use crate::conversions::ExternRefs;
use boa_engine::object::JsObject;
use boa_engine::{Context, JsData, JsNativeError, JsResult};
use boa_gc::{Finalize, Trace};
use sidewinder_engine::{Engine, Fiber, Func, Store, Tag};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};

/// The interface objects' prototypes, for brand-correct object creation.
#[derive(Trace, Finalize, Clone)]
pub(crate) struct Prototypes {
    pub module: JsObject,
    pub instance: JsObject,
    pub memory: JsObject,
    pub table: JsObject,
    pub global: JsObject,
    pub tag: JsObject,
    pub exception: JsObject,
    pub function: JsObject,
    pub compile_error: JsObject,
    pub link_error: JsObject,
    pub runtime_error: JsObject,
    pub suspend_error: JsObject,
    pub suspending: JsObject,
}

/// What the JS API gives each agent: one store, and one cache per kind of wasm object
/// (JS API 2.1 "Each agent has an associated store", 2.2 "WebAssembly JS Object
/// Caches"). A Boa `Context` is one agent, so every realm of a context shares this: a
/// memory, table, global or function of one realm imports into another realm's
/// instances, and a wasm object has one JS object whichever realm asks. It lives in the
/// context's host-defined data, where the JS values it holds are roots (as they were
/// when a realm held them: the realm lives as long as the context).
pub(crate) struct WasmAgent {
    pub engine: Engine,
    pub store: Store,
    /// The JS values wasm holds as host values (`Val::ExternRef(Some(handle))`), by
    /// handle (`conversions::extern_handle`). Exported functions that take or return
    /// them hold it weakly, to reach it without looking the agent up.
    pub extern_refs: Rc<RefCell<ExternRefs>>,
    /// The JS object for each function (keyed by `Func::id`): exported wasm functions
    /// and the JS callables that host functions wrap.
    pub function_objects: HashMap<usize, JsObject>,
    /// The reverse: which engine function a JS function object stands for.
    pub functions_by_object: HashMap<JsObject, usize>,
    pub funcs: HashMap<usize, Func>,
    /// The "index of the host function" of each host function that reading an import
    /// object made (keyed by `Func::id`): its name if it is exported.
    pub host_function_indices: HashMap<usize, u32>,
    /// JS wrappers of memories, tables and globals, keyed by engine identity (distinct
    /// allocations the store never frees), so the same object always yields the same
    /// wrapper.
    pub wrappers: HashMap<usize, JsObject>,
    /// Exported GC objects, held weakly both ways (`gc_object`).
    pub gc_wrappers: crate::gc_object::GcWrappers,
    /// Exception objects by `Exception::id`, held weakly (`exception::ExceptionHolder`).
    pub exception_objects: WeakTable<crate::exception::ExceptionHolder>,
    /// Who holds each memory's bytes, keyed by the memory's identity (shared with the
    /// store's memory creator).
    pub memory_buffers: crate::memory::BufferRegistry,
    /// The JavaScript exception tag (`WebAssembly.JSTag`), one per agent.
    pub js_tag: Tag,
    /// Wasm modules imported as ES modules: the module loader serves the whole context,
    /// and the globals whose bindings it refreshes are the agent's.
    pub esm: crate::esm::EsmState,
    /// The JS objects that closures the store owns call (`HeldForStore`), let go of
    /// when the agent goes.
    pub held_for_store: Vec<Weak<RefCell<Option<JsObject>>>>,
    /// The fibers of JSPI calls waiting for a promise, by address
    /// (`jspi::end_suspended_calls`).
    pub suspended_calls: HashMap<usize, Weak<RefCell<Option<Fiber>>>>,
}

/// Ends the cycles that run through the store, which Boa's collector cannot see. JS
/// objects (wrappers of instances, memories, functions) hold the store; the store holds
/// JS objects outside Boa's heap, as roots: the callables of JS imports and
/// `WebAssembly.Function`s, and each memory's current ArrayBuffer. Those reach their
/// realm, and through it the wrappers, so nothing would be freed (a context with one
/// instance importing a JS function kept about 430 KB after it was dropped). With the
/// roots gone, Boa collects the wrappers and they let go of the store.
impl Drop for WasmAgent {
    fn drop(&mut self) {
        for held in self.held_for_store.drain(..) {
            // A cell in use belongs to a call running now (an embedder dropped the
            // context from inside a JS import): it keeps its object.
            if let Some(mut object) = held.upgrade().as_ref().and_then(|cell| cell.try_borrow_mut().ok()) {
                object.take();
            }
        }
        crate::memory::let_go_of_buffers(&self.memory_buffers);
    }
}

/// A JS object that a closure the store owns calls (a JS import's callable), held so
/// that the agent can let go of it when the context goes (see `WasmAgent`'s drop).
pub(crate) struct HeldForStore(Rc<RefCell<Option<JsObject>>>);

impl HeldForStore {
    pub(crate) fn new(object: &JsObject, ctx: &mut Context) -> JsResult<HeldForStore> {
        let cell = Rc::new(RefCell::new(Some(object.clone())));
        with_agent(ctx, |a| a.held_for_store.push(Rc::downgrade(&cell)))?;
        Ok(HeldForStore(cell))
    }

    /// The object, unless the agent has gone (no JS can run then).
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&JsObject) -> R) -> Option<R> {
        self.0.borrow().as_ref().map(f)
    }

    /// `with` in the context of the wasm call in progress: `None` outside one, or once
    /// the agent has gone.
    #[inline(always)]
    pub(crate) fn with_current_context<R>(&self, f: impl FnOnce(&JsObject, &mut Context) -> R) -> Option<R> {
        with_current_context(|ctx| self.with(|object| f(object, ctx))).flatten()
    }
}

/// What each realm has of its own: the interface objects (wrappers are made with the
/// prototypes of the realm that makes them) and JSPI's helper.
#[derive(Trace, Finalize, JsData)]
pub(crate) struct WasmRealm {
    pub prototypes: Option<Prototypes>,
    /// JSPI's way to wait for a promise (`jspi::AWAIT_THEN`), made on first use.
    pub await_then: Option<JsObject>,
    /// Boa's own `get Error.prototype.stack`, as it was at install: a trap's error shows
    /// the JS frames it gives below the wasm frames (`errors::show_wasm_frames`).
    pub error_stack_getter: Option<JsObject>,
}

pub(crate) fn with_realm<R>(ctx: &mut Context, f: impl FnOnce(&mut WasmRealm) -> R) -> JsResult<R> {
    let realm = ctx.realm().clone();
    let mut host = realm.host_defined_mut();
    match host.get_mut::<WasmRealm>() {
        Some(state) => Ok(f(state)),
        None => Err(JsNativeError::typ().with_message("WebAssembly is not installed in this realm").into()),
    }
}

pub(crate) fn with_agent<R>(ctx: &mut Context, f: impl FnOnce(&mut WasmAgent) -> R) -> JsResult<R> {
    match ctx.host_defined_mut().get_mut::<WasmAgent>() {
        Some(agent) => Ok(f(agent)),
        None => Err(JsNativeError::typ().with_message("WebAssembly is not installed in this context").into()),
    }
}

/// The wrapper already made for the engine object with identity `key`.
pub(crate) fn cached_wrapper(ctx: &mut Context, key: usize) -> JsResult<Option<JsObject>> {
    with_agent(ctx, |r| r.wrappers.get(&key).cloned())
}

pub(crate) fn remember_wrapper(ctx: &mut Context, key: usize, object: &JsObject) -> JsResult<()> {
    with_agent(ctx, |r| {
        r.wrappers.insert(key, object.clone());
    })
}

pub(crate) fn prototypes(ctx: &mut Context) -> JsResult<Prototypes> {
    with_realm(ctx, |r| r.prototypes.clone())?
        .ok_or_else(|| JsNativeError::typ().with_message("WebAssembly is not initialized").into())
}

pub(crate) fn store(ctx: &mut Context) -> JsResult<Store> {
    with_agent(ctx, |r| r.store.clone())
}

pub(crate) fn engine(ctx: &mut Context) -> JsResult<Engine> {
    with_agent(ctx, |r| r.engine.clone())
}

thread_local! {
    /// The context of the innermost JS -> wasm call, for host functions wasm calls back.
    static CURRENT_CONTEXT: Cell<*mut Context> = const { Cell::new(std::ptr::null_mut()) };
}

/// Makes `ctx` reachable from host functions while wasm runs; restores the previous one.
pub(crate) struct ContextScope {
    previous: *mut Context,
}

impl ContextScope {
    #[inline(always)]
    pub fn enter(ctx: &mut Context) -> ContextScope {
        let previous = CURRENT_CONTEXT.with(|c| c.replace(ctx as *mut Context));
        ContextScope { previous }
    }
}

impl Drop for ContextScope {
    #[inline(always)]
    fn drop(&mut self) {
        CURRENT_CONTEXT.with(|c| c.set(self.previous));
    }
}

/// Runs `f` with the context of the wasm call in progress.
#[inline(always)]
pub(crate) fn with_current_context<R>(f: impl FnOnce(&mut Context) -> R) -> Option<R> {
    let ptr = CURRENT_CONTEXT.with(|c| c.get());
    if ptr.is_null() {
        return None;
    }
    // SAFETY: the pointer was set by a `ContextScope` whose `&mut Context` borrow is
    // suspended while wasm runs (the JS -> wasm call does not touch the context until the
    // call returns), so this is the only live access; the scope outlives the wasm call.
    Some(f(unsafe { &mut *ptr }))
}

/// Holders of JS objects by engine identity, held weakly: the realm finds an object again
/// while JS keeps it, and lets go of it once Boa collects it (exported GC objects,
/// exception objects). Dead entries go when the table has doubled since the last sweep.
#[derive(boa_gc::Trace, boa_gc::Finalize)]
pub(crate) struct WeakTable<T: boa_gc::Trace + 'static> {
    by_key: HashMap<usize, boa_gc::WeakGc<T>>,
    /// Entries after the last sweep of dead ones.
    #[unsafe_ignore_trace]
    swept_at: usize,
}

impl<T: boa_gc::Trace + 'static> Default for WeakTable<T> {
    fn default() -> Self {
        WeakTable { by_key: HashMap::new(), swept_at: 0 }
    }
}

impl<T: boa_gc::Trace + 'static> WeakTable<T> {
    /// The holder of `key`, if it is still alive.
    pub(crate) fn get(&self, key: usize) -> Option<boa_gc::Gc<T>> {
        self.by_key.get(&key)?.upgrade()
    }

    pub(crate) fn insert(&mut self, key: usize, holder: &boa_gc::Gc<T>) {
        self.by_key.insert(key, boa_gc::WeakGc::new(holder));
        if self.by_key.len() > 2 * self.swept_at.max(1024) {
            self.by_key.retain(|_, holder| holder.is_upgradable());
            self.swept_at = self.by_key.len();
        }
    }

    /// How many holders are alive (a test hook).
    pub(crate) fn alive(&self) -> usize {
        self.by_key.values().filter(|holder| holder.is_upgradable()).count()
    }
}

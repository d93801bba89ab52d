//! The store: the owner of all runtime objects that can link together.
//!
//! Compiled code refers to functions, tables, memories and globals by raw pointer, so
//! nothing a store created is freed before the store itself.

use super::address_hash::AddressMap;
use super::exception::ExceptionInner;
use super::func::keep_exceptions_in;
use super::gc::{foreign_object, foreign_object_error, GcHeap};
pub use super::gc_collector::LiveHostValues;
use super::vmcontext::VMRuntime;
use super::wasm_memory::Memory;
use crate::engine::Engine;
use crate::error::Result;
use crate::trap::Trap;
use crate::types::MemoryType;
use crate::values::Val;
use std::any::Any;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::collections::hash_map::Entry;
use std::rc::{Rc, Weak};

/// The fewest kept exceptions at which keeping one more first frees those nothing
/// names (`StoreInner::keep_exception`).
const LEAST_EXCEPTIONS_BEFORE_RECLAIMING: usize = 1024;

/// A reclamation marks the whole GC heap: it waits for at least one kept exception per
/// this many bytes the heap maps, so that its cost per exception stays bounded
/// whatever the heap's size. (Without this, a 32 MB heap made a loop of `catch_all_ref`
/// 21 times slower; with it, each exception kept meanwhile costs about a hundred bytes
/// per 128 of heap, the heap's own growth rule's order of memory.)
const HEAP_BYTES_PER_RECLAIMED_ITEM: u64 = 128;

/// How many items (exceptions, or an embedder's host values) to let accumulate before
/// the next pass that marks the heap, when `survivors` were left by the last one: twice
/// that, at least `least`, and at least one per `HEAP_BYTES_PER_RECLAIMED_ITEM` bytes of
/// a heap mapping `heap_bytes`.
pub fn next_reclamation_at(survivors: usize, least: usize, heap_bytes: u64) -> usize {
    let by_heap = usize::try_from(heap_bytes / HEAP_BYTES_PER_RECLAIMED_ITEM).unwrap_or(usize::MAX);
    (2 * survivors).max(least).max(by_heap)
}

pub(crate) struct StoreInner {
    pub engine: Engine,
    pub runtime: Box<UnsafeCell<VMRuntime>>,
    /// A host function's trap, waiting for the entry trampoline to return.
    pub pending_trap: RefCell<Option<Trap>>,
    /// Where the store's structs and arrays live.
    pub gc_heap: Rc<GcHeap>,
    objects: RefCell<Vec<Rc<dyn Any>>>,
    /// The exceptions the store keeps because its code or the embedder may name them
    /// (see `runtime::exception`), by exnref: one of another store's is kept once.
    pub(crate) exceptions: RefCell<AddressMap<u64, Rc<ExceptionInner>>>,
    /// How many kept exceptions make keeping another free those that nothing names
    /// first (`next_reclamation_at`), so that the scans cost a bounded amount per
    /// exception.
    reclaim_exceptions_at: Cell<usize>,
    memory_creator: RefCell<Option<Rc<MemoryCreator>>>,
}

/// Creates the memories modules define, when the embedder wants to own their bytes.
pub type MemoryCreator = dyn Fn(&Store, &MemoryType) -> Result<Memory>;

/// Admits `values` into the store `store` names (call results, tables, globals, GC
/// fields): a function, struct or array of another store is refused (see
/// `runtime::gc::foreign_object`), and an
/// exception of another store is kept by this one, whose code may hold its exnref.
pub(crate) fn admit(store: &Weak<StoreInner>, values: &[Val]) -> Result<()> {
    if foreign_object(store.as_ptr(), values) {
        return Err(foreign_object_error());
    }
    if let Some(store) = store.upgrade() {
        keep_exceptions_in(&store, values);
    }
    Ok(())
}

thread_local! {
    /// Stores alive on this thread (`Store::alive_on_this_thread`).
    static STORES_ALIVE: Cell<usize> = const { Cell::new(0) };
}

impl Drop for StoreInner {
    fn drop(&mut self) {
        let _ = STORES_ALIVE.try_with(|n| n.set(n.get().saturating_sub(1)));
        // Exceptions an embedder still holds outlive the store, but what their payloads
        // point at does not.
        let this: *const StoreInner = self;
        for exception in self.exceptions.get_mut().values() {
            exception.kept_by.set(exception.kept_by.get() - 1);
            if Rc::strong_count(exception) > 1 {
                exception.orphan_if_home(this);
            }
        }
    }
}

impl StoreInner {
    pub fn runtime(&self) -> *mut VMRuntime {
        self.runtime.get()
    }

    pub fn keep_alive(&self, object: Rc<dyn Any>) {
        self.objects.borrow_mut().push(object);
    }

    /// Keeps `exception` as long as the store lives or, once no handle counts it, until
    /// a collection finds no word that names it (`GcHeap::collect`, which frees such
    /// exceptions). Keeping one more than `reclaim_exceptions_at` runs a marking pass
    /// for that first (`GcHeap::reclaim_exceptions`), which frees no object: code that
    /// throws and catches by reference in a loop stays bounded. (In the collector's
    /// test mode, `Config::gc_collect_after` 0, every time.)
    pub fn keep_exception(&self, exception: Rc<ExceptionInner>) {
        let raw = Rc::as_ptr(&exception) as u64;
        // Only a collection borrows the map for longer than this, and it keeps none.
        let stress = self.gc_heap.collect_after == 0;
        if stress || self.exceptions.borrow().len() >= self.reclaim_exceptions_at.get() {
            self.gc_heap.reclaim_exceptions();
            let survivors = self.exceptions.borrow().len();
            self.reclaim_exceptions_at.set(next_reclamation_at(
                survivors,
                LEAST_EXCEPTIONS_BEFORE_RECLAIMING,
                self.gc_heap.mapped.get(),
            ));
        }
        if let Entry::Vacant(slot) = self.exceptions.borrow_mut().entry(raw) {
            exception.kept_by.set(exception.kept_by.get() + 1);
            slot.insert(exception);
        }
    }

    /// Calls `f` with each object the store keeps; false (having called it for none)
    /// if the list is being changed.
    pub fn for_each_kept(&self, mut f: impl FnMut(&dyn Any)) -> bool {
        let Ok(objects) = self.objects.try_borrow() else { return false };
        for object in objects.iter() {
            f(&**object);
        }
        true
    }
}

#[derive(Clone)]
pub struct Store(pub(crate) Rc<StoreInner>);

/// `Store::gc_stats`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GcStats {
    pub collections: u64,
    /// Bytes of chunks the heap maps (what `Config::gc_heap_limit` bounds).
    pub mapped_bytes: u64,
    /// Marking passes run only to free the exceptions nothing names (when the store
    /// keeps many; collections free them too).
    pub exception_reclamations: u64,
}

impl Store {
    /// How many stores of this thread are alive: a test hook for embedders that must not
    /// keep a store after they are done with it (such as a JS context's).
    #[doc(hidden)]
    pub fn alive_on_this_thread() -> usize {
        STORES_ALIVE.with(Cell::get)
    }

    pub fn new(engine: &Engine) -> Store {
        STORES_ALIVE.with(|n| n.set(n.get() + 1));
        // Cyclic: the GC heap writes the store's address into its chunks.
        Store(Rc::new_cyclic(|this| StoreInner {
            engine: engine.clone(),
            runtime: Box::new(UnsafeCell::new(VMRuntime {
                max_wasm_stack: engine.config().max_wasm_stack as u64,
                ..VMRuntime::default()
            })),
            pending_trap: RefCell::new(None),
            gc_heap: GcHeap::new(
                engine.config().gc_heap_limit,
                engine.config().gc_collect_after,
                this.as_ptr(),
            ),
            objects: RefCell::new(Vec::new()),
            exceptions: RefCell::new(AddressMap::default()),
            reclaim_exceptions_at: Cell::new(LEAST_EXCEPTIONS_BEFORE_RECLAIMING),
            memory_creator: RefCell::new(None),
        }))
    }

    pub fn engine(&self) -> &Engine {
        &self.0.engine
    }

    /// Collects the store's GC heap now, freeing the structs and arrays that no handle,
    /// global, table, exception, element segment or running wasm code reaches (on the
    /// thread's stack and every fiber's), and the exceptions that none of these names.
    /// Returns false when it cannot run: on a stack that is neither the thread's nor a
    /// fiber's, or when a root cannot be read.
    /// Allocations collect by themselves (`Config::gc_collect_after`).
    pub fn gc(&self) -> bool {
        self.0.gc_heap.collect()
    }

    /// Collects (`gc`) and gives every host value (the number of a `Val::ExternRef`) the
    /// store's wasm state may still hold: in its tables, globals, GC objects, element
    /// segments and exception payloads, and in any word of the thread's machine stacks
    /// (suspended fibers' included) and registers that looks like one. An embedder
    /// that numbers its host values can reuse the others, unless it holds some itself
    /// outside the store. Only the numbers below `below` are looked for: the answer
    /// says that every number from `below` up may be held. `None` if the collection
    /// could not run: assume all alive.
    pub fn live_host_values(&self, below: u64) -> Option<LiveHostValues> {
        self.0.gc_heap.collect_noting_host_values(below)
    }

    /// Calls `hook` when an allocation finds the GC heap full even after a collection,
    /// before it traps: an embedder whose own objects hold GC handles can let go of the
    /// ones it no longer needs (run its own collector); the heap then collects again.
    /// The hook must not call into wasm. The JS bindings run Boa's collector here, which
    /// frees the wrappers of objects JS dropped.
    pub fn set_gc_pressure_hook(&self, hook: impl Fn() + 'static) {
        *self.0.gc_heap.pressure_hook.borrow_mut() = Some(Rc::new(hook));
    }

    /// How many collections the store's GC heap has had, and how many bytes it maps.
    pub fn gc_stats(&self) -> GcStats {
        let heap = &self.0.gc_heap;
        GcStats {
            collections: heap.collections.get(),
            mapped_bytes: heap.mapped.get(),
            exception_reclamations: heap.exception_reclamations.get(),
        }
    }

    /// Memories that instances of this store define are created by `creator` instead of
    /// being reserved by the engine (the JS API uses this so that Boa owns the bytes).
    pub fn set_memory_creator(&self, creator: impl Fn(&Store, &MemoryType) -> Result<Memory> + 'static) {
        *self.0.memory_creator.borrow_mut() = Some(Rc::new(creator));
    }

    pub(crate) fn create_memory(&self, ty: &MemoryType) -> Result<Memory> {
        let creator = self.0.memory_creator.borrow().clone();
        match creator {
            Some(create) => create(self, ty),
            None => Memory::new(self, ty.clone()),
        }
    }

    /// Whether two handles name the same store.
    pub fn ptr_eq(a: &Store, b: &Store) -> bool {
        Rc::ptr_eq(&a.0, &b.0)
    }

    pub(crate) fn weak(&self) -> Weak<StoreInner> {
        Rc::downgrade(&self.0)
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

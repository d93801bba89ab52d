//! Exception handling objects: tags, the identities exceptions are thrown and caught by,
//! and exceptions, a tag with its payload (the value of an `exnref`).
//!
//! An `exnref` is a raw pointer in a register, a local, a table, a global, a GC field
//! or another exception's payload, which nothing counts. An exception made by `throw`
//! starts *in flight*, owned by the throw alone, and stays so until something could
//! keep it: a plain `catch`/`catch_all` ends the throw, and with it the exception (the
//! usual C++ pattern). A handler that passes the exnref on (`catch_ref`,
//! `catch_all_ref`, a legacy `catch` whose body rethrows), leaving wasm for the
//! embedder, and a JS wrapper *expose* it: the store keeps it from then on
//! (`StoreInner::keep_exception`).
//!
//! A store lets a kept exception go when no `Exception` handle counts it (only stores
//! keep it: `ExceptionInner::uncounted`) and the GC collector, which runs over every place
//! an exnref can be, finds no word naming it (`gc_collector`). So the rule that keeps
//! this sound: an exnref that no handle counts is only ever in those places (the
//! thread's stacks and registers, the store's tables, globals and GC objects, the
//! payloads of live exceptions, `VMRuntime::exception`) whenever a collection can run,
//! never only in a Rust buffer on the heap.

use super::address_hash::AddressMap;
use super::store::{Store, StoreInner};
use crate::error::{Error, Result};
use crate::types::FuncType;
use crate::values::{read_area, write_area, Val};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

thread_local! {
    /// Exceptions alive on this thread, for tests of the freeing rule above.
    static LIVE_EXCEPTIONS: Cell<usize> = const { Cell::new(0) };
    /// The payloads of this thread's live exceptions that hold something (start and
    /// length), thrown or not: the GC collector's roots, as payloads may hold
    /// references to objects.
    static LIVE_PAYLOADS: RefCell<AddressMap<usize, usize>> = RefCell::new(AddressMap::default());
}

/// Calls `f` with the payload of each live exception of this thread.
pub(crate) fn for_each_live_payload(mut f: impl FnMut(&[u64])) {
    LIVE_PAYLOADS.with(|payloads| {
        for (&start, &len) in payloads.borrow().iter() {
            // SAFETY: the payload of a live exception (its `Box` is removed from the
            // map before it is freed), which nothing changes after creation.
            f(unsafe { std::slice::from_raw_parts(start as *const u64, len) });
        }
    });
}

/// How many exceptions are alive on this thread (a test hook).
#[doc(hidden)]
pub fn live_exceptions() -> usize {
    LIVE_EXCEPTIONS.with(Cell::get)
}

pub(crate) struct TagInner {
    pub ty: FuncType,
}

/// An exception tag. Each tag a module defines is a new one per instance; importing a
/// tag shares it, so `catch` of an imported tag catches what the exporter throws.
#[derive(Clone)]
pub struct Tag(pub(crate) Rc<TagInner>);

impl std::fmt::Debug for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tag({})", self.0.ty)
    }
}

impl Tag {
    /// A new tag whose exceptions carry values of `ty`'s parameter types. `ty` must have
    /// no results.
    pub fn new(store: &Store, ty: FuncType) -> Result<Tag> {
        if !ty.results().is_empty() {
            return Err(Error::Link(format!("a tag's type has no results: {ty}")));
        }
        let tag = Tag(Rc::new(TagInner { ty }));
        store.0.keep_alive(tag.0.clone());
        Ok(tag)
    }

    pub fn ty(&self) -> FuncType {
        self.0.ty.clone()
    }

    /// Identity: do both handles name the same tag?
    pub fn ptr_eq(a: &Tag, b: &Tag) -> bool {
        Rc::ptr_eq(&a.0, &b.0)
    }

    /// A stable identity for side tables.
    pub fn id(&self) -> usize {
        self.raw() as usize
    }

    /// What compiled code compares when it looks for a handler.
    pub(crate) fn raw(&self) -> *const TagInner {
        Rc::as_ptr(&self.0)
    }
}

pub(crate) struct ExceptionInner {
    pub tag: Tag,
    /// The payload as raw 64-bit slots (the representation of `Val::to_raw`).
    pub payload: Box<[u64]>,
    /// The store that owns it once exposed (see the module comment); null while the
    /// throw in progress holds its one strong reference.
    home: Cell<*const StoreInner>,
    /// How many stores keep it (`StoreInner::exceptions`), each with one strong
    /// reference: the others are handles. Never more than the stores that do, or a
    /// handle's exception would look uncounted.
    pub(crate) kept_by: Cell<usize>,
}

impl ExceptionInner {
    fn new(tag: Tag, payload: Box<[u64]>, home: *const StoreInner) -> ExceptionInner {
        LIVE_EXCEPTIONS.with(|n| n.set(n.get() + 1));
        if !payload.is_empty() {
            LIVE_PAYLOADS.with(|p| p.borrow_mut().insert(payload.as_ptr() as usize, payload.len()));
        }
        ExceptionInner { tag, payload, home: Cell::new(home), kept_by: Cell::new(0) }
    }

    /// Whether no handle counts `exception`: only the stores that keep it do. A
    /// collection of one of them may then let it go if nothing there names it.
    pub(crate) fn uncounted(exception: &Rc<ExceptionInner>) -> bool {
        Rc::strong_count(exception) == exception.kept_by.get()
    }

    fn exposed(&self) -> bool {
        !self.home.get().is_null()
    }

    /// `store` is being dropped while an embedder's handle keeps this exception: if it
    /// is the exception's home, the references in the payload point at its functions
    /// and objects, which go with it. From then on no store is the exception's home (so
    /// none admits its references) and `payload` gives them as null.
    pub(crate) fn orphan_if_home(&self, store: *const StoreInner) {
        if std::ptr::eq(self.home.get(), store) {
            self.home.set(ORPHANED);
        }
    }
}

/// The home of an exception whose store is gone: an address no store can have.
const ORPHANED: *const StoreInner = std::ptr::NonNull::<StoreInner>::dangling().as_ptr();

/// Makes `store` keep `exception` too, if another store owns it: an exception handle
/// may come from any store, and the code of `store` can hold its exnref as long as
/// `store` lives.
pub(crate) fn keep_in(store: &StoreInner, exception: &Exception) {
    if !std::ptr::eq(exception.0.home.get(), store) {
        store.keep_exception(exception.0.clone());
    }
}

impl Drop for ExceptionInner {
    fn drop(&mut self) {
        LIVE_EXCEPTIONS.with(|n| n.set(n.get().saturating_sub(1)));
        if !self.payload.is_empty() {
            // During thread teardown the map may be gone already: nothing to forget.
            let _ = LIVE_PAYLOADS.try_with(|p| p.borrow_mut().remove(&(self.payload.as_ptr() as usize)));
        }
    }
}

/// A new in-flight exception (for `throw`): returns its exnref, which owns the only
/// strong reference until `expose` or `end_throw`.
pub(crate) fn new_in_flight(tag: Tag, payload: Box<[u64]>) -> u64 {
    Rc::into_raw(Rc::new(ExceptionInner::new(tag, payload, std::ptr::null()))) as u64
}

/// Hands an in-flight exception to the store, which keeps it from now on (nothing for
/// an exposed one).
///
/// # Safety
/// `raw` is 0 or the exnref of a live exception of `store`.
pub(crate) unsafe fn expose(raw: u64, store: &StoreInner) {
    if raw == 0 {
        return;
    }
    let p = raw as *const ExceptionInner;
    // SAFETY: live, per the contract.
    let inner = unsafe { &*p };
    if !inner.exposed() {
        inner.home.set(store);
        // SAFETY: an unexposed exception's exnref owns one strong reference (it came
        // from `Rc::into_raw` in `new_in_flight`); the store takes that reference over.
        store.keep_exception(unsafe { Rc::from_raw(p) });
    }
}

/// A plain catch ended the throw: an exception that was never exposed is freed.
///
/// # Safety
/// `raw` is the exnref of a live exception whose payload the caller no longer reads,
/// and no copy of a raw exnref of an unexposed exception is kept anywhere.
pub(crate) unsafe fn end_throw(raw: u64) {
    let p = raw as *const ExceptionInner;
    // SAFETY: live, per the contract.
    if raw != 0 && !unsafe { &*p }.exposed() {
        // SAFETY: as in `expose`, the exnref owns the one strong reference.
        drop(unsafe { Rc::from_raw(p) });
    }
}

/// A thrown (or to be thrown) exception: a tag and values of its parameter types. The
/// same exception caught and rethrown stays the same object.
#[derive(Clone)]
pub struct Exception(pub(crate) Rc<ExceptionInner>);

impl std::fmt::Debug for Exception {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Exception({:?}, {:?})", self.0.tag, self.payload())
    }
}

impl Exception {
    /// An exception of `tag` carrying `payload`, which must match the tag's parameters.
    pub fn new(store: &Store, tag: &Tag, payload: &[Val]) -> Result<Exception> {
        let params = tag.0.ty.params();
        if payload.len() != params.len() || payload.iter().zip(params).any(|(v, t)| !v.matches(*t)) {
            return Err(Error::Link(format!("exception payload does not match the tag's type {}", tag.0.ty)));
        }
        if super::gc::foreign_object(Rc::as_ptr(&store.0), payload) {
            return Err(super::gc::foreign_object_error());
        }
        // An exception in the payload may be another store's, whose collections do not
        // see where this store's wasm will put it once a handler unpacks it: this store
        // keeps it too, as for every other way in (`store::admit`).
        super::func::keep_exceptions_in(&store.0, payload);
        // Laid out as machine code writes it: `slot_width` 8-byte words per value.
        let width = tag.0.ty.slot_width();
        let mut raw = vec![0u64; payload.len() * width].into_boxed_slice();
        write_area(payload, width, &mut raw);
        Ok(Exception::from_parts(&store.0, tag.clone(), raw))
    }

    /// Whether this exception is another store's than `store` (or not yet any store's)
    /// and carries a reference: a function, object or exception of that store, which
    /// `store`'s code would reach through a handler (`foreign_object`). Looks at one
    /// level only: any reference at all counts, so nested exceptions need no walk.
    pub(crate) fn carries_references_from_elsewhere(&self, store: *const StoreInner) -> bool {
        if std::ptr::eq(self.0.home.get(), store) {
            return false;
        }
        let ty = &self.0.tag.0.ty;
        let width = ty.slot_width();
        ty.params().iter().enumerate().any(|(i, t)| t.is_ref() && self.0.payload[i * width] != 0)
    }

    pub(crate) fn from_parts(store: &Rc<StoreInner>, tag: Tag, payload: Box<[u64]>) -> Exception {
        let inner = Rc::new(ExceptionInner::new(tag, payload, Rc::as_ptr(store)));
        store.keep_exception(inner.clone());
        Exception(inner)
    }

    pub fn tag(&self) -> Tag {
        self.0.tag.clone()
    }

    /// The payload values, in the order of the tag's parameters. References are null
    /// once the exception's store is gone (`ExceptionInner::orphan_if_home`).
    pub fn payload(&self) -> Vec<Val> {
        let params = self.0.tag.0.ty.params();
        if std::ptr::eq(self.0.home.get(), ORPHANED) {
            let width = self.0.tag.0.ty.slot_width();
            let numbers: Box<[u64]> = params
                .iter()
                .enumerate()
                .flat_map(|(i, t)| {
                    let slots = &self.0.payload[i * width..(i + 1) * width];
                    slots.iter().map(move |&s| if t.is_ref() { 0 } else { s })
                })
                .collect();
            // SAFETY: as below, with every reference null.
            return unsafe { read_area(params, width, &numbers) }.collect();
        }
        // SAFETY: the slots were written from values of these types (by `new` or by
        // validated wasm code). References in them point at functions the store never
        // frees, and at objects and exceptions its collections do not free while this
        // handle counts the exception: its payload is then one of their roots.
        let width = self.0.tag.0.ty.slot_width();
        unsafe { read_area(params, width, &self.0.payload) }.collect()
    }

    /// Identity: do both handles name the same exception?
    pub fn ptr_eq(a: &Exception, b: &Exception) -> bool {
        Rc::ptr_eq(&a.0, &b.0)
    }

    /// An identity for side tables (the exnref value): unique among live exceptions,
    /// and may be reused once the store has freed this one (no handle counts it and
    /// nothing names it).
    pub fn id(&self) -> usize {
        self.raw() as usize
    }

    pub(crate) fn raw(&self) -> u64 {
        Rc::as_ptr(&self.0) as u64
    }

    /// # Safety
    /// `raw` must be 0 or the `raw()` of a live exception: one read from a place a
    /// collection scans (see the module comment) since the last collection could run.
    pub(crate) unsafe fn from_raw(raw: u64) -> Option<Exception> {
        if raw == 0 {
            return None;
        }
        let p = raw as *const ExceptionInner;
        // SAFETY: per the contract `p` came from `Rc::as_ptr` of a live ExceptionInner
        // (the store or a throw holds a strong reference), so taking another one is
        // sound.
        unsafe {
            Rc::increment_strong_count(p);
            Some(Exception(Rc::from_raw(p)))
        }
    }
}

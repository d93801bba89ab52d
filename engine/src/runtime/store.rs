//! The store: the owner of all runtime objects that can link together.
//!
//! Compiled code refers to functions, tables, memories and globals by raw pointer, so
//! nothing a store created is freed before the store itself.

use super::vmcontext::VMRuntime;
use crate::engine::Engine;
use crate::trap::Trap;
use std::any::Any;
use std::cell::{RefCell, UnsafeCell};
use std::rc::{Rc, Weak};

pub(crate) struct StoreInner {
    pub engine: Engine,
    pub runtime: Box<UnsafeCell<VMRuntime>>,
    /// A host function's trap, waiting for the entry trampoline to return.
    pub pending_trap: RefCell<Option<Trap>>,
    objects: RefCell<Vec<Rc<dyn Any>>>,
}

impl StoreInner {
    pub fn runtime(&self) -> *mut VMRuntime {
        self.runtime.get()
    }

    pub fn keep_alive(&self, object: Rc<dyn Any>) {
        self.objects.borrow_mut().push(object);
    }
}

#[derive(Clone)]
pub struct Store(pub(crate) Rc<StoreInner>);

impl Store {
    pub fn new(engine: &Engine) -> Store {
        Store(Rc::new(StoreInner {
            engine: engine.clone(),
            runtime: Box::new(UnsafeCell::new(VMRuntime::default())),
            pending_trap: RefCell::new(None),
            objects: RefCell::new(Vec::new()),
        }))
    }

    pub fn engine(&self) -> &Engine {
        &self.0.engine
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

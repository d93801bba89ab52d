//! Globals.

use super::store::{admit, Store, StoreInner};
use super::vmcontext::VMGlobal;
use crate::error::{Error, Result};
use crate::types::GlobalType;
use crate::values::Val;
use std::cell::UnsafeCell;
use std::rc::{Rc, Weak};

pub(crate) struct GlobalInner {
    pub vm: Box<UnsafeCell<VMGlobal>>,
    pub ty: GlobalType,
    /// The store whose code reads the global: it keeps what `set` stores.
    pub(crate) store: Weak<StoreInner>,
}

#[derive(Clone)]
pub struct Global(pub(crate) Rc<GlobalInner>);

impl std::fmt::Debug for Global {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Global({:?} = {:?})", self.0.ty, self.get())
    }
}

impl Global {
    pub fn new(store: &Store, ty: GlobalType, value: Val) -> Result<Global> {
        if !value.matches(ty.content) {
            return Err(Error::Link(format!(
                "global value of type {} for a {} global",
                value.ty(),
                ty.content
            )));
        }
        admit(&store.weak(), std::slice::from_ref(&value))?;
        Ok(Self::new_raw(store, ty, value.to_raw128()))
    }

    /// A global holding `raw` (a v128's 128 bits, other values in the low half).
    pub(crate) fn new_raw(store: &Store, ty: GlobalType, raw: u128) -> Global {
        let vm = Box::new(UnsafeCell::new(VMGlobal::new(raw)));
        let inner = Rc::new(GlobalInner { vm, ty, store: store.weak() });
        store.0.keep_alive(inner.clone());
        Global(inner)
    }

    /// A stable identity for side tables.
    pub fn identity(&self) -> usize {
        Rc::as_ptr(&self.0) as usize
    }

    pub fn ptr_eq(a: &Global, b: &Global) -> bool {
        Rc::ptr_eq(&a.0, &b.0)
    }

    pub fn ty(&self) -> GlobalType {
        self.0.ty.clone()
    }

    pub(crate) fn vm(&self) -> *mut VMGlobal {
        self.0.vm.get()
    }

    /// All 128 bits of the storage (only a v128 uses the high half).
    pub(crate) fn get_raw128(&self) -> u128 {
        // SAFETY: single-threaded store; wasm code is not running while Rust reads.
        unsafe { (*self.0.vm.get()).get() }
    }

    pub fn get(&self) -> Val {
        // SAFETY: the global holds a value of its type; funcrefs point at live functions.
        unsafe { Val::from_raw128(self.0.ty.content, self.get_raw128()) }
    }

    pub fn set(&self, value: Val) -> Result<()> {
        if !self.0.ty.mutable {
            return Err(Error::Link("cannot set an immutable global".into()));
        }
        if !value.matches(self.0.ty.content) {
            return Err(Error::Link("value does not match the global's type".into()));
        }
        admit(&self.0.store, std::slice::from_ref(&value))?;
        // SAFETY: as in `get_raw128`.
        unsafe { *self.0.vm.get() = VMGlobal::new(value.to_raw128()) };
        Ok(())
    }
}

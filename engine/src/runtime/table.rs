//! Tables of references.

use super::store::{admit, Store, StoreInner};
use super::vmcontext::VMTable;
use crate::error::{Error, Result};
use crate::trap::TrapCode;
use crate::types::{HeapType, TableType, ValType};
use crate::values::Val;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::rc::{Rc, Weak};

/// Tables are capped well below 2^32 so a bad `table.grow` fails instead of exhausting memory.
const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

pub(crate) struct TableInner {
    pub vm: Box<UnsafeCell<VMTable>>,
    elements: RefCell<Elements>,
    pub ty: TableType,
    size: Cell<u64>,
    /// The store whose code reads the table: it keeps what `set` and `grow` store.
    pub(crate) store: Weak<StoreInner>,
}

/// A table's raw references (`vm.base` points at `refs`' buffer) and, for a funcref
/// table, each one's entry point (`vm.codes` at `codes`' buffer, else empty and null):
/// every write goes through here, which keeps the two in step.
struct Elements {
    refs: Vec<u64>,
    codes: Option<Vec<u64>>,
}

impl Elements {
    fn new(len: usize, init: u64, with_codes: bool) -> Elements {
        Elements { refs: vec![init; len], codes: with_codes.then(|| vec![code_of(init); len]) }
    }

    fn len(&self) -> usize {
        self.refs.len()
    }

    /// Points `vm` at the buffers (after anything that may move them).
    fn publish(&mut self, vm: &mut VMTable) {
        vm.base = self.refs.as_mut_ptr();
        vm.length = self.refs.len() as u64;
        vm.codes = self.codes.as_mut().map_or(std::ptr::null_mut(), |c| c.as_mut_ptr());
    }

    fn resize(&mut self, len: usize, init: u64) {
        self.refs.resize(len, init);
        if let Some(codes) = &mut self.codes {
            codes.resize(len, code_of(init));
        }
    }

    fn fill(&mut self, range: std::ops::Range<usize>, raw: u64) {
        self.refs[range.clone()].fill(raw);
        if let Some(codes) = &mut self.codes {
            codes[range].fill(code_of(raw));
        }
    }

    fn write(&mut self, at: usize, items: &[u64]) {
        self.refs[at..at + items.len()].copy_from_slice(items);
        if let Some(codes) = &mut self.codes {
            for (code, &raw) in codes[at..at + items.len()].iter_mut().zip(items) {
                *code = code_of(raw);
            }
        }
    }

    fn copy_within(&mut self, from: std::ops::Range<usize>, to: usize) {
        self.refs.copy_within(from.clone(), to);
        if let Some(codes) = &mut self.codes {
            codes.copy_within(from, to);
        }
    }
}

/// Whether a table of `element`s keeps an entry point beside each element: those
/// `call_indirect` may call through, which validation limits to tables of functions
/// (of any function type, nullable or not). Compiled `table.set` asks the same question.
pub(crate) fn keeps_entry_points(element: ValType) -> bool {
    element.as_ref_type().is_some_and(|r| r.heap().top() == HeapType::Func)
}

/// The entry point of a raw funcref (0 for null). Only for the raw elements of a
/// funcref table, which are 0 or point at a live `VMFuncRef` (`Val::matches` checks the
/// type of whatever is stored, and the store keeps every function alive).
fn code_of(raw: u64) -> u64 {
    if raw == 0 {
        return 0;
    }
    // SAFETY: a non-null raw funcref points at a live `VMFuncRef`.
    unsafe { (*(raw as *const super::vmcontext::VMFuncRef)).code as u64 }
}

#[derive(Clone)]
pub struct Table(pub(crate) Rc<TableInner>);

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Table({:?}, size {})", self.0.ty, self.size())
    }
}

impl Table {
    pub fn new(store: &Store, ty: TableType, init: Val) -> Result<Table> {
        // Elements are 8-byte references; wasm has no tables of numbers or vectors.
        if !ty.element.is_ref() {
            return Err(Error::Link(format!("a table's elements are references, not {}", ty.element)));
        }
        if !init.matches(ty.element) {
            return Err(Error::Link("table initial value does not match the element type".into()));
        }
        if ty.minimum > MAX_TABLE_ELEMENTS {
            return Err(Error::Resource(format!("table of {} elements is too large", ty.minimum)));
        }
        admit(&store.weak(), std::slice::from_ref(&init))?;
        let mut elements = Elements::new(ty.minimum as usize, init.to_raw(), keeps_entry_points(ty.element));
        let mut table = VMTable { base: std::ptr::null_mut(), length: 0, codes: std::ptr::null_mut() };
        elements.publish(&mut table);
        let vm = Box::new(UnsafeCell::new(table));
        let inner = Rc::new(TableInner {
            vm,
            elements: RefCell::new(elements),
            size: Cell::new(ty.minimum),
            ty,
            store: store.weak(),
        });
        store.0.keep_alive(inner.clone());
        Ok(Table(inner))
    }

    pub fn ty(&self) -> TableType {
        TableType { minimum: self.size(), ..self.0.ty.clone() }
    }

    /// A stable identity for side tables.
    pub fn identity(&self) -> usize {
        Rc::as_ptr(&self.0) as usize
    }

    pub fn ptr_eq(a: &Table, b: &Table) -> bool {
        Rc::ptr_eq(&a.0, &b.0)
    }

    pub fn size(&self) -> u64 {
        self.0.size.get()
    }

    pub(crate) fn vm(&self) -> *mut VMTable {
        self.0.vm.get()
    }

    pub fn get(&self, index: u64) -> Option<Val> {
        let raw = *self.0.elements.borrow().refs.get(index as usize)?;
        // SAFETY: elements hold references of the table's type to live functions.
        Some(unsafe { Val::from_raw(self.0.ty.element, raw) })
    }

    pub fn set(&self, index: u64, value: Val) -> Result<()> {
        if !value.matches(self.0.ty.element) {
            return Err(Error::Link("value does not match the table's element type".into()));
        }
        admit(&self.0.store, std::slice::from_ref(&value))?;
        self.set_raw(index, value.to_raw()).map_err(|c| Error::Trap(crate::trap::Trap::new(c)))
    }

    /// Grows by `delta` elements set to `init`; returns the old size, or None.
    pub fn grow(&self, delta: u64, init: Val) -> Option<u64> {
        if !init.matches(self.0.ty.element) || admit(&self.0.store, std::slice::from_ref(&init)).is_err() {
            return None;
        }
        self.grow_raw(delta, init.to_raw())
    }

    pub(crate) fn grow_raw(&self, delta: u64, init: u64) -> Option<u64> {
        let old = self.size();
        let new = old.checked_add(delta)?;
        if new > self.0.ty.maximum.unwrap_or(u32::MAX as u64) || new > MAX_TABLE_ELEMENTS {
            return None;
        }
        let mut elements = self.0.elements.borrow_mut();
        elements.resize(new as usize, init);
        // SAFETY: single-threaded store; no wasm code runs while this borrow is active.
        elements.publish(unsafe { &mut *self.0.vm.get() });
        self.0.size.set(new);
        Some(old)
    }

    pub(crate) fn set_raw(&self, index: u64, raw: u64) -> Result<(), TrapCode> {
        let mut e = self.0.elements.borrow_mut();
        if index >= e.len() as u64 {
            return Err(TrapCode::TableOutOfBounds);
        }
        e.write(index as usize, &[raw]);
        Ok(())
    }

    /// Fills `[dst, dst+len)`; bounds are checked before anything is written.
    pub(crate) fn fill_raw(&self, dst: u64, raw: u64, len: u64) -> Result<(), TrapCode> {
        let mut e = self.0.elements.borrow_mut();
        let end =
            dst.checked_add(len).filter(|&end| end <= e.len() as u64).ok_or(TrapCode::TableOutOfBounds)?;
        e.fill(dst as usize..end as usize, raw);
        Ok(())
    }

    pub(crate) fn copy_within_or_from(
        dst: &Table,
        src: &Table,
        d: u64,
        s: u64,
        len: u64,
    ) -> Result<(), TrapCode> {
        let oob = TrapCode::TableOutOfBounds;
        if d.checked_add(len).is_none_or(|e| e > dst.size())
            || s.checked_add(len).is_none_or(|e| e > src.size())
        {
            return Err(oob);
        }
        if Rc::ptr_eq(&dst.0, &src.0) {
            let mut e = dst.0.elements.borrow_mut();
            e.copy_within(s as usize..(s + len) as usize, d as usize);
        } else {
            let from = src.0.elements.borrow();
            let mut to = dst.0.elements.borrow_mut();
            to.write(d as usize, &from.refs[s as usize..(s + len) as usize]);
        }
        Ok(())
    }

    pub(crate) fn init_raw(&self, dst: u64, items: &[u64]) -> Result<(), TrapCode> {
        let mut e = self.0.elements.borrow_mut();
        dst.checked_add(items.len() as u64)
            .filter(|&end| end <= e.len() as u64)
            .ok_or(TrapCode::TableOutOfBounds)?;
        e.write(dst as usize, items);
        Ok(())
    }
}

//! The embedder's handle to a linear memory.

use super::memory::{LinearMemory, WASM_PAGE_SIZE};
use super::store::Store;
use super::vmcontext::VMMemory;
use crate::error::{Error, Result};
use crate::trap::TrapCode;
use crate::types::MemoryType;
use std::cell::RefCell;
use std::rc::Rc;

pub(crate) struct MemoryInner {
    pub linear: RefCell<LinearMemory>,
    pub ty: MemoryType,
    vm: *mut VMMemory,
}

#[derive(Clone)]
pub struct Memory(pub(crate) Rc<MemoryInner>);

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Memory({} pages)", self.size_pages())
    }
}

impl Memory {
    pub fn new(store: &Store, ty: MemoryType) -> Result<Memory> {
        if let Some(max) = ty.maximum {
            if max < ty.minimum {
                return Err(Error::Link("memory maximum is below its minimum".into()));
            }
        }
        let linear = LinearMemory::new(ty.minimum, ty.maximum)?;
        let vm = linear.vm();
        let inner = Rc::new(MemoryInner {
            linear: RefCell::new(linear),
            ty,
            vm,
        });
        store.0.keep_alive(inner.clone());
        Ok(Memory(inner))
    }

    pub fn ty(&self) -> MemoryType {
        MemoryType {
            minimum: self.size_pages(),
            maximum: self.0.ty.maximum,
        }
    }

    pub fn size_pages(&self) -> u64 {
        self.0.linear.borrow().size_pages()
    }

    pub fn size_bytes(&self) -> u64 {
        self.0.linear.borrow().size_bytes()
    }

    /// Grows by `delta` pages; returns the old size in pages, or None.
    pub fn grow(&self, delta: u64) -> Option<u64> {
        self.0.linear.borrow_mut().grow(delta)
    }

    /// The base address; it never changes, since memories are reserved up front.
    pub fn data_ptr(&self) -> *mut u8 {
        self.0.linear.borrow().base()
    }

    pub(crate) fn vm(&self) -> *mut VMMemory {
        self.0.vm
    }

    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), TrapCode> {
        let m = self.0.linear.borrow();
        let data = m.data();
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&e| e <= data.len() as u64)
            .ok_or(TrapCode::MemoryOutOfBounds)?;
        buf.copy_from_slice(&data[offset as usize..end as usize]);
        Ok(())
    }

    pub fn write(&self, offset: u64, bytes: &[u8]) -> Result<(), TrapCode> {
        let mut m = self.0.linear.borrow_mut();
        let data = m.data_mut();
        let end = offset
            .checked_add(bytes.len() as u64)
            .filter(|&e| e <= data.len() as u64)
            .ok_or(TrapCode::MemoryOutOfBounds)?;
        data[offset as usize..end as usize].copy_from_slice(bytes);
        Ok(())
    }

    pub(crate) fn fill(&self, dst: u64, value: u8, len: u64) -> Result<(), TrapCode> {
        let mut m = self.0.linear.borrow_mut();
        let data = m.data_mut();
        let end = dst
            .checked_add(len)
            .filter(|&e| e <= data.len() as u64)
            .ok_or(TrapCode::MemoryOutOfBounds)?;
        data[dst as usize..end as usize].fill(value);
        Ok(())
    }

    pub(crate) fn copy(
        dst_mem: &Memory,
        src_mem: &Memory,
        dst: u64,
        src: u64,
        len: u64,
    ) -> Result<(), TrapCode> {
        let oob = TrapCode::MemoryOutOfBounds;
        if dst
            .checked_add(len)
            .is_none_or(|e| e > dst_mem.size_bytes())
            || src
                .checked_add(len)
                .is_none_or(|e| e > src_mem.size_bytes())
        {
            return Err(oob);
        }
        if Rc::ptr_eq(&dst_mem.0, &src_mem.0) {
            let mut m = dst_mem.0.linear.borrow_mut();
            m.data_mut()
                .copy_within(src as usize..(src + len) as usize, dst as usize);
        } else {
            let from = src_mem.0.linear.borrow();
            let mut to = dst_mem.0.linear.borrow_mut();
            to.data_mut()[dst as usize..(dst + len) as usize]
                .copy_from_slice(&from.data()[src as usize..(src + len) as usize]);
        }
        Ok(())
    }
}

pub const PAGE_SIZE: u64 = WASM_PAGE_SIZE;

//! WebAssembly.Memory, with `buffer` over the very bytes compiled code uses.
//!
//! Boa always owns an ArrayBuffer's bytes, so every memory of a JS realm is an
//! `AlignedVec` reserved up front to its maximum (it never reallocates, so the address
//! compiled code holds never changes) and handed to the engine with
//! `Memory::new_external`; the code runs with explicit bounds checks. A grow detaches the
//! old ArrayBuffer, extends the block in place, and `buffer` wraps it again on next use.
//! The block stays reachable from the engine's memory for the store's lifetime, so no JS
//! action can free it under running code; the JS features that would move or steal it
//! (`ArrayBuffer.prototype.transfer`, `structuredClone` with transfer) are not installed.

use crate::conversions::{address_type, address_value, limits, AddressType};
use crate::errors::engine_error;
use crate::interface::{brand, prototype_from, require_new, Interface};
use crate::realm::{cached_wrapper, prototypes, remember_wrapper, store, with_agent};
use boa_engine::object::builtins::{AlignedVec, JsArrayBuffer};
use boa_engine::object::JsObject;
use boa_engine::realm::Realm;
use boa_engine::{js_string, Context, JsData, JsNativeError, JsResult, JsValue};
use boa_gc::{Finalize, Trace};
use sidewinder_engine::{Error, Memory, MemoryType, Store};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

const PAGE: u64 = 65536;
const MAX_PAGES: u64 = 65536;
/// memory64's page limit (2^48 pages: 2^64 bytes).
const MAX_PAGES_64: u64 = 1 << 48;

/// Who holds a memory's bytes right now: the ArrayBuffer JS sees, or (after a grow,
/// until `buffer` is read) the block itself.
#[derive(Default)]
pub(crate) struct BufferState {
    current: Option<JsArrayBuffer>,
    pending: Option<AlignedVec<u8>>,
    /// The realm whose `%ArrayBuffer.prototype%` the buffer made next gets: the JS API
    /// makes a memory's buffer when its Memory object is made and when a grow refreshes
    /// it, in the realm current then, and this makes it lazily, on the first read.
    realm: Option<Realm>,
    /// `Memory.prototype.grow` is growing it (and sets `realm` itself): the context is
    /// its caller's to use, not `grow_block`'s.
    js_growing: bool,
}

pub(crate) type BufferRegistry = Rc<RefCell<HashMap<usize, Rc<RefCell<BufferState>>>>>;

/// Lets go of every memory's current ArrayBuffer, which the registry holds outside
/// Boa's heap (for the agent's drop: no JS runs after it). The bytes come back to the
/// registry first: the store may outlive the agent (a GC object or a suspended fiber
/// keeps it), and its compiled code still addresses them.
pub(crate) fn let_go_of_buffers(registry: &BufferRegistry) {
    for state in registry.borrow().values() {
        let mut state = state.borrow_mut();
        if let Some(buffer) = state.current.take() {
            match buffer.detach(&JsValue::undefined()) {
                Ok(block) => state.pending = Some(block),
                // Never free bytes a store may still address.
                Err(_) => std::mem::forget(buffer),
            }
        }
        state.realm = None;
    }
}

#[derive(Trace, Finalize, JsData)]
pub(crate) struct MemoryData {
    #[unsafe_ignore_trace]
    pub memory: Memory,
    #[unsafe_ignore_trace]
    bytes: Rc<RefCell<BufferState>>,
}

pub(crate) const INTERFACE: Interface = Interface {
    name: "Memory",
    length: 1,
    constructor: construct,
    operations: &[("grow", 1, grow), ("type", 0, memory_type)],
    attributes: &[("buffer", get_buffer, None)],
    static_operations: &[],
};

/// Creates a memory whose bytes Boa can own; installed as the store's memory creator.
pub(crate) fn create_memory(
    store: &Store,
    ty: &MemoryType,
    registry: &BufferRegistry,
) -> Result<Memory, Error> {
    // A `WebAssembly.Memory` has 64 KiB pages (its `buffer`, `grow` and `type()` count
    // them); the JS API has no other page size yet.
    if ty.page_size_log2 != sidewinder_engine::runtime::memory::DEFAULT_PAGE_SIZE_LOG2 {
        return Err(Error::Link("a memory of custom page size cannot be a WebAssembly.Memory".into()));
    }
    let max_pages = ty.maximum.unwrap_or(MAX_PAGES).min(MAX_PAGES);
    if ty.minimum > max_pages {
        return Err(Error::Resource("initial memory size exceeds the maximum".into()));
    }
    let capacity = max_pages * PAGE;
    // `with_capacity` would abort the process when address space runs out (a script can
    // create memories in a loop); a failed reservation must be a RangeError instead.
    let mut block = AlignedVec::<u8>::new(64);
    if block.try_reserve_exact(capacity as usize).is_err() {
        return Err(Error::Resource(format!("cannot reserve {capacity} bytes for a memory")));
    }
    // Boa's blocks are aligned to 64 bytes at most, so huge pages start at the first
    // 2 MiB boundary inside the block, not at its address 0 as in engine memories.
    if store.engine().config().huge_pages {
        // SAFETY: the block owns `capacity` bytes of memory at this address, and advice
        // about their page size changes nothing they hold. Before the first write, so that
        // the initial pages are huge from the start.
        unsafe {
            sidewinder_engine::runtime::memory::advise_huge_pages(block.as_mut_ptr(), capacity as usize)
        };
    }
    block.resize((ty.minimum * PAGE) as usize, 0);
    let base = block.as_mut_ptr();
    let state = Rc::new(RefCell::new(BufferState { pending: Some(block), ..BufferState::default() }));
    let on_grow = {
        let state = state.clone();
        move |_old: u64, new: u64| grow_block(&state, new)
    };
    // SAFETY: the block has `capacity` bytes reserved and never reallocates (it only
    // grows within its capacity); `state`, owned by the closure the engine keeps for the
    // store's lifetime, keeps it alive whether it sits in an ArrayBuffer or is pending.
    let memory = unsafe { Memory::new_external(store, ty.clone(), base, capacity, on_grow)? };
    registry.borrow_mut().insert(memory.identity(), state);
    Ok(memory)
}

fn grow_block(state: &Rc<RefCell<BufferState>>, new_len: u64) -> bool {
    let mut st = state.borrow_mut();
    let block = match st.current.take() {
        Some(buffer) => match buffer.detach(&JsValue::undefined()) {
            Ok(block) => block,
            Err(_) => return false,
        },
        None => match st.pending.take() {
            Some(block) => block,
            None => return false,
        },
    };
    let mut block = block;
    let before = block.as_ptr();
    if new_len as usize > block.capacity() {
        st.pending = Some(block);
        return false;
    }
    block.resize(new_len as usize, 0);
    // Within capacity a resize never moves the block; compiled code relies on that.
    debug_assert_eq!(before, block.as_ptr());
    st.pending = Some(block);
    if !st.js_growing {
        // A grow by wasm: the realm current now is the one of the exported function
        // the JS-to-wasm call entered (Boa makes a native function's realm current).
        if let Some(realm) = crate::realm::with_current_context(|ctx| ctx.realm().clone()) {
            st.realm = Some(realm);
        }
    }
    true
}

/// The Memory object for an engine memory (the same object every time).
pub(crate) fn memory_object(memory: &Memory, ctx: &mut Context) -> JsResult<JsObject> {
    let key = memory.identity();
    if let Some(o) = cached_wrapper(ctx, key)? {
        return Ok(o);
    }
    let proto = prototypes(ctx)?.memory.clone();
    wrap(memory.clone(), proto, ctx)
}

fn wrap(memory: Memory, proto: JsObject, ctx: &mut Context) -> JsResult<JsObject> {
    let key = memory.identity();
    let bytes = with_agent(ctx, |r| r.memory_buffers.borrow().get(&key).cloned())?
        .ok_or_else(|| JsNativeError::typ().with_message("memory does not belong to this context"))?;
    bytes.borrow_mut().realm = Some(ctx.realm().clone());
    let object = JsObject::from_proto_and_data(proto, MemoryData { memory, bytes });
    remember_wrapper(ctx, key, &object)?;
    Ok(object)
}

fn construct(new_target: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let nt = require_new(new_target, "Memory")?;
    let Some(descriptor) = args.first().and_then(JsValue::as_object) else {
        return Err(JsNativeError::typ()
            .with_message("WebAssembly.Memory: descriptor must be an object")
            .into());
    };
    // Dictionary members are read in lexicographic order: address first.
    let address = address_type(&descriptor, "WebAssembly.Memory", ctx)?;
    let (initial, maximum) = limits(&descriptor, address, "WebAssembly.Memory", ctx)?;
    let shared = descriptor.get(js_string!("shared"), ctx)?.to_boolean();
    // The page limit of each address type (2^16, or memory64's 2^48). A 64-bit memory
    // beyond 4 GiB passes this check but not `create_memory`'s (a RangeError too).
    let limit = if address.is_64() { MAX_PAGES_64 } else { MAX_PAGES };
    if initial > limit || maximum.is_some_and(|m| m > limit) {
        return Err(JsNativeError::range()
            .with_message(format!("WebAssembly.Memory: size exceeds {limit} pages"))
            .into());
    }
    if maximum.is_some_and(|m| m < initial) {
        return Err(JsNativeError::range()
            .with_message("WebAssembly.Memory: maximum is below initial")
            .into());
    }
    if shared {
        return Err(JsNativeError::typ()
            .with_message("WebAssembly.Memory: shared memories are not supported")
            .into());
    }
    let store = store(ctx)?;
    let registry = with_agent(ctx, |r| r.memory_buffers.clone())?;
    let ty = MemoryType {
        minimum: initial,
        maximum,
        memory64: address.is_64(),
        shared: false,
        page_size_log2: sidewinder_engine::runtime::memory::DEFAULT_PAGE_SIZE_LOG2,
    };
    let memory = create_memory(&store, &ty, &registry).map_err(|e| match e {
        Error::Resource(m) => JsNativeError::range().with_message(m).into(),
        other => engine_error(other, ctx),
    })?;
    let proto = prototype_from(&nt, |p| p.memory.clone(), ctx)?;
    Ok(wrap(memory, proto, ctx)?.into())
}

fn memory_of(this: &JsValue, what: &str) -> JsResult<(Memory, Rc<RefCell<BufferState>>)> {
    let o = brand::<MemoryData>(this, what)?;
    let d = o.downcast_ref::<MemoryData>().map(|d| (d.memory.clone(), d.bytes.clone()));
    d.ok_or_else(|| JsNativeError::typ().with_message(format!("{what}: not a Memory")).into())
}

fn grow(this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let (memory, bytes) = memory_of(this, "WebAssembly.Memory.prototype.grow")?;
    let address = AddressType::of(memory.ty().memory64);
    let delta = address_value(&args.first().cloned().unwrap_or_default(), address, "delta", ctx)?;
    bytes.borrow_mut().js_growing = true;
    let grown = memory.grow(delta);
    bytes.borrow_mut().js_growing = false;
    match grown {
        Some(old) => {
            bytes.borrow_mut().realm = Some(ctx.realm().clone());
            Ok(address.value(old))
        }
        None => {
            Err(JsNativeError::range().with_message("WebAssembly.Memory.grow: failed to grow memory").into())
        }
    }
}

/// Type reflection: `{ minimum, maximum?, shared, address }`, sizes as the address
/// type's values.
fn memory_type(this: &JsValue, _args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let (memory, _) = memory_of(this, "WebAssembly.Memory.prototype.type")?;
    let ty = memory.ty();
    let address = AddressType::of(ty.memory64);
    let o = JsObject::with_object_proto(ctx.intrinsics());
    o.create_data_property_or_throw(js_string!("minimum"), address.value(ty.minimum), ctx)?;
    if let Some(max) = ty.maximum {
        o.create_data_property_or_throw(js_string!("maximum"), address.value(max), ctx)?;
    }
    o.create_data_property_or_throw(js_string!("shared"), ty.shared, ctx)?;
    o.create_data_property_or_throw(js_string!("address"), js_string!(address.name()), ctx)?;
    Ok(o.into())
}

fn get_buffer(this: &JsValue, _args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let (memory, bytes) = memory_of(this, "WebAssembly.Memory.prototype.buffer")?;
    if memory.ty().shared {
        // The spec's buffer is a SharedArrayBuffer over the memory's bytes, which Boa
        // 0.22 cannot make (its constructors over existing bytes are pub(crate)); an
        // ArrayBuffer instead would detach on grow and pass for unshared memory.
        return Err(JsNativeError::typ()
            .with_message(
                "WebAssembly.Memory: a shared memory's buffer would be a SharedArrayBuffer, which Boa 0.22 cannot make over wasm memory",
            )
            .into());
    }
    let mut st = bytes.borrow_mut();
    if let Some(b) = &st.current {
        return Ok(b.clone().into());
    }
    let Some(block) = st.pending.take() else {
        return Err(JsNativeError::typ().with_message("WebAssembly.Memory: buffer unavailable").into());
    };
    let buffer = JsArrayBuffer::from_byte_block(block, ctx)?;
    if let Some(realm) = &st.realm {
        let proto = realm.intrinsics().constructors().array_buffer().prototype();
        buffer.set_prototype(Some(proto));
    }
    st.current = Some(buffer.clone());
    Ok(buffer.into())
}

//! The GC heap's collector: mark and sweep, without moving anything. It also frees the
//! exceptions the store keeps that nothing names any more (`runtime::exception`): those
//! no handle counts are marked like objects, by any word that names them, and only
//! their payloads are scanned when they are; the others' payloads are roots.
//!
//! Compiled code keeps references in registers and frame slots without stack maps, so
//! the machine stack is scanned conservatively: any 8-byte word there that is the
//! address of an object's start keeps that object. That is safe because nothing
//! moves (a word that only looks like a reference retains an object, nothing worse),
//! and because compiled code never holds only an interior pointer to an object across
//! a call or an allocation (fields are addressed from the object's start). Exception
//! payloads are scanned the same way (their words may be numbers). Everything else is
//! exact: fields and elements by their types, and the roots the store keeps
//! (`GcObject` handles, globals, tables, element segments), and the objects the
//! constant expressions of an instantiation under way have made (`GcHeap::pending`).
//!
//! A collection runs only at a safepoint (`GcHeap::safepoint`: the allocation
//! libcalls compiled code calls, where every reference wasm holds is in its frames) or
//! when the embedder asks (`Store::gc`). Every stack of the thread is scanned: with
//! fibers alive (JSPI) that is the running one, those below it in the resume chain and
//! the suspended fibers' (`fiber::live_stacks`), whatever store they run, since a fiber
//! of one store may run another's wasm. It never runs on a stack nothing describes.
//!
//! Object starts are found only in the chunks a conservative word points into, by a
//! walk from the chunk's first object: an object starts with its type's supertype chain
//! (never 0), a zero word is 8 free bytes, and the holes are skipped. The sweep reads
//! marked objects only: stretches between them of at least `MIN_HOLE` bytes become
//! holes, which the bump pointer zeroes when it takes one (`GcHeap::take_hole`); shorter
//! ones are zeroed at once. Outside the hole list free memory is therefore zero, which
//! is what makes conservative words safe: a dead object, whose fields may point at
//! memory reused since, is never taken for a live one. Chunks with nothing alive are
//! unmapped beyond what the next collection's threshold allows.

use super::address_hash::{AddressMap, AddressSet};
use super::exception::for_each_live_payload;
use super::exception::ExceptionInner;
use super::fiber::live_stacks;
use super::gc::{array_view, Chunk, GcHeap, CHUNK, CHUNK_HEADER, MIN_HOLE};
use super::global::GlobalInner;
use super::instance::InstanceInner;
use super::memory::unmap_aligned;
use super::table::TableInner;
use crate::types::{
    array_object_bytes, chain_type_id, FuncType, HeapType, ObjectKind, StorageType, ValType,
    DESCRIPTOR_OFFSET, MAX_SUBTYPE_CHAIN,
};
use crate::values::HOST_TAG;
use std::rc::Rc;

/// The most address space (in `CHUNK`s) the chunks of a heap the collector collects
/// may spread over (64 GiB: the chunk table is then 256 KiB).
const MAX_SPAN_MEGABYTES: usize = 1 << 16;

/// The host values (`Val::ExternRef`'s numbers) below a bound that a collection found
/// the store may still hold (`Store::live_host_values`). A set of bits, not a hash set:
/// every stack word with a host value's tag is noted, and hashing them was most of the
/// cost of asking; the bound keeps out the words that only look like one. The default
/// (bound 0) names every value: what a collection that looked for none answers.
#[derive(Default)]
pub struct LiveHostValues {
    bits: Vec<u64>,
    below: u64,
    stack_words: usize,
}

impl LiveHostValues {
    fn below(below: u64) -> LiveHostValues {
        LiveHostValues { bits: vec![0; below.div_ceil(64) as usize], below, stack_words: 0 }
    }

    fn insert(&mut self, value: u64) {
        if value < self.below {
            self.bits[(value / 64) as usize] |= 1 << (value % 64);
        }
    }

    /// How many words of machine stacks the collection scanned, most of the cost of
    /// asking when the heap is small: an embedder asks less often when it is high.
    pub fn stack_words(&self) -> usize {
        self.stack_words
    }

    /// Whether the store may hold `value`: always for one at or above the bound.
    pub fn contains(&self, value: u64) -> bool {
        value >= self.below || self.bits[(value / 64) as usize] & (1 << (value % 64)) != 0
    }
}

/// What the collector needs of one type's objects.
struct Shape {
    kind: ObjectKind,
    /// A struct's size.
    size: usize,
    /// A struct's reference fields (that may hold objects): their offsets.
    reference_fields: Vec<usize>,
    /// Whether an array's elements are references that may hold objects.
    reference_elements: bool,
}

/// Whether values of type `t` may name what a collection frees: objects (references
/// in the `any` hierarchy, and in the `extern` one, since `extern.convert_any` keeps an
/// object's address) and exceptions (`exnref`).
fn may_hold_collected(t: ValType) -> bool {
    matches!(t, ValType::Ref(r) if matches!(r.heap().top(), HeapType::Any | HeapType::Extern | HeapType::Exn))
}

fn holds_collected(storage: StorageType) -> bool {
    matches!(storage, StorageType::Val(t) if may_hold_collected(t))
}

/// A kept exception a collection may let go: no handle counts it, only stores keep it
/// (this one, and any other, since an exception carrying references enters no other
/// store, so the payload of one kept by two holds no object).
struct KeptException {
    /// Its payload's start and length in words.
    payload: (usize, usize),
    /// Whether a word names it (its payload is then scanned too).
    named: bool,
}

/// One chunk during a collection: which of its objects are marked, and (for chunks a
/// conservative root points into) where its objects start.
struct ChunkState {
    chunk: Chunk,
    marks: Vec<u64>,
    starts: Option<Vec<u64>>,
    live: bool,
}

impl ChunkState {
    fn bit(&self, address: usize) -> (usize, u64) {
        let word = (address - self.chunk.start()) / 8;
        (word / 64, 1 << (word % 64))
    }
}

struct Collection {
    /// Sorted by address.
    chunks: Vec<ChunkState>,
    /// Which chunk starts at each `CHUNK` boundary (`u32::MAX`: none), from the lowest
    /// chunk's on: the reference lookup of the marking loop, a load instead of a search.
    /// `None` when the chunks spread over more than `MAX_SPAN_MEGABYTES`: a binary
    /// search then.
    by_megabyte: Option<(usize, Vec<u32>)>,
    /// From the lowest chunk's start to the highest chunk's end (empty without chunks):
    /// most stack words are outside, and are dismissed by two compares.
    chunk_span: std::ops::Range<usize>,
    /// The free stretches not yet handed to the bump pointer, which hold dead objects
    /// (whose fields may point at freed memory): never object starts.
    holes: Vec<(usize, usize)>,
    /// Shapes by chain address: few types, mostly met in runs, so the last one found is
    /// tried first and the rest searched in order.
    shapes: Vec<(usize, Shape)>,
    last_shape: usize,
    pending: Vec<usize>,
    /// A header of no known shape was met (never, for headers the heap and compiled
    /// code write): the collection frees nothing.
    failed: bool,
    /// When asked for (`Store::live_host_values`): every host value below the bound it
    /// was asked for that was met, exactly or in a word that looks like one.
    host_values: Option<LiveHostValues>,
    /// The exceptions the collection may free, by exnref.
    exceptions: AddressMap<u64, KeptException>,
    /// The lowest and highest of those exnrefs: most words are neither, and are
    /// dismissed by two compares.
    exnref_range: (u64, u64),
    /// The payloads of exceptions found named, still to be scanned.
    pending_payloads: Vec<(usize, usize)>,
}

impl Collection {
    /// The shape of objects whose header starts with `chain`.
    fn shape(&mut self, chain: usize) -> &Shape {
        let index = self.shape_index(chain);
        &self.shapes[index].1
    }

    fn shape_index(&mut self, chain: usize) -> usize {
        if self.shapes.get(self.last_shape).is_some_and(|(c, _)| *c == chain) {
            return self.last_shape;
        }
        let index = match self.shapes.iter().position(|(c, _)| *c == chain) {
            Some(index) => index,
            None => {
                self.shapes.push((chain, Self::new_shape(chain)));
                self.shapes.len() - 1
            }
        };
        self.last_shape = index;
        index
    }

    fn new_shape(chain: usize) -> Shape {
        // SAFETY: every header starts with its type's chain, leaked for the process.
        let ty =
            FuncType::from_type_id(chain_type_id(unsafe { &*(chain as *const [u32; MAX_SUBTYPE_CHAIN]) }));
        let Some(layout) = ty.as_ref().and_then(|ty| ty.layout()) else {
            // Unreachable for a header written by the heap or compiled code; an
            // object of no known shape is kept with nothing traced.
            return Shape {
                kind: ObjectKind::Struct,
                size: 0,
                reference_fields: Vec::new(),
                reference_elements: false,
            };
        };
        let reference_fields = match layout.kind {
            ObjectKind::Struct => {
                let descriptor = layout.described.then_some(DESCRIPTOR_OFFSET as usize);
                let fields = layout.fields.iter().zip(&layout.offsets[..]);
                let references =
                    fields.filter(|(f, _)| holds_collected(f.storage)).map(|(_, &offset)| offset as usize);
                descriptor.into_iter().chain(references).collect()
            }
            _ => Vec::new(),
        };
        let reference_elements =
            layout.kind == ObjectKind::Array && holds_collected(layout.fields[0].storage);
        Shape { kind: layout.kind, size: layout.size as usize, reference_fields, reference_elements }
    }

    /// The size of the object at `at`, or `None` for a header of no known shape.
    ///
    /// # Safety
    /// An object starts at `at`.
    unsafe fn size_of(&mut self, at: usize) -> Option<usize> {
        // SAFETY: the header of an object, per the contract.
        let shape = self.shape(unsafe { *(at as *const usize) });
        match shape.kind {
            ObjectKind::Array => {
                // SAFETY: an array, per its shape.
                let view = unsafe { array_view(at as u64) };
                Some(array_object_bytes(view.len as u64, view.element_size as u64) as usize)
            }
            _ if shape.size == 0 => None,
            _ => Some(shape.size),
        }
    }

    /// Where objects start in chunk `index`: a walk from its first object, over
    /// objects (sized by their headers) and zero words (free), skipping the holes.
    fn find_starts(&mut self, index: usize) -> Vec<u64> {
        let chunk = self.chunks[index].chunk;
        let mut starts = vec![0u64; self.chunks[index].marks.len()];
        let mut holes: Vec<(usize, usize)> =
            self.holes.iter().copied().filter(|&(s, _)| chunk.start() <= s && s < chunk.end()).collect();
        holes.sort_unstable();
        let mut holes = holes.into_iter().peekable();
        let mut at = chunk.start() + CHUNK_HEADER;
        // Objects start in the first `CHUNK` bytes (a large object's chunk holds it alone).
        let starts_end = chunk.end().min(chunk.start() + CHUNK);
        while at + 8 <= starts_end {
            if let Some(&(start, end)) = holes.peek() {
                if start <= at {
                    holes.next();
                    at = at.max(end);
                    continue;
                }
            }
            // SAFETY: within the chunk, mapped and 8-aligned.
            let word = unsafe { *(at as *const u64) };
            if word == 0 {
                at += 8;
                continue;
            }
            // SAFETY: outside the holes, a non-zero word at an object boundary starts an
            // object that was allocated and not freed since its memory was zeroed.
            let Some(size) = (unsafe { self.size_of(at) }) else {
                self.failed = true;
                break;
            };
            let (i, bit) = self.chunks[index].bit(at);
            starts[i] |= bit;
            at += size;
        }
        starts
    }

    /// The chunk state holding `address` (an object's start, or for a conservative
    /// word anything), if a chunk holds it and it can be an object's start: objects
    /// start within the first `CHUNK` bytes of their chunk.
    fn chunk_of(&self, address: usize) -> Option<usize> {
        let i = match &self.by_megabyte {
            Some((first, table)) => *table.get((address / CHUNK).checked_sub(*first)?)? as usize,
            None => self.chunks.partition_point(|c| c.chunk.start() <= address).checked_sub(1)?,
        };
        let chunk = self.chunks.get(i)?.chunk;
        (chunk.start() <= address && address < chunk.end().min(chunk.start() + CHUNK)).then_some(i)
    }

    /// Marks the object `word` refers to: a word from a field or root of a reference
    /// type, which is null, an `i31`, a host value, or a live object's address (of this
    /// heap, or of another store's for an exception payload's, which no chunk holds).
    fn consider_exact(&mut self, word: u64) {
        self.note_if_host_value(word);
        self.mark_if_exception(word);
        if word == 0 || word & 3 != 0 {
            return;
        }
        if let Some(i) = self.chunk_of(word as usize) {
            self.mark(i, word as usize);
        }
    }

    /// Marks the object `word` is the address of, if it is one: a word that may be
    /// anything (the machine stack, registers, exception payloads). Inlined into the
    /// scans of thousands of stack words, most of which are none of the three things
    /// looked for: those cost a few compares and no call.
    #[inline(always)]
    fn consider_conservative(&mut self, word: u64) {
        self.note_if_host_value(word);
        self.mark_if_exception(word);
        if word & 7 == 0 && self.chunk_span.contains(&(word as usize)) {
            self.mark_if_object_start(word as usize);
        }
    }

    /// Marks the object at `address`, if one starts there.
    #[inline(never)]
    fn mark_if_object_start(&mut self, address: usize) {
        let Some(i) = self.chunk_of(address) else { return };
        if self.chunks[i].starts.is_none() {
            let starts = self.find_starts(i);
            self.chunks[i].starts = Some(starts);
        }
        let (w, bit) = self.chunks[i].bit(address);
        if self.chunks[i].starts.as_ref().is_some_and(|s| s[w] & bit != 0) {
            self.mark(i, address);
        }
    }

    /// Notes the host value `word` is, if it is one and they are being noted.
    #[inline(always)]
    fn note_if_host_value(&mut self, word: u64) {
        if let Some(values) = self.host_values.as_mut().filter(|_| word & 3 == HOST_TAG) {
            values.insert(word >> 2);
        }
    }

    /// Marks the exception `word` names, if it is one the collection may free; its
    /// payload is scanned next (`trace`). Only the map is read: a word is never taken
    /// for an exception's address unless the map has it, so a stale one is harmless.
    #[inline(always)]
    fn mark_if_exception(&mut self, word: u64) {
        let (lowest, highest) = self.exnref_range;
        if word >= lowest && word <= highest {
            self.mark_exception(word);
        }
    }

    #[inline(never)]
    fn mark_exception(&mut self, word: u64) {
        if let Some(exception) = self.exceptions.get_mut(&word) {
            if !exception.named {
                exception.named = true;
                self.pending_payloads.push(exception.payload);
            }
        }
    }

    fn mark(&mut self, chunk: usize, address: usize) {
        let state = &mut self.chunks[chunk];
        let (w, bit) = state.bit(address);
        if state.marks[w] & bit == 0 {
            state.marks[w] |= bit;
            state.live = true;
            self.pending.push(address);
        }
    }

    /// Marks everything reachable from the marked objects and exceptions.
    fn trace(&mut self) {
        loop {
            self.trace_objects();
            let Some((start, len)) = self.pending_payloads.pop() else { break };
            for k in 0..len {
                // SAFETY: the payload of an exception the store keeps (`exceptions`),
                // alive while the collection runs; its words may be numbers.
                let w = unsafe { *(start as *const u64).add(k) };
                self.consider_conservative(w);
            }
        }
    }

    /// Marks everything reachable from the marked objects, as far as objects go.
    fn trace_objects(&mut self) {
        while let Some(at) = self.pending.pop() {
            // SAFETY: a marked object's header.
            let index = self.shape_index(unsafe { *(at as *const usize) });
            let shape = &mut self.shapes[index].1;
            if shape.kind != ObjectKind::Array && shape.size == 0 {
                self.failed = true;
                continue;
            }
            if shape.kind == ObjectKind::Array {
                if shape.reference_elements {
                    // SAFETY: an array, per its shape.
                    let view = unsafe { array_view(at as u64) };
                    for k in 0..view.len as usize {
                        // SAFETY: element `k` of a reference array, 8 bytes each.
                        let w = unsafe { view.element(k).cast::<u64>().read_unaligned() };
                        self.consider_exact(w);
                    }
                }
                continue;
            }
            let fields = std::mem::take(&mut shape.reference_fields);
            for &offset in &fields {
                // SAFETY: a reference field within the struct.
                let w = unsafe { ((at + offset) as *const u64).read_unaligned() };
                self.consider_exact(w);
            }
            self.shapes[index].1.reference_fields = fields;
        }
    }
}

/// The thread's stack: its lowest and highest address, found once per thread.
fn thread_stack() -> Option<(usize, usize)> {
    thread_local! {
        static STACK: Option<(usize, usize)> = query_thread_stack();
    }
    STACK.with(|s| *s)
}

fn query_thread_stack() -> Option<(usize, usize)> {
    // SAFETY: plain libc queries about the calling thread, with an attribute object
    // initialized by `pthread_getattr_np` and destroyed once.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let (mut low, mut size) = (std::ptr::null_mut(), 0usize);
        let ok = libc::pthread_attr_getstack(&attr, &mut low, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        ok.then(|| (low as usize, low as usize + size))
    }
}

/// The callee-saved registers, which may hold references of compiled code's frames
/// that no frame has stored yet.
#[inline(never)]
fn callee_saved_registers() -> [u64; 6] {
    let mut saved = [0u64; 6];
    // SAFETY: stores six registers into the array; reads no memory, changes no
    // register.
    unsafe {
        std::arch::asm!(
            "mov [{0}], rbx",
            "mov [{0} + 8], rbp",
            "mov [{0} + 16], r12",
            "mov [{0} + 24], r13",
            "mov [{0} + 32], r14",
            "mov [{0} + 40], r15",
            in(reg) saved.as_mut_ptr(),
            options(nostack, preserves_flags),
        );
    }
    saved
}

impl GcHeap {
    /// Frees the objects and the kept exceptions nothing reaches. Returns whether it ran
    /// (see the module comment for when it does not).
    pub(crate) fn collect(&self) -> bool {
        self.run_collection(true, None).is_some()
    }

    /// Collects (`collect`), and gives every host value (`Val::ExternRef`'s number) the
    /// store's wasm state may still hold: in tables, globals, GC objects, element
    /// segments and exception payloads, and any word of the thread's stacks and
    /// registers that looks like one. `None` if it did not run.
    pub(crate) fn collect_noting_host_values(&self, below: u64) -> Option<LiveHostValues> {
        self.run_collection(true, Some(below))
    }

    /// Frees the kept exceptions nothing reaches, and no object: a collection's marking
    /// without its sweep, which leaves the heap as it is (for `StoreInner::keep_exception`,
    /// which is not a safepoint for allocations).
    pub(crate) fn reclaim_exceptions(&self) {
        if self.run_collection(false, None).is_some() {
            self.exception_reclamations.set(self.exception_reclamations.get() + 1);
        }
    }

    /// A collection: marks what the roots reach, then frees the kept exceptions nothing
    /// names and, with `free_objects`, the objects nothing reaches.
    #[inline(never)]
    fn run_collection(
        &self,
        free_objects: bool,
        note_host_values_below: Option<u64>,
    ) -> Option<LiveHostValues> {
        let registers = callee_saved_registers();
        let here = registers.as_ptr() as usize;
        let stacks = thread_stack().and_then(|thread| live_stacks(here, thread))?;
        // SAFETY: the store owns the heap and outlives it.
        let store = unsafe { &*self.owner };
        let mut chunks: Vec<ChunkState> = self
            .chunks
            .borrow()
            .iter()
            .map(|&chunk| {
                // Objects start in the first `CHUNK` bytes (`chunk_of`).
                let words = (chunk.size.min(CHUNK) / 8).div_ceil(64);
                ChunkState { chunk, marks: vec![0; words], starts: None, live: false }
            })
            .collect();
        chunks.sort_by_key(|c| c.chunk.start());
        let holes = self.holes.borrow().clone();
        // Objects start in the first `CHUNK` bytes of their chunk (`chunk_of`).
        let chunk_span = chunks.first().map_or(0, |c| c.chunk.start())
            ..chunks.iter().map(|c| c.chunk.end().min(c.chunk.start() + CHUNK)).max().unwrap_or(0);
        let first = chunks.first().map_or(0, |c| c.chunk.start() / CHUNK);
        let last = chunks.last().map_or(0, |c| c.chunk.start() / CHUNK);
        let by_megabyte = (last - first < MAX_SPAN_MEGABYTES).then(|| {
            let mut table = vec![u32::MAX; last - first + 1];
            for (i, c) in chunks.iter().enumerate() {
                table[c.chunk.start() / CHUNK - first] = i as u32;
            }
            (first, table)
        });
        let mut gc = Collection {
            chunks,
            by_megabyte,
            chunk_span,
            holes,
            shapes: Vec::new(),
            last_shape: 0,
            pending: Vec::new(),
            failed: false,
            host_values: note_host_values_below.map(LiveHostValues::below),
            exceptions: AddressMap::default(),
            exnref_range: (u64::MAX, 0),
            pending_payloads: Vec::new(),
        };
        // The kept exceptions no handle counts may go (if the map is being
        // changed, none: all payloads are then roots).
        if let Ok(kept) = store.exceptions.try_borrow() {
            for (&exnref, exception) in kept.iter().filter(|(_, e)| ExceptionInner::uncounted(e)) {
                let payload = (exception.payload.as_ptr() as usize, exception.payload.len());
                gc.exceptions.insert(exnref, KeptException { payload, named: false });
                gc.exnref_range = (gc.exnref_range.0.min(exnref), gc.exnref_range.1.max(exnref));
            }
        }
        let candidate_payloads: AddressSet<usize> =
            gc.exceptions.values().filter(|e| e.payload.1 != 0).map(|e| e.payload.0).collect();

        // Roots: the machine stacks, this one from here up (compiled code's frames and
        // the registers it saved, and the host's), and the registers, conservatively; then
        // handles and what the store keeps, exactly.
        for &w in &registers {
            gc.consider_conservative(w);
        }
        let mut stack_words = 0;
        for (low, high) in stacks {
            let words = (high - low) / 8;
            stack_words += words;
            for k in 0..words {
                // SAFETY: a stack's used part (`live_stacks`), mapped.
                let w = unsafe { *(low as *const u64).add(k) };
                gc.consider_conservative(w);
            }
        }
        // The payloads of the other live exceptions (in flight, counted by handles, or
        // another store's) are roots; those of the exceptions that may go, only once a
        // word names them (`trace`).
        for_each_live_payload(|payload| {
            if !candidate_payloads.contains(&(payload.as_ptr() as usize)) {
                payload.iter().for_each(|&w| gc.consider_conservative(w));
            }
        });
        // SAFETY: the store's runtime, which it owns; a plain read of one word.
        gc.consider_conservative(unsafe { (*store.runtime()).exception });
        self.handles.borrow().keys().for_each(|&w| gc.consider_exact(w));
        self.pending.borrow().iter().for_each(|&w| gc.consider_exact(w));
        let mut segments_readable = true;
        let complete = store.for_each_kept(|object| {
            if let Some(global) = object.downcast_ref::<GlobalInner>() {
                if may_hold_collected(global.ty.content) {
                    // SAFETY: the global's storage, which it owns.
                    gc.consider_exact(unsafe { (*global.vm.get()).bits });
                }
            } else if let Some(table) = object.downcast_ref::<TableInner>() {
                if may_hold_collected(table.ty.element) {
                    // SAFETY: the table's elements, which `vm` describes; nothing
                    // changes them while the collector runs.
                    let elements = unsafe {
                        let vm = &*table.vm.get();
                        std::slice::from_raw_parts(vm.base, vm.length as usize)
                    };
                    elements.iter().for_each(|&w| gc.consider_exact(w));
                }
            } else if let Some(instance) = object.downcast_ref::<InstanceInner>() {
                match instance.elems.try_borrow() {
                    // Function references of funcref segments lie in no chunk.
                    Ok(elems) => elems.iter().flatten().flatten().for_each(|&w| gc.consider_exact(w)),
                    Err(_) => segments_readable = false,
                }
            }
        });
        if !complete || !segments_readable {
            // Roots may be missing: free nothing.
            return None;
        }
        gc.trace();
        if gc.failed {
            return None;
        }
        let mut host_values = gc.host_values.take().unwrap_or_default();
        host_values.stack_words = stack_words;
        // Taken out of the map here, dropped once it is no longer borrowed. (Candidates
        // exist only if the map could be borrowed above, and nothing ran since.)
        let mut freed: Vec<Rc<ExceptionInner>> = Vec::new();
        if gc.exceptions.values().any(|e| !e.named) {
            let mut kept = store.exceptions.borrow_mut();
            for (exnref, _) in gc.exceptions.iter().filter(|(_, e)| !e.named) {
                if kept.get(exnref).is_some_and(ExceptionInner::uncounted) {
                    freed.extend(kept.remove(exnref));
                }
            }
        }
        if free_objects {
            // Compiled code's stretch of the bump pointer is zero; it becomes free memory
            // that the sweep finds again.
            self.retire_bump();
            self.sweep(gc);
            self.collections.set(self.collections.get() + 1);
        }
        // Another store may keep one too: it goes with that store's last reference.
        freed.iter().for_each(|e| e.kept_by.set(e.kept_by.get() - 1));
        drop(freed);
        Some(host_values)
    }

    /// Finds the free stretches between marked objects: those of `MIN_HOLE` bytes or
    /// more become holes for the bump pointer (zeroed when it takes one), shorter ones
    /// are zeroed now (no dead object may stay outside a hole: its fields may point at
    /// freed memory, and a stale stack word could make it look alive). Unmaps chunks
    /// with nothing alive beyond what the next threshold allows, and sets it.
    fn sweep(&self, mut gc: Collection) {
        // Bytes of the chunks with something alive, and of the objects alive.
        let (mut live_chunks, mut live_objects) = (0u64, 0u64);
        let mut holes = Vec::new();
        let mut empty = Vec::new();
        for i in 0..gc.chunks.len() {
            let chunk = gc.chunks[i].chunk;
            if !gc.chunks[i].live {
                empty.push(chunk);
                continue;
            }
            live_chunks += chunk.size as u64;
            if chunk.size != CHUNK {
                live_objects += chunk.size as u64;
                // A large object's own chunk: no holes, since objects must start in
                // the first `CHUNK` bytes of their chunk (`GcObject::from_raw` finds
                // the store there, `chunk_of` the chunk), and its tail is never used.
                continue;
            }
            let mut free_from = chunk.start() + CHUNK_HEADER;
            let gap = |from: usize, to: usize, holes: &mut Vec<(usize, usize)>| {
                if to - from >= MIN_HOLE {
                    holes.push((from, to));
                } else {
                    // SAFETY: free bytes between objects, which nothing reaches.
                    unsafe { std::ptr::write_bytes(from as *mut u8, 0, to - from) };
                }
            };
            for w in 0..gc.chunks[i].marks.len() {
                let mut marks = gc.chunks[i].marks[w];
                while marks != 0 {
                    let bit = marks.trailing_zeros() as usize;
                    marks &= marks - 1;
                    let at = chunk.start() + (w * 64 + bit) * 8;
                    // SAFETY: a marked object.
                    let size = unsafe { gc.size_of(at) }.unwrap_or(8);
                    gap(free_from, at, &mut holes);
                    free_from = at + size;
                    live_objects += size as u64;
                }
            }
            gap(free_from, chunk.end(), &mut holes);
        }
        // The next collection when the heap has grown to twice what survived (counting
        // objects, not the chunks they keep: a few survivors in every chunk must not
        // make the heap grow) or, if it is larger already, when its holes run out.
        // Empty chunks are kept (as holes) within that.
        let threshold = self.collect_after.max(2 * live_objects);
        let mut kept = live_chunks;
        let mut chunks = self.chunks.borrow_mut();
        for chunk in empty {
            if chunk.size == CHUNK && kept + chunk.size as u64 <= threshold {
                kept += chunk.size as u64;
                holes.push((chunk.start() + CHUNK_HEADER, chunk.end()));
                continue;
            }
            chunks.retain(|c| c.start() != chunk.start());
            // SAFETY: mapped by `new_chunk` with this size; nothing in it is alive.
            unsafe { unmap_aligned(chunk.base.as_ptr(), chunk.size) };
            self.mapped.set(self.mapped.get() - chunk.size as u64);
        }
        holes.sort_unstable_by_key(|&(start, _)| std::cmp::Reverse(start));
        *self.holes.borrow_mut() = holes;
        self.threshold.set(threshold.max(self.mapped.get()));
    }
}

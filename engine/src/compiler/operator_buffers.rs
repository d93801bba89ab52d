//! Operator buffers kept from one compilation for the next.
//!
//! The first pass buffers a 56-byte `Operator` per two bytes of code or so, and a fresh
//! buffer costs a page fault per 4 KiB the first time it is written: on the 2-core
//! AMD EPYC VMs of `bench/README.md`, 670 faults (about 1.5 ms of system time) in each
//! 11.5 ms compile of the webp encoder, whose largest function is 54 KB. Compiling
//! threads therefore take their buffer from here and give it back, so that a process
//! compiling module after module (a test suite, a server, a page loading several) faults
//! each buffer in once. They stay allocated (at most `MAX_KEPT` × `MAX_KEPT_BYTES`, 32
//! MiB, after compiling functions of 300 KB) until `release` frees them.

use std::sync::Mutex;
use wasmparser::Operator;

/// At most this many buffers are kept, the largest ones: enough for the compiling
/// threads of one module on a machine of a few cores.
const MAX_KEPT: usize = 4;
/// A buffer is kept only up to this many bytes (an 8 MiB buffer holds the operators of
/// a function of about 300 KB; the largest in the benchmark corpus has 207 KB).
const MAX_KEPT_BYTES: usize = 8 << 20;

/// The buffers every compilation shares.
static KEPT: Mutex<KeptBuffers> = Mutex::new(KeptBuffers(Vec::new()));

/// An empty buffer: the largest one kept, if any.
pub fn take<'a>() -> Vec<Operator<'a>> {
    KEPT.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take()
}

/// Frees every kept buffer (`sidewinder_engine::release_compile_buffers`).
pub fn release() {
    let buffers = std::mem::take(&mut KEPT.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).0);
    drop(buffers);
}

/// Keeps `buffer`'s allocation for a later `take`, if it is among the largest.
pub fn give_back(buffer: Vec<Operator<'_>>) {
    if let Some(buffer) = KeptBuffers::keepable(buffer) {
        KEPT.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).keep(buffer);
    }
}

/// Empty buffers with their allocations, smallest first.
struct KeptBuffers(Vec<Vec<Operator<'static>>>);

impl KeptBuffers {
    fn take<'a>(&mut self) -> Vec<Operator<'a>> {
        // `Operator` is covariant in its lifetime: a buffer for 'static operators is one
        // for any.
        self.0.pop().unwrap_or_default()
    }

    /// `buffer`, emptied, if it is worth keeping. Called without the lock held: clearing
    /// runs the destructors of operators that own memory.
    fn keepable(mut buffer: Vec<Operator<'_>>) -> Option<Vec<Operator<'static>>> {
        let bytes = buffer.capacity() * std::mem::size_of::<Operator<'_>>();
        if bytes == 0 || bytes > MAX_KEPT_BYTES {
            return None;
        }
        buffer.clear();
        let mut buffer = std::mem::ManuallyDrop::new(buffer);
        let (pointer, capacity) = (buffer.as_mut_ptr(), buffer.capacity());
        // SAFETY: the allocation came from a `Vec` of `capacity` operators, and
        // `Operator`'s layout does not depend on its lifetime; with a length of 0 the new
        // vector holds no operator that could borrow for less than 'static.
        Some(unsafe { Vec::from_raw_parts(pointer.cast::<Operator<'static>>(), 0, capacity) })
    }

    fn keep(&mut self, buffer: Vec<Operator<'static>>) {
        self.0.push(buffer);
        self.0.sort_unstable_by_key(Vec::capacity);
        if self.0.len() > MAX_KEPT {
            self.0.remove(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer_of(capacity: usize) -> Vec<Operator<'static>> {
        let mut buffer = Vec::with_capacity(capacity);
        buffer.push(Operator::Nop);
        buffer
    }

    #[test]
    fn the_largest_buffers_are_kept_empty_and_handed_out_largest_first() {
        let mut kept = KeptBuffers(Vec::new());
        for capacity in [300, 100, 500, 200, 400] {
            kept.keep(KeptBuffers::keepable(buffer_of(capacity)).expect("small enough to keep"));
        }
        let capacities: Vec<usize> = std::iter::from_fn(|| {
            let buffer = kept.take();
            assert!(buffer.is_empty());
            (buffer.capacity() > 0).then_some(buffer.capacity())
        })
        .collect();
        assert_eq!(capacities, [500, 400, 300, 200], "at most {MAX_KEPT}, the smallest dropped");
    }

    #[test]
    fn buffers_past_the_limit_are_freed() {
        let limit = MAX_KEPT_BYTES / std::mem::size_of::<Operator<'_>>();
        assert!(KeptBuffers::keepable(buffer_of(limit + 1)).is_none());
        assert!(KeptBuffers::keepable(buffer_of(limit)).is_some());
        assert!(KeptBuffers::keepable(Vec::new()).is_none());
    }

    #[test]
    fn a_buffer_holding_operators_that_own_memory_is_kept_empty() {
        // A `try_table` owns its list of catch clauses. This checks the buffer comes back
        // empty; that the list is freed (cleared, not forgotten) only a leak checker
        // such as Miri would see.
        let bytes = wat::parse_str("(module (tag) (func try_table (catch 0 0) end))").expect("valid wat");
        let mut buffer: Vec<Operator<'_>> = Vec::with_capacity(8);
        for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
            if let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload {
                let mut reader = body.get_operators_reader().expect("operators");
                while !reader.eof() {
                    buffer.push(reader.read().expect("operator"));
                }
            }
        }
        assert!(buffer.iter().any(|op| matches!(op, Operator::TryTable { .. })));
        let kept = KeptBuffers::keepable(buffer).expect("small enough to keep");
        assert!(kept.is_empty() && kept.capacity() >= 8);
    }
}

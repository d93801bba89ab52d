//! Traps: the ways a WebAssembly computation can abort.

use crate::runtime::backtrace::{BacktraceFrame, MAX_FRAMES};
use crate::runtime::exception::Exception;
use std::any::Any;
use std::fmt;

/// Why wasm code trapped. The numeric values are what machine code writes into
/// `VMRuntime::trap_code`, so they are part of the ABI between the compiler and runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum TrapCode {
    Unreachable = 1,
    IntegerDivisionByZero = 2,
    IntegerOverflow = 3,
    BadConversionToInteger = 4,
    MemoryOutOfBounds = 5,
    TableOutOfBounds = 6,
    IndirectCallToNull = 7,
    BadSignature = 8,
    UninitializedElement = 9,
    StackOverflow = 10,
    /// A host function reported an error; the `Trap` carries its payload.
    Host = 11,
    /// `call_indirect` with an index past the end of the table.
    UndefinedElement = 12,
    /// `throw_ref` of a null exnref.
    NullExceptionReference = 13,
    /// `call_ref` or `return_call_ref` of a null function reference.
    NullFunctionReference = 14,
    /// `ref.as_non_null` of null.
    NullReference = 15,
    /// `ref.cast` (or a constant expression's cast) of a value not of the type.
    CastFailure = 16,
    NullStructReference = 17,
    NullArrayReference = 18,
    NullI31Reference = 19,
    /// An array access past the end of its array.
    ArrayOutOfBounds = 20,
    /// A struct or array that does not fit in its store's GC heap (`Config::gc_heap_limit`).
    AllocationTooLarge = 21,
    /// An atomic access at an address not a multiple of its size.
    UnalignedAtomic = 22,
    /// `memory.atomic.wait` on a memory that is not shared.
    ExpectedSharedMemory = 23,
    /// `memory.atomic.wait` that nothing could ever end: no timeout, the value as
    /// expected, and no other thread that can reach the memory to notify it.
    WaitForever = 24,
    /// `ref.cast_desc_eq`: the reference is not one with that descriptor.
    DescriptorCastFailure = 25,
    /// The custom descriptors proposal's instructions given a null descriptor.
    NullDescriptorReference = 26,
}

impl TrapCode {
    pub fn from_u32(code: u32) -> Option<TrapCode> {
        use TrapCode::*;
        Some(match code {
            1 => Unreachable,
            2 => IntegerDivisionByZero,
            3 => IntegerOverflow,
            4 => BadConversionToInteger,
            5 => MemoryOutOfBounds,
            6 => TableOutOfBounds,
            7 => IndirectCallToNull,
            8 => BadSignature,
            9 => UninitializedElement,
            10 => StackOverflow,
            11 => Host,
            12 => UndefinedElement,
            13 => NullExceptionReference,
            14 => NullFunctionReference,
            15 => NullReference,
            16 => CastFailure,
            17 => NullStructReference,
            18 => NullArrayReference,
            19 => NullI31Reference,
            20 => ArrayOutOfBounds,
            21 => AllocationTooLarge,
            22 => UnalignedAtomic,
            23 => ExpectedSharedMemory,
            24 => WaitForever,
            25 => DescriptorCastFailure,
            26 => NullDescriptorReference,
            _ => return None,
        })
    }

    /// The message the reference interpreter uses, which the spec tests match by prefix.
    pub fn message(self) -> &'static str {
        use TrapCode::*;
        match self {
            Unreachable => "unreachable",
            IntegerDivisionByZero => "integer divide by zero",
            IntegerOverflow => "integer overflow",
            BadConversionToInteger => "invalid conversion to integer",
            MemoryOutOfBounds => "out of bounds memory access",
            TableOutOfBounds => "out of bounds table access",
            IndirectCallToNull => "uninitialized element",
            BadSignature => "indirect call type mismatch",
            UninitializedElement => "uninitialized element",
            StackOverflow => "call stack exhausted",
            Host => "host function error",
            UndefinedElement => "undefined element",
            NullExceptionReference => "null exception reference",
            NullFunctionReference => "null function reference",
            NullReference => "null reference",
            CastFailure => "cast failure",
            NullStructReference => "null structure reference",
            NullArrayReference => "null array reference",
            NullI31Reference => "null i31 reference",
            ArrayOutOfBounds => "out of bounds array access",
            AllocationTooLarge => "allocation too large",
            UnalignedAtomic => "unaligned atomic",
            ExpectedSharedMemory => "expected shared memory",
            WaitForever => "memory.atomic.wait would wait forever: no other thread can notify",
            DescriptorCastFailure => "descriptor cast failure",
            NullDescriptorReference => "null descriptor reference",
        }
    }
}

/// A trap returned to the Rust caller. Host functions may attach an arbitrary payload
/// (for example a JavaScript exception) that travels unchanged through wasm frames.
pub struct Trap {
    code: TrapCode,
    payload: Option<Box<dyn Any>>,
    message: Option<String>,
    exception: Option<Exception>,
    backtrace: Vec<BacktraceFrame>,
}

impl Trap {
    pub fn new(code: TrapCode) -> Trap {
        Trap { code, payload: None, message: None, exception: None, backtrace: Vec::new() }
    }

    /// A trap raised by a host function, carrying whatever the host wants back.
    pub fn host(payload: Box<dyn Any>) -> Trap {
        Trap {
            code: TrapCode::Host,
            payload: Some(payload),
            message: None,
            exception: None,
            backtrace: Vec::new(),
        }
    }

    /// A host trap with a plain message.
    pub fn host_message(message: impl Into<String>) -> Trap {
        Trap {
            code: TrapCode::Host,
            payload: None,
            message: Some(message.into()),
            exception: None,
            backtrace: Vec::new(),
        }
    }

    /// Not a trap: what a host function returns to throw a wasm exception, which
    /// handlers in the calling wasm frames can catch (an uncaught one reaches the Rust
    /// caller as `Error::Exception`).
    pub fn throw(exception: Exception) -> Trap {
        Trap {
            code: TrapCode::Host,
            payload: None,
            message: None,
            exception: Some(exception),
            backtrace: Vec::new(),
        }
    }

    /// The exception, for what `Trap::throw` made.
    pub fn exception(&self) -> Option<&Exception> {
        self.exception.as_ref()
    }

    pub(crate) fn into_exception(self) -> Result<Exception, Trap> {
        match self.exception {
            Some(e) => Ok(e),
            None => Err(self),
        }
    }

    pub fn code(&self) -> TrapCode {
        self.code
    }

    /// The wasm frames the trap unwound, innermost first, at most
    /// `backtrace::MAX_FRAMES`: those of the activation it ended (frames of wasm further
    /// out, below a host call, are not part of it). Empty for a trap that never ran
    /// wasm code.
    pub fn backtrace(&self) -> &[BacktraceFrame] {
        &self.backtrace
    }

    /// Adds the frames of the activation the trap ended below those it has: a trap a
    /// host function passes on from its own wasm call has the inner frames already.
    pub(crate) fn with_backtrace(mut self, frames: Vec<BacktraceFrame>) -> Trap {
        if self.backtrace.is_empty() {
            self.backtrace = frames;
        } else {
            let room = MAX_FRAMES.saturating_sub(self.backtrace.len());
            self.backtrace.extend(frames.into_iter().take(room));
        }
        self
    }

    pub fn payload(&self) -> Option<&dyn Any> {
        self.payload.as_deref()
    }

    pub fn into_payload(self) -> Option<Box<dyn Any>> {
        self.payload
    }
}

impl fmt::Debug for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Trap({:?}: {})", self.code, self)
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => f.write_str(m),
            None => f.write_str(self.code.message()),
        }
    }
}

impl std::error::Error for Trap {}

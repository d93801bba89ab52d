//! Errors from compiling, linking and instantiating modules.

use crate::runtime::exception::Exception;
use crate::trap::Trap;
use std::fmt;

#[derive(Debug)]
pub enum Error {
    /// The bytes are not a well-formed or valid module. `offset` is the byte offset
    /// the decoder or validator reported.
    Compile { message: String, offset: usize },
    /// Imports do not match what the module declares.
    Link(String),
    /// Instantiation or a call trapped.
    Trap(Trap),
    /// A wasm exception nobody caught left the call (a `throw`, or an exception a host
    /// function threw with `Trap::throw`).
    Exception(Exception),
    /// A resource limit was hit (for example address space for a memory reservation).
    Resource(String),
    /// This machine or this feature is not supported by the compiler.
    Unsupported(String),
}

impl Error {
    pub fn compile(message: impl Into<String>, offset: usize) -> Error {
        Error::Compile { message: message.into(), offset }
    }

    /// A bug of the compiler's that it caught (a panic, a broken invariant), refused as
    /// unsupported rather than taking the embedder down.
    pub(crate) fn internal(what: &str) -> Error {
        Error::Unsupported(format!("{INTERNAL_ERROR}: {what}"))
    }

    /// Whether this is an error `internal` made: a compiler bug, whatever the input.
    pub fn is_internal(&self) -> bool {
        matches!(self, Error::Unsupported(m) if m.starts_with(INTERNAL_ERROR))
    }
}

const INTERNAL_ERROR: &str = "internal compiler error";

impl From<wasmparser::BinaryReaderError> for Error {
    fn from(e: wasmparser::BinaryReaderError) -> Error {
        Error::Compile { message: e.message().to_string(), offset: e.offset() as usize }
    }
}

impl From<Trap> for Error {
    fn from(t: Trap) -> Error {
        Error::Trap(t)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Compile { message, offset } => write!(f, "{message} (at offset {offset:#x})"),
            Error::Link(m) => write!(f, "link error: {m}"),
            Error::Trap(t) => write!(f, "trap: {t}"),
            Error::Exception(e) => write!(f, "uncaught exception: {e:?}"),
            Error::Resource(m) => write!(f, "resource limit: {m}"),
            Error::Unsupported(m) => write!(f, "unsupported: {m}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

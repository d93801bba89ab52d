//! Runs the web-platform-tests `wasm/jsapi` suite against `sidewinder-js` inside Boa.
//!
//! The entry point is the `wpt` integration test (`tests/wpt.rs`, `harness = false`), which
//! calls [`runner::main`]. The pieces:
//! - [`manifest`]: the `// META:` header of a test (which scopes, which helper scripts);
//! - [`harness`]: one realm per test file, with the shell prelude, testharness.js, our
//!   reporter, the helpers and the test, and the job/timer loop that drives it to completion;
//! - [`expectations`]: the list of subtests known not to pass;
//! - [`runner`]: file discovery, the per-file threads and watchdog, and the summary.

pub mod expectations;
pub mod harness;
pub mod manifest;
pub mod runner;

use std::fmt;

/// The outcome of one subtest, with testharness.js's names, plus `ERROR` for the file-level
/// `[harness]` entry (testharness.js has no subtest status for "the file itself broke").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Pass,
    Fail,
    Timeout,
    NotRun,
    PreconditionFailed,
    Error,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Pass,
        Status::Fail,
        Status::Timeout,
        Status::NotRun,
        Status::PreconditionFailed,
        Status::Error,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Timeout => "TIMEOUT",
            Status::NotRun => "NOTRUN",
            Status::PreconditionFailed => "PRECONDITION_FAILED",
            Status::Error => "ERROR",
        }
    }

    pub fn from_name(name: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One reported subtest of one file (or the file's `[harness]` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subtest {
    pub name: String,
    pub status: Status,
    /// testharness.js's message (an assertion text or an exception), empty for a pass.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::Status;

    #[test]
    fn status_names_round_trip() {
        for status in Status::ALL {
            assert_eq!(Status::from_name(status.name()), Some(status));
        }
        assert_eq!(Status::from_name("pass"), None);
    }
}

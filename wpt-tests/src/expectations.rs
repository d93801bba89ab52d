//! `expectations.txt`: the subtests that are known not to pass.
//!
//! One entry per line, `file | subtest name | STATUS | reason`. Subtest names are arbitrary
//! JavaScript strings (some contain `|`, quotes or even newlines), so fields are escaped:
//! `\\`, `\|`, `\n` and `\r`, plus `\s` / `\t` for whitespace at either end of a field,
//! which would otherwise be lost to the trimming that keeps hand-edited files forgiving.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::Status;

/// Reasons are a hint for the reader, not a full log: the run prints full messages anyway.
pub const REASON_MAX_CHARS: usize = 160;

const HEADER: &str = "\
# Known non-passing subtests of WPT wasm/jsapi, checked by wpt-tests/tests/wpt.rs.
#
# Format: `file | subtest name | STATUS | reason`, one subtest per line. `file` is relative to
# wasm/jsapi. STATUS is what the subtest reported when this file was generated: FAIL, TIMEOUT,
# NOTRUN or PRECONDITION_FAILED; the `<file> [harness]` entries stand for a file-level problem
# (an uncaught exception, a harness error or a timeout) and carry ERROR or TIMEOUT. A listed
# subtest that does not pass, with whatever status, is an expected failure; an unlisted one
# fails the run; a listed one that passes is reported as NOW PASSING and should be removed.
# In names and reasons, `\\|`, `\\\\`, `\\n` and `\\r` stand for `|`, `\\`, newline and carriage
# return, and `\\s` / `\\t` for a space / tab at either end. `#` starts a comment line.
#
# Regenerate with: SIDEWINDER_WPT_BLESS=1 cargo test -p sidewinder-wpt --test wpt
# (with a filter active, only the entries of the files that ran are replaced).
";

/// One line of the expectations file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub file: String,
    pub name: String,
    pub status: Status,
    pub reason: String,
}

/// A line that could not be understood; reported, then ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based.
    pub line: usize,
    pub message: String,
}

/// Entries keyed by (file, subtest name), in file order.
pub type Expectations = BTreeMap<(String, String), Entry>;

/// Parses an expectations file. Malformed lines are returned as errors rather than failing
/// the whole parse, so one bad hand edit does not hide every other expectation.
pub fn parse(text: &str) -> (Expectations, Vec<ParseError>) {
    let mut entries = Expectations::new();
    let mut errors = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = trim_edges(raw);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let error = |message: String| ParseError { line: index + 1, message };
        let fields = split_fields(line);
        let (file, name, status, reason) = match fields.as_slice() {
            [file, name, status] => (file, name, status, ""),
            [file, name, status, reason] => (file, name, status, reason.as_str()),
            _ => {
                errors.push(error(format!(
                    "expected `file | subtest name | STATUS | reason`, found {} field(s)",
                    fields.len()
                )));
                continue;
            }
        };
        let Some(status) = Status::from_name(status) else {
            errors.push(error(format!("unknown status `{status}`")));
            continue;
        };
        if status == Status::Pass {
            errors.push(error("PASS is not an expectation; remove the line".into()));
            continue;
        }
        if file.is_empty() || name.is_empty() {
            errors.push(error("empty file or subtest name".into()));
            continue;
        }
        let entry = Entry { file: file.clone(), name: name.clone(), status, reason: reason.to_string() };
        if entries.insert((file.clone(), name.clone()), entry).is_some() {
            errors.push(error(format!("duplicate entry for `{file} | {name}`")));
        }
    }
    (entries, errors)
}

/// Renders a whole expectations file, header included, sorted by file and name.
pub fn render(entries: &Expectations) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for entry in entries.values() {
        let _ = writeln!(
            out,
            "{} | {} | {} | {}",
            escape(&entry.file),
            escape(&entry.name),
            entry.status.name(),
            escape(&short_reason(&entry.reason)),
        );
    }
    out
}

/// The first non-empty line of `message`, cut to [`REASON_MAX_CHARS`].
pub fn short_reason(message: &str) -> String {
    let first = message.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let mut reason: String = first.chars().take(REASON_MAX_CHARS).collect();
    if first.chars().nth(REASON_MAX_CHARS).is_some() {
        reason.pop();
        reason.push('…');
    }
    reason
}

/// Splits on unescaped `|`, unescaping and trimming each field.
fn split_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    // Trimming must not eat whitespace that came from an escape, so trim the raw text of each
    // field before unescaping it.
    let mut raw = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                raw.push('\\');
                if let Some(next) = chars.next() {
                    raw.push(next);
                }
            }
            '|' => {
                fields.push(unescape(trim_edges(&raw)));
                raw.clear();
            }
            _ => raw.push(c),
        }
    }
    fields.push(unescape(trim_edges(&raw)));
    fields
}

fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('s') => out.push(' '),
            Some('t') => out.push('\t'),
            // `\\`, `\|` and anything unknown stand for the character itself.
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Only spaces and tabs are padding; any other whitespace in a name is significant and kept.
fn trim_edges(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

fn escape(field: &str) -> String {
    let leading = field.len() - field.trim_start_matches([' ', '\t']).len();
    let trailing_start = field.trim_end_matches([' ', '\t']).len().max(leading);
    let mut out = String::with_capacity(field.len());
    for (at, c) in field.char_indices() {
        let at_edge = at < leading || at >= trailing_start;
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            ' ' if at_edge => out.push_str("\\s"),
            '\t' if at_edge => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(file: &str, name: &str, status: Status, reason: &str) -> Entry {
        Entry { file: file.into(), name: name.into(), status, reason: reason.into() }
    }

    #[test]
    fn parses_entries_and_skips_comments() {
        let (entries, errors) = parse(
            "# comment\n\
             \n\
             memory/grow.any.js | Missing arguments | FAIL | TypeError: not a constructor\n\
             \x20 interface.any.js | WebAssembly: property descriptor | TIMEOUT |\n\
             constructor/compile.any.js | compile [harness] | ERROR\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let got: Vec<&Entry> = entries.values().collect();
        assert_eq!(
            got,
            [
                &entry("constructor/compile.any.js", "compile [harness]", Status::Error, ""),
                &entry("interface.any.js", "WebAssembly: property descriptor", Status::Timeout, ""),
                &entry(
                    "memory/grow.any.js",
                    "Missing arguments",
                    Status::Fail,
                    "TypeError: not a constructor"
                ),
            ]
        );
    }

    #[test]
    fn reports_malformed_lines_and_keeps_the_rest() {
        let (entries, errors) = parse(
            "a.any.js | only two\n\
             a.any.js | x | BOGUS | r\n\
             a.any.js | x | PASS | r\n\
             a.any.js | ok | NOTRUN | r\n\
             a.any.js | ok | FAIL | again\n\
             \x20| x | FAIL | r\n",
        );
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 2, 3, 5, 6]);
        assert_eq!(entries.len(), 1);
    }

    #[test]
    fn escaped_names_round_trip() {
        let awkward = [
            "plain",
            "pipe | in | name",
            "back\\slash \\| mixed",
            "new\nline\r\n",
            " leading and trailing  ",
            "\ttab",
            "unicode: ✓ \u{1F600}",
        ];
        let mut entries = Expectations::new();
        for name in awkward {
            let e = entry("dir/f.any.js", name, Status::PreconditionFailed, "why | so");
            entries.insert((e.file.clone(), e.name.clone()), e);
        }
        let text = render(&entries);
        let (parsed, errors) = parse(&text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(parsed, entries);
    }

    #[test]
    fn rendered_file_starts_with_the_header() {
        let text = render(&Expectations::new());
        assert!(text.starts_with("# Known non-passing subtests"));
        assert!(text.contains("SIDEWINDER_WPT_BLESS=1"));
        let (parsed, errors) = parse(&text);
        assert!(parsed.is_empty() && errors.is_empty());
    }

    #[test]
    fn reasons_are_one_short_line() {
        assert_eq!(short_reason("\n  first  \nsecond"), "first");
        let long = "x".repeat(500);
        let reason = short_reason(&long);
        assert_eq!(reason.chars().count(), REASON_MAX_CHARS);
        assert!(reason.ends_with('…'));
        assert_eq!(short_reason(&"y".repeat(REASON_MAX_CHARS)).len(), REASON_MAX_CHARS);
    }
}

//! The `// META:` header of a WPT `.any.js` test.
//!
//! wpt's own manifest tool (`tools/manifest/sourcefile.py`, `read_script_metadata`) only reads
//! META comments from the top of the file and stops at the first line that is not one, so a
//! `// META:` further down is ordinary text. We follow the same rule so that we run exactly the
//! files, with exactly the helpers, that wpt itself would.

use std::path::{Path, PathBuf};

/// The parts of a test's META header that a shell runner needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Meta {
    /// Every scope named by `global=` lines, in order, `!`-exclusions included as written.
    pub globals: Vec<String>,
    /// `script=` helpers, in order, exactly as written.
    pub scripts: Vec<String>,
    /// `timeout=long`: wpt gives such tests a longer harness timeout; we stretch the watchdog.
    pub long_timeout: bool,
    /// `title=`, which testharness.js prefers over `location` to name unnamed subtests.
    pub title: Option<String>,
}

impl Meta {
    /// Parses the META header at the top of `source`.
    pub fn parse(source: &str) -> Meta {
        let mut meta = Meta::default();
        for line in source.lines() {
            let Some(rest) = meta_body(line) else {
                break;
            };
            let Some((key, value)) = rest.split_once('=') else {
                continue;
            };
            let value = value.trim();
            match key.trim() {
                "global" => meta
                    .globals
                    .extend(value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)),
                "script" if !value.is_empty() => meta.scripts.push(value.to_string()),
                "timeout" => meta.long_timeout = value == "long",
                "title" => meta.title = Some(value.to_string()),
                // `variant=` (query-string variants) and anything newer are not used by
                // wasm/jsapi; ignoring them runs the test once with no query, as a shell would.
                _ => {}
            }
        }
        meta
    }

    /// Whether wpt would run this test in a JavaScript shell.
    ///
    /// Without any `global=` line wpt uses its default scopes (window and dedicatedworker),
    /// which do not include `jsshell`; an explicit `!jsshell` excludes it again.
    pub fn runs_in_jsshell(&self) -> bool {
        let mut included = false;
        for scope in &self.globals {
            match scope.as_str() {
                "jsshell" => included = true,
                "!jsshell" => included = false,
                _ => {}
            }
        }
        included
    }
}

/// The text after `// META:` (or wpt's also-accepted `//META:`), if `line` is a META comment.
fn meta_body(line: &str) -> Option<&str> {
    let comment = line.strip_prefix("//")?;
    comment.trim_start().strip_prefix("META:")
}

/// Where a `script=` helper lives: absolute paths are rooted at the wpt checkout (the URL path
/// of the wpt server), relative ones at the folder of the test that names them.
pub fn resolve_script(wpt_root: &Path, test_dir: &Path, script: &str) -> PathBuf {
    // A query string or fragment would select server-side behaviour we do not have.
    let script = script.split(['?', '#']).next().unwrap_or(script);
    match script.strip_prefix('/') {
        Some(rooted) => join_url_path(wpt_root, rooted),
        None => join_url_path(test_dir, script),
    }
}

/// Joins a `/`-separated URL path onto `base`, resolving `.` and `..` lexically, because the
/// files are named by URL, not by whatever the file system would make of symlinks.
fn join_url_path(base: &Path, url_path: &str) -> PathBuf {
    let mut path = base.to_path_buf();
    for part in url_path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                path.pop();
            }
            part => path.push(part),
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_globals_scripts_and_options() {
        let meta = Meta::parse(
            "// META: global=window,dedicatedworker,jsshell,shadowrealm\n\
             // META: script=/wasm/jsapi/wasm-module-builder.js\n\
             //META: script=assertions.js\n\
             // META: timeout=long\n\
             // META: title=Some title\n\
             \n\
             test(() => {});\n",
        );
        assert_eq!(meta.globals, ["window", "dedicatedworker", "jsshell", "shadowrealm"]);
        assert_eq!(meta.scripts, ["/wasm/jsapi/wasm-module-builder.js", "assertions.js"]);
        assert!(meta.long_timeout);
        assert_eq!(meta.title.as_deref(), Some("Some title"));
        assert!(meta.runs_in_jsshell());
    }

    #[test]
    fn stops_at_the_first_non_meta_line() {
        let meta = Meta::parse(
            "// META: script=/a.js\n\
             'use strict';\n\
             // META: global=jsshell\n\
             // META: script=/b.js\n",
        );
        assert_eq!(meta.scripts, ["/a.js"]);
        assert!(meta.globals.is_empty());
        assert!(!meta.runs_in_jsshell());
    }

    #[test]
    fn global_line_may_follow_scripts() {
        // idlharness.any.js and others put `global=` last.
        let meta = Meta::parse(
            "// META: script=/resources/WebIDLParser.js\n\
             // META: global=window,dedicatedworker,shadowrealm-in-window\n",
        );
        assert_eq!(meta.scripts, ["/resources/WebIDLParser.js"]);
        assert!(!meta.runs_in_jsshell());
    }

    #[test]
    fn jsshell_needs_an_explicit_scope() {
        assert!(!Meta::parse("test(() => {});\n").runs_in_jsshell());
        assert!(!Meta::parse("// META: global=window,worker\n").runs_in_jsshell());
        assert!(!Meta::parse("// META: global=jsshell,!jsshell\n").runs_in_jsshell());
        assert!(Meta::parse("// META: global=window\n// META: global= jsshell \n").runs_in_jsshell());
    }

    #[test]
    fn ignores_malformed_and_unknown_lines() {
        let meta = Meta::parse(
            "// META: nonsense\n// META: variant=?x\n// META: script=\n// META: global=jsshell\n",
        );
        assert!(meta.scripts.is_empty());
        assert!(meta.runs_in_jsshell());
        assert!(!meta.long_timeout);
    }

    #[test]
    fn handles_crlf_line_endings() {
        let meta = Meta::parse("// META: global=jsshell\r\n// META: script=/x.js\r\n");
        assert!(meta.runs_in_jsshell());
        assert_eq!(meta.scripts, ["/x.js"]);
    }

    #[test]
    fn resolves_rooted_and_relative_scripts() {
        let root = Path::new("/wpt");
        let dir = Path::new("/wpt/wasm/jsapi/memory");
        assert_eq!(
            resolve_script(root, dir, "/wasm/jsapi/assertions.js"),
            Path::new("/wpt/wasm/jsapi/assertions.js")
        );
        assert_eq!(
            resolve_script(root, dir, "assertions.js"),
            Path::new("/wpt/wasm/jsapi/memory/assertions.js")
        );
        assert_eq!(
            resolve_script(root, dir, "../../resources/load_wasm.js"),
            Path::new("/wpt/wasm/resources/load_wasm.js")
        );
        assert_eq!(resolve_script(root, dir, "./x.js?pipe=sub"), Path::new("/wpt/wasm/jsapi/memory/x.js"));
    }
}

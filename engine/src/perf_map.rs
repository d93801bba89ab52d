//! Linux perf's map of JIT code (`/tmp/perf-PID.map`: one `START SIZE NAME` line per
//! function), written for each compiled module when `SIDEWINDER_PERF_MAP` is set, so
//! that `perf report` (and `bench/profile/callgrind_jit.py` for callgrind) can name the
//! wasm functions that samples land in. Names come from the module's name section, or
//! are `wasm-function[INDEX]` as in V8's and Wasmtime's maps.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Mutex, OnceLock};
use wasmparser::{KnownCustom, Name, Parser, Payload};

/// Whether maps are written: read once, so a module compiled without the variable costs
/// one load.
pub(crate) fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED
        .get_or_init(|| std::env::var_os("SIDEWINDER_PERF_MAP").is_some_and(|v| !v.is_empty() && v != "0"))
}

/// Appends the defined functions of a module to the map (see `map_lines`). A map that
/// cannot be written is skipped: profiling is never worth failing a compile for.
pub(crate) fn record(bytes: &[u8], num_imported: u32, code_base: usize, code_len: usize, offsets: &[u32]) {
    // Modules compiled on several threads append whole blocks of lines.
    static FILE: Mutex<()> = Mutex::new(());
    let text = map_lines(bytes, num_imported, code_base, code_len, offsets);
    let _guard = FILE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let path = format!("/tmp/perf-{}.map", std::process::id());
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = file.write_all(text.as_bytes());
    }
}

/// The map's lines for a module: defined function `i` (after `num_imported` imports)
/// occupies `[offsets[i], offsets[i + 1])` of the `code_len` bytes of code at `code_base`.
fn map_lines(bytes: &[u8], num_imported: u32, code_base: usize, code_len: usize, offsets: &[u32]) -> String {
    let names = function_names(bytes);
    let mut text = String::new();
    for (i, &start) in offsets.iter().enumerate() {
        let end = offsets.get(i + 1).map_or(code_len, |&e| e as usize);
        let index = num_imported + i as u32;
        let address = code_base + start as usize;
        let size = end.saturating_sub(start as usize);
        match names.get(&index) {
            Some(name) => text.push_str(&format!("{address:x} {size:x} {name}\n")),
            None => text.push_str(&format!("{address:x} {size:x} wasm-function[{index}]\n")),
        }
    }
    text
}

/// Function names from the name section, if the module has a readable one (a malformed
/// name section is not an error: the spec has custom sections ignored).
fn function_names(bytes: &[u8]) -> HashMap<u32, String> {
    let mut names = HashMap::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(Payload::CustomSection(section)) = payload else { continue };
        let KnownCustom::Name(reader) = section.as_known() else { continue };
        for subsection in reader.into_iter().flatten() {
            let Name::Function(map) = subsection else { continue };
            for naming in map.into_iter().flatten() {
                // Newlines would break the map's line format.
                names.insert(naming.index, naming.name.replace(['\n', '\r'], " "));
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_name_functions_from_the_name_section_or_by_index() {
        let wasm = wat::parse_str(
            r#"(module
                 (import "m" "f" (func $imported))
                 (func $first) (func) (func $"line\0abreak"))"#,
        )
        .expect("valid wat");
        let text = map_lines(&wasm, 1, 0x1000, 0x60, &[0, 0x10, 0x30]);
        assert_eq!(text, "1000 10 first\n1010 20 wasm-function[2]\n1030 30 line break\n");
    }
}

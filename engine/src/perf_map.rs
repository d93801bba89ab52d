//! Linux perf's map of JIT code (`/tmp/perf-PID.map`: one `START SIZE NAME` line per
//! function), written for each compiled module when `SIDEWINDER_PERF_MAP` is set, so
//! that `perf report` can name the wasm functions that samples land in. Names come from
//! the module's name section, or are `wasm-function[INDEX]` as in V8's and Wasmtime's
//! maps.

use crate::module::Module;
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

/// Appends the defined functions of `module`, compiled from `bytes`, to the map. A map
/// that cannot be written is skipped: profiling is never worth failing a compile for.
pub(crate) fn record(bytes: &[u8], module: &Module) {
    // Modules compiled on several threads append whole blocks of lines.
    static FILE: Mutex<()> = Mutex::new(());
    let text = map_lines(bytes, module);
    let _guard = FILE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let path = format!("/tmp/perf-{}.map", std::process::id());
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = file.write_all(text.as_bytes());
    }
}

/// The map's lines for a module: each defined function's code, as `function_code` has it.
fn map_lines(bytes: &[u8], module: &Module) -> String {
    let names = function_names(bytes);
    let mut text = String::new();
    let first_defined = module.0.info.num_imported_funcs;
    for (index, code) in (first_defined..).map_while(|i| Some((i, module.function_code(i)?))) {
        let (address, size) = (code.as_ptr() as usize, code.len());
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
        let module = Module::new(&crate::Engine::default(), &wasm).expect("compiles");
        let line = |index: u32, name: &str| {
            let code = module.function_code(index).expect("a defined function");
            format!("{:x} {:x} {name}\n", code.as_ptr() as usize, code.len())
        };
        let want = line(1, "first") + &line(2, "wasm-function[2]") + &line(3, "line break");
        assert_eq!(map_lines(&wasm, &module), want);
        // Nothing defined, nothing listed.
        let imports_only = wat::parse_str(r#"(module (import "m" "f" (func)))"#).expect("valid wat");
        let module = Module::new(&crate::Engine::default(), &imports_only).expect("compiles");
        assert_eq!(map_lines(&imports_only, &module), "");
    }
}

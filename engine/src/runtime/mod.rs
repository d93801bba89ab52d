//! The runtime: everything compiled code runs against.
mod address_hash;
pub mod backtrace;
pub mod code_memory;
pub mod exception;
pub mod extern_caller;
pub mod fiber;
pub mod func;
pub mod gc;
mod gc_collector;
pub mod global;
pub mod instance;
pub mod libcalls;
pub mod memory;
pub mod signals;
pub mod store;
pub mod table;
pub mod unwind;
pub mod vmcontext;
pub mod wasm_memory;

/// The `VmFlags` line of `/proc/self/smaps` for the mapping that holds `addr`.
#[cfg(all(test, target_os = "linux"))]
pub(crate) fn mapping_flags(addr: usize) -> String {
    let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
    let mut inside = false;
    for line in smaps.lines() {
        let range = line.split_whitespace().next().and_then(|r| r.split_once('-'));
        if let Some((start, end)) = range {
            if let (Ok(start), Ok(end)) = (usize::from_str_radix(start, 16), usize::from_str_radix(end, 16)) {
                inside = (start..end).contains(&addr);
                continue;
            }
        }
        if inside {
            if let Some(flags) = line.strip_prefix("VmFlags:") {
                return flags.trim().to_string();
            }
        }
    }
    panic!("no mapping holds {addr:#x}");
}

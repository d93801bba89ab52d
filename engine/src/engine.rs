//! Engine-wide configuration.

use crate::error::{Error, Result};
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Bytes of native stack wasm code may use below the outermost entry into it (each
    /// store measures from its own); deeper recursion traps with "call stack
    /// exhausted". The calling thread's stack must have this much room plus some for
    /// host calls.
    pub max_wasm_stack: usize,
    /// Compile an explicit bounds check before every memory access instead of relying
    /// on guard pages. Required for memories whose bytes the engine does not reserve
    /// itself (`Memory::new_external` without guard pages).
    pub explicit_bounds_checks: bool,
    /// Threads that compile a module's functions; 0 means one per available core.
    /// Small modules always compile on the calling thread.
    pub compile_threads: usize,
    /// Address space each `Fiber` reserves for its stack (committed as touched). Host
    /// code called on a fiber (JavaScript, for JSPI) needs as much as on the thread
    /// that runs the rest: embedders that size a thread's stack should use the same.
    pub fiber_stack_size: usize,
    /// Ask Linux for transparent huge pages (`madvise(MADV_HUGEPAGE)`) for linear
    /// memories (the JS API does it for its own memories' blocks too; see
    /// `runtime::memory::advise_huge_pages`). Memory-bound code can then miss the TLB
    /// far less (the hashtab benchmark ran 33 % faster), and touching one byte of a
    /// 2 MiB stretch can make all of it resident. Off by default: on the 2-core VMs this
    /// was measured on, the same benchmarks also ran up to 27 % (sha256) and 45 %
    /// (hashtab) slower in processes that had run other engines first, in the compiled
    /// code itself, for reasons not found. A hint: with THP off system-wide it changes
    /// nothing. Code of 2 MiB or more always asks (it is written once, then only read).
    pub huge_pages: bool,
    /// Accept modules with more than one memory (the multi-memory proposal, part of
    /// WebAssembly 3.0). Off, such modules are invalid, as WebAssembly 2.0 has them (its
    /// spec suite asserts so).
    pub multi_memory: bool,
    /// Accept the GC proposal (WebAssembly 3.0): recursion groups, declared subtypes,
    /// struct and array types, `i31`, the `any`/`eq` hierarchy, casts, and constant
    /// expressions that read globals the module defines. Off, modules are validated as
    /// WebAssembly 2.0 and function references have them (its spec suite asserts that a
    /// constant expression may read imported globals only).
    pub gc_types: bool,
    /// Accept the custom descriptors proposal (with `gc_types`): exact reference types
    /// `(exact $t)`, struct types with `descriptor` and `describes` clauses,
    /// `struct.new_desc`, `ref.get_desc`, `ref.cast_desc_eq`, `br_on_cast_desc_eq(_fail)`
    /// and exact function imports. Off by default: the proposal also relaxes
    /// `br_on_cast`'s validation, which WebAssembly 3.0's own scripts assert against.
    pub custom_descriptors: bool,
    /// Bytes of GC heap a store may map for its structs and arrays (1 MiB chunks, and
    /// an object of 256 KiB or more in a chunk of its own size); an allocation that
    /// does not fit even after a collection traps with "allocation too large".
    pub gc_heap_limit: u64,
    /// Bytes of GC heap a store maps before its first collection; after each, the next
    /// comes when the heap has grown to twice what held survivors (at least this much).
    /// 0 collects at every allocation compiled code cannot make in line, and gives it
    /// room for one object at a time, and runs an exception reclamation whenever the
    /// store keeps another exception: a mode for testing the collector.
    pub gc_collect_after: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_wasm_stack: 1 << 20,
            explicit_bounds_checks: false,
            compile_threads: 0,
            fiber_stack_size: 256 << 20,
            huge_pages: false,
            multi_memory: true,
            gc_types: true,
            custom_descriptors: false,
            gc_heap_limit: 1 << 30,
            gc_collect_after: 16 << 20,
        }
    }
}

/// Compiles modules. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    config: Arc<Config>,
}

impl Engine {
    pub fn new(config: Config) -> Result<Engine> {
        let engine = Engine { config: Arc::new(config) };
        engine.check_supported()?;
        Ok(engine)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn check_supported(&self) -> Result<()> {
        if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
            return Err(Error::Unsupported(format!(
                "unsupported architecture: the compiler targets x86-64 Linux, this is {}-{}",
                std::env::consts::ARCH,
                std::env::consts::OS
            )));
        }
        if !has_required_cpu_features() {
            return Err(Error::Unsupported(
                "this CPU lacks SSSE3, SSE4.1, SSE4.2, POPCNT, LZCNT or BMI1".into(),
            ));
        }
        Ok(())
    }

    #[inline]
    pub(crate) fn trampolines(&self) -> Result<&'static crate::isa::x64::trampolines::Trampolines> {
        crate::isa::x64::trampolines::trampolines(crate::runtime::func::host_shim)
    }
}

#[cfg(target_arch = "x86_64")]
fn has_required_cpu_features() -> bool {
    // SSSE3 and SSE4.2 for SIMD (pshufb, pabs*, pcmpgtq); every x86-64 with POPCNT
    // and LZCNT has them.
    std::arch::is_x86_feature_detected!("ssse3")
        && std::arch::is_x86_feature_detected!("sse4.1")
        && std::arch::is_x86_feature_detected!("sse4.2")
        && std::arch::is_x86_feature_detected!("popcnt")
        && std::arch::is_x86_feature_detected!("lzcnt")
        && std::arch::is_x86_feature_detected!("bmi1")
}

#[cfg(not(target_arch = "x86_64"))]
fn has_required_cpu_features() -> bool {
    false
}

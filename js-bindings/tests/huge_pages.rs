//! `Config::huge_pages` reaches the blocks the JS API allocates for its memories: the
//! ones `new WebAssembly.Memory` makes and the ones instances define.

use boa_engine::object::builtins::JsArrayBuffer;
use boa_engine::{Context, Source};
use sidewinder_engine::Config;

/// Whether the mapping at `addr` was advised MADV_HUGEPAGE (`hg` among the VmFlags of
/// its entry in /proc/self/smaps).
fn advised_huge(addr: usize) -> bool {
    let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
    let mut inside = false;
    for line in smaps.lines() {
        let range = line.split_whitespace().next().and_then(|r| r.split_once('-'));
        let bounds = range.and_then(|(s, e)| {
            Some((usize::from_str_radix(s, 16).ok()?, usize::from_str_radix(e, 16).ok()?))
        });
        if let Some((start, end)) = bounds {
            inside = (start..end).contains(&addr);
        } else if let Some(flags) = line.strip_prefix("VmFlags:").filter(|_| inside) {
            return flags.split_whitespace().any(|flag| flag == "hg");
        }
    }
    panic!("no mapping holds {addr:#x}");
}

/// An address 2 MiB into the bytes of the ArrayBuffer `expr` evaluates to: a block
/// aligned to 64 bytes at most gets huge pages only from its first 2 MiB boundary on.
fn buffer_address(ctx: &mut Context, expr: &str) -> usize {
    let value = ctx.eval(Source::from_bytes(expr)).expect("script");
    let object = value.as_object().expect("an object").clone();
    let buffer = JsArrayBuffer::from_object(object).expect("an ArrayBuffer");
    let data = buffer.data().expect("attached");
    assert!(data.len() >= 4 << 20);
    data.as_ptr() as usize + (2 << 20)
}

#[cfg(target_os = "linux")]
#[test]
fn memories_of_the_js_api_ask_for_huge_pages_as_configured() {
    let module = wat::parse_str(r#"(module (memory (export "m") 64))"#).expect("wat");
    let list = module.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(",");
    for huge_pages in [true, false] {
        let mut ctx = Context::default();
        sidewinder_js::install_with_config(&mut ctx, Config { huge_pages, ..Config::default() })
            .expect("install");
        let made = buffer_address(&mut ctx, "new WebAssembly.Memory({ initial: 64 }).buffer");
        assert_eq!(advised_huge(made), huge_pages, "new WebAssembly.Memory, huge_pages: {huge_pages}");
        let defined = buffer_address(
            &mut ctx,
            &format!(
                "new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array([{list}]))).exports.m.buffer"
            ),
        );
        assert_eq!(advised_huge(defined), huge_pages, "memory of an instance, huge_pages: {huge_pages}");
    }
}

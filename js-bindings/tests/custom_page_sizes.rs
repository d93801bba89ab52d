//! Modules with memories of custom page sizes from JS: they validate and compile, but
//! instantiating one that defines such a memory is a LinkError, since a
//! `WebAssembly.Memory` counts 64 KiB pages (the JS API has no other page size yet).

mod support;
use support::{context, define_bytes, eval};

#[test]
fn one_byte_pages_compile_but_do_not_link() {
    let mut ctx = context();
    define_bytes(
        &mut ctx,
        "bytes",
        r#"(module (memory 3 (pagesize 1)) (func (export "size") (result i32) (memory.size)))"#,
    );
    assert_eq!(eval(&mut ctx, "WebAssembly.validate(bytes)"), "true");
    assert_eq!(eval(&mut ctx, "new WebAssembly.Module(bytes) instanceof WebAssembly.Module"), "true");
    assert_eq!(
        eval(&mut ctx, "try { new WebAssembly.Instance(new WebAssembly.Module(bytes)); 'linked' } catch (e) { e.constructor.name }"),
        "LinkError"
    );
}

//! Modules of the threads proposal from JS: atomics compile and run, and a shared memory
//! reflects as shared; its `buffer` (a SharedArrayBuffer by the spec) throws, because
//! Boa 0.22 cannot make one over wasm memory.

mod support;
use support::{context, define_bytes, eval, thrown};

#[test]
fn atomics_run_and_a_shared_memory_reflects_but_has_no_buffer() {
    let mut ctx = context();
    define_bytes(
        &mut ctx,
        "bytes",
        r#"(module
          (memory (export "mem") 1 2 shared)
          (func (export "add") (param i32 i32) (result i32) (i32.atomic.rmw.add (local.get 0) (local.get 1)))
          (func (export "cas") (param i32 i64 i64) (result i64)
            (i64.atomic.rmw.cmpxchg (local.get 0) (local.get 1) (local.get 2)))
          (func (export "load") (param i32) (result i32) (atomic.fence) (i32.atomic.load (local.get 0)))
          (func (export "wait") (param i32 i32) (result i32)
            (memory.atomic.wait32 (local.get 0) (local.get 1) (i64.const 0))))"#,
    );
    eval(&mut ctx, "var e = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports; 0");
    assert_eq!(eval(&mut ctx, "[e.add(8, 5), e.add(8, 6), e.load(8)].join()"), "0,5,11");
    assert_eq!(eval(&mut ctx, "[e.cas(16, 0n, 7n), e.cas(16, 1n, 9n), e.cas(16, 7n, 9n)].join()"), "0,7,7");
    assert_eq!(eval(&mut ctx, "[e.wait(8, 0), e.wait(8, 11)].join()"), "1,2");
    assert_eq!(thrown(&mut ctx, "e.load(6)"), "RuntimeError");
    assert_eq!(eval(&mut ctx, "try { e.load(6) } catch (x) { x.message }"), "unaligned atomic");
    assert_eq!(
        eval(&mut ctx, "JSON.stringify(e.mem.type())"),
        r#"{"minimum":1,"maximum":2,"shared":true,"address":"i32"}"#
    );
    assert_eq!(thrown(&mut ctx, "e.mem.buffer"), "TypeError");
    assert_eq!(eval(&mut ctx, "e.mem.grow(1)"), "1");
}

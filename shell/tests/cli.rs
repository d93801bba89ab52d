//! End-to-end tests of the non-interactive shell: the built binary is spawned and its
//! exit status, stdout and stderr are checked.

use std::path::Path;
use std::process::{Command, Output};

fn sidewinder(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sidewinder"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("spawn sidewinder")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn eval_prints_and_gets_args() {
    let dir = tempfile::tempdir().unwrap();
    let o = sidewinder(
        &[
            "-e",
            "print(1 + 2, 'x'); console.log('log'); print(scriptArgs.join('|'), arguments.length)",
            "a",
            "-b",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "3 x\nlog\na|-b 2\n");
}

#[test]
fn console_error_goes_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let o = sidewinder(&["-e", "console.error('bad'); console.warn('careful')"], dir.path());
    assert!(o.status.success());
    assert_eq!(stdout(&o), "");
    assert_eq!(stderr(&o), "bad\ncareful\n");
}

#[test]
fn script_file_with_args() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "s.js", "print('args:', arguments.join(','));\nprint(typeof WebAssembly);\n");
    let o = sidewinder(&["s.js", "1", "--two", "3"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "args: 1,--two,3\nobject\n");
}

#[test]
fn module_imports_relative_to_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("app")).unwrap();
    write(dir.path(), "app/lib.mjs", "export const double = (x) => x * 2;\n");
    write(
        dir.path(),
        "app/main.js",
        "import { double } from './lib.mjs';\nconst v = await Promise.resolve(double(21));\nprint('value', v);\n",
    );
    // Run from the parent directory: the import must resolve against the file.
    let o = sidewinder(&["-m", "app/main.js"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "value 42\n");
}

#[test]
fn module_imports_a_wasm_file() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = wat::parse_str(
        r#"(module (global (export "total") (mut i32) (i32.const 40))
                   (func (export "add") (param i32) (global.set 0 (i32.add (global.get 0) (local.get 0)))))"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("acc.wasm"), wasm).unwrap();
    write(
        dir.path(),
        "main.mjs",
        "import { total, add } from './acc.wasm';\nconst before = total;\nadd(2);\nprint(before, total, typeof total);\n",
    );
    let o = sidewinder(&["main.mjs"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    // Exported globals are values, and they follow the global.
    assert_eq!(stdout(&o), "40 42 number\n");
}

#[test]
fn promise_jobs_run_to_completion() {
    let dir = tempfile::tempdir().unwrap();
    let o = sidewinder(
        &["-e", "Promise.resolve(1).then(v => v + 1).then(v => print('then', v)); print('sync')"],
        dir.path(),
    );
    assert!(o.status.success());
    assert_eq!(stdout(&o), "sync\nthen 2\n");
}

#[test]
fn uncaught_error_exit_code_and_stack() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "bad.js",
        "print('before');\nfunction inner() { throw new RangeError('out of range'); }\nfunction outer() { inner(); }\nouter();\nprint('after');\n",
    );
    let o = sidewinder(&["bad.js"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "before\n");
    let err = stderr(&o);
    assert!(err.contains("Uncaught RangeError: out of range"), "{err}");
    assert!(err.contains("at inner (bad.js:2"), "{err}");
    assert!(err.contains("at outer (bad.js:3"), "{err}");
}

#[test]
fn rejected_module_promise_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.mjs", "await null;\nthrow new Error('async boom');\n");
    let o = sidewinder(&["m.mjs"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("Error: async boom"), "{}", stderr(&o));
}

#[test]
fn deep_recursion_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let o = sidewinder(&["-e", "function f(n) { return f(n + 1) + 1 } f(0)"], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("Uncaught"), "{}", stderr(&o));
}

#[test]
fn quit_sets_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let o = sidewinder(&["-e", "print('bye'); quit(3); print('not reached')"], dir.path());
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(stdout(&o), "bye\n");
}

#[test]
fn read_readbuffer_and_load() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.bin"), [0u8, 1, 2, 255]).unwrap();
    write(dir.path(), "text.txt", "héllo\n");
    write(dir.path(), "lib.js", "var loaded = 'yes'; 40 + 2");
    let code = "\
        print(JSON.stringify(read('text.txt')));\
        const u = read('data.bin', 'binary'); print(u instanceof Uint8Array, Array.from(u).join(','));\
        const b = readbuffer('data.bin'); print(b instanceof ArrayBuffer, b.byteLength, new Uint8Array(b)[3]);\
        print(load('lib.js'), loaded);\
        try { read('missing.txt') } catch (e) { print('caught', e.message.includes('missing.txt')) }";
    let o = sidewinder(&["-e", code], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "\"héllo\\n\"\ntrue 0,1,2,255\ntrue 4 255\n42 yes\ncaught true\n");
}

#[test]
fn wat_to_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let code = "\
        const b = wat('(module (func (export \"f\") (result i32) i32.const 7))');\
        print(b instanceof Uint8Array, Array.from(b.slice(0, 8)).join(','));\
        try { wat('(module (func (oops)))') } catch (e) { print(e.name, e.message.split('\\n')[0]) }";
    let o = sidewinder(&["-e", code], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("true 0,97,115,109,1,0,0,0\n"), "{out}");
    assert!(out.contains("SyntaxError invalid WebAssembly text:"), "{out}");
}

const MODULE: &str = r#"
(module
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "mul64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.mul)
  (func (export "scale") (param f64 f32) (result f64 f32)
    local.get 0 f64.const 0.5 f64.mul
    local.get 1 f32.neg)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "nothing"))
  (memory (export "mem") 1))
"#;

#[test]
fn invoke_prints_results() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.wat", MODULE);
    let o = sidewinder(&["m.wat", "--invoke", "add", "40", "-0x2"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "38\n");
    let o = sidewinder(&["m.wat", "--invoke", "mul64", "0x100000000", "-3"], dir.path());
    assert_eq!(stdout(&o), "-12884901888\n");
    let o = sidewinder(&["--invoke", "scale", "m.wat", "-5", "inf"], dir.path());
    assert_eq!(stdout(&o), "-2.5\n-inf\n");
    let o = sidewinder(&["m.wat", "--invoke", "scale", "nan", "1.5"], dir.path());
    assert_eq!(stdout(&o), "nan\n-1.5\n");
    let o = sidewinder(&["m.wat", "--invoke", "nothing"], dir.path());
    assert!(o.status.success());
    assert_eq!(stdout(&o), "");
}

#[test]
fn invoke_binary_module() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.wasm"), wat::parse_str(MODULE).unwrap()).unwrap();
    let o = sidewinder(&["m.wasm", "--invoke", "add", "1", "2"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "3\n");
}

#[test]
fn invoke_trap() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.wat", MODULE);
    let o = sidewinder(&["m.wat", "--invoke", "div", "1", "0"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "error: wasm trap: integer divide by zero\n");
}

#[test]
fn invoke_errors_list_exports_and_imports() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.wat", MODULE);
    let o = sidewinder(&["m.wat", "--invoke", "missing"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("no exported function `missing`"), "{err}");
    assert!(err.contains("add: (func (param i32 i32) (result i32))"), "{err}");

    let o = sidewinder(&["m.wat", "--invoke", "add", "1", "x"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("argument 2 (i32)"), "{}", stderr(&o));

    write(
        dir.path(),
        "imp.wat",
        r#"(module (import "env" "log" (func (param i32))) (import "env" "mem" (memory 1)) (func (export "run")))"#,
    );
    let o = sidewinder(&["imp.wat", "--invoke", "run"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("2 import(s)"), "{err}");
    assert!(err.contains("env::log: (func (param i32))"), "{err}");
    assert!(err.contains("env::mem: memory 1"), "{err}");
}

#[test]
fn help_version_and_bad_flags() {
    let dir = tempfile::tempdir().unwrap();
    let o = sidewinder(&["--help"], dir.path());
    assert!(o.status.success());
    assert!(stdout(&o).contains("--invoke NAME"));
    let o = sidewinder(&["--version"], dir.path());
    assert_eq!(stdout(&o), format!("sidewinder {}\n", env!("CARGO_PKG_VERSION")));
    let o = sidewinder(&["--frobnicate"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--frobnicate"));
}

/// The README's exceptions-and-JSPI example, run from the workspace root as a user would.
#[test]
fn exceptions_and_jspi_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let o = sidewinder(&["examples/exceptions-and-jspi.js"], &root);
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "validate(3) = -1  validate(12) = 12\n\
         caught in JS: true payload 5\n\
         (the promise settles after this line)\n\
         sum of awaited values: 100\n"
    );
}

/// A JSPI call still suspended when the script ends: Boa drops its heap at thread exit,
/// and with it the fiber, whose drop touched a thread-local already destroyed (the
/// process aborted; found by review, 2026-12-06).
#[test]
fn a_suspended_jspi_call_at_exit_is_no_crash() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
const i = new WebAssembly.Instance(new WebAssembly.Module(wat(`(module
  (import "m" "wait" (func $wait))
  (func (export "f") (call $wait)))`)),
  {m: {wait: new WebAssembly.Suspending(() => new Promise(() => {}))}});
WebAssembly.promising(i.exports.f)();
print("end of script");"#;
    let o = sidewinder(&["-e", script], dir.path());
    assert!(o.status.success(), "{:?}: {}", o.status, stderr(&o));
    assert_eq!(stdout(&o), "end of script\n");
}

/// Microtasks a timer queues run before the next timer, even one already due (HTML's
/// microtask checkpoint after each task; d8 and Node agree), and promise chains run to
/// their end before it.
#[test]
fn microtasks_run_between_timers() {
    let dir = tempfile::tempdir().unwrap();
    let script = "
        const order = [];
        setTimeout(() => {
          order.push('a');
          Promise.resolve().then(() => order.push('a1')).then(() => order.push('a2'));
          queueMicrotask(() => order.push('a3'));
        }, 0);
        setTimeout(() => order.push('b'), 0);
        setTimeout(() => print(order.join()), 20);
        Promise.resolve().then(() => order.push('p1')).then(() => order.push('p2'));
        const busyUntil = performance.now() + 10;
        while (performance.now() < busyUntil) {}
    ";
    let o = sidewinder(&["-e", script], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "p1,p2,a,a1,a3,a2,b\n");
}

/// What wasm toolchains' JS glue uses: text coding over a memory's bytes, timers in
/// their order (after the script and its microtasks), `performance.now()`.
#[test]
fn glue_globals_text_coding_timers_and_performance() {
    let dir = tempfile::tempdir().unwrap();
    let script = "
        const t0 = performance.now();
        const order = [];
        setTimeout(() => order.push('late'), 30);
        const early = setTimeout(() => order.push('cancelled'), 5);
        clearTimeout(early);
        setTimeout(() => {
          order.push('soon');
          setTimeout(() => print(order.join(), performance.now() - t0 >= 30), 40);
        }, 10);
        queueMicrotask(() => order.push('microtask'));
        // Longer than 'soon' waits: it is due when the script ends, and still comes
        // after the script's microtask.
        const busyUntil = performance.now() + 15;
        while (performance.now() < busyUntil) {}
        const text = 'wasm ✓ é';
        const bytes = new TextEncoder().encode(text);
        const memory = new WebAssembly.Memory({ initial: 1 });
        new Uint8Array(memory.buffer).set(bytes, 100);
        const back = new TextDecoder('utf-8').decode(new Uint8Array(memory.buffer, 100, bytes.length));
        print(bytes.length, back === text, typeof performance.now());
    ";
    let o = sidewinder(&["-e", script], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "11 true number\nmicrotask,soon,late true\n");
}

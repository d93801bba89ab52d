//! Snapshot tests of the machine code the compiler emits for a few opcodes.
//!
//! Each case compiles a tiny module, takes one function's bytes with
//! `Module::function_code`, disassembles them with iced-x86 (Intel syntax) and compares
//! the listing with `tests/snapshots/<name>.txt`.
//!
//! - A missing snapshot is written and the test passes (with a note on stderr).
//! - `SIDEWINDER_BLESS=1` rewrites every snapshot.
//! - Otherwise a mismatch fails with a line diff.
//!
//! Absolute addresses of runtime code (the trap exit, runtime helpers) differ from run to
//! run, so a `mov r11, imm64` that feeds a following `jmp r11`/`call r11` (or a call of
//! the host-call stub, which calls r11) is printed as `mov r11, <runtime address>`.
//! Type ids are process-wide, numbered in the order the tests running in parallel
//! happen to intern types, so `call_indirect`'s compare of one prints `<type id>`.

use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter, Mnemonic, OpKind, Register};
use sidewinder_engine::{Engine, Module};
use std::fmt::Write as _;
use std::path::PathBuf;

fn disassemble(code: &[u8]) -> String {
    let mut decoder = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    formatter.options_mut().set_hex_prefix("0x");
    formatter.options_mut().set_hex_suffix("");
    formatter.options_mut().set_uppercase_hex(false);
    formatter.options_mut().set_first_operand_char_index(8);
    let instructions: Vec<Instruction> = decoder.iter().collect();
    let mut out = String::new();
    for (i, ins) in instructions.iter().enumerate() {
        let start = ins.ip() as usize;
        let bytes = &code[start..start + ins.len()];
        let mut text = String::new();
        let feeds_indirect = ins.mnemonic() == Mnemonic::Mov
            && ins.op0_register() == Register::R11
            && ins.op1_kind() == OpKind::Immediate64
            && instructions.get(i + 1).is_some_and(|n| match n.mnemonic() {
                Mnemonic::Jmp => n.op0_register() == Register::R11,
                // `call r11`, or the call of the function's host-call stub, which calls r11.
                Mnemonic::Call => n.op0_register() == Register::R11 || n.op0_kind() == OpKind::NearBranch64,
                _ => false,
            });
        // `mov r11, imm64` then `mov [reg], r11`: a GC object's header gets its type's
        // supertype chain, a leaked address that differs from run to run.
        let stores_chain = ins.mnemonic() == Mnemonic::Mov
            && ins.op0_register() == Register::R11
            && ins.op1_kind() == OpKind::Immediate64
            && instructions.get(i + 1).is_some_and(|n| {
                n.mnemonic() == Mnemonic::Mov
                    && n.op0_kind() == OpKind::Memory
                    && n.memory_displacement64() == 0
                    && n.op1_register() == Register::R11
            });
        // `cmp dword ptr [r11+0x10], id`: the callee's type id in its `VMFuncRef`.
        let compares_type_id = ins.mnemonic() == Mnemonic::Cmp
            && ins.op0_kind() == OpKind::Memory
            && ins.memory_base() == Register::R11
            && ins.memory_displacement64() == 0x10
            && matches!(ins.op1_kind(), OpKind::Immediate8to32 | OpKind::Immediate32);
        if feeds_indirect {
            text.push_str("mov     r11, <runtime address>");
        } else if stores_chain {
            text.push_str("mov     r11, <type chain>");
        } else if compares_type_id {
            text.push_str("cmp     dword ptr [r11+0x10],<type id>");
        } else {
            formatter.format(ins, &mut text);
        }
        let hex: String = if feeds_indirect || stores_chain {
            format!("{:02x}{:02x} <imm64>", bytes[0], bytes[1])
        } else if compares_type_id {
            // REX, opcode, ModRM and displacement: 4 bytes before the immediate.
            let hex: String = bytes[..4].iter().map(|b| format!("{b:02x}")).collect();
            format!("{hex} <id>")
        } else {
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        };
        writeln!(out, "{start:04x}  {hex:<24} {text}").unwrap();
    }
    out
}

fn snapshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("snapshots").join(format!("{name}.txt"))
}

fn line_diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let mut out = String::new();
    for i in 0..w.len().max(g.len()) {
        match (w.get(i), g.get(i)) {
            (Some(a), Some(b)) if a == b => writeln!(out, "  {a}").unwrap(),
            (a, b) => {
                if let Some(a) = a {
                    writeln!(out, "- {a}").unwrap();
                }
                if let Some(b) = b {
                    writeln!(out, "+ {b}").unwrap();
                }
            }
        }
    }
    out
}

/// Compiles `wat`, disassembles function `func_index` and checks it against the snapshot.
fn check_snapshot(name: &str, wat: &str, func_index: u32) -> String {
    check_snapshot_with(&Engine::default(), name, wat, func_index)
}

/// `check_snapshot` with an engine of its own configuration.
fn check_snapshot_with(engine: &Engine, name: &str, wat: &str, func_index: u32) -> String {
    let bytes = wat::parse_str(wat).expect("valid WAT");
    let module = Module::new(engine, &bytes).expect("compiles");
    let code = module.function_code(func_index).expect("a defined function");
    let mut listing = format!(";; {name}\n");
    for line in wat.lines() {
        writeln!(listing, ";; {}", line.trim_end()).unwrap();
    }
    listing.push_str(&disassemble(code));
    let path = snapshot_path(name);
    let bless = std::env::var("SIDEWINDER_BLESS").is_ok_and(|v| !v.is_empty() && v != "0");
    match std::fs::read_to_string(&path) {
        Ok(want) if !bless => {
            if want != listing {
                panic!(
                    "snapshot {} differs (rerun with SIDEWINDER_BLESS=1 to accept):\n{}",
                    path.display(),
                    line_diff(&want, &listing)
                );
            }
        }
        _ => {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &listing).unwrap();
            eprintln!("note: wrote snapshot {}", path.display());
        }
    }
    listing
}

/// The listing must contain an instruction line with all of `parts`.
fn assert_has(listing: &str, parts: &[&str]) {
    assert!(
        listing.lines().filter(|l| !l.starts_with(";;")).any(|l| parts.iter().all(|p| l.contains(p))),
        "no instruction containing {parts:?} in:\n{listing}"
    );
}

fn assert_lacks(listing: &str, parts: &[&str]) {
    assert!(
        !listing.lines().filter(|l| !l.starts_with(";;")).any(|l| parts.iter().all(|p| l.contains(p))),
        "unexpected instruction containing {parts:?} in:\n{listing}"
    );
}

/// Every function starts with a frame and a stack-limit check, or, a leaf with a small
/// frame, a jump over where the check was.
fn assert_prologue(listing: &str) {
    assert_has(listing, &["push", "rbp"]);
    let checks = listing.contains("cmp     rsp,");
    let mut lines = listing.lines().skip_while(|l| !l.contains("sub     rsp,"));
    let jumps_over = lines.nth(1).is_some_and(|l| l.contains("jmp     short"));
    assert!(checks != jumps_over, "expected a stack check or a jump over it:\n{listing}");
}

fn compile(wat: &str) -> Module {
    let engine = Engine::default();
    Module::new(&engine, &wat::parse_str(wat).expect("wat")).expect("compiles")
}

/// Leaf functions (no wasm calls, throws or landing pads) with frames of at most 1 KiB
/// skip the stack check and the context store; others keep both.
#[test]
fn only_small_leaf_frames_skip_the_stack_check() {
    let listing = |m: &Module, f: u32| disassemble(m.function_code(f).expect("function"));
    let small_leaf =
        compile("(module (func (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))");
    let l = listing(&small_leaf, 0);
    assert_has(&l, &["jmp", "short"]);
    assert_lacks(&l, &["cmp", "rsp,"]);
    // 200 i64 locals: a 1.6 KiB frame.
    let big_leaf =
        compile(&format!("(module (func (result i64) (local{}) (local.get 199)))", " i64".repeat(200)));
    assert_has(&listing(&big_leaf, 0), &["cmp", "rsp,"]);
    let calls = compile("(module (func $f) (func (call $f)))");
    assert_has(&listing(&calls, 1), &["cmp", "rsp,"]);
    assert_has(&listing(&calls, 1), &["mov", "[rbp-8],r15"]);
    let tail_calls = compile("(module (func $f) (func (return_call $f)))");
    assert_has(&listing(&tail_calls, 1), &["cmp", "rsp,"]);
    let throws = compile("(module (tag $t) (func (throw $t)))");
    assert_has(&listing(&throws, 0), &["cmp", "rsp,"]);
    let catches = compile("(module (tag $t) (func (block $h (try_table (catch_all $h)))))");
    assert_has(&listing(&catches, 0), &["cmp", "rsp,"]);
}

#[test]
fn i32_add_params() {
    let l = check_snapshot(
        "i32_add_params",
        "(module (func (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["add", "[rbp+"]);
}

#[test]
fn i32_add_const() {
    let l = check_snapshot(
        "i32_add_const",
        "(module (func (param i32) (result i32) (i32.add (local.get 0) (i32.const 1234))))",
        0,
    );
    assert_prologue(&l);
    // An immediate form, not a constant materialised in a register.
    assert_has(&l, &["add", "0x4d2"]);
}

#[test]
fn i32_consts_fold() {
    let l = check_snapshot(
        "i32_consts_fold",
        "(module (func (result i32) (i32.mul (i32.add (i32.const 20) (i32.const 1)) (i32.const 2))))",
        0,
    );
    assert_lacks(&l, &["add", "0x14"]);
    assert_has(&l, &["0x2a"]);
}

#[test]
fn i32_div_s() {
    let l = check_snapshot(
        "i32_div_s",
        "(module (func (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1))))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["idiv"]);
    assert_has(&l, &["cdq"]);
    // A zero divisor faults in the idiv itself, which is a trap site: no test.
    assert_lacks(&l, &["test"]);
}

#[test]
fn f64_min() {
    let l = check_snapshot(
        "f64_min",
        "(module (func (param f64 f64) (result f64) (f64.min (local.get 0) (local.get 1))))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["ucomisd"]);
    assert_has(&l, &["minsd"]);
}

#[test]
fn i32_load_offset() {
    let l = check_snapshot(
        "i32_load_offset",
        "(module (memory 1) (func (param i32) (result i32) (i32.load offset=16 (local.get 0))))",
        0,
    );
    assert_prologue(&l);
    // Memory operands are based on the pinned memory base register r14.
    assert_has(&l, &["mov", "[r14+", "+0x10]"]);
}

#[test]
fn i64_store_const_addr() {
    let l = check_snapshot(
        "i64_store_const_addr",
        "(module (memory 1) (func (param i64) (i64.store offset=8 (i32.const 100) (local.get 0))))",
        0,
    );
    assert_has(&l, &["mov", "[r14+0x6c]"]);
}

#[test]
fn br_table() {
    let l = check_snapshot(
        "br_table",
        "(module (func (param i32) (result i32)
           (block (block (block (br_table 0 1 2 (local.get 0))) (return (i32.const 10))) (return (i32.const 11)))
           (i32.const 12)))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["cmp", "eax,2"]);
    assert_has(&l, &["movsxd", "[r11+rax*4]"]);
}

#[test]
fn call() {
    let l = check_snapshot(
        "call",
        "(module
           (func $callee (param i32) (result i32) (local.get 0))
           (func (param i32) (result i32) (i32.add (call $callee (local.get 0)) (i32.const 1))))",
        1,
    );
    assert_prologue(&l);
    assert_has(&l, &["call"]);
    assert_has(&l, &["add", "eax,1"]);
}

/// `call_indirect` through table 0 reads the table's pointer straight from the context
/// (not through the tables array): one load, then the bounds check against it. The
/// callee's entry point comes from the table's array of them. A callee of the same
/// instance is called without reloading the context afterwards.
#[test]
fn call_indirect_through_table_zero() {
    let l = check_snapshot(
        "call_indirect_through_table_zero",
        "(module (type $t (func (param i32) (result i32))) (table 1 funcref)
           (func (param i32 i32) (result i32) (call_indirect (type $t) (local.get 0) (local.get 1))))",
        0,
    );
    assert_prologue(&l);
    let body: Vec<&str> = l.lines().filter(|line| !line.starts_with(";;")).collect();
    let check = body
        .iter()
        .position(|line| line.contains("cmp") && !line.contains("rsp") && line.contains("[r11+8]"))
        .expect("bounds check");
    assert!(body[check - 1].contains("mov     r11,[r15+"), "table pointer loaded from the context:\n{l}");
    // The index register, as the bounds check compares it (`cmp rdx,[r11+8]`).
    let index = body[check].split_whitespace().last().and_then(|o| o.split(',').next()).expect("an index");
    // The target comes from the table's array of entry points, indexed like the
    // elements (in one load from the index), not through the funcref.
    let call = body.iter().find(|line| line.contains("call ")).expect("a call");
    let target = call.split_whitespace().last().expect("an operand");
    assert!(!call.contains('['), "a call through a register:\n{l}");
    let load = format!("mov     {target},[{target}+{index}*8]");
    assert_has(&l, &[&load]);
}

/// `call_ref`: the funcref from the operand stack is null-checked, its entry point
/// loaded, and called; no table and no signature check (validation proved the type).
#[test]
fn call_ref_checks_null_only() {
    let l = check_snapshot(
        "call_ref_checks_null_only",
        "(module (type $t (func (param i32) (result i32)))
           (func (param i32 (ref null $t)) (result i32) (call_ref $t (local.get 0) (local.get 1))))",
        0,
    );
    assert_prologue(&l);
    assert!(!l.contains("<type id>"), "no signature check:\n{l}");
    assert!(!l.contains("[r15+0x28]"), "no table:\n{l}");
    // The trap stub for a null function reference (code 14).
    assert_has(&l, &["mov     esi,0xe"]);
    let body: Vec<&str> = l.lines().filter(|line| !line.starts_with(";;")).collect();
    let test = body.iter().position(|line| line.contains("test    r11,r11")).expect("null check");
    assert!(body[test + 1].starts_with("0") && body[test + 1].contains("je "), "a branch on null:\n{l}");
    assert!(body[test + 2].contains(",[r11]"), "the entry point after the check:\n{l}");
}

/// `br_on_null` to a block that needs no copies is a test and a conditional jump, and
/// `ref.as_non_null` a test and a jump to its trap stub.
#[test]
fn br_on_null_and_ref_as_non_null_test_and_branch() {
    let l = check_snapshot(
        "br_on_null_and_ref_as_non_null",
        "(module
           (func (param funcref funcref) (result i32)
             (block $null
               (drop (br_on_null $null (local.get 0)))
               (drop (ref.as_non_null (local.get 1)))
               (return (i32.const 1)))
             (i32.const 0)))",
        0,
    );
    let tests = l.lines().filter(|line| line.contains("test ")).count();
    assert_eq!(tests, 2, "one test per reference:\n{l}");
    assert_has(&l, &["je "]);
    // The trap stub for `ref.as_non_null` of null (code 15).
    assert_has(&l, &["mov     esi,0xf"]);
}

/// A comparison feeding `br_if` branches on the flags: no setcc/movzx/test between them.
#[test]
fn compare_and_branch_fused() {
    let l = check_snapshot(
        "compare_and_branch_fused",
        "(module (func (param i32) (result i32) (local i32)
           (loop
             (local.set 1 (i32.add (local.get 1) (i32.const 1)))
             (br_if 0 (i32.lt_u (local.get 1) (local.get 0))))
           (local.get 1)))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["cmp"]);
    assert_has(&l, &["jb"]);
    assert_lacks(&l, &["setb"]);
}

/// A comparison set into a temporary that only the loop's `br_if` reads (clang's loop
/// ending, with a move in between) is written nowhere: the branch reads the flags, and
/// no `setb`/`movzx` computes the 0/1 value.
#[test]
fn comparison_read_only_by_a_branch_is_not_written() {
    let l = check_snapshot(
        "comparison_read_only_by_a_branch_is_not_written",
        "(module (func (param $n i32) (result i32) (local $i i32) (local $j i32) (local $t i32)
           (loop $top
             local.get $i i32.const 1 i32.add local.tee $j
             local.get $n i32.lt_u local.set $t
             local.get $j local.set $i
             local.get $t br_if $top)
           (local.get $i)))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["jb"]);
    assert_lacks(&l, &["setb"]);
    assert_lacks(&l, &["movzx"]);
}

/// A table lookup `table[(x & 0xFF)]` of 4-byte entries at a constant address: the
/// shift and the table's address go into the load's addressing mode (the mask bounds
/// the index, so the i32 arithmetic cannot wrap), with no `lea` or `shl` before it.
#[test]
fn masked_table_index_goes_into_the_address() {
    let l = check_snapshot(
        "masked_table_index_goes_into_the_address",
        "(module (memory 1) (func (param i32) (result i32)
           (i32.load (i32.add (i32.shl (i32.and (local.get 0) (i32.const 255)) (i32.const 2)) (i32.const 1024)))))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["*4+0x400]"]);
    // The body: the trap paths after it take their own address with a `lea`.
    let body = l.split("ret").next().expect("a listing");
    assert_lacks(body, &["lea"]);
    assert_lacks(&l, &["shl"]);
}

/// `eqz` feeding `br_if` branches on the flags of its `test` too (i64 here; the
/// remainder is the divisibility test C compilers emit), and a constant divisor needs
/// no zero check.
#[test]
fn eqz_and_branch_fused() {
    let l = check_snapshot(
        "eqz_and_branch_fused",
        "(module (func (param i64) (result i32)
           (block (br_if 0 (i64.eqz (i64.rem_u (local.get 0) (i64.const 3)))) (return (i32.const 7)))
           (i32.const 9)))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["test", "rax,rax"]);
    assert_has(&l, &["je"]);
    assert_lacks(&l, &["sete"]);
    assert_lacks(&l, &["test", "rcx,rcx"]);
}

/// `eqz` of an ordered float comparison feeding `br_if` stays in the flags as the
/// opposite condition (`jbe`, which also holds on NaN), as in clang's loop exits.
#[test]
fn eqz_of_float_compare_fused() {
    let l = check_snapshot(
        "eqz_of_float_compare_fused",
        "(module (func (param f32 f32) (result i32)
           (block (br_if 0 (i32.eqz (f32.lt (local.get 0) (local.get 1)))) (return (i32.const 7)))
           (i32.const 9)))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["ucomiss"]);
    assert_has(&l, &["jbe"]);
    assert_lacks(&l, &["set"]);
    assert_lacks(&l, &["test"]);
}

/// A comparison feeding `if` jumps on the flags too, past the values the `if` spills
/// to their canonical slots (the 1.0 and the local are moved there after the `cmp`).
#[test]
fn compare_and_if_fused() {
    let l = check_snapshot(
        "compare_and_if_fused",
        "(module (func (param i32 i32) (result f64)
           (f64.const 1.0) (local.get 1)
           (if (param f64 i32) (result f64) (i32.gt_s (local.get 0) (i32.const 10))
             (then (drop)) (else (drop) (f64.neg)))))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["cmp"]);
    assert_has(&l, &["jle"]);
    assert_lacks(&l, &["setg"]);
}

/// An ordered float comparison feeding `br_if` branches on `ucomiss`'s flags (`ja`,
/// false for NaN); eq and ne still combine the parity flag into a value.
#[test]
fn float_compare_and_branch_fused() {
    let l = check_snapshot(
        "float_compare_and_branch_fused",
        "(module (func (param f32) (result f32)
           (loop
             (local.set 0 (f32.mul (local.get 0) (f32.const 0.5)))
             (br_if 0 (f32.lt (f32.const 1.0) (local.get 0))))
           (local.get 0)))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["ucomiss"]);
    assert_has(&l, &["ja"]);
    assert_lacks(&l, &["seta"]);
}

/// `br_if` on a local pinned to a register tests that register, with no copy first.
#[test]
fn branch_on_pinned_local() {
    let l = check_snapshot(
        "branch_on_pinned_local",
        "(module (func (param i32) (result i32) (local i32)
           (local.set 1 (local.get 0))
           (loop
             (local.set 1 (i32.shr_u (local.get 1) (i32.const 1)))
             (br_if 0 (local.get 1)))
           (local.get 1)))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["shr", "ebx,1"]);
    assert_has(&l, &["test", "ebx,ebx"]);
}

/// `br_if` and `eqz` right after an add/sub/and/or/xor of the value they test use the
/// zero flag it set: no `test` (a shift, above, does not set it reliably).
#[test]
fn alu_flags_reused_by_branches() {
    let l = check_snapshot(
        "alu_flags_reused_by_branches",
        "(module (func (param i64 i32) (result i32)
           (loop
             (local.set 1 (i32.sub (local.get 1) (i32.const 1)))
             (br_if 0 (local.get 1)))
           (block (br_if 0 (i64.eqz (i64.and (local.get 0) (i64.const 1)))) (return (i32.const 7)))
           (local.get 1)))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["sub", "ebx,1"]);
    assert_has(&l, &["and", ",1"]);
    assert_lacks(&l, &["test"]);
}

/// `x = x * x` and `f = f * f` on pinned locals multiply the register by itself, with no
/// copy through another register.
#[test]
fn square_into_pinned_local() {
    let l = check_snapshot(
        "square_into_pinned_local",
        "(module (func (param i64 f64 i32) (result i64)
           (loop
             (local.set 0 (i64.mul (local.get 0) (local.get 0)))
             (local.set 1 (f64.mul (local.get 1) (local.get 1)))
             (local.set 2 (i32.sub (local.get 2) (i32.const 1)))
             (br_if 0 (local.get 2)))
           (i64.add (local.get 0) (i64.trunc_sat_f64_s (local.get 1)))))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["imul", "rbx,rbx"]);
    assert_has(&l, &["mulsd", "xmm11,xmm11"]);
}

/// A comparison whose result a pinned local takes sets that register from the flags
/// (`setb r12b`), with no detour through another register; an `f64.eq` likewise.
#[test]
fn compare_into_pinned_local() {
    let l = check_snapshot(
        "compare_into_pinned_local",
        "(module (func (param i32 i32 f64) (result i32) (local i32)
           (loop
             (local.set 1 (i32.lt_u (local.get 1) (local.get 0)))
             (local.set 3 (f64.eq (local.get 2) (local.get 2)))
             (local.set 0 (i32.sub (local.get 0) (local.get 3)))
             (br_if 0 (local.get 0)))
           (local.get 1)))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["setb", "r12b"]);
    assert_lacks(&l, &["mov", "r12d,eax"]);
    assert_lacks(&l, &["mov", "r12,rax"]);
}

/// `p + 1024`, `p - 8` and `p + q` of pinned locals into another register are one `lea`
/// each (32-bit, so the sum wraps as i32.add does), with no copy of `p` first.
#[test]
fn add_to_pinned_local_by_lea() {
    let l = check_snapshot(
        "add_to_pinned_local_by_lea",
        "(module (memory 1) (func (param i32 i32) (result i32) (local i32)
           (loop
             (local.set 2 (i32.add (local.get 2)
               (i32.add (i32.load (i32.add (local.get 0) (i32.const 1024)))
                        (i32.load (i32.sub (local.get 0) (i32.const 8))))))
             (local.set 2 (i32.xor (local.get 2) (i32.load (i32.add (local.get 0) (local.get 1)))))
             (local.set 0 (i32.add (local.get 0) (i32.const 4)))
             (br_if 0 (i32.lt_u (local.get 0) (local.get 1))))
           (local.get 2)))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["lea", "[rbx+0x400]"]);
    assert_has(&l, &["lea", "[rbx-8]"]);
    assert_has(&l, &["lea", "[rbx+r"]);
    assert_lacks(&l, &["mov", "rax,rbx"]);
    assert_lacks(&l, &["mov", "rcx,rbx"]);
}

/// A pinned local times a constant is one three-operand `imul` reading the local in
/// place, into a register of its own or into the local the result is set to.
#[test]
fn multiply_pinned_local_in_place() {
    let l = check_snapshot(
        "multiply_pinned_local_in_place",
        "(module (func (param i32 i32) (result i32)
           (loop
             (local.set 1 (i32.add (local.get 1) (i32.mul (local.get 0) (i32.const 31))))
             (local.set 0 (i32.mul (local.get 0) (i32.const 1000)))
             (br_if 0 (i32.lt_u (local.get 0) (local.get 1))))
           (local.get 1)))",
        0,
    );
    assert_has(&l, &["imul", "eax,ebx,0x1f"]);
    assert_has(&l, &["imul", "ebx,0x3e8"]);
    assert_lacks(&l, &["mov", "rax,rbx"]);
}

/// An unsigned i32 remainder by a constant multiplies twice instead of dividing.
#[test]
fn i32_rem_u_by_constant() {
    let l = check_snapshot(
        "i32_rem_u_by_constant",
        "(module (func (param i64) (result i32)
           (i32.rem_u (i32.wrap_i64 (i64.xor (local.get 0) (i64.const 0x100000000))) (i32.const 7))))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["mul"]);
    assert_lacks(&l, &["div"]);
}

/// A divisor in a local pinned to a register is divided by in place, not copied.
#[test]
fn division_by_pinned_local() {
    let l = check_snapshot(
        "division_by_pinned_local",
        "(module (func (param i64 i64) (result i64)
           (loop
             (local.set 0 (i64.rem_u (i64.mul (local.get 0) (local.get 0)) (local.get 1)))
             (br_if 0 (i64.gt_u (local.get 0) (i64.const 10))))
           (local.get 0)))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["div", "r12"]);
}

/// A signed i32 division by a constant divides the magnitudes by multiplying and
/// applies the sign after.
#[test]
fn i32_div_s_by_constant() {
    let l = check_snapshot(
        "i32_div_s_by_constant",
        "(module (func (param i32) (result i32) (i32.div_s (local.get 0) (i32.const -10))))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["cdq"]);
    assert_has(&l, &["mul"]);
    assert_lacks(&l, &["div"]);
}

/// A signed i64 remainder by a constant: the magnitude's quotient from one widening
/// `mul` by the constant pool's multiplier, no `idiv` and no checks.
#[test]
fn i64_rem_s_by_constant() {
    let l = check_snapshot(
        "i64_rem_s_by_constant",
        "(module (func (param i64) (result i64) (i64.rem_s (local.get 0) (i64.const 1000003))))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["mul", "qword ptr"]);
    assert_has(&l, &["imul", "0xf4243"]);
    assert_lacks(&l, &["idiv"]);
    assert_lacks(&l, &["cmp"]);
}

#[test]
fn f64_mul_const() {
    let l = check_snapshot(
        "f64_mul_const",
        "(module (func (param f64) (result f64) (f64.mul (local.get 0) (f64.const 0.01))))",
        0,
    );
    assert_prologue(&l);
    // One RIP-relative load from the constant pool after the code (shown as an absolute
    // address), not a constant built in r11 and moved over with movq.
    assert_has(&l, &["movsd", "xmm1,[0x"]);
    assert_lacks(&l, &["movq", "xmm1"]);
}

#[test]
fn i32x4_add_params() {
    let l = check_snapshot(
        "i32x4_add_params",
        "(module (func (param v128 v128) (result v128) (i32x4.add (local.get 0) (local.get 1))))",
        0,
    );
    assert_prologue(&l);
    // Parameters in 16-byte slots of the argument area; the result goes back there.
    assert_has(&l, &["movdqu", "[rbp+0x10]"]);
    assert_has(&l, &["paddd"]);
    assert_has(&l, &["movdqu", "[rbp+0x10],"]);
}

#[test]
fn f32x4_min() {
    let l = check_snapshot(
        "f32x4_min",
        "(module (func (param v128 v128) (result v128) (f32x4.min (local.get 0) (local.get 1))))",
        0,
    );
    // Both operand orders, merged, NaNs made canonical.
    assert_has(&l, &["minps"]);
    assert_has(&l, &["cmpunordps"]);
    assert_has(&l, &["andnps"]);
}

#[test]
fn i8x16_shuffle_from_the_constant_pool() {
    let l = check_snapshot(
        "i8x16_shuffle",
        "(module (func (param v128 v128) (result v128)
           (i8x16.shuffle 0 17 2 19 4 21 6 23 8 25 10 27 12 29 14 31 (local.get 0) (local.get 1))))",
        0,
    );
    // Each operand's mask straight from the constant pool.
    assert_has(&l, &["pshufb", "xmm0,[0x"]);
    assert_has(&l, &["pshufb", "xmm1,[0x"]);
    assert_has(&l, &["por"]);
    assert_lacks(&l, &["xmm15"]);
}

/// clang's u16 -> u32 zero-extensions (vecdot's `vsum3`): shuffles against a v128 local
/// that only ever holds `v128.const 0`. The low half is one `pmovzxwd`; the high half one
/// `pshufb` that zeroes the other lanes itself; a shift by 8 bytes a `psrldq`. The zero
/// local is not read for any of them.
#[test]
fn i8x16_shuffle_against_a_zero_local() {
    let l = check_snapshot(
        "i8x16_shuffle_against_a_zero_local",
        "(module (func (param v128) (result v128) (local $zero v128)
           (local.set $zero (v128.const i64x2 0 0))
           (i8x16.shuffle 16 17 2 3 18 19 6 7 20 21 10 11 22 23 14 15 (local.get $zero) (local.get 0))
           (i8x16.shuffle 8 9 18 19 10 11 22 23 12 13 26 27 14 15 30 31 (local.get 0) (local.get $zero))
           (i32x4.add)
           (i8x16.shuffle 8 9 10 11 12 13 14 15 16 16 16 16 16 16 16 16 (local.get 0) (local.get $zero))
           (i32x4.add)))",
        0,
    );
    assert_has(&l, &["pmovzxwd"]);
    assert_has(&l, &["pshufb", ",[0x"]);
    assert_has(&l, &["psrldq", ",8"]);
    assert_lacks(&l, &["por"]);
    assert_lacks(&l, &["punpck"]);
}

/// Shuffles that are one instruction without any constant: an interleave of both
/// operands' low bytes (`punpcklbw`), and one operand's 32-bit lanes reversed (`pshufd`).
/// A parameter is not known to be zero, and a local written with anything but zero is not
/// either: against those a shuffle takes both operands.
#[test]
fn i8x16_shuffle_as_unpack_or_pshufd() {
    let l = check_snapshot(
        "i8x16_shuffle_as_unpack_or_pshufd",
        "(module (func (param v128 v128) (result v128) (local $one v128)
           (local.set $one (v128.const i64x2 1 0))
           (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get 0) (local.get 1))
           (i8x16.shuffle 12 13 14 15 8 9 10 11 4 5 6 7 0 1 2 3 (local.get 0) (local.get 1))
           (i8x16.shuffle 16 17 2 3 18 19 6 7 20 21 10 11 22 23 14 15 (local.get $one) (local.get 1))
           (i32x4.add)
           (i32x4.add)))",
        0,
    );
    assert_has(&l, &["punpcklbw"]);
    assert_has(&l, &["pshufd", ",0x1b"]);
    assert_has(&l, &["por"]);
    assert_lacks(&l, &["pmovzx"]);
}

#[test]
fn v128_load32_splat() {
    let l = check_snapshot(
        "v128_load32_splat",
        "(module (memory 1) (func (param i32) (result v128) (v128.load32_splat offset=4 (local.get 0))))",
        0,
    );
    assert_has(&l, &["movss", "+4]"]);
    assert_has(&l, &["pshufd"]);
}

/// A `select` on a comparison picks its value with a `cmov` on the comparison's flags,
/// with no 0/1 value and no `test`: into a pinned local the next operator sets (as
/// clang's `min` loops do), and into a register of its own.
#[test]
fn select_of_compare_fused() {
    let l = check_snapshot(
        "select_of_compare_fused",
        "(module
           (func $g (param i32) (result i32) (local.get 0))
           (func (param i32 i32) (result i32) (local i32)
             (loop
               (local.set 1 (select (local.get 0) (local.get 1) (i32.lt_u (local.get 0) (local.get 1))))
               (local.set 2 (i32.add (local.get 2)
                 (select (i32.const 0) (local.get 1) (i32.gt_s (local.get 0) (i32.const 9)))))
               (br_if 0 (local.get 0)))
             (call $g (local.get 2))))",
        1,
    );
    assert_has(&l, &["cmovb"]);
    assert_has(&l, &["cmovg"]);
    assert_lacks(&l, &["setb"]);
    assert_lacks(&l, &["setg"]);
}

/// An array index scaled and added (`a + (x << k)`, k 1 to 3) is one `lea`: with the
/// addend below the shift (a pinned local, a constant), after it (clang's `i32.const`
/// of a static array's address, a `local.get`), i64 too, and into the local the result
/// is set to; a count of 4 stays a shift.
#[test]
fn scaled_index_by_lea() {
    let l = check_snapshot(
        "scaled_index_by_lea",
        "(module (memory 1)
           (func (param i32 i32 i64) (result i32) (local i32)
             (i32.load (i32.add (local.get 1) (i32.shl (local.get 0) (i32.const 2))))
             (i32.load (i32.add (i32.shl (local.get 0) (i32.const 3)) (i32.const 1040)))
             (i32.add (i32.shl (local.get 0) (i32.const 1)) (local.get 1))
             (local.set 3 (i32.add (i32.const 64) (i32.shl (local.get 1) (i32.const 2))))
             (i64.store (i32.const 0) (i64.add (local.get 2) (i64.shl (local.get 2) (i64.const 3))))
             (i32.add (local.get 1) (i32.shl (local.get 0) (i32.const 4)))
             (i32.add) (i32.add) (i32.add) (local.get 3) (i32.add)))",
        0,
    );
    for scale in ["*2]", "*4]", "*8", "*4+0x40]", "*8+0x410]"] {
        assert_has(&l, &["lea", scale]);
    }
    let shifts: Vec<&str> =
        l.lines().filter(|line| !line.starts_with(";;") && line.contains("shl")).collect();
    assert!(matches!(shifts[..], [only] if only.ends_with(",4")), "one shift, by 4: {shifts:?}");
}

/// A `local.tee` of an unpinned local whose value is read again a few operators later
/// keeps a copy in a register, and a `local.set` leaves its value's register holding the
/// local: the reads take those registers instead of the frame slots just written (the
/// empty loop keeps these rarely used locals unpinned).
#[test]
fn written_locals_read_from_registers() {
    let l = check_snapshot(
        "written_locals_read_from_registers",
        "(module
           (func (param i64 i64) (result i64) (local i64 i64)
             (loop)
             (local.set 3 (i64.rotl (local.tee 2 (i64.add (local.get 0) (local.get 1))) (i64.const 7)))
             (i64.xor (local.get 2) (local.get 3))))",
        0,
    );
    let body: Vec<&str> = l.lines().filter(|line| !line.starts_with(";;")).collect();
    let reloads = body.iter().filter(|line| line.contains("mov") && line.contains(",[rbp-")).count();
    assert_eq!(reloads, 0, "no local read back from its frame slot:\n{l}");
    assert_has(&l, &["xor"]);
}

/// Without loops, a local used twice or more gets a register: in a function without
/// calls a caller-saved one (nothing to save), in one with calls a callee-saved one,
/// saved in the prologue. Neither the written local nor the parameters read twice go
/// through the frame.
#[test]
fn straight_line_locals_pinned() {
    let leaf = check_snapshot(
        "straight_line_locals_pinned_in_leaf",
        "(module (func (param i64 i64) (result i64) (local i64)
           (local.set 2 (i64.mul (local.get 0) (local.get 1)))
           (i64.add (i64.xor (local.get 2) (local.get 0)) (i64.sub (local.get 2) (local.get 1)))))",
        0,
    );
    let frame_accesses = |l: &str| l.lines().filter(|line| line.contains("[rbp-")).count();
    assert_eq!(frame_accesses(&leaf), 0, "no local in the frame, no register saved:\n{leaf}");
    for callee_saved in ["rbx", "r12", "r13"] {
        assert_lacks(&leaf, &[callee_saved]);
    }
    // Each parameter taken once from the register that brings it, not from the frame.
    assert_eq!(leaf.lines().filter(|line| line.contains("[rbp+")).count(), 0, "{leaf}");
    assert_has(&leaf, &["mov", ",rsi"]);
    assert_has(&leaf, &["mov", ",rdx"]);
    let with_call = check_snapshot(
        "straight_line_locals_pinned_across_call",
        "(module (func $g (param i64) (result i64) (local.get 0))
           (func (param i64) (result i64) (local i64)
             (local.set 1 (call $g (local.get 0)))
             (i64.add (local.get 1) (i64.mul (local.get 1) (local.get 0)))))",
        1,
    );
    assert_has(&with_call, &["mov", "[rbp-0x10],rbx"]);
    assert_has(&with_call, &["mov", "rbx,[rbp-0x10]"]);
    assert_eq!(
        frame_accesses(&with_call),
        1 + 2 * 2,
        "r15 stored, rbx and r12 saved and restored:\n{with_call}"
    );
}

/// `i32.eqz`/`i64.eqz` of a pinned local tests the local's register in place (clang's
/// loop exits store a comparison in a local, then branch on its `eqz`), both for a
/// branch and for a 0/1 value.
#[test]
fn eqz_of_pinned_local_in_place() {
    let l = check_snapshot(
        "eqz_of_pinned_local_in_place",
        "(module (func (param i32 i64) (result i32) (local i32)
           (loop
             (local.set 0 (i32.lt_u (local.get 0) (i32.const 1000)))
             (local.set 2 (i32.add (local.get 2) (i64.eqz (local.get 1))))
             (local.set 1 (i64.shr_u (local.get 1) (i64.const 1)))
             (br_if 0 (i32.eqz (local.get 0))))
           (local.get 2)))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["test", "ebx,ebx"]);
    assert_has(&l, &["test", "r12,r12"]);
}

/// A branch on a local that was just set to a comparison, with only moves between
/// (clang's loop exits: `lt_u; local.set c; local.get i'; local.set i; local.get c;
/// i32.eqz; br_if`), branches on the comparison's flags: no test of the local.
#[test]
fn branch_on_local_set_to_comparison_reads_flags() {
    let l = check_snapshot(
        "branch_on_local_set_to_comparison_reads_flags",
        "(module (func (param i32 i32) (result i32) (local i32 i32)
           (loop
             (local.set 3 (i32.add (local.get 0) (i32.const 1)))
             (local.set 2 (i32.lt_u (local.get 3) (local.get 0)))
             (local.set 0 (local.get 3))
             (br_if 0 (i32.eqz (local.get 2))))
           (i32.add (local.get 2) (local.get 0))))",
        0,
    );
    let body: Vec<&str> = l.lines().filter(|line| !line.starts_with(";;")).collect();
    let cmp = body.iter().position(|line| line.contains("cmp ")).expect("a compare");
    assert!(body[cmp + 1..].iter().take(5).any(|line| line.contains("jae")), "branch on the flags:\n{l}");
    assert_lacks(&l, &["test"]);
}

/// A `select` on a comparison teed to a local (clang's branchless binary search:
/// `i64.lt_u; local.tee c; select`) picks with `cmovcc` on the comparison's flags: the
/// local gets the 0/1 value, but nothing tests it.
#[test]
fn select_on_comparison_teed_to_local_reads_flags() {
    let l = check_snapshot(
        "select_on_comparison_teed_to_local_reads_flags",
        "(module (memory 1) (func (param i32 i32 i64) (result i32) (local i32)
           (select (local.get 0) (local.get 1)
             (local.tee 3 (i64.lt_u (i64.load (local.get 0)) (local.get 2))))
           (local.get 3) i32.add))",
        0,
    );
    let body: Vec<&str> = l.lines().filter(|line| !line.starts_with(";;")).collect();
    let cmp = body.iter().position(|line| line.contains("cmp ")).expect("a compare");
    assert!(body[cmp + 1..].iter().take(6).any(|line| line.contains("cmov")), "cmov on the flags:\n{l}");
    assert_lacks(&l, &["test"]);
}

/// Loop headers start at 64-byte boundaries in memory, wherever the code before them
/// ends: a function with loops starts at one, and pads (with `nop`s) up to the next
/// boundary before each loop. Functions without loops keep a 16-byte start.
#[test]
fn loop_headers_are_aligned_in_memory() {
    // A first function of 1 to 8 additions puts the next one's start at every 16-byte
    // offset modulo 64 were it only 16-byte aligned.
    for additions in 1..=8 {
        let body = "(i32.add (local.get 0) (i32.const 3))".repeat(additions);
        let drops = "(drop)".repeat(additions - 1);
        let wat = format!(
            "(module
              (func (param i32) (result i32) {body} {drops})
              (func (param i32) (result i32) (local i32)
                (loop
                  (local.set 1 (i32.add (local.get 1) (local.get 0)))
                  (loop (br_if 0 (local.tee 0 (i32.shr_u (local.get 0) (i32.const 1)))))
                  (br_if 0 (i32.lt_u (local.get 1) (i32.const 100))))
                (local.get 1))
              (func (result i32) (i32.const 7)))"
        );
        let module = Module::new(&Engine::default(), &wat::parse_str(&wat).unwrap()).expect("compiles");
        let code = |i: u32| module.function_code(i).unwrap();
        assert_eq!(code(1).as_ptr() as usize % 64, 0, "the function with loops starts at a 64-byte boundary");
        assert_eq!(code(2).as_ptr() as usize % 16, 0);
        let gap = code(2).as_ptr() as usize - code(1).as_ptr() as usize - code(1).len();
        assert!(gap < 16, "a function without loops starts at the next 16-byte boundary");
        // Both loops' back edges jump to 64-byte boundaries of the function's code.
        let listing = disassemble(code(1));
        let back_edges: Vec<u64> = listing
            .lines()
            .filter_map(|l| {
                let (at, rest) = l.split_once("  ")?;
                let at = u64::from_str_radix(at, 16).ok()?;
                let target = rest.split_whitespace().last()?.strip_prefix("0x")?;
                let target = u64::from_str_radix(target, 16).ok()?;
                (rest.contains(" j") && target < at).then_some(target)
            })
            .collect();
        assert_eq!(back_edges.len(), 2, "two loops:\n{listing}");
        for target in back_edges {
            assert_eq!(target % 64, 0, "loop header at {target:#x}:\n{listing}");
        }
    }
}

#[test]
fn tail_calls_store_arguments_in_place() {
    // To itself: the frame stays and the body starts over (no `leave`, no second stack
    // check); arguments go straight into the parameter slots (n - 1 into the first, the
    // second keeps its own).
    let l = check_snapshot(
        "self_tail_call",
        "(module (func $count (param i32 i64) (result i64)
           (if (result i64) (i32.eqz (local.get 0)) (then (local.get 1))
             (else (return_call $count (i32.sub (local.get 0) (i32.const 1))
               (local.get 1))))))",
        0,
    );
    assert_eq!(l.matches("cmp     rsp,").count(), 1, "one stack check");
    assert_eq!(l.matches("pop     rbp").count(), 1, "one way out");
    assert_lacks(&l, &["mov     [rsp"]);
    // To another function: in place too, then the frame is left.
    let l = check_snapshot(
        "tail_call_in_place",
        "(module (func $f (param i32 i32) (result i32)
           (return_call $g (local.get 1) (i32.const 7)))
         (func $g (param i32 i32) (result i32) (local.get 0)))",
        0,
    );
    assert_lacks(&l, &["mov     [rsp"]);
    assert_has(&l, &["mov", "[rbp+0x10]"]);
}

/// A float accumulator lives in a callee-saved xmm register across calls to wasm
/// functions: no store before the call and no reload after it (spectral's inner loop).
/// A call into Rust (`memory.grow` here) saves and restores all three callee-saved xmm
/// registers around it, since the wasm callers further up expect them intact.
#[test]
fn float_accumulator_kept_across_calls() {
    let wat = "(module (memory 1)
           (func $f (param i32) (result f64) (f64.convert_i32_u (local.get 0)))
           (func (param i32) (result f64) (local f64)
             (loop
               (local.set 1 (f64.add (local.get 1) (call $f (local.get 0))))
               (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
               (br_if 0 (local.get 0)))
             (drop (memory.grow (i32.const 0)))
             (local.get 1)))";
    let l = check_snapshot("float_accumulator_kept_across_calls", wat, 1);
    assert_prologue(&l);
    assert_has(&l, &["movsd", "[rbp-0x18],xmm14"]);
    assert_has(&l, &["addsd", "xmm14,"]);
    let body: Vec<&str> = l.lines().filter(|line| !line.starts_with(";;")).collect();
    let call = body.iter().position(|line| line.contains("call") && !line.contains("r11")).expect("a call");
    assert!(
        !body[call - 3..call + 3].iter().any(|line| line.contains("xmm14") && line.contains("[rbp")),
        "xmm14 neither stored nor reloaded around the call:\n{l}"
    );
    for r in ["xmm12", "xmm13", "xmm14"] {
        assert_has(&l, &["movsd", "[rsp", &format!("],{r}")]);
        assert_has(&l, &["movsd", &format!("{r},[rsp")]);
    }
}

/// A v128 accumulator in a loop lives in a (caller-saved) xmm register: no frame load
/// or store of it in the loop body (vecdot's dot product).
#[test]
fn v128_accumulator_in_register() {
    let l = check_snapshot(
        "v128_accumulator_in_register",
        "(module (memory 1)
           (func (param i32) (result v128) (local v128)
             (loop
               (local.set 1 (i32x4.add (local.get 1) (v128.load16x4_s (local.get 0))))
               (local.set 0 (i32.sub (local.get 0) (i32.const 8)))
               (br_if 0 (local.get 0)))
             (local.get 1)))",
        0,
    );
    assert_prologue(&l);
    assert_has(&l, &["paddd", "xmm11"]);
    assert_lacks(&l, &["movdqu", "[rbp-"]);
}

/// A count of unsigned comparisons (branchless partitions: `n += x < pivot`) adds the
/// carry flag: `cmp; adc` into the pinned counter, no `setb` and `movzx`. `>=` is an
/// `sbb` of -1, and subtracting either the opposite.
#[test]
fn unsigned_comparison_added_with_carry() {
    let l = check_snapshot(
        "unsigned_comparison_added_with_carry",
        "(module (func (param i32 i32 i32) (result i32) (local $n i32)
           (loop $again
             (local.set $n (i32.add (local.get $n) (i32.lt_u (local.get 0) (local.get 1))))
             (local.set $n (i32.add (local.get $n) (i32.ge_u (local.get 0) (local.get 2))))
             (local.set $n (i32.sub (local.get $n) (i32.lt_u (local.get 1) (local.get 2))))
             (local.set $n (i32.sub (local.get $n) (i32.ge_u (local.get 2) (local.get 0))))
             (br_if $again (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
           (local.get $n)))",
        0,
    );
    assert_has(&l, &["adc", ",0"]);
    assert_has(&l, &["sbb", ",0xffffffff"]);
    assert_has(&l, &["sbb", ",0"]);
    assert_has(&l, &["adc", ",0xffffffff"]);
    assert_lacks(&l, &["setb"]);
    assert_lacks(&l, &["setae"]);
}

/// Locals first written inside a block that an earlier branch leaves, and used only
/// before that block ends (keccak's state, loaded after a length check), start
/// unzeroed: every path to a read passes the write. Only `$late`, also read after the
/// block, which the branch reaches without the write, is zeroed, with one store.
#[test]
fn locals_written_inside_a_skipped_block_need_no_zero_start() {
    let l = check_snapshot(
        "locals_written_inside_a_skipped_block_need_no_zero_start",
        "(module (memory 1) (func (param $p i32) (result i64)
           (local $a i64) (local $b i64) (local $c i64) (local $d i64) (local $e i64)
           (local $f i64) (local $g i64) (local $h i64) (local $i i64) (local $late i64)
           (block
             (br_if 0 (i32.eqz (local.get $p)))
             (local.set $a (i64.load (i32.const 0)))  (local.set $b (i64.load (i32.const 8)))
             (local.set $c (i64.load (i32.const 16))) (local.set $d (i64.load (i32.const 24)))
             (local.set $e (i64.load (i32.const 32))) (local.set $f (i64.load (i32.const 40)))
             (local.set $g (i64.load (i32.const 48))) (local.set $h (i64.load (i32.const 56)))
             (local.set $i (i64.load (i32.const 64)))
             (local.set $late (i64.xor (i64.xor (i64.xor (local.get $a) (local.get $b))
               (i64.xor (local.get $c) (local.get $d))) (i64.xor (i64.xor (local.get $e) (local.get $f))
               (i64.xor (local.get $g) (i64.xor (local.get $h) (local.get $i)))))))
           (local.get $late)))",
        0,
    );
    assert_prologue(&l);
    assert_lacks(&l, &["rep stos"]);
    let zero_stores = l.lines().filter(|l| !l.starts_with(";;") && l.contains("mov") && l.ends_with("],0"));
    assert_eq!(zero_stores.count(), 1, "{l}");
}

/// `struct.get`/`struct.set`: a null check and one access at the field's offset (the
/// 16-byte header first); a packed field reads with a sign-extending load.
#[test]
fn struct_fields_are_one_access_after_a_null_check() {
    let l = check_snapshot(
        "struct_get_and_set",
        "(module (type $s (struct (field (mut i32)) (field (mut i8))))
           (func (param (ref null $s)) (result i32)
             (struct.set $s 0 (local.get 0) (i32.const 7))
             (struct.get_s $s 1 (local.get 0))))",
        0,
    );
    assert_has(&l, &["mov     [", "+0x10],"]);
    assert_has(&l, &["movsx", "byte ptr [", "+0x14]"]);
    // The null structure reference trap stub (code 17).
    assert_has(&l, &["mov     esi,0x11"]);
}

/// `array.get`: a null check, the index zero-extended and compared unsigned with the
/// length in the header, then one scaled load past the header.
#[test]
fn array_get_checks_null_and_length() {
    let l = check_snapshot(
        "array_get_checks_null_and_length",
        "(module (type $a (array (mut i64)))
           (func (param (ref null $a) i32) (result i64) (array.get $a (local.get 0) (local.get 1))))",
        0,
    );
    assert_has(&l, &["cmp", "+0xc]"]);
    assert_has(&l, &["jae"]);
    assert_has(&l, &["mov", "*8+0x10]"]);
    // The null array reference (18) and out of bounds array access (20) stubs.
    assert_has(&l, &["mov     esi,0x12"]);
    assert_has(&l, &["mov     esi,0x14"]);
}

/// `ref.cast_desc_eq`: the descriptor's null check, then the object's (a null object
/// fails a non-null target), its low bits (an i31 or host value fails), the header's
/// described byte (only a struct with a descriptor keeps one at 0x10) and one compare
/// of the descriptor at 0x10.
#[test]
fn descriptor_cast_checks_the_described_byte_then_compares() {
    let engine =
        Engine::new(sidewinder_engine::Config { custom_descriptors: true, ..Default::default() }).unwrap();
    let l = check_snapshot_with(
        &engine,
        "descriptor_cast",
        "(module (rec (type $a (descriptor $d) (struct)) (type $d (describes $a) (struct)))
           (func (param anyref (ref null $d)) (result (ref $a))
             (ref.cast_desc_eq (ref $a) (local.get 0) (local.get 1))))",
        0,
    );
    assert_has(&l, &["movzx", "+0xa]"]);
    assert_has(&l, &["cmp", "+0x10]"]);
    // The descriptor cast failure (25) and null descriptor reference (26) stubs.
    assert_has(&l, &["mov     esi,0x19"]);
    assert_has(&l, &["mov     esi,0x1a"]);
}

/// `ref.i31` is one `lea` in 32 bits, `i31.get_s` a null check and an arithmetic shift.
#[test]
fn i31_is_a_lea_and_a_shift() {
    let l = check_snapshot(
        "i31_lea_and_shift",
        "(module (func (param i32) (result i32) (i31.get_s (ref.i31 (local.get 0)))))",
        0,
    );
    assert_has(&l, &["lea", "+1]"]);
    assert_has(&l, &["sar", ",1"]);
}

/// A cast from `anyref` to `(ref struct)`: null, then the low two bits (an i31 or a
/// host value is no address), then the kind byte of the header.
#[test]
fn cast_to_struct_checks_tag_bits_before_the_header() {
    let l = check_snapshot(
        "ref_cast_anyref_to_struct",
        "(module (func (param anyref) (result (ref struct)) (ref.cast (ref struct) (local.get 0))))",
        0,
    );
    let body: Vec<&str> = l.lines().filter(|line| !line.starts_with(";;")).collect();
    let tag = body.iter().position(|line| line.contains("and     r11d,3")).expect("a tag test");
    let kind =
        body.iter().position(|line| line.contains("movzx") && line.contains("+8]")).expect("a kind load");
    assert!(tag < kind, "the tag bits are tested before the header is read:\n{l}");
    // The cast failure stub (code 16).
    assert_has(&l, &["mov     esi,0x10"]);
}

/// `struct.new` allocates in line: the bump pointer from the context, a compare with
/// the chunk's end (the GC allocation stub, which keeps every register, when it is
/// full), the header, then each field stored straight from its operand.
#[test]
fn struct_new_bumps_a_pointer_in_line() {
    let l = check_snapshot(
        "struct_new_in_line",
        "(module (type $s (struct (field i32) (field i64) (field f64)))
           (func (param i32 f64) (result (ref $s)) (struct.new $s (local.get 0) (i64.const 7) (local.get 1))))",
        0,
    );
    assert_has(&l, &["cmp     r11,[", "+8]"]);
    assert_has(&l, &["movq    xmm15,r11"]);
    // kind 1 (struct) at +8; the fields at +16, +24 (i64 7 as an immediate) and +32.
    assert_has(&l, &["mov     dword ptr [", "+8],1"]);
    assert_has(&l, &["mov     qword ptr [", "+0x18],7"]);
    assert_has(&l, &["+0x20],xmm"]);
    assert_has(&l, &["mov     r11, <type chain>"]);
}

/// How often `pattern` occurs in `code`.
fn occurrences(code: &[u8], pattern: &[u8]) -> usize {
    code.windows(pattern.len()).filter(|w| *w == pattern).count()
}

/// The constant pool holds each value once however often the function uses it, and
/// every use reads the right one (the spec tests check the values; this, the sharing).
#[test]
fn the_constant_pool_keeps_one_copy_of_each_value() {
    let mut body = String::from("(local.get 0)");
    for k in 0..40 {
        // Two values used 20 times each, and 40 values used once.
        body = format!(
            "(f64.mul (f64.add {body} (f64.const {})) (f64.const {}.25))",
            1.5 + (k % 2) as f64,
            1000 + k
        );
    }
    let wat = format!("(module (func (param f64) (result f64) {body}))");
    let module = Module::new(&Engine::default(), &wat::parse_str(&wat).unwrap()).unwrap();
    let code = module.function_code(0).unwrap();
    for value in [1.5f64, 2.5] {
        assert_eq!(occurrences(code, &value.to_bits().to_le_bytes()), 1, "{value} is pooled once");
    }
    for k in 0..40 {
        let value = 1000.25 + f64::from(k);
        assert_eq!(occurrences(code, &value.to_bits().to_le_bytes()), 1, "{value} is pooled once");
    }

    // Thirty shuffles of a vector with itself, three masks in turn (each a `pshufb` with
    // its mask from the pool).
    let mut wat = String::from("(module (func (param v128) (result v128)");
    for k in 0..30u8 {
        let lanes: Vec<String> = (0..16u8).map(|i| ((i * 7 + k % 3) % 16).to_string()).collect();
        write!(wat, " (local.set 0 (i8x16.shuffle {} (local.get 0) (local.get 0)))", lanes.join(" "))
            .unwrap();
    }
    wat.push_str(" (local.get 0)))");
    let module = Module::new(&Engine::default(), &wat::parse_str(&wat).unwrap()).unwrap();
    let code = module.function_code(0).unwrap();
    for k in 0..3u8 {
        let mask: Vec<u8> = (0..16u8).map(|i| (i * 7 + k) % 16).collect();
        assert_eq!(occurrences(code, &mask), 1, "shuffle mask {k} is pooled once");
    }
}

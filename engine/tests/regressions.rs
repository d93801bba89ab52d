//! Miscompiles and misreported errors found once, kept so they stay fixed.

use sidewinder_engine::{Engine, Error, Extern, Instance, Module, Store, TrapCode, Val};

#[allow(dead_code)] // only the shared modules are used here
mod support;

fn call(wat: &str, args: &[Val]) -> Vec<Val> {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let bytes = wat::parse_str(wat).expect("valid wat");
    let module = Module::new(&engine, &bytes).expect("compiles");
    let instance = Instance::new(&store, &module, &[]).expect("instantiates");
    instance.call("f", args).expect("runs")
}

/// A fresh store and an instance of `wat` (no imports) in it.
fn instance_of(wat: &str) -> (Store, Instance) {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let module = Module::new(&engine, &wat::parse_str(wat).expect("valid wat")).expect("compiles");
    let instance = Instance::new(&store, &module, &[]).expect("instantiates");
    (store, instance)
}

/// Calls export `name` with two integers of `bits` (32 or 64) given as raw bits; its one
/// integer result as raw bits (an i32 zero-extended).
fn call_on_integers(instance: &Instance, name: &str, bits: u32, x: u64, y: u64) -> u64 {
    let args = if bits == 32 {
        [Val::I32(x as i32), Val::I32(y as i32)]
    } else {
        [Val::I64(x as i64), Val::I64(y as i64)]
    };
    match instance.call(name, &args).expect("runs").as_slice() {
        [Val::I32(v)] => *v as u32 as u64,
        [Val::I64(v)] => *v as u64,
        other => panic!("{name}: {other:?}"),
    }
}

fn i32_result(v: &[Val]) -> i32 {
    match v {
        [Val::I32(x)] => *x,
        other => panic!("expected one i32, got {other:?}"),
    }
}

/// Nine live integers reach rbx/r12/r13, which the entry trampoline used to rely on
/// across the call into wasm.
#[test]
fn callee_saved_registers_may_hold_wasm_values() {
    let wat = r#"(module (global $g (mut i32) (i32.const 5))
      (func (export "f") (result i32)
        global.get $g global.get $g global.get $g global.get $g global.get $g
        global.get $g global.get $g global.get $g global.get $g global.get $g
        global.get $g global.get $g
        i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add
        i32.add i32.add i32.add))"#;
    assert_eq!(i32_result(&call(wat, &[])), 60);
}

/// Evicting rax then rdx before a division used to bounce a live value back into rax,
/// where the quotient overwrote it.
#[test]
fn division_keeps_values_living_in_rax_and_rdx() {
    let wat = r#"(module (func (export "f") (param i32 i32) (result i32)
      (i32.add (local.get 0) (i32.const 0))
      (i32.add (local.get 0) (i32.const 0))
      (local.get 1) (i32.rem_u) (i32.add)))"#;
    assert_eq!(i32_result(&call(wat, &[Val::I32(100), Val::I32(3)])), 101);
}

/// br_table in a function with several results used to run the return preparation
/// even when no target returned, underflowing the operand stack (found by the
/// differential test).
#[test]
fn br_table_in_multi_result_function() {
    let wat = r#"(module (func (export "f") (param i32) (result i32 i32)
      block
        local.get 0
        br_table 0 0
      end
      i32.const 1
      i32.const 2))"#;
    let out = call(wat, &[Val::I32(0)]);
    assert!(matches!(out[..], [Val::I32(1), Val::I32(2)]), "{out:?}");
}

/// `select` with a constant condition used to keep the chosen operand where it was: a
/// value spilled to the slot of depth d+1 then sat at depth d, and the next value
/// spilled at depth d+1 (here a block result) overwrote it.
#[test]
fn select_with_constant_condition_keeps_its_spilled_operand() {
    let wat = r#"(module
      (func $two (result i32 i32) (i32.const 100) (i32.const 200))
      (func (export "f") (result i32)
        (block (result i32 i32) (br 0 (call $two)))
        (i32.const 0)
        (select)
        (block (result i32) (br 0 (i32.const 7)))
        (i32.sub)))"#;
    assert_eq!(i32_result(&call(wat, &[])), 193);
}

/// Two instances, each with its own memory: `$read` reads the exporting instance's
/// memory, which holds 42 at address 0; the caller's memory holds 7 there.
fn cross_instance_result(caller_wat: &str) -> Vec<Val> {
    use sidewinder_engine::Extern;
    let engine = Engine::default();
    let store = Store::new(&engine);
    let owner = r#"(module (memory 1) (data (i32.const 0) "\2a")
      (table (export "table") 1 funcref) (elem (i32.const 0) $read)
      (func $read (export "read") (param i32) (result i32) (i32.load8_u (local.get 0))))"#;
    let owner = Module::new(&engine, &wat::parse_str(owner).expect("valid wat")).expect("compiles");
    let owner = Instance::new(&store, &owner, &[]).expect("instantiates");
    let imports: Vec<Extern> = ["read", "table"].iter().filter_map(|n| owner.get_export(n)).collect();
    let caller = Module::new(&engine, &wat::parse_str(caller_wat).expect("valid wat")).expect("compiles");
    let caller = Instance::new(&store, &caller, &imports).expect("instantiates");
    caller.call("f", &[]).expect("runs")
}

/// A call to a function imported from another instance used to leave the caller's
/// memory base in r14, so the callee read and wrote the caller's memory (or, when the
/// caller had no memory, addresses near zero).
#[test]
fn imported_function_of_another_instance_uses_its_own_memory() {
    let wat = r#"(module (import "a" "read" (func $read (param i32) (result i32)))
      (import "a" "table" (table 1 funcref))
      (memory 1) (data (i32.const 0) "\07")
      (func (export "f") (result i32)
        (i32.add (call $read (i32.const 0)) (i32.load8_u (i32.const 0)))))"#;
    assert_eq!(i32_result(&cross_instance_result(wat)), 49);
}

/// The same through `call_indirect` on a table holding the other instance's function.
#[test]
fn call_indirect_into_another_instance_uses_its_memory() {
    let wat = r#"(module (import "a" "read" (func $read (param i32) (result i32)))
      (import "a" "table" (table 1 funcref))
      (type $t (func (param i32) (result i32)))
      (memory 1) (data (i32.const 0) "\07")
      (func (export "f") (result i32)
        (i32.add (call_indirect (type $t) (i32.const 0) (i32.const 0)) (i32.load8_u (i32.const 0)))))"#;
    assert_eq!(i32_result(&cross_instance_result(wat)), 49);
}

/// A `call_indirect` that stays in the instance does not reload the context after it:
/// the callee must come back with r15 and r14 as they were, here after itself calling
/// into another instance, directly and through that instance's table (`$via_table` is
/// in this module's own table, so both reach the same-instance path).
#[test]
fn call_indirect_within_the_instance_finds_its_context_intact() {
    let wat = r#"(module (import "a" "read" (func $read (param i32) (result i32)))
      (import "a" "table" (table $theirs 1 funcref))
      (type $t (func (param i32) (result i32)))
      (table $ours 2 funcref) (elem (table $ours) (i32.const 0) func $direct $via_table)
      (memory 1) (data (i32.const 0) "\07")
      (func $direct (param i32) (result i32) (call $read (local.get 0)))
      (func $via_table (param i32) (result i32)
        (call_indirect $theirs (type $t) (local.get 0) (i32.const 0)))
      (func (export "f") (result i32)
        (i32.add
          (i32.add (call_indirect $ours (type $t) (i32.const 0) (i32.const 0)) (i32.load8_u (i32.const 0)))
          (i32.add (call_indirect $ours (type $t) (i32.const 0) (i32.const 1)) (i32.load8_u (i32.const 0))))))"#;
    // Each side: the other instance's byte (42) plus ours (7).
    assert_eq!(i32_result(&cross_instance_result(wat)), 98);
}

/// Table 0 and global 0 are reached through their own pointers in the context (one
/// load less than the arrays). When both are imported and the host grows the table far
/// enough that its elements move, and sets the global, the code must see the new
/// storage and the new value.
#[test]
fn imported_table_and_global_zero_seen_after_the_host_changes_them() {
    use sidewinder_engine::{Extern, Global, GlobalType, Table, TableType, ValType};
    let engine = Engine::default();
    let store = Store::new(&engine);
    let table = Table::new(
        &store,
        TableType { element: ValType::FUNCREF, minimum: 1, maximum: None, table64: false },
        Val::FuncRef(None),
    )
    .expect("table");
    let global = Global::new(&store, GlobalType { content: ValType::I32, mutable: true }, Val::I32(1))
        .expect("global");
    let wat = r#"(module (import "h" "t" (table 1 funcref)) (import "h" "g" (global (mut i32)))
      (type $t (func (result i32)))
      (func (export "seven") (result i32) (i32.const 7))
      (func (export "f") (param i32) (result i32)
        (i32.add (global.get 0) (i32.add (table.size 0) (call_indirect (type $t) (local.get 0))))))"#;
    let module = Module::new(&engine, &wat::parse_str(wat).expect("valid wat")).expect("compiles");
    let instance =
        Instance::new(&store, &module, &[Extern::Table(table.clone()), Extern::Global(global.clone())])
            .expect("links");
    let Some(Extern::Func(seven)) = instance.get_export("seven") else { panic!("no export seven") };
    table.set(0, Val::FuncRef(Some(seven.clone()))).expect("set");
    assert_eq!(i32_result(&instance.call("f", &[Val::I32(0)]).expect("runs")), 1 + 1 + 7);
    assert_eq!(table.grow(100_000, Val::FuncRef(None)), Some(1));
    table.set(100_000, Val::FuncRef(Some(seven))).expect("set");
    global.set(Val::I32(1000)).expect("set global");
    assert_eq!(i32_result(&instance.call("f", &[Val::I32(100_000)]).expect("runs")), 1000 + 100_001 + 7);
    match instance.call("f", &[Val::I32(100_001)]) {
        Err(Error::Trap(t)) => assert_eq!(t.code(), TrapCode::UndefinedElement),
        other => panic!("{other:?}"),
    }
}

/// `i64.and` with 0xffffffff is compiled as a 32-bit move: the low half of a value in
/// a register, of a pinned local, of one in memory, then tested by `i64.eqz` right after
/// (flags of an earlier `add` must not stand in for it).
#[test]
fn i64_and_low_half_mask() {
    let wat = r#"(module
      (func (export "f") (param i64 i64) (result i64) (local i64)
        (local.set 2 (i64.add (local.get 0) (local.get 1)))
        (i64.add
          (i64.add (i64.and (i64.add (local.get 0) (local.get 1)) (i64.const 0xffffffff))
                   (i64.and (local.get 2) (i64.const 0xffffffff)))
          (i64.add (i64.and (local.get 0) (i64.const 0xffffffff))
                   (i64.extend_i32_u (i64.eqz (i64.and (i64.add (local.get 0) (local.get 1)) (i64.const 0xffffffff))))))))"#;
    let (_store, instance) = instance_of(wat);
    for (x, y) in
        [(0x1234_5678_9abc_def0u64, 0x1111_1111_1111_1111u64), (0xffff_ffff_0000_0000, 0x0000_0001_0000_0000)]
    {
        let low = |v: u64| v & 0xffff_ffff;
        let sum = x.wrapping_add(y);
        let want =
            low(sum).wrapping_add(low(sum)).wrapping_add(low(x)).wrapping_add(u64::from(low(sum) == 0));
        assert_eq!(call_on_integers(&instance, "f", 64, x, y), want, "{x:#x} {y:#x}");
    }
}

/// A constant below `settled_height` (left as is by an earlier frame entry) that then
/// became a loop parameter used to stay a compile-time constant inside the loop: the
/// back edge's value in the canonical slot was ignored, and `f` returned 1, not 5.
#[test]
fn settled_constant_becomes_a_loop_parameter() {
    let wat = r#"(module (func (export "f") (result i32) (local $i i32)
      i32.const 0
      block end
      loop (param i32) (result i32)
        i32.const 1
        i32.add
        (local.tee $i (i32.add (local.get $i) (i32.const 1)))
        i32.const 5
        i32.lt_u
        br_if 0
      end))"#;
    assert_eq!(i32_result(&call(wat, &[])), 5);
}

/// A valid SIMD operator used to reach wasmparser's "missing SIMD visitor" panic inside
/// the compiler. SIMD and relaxed SIMD compile now.
#[test]
fn simd_and_relaxed_simd_compile() {
    let simd = "(module (func (export \"f\") (result i32) v128.const i32x4 7 2 3 4 i32x4.extract_lane 0))";
    assert_eq!(i32_result(&call(simd, &[])), 7);
    let relaxed = "(module (func (export \"f\") (result i32)
        (i8x16.relaxed_swizzle (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
                               (v128.const i8x16 3 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0))
        i8x16.extract_lane_u 0))";
    assert_eq!(i32_result(&call(relaxed, &[])), 3);
}

#[test]
fn an_invalid_module_is_reported_invalid_whatever_unsupported_types_it_uses() {
    // The compiler refused a `nullexnref` local (which the validator accepts) as it read
    // the locals; the body's type error must still be what the module is rejected for
    // (found by tests/mutated_modules.rs). Since function references, `nullexnref` is
    // supported, like every type the validator accepts with the engine's features.
    let invalid =
        wat::parse_str("(module (func (local nullexnref) (drop (i32.add (f64.const 1) (i32.const 1)))))")
            .expect("wat");
    for outcome in [Module::validate(&invalid), Module::new(&Engine::default(), &invalid).map(drop)] {
        match outcome {
            Err(Error::Compile { message, .. }) => assert!(message.contains("type mismatch"), "{message}"),
            other => panic!("{other:?}"),
        }
    }
    let supported = wat::parse_str("(module (func (local nullexnref)))").expect("wat");
    assert!(Module::validate(&supported).is_ok());
}

/// The module of `fused_comparisons_agree_with_their_values` for one comparison: its
/// result has bit 0 set to the comparison's value, bit 1 if a `br_if` on its `eqz` is
/// not taken, bit 2 if an `if` on it runs its then-arm, bit 3 if a `br_if` on it is not
/// taken, bit 4 set to the value of its `eqz`, and bit 5 if an `if` on its `eqz` runs
/// its then-arm.
fn comparison_forms(ty: &str, cond: &str) -> String {
    let cmp = format!("({ty}.{cond} (local.get 0) (local.get 1))");
    format!(
        r#"(module (func (export "f") (param {ty} {ty}) (result i32)
          (local $r i32)
          (local.set $r {cmp})
          (block (br_if 0 (i32.eqz {cmp}))
                 (local.set $r (i32.or (local.get $r) (i32.const 2))))
          (block (br_if 0 {cmp})
                 (local.set $r (i32.or (local.get $r) (i32.const 8))))
          (if {cmp}
            (then (local.set $r (i32.or (local.get $r) (i32.const 4)))))
          (local.set $r (i32.or (local.get $r) (i32.shl (i32.eqz {cmp}) (i32.const 4))))
          (if (i32.eqz {cmp})
            (then (local.set $r (i32.or (local.get $r) (i32.const 32)))))
          (local.get $r)))"#
    )
}

/// Bits 0, 1 and 2 of `comparison_forms`'s result when the comparison holds; bits 3, 4
/// and 5 when it does not.
fn comparison_forms_expected(holds: bool) -> i32 {
    if holds {
        0b000111
    } else {
        0b111000
    }
}

/// The value of the integer comparison `cond` (`eq`, `lt_s`, `ge_u`, ...) of `x` and `y`,
/// given signed (`x`, `y`) and unsigned (`ux`, `uy`) views of the operands.
fn int_condition_holds(cond: &str, x: i64, y: i64, ux: u64, uy: u64) -> bool {
    match cond {
        "eq" => x == y,
        "ne" => x != y,
        "lt_s" => x < y,
        "lt_u" => ux < uy,
        "gt_s" => x > y,
        "gt_u" => ux > uy,
        "le_s" => x <= y,
        "le_u" => ux <= uy,
        "ge_s" => x >= y,
        "ge_u" => ux >= uy,
        other => panic!("no integer condition {other}"),
    }
}

/// The value of the float comparison `cond` (`eq`, `ne`, `lt`, `gt`, `le`, `ge`), as IEEE 754
/// (and Rust) define it: false for NaN operands except `ne`.
fn float_condition_holds(cond: &str, x: f64, y: f64) -> bool {
    match cond {
        "eq" => x == y,
        "ne" => x != y,
        "lt" => x < y,
        "gt" => x > y,
        "le" => x <= y,
        "ge" => x >= y,
        other => panic!("no float condition {other}"),
    }
}

/// Comparisons feeding `br_if` and `if` branch on the flags (fused), and `eqz` of one
/// inverts its condition, while other uses make a 0/1 value: all forms must agree with
/// IEEE 754 on NaNs, signed zeros and infinities, for every float condition, and with
/// every integer condition.
#[test]
fn fused_comparisons_agree_with_their_values() {
    let conditions = ["eq", "ne", "lt", "gt", "le", "ge"];
    let specials = [f64::NAN, -0.0, 0.0, 1.0, -1.0, f64::INFINITY, f64::NEG_INFINITY, 2.5];
    for ty in ["f32", "f64"] {
        for cond in conditions {
            let wat = comparison_forms(ty, cond);
            for &a in &specials {
                for &b in &specials {
                    let args = if ty == "f32" {
                        [Val::F32((a as f32).to_bits()), Val::F32((b as f32).to_bits())]
                    } else {
                        [Val::F64(a.to_bits()), Val::F64(b.to_bits())]
                    };
                    let holds = float_condition_holds(cond, a, b);
                    let got = i32_result(&call(&wat, &args));
                    assert_eq!(got, comparison_forms_expected(holds), "{ty}.{cond}({a}, {b})");
                }
            }
        }
    }
    let values = [i32::MIN, -1, 0, 1, 7, i32::MAX];
    for cond in ["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"] {
        let wat = comparison_forms("i32", cond);
        for &a in &values {
            for &b in &values {
                let holds =
                    int_condition_holds(cond, a.into(), b.into(), (a as u32).into(), (b as u32).into());
                let got = i32_result(&call(&wat, &[Val::I32(a), Val::I32(b)]));
                assert_eq!(got, comparison_forms_expected(holds), "i32.{cond}({a}, {b})");
            }
        }
    }
}

/// Zero divisors are not tested for: the `div` faults and the signal handler turns the
/// fault into the trap. Every division operator traps so, with the divisor in a
/// register, in a pinned local and loaded from memory, many times over in one store
/// (which keeps working), while INT_MIN / -1 still overflows and INT_MIN rem -1 is 0.
#[test]
fn zero_divisors_trap_through_the_fault_handler() {
    let engine = Engine::default();
    let store = Store::new(&engine);
    let mut funcs = String::new();
    for ty in ["i32", "i64"] {
        for op in ["div_s", "div_u", "rem_s", "rem_u"] {
            funcs.push_str(&format!(
                r#"(func (export "{ty}.{op}") (param $x {ty}) (param $d {ty}) (result {ty})
                     (local $i i32) (local $acc {ty})
                     ;; A loop pins $d; the memory operand is 0 at address 0.
                     (loop $l
                       (local.set $acc ({ty}.add (local.get $acc) ({ty}.{op} (local.get $x) (local.get $d))))
                       (local.set $i (i32.add (local.get $i) (i32.const 1)))
                       (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))
                     ({ty}.add (local.get $acc)
                       ({ty}.{op} (local.get $x) ({ty}.load (i32.const 0)))))"#
            ));
        }
    }
    let wat = format!("(module (memory 1) {funcs})");
    let module = Module::new(&engine, &wat::parse_str(&wat).expect("valid wat")).expect("compiles");
    let instance = Instance::new(&store, &module, &[]).expect("instantiates");
    for round in 0..3 {
        for ty in ["i32", "i64"] {
            for op in ["div_s", "div_u", "rem_s", "rem_u"] {
                let name = format!("{ty}.{op}");
                let args = |x: i64, d: i64| match ty {
                    "i32" => [Val::I32(x as i32), Val::I32(d as i32)],
                    _ => [Val::I64(x), Val::I64(d)],
                };
                // The pinned divisor is zero: the loop's division traps.
                match instance.call(&name, &args(7, 0)) {
                    Err(Error::Trap(t)) => assert_eq!(t.code(), TrapCode::IntegerDivisionByZero, "{name}"),
                    other => panic!("{name} by zero (round {round}): {other:?}"),
                }
                // A nonzero divisor gets past the loop; the loaded divisor is zero.
                match instance.call(&name, &args(7, 2)) {
                    Err(Error::Trap(t)) => assert_eq!(t.code(), TrapCode::IntegerDivisionByZero, "{name}"),
                    other => panic!("{name} by a loaded zero (round {round}): {other:?}"),
                }
            }
        }
    }
    // The signed edge cases keep their own handling.
    let wat = r#"(module
      (func (export "div") (param i64 i64) (result i64) (i64.div_s (local.get 0) (local.get 1)))
      (func (export "rem") (param i64 i64) (result i64) (i64.rem_s (local.get 0) (local.get 1))))"#;
    let module = Module::new(&engine, &wat::parse_str(wat).expect("valid wat")).expect("compiles");
    let instance = Instance::new(&store, &module, &[]).expect("instantiates");
    match instance.call("div", &[Val::I64(i64::MIN), Val::I64(-1)]) {
        Err(Error::Trap(t)) => assert_eq!(t.code(), TrapCode::IntegerOverflow),
        other => panic!("i64::MIN / -1: {other:?}"),
    }
    let rem = instance.call("rem", &[Val::I64(i64::MIN), Val::I64(-1)]).expect("runs");
    assert!(matches!(rem[..], [Val::I64(0)]), "{rem:?}");
}

/// An instance whose `f(x: i64, quotient: i32)` divides by the constant `d` (`sign` is
/// "u" or "s") an operand of type `ty`: `x` itself for i64, `wrap(x ^ 2^32)` for i32 (the
/// xor leaves its upper half set, as garbage above an i32 in a register). It returns the
/// quotient, or the remainder when `quotient` is 0.
fn division_by_constant(ty: &str, sign: &str, d: i64) -> (Store, Instance) {
    let operand = match ty {
        "i32" => "(i32.wrap_i64 (i64.xor (local.get 0) (i64.const 0x100000000)))",
        _ => "(local.get 0)",
    };
    let wat = format!(
        r#"(module
          (func (export "f") (param i64 i32) (result {ty})
            (if (result {ty}) (local.get 1)
              (then ({ty}.div_{sign} {operand} ({ty}.const {d})))
              (else ({ty}.rem_{sign} {operand} ({ty}.const {d}))))))"#
    );
    instance_of(&wat)
}

/// The next of a xorshift sequence: pseudo-random dividends, and garbage above them.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Checks `division_by_constant`'s function on the argument `x` against the wanted
/// quotient and remainder (i32 results sign-extended).
fn check_division(instance: &Instance, x: i64, want: [i64; 2], what: &str) {
    for (quotient, want) in [(1, want[0]), (0, want[1])] {
        let got = match &instance.call("f", &[Val::I64(x), Val::I32(quotient)]).expect("runs")[..] {
            [Val::I32(v)] => i64::from(*v),
            [Val::I64(v)] => *v,
            other => panic!("expected one integer, got {other:?}"),
        };
        assert_eq!(got, want, "{what} (quotient: {quotient})");
    }
}

/// `check_division` of the i32 `x`, with `garbage` above it in the argument.
fn check_i32_division(instance: &Instance, x: u32, garbage: u64, want: [u32; 2], what: &str) {
    let wide = (u64::from(x) | (garbage << 32)) as i64;
    check_division(instance, wide, want.map(|w| i64::from(w as i32)), what);
}

/// Unsigned i32 division and remainder by a constant compute with multiplications
/// instead of `div`: exact for every dividend, checked here at the edges of each
/// divisor's range, around its multiples and at pseudo-random values, including
/// dividends whose register holds a nonzero upper half.
#[test]
fn u32_division_by_constants_is_exact() {
    let divisors: [u32; 24] = [
        2,
        3,
        5,
        6,
        7,
        10,
        11,
        13,
        25,
        63,
        100,
        641,
        1000,
        1_000_003,
        65535,
        65536,
        65537,
        0x7FFF_FFFF,
        0x8000_0000,
        0x8000_0001,
        0xAAAA_AAAB,
        0xFFFF_FFFD,
        0xFFFF_FFFE,
        0xFFFF_FFFF,
    ];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for d in divisors {
        let (_store, instance) = division_by_constant("i32", "u", i64::from(d as i32));
        let mut dividends = vec![0u32, 1, 2, u32::MAX, u32::MAX - 1, 0x7FFF_FFFF, 0x8000_0000];
        for k in [1u64, 2, 3, u64::from(u32::MAX / d)] {
            let m = u64::from(d) * k;
            dividends.extend([m.wrapping_sub(1), m, m + 1].into_iter().filter_map(|x| u32::try_from(x).ok()));
        }
        dividends.extend((0..200).map(|_| xorshift(&mut state) as u32));
        for x in dividends {
            check_i32_division(&instance, x, xorshift(&mut state), [x / d, x % d], &format!("{x} by {d}"));
        }
    }
}

/// Signed i32 division and remainder by a constant (other than 0, 1 and -1) divide the
/// magnitudes with multiplications and apply the sign after: exact for every dividend,
/// i32::MIN included, for positive and negative divisors.
#[test]
fn s32_division_by_constants_is_exact() {
    let divisors: [i32; 22] = [
        2,
        -2,
        3,
        -3,
        5,
        7,
        -7,
        10,
        -10,
        13,
        63,
        100,
        -641,
        1_000_003,
        65536,
        -65537,
        i32::MAX,
        -i32::MAX,
        i32::MIN,
        i32::MIN + 1,
        0x4000_0000,
        -0x5555_5555,
    ];
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for d in divisors {
        let (_store, instance) = division_by_constant("i32", "s", i64::from(d));
        let mut dividends = vec![0i32, 1, -1, 2, -2, i32::MAX, i32::MIN, i32::MIN + 1, i32::MAX - 1];
        for k in [1i64, 2, 3, -1, -2, i64::from(i32::MAX / d)] {
            let m = i64::from(d) * k;
            dividends.extend([m - 1, m, m + 1].into_iter().filter_map(|x| i32::try_from(x).ok()));
        }
        dividends.extend((0..200).map(|_| xorshift(&mut state) as i32));
        for x in dividends {
            let want = [x.wrapping_div(d) as u32, x.wrapping_rem(d) as u32];
            check_i32_division(&instance, x as u32, xorshift(&mut state), want, &format!("{x} by {d}"));
        }
    }
}

/// Unsigned i64 division and remainder by a constant use one widening multiplication by
/// a magic multiplier (with the add-back step for divisors whose multiplier needs 65
/// bits): exact at the edges, around multiples and at pseudo-random dividends, for
/// divisors with short and long multipliers, ones that do not fit an imm32, and 2^63.
#[test]
fn u64_division_by_constants_is_exact() {
    let mut divisors = vec![2u64, 3, 7, 10, 641, 1_000_003, 1 << 31, (1 << 32) + 1, 0xFFFF_FFFF_FFFF_FFC5];
    divisors.extend([1 << 63, (1 << 63) + 1, 0x5555_5555_5555_5555, u64::MAX - 1, u64::MAX]);
    let mut state = 0x1234_5678_9ABC_DEF1u64;
    for d in divisors {
        let (_store, instance) = division_by_constant("i64", "u", d as i64);
        let mut dividends = vec![0u64, 1, 2, d - 1, d, u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) - 1];
        for k in [2u64, 3, u64::MAX / d] {
            if let Some(m) = d.checked_mul(k) {
                dividends.extend([m - 1, m, m.saturating_add(1)]);
            }
        }
        dividends.extend((0..200).map(|_| xorshift(&mut state)));
        for x in dividends {
            let want = [(x / d) as i64, (x % d) as i64];
            check_division(&instance, x as i64, want, &format!("{x} by {d}"));
        }
    }
}

/// Signed i64 division and remainder by a constant (other than 0, 1 and -1) divide the
/// magnitudes and apply the sign after: exact for every dividend, i64::MIN included, for
/// divisors of both signs, i64::MIN among them.
#[test]
fn s64_division_by_constants_is_exact() {
    let mut divisors = vec![2i64, -2, 3, -3, 7, -7, 10, -10, 1_000_003, -641, 1 << 40, -(1 << 33) - 1];
    divisors.extend([
        i64::MAX,
        -i64::MAX,
        i64::MIN,
        i64::MIN + 1,
        0x4000_0000_0000_0000,
        -0x5555_5555_5555_5555,
    ]);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for d in divisors {
        let (_store, instance) = division_by_constant("i64", "s", d);
        let mut dividends = vec![0i64, 1, -1, 2, -2, i64::MAX, i64::MIN, i64::MIN + 1, i64::MAX - 1];
        for k in [1i64, 2, 3, -1, -2, i64::MAX / d] {
            if let Some(m) = d.checked_mul(k) {
                dividends.extend([m.saturating_sub(1), m, m.saturating_add(1)]);
            }
        }
        dividends.extend((0..200).map(|_| xorshift(&mut state) as i64));
        for x in dividends {
            let want = [x.wrapping_div(d), x.wrapping_rem(d)];
            check_division(&instance, x, want, &format!("{x} by {d}"));
        }
    }
}

/// A `br_table` carrying two values over a third (or a v128 over an i32), to targets at
/// different depths, carries the top ones (wasmi 2.0.0 gets this wrong: see the
/// differential test's `WASMI_BR_TABLE_BUG`; V8 agrees with this).
#[test]
fn br_table_carries_the_top_values() {
    let [two_i64s, v128] = support::BR_TABLES_CARRYING_TOP_VALUES;
    let want = 0x0000_0004_0000_0003_0000_0002_0000_0001u128;
    for target in [0, 1, 7] {
        let out = call(two_i64s, &[Val::I32(target)]);
        assert!(matches!(out[..], [Val::I64(2), Val::I64(3)]), "target {target}: {out:?}");
        let out = call(v128, &[Val::I32(target)]);
        assert!(matches!(out[..], [Val::V128(v)] if v == want), "target {target}: {out:?}");
    }
}

/// The exports of `selects_agree_with_their_conditions` for one comparison `cmp` of
/// `$x` and `$y` choosing between values of type `s`: each returns
/// `select(a, b, cmp)` with its operands in a different place (pinned parameters,
/// registers, constants, a frame slot spilled by a call, the local the result goes to),
/// or with the condition stored in or teed to a local first (still read from the flags
/// when nothing but moves comes between), inverted by `i32.eqz`, or read again.
fn select_forms(cmp_ty: &str, cond: &str, s: &str) -> (String, Vec<&'static str>) {
    let cmp = format!("({cmp_ty}.{cond} (local.get $x) (local.get $y))");
    let one = if s.starts_with('i') { format!("({s}.const 1)") } else { format!("({s}.const 1.5)") };
    let forms = [
        ("params", format!("(select (local.get $a) (local.get $b) {cmp})")),
        (
            "registers",
            format!("(select ({s}.add (local.get $a) {one}) ({s}.add (local.get $b) {one}) {cmp})"),
        ),
        ("zero_and_param", format!("(select ({s}.const 0) (local.get $b) {cmp})")),
        ("param_and_zero", format!("(select (local.get $a) ({s}.const 0) {cmp})")),
        ("constants", format!("(select ({s}.const 7) ({s}.const 0) {cmp})")),
        ("spilled", format!("(select ({s}.add (local.get $a) {one}) (call $id (local.get $b)) {cmp})")),
        ("into_a", format!("(local.set $a (select (local.get $a) (local.get $b) {cmp})) (local.get $a)")),
        ("into_b", format!("(local.set $b (select (local.get $a) (local.get $b) {cmp})) (local.get $b)")),
        ("into_other", format!("(local.set $t (select (local.get $b) (local.get $a) {cmp})) (local.get $t)")),
        (
            "stored_condition",
            format!("(local.set $c {cmp}) (select (local.get $a) (local.get $b) (local.get $c))"),
        ),
        ("teed_condition", format!("(select (local.get $a) (local.get $b) (local.tee $c {cmp}))")),
        (
            "stored_condition_inverted",
            format!("(local.set $c {cmp}) (select (local.get $b) (local.get $a) (i32.eqz (local.get $c)))"),
        ),
        (
            "teed_condition_read_again",
            format!(
                "(local.set $t (select (local.get $b) (local.get $a) (local.tee $c {cmp})))
                 (select (local.get $t) (local.get $a) (local.get $c))"
            ),
        ),
    ];
    let mut wat = format!("(module (func $id (param {s}) (result {s}) (local.get 0))");
    for (name, body) in &forms {
        wat += &format!(
            r#"(func (export "{name}") (param $x {cmp_ty}) (param $y {cmp_ty}) (param $a {s}) (param $b {s})
                 (result {s}) (local $t {s}) (local $c i32) {body})"#
        );
    }
    wat += ")";
    (wat, forms.iter().map(|(name, _)| *name).collect())
}

/// A comparison feeding a `select` picks the value with `cmovcc` on its flags (or a
/// branch for floats); every condition, for integer and float operands of both sizes,
/// must pick what the comparison's value says, wherever the operands are.
#[test]
fn selects_agree_with_their_conditions() {
    let ints = [i64::MIN, -1, 0, 1, 7, i64::MAX];
    let floats = [f64::NAN, -0.0, 0.0, 1.0, -1.0, f64::INFINITY];
    let int_conds = ["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"];
    let float_conds = ["eq", "ne", "lt", "gt", "le", "ge"];
    let engine = Engine::default();
    for cmp_ty in ["i32", "i64", "f32", "f64"] {
        let conds: &[&str] = if cmp_ty.starts_with('i') { &int_conds } else { &float_conds };
        for &cond in conds {
            for s in ["i32", "i64", "f32", "f64"] {
                let (wat, names) = select_forms(cmp_ty, cond, s);
                let module = Module::new(&engine, &wat::parse_str(&wat).unwrap()).expect("compiles");
                let store = Store::new(&engine);
                let instance = Instance::new(&store, &module, &[]).expect("instantiates");
                let pairs: Vec<(Val, Val, bool)> = if cmp_ty.starts_with('i') {
                    let wide = cmp_ty == "i64";
                    let narrow = |v: i64| if wide { v } else { v as i32 as i64 };
                    let mut pairs = Vec::new();
                    for &x in &ints {
                        for &y in &ints {
                            let (x, y) = (narrow(x), narrow(y));
                            let (ux, uy) =
                                if wide { (x as u64, y as u64) } else { (x as u32 as u64, y as u32 as u64) };
                            let holds = int_condition_holds(cond, x, y, ux, uy);
                            let val = |v: i64| if wide { Val::I64(v) } else { Val::I32(v as i32) };
                            pairs.push((val(x), val(y), holds));
                        }
                    }
                    pairs
                } else {
                    let mut pairs = Vec::new();
                    for &x in &floats {
                        for &y in &floats {
                            let holds = float_condition_holds(cond, x, y);
                            let val = |v: f64| {
                                if cmp_ty == "f32" {
                                    Val::F32((v as f32).to_bits())
                                } else {
                                    Val::F64(v.to_bits())
                                }
                            };
                            pairs.push((val(x), val(y), holds));
                        }
                    }
                    pairs
                };
                // a = 100 and b = -3 (as `s`): every form's two candidates differ.
                let (a, b) = match s {
                    "i32" => (Val::I32(100), Val::I32(-3)),
                    "i64" => (Val::I64(100 << 40), Val::I64(-3)),
                    "f32" => (Val::F32(100f32.to_bits()), Val::F32((-3f32).to_bits())),
                    _ => (Val::F64(100f64.to_bits()), Val::F64((-3f64).to_bits())),
                };
                let as_f64 = |v: &Val| match *v {
                    Val::I32(x) => x as f64,
                    Val::I64(x) => x as f64,
                    Val::F32(x) => f32::from_bits(x) as f64,
                    Val::F64(x) => f64::from_bits(x),
                    ref other => panic!("unexpected {other:?}"),
                };
                let (fa, fb) = (as_f64(&a), as_f64(&b));
                let one = if s.starts_with('i') { 1.0 } else { 1.5 };
                for (x, y, holds) in &pairs {
                    for &name in &names {
                        let (pick_a, pick_b) = match name {
                            "registers" => (fa + one, fb + one),
                            "zero_and_param" => (0.0, fb),
                            "param_and_zero" => (fa, 0.0),
                            "constants" => (7.0, 0.0),
                            "spilled" => (fa + one, fb),
                            "into_other" | "teed_condition_read_again" => (fb, fa),
                            _ => (fa, fb),
                        };
                        let want = if *holds { pick_a } else { pick_b };
                        let out =
                            instance.call(name, &[x.clone(), y.clone(), a.clone(), b.clone()]).expect("runs");
                        let got = as_f64(&out[0]);
                        assert_eq!(got, want, "{name}: select over {s} by {cmp_ty}.{cond}({x:?}, {y:?})");
                    }
                }
            }
        }
    }
}

/// Locals start at zero unless their first access is a `local.set` outside every block
/// (then the prologue leaves them alone). Each probe here reads a local that some path
/// reaches before it is set: after a set inside a block that a branch skips, inside a
/// loop that reads it before setting it, after a set in one arm of an `if`, or read in
/// the very expression that sets it. The probes run on a stack that `$dirty` just
/// filled with nonzero frames, so a missing zero start would show.
#[test]
fn locals_read_before_any_set_start_at_zero() {
    let wat = r#"(module
      (func $dirty (param i32) (result i32)
        (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 f64 f64 f64 f64)
        (local.set 1 (i64.const -1)) (local.set 2 (i64.const -1)) (local.set 3 (i64.const -1))
        (local.set 4 (i64.const -1)) (local.set 5 (i64.const -1)) (local.set 6 (i64.const -1))
        (local.set 7 (i64.const -1)) (local.set 8 (i64.const -1)) (local.set 9 (i64.const -1))
        (local.set 10 (i64.const -1)) (local.set 11 (f64.const -1)) (local.set 12 (f64.const -1))
        (local.set 13 (f64.const -1)) (local.set 14 (f64.const -1))
        (if (local.get 0) (then (drop (call $dirty (i32.sub (local.get 0) (i32.const 1))))))
        (i32.wrap_i64 (i64.add (local.get 1) (local.get 10))))
      (func $skipped_set (param i32) (result i32) (local i32 i64)
        (block (br_if 0 (local.get 0)) (local.set 1 (i32.const 5)) (local.set 2 (i64.const 5)))
        (i32.add (local.get 1) (i32.wrap_i64 (local.get 2))))
      (func $loop_reads_first (param i32) (result i32) (local i32 i32)
        (loop
          (local.set 2 (i32.add (local.get 2) (local.get 1)))
          (local.set 1 (i32.const 7))
          (br_if 0 (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
        (local.get 2))
      (func $one_arm (param i32) (result f64) (local f64)
        (if (local.get 0) (then (local.set 1 (f64.const 2.5))))
        (local.get 1))
      (func $reads_itself (result i32) (local i32)
        (local.set 0 (i32.add (local.get 0) (i32.const 1)))
        (local.get 0))
      (func $set_first (result i32) (local i32)
        (local.set 0 (i32.const 9))
        (local.get 0))
      (func (export "f") (result i32)
        (drop (call $dirty (i32.const 3)))
        (i32.add (call $skipped_set (i32.const 1))
          (i32.add (i32.mul (call $loop_reads_first (i32.const 3)) (i32.const 100))
            (i32.add (i32.trunc_f64_s (f64.mul (call $one_arm (i32.const 0)) (f64.const 1000)))
              (i32.add (i32.mul (call $reads_itself) (i32.const 10000))
                (i32.mul (call $set_first) (i32.const 100000))))))))"#;
    // skipped_set 0; loop_reads_first 0 + 7 + 7 = 14 (x100); one_arm 0; reads_itself 1
    // (x10000); set_first 9 (x100000).
    assert_eq!(i32_result(&call(wat, &[])), 1400 + 10000 + 900000);
}

/// A local whose first access is a `local.set` inside blocks keeps its zero start when
/// some path can skip that set and read the local afterwards: a branch out of a closed
/// block to the end of an open one, a `br_table`, the other arm of an `if`, a catch
/// clause, a `try_table` catch that lands after the set, each of these also inside a
/// block that an earlier branch skips (the skip that matters is the innermost), a
/// branch from an `if` inside an `if` out to the block around both (whose skip must
/// outlive the two skipped arms closing), and a dozen such locals at once (zeroed by `rep stos` rather than one store each). Each probe returns what it
/// read on the skipping path, which must be 0, and runs right after `$dirty` filled
/// the stack below with nonzero frames.
#[test]
fn locals_set_on_some_paths_only_start_at_zero() {
    let wat = r#"(module
      (tag $boom)
      (func $dirty (param i32) (result i32)
        (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
        (local.set 1 (i64.const -1)) (local.set 2 (i64.const -1)) (local.set 3 (i64.const -1))
        (local.set 4 (i64.const -1)) (local.set 5 (i64.const -1)) (local.set 6 (i64.const -1))
        (local.set 7 (i64.const -1)) (local.set 8 (i64.const -1)) (local.set 9 (i64.const -1))
        (local.set 10 (i64.const -1)) (local.set 11 (i64.const -1)) (local.set 12 (i64.const -1))
        (local.set 13 (i64.const -1)) (local.set 14 (i64.const -1)) (local.set 15 (i64.const -1))
        (local.set 16 (i64.const -1))
        (if (local.get 0) (then (drop (call $dirty (i32.sub (local.get 0) (i32.const 1))))))
        (i32.wrap_i64 (i64.add (local.get 1) (local.get 16))))
      (func $maybe_throw (param i32) (if (local.get 0) (then (throw $boom))))
      (func $skipped_outer (param i32) (result i32) (local i32 i32)
        (block (block (br_if 1 (local.get 0)))
          (loop (local.set 1 (i32.const 5)) (local.set 2 (local.get 1))))
        (i32.add (local.get 1) (local.get 2)))
      (func $br_table_skip (param i32) (result i64) (local i64)
        (block (block (br_table 0 1 (local.get 0))) (local.set 1 (i64.const 5)))
        (local.get 1))
      (func $else_reads (param i32) (result i32) (local i32)
        (if (result i32) (local.get 0)
          (then (local.set 1 (i32.const 4)) (local.get 1))
          (else (local.get 1))))
      (func $catch_reads (param i32) (result i32) (local i32)
        local.get 0
        try (param i32) (result i32)
          call $maybe_throw
          (local.set 1 (i32.const 6))
          local.get 1
        catch $boom
          local.get 1
        end)
      (func $try_table_lands_after (param i32) (result f64) (local f64)
        (block $out
          (try_table (catch_all $out) (call $maybe_throw (local.get 0)))
          (local.set 1 (f64.const 8)))
        (local.get 1))
      (func $else_inside_skipped_block (param i32) (result i32) (local i32)
        (block (result i32)
          (drop (br_if 0 (i32.const 0) (i32.eq (local.get 0) (i32.const 9))))
          (if (result i32) (local.get 0)
            (then (local.set 1 (i32.const 4)) (local.get 1))
            (else (local.get 1)))))
      (func $inner_block_skipped (param i32) (result i32) (local i32)
        (block
          (br_if 0 (i32.eq (local.get 0) (i32.const 9)))
          (block (br_if 0 (local.get 0)) (local.set 1 (i32.const 3)))
          (local.set 0 (local.get 1)))
        (local.get 0))
      (func $catch_inside_skipped_block (param i32) (result i32) (local i32)
        (block (result i32)
          (drop (br_if 0 (i32.const 0) (i32.eq (local.get 0) (i32.const 9))))
          local.get 0
          try (param i32) (result i32)
            call $maybe_throw
            (local.set 1 (i32.const 6))
            local.get 1
          catch $boom
            local.get 1
          end))
      (func $many_skipped (param i32) (result i64)
        (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
        (block
          (br_if 0 (local.get 0))
          (local.set 1 (i64.const 3)) (local.set 2 (i64.const 3)) (local.set 3 (i64.const 3))
          (local.set 4 (i64.const 3)) (local.set 5 (i64.const 3)) (local.set 6 (i64.const 3))
          (local.set 7 (i64.const 3)) (local.set 8 (i64.const 3)) (local.set 9 (i64.const 3))
          (local.set 10 (i64.const 3)) (local.set 11 (i64.const 3)) (local.set 12 (i64.const 3)))
        (i64.or (i64.or (i64.or (local.get 1) (local.get 2)) (i64.or (local.get 3) (local.get 4)))
          (i64.or (i64.or (i64.or (local.get 5) (local.get 6)) (i64.or (local.get 7) (local.get 8)))
            (i64.or (i64.or (local.get 9) (local.get 10)) (i64.or (local.get 11) (local.get 12))))))
      (func $branch_past_two_ifs (param i32) (result i32) (local i32)
        (block
          (if (local.get 0)
            (then (if (i32.eq (local.get 0) (i32.const 1)) (then (br 2)))))
          (local.set 1 (i32.const 7)))
        (local.get 1))
      (func (export "branch_past_two_ifs") (param i32) (result i32)
        (drop (call $dirty (i32.const 3))) (call $branch_past_two_ifs (local.get 0)))
      (func (export "skipped_outer") (param i32) (result i32)
        (drop (call $dirty (i32.const 3))) (call $skipped_outer (local.get 0)))
      (func (export "br_table_skip") (param i32) (result i64)
        (drop (call $dirty (i32.const 3))) (call $br_table_skip (local.get 0)))
      (func (export "else_reads") (param i32) (result i32)
        (drop (call $dirty (i32.const 3))) (call $else_reads (local.get 0)))
      (func (export "catch_reads") (param i32) (result i32)
        (drop (call $dirty (i32.const 3))) (call $catch_reads (local.get 0)))
      (func (export "try_table_lands_after") (param i32) (result f64) (local f64)
        ;; -1 in a callee-saved register, where the probe pins its own local
        (local.set 1 (f64.const -1))
        (drop (call $dirty (i32.const 3)))
        (f64.add (call $try_table_lands_after (local.get 0)) (f64.sub (local.get 1) (local.get 1))))
      (func (export "else_inside_skipped_block") (param i32) (result i32)
        (drop (call $dirty (i32.const 3))) (call $else_inside_skipped_block (local.get 0)))
      (func (export "inner_block_skipped") (param i32) (result i32)
        (drop (call $dirty (i32.const 3))) (call $inner_block_skipped (local.get 0)))
      (func (export "catch_inside_skipped_block") (param i32) (result i32)
        (drop (call $dirty (i32.const 3))) (call $catch_inside_skipped_block (local.get 0)))
      (func (export "many_skipped") (param i32) (result i64)
        (drop (call $dirty (i32.const 3))) (call $many_skipped (local.get 0))))"#;
    let (_store, instance) = instance_of(wat);
    // (probe, argument that skips the set, argument that does not, what the set stores)
    let probes = [
        ("skipped_outer", 1, 0, Val::I32(10)),
        ("br_table_skip", 1, 0, Val::I64(5)),
        ("else_reads", 0, 1, Val::I32(4)),
        ("catch_reads", 1, 0, Val::I32(6)),
        ("try_table_lands_after", 1, 0, Val::F64(8f64.to_bits())),
        ("else_inside_skipped_block", 0, 1, Val::I32(4)),
        ("inner_block_skipped", 1, 0, Val::I32(3)),
        ("catch_inside_skipped_block", 1, 0, Val::I32(6)),
        ("many_skipped", 1, 0, Val::I64(3)),
        ("branch_past_two_ifs", 1, 0, Val::I32(7)),
    ];
    let mut wrong = Vec::new();
    for (name, skip, take, set) in probes {
        let zero = match set {
            Val::I32(_) => Val::I32(0),
            Val::I64(_) => Val::I64(0),
            _ => Val::F64(0),
        };
        let skipped = instance.call(name, &[Val::I32(skip)]).expect("runs");
        if format!("{skipped:?}") != format!("{:?}", [zero]) {
            wrong.push(format!("{name} read {skipped:?} on the path that skips the set"));
        }
        let taken = instance.call(name, &[Val::I32(take)]).expect("runs");
        if format!("{taken:?}") != format!("{:?}", [set]) {
            wrong.push(format!("{name} read {taken:?} on the path through the set"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// `a + (x << k)` with a constant `k` of 1 to 3 compiles to one `lea` (the shift folded
/// into the add's addressing). Every form the compiler folds: the addend below the shift,
/// a constant or a `local.get` after it, values in pinned registers, temporaries and frame
/// slots, a result going straight to a local (also the shifted one), counts that wrap,
/// i64 constants too wide for a displacement; each against the wrapping arithmetic.
#[test]
fn scaled_adds_wrap_like_a_shift_and_an_add() {
    // (name, body over params $x $a and a spare local $r, what it computes)
    type Expect = fn(u64, u64, u32, u64, bool) -> u64;
    let forms: [(&str, &str, Expect); 9] = [
        ("below", "(T.add (local.get $a) (T.shl (local.get $x) (T.const K)))", |x, a, k, _, _| a.wrapping_add(x << k)),
        ("below_const", "(T.add (T.const C) (T.shl (local.get $x) (T.const K)))", |x, _, k, c, _| c.wrapping_add(x << k)),
        ("after_const", "(T.add (T.shl (local.get $x) (T.const K)) (T.const C))", |x, _, k, c, _| (x << k).wrapping_add(c)),
        ("after_local", "(T.add (T.shl (local.get $x) (T.const K)) (local.get $a))", |x, a, k, _, _| (x << k).wrapping_add(a)),
        (
            "temporaries",
            "(T.add (T.sub (local.get $a) (T.const 7)) (T.shl (T.xor (local.get $x) (T.const 5)) (T.const K)))",
            |x, a, k, _, _| a.wrapping_sub(7).wrapping_add((x ^ 5) << k),
        ),
        (
            "into_local",
            "(local.set $r (T.add (local.get $a) (T.shl (local.get $x) (T.const K)))) (local.get $r)",
            |x, a, k, _, _| a.wrapping_add(x << k),
        ),
        (
            "into_shifted",
            "(local.set $x (T.add (local.get $a) (T.shl (local.get $x) (T.const K)))) (local.get $x)",
            |x, a, k, _, _| a.wrapping_add(x << k),
        ),
        (
            "into_addend",
            "(local.set $a (T.add (T.shl (local.get $x) (T.const K)) (local.get $a))) (local.get $a)",
            |x, a, k, _, _| a.wrapping_add(x << k),
        ),
        (
            "latent_read_kept",
            "(T.shl (local.get $x) (T.const K)) (local.set $x (T.add (local.get $a) (T.shl (local.get $x) (T.const K)))) (local.get $x) (T.xor)",
            |x, a, k, _, _| (x << k) ^ a.wrapping_add(x << k),
        ),
    ];
    for (t, bits) in [("i32", 32u32), ("i64", 64)] {
        let mask = if bits == 32 { u32::MAX as u64 } else { u64::MAX };
        let constants: &[u64] =
            if bits == 32 { &[0, 1040, 0xffff_fff0] } else { &[1040, u64::MAX - 8, 0x1_0000_0000] };
        for crowded in [false, true] {
            let mut funcs = String::new();
            let mut cases = Vec::new();
            for (form, body, expect) in forms {
                // Counts 1-3 fold; 0 and 4 do not; `bits + 1` wraps to 1.
                for k in [0, 1, 2, 3, 4, bits + 1] {
                    for &c in constants {
                        let name = format!("{form}_{k}_{c:x}");
                        let body = body
                            .replace('T', t)
                            .replace('K', &k.to_string())
                            .replace('C', &(c as i64).to_string());
                        // Nine hot locals take every pinnable register: $x, $a and $r stay in frame slots.
                        let (locals, hot) = if crowded {
                            let names: Vec<String> = (0..9).map(|i| format!("$h{i}")).collect();
                            let reads: String = names
                                .iter()
                                .map(|n| format!("(drop (local.get {n}))"))
                                .collect::<Vec<_>>()
                                .join(" ");
                            let decls: String = names.iter().map(|n| format!("(local {n} {t})")).collect();
                            (decls, format!("(loop {reads} {reads} {reads})"))
                        } else {
                            (String::new(), String::new())
                        };
                        funcs.push_str(&format!(
                            "(func (export \"{name}\") (param $x {t}) (param $a {t}) (result {t}) (local $r {t}) {locals} {hot} {body})\n"
                        ));
                        cases.push((name, expect, k % bits, c & mask));
                    }
                }
            }
            let (_store, instance) = instance_of(&format!("(module {funcs})"));
            let values: [u64; 6] = [0, 1, 0x7fff_ffff, 0x8000_0001, 0xffff_ffff, 0xdead_beef_1234_5678];
            for (name, expect, k, c) in &cases {
                for &x in &values {
                    for &a in &values {
                        let (x, a) = (x & mask, a & mask);
                        let got = call_on_integers(&instance, name, bits, x, a);
                        let want = expect(x, a, *k, *c, crowded) & mask;
                        assert_eq!(got, want, "{name} (crowded {crowded}) of x {x:#x}, a {a:#x}");
                    }
                }
            }
        }
    }
}

/// A pinned local times a constant is one three-operand `imul` reading the local in place:
/// into a register of its own, into another local and into the local itself, for i32 and
/// i64, with constants that fit 8 bits, 32 bits, and (i64) neither; against wrapping
/// multiplication.
#[test]
fn multiplies_of_pinned_locals_by_constants_wrap() {
    for (t, bits) in [("i32", 32u32), ("i64", 64)] {
        let mask = if bits == 32 { u32::MAX as u64 } else { u64::MAX };
        let constants: &[i64] =
            if bits == 32 { &[3, -7, 0x1f, 100_000, -1] } else { &[3, -7, 100_000, 0x1_0000_0001, i64::MIN] };
        let mut funcs = String::new();
        let mut cases = Vec::new();
        for &c in constants {
            // The loop runs once; its uses make $x and $y heavy enough to be pinned.
            for (form, body) in [
                ("temp", "(T.add (T.mul (local.get $x) (T.const C)) (local.get $y))"),
                ("other", "(local.set $y (T.mul (local.get $x) (T.const C))) (local.get $y)"),
                ("itself", "(local.set $x (T.mul (local.get $x) (T.const C))) (local.get $x)"),
            ] {
                let name = format!("{form}_{c}");
                let body = body.replace('T', t).replace('C', &c.to_string());
                funcs.push_str(&format!(
                    "(func (export \"{name}\") (param $x {t}) (param $y {t}) (result {t}) (local $n i32)
                       (loop (local.set $n (i32.add (local.get $n) (i32.const 1)))
                         (br_if 0 (i32.and (i32.eqz (local.get $n)) (T.eqz (T.add (local.get $x) (local.get $y))))))
                       {body})\n"
                )
                .replace('T', t));
                cases.push((name, form, c as u64 & mask));
            }
        }
        let (_store, instance) = instance_of(&format!("(module {funcs})"));
        for (name, form, c) in &cases {
            for x in [0u64, 1, 0x7fff_ffff, 0x8000_0001, 0xdead_beef_1234_5678] {
                let (x, y) = (x & mask, 0x1234_5678u64 & mask);
                let got = call_on_integers(&instance, name, bits, x, y);
                let product = x.wrapping_mul(*c) & mask;
                let want = if *form == "temp" { product.wrapping_add(y) & mask } else { product };
                assert_eq!(got, want, "{t} {name} of x {x:#x}");
            }
        }
    }
}

/// i64 arithmetic and comparisons with a constant no 32-bit immediate holds read it
/// from the function's constant pool (`[rip + ...]`): every ALU operation, `mul`, and
/// each comparison, as a 0/1 value and as a branch, against Rust's arithmetic.
#[test]
fn wide_i64_constants_from_the_pool() {
    let constants: [i64; 4] = [0x1_0000_0001, i64::MIN, -0x1234_5678_9abc, 0x7fff_ffff_ffff_ffff];
    let ops = ["add", "sub", "and", "or", "xor", "mul"];
    let conditions = ["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"];
    let mut funcs = String::new();
    for (i, c) in constants.iter().enumerate() {
        for op in ops {
            funcs.push_str(&format!(
                "(func (export \"{op}{i}\") (param i64) (result i64) (i64.{op} (local.get 0) (i64.const {c})))\n"
            ));
        }
        for cond in conditions {
            funcs.push_str(&format!(
                "(func (export \"{cond}{i}\") (param i64) (result i32) (i64.{cond} (local.get 0) (i64.const {c})))
                 (func (export \"br_{cond}{i}\") (param i64) (result i32)
                   (block (br_if 0 (i64.{cond} (local.get 0) (i64.const {c}))) (return (i32.const 0))) (i32.const 1))\n"
            ));
        }
    }
    let (_store, instance) = instance_of(&format!("(module {funcs})"));
    let values = [0i64, 1, -1, 0x1_0000_0001, i64::MIN, i64::MAX, -0x1234_5678_9abc, 0x1234_5678_9abc];
    for (i, &c) in constants.iter().enumerate() {
        for &x in &values {
            for op in ops {
                let want = match op {
                    "add" => x.wrapping_add(c),
                    "sub" => x.wrapping_sub(c),
                    "and" => x & c,
                    "or" => x | c,
                    "xor" => x ^ c,
                    _ => x.wrapping_mul(c),
                };
                let got = instance.call(&format!("{op}{i}"), &[Val::I64(x)]).expect("runs");
                assert!(matches!(got[..], [Val::I64(v)] if v == want), "{x} {op} {c}: {got:?}, want {want}");
            }
            for cond in conditions {
                let want = int_condition_holds(cond, x, c, x as u64, c as u64) as i32;
                for name in [format!("{cond}{i}"), format!("br_{cond}{i}")] {
                    let got = i32_result(&instance.call(&name, &[Val::I64(x)]).expect("runs"));
                    assert_eq!(got, want, "{name}: {x} {cond} {c}");
                }
            }
        }
    }
}

/// The first two integer arguments also travel in rsi and rdx, and a callee that pins
/// those parameters reads them from there: every way into a function must set both.
/// `$pinned` reads each parameter twice (so both are pinned) and mixes them so that a
/// stale register in either place, or the two swapped, changes the result; callers pass
/// other values than their own parameters, which their rsi and rdx still hold. Each
/// export reaches it another way: from the host through both entry trampolines, by
/// direct call with the operands in memory and with them in each other's register (an
/// xchg), by call_indirect in this instance and in another, by tail calls in place, into
/// a widened area, and indirect ones in this instance and the other, and by a self tail
/// call that restarts the body (bounded by a global, so stale arguments end it early
/// instead of never).
#[test]
fn every_way_into_a_function_passes_register_arguments() {
    let pinned_and_five = r#"
      (func $pinned (export "pinned") (param i32 i64) (result i64)
        (i64.add (i64.mul (i64.extend_i32_u (local.get 0)) (local.get 1))
                 (i64.sub (i64.extend_i32_u (local.get 0)) (i64.shl (local.get 1) (i64.const 3)))))
      (func $five (export "five") (param i32 i64 i32 i32 i32) (result i64)
        (i64.add (call $pinned (local.get 0) (local.get 1))
          (i64.extend_i32_u (i32.add (local.get 2) (i32.mul (local.get 3) (local.get 4))))))"#;
    let callee = format!(
        r#"(module (table (export "t") 2 funcref) (elem (i32.const 0) $pinned $five) {pinned_and_five})"#
    );
    let caller = format!(
        r#"(module
      (import "m" "t" (table $other 2 funcref))
      (type $pair (func (param i32 i64) (result i64)))
      (table $own 2 funcref)
      (elem (table $own) (i32.const 0) func $pinned $five)
      (global $budget (mut i32) (i32.const 1000))
      {pinned_and_five}
      (func (export "direct_from_memory") (param i32 i64) (result i64)
        (call $pinned (local.get 0) (local.get 1)))
      (func (export "direct_swapped") (param i32 i64) (result i64) (local i64)
        ;; Two operands below take rax and rcx, so the arguments land in rdx and rsi:
        ;; each in the register the other one travels in.
        (i32.add (local.get 0) (i32.const 1))
        (i32.add (local.get 0) (i32.const 2))
        (local.set 2 (call $pinned (i32.add (local.get 0) (local.get 0)) (i64.add (local.get 1) (local.get 1))))
        i32.sub
        i64.extend_i32_s
        (i64.add (local.get 2)))
      (func (export "indirect_own") (param i32 i64) (result i64)
        (call_indirect $own (type $pair)
          (i32.add (local.get 0) (i32.const 1)) (i64.sub (local.get 1) (i64.const 1)) (i32.const 0)))
      (func (export "indirect_other") (param i32 i64) (result i64)
        (call_indirect $other (type $pair)
          (i32.add (local.get 0) (i32.const 1)) (i64.sub (local.get 1) (i64.const 1)) (i32.const 0)))
      (func (export "tail_in_place") (param i32 i64) (result i64)
        (return_call $pinned (i32.add (local.get 0) (i32.const 1)) (i64.sub (local.get 1) (i64.const 1))))
      (func (export "tail_widened") (param i32 i64) (result i64)
        (return_call $five (i32.add (local.get 0) (i32.const 1)) (i64.sub (local.get 1) (i64.const 1))
          (i32.const 3) (i32.const 4) (i32.const 5)))
      (func (export "tail_indirect_own") (param i32 i64) (result i64)
        (return_call_indirect $own (type $pair)
          (i32.add (local.get 0) (i32.const 1)) (i64.sub (local.get 1) (i64.const 1)) (i32.const 0)))
      (func (export "tail_indirect_other") (param i32 i64) (result i64)
        (return_call_indirect $other (type $pair)
          (i32.add (local.get 0) (i32.const 1)) (i64.sub (local.get 1) (i64.const 1)) (i32.const 0)))
      (func $countdown (export "self_tail") (param i32 i64) (result i64)
        (global.set $budget (i32.sub (global.get $budget) (i32.const 1)))
        (if (i32.eqz (global.get $budget)) (then (return (i64.const -1))))
        (if (result i64) (i32.eqz (local.get 0))
          (then (local.get 1))
          (else (return_call $countdown (i32.sub (local.get 0) (i32.const 1))
                  (i64.add (local.get 1) (i64.extend_i32_u (local.get 0))))))))"#
    );
    let engine = Engine::default();
    let store = Store::new(&engine);
    let module =
        |wat: &str| Module::new(&engine, &wat::parse_str(wat).expect("valid wat")).expect("compiles");
    let callee = Instance::new(&store, &module(&callee), &[]).expect("instantiates");
    let Some(table @ Extern::Table(_)) = callee.get_export("t") else { panic!("table") };
    let caller = Instance::new(&store, &module(&caller), &[table]).expect("instantiates");
    let Some(Extern::Func(small)) = callee.get_export("pinned") else { panic!("pinned") };
    let pinned = |x: u32, y: i64| {
        let x = x as i64;
        x.wrapping_mul(y).wrapping_add(x.wrapping_sub(y.wrapping_shl(3)))
    };
    let i64_result = |instance: &Instance, name: &str, args: &[Val]| match instance.call(name, args) {
        Ok(v) => match v.as_slice() {
            [Val::I64(r)] => *r,
            other => panic!("{name}: {other:?}"),
        },
        Err(e) => panic!("{name}: {e}"),
    };
    for (x, y) in [(7u32, 1000i64), (0xdead_beef, -3), (1, i64::MIN + 5)] {
        let args = [Val::I32(x as i32), Val::I64(y)];
        let expected = pinned(x, y);
        assert_eq!(i64_result(&callee, "pinned", &args), expected, "entry ({x}, {y})");
        let raw = small.call_small([x as u64, y as u64, 0, 0]).expect("runs");
        assert_eq!(raw as i64, expected, "small entry ({x}, {y})");
        let five = [Val::I32(x as i32), Val::I64(y), Val::I32(3), Val::I32(4), Val::I32(5)];
        assert_eq!(i64_result(&callee, "five", &five), expected + 23, "entry of five ({x}, {y})");
        assert_eq!(
            i64_result(&caller, "direct_from_memory", &args),
            expected,
            "direct_from_memory ({x}, {y})"
        );
        let doubled = pinned(x.wrapping_add(x), y.wrapping_add(y));
        assert_eq!(i64_result(&caller, "direct_swapped", &args), doubled - 1, "direct_swapped ({x}, {y})");
        let shifted = pinned(x.wrapping_add(1), y.wrapping_sub(1));
        for name in
            ["indirect_own", "indirect_other", "tail_in_place", "tail_indirect_own", "tail_indirect_other"]
        {
            assert_eq!(i64_result(&caller, name, &args), shifted, "{name} ({x}, {y})");
        }
        assert_eq!(i64_result(&caller, "tail_widened", &args), shifted + 23, "tail_widened ({x}, {y})");
    }
    let sum_to = |n: u32| (n as i64) * (n as i64 + 1) / 2;
    assert_eq!(i64_result(&caller, "self_tail", &[Val::I32(100), Val::I64(5)]), 5 + sum_to(100));
}

/// A comparison set into a temporary that only the next branch reads is written
/// nowhere: the branch reads the flags (`compiler/temporaries.rs`). Every way of
/// reading it, and the forms where the value is read again (after the branch, after the
/// loop, by an addition), must still agree with the model: a loop that adds 3 to `acc`
/// and steps `i` while `i + 1 <cond> n`.
#[test]
fn branches_on_set_aside_comparisons_agree_with_the_model() {
    // The loop body up to the comparison; `$t` gets `(i + 1) <cond> n`, `$i` gets i + 1.
    const STEP: &str = "(local.set $acc (i32.add (local.get $acc) (i32.const 3)))
        local.get $i i32.const 1 i32.add local.tee $j local.get $n COND local.set $t
        local.get $j local.set $i";
    // Each form: what follows STEP in the loop, and what the function returns.
    let forms: [(&str, &str, &str); 6] = [
        ("br_if", "local.get $t br_if $top", "(i32.add (i32.mul (local.get $acc) (i32.const 1000)) (local.get $i))"),
        (
            "eqz_br_if",
            "local.get $t i32.eqz br_if $exit br $top",
            "(i32.add (i32.mul (local.get $acc) (i32.const 1000)) (local.get $i))",
        ),
        ("if", "local.get $t (if (then br $top))", "(i32.add (i32.mul (local.get $acc) (i32.const 1000)) (local.get $i))"),
        (
            "select",
            "i32.const 1 i32.const 0 local.get $t select local.set $k local.get $k br_if $top",
            "(i32.add (i32.mul (local.get $acc) (i32.const 1000)) (local.get $i))",
        ),
        // Read again after the branch: its value is needed.
        (
            "read_after",
            "local.get $t br_if $top
             (local.set $acc (i32.add (local.get $acc) (i32.mul (i32.eqz (local.get $t)) (i32.const 5))))",
            "(i32.add (i32.mul (local.get $acc) (i32.const 1000)) (local.get $i))",
        ),
        // Read after the loop: not a temporary.
        (
            "read_later",
            "local.get $t br_if $top",
            "(i32.add (i32.add (i32.mul (local.get $acc) (i32.const 1000)) (local.get $i)) (i32.mul (local.get $t) (i32.const 7)))",
        ),
    ];
    for (cond, holds) in [
        ("i32.lt_u", (|j, n| (j as u32) < (n as u32)) as fn(i32, i32) -> bool),
        ("i32.lt_s", |j, n| j < n),
        ("i32.le_u", |j, n| (j as u32) <= (n as u32)),
        ("i32.le_s", |j, n| j <= n),
    ] {
        for (name, tail, result) in forms {
            let wat = format!(
                r#"(module (func (export "f") (param $n i32) (result i32)
                  (local $i i32) (local $j i32) (local $t i32) (local $k i32) (local $acc i32)
                  (block $exit (loop $top {step} {tail}))
                  {result}))"#,
                step = STEP.replace("COND", cond)
            );
            let (_store, instance) = instance_of(&wat);
            for n in 0..8 {
                let (mut i, mut acc) = (0i32, 0i32);
                let t = loop {
                    acc += 3;
                    let t = holds(i + 1, n);
                    i += 1;
                    if !t {
                        if name == "read_after" {
                            acc += 5;
                        }
                        break t;
                    }
                };
                let mut expected = acc * 1000 + i;
                if name == "read_later" {
                    expected += 7 * t as i32;
                }
                let got = i32_result(&instance.call("f", &[Val::I32(n)]).expect("runs"));
                assert_eq!(got, expected, "{name} with {cond}, n = {n}");
            }
        }
    }
}

/// `i64.and` with 0xFFFF_FFFF is a 32-bit move straight from wherever the operand is:
/// a pinned parameter, a parameter in its slot, a register, a local being set from
/// itself, a spilled stack entry and a constant (folded). Each form against Rust.
#[test]
fn low_halves_of_i64s_from_every_place() {
    let wat = r#"(module
      (func (export "pinned") (param $x i64) (param $y i64) (result i64)
        ;; Used often enough to be pinned; the result goes to another local.
        (local $l i64)
        (local.set $l (i64.and (local.get $x) (i64.const 0xffffffff)))
        (i64.add (i64.add (local.get $l) (local.get $x)) (i64.add (local.get $x) (local.get $y))))
      (func (export "slot") (param $a i64) (param $b i64) (param $x i64) (result i64)
        ;; The third parameter, read once: from its slot.
        (i64.and (local.get $x) (i64.const 0xffffffff)))
      (func (export "register") (param $x i64) (param $y i64) (result i64)
        (i64.and (i64.mul (local.get $x) (local.get $y)) (i64.const 0xffffffff)))
      (func (export "itself") (param $x i64) (param $y i64) (result i64)
        (local.set $x (i64.and (local.get $x) (i64.const 0xffffffff)))
        (i64.add (local.get $x) (local.get $x)))
      (func (export "spilled") (param $x i64) (param $y i64) (result i64)
        ;; Eleven live values: the first ones spill before the mask reads them.
        (i64.mul (local.get $x) (i64.const 3)) (i64.mul (local.get $y) (i64.const 5))
        (i64.mul (local.get $x) (i64.const 7)) (i64.mul (local.get $y) (i64.const 11))
        (i64.mul (local.get $x) (i64.const 13)) (i64.mul (local.get $y) (i64.const 17))
        (i64.mul (local.get $x) (i64.const 19)) (i64.mul (local.get $y) (i64.const 23))
        (i64.mul (local.get $x) (i64.const 29)) (i64.mul (local.get $y) (i64.const 31))
        (i64.and (i64.mul (local.get $x) (local.get $y)) (i64.const 0xffffffff))
        i64.xor i64.xor i64.xor i64.xor i64.xor i64.xor i64.xor i64.xor i64.xor i64.xor)
      (func (export "constant") (result i64)
        (i64.and (i64.const -2) (i64.const 0xffffffff))))"#;
    let (_store, instance) = instance_of(wat);
    let low = |v: i64| v & 0xFFFF_FFFF;
    let i64_of = |name: &str, args: &[Val]| match instance.call(name, args).expect("runs").as_slice() {
        [Val::I64(v)] => *v,
        other => panic!("{name}: {other:?}"),
    };
    for (x, y) in [(-1i64, 3i64), (0x1234_5678_9abc_def0, -7), (i64::MIN, i64::MAX), (5, 0)] {
        let args = [Val::I64(x), Val::I64(y)];
        assert_eq!(i64_of("pinned", &args), low(x).wrapping_add(x).wrapping_add(x.wrapping_add(y)), "pinned");
        assert_eq!(i64_of("slot", &[Val::I64(y), Val::I64(y), Val::I64(x)]), low(x), "slot");
        assert_eq!(i64_of("register", &args), low(x.wrapping_mul(y)), "register");
        assert_eq!(i64_of("itself", &args), low(x) * 2, "itself");
        let products =
            [(x, 3), (y, 5), (x, 7), (y, 11), (x, 13), (y, 17), (x, 19), (y, 23), (x, 29), (y, 31)];
        let folded = products.iter().fold(low(x.wrapping_mul(y)), |acc, &(v, k)| acc ^ v.wrapping_mul(k));
        assert_eq!(i64_of("spilled", &args), folded, "spilled");
    }
    assert_eq!(i64_of("constant", &[]), 0xFFFF_FFFE);
}

/// A load from `(x & mask) << shift + c` (the table lookups of C code) addresses
/// `[memory + (x & mask) << shift + c + offset]` directly when that cannot wrap (see
/// `masked_index_load_after`). Every load kind, shift 0-3, with and without the added
/// constant, near the end of the memory: the same values and the same traps as the
/// same address computed apart from the load (a `local.tee` in between).
#[test]
fn masked_table_loads_agree_with_the_address_computed_apart() {
    let loads = [
        ("i32.load", "i32"),
        ("i64.load", "i64"),
        ("f32.load", "f32"),
        ("f64.load", "f64"),
        ("i32.load8_s", "i32"),
        ("i32.load8_u", "i32"),
        ("i32.load16_s", "i32"),
        ("i32.load16_u", "i32"),
        ("i64.load8_s", "i64"),
        ("i64.load8_u", "i64"),
        ("i64.load16_s", "i64"),
        ("i64.load16_u", "i64"),
        ("i64.load32_s", "i64"),
        ("i64.load32_u", "i64"),
    ];
    // Each shape: mask, shift (0 for none), added constant (None for no add), offset.
    // The last ones reach past the one-page memory for the larger masked values.
    let shapes = [
        (0xFF, 2, Some(1024), 0),
        (0xFF, 0, Some(4096), 8),
        (0x3F, 3, None, 16),
        (0xFFF, 1, Some(60_000), 0),
        (0x1FFF, 3, Some(1), 3),
        (0xFF, 2, Some(65_000), 100),
        // Too wide to fold: the i32 shift and add wrap (x = 0x4000_0001 lands at 4).
        (-1, 2, None, 0),
        (0x3FFF_FFFF, 2, Some(8), 0),
    ];
    // Indices bounded by what computed them (crc32's `(crc & 0xFF) ^ byte`, an `or` with
    // a 16-bit load, a tee), and two that are not (an `add`, an `xor` with an unbounded
    // value), each shifted by 2 with 1024 added: all but the last two fold.
    let byte = "local.get 0 i32.const 16 i32.shr_u i32.const 0xFFF i32.and i32.load8_u offset=200";
    let half = "local.get 0 i32.const 12 i32.shr_u i32.const 0xFFF i32.and i32.load16_u offset=300";
    let indices = [
        format!("local.get 0 i32.const 0xFF i32.and {byte} i32.xor"),
        format!("local.get 0 i32.const 0x0F i32.and {half} i32.or"),
        "local.get 0 i32.const 0xFF i32.and local.tee 2".to_string(),
        format!("local.get 0 i32.const 0xFF i32.and {byte} i32.add"),
        // Unbounded xor bounded is unbounded (x = 0x4000_0001 wraps to a small address).
        "local.get 0 local.get 0 i32.const 0xFF i32.and i32.xor".to_string(),
    ];
    let mut funcs = String::new();
    for (k, (load, ty)) in loads.iter().enumerate() {
        let all_shapes = shapes.iter().map(|(mask, shift, add, offset)| {
            let index = format!("local.get 0 i32.const {mask} i32.and");
            (index, *shift, *add, *offset)
        });
        let computed = indices.iter().map(|index| (index.clone(), 2, Some(1024), 0));
        for (j, (index, shift, add, offset)) in all_shapes.chain(computed).enumerate() {
            let shift_ops = if shift > 0 { format!("i32.const {shift} i32.shl") } else { String::new() };
            let add_ops = add.map(|c| format!("i32.const {c} i32.add")).unwrap_or_default();
            let address = format!("{index} {shift_ops} {add_ops}");
            // The `local.tee` in the apart form keeps the load from following the address
            // arithmetic directly, which the fold needs: that form is never folded.
            let body = |apart: &str| format!("{address} {apart} {load} offset={offset}");
            // Reinterpreted to integers so NaN payloads compare by bits.
            let to_bits = match *ty {
                "f32" => "i32.reinterpret_f32 i64.extend_i32_u",
                "f64" => "i64.reinterpret_f64",
                "i32" => "i64.extend_i32_u",
                _ => "",
            };
            funcs += &format!(
                r#"(func (export "fused_{k}_{j}") (param i32) (result i64) (local i32 i32) {} {to_bits})
                   (func (export "apart_{k}_{j}") (param i32) (result i64) (local i32 i32) {} {to_bits})
                "#,
                body(""),
                body("local.tee 1"),
            );
        }
    }
    let wat = format!(
        r#"(module (memory 1)
          (func (export "init") (local $i i32)
            (loop $fill
              (i32.store (local.get $i) (i32.mul (i32.add (local.get $i) (i32.const 7)) (i32.const -1640531535)))
              (local.set $i (i32.add (local.get $i) (i32.const 4)))
              (br_if $fill (i32.lt_u (local.get $i) (i32.const 65536)))))
          {funcs})"#
    );
    let (_store, instance) = instance_of(&wat);
    instance.call("init", &[]).expect("fills the memory");
    let inputs =
        [0i32, 1, 2, 0x37, 0xFF, 0x100, 0xFFF, 0x1FFF, -1, i32::MIN, 0x7FFF_FF00, 0x1234_5678, 0x4000_0001];
    for (k, (load, _)) in loads.iter().enumerate() {
        for j in 0..shapes.len() + indices.len() {
            let shape = match shapes.get(j) {
                Some(s) => format!("{s:?}"),
                None => indices[j - shapes.len()].clone(),
            };
            for &x in &inputs {
                let fused = instance.call(&format!("fused_{k}_{j}"), &[Val::I32(x)]);
                let apart = instance.call(&format!("apart_{k}_{j}"), &[Val::I32(x)]);
                let what = format!("{load} with shape {shape}, x = {x:#x}");
                match (fused, apart) {
                    (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}"), "{what}"),
                    (Err(Error::Trap(a)), Err(Error::Trap(b))) => assert_eq!(a.code(), b.code(), "{what}"),
                    (a, b) => panic!("{what}: {a:?} against {b:?}"),
                }
            }
        }
    }
}

/// Direct calls leave the arguments `WASM_ARG_GPRS` carry out of the outgoing area, and
/// the callee's prologue writes their homes. Every argument must still arrive, past the
/// first two too (a mask of the skipped ones once skipped the ninth as well), whatever
/// the types before them, and the homes must hold them after the callee's own calls
/// (which reload caller-saved pins from there). Direct, indirect and host calls must
/// agree.
#[test]
fn every_argument_of_a_direct_call_arrives() {
    let wat = r#"(module
      (type $ten (func (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
      (table 1 funcref) (elem (i32.const 0) $ten)
      (func $nothing)
      (func $ten (type $ten)
        call $nothing
        (i32.add (i32.add (i32.add (i32.add (i32.add
          (i32.mul (local.get 0) (i32.const 1)) (i32.mul (local.get 1) (i32.const 3)))
          (i32.add (i32.mul (local.get 2) (i32.const 5)) (i32.mul (local.get 3) (i32.const 7))))
          (i32.add (i32.mul (local.get 4) (i32.const 11)) (i32.mul (local.get 5) (i32.const 13))))
          (i32.add (i32.mul (local.get 6) (i32.const 17)) (i32.mul (local.get 7) (i32.const 19))))
          (i32.add (i32.mul (local.get 8) (i32.const 23)) (i32.mul (local.get 9) (i32.const 29)))))
      (func $mixed (param f64 i32 i64 i32) (result i64)
        call $nothing
        (i64.add (i64.add (i64.trunc_f64_s (local.get 0)) (i64.mul (i64.extend_i32_u (local.get 1)) (i64.const 100)))
                 (i64.add (i64.mul (local.get 2) (i64.const 10000)) (i64.mul (i64.extend_i32_u (local.get 3)) (i64.const 1000000)))))
      (func (export "ten") (param i32) (result i32)
        (call $ten (local.get 0) (i32.add (local.get 0) (i32.const 1)) (i32.const 2) (i32.const 3)
                   (i32.const 4) (i32.const 5) (i32.const 6) (i32.const 7) (i32.const 8) (local.get 0)))
      (func (export "ten_indirect") (param i32) (result i32)
        (call_indirect (type $ten) (local.get 0) (i32.add (local.get 0) (i32.const 1)) (i32.const 2)
                   (i32.const 3) (i32.const 4) (i32.const 5) (i32.const 6) (i32.const 7) (i32.const 8)
                   (local.get 0) (i32.const 0)))
      (func (export "ten_host") (type $ten) (call $ten (local.get 0) (local.get 1) (local.get 2)
        (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9)))
      (func (export "mixed") (param i32) (result i64)
        (call $mixed (f64.const 42) (local.get 0) (i64.const 5) (i32.add (local.get 0) (i32.const 2)))))"#;
    let (_store, instance) = instance_of(wat);
    let weights = [1, 3, 5, 7, 11, 13, 17, 19, 23, 29];
    let expected = |x: i32| {
        let args = [x, x + 1, 2, 3, 4, 5, 6, 7, 8, x];
        args.iter().zip(weights).map(|(a, w)| a * w).sum::<i32>()
    };
    for x in [0, 1, 1000] {
        assert_eq!(
            i32_result(&instance.call("ten", &[Val::I32(x)]).expect("runs")),
            expected(x),
            "direct, {x}"
        );
        assert_eq!(
            i32_result(&instance.call("ten_indirect", &[Val::I32(x)]).expect("runs")),
            expected(x),
            "indirect, {x}"
        );
        let host_args: Vec<Val> = [x, x + 1, 2, 3, 4, 5, 6, 7, 8, x].into_iter().map(Val::I32).collect();
        assert_eq!(
            i32_result(&instance.call("ten_host", &host_args).expect("runs")),
            expected(x),
            "host, {x}"
        );
        match instance.call("mixed", &[Val::I32(x)]).expect("runs").as_slice() {
            [Val::I64(v)] => {
                assert_eq!(*v, 42 + 100 * x as i64 + 50_000 + 1_000_000 * (x as i64 + 2), "mixed, {x}")
            }
            other => panic!("mixed: {other:?}"),
        }
    }
}

/// A function that calls no wasm function keeps its pinned register parameters' homes
/// unwritten at entry (straight-line, they are pinned to caller-saved registers); a
/// helper call (here `memory.grow`) reloads caller-saved pins from their homes after
/// it, so it must store them first. The direct call leaves those homes
/// holding an earlier call's arguments (111 and 222), which a missing store would read.
#[test]
fn pinned_parameters_survive_a_helper_call_in_a_leaf() {
    let wat = r#"(module (memory 1)
      (type $t (func (param i32 i32) (result i32)))
      (table 1 funcref) (elem (i32.const 0) $other)
      (func $other (type $t) (i32.const 0))
      (func $leaf (param i32 i32) (result i32)
        (i32.add (local.get 0) (local.get 1))
        (drop (memory.grow (i32.const 0)))
        (i32.mul (local.get 0) (local.get 1))
        (i32.add))
      (func (export "f") (result i32)
        (drop (call_indirect (type $t) (i32.const 111) (i32.const 222) (i32.const 0)))
        (call $leaf (i32.const 5) (i32.const 7))))"#;
    assert_eq!(i32_result(&call(wat, &[])), (5 + 7) + 5 * 7);
}

/// The first two i32 parameters arrive in registers, where the calling convention lets
/// the caller leave anything above the i32 (every caller today leaves zeros): whether
/// the callee reads the parameter from there or from its home, the address of a load
/// must be the zero-extended i32. A negative index plus an offset must trap, not land
/// just below or inside the memory, from wasm (a constant, a parameter, an i32 wrapped
/// from an i64 with ones above) or from the host.
#[test]
fn parameter_taken_from_its_register_is_zero_extended() {
    let wat = r#"(module (memory 1)
      (func $load (export "load") (param i32 i32) (result i32)
        (i32.add (i32.load offset=16 (local.get 0)) (local.get 1)))
      (func (export "f") (param i32) (result i32)
        (call $load (i32.const -8) (local.get 0)))
      (func (export "g") (param i32) (result i32)
        (call $load (local.get 0) (i32.const 1)))
      (func (export "h") (param i64) (result i32)
        (call $load (i32.wrap_i64 (i64.add (local.get 0) (i64.const 0))) (i32.const 1))))"#;
    let (_store, instance) = instance_of(wat);
    let traps_out_of_bounds = |name: &str, args: &[Val]| match instance.call(name, args) {
        Err(Error::Trap(t)) => assert_eq!(t.code(), TrapCode::MemoryOutOfBounds, "{name}"),
        other => panic!("{name}: expected an out-of-bounds trap, got {other:?}"),
    };
    traps_out_of_bounds("f", &[Val::I32(3)]);
    traps_out_of_bounds("g", &[Val::I32(-8)]);
    traps_out_of_bounds("load", &[Val::I32(-8), Val::I32(0)]);
    // An i32 wrapped from an i64 whose upper half is all ones.
    traps_out_of_bounds("h", &[Val::I64(-8)]);
    assert_eq!(i32_result(&instance.call("h", &[Val::I64(0x7_0000_0000)]).expect("runs")), 1);
    assert_eq!(i32_result(&instance.call("g", &[Val::I32(0)]).expect("runs")), 1);
}

/// A function of another store must not enter a store by any door: in a table, a
/// global, an argument, a host function's result or an exception's payload, calling it
/// ran the other store's code against a runtime never entered, and the first trap in
/// it jumped to a null stack pointer (found by review, 2026-12-06; imports were already
/// refused). An exception of another store that carries a reference is refused too.
#[test]
fn functions_of_another_store_are_refused_everywhere() {
    let engine = Engine::default();
    let wat_a = r#"(module
      (type $t (func (result i32)))
      (table (export "tab") 1 funcref)
      (global (export "g") (mut funcref) (ref.null func))
      (tag (export "tag") (param funcref))
      (func (export "via_table") (result i32) (call_indirect (type $t) (i32.const 0)))
      (func (export "via_argument") (param (ref null $t)) (result i32) (call_ref $t (local.get 0)))
      (func (export "via_exception") (param exnref) (result i32)
        (block $caught (result funcref)
          (try_table (catch 0 $caught) (throw_ref (local.get 0)))
          (return (i32.const -1)))
        (ref.cast (ref $t))
        (call_ref $t)))"#;
    let wat_b = r#"(module (func (export "f") (result i32) unreachable))"#;
    let module_a = Module::new(&engine, &wat::parse_str(wat_a).unwrap()).unwrap();
    let module_b = Module::new(&engine, &wat::parse_str(wat_b).unwrap()).unwrap();
    let (store_a, store_b) = (Store::new(&engine), Store::new(&engine));
    let a = Instance::new(&store_a, &module_a, &[]).unwrap();
    let b = Instance::new(&store_b, &module_b, &[]).unwrap();
    let Some(Extern::Func(f)) = b.get_export("f") else { panic!("no f") };
    let theirs = Val::FuncRef(Some(f.clone()));

    let Some(Extern::Table(table)) = a.get_export("tab") else { panic!("no table") };
    assert!(table.set(0, theirs.clone()).is_err(), "Table::set");
    assert!(table.grow(1, theirs.clone()).is_none(), "Table::grow");
    assert!(
        matches!(a.call("via_table", &[]), Err(Error::Trap(t)) if t.code() == TrapCode::IndirectCallToNull)
    );
    let Some(Extern::Global(global)) = a.get_export("g") else { panic!("no global") };
    assert!(global.set(theirs.clone()).is_err(), "Global::set");
    let funcref =
        sidewinder_engine::GlobalType { content: sidewinder_engine::ValType::FUNCREF, mutable: true };
    assert!(sidewinder_engine::Global::new(&store_a, funcref, theirs.clone()).is_err(), "Global::new");
    assert!(a.call("via_argument", std::slice::from_ref(&theirs)).is_err(), "an argument");

    let host_ty = sidewinder_engine::FuncType::new([], [sidewinder_engine::ValType::FUNCREF]);
    let returned = theirs.clone();
    let host = sidewinder_engine::Func::new(&store_a, host_ty, move |_, results| {
        results[0] = returned.clone();
        Ok(())
    });
    let caller = r#"(module (import "h" "f" (func $f (result funcref)))
      (func (export "call") (result i32) (ref.is_null (call $f))))"#;
    let caller = Module::new(&engine, &wat::parse_str(caller).unwrap()).unwrap();
    let caller = Instance::new(&store_a, &caller, &[Extern::Func(host)]).unwrap();
    assert!(matches!(caller.call("call", &[]), Err(Error::Trap(_))), "a host function's result");

    // Store B's exception carrying its own function, offered to store A, whose code
    // could take the function out with a handler of the (shareable) tag.
    let Some(Extern::Tag(tag)) = a.get_export("tag") else { panic!("no tag") };
    assert!(sidewinder_engine::Exception::new(&store_a, &tag, std::slice::from_ref(&theirs)).is_err());
    let exception = sidewinder_engine::Exception::new(&store_b, &tag, std::slice::from_ref(&theirs)).unwrap();
    let exnref = Val::ExnRef(Some(exception));
    assert!(a.call("via_exception", std::slice::from_ref(&exnref)).is_err(), "an exception's payload");

    // Store A's own function passes every door.
    let Some(Extern::Func(own)) = a.get_export("via_table") else { panic!("no via_table") };
    assert!(table.set(0, Val::FuncRef(Some(own))).is_ok());
    drop((b, store_b, f));
}

/// Code compiled for guard pages reads and writes past a memory's length unchecked, so
/// a memory of bytes the embedder owns (no guard pages after them) is refused to it, by
/// import and from a memory creator; and a memory creator must make what the module
/// declares (found by review, 2026-12-06: both were only documented).
#[test]
fn memories_must_fit_the_code_that_uses_them() {
    use sidewinder_engine::{Config, Memory, MemoryType};
    let ty = |page_size_log2: u8| MemoryType {
        minimum: 1,
        maximum: Some(1),
        memory64: false,
        shared: false,
        page_size_log2,
    };
    let importer = r#"(module (import "m" "mem" (memory 1 1))
      (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))"#;
    let definer = r#"(module (memory 1 1)
      (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))"#;
    let mut bytes = vec![0u64; 65536 / 8];
    for explicit_bounds_checks in [false, true] {
        let engine = Engine::new(Config { explicit_bounds_checks, ..Config::default() }).unwrap();
        let store = Store::new(&engine);
        let base = bytes.as_mut_ptr().cast::<u8>();
        // SAFETY: 64 KiB, 8-aligned, outliving the store (dropped at the end of this
        // iteration, before `bytes`); never grows.
        let external = unsafe { Memory::new_external(&store, ty(16), base, 65536, |_, _| false) }.unwrap();
        let importer = Module::new(&engine, &wat::parse_str(importer).unwrap()).unwrap();
        let imported = Instance::new(&store, &importer, &[Extern::Memory(external.clone())]);
        let given = external.clone();
        store.set_memory_creator(move |_, _| Ok(given.clone()));
        let definer = Module::new(&engine, &wat::parse_str(definer).unwrap()).unwrap();
        let created = Instance::new(&store, &definer, &[]);
        if explicit_bounds_checks {
            let i = imported.unwrap();
            assert!(matches!(i.call("load", &[Val::I32(65536)]), Err(Error::Trap(_))));
            assert!(created.is_ok());
        } else {
            assert!(matches!(imported, Err(Error::Link(_))), "import");
            assert!(matches!(created, Err(Error::Link(_))), "memory creator");
        }
        // A creator that makes a memory of another page size than declared.
        store.set_memory_creator(move |store, _| Memory::new(store, ty(0)));
        assert!(matches!(Instance::new(&store, &definer, &[]), Err(Error::Link(_))), "page size");
    }
}

/// A host function of store A throwing store B's exception whose payload is B's
/// function: A's handler of the (shareable) tag took the function out and called it,
/// running B's code in A (a crash when it trapped). Such a throw is now a trap (found
/// by review, 2026-12-06).
#[test]
fn host_functions_cannot_throw_references_of_another_store() {
    use sidewinder_engine::{Exception, Func, FuncType, Tag, Trap};
    let engine = Engine::default();
    let wat_a = r#"(module
      (type $t (func (result i32)))
      (import "h" "throw" (func $throw))
      (tag $tag (export "tag") (param funcref))
      (func (export "run") (result i32)
        (block $caught (result funcref)
          (try_table (catch $tag $caught) (call $throw))
          (return (i32.const -1)))
        (ref.cast (ref $t))
        (call_ref $t)))"#;
    let wat_b = r#"(module (func (export "f") (result i32) unreachable))"#;
    let module_a = Module::new(&engine, &wat::parse_str(wat_a).unwrap()).unwrap();
    let module_b = Module::new(&engine, &wat::parse_str(wat_b).unwrap()).unwrap();
    let (store_a, store_b) = (Store::new(&engine), Store::new(&engine));
    let b = Instance::new(&store_b, &module_b, &[]).unwrap();
    let Some(Extern::Func(f)) = b.get_export("f") else { panic!("no f") };
    let tag_cell: std::rc::Rc<std::cell::RefCell<Option<Tag>>> = Default::default();
    let (cell, thrower_store, theirs) = (tag_cell.clone(), store_b.clone(), f.clone());
    let host = Func::new(&store_a, FuncType::new([], []), move |_, _| {
        let tag = cell.borrow().clone().expect("the tag");
        let payload = [Val::FuncRef(Some(theirs.clone()))];
        Err(Trap::throw(Exception::new(&thrower_store, &tag, &payload).expect("B's own exception")))
    });
    let a = Instance::new(&store_a, &module_a, &[Extern::Func(host)]).unwrap();
    let Some(Extern::Tag(tag)) = a.get_export("tag") else { panic!("no tag") };
    *tag_cell.borrow_mut() = Some(tag);
    match a.call("run", &[]) {
        Err(Error::Trap(t)) => assert_eq!(t.code(), TrapCode::Host, "{t}"),
        other => panic!("store B's function ran in store A: {other:?}"),
    }
}

/// An exception handle outlives its store, but what its payload pointed at does not:
/// references come back null, numbers as they were (reading them crashed, found by
/// review, 2026-12-06).
#[test]
fn exception_payloads_lose_their_references_with_their_store() {
    use sidewinder_engine::Exception;
    let engine = Engine::default();
    let exception = {
        let store = Store::new(&engine);
        let wat = r#"(module (type $s (struct (field i64)))
          (tag (export "tag") (param anyref i32))
          (func (export "make") (result anyref) (struct.new $s (i64.const 5))))"#;
        let module = Module::new(&engine, &wat::parse_str(wat).unwrap()).unwrap();
        let instance = Instance::new(&store, &module, &[]).unwrap();
        let object = instance.call("make", &[]).unwrap().pop().unwrap();
        let Some(Extern::Tag(tag)) = instance.get_export("tag") else { panic!("no tag") };
        let exception = Exception::new(&store, &tag, &[object, Val::I32(9)]).unwrap();
        assert!(matches!(exception.payload()[..], [Val::AnyRef(Some(_)), Val::I32(9)]));
        exception
    };
    assert!(matches!(exception.payload()[..], [Val::AnyRef(None), Val::I32(9)]));
    // Nor can it enter another store with what it carried.
    let store = Store::new(&engine);
    let wat = r#"(module (func (export "take") (param exnref)))"#;
    let module = Module::new(&engine, &wat::parse_str(wat).unwrap()).unwrap();
    let instance = Instance::new(&store, &module, &[]).unwrap();
    assert!(instance.call("take", &[Val::ExnRef(Some(exception))]).is_err());
}

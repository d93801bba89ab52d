//! The use scan's claims that a local is set before anything reads it
//! (`PinnedLocals::set_before_read`), checked against an independent definite-assignment
//! dataflow over each function's control-flow graph. Such a local gets no zero start, so
//! a wrong claim lets wasm read whatever its register or frame slot held: a host stack
//! address in the bug 48fc627 fixed, which a `br` out of an `if` inside an `if` caused
//! and which neither wasm-smith nor the probes in `regressions.rs` had produced.
//!
//! The modules come from wasm-smith and from a generator of deep control flow below
//! (every block kind, legacy `try`/`delegate` and `try_table`, branches to every
//! depth, more than 64 open blocks). Environment:
//! - `SIDEWINDER_ZERO_START_SEED`: first seed (default 0); seeds are consecutive.
//! - `SIDEWINDER_ZERO_START_CASES`: modules per generator (defaults below).

#[allow(dead_code)] // the verdict helpers are for the tests that compare verdicts
mod support;

use sidewinder_engine::compiler::locals::{PinnedLocals, UseScan};
use sidewinder_engine::compiler::{run_first_pass, Buffered};
use sidewinder_engine::ValType;
use std::fmt::Write;
use support::{engine_features, Rng};
use wasmparser::{Catch, FuncValidatorAllocations, Operator, Parser, Payload, ValidPayload, Validator};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// What the check saw over many modules.
#[derive(Default, Debug)]
struct Tally {
    modules: u64,
    functions: u64,
    /// Body locals of plain (non-reference) types.
    plain_locals: u64,
    /// Of those, the ones the scan claims are set before any read.
    claims: u64,
    /// Of those, the ones some path can read before any write (per the dataflow).
    readable_unset: u64,
    /// Claims the dataflow refutes: (module, function index, local).
    wrong: Vec<(String, u32, u32)>,
}

/// Runs the compiler's first pass on every function of `bytes` (valid, with no
/// imported functions) and compares its claims with the dataflow's answer.
fn check_module(name: &str, bytes: &[u8], tally: &mut Tally) {
    let mut validator = Validator::new_with_features(engine_features());
    let mut allocations = FuncValidatorAllocations::default();
    let (mut locals, mut operators, mut uses, mut pins) =
        (Vec::new(), Vec::new(), UseScan::default(), PinnedLocals::default());
    let mut offsets = Vec::new();
    let mut signatures: Vec<Vec<ValType>> = Vec::new();
    let mut function_types: Vec<u32> = Vec::new();
    let mut function_index = 0u32;
    tally.modules += 1;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.unwrap_or_else(|e| panic!("{name}: {e}"));
        match &payload {
            Payload::TypeSection(reader) => {
                for ty in reader.clone().into_iter_err_on_gc_types() {
                    let ty = ty.unwrap();
                    signatures.push(
                        ty.params().iter().map(|&t| ValType::from_wasmparser(t, &[]).unwrap()).collect(),
                    );
                }
            }
            Payload::FunctionSection(reader) => {
                function_types.extend(reader.clone().into_iter().map(Result::unwrap))
            }
            Payload::ImportSection(reader) => {
                assert_eq!(reader.count(), 0, "{name}: imports are not handled")
            }
            _ => {}
        }
        let ValidPayload::Func(to_validate, body) =
            validator.payload(&payload).unwrap_or_else(|e| panic!("{name}: invalid: {e}"))
        else {
            continue;
        };
        let mut func_validator = to_validate.into_validator(std::mem::take(&mut allocations));
        let params = &signatures[function_types[function_index as usize] as usize];
        let buffered = Buffered { operators: &mut operators, offsets: &mut offsets };
        run_first_pass(params, &[], &body, &mut func_validator, &mut locals, buffered, &mut uses)
            .unwrap_or_else(|e| panic!("{name}: function {function_index}: {e}"));
        allocations = func_validator.into_allocations();
        uses.choose_into(&locals, params.len(), &mut pins);
        // The operators the first pass buffered, which the compiler compiles.
        let readable_unset = readable_before_set(&operators, params.len(), locals.len());
        tally.functions += 1;
        for local in params.len()..locals.len() {
            if locals[local].is_ref() {
                continue; // references always start as null
            }
            let claim = pins.set_before_read[local];
            tally.plain_locals += 1;
            tally.claims += u64::from(claim);
            tally.readable_unset += u64::from(readable_unset[local]);
            if claim && readable_unset[local] {
                tally.wrong.push((name.to_string(), function_index, local as u32));
            }
        }
        function_index += 1;
    }
}

/// Where control goes from an operator, before the ends of blocks are known.
#[derive(Clone, Copy)]
enum Target {
    Operator(usize),
    EndOf(usize),
    /// An `if`'s `else` arm, or its end without one.
    ElseOf(usize),
    /// The catch clauses of a legacy `try`.
    CatchesOf(usize),
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Function,
    Block,
    Loop,
    If,
    Try,
    TryTable,
}

struct Frame {
    kind: Kind,
    start: usize,
    end: usize,
    else_at: Option<usize>,
    catches: Vec<usize>,
    /// A legacy `try` in one of its catch clauses: throws there leave it.
    in_catch: bool,
    /// A `try_table`'s catch labels.
    catch_targets: Vec<Option<Target>>,
}

/// Per local, whether some reachable `local.get` of it can run before any write to it
/// on its path, by a must-be-assigned dataflow over the body's control-flow graph. The
/// graph follows branches, `if` arms, and exceptions from calls and throws to every
/// enclosing catch clause (a superset of where they can land). The first `params`
/// locals start assigned.
fn readable_before_set(ops: &[Operator<'_>], params: usize, num_locals: usize) -> Vec<bool> {
    let n = ops.len();
    let function = Frame {
        kind: Kind::Function,
        start: 0,
        end: n - 1,
        else_at: None,
        catches: Vec::new(),
        in_catch: false,
        catch_targets: Vec::new(),
    };
    let mut frames = vec![function];
    let mut open = vec![0usize];
    let mut successors: Vec<Vec<Target>> = vec![Vec::new(); n];
    // The target of a branch `depth` out from the innermost open frame; `None` leaves the
    // function.
    let label = |frames: &[Frame], open: &[usize], depth: u32| -> Option<Target> {
        let frame = open[open.len() - 1 - depth as usize];
        match frames[frame].kind {
            Kind::Function => None,
            Kind::Loop => Some(Target::Operator(frames[frame].start)),
            _ => Some(Target::EndOf(frame)),
        }
    };
    for (i, op) in ops.iter().enumerate() {
        let mut falls_through = true;
        let mut throws = false;
        let out = &mut successors[i];
        let kind = match op {
            Operator::Block { .. } => Some(Kind::Block),
            Operator::Loop { .. } => Some(Kind::Loop),
            Operator::If { .. } => Some(Kind::If),
            Operator::Try { .. } => Some(Kind::Try),
            Operator::TryTable { .. } => Some(Kind::TryTable),
            _ => None,
        };
        if let Some(kind) = kind {
            let mut catch_targets = Vec::new();
            if let Operator::TryTable { try_table } = op {
                for catch in &try_table.catches {
                    let (Catch::One { label: depth, .. }
                    | Catch::OneRef { label: depth, .. }
                    | Catch::All { label: depth }
                    | Catch::AllRef { label: depth }) = *catch;
                    catch_targets.push(label(&frames, &open, depth));
                }
            }
            frames.push(Frame {
                kind,
                start: i,
                end: usize::MAX,
                else_at: None,
                catches: Vec::new(),
                in_catch: false,
                catch_targets,
            });
            open.push(frames.len() - 1);
            if kind == Kind::If {
                out.push(Target::ElseOf(frames.len() - 1));
            }
        }
        let top = *open.last().unwrap();
        match *op {
            Operator::Else => {
                frames[top].else_at = Some(i);
                out.push(Target::EndOf(top));
                falls_through = false;
            }
            Operator::Catch { .. } | Operator::CatchAll => {
                frames[top].catches.push(i);
                frames[top].in_catch = true;
                out.push(Target::EndOf(top));
                falls_through = false;
            }
            Operator::End | Operator::Delegate { .. } => {
                frames[top].end = i;
                open.pop();
                falls_through = frames[top].kind != Kind::Function;
            }
            Operator::Br { relative_depth } => {
                out.extend(label(&frames, &open, relative_depth));
                falls_through = false;
            }
            Operator::BrIf { relative_depth }
            | Operator::BrOnNull { relative_depth }
            | Operator::BrOnNonNull { relative_depth }
            | Operator::BrOnCast { relative_depth, .. }
            | Operator::BrOnCastFail { relative_depth, .. } => {
                out.extend(label(&frames, &open, relative_depth))
            }
            Operator::BrTable { ref targets } => {
                for depth in targets.targets().map(Result::unwrap).chain([targets.default()]) {
                    out.extend(label(&frames, &open, depth));
                }
                falls_through = false;
            }
            Operator::Return
            | Operator::Unreachable
            | Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::ReturnCallRef { .. } => falls_through = false,
            Operator::Throw { .. } | Operator::Rethrow { .. } | Operator::ThrowRef => {
                falls_through = false;
                throws = true;
            }
            Operator::Call { .. } | Operator::CallIndirect { .. } | Operator::CallRef { .. } => throws = true,
            _ => {}
        }
        if throws {
            for &frame in &open {
                match frames[frame].kind {
                    Kind::Try if !frames[frame].in_catch => out.push(Target::CatchesOf(frame)),
                    Kind::TryTable => out.extend(frames[frame].catch_targets.iter().flatten()),
                    _ => {}
                }
            }
        }
        if falls_through && i + 1 < n {
            out.push(Target::Operator(i + 1));
        }
    }

    let edges: Vec<Vec<usize>> = successors
        .iter()
        .map(|targets| {
            let mut to = Vec::new();
            for &target in targets {
                match target {
                    Target::Operator(j) => to.push(j),
                    Target::EndOf(f) => to.push(frames[f].end),
                    Target::ElseOf(f) => to.push(frames[f].else_at.map_or(frames[f].end, |e| e + 1)),
                    Target::CatchesOf(f) => to.extend(frames[f].catches.iter().map(|c| c + 1)),
                }
            }
            to
        })
        .collect();

    // The locals assigned on every path to each operator, `None` where none reaches.
    let words = num_locals.div_ceil(64).max(1);
    let mut assigned: Vec<Option<Vec<u64>>> = vec![None; n];
    let mut start = vec![0u64; words];
    for p in 0..params {
        start[p / 64] |= 1 << (p % 64);
    }
    assigned[0] = Some(start);
    let mut work = vec![0usize];
    let mut queued = vec![false; n];
    queued[0] = true;
    while let Some(i) = work.pop() {
        queued[i] = false;
        let mut after = assigned[i].clone().unwrap();
        if let Operator::LocalSet { local_index } | Operator::LocalTee { local_index } = ops[i] {
            after[local_index as usize / 64] |= 1 << (local_index % 64);
        }
        for &j in &edges[i] {
            let changed = match &mut assigned[j] {
                slot @ None => {
                    *slot = Some(after.clone());
                    true
                }
                Some(there) => {
                    let mut changed = false;
                    for (word, &new) in there.iter_mut().zip(&after) {
                        changed |= *word & new != *word;
                        *word &= new;
                    }
                    changed
                }
            };
            if changed && !queued[j] {
                queued[j] = true;
                work.push(j);
            }
        }
    }
    let mut readable = vec![false; num_locals];
    for (op, assigned) in ops.iter().zip(&assigned) {
        if let (Operator::LocalGet { local_index }, Some(assigned)) = (op, assigned) {
            let l = *local_index as usize;
            readable[l] |= assigned[l / 64] >> (l % 64) & 1 == 0;
        }
    }
    readable
}

/// Salts this test's generator streams (`Rng::salted`).
const SALT: u64 = 0x5a45_524f_5354_5254; // "ZEROSTRT"

/// A module of functions with deep, branchy control flow over a few i32 locals, in
/// the text format. Statements nest blocks of every kind; branches go to every depth;
/// calls to `$thrower` and `throw`s reach the catch clauses. Some functions open 60 to
/// 140 blocks first, so the scan's bit set of skipped blocks spans words.
fn control_flow_module(seed: u64) -> String {
    let mut rng = Rng::salted(seed, SALT);
    let mut wat = String::from(
        "(module (tag $e) (global $g (mut i32) (i32.const 0))\n\
         (func $thrower (if (global.get $g) (then (throw $e))))\n",
    );
    for f in 0..2 + rng.below(12) {
        let mut g = ControlFlow {
            rng: Rng::salted(seed.wrapping_mul(31).wrapping_add(f), SALT),
            body: String::new(),
            open: 0,
            locals: 0,
            budget: 0,
            max_depth: 0,
            branchy: false,
        };
        g.locals = 1 + g.rng.below(14);
        g.budget = 10 + g.rng.below(110) as i64;
        g.max_depth = [6, 12, 30][g.rng.below(3) as usize];
        g.branchy = g.rng.chance(50);
        let prelude = if g.rng.chance(25) { 60 + g.rng.below(80) } else { 0 };
        for _ in 0..prelude {
            g.line("block");
            g.open += 1;
        }
        g.max_depth += prelude;
        while g.budget > 0 {
            g.statement();
        }
        while g.open > 0 {
            g.close("end");
            if g.rng.chance(30) {
                let l = g.local();
                g.line(&format!("local.get {l} drop"));
            }
            if g.rng.chance(20) {
                let l = g.local();
                g.line(&format!("i32.const 1 local.set {l}"));
            }
        }
        let declared: String = (0..g.locals).map(|i| format!(" (local $l{i} i32)")).collect();
        let last = g.local();
        writeln!(
            wat,
            "(func (export \"f{f}\") (param $p i32){declared}\n{}  local.get {last} global.set $g)",
            g.body
        )
        .unwrap();
    }
    wat.push(')');
    wat
}

struct ControlFlow {
    rng: Rng,
    body: String,
    /// Labels open inside the function's own.
    open: u64,
    locals: u64,
    budget: i64,
    max_depth: u64,
    /// Mostly branches and blocks rather than plain local accesses.
    branchy: bool,
}

impl ControlFlow {
    fn line(&mut self, text: &str) {
        for _ in 0..=self.open {
            self.body.push_str("  ");
        }
        self.body.push_str(text);
        self.body.push('\n');
    }

    fn local(&mut self) -> String {
        format!("$l{}", self.rng.below(self.locals))
    }

    fn condition(&mut self) -> String {
        match self.rng.below(10) {
            0..5 => "local.get $p".into(),
            5..8 => format!("local.get {}", self.local()),
            _ => format!("i32.const {}", self.rng.below(2)),
        }
    }

    fn depth(&mut self) -> u64 {
        self.rng.below(self.open + 1)
    }

    fn sequence(&mut self) {
        for _ in 0..self.rng.below(6) {
            self.statement();
        }
    }

    fn nested(&mut self, opener: &str) {
        self.line(opener);
        self.open += 1;
        self.sequence();
    }

    fn close(&mut self, closer: &str) {
        self.open -= 1;
        self.line(closer);
    }

    /// A new arm of the innermost block (`else`, a catch clause) and its statements.
    fn arm(&mut self, opener: &str) {
        self.close(opener);
        self.open += 1;
        self.sequence();
    }

    fn statement(&mut self) {
        self.budget -= 1;
        if self.budget < 0 {
            return;
        }
        let mut roll = self.rng.below(100);
        if self.branchy && roll < 40 {
            roll = 64 + self.rng.below(36);
        }
        if roll >= 64 && self.open >= self.max_depth {
            let l = self.local();
            return self.line(&format!("local.get {l} drop"));
        }
        match roll {
            0..18 => {
                let (value, l) = (self.rng.below(10), self.local());
                self.line(&format!("i32.const {value} local.set {l}"));
            }
            18..26 => {
                let (from, to) = (self.local(), self.local());
                self.line(&format!("local.get {from} local.set {to}"));
            }
            26..36 => {
                let l = self.local();
                self.line(&format!("local.get {l} drop"));
            }
            36..40 => {
                let l = self.local();
                self.line(&format!("i32.const 3 local.tee {l} drop"));
            }
            40..45 => {
                let depth = self.depth();
                self.line(&format!("br {depth}"));
            }
            45..55 => {
                let (condition, depth) = (self.condition(), self.depth());
                self.line(&format!("{condition} br_if {depth}"));
            }
            55..59 => {
                let condition = self.condition();
                let depths: String =
                    (0..2 + self.rng.below(8)).map(|_| format!(" {}", self.depth())).collect();
                self.line(&format!("{condition} br_table{depths}"));
            }
            59..61 => {
                let leave =
                    ["return", "unreachable", "throw $e", "call $thrower"][self.rng.below(4) as usize];
                self.line(leave);
            }
            61..64 => self.line("call $thrower"),
            64..70 => {
                self.nested("block");
                self.close("end");
            }
            70..76 => {
                self.nested("loop");
                self.close("end");
            }
            76..86 => {
                let condition = self.condition();
                self.line(&condition);
                self.nested("if");
                if self.rng.chance(60) {
                    self.arm("else");
                }
                self.close("end");
            }
            86..93 => {
                self.nested("try");
                let clauses = self.rng.below(100);
                if clauses < 25 {
                    let depth = self.rng.below(self.open);
                    return self.close(&format!("delegate {depth}"));
                }
                for (wanted, clause) in
                    [(clauses < 60, "catch $e"), (!(50..60).contains(&clauses), "catch_all")]
                {
                    if wanted {
                        self.arm(clause);
                    }
                }
                self.close("end");
            }
            _ => {
                let clauses: String = (0..self.rng.below(4))
                    .map(|_| {
                        let depth = self.depth();
                        if self.rng.chance(50) {
                            format!(" (catch $e {depth})")
                        } else {
                            format!(" (catch_all {depth})")
                        }
                    })
                    .collect();
                self.nested(&format!("try_table{clauses}"));
                self.close("end");
            }
        }
    }
}

/// A wasm-smith module of a few functions, exceptions on for every other seed, SIMD for
/// one in seven, and one in five with only locals, control flow and integer operators.
fn smith_module(seed: u64) -> Option<Vec<u8>> {
    let mut rng = Rng::salted(seed, SALT);
    let mut bytes = vec![0u8; 4096 + rng.below(60_000) as usize];
    rng.fill(&mut bytes);
    let mut config = wasm_smith::Config {
        simd_enabled: seed.is_multiple_of(7),
        relaxed_simd_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        tail_call_enabled: true,
        exceptions_enabled: seed.is_multiple_of(2),
        gc_enabled: false,
        wide_arithmetic_enabled: false,
        custom_page_sizes_enabled: false,
        extended_const_enabled: false,
        custom_descriptors_enabled: false,
        memory64_enabled: false,
        reference_types_enabled: true,
        multi_value_enabled: true,
        max_memories: 1,
        min_funcs: 3,
        max_funcs: 6,
        max_imports: 0,
        export_everything: true,
        max_memory32_bytes: 4 * 65536,
        memory_max_size_required: true,
        max_tables: 2,
        max_table_elements: 64,
        table_max_size_required: true,
        max_instructions: [100, 300, 800, 2000][(seed % 4) as usize],
        max_nesting_depth: [10, 30, 60][(seed % 3) as usize],
        ..wasm_smith::Config::default()
    };
    if seed % 5 == 1 {
        use wasm_smith::{InstructionKind, InstructionKinds};
        config.allowed_instructions = InstructionKinds::new(&[
            InstructionKind::Variable,
            InstructionKind::Control,
            InstructionKind::Parametric,
            InstructionKind::NumericInt,
        ]);
    }
    let module = wasm_smith::Module::new(config, &mut arbitrary::Unstructured::new(&bytes)).ok()?;
    Some(module.to_bytes())
}

fn report(what: &str, tally: &Tally) {
    println!(
        "zero start, {what}: {} modules, {} functions, {} plain body locals: {} claimed set before read, \
         {} readable before a set, {} wrong claims",
        tally.modules,
        tally.functions,
        tally.plain_locals,
        tally.claims,
        tally.readable_unset,
        tally.wrong.len()
    );
    let shown: Vec<_> = tally.wrong.iter().take(10).collect();
    assert!(
        tally.wrong.is_empty(),
        "the scan claims these (module, function, local) are set before any read, but a path reads them first: \
         {shown:?}"
    );
}

#[test]
fn claims_hold_on_deep_control_flow() {
    let first = env_u64("SIDEWINDER_ZERO_START_SEED", 0);
    let cases = env_u64("SIDEWINDER_ZERO_START_CASES", 5_000);
    let mut tally = Tally::default();
    for seed in first..first + cases {
        let wat = control_flow_module(seed);
        let bytes = wat::parse_str(&wat).unwrap_or_else(|e| panic!("control flow {seed}: {e}\n{wat}"));
        check_module(&format!("control flow {seed}"), &bytes, &mut tally);
    }
    report("deep control flow", &tally);
    // The check means something only if both kinds of local are common.
    assert!(tally.claims * 20 > tally.plain_locals, "{tally:?}");
    assert!(tally.readable_unset * 5 > tally.plain_locals, "{tally:?}");
}

#[test]
fn claims_hold_on_wasm_smith_modules() {
    let first = env_u64("SIDEWINDER_ZERO_START_SEED", 0);
    let cases = env_u64("SIDEWINDER_ZERO_START_CASES", 2_000);
    let mut tally = Tally::default();
    for seed in first..first + cases {
        if let Some(bytes) = smith_module(seed) {
            check_module(&format!("wasm-smith {seed}"), &bytes, &mut tally);
        }
    }
    report("wasm-smith", &tally);
    assert!(tally.claims > 0 && tally.readable_unset > 0, "{tally:?}");
}

/// The dataflow itself, on shapes whose answer is known: `$x` is readable before a set
/// exactly where the name says.
#[test]
fn the_dataflow_finds_reads_before_sets() {
    let cases = [
        ("set then read", "i32.const 1 local.set $x local.get $x drop", false),
        ("read then set", "local.get $x drop i32.const 1 local.set $x", true),
        ("set on one arm", "local.get $p if i32.const 1 local.set $x end local.get $x drop", true),
        (
            "set on both arms",
            "local.get $p if i32.const 1 local.set $x else i32.const 2 local.set $x end local.get $x drop",
            false,
        ),
        ("br skips the set", "block local.get $p br_if 0 i32.const 1 local.set $x end local.get $x drop", true),
        (
            // The shape of the bug 48fc627 fixed.
            "br out of nested ifs skips the set",
            "block local.get $p if local.get $p if br 2 end end end i32.const 1 local.set $x local.get $x drop",
            false,
        ),
        (
            "br out of nested ifs, set inside the block",
            "block local.get $p if local.get $p if br 2 end end i32.const 1 local.set $x end local.get $x drop",
            true,
        ),
        ("the loop's next iteration reads", "loop local.get $x drop i32.const 1 local.set $x br 0 end", true),
        (
            "a call in a try throws to the catch",
            "try call $thrower i32.const 1 local.set $x catch_all end local.get $x drop",
            true,
        ),
        (
            "a try_table's catch skips the set",
            "block try_table (catch_all 0) call $thrower i32.const 1 local.set $x end end local.get $x drop",
            true,
        ),
        (
            "a delegate passes the throw out",
            "try try call $thrower delegate 0 i32.const 1 local.set $x catch_all end local.get $x drop",
            true,
        ),
        (
            "a throw without a catch leaves",
            "local.get $p if call $thrower unreachable end i32.const 1 local.set $x local.get $x drop",
            false,
        ),
        (
            "br_table to either end",
            "block block local.get $p br_table 0 1 end i32.const 1 local.set $x end local.get $x drop",
            true,
        ),
    ];
    for (name, body, expected) in cases {
        let wat = format!(
            "(module (tag $e) (global $g (mut i32) (i32.const 0)) \
             (func $thrower (if (global.get $g) (then (throw $e)))) \
             (func (param $p i32) (local $x i32) {body}))"
        );
        let bytes = wat::parse_str(&wat).unwrap_or_else(|e| panic!("{name}: {e}"));
        let body = Parser::new(0)
            .parse_all(&bytes)
            .filter_map(|p| match p.unwrap() {
                Payload::CodeSectionEntry(body) => Some(body),
                _ => None,
            })
            .nth(1)
            .unwrap();
        let mut reader = body.get_operators_reader().unwrap();
        let mut ops = Vec::new();
        while !reader.eof() {
            ops.push(reader.read().unwrap());
        }
        assert_eq!(readable_before_set(&ops, 1, 2), [false, expected], "{name}");
    }
}

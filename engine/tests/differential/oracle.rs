//! wasmi, the oracle.

use super::value::{Outcome, Snapshot, TrapKind, V};
use crate::support::leb;
use std::borrow::Cow;
use std::cell::RefCell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use wasmi::{CompilationMode, Engine, Extern, Instance, Module, Nullable, Ref, Store, TrapCode, Val};

/// Panic payload for a panic inside wasmi (the test profile enables its debug
/// assertions). The harness counts such modules as skipped, not failed.
pub struct OraclePanic(pub String);

/// Runs `f`, re-raising any panic as an [`OraclePanic`].
fn guard<R>(f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "<non-string panic>".into());
        resume_unwind(Box::new(OraclePanic(msg)))
    })
}

pub struct Oracle {
    engine: Engine,
    module: Module,
}

pub struct OracleInstance {
    store: RefCell<Store<()>>,
    instance: Instance,
}

fn from_val(v: &Val) -> V {
    match v {
        Val::I32(x) => V::I32(*x),
        Val::I64(x) => V::I64(*x),
        Val::F32(x) => V::F32(x.to_bits()),
        Val::F64(x) => V::F64(x.to_bits()),
        Val::FuncRef(f) => V::FuncRef { null: f.is_null() },
        Val::ExternRef(e) => V::ExternRef { null: e.is_null() },
        Val::V128(x) => V::V128(x.as_u128()),
    }
}

fn to_val(v: &V) -> Val {
    match *v {
        V::I32(x) => Val::I32(x),
        V::I64(x) => Val::I64(x),
        V::F32(b) => Val::F32(wasmi::F32::from_bits(b)),
        V::F64(b) => Val::F64(wasmi::F64::from_bits(b)),
        V::V128(b) => Val::V128(wasmi::V128::from(b)),
        V::FuncRef { null } => {
            assert!(null, "only null references are passed");
            Val::FuncRef(Nullable::Null)
        }
        V::ExternRef { null } => {
            assert!(null, "only null references are passed");
            Val::ExternRef(Nullable::Null)
        }
    }
}

fn outcome_of_error(e: wasmi::Error) -> Outcome {
    let Some(code) = e.as_trap_code() else {
        // Some instantiation-time traps (e.g. an active element segment past the end of
        // its table) arrive as plain errors; classify those by message.
        let msg = e.to_string();
        return if msg.contains("out of bounds table access") {
            Outcome::Trap(TrapKind::TableOutOfBounds)
        } else if msg.contains("out of bounds memory access") {
            Outcome::Trap(TrapKind::MemoryOutOfBounds)
        } else {
            Outcome::Error(msg)
        };
    };
    Outcome::Trap(match code {
        TrapCode::UnreachableCodeReached => TrapKind::Unreachable,
        TrapCode::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds => TrapKind::TableOutOfBounds,
        TrapCode::IndirectCallToNull => TrapKind::UninitializedElement,
        TrapCode::IntegerDivisionByZero => TrapKind::IntegerDivisionByZero,
        TrapCode::IntegerOverflow => TrapKind::IntegerOverflow,
        TrapCode::BadConversionToInteger => TrapKind::BadConversionToInteger,
        TrapCode::StackOverflow => TrapKind::StackOverflow,
        TrapCode::BadSignature => TrapKind::BadSignature,
        TrapCode::OutOfFuel | TrapCode::GrowthOperationLimited | TrapCode::OutOfSystemMemory => {
            return Outcome::Error(e.to_string())
        }
    })
}

impl Oracle {
    pub fn compile(bytes: &[u8]) -> Result<Oracle, String> {
        let mut config = wasmi::Config::default();
        config
            .wasm_mutable_global(true)
            .wasm_sign_extension(true)
            .wasm_saturating_float_to_int(true)
            .wasm_multi_value(true)
            .wasm_bulk_memory(true)
            .wasm_reference_types(true)
            .wasm_multi_memory(true)
            .wasm_memory64(true)
            .wasm_tail_call(true)
            .wasm_extended_const(true)
            .wasm_custom_page_sizes(false)
            .wasm_wide_arithmetic(false)
            .wasm_simd(true)
            // Relaxed SIMD is nondeterministic by design, and Sidewinder refuses it.
            .wasm_relaxed_simd(false)
            // The fuel instrumentation bounds recursion at a few thousand frames; let wasmi
            // go that deep so stack overflows (which are skipped) stay rare.
            .set_max_recursion_depth(100_000)
            .set_max_stack_height(16 << 20)
            // Translate every function up front so translation panics surface here.
            .compilation_mode(CompilationMode::Eager);
        let engine = Engine::new(&config);
        let bytes = avoid_miscompiled_patterns(bytes);
        let module = guard(|| Module::new(&engine, &bytes)).map_err(|e| e.to_string())?;
        Ok(Oracle { engine, module })
    }

    pub fn instantiate(&self) -> Result<OracleInstance, Outcome> {
        let mut store = Store::new(&self.engine, ());
        let instance = guard(|| Instance::new(&mut store, &self.module, &[])).map_err(outcome_of_error)?;
        Ok(OracleInstance { store: RefCell::new(store), instance })
    }
}

impl OracleInstance {
    pub fn call(&self, name: &str, args: &[V]) -> Outcome {
        let mut store = self.store.borrow_mut();
        let func = self.instance.get_func(&*store, name).expect("exported function");
        let ty = func.ty(&*store);
        let mut results: Vec<Val> = ty.results().iter().map(|&t| Val::default_for_ty(t)).collect();
        let args: Vec<Val> = args.iter().map(to_val).collect();
        match guard(|| func.call(&mut *store, &args, &mut results)) {
            Ok(()) => Outcome::Values(results.iter().map(from_val).collect()),
            Err(e) => outcome_of_error(e),
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let store = self.store.borrow();
        let mut exports: Vec<(String, Extern)> =
            self.instance.exports(&*store).map(|e| (e.name().to_string(), e.into_extern())).collect();
        exports.sort_by(|a, b| a.0.cmp(&b.0));
        let mut s = Snapshot::default();
        for (name, e) in exports {
            match e {
                Extern::Memory(m) => s.memories.push((name, m.data(&*store).to_vec())),
                Extern::Global(g) => s.globals.push((name, from_val(&g.get(&*store)))),
                Extern::Table(t) => {
                    let nulls = (0..t.size(&*store))
                        .map(|i| match t.get(&*store, i) {
                            Some(r) => Ref::is_null(&r),
                            None => panic!("table element {i} out of range"),
                        })
                        .collect();
                    s.tables.push((name, nulls));
                }
                Extern::Func(_) => {}
            }
        }
        s
    }
}

/// Works around two wasmi 2.0.0 miscompiles: returns `bytes` with an empty `block end` (a
/// no-op) inserted before every `block`, `loop` and `if` that takes parameters and before
/// every `select`, or `bytes` unchanged if there is none (or the module does not parse).
/// Only wasmi runs the rewritten module; Sidewinder runs the original.
///
/// The first bug: wasmi's translator keeps a `local.get` on its operand stack as a
/// reference to the local, and copies the value into the operand's stack slot only when
/// it must ("preserves" it): before a `local.set` of that local, and on entering any
/// `block`, `loop` or `if`, for every local reference below the block's parameters. That
/// last case skips the top `n` parameters by counting *local references* rather than
/// operands (`PreservedAllLocalsIter::find_next_local` decrements `skip` only at locals),
/// so when a parameter is not a bare `local.get`, as many local references below the
/// parameters escape preservation. The copy is then emitted later, by a nested `block` or
/// a `local.set`, on one path only; the other path (an `if`'s `else`, a branch out of the
/// block) reads a slot nothing wrote: stale frame contents, which differ from run to run.
/// Found as seed 43242; minimized in `WASMI_PARAM_BLOCK_BUG` (differential.rs). Entering
/// the inserted empty block preserves every local reference on the stack (it has no
/// parameters to skip), on the path that reaches the block with parameters, so none is
/// left for the miscount to miss.
///
/// The second: a `select` whose condition is an `i32.eqz` (or an `i32.eq`/`i32.ne` with
/// zero) just before it picks the wrong operand when the condition's operand is nonzero;
/// wasmi fuses the comparison into the `select`. Found as seed 4349608; minimized in
/// `WASMI_EQZ_SELECT_BUG`. The inserted block's `end` pins a label, which makes wasmi
/// commit the comparison it holds back for fusing, so the `select` finds none to fuse.
fn avoid_miscompiled_patterns(bytes: &[u8]) -> Cow<'_, [u8]> {
    match insert_empty_blocks(bytes) {
        Ok(Some(rewritten)) => Cow::Owned(rewritten),
        Ok(None) | Err(_) => Cow::Borrowed(bytes),
    }
}

fn insert_empty_blocks(bytes: &[u8]) -> wasmparser::Result<Option<Vec<u8>>> {
    use wasmparser::{BlockType, CompositeInnerType, Operator, Parser, Payload};
    const EMPTY_BLOCK: [u8; 3] = [0x02, 0x40, 0x0b]; // block (empty block type), end
    const CODE_SECTION: u8 = 10;

    let mut takes_params = Vec::new(); // per type index
    let mut section_end = 0; // where the section being read starts
    let mut code_section = None; // its start (at the id byte) and end
    let mut bodies = Vec::new();
    let mut inserted = false;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        match &payload {
            Payload::Version { range, .. } => section_end = range.end as usize,
            Payload::TypeSection(types) => {
                for group in types.clone() {
                    for ty in group?.into_types() {
                        let params = match &ty.composite_type.inner {
                            CompositeInnerType::Func(f) => !f.params().is_empty(),
                            _ => false,
                        };
                        takes_params.push(params);
                    }
                }
            }
            Payload::CodeSectionStart { unchecked_range, .. } => {
                code_section = Some((section_end, unchecked_range.end as usize));
            }
            Payload::CodeSectionEntry(body) => {
                let range = body.range();
                let (mut body_out, mut copied) = (Vec::new(), range.start as usize);
                let mut ops = body.get_operators_reader()?;
                while !ops.eof() {
                    let (op, offset) = ops.read_with_offset()?;
                    let before = match op {
                        Operator::Block { blockty: BlockType::FuncType(ty) }
                        | Operator::Loop { blockty: BlockType::FuncType(ty) }
                        | Operator::If { blockty: BlockType::FuncType(ty) } => {
                            takes_params.get(ty as usize) == Some(&true)
                        }
                        Operator::Select
                        | Operator::TypedSelect { .. }
                        | Operator::TypedSelectMulti { .. } => true,
                        _ => false,
                    };
                    if before {
                        body_out.extend_from_slice(&bytes[copied..offset as usize]);
                        body_out.extend_from_slice(&EMPTY_BLOCK);
                        copied = offset as usize;
                        inserted = true;
                    }
                }
                body_out.extend_from_slice(&bytes[copied..range.end as usize]);
                bodies.push(body_out);
            }
            _ => {}
        }
        if let Some((_, range)) = payload.as_section() {
            section_end = range.end as usize;
        }
    }
    let Some((start, end)) = code_section.filter(|_| inserted) else { return Ok(None) };

    let mut contents = Vec::new();
    write_u32(&mut contents, bodies.len());
    for body in &bodies {
        write_u32(&mut contents, body.len());
        contents.extend_from_slice(body);
    }
    let mut out = bytes[..start].to_vec();
    out.push(CODE_SECTION);
    write_u32(&mut out, contents.len());
    out.extend_from_slice(&contents);
    out.extend_from_slice(&bytes[end..]);
    Ok(Some(out))
}

/// Appends a length as an unsigned LEB128 `u32`.
fn write_u32(out: &mut Vec<u8>, n: usize) {
    leb(out, u32::try_from(n).expect("section too large"));
}

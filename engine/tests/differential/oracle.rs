//! wasmi, the oracle.

use super::value::{Outcome, Snapshot, TrapKind, V};
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
        Val::V128(_) => panic!("v128 value with SIMD disabled"),
    }
}

fn to_val(v: &V) -> Val {
    match *v {
        V::I32(x) => Val::I32(x),
        V::I64(x) => Val::I64(x),
        V::F32(b) => Val::F32(wasmi::F32::from_bits(b)),
        V::F64(b) => Val::F64(wasmi::F64::from_bits(b)),
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
            .wasm_multi_memory(false)
            .wasm_tail_call(false)
            .wasm_extended_const(false)
            .wasm_custom_page_sizes(false)
            .wasm_wide_arithmetic(false)
            // The fuel instrumentation bounds recursion at a few thousand frames; let wasmi
            // go that deep so stack overflows (which are skipped) stay rare.
            .set_max_recursion_depth(100_000)
            .set_max_stack_height(16 << 20)
            // Translate every function up front so translation panics surface here.
            .compilation_mode(CompilationMode::Eager);
        let engine = Engine::new(&config);
        let module = guard(|| Module::new(&engine, bytes)).map_err(|e| e.to_string())?;
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

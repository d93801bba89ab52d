//! Sidewinder, the engine under test.

use super::value::{Outcome, Snapshot, TrapKind, Ty, V};
use sidewinder_engine::{Engine, Error, Extern, Instance, Module, Store, TrapCode, Val, ValType};

pub struct Subject {
    engine: Engine,
    module: Module,
}

pub struct SubjectInstance {
    // Kept alive for the instance's sake.
    _store: Store,
    instance: Instance,
}

fn ty(t: ValType) -> Option<Ty> {
    Some(match t {
        ValType::I32 => Ty::I32,
        ValType::I64 => Ty::I64,
        ValType::F32 => Ty::F32,
        ValType::F64 => Ty::F64,
        ValType::V128 => Ty::V128,
        ValType::FUNCREF => Ty::FuncRef,
        ValType::EXTERNREF => Ty::ExternRef,
        // The generator makes no typed references and no exception handling.
        ValType::Ref(_) => return None,
    })
}

fn from_val(v: &Val) -> V {
    match v {
        Val::I32(x) => V::I32(*x),
        Val::I64(x) => V::I64(*x),
        Val::F32(b) => V::F32(*b),
        Val::F64(b) => V::F64(*b),
        Val::FuncRef(f) => V::FuncRef { null: f.is_none() },
        Val::ExternRef(e) => V::ExternRef { null: e.is_none() },
        Val::ExnRef(_) => panic!("the generator makes no exception handling"),
        Val::AnyRef(_) => panic!("the generator makes no GC references"),
        Val::V128(b) => V::V128(*b),
    }
}

fn to_val(v: &V) -> Val {
    match *v {
        V::I32(x) => Val::I32(x),
        V::I64(x) => Val::I64(x),
        V::F32(b) => Val::F32(b),
        V::F64(b) => Val::F64(b),
        V::V128(b) => Val::V128(b),
        V::FuncRef { null } => {
            assert!(null, "only null references are passed");
            Val::FuncRef(None)
        }
        V::ExternRef { null } => Val::ExternRef(if null { None } else { Some(0) }),
    }
}

fn outcome_of_error(e: Error) -> Outcome {
    match e {
        Error::Trap(t) => Outcome::Trap(match t.code() {
            TrapCode::Unreachable => TrapKind::Unreachable,
            TrapCode::IntegerDivisionByZero => TrapKind::IntegerDivisionByZero,
            TrapCode::IntegerOverflow => TrapKind::IntegerOverflow,
            TrapCode::BadConversionToInteger => TrapKind::BadConversionToInteger,
            TrapCode::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
            TrapCode::TableOutOfBounds | TrapCode::UndefinedElement => TrapKind::TableOutOfBounds,
            TrapCode::IndirectCallToNull | TrapCode::UninitializedElement => TrapKind::UninitializedElement,
            TrapCode::BadSignature => TrapKind::BadSignature,
            TrapCode::StackOverflow => TrapKind::StackOverflow,
            TrapCode::NullExceptionReference
            | TrapCode::NullFunctionReference
            | TrapCode::NullReference
            | TrapCode::CastFailure
            | TrapCode::NullStructReference
            | TrapCode::NullArrayReference
            | TrapCode::NullI31Reference
            | TrapCode::ArrayOutOfBounds
            | TrapCode::AllocationTooLarge
            | TrapCode::UnalignedAtomic
            | TrapCode::ExpectedSharedMemory
            | TrapCode::WaitForever
            | TrapCode::DescriptorCastFailure
            | TrapCode::NullDescriptorReference => {
                return Outcome::Error(format!("trap of a proposal the generator does not use: {t}"))
            }
            TrapCode::Host => return Outcome::Error(format!("host trap: {t}")),
        }),
        other => Outcome::Error(other.to_string()),
    }
}

impl Subject {
    pub fn compile(bytes: &[u8]) -> Result<Subject, String> {
        let engine = Engine::default();
        let module = Module::new(&engine, bytes).map_err(|e| e.to_string())?;
        Ok(Subject { engine, module })
    }

    /// Exported functions whose parameters the harness can supply, sorted by name.
    pub fn callable_exports(&self) -> Vec<(String, Vec<Ty>)> {
        let mut out: Vec<_> = self
            .module
            .exports()
            .into_iter()
            .filter_map(|e| match e.ty {
                sidewinder_engine::ExternType::Func(f) => {
                    let params: Option<Vec<Ty>> = f.params().iter().map(|&t| ty(t)).collect();
                    let results_ok = f.results().iter().all(|&t| ty(t).is_some());
                    params.filter(|_| results_ok).map(|p| (e.name, p))
                }
                _ => None,
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    pub fn instantiate(&self) -> Result<SubjectInstance, Outcome> {
        let store = Store::new(&self.engine);
        let instance = Instance::new(&store, &self.module, &[]).map_err(outcome_of_error)?;
        Ok(SubjectInstance { _store: store, instance })
    }
}

impl SubjectInstance {
    pub fn call(&self, name: &str, args: &[V]) -> Outcome {
        let args: Vec<Val> = args.iter().map(to_val).collect();
        match self.instance.call(name, &args) {
            Ok(results) => Outcome::Values(results.iter().map(from_val).collect()),
            Err(e) => outcome_of_error(e),
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut exports = self.instance.exports();
        exports.sort_by(|a, b| a.0.cmp(&b.0));
        let mut s = Snapshot::default();
        for (name, e) in exports {
            match e {
                Extern::Memory(m) => {
                    let mut buf = vec![0u8; m.size_bytes() as usize];
                    m.read(0, &mut buf).expect("reading a whole memory");
                    s.memories.push((name, buf));
                }
                Extern::Global(g) => s.globals.push((name, from_val(&g.get()))),
                Extern::Tag(_) => {}
                Extern::Table(t) => {
                    let nulls = (0..t.size())
                        .map(|i| match t.get(i) {
                            Some(Val::FuncRef(f)) => f.is_none(),
                            Some(Val::ExternRef(e)) => e.is_none(),
                            other => panic!("table element {other:?}"),
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

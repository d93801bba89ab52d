//! Decoding, validation and compilation of a module, in one pass over its bytes.

use crate::compiler::handlers::HandlerTable;
use crate::compiler::{compile_function, CompileEnv, Scratch};
use crate::engine::{Config, Engine};
use crate::error::{Error, Result};
use crate::isa::x64::masm::{CodeChunk, LOOP_ALIGNMENT};
use crate::runtime::backtrace::SourceMap;
use crate::runtime::code_memory::CodeMemory;
use crate::runtime::signals::DIVISION_SITE;
use crate::types::*;
use std::collections::HashMap;
use std::sync::Arc;
use wasmparser::{
    FuncToValidate, FuncValidatorAllocations, FunctionBody, Parser, Payload, Validator, ValidatorResources,
    WasmFeatures,
};

/// An instruction of a constant expression (offsets, global initializers, elements).
#[derive(Clone, Copy, Debug)]
pub(crate) enum ConstOp {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    RefNull,
    RefFunc(u32),
    GlobalGet(u32),
    I32Add,
    I32Sub,
    I32Mul,
    I64Add,
    I64Sub,
    I64Mul,
    RefI31,
    StructNew(u32),
    StructNewDefault(u32),
    /// `struct.new_desc` and `struct.new_default_desc`: the descriptor on top.
    StructNewDesc(u32),
    StructNewDefaultDesc(u32),
    ArrayNew(u32),
    ArrayNewDefault(u32),
    ArrayNewFixed(u32, u32),
    /// `any.convert_extern` and `extern.convert_any`, which change no bits.
    ConvertReference,
}

/// A constant expression. Nearly all are one instruction (a table of 80,000 function
/// references is 80,000 of them), which needs no allocation.
#[derive(Clone, Debug)]
pub(crate) enum ConstExpr {
    One(ConstOp),
    Many(Vec<ConstOp>),
}

impl ConstExpr {
    pub(crate) fn ops(&self) -> &[ConstOp] {
        match self {
            ConstExpr::One(op) => std::slice::from_ref(op),
            ConstExpr::Many(ops) => ops,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EntityIndex {
    Func(u32),
    Table(u32),
    Memory(u32),
    Global(u32),
    Tag(u32),
}

#[derive(Debug)]
pub(crate) enum ElemMode {
    Active { table: u32, offset: ConstExpr },
    Passive,
    Declared,
}

#[derive(Debug)]
pub(crate) struct ElemSegment {
    pub mode: ElemMode,
    pub items: Vec<ConstExpr>,
}

#[derive(Debug)]
pub(crate) struct DataSegment {
    pub active: Option<(u32, ConstExpr)>,
    /// Where the segment's bytes are in `ModuleInfo::data_bytes`.
    pub bytes: std::ops::Range<usize>,
}

/// Everything about a module except its code.
#[derive(Debug, Default)]
pub(crate) struct ModuleInfo {
    /// The code checks every memory access against the length
    /// (`Config::explicit_bounds_checks`) rather than relying on guard pages.
    pub explicit_bounds_checks: bool,
    pub types: Vec<FuncType>,
    pub type_ids: Vec<u32>,
    /// Whether each type was declared without `final` (GC), and so may have subtypes.
    pub type_has_subtypes: Vec<bool>,
    pub funcs: Vec<u32>,
    pub num_imported_funcs: u32,
    pub tables: Vec<TableType>,
    pub num_imported_tables: u32,
    /// Each defined table's initializer expression, if it has one (its elements are
    /// null otherwise).
    pub table_inits: Vec<Option<ConstExpr>>,
    pub memories: Vec<MemoryType>,
    pub num_imported_memories: u32,
    pub globals: Vec<GlobalType>,
    pub global_inits: Vec<ConstExpr>,
    pub num_imported_globals: u32,
    /// Type index of each tag, imports first.
    pub tags: Vec<u32>,
    pub num_imported_tags: u32,
    pub imports: Vec<(ImportType, EntityIndex)>,
    /// The positions in `imports` of functions imported with an exact type (the custom
    /// descriptors proposal's `(func exact ...)`), which a function of a subtype cannot
    /// satisfy.
    pub exact_func_imports: Vec<usize>,
    pub exports: Vec<(String, EntityIndex)>,
    pub start: Option<u32>,
    pub elems: Vec<ElemSegment>,
    pub data: Vec<DataSegment>,
    /// Every data segment's bytes, one after another: one allocation for the section
    /// rather than one per segment (Go modules have tens of thousands of segments).
    pub data_bytes: Vec<u8>,
    pub custom_sections: Vec<(String, Vec<u8>)>,
}

impl ModuleInfo {
    pub fn func_type(&self, index: u32) -> &FuncType {
        &self.types[self.funcs[index as usize] as usize]
    }

    pub fn entity_type(&self, e: EntityIndex) -> ExternType {
        match e {
            EntityIndex::Func(i) => ExternType::Func(self.func_type(i).clone()),
            EntityIndex::Table(i) => ExternType::Table(self.tables[i as usize].clone()),
            EntityIndex::Memory(i) => ExternType::Memory(self.memories[i as usize].clone()),
            EntityIndex::Global(i) => ExternType::Global(self.globals[i as usize].clone()),
            EntityIndex::Tag(i) => ExternType::Tag(self.types[self.tags[i as usize] as usize].clone()),
        }
    }
}

pub(crate) struct ModuleInner {
    pub info: ModuleInfo,
    pub code: Option<CodeMemory>,
    /// Offset of each defined function in `code`.
    pub func_offsets: Vec<u32>,
    /// What the unwinder needs of each defined function.
    pub handlers: Vec<HandlerTable>,
    /// Where in the wasm bytes trap sites and return addresses come from.
    pub sources: SourceMap,
    /// The `name` section's function names, read when a backtrace first asks.
    pub function_names: std::sync::OnceLock<HashMap<u32, Box<str>>>,
}

impl ModuleInner {
    /// The defined function whose code contains `pc`, and `pc`'s offset in the code.
    pub(crate) fn locate(&self, pc: usize) -> Option<(usize, u32)> {
        let code = self.code.as_ref()?;
        let offset = pc.checked_sub(code.as_ptr() as usize).filter(|&o| o < code.len())? as u32;
        let func = self.func_offsets.partition_point(|&start| start <= offset).checked_sub(1)?;
        Some((func, offset))
    }
}

/// A validated and compiled module, ready to instantiate any number of times.
#[derive(Clone)]
pub struct Module(pub(crate) Arc<ModuleInner>);

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module").field("functions", &self.0.info.funcs.len()).finish()
    }
}

/// Wasm 2.0, exception handling (with the legacy instructions), tail calls, relaxed SIMD,
/// extended constant expressions (`i32`/`i64` `add`, `sub` and `mul`: `instance.rs`
/// evaluates them), 64-bit memories and tables, multiple memories (unless
/// `Config::multi_memory` is off), function references, and GC's validation rules for
/// function types (recursion groups, declared subtypes, constant expressions reading
/// the module's own globals) unless `Config::gc_types` is off. GC's struct, array and
/// `i31` types and the abstract types above them are refused as unsupported, by
/// `validate` as by `new`.
pub(crate) fn features(config: &Config) -> WasmFeatures {
    let mut features = WasmFeatures::WASM2
        | WasmFeatures::FUNCTION_REFERENCES
        | WasmFeatures::EXCEPTIONS
        | WasmFeatures::LEGACY_EXCEPTIONS
        | WasmFeatures::TAIL_CALL
        | WasmFeatures::RELAXED_SIMD
        | WasmFeatures::EXTENDED_CONST
        | WasmFeatures::MEMORY64
        | WasmFeatures::THREADS
        | WasmFeatures::WIDE_ARITHMETIC
        | WasmFeatures::CUSTOM_PAGE_SIZES;
    features.set(WasmFeatures::MULTI_MEMORY, config.multi_memory);
    features.set(WasmFeatures::GC, config.gc_types);
    features.set(WasmFeatures::CUSTOM_DESCRIPTORS, config.gc_types && config.custom_descriptors);
    features
}

fn unsupported_type(what: impl std::fmt::Debug, offset: usize) -> Error {
    Error::compile(format!("unsupported type {what:?}"), offset)
}

/// The engine's type for a wasmparser one, concrete references named by the ids of
/// the module's types read so far (`type_ids`).
fn val_type(ty: wasmparser::ValType, type_ids: &[u32], offset: usize) -> Result<ValType> {
    ValType::from_wasmparser(ty, type_ids).ok_or_else(|| unsupported_type(ty, offset))
}

fn table_type(t: &wasmparser::TableType, type_ids: &[u32], offset: usize) -> Result<TableType> {
    Ok(TableType {
        element: val_type(wasmparser::ValType::Ref(t.element_type), type_ids, offset)?,
        minimum: t.initial,
        maximum: t.maximum,
        table64: t.table64,
    })
}

fn memory_type(m: &wasmparser::MemoryType) -> Result<MemoryType> {
    let page_size_log2 = match m.page_size_log2 {
        None => crate::runtime::memory::DEFAULT_PAGE_SIZE_LOG2,
        Some(log2) => u8::try_from(log2).map_err(|_| Error::Unsupported(format!("page size 2^{log2}")))?,
    };
    Ok(MemoryType {
        minimum: m.initial,
        maximum: m.maximum,
        memory64: m.memory64,
        shared: m.shared,
        page_size_log2,
    })
}

fn global_type(g: &wasmparser::GlobalType, type_ids: &[u32], offset: usize) -> Result<GlobalType> {
    Ok(GlobalType { content: val_type(g.content_type, type_ids, offset)?, mutable: g.mutable })
}

/// The types of one recursion group, with their process-wide ids. A group of one final
/// type with no supertype that does not refer to itself is a plain `FuncType` (every
/// type of WebAssembly 2.0, and what host functions have); any other is interned as a
/// whole (`types::intern_rec_group`), its references to its own members by position.
fn read_rec_group(info: &mut ModuleInfo, group: wasmparser::RecGroup) -> Result<()> {
    let base = info.types.len() as u32;
    // A type the group refers to: a member by its position, an earlier type by its id.
    let type_ref = |index: wasmparser::UnpackedIndex, type_ids: &[u32]| -> Result<GroupRef> {
        let module_index = index.as_module_index().ok_or_else(|| unsupported_type(index, 0))?;
        Ok(match module_index.checked_sub(base) {
            Some(position) => GroupRef::InGroup(position),
            None => GroupRef::Id(type_ids[module_index as usize]),
        })
    };
    let mut members = Vec::new();
    let mut refers_to_group = false;
    for sub in group.types() {
        if sub.composite_type.shared {
            return Err(Error::compile(format!("unsupported type {sub}"), 0));
        }
        let mut member_type = |t: wasmparser::ValType| -> Result<GroupValType> {
            if let wasmparser::ValType::Ref(r) = t {
                let (exact, index) = match r.heap_type() {
                    wasmparser::HeapType::Concrete(index) => (false, Some(index)),
                    wasmparser::HeapType::Exact(index) => (true, Some(index)),
                    _ => (false, None),
                };
                if let Some(index) = index {
                    if let GroupRef::InGroup(position) = type_ref(index, &info.type_ids)? {
                        refers_to_group = true;
                        let nullable = r.is_nullable();
                        return Ok(GroupValType::InGroup { nullable, exact, index: position });
                    }
                }
            }
            Ok(GroupValType::Val(val_type(t, &info.type_ids, 0)?))
        };
        let mut field = |f: &wasmparser::FieldType| -> Result<GroupField> {
            let (packed, value) = match f.element_type {
                wasmparser::StorageType::I8 => (Some(StorageType::I8), GroupValType::Val(ValType::I32)),
                wasmparser::StorageType::I16 => (Some(StorageType::I16), GroupValType::Val(ValType::I32)),
                wasmparser::StorageType::Val(v) => (None, member_type(v)?),
            };
            Ok(GroupField { packed, value, mutable: f.mutable })
        };
        let composite = match &sub.composite_type.inner {
            wasmparser::CompositeInnerType::Func(ft) => GroupComposite::Func {
                params: ft.params().iter().map(|&t| member_type(t)).collect::<Result<Vec<_>>>()?,
                results: ft.results().iter().map(|&t| member_type(t)).collect::<Result<Vec<_>>>()?,
            },
            wasmparser::CompositeInnerType::Struct(st) => {
                GroupComposite::Struct(st.fields.iter().map(&mut field).collect::<Result<Vec<_>>>()?)
            }
            wasmparser::CompositeInnerType::Array(at) => GroupComposite::Array(field(&at.0)?),
            wasmparser::CompositeInnerType::Cont(_) => {
                return Err(Error::compile(format!("unsupported type {sub}"), 0));
            }
        };
        let supertype = match sub.supertype_idxs[..] {
            [] => None,
            [packed] => Some(type_ref(packed.unpack(), &info.type_ids)?),
            _ => return Err(unsupported_type(&sub.supertype_idxs, 0)),
        };
        let clause = |index: Option<wasmparser::PackedIndex>| {
            index.map(|i| type_ref(i.unpack(), &info.type_ids)).transpose()
        };
        let (descriptor, describes) =
            (clause(sub.composite_type.descriptor_idx)?, clause(sub.composite_type.describes_idx)?);
        refers_to_group |= descriptor.is_some() || describes.is_some();
        members.push(GroupMember { is_final: sub.is_final, supertype, descriptor, describes, composite });
    }
    let finality: Vec<bool> = members.iter().map(|m| m.is_final).collect();
    let plain =
        members.len() == 1 && !refers_to_group && members[0].is_final && members[0].supertype.is_none();
    // An empty group (`(rec)`) defines no types.
    let types = match members.first().map(|m| &m.composite) {
        Some(GroupComposite::Func { params, results }) if plain => {
            let plain_type = |types: &[GroupValType]| -> Vec<ValType> {
                types
                    .iter()
                    .filter_map(|t| if let GroupValType::Val(v) = t { Some(*v) } else { None })
                    .collect()
            };
            vec![FuncType::new(plain_type(params), plain_type(results))]
        }
        Some(_) => intern_rec_group(members),
        None => Vec::new(),
    };
    // Fields keep their offsets from supertype to subtype only if both or neither keep
    // a descriptor before them (`types::DESCRIPTOR_OFFSET`): wasmparser 0.263 requires
    // that, but the proposal lets a subtype add a descriptor, which this layout cannot.
    for ty in &types {
        let described = |t: &FuncType| t.layout().is_some_and(|l| l.described);
        if let Some(parent) =
            ty.depth().checked_sub(1).and_then(|d| FuncType::from_type_id(ty.supertype_chain()[d as usize]))
        {
            if described(ty) != described(&parent) {
                return Err(Error::Unsupported(format!(
                    "a descriptor on {ty} but not on its supertype {parent}"
                )));
            }
        }
    }
    for (ty, member) in types.into_iter().zip(&finality) {
        info.type_ids.push(ty.type_id());
        info.type_has_subtypes.push(!member);
        info.types.push(ty);
    }
    Ok(())
}

/// The usual constant expression, one instruction and `end`, read straight from its
/// bytes (an `OperatorsReader` allocates a control stack); `None` for anything else.
fn single_const_op(expr: &wasmparser::ConstExpr<'_>) -> Option<ConstOp> {
    let mut reader = expr.get_binary_reader();
    let op = match reader.read_u8().ok()? {
        0x41 => ConstOp::I32(reader.read_var_i32().ok()?),
        0x42 => ConstOp::I64(reader.read_var_i64().ok()?),
        0x23 => ConstOp::GlobalGet(reader.read_var_u32().ok()?),
        0xD2 => ConstOp::RefFunc(reader.read_var_u32().ok()?),
        _ => return None,
    };
    (reader.read_u8().ok()? == 0x0B && reader.eof()).then_some(op)
}

fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr> {
    use wasmparser::Operator as O;
    if let Some(op) = single_const_op(expr) {
        return Ok(ConstExpr::One(op));
    }
    let mut out = Vec::new();
    let mut reader = expr.get_operators_reader();
    while !reader.eof() {
        let offset = reader.original_position();
        out.push(match reader.read()? {
            O::I32Const { value } => ConstOp::I32(value),
            O::I64Const { value } => ConstOp::I64(value),
            O::F32Const { value } => ConstOp::F32(value.bits()),
            O::F64Const { value } => ConstOp::F64(value.bits()),
            O::V128Const { value } => ConstOp::V128(value.i128() as u128),
            O::RefNull { .. } => ConstOp::RefNull,
            O::RefFunc { function_index } => ConstOp::RefFunc(function_index),
            O::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
            O::I32Add => ConstOp::I32Add,
            O::I32Sub => ConstOp::I32Sub,
            O::I32Mul => ConstOp::I32Mul,
            O::I64Add => ConstOp::I64Add,
            O::I64Sub => ConstOp::I64Sub,
            O::I64Mul => ConstOp::I64Mul,
            O::RefI31 => ConstOp::RefI31,
            O::StructNew { struct_type_index } => ConstOp::StructNew(struct_type_index),
            O::StructNewDefault { struct_type_index } => ConstOp::StructNewDefault(struct_type_index),
            O::StructNewDesc { struct_type_index } => ConstOp::StructNewDesc(struct_type_index),
            O::StructNewDefaultDesc { struct_type_index } => ConstOp::StructNewDefaultDesc(struct_type_index),
            O::ArrayNew { array_type_index } => ConstOp::ArrayNew(array_type_index),
            O::ArrayNewDefault { array_type_index } => ConstOp::ArrayNewDefault(array_type_index),
            O::ArrayNewFixed { array_type_index, array_size } => {
                ConstOp::ArrayNewFixed(array_type_index, array_size)
            }
            O::AnyConvertExtern | O::ExternConvertAny => ConstOp::ConvertReference,
            O::End => continue,
            other => {
                return Err(Error::compile(
                    format!("unsupported constant instruction {other:?}"),
                    offset as usize,
                ))
            }
        });
    }
    Ok(match out[..] {
        [op] => ConstExpr::One(op),
        _ => ConstExpr::Many(out),
    })
}

impl Module {
    /// Decodes, validates and compiles `bytes`. Function bodies are validated and
    /// compiled after the rest of the module is read, in parallel when the code
    /// section is large enough to pay for threads (`Config::compile_threads`).
    pub fn new(engine: &Engine, bytes: &[u8]) -> Result<Module> {
        engine.check_supported()?;
        let trampolines = engine.trampolines()?;
        let stubs = Stubs {
            trap_call: trampolines.trap_call,
            throw_stub: trampolines.throw_stub,
            memory_copy_stub: trampolines.memory_copy_stub,
            gc_alloc_stub: trampolines.gc_alloc_stub,
        };
        let (info, compiled) = Self::compile(bytes, stubs, engine.config())?;
        let (code, func_offsets, handlers, sources) = link(&info, compiled, trampolines.trap_fault)?;
        let function_names = std::sync::OnceLock::new();
        let module =
            Module(Arc::new(ModuleInner { info, code, func_offsets, handlers, sources, function_names }));
        if crate::perf_map::enabled() {
            crate::perf_map::record(bytes, &module);
        }
        Ok(module)
    }

    /// Decodes and validates, and compiles without keeping the code, so that a module is
    /// valid exactly when `new` accepts it (the validator accepts a few things the
    /// compiler does not implement, such as `select` with several results). With the
    /// default `Config`'s proposals.
    pub fn validate(bytes: &[u8]) -> Result<()> {
        Self::validate_with(&Config::default(), bytes)
    }

    /// `validate` with the proposals `engine` enables: exactly what `new` accepts there.
    pub fn validate_for(engine: &Engine, bytes: &[u8]) -> Result<()> {
        Self::validate_with(engine.config(), bytes)
    }

    fn validate_with(config: &Config, bytes: &[u8]) -> Result<()> {
        let stubs = Stubs { trap_call: 0, throw_stub: 0, memory_copy_stub: 0, gc_alloc_stub: 0 };
        Self::compile(bytes, stubs, config).map(drop)
    }

    fn compile(bytes: &[u8], stubs: Stubs, config: &Config) -> Result<(ModuleInfo, Vec<CodeChunk>)> {
        Self::compile_as_read(bytes, stubs, config).map_err(|e| {
            // Types and instructions the compiler does not support are refused as they
            // are read, before the rest of the module is validated: an invalid module is
            // reported as invalid, with the validator's first error, whatever else it uses.
            // (A validation error met while reading is that same error, validated again;
            // this runs on failures only.) Compiler bugs are reported as they are.
            if e.is_internal() {
                return e;
            }
            match Validator::new_with_features(features(config)).validate_all(bytes) {
                Err(invalid) => Error::from(invalid),
                Ok(_) => e,
            }
        })
    }

    fn compile_as_read(bytes: &[u8], stubs: Stubs, config: &Config) -> Result<(ModuleInfo, Vec<CodeChunk>)> {
        let mut validator = Validator::new_with_features(features(config));
        let mut info =
            ModuleInfo { explicit_bounds_checks: config.explicit_bounds_checks, ..Default::default() };
        let mut bodies = Vec::new();
        for payload in Parser::new(0).parse_all(bytes) {
            let payload = payload?;
            if let Payload::DataSection(section) = &payload {
                if read_plain_data_section(&mut info, section, bytes) {
                    continue;
                }
            }
            if let wasmparser::ValidPayload::Func(to_validate, body) = validator.payload(&payload)? {
                bodies.push((to_validate, body));
                continue;
            }
            Self::read_section(&mut info, payload, bytes)?;
        }
        let table_elements: Vec<ValType> = info.tables.iter().map(|t| t.element).collect();
        let memory64: Vec<bool> = info.memories.iter().map(|m| m.memory64).collect();
        let memory_page_size_log2: Vec<u8> = info.memories.iter().map(|m| m.page_size_log2).collect();
        let memory_checked: Vec<bool> = info.memories.iter().map(MemoryType::always_bounds_checked).collect();
        let table64: Vec<bool> = info.tables.iter().map(|t| t.table64).collect();
        let env = CompileEnv {
            types: &info.types,
            type_ids: &info.type_ids,
            type_has_subtypes: &info.type_has_subtypes,
            func_types: &info.funcs,
            num_imported_funcs: info.num_imported_funcs,
            globals: &info.globals,
            table_elements: &table_elements,
            memory64: &memory64,
            memory_checked: &memory_checked,
            memory0_checked: memory_checked.first().copied().unwrap_or(false),
            memory_page_size_log2: &memory_page_size_log2,
            table64: &table64,
            tags: &info.tags,
            trap_call: stubs.trap_call,
            throw_stub: stubs.throw_stub,
            memory_copy_stub: stubs.memory_copy_stub,
            gc_alloc_stub: stubs.gc_alloc_stub,
            explicit_bounds_checks: config.explicit_bounds_checks,
            has_v128: info.types.iter().any(|t| t.slot_width() == 2)
                || info.globals.iter().any(|g| g.content == ValType::V128),
        };
        let compiled = compile_all(&env, bodies, config.compile_threads)?;
        Ok((info, compiled))
    }

    fn read_section(info: &mut ModuleInfo, payload: Payload<'_>, bytes: &[u8]) -> Result<()> {
        match payload {
            Payload::TypeSection(reader) => {
                for group in reader {
                    read_rec_group(info, group?)?;
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    let (ty, index) = match import.ty {
                        wasmparser::TypeRef::Func(t) | wasmparser::TypeRef::FuncExact(t) => {
                            if let wasmparser::TypeRef::FuncExact(_) = import.ty {
                                info.exact_func_imports.push(info.imports.len());
                            }
                            info.funcs.push(t);
                            info.num_imported_funcs += 1;
                            (
                                ExternType::Func(info.types[t as usize].clone()),
                                EntityIndex::Func(info.funcs.len() as u32 - 1),
                            )
                        }
                        wasmparser::TypeRef::Table(t) => {
                            info.tables.push(table_type(&t, &info.type_ids, 0)?);
                            info.num_imported_tables += 1;
                            let i = info.tables.len() as u32 - 1;
                            (ExternType::Table(info.tables[i as usize].clone()), EntityIndex::Table(i))
                        }
                        wasmparser::TypeRef::Memory(m) => {
                            info.memories.push(memory_type(&m)?);
                            info.num_imported_memories += 1;
                            let i = info.memories.len() as u32 - 1;
                            (ExternType::Memory(info.memories[i as usize].clone()), EntityIndex::Memory(i))
                        }
                        wasmparser::TypeRef::Global(g) => {
                            info.globals.push(global_type(&g, &info.type_ids, 0)?);
                            info.num_imported_globals += 1;
                            let i = info.globals.len() as u32 - 1;
                            (ExternType::Global(info.globals[i as usize].clone()), EntityIndex::Global(i))
                        }
                        wasmparser::TypeRef::Tag(t) => {
                            info.tags.push(t.func_type_idx);
                            info.num_imported_tags += 1;
                            let i = info.tags.len() as u32 - 1;
                            (
                                ExternType::Tag(info.types[t.func_type_idx as usize].clone()),
                                EntityIndex::Tag(i),
                            )
                        }
                    };
                    info.imports.push((
                        ImportType { module: import.module.to_string(), name: import.name.to_string(), ty },
                        index,
                    ));
                }
            }
            Payload::FunctionSection(reader) => {
                for t in reader {
                    info.funcs.push(t?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let table = table?;
                    info.tables.push(table_type(&table.ty, &info.type_ids, 0)?);
                    info.table_inits.push(match table.init {
                        wasmparser::TableInit::RefNull => None,
                        wasmparser::TableInit::Expr(e) => Some(const_expr(&e)?),
                    });
                }
            }
            Payload::MemorySection(reader) => {
                let range = reader.range();
                check_memory_limit_encodings(
                    &bytes[range.start as usize..range.end as usize],
                    range.start as usize,
                )?;
                for m in reader {
                    info.memories.push(memory_type(&m?)?);
                }
            }
            Payload::GlobalSection(reader) => {
                for g in reader {
                    let g = g?;
                    info.globals.push(global_type(&g.ty, &info.type_ids, 0)?);
                    info.global_inits.push(const_expr(&g.init_expr)?);
                }
            }
            Payload::ExportSection(reader) => {
                for e in reader {
                    let e = e?;
                    let index = match e.kind {
                        wasmparser::ExternalKind::Func | wasmparser::ExternalKind::FuncExact => {
                            EntityIndex::Func(e.index)
                        }
                        wasmparser::ExternalKind::Table => EntityIndex::Table(e.index),
                        wasmparser::ExternalKind::Memory => EntityIndex::Memory(e.index),
                        wasmparser::ExternalKind::Global => EntityIndex::Global(e.index),
                        wasmparser::ExternalKind::Tag => EntityIndex::Tag(e.index),
                    };
                    info.exports.push((e.name.to_string(), index));
                }
            }
            Payload::TagSection(reader) => {
                for tag in reader {
                    info.tags.push(tag?.func_type_idx);
                }
            }
            Payload::StartSection { func, .. } => info.start = Some(func),
            Payload::ElementSection(reader) => {
                for elem in reader {
                    let elem = elem?;
                    let mode = match elem.kind {
                        wasmparser::ElementKind::Passive => ElemMode::Passive,
                        wasmparser::ElementKind::Declared => ElemMode::Declared,
                        wasmparser::ElementKind::Active { table_index, offset_expr } => ElemMode::Active {
                            table: table_index.unwrap_or(0),
                            offset: const_expr(&offset_expr)?,
                        },
                    };
                    let items = match elem.items {
                        wasmparser::ElementItems::Functions(r) => r
                            .into_iter()
                            .map(|f| f.map(|f| ConstExpr::One(ConstOp::RefFunc(f))))
                            .collect::<Result<Vec<_>, _>>()?,
                        wasmparser::ElementItems::Expressions(_, r) => {
                            r.into_iter().map(|e| const_expr(&e?)).collect::<Result<Vec<_>>>()?
                        }
                    };
                    info.elems.push(ElemSegment { mode, items });
                }
            }
            Payload::DataSection(reader) => {
                // At most the section's size; the segments' headers make it a little less.
                let range = reader.range();
                info.data_bytes.reserve(usize::try_from(range.end - range.start).unwrap_or(0));
                for d in reader {
                    let d = d?;
                    let active = match d.kind {
                        wasmparser::DataKind::Passive => None,
                        wasmparser::DataKind::Active { memory_index, offset_expr } => {
                            Some((memory_index, const_expr(&offset_expr)?))
                        }
                    };
                    let start = info.data_bytes.len();
                    info.data_bytes.extend_from_slice(d.data);
                    info.data.push(DataSegment { active, bytes: start..info.data_bytes.len() });
                }
            }
            Payload::CustomSection(reader) => {
                info.custom_sections.push((reader.name().to_string(), reader.data().to_vec()));
            }
            _ => {}
        }
        Ok(())
    }

    pub fn imports(&self) -> Vec<ImportType> {
        self.0.info.imports.iter().map(|(i, _)| i.clone()).collect()
    }

    pub fn exports(&self) -> Vec<ExportType> {
        let info = &self.0.info;
        info.exports
            .iter()
            .map(|(name, e)| ExportType { name: name.clone(), ty: info.entity_type(*e) })
            .collect()
    }

    /// Custom sections with this name, in order.
    /// The name the module's `name` section gives function `func_index` (imports
    /// first), if it has such a section and that entry. A malformed `name` section
    /// names nothing: the spec has custom sections never make a module invalid.
    pub fn function_name(&self, func_index: u32) -> Option<String> {
        let names = self.0.function_names.get_or_init(|| {
            let mut names = HashMap::new();
            let Some(data) = self.custom_sections("name").into_iter().next() else { return names };
            let reader = wasmparser::NameSectionReader::new(wasmparser::BinaryReader::new(data, 0));
            for subsection in reader {
                let Ok(wasmparser::Name::Function(map)) = subsection else { continue };
                // Up to the first malformed entry, as far as it reads.
                for naming in map.into_iter().map_while(Result::ok) {
                    names.entry(naming.index).or_insert_with(|| naming.name.into());
                }
            }
            names
        });
        names.get(&func_index).map(|name| name.to_string())
    }

    pub fn custom_sections(&self, name: &str) -> Vec<&[u8]> {
        self.0.info.custom_sections.iter().filter(|(n, _)| n == name).map(|(_, d)| d.as_slice()).collect()
    }

    /// Machine code of a defined function (for tests and disassembly).
    pub fn function_code(&self, func_index: u32) -> Option<&[u8]> {
        let m = &self.0;
        let defined = func_index.checked_sub(m.info.num_imported_funcs)? as usize;
        let code = m.code.as_ref()?;
        let start = *m.func_offsets.get(defined)? as usize;
        let end = m.func_offsets.get(defined + 1).map(|&e| e as usize).unwrap_or(code.len());
        // SAFETY: the code memory is mapped readable for the module's lifetime and
        // [start, end) lies inside it.
        Some(unsafe { std::slice::from_raw_parts(code.as_ptr().add(start), end - start) })
    }
}

/// The JS API's limit on data segments, which wasmparser's validator also applies.
const MAX_DATA_SEGMENTS: u32 = 100_000;

/// Reads a data section whose segments are all in the form nearly every module uses,
/// passive or active at an `i32.const` offset in a memory that exists, straight from its
/// bytes. Such a section is valid, so wasmparser's validator is not asked: it reads each
/// segment again and checks its offset with a constant-expression validator of its own,
/// ~900 instructions a segment where this takes ~40 (Go modules have tens of thousands of
/// segments: 5 % of esbuild's compile). Returns false, with `info` unchanged, for any
/// other form and for malformed bytes; the validating path then reads the section and
/// reports what is wrong. (Section order and the data count are the parser's checks.)
/// Valid because of two facts: the segment's memory is 32-bit (checked here: a 64-bit
/// memory's segments go to the validator), so an `i32.const` offset has the right type;
/// and passive segments need bulk memory, which `features()` includes.
fn read_plain_data_section(
    info: &mut ModuleInfo,
    section: &wasmparser::DataSectionReader<'_>,
    bytes: &[u8],
) -> bool {
    // The section's range starts at its count.
    let range = section.range();
    let Some(section_bytes) = bytes.get(range.start as usize..range.end as usize) else { return false };
    let mut reader = wasmparser::BinaryReader::new(section_bytes, range.start);
    let (segments_before, bytes_before) = (info.data.len(), info.data_bytes.len());
    let read_all = (|| -> Option<()> {
        let count = reader.read_var_u32().ok()?;
        if count > MAX_DATA_SEGMENTS {
            return None;
        }
        // A segment takes at least two bytes: a lying count reserves no more than that.
        info.data.reserve((count as usize).min(section_bytes.len() / 2));
        info.data_bytes.reserve(section_bytes.len());
        for _ in 0..count {
            // The flags as one byte: wasmparser also accepts longer LEB128 encodings.
            let active = match reader.read_u8().ok()? {
                0x01 => None,
                flags @ (0x00 | 0x02) => {
                    let memory = if flags == 0x02 { reader.read_var_u32().ok()? } else { 0 };
                    let is_i32_const = reader.read_u8().ok()? == 0x41;
                    let offset = reader.read_var_i32().ok()?;
                    let ends = reader.read_u8().ok()? == 0x0B;
                    let is_32_bit = info.memories.get(memory as usize).is_some_and(|m| !m.memory64);
                    if !(is_i32_const && ends && is_32_bit) {
                        return None;
                    }
                    Some((memory, ConstExpr::One(ConstOp::I32(offset))))
                }
                _ => return None,
            };
            let len = reader.read_var_u32().ok()?;
            let data = reader.read_bytes(len as usize).ok()?;
            let start = info.data_bytes.len();
            info.data_bytes.extend_from_slice(data);
            info.data.push(DataSegment { active, bytes: start..info.data_bytes.len() });
        }
        reader.eof().then_some(())
    })();
    if read_all.is_none() {
        info.data.truncate(segments_before);
        info.data_bytes.truncate(bytes_before);
    }
    read_all.is_some()
}

/// wasmparser decodes 32-bit memory limits as u64 LEBs and so accepts encodings longer
/// than the 5 bytes a u32 may take; the spec calls those malformed.
fn check_memory_limit_encodings(section: &[u8], base: usize) -> Result<()> {
    let mut at = 0usize;
    let u32_leb = |at: &mut usize| -> Result<()> {
        let start = *at;
        loop {
            let Some(&b) = section.get(*at) else {
                return Ok(());
            };
            *at += 1;
            if *at - start > 5 {
                return Err(Error::compile("integer representation too long", base + start));
            }
            if b & 0x80 == 0 {
                return Ok(());
            }
        }
    };
    u32_leb(&mut at)?;
    while at < section.len() {
        let flags = section[at];
        at += 1;
        if flags & 0x04 != 0 {
            // memory64 limits are u64; wasmparser checks those.
            return Ok(());
        }
        u32_leb(&mut at)?;
        if flags & 0x01 != 0 {
            u32_leb(&mut at)?;
        }
    }
    Ok(())
}

/// Lays the functions out in one executable region and patches direct calls.
type FunctionToCompile<'a> = (FuncToValidate<ValidatorResources>, FunctionBody<'a>);

/// Below this many bytes of code a module compiles on the calling thread: spawning
/// threads costs more than it saves.
const PARALLEL_THRESHOLD: usize = 256 * 1024;

/// Validates and compiles every function body; the reported error is the one of the
/// lowest-numbered failing function, as with sequential compilation (`Module::compile`
/// may put the validator's first error of the whole module in its place).
fn compile_all(
    env: &CompileEnv<'_>,
    bodies: Vec<FunctionToCompile<'_>>,
    threads: usize,
) -> Result<Vec<CodeChunk>> {
    let code_bytes: usize = bodies.iter().map(|(_, body)| body.as_bytes().len()).sum();
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let threads = if code_bytes < PARALLEL_THRESHOLD { 1 } else { threads.min(bodies.len()) };
    // The first chunk's code mapping has room for the whole module's: `link` appends
    // the other chunks' code to it and makes it executable where it is.
    let whole_module = (code_bytes, bodies.len());
    if threads <= 1 {
        // A compiler bug must not take the embedder down: a panic becomes an error, as
        // it does on compiler threads.
        return std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            compile_chunk(env, env.num_imported_funcs, bodies, whole_module).map(|chunk| vec![chunk])
        }))
        .unwrap_or_else(|_| Err(ThreadError::Panicked.into()));
    }
    // Contiguous chunks of about equal code size, one per thread, in function order.
    // Each with its first function's index and its code's size.
    let per_thread = code_bytes.div_ceil(threads);
    let mut chunks: Vec<(u32, Vec<FunctionToCompile<'_>>, usize)> = Vec::with_capacity(threads);
    for (i, item) in bodies.into_iter().enumerate() {
        if chunks.last().is_none_or(|&(_, _, size)| size >= per_thread && chunks.len() < threads) {
            chunks.push((env.num_imported_funcs + i as u32, Vec::new(), 0));
        }
        if let Some((_, chunk, size)) = chunks.last_mut() {
            *size += item.1.as_bytes().len();
            chunk.push(item);
        }
    }
    let results: Vec<Result<CodeChunk, ThreadError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .enumerate()
            .map(|(k, (first, chunk, size))| {
                let room = if k == 0 { whole_module } else { (size, chunk.len()) };
                scope.spawn(move || compile_chunk(env, first, chunk, room).map_err(ThreadError::from))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(Err(ThreadError::Panicked))).collect()
    });
    results.into_iter().map(|chunk| chunk.map_err(Error::from)).collect()
}

/// Compiles consecutive functions, the first being function `first`, into a chunk with
/// room for the code of `room.1` functions of `room.0` bytes of wasm code.
fn compile_chunk(
    env: &CompileEnv<'_>,
    first: u32,
    chunk: Vec<FunctionToCompile<'_>>,
    room: (usize, usize),
) -> Result<CodeChunk> {
    let mut allocs = FuncValidatorAllocations::default();
    let mut scratch = Scratch::new(env);
    let mut out = CodeChunk::new(room.0, room.1)?;
    for (i, (to_validate, body)) in chunk.into_iter().enumerate() {
        let mut validator = to_validate.into_validator(allocs);
        compile_function(env, first + i as u32, &body, &mut validator, &mut scratch, &mut out)?;
        allocs = validator.into_allocations();
    }
    Ok(out)
}

/// A compile error crossing back from a compiler thread. `Error` itself is not `Send`
/// (a trap may carry any host payload), but compiling never produces traps.
enum ThreadError {
    Compile { message: String, offset: usize },
    Unsupported(String),
    Resource(String),
    Panicked,
}

impl From<Error> for ThreadError {
    fn from(e: Error) -> ThreadError {
        match e {
            Error::Compile { message, offset } => ThreadError::Compile { message, offset },
            Error::Unsupported(message) => ThreadError::Unsupported(message),
            Error::Resource(message) => ThreadError::Resource(message),
            // Compiling neither links nor runs code.
            other => ThreadError::Unsupported(other.to_string()),
        }
    }
}

impl From<ThreadError> for Error {
    fn from(e: ThreadError) -> Error {
        match e {
            ThreadError::Compile { message, offset } => Error::Compile { message, offset },
            ThreadError::Unsupported(message) => Error::Unsupported(message),
            ThreadError::Resource(message) => Error::Resource(message),
            ThreadError::Panicked => Error::internal("the compiler panicked"),
        }
    }
}

/// The addresses of the process-wide stubs compiled code jumps to (0 when only
/// validating).
#[derive(Clone, Copy)]
struct Stubs {
    trap_call: usize,
    throw_stub: usize,
    memory_copy_stub: usize,
    gc_alloc_stub: usize,
}

type Linked = (Option<CodeMemory>, Vec<u32>, Vec<HandlerTable>, SourceMap);

fn link(info: &ModuleInfo, mut chunks: Vec<CodeChunk>, trap_exit: usize) -> Result<Linked> {
    if chunks.iter().all(|chunk| chunk.starts.is_empty()) {
        return Ok((None, Vec::new(), Vec::new(), SourceMap::default()));
    }
    // Each chunk starts at a `LOOP_ALIGNMENT` boundary (the code memory is page-aligned),
    // so its functions keep their alignments. Calls between functions are rel32: the code
    // stays below 2 GiB.
    let mut chunk_starts = Vec::with_capacity(chunks.len());
    let mut offsets = Vec::with_capacity(chunks.iter().map(|chunk| chunk.starts.len()).sum());
    let mut len = 0usize;
    for chunk in &chunks {
        len = len.next_multiple_of(LOOP_ALIGNMENT as usize);
        chunk_starts.push(len);
        offsets.extend(chunk.starts.iter().map(|&start| (len + start as usize) as u32));
        len += chunk.bytes.len();
    }
    if i32::try_from(len).is_err() {
        return Err(Error::Resource("more than 2 GiB of code".into()));
    }
    // The first chunk's mapping (room for the whole module's code) takes the others'
    // code after its own, and becomes the code memory where it is.
    let mut bytes = std::mem::take(&mut chunks[0].bytes);
    for (chunk, &start) in chunks.iter_mut().zip(&chunk_starts).skip(1) {
        bytes.pad_to(start, 0xCC)?;
        bytes.extend_from_slice(std::mem::take(&mut chunk.bytes).as_slice())?;
    }
    let code = bytes.as_mut_slice();
    for (chunk, &start) in chunks.iter().zip(&chunk_starts) {
        for r in &chunk.call_relocs {
            let defined = (r.callee - info.num_imported_funcs) as usize;
            let field = (start + r.offset as usize) as i64;
            let rel = offsets[defined] as i64 - (field + 4);
            let at = field as usize;
            code[at..at + 4].copy_from_slice(&(rel as i32).to_le_bytes());
        }
    }
    let mut code = bytes.into_executable()?;
    // Loads and stores first, then divisions (`DIVISION_SITE` sorts them after): each
    // group comes out in address order, so the registry's sort finds the list sorted.
    let count = chunks.iter().map(|chunk| chunk.trap_sites.len() + chunk.division_sites.len()).sum();
    let mut trap_sites = Vec::with_capacity(count);
    let mut sources = SourceMap::default();
    for (chunk, &start) in chunks.iter().zip(&chunk_starts) {
        let start = start as u32;
        sources.faults.extend(chunk.trap_sites.iter().map(|&(at, wasm)| (at + start, wasm)));
        sources.divisions.extend(chunk.division_sites.iter().map(|&(at, wasm)| (at + start, wasm)));
        sources.returns.extend(chunk.return_sources.iter().map(|&(at, wasm)| (at + start, wasm)));
    }
    trap_sites.extend(sources.faults.iter().map(|&(at, _)| at));
    trap_sites.extend(sources.divisions.iter().map(|&(at, _)| at | DIVISION_SITE));
    code.register_traps(trap_sites, trap_exit);
    sources.check_order();
    let mut handlers: Vec<HandlerTable> =
        chunks.iter_mut().flat_map(|chunk| std::mem::take(&mut chunk.handlers)).collect();
    follow_calls_that_keep_references(info, &chunks, &mut handlers);
    Ok((Some(code), offsets, handlers, sources))
}

/// Sets `keeps_references` on every function that calls, directly or through a chain
/// of direct calls (tail calls too), one that has it: what the compiler found in one
/// function, made true of what its calls can do. Linear in functions and calls.
fn follow_calls_that_keep_references(info: &ModuleInfo, chunks: &[CodeChunk], handlers: &mut [HandlerTable]) {
    // The callers of each defined function, as one list grouped by callee (`first[c]`
    // to `first[c + 1]`).
    let n = handlers.len();
    let mut first = vec![0u32; n + 1];
    let mut calls: Vec<(u32, u32)> = Vec::with_capacity(chunks.iter().map(|c| c.call_relocs.len()).sum());
    let mut base = 0;
    for chunk in chunks {
        // Relocations come in code order, and so do the chunk's functions.
        let mut caller = 0;
        for r in &chunk.call_relocs {
            while caller + 1 < chunk.starts.len() && chunk.starts[caller + 1] <= r.offset {
                caller += 1;
            }
            let callee = r.callee - info.num_imported_funcs;
            first[callee as usize + 1] += 1;
            calls.push((callee, (base + caller) as u32));
        }
        base += chunk.starts.len();
    }
    for c in 0..n {
        first[c + 1] += first[c];
    }
    let mut callers = vec![0u32; calls.len()];
    let mut next = first.clone();
    for &(callee, caller) in &calls {
        callers[next[callee as usize] as usize] = caller;
        next[callee as usize] += 1;
    }
    let mut pending: Vec<u32> = (0..n as u32).filter(|&f| handlers[f as usize].keeps_references).collect();
    while let Some(callee) = pending.pop() {
        let range = first[callee as usize] as usize..first[callee as usize + 1] as usize;
        for &caller in &callers[range] {
            let keeps = &mut handlers[caller as usize].keeps_references;
            if !*keeps {
                *keeps = true;
                pending.push(caller);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the data section of `wat`'s module, in a module of one memory, with
    /// `read_plain_data_section`.
    fn read_plain(wat: &str) -> (bool, ModuleInfo) {
        read_plain_bytes(&wat::parse_str(wat).expect("valid wat"))
    }

    fn read_plain_bytes(bytes: &[u8]) -> (bool, ModuleInfo) {
        let mut info = ModuleInfo {
            memories: vec![MemoryType {
                minimum: 1,
                maximum: None,
                memory64: false,
                shared: false,
                page_size_log2: 16,
            }],
            ..Default::default()
        };
        for payload in Parser::new(0).parse_all(bytes) {
            if let Payload::DataSection(section) = payload.expect("well-formed") {
                return (read_plain_data_section(&mut info, &section, bytes), info);
            }
        }
        panic!("no data section");
    }

    #[test]
    fn usual_data_sections_are_read_without_the_validator() {
        let (plain, info) = read_plain(
            r#"(module (memory 1) (data (i32.const 3) "ab") (data "c") (data (i32.const -1) ""))"#,
        );
        assert!(plain);
        let segments: Vec<_> = info
            .data
            .iter()
            .map(|d| match &d.active {
                Some((memory, ConstExpr::One(ConstOp::I32(offset)))) => {
                    (Some((*memory, *offset)), d.bytes.clone())
                }
                None => (None, d.bytes.clone()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(segments, [(Some((0, 3)), 0..2), (None, 2..3), (Some((0, -1)), 3..3)]);
        assert_eq!(info.data_bytes, b"abc");
    }

    #[test]
    fn every_plain_encoding_is_read_without_the_validator() {
        // Memory 0 named explicitly (flags 2), then an offset of 4 in a five-byte LEB128.
        let data = [
            &[0x02u8, 0x02, 0x00, 0x41, 0x01, 0x0B, 0x01, b'b'][..],
            &[0x00, 0x41, 0x84, 0x80, 0x80, 0x80, 0x00, 0x0B, 0x02, b'x', b'y'],
        ]
        .concat();
        let mut bytes = wat::parse_str("(module (memory 1))").expect("valid wat");
        bytes.extend_from_slice(&[11, data.len() as u8]);
        bytes.extend_from_slice(&data);
        let (plain, info) = read_plain_bytes(&bytes);
        assert!(plain);
        let offsets: Vec<_> = info
            .data
            .iter()
            .map(|d| match d.active {
                Some((0, ConstExpr::One(ConstOp::I32(offset)))) => offset,
                ref other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(offsets, [1, 4]);
        assert_eq!(info.data_bytes, b"bxy");
    }

    #[test]
    fn other_data_sections_are_left_to_the_validator_untouched() {
        for wat in [
            r#"(module (global i32 (i32.const 0)) (memory 1) (data (i32.const 0) "a") (data (global.get 0) "b"))"#,
            r#"(module (memory 1) (data (i32.const 0) "a") (data (i64.const 0) "b"))"#,
            r#"(module (memory 1) (data (i32.const 0) "a") (data (memory 1) (i32.const 0) "b"))"#,
        ] {
            let (plain, info) = read_plain(wat);
            assert!(!plain, "{wat}");
            assert!(info.data.is_empty() && info.data_bytes.is_empty(), "{wat}");
        }
    }
}

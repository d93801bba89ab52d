//! ES module integration (the WebAssembly/ESM Integration proposal): `import` of a
//! `.wasm` file gives a module whose exports are the instance's exports, with globals
//! unwrapped to their values.
//!
//! Boa has no WebAssembly module records, so `WasmModuleLoader` turns each `.wasm` file
//! into a small JavaScript source text module. Its imports are the wasm module's import
//! modules, so Boa loads, links and evaluates them (cycles included) as for any module;
//! its body calls back into Rust to instantiate the wasm module against their namespaces
//! and re-exports the results under the wasm export names. Where this differs from the
//! proposal: exported globals are `let` bindings that are refreshed after every call
//! from JS into wasm, every `Global.prototype.value` write, before every call from wasm
//! into JS and after every instantiation (the proposal reads the global on every access;
//! a fiber suspended by JSPI does not refresh them), and v128 and exnref globals are
//! exported as `undefined` instead of staying in their temporal dead zone. The wrappers'
//! helpers live in an internal module that only wrappers can import.

use crate::compile_options::{CompileOptions, ImportSource};
use crate::conversions::never_crosses_to_js;
use crate::errors::{new_error, ErrorKind};
use crate::instance::{read_imports, InstanceData};
use crate::module::{compile, module_object, module_of};
use crate::realm::with_agent;
use boa_engine::module::{
    resolve_module_specifier, ModuleLoader, ModuleRequest, Referrer, SimpleModuleLoader,
    SyntheticModuleInitializer,
};
use boa_engine::native_function::NativeFunctionPointer;
use boa_engine::object::JsObject;
use boa_engine::{js_string, Context, JsNativeError, JsResult, JsValue, Module, NativeFunction, Source};
use boa_gc::{Finalize, Trace};
use sidewinder_engine::ExternType;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// The specifier of the internal module that generated wrappers import their helpers
/// from: a name with a random part, made once per process. A fixed name would also
/// serve a wasm module's own import of that name, since the wrapper imports the
/// modules its wasm module imports (and the helpers then ran for it, errors ignored).
fn internal_specifier() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        format!("sidewinder:esm#{random:016x}")
    })
}

/// Per-realm state of the integration.
#[derive(Trace, Finalize, Default)]
pub(crate) struct EsmState {
    /// Wasm modules loaded but not instantiated yet, by the id their wrapper passes.
    pending: HashMap<u32, PendingModule>,
    next_id: u32,
    /// The instance behind each wasm module's namespace object.
    instances: HashMap<JsObject, JsObject>,
    /// Functions that re-read the exported mutable globals into their bindings.
    refreshers: Vec<JsObject>,
}

#[derive(Trace, Finalize)]
struct PendingModule {
    /// The WebAssembly.Module object.
    module: JsObject,
    /// The wrapper module, whose namespace the instance is registered under.
    wrapper: Option<Module>,
    /// The distinct import module specifiers, in the order the wrapper passes their
    /// namespaces.
    #[unsafe_ignore_trace]
    specifiers: Vec<String>,
}

thread_local! {
    /// Whether any realm on this thread has exported mutable globals to refresh: the
    /// check that keeps the refresh off the JS -> wasm call path otherwise.
    static LIVE_BINDINGS: Cell<bool> = const { Cell::new(false) };
}

/// A module loader for contexts with the WebAssembly namespace: `.wasm` files load as
/// WebAssembly modules, everything else as Boa's `SimpleModuleLoader` (rooted at the
/// same directory) loads it.
pub struct WasmModuleLoader {
    js: Rc<SimpleModuleLoader>,
    root: PathBuf,
    wasm: RefCell<HashMap<PathBuf, Module>>,
    internal: RefCell<Option<Module>>,
    read: Box<ReadWasm>,
}

/// How the loader gets a `.wasm` file's bytes.
pub type ReadWasm = dyn Fn(&Path) -> std::io::Result<Vec<u8>>;

impl WasmModuleLoader {
    /// A loader that loads nothing from outside `root`.
    pub fn new(root: impl AsRef<Path>) -> JsResult<WasmModuleLoader> {
        let js = SimpleModuleLoader::new(root.as_ref())?;
        let root = root.as_ref().canonicalize().map_err(|e| {
            JsNativeError::typ()
                .with_message(format!("could not set module root `{}`: {e}", root.as_ref().display()))
        })?;
        Ok(WasmModuleLoader {
            js: Rc::new(js),
            root,
            wasm: RefCell::default(),
            internal: RefCell::default(),
            read: Box::new(|path| std::fs::read(path)),
        })
    }

    /// Reads `.wasm` files with `read` instead of from the file system as they are (a
    /// test runner can build missing binaries from their `.wat` sources, say).
    pub fn with_reader(mut self, read: impl Fn(&Path) -> std::io::Result<Vec<u8>> + 'static) -> Self {
        self.read = Box::new(read);
        self
    }

    fn internal_module(&self, ctx: &mut Context) -> Module {
        if let Some(m) = self.internal.borrow().as_ref() {
            return m.clone();
        }
        let names = [js_string!("instantiate"), js_string!("liveBindings"), js_string!("globalValue")];
        let module = Module::synthetic(
            &names,
            SyntheticModuleInitializer::from_copy_closure(|module, ctx| {
                let helpers: [(&str, NativeFunctionPointer); 3] = [
                    ("instantiate", instantiate_for_wrapper),
                    ("liveBindings", register_live_bindings),
                    ("globalValue", global_value),
                ];
                for (name, f) in helpers {
                    let f = NativeFunction::from_fn_ptr(f).to_js_function(ctx.realm());
                    module.set_export(&js_string!(name), f.into())?;
                }
                Ok(())
            }),
            None,
            None,
            ctx,
        );
        *self.internal.borrow_mut() = Some(module.clone());
        module
    }

    fn load_wasm(&self, path: PathBuf, ctx: &mut Context) -> JsResult<Module> {
        if let Some(m) = self.wasm.borrow().get(&path) {
            return Ok(m.clone());
        }
        let bytes = (self.read)(&path).map_err(|e| {
            JsNativeError::typ().with_message(format!("could not read `{}`: {e}", path.display()))
        })?;
        let module = wasm_module_record(&bytes, &path, ctx)?;
        self.wasm.borrow_mut().insert(path, module.clone());
        Ok(module)
    }
}

impl ModuleLoader for WasmModuleLoader {
    async fn load_imported_module(
        self: Rc<Self>,
        referrer: Referrer,
        request: ModuleRequest,
        context: &RefCell<&mut Context>,
    ) -> JsResult<Module> {
        let specifier = request.specifier().to_std_string_escaped();
        // Only the generated modules see the helpers; for anyone else the name is just
        // a file that does not exist.
        let from_wrapper = match &referrer {
            Referrer::Module(m) => self.wasm.borrow().values().any(|w| w == m),
            _ => false,
        };
        if specifier == internal_specifier() && from_wrapper {
            return Ok(self.internal_module(&mut context.borrow_mut()));
        }
        if !specifier.ends_with(".wasm") {
            return self.js.clone().load_imported_module(referrer, request, context).await;
        }
        let ctx = &mut context.borrow_mut();
        let path = resolve_module_specifier(Some(&self.root), request.specifier(), referrer.path(), ctx)?;
        self.load_wasm(path, ctx)
    }
}

/// Compiles the wasm module at `path` and makes the JavaScript module that stands for it.
fn wasm_module_record(bytes: &[u8], path: &Path, ctx: &mut Context) -> JsResult<Module> {
    // Modules imported as ESM get the JS String Builtins and string constants.
    let options = CompileOptions {
        builtins: vec!["js-string".into()],
        imported_string_constants: Some("wasm:js/string-constants".into()),
    };
    let compiled = compile(bytes, &options, ctx)?;
    let (engine_module, plan) = compiled.clone();
    let module = module_object(compiled, None, ctx)?;
    // Builtins and string constants come from the host, not from modules to load.
    let mut specifiers: Vec<String> = Vec::new();
    for (i, import) in engine_module.imports().into_iter().enumerate() {
        if plan.source(i) == ImportSource::ImportObject && !specifiers.contains(&import.module) {
            specifiers.push(import.module);
        }
    }
    let exports = engine_module.exports();
    let id = with_agent(ctx, |r| {
        let id = r.esm.next_id;
        r.esm.next_id += 1;
        r.esm.pending.insert(id, PendingModule { module, wrapper: None, specifiers: specifiers.clone() });
        id
    })?;
    let source = wrapper_source(id, &specifiers, &exports);
    let wrapper = match Module::parse(Source::from_bytes(&source).with_path(path), None, ctx) {
        Ok(w) => w,
        Err(e) => {
            with_agent(ctx, |r| r.esm.pending.remove(&id))?;
            return Err(e);
        }
    };
    with_agent(ctx, |r| {
        if let Some(p) = r.esm.pending.get_mut(&id) {
            p.wrapper = Some(wrapper.clone());
        }
    })?;
    Ok(wrapper)
}

/// The JavaScript module standing for a wasm module: imports the namespaces of its import
/// modules, instantiates, and exports each export under its wasm name.
fn wrapper_source(id: u32, specifiers: &[String], exports: &[sidewinder_engine::ExportType]) -> String {
    let mut s = format!(
        "import {{ instantiate, liveBindings, globalValue }} from {};\n",
        string_literal(internal_specifier())
    );
    for (i, spec) in specifiers.iter().enumerate() {
        s += &format!("import * as i{i} from {};\n", string_literal(spec));
    }
    let namespaces: Vec<String> = (0..specifiers.len()).map(|i| format!("i{i}")).collect();
    s += &format!("const e = instantiate({id}, [{}]);\n", namespaces.join(", "));
    let mut refresh = String::new();
    let mut names = Vec::new();
    for (k, export) in exports.iter().enumerate() {
        let name = string_literal(&export.name);
        match &export.ty {
            ExternType::Global(g) if never_crosses_to_js(g.content) => {
                s += &format!("let x{k};\n");
            }
            ExternType::Global(g) if g.mutable => {
                s += &format!("let x{k} = globalValue(e[{name}]);\n");
                refresh += &format!("x{k} = globalValue(e[{name}]); ");
            }
            ExternType::Global(_) => s += &format!("const x{k} = globalValue(e[{name}]);\n"),
            _ => s += &format!("const x{k} = e[{name}];\n"),
        }
        names.push(format!("x{k} as {name}"));
    }
    if !names.is_empty() {
        s += &format!("export {{ {} }};\n", names.join(", "));
    }
    if !refresh.is_empty() {
        s += &format!("liveBindings(() => {{ {refresh}}});\n");
    }
    s
}

/// `text` as a JavaScript string literal.
fn string_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Import module and names the proposal reserves for the host.
fn is_reserved_name(name: &str) -> bool {
    name.starts_with("wasm:") || name.starts_with("wasm-js:")
}

/// `instantiate(id, namespaces)`, called once by each wrapper as it evaluates: reads
/// the imports from the namespaces (a wasm module's exports as its instance has them,
/// so globals stay shared), instantiates, and returns the instance's exports object.
fn instantiate_for_wrapper(_this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let id = args.first().and_then(JsValue::as_number).filter(|n| *n >= 0.0 && n.fract() == 0.0);
    let pending = match id {
        Some(id) => with_agent(ctx, |r| r.esm.pending.remove(&(id as u32)))?,
        None => None,
    };
    let Some(pending) = pending else {
        return Err(JsNativeError::typ()
            .with_message("not a WebAssembly module waiting to be instantiated")
            .into());
    };
    let namespaces = args.get(1).and_then(JsValue::as_object);
    let namespaces = namespaces.ok_or_else(|| JsNativeError::typ().with_message("namespaces expected"))?;
    let (module, plan) = module_of(&pending.module.clone().into(), "WebAssembly ESM integration")?;
    for export in module.exports() {
        if is_reserved_name(&export.name) {
            return Err(new_error(ErrorKind::Link, &format!("reserved export name {:?}", export.name), ctx));
        }
    }
    let import_object = JsObject::with_null_proto();
    for (i, import) in module.imports().into_iter().enumerate() {
        // Builtins and string constants are the host's own: their names may be reserved.
        if plan.source(i) != ImportSource::ImportObject {
            continue;
        }
        if import.module.starts_with("wasm-js:") || is_reserved_name(&import.name) {
            let what = format!("reserved import {:?} {:?}", import.module, import.name);
            return Err(new_error(ErrorKind::Link, &what, ctx));
        }
        let Some(index) = pending.specifiers.iter().position(|s| *s == import.module) else {
            continue;
        };
        let namespace = namespaces.get(index as u32, ctx)?;
        let Some(namespace) = namespace.as_object() else { continue };
        let instance = with_agent(ctx, |r| r.esm.instances.get(&namespace).cloned())?;
        let value = match instance {
            Some(instance) => exports_of(&instance)?.get(js_string!(import.name.as_str()), ctx)?,
            None => namespace.get(js_string!(import.name.as_str()), ctx)?,
        };
        let key = js_string!(import.module.as_str());
        let entries = match import_object.get(key.clone(), ctx)?.as_object() {
            Some(o) => o.clone(),
            None => {
                let o = JsObject::with_null_proto();
                import_object.set(key, o.clone(), false, ctx)?;
                o
            }
        };
        entries.set(js_string!(import.name.as_str()), value, false, ctx)?;
    }
    let imports = read_imports(&module, &plan, &import_object.into(), ctx)?;
    let instance = crate::instance::instantiate(&module, &imports, None, ctx)?;
    if let Some(wrapper) = &pending.wrapper {
        let namespace = wrapper.namespace(ctx);
        with_agent(ctx, |r| r.esm.instances.insert(namespace, instance.clone()))?;
    }
    Ok(exports_of(&instance)?.into())
}

fn exports_of(instance: &JsObject) -> JsResult<JsObject> {
    let exports = instance.downcast_ref::<InstanceData>().map(|d| d.exports.clone());
    exports.ok_or_else(|| JsNativeError::typ().with_message("not a WebAssembly.Instance").into())
}

/// `liveBindings(refresh)`: `refresh` re-reads a wrapper's mutable globals.
fn register_live_bindings(_this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let Some(refresh) = args.first().and_then(JsValue::as_callable) else {
        return Err(JsNativeError::typ().with_message("liveBindings expects a function").into());
    };
    with_agent(ctx, |r| r.esm.refreshers.push(refresh))?;
    LIVE_BINDINGS.with(|l| l.set(true));
    Ok(JsValue::undefined())
}

/// `globalValue(global)`: a global's value read from the engine, not through the
/// `value` accessor (which scripts can redefine).
fn global_value(_this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    crate::global::get_value(&args.first().cloned().unwrap_or_default(), &[], ctx)
}

/// Brings every exported mutable global's binding up to date (see the module comment).
/// The refreshers only assign `globalValue` reads of frozen exports objects, so they do
/// not run user code and cannot fail on the globals they were made for.
#[inline]
pub(crate) fn refresh_live_bindings(ctx: &mut Context) {
    if LIVE_BINDINGS.with(Cell::get) {
        refresh_all(ctx);
    }
}

#[cold]
fn refresh_all(ctx: &mut Context) {
    let Ok(refreshers) = with_agent(ctx, |r| r.esm.refreshers.clone()) else {
        return;
    };
    for f in refreshers {
        // Nothing to report to: the call that triggered the refresh has its own outcome.
        let _ = f.call(&JsValue::undefined(), &[], ctx);
    }
}

/// `WebAssembly.namespaceInstance(namespace)`: the instance behind a wasm module's
/// namespace object.
pub(crate) fn namespace_instance(_this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let instance = match args.first().and_then(JsValue::as_object) {
        Some(o) => with_agent(ctx, |r| r.esm.instances.get(&o).cloned())?,
        None => None,
    };
    instance
        .map(JsValue::from)
        .ok_or_else(|| JsNativeError::typ().with_message("not the namespace of a WebAssembly module").into())
}

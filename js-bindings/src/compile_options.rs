//! `WebAssemblyCompileOptions` (JS String Builtins): the dictionary, the check that a
//! module's imports agree with it ("validate builtins and imported string"), and where
//! each import then comes from at instantiation.

use crate::function::iterate;
use crate::string_builtins::{self, Builtin};
use boa_engine::{js_string, Context, JsNativeError, JsResult, JsValue};
use sidewinder_engine::{ExternType, ImportType, Module, ValType};
use std::collections::HashSet;
use std::rc::Rc;

/// `dictionary WebAssemblyCompileOptions { USVString? importedStringConstants;
/// sequence<USVString> builtins; }`.
#[derive(Clone, Debug, Default)]
pub(crate) struct CompileOptions {
    pub builtins: Vec<String>,
    pub imported_string_constants: Option<String>,
}

impl CompileOptions {
    /// The WebIDL conversion: undefined and null are the empty dictionary, other
    /// non-objects a TypeError; members are read in lexicographic order.
    pub fn from_js(v: &JsValue, ctx: &mut Context) -> JsResult<CompileOptions> {
        let mut options = CompileOptions::default();
        if v.is_null_or_undefined() {
            return Ok(options);
        }
        let Some(object) = v.as_object() else {
            return Err(JsNativeError::typ().with_message("compile options must be an object").into());
        };
        let builtins = object.get(js_string!("builtins"), ctx)?;
        if !builtins.is_undefined() {
            if !builtins.is_object() {
                return Err(JsNativeError::typ().with_message("options.builtins must be a sequence").into());
            }
            iterate(&builtins, "options.builtins", ctx, |item, ctx| {
                options.builtins.push(item.to_string(ctx)?.to_std_string_lossy());
                Ok(())
            })?;
        }
        let constants = object.get(js_string!("importedStringConstants"), ctx)?;
        if !constants.is_null_or_undefined() {
            options.imported_string_constants = Some(constants.to_string(ctx)?.to_std_string_lossy());
        }
        Ok(options)
    }

    /// No builtin set and no string constants: every import comes from the import object.
    pub fn is_empty(&self) -> bool {
        self.builtins.is_empty() && self.imported_string_constants.is_none()
    }

    fn js_string_enabled(&self) -> bool {
        self.builtins.iter().any(|b| b == string_builtins::SET_NAME)
    }

    /// "Find a builtin": the builtin an import names, if its set is enabled.
    fn find_builtin(&self, import: &ImportType) -> Option<Builtin> {
        if import.module == string_builtins::QUALIFIED_NAME && self.js_string_enabled() {
            Builtin::find(&import.name)
        } else {
            None
        }
    }
}

/// Where an import's value comes from at instantiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ImportSource {
    /// Read from the import object, as without options.
    ImportObject,
    /// The string constant named by the import's field name.
    StringConstant,
    /// A builtin function of the host.
    Builtin(Builtin),
}

/// The source of each import of a module (its [[BuiltinSets]] and
/// [[ImportedStringModule]] applied to its imports once, at compile time).
#[derive(Clone, Debug, Default)]
pub(crate) struct ImportPlan(Option<Rc<[ImportSource]>>);

impl ImportPlan {
    /// "Validate builtins and imported string for a WebAssembly module", recording the
    /// outcome per import. `Err` carries the CompileError's message.
    pub fn new(module: &Module, options: &CompileOptions) -> Result<ImportPlan, String> {
        let mut seen = HashSet::new();
        if let Some(name) = options.builtins.iter().find(|n| !seen.insert(n.as_str())) {
            return Err(format!("builtin set {name:?} is listed twice"));
        }
        if options.is_empty() {
            return Ok(ImportPlan(None));
        }
        let mut sources = Vec::new();
        for import in module.imports() {
            let what = || format!("import {:?} {:?}", import.module, import.name);
            let source = if options.imported_string_constants.as_deref() == Some(import.module.as_str()) {
                // `global const (ref extern)` must match the import's type.
                match &import.ty {
                    ExternType::Global(g) if !g.mutable && ValType::REF_EXTERN.matches(g.content) => {}
                    _ => {
                        return Err(format!(
                            "{}: a string constant import must be an immutable externref global",
                            what()
                        ))
                    }
                }
                ImportSource::StringConstant
            } else if let Some(builtin) = options.find_builtin(&import) {
                let want = builtin.func_type();
                // match_externtype: the builtin's type must match the import's.
                if !matches!(&import.ty, ExternType::Func(have) if want.is_subtype_of(have)) {
                    return Err(format!("{}: the builtin's type is {want}", what()));
                }
                ImportSource::Builtin(builtin)
            } else {
                ImportSource::ImportObject
            };
            sources.push(source);
        }
        Ok(ImportPlan(Some(sources.into())))
    }

    pub fn source(&self, index: usize) -> ImportSource {
        self.0.as_ref().and_then(|s| s.get(index).copied()).unwrap_or(ImportSource::ImportObject)
    }
}

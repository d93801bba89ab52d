//! Exported functions (wasm functions as JS functions) and host functions (JS callables
//! imported by wasm).

use crate::conversions::{
    extern_value_in, extern_word_in, never_crosses_to_js, number_to_raw, plain_extern, plain_number_to_raw,
    raw_number_to_js, to_js, to_wasm, ExternRefs, PlainExtern,
};
use crate::errors::engine_error;
use crate::esm::refresh_live_bindings;
use crate::exception::thrown_to_wasm;
use crate::realm::{prototypes, store, with_agent, with_current_context, ContextScope, HeldForStore};
use boa_engine::object::builtins::JsArray;
use boa_engine::object::{FunctionObjectBuilder, JsObject};
use boa_engine::string::{JsStr, StaticString};
use boa_engine::{js_string, Context, JsNativeError, JsResult, JsString, JsValue, NativeFunction};
use boa_gc::{Finalize, Trace};
use sidewinder_engine::{
    ExternCaller, Func, FuncType, SmallCaller, Trap, TrapFreeCaller, Val, ValType, WideCaller, NUMERIC_AREA,
    SMALL_ARGS, WIDE_ARGS,
};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::sync::Mutex;

/// What an exported function object keeps when `Func::call_small` does not serve its
/// function (it calls `call_other_export`).
#[derive(Trace, Finalize)]
struct ExportCaptures {
    #[unsafe_ignore_trace]
    func: Func,
    /// All parameters and results are numbers: calls take `call_numeric`.
    numeric: bool,
    /// A v128 or exnref in the signature: every call throws (`js_unusable_type`).
    #[unsafe_ignore_trace]
    unusable: Option<ValType>,
}

/// What an exported function object keeps when `Func::call_small` serves its function
/// (the common case: it calls `call_uniform_export` or `call_small_export`), prepared
/// for calls with `N` arguments.
#[derive(Trace, Finalize)]
struct SmallCaptures<const N: usize> {
    #[unsafe_ignore_trace]
    caller: SmallCaller<N>,
    #[unsafe_ignore_trace]
    signature: SmallSignature,
    /// `Func::sets_globals`: live bindings are refreshed after each call.
    sets_globals: bool,
}

impl<const N: usize> SmallCaptures<N> {
    fn new(func: &Func, signature: SmallSignature) -> Option<SmallCaptures<N>> {
        Some(SmallCaptures {
            caller: func.small_caller::<N>()?,
            signature,
            sets_globals: func.sets_globals(),
        })
    }
}

/// What an exported function object keeps when its function is trap-free
/// (`Func::is_trap_free`): it calls `call_trap_free_export` or
/// `call_trap_free_small_export`.
#[derive(Trace, Finalize)]
struct TrapFreeCaptures<const N: usize> {
    #[unsafe_ignore_trace]
    caller: TrapFreeCaller<N>,
    #[unsafe_ignore_trace]
    signature: SmallSignature,
    /// `Func::sets_globals`: live bindings are refreshed after each call.
    sets_globals: bool,
}

impl<const N: usize> TrapFreeCaptures<N> {
    fn new(func: &Func, signature: SmallSignature) -> Option<TrapFreeCaptures<N>> {
        Some(TrapFreeCaptures {
            caller: func.trap_free_caller::<N>()?,
            signature,
            sets_globals: func.sets_globals(),
        })
    }
}

/// The types of a signature `Func::call_small` serves, kept beside the function so the
/// call path reads them without following the function's type.
#[derive(Clone, Copy)]
struct SmallSignature {
    params: [ValType; SMALL_ARGS],
    num_params: usize,
    result: Option<ValType>,
}

impl SmallSignature {
    fn of(func: &Func) -> Option<SmallSignature> {
        if !func.takes_small_calls() {
            return None;
        }
        let ty = func.signature();
        let mut params = [ValType::I32; SMALL_ARGS];
        params[..ty.params().len()].copy_from_slice(ty.params());
        Some(SmallSignature { params, num_params: ty.params().len(), result: ty.results().first().copied() })
    }

    /// The JS value of the raw result (`undefined` when there is none).
    #[inline(always)]
    fn result_to_js(&self, raw: u64) -> JsValue {
        raw_result_to_js(self.result, raw)
    }

    /// The type all parameters share, if they do (any type for none).
    fn uniform_param(&self) -> Option<ValType> {
        let params = &self.params[..self.num_params];
        let first = params.first().copied().unwrap_or(ValType::I32);
        params.iter().all(|&t| t == first).then_some(first)
    }
}

/// The JS value of the raw result of a function whose result, if any, is a number of
/// type `result` (`undefined` when there is none).
#[inline(always)]
fn raw_result_to_js(result: Option<ValType>, raw: u64) -> JsValue {
    result.map_or_else(JsValue::undefined, |t| raw_number_to_js(raw, t))
}

/// The native function behind an exported function object. Signatures whose parameters
/// all have one plain number type get a call path compiled for that type and count, and
/// for the result's type, with no dispatch on types: most exports called from JS have
/// one of these.
fn export_native_function(func: &Func, ctx: &mut Context) -> JsResult<NativeFunction> {
    if let Some(native) = small_native_function(func) {
        return Ok(native);
    }
    if let Some(caller) = func.wide_caller() {
        let ty = func.signature();
        let mut params = [ValType::I32; WIDE_ARGS];
        params[..ty.params().len()].copy_from_slice(ty.params());
        let mut results = [ValType::I32; WIDE_ARGS];
        results[..ty.results().len()].copy_from_slice(ty.results());
        let captures = WideCaptures {
            caller,
            params,
            result: ty.results().first().copied(),
            results,
            num_results: ty.results().len(),
            sets_globals: func.sets_globals(),
        };
        return Ok(match ty.results().len() {
            0 | 1 => NativeFunction::from_copy_closure_with_captures(call_wide_export, captures),
            _ => {
                NativeFunction::from_copy_closure_with_captures(call_wide_export_of_several_results, captures)
            }
        });
    }
    let extern_refs = with_agent(ctx, |r| Rc::downgrade(&r.extern_refs))?;
    Ok(extern_native_function(func, extern_refs).unwrap_or_else(|| {
        NativeFunction::from_copy_closure_with_captures(call_other_export, ExportCaptures::new(func))
    }))
}

impl ExportCaptures {
    fn new(func: &Func) -> ExportCaptures {
        let ty = func.ty();
        ExportCaptures { func: func.clone(), numeric: ty.is_numeric(), unusable: js_unusable_type(&ty) }
    }
}

/// What an exported function object keeps when its function takes or returns
/// `externref`s and `Func::extern_caller` serves it, prepared for calls with `N`
/// arguments: it calls `call_extern_export`.
#[derive(Trace, Finalize)]
struct ExternCaptures<const N: usize> {
    #[unsafe_ignore_trace]
    caller: ExternCaller<N>,
    /// The parameters' types, in the first `num_params` slots (all of them but for
    /// `WIDE_ARGS`, which serves every count above `SMALL_ARGS`).
    #[unsafe_ignore_trace]
    params: [ValType; N],
    num_params: usize,
    /// `ExternCaller::result`.
    #[unsafe_ignore_trace]
    result: Option<ValType>,
    /// `ExternCaller::sets_globals` and `ExternCaller::keeps_no_arguments`, copied: read
    /// as fields they cost a call 6 to 12 instructions less than through the caller's
    /// enum (callgrind, `identity`).
    sets_globals: bool,
    keeps_no_arguments: bool,
    /// The agent's host values (`WasmAgent::extern_refs`), held weakly: the agent holds
    /// what may hold this function object.
    #[unsafe_ignore_trace]
    extern_refs: Weak<RefCell<ExternRefs>>,
    /// For calls with arguments that are not plain (`plain_extern_arguments`).
    other: ExportCaptures,
}

/// What an exported function object keeps when its function takes more numbers than
/// small calls do (`Func::wide_caller`): it calls `call_wide_export`.
#[derive(Trace, Finalize)]
struct WideCaptures {
    #[unsafe_ignore_trace]
    caller: WideCaller,
    /// The parameters' types, in the first `caller.params()` slots.
    #[unsafe_ignore_trace]
    params: [ValType; WIDE_ARGS],
    /// The result's type, for a function of at most one.
    #[unsafe_ignore_trace]
    result: Option<ValType>,
    /// The results' types, in the first `num_results` slots.
    #[unsafe_ignore_trace]
    results: [ValType; WIDE_ARGS],
    num_results: usize,
    /// `Func::sets_globals`: live bindings are refreshed after a leaf's call if set (and
    /// after every other call).
    sets_globals: bool,
}

/// The arguments of a call through `WideCaller`, in the first slots of its area: plain
/// numbers convert with no user code, anything else starts over with the full
/// conversions, in order (as `call_uniform_export` does).
#[inline(always)]
fn wide_arguments(
    args: &[JsValue],
    caps: &WideCaptures,
    area: &mut [u64; WIDE_ARGS],
    ctx: &mut Context,
) -> JsResult<()> {
    let params = &caps.params[..caps.caller.params()];
    if !plain_numbers_into(args, params, area) {
        convert_numbers_into(args, params, area, ctx)?;
    }
    Ok(())
}

/// Calls an export of more than `SMALL_ARGS` numbers and at most one result through
/// `WideCaller` (`wide_arguments`), as `enter_small` makes its call. (One function for
/// both, taking the call as a closure, cost both kinds of call about 20 instructions:
/// callgrind, `addLoad` and `sum5`.)
fn call_wide_export(
    _this: &JsValue,
    args: &[JsValue],
    caps: &WideCaptures,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    let mut area = [0u64; WIDE_ARGS];
    wide_arguments(args, caps, &mut area, ctx)?;
    let result = caps.result;
    if caps.caller.is_leaf() {
        return leaf_call_outcome(
            caps.caller.call(&mut area),
            caps.sets_globals,
            |raw| raw_result_to_js(result, raw),
            ctx,
        );
    }
    let scope = ContextScope::enter(ctx);
    match caps.caller.call(&mut area) {
        Ok(raw) => {
            drop(scope);
            refresh_live_bindings(ctx);
            Ok(raw_result_to_js(result, raw))
        }
        Err(e) => {
            drop(scope);
            small_call_failed(e, ctx)
        }
    }
}

/// Calls an export of several numeric results through `WideCaller`
/// (`wide_arguments`): they come back in its area, and go straight into the array
/// returned.
fn call_wide_export_of_several_results(
    _this: &JsValue,
    args: &[JsValue],
    caps: &WideCaptures,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    let mut area = [0u64; WIDE_ARGS];
    wide_arguments(args, caps, &mut area, ctx)?;
    let outcome = if caps.caller.is_leaf() {
        caps.caller.call(&mut area)
    } else {
        let _scope = ContextScope::enter(ctx);
        caps.caller.call(&mut area)
    };
    if let Err(e) = outcome {
        return small_call_failed(e, ctx);
    }
    if caps.sets_globals || !caps.caller.is_leaf() {
        refresh_live_bindings(ctx);
    }
    let types = &caps.results[..caps.num_results];
    let values = area.iter().zip(types).map(|(&raw, &t)| raw_number_to_js(raw, t));
    Ok(JsArray::from_iter(values, ctx).into())
}

/// The native function for a signature `Func::extern_caller` serves, if it does.
fn extern_native_function(func: &Func, extern_refs: Weak<RefCell<ExternRefs>>) -> Option<NativeFunction> {
    const _: () = assert!(SMALL_ARGS == 4, "extern_native_function has an arm per argument count");
    match func.signature().params().len() {
        0 => extern_native_function_of::<0>(func, extern_refs),
        1 => extern_native_function_of::<1>(func, extern_refs),
        2 => extern_native_function_of::<2>(func, extern_refs),
        3 => extern_native_function_of::<3>(func, extern_refs),
        4 => extern_native_function_of::<4>(func, extern_refs),
        // More: one path for all counts, through `WideCaller`.
        _ => extern_native_function_of::<WIDE_ARGS>(func, extern_refs),
    }
}

fn extern_native_function_of<const N: usize>(
    func: &Func,
    extern_refs: Weak<RefCell<ExternRefs>>,
) -> Option<NativeFunction> {
    let caller = func.extern_caller::<N>()?;
    let types = func.signature().params();
    let mut params = [ValType::I32; N];
    params.get_mut(..types.len())?.copy_from_slice(types);
    let captures = ExternCaptures {
        params,
        num_params: types.len(),
        result: caller.result(),
        sets_globals: caller.sets_globals(),
        keeps_no_arguments: caller.keeps_no_arguments(),
        caller,
        extern_refs,
        other: ExportCaptures::new(func),
    };
    Some(NativeFunction::from_copy_closure_with_captures(call_extern_export::<N>, captures))
}

/// Calls the wasm function behind an exported function object whose parameters and
/// result include `externref`s, through `ExternCaller` when every argument is plain
/// (`plain_extern_arguments`), else as `call_other_export` does.
fn call_extern_export<const N: usize>(
    this: &JsValue,
    args: &[JsValue],
    caps: &ExternCaptures<N>,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    // A callee that cannot keep an argument past the call gets host values as argument
    // handles (`ARGUMENT_HANDLES`), which take no slot in the agent's table.
    let refs = match caps.keeps_no_arguments {
        true => None,
        false => match caps.extern_refs.upgrade() {
            Some(refs) => Some(refs),
            // Without the agent (gone), the other path's conversions throw.
            None => return call_other_export(this, args, &caps.other, ctx),
        },
    };
    let mut words = [0u64; N];
    if !plain_extern_arguments(args, &caps.params, caps.num_params, refs.as_deref(), &mut words, ctx)? {
        return call_other_export(this, args, &caps.other, ctx);
    }
    // The words as passed, to find an argument given back (`argument_of_word`): a
    // small call leaves `words` as they were, but `call_raw_in_place` does not promise it.
    let passed = words;
    let raw = if caps.caller.is_leaf() {
        caps.caller.call_raw_in_place(&mut words)
    } else {
        let _scope = ContextScope::enter(ctx);
        caps.caller.call_raw_in_place(&mut words)
    };
    let refresh = |ctx: &mut Context| {
        if caps.sets_globals || !caps.caller.is_leaf() {
            refresh_live_bindings(ctx);
        }
    };
    let raw = match raw {
        Ok(raw) => raw,
        Err(e) => {
            refresh(ctx);
            return Err(engine_error(e, ctx));
        }
    };
    let host_value = match caps.result {
        Some(t) if t != ValType::EXTERNREF => {
            refresh(ctx);
            return Ok(raw_number_to_js(raw, t));
        }
        Some(_) => Val::host_value_of_word(raw),
        None => None,
    };
    let Some(handle) = host_value else {
        // SAFETY: `raw` is what the call has just returned; nothing has run since. (An
        // object's address the callee returned is held by nothing else: it is made a
        // value before anything else runs.)
        let result = unsafe { caps.caller.result_of_raw(raw) };
        refresh(ctx);
        return match result {
            Ok(Some(v)) => to_js(&v, ctx),
            Ok(None) => Ok(JsValue::undefined()),
            Err(e) => Err(engine_error(e, ctx)),
        };
    };
    refresh(ctx);
    Ok(match (&refs, handle.checked_sub(ARGUMENT_HANDLES)) {
        // A leaf gave back an argument: its word, so its value (no sweep ran since the
        // handle was taken, so the handle names the same value).
        (Some(refs), _) => match caps.caller.is_leaf() {
            true => argument_of_word(args, &caps.params, &passed, raw),
            false => None,
        }
        .unwrap_or_else(|| extern_value_in(refs, handle)),
        (None, Some(i)) => args.get(i as usize).cloned().unwrap_or_default(),
        // A host value the callee read from a global, a table or an object.
        (None, None) => {
            caps.extern_refs.upgrade().map_or_else(JsValue::undefined, |refs| extern_value_in(&refs, handle))
        }
    })
}

/// The `externref` argument whose word, as `plain_extern_arguments` made it from
/// `args` for `params`, is the host value word `word`: for a small call only (a wide
/// call's words are not kept whole). A number's bits may equal any word.
#[inline(always)]
fn argument_of_word<const N: usize>(
    args: &[JsValue],
    params: &[ValType; N],
    passed: &[u64; N],
    word: u64,
) -> Option<JsValue> {
    if N > SMALL_ARGS {
        return None;
    }
    let i = passed.iter().zip(params).position(|(&w, &t)| w == word && t == ValType::EXTERNREF)?;
    args.get(i).cloned()
}

/// The host values a call that cannot keep its arguments
/// (`ExternCaller::keeps_no_arguments`) passes: argument `i` as `ARGUMENT_HANDLES + i`,
/// far above any handle of the agent's table (an index into a `Vec`). Such a callee can
/// only give one back as its result, which is then the argument itself.
const ARGUMENT_HANDLES: u64 = Val::HOST_VALUE_LIMIT - WIDE_ARGS as u64;

/// Makes `words`, those of `ExternCaller::call` for `args`, if every argument for
/// `params` is a plain number (`plain_number_to_raw`) or a plain host value
/// (`plain_extern`), and says whether they were: none of those conversions runs user
/// code, so when one is not plain, starting over with `call_other_export`'s conversions
/// is unobservable. Host values take their handles in `refs` after all arguments are
/// found plain, or are argument handles (`ARGUMENT_HANDLES`) without it. The words are
/// made in place: returned, a wide call's were copied twice more.
fn plain_extern_arguments<const N: usize>(
    args: &[JsValue],
    params: &[ValType; N],
    num_params: usize,
    refs: Option<&RefCell<ExternRefs>>,
    words: &mut [u64; N],
    ctx: &mut Context,
) -> JsResult<bool> {
    let undefined = JsValue::undefined();
    let argument = |i: usize| args.get(i).unwrap_or(&undefined);
    let mut host_values = 0u16;
    // For small counts every slot is a parameter: a loop of `N`, unrolled.
    let params: &[ValType] = if N > SMALL_ARGS { &params[..num_params.min(N)] } else { params };
    for (i, (word, &t)) in words.iter_mut().zip(params).enumerate() {
        let plain = if t == ValType::EXTERNREF {
            match plain_extern(argument(i)) {
                Some(PlainExtern::Word(w)) => Some(w),
                Some(PlainExtern::HostValue) => {
                    host_values |= 1 << i;
                    Some(0)
                }
                None => None,
            }
        } else {
            plain_number_to_raw(argument(i), t)
        };
        match plain {
            Some(w) => *word = w,
            None => return Ok(false),
        }
    }
    let mut host_value_word = |i: usize, word: &mut u64| -> JsResult<()> {
        *word = match refs {
            Some(refs) => {
                let w = extern_word_in(refs, argument(i), ctx)?;
                // The next argument's conversion may sweep the table, and the store
                // finds this handle only as its word on the stack: the word must be
                // in memory then, not only its handle in a register to be tagged later.
                std::hint::black_box(w)
            }
            None => Val::host_value_word(ARGUMENT_HANDLES + i as u64).unwrap_or_default(),
        };
        Ok(())
    };
    if N > SMALL_ARGS {
        // Over the host values only: a wide call has up to 16 slots.
        while host_values != 0 {
            let i = host_values.trailing_zeros() as usize;
            host_values &= host_values - 1;
            let Some(word) = words.get_mut(i) else { break };
            host_value_word(i, word)?;
        }
    } else {
        // Unrolled, cheaper than the loop over bits for up to four.
        for (i, word) in words.iter_mut().enumerate() {
            if host_values & (1 << i) != 0 {
                host_value_word(i, word)?;
            }
        }
    }
    Ok(true)
}

/// The native function for a signature `Func::call_small` serves, if it does.
fn small_native_function(func: &Func) -> Option<NativeFunction> {
    let signature = SmallSignature::of(func)?;
    let plain_param =
        signature.uniform_param().filter(|t| matches!(t, ValType::I32 | ValType::F64 | ValType::F32));
    let uniform = match (plain_param, signature.result) {
        (Some(param), None) => uniform_native_function::<NoResult>(param, func, signature),
        (Some(param), Some(ValType::I32)) => uniform_native_function::<I32Result>(param, func, signature),
        (Some(param), Some(ValType::F64)) => uniform_native_function::<F64Result>(param, func, signature),
        (Some(param), Some(ValType::F32)) => uniform_native_function::<F32Result>(param, func, signature),
        _ => None,
    };
    uniform.or_else(|| match signature.num_params {
        0 => small_native_function_of::<0>(func, signature),
        1 => small_native_function_of::<1>(func, signature),
        2 => small_native_function_of::<2>(func, signature),
        3 => small_native_function_of::<3>(func, signature),
        _ => small_native_function_of::<4>(func, signature),
    })
}

/// `call_small_export` for `N` parameters.
fn small_native_function_of<const N: usize>(
    func: &Func,
    signature: SmallSignature,
) -> Option<NativeFunction> {
    if let Some(captures) = TrapFreeCaptures::<N>::new(func, signature) {
        return Some(NativeFunction::from_copy_closure_with_captures(
            call_trap_free_small_export::<N>,
            captures,
        ));
    }
    let captures = SmallCaptures::<N>::new(func, signature)?;
    Some(NativeFunction::from_copy_closure_with_captures(call_small_export::<N>, captures))
}

/// `call_uniform_export` for parameters of type `param` and a result converted by `R`.
fn uniform_native_function<R: PlainResult + 'static>(
    param: ValType,
    func: &Func,
    signature: SmallSignature,
) -> Option<NativeFunction> {
    match param {
        ValType::I32 => uniform_native_function_for::<I32Param, R>(func, signature),
        ValType::F64 => uniform_native_function_for::<F64Param, R>(func, signature),
        ValType::F32 => uniform_native_function_for::<F32Param, R>(func, signature),
        _ => None,
    }
}

/// `call_uniform_export` for parameters of type `P`, compiled for their count.
fn uniform_native_function_for<P: PlainParam + 'static, R: PlainResult + 'static>(
    func: &Func,
    signature: SmallSignature,
) -> Option<NativeFunction> {
    const _: () = assert!(SMALL_ARGS == 4, "uniform_native_function_for has an arm per argument count");
    match signature.num_params {
        // No parameters: one instance per result type, whatever `P` is.
        0 => uniform_native_function_of::<I32Param, R, 0>(func, signature),
        1 => uniform_native_function_of::<P, R, 1>(func, signature),
        2 => uniform_native_function_of::<P, R, 2>(func, signature),
        3 => uniform_native_function_of::<P, R, 3>(func, signature),
        _ => uniform_native_function_of::<P, R, 4>(func, signature),
    }
}

fn uniform_native_function_of<P: PlainParam + 'static, R: PlainResult + 'static, const N: usize>(
    func: &Func,
    signature: SmallSignature,
) -> Option<NativeFunction> {
    if let Some(captures) = TrapFreeCaptures::<N>::new(func, signature) {
        return Some(NativeFunction::from_copy_closure_with_captures(
            call_trap_free_export::<P, R, N>,
            captures,
        ));
    }
    let captures = SmallCaptures::<N>::new(func, signature)?;
    Some(NativeFunction::from_copy_closure_with_captures(call_uniform_export::<P, R, N>, captures))
}

/// The exported function object for `func`: always the same object for the same
/// function (host functions made from JS callables get one too, which calls them).
pub(crate) fn exported_function(func: &Func, ctx: &mut Context) -> JsResult<JsObject> {
    // JS API "name of the WebAssembly function": the function's index in its instance,
    // or for a host function the index it got when the imports were read.
    let name = match func.wasm_index() {
        Some(i) => i.to_string(),
        None => with_agent(ctx, |r| r.host_function_indices.get(&func.id()).map(u32::to_string))?
            .unwrap_or_default(),
    };
    exported_function_named(func, &name, ctx)
}

/// Like `exported_function`, naming the object `name` if it is made now (builtins are
/// named after themselves rather than an index).
pub(crate) fn exported_function_named(func: &Func, name: &str, ctx: &mut Context) -> JsResult<JsObject> {
    if let Some(o) = with_agent(ctx, |r| r.function_objects.get(&func.id()).cloned())? {
        return Ok(o);
    }
    let native = export_native_function(func, ctx)?;
    let object = FunctionObjectBuilder::new(ctx.realm(), native)
        .name(function_name(name))
        .length(func.signature().params().len())
        .build();
    let object: JsObject = object.into();
    // Type reflection: exported functions are WebAssembly.Function objects.
    object.set_prototype(Some(prototypes(ctx)?.function.clone()));
    remember(func, &object, ctx)?;
    Ok(object)
}

/// The name an exported function object is made with. Boa clones and drops a native
/// function's name on every call; for a heap string that is two reference-count updates
/// behind indirect calls (about 15 instructions of a ~1,000-instruction call), for a
/// static string nearly nothing. Names are mostly function indices, so the small ones
/// become static strings, made once per process (at most `STATIC_NAMES` of them).
fn function_name(name: &str) -> JsString {
    const STATIC_NAMES: u32 = 1 << 16;
    static NAMES: Mutex<Vec<Option<&'static StaticString>>> = Mutex::new(Vec::new());
    let Some(index) = name.parse::<u32>().ok().filter(|&i| i < STATIC_NAMES && i.to_string() == name) else {
        return js_string!(name);
    };
    let mut names = NAMES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let i = index as usize;
    if names.len() <= i {
        names.resize(i + 1, None);
    }
    let interned = *names[i].get_or_insert_with(|| {
        let text: &'static [u8] = Box::leak(name.as_bytes().to_vec().into_boxed_slice());
        Box::leak(Box::new(StaticString::new(JsStr::latin1(text))))
    });
    JsString::from_static(interned)
}

fn remember(func: &Func, object: &JsObject, ctx: &mut Context) -> JsResult<()> {
    with_agent(ctx, |r| {
        r.function_objects.insert(func.id(), object.clone());
        r.functions_by_object.insert(object.clone(), func.id());
        r.funcs.insert(func.id(), func.clone());
    })
}

/// The engine function a JS object stands for, if it is an exported function.
pub(crate) fn func_of_object(object: &JsObject, ctx: &mut Context) -> Option<Func> {
    with_agent(ctx, |r| r.functions_by_object.get(object).and_then(|id| r.funcs.get(id).cloned()))
        .ok()
        .flatten()
}

/// Calls the wasm function behind an exported function object, for the signatures
/// `Func::call_small` does not serve. Arguments and results live on the Rust stack for
/// the common case of at most 4 of each.
fn call_other_export(
    _this: &JsValue,
    args: &[JsValue],
    caps: &ExportCaptures,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    const INLINE: usize = 4;
    if caps.numeric {
        return call_numeric_export(args, &caps.func, ctx);
    }
    reject_js_unusable(caps.unusable)?;
    let ty = caps.func.signature();
    let (num_params, num_results) = (ty.params().len(), ty.results().len());
    let mut inline: [Val; 2 * INLINE] = std::array::from_fn(|_| Val::I32(0));
    let mut heap = Vec::new();
    let values: &mut [Val] = if num_params <= INLINE && num_results <= INLINE {
        &mut inline[..num_params + num_results]
    } else {
        heap.resize(num_params + num_results, Val::I32(0));
        &mut heap
    };
    let (params, results) = values.split_at_mut(num_params);
    let undefined = JsValue::undefined();
    let converting = crate::conversions::ConvertingSeveral::enter();
    for (i, (slot, &t)) in params.iter_mut().zip(ty.params()).enumerate() {
        *slot = to_wasm(args.get(i).unwrap_or(&undefined), t, ctx)?;
    }
    drop(converting);
    let outcome = {
        let _scope = ContextScope::enter(ctx);
        caps.func.call_into(params, results)
    };
    refresh_live_bindings(ctx);
    outcome.map_err(|e| engine_error(e, ctx))?;
    if let [one] = &*results {
        return to_js(one, ctx);
    }
    let values = results.iter().map(|v| to_js(v, ctx)).collect::<JsResult<Vec<_>>>()?;
    Ok(results_value(values, ctx))
}

/// Calls the wasm function behind an exported function object whose `N` parameters all
/// have the plain number type `P` (`Func::call_small` serves it): the path most calls
/// from JS take. Inlined into Boa's closure call, which would otherwise only move the
/// arguments and jump here.
#[inline(always)]
fn call_uniform_export<P: PlainParam, R: PlainResult, const N: usize>(
    _this: &JsValue,
    args: &[JsValue],
    caps: &SmallCaptures<N>,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    // Plain numbers first, with nothing else in the loop; anything else starts over with
    // the full conversions, in order: the plain ones ran no user code, so converting them
    // again is unobservable.
    // The types are constants here, so the loop unrolls with no dispatch on them.
    let raw = match plain_arguments(args, &[P::TYPE; N]) {
        Some(raw) => raw,
        None => convert_arguments(args, &caps.signature, ctx)?,
    };
    enter_small(raw, caps, R::to_js, ctx)
}

/// `call_uniform_export` for a trap-free function (`Func::is_trap_free`): no host code
/// runs while it does, so the call is the conversions and a direct call
/// (`TrapFreeCaller`), with a refresh of live bindings if it may set a global. Kept
/// apart from the other paths so that this one has few registers live and a small
/// frame.
#[inline(always)]
fn call_trap_free_export<P: PlainParam, R: PlainResult, const N: usize>(
    _this: &JsValue,
    args: &[JsValue],
    caps: &TrapFreeCaptures<N>,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    let raw = match plain_arguments(args, &[P::TYPE; N]) {
        Some(raw) => raw,
        None => convert_arguments(args, &caps.signature, ctx)?,
    };
    enter_trap_free(raw, caps, R::to_js, ctx)
}

/// `call_small_export` for a trap-free function.
fn call_trap_free_small_export<const N: usize>(
    _this: &JsValue,
    args: &[JsValue],
    caps: &TrapFreeCaptures<N>,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    let signature = &caps.signature;
    let raw = match plain_arguments(args, &signature.params[..N]) {
        Some(raw) => raw,
        None => convert_arguments(args, signature, ctx)?,
    };
    enter_trap_free(raw, caps, |raw| signature.result_to_js(raw), ctx)
}

/// The wasm call and the result of `call_trap_free_export` and
/// `call_trap_free_small_export`.
#[inline(always)]
fn enter_trap_free<const N: usize>(
    raw: [u64; N],
    caps: &TrapFreeCaptures<N>,
    result_to_js: impl FnOnce(u64) -> JsValue,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    leaf_call_outcome(caps.caller.call(raw), caps.sets_globals, result_to_js, ctx)
}

/// The outcome of a call of a leaf, which ran no host code: the result, after a refresh
/// of live bindings if the function may set a global.
#[inline(always)]
fn leaf_call_outcome(
    outcome: sidewinder_engine::Result<u64>,
    sets_globals: bool,
    result_to_js: impl FnOnce(u64) -> JsValue,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    match outcome {
        Ok(raw) => {
            if sets_globals {
                refresh_after_setting_globals(ctx);
            }
            Ok(result_to_js(raw))
        }
        Err(e) => small_call_failed(e, ctx),
    }
}

/// `refresh_live_bindings` kept out of `leaf_call_outcome`, where inlined it would cost
/// every call of a leaf registers and frame, not only those of functions that set
/// globals.
#[inline(never)]
fn refresh_after_setting_globals(ctx: &mut Context) {
    refresh_live_bindings(ctx);
}

/// The raw arguments for parameters of `types` if the arguments for all of them are
/// plain numbers (`plain_number_to_raw`); extra arguments are not looked at. Its callers
/// fall back to `convert_arguments` each with a `match` of their own: that `match` in a
/// shared inlined function cost `add(i, 1)` 8 instructions a call more (callgrind).
#[inline(always)]
fn plain_arguments<const N: usize>(args: &[JsValue], types: &[ValType]) -> Option<[u64; N]> {
    let Some(given) = args.get(..types.len()) else {
        return plain_arguments_with_some_missing(args, types);
    };
    let mut raw = [0u64; N];
    for ((slot, v), &t) in raw.iter_mut().zip(given).zip(types) {
        *slot = plain_number_to_raw(v, t)?;
    }
    Some(raw)
}

/// `plain_arguments` when there are fewer arguments than parameters: the missing ones
/// are `undefined`.
#[cold]
fn plain_arguments_with_some_missing<const N: usize>(
    args: &[JsValue],
    types: &[ValType],
) -> Option<[u64; N]> {
    let mut raw = [0u64; N];
    plain_numbers_with_some_missing_into(args, types, &mut raw).then_some(raw)
}

/// `convert_numbers_into` if every argument is a plain number (`plain_number_to_raw`),
/// which runs no user code: false, with `slots` partly written, when one is not.
/// Inlined: called, it cost a wide call about 25 instructions (callgrind, `sum5`).
#[inline(always)]
fn plain_numbers_into(args: &[JsValue], types: &[ValType], slots: &mut [u64]) -> bool {
    // All arguments given, the common case, is one bounds check rather than one each.
    let Some(given) = args.get(..types.len()) else {
        return plain_numbers_with_some_missing_into(args, types, slots);
    };
    for ((slot, v), &t) in slots.iter_mut().zip(given).zip(types) {
        match plain_number_to_raw(v, t) {
            Some(raw) => *slot = raw,
            None => return false,
        }
    }
    true
}

/// `plain_numbers_into` when there are fewer arguments than parameters: the missing
/// ones are `undefined`.
#[cold]
fn plain_numbers_with_some_missing_into(args: &[JsValue], types: &[ValType], slots: &mut [u64]) -> bool {
    let undefined = JsValue::undefined();
    slots.iter_mut().zip(types).enumerate().all(|(i, (slot, &t))| {
        plain_number_to_raw(args.get(i).unwrap_or(&undefined), t).map(|raw| *slot = raw).is_some()
    })
}

/// A parameter type `call_uniform_export` is compiled for.
trait PlainParam {
    const TYPE: ValType;
}
struct I32Param;
struct F64Param;
struct F32Param;
impl PlainParam for I32Param {
    const TYPE: ValType = ValType::I32;
}
impl PlainParam for F64Param {
    const TYPE: ValType = ValType::F64;
}
impl PlainParam for F32Param {
    const TYPE: ValType = ValType::F32;
}

/// The result type `call_uniform_export` is compiled for: the conversion of its raw
/// result, with no dispatch on the type.
trait PlainResult {
    fn to_js(raw: u64) -> JsValue;
}
struct NoResult;
struct I32Result;
struct F64Result;
struct F32Result;
impl PlainResult for NoResult {
    #[inline(always)]
    fn to_js(_: u64) -> JsValue {
        JsValue::undefined()
    }
}
impl PlainResult for I32Result {
    #[inline(always)]
    fn to_js(raw: u64) -> JsValue {
        raw_number_to_js(raw, ValType::I32)
    }
}
impl PlainResult for F64Result {
    #[inline(always)]
    fn to_js(raw: u64) -> JsValue {
        raw_number_to_js(raw, ValType::F64)
    }
}
impl PlainResult for F32Result {
    #[inline(always)]
    fn to_js(raw: u64) -> JsValue {
        raw_number_to_js(raw, ValType::F32)
    }
}

/// `call_uniform_export` for the other signatures `Func::call_small` serves: parameters
/// of different types, or i64s (BigInts, which are never plain numbers).
fn call_small_export<const N: usize>(
    _this: &JsValue,
    args: &[JsValue],
    caps: &SmallCaptures<N>,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    let signature = &caps.signature;
    // As in `call_uniform_export`; `N` is the number of parameters.
    let raw = match plain_arguments(args, &signature.params[..N]) {
        Some(raw) => raw,
        None => convert_arguments(args, signature, ctx)?,
    };
    enter_small(raw, caps, |raw| signature.result_to_js(raw), ctx)
}

/// The wasm call and the result of `call_uniform_export` and `call_small_export`.
#[inline(always)]
fn enter_small<const N: usize>(
    raw: [u64; N],
    caps: &SmallCaptures<N>,
    result_to_js: impl FnOnce(u64) -> JsValue,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    // A leaf (`SmallCaller::is_leaf`, which `call` tests too: read once, the test is made
    // once) runs no host code, so it needs no `ContextScope`; and if it sets no global,
    // no live binding can change.
    if caps.caller.is_leaf() {
        return leaf_call_outcome(caps.caller.call(raw), caps.sets_globals, result_to_js, ctx);
    }
    let scope = ContextScope::enter(ctx);
    // Each outcome leaves the scope on its own path: a result kept across the leaving
    // and the refresh would be stored and matched again.
    match caps.caller.call(raw) {
        Ok(raw) => {
            drop(scope);
            refresh_live_bindings(ctx);
            Ok(result_to_js(raw))
        }
        Err(e) => {
            drop(scope);
            small_call_failed(e, ctx)
        }
    }
}

#[cold]
fn small_call_failed(e: sidewinder_engine::Error, ctx: &mut Context) -> JsResult<JsValue> {
    refresh_live_bindings(ctx);
    Err(engine_error(e, ctx))
}

/// `call_uniform_export`'s and `call_small_export`'s arguments when one is not a plain
/// number or is missing (`undefined` then).
#[cold]
fn convert_arguments<const N: usize>(
    args: &[JsValue],
    signature: &SmallSignature,
    ctx: &mut Context,
) -> JsResult<[u64; N]> {
    let mut raw = [0u64; N];
    convert_numbers_into(args, &signature.params[..signature.num_params], &mut raw, ctx)?;
    Ok(raw)
}

/// The arguments for parameters of `types` (`undefined` where missing) converted in
/// order by `number_to_raw` into the first slots of `slots`.
#[inline(always)]
fn convert_numbers_into(
    args: &[JsValue],
    types: &[ValType],
    slots: &mut [u64],
    ctx: &mut Context,
) -> JsResult<()> {
    for (i, (slot, &t)) in slots.iter_mut().zip(types).enumerate() {
        // `undefined` made only where an argument is missing: a `JsValue` made up front
        // is dropped on every call, an out-of-line call in Boa.
        *slot = match args.get(i) {
            Some(v) => number_to_raw(v, t, ctx)?,
            None => number_to_raw(&JsValue::undefined(), t, ctx)?,
        };
    }
    Ok(())
}

/// The call path for other numeric signatures: JS values convert straight
/// to raw slots of the engine's argument area and back, with no `Val` and no copy.
fn call_numeric_export(args: &[JsValue], func: &Func, ctx: &mut Context) -> JsResult<JsValue> {
    let ty = func.signature();
    if ty.params().len().max(ty.results().len()) >= NUMERIC_AREA {
        return call_numeric_export_spilled(args, func, ctx);
    }
    let mut area = [0u64; NUMERIC_AREA];
    convert_numbers_into(args, ty.params(), &mut area, ctx)?;
    let outcome = {
        let _scope = ContextScope::enter(ctx);
        func.call_numeric_in_place(&mut area)
    };
    refresh_live_bindings(ctx);
    match (outcome, ty.results()) {
        (Ok([raw]), [t]) => Ok(raw_number_to_js(*raw, *t)),
        (Ok(_), []) => Ok(JsValue::undefined()),
        // Straight into the array: a `Vec` collected first cost an allocation and its
        // free, about 300 instructions a call.
        (Ok(raw), types) => {
            let values = raw.iter().zip(types).map(|(r, t)| raw_number_to_js(*r, *t));
            Ok(JsArray::from_iter(values, ctx).into())
        }
        (Err(e), _) => Err(engine_error(e, ctx)),
    }
}

/// `call_numeric_export` for signatures too long for the argument area.
#[cold]
fn call_numeric_export_spilled(args: &[JsValue], func: &Func, ctx: &mut Context) -> JsResult<JsValue> {
    let ty = func.signature();
    let undefined = JsValue::undefined();
    let raw_args = ty
        .params()
        .iter()
        .enumerate()
        .map(|(i, &t)| number_to_raw(args.get(i).unwrap_or(&undefined), t, ctx))
        .collect::<JsResult<Vec<u64>>>()?;
    let mut raw_results = vec![0u64; ty.results().len()];
    let outcome = {
        let _scope = ContextScope::enter(ctx);
        func.call_numeric(&raw_args, &mut raw_results)
    };
    refresh_live_bindings(ctx);
    outcome.map_err(|e| engine_error(e, ctx))?;
    let values = raw_results.iter().zip(ty.results()).map(|(r, t)| raw_number_to_js(*r, *t)).collect();
    Ok(results_value(values, ctx))
}

/// An exported function's return value for zero or several results: undefined, or an
/// array (single results are returned directly by the callers, without a vector).
fn results_value(mut values: Vec<JsValue>, ctx: &mut Context) -> JsValue {
    match values.len() {
        0 => JsValue::undefined(),
        1 => values.pop().unwrap_or_default(),
        _ => JsArray::from_iter(values, ctx).into(),
    }
}

/// The function an import of type `ty` gets from `callable` (JS API "read the imports"):
/// an Exported Function is imported as itself; any other callable gets a new host
/// function each time, which stays unknown to `func_of_object` (it is not a funcref
/// value, and may be imported again with another type) and is exported back as a new
/// Exported Function.
pub(crate) fn host_function(callable: &JsObject, ty: FuncType, ctx: &mut Context) -> JsResult<Func> {
    if let Some(f) = func_of_object(callable, ctx) {
        return Ok(f);
    }
    new_host_func(callable, ty, ctx)
}

/// A new host function of type `ty` that calls `callable` (converting arguments to JS and
/// the result back), with no identity bookkeeping.
pub(crate) fn new_host_func(callable: &JsObject, ty: FuncType, ctx: &mut Context) -> JsResult<Func> {
    let store = store(ctx)?;
    let target = HeldForStore::new(callable, ctx)?;
    let result_types = ty.results().to_vec();
    if ty.is_numeric() {
        // Raw numbers both ways, with no `Val`s in between: half of what a call from wasm
        // cost beside the JS function's own call.
        let param_types = ty.params().to_vec();
        let func = Func::new_numeric(&store, ty, move |params: &[u64], results: &mut [u64]| {
            import_outcome(target.with_current_context(|target, ctx| {
                call_numeric_import(target, &param_types, &result_types, params, results, ctx)
            }))
        });
        return func.map_err(|e| engine_error(e, ctx));
    }
    let unusable = js_unusable_type(&ty);
    Ok(Func::new(&store, ty, move |params: &[Val], results: &mut [Val]| {
        import_outcome(target.with_current_context(|target, ctx| {
            reject_js_unusable(unusable)?;
            let ret = call_js(target, params.len(), |i, ctx| to_js(&params[i], ctx), ctx)?;
            results_from_js(&ret, &result_types, results, ctx)
        }))
    }))
}

/// Calls a JS import of a numeric type on the raw arguments `params` and writes its raw
/// results: the path most imports take. The arguments are an array of exactly their
/// count, so no unused argument slots are filled and dropped on each call.
fn call_numeric_import(
    target: &JsObject,
    param_types: &[ValType],
    result_types: &[ValType],
    params: &[u64],
    results: &mut [u64],
    ctx: &mut Context,
) -> JsResult<()> {
    let arg = |i: usize| raw_number_to_js(params[i], param_types[i]);
    let ret = match params.len() {
        0 => call_import_on_numbers(target, [], ctx),
        1 => call_import_on_numbers(target, [arg(0)], ctx),
        2 => call_import_on_numbers(target, [arg(0), arg(1)], ctx),
        3 => call_import_on_numbers(target, [arg(0), arg(1), arg(2)], ctx),
        4 => call_import_on_numbers(target, [arg(0), arg(1), arg(2), arg(3)], ctx),
        n => call_import(target, &(0..n).map(arg).collect::<Vec<_>>(), ctx),
    }?;
    match (result_types, results) {
        ([], _) => Ok(()),
        ([t], [slot, ..]) => {
            *slot = number_to_raw(&ret, *t, ctx)?;
            forget_if_number(ret);
            Ok(())
        }
        (types, results) => for_each_result(&ret, types, ctx, |i, v, t, ctx| {
            results[i] = number_to_raw(v, t, ctx)?;
            Ok(())
        }),
    }
}

/// The call of a JS import, once its arguments are made.
#[inline(always)]
fn call_import(target: &JsObject, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    // The wasm caller may have changed globals that modules export.
    refresh_live_bindings(ctx);
    target.call(&JsValue::undefined(), args, ctx)
}

/// `call_import` with arguments made from raw numbers, which need no drop.
#[inline(always)]
fn call_import_on_numbers<const N: usize>(
    target: &JsObject,
    args: [JsValue; N],
    ctx: &mut Context,
) -> JsResult<JsValue> {
    let ret = call_import(target, &args, ctx);
    args.into_iter().for_each(forget_if_number);
    ret
}

/// Drops `v`, with nothing to do for a number. Boa's drop of a `JsValue` is an
/// out-of-line call of ~16 instructions even for a number; an import call drops one
/// per argument and its result, a tenth of what the call costs beside the JS function.
#[inline(always)]
fn forget_if_number(v: JsValue) {
    if v.is_number() {
        // Numbers own nothing: forgetting one leaks nothing.
        std::mem::forget(v);
    }
}

/// A JS import's outcome as its host function's: what JS threw becomes a wasm exception.
/// `None` is a call from wasm that no JS call is under.
fn import_outcome(outcome: Option<JsResult<()>>) -> Result<(), Trap> {
    match outcome {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(with_current_context(|ctx| thrown_to_wasm(e, ctx))
            .unwrap_or_else(|| Trap::host_message("a JavaScript import threw outside of a JavaScript call"))),
        None => Err(Trap::host_message("a JavaScript import was called outside of a JavaScript call")),
    }
}

/// JS API "call an exported function" step 3 and "run a host function" step 3: a
/// signature with a v128 or an exnref throws a TypeError before any argument is
/// converted, any wasm runs or any JS import is called. Found once per function, when
/// its object or host function is made.
pub(crate) fn js_unusable_type(ty: &FuncType) -> Option<ValType> {
    ty.params().iter().chain(ty.results()).copied().find(|&t| never_crosses_to_js(t))
}

/// The TypeError of a call whose signature has `js_unusable_type`, if it has one.
pub(crate) fn reject_js_unusable(unusable: Option<ValType>) -> JsResult<()> {
    match unusable {
        Some(t) => Err(JsNativeError::typ()
            .with_message(format!("a function with {t} in its signature cannot be called from JavaScript"))
            .into()),
        None => Ok(()),
    }
}

/// Calls a JS import with `count` arguments, argument `i` made by `arg(i, ctx)`, in order.
pub(crate) fn call_js(
    target: &JsObject,
    count: usize,
    mut arg: impl FnMut(usize, &mut Context) -> JsResult<JsValue>,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    // Arguments on the stack for the common case, as in `call_other_export`.
    const INLINE: usize = 4;
    let mut inline: [JsValue; INLINE] = Default::default();
    let heap;
    let args: &[JsValue] = if count <= INLINE {
        for (i, slot) in inline.iter_mut().take(count).enumerate() {
            *slot = arg(i, ctx)?;
        }
        &inline[..count]
    } else {
        heap = (0..count).map(|i| arg(i, ctx)).collect::<JsResult<Vec<_>>>()?;
        &heap
    };
    call_import(target, args, ctx)
}

/// An import's return value as its wasm results (several come as an iterable).
pub(crate) fn results_from_js(
    ret: &JsValue,
    result_types: &[ValType],
    results: &mut [Val],
    ctx: &mut Context,
) -> JsResult<()> {
    let _converting = crate::conversions::ConvertingSeveral::enter();
    for_each_result(ret, result_types, ctx, |i, v, t, ctx| {
        results[i] = to_wasm(v, t, ctx)?;
        Ok(())
    })
}

/// Gives each of an import's results, of `result_types`, to `put` with its index and
/// type: `ret` itself for a single result; for several, the values `ret` iterates.
fn for_each_result(
    ret: &JsValue,
    result_types: &[ValType],
    ctx: &mut Context,
    mut put: impl FnMut(usize, &JsValue, ValType, &mut Context) -> JsResult<()>,
) -> JsResult<()> {
    match result_types {
        [] => Ok(()),
        [t] => put(0, ret, *t, ctx),
        many => {
            let values = returned_values(ret, ctx)?;
            if values.len() != many.len() {
                return Err(JsNativeError::typ()
                    .with_message(format!(
                        "expected {} results from the import, got {}",
                        many.len(),
                        values.len()
                    ))
                    .into());
            }
            for (i, (v, t)) in values.iter().zip(many).enumerate() {
                put(i, v, *t, ctx)?;
            }
            Ok(())
        }
    }
}

/// What an import returned for several results, as a list (JS API "run a host function":
/// GetMethod(ret, @@iterator), then IteratorToList). Unlike a WebIDL sequence, any value
/// with an iterator will do: a string, or a number once `Number.prototype` has one.
fn returned_values(ret: &JsValue, ctx: &mut Context) -> JsResult<Vec<JsValue>> {
    // GetV: undefined and null throw; a primitive's property comes from its wrapper.
    // (A getter then sees the wrapper as `this`, not the primitive: Boa's GetV, which
    // passes the primitive, is private to it.)
    let method = ret.to_object(ctx)?.get(boa_engine::JsSymbol::iterator(), ctx)?;
    let Some(method) = method.as_callable() else {
        return Err(JsNativeError::typ().with_message("multiple results must be an iterable").into());
    };
    let mut out = Vec::new();
    iterate_with(ret, &method, ctx, |item, _| {
        out.push(item);
        Ok(())
    })?;
    Ok(out)
}

/// The values of the iterable `v`, as the WebIDL conversion to a sequence takes them.
pub(crate) fn iterable_to_list(v: &JsValue, ctx: &mut Context) -> JsResult<Vec<JsValue>> {
    let mut out = Vec::new();
    iterate(v, "a sequence", ctx, |item, _| {
        out.push(item);
        Ok(())
    })?;
    Ok(out)
}

/// Runs `f` on each value of the iterable `v`, in order, as each one is produced (the
/// WebIDL conversion to a sequence, which takes objects only). `what` names the value in
/// errors.
pub(crate) fn iterate(
    v: &JsValue,
    what: &str,
    ctx: &mut Context,
    f: impl FnMut(JsValue, &mut Context) -> JsResult<()>,
) -> JsResult<()> {
    let not_iterable = || JsNativeError::typ().with_message(format!("{what} must be an iterable"));
    let Some(object) = v.as_object() else {
        return Err(not_iterable().into());
    };
    let iterator_fn = object.get(boa_engine::JsSymbol::iterator(), ctx)?;
    let Some(iterator_fn) = iterator_fn.as_callable() else {
        return Err(not_iterable().into());
    };
    iterate_with(v, &iterator_fn, ctx, f)
}

/// Runs `f` on each value the iterator that `iterator_fn` makes for `v` produces
/// (GetIteratorFromMethod, then IteratorStepValue until done).
fn iterate_with(
    v: &JsValue,
    iterator_fn: &JsObject,
    ctx: &mut Context,
    mut f: impl FnMut(JsValue, &mut Context) -> JsResult<()>,
) -> JsResult<()> {
    let iterator = iterator_fn.call(v, &[], ctx)?;
    let Some(iterator) = iterator.as_object() else {
        return Err(JsNativeError::typ().with_message("iterator is not an object").into());
    };
    let next = iterator.get(js_string!("next"), ctx)?;
    loop {
        let Some(next) = next.as_callable() else {
            return Err(JsNativeError::typ().with_message("iterator.next is not callable").into());
        };
        let step = next.call(&iterator.clone().into(), &[], ctx)?;
        let Some(step) = step.as_object() else {
            return Err(JsNativeError::typ().with_message("iterator result is not an object").into());
        };
        if step.get(js_string!("done"), ctx)?.to_boolean() {
            return Ok(());
        }
        f(step.get(js_string!("value"), ctx)?, ctx)?;
    }
}

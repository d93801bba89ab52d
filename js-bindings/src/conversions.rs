//! ToWebAssemblyValue and ToJSValue, and the value-type strings of the JS API.

use crate::function::{exported_function, func_of_object};
use crate::gc_object::{exported_gc_object, gc_object_of};
use crate::realm::with_agent;
use boa_engine::object::JsObject;
use boa_engine::{Context, JsBigInt, JsNativeError, JsResult, JsValue};
use sidewinder_engine::runtime::store::next_reclamation_at;
use sidewinder_engine::{AnyRef, HeapType, LiveHostValues, RefType, Val, ValType};
use std::cell::RefCell;

/// ToWebAssemblyValue(v, type).
pub(crate) fn to_wasm(v: &JsValue, ty: ValType, ctx: &mut Context) -> JsResult<Val> {
    Ok(match ty {
        ValType::I32 => Val::I32(v.to_i32(ctx)?),
        ValType::I64 => Val::I64(v.to_big_int64(ctx)?),
        ValType::F32 => Val::F32((v.to_number(ctx)? as f32).to_bits()),
        ValType::F64 => Val::F64(v.to_number(ctx)?.to_bits()),
        ValType::V128 => {
            return Err(JsNativeError::typ().with_message("v128 values cannot cross into JavaScript").into())
        }
        ValType::Ref(r) => reference_to_wasm(v, r, ctx)?,
    })
}

/// ToWebAssemblyValue(v, type) for a reference type: null where the type allows it; for
/// functions, an exported function of a matching type; for host values, anything.
fn reference_to_wasm(v: &JsValue, r: RefType, ctx: &mut Context) -> JsResult<Val> {
    if r.heap().top() == HeapType::Exn {
        return Err(JsNativeError::typ().with_message("exnref values cannot cross into JavaScript").into());
    }
    let ty = ValType::Ref(r);
    if v.is_null() {
        if !r.nullable() {
            return Err(JsNativeError::typ().with_message(format!("null is not a {ty} value")).into());
        }
        return Ok(Val::default_for(ty));
    }
    let not_of_type = || JsNativeError::typ().with_message(format!("value is not of type {ty}")).into();
    // The bottom types' only value is null (checked before an extern handle is made).
    if matches!(r.heap(), HeapType::NoFunc | HeapType::NoExtern | HeapType::None) {
        return Err(not_of_type());
    }
    // Structs and arrays cross back as themselves, into either hierarchy. A number that
    // fits is an i31, in the `extern` hierarchy too (which converts as `any` does, then
    // externalizes). -0 is left a host value: the JS API's test ("v is equal to
    // ToInt32(v)") can be read either way, and this way it comes back as -0.
    let internal = match v.as_object() {
        Some(object) => gc_object_of(&object, ctx)?.map(AnyRef::Object),
        None if matches!(r.heap().top(), HeapType::Any | HeapType::Extern) => {
            v.as_number().and_then(i31_of).map(AnyRef::I31)
        }
        None => None,
    };
    let value = match (internal, r.heap().top()) {
        (Some(internal), _) => Val::AnyRef(Some(internal)),
        (None, HeapType::Func) => match v.as_object().and_then(|o| func_of_object(&o, ctx)) {
            Some(f) => Val::FuncRef(Some(f)),
            None => {
                return Err(JsNativeError::typ()
                    .with_message("value is not an exported WebAssembly function or null")
                    .into())
            }
        },
        (None, _) => Val::ExternRef(Some(extern_handle(v, ctx)?)),
    };
    // A function, struct or array of another type, or an i31 where none may go.
    if !value.matches(ty) {
        return Err(not_of_type());
    }
    Ok(value)
}

/// The i31 of a Number that is an integer in [-2^30, 2^30), other than -0: its 31 bits.
fn i31_of(n: f64) -> Option<u32> {
    let fits = n.fract() == 0.0 && (-(1i64 << 30) as f64..(1i64 << 30) as f64).contains(&n);
    (fits && !(n == 0.0 && n.is_sign_negative())).then_some(n as i32 as u32 & 0x7fff_ffff)
}

/// Whether values of this type can never cross between JavaScript and wasm (the JS API
/// throws a TypeError): v128, and references to exceptions.
pub(crate) fn never_crosses_to_js(ty: ValType) -> bool {
    match ty {
        ValType::V128 => true,
        ValType::Ref(r) => r.heap().top() == HeapType::Exn,
        _ => false,
    }
}

/// ToWebAssemblyValue for a number type, as the raw 64-bit slot `Func::call_numeric`
/// takes (i32 zero-extended, floats as bits): the same conversions as `to_wasm`. Numbers
/// take an inlined path: this runs for every argument of every call from JS.
#[inline(always)]
pub(crate) fn number_to_raw(v: &JsValue, ty: ValType, ctx: &mut Context) -> JsResult<u64> {
    match plain_number_to_raw(v, ty) {
        Some(raw) => Ok(raw),
        None => converted_number_to_raw(v, ty, ctx),
    }
}

/// `number_to_raw` for the values that need no conversion that could run user code
/// (numbers, and `undefined`, which is NaN; BigInts in the i64 range for i64): `None`
/// for the rest.
#[inline(always)]
pub(crate) fn plain_number_to_raw(v: &JsValue, ty: ValType) -> Option<u64> {
    match ty {
        // `as_i32` answers only for exact integers, where it agrees with ToInt32; other
        // numbers (fractions, -0, out of range) take ToInt32 as arithmetic.
        ValType::I32 => match v.as_i32() {
            Some(i) => Some(i as u32 as u64),
            None => v.as_number().or_else(|| undefined_as_number(v)).map(|n| number_to_int32(n) as u64),
        },
        ValType::F64 => v.as_number().or_else(|| undefined_as_number(v)).map(f64::to_bits),
        ValType::F32 => v.as_number().or_else(|| undefined_as_number(v)).map(|n| (n as f32).to_bits() as u64),
        // ToBigInt64 of a BigInt in the i64 range is itself; others (and every other
        // value) take the full conversion.
        ValType::I64 => v.as_bigint().and_then(|b| i64::try_from(b.as_inner()).ok()).map(|i| i as u64),
        _ => None,
    }
}

/// How an `externref` argument goes to `ExternCaller::call` when it needs no conversion
/// that could reach a wasm object or run user code.
pub(crate) enum PlainExtern {
    /// Null or an i31: its word.
    Word(u64),
    /// Any other value but a Proxy: a host value, which takes a handle
    /// (`extern_word_in`).
    HostValue,
}

/// ToWebAssemblyValue(`v`, externref) as `reference_to_wasm` does it, for the values it
/// takes without looking for a wasm object: `None` for a Proxy (every wrapper of a
/// struct or array is one), which `reference_to_wasm` converts.
#[inline(always)]
pub(crate) fn plain_extern(v: &JsValue) -> Option<PlainExtern> {
    if v.is_null() {
        return Some(PlainExtern::Word(0));
    }
    if let Some(object) = v.as_object() {
        return (!object.is::<boa_engine::builtins::proxy::Proxy>()).then_some(PlainExtern::HostValue);
    }
    match v.as_number().and_then(i31_of) {
        Some(bits) => Val::AnyRef(Some(AnyRef::I31(bits))).extern_word().map(PlainExtern::Word),
        None => Some(PlainExtern::HostValue),
    }
}

/// The `externref` word of a host value: a handle to it in the agent's table `refs`
/// (`extern_handle_in`).
pub(crate) fn extern_word_in(refs: &RefCell<ExternRefs>, v: &JsValue, ctx: &mut Context) -> JsResult<u64> {
    let handle = extern_handle_in(refs, v, ctx)?;
    Val::host_value_word(handle)
        .ok_or_else(|| JsNativeError::range().with_message("too many host values").into())
}

/// ToNumber(`undefined`), NaN, for `undefined` (a missing argument, most often).
#[inline]
fn undefined_as_number(v: &JsValue) -> Option<f64> {
    v.is_undefined().then_some(f64::NAN)
}

/// ToInt32 (ECMA-262 7.1.6) of a Number, as the bits of the i32: NaN and the infinities
/// give 0; otherwise the number truncated toward zero, modulo 2^32.
#[inline]
fn number_to_int32(n: f64) -> u32 {
    // Below 2^63 in magnitude the truncating conversion is exact, and its low 32 bits
    // are the integer modulo 2^32 in two's complement. Above, every double is an
    // integer, and `%` (exact for doubles) brings it below 2^32 with its sign.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if n.abs() < TWO_63 {
        n as i64 as u32
    } else if n.is_finite() {
        (n % 4_294_967_296.0) as i64 as u32
    } else {
        0
    }
}

/// `number_to_raw` for values that need the full conversion (objects, strings, BigInts).
#[cold]
fn converted_number_to_raw(v: &JsValue, ty: ValType, ctx: &mut Context) -> JsResult<u64> {
    Ok(match ty {
        ValType::I32 => v.to_i32(ctx)? as u32 as u64,
        ValType::I64 => v.to_big_int64(ctx)? as u64,
        ValType::F32 => (v.to_number(ctx)? as f32).to_bits() as u64,
        _ => v.to_number(ctx)?.to_bits(),
    })
}

/// ToJSValue of a raw number slot of type `ty` (the inverse of `number_to_raw`).
#[inline]
pub(crate) fn raw_number_to_js(raw: u64, ty: ValType) -> JsValue {
    match ty {
        ValType::I32 => JsValue::from(raw as u32 as i32),
        ValType::I64 => JsBigInt::from(raw as i64).into(),
        ValType::F32 => JsValue::from(f32::from_bits(raw as u32) as f64),
        _ => JsValue::from(f64::from_bits(raw)),
    }
}

/// ToJSValue(w).
pub(crate) fn to_js(v: &Val, ctx: &mut Context) -> JsResult<JsValue> {
    Ok(match v {
        Val::I32(x) => JsValue::from(*x),
        Val::I64(x) => JsBigInt::from(*x).into(),
        Val::F32(bits) => JsValue::from(f32::from_bits(*bits) as f64),
        Val::F64(bits) => JsValue::from(f64::from_bits(*bits)),
        Val::FuncRef(None) | Val::ExternRef(None) | Val::AnyRef(None) => JsValue::null(),
        // The 31 bits, sign-extended.
        Val::AnyRef(Some(AnyRef::I31(bits))) => JsValue::from(((bits << 1) as i32) >> 1),
        Val::AnyRef(Some(AnyRef::Object(o))) => exported_gc_object(o, ctx)?.into(),
        Val::FuncRef(Some(f)) => exported_function(f, ctx)?.into(),
        Val::ExternRef(Some(h)) => {
            with_agent(ctx, |r| r.extern_refs.borrow().get(*h))?.unwrap_or_else(JsValue::undefined)
        }
        Val::ExnRef(_) => {
            return Err(JsNativeError::typ()
                .with_message("exnref values cannot cross into JavaScript")
                .into())
        }
        Val::V128(_) => {
            return Err(JsNativeError::typ().with_message("v128 values cannot cross into JavaScript").into())
        }
    })
}

/// The JS API's names of value types ("i32", "anyfunc", ...).
pub(crate) fn parse_value_type(v: &JsValue, ctx: &mut Context) -> JsResult<ValType> {
    let s = v.to_string(ctx)?.to_std_string_escaped();
    Ok(match s.as_str() {
        "i32" => ValType::I32,
        "i64" => ValType::I64,
        "f32" => ValType::F32,
        "f64" => ValType::F64,
        "v128" => ValType::V128,
        "anyfunc" | "funcref" => ValType::FUNCREF,
        "externref" => ValType::EXTERNREF,
        other => {
            return Err(JsNativeError::typ().with_message(format!("invalid value type {other:?}")).into())
        }
    })
}

/// DefaultValue(type): zero, null for nullable references, and `undefined` for
/// externref. Non-nullable references have none: a TypeError, as the JS API's callers
/// throw for "error".
pub(crate) fn default_value(ty: ValType, ctx: &mut Context) -> JsResult<Val> {
    match ty {
        ValType::EXTERNREF => to_wasm(&JsValue::undefined(), ty, ctx),
        ValType::Ref(r) if !r.nullable() => {
            Err(JsNativeError::typ().with_message(format!("{ty} has no default value")).into())
        }
        _ => Ok(Val::default_for(ty)),
    }
}

/// The JS API's name of a value type (the same as the text format's).
pub(crate) fn value_type_name(ty: ValType) -> String {
    ty.to_string()
}

/// The address type of a memory or table (JS API `AddressType`, memory64): how its
/// sizes and indices cross into JavaScript.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AddressType {
    I32,
    I64,
}

impl AddressType {
    pub(crate) fn of(is_64: bool) -> AddressType {
        if is_64 {
            AddressType::I64
        } else {
            AddressType::I32
        }
    }

    pub(crate) fn is_64(self) -> bool {
        self == AddressType::I64
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            AddressType::I32 => "i32",
            AddressType::I64 => "i64",
        }
    }

    /// U64ToAddressValue: a Number for i32, a BigInt for i64.
    pub(crate) fn value(self, n: u64) -> JsValue {
        match self {
            AddressType::I32 => JsValue::from(n as f64),
            AddressType::I64 => JsValue::from(JsBigInt::from(n)),
        }
    }
}

/// A descriptor's `address` member: "i32" when absent, or "i32" or "i64" (a TypeError
/// for any other string, as for an unknown enum value).
pub(crate) fn address_type(
    descriptor: &boa_engine::object::JsObject,
    what: &str,
    ctx: &mut Context,
) -> JsResult<AddressType> {
    let v = descriptor.get(boa_engine::js_string!("address"), ctx)?;
    if v.is_undefined() {
        return Ok(AddressType::I32);
    }
    match v.to_string(ctx)?.to_std_string_escaped().as_str() {
        "i32" => Ok(AddressType::I32),
        "i64" => Ok(AddressType::I64),
        other => {
            Err(JsNativeError::typ().with_message(format!("{what}: unknown address type '{other}'")).into())
        }
    }
}

/// AddressValueToU64: [EnforceRange] unsigned long for i32; for i64, ToBigInt and a
/// TypeError outside [0, 2^64).
pub(crate) fn address_value(
    v: &JsValue,
    address: AddressType,
    what: &str,
    ctx: &mut Context,
) -> JsResult<u64> {
    match address {
        AddressType::I32 => enforce_range_u32(v, what, ctx).map(u64::from),
        AddressType::I64 => {
            let n = v.to_bigint(ctx)?.to_i128();
            u64::try_from(n)
                .map_err(|_| JsNativeError::typ().with_message(format!("{what} is out of range")).into())
        }
    }
}

/// A descriptor's limits as `address` values: the initial size, given as `initial` or
/// (type reflection) `minimum` but not both, and the optional `maximum`. The members are
/// read and converted in WebIDL's dictionary order (initial, maximum, minimum), each
/// converted as soon as it is read.
pub(crate) fn limits(
    descriptor: &boa_engine::object::JsObject,
    address: AddressType,
    what: &str,
    ctx: &mut Context,
) -> JsResult<(u64, Option<u64>)> {
    let member = |name: &'static str, ctx: &mut Context| -> JsResult<Option<u64>> {
        let v = descriptor.get(boa_engine::js_string!(name), ctx)?;
        if v.is_undefined() {
            return Ok(None);
        }
        address_value(&v, address, name, ctx).map(Some)
    };
    let initial = member("initial", ctx)?;
    let maximum = member("maximum", ctx)?;
    let minimum = member("minimum", ctx)?;
    let initial = match (initial, minimum) {
        (Some(_), Some(_)) => {
            return Err(JsNativeError::typ()
                .with_message(format!("{what}: give 'initial' or 'minimum', not both"))
                .into())
        }
        (Some(n), None) | (None, Some(n)) => n,
        (None, None) => {
            return Err(JsNativeError::typ().with_message(format!("{what}: 'initial' is required")).into())
        }
    };
    Ok((initial, maximum))
}

/// [EnforceRange] unsigned long.
pub(crate) fn enforce_range_u32(v: &JsValue, what: &str, ctx: &mut Context) -> JsResult<u32> {
    let n = v.to_number(ctx)?;
    if !n.is_finite() {
        return Err(JsNativeError::typ().with_message(format!("{what} must be a finite number")).into());
    }
    let n = n.trunc();
    if !(0.0..=u32::MAX as f64).contains(&n) {
        return Err(JsNativeError::typ().with_message(format!("{what} is out of range")).into());
    }
    Ok(n as u32)
}

/// The JS values wasm holds as host values, by handle. A handle stays taken while the
/// store's wasm state may hold it (`Store::live_host_values`, asked when the number
/// taken has doubled since the last sweep); then its slot is reused. Without this,
/// every value JS ever passed as an externref stayed alive.
///
/// A sweep runs only where a value is converted (`extern_handle_in`), before its
/// handle is taken, and frees every handle the store does not name. A handle made
/// earlier must then be where the store looks: in wasm state, or as its word
/// (`Val::host_value_word`) on a machine stack, which the store scans. Three kinds of
/// place hold one outside those between its making and its use, and each runs no
/// sweep meanwhile:
/// - a `Val` (whose number is not the word) in the other arguments or results of a
///   conversion of several values, since later ones may run JS: `ConvertingSeveral`
///   keeps sweeps out of those stretches;
/// - one value's conversion until its store into a table, global or exception, which
///   runs no JS and converts nothing else;
/// - the words of a call's arguments (`plain_extern_arguments`), which lie on the
///   stack as words while the later ones are converted.
#[derive(Default, boa_gc::Trace, boa_gc::Finalize)]
pub(crate) struct ExternRefs {
    values: Vec<Option<JsValue>>,
    #[unsafe_ignore_trace]
    free: Vec<u64>,
    #[unsafe_ignore_trace]
    taken: usize,
    #[unsafe_ignore_trace]
    sweep_at: usize,
    /// The objects last given handles, and the handles, while they are taken. An object
    /// passed again, as a program's context object or a node in a loop is, takes the
    /// same handle: the table does not grow, and no sweep comes due. Several, so that
    /// the same objects passed as two arguments (or to two exports in turn) each keep
    /// theirs.
    recent: [Option<(JsObject, u64)>; RECENT_OBJECTS],
    /// The entry of `recent` the next new object takes.
    #[unsafe_ignore_trace]
    next_recent: usize,
}

/// How many objects `ExternRefs::recent` remembers: as many as a small call takes
/// arguments. With one, two objects kept by each call took two new handles a call, and
/// a sweep every 250 calls: `keepTwo(o, p)` cost 1,697 instructions, against 1,038 for a
/// closure (callgrind).
const RECENT_OBJECTS: usize = 4;

/// The fewest handles taken before a sweep. Small, because every JS object the table
/// holds after wasm let go of it is marked again by each of Boa's collections until a
/// sweep frees it: with a new object kept each call, 4,096 made the call cost 1,887
/// instructions, 512 makes it 1,409 (callgrind, `call_cost export-keep-fresh`, N =
/// 400,000). Asking the store costs little while the stacks are shallow and the GC
/// heap small: a loop of 1,024 objects in turn costs 1,373 (1,371 at 4,096); at 128,
/// 1,471.
const FIRST_SWEEP_AT: usize = 512;

/// A sweep scans the machine stacks word by word (`LiveHostValues::stack_words`): the
/// next waits for a handle per this many words, so that a call made from deep in a
/// program pays a bounded share of the scan.
const STACK_WORDS_PER_HANDLE: usize = 8;

impl ExternRefs {
    fn get(&self, handle: u64) -> Option<JsValue> {
        self.values.get(usize::try_from(handle).ok()?).cloned().flatten()
    }

    fn take(&mut self, v: &JsValue) -> u64 {
        let object = v.as_object();
        if let Some(object) = &object {
            for (recent, h) in self.recent.iter().flatten() {
                if JsObject::equals(object, recent) {
                    return *h;
                }
            }
        }
        self.taken += 1;
        let h = match self.free.pop() {
            Some(h) => {
                self.values[h as usize] = Some(v.clone());
                h
            }
            None => {
                self.values.push(Some(v.clone()));
                self.values.len() as u64 - 1
            }
        };
        if let Some(object) = object {
            self.recent[self.next_recent] = Some((object, h));
            self.next_recent = (self.next_recent + 1) % RECENT_OBJECTS;
        }
        h
    }

    fn sweep_due(&self) -> bool {
        self.taken >= self.sweep_at.max(FIRST_SWEEP_AT)
    }

    /// Frees the handles that `live`, the store's answer, does not hold (none without
    /// an answer). The next sweep waits longer in a store whose GC heap maps
    /// `heap_bytes`, since asking marks the whole heap, and when the stacks were deep,
    /// since asking scans them.
    fn sweep(&mut self, live: Option<&LiveHostValues>, heap_bytes: u64) {
        if let Some(live) = live {
            for (h, slot) in self.values.iter_mut().enumerate() {
                if slot.is_some() && !live.contains(h as u64) {
                    *slot = None;
                    self.free.push(h as u64);
                    self.taken -= 1;
                }
            }
            // An object remembered keeps its handle only while the handle is taken.
            for entry in &mut self.recent {
                if entry
                    .as_ref()
                    .is_some_and(|(_, h)| self.values.get(*h as usize).is_none_or(Option::is_none))
                {
                    *entry = None;
                }
            }
        }
        let by_stacks = live.map_or(0, |live| live.stack_words() / STACK_WORDS_PER_HANDLE);
        self.sweep_at = next_reclamation_at(self.taken, FIRST_SWEEP_AT, heap_bytes).max(by_stacks);
    }

    /// How many handles are taken (a test hook).
    pub(crate) fn taken(&self) -> usize {
        self.taken
    }
}

thread_local! {
    /// How many conversions of several values are under way (`ConvertingSeveral`), and
    /// how many handles they have made and hold.
    static CONVERTING_SEVERAL: std::cell::Cell<(u32, u32)> = const { std::cell::Cell::new((0, 0)) };
}

/// How many conversions of several values are open on this thread.
pub(crate) fn open_conversions() -> u32 {
    CONVERTING_SEVERAL.with(|c| c.get().0)
}

/// Marks a stretch that converts several values before the engine takes them: the
/// handles of the first ones are held only here while the later conversions run JS,
/// so no sweep may run until the stretch ends. Stretches end in the order they began:
/// a JSPI fiber never suspends inside one it opened (`jspi::start_suspending_call`),
/// so each ends on its own stack before another stack runs.
pub(crate) struct ConvertingSeveral {
    held_before: u32,
}

impl ConvertingSeveral {
    pub(crate) fn enter() -> ConvertingSeveral {
        CONVERTING_SEVERAL.with(|c| {
            let (stretches, held) = c.get();
            c.set((stretches + 1, held));
            ConvertingSeveral { held_before: held }
        })
    }
}

impl Drop for ConvertingSeveral {
    fn drop(&mut self) {
        CONVERTING_SEVERAL.with(|c| c.set((c.get().0 - 1, self.held_before)));
    }
}

/// A handle for the host value `v`, sweeping first when due.
fn extern_handle(v: &JsValue, ctx: &mut Context) -> JsResult<u64> {
    let refs = with_agent(ctx, |r| r.extern_refs.clone())?;
    extern_handle_in(&refs, v, ctx)
}

/// `extern_handle` in the agent's table `refs`, which the caller has at hand.
pub(crate) fn extern_handle_in(refs: &RefCell<ExternRefs>, v: &JsValue, ctx: &mut Context) -> JsResult<u64> {
    let (stretches, held) = CONVERTING_SEVERAL.with(std::cell::Cell::get);
    let hold = || {
        if stretches > 0 {
            CONVERTING_SEVERAL.with(|c| c.set((stretches, held + 1)));
        }
    };
    let sweep = refs.borrow().sweep_due() && held == 0;
    if sweep {
        sweep_extern_refs(refs, ctx)?;
    }
    hold();
    Ok(refs.borrow_mut().take(v))
}

/// Frees the handles in `refs` that the store does not name (`ExternRefs::sweep`).
#[inline(never)]
fn sweep_extern_refs(refs: &RefCell<ExternRefs>, ctx: &mut Context) -> JsResult<()> {
    let store = crate::realm::store(ctx)?;
    let below = refs.borrow().values.len() as u64;
    let live = store.live_host_values(below);
    let heap_bytes = store.gc_stats().mapped_bytes;
    refs.borrow_mut().sweep(live.as_ref(), heap_bytes);
    Ok(())
}

/// The JS value of the host value `handle` in the agent's table `refs`: `undefined`
/// for a handle that names none (which wasm cannot make).
pub(crate) fn extern_value_in(refs: &RefCell<ExternRefs>, handle: u64) -> JsValue {
    refs.borrow().get(handle).unwrap_or_else(JsValue::undefined)
}

//! Small calls of functions that take or return host values: what `Func::call_small`
//! does for numbers, with `externref` parameters and results too.
//!
//! An embedder passes a host value as the word machine code keeps it in, and the
//! callee gets it in a register as a number would. Only words that need no liveness
//! are taken: null, an `i31`, or a host value. A struct or array is an address into a
//! GC heap, which only `Func::call` may pass (it checks the object's store); such a
//! word is refused, so no word an embedder makes up can reach wasm as an address.

use super::func::{store_dropped, CodeTraits, Func, SmallCaller, TrapFreeCaller, WideCaller};
use crate::error::{Error, Result};
use crate::isa::x64::trampolines::{SMALL_ARGS, WIDE_ARGS};
use crate::types::ValType;
use crate::values::{AnyRef, Val, HOST_TAG};

/// A prepared call of a wasm function whose parameters (at most `N`, which is at most
/// `WIDE_ARGS`) are numbers or `externref`s and whose result, if any, is one too
/// (`Func::extern_caller`).
#[derive(Clone)]
pub struct ExternCaller<const N: usize> {
    call: ExternCall<N>,
    /// Bit `i` set: parameter `i` is an `externref`, whose word `call` checks.
    extern_params: u16,
    result: Option<ValType>,
    /// The function's `CodeTraits`, kept here: `is_leaf` found through `call`'s
    /// variants cost a call through the JS bindings more (callgrind).
    traits: CodeTraits,
}

/// How an `ExternCaller` goes in: straight into a trap-free function's code, or
/// through the entry trampoline; for more than `SMALL_ARGS` arguments, either way
/// through `WideCaller`.
#[derive(Clone)]
enum ExternCall<const N: usize> {
    Direct(TrapFreeCaller<N>),
    Entry(SmallCaller<N>),
    Wide(WideCaller),
}

impl Val {
    /// The word an `externref` argument of `ExternCaller::call` is passed as: for null,
    /// an `i31` and a host value (below `HOST_VALUE_LIMIT`); `None` for other values.
    #[inline]
    pub fn extern_word(&self) -> Option<u64> {
        match self {
            Val::ExternRef(None) | Val::AnyRef(None) | Val::AnyRef(Some(AnyRef::I31(_))) => {
                Some(self.to_raw())
            }
            Val::ExternRef(Some(v)) if *v < Val::HOST_VALUE_LIMIT => Some(self.to_raw()),
            _ => None,
        }
    }

    /// `Val::ExternRef(Some(handle)).extern_word()`, without making the value.
    #[inline(always)]
    pub fn host_value_word(handle: u64) -> Option<u64> {
        (handle < Val::HOST_VALUE_LIMIT).then_some(handle << 2 | HOST_TAG)
    }

    /// The host value whose word (`host_value_word`) is `word`, if it is one's.
    #[inline(always)]
    pub fn host_value_of_word(word: u64) -> Option<u64> {
        (word & 3 == HOST_TAG).then_some(word >> 2)
    }
}

/// Whether `word` is one `Val::extern_word` gives: null, an `i31` (31 bits shifted
/// left and tagged 1), or a host value (tagged binary 10).
#[inline(always)]
fn is_extern_word(word: u64) -> bool {
    word == 0 || word & 3 == HOST_TAG || (word & 1 == 1 && word >> 32 == 0)
}

impl Func {
    /// A caller for `N` arguments (at most `WIDE_ARGS`), if this is a wasm function
    /// whose parameters (at most `N`) are numbers or `externref`s and which returns at
    /// most one result, a number or an `externref`.
    pub fn extern_caller<const N: usize>(&self) -> Option<ExternCaller<N>> {
        const { assert!(N <= WIDE_ARGS) };
        let ty = self.signature();
        let served = |t: &ValType| {
            matches!(t, ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64) || *t == ValType::EXTERNREF
        };
        if ty.params().len() > N || ty.results().len() > 1 {
            return None;
        }
        if !ty.params().iter().all(served) || !ty.results().iter().all(served) {
            return None;
        }
        let extern_params = ty
            .params()
            .iter()
            .enumerate()
            .filter(|(_, &t)| t == ValType::EXTERNREF)
            .fold(0u16, |bits, (i, _)| bits | 1 << i);
        let result = ty.results().first().copied();
        let call = if N > SMALL_ARGS {
            // `wide_entry_caller` installs the signal handlers.
            ExternCall::Wide(self.wide_entry_caller(N)?)
        } else {
            let entry = self.entry_caller::<N>()?;
            // Every other call into wasm installs them first; this one skips that.
            super::signals::install_handlers();
            match entry.clone().trap_free(self) {
                Some(direct) => ExternCall::Direct(direct),
                None => ExternCall::Entry(entry),
            }
        };
        Some(ExternCaller { call, extern_params, result, traits: self.code_traits() })
    }
}

impl<const N: usize> ExternCaller<N> {
    /// Whether the callee is trap-free (`Func::is_trap_free`), and so called straight in.
    #[inline(always)]
    pub fn is_trap_free(&self) -> bool {
        match &self.call {
            ExternCall::Direct(_) => true,
            ExternCall::Entry(_) => false,
            ExternCall::Wide(wide) => wide.is_trap_free(),
        }
    }

    /// Whether the callee cannot keep an argument past the call
    /// (`!Func::keeps_references`): it can only give one back as its result. So an
    /// embedder may pass host values it has no lasting name for (the JS bindings pass
    /// argument indices). None of the embedder's callbacks but a memory's growth
    /// (`Memory::new_external`) runs during such a call: the callee calls no import and
    /// nothing indirectly, and allocates nothing (which could run the GC pressure hook).
    #[inline(always)]
    pub fn keeps_no_arguments(&self) -> bool {
        !self.traits.keeps_references
    }

    /// Whether the callee may set a global (`Func::sets_globals`).
    #[inline(always)]
    pub fn sets_globals(&self) -> bool {
        self.traits.sets_globals
    }

    /// Whether the callee is a leaf (`Func::is_leaf`): no host code runs while it does.
    #[inline(always)]
    pub fn is_leaf(&self) -> bool {
        self.traits.leaf
    }

    /// The function's result type, if it has one.
    pub fn result(&self) -> Option<ValType> {
        self.result
    }

    /// Calls the function with `args`: numbers as `Func::call_small` takes them, host
    /// values as `Val::extern_word` gives them. Returns its result, if it has one.
    /// Errors, without calling, if an `externref` argument is not such a word.
    #[inline(always)]
    pub fn call(&self, mut args: [u64; N]) -> Result<Option<Val>> {
        self.call_in_place(&mut args)
    }

    /// `call` with the arguments where the embedder made them, whose values after the
    /// call are unspecified: a wide call (`N == WIDE_ARGS`) passes them without a copy.
    /// Each copy of 16 words cost a call from JS about 20 instructions (callgrind).
    #[inline(always)]
    pub fn call_in_place(&self, args: &mut [u64; N]) -> Result<Option<Val>> {
        let raw = self.call_raw_in_place(args)?;
        // SAFETY: `raw` is what the call has just returned, and nothing has run since.
        unsafe { self.result_of_raw(raw) }
    }

    /// `call_in_place`, giving the result as the callee left it: a number's bits
    /// (unmasked: an i32 or f32 is the low half), an `externref`'s word, or anything
    /// for no result. `result_of_raw` makes it a value. An embedder that converts the
    /// result itself skips the `Val` (a call of `identity` from JS about 30 instructions
    /// less, callgrind).
    #[inline(always)]
    pub fn call_raw_in_place(&self, args: &mut [u64; N]) -> Result<u64> {
        if N > SMALL_ARGS {
            // Over the `externref` parameters only: a wide call has up to 16 slots.
            let mut externs = self.extern_params;
            while externs != 0 {
                let i = externs.trailing_zeros() as usize;
                externs &= externs - 1;
                if !args.get(i).is_some_and(|&word| is_extern_word(word)) {
                    return Err(not_an_extern_word());
                }
            }
        } else {
            // Unrolled, cheaper than the loop over bits for up to four.
            for (i, &word) in args.iter().enumerate() {
                if self.extern_params & (1 << i) != 0 && !is_extern_word(word) {
                    return Err(not_an_extern_word());
                }
            }
        }
        // `Func::extern_caller` makes `Wide` for more than `SMALL_ARGS` arguments and the
        // others for fewer: a test of `N` the compiler folds, which keeps the wide call's
        // code out of small calls (6 instructions a call of `identity`, callgrind).
        let raw = match &self.call {
            ExternCall::Wide(wide) if N > SMALL_ARGS => {
                match <&mut [u64; WIDE_ARGS]>::try_from(&mut args[..]) {
                    Ok(area) => wide.call(area)?,
                    Err(_) => {
                        let mut area = [0u64; WIDE_ARGS];
                        area[..N].copy_from_slice(args);
                        wide.call(&mut area)?
                    }
                }
            }
            ExternCall::Direct(direct) if N <= SMALL_ARGS => direct.call(*args)?,
            ExternCall::Entry(entry) if N <= SMALL_ARGS => entry.call(*args)?,
            _ => return Err(made_for_another_count()),
        };
        Ok(raw)
    }

    /// The function's result (`None` if it has none) from `raw`.
    ///
    /// # Safety
    ///
    /// `raw` is what `call_raw_in_place` of this caller has just returned, and nothing
    /// has run since that could collect the store's GC heap (no wasm, no allocation in
    /// it): an `externref` result may be the address of an object only the callee held.
    #[inline(always)]
    pub unsafe fn result_of_raw(&self, raw: u64) -> Result<Option<Val>> {
        Ok(Some(match self.result {
            None => return Ok(None),
            Some(ValType::I32) => Val::I32(raw as i32),
            Some(ValType::I64) => Val::I64(raw as i64),
            Some(ValType::F32) => Val::F32(raw as u32),
            Some(ValType::F64) => Val::F64(raw),
            Some(_) => match raw {
                0 => Val::ExternRef(None),
                _ if raw & 3 == HOST_TAG => Val::ExternRef(Some(raw >> 2)),
                _ => self.internal_result(raw)?,
            },
        }))
    }

    /// The `externref` result `raw` when it is an `i31` or an object's address.
    #[cold]
    fn internal_result(&self, raw: u64) -> Result<Val> {
        // An object's address is one of a live heap while the callee's store lives (it
        // keeps the stores whose objects it holds); host code the callee ran may have
        // let go of the store's last handle.
        if !is_extern_word(raw) && !self.store_alive() {
            return Err(store_dropped());
        }
        // SAFETY: the callee has just returned `raw`, an `externref`, and nothing has
        // run since; an address is of a live heap (above). `from_raw` takes a handle.
        Ok(unsafe { Val::from_raw(ValType::EXTERNREF, raw) })
    }

    fn store_alive(&self) -> bool {
        match &self.call {
            ExternCall::Direct(direct) => direct.store_alive(),
            ExternCall::Entry(entry) => entry.store_alive(),
            ExternCall::Wide(wide) => wide.store_alive(),
        }
    }
}

/// What no `ExternCaller` gives: one whose way in does not go with its `N`.
#[cold]
fn made_for_another_count() -> Error {
    Error::Link("an ExternCaller whose way in does not go with its argument count".into())
}

#[cold]
fn not_an_extern_word() -> Error {
    Error::Link("an externref argument of ExternCaller::call is not a word Val::extern_word gives".into())
}

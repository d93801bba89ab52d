//! Exception handlers: what the compiler records so that the unwinder
//! (`runtime/unwind.rs`) can find, for a return address in a function, the catch
//! clauses in force there, and how to resume in a frame it lands in.
//!
//! Handlers cost nothing until something throws: a `try_table` or legacy `try` body is a
//! *scope*; each call (and each throw) made inside one records its return address with
//! the innermost scope. A scope lists its catch clauses in order and names its parent,
//! the scope in force around it (for a legacy `delegate`, the scope of its target).
//! A matching clause names a landing pad in the same function, and frame slots where
//! the unwinder writes the payload and the exnref before jumping there.

/// One catch clause.
#[derive(Clone, Debug)]
pub struct Catch {
    /// The tag index it catches; `None` for `catch_all` / `catch_all_ref`.
    pub tag: Option<u32>,
    /// Code offset of the landing pad within the function.
    pub landing: u32,
    /// rbp offset of the slot for the first payload value; value i goes
    /// `payload_stride * i` lower (the frame's spill-slot size).
    pub payload_slot: i32,
    pub payload_stride: i32,
    /// rbp offset of the slot for the exnref, where the clause passes it on.
    pub exnref_slot: Option<i32>,
}

#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub parent: Option<u32>,
    pub catches: Vec<Catch>,
}

/// What unwinding, and callers from outside, need to know about one compiled function.
#[derive(Clone, Debug, Default)]
pub struct HandlerTable {
    /// `rbp - rsp` in the body as the prologue leaves it (after a callee that widened
    /// its argument area, rsp may be lower: see `compiler::tail_calls`).
    pub frame_size: u32,
    /// The 8-byte slots the body reserves at `[rsp]` for its callees' arguments: a tail
    /// call from a callee may use them all (`runtime::unwind::tail_call_room`).
    pub outgoing_slots: u32,
    /// How many of the callee-saved pinning registers (rbx, r12, r13, in that order) the
    /// prologue saved, at `[rbp - 16 - 8*k]`.
    pub callee_saved: u8,
    /// How many of the callee-saved xmm registers (`CALLEE_SAVED_XMMS`, in that order) it
    /// saved, 8 bytes each, in the slots after those.
    pub callee_saved_xmms: u8,
    /// (return-address offset, innermost scope) of every call and throw inside a scope,
    /// in code order.
    pub call_sites: Vec<(u32, u32)>,
    pub scopes: Vec<Scope>,
    /// The function calls nothing: no function, no runtime helper or stub (it leaves
    /// only by returning or through a trap path), and its frame is small enough to skip
    /// the stack check. No host code runs while it does, and it never reads the stack
    /// limit.
    pub leaf: bool,
    /// A leaf that cannot trap or fault either (`Masm::may_trap`): nothing it runs needs
    /// the entry trampoline's frame, so the host may call it directly
    /// (`TrapFreeCaller::call`, `Func::call_small`).
    pub trap_free: bool,
    /// The function has a `global.set`.
    pub sets_globals: bool,
    /// The function could keep a reference it was given past its call: it stores one
    /// where it outlives the call (a reference-typed global, a table, a GC object, an
    /// exception), or calls code that could (an import, an indirect call, or a defined
    /// function that could: `module::link` follows direct calls). False means its
    /// `externref` arguments can only come back as its result.
    pub keeps_references: bool,
}

impl HandlerTable {
    /// The innermost scope in force at a call whose return address is `offset`.
    pub fn scope_at(&self, offset: u32) -> Option<u32> {
        let i = self.call_sites.binary_search_by_key(&offset, |&(at, _)| at).ok()?;
        Some(self.call_sites[i].1)
    }
}

// Wasm exceptions crossing JavaScript, and JS Promise Integration: a wasm loop that
// awaits a JS promise on every iteration without being split up.
// Run: sidewinder examples/exceptions-and-jspi.js
const bytes = wat(`(module
  (import "js" "check" (func $check (param i32)))
  (import "js" "fetch" (func $fetch (param i32) (result i32)))
  (tag $bad (export "bad") (param i32))
  (func (export "validate") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $bad $h) (call $check (local.get 0)))
      (i32.const -1)))
  (func (export "fail") (param i32) (throw $bad (local.get 0)))
  (func (export "sum") (param $n i32) (result i32) (local $total i32)
    (loop $l
      (local.set $total (i32.add (local.get $total) (call $fetch (local.get $n))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $total)))`);
let exports;
const imports = { js: {
  // Throws a wasm exception through JavaScript back into the calling wasm.
  check: (x) => { if (x > 9) exports.fail(x); },
  // Returns a promise: the promising caller's wasm suspends until it settles.
  fetch: new WebAssembly.Suspending((i) => Promise.resolve(i * 10)),
} };
exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports).exports;
print("validate(3) =", exports.validate(3), " validate(12) =", exports.validate(12));
try {
  exports.fail(5);
} catch (e) {
  print("caught in JS:", e instanceof WebAssembly.Exception, "payload", e.getArg(exports.bad, 0));
}
WebAssembly.promising(exports.sum)(4).then((total) => print("sum of awaited values:", total));
print("(the promise settles after this line)");

// Instantiates a module from WebAssembly text, calls exports and lets wasm call back
// into JavaScript. Run: sidewinder examples/cross-calls.js
const bytes = wat(read(scriptArgs[0] || "examples/add.wat"));
const seen = [];
const { instance } = { instance: new WebAssembly.Instance(new WebAssembly.Module(bytes), {
  env: { log: (i) => seen.push(i) },
}) };
const { add, fib, count, memory } = instance.exports;
print("add(2, 40) =", add(2, 40));
print("fib(30n) =", fib(30n));
count(5);
print("wasm called log with", seen.join(", "));
new Uint8Array(memory.buffer)[0] = 42;
print("memory pages:", memory.buffer.byteLength / 65536, "first byte:", new Uint8Array(memory.buffer)[0]);
try {
  add(1);            // missing arguments become 0 (ToWebAssemblyValue of undefined)
  new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
} catch (e) {
  print("as expected:", e.name, "-", e.message);
}

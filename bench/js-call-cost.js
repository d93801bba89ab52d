const add = new WebAssembly.Instance(new WebAssembly.Module(wat(
  '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'))).exports.add;
function jsAdd(a, b) { return a + b; }
const N = 1e6;
function time(f) { const t = Date.now(); for (let i = 0; i < N; i++) f(i, 1); return Date.now() - t; }
const rows = { wasm: [], native: [], js: [] };
for (let r = 0; r < 7; r++) {
  rows.wasm.push(time(add));
  rows.native.push(time(Math.max));
  rows.js.push(time(jsAdd));
}
const med = a => a.slice().sort((x, y) => x - y)[a.length >> 1];
print(`median ms per 1e6 calls: wasm export ${med(rows.wasm)}, native Math.max ${med(rows.native)}, JS function ${med(rows.js)}`);
print(`ratio export/native: ${(med(rows.wasm) / med(rows.native)).toFixed(2)}`);

// Times compile and run of one benchmark module in V8.
// usage: node [--liftoff-only | --no-liftoff] --no-wasm-lazy-compilation --single-threaded \
//          run.mjs file.wasm runs
// Prints one JSON line: {"compile_ms":[...],"run_ms":[...],"result":N}
// V8 caches compiled modules by their bytes, so each compile gets a fresh custom section.
import { readFileSync } from 'node:fs';
const [file, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 5);
const base = readFileSync(file);
function withSalt(i) {
  const name = Buffer.from('bench-salt');
  const payload = Buffer.from(`${process.pid}-${i}-${Date.now()}`);
  const body = Buffer.concat([Buffer.from([name.length]), name, payload]);
  return Buffer.concat([base, Buffer.from([0, body.length]), body]); // body < 128 bytes
}
const compile_ms = [], run_ms = [];
let result;
let module;
for (let i = 0; i < runs; i++) {
  const bytes = withSalt(i);
  const t0 = process.hrtime.bigint();
  module = new WebAssembly.Module(bytes);
  compile_ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
for (let i = 0; i < runs; i++) {
  const inst = new WebAssembly.Instance(module, {});
  const t0 = process.hrtime.bigint();
  const r = inst.exports.run() >>> 0;
  run_ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (result !== undefined && r !== result) throw new Error(`result changed: ${r} vs ${result}`);
  result = r;
}
console.log(JSON.stringify({ compile_ms, run_ms, result }));

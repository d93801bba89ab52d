// Times eager compilation of one module in V8 (run with --no-wasm-lazy-compilation,
// --liftoff-only or --no-liftoff, and --single-threaded but for the all-cores column).
// usage: node FLAGS compile.mjs file.wasm runs   -> {"compile_ms":[...]}
import { readFileSync } from 'node:fs';
const [file, runsArg] = process.argv.slice(2);
const base = readFileSync(file);
const compile_ms = [];
for (let i = 0; i < Number(runsArg || 3); i++) {
  // V8 caches modules by their bytes: append a distinct custom section each time.
  const name = Buffer.from('bench-salt');
  const payload = Buffer.from(`${process.pid}-${i}-${Date.now()}`);
  const body = Buffer.concat([Buffer.from([name.length]), name, payload]);
  const bytes = Buffer.concat([base, Buffer.from([0, body.length]), body]);
  const t0 = process.hrtime.bigint();
  new WebAssembly.Module(bytes);
  compile_ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
console.log(JSON.stringify({ compile_ms }));

// Modules whose export traps in a chain of 1-4 functions; the last function holds 1-4
// trapping operators (every trap kind), one of which the argument picks. Prints one line
// per call: the module's bytes, ";", the argument. Run by the sidewinder shell (`wat`).
// Arguments: [modules] [seed].
const traps = [
  "unreachable",
  "(drop (i32.load offset=8 (i32.add (local.get 0) (i32.const 65530))))",
  "(i64.store (i32.const 65535) (i64.const 1))",
  "(drop (i32.div_u (i32.const 1) (i32.sub (local.get 0) (local.get 0))))",
  "(drop (i64.div_s (i64.const 0x8000000000000000) (i64.const -1)))",
  "(drop (i32.rem_u (local.get 0) (i32.const 0)))",
  "(drop (i32.trunc_f32_u (f32.const -5)))",
  "(drop (i64.trunc_f64_s (f64.const nan)))",
  "(drop (i32.trunc_f64_s (f64.const 1e100)))",
  "(call_indirect (type $v) (i32.const 0))",
  "(call_indirect (type $v) (i32.add (local.get 0) (i32.const 100)))",
  "(drop (call_indirect (type $i) (i32.const 1) (i32.const 1)))",
  "(memory.copy (i32.const 0) (i32.const 65000) (i32.const 1000))",
  "(memory.fill (i32.const 65530) (i32.const 0) (i32.const 100))",
  "(drop (table.get (i32.const 10)))",
  // A bounded index shifted and loaded from: one fused access.
  "(drop (i32.load (i32.shl (i32.and (i32.add (local.get 0) (i32.const 0x8000)) (i32.const 0xFFFF)) (i32.const 2))))",
  "(drop (v128.load (i32.const 65535)))",
  "(v128.store offset=65530 (local.get 0) (v128.const i32x4 1 2 3 4))",
  "(drop (i32.atomic.load (i32.const 1)))",
  "(drop (i64.atomic.rmw.add (i32.const 65536) (i64.const 1)))",
  "(drop (i64.load8_s (i32.const 65536)))",
  "(f64.store (i32.const 65535) (f64.const 1))",
  "(table.copy (i32.const 0) (i32.const 2) (i32.const 2))",
  "(table.fill (i32.const 2) (ref.null func) (i32.const 5))",
];
const modules = Number(scriptArgs[0] || 100);
let seed = Number(scriptArgs[1] || 12345);
const rand = n => { seed = (seed * 1103515245 + 12345) % 2147483648; return Math.floor(seed / 65536) % n; };
const out = [];
for (let m = 0; m < modules; m++) {
  const depth = 1 + rand(4);
  const funcs = [];
  let picks = 0;
  for (let d = 0; d < depth; d++) {
    // Two in three functions have a name; the others show as wasm-function[N] only.
    const name = rand(3) !== 0 ? `$f${d}` : "";
    let body = "";
    for (let w = rand(3); w > 0; w--) body += `(local.set 1 (i32.add (local.get 1) (i32.const ${rand(100)}))) `;
    if (d === depth - 1) {
      picks = 1 + rand(4);
      for (let k = 0; k < picks; k++) {
        body += `(if (i32.eq (local.get 0) (i32.const ${k})) (then ${traps[rand(traps.length)]})) `;
      }
      body += "unreachable";
    } else {
      // Functions 0-2 are the import and two helpers: f(d+1) is function d + 4.
      body += `(call ${d + 4} (local.get 0))`;
    }
    funcs.push(`(func ${name} ${d === 0 ? '(export "run")' : ""} (param i32) (local i32) ${body})`);
  }
  const src = `(module (type $v (func)) (type $i (func (param i32) (result i32)))
    (import "m" "f" (func $host))
    (memory 1) (table 3 funcref) (elem (i32.const 1) $w)
    (func $w) (func $g)
    ${funcs.join("\n")})`;
  const bytes = Array.from(wat(src)).join(",");
  for (let k = 0; k <= picks; k++) out.push(bytes + ";" + k);
}
print(out.join("\n"));

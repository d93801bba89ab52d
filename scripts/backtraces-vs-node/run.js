// Calls each generated module's export (node or the sidewinder shell); prints, per call,
// the error's constructor and its wasm frames without V8's `wasm://wasm/<hash>:` prefix.
// Argument: the file `generate.js` wrote.
const isNode = typeof process === "object";
const path = isNode ? process.argv[2] : scriptArgs[0];
const text = isNode ? require("fs").readFileSync(path, "utf8") : read(path);
const log = isNode ? console.log : print;
text.trim().split("\n").forEach((line, k) => {
  const [bytes, argument] = line.split(";");
  const module = new WebAssembly.Module(new Uint8Array(bytes.split(",").map(Number)));
  const { run } = new WebAssembly.Instance(module, { m: { f() {} } }).exports;
  try {
    run(Number(argument));
    log(`${k}: no trap`);
  } catch (e) {
    const frames = String(e.stack).split("\n").filter(s => s.includes("wasm-function"))
      .map(s => s.replace(/wasm:\/\/wasm\/[0-9a-f]+:/, "").trim());
    log(`${k}: ${e.constructor.name} | ${frames.join(" | ")}`);
  }
});

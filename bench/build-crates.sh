#!/usr/bin/env bash
# Builds the cargo crates in crates/ (one workspace, one Cargo.lock, every crates.io
# dependency pinned with `=x.y.z`): each for wasm32-unknown-unknown (its cdylib, which
# exports `run() -> u32`) into wasm/NAME.wasm, and natively (its bin, which prints
# `run()`) to compute the expected checksum, never from running the wasm. The release
# profile (opt-level 3, LTO, one codegen unit, panic=abort, strip=debuginfo) is in
# crates/Cargo.toml and applies to both builds.
#
# The NAME lines of expected.txt are replaced (other lines are kept, so this can run
# beside build.sh, after it). Every module is checked to import nothing (the runner
# provides no imports) and to export `run`, with node when it is installed.
#
# CARGO_TARGET_DIR defaults to crates/target; JOBS (default 1) is cargo's -j.
set -euo pipefail
cd "$(dirname "$0")"
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
target=${CARGO_TARGET_DIR:-$PWD/crates/target}
jobs=${JOBS:-1}
mkdir -p wasm
touch expected.txt
new=$(mktemp); trap 'rm -f "$new"' EXIT

names=()
for toml in crates/*/Cargo.toml; do
  names+=("$(basename "$(dirname "$toml")")")
done

# --locked: the committed Cargo.lock is the one used, or the build fails.
cargo build --manifest-path crates/Cargo.toml --locked --release -j "$jobs" --target-dir "$target" \
  --target wasm32-unknown-unknown --lib
cargo build --manifest-path crates/Cargo.toml --locked --release -j "$jobs" --target-dir "$target" --bins

for name in "${names[@]}"; do
  cp "$target/wasm32-unknown-unknown/release/$name.wasm" "wasm/$name.wasm"
  if command -v node >/dev/null; then
    node -e '
      const m = new WebAssembly.Module(require("fs").readFileSync(process.argv[1]));
      const imp = WebAssembly.Module.imports(m), exp = WebAssembly.Module.exports(m);
      if (imp.length) { console.error(process.argv[1] + ": imports " + JSON.stringify(imp)); process.exit(1); }
      if (!exp.some(e => e.name === "run" && e.kind === "function")) {
        console.error(process.argv[1] + ": no exported function run"); process.exit(1);
      }' "wasm/$name.wasm"
  fi
  start=$(date +%s.%N); sum=$("$target/release/$name"); end=$(date +%s.%N)
  printf '%s %s\n' "$name" "$sum" >> "$new"
  printf '%-10s %8d bytes  checksum %-11s native %.0f ms\n' "$name" "$(stat -c %s "wasm/$name.wasm")" "$sum" \
    "$(echo "($end - $start) * 1000" | bc -l)"
done

# Keep the lines of other benchmarks, replace ours.
pattern=$(printf '%s|' "${names[@]}"); pattern="^(${pattern%|}) "
{ grep -vE "$pattern" expected.txt || true; cat "$new"; } > expected.txt.new
mv expected.txt.new expected.txt

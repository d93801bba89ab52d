#!/usr/bin/env bash
# Compile-throughput corpus: large real-world modules shipped in npm packages, pinned.
# Fetched with `npm pack` into bench/corpus/ (gitignored), then every *.wasm inside is
# compiled by each engine (on one thread, and the -mt ones on every core; median of RUNS)
# and bench/corpus.md written.
#   RUNS=3 bash bench/corpus.sh [--engines sidewinder,wasmi,v8-liftoff]
# Every engine by default, on one thread and (the -mt ones) on every core; the Wasmer ones
# need FEATURES=wasmer, and are left out without it.
set -euo pipefail
cd "$(dirname "$0")"
PACKAGES=(
  sql.js@1.10.3            # SQLite (emscripten)
  esbuild-wasm@0.20.2      # esbuild (Go)
  vscode-oniguruma@1.7.0   # Oniguruma regex (emscripten)
  @dqbd/tiktoken@1.0.15    # tokenizer (Rust, wasm-bindgen)
  lightningcss-wasm@1.25.1 # CSS parser (Rust)
)
mkdir -p corpus
for p in "${PACKAGES[@]}"; do
  dir="corpus/$(echo "$p" | tr '/@' '__')"
  [ -d "$dir" ] && continue
  mkdir -p "$dir"
  tgz=$(cd "$dir" && npm pack --silent "$p" 2>/dev/null | tail -1) || { echo "npm pack $p failed" >&2; rmdir "$dir"; continue; }
  tar -xzf "$dir/$tgz" -C "$dir" && rm "$dir/$tgz"
done
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
cargo build --release -p sidewinder-bench ${FEATURES:+--features "$FEATURES"}
"$CARGO_TARGET_DIR/release/sidewinder-bench" --runs "${RUNS:-3}" --dir . --corpus corpus \
  --engines "sidewinder,sidewinder-mt,winch,winch-mt,wasmer-singlepass,wasmer-singlepass-mt,wasmi,v8-liftoff,v8-liftoff-mt" \
  --out corpus.md "$@"

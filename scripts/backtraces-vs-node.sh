#!/usr/bin/env bash
# Cross-checks trap backtraces against V8: generated modules trap in every way, and the
# sidewinder shell must print the same wasm frames (names, function indices, byte
# offsets) as node. Needs node; not part of the test command (CI machines lack node).
# Usage: bash scripts/backtraces-vs-node.sh [modules] [seed]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v node >/dev/null || { echo "node not found: nothing to compare with" >&2; exit 1; }
cargo build --release -q -p sidewinder-shell
SHELL_BIN=target/release/sidewinder
DIR=scripts/backtraces-vs-node
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
"$SHELL_BIN" "$DIR/generate.js" "${1:-100}" "${2:-12345}" > "$OUT/calls.txt"
node "$DIR/run.js" "$OUT/calls.txt" > "$OUT/v8.txt"
"$SHELL_BIN" "$DIR/run.js" "$OUT/calls.txt" > "$OUT/sidewinder.txt"
calls=$(wc -l < "$OUT/calls.txt")
frames=$(grep -o "wasm-function" "$OUT/v8.txt" | wc -l)
if diff "$OUT/v8.txt" "$OUT/sidewinder.txt" > "$OUT/diff.txt"; then
  echo "backtraces: $calls traps, $frames wasm frames, identical to node $(node --version)"
else
  echo "backtraces: differences from node $(node --version) (< node, > sidewinder):"
  cat "$OUT/diff.txt"
  exit 1
fi

#!/usr/bin/env bash
# Builds the benchmark runner (separate cargo workspace) and runs every benchmark in
# every engine, side by side. Writes bench/results.md and bench/results.svg.
#   RUNS=5 bash bench/run.sh [extra runner args, e.g. --only fib,sieve --engines sidewinder,cranelift]
#   FEATURES=wasmer bash bench/run.sh     # also Wasmer 7.4 singlepass (~7 min extra build)
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
cargo build --release -p sidewinder-bench ${FEATURES:+--features "$FEATURES"}
"$CARGO_TARGET_DIR/release/sidewinder-bench" --runs "${RUNS:-5}" --dir . \
  --out results.md --svg results.svg "$@"

#!/usr/bin/env bash
# JS-to-wasm (and wasm-to-JS) call cost in instructions: every mode of js-bindings/examples/call_cost.rs
# under callgrind (N calls each, default 200,000), minus the loop alone, per call.
# Wall time on these shared machines swings by 50 %; instruction counts do not.
# Usage: bash bench/js-call.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-200000}"
if ! command -v valgrind >/dev/null; then
  apt-get update && apt-get install -y valgrind
fi
cargo build --release -q -p sidewinder-js --example call_cost
BIN=target/release/examples/call_cost
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

# Each mode runs once; a count asked for again (a loop alone) is read back.
count() {
  if [ ! -f "$OUT/$1.total" ]; then
    echo "  callgrind: $1" >&2
    valgrind --tool=callgrind --callgrind-out-file="$OUT/$1.out" "$BIN" "$1" "$N" 2>&1 \
      | sed -n 's/.*Collected : \([0-9]*\).*/\1/p' > "$OUT/$1.total"
  fi
  cat "$OUT/$1.total"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "method: instructions (callgrind) of $N calls from a JS loop, minus the loop alone, per call"
echo
printf '| %-12s | %-12s | %14s | %14s | %10s |\n' "wasm export" "native" "export instr" "native instr" "ratio"
printf '|%s|%s|%s|%s|%s|\n' "--------------" "--------------" "----------------" "----------------" "------------"
# Each export as it is (trap-free, so called without the entry trampoline), with a load
# from memory (a leaf that may trap: through the trampoline), and through a call of the
# same function (not a leaf, so the call also sets up what host code it might reach needs).
for family in "int add math-max closure-max" "frac neg math-abs closure-abs"; do
  set -- $family
  empty=$(count "empty-$1")
  for export in "$2" "$2-load" "$2-calling"; do
    export_total=$(count "export-$export")
    per_export=$(( (export_total - empty) / N ))
    for native in "$3" "$4"; do
      native_total=$(count "$native")
      per_native=$(( (native_total - empty) / N ))
      ratio=$(awk -v a="$per_export" -v b="$per_native" 'BEGIN { printf "%.2fx", a / b }')
      printf '| %-12s | %-12s | %14d | %14d | %10s |\n' "$export" "$native" "$per_export" "$per_native" "$ratio"
    done
  done
done

# Off the uniform path, each against a closure doing the same work: five i32s (one more
# than the small entries take; trap-free, and with a load, through the wide entry), a
# BigInt in and out (`inc64`), two results (`swap`, an array); and a JS object through
# an externref export and back (`identity`) against a closure that returns its argument:
# the same object each call, through a call of the same function, one of 1,024
# objects in turn (each takes a handle of its own), and with four i32s beside it
# through a call (`identity5`, more parameters than the small entries take); and one
# that also keeps its argument in a global (`keep`, against a closure keeping it in a
# cell), so that host values take slots in the handle table: the same object, one of
# 1,024 in turn, and a new object each call; and two objects kept by each call
# (`keepTwo`): the same two, and the same one beside a new one.
for pair in "int5 export-sum5 closure-sum5" "int5 export-sum5-load closure-sum5" \
            "big export-inc64 closure-inc64" "int export-swap closure-swap" \
            "ref export-identity closure-identity" "ref export-identity-calling closure-identity" \
            "refs export-identity-refs closure-identity-refs" "ref5 export-identity5 closure-identity5" \
            "ref export-keep closure-keep" "refs export-keep-refs closure-keep-refs" \
            "fresh export-keep-fresh closure-keep-fresh" "two export-keep-two closure-keep-two" \
            "beside export-keep-beside closure-keep-beside"; do
  set -- $pair
  empty=$(count "empty-$1")
  per_export=$(( ($(count "$2") - empty) / N ))
  per_native=$(( ($(count "$3") - empty) / N ))
  ratio=$(awk -v a="$per_export" -v b="$per_native" 'BEGIN { printf "%.2fx", a / b }')
  printf '| %-12s | %-12s | %14d | %14d | %10s |\n' "${2#export-}" "${3#closure-}" "$per_export" "$per_native" "$ratio"
done

# The other direction: a JS function imported by wasm and called from a wasm loop,
# against the same function called from a JS loop.
echo
printf '| %-29s | %-29s | %10s |\n' "JS function from wasm (instr)" "JS function from JS (instr)" "ratio"
printf '|%s|%s|%s|\n' "-------------------------------" "-------------------------------" "------------"
empty=$(count empty-int)
wasm_loop=$(count wasm-loop)
per_import=$(( ($(count import-js) - wasm_loop) / N ))
per_js=$(( ($(count js-function) - empty) / N ))
ratio=$(awk -v a="$per_import" -v b="$per_js" 'BEGIN { printf "%.2fx", a / b }')
printf '| %29d | %29d | %10s |\n' "$per_import" "$per_js" "$ratio"

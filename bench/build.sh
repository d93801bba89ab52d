#!/usr/bin/env bash
# Builds bench/wasm/*.wasm from source and computes each expected checksum from a
# native build of the same program (bench/expected.txt), never from running the wasm:
#  - c/*.c: Debian's clang/lld for wasm32, gcc -O2 natively. A first line
#    `// wasm-flags: ...` adds clang flags (-mbulk-memory, -msimd128, -mtail-call: the C
#    stays plain, so gcc builds the same source natively). Modules built with
#    -mtail-call must contain return_call instructions.
#  - rust/*.rs: rustc for wasm32-unknown-unknown (cdylib), and natively as a binary.
#  - wat/*.wat: the wasmtool member of this workspace; the checksum comes from the
#    native reference wat/NAME.ref.c (gcc).
#  - crates/*: cargo programs using crates.io crates, by build-crates.sh (run last).
# The .wasm outputs are committed, so running the benchmarks needs none of these.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v clang >/dev/null || ! command -v wasm-ld >/dev/null || ! command -v gcc >/dev/null; then
  apt-get update && apt-get install -y clang lld gcc
fi
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
wasmtool() { cargo run --release -q -p wasmtool -- "$@"; }
mkdir -p wasm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
: > expected.txt.new

# Records NAME's native checksum and prints a line: report NAME CHECKSUM START END.
report() {
  printf '%s %s\n' "$1" "$2" >> expected.txt.new
  printf '%-10s %8d bytes  checksum %-11s native %.0f ms\n' "$1" "$(stat -c %s "wasm/$1.wasm")" "$2" \
    "$(echo "($4 - $3) * 1000" | bc -l)"
}
for src in c/*.c; do
  name=$(basename "$src" .c)
  [ "$name" = native_main ] && continue
  extra=$(sed -n '1s|^// wasm-flags:[[:space:]]*||p' "$src")
  # shellcheck disable=SC2086
  clang --target=wasm32 -O2 $extra -nostdlib -Wl,--no-entry -Wl,--export=run \
    -Wl,-z,stack-size=1048576 -o "wasm/$name.wasm" "$src"
  if [[ " $extra " == *" -mtail-call "* ]] && ! wasmtool print "wasm/$name.wasm" | grep -qE '\breturn_call'; then
    echo "$name: built with -mtail-call but has no return_call" >&2
    exit 1
  fi
  gcc -O2 -DNATIVE -o "$tmp/$name" "$src" c/native_main.c -lm
  start=$(date +%s.%N); sum=$("$tmp/$name"); end=$(date +%s.%N)
  report "$name" "$sum" "$start" "$end"
done

for src in rust/*.rs; do
  name=$(basename "$src" .rs)
  # -C strip=debuginfo drops only the DWARF sections (1.5 MB -> ~40 KB); code unchanged.
  rustc --target wasm32-unknown-unknown -C opt-level=3 --crate-type cdylib -C strip=debuginfo \
    -o "wasm/$name.wasm" "$src"
  rustc -C opt-level=3 --crate-type bin -o "$tmp/$name" "$src"
  start=$(date +%s.%N); sum=$("$tmp/$name"); end=$(date +%s.%N)
  report "$name" "$sum" "$start" "$end"
done

for src in wat/*.wat; do
  name=$(basename "$src" .wat)
  wasmtool wat2wasm "$src" "wasm/$name.wasm"
  gcc -O2 -o "$tmp/$name" "wat/$name.ref.c"
  start=$(date +%s.%N); sum=$("$tmp/$name"); end=$(date +%s.%N)
  report "$name" "$sum" "$start" "$end"
done
mv expected.txt.new expected.txt
# The cargo crates (crates/) replace their own lines of expected.txt, so they come last.
bash build-crates.sh

#!/usr/bin/env bash
# Compiles bench/c/*.c to bench/wasm/*.wasm with Debian's clang/lld, and computes
# expected checksums by compiling the same C natively with gcc (bench/expected.txt).
# The .wasm outputs are committed, so running the benchmarks does not need clang.
# A first line `// wasm-flags: ...` in a .c file adds those flags to its clang command
# (-mbulk-memory, -msimd128: the C stays plain, so gcc builds the same source natively).
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v clang >/dev/null || ! command -v wasm-ld >/dev/null; then
  apt-get update && apt-get install -y clang lld
fi
mkdir -p wasm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
: > expected.txt.new
for src in c/*.c; do
  name=$(basename "$src" .c)
  [ "$name" = native_main ] && continue
  extra=$(sed -n '1s|^// wasm-flags:[[:space:]]*||p' "$src")
  # shellcheck disable=SC2086
  clang --target=wasm32 -O2 $extra -nostdlib -Wl,--no-entry -Wl,--export=run \
    -Wl,-z,stack-size=1048576 -o "wasm/$name.wasm" "$src"
  gcc -O2 -DNATIVE -o "$tmp/$name" "$src" c/native_main.c -lm
  start=$(date +%s.%N)
  sum=$("$tmp/$name")
  end=$(date +%s.%N)
  printf '%s %s\n' "$name" "$sum" >> expected.txt.new
  printf '%-10s %8d bytes  checksum %-11s native %.0f ms\n' "$name" "$(stat -c %s "wasm/$name.wasm")" "$sum" \
    "$(echo "($end - $start) * 1000" | bc -l)"
done
mv expected.txt.new expected.txt

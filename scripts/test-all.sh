#!/usr/bin/env bash
# Runs every test of the workspace: unit and integration tests, then the
# WebAssembly spec suite (engine/tests/spec.rs, which prints `spec: N passed, N failed`).
# The spec corpus is read from $SIDEWINDER_SPEC_DIR or ../shared/testsuite/wasm-2.0.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
# Lints gate the build where the toolchain has them (rustup's default profile does).
if cargo clippy --version >/dev/null 2>&1; then
    cargo clippy --workspace --all-targets -- -D warnings
fi
if cargo fmt --version >/dev/null 2>&1; then
    cargo fmt --all -- --check
fi
cargo test --workspace
# The spec suite again with explicit bounds checks instead of guard pages (the mode the
# JS API uses for memories whose bytes Boa owns), the wasm-3.0 proposal scripts included:
# the multi-memory ones check the bounds of memories other than memory 0. This run also
# collects the GC heap at every allocation compiled code cannot make in line.
SIDEWINDER_SPEC_BOUNDS=explicit SIDEWINDER_SPEC_GC_STRESS=1 cargo test -p sidewinder-engine --test spec

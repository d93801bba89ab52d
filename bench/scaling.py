#!/usr/bin/env python3
"""Compile-time scaling: generates pathological modules at sizes n, 4n and 16n and
compiles each with engine/examples/compile.rs on one thread. Compile time must grow
linearly (MB/s roughly constant across sizes); a quadratic step shows as MB/s falling
about 4x per size.

    python3 bench/scaling.py [n]      # default n = 10000
"""
import os
import subprocess
import sys
import tempfile

# wasmparser (like V8) refuses functions with more than 50,000 locals.
MAX_LOCALS = 50000

def modules(n):
    k = min(n, MAX_LOCALS)
    locals_ = " ".join(["(local i32)"] * k)
    loop = "(loop $l {} (br_if $l (local.get 0)))".format(
        "".join(f"(local.set {i} (i32.add (local.get {i}) (i32.const 1)))" for i in range(0, k, max(1, k // 64))))
    calls = "".join(f"(local.set {i % k} (i32.add (local.get {i % k}) (call $f)))" for i in range(n))
    yield "min(n, 50000) locals, n calls", \
        f"(module (func $f (result i32) (i32.const 1)) (func {locals_} {loop} {calls}))"
    depth = max(1, n // 10)
    targets = " ".join(str(i % depth) for i in range(n))
    yield "giant br_table over deep blocks", \
        "(module (func (param i32) " + "(block " * depth + f"(br_table {targets} 0 (local.get 0))" + ")" * depth + "))"
    consts = "".join(f"(local.set 0 (f64.add (local.get 0) (f64.const {i}.5)))" for i in range(n))
    yield "distinct float constants", f"(module (func (local f64) {consts}))"
    vectors = "".join(f"(local.set 0 (i32x4.add (local.get 0) (v128.const i32x4 {i} 0 0 0)))" for i in range(n))
    yield "distinct vector constants", f"(module (func (local v128) {vectors}))"
    yield "deep nesting", "(module (func " + "(block " * n + ")" * n + "))"
    yield "deep operand stack under local.set", \
        "(module (func (local i32) " + "(i32.const 1)" * n + "(local.set 0 (i32.const 2))" * n + "(drop)" * n + "))"
    body = "".join(f"(local.set 1 (i32.add (local.get 1) (i32.mul (local.get 0) (i32.const {i}))))" for i in range(n))
    yield "one huge function", f"(module (func (param i32) (result i32) (local i32) {body} (local.get 1)))"

def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "sidewinder-engine", "--example", "compile"],
                   cwd=root, check=True)
    exe = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target")), "release", "examples", "compile")
    print(f"| module (MB/s of module bytes, one thread, median of 3) | n = {n} | {4 * n} | {16 * n} |")
    print("|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        rows = {}
        for size in (n, 4 * n, 16 * n):
            for name, wat in modules(size):
                path = os.path.join(tmp, "m.wat")
                with open(path, "w") as f:
                    f.write(wat)
                run = subprocess.run([exe, path, "3", "1"], capture_output=True, text=True)
                if run.returncode != 0:
                    rows.setdefault(name, []).append("error")
                    print(f"  {name}, n = {size}: {run.stderr.strip()}", file=sys.stderr)
                    continue
                out = run.stdout.strip()
                rows.setdefault(name, []).append(out.split(", ")[-1].split(" MB/s")[0])
                print(f"  {name}, n = {size}: {out.split(': ', 1)[1]}", file=sys.stderr)
        for name, values in rows.items():
            print(f"| {name} | " + " | ".join(values) + " |")

if __name__ == "__main__":
    main()

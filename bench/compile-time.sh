#!/usr/bin/env bash
#===- compile-time.sh - moe-compile's time against a model's depth --------===#
#
# Times `moe-compile MODEL.json -o OUT` on stacks of L Mixtral-style blocks
# (rms_norm + moe + residual add; D=256, F=512, E=8, k=2, as in issue 11):
# L identical blocks, and L blocks of L distinct shapes (block i has
# F = 512 + 64 i). Identical blocks compile once (moe-outline-layers and
# duplicate-function-elimination), so their time should barely grow with
# L; distinct blocks should cost L times one block, not more. Prints each
# time (best of REPEAT runs) and its ratio to the one-block model.
#
# Usage: bench/compile-time.sh [BUILD_DIR] [DEPTHS] [REPEAT]
#        defaults: build 1,8,32 2
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
DEPTHS="${2:-1,8,32}"
REPEAT="${3:-2}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

stack() { # L identical|distinct
  python3 - "$1" "$2" <<'PY'
import json, sys
depth, kind = int(sys.argv[1]), sys.argv[2]
nodes, prev = [], "x"
for i in range(depth):
    f = 512 + (64 * i if kind == "distinct" else 0)
    out = "y" if i == depth - 1 else f"r{i}"
    nodes += [
        {"name": f"h{i}", "op": "rms_norm", "input": prev,
         "weight": f"layers.{i}.norm", "eps": 1e-5},
        {"name": f"m{i}", "op": "moe", "input": f"h{i}", "num_experts": 8,
         "top_k": 2, "intermediate_size": f,
         "router": {"weight": f"layers.{i}.router", "scoring": "softmax",
                    "normalize_top_k": True},
         "experts": {"activation": "silu", "gated": True,
                     "gate_proj": f"layers.{i}.{{e}}.w1",
                     "up_proj": f"layers.{i}.{{e}}.w3",
                     "down_proj": f"layers.{i}.{{e}}.w2"}},
        {"name": out, "op": "add", "inputs": [prev, f"m{i}"]}]
    prev = out
print(json.dumps({"format": "moe-graph", "version": 1,
                  "name": f"stack{depth}", "dtype": "f32",
                  "weights": {"init": "random", "seed": 1, "std": 0.02},
                  "inputs": [{"name": "x", "shape": ["tokens", 256]}],
                  "outputs": ["y"], "nodes": nodes}))
PY
}

# Best wall time of REPEAT compiles, in seconds.
compile_time() { # MODEL
  python3 - "$BUILD/bin/moe-compile" "$1" "$WORK/out" "$REPEAT" <<'PY'
import subprocess, sys, time
compiler, model, out, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
best = None
for _ in range(repeat):
    start = time.perf_counter()
    subprocess.run([compiler, model, "-o", out], check=True)
    elapsed = time.perf_counter() - start
    best = elapsed if best is None else min(best, elapsed)
print(f"{best:.2f}")
PY
}

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

stack 1 identical > "$WORK/one.json"
one=$(compile_time "$WORK/one.json")
echo "one block: ${one} s"
printf '%-10s %6s %14s %8s %14s %8s\n' kind L "identical (s)" "x one" "distinct (s)" "x one"
IFS=, read -ra depths <<<"$DEPTHS"
for depth in "${depths[@]}"; do
  stack "$depth" identical > "$WORK/same.json"
  stack "$depth" distinct > "$WORK/distinct.json"
  same=$(compile_time "$WORK/same.json")
  distinct=$(compile_time "$WORK/distinct.json")
  printf '%-10s %6d %14s %8s %14s %8s\n' stack "$depth" "$same" \
    "$(ratio "$same" "$one")" "$distinct" "$(ratio "$distinct" "$one")"
done

#!/usr/bin/env bash
#===- sparsity.sh - A sparse MoE layer's cost is set by k, not E ----------===#
#
# Compiles one MoE layer at fixed T, D, F and k with E = 8 and E = 64
# experts, and the same E = 8 layer with every expert running every token
# (k = E, the dense cost), then prints the times, their ratios and the
# throughput as a percentage of this machine's FP32 FMA peak.
#
# Usage: bench/sparsity.sh [BUILD_DIR] [TOKENS] [D] [F] [K]
#        defaults: build 256 512 1024 2
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
T="${2:-256}" D="${3:-512}" F="${4:-1024}" K="${5:-2}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

layer() { # NAME E K
  cat > "$WORK/$1.json" <<JSON
{"format": "moe-graph", "version": 1, "name": "$1",
 "weights": {"init": "random", "seed": 1, "std": 0.02},
 "inputs": [{"name": "x", "shape": ["tokens", $D]}], "outputs": ["y"],
 "nodes": [{"name": "y", "op": "moe", "input": "x", "num_experts": $2,
            "top_k": $3, "intermediate_size": $F,
            "router": {"weight": "r", "normalize_top_k": true},
            "experts": {"gate_proj": "g.{e}", "up_proj": "u.{e}",
                        "down_proj": "d.{e}"}}]}
JSON
  "$BUILD/bin/moe-compile" "$WORK/$1.json" -o "$WORK/$1"
  "$WORK/$1" --tokens "$T" --bench 5 | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'
}

peak=$("$BUILD/bin/machine-peak")
# The models run on every core (OpenMP), so the all-core peak is the limit.
gflops_peak=$(sed -n 's/.*fp32_fma_gflops_all=\([0-9.]*\).*/\1/p' <<<"$peak")
echo "machine: $peak"
echo "layer: T=$T D=$D F=$F k=$K, gated SiLU experts"

e8=$(layer sparse-e8 8 "$K")
e64=$(layer sparse-e64 64 "$K")
dense=$(layer dense-e8 8 8)

# FLOPs of the expert FFNs: 3 projections of 2*D*F per (token, expert).
awk -v t="$T" -v d="$D" -v f="$F" -v k="$K" -v e8="$e8" -v e64="$e64" \
    -v dense="$dense" -v peak="$gflops_peak" 'BEGIN {
  flops = 6.0 * d * f * t * k
  printf "E=8,  k=%d: %9.3f ms  %7.1f GFLOP/s  %5.1f%% of all-core FP32 peak\n", k, e8, flops / e8 / 1e6, 100 * flops / e8 / 1e6 / peak
  printf "E=64, k=%d: %9.3f ms  %7.1f GFLOP/s  %5.1f%% of all-core FP32 peak\n", k, e64, flops / e64 / 1e6, 100 * flops / e64 / 1e6 / peak
  printf "E=8,  every expert on every token (k=8): %9.3f ms\n", dense
  printf "ratio E=64 / E=8 (sparse, stays near 1): %.2f\n", e64 / e8
  printf "ratio dense / sparse E=8 (expected about %d): %.2f\n", 8 / k, dense / e8
}'

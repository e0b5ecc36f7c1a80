#!/usr/bin/env bash
#===- weight-dtypes.sh - BF16/F16 weights: half the bytes, same math ------===#
#
# Compiles one MoE layer three times, with its weights in F32, BF16 and F16
# safetensors files (the same values, rounded), and runs each at decode
# (T = 1, bound by the weight bytes read) and prefill (T = 512, bound by
# FMA throughput). Prints resident bytes, times, the ratios to F32, and
# the decode's weight read rate and the prefill's GFLOP/s as percentages of
# this machine's limits (build/bin/machine-peak). On a CPU with
# AVX512-BF16 a fourth row, BF16-dot, compiles the BF16 model with
# --bf16-dot (bf16 activations, vdpbf16ps: twice the multiply-adds of an
# f32 FMA per instruction, so up to 200% of the f32 FMA peak). On a CPU
# with AMX-BF16 a fifth, BF16-amx, compiles it with --amx (16-row tiles on
# the AMX tile unit), and its prefill is also given as a percentage of the
# AMX BF16 peak that machine-peak measures there. Where the CPU lacks
# either, the script says so.
#
# Usage: bench/weight-dtypes.sh [BUILD_DIR] [D] [F] [E] [K] [T]
#        defaults: build 1024 1536 8 2 512 (T: the prefill's tokens; S1 at
#        T=2048, the AMX target's row, is build 1024 3584 8 2 2048)
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
D="${2:-1024}" F="${3:-1536}" E="${4:-8}" K="${5:-2}" T="${6:-512}"
CONVERT="$ROOT/test/Integration/CPU/Inputs/convert-safetensors.py"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

model() { # WEIGHTS
  cat <<JSON
{"format": "moe-graph", "version": 1, "name": "dtypes",
 "weights": $1,
 "inputs": [{"name": "x", "shape": ["tokens", $D]}], "outputs": ["y"],
 "nodes": [{"name": "y", "op": "moe", "input": "x", "num_experts": $E,
            "top_k": $K, "intermediate_size": $F,
            "router": {"weight": "r", "normalize_top_k": true},
            "experts": {"gate_proj": "g", "up_proj": "u", "down_proj": "d"}}]}
JSON
}
model '{"init": "random", "seed": 1, "std": 0.02}' > "$WORK/random.json"
"$BUILD/bin/moe-reference" "$WORK/random.json" --make-weights "$WORK/F32.safetensors"
for dtype in BF16 F16; do
  python3 "$CONVERT" "$WORK/F32.safetensors" "$WORK/$dtype.safetensors" "$dtype"
done

peak=$("$BUILD/bin/machine-peak")
gflops_peak=$(sed -n 's/.*fp32_fma_gflops_all=\([0-9.]*\).*/\1/p' <<<"$peak")
amx_peak=$(sed -n 's/.*amx_bf16_gflops_all=\([0-9.]*\).*/\1/p' <<<"$peak")
read_peak=$(sed -n 's/.*read_gbps_all=\([0-9.]*\).*/\1/p' <<<"$peak")
echo "machine: $peak"
echo "layer: D=$D F=$F E=$E k=$K, gated SiLU experts"

median() { sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'; }
declare -A bytes decode prefill
variants=(F32 BF16 F16)
if grep -qw avx512_bf16 /proc/cpuinfo; then
  variants+=(BF16-dot)
else
  echo "BF16-dot: skipped, this CPU has no AVX512-BF16"
fi
if [[ -n $amx_peak ]]; then
  variants+=(BF16-amx)
else
  echo "BF16-amx: skipped, $(sed -n 's/.*amx_bf16=none (\(.*\))/\1/p' <<<"$peak")"
fi
for dtype in "${variants[@]}"; do
  weights=${dtype%-*} flags=()
  [[ $dtype == *-dot ]] && flags=(--bf16-dot)
  [[ $dtype == *-amx ]] && flags=(--amx)
  model "{\"file\": \"$weights.safetensors\"}" > "$WORK/$dtype.json"
  "$BUILD/bin/moe-compile" "$WORK/$dtype.json" "${flags[@]}" -o "$WORK/$dtype"
  bytes[$dtype]=$("$WORK/$dtype" --tokens 1 | sed -n 's/weights: \([0-9]*\) bytes resident/\1/p')
  decode[$dtype]=$("$WORK/$dtype" --tokens 1 --bench 20 | median)
  prefill[$dtype]=$("$WORK/$dtype" --tokens "$T" --bench 5 | median)
done

for dtype in "${variants[@]}"; do
  awk -v name="$dtype" -v bytes="${bytes[$dtype]}" -v dec="${decode[$dtype]}" \
      -v pre="${prefill[$dtype]}" -v f32bytes="${bytes[F32]}" \
      -v f32dec="${decode[F32]}" -v f32pre="${prefill[F32]}" \
      -v d="$D" -v f="$F" -v k="$K" -v e="$E" -v t="$T" \
      -v gpeak="$gflops_peak" -v rpeak="$read_peak" -v apeak="$amx_peak" 'BEGIN {
    # Decode reads the router and k experts (3 projections each).
    size = (name == "F32") ? 4 : 2
    active = (e * d + 3.0 * k * d * f) * size
    rate = active / dec / 1e6
    flops = 6.0 * d * f * t * k
    gflops = flops / pre / 1e6
    printf "%-8s resident %10d B (%.2fx F32) | decode %7.3f ms (%.2fx F32), %5.1f GB/s = %5.1f%% of read peak | prefill T=%d %8.2f ms (%.2fx F32), %6.1f GFLOP/s = %5.1f%% of FMA peak\n",
      name, bytes, bytes / f32bytes, dec, dec / f32dec, rate, 100 * rate / rpeak,
      t, pre, pre / f32pre, gflops, 100 * gflops / gpeak
    if (name == "BF16-amx")
      printf "%-8s prefill %6.1f GFLOP/s = %5.1f%% of the AMX BF16 peak (%.1f GFLOP/s)\n",
        "", gflops, 100 * gflops / apeak, apeak
  }'
done

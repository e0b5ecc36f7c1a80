#!/usr/bin/env bash
#===- gpu.sh - The NVPTX target's layers on a GPU, against PyTorch ---------===#
#
# Prepares, on the build machine, what a GPU machine without LLVM needs to
# benchmark the layers S1 (D=1024, F=3584, E=8, k=2) and S3 (D=4096,
# F=14336, E=8, k=2) with BF16 weights: their models, and executables
# compiled with moe-compile --target=nvptx (self-contained: they need the C
# and C++ libraries only), and S3 with a few other schedule options
# (variants.txt: name and --pipeline-options). On the GPU machine,
# gpu-run.py then writes the weights, measures the GPU's HBM bandwidth and BF16
# matmul peak with PyTorch, times the executables at T in {1, 16, 128, 512,
# 2048} and the same layers in PyTorch eager on the same GPU, and prints ms,
# % of HBM bandwidth (the bytes of the distinct experts a call reads), % of
# the BF16 peak, and PyTorch / this; then each S3 variant's ms and GEMM
# kernels' times against the default's.
#
# Usage: bench/gpu.sh [BUILD_DIR] [OUT_DIR] [GPU_ARCH]
#        defaults: build bench-gpu sm_90
#        then, on the GPU machine: python3 OUT_DIR/gpu-run.py OUT_DIR
#        (or scripts/gpu-device.sh, which runs the checks and this)
#
# The weights files it writes here are sparse (a header and a hole) and are
# removed once compiled: the compiler reads only their headers. gpu-run.py
# writes them on the GPU machine and passes them with --weights.
#
#===----------------------------------------------------------------------===#
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
OUT="${2:-bench-gpu}"
ARCH="${3:-sm_90}"
mkdir -p "$OUT"
python3 "$ROOT/bench/gpu-run.py" "$OUT" --prepare
for layer in S1 S3; do
  "$BUILD/bin/moe-compile" --target=nvptx --gpu-arch="$ARCH" \
    "$OUT/$layer.json" -o "$OUT/$layer"
done
# S3 again with other schedule options, each a variant that gpu-run.py
# times beside the default (S3-NAME): what a GPU session compares in one
# call. The likeliest to be fastest first (wgmma, staged W, then the
# decode variants, the f32 rows last): a run cut short by the device time
# keeps them.
VARIANTS=(
  "wgmma:wgmma=true"
  "wgmma-tma:wgmma=true tma-weights=true weight-chunks-ahead=2"
  "wgmma-tma-a:wgmma=true tma-weights=true tma-activations=true weight-chunks-ahead=2"
  "wgmma-tma-dec16-split4:wgmma=true tma-weights=true weight-chunks-ahead=2 decode-tokens=16 decode-options={split-k=4}"
  "wgmma-tma-a-dec16-split4:wgmma=true tma-weights=true tma-activations=true weight-chunks-ahead=2 decode-tokens=16 decode-options={split-k=4}"
  "wgmma-tma-deep:wgmma=true tma-weights=true wgmma-pending-chunks=1 weight-chunks-ahead=3"
  "wgmma-tma-a-deep:wgmma=true tma-weights=true tma-activations=true wgmma-pending-chunks=1 weight-chunks-ahead=3"
  "wgmma2-tma:wgmma=true warpgroups=2 tma-weights=true weight-chunks-ahead=2"
  "wgmma2-tma-a:wgmma=true warpgroups=2 tma-weights=true tma-activations=true weight-chunks-ahead=2"
  "wgmma-deep:wgmma=true wgmma-pending-chunks=1 weight-chunks-ahead=2"
  "wgmma2:wgmma=true warpgroups=2"
  "wgmma2-deep:wgmma=true warpgroups=2 wgmma-pending-chunks=1 weight-chunks-ahead=2"
  "wgmma-pending:wgmma=true wgmma-pending-chunks=1"
  "grid2-sw-ahead3:threads=256 row-block=64 warp-rows=2 stage-weights=true weight-chunks-ahead=3"
  "grid2-sw:threads=256 row-block=64 warp-rows=2 stage-weights=true"
  "split4:split-k=4"
  "dec16-split4:decode-tokens=16 decode-options={split-k=4}"
  "dec16-split4-ring4:decode-tokens=16 decode-options={split-k=4 weight-stages=4}"
  "dec16-split4-prefetch:decode-tokens=16 decode-options={split-k=4 prefetch-weights=true}"
  "split4-prefetch:split-k=4 prefetch-weights=true"
  "prefetch:prefetch-weights=true"
  "cb64:column-block=64"
  "prefetch-cb64:prefetch-weights=true column-block=64"
  "ring4:weight-stages=4"
  "ring4-split4:weight-stages=4 split-k=4"
  "cgroup8:column-group=8"
  "cgroup8-ring4:column-group=8 weight-stages=4"
  "grid2:threads=256 row-block=64 warp-rows=2"
  "grid2-prefetch:threads=256 row-block=64 warp-rows=2 prefetch-weights=true"
  "grid2-cgroup8:threads=256 row-block=64 warp-rows=2 column-group=8"
  "ring3:weight-stages=3"
  "min3:gemm-min-blocks-per-sm=3"
  "tile48:row-block=48 warp-tile-rows=48"
  "tile48-prefetch:row-block=48 warp-tile-rows=48 prefetch-weights=true"
  "unstaged:stage-activations=false"
  "wide:narrow-activations=false"
  "wgmma-wide:wgmma=true narrow-activations=false"
  "wgmma-async:wgmma=true narrow-activations=false copy-activations-async=true wgmma-pending-chunks=1 weight-chunks-ahead=2"
  "wgmma2-async:wgmma=true warpgroups=2 narrow-activations=false copy-activations-async=true wgmma-pending-chunks=1"
)
for variant in "${VARIANTS[@]}"; do
  arch="$ARCH"
  # wgmma is sm_90a's (H100 and H200): none for another GPU.
  if [[ "$variant" == *wgmma=true* ]]; then
    [[ "$ARCH" == sm_90* ]] || continue
    arch=sm_90a
  fi
  "$BUILD/bin/moe-compile" --target=nvptx --gpu-arch="$arch" \
    --pipeline-options="${variant#*:}" "$OUT/S3.json" -o "$OUT/S3-${variant%%:*}"
  echo "${variant%%:*} ${variant#*:}" >> "$OUT/variants.txt.new"
done
mv "$OUT/variants.txt.new" "$OUT/variants.txt"
cp "$ROOT/bench/gpu-run.py" "$OUT/gpu-run.py"
# gpu-run.py writes the weights where it runs: only the executables (1 MB
# or so each) and the script travel.
rm -f "$OUT"/*.safetensors
echo "gpu.sh: $OUT holds S1, S3 (--gpu-arch=$ARCH) and gpu-run.py;"
echo "        on the GPU machine: python3 $OUT/gpu-run.py $OUT"

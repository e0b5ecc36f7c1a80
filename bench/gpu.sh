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
# S3 again with the other schedules of gpu-variants.txt (name, then
# --pipeline-options), each a variant that gpu-run.py times beside the
# default (S3-NAME).
while read -r name options || [[ -n "$name" ]]; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  arch="$ARCH"
  # wgmma is sm_90a's (H100 and H200): none for another GPU.
  if [[ "$options" == *wgmma=true* ]]; then
    [[ "$ARCH" == sm_90* ]] || continue
    arch=sm_90a
  fi
  "$BUILD/bin/moe-compile" --target=nvptx --gpu-arch="$arch" \
    --pipeline-options="$options" "$OUT/S3.json" -o "$OUT/S3-$name" </dev/null
  echo "$name $options" >> "$OUT/variants.txt.new"
done < "$ROOT/bench/gpu-variants.txt"
mv "$OUT/variants.txt.new" "$OUT/variants.txt"
cp "$ROOT/bench/gpu-run.py" "$OUT/gpu-run.py"
# gpu-run.py writes the weights where it runs: only the executables (1 MB
# or so each) and the script travel.
rm -f "$OUT"/*.safetensors
echo "gpu.sh: $OUT holds S1, S3 (--gpu-arch=$ARCH) and gpu-run.py;"
echo "        on the GPU machine: python3 $OUT/gpu-run.py $OUT"

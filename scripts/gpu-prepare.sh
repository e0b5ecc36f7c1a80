#!/usr/bin/env bash
#===- gpu-prepare.sh - What a lent GPU runs, prepared and packed ----------===#
#
# Usage: scripts/gpu-prepare.sh [BUILD] [DIR] [ARCH]
#        defaults: build build-gpu sm_90
#
# Prepares here (LLVM 22, the CUDA toolkit) what scripts/gpu-device.sh runs
# on a GPU machine: DIR/check (scripts/gpu-check.sh: the examples and
# their expected outputs), DIR/bench (bench/gpu.sh: S1, S3 and the S3
# variants), and DIR.tar.xz of both. The device tool carries at most 64 MiB
# of ignored paths; the folders take about 83 MB, the archive about 13 MB.
# Then, with the device tool (carry DIR.tar.xz, timeout_s 560):
#
#   scripts/gpu-device.sh DIR.tar.xz $OUT 480
#
#===----------------------------------------------------------------------===#
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
DIR="${2:-build-gpu}"
ARCH="${3:-sm_90}"
rm -rf "$DIR" "$DIR.tar.xz"
mkdir -p "$DIR"
"$ROOT/scripts/gpu-check.sh" --bin "$BUILD/bin" "$DIR/check" "$ARCH"
"$ROOT/bench/gpu.sh" "$BUILD" "$DIR/bench" "$ARCH"
tar -C "$(dirname "$DIR")" -cJf "$DIR.tar.xz" "$(basename "$DIR")"
bytes=$(wc -c < "$DIR.tar.xz")
echo "gpu-prepare.sh: $DIR.tar.xz, $(( bytes / 1048576 )) MiB (the device tool carries 64 MiB)"
if (( bytes > 64 * 1048576 )); then
  echo "gpu-prepare.sh: error: $DIR.tar.xz is over the device tool's 64 MiB" >&2
  exit 1
fi

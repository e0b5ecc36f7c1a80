#!/usr/bin/env bash
#===- demo.sh - Set up, build, compile an example model and run it --------===#
#
# Usage: scripts/demo.sh [BUILD_DIR]     (default: build)
#
# Compiles examples/tiny-mixtral.json (two Mixtral-style MoE layers) ahead of
# time into an executable, runs it on a seeded random input, checks the
# output against the test-only reference implementation and times it.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${1:-$ROOT/build}"

"$ROOT/scripts/setup.sh" "$BUILD_DIR"
cmake --build "$BUILD_DIR" --target moe-compile moe-reference

MODEL="$ROOT/examples/tiny-mixtral.json"
OUT="$BUILD_DIR/examples/tiny-mixtral"
mkdir -p "$(dirname "$OUT")"
echo "== moe-compile $MODEL -o $OUT"
"$BUILD_DIR/bin/moe-compile" "$MODEL" -o "$OUT"
echo "== $OUT --tokens 16"
"$OUT" --tokens 16
echo "== compare with the reference implementation (T = 300)"
"$OUT" --tokens 300 --output "$OUT.y.npy"
"$BUILD_DIR/bin/moe-reference" "$MODEL" --tokens 300 --compare "$OUT.y.npy"
echo "== $OUT --tokens 300 --bench 20"
"$OUT" --tokens 300 --bench 20 | head -n 1

#!/usr/bin/env bash
#===- demo.sh - Set up, build, compile an example model and run it --------===#
#
# Usage: scripts/demo.sh [BUILD_DIR]     (default: build)
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${1:-$ROOT/build}"

"$ROOT/scripts/setup.sh" "$BUILD_DIR"
cmake --build "$BUILD_DIR" --target moe-opt

EXAMPLE="$ROOT/examples/tiny-mixtral-layer.mlir"
echo "== $EXAMPLE through moe-cpu-pipeline"
"$BUILD_DIR/bin/moe-opt" "$EXAMPLE" --moe-cpu-pipeline

#!/usr/bin/env bash
#===- test.sh - Set up, build and run the whole moe-mlir test suite -------===#
#
# Usage: scripts/test.sh [BUILD_DIR]     (default: build)
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${1:-$ROOT/build}"

"$ROOT/scripts/setup.sh" "$BUILD_DIR"
cmake --build "$BUILD_DIR" --target check-moe

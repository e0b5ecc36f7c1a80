#!/usr/bin/env bash
#===- test.sh - Set up, build and run the whole moe-mlir test suite -------===#
#
# Usage: scripts/test.sh [--quick]
#
# 1. build/: the lit suite (check-moe).
# 2. build-sanitize/: the same suite with the project built under
#    AddressSanitizer + UndefinedBehaviorSanitizer, compiled models with
#    MLIR's runtime verification (the random sweeps' first configurations,
#    and not the NVPTX tensor-cores, gpu-check, variant-launches and staging-depth tests, there: see
#    test/lit.cfg.py; CI has 90 minutes on 2 cores), then each libFuzzer
#    target for
#    $MOE_FUZZ_SECONDS (default 30) seconds.
# --quick (or MOE_TEST_QUICK=1) runs step 1 only.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUICK="${MOE_TEST_QUICK:-0}"
[[ "${1:-}" == "--quick" ]] && QUICK=1

"$ROOT/scripts/setup.sh" "$ROOT/build"
cmake --build "$ROOT/build" --target check-moe

if [[ "$QUICK" != 1 ]]; then
  SANITIZE_DIR="$ROOT/build-sanitize"
  "$ROOT/scripts/setup.sh" "$SANITIZE_DIR" -DMOE_SANITIZE=ON
  cmake --build "$SANITIZE_DIR" --target check-moe moe-fuzzers
  "$ROOT/scripts/fuzz.sh" "$SANITIZE_DIR" "${MOE_FUZZ_SECONDS:-30}"
fi

#!/usr/bin/env bash
#===- fuzz.sh - Run the libFuzzer targets for a bounded time --------------===#
#
# Usage: scripts/fuzz.sh BUILD_DIR [SECONDS_PER_TARGET]   (default 60)
#
# BUILD_DIR must be a sanitizer build (scripts/setup.sh DIR -DMOE_SANITIZE=ON)
# with the `moe-fuzzers` target built. Each target starts from its seed
# corpus in test/fuzz/corpus/<target>/ (never modified: new inputs go to a
# scratch corpus) and runs for the given time, with LeakSanitizer on (only
# test/lsan.supp's reviewed entries are suppressed); a crash or a leak
# leaves its input in BUILD_DIR/fuzz-artifacts/ and fails the script. Keep
# such an input in the target's corpus as crash-NAME: lit replays every
# corpus file (test/fuzz/replay-corpus.test). A longer run:
#
#   scripts/fuzz.sh build-sanitize 3600
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${1:?usage: scripts/fuzz.sh BUILD_DIR [SECONDS]}"
SECONDS_PER_TARGET="${2:-60}"
ARTIFACTS="$BUILD_DIR/fuzz-artifacts"
mkdir -p "$ARTIFACTS"

status=0
for target in model-json safetensors npy moe-ir; do
  fuzzer="$BUILD_DIR/bin/fuzz-$target"
  seeds="$ROOT/test/fuzz/corpus/$target"
  scratch="$(mktemp -d)"
  log="$ARTIFACTS/fuzz-$target.log"
  if ASAN_OPTIONS=detect_leaks=1:allow_user_poisoning=0 \
      LSAN_OPTIONS="suppressions=$ROOT/test/lsan.supp:print_suppressions=0" \
      "$fuzzer" "$scratch" "$seeds" \
      -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -timeout=20 \
      -rss_limit_mb=4096 -print_final_stats=1 \
      -artifact_prefix="$ARTIFACTS/$target-" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  echo "fuzz-$target: ${runs:-?} executions in ${SECONDS_PER_TARGET}s: $result"
  [[ $result == ok ]] || tail -n 30 "$log"
  rm -rf "$scratch"
done
exit $status

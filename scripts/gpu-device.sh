#!/usr/bin/env bash
#===- gpu-device.sh - The prepared GPU checks and benchmark, on a GPU -----===#
#
# Usage: scripts/gpu-device.sh PREPARED OUT [SECONDS]
#
# Runs, on a GPU machine (the device tool's has CUDA, PyTorch and numpy but
# no LLVM), what was prepared here by scripts/gpu-prepare.sh (PREPARED: its
# folder, or its .tar.xz, which is unpacked into a temporary folder), that
# is by
#
#   scripts/gpu-check.sh PREPARED/check sm_90
#   bench/gpu.sh build PREPARED/bench sm_90
#
# within about SECONDS (default 480), and writes what it finds under OUT,
# the only folder the device tool brings back (its reply keeps only the last
# 12,000 characters of the output):
#
# - OUT/gpu.txt: the GPU and driver (nvidia-smi);
# - OUT/gpu-check.txt: gpu-check.py's line per output, each run at most 60 s;
# - OUT/gpu-run.txt and OUT/bench-gpu.json: bench/gpu-run.py's benchmark,
#   the JSON rewritten after every row, no executable started past the
#   deadline (what was left is listed as skipped);
# - OUT/ncu-VARIANT-TTOKENS.txt: Nsight Compute's reports on the expert
#   GEMMs of the default and of the fastest schedule at 1 and 2,048 tokens
#   (where ncu is installed; gpu-run.py summarizes each kernel in a line);
# - OUT/racecheck.txt: compute-sanitizer's racecheck on the staged
#   pipelines (cp.async groups, wgmma waits and barriers, which the host
#   checks do not see), in the time left.
#
# It prints each part's summary and exits 1 where a check failed.
# Environment: PYTHON (python3), COMPUTE_SANITIZER (compute-sanitizer, else
# the toolkit's), RACECHECK_CASES (the check cases racecheck runs).
#
#===----------------------------------------------------------------------===#
set -uo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: scripts/gpu-device.sh PREPARED OUT [SECONDS]" >&2
  exit 2
fi
PREPARED="$1"
OUT="$2"
SECONDS_ALLOWED="${3:-480}"
PYTHON="${PYTHON:-python3}"
START=$(date +%s)
mkdir -p "$OUT"
if [[ -f "$PREPARED" ]]; then
  # An archive of the prepared folder (the device tool's carry limit).
  unpacked="$(mktemp -d)"
  "$PYTHON" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
    "$PREPARED" "$unpacked" || { echo "gpu-device: cannot unpack $PREPARED"; exit 1; }
  PREPARED="$(find "$unpacked" -mindepth 1 -maxdepth 1 -type d | head -1)"
fi
left() { echo $(( SECONDS_ALLOWED - ($(date +%s) - START) )); }
status=0

nvidia-smi 2>/dev/null --query-gpu=name,driver_version,memory.total,clocks.max.sm \
  --format=csv > "$OUT/gpu.txt" 2>&1 || echo "nvidia-smi failed" >> "$OUT/gpu.txt"
cat "$OUT/gpu.txt"

# 1. Every example against the reference.
if [[ -f "$PREPARED/check/cases.json" ]]; then
  "$PYTHON" "$PREPARED/check/gpu-check.py" "$PREPARED/check" --timeout 60 \
    > "$OUT/gpu-check.txt" 2>&1 || status=1
  grep -E "FAIL|MISMATCH|^gpu-check:" "$OUT/gpu-check.txt" | head -40
  tail -1 "$OUT/gpu-check.txt" | grep -q "^gpu-check:" || tail -5 "$OUT/gpu-check.txt"
else
  echo "gpu-device: no $PREPARED/check/cases.json (scripts/gpu-check.sh)"
  status=1
fi

# 2. The benchmark, leaving a minute for the race check.
if [[ -f "$PREPARED/bench/gpu-run.py" ]]; then
  budget=$(( $(left) - 60 ))
  (( budget < 30 )) && budget=30
  "$PYTHON" "$PREPARED/bench/gpu-run.py" "$PREPARED/bench" --out "$OUT" \
    --deadline "$budget" --timeout 90 > "$OUT/gpu-run.txt" 2>&1 || status=1
  # The layers against PyTorch, the variants at 1 and 2,048 tokens, the
  # fastest schedule at each count, ncu's summaries, and what failed.
  grep -E "^(gpu|peaks|S[13] T=|S3 fastest|gpu-run)|T=(1|2048) .*default/this| ncu |FAIL" \
    "$OUT/gpu-run.txt" | head -140
else
  echo "gpu-device: no $PREPARED/bench/gpu-run.py (bench/gpu.sh)"
  status=1
fi

# 3. Shared-memory races in the staged pipelines, as time allows.
SANITIZER="${COMPUTE_SANITIZER:-compute-sanitizer}"
command -v "$SANITIZER" > /dev/null || SANITIZER=/usr/local/cuda/bin/compute-sanitizer
if [[ ! -x "$(command -v "$SANITIZER")" ]]; then
  echo "gpu-device: racecheck skipped: no compute-sanitizer" | tee "$OUT/racecheck.txt"
elif (( $(left) < 20 )); then
  echo "gpu-device: racecheck skipped: no time left" | tee "$OUT/racecheck.txt"
else
  cases=${RACECHECK_CASES:-tensor-cores-bf16-deep-wgmma-ahead2,tensor-cores-bf16-deep-wgmma2-async,tensor-cores-bf16-deep,tensor-cores-bf16-grid-sw,tensor-cores-bf16-ring}
  timeout "$(left)" "$PYTHON" "$PREPARED/check/gpu-check.py" "$PREPARED/check" \
    --only "$cases" --timeout 120 \
    --wrap "$SANITIZER --tool racecheck --error-exitcode 3" \
    > "$OUT/racecheck.txt" 2>&1 || status=1
  grep -E "FAIL|MISMATCH|^gpu-check:" "$OUT/racecheck.txt" | head -20
  tail -1 "$OUT/racecheck.txt" | grep -q "^gpu-check:" ||
    echo "gpu-device: racecheck cut off at the deadline (see racecheck.txt)"
fi
echo "gpu-device: $(( $(date +%s) - START )) s; exit $status; results in $OUT"
exit $status

#!/usr/bin/env bash
#===- gpu-check.sh - Examples for a GPU machine, with expected outputs ----===#
#
# Usage: scripts/gpu-check.sh [--host] [--only NAME,...] [--bin DIR] OUT [ARCH]
#
# Prepares, here (LLVM 22, the CUDA toolkit), what a GPU machine without
# LLVM needs to check the NVPTX target's numbers, the checks of
# gpu-examples.test:
#
# - OUT/NAME: every example and routing family (examples/, each moe node
#   exposed as an output), a layer with BF16 weights on tensor cores, and
#   tiny-mixtral with --gpu-tf32, compiled with --target=nvptx for ARCH
#   (the BF16 layer also without shared-memory staging, with its W groups
#   prefetched, with its matmuls' K split in slices, with warp tiles of
#   48 rows, with its W groups through a ring in shared memory, and with
#   column blocks in groups; a deeper BF16 layer by default and with the
#   deeper pipelines of staged chunks, and with W by TMA)
#   (default sm_90); self-contained executables; a few of them are also
#   run with --cuda-graphs;
# - OUT/NAME.expected-T/: the reference's outputs (moe-reference, rounding
#   as the tensor cores do where they run) at T = 1 and 300 tokens;
# - OUT/cases.json: how to run each and the tolerance;
# - OUT/gpu-check.py, which runs them on the GPU and compares.
#
# On the GPU machine: python3 OUT/gpu-check.py OUT
#
# --host compiles with --gpu-host-semantics instead (the GPU schedule run on
# this CPU), which checks this script and gpu-check.py without a GPU
# (gpu-check.test). --only takes a comma-separated list of case names.
# --bin names the directory of moe-compile and moe-reference (default
# build/bin).
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOST=0
ONLY=""
BIN="$ROOT/build/bin"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --host) HOST=1; shift ;;
    --only) ONLY="$2"; shift 2 ;;
    --bin) BIN="$2"; shift 2 ;;
    -*) echo "gpu-check.sh: unknown option '$1'" >&2; exit 2 ;;
    *) break ;;
  esac
done
if [[ $# -lt 1 ]]; then
  echo "usage: scripts/gpu-check.sh [--host] [--only NAME,...] [--bin DIR] OUT [ARCH]" >&2
  exit 2
fi
OUT="$1"
ARCH="${2:-sm_90}"
INPUTS="$ROOT/test/Integration/CPU/Inputs"
PYTHON="${PYTHON:-python3}"
TARGET=(--target=nvptx --gpu-arch="$ARCH")
if [[ "$HOST" == 1 ]]; then
  TARGET=(--target=nvptx --gpu-host-semantics)
fi
mkdir -p "$OUT"
CASES=()

wanted() {
  [[ -z "$ONLY" ]] && return 0
  [[ ",$ONLY," == *",$1,"* ]]
}

# prepare NAME MODEL.json RTOL [--compile FLAG]... [--reference FLAG]...
#         [--weights FILE] [--arch GPU_ARCH]
#   (in OUT; weights default NAME.safetensors where it is; --arch in place
#   of ARCH, on a GPU)
prepare() {
  local name="$1" model="$2" rtol="$3"
  shift 3
  wanted "$name" || return 0
  local compile_flags=() reference_flags=() weights="" target=("${TARGET[@]}")
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --compile) compile_flags+=("$2") ;;
      --reference) reference_flags+=("$2") ;;
      --weights) weights="$2" ;;
      --arch) [[ "$HOST" == 1 ]] || target=(--target=nvptx --gpu-arch="$2") ;;
    esac
    shift 2
  done
  local flat="${name//\//-}"
  "$PYTHON" "$INPUTS/expose-outputs.py" "$model" "$OUT/$flat.json"
  "$BIN/moe-compile" "${target[@]}" ${compile_flags[@]+"${compile_flags[@]}"} \
    "$OUT/$flat.json" -o "$OUT/$flat"
  if [[ -z "$weights" && -f "$OUT/$flat.safetensors" ]]; then
    weights="$flat.safetensors"
  fi
  local args=()
  if [[ -n "$weights" ]]; then
    args=(--weights "$weights")
  fi
  for tokens in 1 300; do
    rm -rf "$OUT/$flat.expected-$tokens"
    "$BIN/moe-reference" "$OUT/$flat.json" ${reference_flags[@]+"${reference_flags[@]}"} \
      --tokens "$tokens" --seed 3 --outputs "$OUT/$flat.expected-$tokens"
    CASES+=("$("$PYTHON" -c 'import json, sys; print(json.dumps({"name": sys.argv[1], "tokens": int(sys.argv[2]), "rtol": float(sys.argv[3]), "args": sys.argv[4:]}))' \
      "$flat" "$tokens" "$rtol" ${args[@]+"${args[@]}"})")
  done
}

for model in "$ROOT"/examples/*.json "$ROOT"/examples/families/*.json; do
  name="$(basename "$model" .json)"
  prepare "$name" "$model" 1e-4
done

# BF16 weights on tensor cores: tiny-mixtral's layer with its weights
# written out and rounded to BF16, checked against the reference that
# rounds the same inputs, to one bf16 rounding (tensor-cores.test).
if wanted tensor-cores-bf16 || wanted tensor-cores-bf16-unstaged ||
   wanted tensor-cores-bf16-prefetch || wanted tensor-cores-bf16-split ||
   wanted tensor-cores-bf16-tile48 || wanted tensor-cores-bf16-ring ||
   wanted tensor-cores-bf16-cgroup || wanted tensor-cores-bf16-grid ||
   wanted tensor-cores-bf16-grid-sw || wanted tensor-cores-bf16-wgmma ||
   wanted tensor-cores-bf16-wgmma2; then
  "$PYTHON" "$INPUTS/expose-outputs.py" "$ROOT/examples/tiny-mixtral.json" \
    "$OUT/tensor-cores-bf16-f32.json"
  "$BIN/moe-reference" "$OUT/tensor-cores-bf16-f32.json" \
    --make-weights "$OUT/tensor-cores-bf16-f32.safetensors"
  "$PYTHON" "$INPUTS/convert-safetensors.py" \
    "$OUT/tensor-cores-bf16-f32.safetensors" "$OUT/tensor-cores-bf16.safetensors" BF16
  "$PYTHON" "$INPUTS/expose-outputs.py" "$OUT/tensor-cores-bf16-f32.json" \
    "$OUT/tensor-cores-bf16-model.json" \
    --set "weights={\"file\": \"$(cd "$OUT" && pwd)/tensor-cores-bf16.safetensors\"}"
  rm -f "$OUT/tensor-cores-bf16-f32.json" "$OUT/tensor-cores-bf16-f32.safetensors"
fi
prepare tensor-cores-bf16 "$OUT/tensor-cores-bf16-model.json" 4e-3 \
  --reference --tensor-cores
# The same with the activations read from memory by each warp, not staged
# in shared memory by the block: where the staged kernels fail on a GPU,
# this one tells whether the staging is why.
prepare tensor-cores-bf16-unstaged "$OUT/tensor-cores-bf16-model.json" 4e-3 \
  --compile --pipeline-options=stage-activations=false \
  --reference --tensor-cores --weights tensor-cores-bf16.safetensors
# The same with each step's next W groups loaded before its mma.syncs
# (prefetch-weights, off by default until timed).
prepare tensor-cores-bf16-prefetch "$OUT/tensor-cores-bf16-model.json" 4e-3 \
  --compile --pipeline-options=prefetch-weights=true \
  --reference --tensor-cores --weights tensor-cores-bf16.safetensors
# The same with each matmul's K in independent slices and a sum (split-k,
# off by default until timed; split-k-min=64 reaches this small layer).
prepare tensor-cores-bf16-split "$OUT/tensor-cores-bf16-model.json" 4e-3 \
  --compile --pipeline-options="split-k=4 split-k-min=64" \
  --reference --tensor-cores --weights tensor-cores-bf16.safetensors
# The same with warp tiles of 48 rows (warp-tile-rows, row blocks as tall).
prepare tensor-cores-bf16-tile48 "$OUT/tensor-cores-bf16-model.json" 4e-3 \
  --compile --pipeline-options="row-block=48 warp-tile-rows=48" \
  --reference --tensor-cores --weights tensor-cores-bf16.safetensors
# The same with the block's warps in a grid of 2 rows (warp-rows, off by
# default until timed: 8 warps, 64 x 128 blocks, the block's rows staged
# for the warps' windows).
prepare tensor-cores-bf16-grid "$OUT/tensor-cores-bf16-model.json" 4e-3 \
  --compile --pipeline-options="threads=256 row-block=64 warp-rows=2" \
  --reference --tensor-cores --weights tensor-cores-bf16.safetensors
# The same grid with the block's W rows staged beside A (stage-weights,
# off by default until timed: cp.async a chunk ahead, dynamic shared
# memory for the gated kernel's two weights).
prepare tensor-cores-bf16-grid-sw "$OUT/tensor-cores-bf16-model.json" 4e-3 \
  --compile --pipeline-options="threads=256 row-block=64 warp-rows=2 stage-weights=true" \
  --reference --tensor-cores --weights tensor-cores-bf16.safetensors
# The same as one warpgroup a block on wgmma (wgmma=true, off by default
# until timed; sm_90a, so only where ARCH is an sm_90: H100 and H200).
if [[ "$HOST" == 1 || "$ARCH" == sm_90* ]]; then
  prepare tensor-cores-bf16-wgmma "$OUT/tensor-cores-bf16-model.json" 4e-3 \
    --compile --pipeline-options=wgmma=true --arch sm_90a \
    --reference --tensor-cores --weights tensor-cores-bf16.safetensors
  # Two warpgroups a block (128 rows, W staged once for both).
  prepare tensor-cores-bf16-wgmma2 "$OUT/tensor-cores-bf16-model.json" 4e-3 \
    --compile --pipeline-options="wgmma=true warpgroups=2" --arch sm_90a \
    --reference --tensor-cores --weights tensor-cores-bf16.safetensors
fi
# A layer of more chunks of K (D = 320: 5 chunks of 64, F = 200: a last
# part-chunk; ragged 128-column blocks), BF16, for the deeper pipelines of
# staged chunks (weight-chunks-ahead, wgmma-pending-chunks,
# copy-activations-async; off by default until timed), beside its default
# kernels (narrowed activations: bf16 rows for the routed gate and up and
# the down projections) and those with f32 rows (narrow-activations=false).
DEEP_CASES=(tensor-cores-bf16-deep tensor-cores-bf16-deep-wide
  tensor-cores-bf16-deep-grid-ahead3
  tensor-cores-bf16-deep-wgmma-ahead2 tensor-cores-bf16-deep-wgmma2-async
  tensor-cores-bf16-deep-wgmma-tma tensor-cores-bf16-deep-wgmma2-tma
  tensor-cores-bf16-deep-wgmma-tma-a tensor-cores-bf16-deep-wgmma2-tma-a-wide
  tensor-cores-bf16-deep-wgmma2-tma-a-empty)
deep_wanted=0
for name in "${DEEP_CASES[@]}"; do
  wanted "$name" && deep_wanted=1
done
if [[ "$deep_wanted" == 1 ]]; then
  "$PYTHON" - "$OUT/tensor-cores-bf16-deep-f32.json" <<'PY'
import json, sys
json.dump({"format": "moe-graph", "version": 1, "name": "deep",
           "weights": {"init": "random", "seed": 6, "std": 0.05},
           "inputs": [{"name": "x", "shape": ["tokens", 320]}],
           "outputs": ["m", "y"],
           "nodes": [{"name": "m", "op": "moe", "input": "x", "num_experts": 8,
                      "top_k": 2, "intermediate_size": 200,
                      "router": {"weight": "r", "normalize_top_k": True},
                      "experts": {"gate_proj": "g{e}", "up_proj": "u{e}",
                                  "down_proj": "d{e}"},
                      "shared_experts": {"intermediate_size": 32,
                                         "gate_proj": "sg", "up_proj": "su",
                                         "down_proj": "sd"}},
                     {"name": "y", "op": "add", "inputs": ["x", "m"]}]},
          open(sys.argv[1], "w"))
PY
  "$BIN/moe-reference" "$OUT/tensor-cores-bf16-deep-f32.json" \
    --make-weights "$OUT/tensor-cores-bf16-deep-f32.safetensors"
  "$PYTHON" "$INPUTS/convert-safetensors.py" \
    "$OUT/tensor-cores-bf16-deep-f32.safetensors" "$OUT/tensor-cores-bf16-deep.safetensors" BF16
  "$PYTHON" "$INPUTS/expose-outputs.py" "$OUT/tensor-cores-bf16-deep-f32.json" \
    "$OUT/tensor-cores-bf16-deep-model.json" \
    --set "weights={\"file\": \"$(cd "$OUT" && pwd)/tensor-cores-bf16-deep.safetensors\"}"
  rm -f "$OUT/tensor-cores-bf16-deep-f32.json" "$OUT/tensor-cores-bf16-deep-f32.safetensors"
fi
prepare tensor-cores-bf16-deep "$OUT/tensor-cores-bf16-deep-model.json" 4e-3 \
  --reference --tensor-cores
prepare tensor-cores-bf16-deep-wide "$OUT/tensor-cores-bf16-deep-model.json" 4e-3 \
  --compile --pipeline-options="narrow-activations=false" \
  --reference --tensor-cores --weights tensor-cores-bf16-deep.safetensors
prepare tensor-cores-bf16-deep-grid-ahead3 "$OUT/tensor-cores-bf16-deep-model.json" 4e-3 \
  --compile --pipeline-options="threads=256 row-block=64 warp-rows=2 stage-weights=true weight-chunks-ahead=3" \
  --reference --tensor-cores --weights tensor-cores-bf16-deep.safetensors
if [[ "$HOST" == 1 || "$ARCH" == sm_90* ]]; then
  prepare tensor-cores-bf16-deep-wgmma-ahead2 "$OUT/tensor-cores-bf16-deep-model.json" 4e-3 \
    --compile --pipeline-options="wgmma=true wgmma-pending-chunks=1 weight-chunks-ahead=2" --arch sm_90a \
    --reference --tensor-cores --weights tensor-cores-bf16-deep.safetensors
  prepare tensor-cores-bf16-deep-wgmma2-async "$OUT/tensor-cores-bf16-deep-model.json" 4e-3 \
    --compile --pipeline-options="wgmma=true warpgroups=2 narrow-activations=false copy-activations-async=true wgmma-pending-chunks=1" --arch sm_90a \
    --reference --tensor-cores --weights tensor-cores-bf16-deep.safetensors
  # W by TMA (tma-weights): tensor maps, mbarriers, 128-byte swizzled
  # boxes; off by default until timed.
  prepare tensor-cores-bf16-deep-wgmma-tma "$OUT/tensor-cores-bf16-deep-model.json" 4e-3 \
    --compile --pipeline-options="wgmma=true tma-weights=true wgmma-pending-chunks=1 weight-chunks-ahead=2" --arch sm_90a \
    --reference --tensor-cores --weights tensor-cores-bf16-deep.safetensors
  prepare tensor-cores-bf16-deep-wgmma2-tma "$OUT/tensor-cores-bf16-deep-model.json" 4e-3 \
    --compile --pipeline-options="wgmma=true warpgroups=2 tma-weights=true weight-chunks-ahead=3" --arch sm_90a \
    --reference --tensor-cores --weights tensor-cores-bf16-deep.safetensors
  # A by TMA too (tma-activations): A's boxes beside W's, no cp.async.
  prepare tensor-cores-bf16-deep-wgmma-tma-a "$OUT/tensor-cores-bf16-deep-model.json" 4e-3 \
    --compile --pipeline-options="wgmma=true tma-weights=true tma-activations=true wgmma-pending-chunks=1 weight-chunks-ahead=2" --arch sm_90a \
    --reference --tensor-cores --weights tensor-cores-bf16-deep.safetensors
  # The down projection on wide tiles (wgmma-wide-ungated: m64n256k16, a
  # block of 256 columns and a ragged one of 64).
  prepare tensor-cores-bf16-deep-wgmma2-tma-a-wide "$OUT/tensor-cores-bf16-deep-model.json" 4e-3 \
    --compile --pipeline-options="wgmma=true warpgroups=2 tma-weights=true tma-activations=true weight-chunks-ahead=2 wgmma-wide-ungated=true" --arch sm_90a \
    --reference --tensor-cores --weights tensor-cores-bf16-deep.safetensors
  # Empty mbarriers in place of the block barrier a chunk
  # (tma-empty-barriers): the warps meet only after the loop.
  prepare tensor-cores-bf16-deep-wgmma2-tma-a-empty "$OUT/tensor-cores-bf16-deep-model.json" 4e-3 \
    --compile --pipeline-options="wgmma=true warpgroups=2 tma-weights=true tma-activations=true weight-chunks-ahead=2 wgmma-pending-chunks=1 tma-empty-barriers=true" --arch sm_90a \
    --reference --tensor-cores --weights tensor-cores-bf16-deep.safetensors
fi
# The same with each warp's W groups copied by cp.async into a ring of
# stages in shared memory (weight-stages, off by default until timed).
prepare tensor-cores-bf16-ring "$OUT/tensor-cores-bf16-model.json" 4e-3 \
  --compile --pipeline-options=weight-stages=3 \
  --reference --tensor-cores --weights tensor-cores-bf16.safetensors
# The same with column blocks in groups (column-group, off by default until
# timed; column blocks of 32 give tiny-mixtral's layer several).
prepare tensor-cores-bf16-cgroup "$OUT/tensor-cores-bf16-model.json" 4e-3 \
  --compile --pipeline-options="column-block=32 column-group=3" \
  --reference --tensor-cores --weights tensor-cores-bf16.safetensors
# The same with a decode version of the layer (decode-tokens, off by
# default until timed): 1 token runs the version, its K in 4 slices and W
# through a ring of 3 stages; 300 tokens the layer as compiled without.
prepare tensor-cores-bf16-decode "$OUT/tensor-cores-bf16-model.json" 4e-3 \
  --compile --pipeline-options="decode-tokens=4 decode-options={split-k=4 split-k-min=64 weight-stages=3}" \
  --reference --tensor-cores --weights tensor-cores-bf16.safetensors
rm -f "$OUT/tensor-cores-bf16-model.json"

# F32 weights on TF32 tensor cores (tf32.test).
prepare tiny-mixtral-tf32 "$ROOT/examples/tiny-mixtral.json" 5e-4 \
  --compile --gpu-tf32 --reference --tf32

# The same executables with --cuda-graphs, whose run is captured into a
# CUDA graph and then launched as one (the host semantics' executables run
# on the CPU, which has no graphs): two layers and a model function
# (tiny-mixtral), group-limited routing with shared experts (deepseek-v3),
# and the BF16 layer with a W ring in dynamic shared memory.
GRAPH_NAMES=""
if [[ "$HOST" == 0 ]]; then
  GRAPH_NAMES="tiny-mixtral deepseek-v3 tensor-cores-bf16-ring"
fi

COUNT="$("$PYTHON" -c 'import json, sys
cases = [json.loads(c) for c in sys.argv[3:]]
graphs = sys.argv[2].split()
cases += [dict(c, args=c["args"] + ["--cuda-graphs"]) for c in cases
          if c["name"] in graphs]
json.dump(cases, open(sys.argv[1], "w"), indent=1)
print(len(cases))' "$OUT/cases.json" "$GRAPH_NAMES" ${CASES[@]+"${CASES[@]}"})"
cp "$ROOT/scripts/gpu-check.py" "$OUT/gpu-check.py"
echo "gpu-check.sh: $OUT holds $COUNT cases ($( [[ "$HOST" == 1 ]] && echo "host semantics" || echo "--gpu-arch=$ARCH"));"
echo "              on the GPU machine: python3 $OUT/gpu-check.py $OUT"

#!/usr/bin/env bash
#===- layers.sh - The MoE layers S1, S2, S3 against the machine and PyTorch -===#
#
# Measures this machine's FP32 FMA peak and read bandwidth
# (build/bin/machine-peak), then compiles and times three sparse MoE
# layers at several token counts, each with seeded random f32 weights and
# inputs that rotate between calls (so the routing varies, as in decoding):
#
#   S1  D=1024 F=3584  E=8  k=2   (Mixtral-like)    T = 1 16 128 512 2048
#   S2  D=1024 F=512   E=64 k=8   (fine-grained)    T = 1 16 128 512 2048
#   S3  D=4096 F=14336 E=8  k=2   (Mixtral 8x7B)    T = 1 16 128
#
# For each it prints ms per call, GFLOP/s, % of the FMA peak and % of the
# read-bandwidth bound (the time to read the weights of the distinct
# experts the T tokens touch, E (1 - (1 - k/E)^T) for uniform routing, and
# the router), then the same layer in PyTorch eager (Debian's python3-torch,
# installed when missing) and the ratio. Everything also goes to a JSON file.
#
# On a shared machine a neighbour can slow one run by a fifth: --repeat N
# runs each side N times, alternating, and keeps each token count's fastest
# median.
#
# Usage: bench/layers.sh [BUILD_DIR] [--layers S1,S2,S3] [--json FILE] [--repeat N]
#                        [--no-torch] [--calls N]
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
if [[ $# -gt 0 && "$1" != --* ]]; then
  BUILD="$1"
  shift
fi
# Debian's python3-torch belongs to Debian's interpreter (another python3
# may come first on PATH).
PYTHON=/usr/bin/python3
[[ -x $PYTHON ]] || PYTHON=python3
# PyTorch's matmuls go through the system BLAS: without OpenBLAS, Debian's
# reference BLAS makes PyTorch tens of times slower than it is.
if [[ " $* " != *" --no-torch "* ]] &&
   { ! "$PYTHON" -c "import torch" 2>/dev/null ||
     ! dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q "ok installed"; }; then
  echo "layers.sh: installing python3-torch and OpenBLAS (Debian) for the PyTorch comparison"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends python3-torch libopenblas0-pthread >/dev/null
fi
exec "$PYTHON" "$ROOT/bench/layers.py" --build "$BUILD" "$@"

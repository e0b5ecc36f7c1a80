# Compares two float32 .npy files as `moe-reference --compare` does:
# same shape, NaNs at the same places, and
# max|a - b| / max(max|b|, 1e-6) <= rtol (b is the reference).
# Pure Python, so the tests need nothing beyond lit.
#
#   compare-npy.py ACTUAL.npy EXPECTED.npy [--rtol 1e-4]
import argparse
import math
import sys

from npyio import load_npy


parser = argparse.ArgumentParser()
parser.add_argument("actual")
parser.add_argument("expected")
parser.add_argument("--rtol", type=float, default=1e-4)
args = parser.parse_args()
shape_a, a = load_npy(args.actual)
shape_b, b = load_npy(args.expected)
if shape_a != shape_b:
    sys.exit("shape %s differs from %s" % (list(shape_a), list(shape_b)))
worst = scale = 0.0
for i, (x, y) in enumerate(zip(a, b)):
    if math.isnan(x) or math.isnan(y):
        if math.isnan(x) != math.isnan(y):
            sys.exit("NaN positions differ, first at flat index %d" % i)
        continue
    worst = max(worst, abs(x - y))
    scale = max(scale, abs(y))
rel = worst / max(scale, 1e-6)
print("max_abs_err=%g max_rel_err=%g %s" % (worst, rel,
                                             "OK" if rel <= args.rtol else "MISMATCH"))
sys.exit(0 if rel <= args.rtol else 1)

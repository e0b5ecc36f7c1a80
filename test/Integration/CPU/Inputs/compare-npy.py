# Compares two float32 .npy files as `moe-reference --compare` does:
# same shape, the same number of values, non-finite values (NaN, +Inf,
# -Inf) at the same places and equal (any NaN matches any NaN), and
# max|a - b| / max(max|b|, 1e-6) <= rtol over the finite values (b is the
# reference; the scale is the largest *finite* |b|, so that an Inf in both
# files does not make every finite error pass).
# Pure Python, so the tests need nothing beyond lit.
#
#   compare-npy.py ACTUAL.npy EXPECTED.npy [--rtol 1e-4]
#
# Prints "max_abs_err=E max_rel_err=R OK|MISMATCH" and exits with 0 or 1; a
# non-finite mismatch also prints the first index where they differ.
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
if len(a) != len(b):
    sys.exit("%d values differ in number from %d" % (len(a), len(b)))
worst = scale = 0.0
bad = None
for i in range(len(b)):
    x, y = a[i], b[i]
    if not (math.isfinite(x) and math.isfinite(y)):
        same = (math.isnan(x) and math.isnan(y)) or x == y
        if not same and bad is None:
            bad = (i, x, y)
        continue
    worst = max(worst, abs(x - y))
    scale = max(scale, abs(y))
rel = worst / max(scale, 1e-6)
ok = rel <= args.rtol and bad is None
print("max_abs_err=%g max_rel_err=%g %s" % (worst, rel,
                                             "OK" if ok else "MISMATCH"))
if bad is not None:
    sys.stdout.flush()
    sys.stderr.write("non-finite values differ, first at flat index %d: "
                     "%r vs %r (expected)\n" % bad)
sys.exit(0 if ok else 1)

# Compares two float32 .npy files as `moe-reference --compare` does:
# same shape, NaNs at the same places, and
# max|a - b| / max(max|b|, 1e-6) <= rtol (b is the reference).
# Pure Python, so the tests need nothing beyond lit.
#
#   compare-npy.py ACTUAL.npy EXPECTED.npy [--rtol 1e-4]
import argparse
import ast
import math
import struct
import sys


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        sys.exit("%s: not a .npy file" % path)
    if data[6] == 1:
        length, start = struct.unpack("<H", data[8:10])[0], 10
    else:
        length, start = struct.unpack("<I", data[8:12])[0], 12
    header = ast.literal_eval(data[start:start + length].decode("latin-1"))
    if header["descr"] != "<f4" or header["fortran_order"]:
        sys.exit("%s: expected C-order little-endian float32" % path)
    body = data[start + length:]
    return tuple(header["shape"]), struct.unpack("<%df" % (len(body) // 4), body)


parser = argparse.ArgumentParser()
parser.add_argument("actual")
parser.add_argument("expected")
parser.add_argument("--rtol", type=float, default=1e-4)
args = parser.parse_args()
shape_a, a = load(args.actual)
shape_b, b = load(args.expected)
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

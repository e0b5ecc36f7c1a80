# Writes a small .npy file for the runtime tests, well-formed or broken on
# purpose. Pure Python (no NumPy), so the tests need nothing beyond lit.
#
#   make-npy.py OUT --shape 2,4 [--values 1,2,...] [--descr '<f4']
#               [--fortran] [--version 1|2|3] [--data-bytes N]
#
# Values default to zeros and are always packed as little-endian float32;
# --data-bytes cuts or pads the data to N bytes.
import argparse
import struct

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--shape", required=True)
parser.add_argument("--values", default="")
parser.add_argument("--descr", default="<f4")
parser.add_argument("--fortran", action="store_true")
parser.add_argument("--version", type=int, default=1)
parser.add_argument("--data-bytes", type=int)
args = parser.parse_args()

shape = tuple(int(d) for d in args.shape.split(",") if d)
count = 1
for dim in shape:
    count *= dim
values = [float(v) for v in args.values.split(",") if v] or [0.0] * count
data = struct.pack("<%df" % len(values), *values)
if args.data_bytes is not None:
    data = (data + b"\0" * args.data_bytes)[: args.data_bytes]

shape_text = "(%d,)" % shape[0] if len(shape) == 1 else "(%s)" % ", ".join(
    str(d) for d in shape)
header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
    args.descr, "True" if args.fortran else "False", shape_text)
prefix = 10 if args.version == 1 else 12
header += " " * ((64 - (prefix + len(header) + 1) % 64) % 64) + "\n"
length = struct.pack("<H" if args.version == 1 else "<I", len(header))
with open(args.out, "wb") as f:
    f.write(b"\x93NUMPY" + bytes([args.version, 0]) + length +
            header.encode("latin-1") + data)

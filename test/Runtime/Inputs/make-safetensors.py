# Writes a small safetensors file for the runtime tests, well-formed or
# broken on purpose. Pure Python, so the tests need nothing beyond lit.
#
#   make-safetensors.py OUT [--header-length N] [--data-bytes N]
#                       [--raw-header JSON] NAME:DTYPE:SHAPE[:VALUES] ...
#
# SHAPE is "2x3" ("" for a scalar); VALUES ("1,2,...") default to zeros.
# F32, F16 and BF16 values are encoded; any other safetensors DTYPE gets
# zero bytes of its size (F4 and F6 elements packed, 4 and 6 bits each).
# Tensors are packed back to back in order; --data-bytes,
# --header-length and --raw-header (the header text) override what is
# written, to make broken files.
import argparse
import json
import struct

# Every dtype of the safetensors format, with its size in bits.
BITS = {"BOOL": 8, "U8": 8, "I8": 8, "U16": 16, "I16": 16, "U32": 32,
        "I32": 32, "U64": 64, "I64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
        "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8,
        "F8_E5M2FNUZ": 8, "F16": 16, "BF16": 16, "F32": 32, "F64": 64,
        "C64": 64}

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("tensors", nargs="*")
parser.add_argument("--header-length", type=int)
parser.add_argument("--data-bytes", type=int)
parser.add_argument("--raw-header")
args = parser.parse_intermixed_args()


def encode(dtype, values):
    if dtype == "F32":
        return struct.pack("<%df" % len(values), *values)
    if dtype == "F16":
        return struct.pack("<%de" % len(values), *values)
    if dtype == "BF16":
        words = struct.unpack("<%dI" % len(values),
                              struct.pack("<%df" % len(values), *values))
        return struct.pack("<%dH" % len(values), *(w >> 16 for w in words))
    return b"\0" * ((BITS[dtype] * len(values) + 7) // 8)


header, data = {}, b""
for spec in args.tensors:
    parts = spec.split(":")
    name, dtype, shape = parts[0], parts[1], parts[2]
    dims = [int(d) for d in shape.split("x") if d]
    count = 1
    for dim in dims:
        count *= dim
    values = [float(v) for v in parts[3].split(",")] if len(parts) > 3 else [0.0] * count
    raw = encode(dtype, values)
    header[name] = {"dtype": dtype, "shape": dims,
                    "data_offsets": [len(data), len(data) + len(raw)]}
    data += raw
if args.data_bytes is not None:
    data = (data + b"\0" * args.data_bytes)[: args.data_bytes]
text = (args.raw_header if args.raw_header is not None else
        json.dumps(header)).encode()
text += b" " * ((8 - len(text) % 8) % 8)
length = args.header_length if args.header_length is not None else len(text)
with open(args.out, "wb") as f:
    f.write(struct.pack("<Q", length) + text + data)

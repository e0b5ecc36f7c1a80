#!/usr/bin/env python3
"""Rewrites an F32 safetensors file with its tensors in BF16 or F16.

  convert-safetensors.py IN.safetensors OUT.safetensors BF16|F16 [PREFIX...]

With PREFIXes, only the tensors whose names start with one of them are
converted; the others stay F32.

BF16 rounds to nearest even; F16 uses IEEE half (struct's 'e'). Tensors are
written at 2-byte offsets, in the input's order.
"""
import json
import struct
import sys


def to_bf16(value):
    bits = struct.unpack("<I", struct.pack("<f", value))[0]
    rounding = 0x7FFF + ((bits >> 16) & 1)
    return struct.pack("<H", ((bits + rounding) >> 16) & 0xFFFF)


def main():
    source, target, dtype = sys.argv[1:4]
    prefixes = tuple(sys.argv[4:])
    data = open(source, "rb").read()
    header_length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + header_length])
    body = data[8 + header_length:]
    out_header, blobs = {}, bytearray()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        values = struct.unpack("<%df" % ((end - begin) // 4), body[begin:end])
        stored = dtype if not prefixes or name.startswith(prefixes) else "F32"
        if stored == "BF16":
            raw = b"".join(to_bf16(v) for v in values)
        elif stored == "F16":
            raw = struct.pack("<%de" % len(values), *values)
        else:
            raw = body[begin:end]
        out_header[name] = {"dtype": stored, "shape": info["shape"],
                            "data_offsets": [len(blobs), len(blobs) + len(raw)]}
        blobs += raw
    encoded = json.dumps(out_header).encode()
    encoded += b" " * ((8 - len(encoded) % 8) % 8)
    with open(target, "wb") as out:
        out.write(struct.pack("<Q", len(encoded)) + encoded + bytes(blobs))


if __name__ == "__main__":
    main()

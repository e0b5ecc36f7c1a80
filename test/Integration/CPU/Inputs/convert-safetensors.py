#!/usr/bin/env python3
"""Rewrites an F32 safetensors file with its tensors in BF16 or F16.

  convert-safetensors.py IN.safetensors OUT.safetensors BF16|F16 [PREFIX...]

With PREFIXes, only the tensors whose names start with one of them are
converted; the others stay F32.

BF16 rounds to nearest even; F16 uses IEEE half (struct's 'e'). Tensors are
written at 2-byte offsets, in the input's order.
"""
import array
import json
import struct
import sys


def to_bf16(raw):
    """F32 bytes to BF16 bytes, rounding to nearest even."""
    bits = array.array("I")
    bits.frombytes(raw)
    return array.array("H", [((b + 0x7FFF + ((b >> 16) & 1)) >> 16) & 0xFFFF
                             for b in bits]).tobytes()


def main():
    source, target, dtype = sys.argv[1:4]
    prefixes = tuple(sys.argv[4:])
    data = open(source, "rb").read()
    header_length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + header_length])
    body = data[8 + header_length:]
    out_header, blobs, offset = {}, [], 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        stored = dtype if not prefixes or name.startswith(prefixes) else "F32"
        if stored == "BF16":
            raw = to_bf16(body[begin:end])
        elif stored == "F16":
            values = struct.unpack("<%df" % ((end - begin) // 4), body[begin:end])
            raw = struct.pack("<%de" % len(values), *values)
        else:
            raw = body[begin:end]
        out_header[name] = {"dtype": stored, "shape": info["shape"],
                            "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    encoded = json.dumps(out_header).encode()
    encoded += b" " * ((8 - len(encoded) % 8) % 8)
    with open(target, "wb") as out:
        out.write(struct.pack("<Q", len(encoded)) + encoded)
        for raw in blobs:
            out.write(raw)


if __name__ == "__main__":
    main()

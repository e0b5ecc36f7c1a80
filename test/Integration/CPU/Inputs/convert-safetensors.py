#!/usr/bin/env python3
"""Rewrites an F32 safetensors file with its tensors in BF16 or F16.

  convert-safetensors.py IN.safetensors OUT.safetensors BF16|F16 [PREFIX...]

With PREFIXes, only the tensors whose names start with one of them are
converted; the others stay F32.

BF16 rounds to nearest even; F16 uses IEEE half (struct's 'e'). Tensors are
written at 2-byte offsets, in the input's order.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensorsio import bf16_bytes, read_safetensors, write_safetensors  # noqa: E402


def main():
    source, target, dtype = sys.argv[1:4]
    prefixes = tuple(sys.argv[4:])
    tensors = {}
    for name, (_, shape, raw) in read_safetensors(source).items():
        stored = dtype if not prefixes or name.startswith(prefixes) else "F32"
        if stored == "BF16":
            raw = bf16_bytes(raw)
        elif stored == "F16":
            values = struct.unpack("<%df" % (len(raw) // 4), raw)
            raw = struct.pack("<%de" % len(values), *values)
        tensors[name] = (stored, shape, raw)
    write_safetensors(target, tensors)


if __name__ == "__main__":
    main()

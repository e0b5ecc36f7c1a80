# Safetensors files, read and written with the Python standard library only;
# shared by the test helpers (convert-safetensors.py, fused-experts.py,
# sweep.py). A tensor is (dtype, shape, raw little-endian bytes).
import json
import struct


def read_safetensors(path):
    """{name: (dtype, shape, raw)} in the file's order, without metadata."""
    data = open(path, "rb").read()
    length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        tensors[name] = (info["dtype"], info["shape"], body[begin:end])
    return tensors


def write_safetensors(path, tensors):
    """Writes {name: (dtype, shape, raw)} in order, the header padded to 8
    bytes."""
    header, offset = {}, 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text)
        for _, _, raw in tensors.values():
            out.write(raw)


def f32_values(raw):
    """The floats of an F32 tensor's bytes."""
    return list(struct.unpack("<%df" % (len(raw) // 4), raw))


def f32_bytes(values):
    """F32 bytes of a list of floats."""
    return struct.pack("<%df" % len(values), *values)

# Safetensors files, read and written with the Python standard library only;
# shared by the test helpers (convert-safetensors.py, fused-experts.py,
# sweep.py, shard-safetensors.py, the Hugging Face checkpoints). A tensor is
# (dtype, shape, raw little-endian bytes).
import array
import json
import os
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


def bf16_bytes(f32_raw):
    """F32 bytes to BF16 bytes, rounding to nearest even."""
    bits = array.array("I")
    bits.frombytes(f32_raw)
    return array.array("H", [((b + 0x7FFF + ((b >> 16) & 1)) >> 16) & 0xFFFF
                             for b in bits]).tobytes()


def bf16_values(raw):
    """The floats of a BF16 tensor's bytes."""
    halves = array.array("H")
    halves.frombytes(raw)
    return f32_values(array.array("I", [h << 16 for h in halves]).tobytes())


def write_shards(outdir, tensors, count, index=None):
    """Deals `tensors` out over `count` shards in OUTDIR, as Hugging Face
    checkpoints name them (model-0000i-of-0000N.safetensors; tensor j to
    shard j mod N), and with `index` writes that Hugging Face index
    ({"metadata": {"total_size": ...}, "weight_map": {tensor: shard}}).
    Returns the shard names."""
    names = ["model-%05d-of-%05d.safetensors" % (i + 1, count)
             for i in range(count)]
    shards = [{} for _ in names]
    weight_map = {}
    for j, (name, tensor) in enumerate(tensors.items()):
        shards[j % count][name] = tensor
        weight_map[name] = names[j % count]
    os.makedirs(outdir, exist_ok=True)
    for name, shard in zip(names, shards):
        write_safetensors(os.path.join(outdir, name), shard)
    if index:
        total = sum(len(raw) for _, _, raw in tensors.values())
        with open(os.path.join(outdir, index), "w") as f:
            json.dump({"metadata": {"total_size": total},
                       "weight_map": weight_map}, f, indent=2)
    return names

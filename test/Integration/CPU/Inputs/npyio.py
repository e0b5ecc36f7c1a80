# Float32 .npy files, read and written with the Python standard library
# only; shared by the test helpers (compare-npy.py, edge-cases/Inputs/edge.py).
import array
import ast
import struct
import sys


def npy_header(data, path):
    """The shape of a float32 .npy file's contents, and where its data starts."""
    if data[:6] != b"\x93NUMPY":
        sys.exit("%s: not a .npy file" % path)
    if data[6] == 1:
        length, start = struct.unpack("<H", data[8:10])[0], 10
    else:
        length, start = struct.unpack("<I", data[8:12])[0], 12
    header = ast.literal_eval(data[start:start + length].decode("latin-1"))
    if header["descr"] != "<f4" or header["fortran_order"]:
        sys.exit("%s: expected C-order little-endian float32" % path)
    return tuple(header["shape"]), start + length


def load_npy(path):
    """The shape and the values (an array('f')) of a float32 .npy file.

    Exits with a message naming the file when its data is not exactly the
    prod(shape) float32 values of its shape (a short file must not be
    compared on its prefix)."""
    with open(path, "rb") as f:
        data = f.read()
    shape, start = npy_header(data, path)
    count = 1
    for dim in shape:
        if not isinstance(dim, int) or dim < 0:
            sys.exit("%s: invalid shape %r" % (path, shape))
        count *= dim
    if len(data) - start != 4 * count:
        sys.exit("%s: data of %d bytes does not match shape %r (expected "
                 "%d bytes)" % (path, len(data) - start, shape, 4 * count))
    values = array.array("f")
    values.frombytes(data[start:])
    if sys.byteorder != "little":
        values.byteswap()
    return shape, values


def save_npy(path, shape, values):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (
        "".join("%d, " % d for d in shape) if len(shape) == 1 else
        ", ".join(str(d) for d in shape))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) +
                header.encode("latin-1"))
        f.write(struct.pack("<%df" % len(values), *values))

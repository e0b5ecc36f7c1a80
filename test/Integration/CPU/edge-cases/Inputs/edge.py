# Helpers of the edge-case tests: write special inputs and weights files,
# inspect outputs. Python 3 standard library only, so the tests need
# nothing beyond lit (no NumPy).
#
#   edge.py shape Y.npy
#       prints "shape [T, D]"
#   edge.py ray OUT.npy --tokens T --direction V1,V2,... [--negative I,J,...]
#       T rows, row t = a_t * s_t * direction with a_t in [0.5, 2.5)
#       (deterministic) and s_t = -1 for the listed rows, +1 otherwise
#   edge.py poison OUT.npy IN.npy [--set ROW,COL,VALUE ...]
#       a copy of IN with single elements replaced (VALUE may be nan, inf,
#       -inf)
#   edge.py rows Y.npy
#       prints the rows that are not all exactly zero, the number of rows
#       that are, and the rows holding NaN or +-Inf
#   edge.py values Y.npy [--rows I,J,...]
#       prints the rows (all, or the listed ones), "row I: V V V ..."
#   edge.py compare-rows ACTUAL.npy EXPECTED.npy [--skip I,J-K,...]
#                        [--rtol R | --exact]
#       compares the rows not skipped as `moe-reference --compare` does
#       (non-finite values, NaN and +-Inf, must agree in place and value;
#       max|a - b| / max(max finite |b|, 1e-6) <= R over the finite values,
#       default 1e-4), or bit for bit with --exact
#   edge.py compare-routed ACTUAL.npy EXPECTED.npy --logits L.npy --k K
#                          [--rtol R] [--tie G] [--max-ties N]
#       compares a large output with the reference's, as --compare does,
#       except at rows where the router is at a near-tie: rows that differ
#       beyond the tolerance pass only if the k-th and (k+1)-th largest of
#       their router logits L (the reference's) differ by at most
#       G * max(1, max|logit|) (default 1e-5), and only N of them (default
#       10). The compiled code computes the logits in f32 and the reference
#       in f64: at such a near-tie they may pick different experts, and
#       both are right.
#   edge.py rewrite-safetensors IN OUT [--gap N] [--header-pad N] [--reverse]
#                               [--extra NAME:DTYPE:SHAPE ...] [--metadata]
#                               [--misalign R] [--to F16|BF16]
#       rewrites a safetensors file: N bytes of garbage before each tensor
#       (so that the data of F32 tensors is not 4-byte aligned), a header
#       padded with N spaces (so that the data section is not 8-byte
#       aligned either), the tensors in reverse order, extra tensors (of
#       any dtype, filled with a byte pattern) and a __metadata__ entry;
#       --misalign R puts every tensor at a file offset of R mod 8 (with R
#       not a multiple of 4, no F32 tensor is 4-byte aligned; with R odd,
#       no F16 or BF16 tensor is 2-byte aligned); --to converts the F32
#       tensors to F16 or BF16 (round to nearest even)
#   edge.py alignment FILE.safetensors
#       prints where the data section starts, and how many F32 tensors are
#       not 4-byte aligned in the file
#   edge.py nested OUT.json --depth N --where file|field|shape|router
#       a model (or a bare array) nested N levels deep
#   edge.py nested-safetensors OUT --depth N --where offsets|shape|metadata
#       a safetensors file of one F32 tensor 'w' [3, 4] with an array nested
#       N levels deep in its header
#   edge.py long-string OUT.json --bytes N
#                       --where name|op|file|unknown|key|value-name
#       a model with a string of N bytes in the given place
import argparse
import json
import math
import operator
import os
import struct
import sys

SIZES = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "F64": 8, "I32": 4, "U8": 1,
         "BOOL": 1, "I8": 1, "U16": 2}


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "Inputs"))
from npyio import load_npy, save_npy  # noqa: E402


def rows_of(shape, values):
    cols = shape[1] if len(shape) > 1 else 1
    return [values[r * cols:(r + 1) * cols] for r in range(shape[0])]


def cmd_shape(args):
    shape, _ = load_npy(args.file)
    print("shape [%s]" % ", ".join(str(d) for d in shape))


def cmd_ray(args):
    direction = [float(v) for v in args.direction.split(",")]
    negative = {int(i) for i in args.negative.split(",") if i}
    values = []
    for t in range(args.tokens):
        a = 0.5 + ((t * 37) % 100) / 50.0
        s = -1.0 if t in negative else 1.0
        values += [a * s * d for d in direction]
    save_npy(args.out, (args.tokens, len(direction)), values)


def cmd_poison(args):
    shape, values = load_npy(args.input)
    values = list(values)
    for spec in args.set:
        row, col, value = spec.split(",")
        values[int(row) * shape[1] + int(col)] = float(value)
    save_npy(args.out, shape, values)


def cmd_rows(args):
    shape, values = load_npy(args.file)
    rows = rows_of(shape, values)
    nonzero = [i for i, r in enumerate(rows) if any(v != 0.0 for v in r)]
    bad = [i for i, r in enumerate(rows)
           if any(math.isnan(v) or math.isinf(v) for v in r)]
    print("nonzero rows: [%s]" % ", ".join(map(str, nonzero)))
    print("zero rows: %d of %d" % (len(rows) - len(nonzero), len(rows)))
    print("non-finite rows: [%s]" % ", ".join(map(str, bad)))


def cmd_values(args):
    shape, values = load_npy(args.file)
    if len(shape) != 2:
        sys.exit("expected a 2-D array")
    wanted = [int(i) for i in args.rows.split(",") if i]
    for r, row in enumerate(rows_of(shape, values)):
        if not wanted or r in wanted:
            print("row %d: %s" % (r, " ".join("%.9g" % v for v in row)))


def cmd_compare_rows(args):
    shape_a, a = load_npy(args.actual)
    shape_b, b = load_npy(args.expected)
    if shape_a != shape_b:
        sys.exit("shape %s differs from %s" % (list(shape_a), list(shape_b)))
    if len(a) != len(b):
        sys.exit("%d values differ in number from %d" % (len(a), len(b)))
    skip = set()
    for part in args.skip.split(","):
        if "-" in part:
            first, last = part.split("-")
            skip.update(range(int(first), int(last) + 1))
        elif part:
            skip.add(int(part))
    rows_a, rows_b = rows_of(shape_a, a), rows_of(shape_b, b)
    worst = scale = 0.0
    compared = 0
    for r in range(len(rows_b)):
        if r in skip:
            continue
        compared += 1
        ra, rb = rows_a[r], rows_b[r]
        for c in range(len(rb)):
            x, y = ra[c], rb[c]
            if args.exact:
                if struct.pack("<f", x) != struct.pack("<f", y):
                    sys.exit("rows differ at [%d, %d]: %r vs %r" % (r, c, x, y))
                continue
            if not (math.isfinite(x) and math.isfinite(y)):
                if not ((math.isnan(x) and math.isnan(y)) or x == y):
                    sys.exit("non-finite values differ at [%d, %d]: %r vs %r "
                             "(expected)" % (r, c, x, y))
                continue
            scale = max(scale, abs(y))
            worst = max(worst, 0.0 if x == y else abs(x - y))
    if args.exact:
        print("%d rows compared: identical" % compared)
        return
    rel = worst / max(scale, 1e-6)
    ok = rel <= args.rtol
    print("%d rows compared: max_abs_err=%g max_rel_err=%g %s" % (
        compared, worst, rel, "OK" if ok else "MISMATCH"))
    sys.exit(0 if ok else 1)


def cmd_compare_routed(args):
    # Fast paths in C (map, max); Python loops only over the rows that
    # differ.
    shape, a = load_npy(args.actual)
    shape_b, b = load_npy(args.expected)
    shape_l, logits = load_npy(args.logits)
    if (shape != shape_b or len(shape) != 2 or len(shape_l) != 2 or
            shape_l[0] != shape[0] or len(a) != len(b) or
            len(logits) != shape_l[0] * shape_l[1]):
        sys.exit("shapes %s, %s and %s do not agree" % (
            list(shape), list(shape_b), list(shape_l)))
    # (A NaN or an Inf makes a sum non-finite.)
    if not (math.isfinite(sum(a)) and math.isfinite(sum(b))):
        sys.exit("unexpected NaN or Inf in the outputs")
    rows, cols, experts = shape[0], shape[1], shape_l[1]
    scale = max(max(b), -min(b), 1e-6)
    tol = args.rtol * scale
    diffs = list(map(abs, map(operator.sub, a, b)))
    row_err = [max(diffs[i:i + cols], default=0.0)
               for i in range(0, rows * cols, cols)]
    bad = [r for r, err in enumerate(row_err) if err > tol]
    for r in bad:
        row = sorted(logits[r * experts:(r + 1) * experts], reverse=True)
        gap = row[args.k - 1] - row[args.k]
        if gap > args.tie * max(1.0, abs(row[0])):
            sys.exit("row %d differs beyond the tolerance, and the router "
                     "logits of its k-th and (k+1)-th experts differ by %g: "
                     "not a near-tie" % (r, gap))
    if len(bad) > args.max_ties:
        sys.exit("%d rows differ at near-ties of the router, more than %d" % (
            len(bad), args.max_ties))
    skip = set(bad)
    worst = max((err for r, err in enumerate(row_err) if r not in skip),
                default=0.0)
    print("%d rows: %d differ at near-ties of the router; the others "
          "max_rel_err=%g OK" % (rows, len(bad), worst / scale))


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    tensors = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        tensors.append((name, entry["dtype"], entry["shape"], body[begin:end]))
    tensors.sort(key=lambda t: header[t[0]]["data_offsets"][0])
    return tensors


def convert(tensor, dtype):
    """An F32 tensor as F16 or BF16 (round to nearest even)."""
    name, old, dims, raw = tensor
    if old != "F32":
        return tensor
    values = struct.unpack("<%df" % (len(raw) // 4), raw)
    if dtype == "F16":
        return name, dtype, dims, struct.pack("<%de" % len(values), *values)
    words = struct.unpack("<%dI" % len(values), raw)
    return name, dtype, dims, struct.pack("<%dH" % len(words), *(
        ((w + 0x7FFF + ((w >> 16) & 1)) >> 16) & 0xFFFF for w in words))


def cmd_rewrite_safetensors(args):
    tensors = read_safetensors(args.input)
    if args.to:
        tensors = [convert(t, args.to) for t in tensors]
    if args.reverse:
        tensors.reverse()
    for k, spec in enumerate(args.extra):
        name, dtype, shape = spec.split(":")
        dims = [int(d) for d in shape.split("x") if d]
        count = 1
        for d in dims:
            count *= d
        size = SIZES[dtype] * count
        # A byte pattern; as F32 it is a set of finite values.
        raw = bytes((i * 7 + k) % 61 for i in range(size))
        tensors.insert(k % (len(tensors) + 1), (name, dtype, dims, raw))
    header, body = {}, b""
    if args.metadata:
        header["__metadata__"] = {"format": "pt", "note": "edge-case test"}
    for name, dtype, dims, raw in tensors:
        body += b"\xa5" * args.gap
        if args.misalign is not None:
            body += b"\xa5" * ((8 - len(body) % 8) % 8)
        header[name] = {"dtype": dtype, "shape": dims,
                        "data_offsets": [len(body), len(body) + len(raw)]}
        body += raw
    text = json.dumps(header).encode() + b" " * args.header_pad
    if args.misalign is not None:
        # The data section (and so every tensor) at R mod 8 in the file.
        text += b" " * ((args.misalign - 8 - len(text)) % 8)
    with open(args.out, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + body)


def cmd_alignment(args):
    with open(args.file, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    start = 8 + length
    print("data section at byte %d (mod 8 = %d)" % (start, start % 8))
    f32 = [entry["data_offsets"][0] for name, entry in header.items()
           if name != "__metadata__" and entry["dtype"] == "F32"]
    odd = [o for o in f32 if (start + o) % 4]
    print("F32 tensors not 4-byte aligned in the file: %d of %d" % (
        len(odd), len(f32)))


MODEL_HEAD = ('{"format": "moe-graph", "version": 1, "name": "hostile", '
              '"weights": {"init": "random"}, ')


def cmd_nested(args):
    deep = "[" * args.depth + "]" * args.depth
    if args.where == "file":
        text = deep
    elif args.where == "field":
        # The nested array as the value of a node's field.
        text = (MODEL_HEAD + '"inputs": [{"name": "x", "shape": ["tokens", 4]}],'
                ' "outputs": ["y"], "nodes": [{"name": "y", "op": "relu", '
                '"input": %s}]}' % deep)
    elif args.where == "shape":
        # Inside an input's shape, which error messages print.
        text = (MODEL_HEAD + '"inputs": [{"name": "x", "shape": ["tokens", %s]}],'
                ' "outputs": ["y"], "nodes": [{"name": "y", "op": "relu", '
                '"input": "x"}]}' % deep)
    elif args.where == "router":
        # An object nested inside an object, in a moe node.
        deep = '{"a": ' * args.depth + "1" + "}" * args.depth
        text = (MODEL_HEAD + '"inputs": [{"name": "x", "shape": ["tokens", 4]}],'
                ' "outputs": ["y"], "nodes": [{"name": "y", "op": "moe", '
                '"input": "x", "num_experts": 2, "top_k": 1, '
                '"intermediate_size": 4, "router": %s, "experts": {'
                '"gate_proj": "g{e}", "up_proj": "u{e}", "down_proj": "d{e}"}}]}'
                % deep)
    with open(args.out, "w") as f:
        f.write(text)


def cmd_nested_safetensors(args):
    # One F32 tensor "w" [3, 4] of zeros, with a nested array in its header.
    deep = "[" * args.depth + "]" * args.depth
    if args.where == "offsets":
        entry = '{"dtype": "F32", "shape": [3, 4], "data_offsets": %s}' % deep
    elif args.where == "shape":
        entry = '{"dtype": "F32", "shape": [3, %s], "data_offsets": [0, 48]}' % deep
    elif args.where == "metadata":
        entry = '{"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]}'
        entry += ', "__metadata__": {"deep": %s}' % deep
    text = ('{"w": %s}' % entry).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(args.out, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"\0" * 48)


def cmd_long_string(args):
    long = "a" * args.bytes
    model = {"format": "moe-graph", "version": 1, "name": "long",
             "weights": {"init": "random"},
             "inputs": [{"name": "x", "shape": ["tokens", 4]}],
             "outputs": ["y"],
             "nodes": [{"name": "y", "op": "relu", "input": "x"}]}
    if args.where == "name":
        model["name"] = long
    elif args.where == "op":
        model["nodes"][0]["op"] = long
    elif args.where == "file":
        model["weights"] = {"file": long}
    elif args.where == "unknown":
        model["nodes"][0]["comment"] = long
    elif args.where == "key":
        model["nodes"][0][long] = 1
    elif args.where == "value-name":
        # A (valid) value name of N bytes, used by the output too.
        model["nodes"][0]["name"] = long
        model["outputs"] = [long]
    with open(args.out, "w") as f:
        json.dump(model, f)


parser = argparse.ArgumentParser()
sub = parser.add_subparsers(dest="command", required=True)
p = sub.add_parser("shape")
p.add_argument("file")
p.set_defaults(run=cmd_shape)
p = sub.add_parser("ray")
p.add_argument("out")
p.add_argument("--tokens", type=int, required=True)
p.add_argument("--direction", required=True)
p.add_argument("--negative", default="")
p.set_defaults(run=cmd_ray)
p = sub.add_parser("poison")
p.add_argument("out")
p.add_argument("input")
p.add_argument("--set", action="append", default=[])
p.set_defaults(run=cmd_poison)
p = sub.add_parser("rows")
p.add_argument("file")
p.set_defaults(run=cmd_rows)
p = sub.add_parser("values")
p.add_argument("file")
p.add_argument("--rows", default="")
p.set_defaults(run=cmd_values)
p = sub.add_parser("compare-rows")
p.add_argument("actual")
p.add_argument("expected")
p.add_argument("--skip", default="")
p.add_argument("--rtol", type=float, default=1e-4)
p.add_argument("--exact", action="store_true")
p.set_defaults(run=cmd_compare_rows)
p = sub.add_parser("compare-routed")
p.add_argument("actual")
p.add_argument("expected")
p.add_argument("--logits", required=True)
p.add_argument("--k", type=int, required=True)
p.add_argument("--rtol", type=float, default=1e-4)
p.add_argument("--tie", type=float, default=1e-5)
p.add_argument("--max-ties", type=int, default=10)
p.set_defaults(run=cmd_compare_routed)
p = sub.add_parser("rewrite-safetensors")
p.add_argument("input")
p.add_argument("out")
p.add_argument("--gap", type=int, default=0)
p.add_argument("--header-pad", type=int, default=0)
p.add_argument("--reverse", action="store_true")
p.add_argument("--extra", action="append", default=[])
p.add_argument("--metadata", action="store_true")
p.add_argument("--misalign", type=int)
p.add_argument("--to", choices=["F16", "BF16"])
p.set_defaults(run=cmd_rewrite_safetensors)
p = sub.add_parser("alignment")
p.add_argument("file")
p.set_defaults(run=cmd_alignment)
p = sub.add_parser("nested")
p.add_argument("out")
p.add_argument("--depth", type=int, required=True)
p.add_argument("--where", required=True,
               choices=["file", "field", "shape", "router"])
p.set_defaults(run=cmd_nested)
p = sub.add_parser("nested-safetensors")
p.add_argument("out")
p.add_argument("--depth", type=int, required=True)
p.add_argument("--where", required=True, choices=["offsets", "shape", "metadata"])
p.set_defaults(run=cmd_nested_safetensors)
p = sub.add_parser("long-string")
p.add_argument("out")
p.add_argument("--bytes", type=int, required=True)
p.add_argument("--where", required=True,
               choices=["name", "op", "file", "unknown", "key", "value-name"])
p.set_defaults(run=cmd_long_string)
args = parser.parse_args()
args.run(args)

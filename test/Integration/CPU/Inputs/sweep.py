# A seeded random sweep of moe-graph configurations, compiled with
# moe-compile, run, and checked against moe-reference: the executable
# writes every graph output (`--outputs DIR`) and `moe-reference
# --compare-outputs DIR` compares each one at its own scale (max abs error
# over the output's own largest |value| <= 1e-4, the default --rtol).
#
#   sweep.py WORKDIR [--seed S] [--count N] [--only I[,J...]]
#            [--moe-compile PATH] [--moe-reference PATH] [--jobs J]
#            [--compile-flag FLAG ...] [--reference-flag FLAG ...]
#            [--compile-only [--post-compile CMD]] [--sizes ragged|aligned]
#
# --compile-flag adds a flag to every moe-compile command (repeatable), for
# example `--compile-flag=--target=nvptx --compile-flag=--gpu-host-semantics`
# to check the GPU schedule on this CPU; --reference-flag adds one to every
# moe-reference comparison (`--reference-flag=--bf16-dot` for code whose
# BF16 expert matmuls round their activations, as the GPU's tensor cores
# do). --compile-only stops after moe-compile
# (nothing runs, nothing is compared) and runs --post-compile's command, if
# given, with moe-compile's output appended: for example
# `--compile-flag=--emit=ptx --post-compile "ptxas -arch=sm_90 -o /dev/null"`.
#
# Python 3 standard library only. Every configuration is derived from
# --seed, so a failure is reproducible with `--only I`: the models, weights
# and inputs stay under WORKDIR/cNN/. Each configuration prints one line;
# a mismatch prints the configuration, the commands and the tools' output,
# and the script exits with 1 after the summary line. Configurations that
# hit a known bug (KNOWN_BUGS below) are reported as XFAIL.
#
# What the sweep covers (each value of each axis is dealt out evenly, then
# shuffled, so every value appears whatever the seed; an axis that applies
# to some configurations only is dealt among those, so its values appear
# too when there are at least as many of them as values):
#   num_experts 1..64, top_k 1..min(E, 8), hidden and intermediate sizes
#   that are not multiples of 16 (with --sizes=aligned, multiples of 8 from
#   16 to 200, F at most 2 x 2400 / E, a dropless layer's shared FFN 1-3
#   times F, and three in four configurations with 16-bit weights from a
#   file: the aligned paths of the GPU's loads, copies and TMA boxes), T in
#   {0, 1, 7, 300}, softmax and sigmoid
#   scoring, normalize_top_k on and off, gated and ungated experts,
#   silu / gelu / gelu_tanh / relu / swiglu_oai (gated only; alpha and
#   limit both default, both custom, or one of them custom, dealt among
#   the swiglu_oai configurations), expert biases, router linear_bias and
#   selection bias, scaling_factor, capacity_factor, group-limited routing
#   (dealt among the configurations with E > 1: none, G groups with
#   top_k_groups given, G groups with top_k_groups left out (1), or
#   num_groups 1 and top_k_groups 1 spelled out), per-expert ({e}) and
#   stacked weight names, a few graphs around the layer (norms, a linear,
#   a residual add, two layers, a dense GLU block with every elementwise
#   op, its activation dealt among the GLU-block configurations), aux
#   outputs (none, all three, or one), the order of the graph outputs
#   (see below), noisy gating (router.noise with seeds up to 2^64 - 1),
#   and three sources of weights:
#     init    {"init": "random"} in the JSON (biases are zero),
#     make    `moe-reference --make-weights` into a safetensors file that
#             the JSON then names (relative to the JSON),
#     py      a safetensors file written here with every tensor random,
#             biases included (the only way to get non-zero biases), in
#             F32, BF16, F16, or a dtype drawn per tensor.
#   File-backed models also run with `--weights` naming a second file, and
#   from another working directory.
# A moe layer whose result reaches the graph outputs only through a
# residual add (rms-residual, glu-block, both layers of two-layers) is a
# graph output too: compared only through y = x + m, an error in m counts
# at the scale of x + m, a few percent of m's own. The order of the outputs
# is dealt among the configurations of each such graph: [y, m] and [m, y];
# for two-layers every order of y, m0 and m1 (two moe layers written to
# two graph outputs, in both orders: the bug class where the second moe
# output got the first's values). Aux outputs come after these.
# layernorm-linear keeps its moe result internal (y = gelu(m) only).
import argparse
import itertools
import json
import math
import os
import random
import re
import shlex
import shutil
import struct
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensorsio  # noqa: E402

TOKENS = (0, 1, 7, 300)

# Known bugs: configurations that match are expected to fail, and are
# reported as XFAIL; one that passes is reported as XPASS and fails the
# sweep, so that the entry is removed once the bug is fixed.
KNOWN_BUGS = [
]
ACTIVATIONS = ("silu", "gelu", "gelu_tanh", "relu", "swiglu_oai")
EXPERTS = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 24, 32, 48, 64)


# --------------------------------------------------------------------------
# Configurations
# --------------------------------------------------------------------------

def dealt(rng, values, count):
    """`count` values cycling through `values`, shuffled."""
    out = [values[i % len(values)] for i in range(count)]
    rng.shuffle(out)
    return out


def deal_among(rng, configs, key, values, applies):
    """Sets `key` of the configurations for which `applies` holds to
    `values` dealt out evenly among them (shuffled); the others get None."""
    chosen = [c for c in configs if applies(c)]
    for c in configs:
        c[key] = None
    for c, value in zip(chosen, dealt(rng, values, len(chosen))):
        c[key] = value


# Group-limited routing: none, G > 1 groups with top_k_groups given or left
# out (default 1), or the defaults num_groups = top_k_groups = 1 spelled out.
GROUPS = ("none", "none", "given", "default", "ones")
# swiglu_oai's (alpha, limit): None keeps the default; the custom values
# make the clamps bite.
SWIGLU = ((None, None), (1.3, 0.25), (2.0, 1.5), (1.3, None), (None, 1.5))
GLU_ACTIVATIONS = ("silu", "gelu_tanh", "relu", "gelu")
# The graph outputs (before aux outputs) of the graphs whose moe results
# reach y only through residual adds: every moe node is an output too, so
# that each is compared at its own scale, in every order.
RESIDUAL_OUTPUTS = tuple(itertools.permutations(("y", "m")))
TWO_LAYER_OUTPUTS = tuple(itertools.permutations(("y", "m0", "m1")))


def size_not_16(rng, lo, hi):
    while True:
        n = rng.randint(lo, hi)
        if n % 16 != 0:
            return n


def size_multiple_of_8(rng, lo, hi):
    """A multiple of 8 in [lo, hi]: rows of 16-bit weights are then whole
    16-byte groups (the GPU's vector loads, cp.async and TMA boxes), and a
    multiple of 64 or not (whole chunks of K, or a last partial one)."""
    return 8 * rng.randint((lo + 7) // 8, hi // 8)


def draw_size(c, rng, lo, hi):
    """A hidden or intermediate size: with --sizes=aligned a multiple of 8
    up to twice `hi`, else one that is not a multiple of 16."""
    if c.get("aligned"):
        return size_multiple_of_8(rng, 16, 2 * hi)
    return size_not_16(rng, lo, hi)


def make_configs(seed, count, aligned=False):
    rng = random.Random(seed)
    axes = {
        "E": dealt(rng, EXPERTS, count),
        "scoring": dealt(rng, ("softmax", "sigmoid"), count),
        "normalize": dealt(rng, (True, False), count),
        "gated": dealt(rng, (True, False, True), count),
        "activation": dealt(rng, ACTIVATIONS, count),
        "expert_bias": dealt(rng, ("none", "all", "none", "some"), count),
        "linear_bias": dealt(rng, (False, True), count),
        "sel_bias": dealt(rng, (False, True), count),
        "scaling": dealt(rng, (None, None, 2.5, 0.6), count),
        "capacity": dealt(rng, (None, None, 0.5, 1.0, 1.25, 2.0), count),
        # Biases are zero with "init" and "make" (still plumbed through).
        # Aligned sizes are there for the aligned paths of 16-bit weights:
        # three in four configurations read them from a file.
        "weights": dealt(rng, ("init", "py", "py", "py") if aligned else
                         ("init", "py", "make", "py"), count),
        # The dtype of the tensors of "py" weights files.
        "dtype": dealt(rng, ("BF16", "BF16", "F16", "mixed") if aligned else
                       ("F32", "BF16", "F16", "mixed"), count),
        "noise": dealt(rng, (False, False, True), count),
        "names": dealt(rng, ("templated", "stacked", "mixed"), count),
        "shared": dealt(rng, (None, None, "plain", "gated"), count),
        "graph": dealt(rng, ("layer", "layer", "layer", "rms-residual",
                             "layernorm-linear", "two-layers", "glu-block"),
                       count),
        # Aux outputs of the (last) moe node: none, all three, or one.
        "aux": dealt(rng, ("none", "none", "all", "one"), count),
    }
    configs = []
    for i in range(count):
        c = {key: values[i] for key, values in axes.items()}
        c["index"] = i
        c["aligned"] = aligned
        e = c["E"]
        # top_k: the extremes 1 and min(E, 8) often, else anything between.
        kmax = min(e, 8)
        c["k"] = rng.choice((1, kmax, rng.randint(1, kmax)))
        c["D"] = draw_size(c, rng, 13, 100)
        # Keep E * F small so that 300 tokens run fast in the reference.
        c["F"] = draw_size(c, rng, 13, max(17, min(100, 2400 // e)))
        c["shared_F"] = draw_size(c, rng, 13, 100)
        # A dropless layer's shared FFN is 1-3 times F wide, which the
        # compiler runs as more experts of the routed loop
        # (moe-fuse-shared-experts; with a capacity factor it stays apart);
        # no new draw, so the other axes stay.
        if c["capacity"] is None:
            c["shared_F"] = c["F"] * (1 + c["D"] % 3)
        if c["activation"] == "swiglu_oai":
            c["gated"] = True
        # Weights of std s / sqrt(D) keep router logits near N(0, s^2), so
        # the scores the sweep compares stay informative (sigmoid scores
        # saturate to 1.0f beyond |logit| ~ 17, regressions/sigmoid ties).
        c["std"] = round(rng.choice((0.5, 1.0, 2.0)) / math.sqrt(c["D"]), 4)
        c["wseed"] = rng.randint(0, 10**6)
        c["noise_seed"] = rng.choice((0, 2**64 - 1, rng.randint(0, 2**64 - 1)))
        c["xseed"] = rng.randint(0, 10**6)
        configs.append(c)

    deal_among(rng, configs, "swiglu", SWIGLU,
               lambda c: c["activation"] == "swiglu_oai")
    deal_among(rng, configs, "glu_act", GLU_ACTIVATIONS,
               lambda c: c["graph"] == "glu-block")
    # Group-limited routing (DeepSeek): G groups dividing E, of which
    # enough stay eligible for k experts. c["groups"] is None or
    # (num_groups, top_k_groups or None to leave it out).
    deal_among(rng, configs, "groups", GROUPS, lambda c: c["E"] > 1)
    for c in configs:
        kind, e = c["groups"], c["E"]
        divisors = [g for g in range(2, e + 1) if e % g == 0]
        if kind in (None, "none"):
            c["groups"] = None
        elif kind == "ones":
            c["groups"] = (1, 1)
        elif kind == "given":
            g = rng.choice(divisors)
            least = -(-c["k"] // (e // g))
            c["groups"] = (g, rng.randint(least, g))
        else:
            # top_k_groups defaults to 1: one group must hold k experts;
            # with none that large, k shrinks to the largest group's size.
            fit = [g for g in divisors if e // g >= c["k"]]
            g = rng.choice(fit) if fit else divisors[0]
            c["k"] = min(c["k"], e // g)
            c["groups"] = (g, None)
    # Dealt last, so that the draws above (and every other axis) stay
    # what they were for a seed.
    deal_among(rng, configs, "outputs", RESIDUAL_OUTPUTS,
               lambda c: c["graph"] in ("rms-residual", "glu-block"))
    two = [c for c in configs if c["graph"] == "two-layers"]
    for c, value in zip(two, dealt(rng, TWO_LAYER_OUTPUTS, len(two))):
        c["outputs"] = value
    return configs


def describe(c):
    parts = ["E=%d k=%d D=%d F=%d%s" % (c["E"], c["k"], c["D"], c["F"],
                                        " aligned" if c["aligned"] else ""),
             c["scoring"], "norm" if c["normalize"] else "nonorm",
             ("gated-" if c["gated"] else "ungated-") + c["activation"]]
    if c["swiglu"] and c["swiglu"] != (None, None):
        parts.append("alpha=%s,limit=%s" % tuple(
            "default" if v is None else "%g" % v for v in c["swiglu"]))
    if c["expert_bias"] != "none":
        parts.append("ebias=" + c["expert_bias"])
    if c["linear_bias"]:
        parts.append("linear_bias")
    if c["sel_bias"]:
        parts.append("sel_bias")
    if c["scaling"] is not None:
        parts.append("scale=%g" % c["scaling"])
    if c["capacity"] is not None:
        parts.append("cap=%g" % c["capacity"])
    if c["groups"]:
        g, top = c["groups"]
        parts.append("groups=%s/%d" % ("default" if top is None else top, g))
    if c["shared"]:
        parts.append("shared=" + c["shared"])
    if c["noise"]:
        parts.append("noise=%d" % c["noise_seed"])
    weights = c["weights"]
    if weights == "py":
        weights += "-" + c["dtype"]
    if c["aux"] != "none":
        parts.append("aux=" + c["aux"])
    graph = c["graph"]
    if c["glu_act"]:
        graph += "(%s)" % c["glu_act"]
    if c["outputs"]:
        graph += " out=" + ",".join(c["outputs"])
    parts += ["w=" + weights, c["names"], graph]
    return " ".join(parts)


# --------------------------------------------------------------------------
# Models and weights
# --------------------------------------------------------------------------

def moe_node(c, rng, name, inp, prefix):
    """The moe node and the weights it needs: {tensor name: shape}."""
    e, d, f = c["E"], c["D"], c["F"]
    tensors = {}

    def expert_param(role, shape):
        stacked = (c["names"] == "stacked" or
                   (c["names"] == "mixed" and rng.random() < 0.5))
        if stacked:
            tensor = "%s.experts.%s" % (prefix, role)
            tensors[tensor] = [e] + shape
        else:
            tensor = "%s.experts.{e}.%s" % (prefix, role)
            for i in range(e):
                tensors[tensor.replace("{e}", str(i))] = shape
        return tensor

    router = {"weight": prefix + ".router.weight"}
    tensors[router["weight"]] = [e, d]
    # Defaults are sometimes spelled out and sometimes left out.
    if c["scoring"] != "softmax" or rng.random() < 0.5:
        router["scoring"] = c["scoring"]
    if c["normalize"] or rng.random() < 0.5:
        router["normalize_top_k"] = c["normalize"]
    if c["linear_bias"]:
        router["linear_bias"] = prefix + ".router.linear_bias"
        tensors[router["linear_bias"]] = [e]
    if c["sel_bias"]:
        router["bias"] = prefix + ".router.selection_bias"
        tensors[router["bias"]] = [e]
    if c["scaling"] is not None:
        router["scaling_factor"] = c["scaling"]
    if c["groups"]:
        router["num_groups"] = c["groups"][0]
        if c["groups"][1] is not None:
            router["top_k_groups"] = c["groups"][1]
    if c["noise"]:
        router["noise"] = {"weight": prefix + ".router.noise",
                           "seed": c["noise_seed"]}
        tensors[router["noise"]["weight"]] = [e, d]

    experts = {}
    if c["activation"] != "silu" or rng.random() < 0.5:
        experts["activation"] = c["activation"]
    if not c["gated"] or rng.random() < 0.5:
        experts["gated"] = c["gated"]
    if c["gated"]:
        experts["gate_proj"] = expert_param("gate", [f, d])
    experts["up_proj"] = expert_param("up", [f, d])
    experts["down_proj"] = expert_param("down", [d, f])
    biases = []
    if c["expert_bias"] == "all":
        biases = ["gate_bias", "up_bias", "down_bias"]
    elif c["expert_bias"] == "some":
        biases = [rng.choice(["gate_bias", "up_bias", "down_bias"])]
    for role in biases:
        if role == "gate_bias" and not c["gated"]:
            role = "up_bias"
        experts[role] = expert_param(role, [d] if role == "down_bias" else [f])
    if c["swiglu"]:
        for key, value in zip(("alpha", "limit"), c["swiglu"]):
            if value is not None:
                experts[key] = value

    node = {"name": name, "op": "moe", "input": inp, "num_experts": e,
            "top_k": c["k"], "intermediate_size": f, "router": router,
            "experts": experts}
    if c["capacity"] is not None:
        node["capacity_factor"] = c["capacity"]
    if c["shared"]:
        # An always-on FFN (Qwen2-MoE, DeepSeek), gated like the experts,
        # optionally scaled by sigmoid(x g^T).
        fs = c["shared_F"]
        shared = {"intermediate_size": fs,
                  "up_proj": prefix + ".shared.up", "down_proj": prefix + ".shared.down"}
        tensors[shared["up_proj"]] = [fs, d]
        tensors[shared["down_proj"]] = [d, fs]
        if c["gated"]:
            shared["gate_proj"] = prefix + ".shared.gate_proj"
            tensors[shared["gate_proj"]] = [fs, d]
        if c["shared"] == "gated":
            shared["gate"] = prefix + ".shared.gate"
            tensors[shared["gate"]] = [1, d]
        node["shared_experts"] = shared
    return node, tensors


def add_aux(c, rng, node, outputs):
    """Asks `node` for aux outputs as the configuration says, naming them
    after the node, and adds them to the graph's outputs."""
    kinds = ["expert_counts", "load_balancing_loss", "router_z_loss"]
    if c["aux"] == "none":
        return
    if c["aux"] == "one":
        kinds = [rng.choice(kinds)]
    node["aux"] = {kind: node["name"] + "." + kind for kind in kinds}
    outputs += sorted(node["aux"].values())


def make_model(c):
    """The model (a dict) and every tensor it needs: {name: shape}."""
    rng = random.Random(c["wseed"])
    d = c["D"]
    width = d
    nodes, tensors = [], {}
    outputs = list(c["outputs"] or ("y",))
    graph = c["graph"]
    if graph == "layer":
        node, t = moe_node(c, rng, "y", "x", "moe")
        nodes.append(node)
        tensors.update(t)
    elif graph == "rms-residual":
        nodes.append({"name": "h", "op": "rms_norm", "input": "x",
                      "weight": "norm.weight", "eps": 1e-5})
        tensors["norm.weight"] = [d]
        node, t = moe_node(c, rng, "m", "h", "moe")
        nodes.append(node)
        tensors.update(t)
        nodes.append({"name": "y", "op": "add", "inputs": ["x", "m"]})
    elif graph == "layernorm-linear":
        # The input is wider than the layer; a linear projects it down.
        width = draw_size(c, rng, 13, 100)
        norm = {"name": "n", "op": "layer_norm", "input": "x",
                "weight": "ln.weight", "eps": 1e-6}
        tensors["ln.weight"] = [width]
        if rng.random() < 0.5:
            norm["bias"] = "ln.bias"
            tensors["ln.bias"] = [width]
        nodes.append(norm)
        nodes.append({"name": "h", "op": "linear", "input": "n",
                      "weight": "proj.weight", "bias": "proj.bias",
                      "out_features": d})
        tensors["proj.weight"] = [d, width]
        tensors["proj.bias"] = [d]
        node, t = moe_node(c, rng, "m", "h", "moe")
        nodes.append(node)
        tensors.update(t)
        nodes.append({"name": "y", "op": "gelu", "input": "m"})
    elif graph == "two-layers":
        for layer in range(2):
            inp = "x" if layer == 0 else "r0"
            nodes.append({"name": "h%d" % layer, "op": "rms_norm",
                          "input": inp, "weight": "l%d.norm" % layer,
                          "eps": 1e-6})
            tensors["l%d.norm" % layer] = [d]
            node, t = moe_node(c, rng, "m%d" % layer, "h%d" % layer,
                               "l%d" % layer)
            nodes.append(node)
            tensors.update(t)
            nodes.append({"name": "r%d" % layer if layer == 0 else "y",
                          "op": "add", "inputs": [inp, "m%d" % layer]})
    elif graph == "glu-block":
        # A dense GLU (linears without bias, an activation, mul) before the
        # layer, with a residual add after it.
        nodes.append({"name": "h", "op": "rms_norm", "input": "x",
                      "weight": "norm.weight", "eps": 1e-6})
        tensors["norm.weight"] = [d]
        for proj in ("a", "b"):
            nodes.append({"name": proj, "op": "linear", "input": "h",
                          "weight": "glu.%s.weight" % proj,
                          "out_features": d})
            tensors["glu.%s.weight" % proj] = [d, d]
        nodes.append({"name": "s", "op": c["glu_act"], "input": "a"})
        nodes.append({"name": "g", "op": "mul", "inputs": ["s", "b"]})
        node, t = moe_node(c, rng, "m", "g", "moe")
        nodes.append(node)
        tensors.update(t)
        nodes.append({"name": "y", "op": "add", "inputs": ["x", "m"]})
    else:
        raise ValueError(graph)
    add_aux(c, rng, [n for n in nodes if n["op"] == "moe"][-1], outputs)
    model = {"format": "moe-graph", "version": 1,
             "name": "sweep-%02d" % c["index"], "dtype": "f32",
             "weights": {"init": "random", "seed": c["wseed"],
                         "std": c["std"]},
             "inputs": [{"name": "x", "shape": ["tokens", width]}],
             "outputs": outputs, "nodes": nodes}
    return model, tensors


def encode(values, dtype):
    """Little-endian bytes of `values` as F32, BF16 (rounded to nearest
    even from f32) or F16."""
    if dtype == "F16":
        return struct.pack("<%de" % len(values), *values)
    raw = struct.pack("<%df" % len(values), *values)
    if dtype == "F32":
        return raw
    out = bytearray()
    for (bits,) in struct.iter_unpack("<I", raw):
        bits += 0x7FFF + ((bits >> 16) & 1)
        out += struct.pack("<H", (bits >> 16) & 0xFFFF)
    return bytes(out)


def tensor_dtype(name, dtype, c):
    """The dtype of tensor `name` in a file of `dtype`: "mixed" draws one
    per parameter (the experts of one parameter share it, as the model
    format requires), the same in every file of the configuration."""
    if dtype != "mixed":
        return dtype
    key = re.sub(r"\.[0-9]+\.", ".{e}.", name) + str(c["wseed"])
    return ("F32", "BF16", "F16")[zlib.crc32(key.encode()) % 3]


def write_safetensors(path, tensors, seed, c, dtype):
    """Every tensor random: norm weights near 1, biases and weights
    normal. Selection biases are scaled to the spread of the scores, so
    they change which experts are chosen without always winning."""
    rng = random.Random(seed)
    std = c["std"]
    bias_std = 0.5 / c["E"] if c["scoring"] == "softmax" else 0.1
    encoded = {}
    for name in sorted(tensors):
        shape = tensors[name]
        count = 1
        for dim in shape:
            count *= dim
        if "norm" in name or name.startswith("ln.weight"):
            values = [1.0 + rng.gauss(0.0, 0.2) for _ in range(count)]
        elif "selection_bias" in name:
            values = [rng.gauss(0.0, bias_std) for _ in range(count)]
        else:
            values = [rng.gauss(0.0, std) for _ in range(count)]
        stored = tensor_dtype(name, dtype, c)
        encoded[name] = (stored, shape, encode(values, stored))
    safetensorsio.write_safetensors(path, encoded)


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------

class Mismatch(Exception):
    pass


def run(cmd, cwd=None):
    try:
        proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT,
                              universal_newlines=True)
    except OSError as err:
        return 127, str(err)
    if proc.returncode < 0:
        return proc.returncode, proc.stdout + "\n(killed by signal %d)" % (
            -proc.returncode)
    return proc.returncode, proc.stdout


def check(cmd, what, cwd=None):
    rc, out = run(cmd, cwd)
    if rc != 0:
        raise Mismatch("%s failed (exit %d)\n  command: %s%s\n  output: %s" % (
            what, rc, " ".join(cmd), "\n  cwd: " + cwd if cwd else "",
            out.strip().replace("\n", "\n          ")))
    return out


def compare(tools, model, weights, outdir, what, extra):
    """Compares every output in `outdir` with the reference's; returns the
    largest relative error."""
    cmd = [tools.reference, model] + (["--weights", weights] if weights else []) + \
        tools.reference_flags + extra + ["--compare-outputs", outdir]
    out = check(cmd, what + ": moe-reference --compare-outputs")
    # One "NAME: max_abs_err=A max_rel_err=R OK" line per output.
    rel = 0.0
    for word in out.split():
        if word.startswith("max_rel_err="):
            rel = max(rel, float(word.split("=", 1)[1]))
    return rel


def run_config(c, tools, workdir):
    cdir = os.path.join(workdir, "c%02d" % c["index"])
    shutil.rmtree(cdir, ignore_errors=True)
    os.makedirs(cdir)
    model, tensors = make_model(c)
    model_path = os.path.join(cdir, "model.json")
    ref_model = model_path

    if c["weights"] == "py":
        write_safetensors(os.path.join(cdir, "w.safetensors"), tensors,
                          c["wseed"], c, c["dtype"])
        model["weights"] = {"file": "w.safetensors"}
    elif c["weights"] == "make":
        # Random init first, written out by the reference, then named.
        init_path = os.path.join(cdir, "init.json")
        with open(init_path, "w") as f:
            json.dump(model, f, indent=1)
        check([tools.reference, init_path, "--make-weights",
               os.path.join(cdir, "w.safetensors")], "make-weights")
        model["weights"] = {"file": "w.safetensors"}
    with open(model_path, "w") as f:
        json.dump(model, f, indent=1)

    exe = os.path.join(cdir, "model")
    t0 = time.time()
    check([tools.compile] + tools.compile_flags + [model_path, "-o", exe],
          "moe-compile")
    compile_s = time.time() - t0
    if tools.compile_only:
        # What was compiled (PTX, an object) is checked by another tool.
        if tools.post_compile:
            check(tools.post_compile + [exe], "the --post-compile command")
        return compile_s, 0.0

    # Run from another directory: the executable must not depend on it.
    rundir = os.path.join(cdir, "run")
    os.makedirs(rundir)
    worst = 0.0
    for ti, t in enumerate(TOKENS):
        y = os.path.join(cdir, "out%d" % t)
        what = "T=%d" % t
        seed = c["xseed"] + t
        if (c["index"] + ti) % 2 == 0:
            # The seeded random input, as both tools generate it.
            gen = ["--tokens", str(t), "--seed", str(seed)]
            check([exe] + gen + ["--outputs", y], what + ": the compiled model",
                  cwd=rundir)
            worst = max(worst, compare(tools, ref_model, None, y, what, gen))
        else:
            x = os.path.join(cdir, "x%d.npy" % t)
            check([tools.reference, ref_model, "--tokens", str(t), "--seed",
                   str(seed), "--make-input", x], what + ": make-input")
            check([exe, "--input", x, "--outputs", y],
                  what + ": the compiled model", cwd=rundir)
            worst = max(worst, compare(tools, ref_model, None, y, what,
                                       ["--input", x]))

    if c["weights"] != "init":
        # Other weights of the same shapes through --weights (a relative
        # path, resolved against the working directory).
        # The same dtypes as the compiled model's: the executable refuses
        # others.
        write_safetensors(os.path.join(rundir, "other.safetensors"), tensors,
                          c["wseed"] + 1, c,
                          c["dtype"] if c["weights"] == "py" else "F32")
        y = os.path.join(cdir, "out-other")
        gen = ["--tokens", "7", "--seed", str(c["xseed"])]
        check([exe, "--weights", "other.safetensors"] + gen + ["--outputs", y],
              "--weights other.safetensors: the compiled model", cwd=rundir)
        worst = max(worst, compare(
            tools, ref_model, os.path.join(rundir, "other.safetensors"), y,
            "--weights other.safetensors", gen))
    return compile_s, worst


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("workdir")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--count", type=int, default=42)
    parser.add_argument("--only", default="")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--moe-compile", default=shutil.which("moe-compile"))
    parser.add_argument("--moe-reference", default=shutil.which("moe-reference"))
    parser.add_argument("--compile-flag", action="append", default=[])
    parser.add_argument("--reference-flag", action="append", default=[])
    parser.add_argument("--compile-only", action="store_true")
    parser.add_argument("--post-compile", default="")
    parser.add_argument("--sizes", choices=("ragged", "aligned"),
                        default="ragged")
    args = parser.parse_args()

    class Tools:
        compile = args.moe_compile
        compile_flags = args.compile_flag
        compile_only = args.compile_only
        post_compile = shlex.split(args.post_compile)
        reference = args.moe_reference
        reference_flags = args.reference_flag
    for tool, path in (("moe-compile", Tools.compile),
                       ("moe-reference", Tools.reference)):
        if not path or not os.path.exists(path):
            sys.exit("sweep: error: %s not found (PATH or --%s)" % (tool, tool))

    configs = make_configs(args.seed, args.count, args.sizes == "aligned")
    if args.only:
        wanted = {int(i) for i in args.only.split(",")}
        configs = [c for c in configs if c["index"] in wanted]
    args.workdir = os.path.abspath(args.workdir)
    os.makedirs(args.workdir, exist_ok=True)

    def job(c):
        try:
            compile_s, worst = run_config(c, Tools, args.workdir)
            if args.compile_only:
                return c, None, "compile %.2fs" % compile_s
            return c, None, "compile %.2fs max_rel_err=%.3g" % (compile_s, worst)
        except Mismatch as err:
            return c, str(err), None

    failures = xfails = 0
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for c, error, note in pool.map(job, configs):
            known = [what for what, matches in KNOWN_BUGS if matches(c)]
            model = os.path.join(args.workdir, "c%02d" % c["index"],
                                 "model.json")
            if error and known:
                xfails += 1
                print("XFAIL %02d %s: known bug: %s" % (
                    c["index"], describe(c), known[0]), flush=True)
            elif error:
                failures += 1
                print("FAIL  %02d %s\n  model: %s\n  %s" % (
                    c["index"], describe(c), model, error), flush=True)
            elif known:
                failures += 1
                print("XPASS %02d %s: passes, but KNOWN_BUGS says: %s "
                      "(remove the entry)" % (c["index"], describe(c),
                                              known[0]), flush=True)
            else:
                print("ok    %02d %s: %s" % (c["index"], describe(c), note),
                      flush=True)
    if failures:
        print("sweep: %d of %d configurations FAILED (seed %d); rerun one with "
              "--only INDEX --count %d%s" % (
                  failures, len(configs), args.seed, args.count,
                  " --sizes aligned" if args.sizes == "aligned" else ""))
        return 1
    if args.compile_only:
        print("sweep: %d configurations compiled and checked by the "
              "--post-compile command, nothing run (seed %d)" %
              (len(configs), args.seed))
        return 0
    print("sweep: %d configurations, %d match the reference, %d known bugs "
          "(seed %d)" % (len(configs), len(configs) - xfails, xfails,
                         args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())

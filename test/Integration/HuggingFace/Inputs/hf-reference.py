#!/usr/bin/env python3
"""What Transformers computes for a checkpoint's feed-forward blocks, from
its config.json and shards, with none of moe-mlir's code: the check that
moe-import-hf mapped each field and tensor to what it means.

  hf-reference.py CKPT_DIR X.npy OUTDIR [--rtol 1e-4]

Runs x = x + FFN(norm(x)) for every layer of the checkpoint in double
precision, as the model type's modeling code does (router, top-k, group
limits, bias, scaling, shared experts and their gate, dense layers), and
compares each layer's FFN output with OUTDIR/l<i>.moe.npy (a MoE layer) or
OUTDIR/l<i>.mlp.down.npy (a dense one), and the last residual with
OUTDIR/l<n-1>.out.npy, each at its own scale. Prints a line per output and
exits with 1 on a mismatch. Python 3 standard library only.
"""
import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "CPU", "Inputs"))
from npyio import load_npy  # noqa: E402
from safetensorsio import bf16_values, f32_values, read_safetensors  # noqa: E402


def load_checkpoint(directory):
    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.exists(index):
        files = sorted(set(json.load(open(index))["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors = {}
    for name in files:
        for key, (dtype, shape, raw) in read_safetensors(
                os.path.join(directory, name)).items():
            if dtype == "F32":
                values = f32_values(raw)
            elif dtype == "BF16":
                values = bf16_values(raw)
            else:
                continue
            tensors[key] = (shape, values)
    return tensors


class Weights:
    def __init__(self, tensors):
        self.tensors = tensors

    def matrix(self, name):
        """Rows of a 2-D tensor."""
        shape, values = self.tensors[name]
        rows, cols = shape
        return [values[r * cols:(r + 1) * cols] for r in range(rows)]

    def vector(self, name):
        return self.tensors[name][1]

    def stacked(self, name, index):
        """Rows of slice `index` of a 3-D tensor."""
        shape, values = self.tensors[name]
        _, rows, cols = shape
        base = index * rows * cols
        return [values[base + r * cols:base + (r + 1) * cols]
                for r in range(rows)]


def linear(w_rows, x, bias=None):
    """x W^T (+ b), W as [out, in] rows."""
    return [sum(a * b for a, b in zip(row, x)) + (bias[i] if bias else 0.0)
            for i, row in enumerate(w_rows)]


def linear_in_out(w_rows, x, bias=None):
    """x W (+ b), W as [in, out] rows."""
    out = [0.0] * len(w_rows[0])
    for xi, row in zip(x, w_rows):
        for j, v in enumerate(row):
            out[j] += xi * v
    if bias:
        out = [o + b for o, b in zip(out, bias)]
    return out


def rms_norm(x, weight, eps):
    scale = 1.0 / math.sqrt(sum(v * v for v in x) / len(x) + eps)
    return [v * scale * w for v, w in zip(x, weight)]


def silu(v):
    return v / (1.0 + math.exp(-v))


def sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v))


def softmax(values):
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def topk(values, k):
    """Indices of the k largest, largest first (ties: lower index)."""
    return sorted(range(len(values)), key=lambda i: (-values[i], i))[:k]


def gated_mlp(w, prefix, x, names=("gate_proj", "up_proj", "down_proj")):
    gate = linear(w.matrix(prefix + names[0] + ".weight"), x)
    up = linear(w.matrix(prefix + names[1] + ".weight"), x)
    hidden = [silu(g) * u for g, u in zip(gate, up)]
    return linear(w.matrix(prefix + names[2] + ".weight"), hidden)


def combine(outputs, weights):
    out = [0.0] * len(outputs[0])
    for o, wt in zip(outputs, weights):
        out = [a + wt * b for a, b in zip(out, o)]
    return out


def ffn(model_type, c, w, layer, x):
    """(name of the output, FFN(x)) of one layer, x already normalised."""
    p = "model.layers.%d." % layer
    m = p + "mlp."
    if model_type == "mixtral":
        b = p + "block_sparse_moe."
        probs = softmax(linear(w.matrix(b + "gate.weight"), x))
        chosen = topk(probs, c["num_experts_per_tok"])
        total = sum(probs[e] for e in chosen)
        outs = [gated_mlp(w, b + "experts.%d." % e, x, ("w1", "w3", "w2"))
                for e in chosen]
        return "moe", combine(outs, [probs[e] / total for e in chosen])
    if model_type in ("qwen2_moe", "qwen3_moe", "olmoe"):
        step = c.get("decoder_sparse_step", 1)
        sparse = (layer not in c.get("mlp_only_layers", [])
                  and (layer + 1) % step == 0)
        if model_type == "olmoe":
            sparse = True
        if not sparse:
            return "mlp.down", gated_mlp(w, m, x)
        probs = softmax(linear(w.matrix(m + "gate.weight"), x))
        chosen = topk(probs, c["num_experts_per_tok"])
        weights = [probs[e] for e in chosen]
        if c.get("norm_topk_prob", False):
            total = sum(weights)
            weights = [v / total for v in weights]
        out = combine([gated_mlp(w, m + "experts.%d." % e, x)
                       for e in chosen], weights)
        if model_type == "qwen2_moe":
            shared = gated_mlp(w, m + "shared_expert.", x)
            scale = sigmoid(linear(w.matrix(m + "shared_expert_gate.weight"),
                                   x)[0])
            out = [a + scale * s for a, s in zip(out, shared)]
        return "moe", out
    if model_type == "deepseek_v3":
        if layer < c["first_k_dense_replace"] or \
                layer % c.get("moe_layer_freq", 1) != 0:
            return "mlp.down", gated_mlp(w, m, x)
        scores = [sigmoid(v) for v in linear(w.matrix(m + "gate.weight"), x)]
        bias = w.vector(m + "gate.e_score_correction_bias")
        choice = [s + b for s, b in zip(scores, bias)]
        groups, per = c["n_group"], len(scores) // c["n_group"]
        group_scores = [sum(sorted(choice[g * per:(g + 1) * per],
                                   reverse=True)[:2]) for g in range(groups)]
        kept = set(topk(group_scores, c["topk_group"]))
        masked = [v if e // per in kept else 0.0
                  for e, v in enumerate(choice)]
        chosen = topk(masked, c["num_experts_per_tok"])
        weights = [scores[e] for e in chosen]
        if c.get("norm_topk_prob", True):
            total = sum(weights) + 1e-20
            weights = [v / total for v in weights]
        weights = [v * c["routed_scaling_factor"] for v in weights]
        out = combine([gated_mlp(w, m + "experts.%d." % e, x)
                       for e in chosen], weights)
        shared = gated_mlp(w, m + "shared_experts.", x)
        return "moe", [a + s for a, s in zip(out, shared)]
    if model_type == "gpt_oss":
        logits = linear(w.matrix(m + "router.weight"), x,
                        w.vector(m + "router.bias"))
        chosen = topk(logits, c["num_experts_per_tok"])
        weights = softmax([logits[e] for e in chosen])
        limit, alpha = c.get("swiglu_limit", 7.0), 1.702
        outs = []
        for e in chosen:
            f2 = len(w.tensors[m + "experts.gate_up_proj_bias"][1]) // \
                c["num_local_experts"]
            gu = linear_in_out(
                w.stacked(m + "experts.gate_up_proj", e), x,
                w.vector(m + "experts.gate_up_proj_bias")[e * f2:(e + 1) * f2])
            gate = [min(v, limit) for v in gu[0::2]]
            up = [max(min(v, limit), -limit) for v in gu[1::2]]
            hidden = [(u + 1.0) * g * sigmoid(g * alpha)
                      for g, u in zip(gate, up)]
            d = len(x)
            outs.append(linear_in_out(
                w.stacked(m + "experts.down_proj", e), hidden,
                w.vector(m + "experts.down_proj_bias")[e * d:(e + 1) * d]))
        return "moe", combine(outs, weights)
    if model_type == "switch_transformers":
        b = "encoder.block.%d.layer.1." % layer
        step = c["encoder_sparse_step"]
        relu_mlp = lambda pre: linear(  # noqa: E731
            w.matrix(pre + "wo.weight"),
            [max(v, 0.0) for v in linear(w.matrix(pre + "wi.weight"), x)])
        if not (step > 0 and (layer % step == 1 or step == 1)):
            return "mlp.down", relu_mlp(b + "DenseReluDense.")
        probs = softmax(linear(w.matrix(b + "mlp.router.classifier.weight"),
                               x))
        e = topk(probs, 1)[0]
        return "moe", [probs[e] * v
                       for v in relu_mlp(b + "mlp.experts.expert_%d." % e)]
    raise ValueError(model_type)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint")
    parser.add_argument("input")
    parser.add_argument("outdir")
    parser.add_argument("--rtol", type=float, default=1e-4)
    args = parser.parse_args()

    c = json.load(open(os.path.join(args.checkpoint, "config.json")))
    model_type = c["model_type"]
    w = Weights(load_checkpoint(args.checkpoint))
    shape, flat = load_npy(args.input)
    tokens, d = shape
    rows = [flat[t * d:(t + 1) * d] for t in range(tokens)]
    switch = model_type == "switch_transformers"
    layers = c["num_layers" if switch else "num_hidden_layers"]
    eps = c.get("layer_norm_epsilon" if switch else "rms_norm_eps", 1e-6)
    expected = {}
    for layer in range(layers):
        norm = ("encoder.block.%d.layer.1.layer_norm.weight" % layer
                if switch else
                "model.layers.%d.post_attention_layernorm.weight" % layer)
        name, outs = None, []
        for t in range(tokens):
            h = rms_norm(rows[t], w.vector(norm), eps)
            name, out = ffn(model_type, c, w, layer, h)
            outs.append(out)
            rows[t] = [a + b for a, b in zip(rows[t], out)]
        expected["l%d.%s" % (layer, name)] = outs
    expected["l%d.out" % (layers - 1)] = rows

    failed = False
    for name, values in expected.items():
        got_shape, got = load_npy(os.path.join(args.outdir, name + ".npy"))
        want = [v for row in values for v in row]
        if list(got_shape) != [tokens, d]:
            print("%s: shape %s, expected %s MISMATCH" % (
                name, got_shape, [tokens, d]))
            failed = True
            continue
        scale = max(max((abs(v) for v in want), default=0.0), 1e-6)
        err = max((abs(a - b) for a, b in zip(got, want)), default=0.0)
        ok = err / scale <= args.rtol
        failed |= not ok
        print("%s: max_rel_err=%.3g %s" % (name, err / scale,
                                            "OK" if ok else "MISMATCH"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Rewrites the expert weights of a gpt-oss style model in other layouts.

  fused-experts.py MODEL.json WEIGHTS.safetensors LAYOUT OUT_DIR

MODEL.json's moe node `m` has experts in gpt-oss's layout: `gate_up_proj`
[E, D, 2F] with gate and up interleaved (gate at even columns), its bias
[E, 2F], and `down_proj` [E, F, D] ([in, out], weight_layout "in_out").
WEIGHTS holds them as F32. Writes OUT_DIR/model.json and
OUT_DIR/weights.safetensors with the same weights in LAYOUT:

  biased     the same layout, with seeded non-zero values in place of the
             gate_up and down biases (random init makes biases zero)
  separate   gate/up/down per expert, nn.Linear [out, in] ({e} names)
  halves     gate_up_proj stacked [E, 2F, D], gate rows first, [out, in]
  per-expert gate_up_proj per expert [D, 2F] interleaved, [in, out]

The layouts are computed here, independently of the runtime's views.
"""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensorsio import (f32_bytes, f32_values, read_safetensors,  # noqa: E402
                           write_safetensors)


def main():
    model_path, weights_path, layout, out_dir = sys.argv[1:5]
    model = json.load(open(model_path))
    node = next(n for n in model["nodes"] if n["op"] == "moe")
    experts = node["experts"]
    E, F = node["num_experts"], node["intermediate_size"]
    tensors = {}
    for name, (dtype, shape, raw) in read_safetensors(weights_path).items():
        assert dtype == "F32", name
        tensors[name] = (shape, f32_values(raw))
    shape, gate_up = tensors.pop(experts["gate_up_proj"])
    D = shape[1]
    assert shape == [E, D, 2 * F], shape
    _, gate_up_bias = tensors.pop(experts["gate_up_bias"])
    _, down = tensors.pop(experts["down_proj"])

    # w[e][f][d]: nn.Linear [out, in] matrices of each expert.
    def gu(e, d, c):
        return gate_up[(e * D + d) * 2 * F + c]
    gate = [[[gu(e, d, 2 * f) for d in range(D)] for f in range(F)]
            for e in range(E)]
    up = [[[gu(e, d, 2 * f + 1) for d in range(D)] for f in range(F)]
          for e in range(E)]
    down_t = [[[down[(e * F + f) * D + d] for f in range(F)] for d in range(D)]
              for e in range(E)]
    gate_b = [[gate_up_bias[e * 2 * F + 2 * f] for f in range(F)]
              for e in range(E)]
    up_b = [[gate_up_bias[e * 2 * F + 2 * f + 1] for f in range(F)]
            for e in range(E)]

    def flat(rows):
        return [v for row in rows for v in row]

    if layout == "biased":
        rng = random.Random(7)
        tensors[experts["gate_up_proj"]] = (shape, gate_up)
        tensors[experts["gate_up_bias"]] = (
            [E, 2 * F], [rng.gauss(0.0, 0.5) for _ in gate_up_bias])
        tensors[experts["down_proj"]] = ([E, F, D], down)
        down_bias = experts["down_bias"]
        tensors[down_bias] = (tensors[down_bias][0],
                              [rng.gauss(0.0, 0.5) for _ in
                               tensors[down_bias][1]])
        write(model, out_dir, tensors)
        return

    for key in ("gate_up_proj", "gate_up_bias", "gate_up_split",
                "weight_layout", "down_proj"):
        experts.pop(key, None)
    if layout == "separate":
        experts.update(gate_proj="x.{e}.gate.weight", up_proj="x.{e}.up.weight",
                       down_proj="x.{e}.down.weight", gate_bias="x.{e}.gate.bias",
                       up_bias="x.{e}.up.bias")
        for e in range(E):
            tensors["x.%d.gate.weight" % e] = ([F, D], flat(gate[e]))
            tensors["x.%d.up.weight" % e] = ([F, D], flat(up[e]))
            tensors["x.%d.down.weight" % e] = ([D, F], flat(down_t[e]))
            tensors["x.%d.gate.bias" % e] = ([F], gate_b[e])
            tensors["x.%d.up.bias" % e] = ([F], up_b[e])
    elif layout == "halves":
        experts.update(gate_up_proj="x.gate_up", gate_up_bias="x.gate_up_bias",
                       down_proj="x.down")
        tensors["x.gate_up"] = ([E, 2 * F, D], [
            v for e in range(E) for v in flat(gate[e]) + flat(up[e])])
        tensors["x.gate_up_bias"] = ([E, 2 * F], [
            v for e in range(E) for v in gate_b[e] + up_b[e]])
        tensors["x.down"] = ([E, D, F], [v for e in range(E)
                                         for v in flat(down_t[e])])
    elif layout == "per-expert":
        experts.update(gate_up_proj="x.{e}.gate_up",
                       gate_up_bias="x.{e}.gate_up_bias",
                       down_proj="x.{e}.down", gate_up_split="interleaved",
                       weight_layout="in_out")
        for e in range(E):
            tensors["x.%d.gate_up" % e] = ([D, 2 * F], [
                gu(e, d, c) for d in range(D) for c in range(2 * F)])
            tensors["x.%d.gate_up_bias" % e] = ([2 * F], [
                gate_up_bias[e * 2 * F + c] for c in range(2 * F)])
            tensors["x.%d.down" % e] = ([F, D], [
                down[(e * F + f) * D + d] for f in range(F) for d in range(D)])
    else:
        sys.exit("unknown layout " + layout)

    write(model, out_dir, tensors)


def write(model, out_dir, tensors):
    """OUT_DIR/model.json, reading OUT_DIR/weights.safetensors: `tensors`
    ({name: (shape, values)}) as F32."""
    os.makedirs(out_dir, exist_ok=True)
    model["weights"] = {"file": "weights.safetensors"}
    json.dump(model, open(os.path.join(out_dir, "model.json"), "w"), indent=1)
    write_safetensors(os.path.join(out_dir, "weights.safetensors"),
                      {name: ("F32", shape, f32_bytes(values))
                       for name, (shape, values) in tensors.items()})


if __name__ == "__main__":
    main()

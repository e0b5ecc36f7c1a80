#!/usr/bin/env python3
"""Writes a tiny random Hugging Face checkpoint of one model type.

  make-hf-checkpoint.py MODEL_TYPE OUTDIR [--seed S] [--shards N]
                        [--dtype F32|BF16] [--set KEY=JSON ...]

OUTDIR gets config.json with the model type's real field names (small
sizes), and the tensors of every layer under their Transformers names:
the feed-forward blocks moe-import-hf reads, and attention and embedding
tensors it must ignore. They are dealt out over N shards
(model-0000i-of-0000N.safetensors, default 3) with
model.safetensors.index.json; with --shards 1, one model.safetensors.
--set changes a config field (to test what the import does with it).
Python 3 standard library only; the values are seeded.
"""
import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "CPU", "Inputs"))
from safetensorsio import (  # noqa: E402
    bf16_bytes, f32_bytes, write_safetensors, write_shards)

CONFIGS = {
    "mixtral": {
        "architectures": ["MixtralForCausalLM"], "hidden_size": 32,
        "intermediate_size": 48, "num_hidden_layers": 2,
        "num_local_experts": 4, "num_experts_per_tok": 2,
        "rms_norm_eps": 1e-5, "hidden_act": "silu",
        "num_attention_heads": 4, "num_key_value_heads": 2,
        "vocab_size": 64},
    "qwen2_moe": {
        "architectures": ["Qwen2MoeForCausalLM"], "hidden_size": 32,
        "intermediate_size": 56, "moe_intermediate_size": 16,
        "shared_expert_intermediate_size": 40, "num_hidden_layers": 3,
        "num_experts": 8, "num_experts_per_tok": 2, "norm_topk_prob": False,
        "decoder_sparse_step": 1, "mlp_only_layers": [1],
        "rms_norm_eps": 1e-6, "hidden_act": "silu",
        "num_attention_heads": 4, "num_key_value_heads": 4,
        "vocab_size": 64},
    "qwen3_moe": {
        "architectures": ["Qwen3MoeForCausalLM"], "hidden_size": 32,
        "intermediate_size": 64, "moe_intermediate_size": 24,
        "num_hidden_layers": 2, "num_experts": 8, "num_experts_per_tok": 2,
        "norm_topk_prob": True, "decoder_sparse_step": 2,
        "mlp_only_layers": [], "rms_norm_eps": 1e-6, "hidden_act": "silu",
        "num_attention_heads": 4, "num_key_value_heads": 2,
        "vocab_size": 64},
    "olmoe": {
        "architectures": ["OlmoeForCausalLM"], "hidden_size": 32,
        "intermediate_size": 16, "num_hidden_layers": 2, "num_experts": 8,
        "num_experts_per_tok": 2, "norm_topk_prob": False,
        "rms_norm_eps": 1e-5, "hidden_act": "silu",
        "num_attention_heads": 4, "num_key_value_heads": 4,
        "vocab_size": 64},
    "deepseek_v3": {
        "architectures": ["DeepseekV3ForCausalLM"], "hidden_size": 32,
        "intermediate_size": 40, "moe_intermediate_size": 8,
        "num_hidden_layers": 3, "n_routed_experts": 16,
        "n_shared_experts": 2, "num_experts_per_tok": 4, "n_group": 4,
        "topk_group": 2, "first_k_dense_replace": 1, "moe_layer_freq": 1,
        "routed_scaling_factor": 2.5, "norm_topk_prob": True,
        "scoring_func": "sigmoid", "topk_method": "noaux_tc",
        "rms_norm_eps": 1e-6, "hidden_act": "silu",
        "num_attention_heads": 4, "vocab_size": 64},
    "gpt_oss": {
        "architectures": ["GptOssForCausalLM"], "hidden_size": 32,
        "intermediate_size": 16, "num_hidden_layers": 2,
        "num_local_experts": 8, "num_experts_per_tok": 2,
        "swiglu_limit": 7.0, "rms_norm_eps": 1e-5,
        "num_attention_heads": 4, "num_key_value_heads": 2,
        "head_dim": 8, "vocab_size": 64},
    "switch_transformers": {
        "architectures": ["SwitchTransformersForConditionalGeneration"],
        "d_model": 32, "d_ff": 48, "d_kv": 8, "num_heads": 4,
        "num_layers": 4, "num_decoder_layers": 4, "num_experts": 4,
        "encoder_sparse_step": 2, "decoder_sparse_step": 2,
        "expert_capacity": 64, "layer_norm_epsilon": 1e-6,
        "feed_forward_proj": "relu", "router_jitter_noise": 0.01,
        "vocab_size": 64},
}


def tensors_of(model_type, c):
    """{name: shape} of a checkpoint of `c`, and which are norm weights."""
    t = {}
    if model_type == "switch_transformers":
        d, f, e = c["d_model"], c["d_ff"], c["num_experts"]
        t["shared.weight"] = [c["vocab_size"], d]
        for i in range(c["num_layers"]):
            b = "encoder.block.%d.layer." % i
            t[b + "0.SelfAttention.q.weight"] = [d, d]
            t[b + "0.layer_norm.weight"] = [d]
            t[b + "1.layer_norm.weight"] = [d]
            step = c["encoder_sparse_step"]
            if step > 0 and (i % step == 1 or step == 1):
                t[b + "1.mlp.router.classifier.weight"] = [e, d]
                for x in range(e):
                    t[b + "1.mlp.experts.expert_%d.wi.weight" % x] = [f, d]
                    t[b + "1.mlp.experts.expert_%d.wo.weight" % x] = [d, f]
            else:
                t[b + "1.DenseReluDense.wi.weight"] = [f, d]
                t[b + "1.DenseReluDense.wo.weight"] = [d, f]
        t["decoder.block.0.layer.2.layer_norm.weight"] = [d]
        return t
    d = c["hidden_size"]
    t["model.embed_tokens.weight"] = [c["vocab_size"], d]
    t["model.norm.weight"] = [d]
    for i in range(c["num_hidden_layers"]):
        p = "model.layers.%d." % i
        t[p + "input_layernorm.weight"] = [d]
        t[p + "self_attn.q_proj.weight"] = [d, d]
        t[p + "post_attention_layernorm.weight"] = [d]
        m = p + "mlp."

        def dense(width):
            t[m + "gate_proj.weight"] = [width, d]
            t[m + "up_proj.weight"] = [width, d]
            t[m + "down_proj.weight"] = [d, width]

        def experts(base, count, width, names=("gate_proj", "up_proj",
                                               "down_proj")):
            for x in range(count):
                t[base + "%d.%s.weight" % (x, names[0])] = [width, d]
                t[base + "%d.%s.weight" % (x, names[1])] = [width, d]
                t[base + "%d.%s.weight" % (x, names[2])] = [d, width]

        if model_type == "mixtral":
            e = c["num_local_experts"]
            t[p + "block_sparse_moe.gate.weight"] = [e, d]
            experts(p + "block_sparse_moe.experts.", e,
                    c["intermediate_size"], ("w1", "w3", "w2"))
        elif model_type in ("qwen2_moe", "qwen3_moe", "olmoe"):
            step = c.get("decoder_sparse_step", 1)
            sparse = (i not in c.get("mlp_only_layers", [])
                      and (i + 1) % step == 0)
            if not sparse:
                dense(c["intermediate_size"])
                continue
            e = c["num_experts"]
            width = c["intermediate_size" if model_type == "olmoe"
                      else "moe_intermediate_size"]
            t[m + "gate.weight"] = [e, d]
            experts(m + "experts.", e, width)
            if model_type == "qwen2_moe":
                s = c["shared_expert_intermediate_size"]
                for proj, shape in (("gate_proj", [s, d]),
                                    ("up_proj", [s, d]),
                                    ("down_proj", [d, s])):
                    t[m + "shared_expert.%s.weight" % proj] = shape
                t[m + "shared_expert_gate.weight"] = [1, d]
        elif model_type == "deepseek_v3":
            if i < c["first_k_dense_replace"]:
                dense(c["intermediate_size"])
                continue
            e, f = c["n_routed_experts"], c["moe_intermediate_size"]
            t[m + "gate.weight"] = [e, d]
            t[m + "gate.e_score_correction_bias"] = [e]
            experts(m + "experts.", e, f)
            s = c["n_shared_experts"] * f
            for proj, shape in (("gate_proj", [s, d]), ("up_proj", [s, d]),
                                ("down_proj", [d, s])):
                t[m + "shared_experts.%s.weight" % proj] = shape
        elif model_type == "gpt_oss":
            e, f = c["num_local_experts"], c["intermediate_size"]
            t[m + "router.weight"] = [e, d]
            t[m + "router.bias"] = [e]
            t[m + "experts.gate_up_proj"] = [e, d, 2 * f]
            t[m + "experts.gate_up_proj_bias"] = [e, 2 * f]
            t[m + "experts.down_proj"] = [e, f, d]
            t[m + "experts.down_proj_bias"] = [e, d]
    return t


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_type", choices=sorted(CONFIGS))
    parser.add_argument("outdir")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--dtype", default="F32", choices=("F32", "BF16"))
    parser.add_argument("--set", action="append", default=[])
    args = parser.parse_args()

    config = dict(CONFIGS[args.model_type], model_type=args.model_type)
    for item in args.set:
        key, value = item.split("=", 1)
        config[key] = json.loads(value)
    names = tensors_of(args.model_type, CONFIGS[args.model_type])
    rng = random.Random(args.seed)
    tensors = {}
    for name, shape in names.items():
        count = 1
        for dim in shape:
            count *= dim
        norm = name.endswith("layernorm.weight") or \
            name.endswith("layer_norm.weight") or name == "model.norm.weight"
        values = [(1.0 if norm else 0.0) + rng.gauss(0.0, 0.1)
                  for _ in range(count)]
        raw = f32_bytes(values)
        if args.dtype == "BF16":
            raw = bf16_bytes(raw)
        tensors[name] = (args.dtype, shape, raw)

    os.makedirs(args.outdir, exist_ok=True)
    with open(os.path.join(args.outdir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    if args.shards == 1:
        write_safetensors(os.path.join(args.outdir, "model.safetensors"),
                          tensors)
        return
    write_shards(args.outdir, tensors, args.shards,
                 "model.safetensors.index.json")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Splits a safetensors file into shards, as Hugging Face checkpoints are.

  shard-safetensors.py IN.safetensors OUTDIR N [--index NAME]

Writes OUTDIR/model-0000i-of-0000N.safetensors, the tensors dealt out in
the file's order (tensor j to shard j mod N), and with --index the
Hugging Face index OUTDIR/NAME ({"metadata": {"total_size": ...},
"weight_map": {tensor: shard file name}}). Prints the shard names, one a
line. Python 3 standard library only.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensorsio import read_safetensors, write_safetensors  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("input")
parser.add_argument("outdir")
parser.add_argument("count", type=int)
parser.add_argument("--index")
args = parser.parse_args()

tensors = read_safetensors(args.input)
names = ["model-%05d-of-%05d.safetensors" % (i + 1, args.count)
         for i in range(args.count)]
shards = [{} for _ in names]
weight_map = {}
for j, (name, tensor) in enumerate(tensors.items()):
    shards[j % args.count][name] = tensor
    weight_map[name] = names[j % args.count]
os.makedirs(args.outdir, exist_ok=True)
for name, shard in zip(names, shards):
    write_safetensors(os.path.join(args.outdir, name), shard)
    print(name)
if args.index:
    total = sum(len(raw) for _, _, raw in tensors.values())
    with open(os.path.join(args.outdir, args.index), "w") as f:
        json.dump({"metadata": {"total_size": total},
                   "weight_map": weight_map}, f, indent=2)

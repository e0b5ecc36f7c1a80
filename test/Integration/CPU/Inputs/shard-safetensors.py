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
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensorsio import read_safetensors, write_shards  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("input")
parser.add_argument("outdir")
parser.add_argument("count", type=int)
parser.add_argument("--index")
args = parser.parse_args()

for name in write_shards(args.outdir, read_safetensors(args.input),
                         args.count, args.index):
    print(name)

#!/usr/bin/env python3
"""Writes a copy of a moe-graph model with more graph outputs.

  expose-outputs.py MODEL.json OUT.json [--nodes NAME,NAME,...]
                    [--set PATH=VALUE ...]

The copy's `outputs` are MODEL's, then every `moe` node not already among
them, then the nodes named by --nodes, in that order; everything else is
kept as it is. A relative `weights.file` is made absolute (it is relative to
MODEL's directory, and the copy may be written anywhere). The graph's values
do not change: a test compares each exposed value on its own, at its own
scale. (A `moe` node whose output feeds a residual add is checked to only a
few percent of its own size through the sum, as a tolerance relative to the
largest |y| allows; its own output is checked to the full tolerance.)

--set PATH=VALUE changes one field of the copy, to make a deliberately
wrong model: PATH is dot-separated keys, where `nodes.NAME` selects the node
named NAME (`nodes.m.experts.activation=gelu`,
`nodes.m.router.scaling_factor=1.05`); VALUE is parsed as JSON, or taken as
a string if it is not JSON. Missing objects on the path are created.

Python 3 standard library only.
"""
import argparse
import json
import os
import sys


def parse_value(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def set_field(model, path, value):
    keys = path.split(".")
    target = model
    i = 0
    while i < len(keys) - 1:
        key = keys[i]
        if key == "nodes" and target is model:
            if i + 1 >= len(keys) - 1:
                sys.exit("--set %s: name a field of the node" % path)
            name = keys[i + 1]
            matches = [n for n in model.get("nodes", []) if n.get("name") == name]
            if len(matches) != 1:
                sys.exit("--set %s: no node named '%s'" % (path, name))
            target = matches[0]
            i += 2
            continue
        if not isinstance(target, dict):
            sys.exit("--set %s: '%s' is not an object" % (path, key))
        target = target.setdefault(key, {})
        i += 1
    if not isinstance(target, dict):
        sys.exit("--set %s: the parent of '%s' is not an object" % (path, keys[-1]))
    target[keys[-1]] = value


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("out")
    parser.add_argument("--nodes", default="",
                        help="comma-separated names of further nodes to expose")
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                        help="change one field (repeatable)")
    args = parser.parse_args()

    with open(args.model) as f:
        model = json.load(f)
    if not isinstance(model, dict) or not isinstance(model.get("nodes"), list):
        sys.exit("%s: not a moe-graph model" % args.model)

    names = [n.get("name") for n in model["nodes"] if isinstance(n, dict)]
    outputs = list(model.get("outputs", []))
    wanted = [n["name"] for n in model["nodes"]
              if isinstance(n, dict) and n.get("op") == "moe"]
    wanted += [n for n in args.nodes.split(",") if n]
    for name in wanted:
        if name not in names:
            sys.exit("%s: no node named '%s'" % (args.model, name))
        if name not in outputs:
            outputs.append(name)
    model["outputs"] = outputs

    weights = model.get("weights")
    if isinstance(weights, dict) and isinstance(weights.get("file"), str) \
            and not os.path.isabs(weights["file"]):
        base = os.path.dirname(os.path.abspath(args.model))
        weights["file"] = os.path.normpath(os.path.join(base, weights["file"]))

    for spec in args.set:
        path, sep, value = spec.partition("=")
        if not sep or not path:
            sys.exit("--set expects PATH=VALUE, got '%s'" % spec)
        set_field(model, path, parse_value(value))

    with open(args.out, "w") as f:
        json.dump(model, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

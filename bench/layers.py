# The driver of bench/layers.sh (see there). Python 3 standard library; the
# PyTorch side runs in bench/torch-moe.py.
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

LAYERS = {
    "S1": dict(d=1024, f=3584, e=8, k=2, tokens=[1, 16, 128, 512, 2048], calls=20),
    "S2": dict(d=1024, f=512, e=64, k=8, tokens=[1, 16, 128, 512, 2048], calls=20),
    "S3": dict(d=4096, f=14336, e=8, k=2, tokens=[1, 16, 128], calls=5),
}
HERE = os.path.dirname(os.path.abspath(__file__))


def run(command):
    result = subprocess.run(command, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        sys.exit("layers.sh: %s failed:\n%s" % (" ".join(command), result.stdout))
    return result.stdout


def model_json(name, c):
    return {
        "format": "moe-graph", "version": 1, "name": name,
        "weights": {"init": "random", "seed": 1, "std": 0.02},
        "inputs": [{"name": "x", "shape": ["tokens", c["d"]]}],
        "outputs": ["y"],
        "nodes": [{"name": "y", "op": "moe", "input": "x",
                   "num_experts": c["e"], "top_k": c["k"],
                   "intermediate_size": c["f"],
                   "router": {"weight": "r", "normalize_top_k": True},
                   "experts": {"gate_proj": "g", "up_proj": "u",
                               "down_proj": "d"}}],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", required=True)
    parser.add_argument("--layers", default="S1,S2,S3")
    parser.add_argument("--json", default="bench-layers.json")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--calls", type=int, default=0)
    # On a shared machine one run can be slowed by a neighbour: --repeat N
    # runs each side N times, alternating, and keeps each token count's
    # fastest median.
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    # The best of three: on a shared machine a single run can be low.
    peak = {}
    for _ in range(3):
        line = run([os.path.join(args.build, "bin", "machine-peak")]).strip()
        for key, value in re.findall(r"(\w+)=([0-9.]+)", line):
            peak[key] = max(peak.get(key, 0.0), float(value))
    peak_line = " ".join("%s=%g" % item for item in sorted(peak.items()))
    gflops_peak = peak["fp32_fma_gflops_all"]
    read_gbps = peak["read_gbps_all"]
    threads = int(peak["threads"])
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = re.search(r"model name\s*:\s*(.*)", f.read()).group(1)
    except (OSError, AttributeError):
        pass
    print("machine: %s, %d threads" % (cpu, threads))
    print("  %s" % peak_line)
    results = {"machine": {"cpu": cpu, "threads": threads,
                           "fp32_fma_gflops_all": gflops_peak,
                           "read_gbps_all": read_gbps},
               "rows": []}

    header = ("%-3s %5s %10s %9s %7s %7s %11s %8s" %
              ("", "T", "ms", "GFLOP/s", "%peak", "%bw", "torch ms", "torch/x"))
    work = tempfile.mkdtemp(prefix="moe-layers-")
    for name in args.layers.split(","):
        c = LAYERS[name]
        path = os.path.join(work, name + ".json")
        with open(path, "w") as f:
            json.dump(model_json(name, c), f)
        exe = os.path.join(work, name)
        run([os.path.join(args.build, "bin", "moe-compile"), path, "-o", exe])
        print("\n%s: D=%d F=%d E=%d k=%d, f32 weights" %
              (name, c["d"], c["f"], c["e"], c["k"]))
        print(header)
        ours, torch = {}, {}
        calls = str(args.calls or c["calls"])
        token_list = ",".join(str(t) for t in c["tokens"])
        def keep_fastest(table, pattern, out):
            for t, ms in re.findall(pattern, out):
                table[int(t)] = min(table.get(int(t), float("inf")), float(ms))
        for _ in range(max(args.repeat, 1)):
            out = run([exe, "--tokens", "1", "--bench-tokens", token_list,
                       "--bench", calls, "--bench-inputs", "4"])
            keep_fastest(ours, r"bench: \d+ calls, (\d+) tokens: median ([0-9.]+) ms", out)
            if not args.no_torch:
                out = run([sys.executable, os.path.join(HERE, "torch-moe.py"),
                           str(c["d"]), str(c["f"]), str(c["e"]), str(c["k"]),
                           token_list, "--calls", calls,
                           "--threads", str(threads)])
                keep_fastest(torch, r"torch: (\d+) tokens: median ([0-9.]+) ms", out)
        for t in c["tokens"]:
            ms = ours[t]
            flops = 6.0 * c["d"] * c["f"] * t * c["k"] + 2.0 * t * c["d"] * c["e"]
            gflops = flops / ms / 1e6
            distinct = c["e"] * (1 - (1 - c["k"] / c["e"]) ** t)
            weight_bytes = 4.0 * (distinct * 3 * c["d"] * c["f"] + c["e"] * c["d"])
            bound_ms = weight_bytes / (read_gbps * 1e9) * 1e3
            row = {"layer": name, "tokens": t, "ms": ms, "gflops": gflops,
                   "pct_fma_peak": 100 * gflops / gflops_peak,
                   "pct_read_bound": 100 * bound_ms / ms,
                   "distinct_experts": distinct}
            line = "%-3s %5d %10.3f %9.1f %6.1f%% %6.1f%%" % (
                name, t, ms, gflops, row["pct_fma_peak"], row["pct_read_bound"])
            if t in torch:
                row["torch_ms"] = torch[t]
                row["torch_over_ours"] = torch[t] / ms
                line += " %11.3f %7.2fx" % (torch[t], torch[t] / ms)
            print(line)
            results["rows"].append(row)
    with open(args.json, "w") as f:
        json.dump(results, f, indent=1)
    print("\nwrote %s" % args.json)


if __name__ == "__main__":
    main()

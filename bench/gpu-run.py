# The GPU side of bench/gpu.sh (see there). Python 3; the GPU side needs
# PyTorch with CUDA, the --prepare side only the standard library.
#
#   gpu-run.py DIR --prepare      models and sparse BF16 weights files
#   gpu-run.py DIR [--calls N]    weights, peaks, the executables, PyTorch
import argparse
import json
import os
import re
import struct
import subprocess
import sys

LAYERS = {
    "S1": dict(d=1024, f=3584, e=8, k=2),
    "S3": dict(d=4096, f=14336, e=8, k=2),
}
TOKENS = [1, 16, 128, 512, 2048]


def shapes(c):
    return {"r": [c["e"], c["d"]], "g": [c["e"], c["f"], c["d"]],
            "u": [c["e"], c["f"], c["d"]], "d": [c["e"], c["d"], c["f"]]}


def header(c):
    """The safetensors header of a layer's BF16 weights, and the data size."""
    entries, offset = {}, 0
    for name, shape in shapes(c).items():
        count = 1
        for n in shape:
            count *= n
        entries[name] = {"dtype": "BF16", "shape": shape,
                         "data_offsets": [offset, offset + 2 * count]}
        offset += 2 * count
    text = json.dumps(entries).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text, offset


def prepare(directory):
    # Here, in the source tree: the layers are bench/layers.sh's, with the
    # weights from a file instead of the random init. (On the GPU machine
    # this script runs alone.)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from layers import model_json
    for name, c in LAYERS.items():
        model = model_json(name, c)
        model["weights"] = {"file": name + ".safetensors"}
        with open(os.path.join(directory, name + ".json"), "w") as f:
            json.dump(model, f, indent=1)
        head, size = header(c)
        with open(os.path.join(directory, name + ".safetensors"), "wb") as f:
            f.write(head)
            f.truncate(len(head) + size)


def time_executable(executable, weights, calls, tokens, extra=()):
    """Each token count's median ms a call: the device's (CUDA events, the
    kernels alone) where the driver has them, else the wall time; and the
    wall time. `extra`: more options for the executable."""
    out = subprocess.run(
        [executable, "--weights", weights, "--tokens", "1", "--bench",
         str(calls), "--bench-inputs", "4", "--bench-tokens",
         ",".join(map(str, tokens))] + list(extra),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if out.returncode != 0:
        sys.exit("gpu-run: %s failed:\n%s" % (executable, out.stdout))
    ours, wall = {}, {}
    for t, ms, device_ms in re.findall(
            r"(\d+) tokens: median ([0-9.]+) ms[^\n]*\n"
            r"(?:bench: device time \(CUDA events\): median ([0-9.]+) ms)?",
            out.stdout):
        wall[int(t)] = float(ms)
        ours[int(t)] = float(device_ms or ms)
    return ours, wall


def profile_executable(executable, weights, calls, tokens):
    """The --profile blocks: each kernel's device ms a call, per count."""
    profile = subprocess.run(
        [executable, "--weights", weights, "--tokens", "1", "--bench",
         str(calls), "--bench-inputs", "4", "--bench-tokens",
         ",".join(map(str, tokens)), "--profile"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if profile.returncode != 0:
        sys.exit("gpu-run: %s --profile failed:\n%s" % (executable,
                                                         profile.stdout))
    return re.findall(r"profile: [^\n]*\n(?:  [^\n]*\n)*", profile.stdout)


def time_variants(directory, weights, calls, default, hbm, bf16, c):
    """S3 compiled with other schedule options (variants.txt of bench/gpu.sh):
    ms, % HBM and % BF16 peak at each count, this / the default, and the
    expert GEMM kernels' ms."""
    listing = os.path.join(directory, "variants.txt")
    if not os.path.exists(listing):
        return []
    rows = []
    for line in open(listing):
        name, options = line.rstrip("\n").split(" ", 1)
        executable = os.path.join(directory, "S3-" + name)
        ours, _ = time_executable(executable, weights, calls, TOKENS)
        gemms = {}
        for block in profile_executable(executable, weights, calls, TOKENS):
            t = int(re.match(r"profile: (\d+) tokens", block).group(1))
            gemms[t] = {kernel: float(ms) for kernel, ms in re.findall(
                r"(\S*grouped_matmul\S*) ([0-9.]+) \(", block)}
        for t in TOKENS:
            s = ours[t] / 1e3
            experts = c["e"] * (1 - (1 - c["k"] / c["e"]) ** t)
            read = experts * 3 * c["d"] * c["f"] * 2 + c["e"] * c["d"] * 2
            flops = 2 * t * c["k"] * 3 * c["d"] * c["f"]
            row = dict(variant=name, options=options, tokens=t, ms=ours[t],
                       hbm_pct=100 * read / s / hbm,
                       bf16_pct=100 * flops / s / bf16,
                       default_over_this=default[t] / ours[t],
                       gemm_ms=gemms.get(t, {}))
            rows.append(row)
            print("S3[%s] T=%-5d %9.3f ms  %5.1f%% HBM  %5.1f%% BF16 peak  "
                  "default/this %.2f  GEMMs %s ms  (%s)" %
                  (name, t, row["ms"], row["hbm_pct"], row["bf16_pct"],
                   row["default_over_this"],
                   " ".join("%s %.3f" % (kernel, ms) for kernel, ms in
                            sorted(row["gemm_ms"].items())), options),
                  flush=True)
    return rows


def run(directory, calls):
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        print("gpu-run: skipped: PyTorch is not installed")
        return
    if not torch.cuda.is_available():
        print("gpu-run: skipped: no CUDA GPU visible to PyTorch")
        return
    device = torch.device("cuda")
    print("gpu: %s" % torch.cuda.get_device_name(0))

    def timed(fn, repeat):
        fn()
        torch.cuda.synchronize()
        start, end = (torch.cuda.Event(enable_timing=True),
                      torch.cuda.Event(enable_timing=True))
        times = []
        for _ in range(repeat):
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        return sorted(times)[len(times) // 2]

    # The peaks this GPU reaches, measured: a device-to-device copy (bytes
    # read and written) and a large BF16 matmul.
    buf = torch.empty(1 << 30, dtype=torch.uint8, device=device)
    dst = torch.empty_like(buf)
    hbm = 2 * buf.numel() / timed(lambda: dst.copy_(buf), 10)
    n = 8192
    a = torch.randn(n, n, dtype=torch.bfloat16, device=device)
    b = torch.randn(n, n, dtype=torch.bfloat16, device=device)
    bf16 = 2 * n ** 3 / timed(lambda: a @ b, 10)
    del buf, dst, a, b
    print("peaks: HBM %.0f GB/s, BF16 matmul %.0f TFLOP/s" %
          (hbm / 1e9, bf16 / 1e12))

    results, variants, graphs = [], [], []
    for name, c in LAYERS.items():
        D, FF, E, K = c["d"], c["f"], c["e"], c["k"]
        gen = torch.Generator(device=device).manual_seed(1)
        w = {key: (torch.randn(shape, generator=gen, device=device) * 0.02)
             .to(torch.bfloat16) for key, shape in shapes(c).items()}
        head, size = header(c)
        path = os.path.join(directory, name + ".safetensors")
        with open(path, "wb") as f:
            f.write(head)
            for key in shapes(c):
                f.write(w[key].view(torch.int16).cpu().numpy().tobytes())
        ours, wall = time_executable(os.path.join(directory, name), path,
                                     calls, TOKENS)

        def forward(x):
            scores = F.softmax(F.linear(x, w["r"]).float(), dim=1)
            weights, selected = torch.topk(scores, K, dim=-1)
            weights = (weights / weights.sum(dim=-1, keepdim=True)).to(x.dtype)
            y = torch.zeros_like(x)
            mask = F.one_hot(selected, num_classes=E).permute(2, 1, 0)
            for e in range(E):
                slot, token = torch.where(mask[e])
                if token.numel() == 0:
                    continue
                h = x[token]
                h = F.linear(F.silu(F.linear(h, w["g"][e])) *
                             F.linear(h, w["u"][e]), w["d"][e])
                y.index_add_(0, token, h * weights[token, slot, None])
            return y

        for t in TOKENS:
            x = torch.randn(t, D, device=device).to(torch.bfloat16)
            with torch.no_grad():
                torch_s = timed(lambda: forward(x), calls)
            # The peaks' shares from the kernels' time; the ratio to
            # PyTorch (whose events span its whole call) from the wall time.
            s, wall_s = ours[t] / 1e3, wall[t] / 1e3
            experts = E * (1 - (1 - K / E) ** t)
            read = experts * 3 * D * FF * 2 + E * D * 2
            flops = 2 * t * K * 3 * D * FF
            row = dict(layer=name, tokens=t, ms=ours[t], wall_ms=wall[t],
                       hbm_pct=100 * read / s / hbm,
                       bf16_pct=100 * flops / s / bf16,
                       torch_ms=torch_s * 1e3, torch_over_this=torch_s / wall_s)
            results.append(row)
            print("%s T=%-5d %9.3f ms (wall %9.3f)  %5.1f%% HBM  "
                  "%5.1f%% BF16 peak  torch %9.3f ms  torch/this %.2f" %
                  (name, t, row["ms"], row["wall_ms"], row["hbm_pct"],
                   row["bf16_pct"], row["torch_ms"], row["torch_over_this"]),
                  flush=True)
        # The same calls replayed as CUDA graphs (--cuda-graphs): the
        # launches' cost and the gaps between kernels go.
        graph_ms, graph_wall = time_executable(
            os.path.join(directory, name), path, calls, TOKENS,
            ["--cuda-graphs"])
        for t in TOKENS:
            row = dict(layer=name, tokens=t, ms=graph_ms[t],
                       wall_ms=graph_wall[t],
                       wall_without_over_with=wall[t] / graph_wall[t])
            graphs.append(row)
            print("%s T=%-5d CUDA graph %9.3f ms (wall %9.3f)  wall without "
                  "/ with graphs %.2f" % (name, t, row["ms"], row["wall_ms"],
                                          row["wall_without_over_with"]),
                  flush=True)
        # Where the time goes: each kernel's device time (CUDA events) at
        # every token count.
        for block in profile_executable(os.path.join(directory, name), path,
                                        calls, TOKENS):
            print("%s %s" % (name, block), end="", flush=True)
        if name == "S3":
            variants = time_variants(directory, path, calls, ours, hbm, bf16,
                                     c)
        del w
        torch.cuda.empty_cache()
    with open(os.path.join(directory, "bench-gpu.json"), "w") as f:
        json.dump(dict(hbm_bytes_per_s=hbm, bf16_flops_per_s=bf16,
                       results=results, variants=variants, graphs=graphs),
                  f, indent=1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args()
    if args.prepare:
        prepare(args.directory)
    else:
        run(args.directory, args.calls)


if __name__ == "__main__":
    main()

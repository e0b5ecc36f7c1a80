# The GPU side of bench/gpu.sh (see there). Python 3; the GPU side needs
# PyTorch with CUDA, the --prepare side only the standard library.
#
#   gpu-run.py DIR --prepare      models and sparse BF16 weights files
#   gpu-run.py DIR [--calls N] [--out OUT] [--timeout S] [--deadline S]
#                                 weights, peaks, the executables, PyTorch
#
# A GPU is lent for minutes, and only what lands in its output folder comes
# back: OUT/bench-gpu.json is rewritten after every row, an executable that
# fails or runs past --timeout seconds is a recorded failure (the run goes
# on), and after --deadline seconds no executable is started (what was left
# is listed as skipped). The S3 variants are timed first, their kernel
# profiles after, as time allows. Each variant's outputs (of one call at
# CHECK_TOKENS) are compared with the default schedule's, each at its own
# scale: one that does not match is reported and never named the fastest.
# Between the two, where Nsight Compute is installed, the expert GEMMs of
# the default and of the fastest schedule at NCU_TOKENS are profiled by
# `ncu` (each report saved in OUT): why they run as fast as they do, from
# the same call of the lent GPU.
import argparse
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time

LAYERS = {
    "S1": dict(d=1024, f=3584, e=8, k=2),
    "S3": dict(d=4096, f=14336, e=8, k=2),
}
TOKENS = [1, 16, 128, 512, 2048]
# The call whose outputs a variant's are compared with the default's, and
# the largest difference allowed, of each output's largest magnitude (the
# BF16 tensor-core tolerance of gpu-check.sh: schedules differ in the order
# they sum, a race or a wrong tile by far more). A variant with a version
# for few tokens (decode-tokens) is also compared at CHECK_DECODE_TOKENS,
# where that version runs.
CHECK_TOKENS = 300
CHECK_DECODE_TOKENS = 16
CHECK_RTOL = 4e-3
# The counts at which `ncu` profiles the expert GEMMs (decode, prefill), the
# sections it collects (what bounds a kernel: throughput against the
# memory's and the SMs' peaks, occupancy and what limits it, the warps'
# stalls) and the metrics of each kernel printed (all are in the report).
NCU_TOKENS = (1, 2048)
NCU_SECTIONS = ("SpeedOfLight", "LaunchStats", "Occupancy",
                "WarpStateStats", "MemoryWorkloadAnalysis")
NCU_SUMMARY = ("Duration", "DRAM Throughput", "Compute (SM) Throughput",
               "Achieved Occupancy", "Registers Per Thread",
               "Dynamic Shared Memory Per Block",
               "Warp Cycles Per Issued Instruction")


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


def write_layer(directory, name, c):
    """DIRECTORY/NAME.json, bench/layers.sh's layer of sizes `c` with its
    weights from NAME.safetensors, written beside it as a sparse file of
    BF16 zeros (gpu-run.py writes the seeded weights where it runs); the
    JSON's path. Also test/Integration/NVPTX/Inputs/variant-launches.py's."""
    # Here, in the source tree. (On the GPU machine this script runs alone.)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from layers import model_json
    model = model_json(name, c)
    model["weights"] = {"file": name + ".safetensors"}
    path = os.path.join(directory, name + ".json")
    with open(path, "w") as f:
        json.dump(model, f, indent=1)
    head, size = header(c)
    with open(os.path.join(directory, name + ".safetensors"), "wb") as f:
        f.write(head)
        f.truncate(len(head) + size)
    return path


def prepare(directory):
    for name, c in LAYERS.items():
        write_layer(directory, name, c)


class Budget:
    """The run's limits: each executable's seconds, and the time after which
    none is started. Failures and skipped runs are recorded, not fatal."""

    def __init__(self, timeout, deadline):
        self.timeout = timeout
        self.end = time.monotonic() + deadline if deadline else None
        self.failures, self.skipped = [], []
        # Profiles that could not be made (a profiler refused, or found no
        # kernel): what the benchmark measured stands without them.
        self.unprofiled = []

    def left(self):
        return None if self.end is None else self.end - time.monotonic()

    def execute(self, what, command):
        """(`command`'s output, why it failed or None); (None, None) past the
        deadline (recorded as skipped). A command past its time is killed
        with the processes it started (a profiler's program too)."""
        left = self.left()
        if left is not None and left <= 0:
            self.skipped.append(what)
            print("gpu-run: %s: skipped: past the deadline" % what, flush=True)
            return None, None
        timeout = self.timeout if left is None else min(self.timeout, left)
        process = subprocess.Popen(command, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # The group ended between the timeout and the kill.
            output, _ = process.communicate()
            return output, "no result after %.0f s" % timeout
        if process.returncode == 0:
            return output, None
        lines = output.strip().splitlines()
        errors = [line for line in lines
                  if "error:" in line or "==ERROR==" in line]
        return output, "exit %d: %s" % (
            process.returncode, errors[0] if errors else
            (lines[-1] if lines else ""))

    def run(self, what, command):
        """`command`'s output, or None (recorded as failed or skipped)."""
        output, message = self.execute(what, command)
        if message is None:
            return output
        self.failures.append(dict(run=what, message=message))
        print("gpu-run: %s: FAIL: %s" % (what, message), flush=True)
        return None


def time_executable(budget, executable, weights, calls, tokens, extra=(),
                    outputs=None):
    """Each token count's median ms a call: the device's (CUDA events, the
    kernels alone) where the driver has them, else the wall time; and the
    wall time. `extra`: more options for the executable; with `outputs`, the
    outputs of a first call at CHECK_TOKENS (seeded input) are written
    there. None where it failed or was skipped."""
    first = ["--tokens", "1"]
    if outputs:
        first = ["--tokens", str(CHECK_TOKENS), "--outputs", outputs]
    stdout = budget.run(
        " ".join([os.path.basename(executable)] + list(extra)),
        [executable, "--weights", weights] + first + [
            "--bench", str(calls), "--bench-inputs", "4", "--bench-tokens",
            ",".join(map(str, tokens))] + list(extra))
    if stdout is None:
        return None, None
    ours, wall = {}, {}
    for t, ms, device_ms in re.findall(
            r"(\d+) tokens: median ([0-9.]+) ms[^\n]*\n"
            r"(?:bench: device time \(CUDA events\): median ([0-9.]+) ms)?",
            stdout):
        wall[int(t)] = float(ms)
        ours[int(t)] = float(device_ms or ms)
    missing = [t for t in tokens if t not in ours]
    if missing:
        budget.failures.append(dict(
            run=os.path.basename(executable),
            message="no time printed for %s tokens" % missing))
        print("gpu-run: %s: FAIL: no time printed for %s tokens" %
              (os.path.basename(executable), missing), flush=True)
        return None, None
    return ours, wall


def fresh_directory(path):
    """`path`, emptied: outputs of an earlier run are never compared."""
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def write_outputs(budget, executable, weights, tokens, outputs):
    """One call of `executable` at `tokens` (seeded input), its outputs
    written into `outputs`; False where it failed or was skipped."""
    return budget.run(
        "%s at %d tokens" % (os.path.basename(executable), tokens),
        [executable, "--weights", weights, "--tokens", str(tokens),
         "--outputs", outputs]) is not None


def compare_outputs(reference, outputs):
    """Each .npy output in `reference` (the default schedule's) against the
    same in `outputs`, at its own scale: (True or False, the largest
    max |a - b| / max |reference| and its output), or (None, why) where
    they cannot be compared."""
    try:
        import numpy
    except ImportError:
        return None, "numpy is not installed"
    names = sorted(n for n in os.listdir(reference) if n.endswith(".npy"))
    if not names:
        return None, "the default wrote no outputs"
    worst, worst_name = 0.0, names[0]
    for name in names:
        path = os.path.join(outputs, name)
        if not os.path.exists(path):
            return False, "%s missing" % name
        want = numpy.load(os.path.join(reference, name)).astype(numpy.float64)
        got = numpy.load(path).astype(numpy.float64)
        if got.shape != want.shape:
            return False, "%s has shape %s, not %s" % (name, got.shape,
                                                       want.shape)
        scale = max(float(numpy.abs(want).max()), 1e-30)
        error = float(numpy.abs(got - want).max()) / scale
        if not numpy.isfinite(error) or error > worst:
            worst, worst_name = error, name
    ok = bool(numpy.isfinite(worst)) and worst <= CHECK_RTOL
    return ok, "%s: max error %.3g of its scale" % (worst_name, worst)


def profile_executable(budget, executable, weights, calls, tokens):
    """The --profile blocks: each kernel's device ms a call, per count."""
    stdout = budget.run(
        os.path.basename(executable) + " --profile",
        [executable, "--weights", weights, "--tokens", "1", "--bench",
         str(calls), "--bench-inputs", "4", "--bench-tokens",
         ",".join(map(str, tokens)), "--profile"])
    if stdout is None:
        return []
    return re.findall(r"profile: [^\n]*\n(?:  [^\n]*\n)*", stdout)


def find_ncu():
    """Nsight Compute's command line: $NCU where it is set (empty: none),
    else `ncu` on the PATH or in the CUDA toolkit; None where there is
    none."""
    candidates = [shutil.which("ncu"), "/usr/local/cuda/bin/ncu"]
    if "NCU" in os.environ:
        candidates = [os.environ["NCU"]]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def parse_ncu(text):
    """The kernels of an ncu text report, in launch order: each a dict of
    its name, grid and block, and metrics {name: (value, unit)}."""
    kernels, current = [], None
    for line in text.splitlines():
        launch = re.match(r"  (\S.*?) (\(\d+, \d+, \d+\))x(\(\d+, \d+, \d+\))"
                          r", Context", line)
        if launch:
            current = dict(kernel=launch.group(1), grid=launch.group(2),
                           block=launch.group(3), metrics={})
            kernels.append(current)
            continue
        metric = re.match(r"    (\S.*?)\s{2,}(?:(\S+)\s+)?(-?[0-9][0-9.,]*)$",
                          line)
        if metric and current is not None:
            current["metrics"][metric.group(1)] = (
                metric.group(3).replace(",", ""), metric.group(2) or "")
    return kernels


def profile_gemms_with_ncu(budget, ncu, executable, weights, tokens, report):
    """The expert GEMM kernels (those whose names contain grouped_matmul, at
    most 8 launches) of one call at `tokens` under `ncu`, its output written
    to `report`: parse_ncu's kernels. [] where it was skipped, failed or
    named no kernel: recorded in budget.unprofiled, not as a failure of the
    benchmark (a GPU machine may refuse its performance counters)."""
    what = "ncu %s at %d tokens" % (os.path.basename(executable), tokens)
    command = [ncu, "--clock-control", "none", "--kernel-name",
               "regex:grouped_matmul", "--launch-count", "8"]
    for section in NCU_SECTIONS:
        command += ["--section", section]
    output, message = budget.execute(
        what, command + [executable, "--weights", weights, "--tokens",
                         str(tokens)])
    if output is None and message is None:
        return []
    with open(report, "w") as f:
        f.write(output or "")
    kernels = [] if message else parse_ncu(output)
    if not message and not kernels:
        message = "no kernel in its report"
    if message:
        budget.unprofiled.append(dict(run=what, message=message,
                                      report=report))
        print("gpu-run: %s: not profiled: %s (%s)" % (what, message, report),
              flush=True)
    return kernels


def profile_fastest_with_ncu(budget, directory, weights, fastest, reports):
    """`ncu` on the expert GEMMs of the default and of the fastest schedule
    (fastest_by_tokens's) at each of NCU_TOKENS, the reports in `reports`:
    {(variant or None, tokens): kernels}."""
    ncu = find_ncu()
    if ncu is None:
        print("gpu-run: ncu skipped: no Nsight Compute (ncu on the PATH or "
              "in /usr/local/cuda, or $NCU)", flush=True)
        return {}
    profiles = {}
    for t in NCU_TOKENS:
        names = [None]
        if t in fastest and fastest[t][0] is not None:
            names.append(fastest[t][0])
        for name in names:
            label = "S3" + ("[%s]" % name if name else "")
            executable = os.path.join(directory,
                                      "S3-" + name if name else "S3")
            report = os.path.join(reports, "ncu-%s-T%d.txt" %
                                  (name or "default", t))
            kernels = profile_gemms_with_ncu(budget, ncu, executable, weights,
                                             t, report)
            profiles[(name, t)] = kernels
            for kernel in kernels:
                summary = []
                for metric in NCU_SUMMARY:
                    if metric in kernel["metrics"]:
                        value, unit = kernel["metrics"][metric]
                        summary.append(" ".join(filter(None, (metric, value,
                                                              unit))))
                print("%s T=%-5d ncu %s %sx%s: %s" % (
                    label, t, kernel["kernel"], kernel["grid"],
                    kernel["block"], ", ".join(summary)), flush=True)
    return profiles


def gemm_times(block):
    """The expert GEMM kernels' ms in a --profile block."""
    return {kernel: float(ms) for kernel, ms in re.findall(
        r"(\S*grouped_matmul\S*) ([0-9.]+) \(", block)}


def fastest_by_tokens(default, rows):
    """The fastest of the default (None) and the variant rows at each token
    count: {tokens: (variant, ms, options)}. A tie keeps the one met first,
    the default first: what a session makes the default (the prefill
    schedule from the large counts, decode-tokens and decode-options from
    the small) starts from these."""
    fastest = {}
    for t, ms in (default or {}).items():
        fastest[t] = (None, ms, "")
    for row in rows:
        # Outputs that did not match the default's rule a variant out.
        if row.get("outputs_ok") is False:
            continue
        best = fastest.get(row["tokens"])
        if best is None or row["ms"] < best[1]:
            fastest[row["tokens"]] = (row["variant"], row["ms"],
                                      row["options"])
    return fastest


def print_fastest(default, rows):
    for t, (name, ms, options) in sorted(fastest_by_tokens(default,
                                                           rows).items()):
        print("S3 fastest at T=%-5d %-24s %9.3f ms  default/this %s  (%s)" %
              (t, name or "default", ms,
               "%.2f" % (default[t] / ms) if default and t in default
               else "-", options), flush=True)


def time_variants(budget, directory, weights, calls, default, hbm, bf16, c,
                  save, references=None, reports=None):
    """S3 compiled with other schedule options (variants.txt of bench/gpu.sh,
    in the order listed): ms, % HBM and % BF16 peak at each count, this /
    the default, and (after all are timed, as time allows) the expert GEMM
    kernels' ms. With `references` (the default's outputs by token count:
    CHECK_TOKENS, and CHECK_DECODE_TOKENS for variants with a decode
    version), each variant's outputs are compared with them
    (compare_outputs): a row's `outputs_ok`, False where any differs. `save`
    is called after each variant. With `reports` (a folder), the default's
    and the fastest's GEMMs are profiled by ncu before the variants'
    kernel profiles (profile_fastest_with_ncu)."""
    listing = os.path.join(directory, "variants.txt")
    if not os.path.exists(listing):
        return []
    rows, timed = [], []
    for line in open(listing):
        name, options = line.rstrip("\n").split(" ", 1)
        executable = os.path.join(directory, "S3-" + name)
        outputs = None
        if references and CHECK_TOKENS in references:
            outputs = fresh_directory(
                os.path.join(directory, "outputs-" + name))
        ours, _ = time_executable(budget, executable, weights, calls, TOKENS,
                                  outputs=outputs)
        if ours is None:
            continue
        timed.append((name, executable))
        # The outputs at each count checked: True where all matched, False
        # where any did not, None where none could be compared.
        outputs_ok = None
        checks = []
        if outputs:
            checks.append((CHECK_TOKENS, outputs))
        if (references and CHECK_DECODE_TOKENS in references and
                "decode-tokens=" in options):
            few = fresh_directory(os.path.join(
                directory, "outputs-%s-%d" % (name, CHECK_DECODE_TOKENS)))
            if write_outputs(budget, executable, weights, CHECK_DECODE_TOKENS,
                             few):
                checks.append((CHECK_DECODE_TOKENS, few))
        for tokens, written in checks:
            ok, detail = compare_outputs(references[tokens], written)
            print("S3[%s] outputs at T=%d against the default's: %s (%s)" %
                  (name, tokens, {True: "OK", False: "MISMATCH",
                                  None: "not compared"}[ok], detail),
                  flush=True)
            if ok is False:
                outputs_ok = False
                budget.failures.append(dict(
                    run=os.path.basename(executable),
                    message="outputs at %d tokens differ from the default's: "
                    "%s" % (tokens, detail)))
            elif ok and outputs_ok is None:
                outputs_ok = True
        for t in TOKENS:
            s = ours[t] / 1e3
            experts = c["e"] * (1 - (1 - c["k"] / c["e"]) ** t)
            read = experts * 3 * c["d"] * c["f"] * 2 + c["e"] * c["d"] * 2
            flops = 2 * t * c["k"] * 3 * c["d"] * c["f"]
            row = dict(variant=name, options=options, tokens=t, ms=ours[t],
                       hbm_pct=100 * read / s / hbm,
                       bf16_pct=100 * flops / s / bf16,
                       default_over_this=(default[t] / ours[t]
                                          if default else None),
                       gemm_ms={}, outputs_ok=outputs_ok)
            rows.append(row)
            print("S3[%s] T=%-5d %9.3f ms  %5.1f%% HBM  %5.1f%% BF16 peak  "
                  "default/this %s  (%s)" %
                  (name, t, row["ms"], row["hbm_pct"], row["bf16_pct"],
                   "%.2f" % row["default_over_this"] if default else "-",
                   options), flush=True)
        save(rows)
    print_fastest(default, rows)
    if reports:
        profile_fastest_with_ncu(budget, directory, weights,
                                 fastest_by_tokens(default, rows), reports)
    for name, executable in timed:
        for block in profile_executable(budget, executable, weights, calls,
                                        TOKENS):
            t = int(re.match(r"profile: (\d+) tokens", block).group(1))
            gemms = gemm_times(block)
            for row in rows:
                if row["variant"] == name and row["tokens"] == t:
                    row["gemm_ms"] = gemms
            print("S3[%s] T=%-5d GEMMs %s ms" % (name, t, " ".join(
                "%s %.3f" % (kernel, ms) for kernel, ms in
                sorted(gemms.items()))), flush=True)
        save(rows)
    return rows


def run(directory, calls, out, budget):
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
    os.makedirs(out, exist_ok=True)

    def save(variant_rows=None):
        if variant_rows is not None:
            variants[:] = variant_rows
        with open(os.path.join(out, "bench-gpu.json"), "w") as f:
            json.dump(dict(gpu=torch.cuda.get_device_name(0),
                           hbm_bytes_per_s=hbm, bf16_flops_per_s=bf16,
                           results=results, variants=variants, graphs=graphs,
                           failures=budget.failures, skipped=budget.skipped,
                           unprofiled=budget.unprofiled),
                      f, indent=1)

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
        # S3's outputs at CHECK_TOKENS and CHECK_DECODE_TOKENS: what its
        # variants' are checked by.
        references = {}
        if name == "S3":
            references[CHECK_TOKENS] = fresh_directory(
                os.path.join(directory, "outputs-default"))
        ours, wall = time_executable(budget, os.path.join(directory, name),
                                     path, calls, TOKENS,
                                     outputs=references.get(CHECK_TOKENS))
        if name == "S3" and ours:
            few = fresh_directory(os.path.join(
                directory, "outputs-default-%d" % CHECK_DECODE_TOKENS))
            if write_outputs(budget, os.path.join(directory, name), path,
                             CHECK_DECODE_TOKENS, few):
                references[CHECK_DECODE_TOKENS] = few

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

        for t in TOKENS if ours else []:
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
        save()
        # The same calls replayed as CUDA graphs (--cuda-graphs): the
        # launches' cost and the gaps between kernels go.
        graph_ms, graph_wall = time_executable(
            budget, os.path.join(directory, name), path, calls, TOKENS,
            ["--cuda-graphs"])
        for t in TOKENS if graph_ms and wall else []:
            row = dict(layer=name, tokens=t, ms=graph_ms[t],
                       wall_ms=graph_wall[t],
                       wall_without_over_with=wall[t] / graph_wall[t])
            graphs.append(row)
            print("%s T=%-5d CUDA graph %9.3f ms (wall %9.3f)  wall without "
                  "/ with graphs %.2f" % (name, t, row["ms"], row["wall_ms"],
                                          row["wall_without_over_with"]),
                  flush=True)
        save()
        # Where the time goes: each kernel's device time (CUDA events) at
        # every token count.
        for block in profile_executable(budget, os.path.join(directory, name),
                                        path, calls, TOKENS):
            print("%s %s" % (name, block), end="", flush=True)
        if name == "S3":
            time_variants(budget, directory, path, calls, ours, hbm, bf16, c,
                          save, references if ours else None, reports=out)
        del w
        torch.cuda.empty_cache()
    save()
    print("gpu-run: %d rows, %d variant rows, %d failures, %d skipped; "
          "%s" % (len(results), len(variants), len(budget.failures),
                  len(budget.skipped), os.path.join(out, "bench-gpu.json")),
          flush=True)
    return 1 if budget.failures else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--out", help="where bench-gpu.json goes "
                        "(default: the directory)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds an executable may run")
    parser.add_argument("--deadline", type=float,
                        help="seconds after which no executable is started")
    args = parser.parse_args()
    if args.prepare:
        prepare(args.directory)
        return 0
    return run(args.directory, args.calls, args.out or args.directory,
               Budget(args.timeout, args.deadline))


if __name__ == "__main__":
    sys.exit(main())

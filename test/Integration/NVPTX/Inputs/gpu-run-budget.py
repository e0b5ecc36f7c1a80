"""Drives bench/gpu-run.py's timing of the S3 variants with stand-in
executables (no GPU, no PyTorch): one that prints times and a kernel
profile, one that fails, one that hangs, one after them, and one faster
than all whose outputs differ from the default's. Prints what the run
recorded.

Then Nsight Compute's step (a stand-in ncu): the default's and the
fastest's GEMMs profiled at 1 and 2,048 tokens, their reports saved and
summarized; a report with no kernel, an ncu refused the performance
counters, and no ncu at all.

  gpu-run-budget.py GPU_RUN_PY DIR FAKE_NCU
"""
import importlib.util
import os
import stat
import sys

spec = importlib.util.spec_from_file_location("gpu_run", sys.argv[1])
gpu_run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_run)
directory = sys.argv[2]
os.makedirs(directory, exist_ok=True)

# Run by this Python (the one with numpy: lit's).
TIMES = "#!" + sys.executable + r'''
import os, sys
import numpy
DEVICE_MS, VALUE, FEW_VALUE = %s, %s, %s
args = sys.argv[1:]
tokens = []
if "--bench-tokens" in args:
    tokens = args[args.index("--bench-tokens") + 1].split(",")
if "--outputs" in args:
    rows = int(args[args.index("--tokens") + 1])
    numpy.save(os.path.join(args[args.index("--outputs") + 1], "y.npy"),
               numpy.full((rows, 4), VALUE if rows > 16 else FEW_VALUE,
                          dtype=numpy.float32))
for t in tokens:
    if "--profile" in args:
        print("profile: %%s tokens, device ms per call by kernel:" %% t)
        print("  grouped_matmul %%.4f (60.0%%%%), 1 launches a call" %% (0.1 * int(t)))
        print("  kernel_0 0.0100 (1.0%%), 1 launches a call")
    else:
        print("bench: 10 calls, %%s tokens: median %%.4f ms/call, min 1 ms" %% (t, 0.5 * int(t)))
        print("bench: device time (CUDA events): median %%.4f ms/call, min 1 ms" %% (DEVICE_MS * int(t)))
'''
STANDINS = {
    "fast": TIMES % (0.25, 1.0, 1.0),
    "fails": "#!/bin/sh\necho 'S3-fails: error: no GPU to run this model on' >&2\nexit 1\n",
    "hangs": "#!/bin/sh\nexec sleep 60\n",
    "late": TIMES % (0.25, 1.001, 1.0),
    "wrong": TIMES % (0.125, 1.5, 1.0),
    # Right at 300 tokens, wrong at 16, where its decode version runs.
    "decode": TIMES % (0.125, 1.0, 3.0),
}
OPTIONS = {"decode": "decode-tokens=16"}
# The default schedule (ncu profiles it beside the fastest).
with open(os.path.join(directory, "S3"), "w") as g:
    g.write(TIMES % (0.5, 1.0, 1.0))
os.chmod(os.path.join(directory, "S3"), 0o755)
with open(os.path.join(directory, "variants.txt"), "w") as f:
    for name, text in STANDINS.items():
        path = os.path.join(directory, "S3-" + name)
        with open(path, "w") as g:
            g.write(text)
        os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)
        f.write("%s %s\n" % (name, OPTIONS.get(name,
                                                "option-of-%s=true" % name)))

saves = []
default = {t: 0.5 * t for t in gpu_run.TOKENS}
# The default's outputs, which each variant's are checked against: "late"
# is within the tolerance, "wrong" far from it.
import numpy
references = {}
for tokens in (gpu_run.CHECK_TOKENS, gpu_run.CHECK_DECODE_TOKENS):
    references[tokens] = os.path.join(directory, "outputs-default-%d" % tokens)
    os.makedirs(references[tokens], exist_ok=True)
    numpy.save(os.path.join(references[tokens], "y.npy"),
               numpy.ones((tokens, 4), dtype=numpy.float32))
budget = gpu_run.Budget(timeout=2, deadline=None)
os.environ["NCU"] = sys.argv[3]
reports = os.path.join(directory, "reports")
os.makedirs(reports, exist_ok=True)
rows = gpu_run.time_variants(budget, directory, "weights.safetensors", 10,
                             default, 1e12, 1e15, gpu_run.LAYERS["S3"],
                             lambda r: saves.append(len(r)), references,
                             reports=reports)
print("reports:", sorted(os.listdir(reports)))
print("timed:", sorted({row["variant"] for row in rows}))
for row in rows:
    if row["tokens"] == 2048:
        print("%s T=2048 ms %.1f default/this %.1f gemm %s outputs %s" % (
            row["variant"], row["ms"], row["default_over_this"],
            row["gemm_ms"], row["outputs_ok"]))
for failure in budget.failures:
    print("failed: %s: %s" % (failure["run"], failure["message"]))
print("saves:", saves)

# Past the deadline nothing starts: each variant is listed as skipped.
late = gpu_run.Budget(timeout=2, deadline=-1)
rows = gpu_run.time_variants(late, directory, "weights.safetensors", 10,
                             default, 1e12, 1e15, gpu_run.LAYERS["S3"],
                             lambda r: None)
print("after the deadline: %d rows, skipped %s" % (len(rows), late.skipped))

# The fastest at each token count: a decode version at the small counts,
# the default in between, another schedule at the large.
def row(variant, tokens, ms):
    return dict(variant=variant, options="options-of-" + variant,
                tokens=tokens, ms=ms)
rows = [row("decode", 1, 0.1), row("decode", 2048, 9.0),
        row("prefill", 1, 0.3), row("prefill", 128, 1.0),
        row("prefill", 2048, 4.0)]
gpu_run.print_fastest({1: 0.2, 128: 1.0, 2048: 8.0}, rows)

# ncu's report names no kernel (its filter matched none), or ncu is refused
# the performance counters: not profiled, its output kept, and no failure
# of the benchmark; no ncu: the step says it skipped and why.
os.environ["FAKE_NCU_NO_KERNELS"] = "1"
empty = gpu_run.Budget(timeout=2, deadline=None)
profiles = gpu_run.profile_fastest_with_ncu(
    empty, directory, "weights.safetensors", {1: ("fast", 0.25, "")},
    reports)
print("no kernels:", sorted(profiles.items(), key=str), empty.unprofiled[0],
      "failures:", empty.failures)
del os.environ["FAKE_NCU_NO_KERNELS"]
os.environ["FAKE_NCU_DENY"] = "1"
denied = gpu_run.Budget(timeout=2, deadline=None)
gpu_run.profile_fastest_with_ncu(denied, directory, "weights.safetensors",
                                 {}, reports)
print("denied:", len(denied.unprofiled), "not profiled, failures:",
      denied.failures)
print("report kept:", open(os.path.join(reports, "ncu-default-T1.txt"))
      .read().splitlines()[-1])
os.environ["NCU"] = ""
print("no ncu:", gpu_run.profile_fastest_with_ncu(
    empty, directory, "weights.safetensors", {}, reports))

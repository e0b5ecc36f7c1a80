"""Runs a layer compiled with each schedule of bench/gpu-variants.txt (and
the default), and any models given, with the stand-in driver (fake-libcuda.c, which refuses what
a GPU's driver refuses) at several token counts, eagerly and as a CUDA
graph, and checks each launch against its kernel as ptxas compiled it:

  - the run exits 0 and the driver refused nothing (grid and block limits,
    tensor maps, dynamic shared memory allowed and within 227 KB; the
    executable embeds PTX, format=isa, so that the stand-in also checks
    that each grid-constant tensor-map parameter holds a map it made);
  - the block's threads are within the kernel's .maxntid;
  - its static shared memory (ptxas -v) and the launch's dynamic shared
    memory fit a block's 227 KB (an H100's or H200's);
  - its registers fit the SM's 64 K for the block's warps, at the
    allocation granularity (256 a warp).

Prints `ok NAME: ...` or `FAIL NAME: why` for each schedule, then a summary,
and exits 1 if any failed. A GPU would refuse such a launch at run time,
where no test here runs; the stand-in sees the launches' arguments.

usage: variant-launches.py --moe-compile BIN --ptxas BIN --driver DIR
         --out DIR [--variants FILE] [--model JSON ...] [--only NAME,...]
         [--dims D,F,E,K] [--tokens T,...]

With --variants, each schedule runs on a generated layer (--dims); each
--model runs under the default schedule.
"""
import argparse
import importlib.util
import math
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def load_script(name, path):
    """The Python script at `path` (whose file name is no module name) as
    module `name`."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ptxas-resources.py's reading of `ptxas -v`, and bench/gpu-run.py's layer
# with sparse BF16 weights (zeros: nothing runs here).
PTXAS_RESOURCES = load_script("ptxas_resources",
                              os.path.join(HERE, "ptxas-resources.py"))
GPU_RUN = load_script("gpu_run", os.path.join(HERE, "..", "..", "..", "..",
                                              "bench", "gpu-run.py"))

DEVICE_SHARED_BYTES = 232448
DEVICE_REGISTERS = 65536
TOKENS = [0, 1, 16, 300]
GRAPH_TOKENS = 16


def kernels_of(ptx, ptxas_log):
    """Each kernel's .maxntid (threads), registers and static shared memory."""
    kernels = {}
    for m in re.finditer(r"\.entry\s+(\w+)\s*\((.*?)\)\s*(.*?)\{", ptx, re.S):
        bound = re.search(r"\.maxntid\s+(\d+),\s*(\d+),\s*(\d+)", m.group(3))
        kernels[m.group(1)] = {
            "maxntid": math.prod(int(x) for x in bound.groups())
            if bound else 1024, "registers": 0, "smem": 0}
    for compiled in PTXAS_RESOURCES.parse_kernels(ptxas_log):
        kernel = kernels.setdefault(compiled["name"], {"maxntid": 1024})
        kernel["registers"], kernel["smem"] = (compiled["registers"],
                                               compiled["smem"])
    return kernels


def check_launches(output, kernels):
    """The launches the stand-in printed against `kernels`: (count, tensor
    maps passed, largest shared memory a block, problems)."""
    launches, maps, largest, problems = 0, 0, 0, []
    for m in re.finditer(r"fake-cuda: launch (\w+) grid (\d+) (\d+) (\d+) "
                         r"block (\d+) (\d+) (\d+) shared (\d+)"
                         r"(?: maps([ \d]+))?", output):
        name = m.group(1)
        threads = int(m.group(5)) * int(m.group(6)) * int(m.group(7))
        dynamic = int(m.group(8))
        launches += 1
        maps += len((m.group(9) or "").split())
        kernel = kernels.get(name)
        if kernel is None:
            problems.append("%s launched but not in the PTX" % name)
            continue
        if threads > kernel["maxntid"]:
            problems.append("%s launched with %d threads, .maxntid %d" %
                            (name, threads, kernel["maxntid"]))
        shared = kernel["smem"] + dynamic
        largest = max(largest, shared)
        if shared > DEVICE_SHARED_BYTES:
            problems.append("%s takes %d bytes of static and %d of dynamic "
                            "shared memory, past a block's %d" %
                            (name, kernel["smem"], dynamic,
                             DEVICE_SHARED_BYTES))
        warps = -(-threads // 32)
        per_warp = -(-kernel["registers"] * 32 // 256) * 256
        if warps * per_warp > DEVICE_REGISTERS:
            problems.append("%s: %d registers for %d threads, past the SM's "
                            "%d" % (name, kernel["registers"], threads,
                                    DEVICE_REGISTERS))
    return launches, maps, largest, problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--moe-compile", required=True)
    parser.add_argument("--ptxas", required=True)
    parser.add_argument("--driver", required=True)
    parser.add_argument("--variants",
                        help="schedules (name, options) run on the layer")
    parser.add_argument("--model", action="append", default=[],
                        help="a model run under the default schedule too")
    parser.add_argument("--out", required=True)
    parser.add_argument("--only", default="")
    parser.add_argument("--dims", default="256,2048,8,2",
                        help="the layer's D, F, experts and top k")
    parser.add_argument("--tokens", default=",".join(map(str, TOKENS)))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    # (name, model, options) to run.
    variants = []
    if args.variants:
        d, f, e, k = (int(x) for x in args.dims.split(","))
        layer = GPU_RUN.write_layer(args.out, "layer",
                                    dict(d=d, f=f, e=e, k=k))
        variants.append(("default", layer, ""))
        with open(args.variants) as listing:
            for line in listing:
                line = line.strip()
                if line and not line.startswith("#"):
                    name, _, options = line.partition(" ")
                    variants.append((name, layer, options.strip()))
    for path in args.model:
        variants.append((os.path.splitext(os.path.basename(path))[0],
                         os.path.abspath(path), ""))
    if args.only:
        wanted = args.only.split(",")
        variants = [v for v in variants if v[0] in wanted]

    env = dict(os.environ, LD_LIBRARY_PATH=args.driver, FAKE_CUDA="count",
               FAKE_CUDA_LAUNCHES="1")
    failed = 0
    for name, model, options in variants:
        arch = "sm_90a" if "wgmma=true" in options else "sm_90"
        exe = os.path.join(args.out, "run-" + name)
        compile_args = [args.moe_compile, "--target=nvptx",
                        "--gpu-arch=" + arch, model]
        problems = []
        try:
            # The executable embeds the PTX (format=isa), from which the
            # stand-in reads each kernel's parameters: its grid-constant
            # tensor maps are checked at each launch.
            subprocess.run(compile_args + [
                "--pipeline-options=" + (options + " format=isa").strip(),
                "-o", exe], check=True, capture_output=True, text=True)
            if options:
                compile_args.insert(3, "--pipeline-options=" + options)
            subprocess.run(compile_args + ["--emit=ptx", "-o", exe + ".ptx"],
                           check=True, capture_output=True, text=True)
            with open(exe + ".ptx") as text:
                ptx = text.read()
            ptxas = subprocess.run([args.ptxas, "-arch=" + arch, "-v", "-o",
                                    os.devnull, exe + ".ptx"],
                                   capture_output=True, text=True)
        except subprocess.CalledProcessError as error:
            print("FAIL %s: %s exited %d: %s" %
                  (name, os.path.basename(error.cmd[0]), error.returncode,
                   error.stderr.strip()[-400:]))
            failed += 1
            continue
        if ptxas.returncode != 0:
            problems.append("ptxas: " + ptxas.stderr.strip()[-400:])
        kernels = kernels_of(ptx, ptxas.stderr)
        launches, maps, largest = 0, 0, 0
        runs = [["--tokens", t] for t in args.tokens.split(",")]
        runs.append(["--tokens", str(GRAPH_TOKENS), "--cuda-graphs",
                     "--bench", "2"])
        for run in runs:
            result = subprocess.run([exe] + run, env=env, capture_output=True,
                                    text=True, cwd=args.out)
            output = result.stdout + result.stderr
            refused = re.findall(r"fake-cuda: refused: .*", output)
            if result.returncode != 0 or refused:
                problems.append("%s exited %d: %s" % (
                    " ".join(run), result.returncode,
                    (refused or [output.strip()[-300:]])[0]))
            count, passed, shared, found = check_launches(output, kernels)
            launches += count
            maps += passed
            largest = max(largest, shared)
            problems += ["%s: %s" % (" ".join(run), p) for p in found]
        if problems:
            failed += 1
            print("FAIL %s: %s" % (name, "; ".join(sorted(set(problems)))))
        else:
            print("ok %s: %d kernels, %d launches (%d tensor maps passed), "
                  "largest block shared memory %d bytes" %
                  (name, len(kernels), launches, maps, largest))
    print("variant-launches: %d configurations, %d failed" %
          (len(variants), failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

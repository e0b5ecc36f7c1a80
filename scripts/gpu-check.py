#!/usr/bin/env python3
"""Runs the executables scripts/gpu-check.sh prepared and compares their
outputs with the reference's (Python 3 and numpy; no LLVM).

  gpu-check.py DIR [--timeout SECONDS] [--only NAME,...] [--wrap COMMAND]

For each case of DIR/cases.json it runs `DIR/NAME --tokens T --seed 3
--outputs TMP [ARGS]` in DIR, and compares every output the reference
wrote (DIR/NAME.expected-T/*.npy) as moe-reference --compare-outputs does:
non-finite values must agree in place (any NaN matches any NaN), and over
the finite ones max|actual - expected| / max(max finite |expected|, 1e-6)
must not exceed the case's tolerance. It prints a line per output and a
summary, and exits 1 when an executable fails or an output differs.
--only runs the named cases alone; --wrap runs each executable under a
command, e.g. "compute-sanitizer --tool racecheck --error-exitcode 3"
(its report is printed after the run's lines where it fails).
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

import numpy as np


def compare(expected, actual, rtol):
    """(max_abs_err, max_rel_err, ok) by moe-reference's rule."""
    if expected.shape != actual.shape:
        return None, None, False
    e = expected.astype(np.float64).ravel()
    a = actual.astype(np.float64).ravel()
    finite = np.isfinite(e) & np.isfinite(a)
    same_nonfinite = (np.isnan(e) & np.isnan(a)) | (e == a)
    nonfinite_ok = bool(np.all(finite | same_nonfinite))
    max_abs = float(np.max(np.abs(a[finite] - e[finite]), initial=0.0))
    scale = float(np.max(np.abs(e[finite]), initial=0.0))
    max_rel = max_abs / max(scale, 1e-6)
    return max_abs, max_rel, nonfinite_ok and max_rel <= rtol


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--only", help="comma-separated case names")
    parser.add_argument("--wrap", default="", help="a command to run each "
                        "executable under")
    options = parser.parse_args()
    directory = os.path.abspath(options.dir)
    with open(os.path.join(directory, "cases.json")) as f:
        cases = json.load(f)
    if options.only:
        wanted = options.only.split(",")
        unknown = sorted(set(wanted) - {case["name"] for case in cases})
        if unknown:
            sys.exit("gpu-check: no case named %s in %s" % (
                ", ".join(unknown), os.path.join(directory, "cases.json")))
        cases = [case for case in cases if case["name"] in wanted]
    failures = outputs = 0
    for case in cases:
        name, tokens = case["name"], case["tokens"]
        label = "%s T=%d" % (name, tokens)
        if "--cuda-graphs" in case["args"]:
            label += " (CUDA graph)"
        expected_dir = os.path.join(directory, "%s.expected-%d" % (name, tokens))
        with tempfile.TemporaryDirectory() as actual_dir:
            command = shlex.split(options.wrap) + [
                os.path.join(directory, name), "--tokens", str(tokens),
                "--seed", "3", "--outputs", actual_dir] + case["args"]
            try:
                run = subprocess.run(command, cwd=directory, capture_output=True,
                                     text=True, timeout=options.timeout)
            except subprocess.TimeoutExpired:
                print("%s: FAIL: no result after %g s" % (label, options.timeout))
                failures += 1
                continue
            if run.returncode != 0:
                # The executable's own message (its first error line), else
                # the last line it wrote.
                lines = (run.stderr or run.stdout).strip().splitlines()
                errors = [line for line in lines if "error:" in line]
                message = errors[0] if errors else (lines[-1] if lines else "")
                print("%s: FAIL: exit %d: %s" % (label, run.returncode, message))
                if options.wrap:
                    print("\n".join("  " + line for line in lines[-40:]))
                failures += 1
                continue
            for output in sorted(os.listdir(expected_dir)):
                outputs += 1
                path = os.path.join(actual_dir, output)
                if not os.path.exists(path):
                    print("%s: %s: FAIL: not written" % (label, output[:-4]))
                    failures += 1
                    continue
                expected = np.load(os.path.join(expected_dir, output))
                actual = np.load(path)
                max_abs, max_rel, ok = compare(expected, actual, case["rtol"])
                if max_abs is None:
                    print("%s: %s: FAIL: shape %s, expected %s" % (
                        label, output[:-4], actual.shape, expected.shape))
                    failures += 1
                    continue
                print("%s: %s: max_abs_err=%.6g max_rel_err=%.6g %s" % (
                    label, output[:-4], max_abs, max_rel,
                    "OK" if ok else "MISMATCH (rtol %g)" % case["rtol"]))
                failures += 0 if ok else 1
    print("gpu-check: %d runs, %d outputs, %d failures" % (
        len(cases), outputs, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""The Python wrapper (runtime/python/moe_model.py) on a model library, for
the tests: runs the model on the given .npy inputs and writes every output
to OUTDIR/NAME.npy; then, with --threads-check, runs two Models of the same
library at once in two threads and checks that every call gives those
outputs bit for bit.

  use-wrapper.py WRAPPER_DIR LIBRARY OUTDIR X.npy... [--weights W]
                 [--threads-check]
"""
import argparse
import os
import sys
import threading

parser = argparse.ArgumentParser()
parser.add_argument("wrapper_dir")
parser.add_argument("library")
parser.add_argument("outdir")
parser.add_argument("inputs", nargs="+")
parser.add_argument("--weights")
parser.add_argument("--threads-check", action="store_true")
args = parser.parse_args()
sys.path.insert(0, args.wrapper_dir)

import numpy as np  # noqa: E402
from moe_model import Model  # noqa: E402

model = Model(args.library, weights=args.weights)
xs = [np.load(path) for path in args.inputs]
result = model(*xs)
results = result if isinstance(result, dict) else {model.outputs[0][0]: result}
for name, array in results.items():
    np.save(os.path.join(args.outdir, name + ".npy"), array)
    print("%s %s" % (name, list(array.shape)))

if args.threads_check:
    models = [Model(args.library, weights=args.weights) for _ in range(2)]
    failures = []

    def run(m):
        for _ in range(4):
            got = m(*xs)
            got = got if isinstance(got, dict) else {m.outputs[0][0]: got}
            for name, array in results.items():
                if not np.array_equal(got[name], array):
                    failures.append(name)

    threads = [threading.Thread(target=run, args=(m,)) for m in models]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("threads: %d calls on 2 models, %d differ" % (8, len(failures)))
    sys.exit(1 if failures else 0)

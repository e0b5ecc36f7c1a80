"""Reads `ptxas -v` output on stdin and prints one line per kernel
(registers, shared memory, stack, spill bytes), then two summary lines:

  ptxas: N kernels, S with spills, max R registers
  ptxas: G grouped matmuls, M with spills

(the expert GEMM kernels are named *_grouped_matmul*).

It exits 1 when ptxas compiled no kernel or reported an error, so a test
that pipes ptxas into it fails on either.
"""
import re
import sys


def parse_kernels(text):
    """Each kernel `ptxas -v` compiled (its output `text`): name, registers,
    static shared memory (smem), stack and spill bytes."""
    kernels = []
    current = None
    for line in text.splitlines():
        m = re.search(r"Compiling entry function '([^']+)'", line)
        if m:
            current = {"name": m.group(1), "stack": 0, "spill_stores": 0,
                       "spill_loads": 0, "registers": 0, "smem": 0}
            kernels.append(current)
            continue
        if current is None:
            continue
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, "
                      r"(\d+) bytes spill loads", line)
        if m:
            current["stack"], current["spill_stores"], current["spill_loads"] = (
                int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = re.search(r"Used (\d+) registers", line)
        if m:
            current["registers"] = int(m.group(1))
        m = re.search(r"(\d+) bytes smem", line)
        if m:
            current["smem"] = int(m.group(1))
    return kernels


def main():
    text = sys.stdin.read()
    if "error" in text.lower():
        sys.stdout.write(text)
        sys.exit("ptxas-resources: ptxas reported an error")
    kernels = parse_kernels(text)
    if not kernels:
        sys.exit("ptxas-resources: no kernel in the ptxas output")
    for k in kernels:
        print("%-40s registers=%-3d smem=%-6d stack=%-4d spill_stores=%d "
              "spill_loads=%d" % (k["name"], k["registers"], k["smem"],
                                   k["stack"], k["spill_stores"],
                                   k["spill_loads"]))
    spilled = sum(1 for k in kernels if k["spill_stores"] or k["spill_loads"])
    print("ptxas: %d kernels, %d with spills, max %d registers" %
          (len(kernels), spilled, max(k["registers"] for k in kernels)))
    gemms = [k for k in kernels if "_grouped_matmul" in k["name"]]
    print("ptxas: %d grouped matmuls, %d with spills" %
          (len(gemms),
           sum(1 for k in gemms if k["spill_stores"] or k["spill_loads"])))


if __name__ == "__main__":
    main()

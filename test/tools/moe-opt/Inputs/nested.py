# Writes MLIR text nested N deep, for nesting-limit.test.
#
#   nested.py KIND N
import sys

kind, n = sys.argv[1], int(sys.argv[2])
if kind == "parens":
    # Unclosed parentheses after a function name: the fuzzer's crash input.
    text = "func.func @f" + "(" * n
elif kind == "regions":
    # Operations nested N deep through their regions: 2 brackets a level.
    text = ('"t.a"() ({\n' * n + '"t.b"() : () -> ()\n' +
            "}) : () -> ()\n" * n)
elif kind == "negations":
    text = ("#m = affine_map<(d0) -> (" + "-" * n + "d0)>\n"
            "module attributes {t.m = #m} {}")
elif kind == "sum":
    # N terms: no brackets, but the affine parser recurses on each.
    text = ("#m = affine_map<(d0) -> (" + " + ".join(["d0"] * n) + ")>\n"
            "module attributes {t.m = #m} {}")
elif kind == "quoted":
    # Brackets in a string and in comments are not nesting.
    text = ("// " + "(" * n + "\n" +
            'module attributes {t.s = "' + "([{<" * n + '"} {}\n' +
            "// " + "[" * n + "\n")
elif kind == "unbalanced-chunks":
    # Two chunks of --split-input-file, each 3000 brackets short of closed.
    chunk = "module attributes {t.x = " + "[" * 3000 + "\n"
    text = chunk + "// -----\n" + chunk
else:
    sys.exit("unknown kind " + kind)
sys.stdout.write(text + "\n")

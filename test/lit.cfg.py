# -*- Python -*-
# lit configuration of the moe-mlir regression suite.

import os
import shutil

import lit.formats
import lit.util
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "MOE"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.moe_obj_root, "test")
config.excludes = ["Inputs", "corpus", "reference", "CMakeLists.txt", "README.md", "lit.cfg.py",
                   "lit.site.cfg.py"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%moe_src_root", config.moe_src_root))
config.substitutions.append(("%moe_tools_dir", config.moe_tools_dir))
config.substitutions.append(("%examples", os.path.join(config.moe_src_root, "examples")))
config.substitutions.append(("%mlir_lib_dir", config.mlir_lib_dir))
config.substitutions.append(("%moe_lib_dir", os.path.join(config.moe_obj_root, "lib")))

llvm_config.use_default_substitutions()
llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
# The project's tools come first on PATH, so that scripts the tests run (the
# integration sweep) find the moe-compile and moe-reference just built.
llvm_config.with_environment("PATH", config.moe_tools_dir, append_path=True)

# Stricter FileCheck, as upstream MLIR runs it.
# LLVM's allocators poison memory from inline code; in libMLIR (not
# instrumented) the same memory is used unpoisoned: ignore user poisoning.
# LeakSanitizer checks every tool, fuzz target and compiled model of the
# sanitizer build; test/lsan.supp lists the reviewed upstream leaks.
config.environment["ASAN_OPTIONS"] = "allow_user_poisoning=0:detect_leaks=1"
config.environment["LSAN_OPTIONS"] = "suppressions=%s:print_suppressions=0" % (
    os.path.join(config.moe_src_root, "test", "lsan.supp"))
if lit.util.pythonize_bool(config.moe_sanitize):
    config.available_features.add("asan")
# The random sweeps' configuration counts (Integration/*/random-sweep.test):
# the whole sweep in the plain build; in the sanitizer build, whose tools
# and models run several times slower, its first configurations, which
# still take every pass and the runtime through ASan and UBSan: on a 2-core
# CI machine without AVX-512 the full sweeps took 17 of the plain suite's
# 26 minutes of test time, and CI has 90 minutes for both builds and
# suites.
# The GPU schedule's sweep of each schedule option beyond the default takes
# 7 configurations (2 under the sanitizers): the plain suite took 29
# minutes there with 14 each.
if lit.util.pythonize_bool(config.moe_sanitize):
    config.substitutions.append(("%sweep_configs_variant", "2"))
    config.substitutions.append(("%sweep_configs_short", "3"))
    config.substitutions.append(("%sweep_configs", "6"))
else:
    config.substitutions.append(("%sweep_configs_variant", "7"))
    config.substitutions.append(("%sweep_configs_short", "14"))
    config.substitutions.append(("%sweep_configs", "42"))
config.environment["FILECHECK_OPTS"] = "-enable-var-scope --allow-unused-prefixes=false"

tool_dirs = [config.moe_tools_dir, config.llvm_tools_dir]
tools = ["moe-opt", "moe-compile", "moe-import-hf", "moe-reference", "mlir-opt", "mlir-runner",
         "mlir-translate", "fuzz-model-json", "fuzz-safetensors", "fuzz-npy",
         "fuzz-moe-ir", "llvm-nm", "llvm-readelf"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# The Python wrapper of the embedding library (runtime/python/moe_model.py)
# needs numpy: Debian's python3-numpy, which scripts/setup.sh installs.
import subprocess
import sys
if subprocess.run([sys.executable, "-c", "import numpy"],
                  stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL).returncode == 0:
    config.available_features.add("numpy")
else:
    lit_config.note("numpy not found for %s: the Python wrapper tests are "
                    "unsupported" % sys.executable)
# A C compiler for the programs that link a model library: LLVM's clang,
# with the sanitizers in a sanitizer build, whose libraries leave their
# runtime to the program.
cc = os.path.join(config.llvm_tools_dir, "clang")
if lit.util.pythonize_bool(config.moe_sanitize):
    cc += " -fsanitize=address,undefined -fno-sanitize=vptr"
config.substitutions.append(("%cc", cc))
config.substitutions.append(("%moe_python_dir",
                             os.path.join(config.moe_src_root, "runtime",
                                          "python")))

# Compiled code of moe-compile --bf16-dot runs only on CPUs with AVX512-BF16,
# and that of --amx only on CPUs with AMX-BF16 (and AVX512-BF16, for the
# rows the tiles leave).
try:
    with open("/proc/cpuinfo") as cpuinfo:
        cpu_flags = cpuinfo.read().split()
    if "avx512_bf16" in cpu_flags:
        config.available_features.add("avx512bf16")
        if "amx_bf16" in cpu_flags and "amx_tile" in cpu_flags:
            config.available_features.add("amx")
except OSError:
    pass
if "amx" not in config.available_features:
    lit_config.note("no AMX-BF16 (with AVX512-BF16) on this CPU: the tests "
                    "that run moe-compile --amx code are unsupported")

# The CUDA toolkit's ptxas assembles the NVPTX target's PTX (no GPU
# needed): CUDA_HOME, then /usr/local/cuda, then PATH.
ptxas = None
for cuda_root in (os.environ.get("CUDA_HOME"), "/usr/local/cuda"):
    if cuda_root and os.path.isfile(os.path.join(cuda_root, "bin", "ptxas")):
        ptxas = os.path.join(cuda_root, "bin", "ptxas")
        break
if ptxas is None:
    ptxas = shutil.which("ptxas")
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
else:
    lit_config.note("ptxas not found (CUDA_HOME, /usr/local/cuda, PATH): "
                    "the NVPTX ptxas tests are unsupported")

# A CUDA GPU for the tests that run NVPTX code: the driver loads and finds
# a device (what the runtime itself does, runtime/lib/CUDADriver.cpp) of
# an architecture moe-compile takes; %gpu_arch names it.
def cuda_gpu_arch():
    import ctypes
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return None
    count, device, major = ctypes.c_int(0), ctypes.c_int(0), ctypes.c_int(0)
    if (cuda.cuInit(0) != 0 or
            cuda.cuDeviceGetCount(ctypes.byref(count)) != 0 or
            count.value == 0 or
            cuda.cuDeviceGet(ctypes.byref(device), 0) != 0 or
            # CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
            cuda.cuDeviceGetAttribute(ctypes.byref(major), 75, device) != 0):
        return None
    return "sm_90" if major.value >= 9 else "sm_80" if major.value == 8 else None

gpu_arch = cuda_gpu_arch()
if gpu_arch:
    config.available_features.add("cuda-gpu")
    config.substitutions.append(("%gpu_arch", gpu_arch))
else:
    lit_config.note("no CUDA GPU of sm_80 or later (libcuda.so.1 with a "
                    "device): the tests that run NVPTX code on a GPU are "
                    "unsupported")

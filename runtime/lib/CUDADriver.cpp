//===- CUDADriver.cpp - The CUDA driver, loaded at run time ---------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file loads libcuda.so.1 and resolves the driver API (see
// CUDADriver.h).
//
//===----------------------------------------------------------------------===//

#include "moe/Runtime/CUDADriver.h"

#include <dlfcn.h>
#include <mutex>
#include <type_traits>

namespace moe {

namespace {

struct LoadedDriver {
  CUDADriver driver;
  bool ok = false;
  std::string error;
};

/// Resolves `name` into `slot`; false (with `error`) when it is missing.
template <typename Function>
bool resolve(void *library, const char *name, Function &slot,
             std::string &error) {
  slot = reinterpret_cast<Function>(dlsym(library, name));
  if (!slot)
    error = std::string("the CUDA driver has no ") + name;
  return slot != nullptr;
}

LoadedDriver load() {
  LoadedDriver loaded;
  std::string &error = loaded.error;
  void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *reason = dlerror();
    error = std::string("no CUDA driver (libcuda.so.1): ") +
            (reason ? reason : "not found");
    return loaded;
  }
  CUDADriver &d = loaded.driver;
  if (!resolve(library, "cuInit", d.cuInit, error) ||
      !resolve(library, "cuDeviceGetCount", d.cuDeviceGetCount, error) ||
      !resolve(library, "cuDeviceGet", d.cuDeviceGet, error) ||
      !resolve(library, "cuDeviceGetName", d.cuDeviceGetName, error) ||
      !resolve(library, "cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain,
               error) ||
      !resolve(library, "cuCtxSetCurrent", d.cuCtxSetCurrent, error) ||
      !resolve(library, "cuCtxSynchronize", d.cuCtxSynchronize, error) ||
      !resolve(library, "cuModuleLoadData", d.cuModuleLoadData, error) ||
      !resolve(library, "cuModuleUnload", d.cuModuleUnload, error) ||
      !resolve(library, "cuModuleGetFunction", d.cuModuleGetFunction, error) ||
      !resolve(library, "cuLaunchKernel", d.cuLaunchKernel, error) ||
      !resolve(library, "cuFuncSetAttribute", d.cuFuncSetAttribute, error) ||
      !resolve(library, "cuStreamCreate", d.cuStreamCreate, error) ||
      !resolve(library, "cuStreamSynchronize", d.cuStreamSynchronize, error) ||
      !resolve(library, "cuStreamDestroy_v2", d.cuStreamDestroy, error) ||
      !resolve(library, "cuMemAlloc_v2", d.cuMemAlloc, error) ||
      !resolve(library, "cuMemFree_v2", d.cuMemFree, error) ||
      !resolve(library, "cuMemcpyHtoD_v2", d.cuMemcpyHtoD, error) ||
      !resolve(library, "cuMemcpyDtoH_v2", d.cuMemcpyDtoH, error) ||
      !resolve(library, "cuMemsetD8_v2", d.cuMemsetD8, error) ||
      !resolve(library, "cuGetErrorName", d.cuGetErrorName, error) ||
      !resolve(library, "cuGetErrorString", d.cuGetErrorString, error))
    return loaded;
  // Optional: without them the device clock is off. CUDA 12.8 and later
  // name the elapsed time's entry point _v2 (the same signature).
  auto optional = [&](const char *name, auto &slot) {
    slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(
        dlsym(library, name));
  };
  optional("cuEventCreate", d.cuEventCreate);
  optional("cuEventRecord", d.cuEventRecord);
  optional("cuEventSynchronize", d.cuEventSynchronize);
  optional("cuEventElapsedTime_v2", d.cuEventElapsedTime);
  if (!d.cuEventElapsedTime)
    optional("cuEventElapsedTime", d.cuEventElapsedTime);
  optional("cuEventDestroy_v2", d.cuEventDestroy);
  // Without them --cuda-graphs is refused. cuda.h maps these names onto
  // the versioned entry points.
  optional("cuStreamBeginCapture_v2", d.cuStreamBeginCapture);
  optional("cuStreamEndCapture", d.cuStreamEndCapture);
  optional("cuGraphInstantiateWithFlags", d.cuGraphInstantiate);
  optional("cuGraphLaunch", d.cuGraphLaunch);
  optional("cuGraphExecDestroy", d.cuGraphExecDestroy);
  optional("cuGraphDestroy", d.cuGraphDestroy);
  // Without it a model with TMA tensor maps is refused.
  optional("cuTensorMapEncodeTiled", d.cuTensorMapEncodeTiled);
  int count = 0;
  if (!checkCUDA(d, d.cuInit(0), "initialising the CUDA driver", error) ||
      !checkCUDA(d, d.cuDeviceGetCount(&count), "counting CUDA devices", error))
    return loaded;
  if (count == 0) {
    error = "no CUDA device (the driver found none)";
    return loaded;
  }
  char name[256] = {0};
  if (!checkCUDA(d, d.cuDeviceGet(&d.device, 0), "opening CUDA device 0",
                 error) ||
      !checkCUDA(d, d.cuDeviceGetName(name, sizeof(name) - 1, d.device),
                 "naming CUDA device 0", error) ||
      !checkCUDA(d, d.cuDevicePrimaryCtxRetain(&d.context, d.device),
                 "creating a context on CUDA device 0", error))
    return loaded;
  d.deviceName = name;
  loaded.ok = true;
  return loaded;
}

} // namespace

const CUDADriver *getCUDADriver(std::string &error) {
  // Never destroyed: the binary's module unloads from a destructor that
  // runs after function-local statics are gone (_dl_fini after the exit
  // handlers), and it asks for the driver too.
  static const LoadedDriver &loaded = *new LoadedDriver(load());
  if (!loaded.ok) {
    error = loaded.error;
    return nullptr;
  }
  // The primary context is made current once on each thread that calls:
  // the mgpu* functions call here for every launch.
  thread_local bool current = false;
  if (!current &&
      !checkCUDA(loaded.driver,
                 loaded.driver.cuCtxSetCurrent(loaded.driver.context),
                 "making the CUDA context current", error))
    return nullptr;
  current = true;
  return &loaded.driver;
}

bool checkCUDA(const CUDADriver &driver, CUresult result, const char *what,
               std::string &error) {
  if (result == 0)
    return true;
  const char *name = nullptr, *description = nullptr;
  if (driver.cuGetErrorName)
    driver.cuGetErrorName(result, &name);
  if (driver.cuGetErrorString)
    driver.cuGetErrorString(result, &description);
  error = std::string(what) + ": " +
          (name ? name : "CUDA error " + std::to_string(result)) +
          (description ? std::string(" (") + description + ")" : "");
  return false;
}

} // namespace moe

//===- CUDADriver.h - The CUDA driver, loaded at run time -------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The CUDA driver API functions the runtime uses, resolved from
// libcuda.so.1 with dlopen: executables build and start on machines without
// a GPU or a driver, and there say so. The handful of driver types are
// declared here, so the runtime needs no CUDA header either.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_RUNTIME_CUDADRIVER_H
#define MOE_RUNTIME_CUDADRIVER_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace moe {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;
using CUgraph = struct CUgraph_st *;
using CUgraphExec = struct CUgraphExec_st *;

/// The driver's entry points, and the device and context the runtime uses
/// (device 0's primary context).
struct CUDADriver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, CUstream, void **,
                             void **);
  // A kernel launched with dynamic shared memory is first allowed that much
  // (CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES): without it, static
  // and dynamic together must stay within 48 KB.
  CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  // Events, for the device clock; null when the driver lacks them (the
  // model still runs, untimed on the device).
  CUresult (*cuEventCreate)(CUevent *, unsigned) = nullptr;
  CUresult (*cuEventRecord)(CUevent, CUstream) = nullptr;
  CUresult (*cuEventSynchronize)(CUevent) = nullptr;
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent) = nullptr;
  CUresult (*cuEventDestroy)(CUevent) = nullptr;

  // CUDA graphs, for replaying a call's launches as one; null when the
  // driver lacks them.
  CUresult (*cuStreamBeginCapture)(CUstream, int) = nullptr;
  CUresult (*cuStreamEndCapture)(CUstream, CUgraph *) = nullptr;
  CUresult (*cuGraphInstantiate)(CUgraphExec *, CUgraph,
                                 unsigned long long) = nullptr;
  CUresult (*cuGraphLaunch)(CUgraphExec, CUstream) = nullptr;
  CUresult (*cuGraphExecDestroy)(CUgraphExec) = nullptr;
  CUresult (*cuGraphDestroy)(CUgraph) = nullptr;

  // TMA tensor maps (sm_90 kernels compiled with tma-weights); null when
  // the driver lacks it (such a model is refused).
  CUresult (*cuTensorMapEncodeTiled)(void *, int, unsigned, void *,
                                     const unsigned long long *,
                                     const unsigned long long *,
                                     const unsigned *, const unsigned *, int,
                                     int, int, int) = nullptr;

  /// Whether the driver has the event functions.
  bool hasEvents() const {
    return cuEventCreate && cuEventRecord && cuEventSynchronize &&
           cuEventElapsedTime && cuEventDestroy;
  }
  /// Whether the driver has the graph functions.
  bool hasGraphs() const {
    return cuStreamBeginCapture && cuStreamEndCapture && cuGraphInstantiate &&
           cuGraphLaunch && cuGraphExecDestroy && cuGraphDestroy;
  }

  CUdevice device = 0;
  CUcontext context = nullptr;
  std::string deviceName;
};

/// The driver with device 0's primary context current on this thread, or
/// null with the reason in `error` ("no CUDA driver (libcuda.so.1): ...",
/// "no CUDA device"). It is loaded once; later calls give the same answer.
const CUDADriver *getCUDADriver(std::string &error);

/// Whether `result` is success; otherwise sets `error` to "WHAT: NAME
/// (description)".
bool checkCUDA(const CUDADriver &driver, CUresult result, const char *what,
               std::string &error);

/// The first error of the mgpu* functions the compiled host code calls
/// (they cannot return one), and clears it; empty when there was none.
std::string takeKernelLaunchError();

/// The device clock: from startDeviceClock on, the mgpu* functions record
/// a CUDA event on each stream before its first kernel and another when
/// the host waits for it, and readDeviceClock gives the sum of those spans
/// in seconds (the time the device spent on the kernels, the gaps between
/// the host code's streams left out) and stops the clock. Needs the
/// driver's events (CUDADriver::hasEvents).
void startDeviceClock();
double readDeviceClock();

struct KernelTime; // Backend.h

/// The kernel profile (--profile on a GPU): from startKernelProfile on, the
/// mgpu* functions bracket each launch with two CUDA events on its stream
/// and read them when the host waits for the stream; readKernelProfile
/// gives each kernel's total, in the order they first ran, and stops.
/// Needs the driver's events (CUDADriver::hasEvents).
void startKernelProfile();
std::vector<KernelTime> readKernelProfile();
/// Whether the kernel profile runs.
bool kernelProfileRunning();

/// Stream capture (CUDA graphs): while `stream` is set, the host code's
/// streams are that one stream, which the caller captures: the mgpu*
/// functions create, wait for and destroy no stream of their own, and
/// record no events; null ends it.
void setCaptureStream(CUstream stream);

/// Opens `stream`'s span on the running device clock, as the host code's
/// first kernel on a stream does (for work launched outside it: a graph).
void startDeviceSpan(CUstream stream);

/// Waits for `stream` as the host code's waits do: closes its span on the
/// running device clock and reads its launches' events into the kernel
/// profile. An error is kept for takeKernelLaunchError.
void waitForStream(CUstream stream);

} // namespace moe

#endif // MOE_RUNTIME_CUDADRIVER_H

/* A stand-in for libcuda.so.1 on machines without a GPU, for testing how
 * the runtime reports driver failures (runtime/lib/CUDADriver.cpp). It
 * runs nothing. FAKE_CUDA selects the failure:
 *   no-device   the driver finds no device;
 *   bad-binary  loading the kernels fails as for a binary of another GPU;
 *   count       nothing fails: launches return at once, and at exit the
 *               stand-in prints how many kernels were launched, streams
 *               created and streams synchronized (the host code's calls,
 *               for tests of how it drives the GPU) and events recorded;
 *               two events are 1.5 ms apart; a launch with more dynamic
 *               shared memory than its kernel was allowed fails, and the
 *               allowances (if any) are printed too;
 *   no-opt-in   as count, but allowing a kernel dynamic shared memory
 *               fails as for more than the device has;
 *   no-capture  as count, but ending a stream capture fails as for a
 *               capture that an illegal call invalidated;
 * otherwise every launch fails. In the counting modes, stream capture
 * (CUDA graphs) is kept as strictly as a GPU's driver keeps it: a launch on
 * the capturing stream is captured, not run, waiting for that stream or
 * recording an event on it fails, and at exit the stand-in prints the
 * graphs captured, their kernels and the graph launches. Built with
 * -DFAKE_CUDA_NO_EVENTS it has no event functions, with
 * -DFAKE_CUDA_NO_GRAPHS no graph functions, as a driver without them.
 * In the counting modes each TMA tensor map made is printed (its data
 * type, dimensions, byte strides, box, swizzle, L2 promotion and fill,
 * innermost first, as the runtime passes them), and at exit the number
 * made and copied to the device; a map copied on the capturing stream
 * fails. Built with -DFAKE_CUDA_NO_TMA it has no tensor-map functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
static const char *mode(void) {
  const char *m = getenv("FAKE_CUDA");
  return m ? m : "";
}
static int counting(void) {
  return strcmp(mode(), "count") == 0 || strcmp(mode(), "no-opt-in") == 0 ||
         strcmp(mode(), "no-capture") == 0;
}
static unsigned long launches, streams, syncs, events, allowances;
static unsigned long graphs, captured, graphLaunches;
static unsigned long tensorMaps, mapCopies;
/* The stream being captured, or null. */
static void *capturing;
/* CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, _INVALIDATED. */
enum { kCaptureUnsupported = 900, kCaptureInvalidated = 901 };
/* Every kernel is function 1 here: one allowance for all. */
static int allowedSharedBytes, largestSharedBytes;
__attribute__((destructor)) static void printCounts(void) {
  if (!counting())
    return;
  fprintf(stderr, "fake-cuda: launches=%lu streams=%lu syncs=%lu events=%lu\n",
          launches, streams, syncs, events);
  if (graphs || graphLaunches)
    fprintf(stderr, "fake-cuda: graphs=%lu captured=%lu graph-launches=%lu\n",
            graphs, captured, graphLaunches);
  if (tensorMaps || mapCopies)
    fprintf(stderr, "fake-cuda: tensor-maps=%lu copied=%lu\n", tensorMaps,
            mapCopies);
  if (allowances)
    fprintf(stderr,
            "fake-cuda: shared memory allowed %lu times, largest launch %d "
            "bytes\n",
            allowances, largestSharedBytes);
}
CUresult cuInit(unsigned flags) { return 0; }
CUresult cuDeviceGetCount(int *count) {
  *count = strcmp(mode(), "no-device") == 0 ? 0 : 1;
  return 0;
}
CUresult cuDeviceGet(int *device, int ordinal) { *device = 0; return 0; }
CUresult cuDeviceGetName(char *name, int len, int device) {
  strncpy(name, "Fake GPU", len);
  return 0;
}
CUresult cuDevicePrimaryCtxRetain(void **context, int device) {
  *context = (void *)1;
  return 0;
}
CUresult cuCtxSetCurrent(void *context) { return 0; }
CUresult cuCtxSynchronize(void) { return 0; }
CUresult cuModuleLoadData(void **module, const void *image) {
  if (strcmp(mode(), "bad-binary") == 0)
    return 209;
  *module = (void *)1;
  return 0;
}
CUresult cuModuleUnload(void *module) { return 0; }
CUresult cuModuleGetFunction(void **function, void *module, const char *n) {
  *function = (void *)1;
  return 0;
}
CUresult cuFuncSetAttribute(void *function, int attribute, int value) {
  if (strcmp(mode(), "no-opt-in") == 0)
    return 1; /* CUDA_ERROR_INVALID_VALUE */
  if (attribute == 8 /* MAX_DYNAMIC_SHARED_SIZE_BYTES */) {
    ++allowances;
    allowedSharedBytes = value;
  }
  return 0;
}
CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned smem,
                        void *stream, void **params, void **extra) {
  if (!counting())
    return 719; /* nothing runs here */
  if ((int)smem > allowedSharedBytes)
    return 1; /* CUDA_ERROR_INVALID_VALUE */
  if ((int)smem > largestSharedBytes)
    largestSharedBytes = (int)smem;
  if (capturing && stream == capturing)
    ++captured;
  else
    ++launches;
  return 0;
}
CUresult cuStreamCreate(void **stream, unsigned flags) {
  /* Distinct handles, so that the capturing stream is told apart. */
  *stream = (void *)++streams;
  return 0;
}
CUresult cuStreamSynchronize(void *stream) {
  if (capturing && stream == capturing)
    return kCaptureUnsupported;
  ++syncs;
  return 0;
}
CUresult cuStreamDestroy_v2(void *stream) { return 0; }
CUresult cuMemAlloc_v2(unsigned long long *pointer, size_t bytes) {
  *pointer = (unsigned long long)malloc(bytes);
  return 0;
}
CUresult cuMemFree_v2(unsigned long long pointer) {
  free((void *)pointer);
  return 0;
}
CUresult cuMemcpyHtoD_v2(unsigned long long d, const void *h, size_t n) {
  memcpy((void *)d, h, n);
  return 0;
}
CUresult cuMemcpyDtoH_v2(void *h, unsigned long long d, size_t n) {
  memcpy(h, (void *)d, n);
  return 0;
}
CUresult cuMemsetD8_v2(unsigned long long d, unsigned char v, size_t n) {
  memset((void *)d, v, n);
  return 0;
}
CUresult cuGetErrorName(CUresult error, const char **name) {
  *name =
      error == 209                   ? "CUDA_ERROR_NO_BINARY_FOR_GPU"
      : error == 719                 ? "CUDA_ERROR_LAUNCH_FAILED"
      : error == 1                   ? "CUDA_ERROR_INVALID_VALUE"
      : error == kCaptureUnsupported ? "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED"
      : error == kCaptureInvalidated ? "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED"
                                     : "CUDA_ERROR_UNKNOWN";
  return 0;
}
CUresult cuGetErrorString(CUresult error, const char **text) {
  *text = error == 209
              ? "no kernel image is available for execution on the device"
          : error == 719 ? "unspecified launch failure"
          : error == 1   ? "invalid argument"
          : error == kCaptureUnsupported
              ? "operation not permitted when stream is capturing"
          : error == kCaptureInvalidated
              ? "operation failed due to a previous error during capture"
              : "unknown error";
  return 0;
}
#ifndef FAKE_CUDA_NO_GRAPHS
CUresult cuStreamBeginCapture_v2(void *stream, int mode) {
  if (capturing)
    return kCaptureUnsupported;
  capturing = stream;
  return 0;
}
CUresult cuStreamEndCapture(void *stream, void **graph) {
  if (stream != capturing)
    return 1;
  capturing = 0;
  if (strcmp(mode(), "no-capture") == 0)
    return kCaptureInvalidated;
  *graph = (void *)1;
  ++graphs;
  return 0;
}
CUresult cuGraphInstantiateWithFlags(void **exec, void *graph,
                                     unsigned long long flags) {
  *exec = (void *)1;
  return 0;
}
CUresult cuGraphLaunch(void *exec, void *stream) {
  if (capturing)
    return kCaptureUnsupported;
  ++graphLaunches;
  return 0;
}
CUresult cuGraphExecDestroy(void *exec) { return 0; }
CUresult cuGraphDestroy(void *graph) { return 0; }
#endif
#ifndef FAKE_CUDA_NO_TMA
CUresult cuTensorMapEncodeTiled(void *map, int dataType, unsigned rank,
                                void *address, const unsigned long long *dims,
                                const unsigned long long *strides,
                                const unsigned *box,
                                const unsigned *elementStrides, int interleave,
                                int swizzle, int l2Promotion, int oobFill) {
  unsigned i;
  if (counting()) {
    fprintf(stderr, "fake-cuda: tensor map: type %d dims", dataType);
    for (i = 0; i < rank; ++i)
      fprintf(stderr, " %llu", dims[i]);
    fprintf(stderr, " strides");
    for (i = 0; i + 1 < rank; ++i)
      fprintf(stderr, " %llu", strides[i]);
    fprintf(stderr, " box");
    for (i = 0; i < rank; ++i)
      fprintf(stderr, " %u", box[i]);
    fprintf(stderr, " element-strides");
    for (i = 0; i < rank; ++i)
      fprintf(stderr, " %u", elementStrides[i]);
    fprintf(stderr, " interleave %d swizzle %d l2 %d fill %d%s\n", interleave,
            swizzle, l2Promotion, oobFill,
            ((unsigned long long)address % 16) ? " MISALIGNED" : "");
  }
  memset(map, 0, 128);
  ++tensorMaps;
  return 0;
}
CUresult cuMemcpyHtoDAsync_v2(unsigned long long d, const void *h, size_t n,
                              void *stream) {
  if (capturing && stream == capturing)
    return kCaptureUnsupported;
  memcpy((void *)d, h, n);
  ++mapCopies;
  return 0;
}
#endif
#ifndef FAKE_CUDA_NO_EVENTS
CUresult cuEventCreate(void **event, unsigned flags) {
  *event = (void *)1;
  return 0;
}
CUresult cuEventRecord(void *event, void *stream) {
  if (capturing && stream == capturing)
    return kCaptureUnsupported;
  ++events;
  return 0;
}
CUresult cuEventSynchronize(void *event) { return 0; }
CUresult cuEventElapsedTime_v2(float *milliseconds, void *start, void *end) {
  *milliseconds = 1.5f;
  return 0;
}
CUresult cuEventDestroy_v2(void *event) { return 0; }
#endif

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
 * made. Built with -DFAKE_CUDA_NO_TMA it has no tensor-map functions.
 *
 * In every mode it refuses what a GPU's driver refuses, so that a host
 * code or runtime bug that only a GPU would reveal fails here too: each
 * kernel (by name) has its own dynamic shared memory allowance, at most
 * an H100's or H200's 227 KB a block; a launch's grid and block must be
 * within the device's limits; a tensor map must meet every requirement
 * cuTensorMapEncodeTiled documents (CUDA 13's cuda.h). Each refusal prints
 * "fake-cuda: refused: " and why, and returns CUDA_ERROR_INVALID_VALUE.
 * With FAKE_CUDA_LAUNCHES set, each launch is printed (the kernel's name,
 * grid, block and dynamic shared memory).
 *
 * Where the module loaded is PTX (moe-compile --pipeline-options=
 * format=isa), the stand-in reads each kernel's parameters from it, and
 * each launch's 128-byte parameters (grid-constant tensor maps) must hold
 * a map it made: each map is stamped with its number (in the order made),
 * which the launch's line lists ("maps 0 1 2"); any other bytes there are
 * refused, and so is a pointer parameter that holds a map's host address. */
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
/* The stream being captured, or null. */
static void *capturing;
/* CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, _INVALIDATED. */
enum { kCaptureUnsupported = 900, kCaptureInvalidated = 901 };
/* A kernel's handle is 1 + its index here, by name, as a driver keeps a
 * function's attributes apart from another's. */
enum { kMaxKernels = 512 };
static char *kernelNames[kMaxKernels];
static int kernelCount;
/* From the PTX loaded: each kernel's parameters' sizes in bytes (0: not
 * read, the module was not PTX). */
enum { kMaxParams = 256 };
static int paramCount[kMaxKernels];
static unsigned short paramBytes[kMaxKernels][kMaxParams];
static const char *loadedPtx;
/* The tensor maps made: a stamp and their number. */
static const char kMapStamp[] = "fake-cuda tensor map";
static unsigned long tensorMaps;
/* Each map made (up to kMaxMaps): where the caller keeps it, and its 128
 * bytes (the stamp, its number, a pattern of it in every byte after). */
enum { kMaxMaps = 4096 };
static const void *mapAddresses[kMaxMaps];
static unsigned char mapBytes[kMaxMaps][128];
static int allowedSharedBytes[kMaxKernels], largestSharedBytes;
/* An H100's and H200's sharedMemPerBlockOptin: 227 KB. */
enum { kDeviceSharedBytesPerBlock = 232448 };
static CUresult refuse(const char *why, const char *what) {
  fprintf(stderr, "fake-cuda: refused: %s%s%s\n", why, what ? ": " : "",
          what ? what : "");
  return 1; /* CUDA_ERROR_INVALID_VALUE */
}
static int kernelIndex(void *function) {
  long index = (long)function - 1;
  return index >= 0 && index < kernelCount ? (int)index : -1;
}
__attribute__((destructor)) static void printCounts(void) {
  if (!counting())
    return;
  fprintf(stderr, "fake-cuda: launches=%lu streams=%lu syncs=%lu events=%lu\n",
          launches, streams, syncs, events);
  if (graphs || graphLaunches)
    fprintf(stderr, "fake-cuda: graphs=%lu captured=%lu graph-launches=%lu\n",
            graphs, captured, graphLaunches);
  if (tensorMaps)
    fprintf(stderr, "fake-cuda: tensor-maps=%lu\n", tensorMaps);
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
  const char *text = (const char *)image;
  if (strcmp(mode(), "bad-binary") == 0)
    return 209;
  /* PTX (format=isa) is text that starts with comments or .version. */
  if (text[0] == '/' || text[0] == '.') {
    free((void *)loadedPtx);
    loadedPtx = strdup(text);
  }
  *module = (void *)1;
  return 0;
}
/* An unloaded module's kernels are gone: their handles, allowances and
 * parameters with them (a later module's start afresh). */
CUresult cuModuleUnload(void *module) {
  int i;
  for (i = 0; i < kernelCount; ++i) {
    free(kernelNames[i]);
    allowedSharedBytes[i] = 0;
    paramCount[i] = 0;
  }
  kernelCount = 0;
  free((void *)loadedPtx);
  loadedPtx = 0;
  return 0;
}
/* The bytes of a PTX parameter declaration, from `declaration` to `end`:
 * `.param .u64 .ptr .align 1 NAME` or `.param .align 64 .b8 NAME[128]`. */
static int ptxParamBytes(const char *declaration, const char *end) {
  const char *bracket = memchr(declaration, '[', end - declaration);
  const char *token;
  int bits = 0;
  /* The type: a token .b, .s, .u or .f and its width in bits. */
  for (token = declaration; token && token < end && !bits;
       token = memchr(token + 1, '.', end - token - 1))
    if (strchr("bsuf", token[1]) && token[2] >= '1' && token[2] <= '9')
      bits = atoi(token + 2);
  return bits / 8 * (bracket ? atoi(bracket + 1) : 1);
}
/* Kernel `kernel`'s parameters, from the PTX loaded (none if not PTX). */
static void readPtxParams(int kernel) {
  char pattern[512];
  const char *entry, *end, *param;
  if (!loadedPtx)
    return;
  snprintf(pattern, sizeof pattern, ".entry %s(", kernelNames[kernel]);
  entry = strstr(loadedPtx, pattern);
  if (!entry)
    return;
  end = strchr(entry, ')');
  for (param = strstr(entry, ".param");
       param && param < end && paramCount[kernel] < kMaxParams;
       param = strstr(param + 1, ".param")) {
    const char *next = strpbrk(param, ",)");
    paramBytes[kernel][paramCount[kernel]++] =
        (unsigned short)ptxParamBytes(param, next);
  }
}
CUresult cuModuleGetFunction(void **function, void *module, const char *n) {
  int i;
  for (i = 0; i < kernelCount; ++i)
    if (strcmp(kernelNames[i], n) == 0)
      break;
  if (i == kMaxKernels)
    return refuse("more kernels than the stand-in keeps", n);
  if (i == kernelCount) {
    kernelNames[kernelCount++] = strdup(n);
    readPtxParams(i);
  }
  *function = (void *)(long)(i + 1);
  return 0;
}
CUresult cuFuncSetAttribute(void *function, int attribute, int value) {
  int kernel = kernelIndex(function);
  if (strcmp(mode(), "no-opt-in") == 0)
    return 1; /* CUDA_ERROR_INVALID_VALUE */
  if (kernel < 0)
    return refuse("an attribute of no kernel", 0);
  if (attribute == 8 /* MAX_DYNAMIC_SHARED_SIZE_BYTES */) {
    if (value < 0 || value > kDeviceSharedBytesPerBlock)
      return refuse("more dynamic shared memory than a block may have (227 "
                    "KB)",
                    kernelNames[kernel]);
    ++allowances;
    allowedSharedBytes[kernel] = value;
  }
  return 0;
}
CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned smem,
                        void *stream, void **params, void **extra) {
  int kernel = kernelIndex(f), p;
  char maps[256] = "";
  if (kernel < 0)
    return refuse("a launch of no kernel", 0);
  /* Where the PTX says which parameters are 128 bytes (grid-constant
   * tensor maps), each must hold a map made here. */
  for (p = 0; params && p < paramCount[kernel]; ++p) {
    unsigned long number, m;
    if (paramBytes[kernel][p] == 8) {
      /* A map's host address is no pointer a kernel may take. */
      const void *pointer;
      memcpy(&pointer, params[p], sizeof pointer);
      for (m = 0; m < tensorMaps && m < kMaxMaps; ++m)
        if (pointer == mapAddresses[m])
          return refuse("a tensor map's host address passed as a kernel "
                        "parameter",
                        kernelNames[kernel]);
      continue;
    }
    if (paramBytes[kernel][p] != 128)
      continue;
    memcpy(&number, (const char *)params[p] + 32, sizeof number);
    if (number >= tensorMaps || number >= kMaxMaps ||
        memcmp(params[p], mapBytes[number], 128) != 0)
      return refuse("a 128-byte parameter that holds no tensor map made by "
                    "cuTensorMapEncodeTiled",
                    kernelNames[kernel]);
    snprintf(maps + strlen(maps), sizeof maps - strlen(maps), " %lu", number);
  }
  if (getenv("FAKE_CUDA_LAUNCHES"))
    fprintf(stderr,
            "fake-cuda: launch %s grid %u %u %u block %u %u %u "
            "shared %u%s%s\n",
            kernelNames[kernel], gx, gy, gz, bx, by, bz, smem,
            maps[0] ? " maps" : "", maps);
  if (gx < 1 || gx > 0x7fffffffu || gy < 1 || gy > 65535 || gz < 1 ||
      gz > 65535)
    return refuse("a grid dimension out of [1, 2^31 - 1] x [1, 65535] x "
                  "[1, 65535]",
                  kernelNames[kernel]);
  if (bx < 1 || by < 1 || bz < 1 || bx > 1024 || by > 1024 || bz > 64 ||
      (unsigned long)bx * by * bz > 1024)
    return refuse("a block of more than 1024 threads, or out of [1, 1024] x "
                  "[1, 1024] x [1, 64]",
                  kernelNames[kernel]);
  if (!params && !extra)
    return refuse("a launch without its kernel's parameters",
                  kernelNames[kernel]);
  /* A kernel may take 48 KB (less its static shared memory, which the
   * stand-in does not know) without asking: refused past what it was
   * allowed, or past 0 where it never asked, which is stricter. */
  if ((int)smem > allowedSharedBytes[kernel])
    return refuse("more dynamic shared memory than the kernel was allowed",
                  kernelNames[kernel]);
  if (!counting())
    return 719; /* nothing runs here */
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
  if (bytes == 0)
    return refuse("an allocation of 0 bytes", 0);
  /* A GPU's allocations are aligned to 256 bytes at least. */
  *pointer = (unsigned long long)aligned_alloc(256, (bytes + 255) / 256 * 256);
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
/* The requirement of cuTensorMapEncodeTiled (cuda.h, CUDA 13) that a tiled
 * map's arguments break, or null: for the data types of 1 to 8 bytes
 * (the packed 4- and 6-bit types are refused). */
static const char *tensorMapRule(void *map, int dataType, unsigned rank,
                                 void *address, const unsigned long long *dims,
                                 const unsigned long long *strides,
                                 const unsigned *box,
                                 const unsigned *elementStrides, int interleave,
                                 int swizzle, int l2Promotion, int oobFill) {
  static const int elementBytes[] = {1, 2, 4, 4, 8, 8, 2, 4, 8, 2, 4, 4, 4};
  unsigned i;
  unsigned long long bytes, stride = 0;
  if ((unsigned long)map % 64)
    return "the map is not 64-byte aligned";
  if (dataType < 0 ||
      dataType >= (int)(sizeof elementBytes / sizeof *elementBytes))
    return "a data type this stand-in does not take";
  bytes = (unsigned long long)elementBytes[dataType];
  if (interleave < 0 || interleave > 2 || swizzle < 0 || swizzle > 6 ||
      l2Promotion < 0 || l2Promotion > 3 || oobFill < 0 || oobFill > 1)
    return "an interleave, swizzle, L2 promotion or fill out of its enum";
  if (rank < 1 || rank > 5 || (interleave != 0 && rank < 3))
    return "the rank is not in [1, 5] (or [3, 5] interleaved)";
  if ((unsigned long)address % (interleave == 2 ? 32 : 16))
    return "the global address is not 16-byte aligned (32 interleaved 32B)";
  for (i = 0; i < rank; ++i)
    if (dims[i] == 0 || dims[i] > (1ull << 32))
      return "a global dimension is 0 or past 2^32";
  for (i = 0; i + 1 < rank; ++i) {
    if (strides[i] % (interleave == 2 ? 32 : 16) || strides[i] >= (1ull << 40))
      return "a global stride is not a multiple of 16 bytes (32 interleaved "
             "32B) or is past 2^40";
    /* Each stride spans the dimensions inside it. */
    if (strides[i] < (i == 0 ? dims[0] * bytes : stride * dims[i]) ||
        (i > 0 && dims[i] > (1ull << 40) / stride))
      return "a global stride is smaller than the dimensions inside it";
    stride = strides[i];
  }
  for (i = 0; i < rank; ++i) {
    if (box[i] == 0 || box[i] > 256)
      return "a box dimension is 0 or past 256";
    if (elementStrides[i] == 0 || elementStrides[i] > 8)
      return "an element stride is 0 or past 8";
  }
  if (interleave == 0 && (box[0] * bytes) % 16)
    return "the box's inner dimension is not a multiple of 16 bytes";
  if (interleave == 0 && swizzle != 0 &&
      box[0] * bytes > (swizzle == 1   ? 32u
                        : swizzle == 2 ? 64u
                                       : 128u))
    return "the box's inner dimension is past the swizzle's span";
  if (interleave == 2 && swizzle != 1)
    return "interleave 32B without swizzle 32B";
  if (oobFill == 1 && dataType < 6)
    return "a NaN fill for an integer type";
  return 0;
}
CUresult cuTensorMapEncodeTiled(void *map, int dataType, unsigned rank,
                                void *address, const unsigned long long *dims,
                                const unsigned long long *strides,
                                const unsigned *box,
                                const unsigned *elementStrides, int interleave,
                                int swizzle, int l2Promotion, int oobFill) {
  unsigned i;
  const char *rule =
      tensorMapRule(map, dataType, rank, address, dims, strides, box,
                    elementStrides, interleave, swizzle, l2Promotion, oobFill);
  if (rule)
    return refuse("a tensor map", rule);
  if (counting()) {
    fprintf(stderr, "fake-cuda: tensor map %lu: type %d dims", tensorMaps,
            dataType);
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
    fprintf(stderr, " interleave %d swizzle %d l2 %d fill %d\n", interleave,
            swizzle, l2Promotion, oobFill);
  }
  /* Stamped with its number, so that a launch can tell it from other
   * bytes and say which it was given. */
  for (i = 0; i < 128; ++i)
    ((unsigned char *)map)[i] = (unsigned char)(tensorMaps * 31 + i);
  memcpy(map, kMapStamp, sizeof kMapStamp);
  memcpy((char *)map + 32, &tensorMaps, sizeof tensorMaps);
  if (tensorMaps < kMaxMaps) {
    mapAddresses[tensorMaps] = map;
    memcpy(mapBytes[tensorMaps], map, 128);
  }
  ++tensorMaps;
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

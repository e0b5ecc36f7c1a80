//===- MGPURuntime.cpp - The mgpu* functions of GPU host code -------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The host side of a model compiled with --target=nvptx is MLIR's
// gpu-to-llvm output: it loads its kernels' binary from a global
// constructor and launches each kernel through these functions. They
// cannot return an error, so the first one is kept for the CUDA backend to
// report (takeKernelLaunchError), and later calls do nothing. Loading the
// binary before main() on a machine without a GPU records nothing: the
// backend says there is no GPU when main() asks for it. While the device
// clock runs, they also bracket each stream's kernels with CUDA events, and
// while the kernel profile runs, each kernel. While the CUDA backend
// captures a call into a graph, every stream is its capture stream.
//
//===----------------------------------------------------------------------===//

#include "moe/Runtime/Backend.h"
#include "moe/Runtime/CUDADriver.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace moe {

namespace {

/// The first error. Constructed on first use: the binary loads from a
/// global constructor that runs before this file's own would.
struct ErrorState {
  std::mutex mutex;
  std::string first;
};
ErrorState &errorState() {
  static ErrorState state;
  return state;
}

void recordError(const std::string &error) {
  ErrorState &state = errorState();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (state.first.empty())
    state.first = error;
}

bool failedBefore() {
  ErrorState &state = errorState();
  std::lock_guard<std::mutex> lock(state.mutex);
  return !state.first.empty();
}

/// The driver, or null (the error is recorded when `record`).
const CUDADriver *driverOrNull(bool record) {
  std::string error;
  const CUDADriver *driver = getCUDADriver(error);
  if (!driver && record)
    recordError(error);
  return driver;
}

/// The device clock (startDeviceClock): the event recorded on each stream
/// before its first kernel, and the seconds of the spans closed so far.
struct DeviceClock {
  std::mutex mutex;
  bool running = false;
  std::vector<std::pair<CUstream, CUevent>> starts;
  double seconds = 0;
};

DeviceClock &deviceClock() {
  static DeviceClock clock;
  return clock;
}

/// Records an event on `stream`; null (and the error recorded) on failure.
CUevent recordEvent(const CUDADriver &driver, CUstream stream) {
  CUevent event = nullptr;
  std::string error;
  if (!checkCUDA(driver, driver.cuEventCreate(&event, 0),
                 "creating a CUDA event to time the GPU", error)) {
    recordError(error);
    return nullptr;
  }
  if (!checkCUDA(driver, driver.cuEventRecord(event, stream),
                 "recording a CUDA event to time the GPU", error)) {
    driver.cuEventDestroy(event);
    recordError(error);
    return nullptr;
  }
  return event;
}

/// Opens `stream`'s span on the running device clock, unless it is open.
void startSpan(const CUDADriver &driver, CUstream stream) {
  DeviceClock &clock = deviceClock();
  std::lock_guard<std::mutex> lock(clock.mutex);
  if (!clock.running || !driver.hasEvents() ||
      std::any_of(clock.starts.begin(), clock.starts.end(),
                  [&](const auto &open) { return open.first == stream; }))
    return;
  if (CUevent start = recordEvent(driver, stream))
    clock.starts.emplace_back(stream, start);
}

/// The event that opened `stream`'s span, taken off the clock; null when
/// none did.
CUevent takeSpanStart(CUstream stream) {
  DeviceClock &clock = deviceClock();
  std::lock_guard<std::mutex> lock(clock.mutex);
  for (auto it = clock.starts.begin(); it != clock.starts.end(); ++it) {
    if (it->first != stream)
      continue;
    CUevent start = it->second;
    clock.starts.erase(it);
    return start;
  }
  return nullptr;
}

/// The seconds from `start` to `end` (both recorded, the stream waited
/// for), `end` first waited for, or nothing (the error recorded); both
/// events destroyed either way.
std::optional<double> takeElapsedSeconds(const CUDADriver &driver,
                                         CUevent start, CUevent end) {
  float milliseconds = 0;
  std::string error;
  bool read =
      checkCUDA(driver, driver.cuEventSynchronize(end),
                "waiting for a CUDA event to time the GPU", error) &&
      checkCUDA(driver, driver.cuEventElapsedTime(&milliseconds, start, end),
                "reading the GPU's time between two CUDA events", error);
  if (!read)
    recordError(error);
  driver.cuEventDestroy(start);
  driver.cuEventDestroy(end);
  if (!read)
    return std::nullopt;
  return milliseconds * 1e-3;
}

/// Closes a span from `start` to `end` (recorded, the stream waited for).
void closeSpan(const CUDADriver &driver, CUevent start, CUevent end) {
  if (std::optional<double> seconds = takeElapsedSeconds(driver, start, end)) {
    DeviceClock &clock = deviceClock();
    std::lock_guard<std::mutex> lock(clock.mutex);
    clock.seconds += *seconds;
  }
}

/// The kernel profile (startKernelProfile): the kernels' names, the launches
/// whose events the host has not read yet, and each kernel's total.
struct KernelProfile {
  std::mutex mutex;
  bool running = false;
  /// Every kernel's name, by function (mgpuModuleGetFunction).
  std::map<CUfunction, std::string> names;
  struct Launch {
    CUstream stream;
    size_t kernel; // in `kernels`
    CUevent start, end;
  };
  std::vector<Launch> pending;
  std::vector<KernelTime> kernels;
};

KernelProfile &kernelProfile() {
  static KernelProfile profile;
  return profile;
}

/// Whether the kernel profile runs (the caller then brackets a launch).
bool profilingKernels(const CUDADriver &driver) {
  KernelProfile &profile = kernelProfile();
  std::lock_guard<std::mutex> lock(profile.mutex);
  return profile.running && driver.hasEvents();
}

/// Adds the launch of `function` between `start` and `end` on `stream` to
/// the profile, to read when the host waits for `stream`.
void addLaunch(CUfunction function, CUstream stream, CUevent start,
               CUevent end) {
  KernelProfile &profile = kernelProfile();
  std::lock_guard<std::mutex> lock(profile.mutex);
  auto named = profile.names.find(function);
  std::string name = named == profile.names.end() ? "?" : named->second;
  auto kernel =
      std::find_if(profile.kernels.begin(), profile.kernels.end(),
                   [&](const KernelTime &known) { return known.name == name; });
  if (kernel == profile.kernels.end())
    kernel = profile.kernels.insert(kernel, KernelTime{name, 0, 0});
  profile.pending.push_back(
      {stream, static_cast<size_t>(kernel - profile.kernels.begin()), start,
       end});
}

/// Reads the events of the launches on `stream` (which the host has waited
/// for) into the kernels' totals.
void readLaunches(const CUDADriver &driver, CUstream stream) {
  KernelProfile &profile = kernelProfile();
  std::lock_guard<std::mutex> lock(profile.mutex);
  auto done =
      std::stable_partition(profile.pending.begin(), profile.pending.end(),
                            [&](const KernelProfile::Launch &launch) {
                              return launch.stream != stream;
                            });
  for (auto it = done; it != profile.pending.end(); ++it) {
    if (std::optional<double> seconds =
            takeElapsedSeconds(driver, it->start, it->end)) {
      profile.kernels[it->kernel].seconds += *seconds;
      ++profile.kernels[it->kernel].launches;
    }
  }
  profile.pending.erase(done, profile.pending.end());
}

/// The stream this thread captures into a CUDA graph (setCaptureStream), or
/// null: the host code runs on the thread that calls it, and other
/// threads' models launch as before meanwhile.
CUstream &captureStream() {
  thread_local CUstream stream = nullptr;
  return stream;
}

bool isCaptured(void *stream) {
  return captureStream() && stream == captureStream();
}

/// The dynamic shared memory each kernel has been allowed, until its
/// module is unloaded.
struct SharedMemoryAllowances {
  std::mutex mutex;
  std::map<CUfunction, int32_t> bytes;
};

SharedMemoryAllowances &sharedMemoryAllowances() {
  // Never destroyed: the module's unload at exit (a global destructor)
  // comes after the destructors of statics made at run time.
  static auto *allowances = new SharedMemoryAllowances();
  return *allowances;
}

/// Allows `function` `bytes` of dynamic shared memory (once a kernel and
/// size): without asking, a kernel gets only what its static shared memory
/// leaves of 48 KB. False, with the reason in `error`, where the driver
/// refuses (more than the device has).
bool allowSharedMemory(const CUDADriver &driver, CUfunction function,
                       int32_t bytes, std::string &error) {
  if (bytes <= 0)
    return true;
  SharedMemoryAllowances &allowances = sharedMemoryAllowances();
  std::lock_guard<std::mutex> lock(allowances.mutex);
  int32_t &granted = allowances.bytes[function];
  if (granted >= bytes)
    return true;
  // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES.
  constexpr int kMaxDynamicSharedSizeBytes = 8;
  std::string what = "allowing a kernel of the model " + std::to_string(bytes) +
                     " bytes of shared memory";
  if (!checkCUDA(driver,
                 driver.cuFuncSetAttribute(function, kMaxDynamicSharedSizeBytes,
                                           bytes),
                 what.c_str(), error))
    return false;
  granted = bytes;
  return true;
}

} // namespace

bool kernelProfileRunning() {
  KernelProfile &profile = kernelProfile();
  std::lock_guard<std::mutex> lock(profile.mutex);
  return profile.running;
}

void startKernelProfile() {
  KernelProfile &profile = kernelProfile();
  std::lock_guard<std::mutex> lock(profile.mutex);
  profile.running = true;
  profile.kernels.clear();
}

std::vector<KernelTime> readKernelProfile() {
  KernelProfile &profile = kernelProfile();
  std::lock_guard<std::mutex> lock(profile.mutex);
  profile.running = false;
  // Launches never waited for do not count.
  std::string error;
  if (const CUDADriver *driver = getCUDADriver(error))
    for (KernelProfile::Launch &launch : profile.pending) {
      driver->cuEventDestroy(launch.start);
      driver->cuEventDestroy(launch.end);
    }
  profile.pending.clear();
  std::vector<KernelTime> kernels;
  kernels.swap(profile.kernels);
  return kernels;
}

void startDeviceClock() {
  DeviceClock &clock = deviceClock();
  std::lock_guard<std::mutex> lock(clock.mutex);
  clock.running = true;
  clock.seconds = 0;
}

double readDeviceClock() {
  DeviceClock &clock = deviceClock();
  std::lock_guard<std::mutex> lock(clock.mutex);
  clock.running = false;
  // Spans never closed (a stream the host did not wait for) do not count.
  std::string error;
  if (const CUDADriver *driver = getCUDADriver(error))
    for (auto &[stream, start] : clock.starts)
      driver->cuEventDestroy(start);
  clock.starts.clear();
  return clock.seconds;
}

void setCaptureStream(CUstream stream) { captureStream() = stream; }

void startDeviceSpan(CUstream stream) {
  if (const CUDADriver *driver = driverOrNull(/*record=*/true))
    startSpan(*driver, stream);
}

void waitForStream(CUstream stream) {
  if (failedBefore())
    return;
  const CUDADriver *driver = driverOrNull(/*record=*/true);
  if (!driver)
    return;
  CUevent start = takeSpanStart(stream);
  CUevent end = start ? recordEvent(*driver, stream) : nullptr;
  std::string error;
  if (!checkCUDA(*driver, driver->cuStreamSynchronize(stream),
                 "running a kernel of the model", error))
    recordError(error);
  if (start && end)
    closeSpan(*driver, start, end);
  else if (start)
    driver->cuEventDestroy(start);
  readLaunches(*driver, stream);
}

std::string takeKernelLaunchError() {
  ErrorState &state = errorState();
  std::lock_guard<std::mutex> lock(state.mutex);
  std::string error;
  error.swap(state.first);
  return error;
}

/// A CUtensorMap: 128 opaque bytes, 64-byte aligned.
struct alignas(64) HostTensorMap {
  unsigned char bytes[128];
};

/// The TMA tensor maps made so far, each in host memory for the process's
/// life: the host code asks for a weight's map (and with tma-activations,
/// for the map of A's rows) before every launch that reads it, gets the one
/// made the first time for that address and shape, and passes its bytes to
/// the kernel as a grid-constant parameter (moe-gpu-grid-constant-tensor-
/// maps). A's row count is the call's, so a process makes one such map for
/// each token count it runs (128 bytes of host memory each).
struct TensorMaps {
  std::mutex mutex;
  std::map<std::vector<uint64_t>, std::unique_ptr<HostTensorMap>> made;
};

TensorMaps &tensorMaps() {
  static TensorMaps &maps = *new TensorMaps();
  return maps;
}

/// The bytes of an element of each CUtensorMapDataType.
constexpr int kTensorMapElementBytes[] = {1, 2, 4, 4, 8, 8, 2,
                                          4, 8, 2, 4, 4, 4};

/// mgpuTensorMapEncodeTiledMemref's map, made once per tensor and box; null
/// with the error recorded.
HostTensorMap *encodeTensorMap(int64_t rank, void *rankedDescriptor,
                               int64_t dataType, int64_t interleave,
                               int64_t swizzle, int64_t l2Promotion,
                               int64_t oobFill, const int64_t *boxDims) {
  if (failedBefore())
    return nullptr;
  const CUDADriver *driver = driverOrNull(/*record=*/true);
  if (!driver)
    return nullptr;
  if (!driver->cuTensorMapEncodeTiled) {
    recordError("this model's kernels read their weights (and with "
                "tma-activations their activations) by TMA (tma-weights), "
                "and this CUDA driver has no cuTensorMapEncodeTiled");
    return nullptr;
  }
  constexpr int64_t kMaxRank = 5;
  if (rank < 1 || rank > kMaxRank || dataType < 0 ||
      dataType >= static_cast<int64_t>(std::size(kTensorMapElementBytes))) {
    recordError("a TMA tensor map of rank " + std::to_string(rank) +
                " and data type " + std::to_string(dataType) +
                " is not one this runtime makes");
    return nullptr;
  }
  // The strided memref: allocated and aligned pointers, offset, then
  // `rank` sizes and `rank` strides.
  struct Header {
    char *allocated, *aligned;
    int64_t offset;
  };
  auto *header = static_cast<Header *>(rankedDescriptor);
  const int64_t *sizes = reinterpret_cast<const int64_t *>(header + 1);
  const int64_t *strides = sizes + rank;
  int64_t elementBytes = kTensorMapElementBytes[dataType];
  char *address = header->aligned + header->offset * elementBytes;
  // The driver's order is innermost first; strides in bytes, the
  // innermost's (1 element) left out.
  unsigned long long dims[kMaxRank], byteStrides[kMaxRank];
  unsigned box[kMaxRank], elementStrides[kMaxRank];
  std::vector<uint64_t> key = {
      reinterpret_cast<uint64_t>(address), static_cast<uint64_t>(rank),
      static_cast<uint64_t>(dataType),     static_cast<uint64_t>(interleave),
      static_cast<uint64_t>(swizzle),      static_cast<uint64_t>(l2Promotion),
      static_cast<uint64_t>(oobFill)};
  for (int64_t d = 0; d < rank; ++d) {
    int64_t from = rank - 1 - d;
    // The driver takes no empty dimension; a tensor with none (A's rows at
    // 0 tokens) is one no block reads, so one row stands for it.
    dims[d] =
        static_cast<unsigned long long>(std::max<int64_t>(sizes[from], 1));
    byteStrides[d] =
        static_cast<unsigned long long>(strides[from] * elementBytes);
    box[d] = static_cast<unsigned>(boxDims[from]);
    elementStrides[d] = 1;
    key.insert(key.end(), {dims[d], byteStrides[d], box[d]});
  }
  TensorMaps &maps = tensorMaps();
  std::lock_guard<std::mutex> lock(maps.mutex);
  if (auto found = maps.made.find(key); found != maps.made.end())
    return found->second.get();
  auto map = std::make_unique<HostTensorMap>();
  std::string error;
  if (!checkCUDA(*driver,
                 driver->cuTensorMapEncodeTiled(
                     map.get(), static_cast<int>(dataType),
                     static_cast<unsigned>(rank), address, dims,
                     byteStrides + 1, box, elementStrides,
                     static_cast<int>(interleave), static_cast<int>(swizzle),
                     static_cast<int>(l2Promotion), static_cast<int>(oobFill)),
                 "making a TMA tensor map", error)) {
    recordError(error);
    return nullptr;
  }
  return maps.made.emplace(std::move(key), std::move(map)).first->second.get();
}

} // namespace moe

using namespace moe;

extern "C" {

/// upstream MLIR's nvgpu.tma.create.descriptor calls this (as its CUDA
/// runtime wrappers define it): a tiled tensor map of the strided memref
/// `rankedDescriptor` of rank `rank` (sizes and strides outermost first),
/// boxes of `boxDims` (outermost first). Unlike upstream's wrapper, which
/// copies the map to the device, it returns the map in host memory (valid
/// for the process's life), whose bytes the host code passes to the kernel
/// by value (moe-gpu-grid-constant-tensor-maps).
__attribute__((visibility("default"))) void *mgpuTensorMapEncodeTiledMemref(
    int64_t rank, void *rankedDescriptor, int64_t dataType, int64_t interleave,
    int64_t swizzle, int64_t l2Promotion, int64_t oobFill, int64_t *boxDims) {
  if (HostTensorMap *map =
          encodeTensorMap(rank, rankedDescriptor, dataType, interleave, swizzle,
                          l2Promotion, oobFill, boxDims))
    return map;
  // The host code reads the map's bytes before the launch, which the error
  // recorded then refuses: zeros stand in.
  static HostTensorMap none = {};
  return &none;
}

__attribute__((visibility("default"))) void *mgpuModuleLoad(void *data,
                                                            size_t /*size*/) {
  const CUDADriver *driver = driverOrNull(/*record=*/false);
  if (!driver)
    return nullptr;
  CUmodule module = nullptr;
  std::string error;
  if (!checkCUDA(*driver, driver->cuModuleLoadData(&module, data),
                 "loading the model's kernels on the GPU", error))
    recordError(error + " (was the model compiled for this GPU? "
                        "moe-compile --gpu-arch)");
  return module;
}

/// What upstream's host code calls for a module embedded as PTX
/// (`format=isa`): the driver compiles it for the GPU as it loads it, at
/// its default optimization level (the highest), whatever `optLevel` the
/// module was lowered with.
__attribute__((visibility("default"))) void *
mgpuModuleLoadJIT(void *data, int /*optLevel*/) {
  return mgpuModuleLoad(data, 0);
}

__attribute__((visibility("default"))) void mgpuModuleUnload(void *module) {
  // An unloaded module's kernels are gone; a later one may reuse their
  // handles, and must be allowed its shared memory again.
  {
    SharedMemoryAllowances &allowances = sharedMemoryAllowances();
    std::lock_guard<std::mutex> lock(allowances.mutex);
    allowances.bytes.clear();
  }
  std::string error;
  const CUDADriver *driver = getCUDADriver(error);
  if (driver && module)
    driver->cuModuleUnload(static_cast<CUmodule>(module));
}

__attribute__((visibility("default"))) void *
mgpuModuleGetFunction(void *module, const char *name) {
  if (!module || failedBefore())
    return nullptr;
  const CUDADriver *driver = driverOrNull(/*record=*/true);
  if (!driver)
    return nullptr;
  CUfunction function = nullptr;
  std::string error;
  if (!checkCUDA(*driver,
                 driver->cuModuleGetFunction(
                     &function, static_cast<CUmodule>(module), name),
                 (std::string("finding kernel ") + name).c_str(), error)) {
    recordError(error);
  } else {
    KernelProfile &profile = kernelProfile();
    std::lock_guard<std::mutex> lock(profile.mutex);
    profile.names[function] = name;
  }
  return function;
}

__attribute__((visibility("default"))) void *mgpuStreamCreate() {
  if (failedBefore())
    return nullptr;
  // While a graph is captured, every run of kernels goes on its stream, in
  // the order the host code launches them.
  if (CUstream captured = captureStream())
    return captured;
  const CUDADriver *driver = driverOrNull(/*record=*/true);
  if (!driver)
    return nullptr;
  CUstream stream = nullptr;
  std::string error;
  if (!checkCUDA(*driver, driver->cuStreamCreate(&stream, 0),
                 "creating a CUDA stream", error))
    recordError(error);
  return stream;
}

__attribute__((visibility("default"))) void mgpuStreamDestroy(void *stream) {
  std::string error;
  const CUDADriver *driver = getCUDADriver(error);
  if (driver && stream && !isCaptured(stream))
    driver->cuStreamDestroy(static_cast<CUstream>(stream));
}

__attribute__((visibility("default"))) void
mgpuStreamSynchronize(void *stream) {
  // A captured stream is waited for where the graph is launched.
  if (!isCaptured(stream))
    waitForStream(static_cast<CUstream>(stream));
}

__attribute__((visibility("default"))) void
mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                 intptr_t blockX, intptr_t blockY, intptr_t blockZ,
                 int32_t sharedMemoryBytes, void *stream, void **params,
                 void **extra, size_t /*paramsCount*/) {
  if (failedBefore())
    return;
  if (!function) {
    recordError("launching a kernel that did not load");
    return;
  }
  const CUDADriver *driver = driverOrNull(/*record=*/true);
  if (!driver)
    return;
  // A grid of zero blocks (no tokens) launches nothing.
  if (gridX == 0 || gridY == 0 || gridZ == 0)
    return;
  auto cuStream = static_cast<CUstream>(stream);
  std::string error;
  if (!allowSharedMemory(*driver, static_cast<CUfunction>(function),
                         sharedMemoryBytes, error)) {
    recordError(error);
    return;
  }
  // A captured launch is timed where its graph is launched.
  bool captured = isCaptured(cuStream);
  if (!captured)
    startSpan(*driver, cuStream);
  CUevent start = !captured && profilingKernels(*driver)
                      ? recordEvent(*driver, cuStream)
                      : nullptr;
  if (!checkCUDA(*driver,
                 driver->cuLaunchKernel(static_cast<CUfunction>(function),
                                        gridX, gridY, gridZ, blockX, blockY,
                                        blockZ, sharedMemoryBytes, cuStream,
                                        params, extra),
                 "launching a kernel of the model", error))
    recordError(error);
  if (!start)
    return;
  if (CUevent end = recordEvent(*driver, cuStream))
    addLaunch(static_cast<CUfunction>(function), cuStream, start, end);
  else
    driver->cuEventDestroy(start);
}

} // extern "C"

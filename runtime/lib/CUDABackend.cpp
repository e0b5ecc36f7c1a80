//===- CUDABackend.cpp - Compiled NVPTX code on a CUDA device ---*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The backend of models compiled with --target=nvptx: the arenas are CUDA
// device memory, and moe_forward (host code) launches the kernels.
//
//===----------------------------------------------------------------------===//

#include "moe/Runtime/Backend.h"
#include "moe/Runtime/CUDADriver.h"

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <tuple>

namespace moe {

namespace {

/// Held exclusively while a call is captured into a CUDA graph, and shared
/// by every other use of the device, in every model of the process: a
/// capture fails when another thread synchronizes the device or uses the
/// legacy stream meanwhile (the graph stream is a blocking one, so that
/// the copies before a launch stay ordered with it).
std::shared_mutex &deviceLock() {
  static std::shared_mutex lock;
  return lock;
}

/// A use of the device: shares deviceLock, once a thread (an arena freed
/// inside a use is a use too).
class DeviceUse {
public:
  DeviceUse() {
    if (depth()++ == 0)
      deviceLock().lock_shared();
  }
  ~DeviceUse() {
    if (--depth() == 0)
      deviceLock().unlock_shared();
  }
  DeviceUse(const DeviceUse &) = delete;
  DeviceUse &operator=(const DeviceUse &) = delete;

private:
  static int &depth() {
    thread_local int uses = 0;
    return uses;
  }
};

/// The CUDA graphs of the calls captured so far (--cuda-graphs). A graph's
/// kernels hold the token count and the arenas' device addresses: the same
/// arguments replay it, whichever arena objects hold them, and it goes
/// when one of its arenas is freed (the address may come back for another
/// arena, of another size).
class GraphCache {
public:
  using ArenaPlace = std::pair<CUdeviceptr, uint64_t>;
  using Key =
      std::tuple<int64_t, ArenaPlace, ArenaPlace, ArenaPlace, ArenaPlace>;

  explicit GraphCache(const CUDADriver &driver) : driver(driver) {}
  ~GraphCache() {
    for (auto &[key, graph] : graphs)
      driver.cuGraphExecDestroy(graph);
  }
  CUgraphExec find(const Key &key) const {
    auto found = graphs.find(key);
    return found == graphs.end() ? nullptr : found->second;
  }
  void add(const Key &key, CUgraphExec graph) { graphs.emplace(key, graph); }
  /// Drops the graphs that use the arena at `pointer`.
  void forget(CUdeviceptr pointer) {
    for (auto it = graphs.begin(); it != graphs.end();) {
      const auto &[tokens, a, b, c, d] = it->first;
      if (a.first == pointer || b.first == pointer || c.first == pointer ||
          d.first == pointer) {
        driver.cuGraphExecDestroy(it->second);
        it = graphs.erase(it);
      } else {
        ++it;
      }
    }
  }

private:
  const CUDADriver &driver;
  std::map<Key, CUgraphExec> graphs;
};

/// An arena in device memory.
class CUDAArena final : public DeviceArena {
public:
  CUDAArena(const CUDADriver &driver, CUdeviceptr pointer, uint64_t bytes,
            std::shared_ptr<GraphCache> graphs)
      : driver(driver), pointer(pointer), bytes(bytes),
        graphs(std::move(graphs)) {}
  ~CUDAArena() override {
    if (!pointer)
      return;
    DeviceUse use;
    graphs->forget(pointer);
    driver.cuMemFree(pointer);
  }
  uint64_t size() const override { return bytes; }
  MoEArena descriptor() override {
    return arenaDescriptor(reinterpret_cast<void *>(pointer), bytes);
  }
  CUdeviceptr devicePointer() const { return pointer; }

private:
  const CUDADriver &driver;
  CUdeviceptr pointer;
  uint64_t bytes;
  /// Shared with the backend, which an arena may outlive.
  std::shared_ptr<GraphCache> graphs;
};

class CUDABackend final : public Backend {
public:
  CUDABackend(const CUDADriver &driver, const EntryPoints &entryPoints)
      : driver(driver), entryPoints(entryPoints),
        graphs(std::make_shared<GraphCache>(driver)) {}

  std::string name() const override {
    return "the GPU (" + driver.deviceName + ")";
  }

  std::unique_ptr<DeviceArena> upload(AlignedBuffer &&host,
                                      std::string &error) override {
    DeviceUse use;
    if (!host) {
      error =
          "out of host memory for " + std::to_string(host.size()) + " bytes";
      return nullptr;
    }
    std::unique_ptr<CUDAArena> arena = allocateRaw(host.size(), error);
    if (arena && host.size() != 0 &&
        !checkCUDA(driver,
                   driver.cuMemcpyHtoD(arena->devicePointer(), host.data(),
                                       host.size()),
                   "copying to the GPU", error))
      return nullptr;
    return arena;
  }

  std::unique_ptr<DeviceArena> mapHost(std::shared_ptr<const MappedFile> file,
                                       uint64_t offset, uint64_t bytes,
                                       std::string &error) override {
    DeviceUse use;
    if (!checkMappedRange(*file, offset, bytes, error))
      return nullptr;
    std::unique_ptr<CUDAArena> arena = allocateRaw(bytes, error);
    if (arena && bytes != 0 &&
        !checkCUDA(driver,
                   driver.cuMemcpyHtoD(arena->devicePointer(),
                                       file->data() + offset, bytes),
                   "copying to the GPU", error))
      return nullptr;
    return arena;
  }

  std::unique_ptr<DeviceArena> allocate(uint64_t bytes,
                                        std::string &error) override {
    DeviceUse use;
    std::unique_ptr<CUDAArena> arena = allocateRaw(bytes, error);
    if (arena && bytes != 0 &&
        !checkCUDA(driver, driver.cuMemsetD8(arena->devicePointer(), 0, bytes),
                   "zeroing GPU memory", error))
      return nullptr;
    return arena;
  }

  bool download(DeviceArena &arena, uint64_t offset, void *host, uint64_t bytes,
                std::string &error) override {
    DeviceUse use;
    return copyAt(
        arena, offset, bytes, "copying from the GPU", error,
        [&](CUdeviceptr at) { return driver.cuMemcpyDtoH(host, at, bytes); });
  }

  bool copyIn(DeviceArena &arena, uint64_t offset, const void *host,
              uint64_t bytes, std::string &error) override {
    DeviceUse use;
    return copyAt(
        arena, offset, bytes, "copying to the GPU", error,
        [&](CUdeviceptr at) { return driver.cuMemcpyHtoD(at, host, bytes); });
  }

  bool hasPrepare() const override { return entryPoints.prepare != nullptr; }

  bool prepare(DeviceArena &raw, DeviceArena &prepared,
               std::string &error) override {
    DeviceUse use;
    return entryPoints.runPrepare(raw, prepared, error) && launched(error);
  }

  uint64_t scratchBytes(int64_t tokens) override {
    return static_cast<uint64_t>(entryPoints.scratchBytes(tokens));
  }

  ~CUDABackend() override {
    DeviceUse use;
    if (graphStream)
      driver.cuStreamDestroy(graphStream);
  }

  bool forward(int64_t tokens, DeviceArena &inputs, DeviceArena &params,
               DeviceArena &outputs, DeviceArena &scratch,
               std::string &error) override {
    // The kernel profile times each launch: it runs them one by one.
    if (!graphsOn || kernelProfileRunning()) {
      DeviceUse use;
      entryPoints.runForward(tokens, inputs, params, outputs, scratch);
      return launched(error);
    }
    GraphCache::Key key{tokens, place(inputs), place(params), place(outputs),
                        place(scratch)};
    CUgraphExec graph = graphs->find(key);
    if (!graph) {
      std::unique_lock<std::shared_mutex> capturing(deviceLock());
      graph = capture(tokens, inputs, params, outputs, scratch, error);
      if (!graph)
        return false;
      graphs->add(key, graph);
    }
    DeviceUse use;
    startDeviceSpan(graphStream);
    if (!checkCUDA(driver, driver.cuGraphLaunch(graph, graphStream),
                   "launching the model's CUDA graph", error))
      return false;
    // As the host code's own last wait: the call has finished on return.
    waitForStream(graphStream);
    return launched(error);
  }

  bool useGraphs(std::string &error) override {
    DeviceUse use;
    if (!driver.hasGraphs()) {
      error = "CUDA graphs need cuStreamBeginCapture, cuGraphInstantiate "
              "and cuGraphLaunch, which this CUDA driver does not have";
      return false;
    }
    if (!graphStream &&
        !checkCUDA(driver, driver.cuStreamCreate(&graphStream, 0),
                   "creating a CUDA stream for graphs", error))
      return false;
    graphsOn = true;
    return true;
  }

  bool synchronize(std::string &error) override {
    DeviceUse use;
    return checkCUDA(driver, driver.cuCtxSynchronize(), "waiting for the GPU",
                     error) &&
           launched(error);
  }

  bool hasDeviceClock() const override { return driver.hasEvents(); }
  void startDeviceClock() override { moe::startDeviceClock(); }
  double readDeviceClock() override { return moe::readDeviceClock(); }
  void startKernelProfile() override { moe::startKernelProfile(); }
  std::vector<KernelTime> readKernelProfile() override {
    return moe::readKernelProfile();
  }

private:
  std::unique_ptr<CUDAArena> allocateRaw(uint64_t bytes, std::string &error) {
    CUdeviceptr pointer = 0;
    if (bytes != 0 && !checkCUDA(driver, driver.cuMemAlloc(&pointer, bytes),
                                 ("allocating " + std::to_string(bytes) +
                                  " bytes of GPU memory")
                                     .c_str(),
                                 error))
      return nullptr;
    return std::make_unique<CUDAArena>(driver, pointer, bytes, graphs);
  }

  /// `copy(address)` of `bytes` at `offset` in `arena`, checked against its
  /// size; `what` names it in a driver error.
  template <typename Copy>
  bool copyAt(DeviceArena &arena, uint64_t offset, uint64_t bytes,
              const char *what, std::string &error, Copy copy) {
    if (!checkArenaRange(arena, offset, bytes, error))
      return false;
    if (bytes == 0)
      return true;
    auto &device = static_cast<CUDAArena &>(arena);
    return checkCUDA(driver, copy(device.devicePointer() + offset), what,
                     error);
  }

  /// Whether the kernel launches so far went well (MGPURuntime.cpp).
  bool launched(std::string &error) {
    std::string launchError = takeKernelLaunchError();
    if (launchError.empty())
      return true;
    error = launchError;
    return false;
  }

  /// moe_forward's launches for these arguments, captured on graphStream
  /// (nothing runs) and instantiated; null with the reason in `error`.
  CUgraphExec capture(int64_t tokens, DeviceArena &inputs, DeviceArena &params,
                      DeviceArena &outputs, DeviceArena &scratch,
                      std::string &error) {
    // Relaxed: the host code also asks for its kernels and allows them
    // shared memory while it launches, calls that are not stream work.
    constexpr int kCaptureModeRelaxed = 2;
    if (!checkCUDA(
            driver,
            driver.cuStreamBeginCapture(graphStream, kCaptureModeRelaxed),
            "capturing the model's kernels into a CUDA graph", error))
      return nullptr;
    setCaptureStream(graphStream);
    entryPoints.runForward(tokens, inputs, params, outputs, scratch);
    setCaptureStream(nullptr);
    CUgraph graph = nullptr;
    // The capture ends whether or not a launch failed.
    bool captured =
        checkCUDA(driver, driver.cuStreamEndCapture(graphStream, &graph),
                  "capturing the model's kernels into a CUDA graph", error);
    if (!launched(error) || !captured) {
      if (graph)
        driver.cuGraphDestroy(graph);
      return nullptr;
    }
    CUgraphExec exec = nullptr;
    bool instantiated =
        checkCUDA(driver, driver.cuGraphInstantiate(&exec, graph, 0),
                  "instantiating the model's CUDA graph", error);
    driver.cuGraphDestroy(graph);
    return instantiated ? exec : nullptr;
  }

  const CUDADriver &driver;
  EntryPoints entryPoints;
  /// --cuda-graphs: each call replays the graph of its arguments.
  bool graphsOn = false;
  CUstream graphStream = nullptr;
  std::shared_ptr<GraphCache> graphs;
  static GraphCache::ArenaPlace place(DeviceArena &arena) {
    auto &device = static_cast<CUDAArena &>(arena);
    return {device.devicePointer(), device.size()};
  }
};

} // namespace

std::unique_ptr<Backend> createCUDABackend(const EntryPoints &entryPoints,
                                           std::string &error) {
  const CUDADriver *driver = getCUDADriver(error);
  if (!driver)
    return nullptr;
  // The kernels' binary loaded before main(); a failure then shows now.
  std::string loadError = takeKernelLaunchError();
  if (!loadError.empty()) {
    error = loadError;
    return nullptr;
  }
  return std::make_unique<CUDABackend>(*driver, entryPoints);
}

} // namespace moe

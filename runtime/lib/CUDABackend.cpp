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

namespace moe {

namespace {

/// An arena in device memory.
class CUDAArena final : public DeviceArena {
public:
  CUDAArena(const CUDADriver &driver, CUdeviceptr pointer, uint64_t bytes)
      : driver(driver), pointer(pointer), bytes(bytes) {}
  ~CUDAArena() override {
    if (pointer)
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
};

class CUDABackend final : public Backend {
public:
  CUDABackend(const CUDADriver &driver, const EntryPoints &entryPoints)
      : driver(driver), entryPoints(entryPoints) {}

  std::string name() const override {
    return "the GPU (" + driver.deviceName + ")";
  }

  std::unique_ptr<DeviceArena> upload(AlignedBuffer &&host,
                                      std::string &error) override {
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
    std::unique_ptr<CUDAArena> arena = allocateRaw(bytes, error);
    if (arena && bytes != 0 &&
        !checkCUDA(driver, driver.cuMemsetD8(arena->devicePointer(), 0, bytes),
                   "zeroing GPU memory", error))
      return nullptr;
    return arena;
  }

  bool download(DeviceArena &arena, uint64_t offset, void *host, uint64_t bytes,
                std::string &error) override {
    if (!checkArenaRange(arena, offset, bytes, error))
      return false;
    if (bytes == 0)
      return true;
    auto &device = static_cast<CUDAArena &>(arena);
    return checkCUDA(
        driver,
        driver.cuMemcpyDtoH(host, device.devicePointer() + offset, bytes),
        "copying from the GPU", error);
  }

  bool hasPrepare() const override { return entryPoints.prepare != nullptr; }

  bool prepare(DeviceArena &raw, DeviceArena &prepared,
               std::string &error) override {
    return entryPoints.runPrepare(raw, prepared, error) && launched(error);
  }

  uint64_t scratchBytes(int64_t tokens) override {
    return static_cast<uint64_t>(entryPoints.scratchBytes(tokens));
  }

  bool forward(int64_t tokens, DeviceArena &inputs, DeviceArena &params,
               DeviceArena &outputs, DeviceArena &scratch,
               std::string &error) override {
    entryPoints.runForward(tokens, inputs, params, outputs, scratch);
    return launched(error);
  }

  bool synchronize(std::string &error) override {
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
    return std::make_unique<CUDAArena>(driver, pointer, bytes);
  }

  /// Whether the kernel launches so far went well (MGPURuntime.cpp).
  bool launched(std::string &error) {
    std::string launchError = takeKernelLaunchError();
    if (launchError.empty())
      return true;
    error = launchError;
    return false;
  }

  const CUDADriver &driver;
  EntryPoints entryPoints;
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

//===- Backend.h - Where a compiled model's arenas live and run -*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The executable's main talks to the machine that runs the compiled code
// through this interface only: it allocates the arenas there, copies
// weights, inputs and outputs across, calls the entry points and waits
// for them (docs/abi.md). The CPU backend runs them on the host, in host
// memory; a GPU backend keeps the arenas in device memory.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_RUNTIME_BACKEND_H
#define MOE_RUNTIME_BACKEND_H

#include "moe/ABI/ABI.h"
#include "moe/Runtime/PreparedWeights.h"
#include "moe/Runtime/Weights.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace moe {

/// A byte arena in a backend's memory.
class DeviceArena {
public:
  virtual ~DeviceArena();
  /// Its size in bytes.
  virtual uint64_t size() const = 0;
  /// The descriptor the entry points take.
  virtual MoEArena descriptor() = 0;
};

/// The descriptor of `bytes` bytes at `data` (docs/abi.md: a 1-D memref of
/// i8), in whichever memory the entry points run on.
inline MoEArena arenaDescriptor(void *data, uint64_t bytes) {
  auto *base = static_cast<int8_t *>(data);
  return MoEArena{base, base, 0, {static_cast<int64_t>(bytes)}, {1}};
}

/// The compiled model's entry points (docs/abi.md); `prepare` may be null.
/// Every backend calls them through these, on its own arenas.
struct EntryPoints {
  MoEForwardFunction forward = nullptr;
  MoEScratchBytesFunction scratchBytes = nullptr;
  MoEPrepareFunction prepare = nullptr;

  /// Calls moe_prepare from `raw` into `prepared`; false (with `error`)
  /// when the model has none or the arenas differ in size.
  bool runPrepare(DeviceArena &raw, DeviceArena &prepared,
                  std::string &error) const;
  /// Calls moe_forward on `tokens` tokens.
  void runForward(int64_t tokens, DeviceArena &inputs, DeviceArena &params,
                  DeviceArena &outputs, DeviceArena &scratch) const;
};

/// Whether [offset, offset + bytes) lies inside `arena`; otherwise an
/// internal error in `error`.
bool checkArenaRange(const DeviceArena &arena, uint64_t offset, uint64_t bytes,
                     std::string &error);
/// Whether [offset, offset + bytes) lies inside `file`; else an internal
/// error in `error`.
bool checkMappedRange(const MappedFile &file, uint64_t offset, uint64_t bytes,
                      std::string &error);

/// A kernel's time on the device over the launches a kernel profile saw.
struct KernelTime {
  /// The kernel's name in the model's binary.
  std::string name;
  double seconds = 0;
  int64_t launches = 0;
};

/// Where a compiled model's arenas live and how its entry points run.
/// Every call returns false with a message in `error` when it fails.
class Backend {
public:
  virtual ~Backend();
  /// What it runs on, for messages ("the CPU").
  virtual std::string name() const = 0;
  /// An arena holding `host`'s bytes; the host copy may be taken or freed.
  virtual std::unique_ptr<DeviceArena> upload(AlignedBuffer &&host,
                                              std::string &error) = 0;
  /// An arena of the `bytes` read-only bytes at `offset` in `file`: the
  /// CPU reads them where they are mapped; a GPU copies them.
  virtual std::unique_ptr<DeviceArena>
  mapHost(std::shared_ptr<const MappedFile> file, uint64_t offset,
          uint64_t bytes, std::string &error) = 0;
  /// A zeroed arena of `bytes`.
  virtual std::unique_ptr<DeviceArena> allocate(uint64_t bytes,
                                                std::string &error) = 0;
  /// Copies `bytes` bytes from `offset` in `arena` to `host`.
  virtual bool download(DeviceArena &arena, uint64_t offset, void *host,
                        uint64_t bytes, std::string &error) = 0;
  /// Copies `bytes` bytes from `host` to `offset` in `arena` (one that
  /// allocate() made).
  virtual bool copyIn(DeviceArena &arena, uint64_t offset, const void *host,
                      uint64_t bytes, std::string &error) = 0;
  /// Whether the model lays its weights out at load time.
  virtual bool hasPrepare() const = 0;
  /// Runs moe_prepare from `raw` into `prepared` (as large as `raw`).
  virtual bool prepare(DeviceArena &raw, DeviceArena &prepared,
                       std::string &error) = 0;
  /// The scratch arena's size for `tokens` tokens.
  virtual uint64_t scratchBytes(int64_t tokens) = 0;
  /// Starts moe_forward on `tokens` tokens; it may still run on return.
  virtual bool forward(int64_t tokens, DeviceArena &inputs, DeviceArena &params,
                       DeviceArena &outputs, DeviceArena &scratch,
                       std::string &error) = 0;
  /// Waits until the work started so far has finished.
  virtual bool synchronize(std::string &error) = 0;
  /// Whether the device times its own work (a GPU's CUDA events); the
  /// CPU's time is the host's.
  virtual bool hasDeviceClock() const { return false; }
  /// Starts the device clock.
  virtual void startDeviceClock() {}
  /// The device's seconds on the work started and finished since
  /// startDeviceClock (call it after synchronize); stops the clock.
  virtual double readDeviceClock() { return 0; }
  /// Starts timing each kernel on the device (hasDeviceClock).
  virtual void startKernelProfile() {}
  /// Each kernel's device time since startKernelProfile (call it after
  /// synchronize), in the order they first ran; stops the profile.
  virtual std::vector<KernelTime> readKernelProfile() { return {}; }
  /// Has forward() replay each call's kernels as one CUDA graph, captured
  /// at the first call with the same token count and arenas (the graph
  /// holds their addresses). False, with the reason in `error`, where the
  /// backend cannot (the CPU's; a driver without graphs).
  virtual bool useGraphs(std::string &error) {
    error = "CUDA graphs are for models compiled with --target=nvptx, "
            "and this one runs on " +
            name();
    return false;
  }
};

/// The backend of CPU code: arenas in host memory, entry points called
/// directly, each call finished when it returns.
std::unique_ptr<Backend> createCPUBackend(const EntryPoints &entryPoints);

/// The backend of NVPTX code: arenas in the memory of CUDA device 0, whose
/// kernels moe_forward launches. Null, with the reason in `error`, on a
/// machine without a CUDA driver or device (the driver is loaded with
/// dlopen: nothing else needs it).
std::unique_ptr<Backend> createCUDABackend(const EntryPoints &entryPoints,
                                           std::string &error);

} // namespace moe

#endif // MOE_RUNTIME_BACKEND_H

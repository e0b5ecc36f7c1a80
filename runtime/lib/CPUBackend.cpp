//===- CPUBackend.cpp - Compiled CPU code in host memory --------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#include "moe/Runtime/Backend.h"

#include <cstring>

namespace moe {

namespace {

/// A host arena: the buffer itself.
class HostArena final : public DeviceArena {
public:
  explicit HostArena(AlignedBuffer buffer) : buffer(std::move(buffer)) {}
  uint64_t size() const override { return buffer.size(); }
  MoEArena descriptor() override {
    return arenaDescriptor(buffer.data(), buffer.size());
  }

private:
  AlignedBuffer buffer;
};

/// Read-only bytes of a mapped file, used in place.
class MappedArena final : public DeviceArena {
public:
  MappedArena(std::shared_ptr<const MappedFile> file, uint64_t offset,
              uint64_t bytes)
      : file(std::move(file)), offset(offset), bytes(bytes) {}
  uint64_t size() const override { return bytes; }
  MoEArena descriptor() override {
    // The compiled code only reads its parameters; the mapping is
    // read-only, so a write would fault rather than corrupt the file.
    return arenaDescriptor(const_cast<uint8_t *>(file->data()) + offset, bytes);
  }

private:
  std::shared_ptr<const MappedFile> file;
  uint64_t offset, bytes;
};

class CPUBackend final : public Backend {
public:
  explicit CPUBackend(const EntryPoints &entryPoints)
      : entryPoints(entryPoints) {}

  std::string name() const override { return "the CPU"; }

  std::unique_ptr<DeviceArena> upload(AlignedBuffer &&host,
                                      std::string &error) override {
    if (!host) {
      error = "out of memory for " + std::to_string(host.size()) + " bytes";
      return nullptr;
    }
    return std::make_unique<HostArena>(std::move(host));
  }

  std::unique_ptr<DeviceArena> allocate(uint64_t bytes,
                                        std::string &error) override {
    return upload(AlignedBuffer(bytes), error);
  }

  std::unique_ptr<DeviceArena> mapHost(std::shared_ptr<const MappedFile> file,
                                       uint64_t offset, uint64_t bytes,
                                       std::string &error) override {
    if (!checkMappedRange(*file, offset, bytes, error))
      return nullptr;
    return std::make_unique<MappedArena>(std::move(file), offset, bytes);
  }

  bool download(DeviceArena &arena, uint64_t offset, void *host, uint64_t bytes,
                std::string &error) override {
    return copyAt(arena, offset, bytes, error,
                  [&](int8_t *at) { std::memcpy(host, at, bytes); });
  }

  bool copyIn(DeviceArena &arena, uint64_t offset, const void *host,
              uint64_t bytes, std::string &error) override {
    return copyAt(arena, offset, bytes, error,
                  [&](int8_t *at) { std::memcpy(at, host, bytes); });
  }

  bool hasPrepare() const override { return entryPoints.prepare != nullptr; }

  bool prepare(DeviceArena &raw, DeviceArena &prepared,
               std::string &error) override {
    return entryPoints.runPrepare(raw, prepared, error);
  }

  uint64_t scratchBytes(int64_t tokens) override {
    return static_cast<uint64_t>(entryPoints.scratchBytes(tokens));
  }

  bool forward(int64_t tokens, DeviceArena &inputs, DeviceArena &params,
               DeviceArena &outputs, DeviceArena &scratch,
               std::string &error) override {
    entryPoints.runForward(tokens, inputs, params, outputs, scratch);
    return true;
  }

  bool synchronize(std::string &error) override { return true; }

private:
  /// `copy(address)` of `bytes` at `offset` in `arena`, checked against its
  /// size.
  template <typename Copy>
  static bool copyAt(DeviceArena &arena, uint64_t offset, uint64_t bytes,
                     std::string &error, Copy copy) {
    if (!checkArenaRange(arena, offset, bytes, error))
      return false;
    if (bytes != 0)
      copy(arena.descriptor().aligned + offset);
    return true;
  }

  EntryPoints entryPoints;
};

} // namespace

std::unique_ptr<Backend> createCPUBackend(const EntryPoints &entryPoints) {
  return std::make_unique<CPUBackend>(entryPoints);
}

} // namespace moe

//===- Backend.cpp - What every backend shares ------------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#include "moe/Runtime/Backend.h"

namespace moe {

DeviceArena::~DeviceArena() = default;
Backend::~Backend() = default;

bool EntryPoints::runPrepare(DeviceArena &raw, DeviceArena &prepared,
                             std::string &error) const {
  if (!prepare || prepared.size() != raw.size()) {
    error = "internal error: no weight preparation to run";
    return false;
  }
  MoEArena rawRef = raw.descriptor(), preparedRef = prepared.descriptor();
  prepare(&rawRef, &preparedRef);
  return true;
}

void EntryPoints::runForward(int64_t tokens, DeviceArena &inputs,
                             DeviceArena &params, DeviceArena &outputs,
                             DeviceArena &scratch) const {
  MoEArena inputsRef = inputs.descriptor(), paramsRef = params.descriptor(),
           outputsRef = outputs.descriptor(), scratchRef = scratch.descriptor();
  forward(tokens, &inputsRef, &paramsRef, &outputsRef, &scratchRef);
}

bool checkArenaRange(const DeviceArena &arena, uint64_t offset, uint64_t bytes,
                     std::string &error) {
  if (offset <= arena.size() && bytes <= arena.size() - offset)
    return true;
  error = "internal error: reading " + std::to_string(bytes) + " bytes at " +
          std::to_string(offset) + " of a " + std::to_string(arena.size()) +
          "-byte arena";
  return false;
}

bool checkMappedRange(const MappedFile &file, uint64_t offset, uint64_t bytes,
                      std::string &error) {
  if (offset <= file.size() && bytes <= file.size() - offset)
    return true;
  error = "internal error: a mapped arena past the end of its file";
  return false;
}

} // namespace moe

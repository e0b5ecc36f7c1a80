//===- PreparedWeights.h - Weights as the compiled code reads them -*- C++ -*-//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// A prepared weights file holds a model's parameter arena after moe_prepare
// laid it out, so that a later start maps it and runs: no safetensors
// parsing, no layout pass, no second copy. Its header says which build of
// which model wrote it (docs/abi.md, "Prepared weights"):
//
//   "MOEPREP\0", uint32 format version, uint32 header length L,
//   L bytes of JSON header, zeros up to a 4096-byte boundary, the arena.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_RUNTIME_PREPAREDWEIGHTS_H
#define MOE_RUNTIME_PREPAREDWEIGHTS_H

#include "moe/Model/MappedFile.h"
#include "moe/Model/ModelSpec.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace moe {

/// Who wrote a prepared file, and for what.
struct PreparedHeader {
  /// The identity of the build that wrote it: the executable's hash.
  std::string build;
  /// The compiled target ("cpu", "nvptx").
  std::string target;
  /// compiledSignature() of the model.
  std::vector<std::string> signature;
  /// The source tensors the parameters were read from (names, dtypes and
  /// shapes), which resolve the model again without the weights files.
  std::vector<TensorShapeInfo> tensors;
  uint64_t paramBytes = 0;
};

/// Whether `path` starts like a prepared weights file.
bool isPreparedWeightsFile(const std::string &path);

/// The source tensors of `model`'s parameters, for a header.
std::vector<TensorShapeInfo> parameterSourceTensors(const ModelSpec &model);

/// Writes `header`, then `header.paramBytes` bytes that `read(offset,
/// buffer, bytes)` provides in pieces, to `path` (through a temporary
/// file, renamed when complete).
bool writePreparedWeights(
    const std::string &path, const PreparedHeader &header,
    const std::function<bool(uint64_t, uint8_t *, uint64_t, std::string &)>
        &read,
    std::string &error);

/// Maps the prepared file at `path` and reads its header; the arena is
/// `file->data() + dataOffset`, `header.paramBytes` long. Fails on a file
/// that is not one, of another format version, or cut short.
bool openPreparedWeights(const std::string &path, PreparedHeader &header,
                         std::shared_ptr<MappedFile> &file,
                         uint64_t &dataOffset, std::string &error);

} // namespace moe

#endif // MOE_RUNTIME_PREPAREDWEIGHTS_H

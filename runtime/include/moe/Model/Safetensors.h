//===- Safetensors.h - Reading safetensors files ----------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// A validating reader of the safetensors format: an 8-byte little-endian
// header length, a JSON header mapping tensor names to dtype, shape and data
// offsets, then the data. Every offset, size and shape product is checked
// (including 64-bit overflow) before any data is touched, for tensors of
// every safetensors dtype; only F32, BF16 and F16 ones can be weights.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_MODEL_SAFETENSORS_H
#define MOE_MODEL_SAFETENSORS_H

#include "moe/Model/MappedFile.h"
#include "moe/Model/ModelSpec.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace moe {

/// One tensor of a safetensors file.
struct SafetensorsEntry {
  /// The element type, for a tensor of F32, BF16 or F16 (the types a weight
  /// can have); empty for a tensor of any other safetensors dtype, which a
  /// file may hold (I64 buffers, U8 quantisation blocks, ...) but no model
  /// can use as a weight.
  std::optional<DType> dtype;
  /// The element type as the file names it: any safetensors dtype.
  StorageDType storageDType = StorageDType::F32;
  std::vector<int64_t> shape;
  /// Byte range inside the data section.
  uint64_t begin = 0, end = 0;
};

/// An open safetensors file, memory-mapped read-only.
class SafetensorsFile {
public:
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile &) = delete;
  SafetensorsFile &operator=(const SafetensorsFile &) = delete;

  /// Opens and validates `path`. Returns null with a message in `error`
  /// naming the file and what is wrong.
  static std::unique_ptr<SafetensorsFile> open(const std::string &path,
                                               std::string &error);

  const std::string &path() const { return filePath; }
  const std::map<std::string, SafetensorsEntry> &tensors() const {
    return entries;
  }
  /// The entry named `name`, or null.
  const SafetensorsEntry *find(const std::string &name) const;
  /// The bytes of `entry` (inside the mapping).
  const uint8_t *data(const SafetensorsEntry &entry) const;
  /// The tensors' names, dtypes and shapes.
  std::vector<TensorShapeInfo> shapes() const;

private:
  SafetensorsFile() = default;
  std::string filePath;
  std::map<std::string, SafetensorsEntry> entries;
  std::unique_ptr<MappedFile> file;
  const uint8_t *dataStart = nullptr;
};

/// Writes `tensors` (name, dtype F32, shape, data) as a safetensors file.
/// Used by tests and tools that make weights files.
struct SafetensorsWriteEntry {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};
bool writeSafetensorsF32(const std::string &path,
                         const std::vector<SafetensorsWriteEntry> &tensors,
                         std::string &error);

} // namespace moe

#endif // MOE_MODEL_SAFETENSORS_H

//===- MappedFile.h - A file mapped read-only -------------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// A regular file mapped read-only into memory, which the safetensors reader
// and the prepared weights file both read from in place.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_MODEL_MAPPEDFILE_H
#define MOE_MODEL_MAPPEDFILE_H

#include <cstdint>
#include <memory>
#include <string>

namespace moe {

/// A file mapped read-only into memory; unmapped when destroyed.
class MappedFile {
public:
  ~MappedFile();
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;
  /// Maps the regular file at `path`. Returns null with a message in
  /// `error` naming the file and what failed.
  static std::unique_ptr<MappedFile> open(const std::string &path,
                                          std::string &error);
  const uint8_t *data() const { return mapping; }
  uint64_t size() const { return bytes; }
  const std::string &path() const { return filePath; }

private:
  MappedFile() = default;
  std::string filePath;
  const uint8_t *mapping = nullptr;
  uint64_t bytes = 0;
};

} // namespace moe

#endif // MOE_MODEL_MAPPEDFILE_H

//===- FuzzUtils.h - Helpers shared by the fuzz targets ---------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_TEST_FUZZ_FUZZUTILS_H
#define MOE_TEST_FUZZ_FUZZUTILS_H

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace moe::fuzz {

/// Writes `data` to a per-process scratch file (the readers under test take
/// paths and map files) and returns its path.
inline std::string writeScratchFile(const uint8_t *data, size_t size,
                                    const char *suffix) {
  std::string path = "/tmp/moe-fuzz-" + std::to_string(getpid()) + suffix;
  FILE *file = std::fopen(path.c_str(), "wb");
  if (!file)
    std::abort();
  if (size && std::fwrite(data, 1, size, file) != size)
    std::abort();
  std::fclose(file);
  return path;
}

} // namespace moe::fuzz

#endif // MOE_TEST_FUZZ_FUZZUTILS_H

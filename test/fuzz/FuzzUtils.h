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
#include <set>
#include <string>
#include <unistd.h>

namespace moe::fuzz {

/// The scratch files this process wrote, removed when it exits (a fuzzing
/// run writes one per suffix and rewrites it for every input).
struct ScratchFiles {
  std::set<std::string> paths;
  ~ScratchFiles() {
    for (const std::string &path : paths)
      std::remove(path.c_str());
  }
};

/// Writes `data` to a per-process scratch file in $TMPDIR (default /tmp;
/// the readers under test take paths and map files) and returns its path.
inline std::string writeScratchFile(const uint8_t *data, size_t size,
                                    const char *suffix) {
  static ScratchFiles files;
  const char *directory = std::getenv("TMPDIR");
  std::string path = std::string(directory && *directory ? directory : "/tmp") +
                     "/moe-fuzz-" + std::to_string(getpid()) + suffix;
  files.paths.insert(path);
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

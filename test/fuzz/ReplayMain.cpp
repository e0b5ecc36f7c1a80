//===- ReplayMain.cpp - Run a fuzz target on files, without libFuzzer -*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The `main` of the fuzz targets in builds without libFuzzer (release
// builds): each argument is a file, and the target runs once on its bytes,
// as `fuzz-TARGET FILE...` does under libFuzzer. The lit suite replays the
// seed corpora and the kept crash inputs this way, so a regression shows up
// in every build without fuzzing.
//
//===----------------------------------------------------------------------===//

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    std::ifstream file(argv[i], std::ios::binary);
    if (!file) {
      std::fprintf(stderr, "%s: cannot open '%s'\n", argv[0], argv[i]);
      return 1;
    }
    std::string bytes((std::istreambuf_iterator<char>(file)),
                      std::istreambuf_iterator<char>());
    // Run on a copy of exactly the file's size, as libFuzzer does, so that
    // reads past the end are caught by the sanitizers.
    auto *data = new uint8_t[bytes.size() ? bytes.size() : 1];
    std::copy(bytes.begin(), bytes.end(), data);
    LLVMFuzzerTestOneInput(data, bytes.size());
    delete[] data;
  }
  std::printf("%s: ran %d inputs\n", argv[0], argc - 1);
  return 0;
}

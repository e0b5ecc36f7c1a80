//===- fuzz-safetensors.cpp - Fuzz the safetensors reader -------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// Opens arbitrary bytes as a safetensors file and reads every byte of every
// tensor it accepts, so an out-of-bounds offset is caught by AddressSanitizer.
//
//===----------------------------------------------------------------------===//

#include "FuzzUtils.h"

#include "moe/Model/Safetensors.h"

#include <memory>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = moe::fuzz::writeScratchFile(data, size, ".safetensors");
  std::string error;
  std::unique_ptr<moe::SafetensorsFile> file =
      moe::SafetensorsFile::open(path, error);
  if (!file)
    return 0;
  volatile uint8_t sink = 0;
  for (const auto &[name, entry] : file->tensors()) {
    const uint8_t *bytes = file->data(entry);
    for (uint64_t i = entry.begin; i < entry.end; ++i)
      sink ^= bytes[i - entry.begin];
  }
  (void)file->shapes();
  return 0;
}

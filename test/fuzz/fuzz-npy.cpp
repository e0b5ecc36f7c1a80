//===- fuzz-npy.cpp - Fuzz the .npy reader ----------------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// Reads arbitrary bytes as a .npy file; an accepted array must hold exactly
// rows * cols values.
//
//===----------------------------------------------------------------------===//

#include "FuzzUtils.h"

#include "moe/Runtime/Npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = moe::fuzz::writeScratchFile(data, size, ".npy");
  moe::Array2D array;
  std::string error;
  if (moe::readNpy(path, array, error) &&
      array.values.size() != static_cast<size_t>(array.rows * array.cols))
    std::abort();
  return 0;
}

//===- Npy.h - Reading and writing .npy arrays ------------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// Reads and writes 2-D float32 C-order NumPy `.npy` files (format versions
// 1.0 to 3.0), the input and output format of compiled models. Anything else
// (another dtype, big-endian, Fortran order, a rank other than 2, a header or
// data size that disagrees with the file) is an error naming the file.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_RUNTIME_NPY_H
#define MOE_RUNTIME_NPY_H

#include <cstdint>
#include <string>
#include <vector>

namespace moe {

/// A 2-D float32 array in row-major order.
struct Array2D {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> values;
};

/// Reads `path` into `array`. Returns false with a message in `error`.
bool readNpy(const std::string &path, Array2D &array, std::string &error);

/// Writes `array` to `path` as a version 1.0 `<f4` C-order file.
bool writeNpy(const std::string &path, const Array2D &array,
              std::string &error);

} // namespace moe

#endif // MOE_RUNTIME_NPY_H

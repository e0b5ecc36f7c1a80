//===- Inputs.cpp - Seeded random model inputs ----------------------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements makeRandomInput on the generator of the random init.
//
//===----------------------------------------------------------------------===//

#include "moe/Runtime/Inputs.h"
#include "moe/Runtime/Weights.h"

#include "Support.h"

namespace moe {

bool makeRandomInput(int64_t width, int64_t tokens, uint64_t seed,
                     Array2D &input, std::string &error) {
  uint64_t count = 0, bytes = 0;
  if (width < 0 || tokens < 0 ||
      !detail::shapeElementCount({tokens, width}, count) ||
      !detail::checkedMul(count, sizeof(float), bytes) ||
      bytes > (uint64_t(1) << 40)) {
    error = "cannot make a random input of shape [" + std::to_string(tokens) +
            ", " + std::to_string(width) + "]";
    return false;
  }
  try {
    Array2D result;
    result.rows = tokens;
    result.cols = width;
    result.values.resize(count);
    SeededNormal generator(seed);
    for (float &value : result.values)
      value = static_cast<float>(generator.normal());
    input = std::move(result);
    return true;
  } catch (const std::exception &e) {
    error = "cannot make a random input of shape [" + std::to_string(tokens) +
            ", " + std::to_string(width) + "]: " + e.what();
    return false;
  }
}

} // namespace moe

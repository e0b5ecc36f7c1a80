//===- Inputs.cpp - Seeded random model inputs ----------------------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements makeRandomInput on the generator of the random init,
// and loadModelInputs, shared by the executables and the reference.
//
//===----------------------------------------------------------------------===//

#include "moe/Runtime/Inputs.h"
#include "moe/Model/ModelSpec.h"
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

bool loadModelInputs(const ModelSpec &model,
                     const std::vector<std::string> &files, int64_t tokens,
                     uint64_t seed, std::vector<Array2D> &inputs,
                     std::string &error) {
  std::vector<Array2D> result;
  if (files.empty()) {
    for (size_t i = 0; i < model.inputs.size(); ++i) {
      Array2D input;
      if (!makeRandomInput(model.inputs[i].width, tokens, seed + i, input,
                           error)) {
        error = detail::makeError(model.path, error);
        return false;
      }
      result.push_back(std::move(input));
    }
    inputs = std::move(result);
    return true;
  }
  if (files.size() != model.inputs.size()) {
    error = detail::makeError(
        model.path, "the model has " + std::to_string(model.inputs.size()) +
                        " input(s), got " + std::to_string(files.size()) +
                        " --input file(s); give one per input, in order");
    return false;
  }
  for (size_t i = 0; i < files.size(); ++i) {
    Array2D input;
    if (!readNpy(files[i], input, error))
      return false;
    const InputSpec &spec = model.inputs[i];
    if (input.cols != spec.width) {
      error = detail::makeError(
          files[i], "shape [" + std::to_string(input.rows) + ", " +
                        std::to_string(input.cols) + "], the model's input " +
                        detail::quote(spec.name) + " expects [tokens, " +
                        std::to_string(spec.width) + "]");
      return false;
    }
    if (i > 0 && input.rows != result.front().rows) {
      error = detail::makeError(
          files[i], std::to_string(input.rows) + " tokens for input " +
                        detail::quote(spec.name) + ", but " +
                        std::to_string(result.front().rows) +
                        " in the first input " +
                        detail::quote(model.inputs.front().name) +
                        "; every input has the same token count");
      return false;
    }
    result.push_back(std::move(input));
  }
  inputs = std::move(result);
  return true;
}

} // namespace moe

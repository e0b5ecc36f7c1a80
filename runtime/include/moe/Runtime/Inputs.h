//===- Inputs.h - Seeded random model inputs --------------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The input a compiled model (and the reference implementation) runs on when
// no `--input` file is given. Both must use this one function, so that their
// outputs can be compared without writing the input to a file.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_RUNTIME_INPUTS_H
#define MOE_RUNTIME_INPUTS_H

#include "moe/Runtime/Npy.h"

#include <cstdint>
#include <string>
#include <vector>

namespace moe {

/// Makes a [tokens, width] input of standard normal values: SeededNormal(seed)
/// drawn in row-major order (std 1). Returns false with a message in `error`
/// on a negative or too large size.
bool makeRandomInput(int64_t width, int64_t tokens, uint64_t seed,
                     Array2D &input, std::string &error);

struct ModelSpec;

/// The graph inputs of `model`, in its order: read from `files` (one .npy
/// file per input) or, when `files` is empty, made by makeRandomInput with
/// `tokens` rows, input i from seed `seed + i`. Every input must have its
/// input's width and the same token count as the first. Returns false with
/// a complete diagnostic (`FILE: error: ...`) in `error`.
bool loadModelInputs(const ModelSpec &model,
                     const std::vector<std::string> &files, int64_t tokens,
                     uint64_t seed, std::vector<Array2D> &inputs,
                     std::string &error);

} // namespace moe

#endif // MOE_RUNTIME_INPUTS_H

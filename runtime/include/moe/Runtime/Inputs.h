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

namespace moe {

/// Makes a [tokens, width] input of standard normal values: SeededNormal(seed)
/// drawn in row-major order (std 1). Returns false with a message in `error`
/// on a negative or too large size.
bool makeRandomInput(int64_t width, int64_t tokens, uint64_t seed,
                     Array2D &input, std::string &error);

} // namespace moe

#endif // MOE_RUNTIME_INPUTS_H

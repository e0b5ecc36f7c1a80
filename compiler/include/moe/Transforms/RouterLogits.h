//===- RouterLogits.h - Router logits, with optional noise ------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The router logits of `moe.router`, built as linalg on tensors. They are
// shared by the router lowering and by the router z-loss that the importer
// builds, so that both see the same linear bias and the same noise.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_TRANSFORMS_ROUTERLOGITS_H
#define MOE_TRANSFORMS_ROUTERLOGITS_H

#include "mlir/IR/Builders.h"
#include "mlir/Support/LLVM.h"

#include <cstdint>
#include <optional>

namespace mlir {
namespace moe {

/// The optional noise of noisy top-k gating: an [E, D] weight and the seed
/// of the generator of `eps`.
struct RouterNoise {
  Value weight;
  uint64_t seed = 0;
};

/// Builds `input weight^T (+ bias) (+ eps * softplus(input noise^T))` into
/// `init` [T, E] (its contents are overwritten). `input` is [T, D],
/// `weight` [E, D] of any float type, or [D, E] with `weightKn` (then the
/// experts are the innermost loop), `bias` [E] or null.
Value buildRouterLogits(OpBuilder &b, Location loc, Value input, Value weight,
                        Value bias, std::optional<RouterNoise> noise,
                        Value init, bool weightKn = false);

/// Builds standard-normal draw number `index` (an i64, counted from 0) of
/// the generator seeded with `seed`, as an f64: the draws of
/// `moe::SeededNormal` (splitmix64, then Box-Muller in pairs, cosine first),
/// computed from the index alone so that any element can be drawn in any
/// order.
Value buildSeededNormalDraw(OpBuilder &b, Location loc, uint64_t seed,
                            Value index);

} // namespace moe
} // namespace mlir

#endif // MOE_TRANSFORMS_ROUTERLOGITS_H

//===- Activations.h - Scalar activation functions --------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// Builders for the scalar bodies of the activations MoE models use, in arith
// and math ops, for use inside elementwise linalg.generic regions.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_TRANSFORMS_ACTIVATIONS_H
#define MOE_TRANSFORMS_ACTIVATIONS_H

#include "moe/Dialect/MoE/IR/MoEDialect.h"

#include "mlir/IR/Builders.h"

namespace mlir {
namespace moe {

/// Default `alpha` of gpt-oss's clamped SwiGLU.
constexpr float kSwigluOaiDefaultAlpha = 1.702f;
/// Default `limit` of gpt-oss's clamped SwiGLU.
constexpr float kSwigluOaiDefaultLimit = 7.0f;

/// Builds `1 / (1 + exp(-x))` for a float scalar.
Value buildSigmoid(OpBuilder &b, Location loc, Value x);

/// Builds `activation(x)` for a float scalar. `activation` must not be
/// `swiglu_oai`, which needs both projections.
Value buildActivation(OpBuilder &b, Location loc, Activation activation,
                      Value x);

/// Builds the gated product of one FFN row element: `act(gate) * up`, or
/// gpt-oss's clamped form for `swiglu_oai` with `alpha` and `limit`.
Value buildGatedActivation(OpBuilder &b, Location loc, Activation activation,
                           Value gate, Value up, float alpha, float limit);

} // namespace moe
} // namespace mlir

#endif // MOE_TRANSFORMS_ACTIVATIONS_H

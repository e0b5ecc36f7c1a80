//===- Activations.cpp - Scalar activation functions ------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements the scalar activation builders. Each follows the
// PyTorch definition, so NaN and Inf propagate as they do there.
//
//===----------------------------------------------------------------------===//

#include "moe/Transforms/Activations.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;
using namespace mlir::moe;

static Value constantLike(OpBuilder &b, Location loc, Value like,
                          double value) {
  return arith::ConstantOp::create(b, loc,
                                   b.getFloatAttr(like.getType(), value));
}

Value mlir::moe::buildSigmoid(OpBuilder &b, Location loc, Value x) {
  // With e = exp(-|x|) and t = e / (1 + e) = sigmoid(-|x|), both accurate,
  // sigmoid(x) is 1 - t for x >= 0 and t below. 1 / (1 + exp(-x)) would
  // round 1 + e first: scores of saturated experts (x above ~15) that
  // differ as f32 would tie.
  Value one = constantLike(b, loc, x, 1.0);
  Value zero = constantLike(b, loc, x, 0.0);
  Value e = math::ExpOp::create(
      b, loc, arith::NegFOp::create(b, loc, math::AbsFOp::create(b, loc, x)));
  Value t = arith::DivFOp::create(b, loc, e,
                                  arith::AddFOp::create(b, loc, one, e));
  Value nonNegative =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE, x, zero);
  return arith::SelectOp::create(b, loc, nonNegative,
                                 arith::SubFOp::create(b, loc, one, t), t);
}

Value mlir::moe::buildActivation(OpBuilder &b, Location loc,
                                 Activation activation, Value x) {
  switch (activation) {
  case Activation::silu:
    return arith::MulFOp::create(b, loc, x, buildSigmoid(b, loc, x));
  case Activation::gelu: {
    // 0.5 * x * (1 + erf(x / sqrt(2)))
    Value scaled = arith::MulFOp::create(b, loc, x,
                                         constantLike(b, loc, x, M_SQRT1_2));
    Value erf = math::ErfOp::create(b, loc, scaled);
    Value onePlus =
        arith::AddFOp::create(b, loc, constantLike(b, loc, x, 1.0), erf);
    Value half = arith::MulFOp::create(b, loc, x, constantLike(b, loc, x, 0.5));
    return arith::MulFOp::create(b, loc, half, onePlus);
  }
  case Activation::gelu_tanh: {
    // 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))
    Value cube = arith::MulFOp::create(
        b, loc, x, arith::MulFOp::create(b, loc, x, x));
    Value inner = arith::AddFOp::create(
        b, loc, x,
        arith::MulFOp::create(b, loc, cube, constantLike(b, loc, x, 0.044715)));
    Value scaled = arith::MulFOp::create(
        b, loc, inner, constantLike(b, loc, x, std::sqrt(2.0 / M_PI)));
    Value onePlus = arith::AddFOp::create(b, loc, constantLike(b, loc, x, 1.0),
                                          math::TanhOp::create(b, loc, scaled));
    Value half = arith::MulFOp::create(b, loc, x, constantLike(b, loc, x, 0.5));
    return arith::MulFOp::create(b, loc, half, onePlus);
  }
  case Activation::relu:
    // maximumf propagates NaN, as torch.relu does.
    return arith::MaximumFOp::create(b, loc, x, constantLike(b, loc, x, 0.0));
  case Activation::swiglu_oai:
    break;
  }
  llvm_unreachable("swiglu_oai is a gated activation");
}

Value mlir::moe::buildGatedActivation(OpBuilder &b, Location loc,
                                      Activation activation, Value gate,
                                      Value up, float alpha, float limit) {
  if (activation != Activation::swiglu_oai)
    return arith::MulFOp::create(b, loc,
                                 buildActivation(b, loc, activation, gate), up);
  // g = min(gate, limit); u = clamp(up, -limit, limit);
  // h = (u + 1) * g * sigmoid(alpha * g)
  Value limitValue = constantLike(b, loc, gate, limit);
  Value g = arith::MinimumFOp::create(b, loc, gate, limitValue);
  Value u = arith::MaximumFOp::create(
      b, loc, arith::MinimumFOp::create(b, loc, up, limitValue),
      constantLike(b, loc, up, -limit));
  Value glu = arith::MulFOp::create(
      b, loc, g,
      buildSigmoid(b, loc,
                   arith::MulFOp::create(b, loc, g,
                                         constantLike(b, loc, gate, alpha))));
  Value upPlusOne =
      arith::AddFOp::create(b, loc, u, constantLike(b, loc, up, 1.0));
  return arith::MulFOp::create(b, loc, upPlusOne, glu);
}

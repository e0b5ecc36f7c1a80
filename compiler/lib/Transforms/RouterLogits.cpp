//===- RouterLogits.cpp - Router logits, with optional noise -------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#include "moe/Transforms/RouterLogits.h"
#include "moe/Dialect/MoE/IR/MoEDialect.h"
#include "moe/Transforms/TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::moe;

/// The constants of splitmix64 (Steele, Lea and Flood): the increment of its
/// state and the two multipliers of its output mix.
static constexpr uint64_t kSplitMixIncrement = 0x9E3779B97F4A7C15ULL;
static constexpr uint64_t kSplitMixMultiplier1 = 0xBF58476D1CE4E5B9ULL;
static constexpr uint64_t kSplitMixMultiplier2 = 0x94D049BB133111EBULL;

static Value i64Constant(OpBuilder &b, Location loc, uint64_t value) {
  return arith::ConstantOp::create(
      b, loc, b.getIntegerAttr(b.getI64Type(), APInt(64, value)));
}

static Value f64Constant(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(value));
}

/// Uniform draw number `index` in [0, 1) of splitmix64 seeded with `seed`:
/// the generator's state after `index + 1` steps is
/// `seed + (index + 1) * increment`, mixed, of which the top 53 bits count
/// 2^-53 steps.
static Value buildUniformDraw(OpBuilder &b, Location loc, uint64_t seed,
                              Value index) {
  auto xorShift = [&](Value z, uint64_t shift) -> Value {
    Value shifted =
        arith::ShRUIOp::create(b, loc, z, i64Constant(b, loc, shift));
    return arith::XOrIOp::create(b, loc, z, shifted);
  };
  Value steps = arith::AddIOp::create(b, loc, index, i64Constant(b, loc, 1));
  Value z = arith::AddIOp::create(
      b, loc, i64Constant(b, loc, seed),
      arith::MulIOp::create(b, loc, steps,
                            i64Constant(b, loc, kSplitMixIncrement)));
  z = arith::MulIOp::create(b, loc, xorShift(z, 30),
                            i64Constant(b, loc, kSplitMixMultiplier1));
  z = arith::MulIOp::create(b, loc, xorShift(z, 27),
                            i64Constant(b, loc, kSplitMixMultiplier2));
  z = xorShift(z, 31);
  Value top53 = arith::UIToFPOp::create(
      b, loc, b.getF64Type(),
      arith::ShRUIOp::create(b, loc, z, i64Constant(b, loc, 11)));
  return arith::MulFOp::create(b, loc, top53, f64Constant(b, loc, 0x1.0p-53));
}

/// softplus(z) = log(1 + exp(z)), without overflow for large z.
static Value buildSoftplus(OpBuilder &b, Location loc, Value z) {
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(z.getType()));
  Value negAbs = arith::NegFOp::create(b, loc, math::AbsFOp::create(b, loc, z));
  Value tail =
      math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, negAbs));
  return arith::AddFOp::create(
      b, loc, arith::MaximumFOp::create(b, loc, z, zero), tail);
}

Value mlir::moe::buildSeededNormalDraw(OpBuilder &b, Location loc,
                                       uint64_t seed, Value index) {
  // Normal draws come in pairs from uniform draws 2p and 2p + 1: with
  // u1 = 1 - first (in (0, 1], so the logarithm is finite) and u2 = second,
  // draw 2p is r cos(2 pi u2) and draw 2p + 1 is r sin(2 pi u2), where
  // r = sqrt(-2 log u1).
  Value pairStart =
      arith::AndIOp::create(b, loc, index, i64Constant(b, loc, ~uint64_t(1)));
  Value u1 = arith::SubFOp::create(b, loc, f64Constant(b, loc, 1.0),
                                   buildUniformDraw(b, loc, seed, pairStart));
  Value u2 = buildUniformDraw(
      b, loc, seed,
      arith::AddIOp::create(b, loc, pairStart, i64Constant(b, loc, 1)));
  Value radius = math::SqrtOp::create(
      b, loc,
      arith::MulFOp::create(b, loc, f64Constant(b, loc, -2.0),
                            math::LogOp::create(b, loc, u1)));
  Value angle = arith::MulFOp::create(
      b, loc, f64Constant(b, loc, 6.283185307179586476925286766559), u2);
  Value isFirst = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::eq,
      arith::AndIOp::create(b, loc, index, i64Constant(b, loc, 1)),
      i64Constant(b, loc, 0));
  Value cosine = arith::MulFOp::create(b, loc, radius,
                                       math::CosOp::create(b, loc, angle));
  Value sine = arith::MulFOp::create(b, loc, radius,
                                     math::SinOp::create(b, loc, angle));
  return arith::SelectOp::create(b, loc, isFirst, cosine, sine);
}

Value mlir::moe::buildRouterLogits(OpBuilder &b, Location loc, Value input,
                                   Value weight, Value bias,
                                   std::optional<RouterNoise> noise,
                                   Value init, bool weightKn) {
  auto initType = cast<RankedTensorType>(init.getType());
  Type element = initType.getElementType();
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(element));
  Value zeroed = linalg::FillOp::create(b, loc, zero, init).getResult(0);
  Value logits = weightKn
                     ? buildMatmulInnerN(b, loc, input, weight, zeroed)
                     : buildMatmulTransposedRhs(b, loc, input, weight, zeroed);
  logits.getDefiningOp()->setAttr(kRouterLogitsAttrName, b.getUnitAttr());
  if (bias)
    logits = buildAddRowBias(b, loc, logits, bias);
  if (!noise)
    return logits;

  // logits[t, e] += eps(t * E + e) * softplus(x_t . noise_e).
  Value noiseLogits = buildMatmulTransposedRhs(
      b, loc, input, noise->weight,
      createZeroTensor(b, loc, tensor::getMixedSizes(b, loc, init), element));
  // E from the weight, whose expert extent the verifier requires static.
  int64_t numExperts =
      cast<ShapedType>(weight.getType()).getDimSize(weightKn ? 1 : 0);
  uint64_t seed = noise->seed;
  AffineMap identity = b.getMultiDimIdentityMap(2);
  return linalg::GenericOp::create(
             b, loc, initType, ValueRange{noiseLogits}, ValueRange{logits},
             SmallVector<AffineMap>{identity, identity},
             SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               Value token = linalg::IndexOp::create(nb, nloc, 0);
               Value expert = linalg::IndexOp::create(nb, nloc, 1);
               Value position = arith::AddIOp::create(
                   nb, nloc,
                   arith::MulIOp::create(
                       nb, nloc, token,
                       arith::ConstantIndexOp::create(nb, nloc, numExperts)),
                   expert);
               Value draw = buildSeededNormalDraw(
                   nb, nloc, seed,
                   arith::IndexCastUIOp::create(nb, nloc, nb.getI64Type(),
                                                position));
               Value scaled = arith::MulFOp::create(
                   nb, nloc, convertFloat(nb, nloc, draw, element),
                   buildSoftplus(nb, nloc, args[0]));
               linalg::YieldOp::create(
                   nb, nloc, arith::AddFOp::create(nb, nloc, args[1], scaled)
                                 .getResult());
             })
      .getResult(0);
}

//===- RouterToLinalg.cpp - moe.router to linalg ----------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file lowers `moe.router` to a `linalg.generic` contraction (logits =
// x W^T + b, plus the seeded noise of noisy gating) followed by a row-wise,
// max-subtracted softmax or an elementwise sigmoid.
//
//===----------------------------------------------------------------------===//

#include "moe/Conversion/MoEToLinalg/MoEToLinalg.h"
#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/Activations.h"
#include "moe/Transforms/RouterLogits.h"
#include "moe/Transforms/TensorUtils.h"

#include "mlir/IR/PatternMatch.h"

#include <limits>

using namespace mlir;
using namespace mlir::moe;

namespace {

struct RouterToLinalg : OpRewritePattern<RouterOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RouterOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value init = op.getInit();
    std::optional<RouterNoise> noise;
    if (Value noiseWeight = op.getNoiseWeight())
      noise = RouterNoise{noiseWeight, *op.getNoiseSeed()};
    Value logits =
        buildRouterLogits(rewriter, loc, op.getInput(), op.getWeight(),
                          op.getBias(), noise, init, op.getWeightKn());

    Value scores;
    if (op.getScoring() == ScoringFn::sigmoid) {
      AffineMap identity = rewriter.getMultiDimIdentityMap(2);
      scores =
          linalg::GenericOp::create(
              rewriter, loc, init.getType(), ValueRange{logits}, init,
              SmallVector<AffineMap>{identity, identity},
              SmallVector<utils::IteratorType>(2,
                                               utils::IteratorType::parallel),
              [&](OpBuilder &b, Location nloc, ValueRange args) {
                linalg::YieldOp::create(b, nloc,
                                        buildSigmoid(b, nloc, args[0]));
              })
              .getResult(0);
    } else {
      // softmax(l)_e = exp(l_e - max(l)) / sum_e' exp(l_e' - max(l)).
      Value rowMax = buildRowReduction(
          rewriter, loc, logits, -std::numeric_limits<double>::infinity(),
          [](OpBuilder &b, Location nloc, Value acc, Value x) -> Value {
            return arith::MaximumFOp::create(b, nloc, acc, x);
          });
      Value exps = buildRowBroadcastMap(
          rewriter, loc, logits, rowMax, init,
          [](OpBuilder &b, Location nloc, Value x, Value max) -> Value {
            return math::ExpOp::create(b, nloc,
                                       arith::SubFOp::create(b, nloc, x, max));
          });
      Value rowSum = buildRowReduction(
          rewriter, loc, exps, 0.0,
          [](OpBuilder &b, Location nloc, Value acc, Value x) -> Value {
            return arith::AddFOp::create(b, nloc, acc, x);
          });
      scores = buildRowBroadcastMap(
          rewriter, loc, exps, rowSum, init,
          [](OpBuilder &b, Location nloc, Value x, Value sum) -> Value {
            return arith::DivFOp::create(b, nloc, x, sum);
          });
    }
    rewriter.replaceOp(op, scores);
    return success();
  }
};

} // namespace

void mlir::moe::populateMoERouterToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<RouterToLinalg>(patterns.getContext());
}

//===- TopKToSCF.cpp - moe.top_k to a partial selection ---------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file lowers `moe.top_k` to scf loops: for each token, k passes over the
// E selection scores, each taking the best expert that ranks below the
// previous pick in the order (score descending, index ascending). That is a
// partial selection in O(k * E) per token with no sort and no scratch
// memory, and it gives ties to the lower expert index as the model format
// requires.
//
//===----------------------------------------------------------------------===//

#include "moe/Conversion/MoEToLinalg/MoEToLinalg.h"
#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/TensorUtils.h"

#include "mlir/IR/PatternMatch.h"

#include <limits>

using namespace mlir;
using namespace mlir::moe;

namespace {

struct TopKToSCF : OpRewritePattern<TopKOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(TopKOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getNumGroups() != 1)
      return rewriter.notifyMatchFailure(
          op, "group-limited selection is not lowered yet");

    Location loc = op.getLoc();
    Value scores = op.getScores();
    Value selectionBias = op.getSelectionBias();
    Type scoreType = cast<ShapedType>(scores.getType()).getElementType();
    Type weightType =
        cast<ShapedType>(op.getWeightsInit().getType()).getElementType();
    Type i32 = rewriter.getI32Type();
    int64_t numExperts = cast<ShapedType>(scores.getType()).getDimSize(1);
    int64_t k = op.getK();
    bool normalize = op.getNormalize();
    double scaling = op.getScalingFactor().convertToDouble();

    auto indexConst = [&](OpBuilder &b, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    auto floatConst = [&](OpBuilder &b, Type type, double v) -> Value {
      return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, v));
    };
    auto i32Const = [&](OpBuilder &b, int64_t v) -> Value {
      return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
    };

    Value c0 = indexConst(rewriter, 0);
    Value c1 = indexConst(rewriter, 1);
    Value tokens = tensor::DimOp::create(rewriter, loc, scores, 0);
    Value kValue = indexConst(rewriter, k);
    Value experts = indexConst(rewriter, numExperts);

    auto perToken = scf::ForOp::create(
        rewriter, loc, c0, tokens, c1,
        ValueRange{op.getWeightsInit(), op.getIndicesInit()},
        [&](OpBuilder &b, Location, Value t, ValueRange outs) {
          Value inf = floatConst(b, scoreType,
                                 std::numeric_limits<double>::infinity());
          Value minusOne = i32Const(b, -1);
          Value zeroWeight = floatConst(b, weightType, 0.0);
          // Pick j: the best expert strictly below pick j - 1 in the order.
          auto picks = scf::ForOp::create(
              b, loc, c0, kValue, c1,
              ValueRange{outs[0], outs[1], inf, minusOne, zeroWeight},
              [&](OpBuilder &b, Location, Value j, ValueRange state) {
                Value prevScore = state[2], prevIndex = state[3];
                Value negInf = floatConst(
                    b, scoreType, -std::numeric_limits<double>::infinity());
                auto scan = scf::ForOp::create(
                    b, loc, c0, experts, c1, ValueRange{negInf, minusOne},
                    [&](OpBuilder &b, Location, Value e, ValueRange best) {
                      Value q = tensor::ExtractOp::create(b, loc, scores,
                                                          ValueRange{t, e});
                      if (selectionBias) {
                        Value bias = tensor::ExtractOp::create(
                            b, loc, selectionBias, ValueRange{e});
                        q = arith::AddFOp::create(
                            b, loc, q, convertFloat(b, loc, bias, scoreType));
                      }
                      Value eI32 = arith::IndexCastOp::create(b, loc, i32, e);
                      Value below = arith::CmpFOp::create(
                          b, loc, arith::CmpFPredicate::OLT, q, prevScore);
                      Value tiedAfter = arith::AndIOp::create(
                          b, loc,
                          arith::CmpFOp::create(b, loc,
                                                arith::CmpFPredicate::OEQ, q,
                                                prevScore),
                          arith::CmpIOp::create(b, loc,
                                                arith::CmpIPredicate::sgt,
                                                eI32, prevIndex));
                      Value eligible =
                          arith::OrIOp::create(b, loc, below, tiedAfter);
                      Value noneYet = arith::CmpIOp::create(
                          b, loc, arith::CmpIPredicate::slt, best[1],
                          i32Const(b, 0));
                      Value higher = arith::CmpFOp::create(
                          b, loc, arith::CmpFPredicate::OGT, q, best[0]);
                      Value better = arith::AndIOp::create(
                          b, loc, eligible,
                          arith::OrIOp::create(b, loc, noneYet, higher));
                      scf::YieldOp::create(
                          b, loc,
                          ValueRange{
                              arith::SelectOp::create(b, loc, better, q,
                                                      best[0]),
                              arith::SelectOp::create(b, loc, better, eI32,
                                                      best[1])});
                    });
                Value bestScore = scan.getResult(0);
                Value bestIndex = scan.getResult(1);
                // Only NaN scores are never eligible; keep the index in
                // range so later steps stay in bounds (the token's output
                // is NaN anyway).
                Value found = arith::CmpIOp::create(
                    b, loc, arith::CmpIPredicate::sge, bestIndex,
                    i32Const(b, 0));
                Value index = arith::SelectOp::create(b, loc, found, bestIndex,
                                                      i32Const(b, 0));
                Value indexAsIndex =
                    arith::IndexCastOp::create(b, loc, b.getIndexType(), index);
                Value weight = convertFloat(
                    b, loc,
                    tensor::ExtractOp::create(b, loc, scores,
                                              ValueRange{t, indexAsIndex}),
                    weightType);
                Value weights = tensor::InsertOp::create(b, loc, weight,
                                                         state[0],
                                                         ValueRange{t, j});
                Value indices = tensor::InsertOp::create(b, loc, index,
                                                         state[1],
                                                         ValueRange{t, j});
                Value sum = arith::AddFOp::create(b, loc, state[4], weight);
                scf::YieldOp::create(
                    b, loc,
                    ValueRange{weights, indices, bestScore, bestIndex, sum});
              });

          // w_j *= scaling (/ sum of the k weights when normalising).
          Value factor = floatConst(b, weightType, scaling);
          if (normalize)
            factor = arith::DivFOp::create(b, loc, factor,
                                           picks.getResult(4));
          auto scaled = scf::ForOp::create(
              b, loc, c0, kValue, c1, ValueRange{picks.getResult(0)},
              [&](OpBuilder &b, Location, Value j, ValueRange state) {
                Value w = tensor::ExtractOp::create(b, loc, state[0],
                                                    ValueRange{t, j});
                Value scaledW = arith::MulFOp::create(b, loc, w, factor);
                scf::YieldOp::create(
                    b, loc,
                    ValueRange{tensor::InsertOp::create(b, loc, scaledW,
                                                        state[0],
                                                        ValueRange{t, j})
                                   .getResult()});
              });
          scf::YieldOp::create(
              b, loc, ValueRange{scaled.getResult(0), picks.getResult(1)});
        });
    rewriter.replaceOp(op, perToken.getResults());
    return success();
  }
};

} // namespace

void mlir::moe::populateMoETopKToSCFPatterns(RewritePatternSet &patterns) {
  patterns.add<TopKToSCF>(patterns.getContext());
}

//===- TopKToSCF.cpp - moe.top_k to a partial selection ---------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file lowers `moe.top_k` to scf loops: for each token (after, with
// groups, marking the top_k_groups best groups eligible), k passes over the
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

  /// Builds the [G] i1 tensor of the groups that stay eligible for one
  /// token: a group scores the sum of its two largest q (its largest, for
  /// groups of one), and the top_k_groups best groups stay, ties going to
  /// the lower group index. O(E + G^2) per token.
  static Value
  buildGroupEligibility(OpBuilder &b, Location loc, TopKOp op,
                        function_ref<Value(OpBuilder &, Value)> score) {
    Type scoreType =
        cast<ShapedType>(op.getScores().getType()).getElementType();
    int64_t numGroups = op.getNumGroups();
    int64_t groupSize =
        cast<ShapedType>(op.getScores().getType()).getDimSize(1) / numGroups;
    auto index = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    Value negInf = arith::ConstantOp::create(
        b, loc,
        b.getFloatAttr(scoreType, -std::numeric_limits<double>::infinity()));
    Value c0 = index(0), c1 = index(1), groups = index(numGroups);

    Value scoresInit = tensor::EmptyOp::create(
        b, loc, ArrayRef<int64_t>{numGroups}, scoreType);
    Value groupScores =
        scf::ForOp::create(
            b, loc, c0, groups, c1, ValueRange{scoresInit},
            [&](OpBuilder &b, Location, Value g, ValueRange acc) {
              Value first = arith::MulIOp::create(b, loc, g, index(groupSize));
              auto top2 = scf::ForOp::create(
                  b, loc, c0, index(groupSize), c1, ValueRange{negInf, negInf},
                  [&](OpBuilder &b, Location, Value m, ValueRange best) {
                    Value q = score(b, arith::AddIOp::create(b, loc, first, m));
                    Value aboveFirst = arith::CmpFOp::create(
                        b, loc, arith::CmpFPredicate::OGT, q, best[0]);
                    Value aboveSecond = arith::CmpFOp::create(
                        b, loc, arith::CmpFPredicate::OGT, q, best[1]);
                    Value max1 =
                        arith::SelectOp::create(b, loc, aboveFirst, q, best[0]);
                    Value max2 = arith::SelectOp::create(
                        b, loc, aboveFirst, best[0],
                        arith::SelectOp::create(b, loc, aboveSecond, q,
                                                best[1]));
                    scf::YieldOp::create(b, loc, ValueRange{max1, max2});
                  });
              Value groupScore =
                  groupSize == 1
                      ? top2.getResult(0)
                      : arith::AddFOp::create(b, loc, top2.getResult(0),
                                              top2.getResult(1))
                            .getResult();
              scf::YieldOp::create(
                  b, loc,
                  ValueRange{tensor::InsertOp::create(b, loc, groupScore,
                                                      acc[0], ValueRange{g})
                                 .getResult()});
            })
            .getResult(0);

    // Group g stays if fewer than top_k_groups groups rank above it.
    Value eligibleInit = tensor::EmptyOp::create(
        b, loc, ArrayRef<int64_t>{numGroups}, b.getI1Type());
    Value i32Zero = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
    Value i32One = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(1));
    Value keep = arith::ConstantOp::create(
        b, loc, b.getI32IntegerAttr(op.getTopKGroups()));
    return scf::ForOp::create(
               b, loc, c0, groups, c1, ValueRange{eligibleInit},
               [&](OpBuilder &b, Location, Value g, ValueRange acc) {
                 Value mine = tensor::ExtractOp::create(b, loc, groupScores,
                                                        ValueRange{g});
                 auto rank = scf::ForOp::create(
                     b, loc, c0, groups, c1, ValueRange{i32Zero},
                     [&](OpBuilder &b, Location, Value h, ValueRange count) {
                       Value other = tensor::ExtractOp::create(
                           b, loc, groupScores, ValueRange{h});
                       Value above = arith::OrIOp::create(
                           b, loc,
                           arith::CmpFOp::create(
                               b, loc, arith::CmpFPredicate::OGT, other, mine),
                           arith::AndIOp::create(
                               b, loc,
                               arith::CmpFOp::create(b, loc,
                                                     arith::CmpFPredicate::OEQ,
                                                     other, mine),
                               arith::CmpIOp::create(
                                   b, loc, arith::CmpIPredicate::ult, h, g)));
                       scf::YieldOp::create(
                           b, loc,
                           ValueRange{arith::AddIOp::create(
                                          b, loc, count[0],
                                          arith::SelectOp::create(
                                              b, loc, above, i32One, i32Zero))
                                          .getResult()});
                     });
                 Value stays =
                     arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                           rank.getResult(0), keep);
                 scf::YieldOp::create(
                     b, loc,
                     ValueRange{tensor::InsertOp::create(b, loc, stays, acc[0],
                                                         ValueRange{g})
                                    .getResult()});
               })
        .getResult(0);
  }

  LogicalResult matchAndRewrite(TopKOp op,
                                PatternRewriter &rewriter) const override {
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
    int64_t numGroups = op.getNumGroups();
    int64_t groupSize = numExperts / numGroups;

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
          Value inf =
              floatConst(b, scoreType, std::numeric_limits<double>::infinity());
          Value minusOne = i32Const(b, -1);
          Value zeroWeight = floatConst(b, weightType, 0.0);
          // q[e] = scores[t, e] (+ bias[e]): what selection compares.
          auto selectionScore = [&](OpBuilder &b, Value e) -> Value {
            Value q =
                tensor::ExtractOp::create(b, loc, scores, ValueRange{t, e});
            if (!selectionBias)
              return q;
            Value bias =
                tensor::ExtractOp::create(b, loc, selectionBias, ValueRange{e});
            return arith::AddFOp::create(b, loc, q,
                                         convertFloat(b, loc, bias, scoreType));
          };
          Value groupEligible =
              numGroups > 1 ? buildGroupEligibility(b, loc, op, selectionScore)
                            : Value();
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
                      Value q = selectionScore(b, e);
                      Value eI32 = arith::IndexCastOp::create(b, loc, i32, e);
                      Value below = arith::CmpFOp::create(
                          b, loc, arith::CmpFPredicate::OLT, q, prevScore);
                      Value tiedAfter = arith::AndIOp::create(
                          b, loc,
                          arith::CmpFOp::create(
                              b, loc, arith::CmpFPredicate::OEQ, q, prevScore),
                          arith::CmpIOp::create(b, loc,
                                                arith::CmpIPredicate::sgt, eI32,
                                                prevIndex));
                      Value eligible =
                          arith::OrIOp::create(b, loc, below, tiedAfter);
                      if (groupEligible) {
                        Value group = arith::DivUIOp::create(
                            b, loc, e, indexConst(b, groupSize));
                        eligible = arith::AndIOp::create(
                            b, loc, eligible,
                            tensor::ExtractOp::create(b, loc, groupEligible,
                                                      ValueRange{group}));
                      }
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
                          ValueRange{arith::SelectOp::create(b, loc, better, q,
                                                             best[0]),
                                     arith::SelectOp::create(b, loc, better,
                                                             eI32, best[1])});
                    });
                Value bestScore = scan.getResult(0);
                Value bestIndex = scan.getResult(1);
                // Only NaN scores are never eligible; keep the index in
                // range so later steps stay in bounds (the token's output
                // is NaN anyway).
                Value found =
                    arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge,
                                          bestIndex, i32Const(b, 0));
                Value index = arith::SelectOp::create(b, loc, found, bestIndex,
                                                      i32Const(b, 0));
                Value indexAsIndex =
                    arith::IndexCastOp::create(b, loc, b.getIndexType(), index);
                Value weight = convertFloat(
                    b, loc,
                    tensor::ExtractOp::create(b, loc, scores,
                                              ValueRange{t, indexAsIndex}),
                    weightType);
                Value weights = tensor::InsertOp::create(
                    b, loc, weight, state[0], ValueRange{t, j});
                Value indices = tensor::InsertOp::create(
                    b, loc, index, state[1], ValueRange{t, j});
                Value sum = arith::AddFOp::create(b, loc, state[4], weight);
                scf::YieldOp::create(
                    b, loc,
                    ValueRange{weights, indices, bestScore, bestIndex, sum});
              });

          // w_j *= scaling (/ sum of the k weights when normalising).
          Value factor = floatConst(b, weightType, scaling);
          if (normalize)
            factor = arith::DivFOp::create(b, loc, factor, picks.getResult(4));
          auto scaled = scf::ForOp::create(
              b, loc, c0, kValue, c1, ValueRange{picks.getResult(0)},
              [&](OpBuilder &b, Location, Value j, ValueRange state) {
                Value w = tensor::ExtractOp::create(b, loc, state[0],
                                                    ValueRange{t, j});
                Value scaledW = arith::MulFOp::create(b, loc, w, factor);
                scf::YieldOp::create(
                    b, loc,
                    ValueRange{tensor::InsertOp::create(
                                   b, loc, scaledW, state[0], ValueRange{t, j})
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

//===- TopKToSCF.cpp - moe.top_k to a partial selection ---------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file lowers `moe.top_k` to scf loops. Per token, k passes over the E
// selection scores each take the best expert not taken yet: a partial
// selection in O(k * E) with an [E] scratch of taken flags, and no sort.
// The rule is the model format's: the highest score wins, ties go to the
// lower index, and a NaN never beats an earlier candidate, so a token whose
// scores are NaN still gets k distinct, in-range experts (its output is NaN
// either way; other tokens are unaffected, capacity included).
//
// Group-limited selection runs the same rule over the group scores (the sum
// of each group's two largest q) first, and only experts of the
// top_k_groups chosen groups stay candidates.
//
//===----------------------------------------------------------------------===//

#include "moe/Conversion/MoEToLinalg/MoEToLinalg.h"
#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/TensorUtils.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

using namespace mlir;
using namespace mlir::moe;

namespace {

Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

Value floatConstant(OpBuilder &b, Location loc, Type type, double value) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, value));
}

/// Builds `count` passes over `n` candidates, each taking the candidate with
/// the highest `score` among those not in `taken` (an [n] i1 tensor, all
/// false on entry) and, when given, `allowed`. For each pick,
/// `record(b, j, index, state)` returns the new `state`. Returns the final
/// `taken` followed by the final `state`.
SmallVector<Value> buildSelection(
    OpBuilder &b, Location loc, int64_t n, int64_t count, Type scoreType,
    Value taken, ValueRange state,
    function_ref<Value(OpBuilder &, Value)> score,
    function_ref<Value(OpBuilder &, Value)> allowed,
    function_ref<SmallVector<Value>(OpBuilder &, Value, Value, ValueRange)>
        record) {
  Value c0 = indexConstant(b, loc, 0), c1 = indexConstant(b, loc, 1);
  SmallVector<Value> initial = {taken};
  llvm::append_range(initial, state);
  auto picks = scf::ForOp::create(
      b, loc, c0, indexConstant(b, loc, count), c1, initial,
      [&](OpBuilder &b, Location, Value j, ValueRange args) {
        Value takenNow = args.front();
        Value none = indexConstant(b, loc, -1);
        Value negInf = floatConstant(b, loc, scoreType,
                                     -std::numeric_limits<double>::infinity());
        auto scan = scf::ForOp::create(
            b, loc, c0, indexConstant(b, loc, n), c1, ValueRange{negInf, none},
            [&](OpBuilder &b, Location, Value c, ValueRange best) {
              Value q = score(b, c);
              Value wasTaken =
                  tensor::ExtractOp::create(b, loc, takenNow, ValueRange{c});
              Value candidate = arith::XOrIOp::create(
                  b, loc, wasTaken,
                  arith::ConstantOp::create(b, loc, b.getBoolAttr(true)));
              if (allowed)
                candidate =
                    arith::AndIOp::create(b, loc, candidate, allowed(b, c));
              Value first = arith::CmpIOp::create(
                  b, loc, arith::CmpIPredicate::slt, best[1], c0);
              Value higher = arith::CmpFOp::create(
                  b, loc, arith::CmpFPredicate::OGT, q, best[0]);
              Value better = arith::AndIOp::create(
                  b, loc, candidate,
                  arith::OrIOp::create(b, loc, first, higher));
              scf::YieldOp::create(
                  b, loc,
                  ValueRange{
                      arith::SelectOp::create(b, loc, better, q, best[0]),
                      arith::SelectOp::create(b, loc, better, c, best[1])});
            });
        // There is always a candidate (the verifier bounds count); stay in
        // range regardless.
        Value index = arith::MaxSIOp::create(b, loc, scan.getResult(1), c0);
        SmallVector<Value> next = {tensor::InsertOp::create(
            b, loc, arith::ConstantOp::create(b, loc, b.getBoolAttr(true)),
            takenNow, ValueRange{index})};
        llvm::append_range(next, record(b, j, index, args.drop_front()));
        scf::YieldOp::create(b, loc, next);
      });
  return SmallVector<Value>(picks.getResults());
}

/// Writes the [G] group scores of one token into `init`: the sum of each
/// group's two largest q (its largest, for groups of one).
Value buildGroupScores(OpBuilder &b, Location loc, Value init,
                       int64_t numGroups, int64_t groupSize, Type scoreType,
                       function_ref<Value(OpBuilder &, Value)> score) {
  Value c0 = indexConstant(b, loc, 0), c1 = indexConstant(b, loc, 1);
  Value negInf = floatConstant(b, loc, scoreType,
                               -std::numeric_limits<double>::infinity());
  return scf::ForOp::create(
             b, loc, c0, indexConstant(b, loc, numGroups), c1, ValueRange{init},
             [&](OpBuilder &b, Location, Value g, ValueRange acc) {
               Value first = arith::MulIOp::create(
                   b, loc, g, indexConstant(b, loc, groupSize));
               auto top2 = scf::ForOp::create(
                   b, loc, c0, indexConstant(b, loc, groupSize), c1,
                   ValueRange{negInf, negInf},
                   [&](OpBuilder &b, Location, Value m, ValueRange best) {
                     Value q =
                         score(b, arith::AddIOp::create(b, loc, first, m));
                     Value aboveFirst = arith::CmpFOp::create(
                         b, loc, arith::CmpFPredicate::OGT, q, best[0]);
                     Value aboveSecond = arith::CmpFOp::create(
                         b, loc, arith::CmpFPredicate::OGT, q, best[1]);
                     Value max1 = arith::SelectOp::create(b, loc, aboveFirst, q,
                                                          best[0]);
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
}

struct TopKToSCF : OpRewritePattern<TopKOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(TopKOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value scores = op.getScores();
    Value selectionBias = op.getSelectionBias();
    Type scoreType = cast<ShapedType>(scores.getType()).getElementType();
    Type weightType =
        cast<ShapedType>(op.getWeightsInit().getType()).getElementType();
    Type i1 = rewriter.getI1Type();
    int64_t numExperts = cast<ShapedType>(scores.getType()).getDimSize(1);
    int64_t k = op.getK();
    int64_t numGroups = op.getNumGroups();
    int64_t groupSize = numExperts / numGroups;
    bool normalize = op.getNormalize();
    double scaling = op.getScalingFactor().convertToDouble();

    Value c0 = indexConstant(rewriter, loc, 0);
    Value c1 = indexConstant(rewriter, loc, 1);
    Value tokens = tensor::DimOp::create(rewriter, loc, scores, 0);
    Value falseValue =
        arith::ConstantOp::create(rewriter, loc, rewriter.getBoolAttr(false));
    // Scratch flags, reset for every token. Distinct allocations (unlike
    // tensor.empty, which CSE merges when E == G) so that bufferization
    // gives each loop-carried scratch its own buffer.
    Value expertsTaken = bufferization::AllocTensorOp::create(
        rewriter, loc, RankedTensorType::get({numExperts}, i1), ValueRange{});
    Value groupsTaken = bufferization::AllocTensorOp::create(
        rewriter, loc, RankedTensorType::get({numGroups}, i1), ValueRange{});
    Value groupScores = bufferization::AllocTensorOp::create(
        rewriter, loc, RankedTensorType::get({numGroups}, scoreType),
        ValueRange{});

    auto perToken = scf::ForOp::create(
        rewriter, loc, c0, tokens, c1,
        ValueRange{op.getWeightsInit(), op.getIndicesInit(), expertsTaken,
                   groupsTaken, groupScores},
        [&](OpBuilder &b, Location, Value t, ValueRange outs) {
          auto cleared = [&](Value flags) -> Value {
            return linalg::FillOp::create(b, loc, falseValue, flags)
                .getResult(0);
          };
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

          // With groups: the top_k_groups best groups by the same rule.
          Value groups = outs[3];
          Value groupScores = outs[4];
          if (numGroups > 1) {
            groupScores =
                buildGroupScores(b, loc, outs[4], numGroups, groupSize,
                                 scoreType, selectionScore);
            groups = buildSelection(
                         b, loc, numGroups, op.getTopKGroups(), scoreType,
                         cleared(outs[3]), ValueRange{},
                         [&](OpBuilder &b, Value g) -> Value {
                           return tensor::ExtractOp::create(b, loc, groupScores,
                                                            ValueRange{g});
                         },
                         nullptr,
                         [](OpBuilder &, Value, Value, ValueRange) {
                           return SmallVector<Value>{};
                         })
                         .front();
          }
          auto inChosenGroup = [&](OpBuilder &b, Value e) -> Value {
            Value group = arith::DivUIOp::create(
                b, loc, e, indexConstant(b, loc, groupSize));
            return tensor::ExtractOp::create(b, loc, groups, ValueRange{group});
          };

          // The k experts; each pick records its unbiased score as weight.
          SmallVector<Value> picked = buildSelection(
              b, loc, numExperts, k, scoreType, cleared(outs[2]),
              ValueRange{outs[0], outs[1],
                         floatConstant(b, loc, weightType, 0.0)},
              selectionScore,
              numGroups > 1
                  ? function_ref<Value(OpBuilder &, Value)>(inChosenGroup)
                  : nullptr,
              [&](OpBuilder &b, Value j, Value index, ValueRange state) {
                Value weight =
                    convertFloat(b, loc,
                                 tensor::ExtractOp::create(
                                     b, loc, scores, ValueRange{t, index}),
                                 weightType);
                Value expert =
                    arith::IndexCastOp::create(b, loc, b.getI32Type(), index);
                return SmallVector<Value>{
                    tensor::InsertOp::create(b, loc, weight, state[0],
                                             ValueRange{t, j}),
                    tensor::InsertOp::create(b, loc, expert, state[1],
                                             ValueRange{t, j}),
                    arith::AddFOp::create(b, loc, state[2], weight)};
              });

          // w_j *= scaling (/ the sum of the k weights when normalising).
          Value factor = floatConstant(b, loc, weightType, scaling);
          if (normalize)
            factor = arith::DivFOp::create(b, loc, factor, picked[3]);
          auto scaled = scf::ForOp::create(
              b, loc, c0, indexConstant(b, loc, k), c1, ValueRange{picked[1]},
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
          scf::YieldOp::create(b, loc,
                               ValueRange{scaled.getResult(0), picked[2],
                                          picked[0], groups, groupScores});
        });
    rewriter.replaceOp(op, {perToken.getResult(0), perToken.getResult(1)});
    return success();
  }
};

} // namespace

void mlir::moe::populateMoETopKToSCFPatterns(RewritePatternSet &patterns) {
  patterns.add<TopKToSCF>(patterns.getContext());
}

//===- RouterToLinalg.cpp - moe.router to linalg ----------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file lowers `moe.router` to a `linalg.generic` contraction (logits =
// x W^T + b, plus the seeded noise of noisy gating) followed by a row-wise,
// max-subtracted softmax or an elementwise sigmoid, and `moe.router_top_k`
// to an scf.forall over blocks of tokens, each scoring its tokens into a
// block-sized scratch and selecting their experts.
//
//===----------------------------------------------------------------------===//

#include "moe/Conversion/MoEToLinalg/MoEToLinalg.h"
#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/Activations.h"
#include "moe/Transforms/RouterLogits.h"
#include "moe/Transforms/TensorUtils.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
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
    Value logits = buildRouterLogits(rewriter, loc, op.getInput(),
                                     op.getWeight(), op.getBias(), noise, init,
                                     op.getWeightLayout() == WeightLayout::kn);

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

/// `moe.router_top_k` as blocks of kRouterTokenBlock tokens in an
/// scf.forall: a block's `moe.router` writes its [rows, E] scores into a
/// scratch of [block, E] (never the whole [T, E]), and its `moe.top_k`
/// writes its rows of the weights and indices. Both lower by their own
/// patterns; a token's results do not depend on its block.
struct RouterTopKToBlocks : OpRewritePattern<RouterTopKOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RouterTopKOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = op.getInput();
    auto weightsType = cast<RankedTensorType>(op.getWeightsInit().getType());
    int64_t numExperts =
        cast<RankedTensorType>(op.getWeight().getType())
            .getDimSize(op.getWeightLayout() == WeightLayout::kn ? 1 : 0);
    int64_t k = op.getK();
    Value tokens = tensor::DimOp::create(rewriter, loc, input, 0);
    Value block = arith::ConstantIndexOp::create(rewriter, loc,
                                                 kRouterTokenBlock);
    Value numBlocks = arith::CeilDivUIOp::create(rewriter, loc, tokens, block);
    OpFoldResult zero = rewriter.getIndexAttr(0);
    OpFoldResult one = rewriter.getIndexAttr(1);
    auto forall = scf::ForallOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{numBlocks},
        ValueRange{op.getWeightsInit(), op.getIndicesInit()}, std::nullopt,
        [&](OpBuilder &b, Location nloc, ValueRange args) {
          Value first = arith::MulIOp::create(b, nloc, args[0], block);
          Value rows = arith::MinUIOp::create(
              b, nloc, block, arith::SubIOp::create(b, nloc, tokens, first));
          auto rowsOf = [&](Value source, OpFoldResult width) -> Value {
            return tensor::ExtractSliceOp::create(
                b, nloc, source, ArrayRef<OpFoldResult>{first, zero},
                ArrayRef<OpFoldResult>{rows, width},
                ArrayRef<OpFoldResult>{one, one});
          };
          Value scratch = bufferization::AllocTensorOp::create(
              b, nloc,
              RankedTensorType::get({kRouterTokenBlock, numExperts},
                                    weightsType.getElementType()),
              ValueRange{});
          Value scoresInit = tensor::ExtractSliceOp::create(
              b, nloc, scratch, ArrayRef<OpFoldResult>{zero, zero},
              ArrayRef<OpFoldResult>{rows, b.getIndexAttr(numExperts)},
              ArrayRef<OpFoldResult>{one, one});
          Value scores = RouterOp::create(
              b, nloc, scoresInit.getType(),
              rowsOf(input, tensor::getMixedSize(b, nloc, input, 1)),
              op.getWeight(), op.getBias(), /*noise_weight=*/Value(),
              scoresInit, op.getScoringAttr(), /*noise_seed=*/IntegerAttr(),
              op.getWeightLayoutAttr());
          Value weightsInit = rowsOf(args[1], b.getIndexAttr(k));
          Value indicesInit = rowsOf(args[2], b.getIndexAttr(k));
          auto topK = TopKOp::create(
              b, nloc, TypeRange{weightsInit.getType(), indicesInit.getType()},
              scores, op.getSelectionBias(), weightsInit, indicesInit,
              op.getNormalizeAttr(), op.getScalingFactorAttr(),
              op.getNumGroupsAttr(), op.getTopKGroupsAttr());
          auto inParallel = scf::InParallelOp::create(b, nloc);
          b.setInsertionPointToStart(inParallel.getBody());
          for (auto [result, dest] :
               llvm::zip_equal(topK->getResults(), args.drop_front()))
            tensor::ParallelInsertSliceOp::create(
                b, nloc, result, dest, ArrayRef<OpFoldResult>{first, zero},
                ArrayRef<OpFoldResult>{rows, b.getIndexAttr(k)},
                ArrayRef<OpFoldResult>{one, one});
        });
    rewriter.replaceOp(op, forall.getResults());
    return success();
  }
};

} // namespace

void mlir::moe::populateMoERouterToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<RouterToLinalg, RouterTopKToBlocks>(patterns.getContext());
}

//===- DecomposeLayer.cpp - Expand moe.layer into its steps -----*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements the rewrite of `moe.layer` into router, top-k,
// dispatch, permute, expert FFN and combine ops, and the pass driving it.
//
//===----------------------------------------------------------------------===//

#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/Passes.h"
#include "moe/Transforms/TensorUtils.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEDECOMPOSELAYERPASS
#include "moe/Transforms/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

//===----------------------------------------------------------------------===//
// Rewrite patterns
//===----------------------------------------------------------------------===//

struct DecomposeLayer : OpRewritePattern<LayerOp> {
  DecomposeLayer(MLIRContext *context, int64_t segmentAlignment)
      : OpRewritePattern(context), segmentAlignment(segmentAlignment) {}

  LogicalResult matchAndRewrite(LayerOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOp(op,
                       buildLayerSteps(rewriter, op, segmentAlignment).result);
    return success();
  }

private:
  int64_t segmentAlignment;
};

} // namespace

LayerSteps mlir::moe::buildLayerSteps(OpBuilder &rewriter, LayerOp op,
                                      int64_t segmentAlignment) {
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  Value input = op.getInput();
  Type floatType = cast<ShapedType>(input.getType()).getElementType();
  Type i32Type = rewriter.getI32Type();
  int64_t numExperts = op.getNumExperts();
  int64_t k = op.getTopK();
  OpFoldResult tokens = tensor::getMixedSize(rewriter, loc, input, 0);
  OpFoldResult hidden = tensor::getMixedSize(rewriter, loc, input, 1);
  // Rows of the expert-grouped buffers: T * k, and room for each segment's
  // padding when segments are aligned.
  OpFoldResult rows = multiplySize(rewriter, loc, tokens, k);
  if (segmentAlignment > 1) {
    int64_t padding = numExperts * (segmentAlignment - 1);
    if (std::optional<int64_t> constant = getConstantIntValue(rows))
      rows = rewriter.getIndexAttr(*constant + padding);
    else
      rows = arith::AddIOp::create(
                 rewriter, loc, cast<Value>(rows),
                 arith::ConstantIndexOp::create(rewriter, loc, padding))
                 .getResult();
  }
  OpFoldResult experts = rewriter.getIndexAttr(numExperts);
  OpFoldResult kSize = rewriter.getIndexAttr(k);
  auto empty = [&](ArrayRef<OpFoldResult> sizes, Type elementType) {
    return createEmptyTensor(rewriter, loc, sizes, elementType);
  };
  LayerSteps steps;

  Value scoresInit = empty({tokens, experts}, floatType);
  steps.scores = RouterOp::create(
      rewriter, loc, scoresInit.getType(), input, op.getRouterWeight(),
      op.getRouterBias(), op.getRouterNoise(), scoresInit, op.getScoringAttr(),
      op.getNoiseSeedAttr(),
      WeightLayoutAttr::get(rewriter.getContext(), WeightLayout::nk));

  Value weightsInit = empty({tokens, kSize}, floatType);
  Value indicesInit = empty({tokens, kSize}, i32Type);
  auto topK = TopKOp::create(
      rewriter, loc, weightsInit.getType(), indicesInit.getType(),
      steps.scores, op.getSelectionBias(), weightsInit, indicesInit,
      op.getNormalizeAttr(),
      rewriter.getF32FloatAttr(op.getScalingFactor().convertToFloat()),
      rewriter.getI64IntegerAttr(op.getNumGroups()),
      rewriter.getI64IntegerAttr(op.getTopKGroups()));
  steps.weights = topK.getWeights();
  steps.indices = topK.getIndices();

  Value countsInit = empty({experts}, i32Type);
  Value offsetsInit = empty({rewriter.getIndexAttr(numExperts + 1)}, i32Type);
  Value tokenIdsInit = empty({rows}, i32Type);
  Value rowWeightsInit = empty({rows}, floatType);
  auto dispatch = DispatchOp::create(
      rewriter, loc, countsInit.getType(), offsetsInit.getType(),
      tokenIdsInit.getType(), rowWeightsInit.getType(), steps.indices,
      steps.weights, countsInit, offsetsInit, tokenIdsInit, rowWeightsInit,
      op.getCapacityFactorAttr(),
      segmentAlignment > 1 ? rewriter.getI64IntegerAttr(segmentAlignment)
                           : IntegerAttr());
  steps.expertCounts = dispatch.getExpertCounts();

  Value permuteInit = empty({rows, hidden}, floatType);
  Value permuted = PermuteOp::create(
      rewriter, loc, permuteInit.getType(), input, dispatch.getTokenIds(),
      dispatch.getExpertOffsets(), permuteInit);

  Value expertInit = createZeroTensor(rewriter, loc, {rows, hidden},
                                      floatType);
  Value expertOut = ExpertFFNOp::create(
      rewriter, loc, expertInit.getType(), permuted,
      dispatch.getExpertOffsets(), op.getGateWeight(), op.getUpWeight(),
      op.getDownWeight(), op.getGateBias(), op.getUpBias(), op.getDownBias(),
      expertInit, op.getActivationAttr(), op.getSwigluAlphaAttr(),
      op.getSwigluLimitAttr());

  steps.result = CombineOp::create(
      rewriter, loc, op.getInit().getType(), expertOut, dispatch.getTokenIds(),
      dispatch.getRowWeights(), dispatch.getExpertOffsets(), op.getInit());
  return steps;
}

namespace {

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

struct MoEDecomposeLayerPass
    : moe::impl::MoEDecomposeLayerPassBase<MoEDecomposeLayerPass> {
  using MoEDecomposeLayerPassBase::MoEDecomposeLayerPassBase;

  void runOnOperation() override {
    if (segmentAlignment < 1) {
      getOperation()->emitError()
          << "segment-alignment must be at least 1, got "
          << static_cast<int64_t>(segmentAlignment);
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    populateMoEDecomposeLayerPatterns(patterns, segmentAlignment);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::moe::populateMoEDecomposeLayerPatterns(RewritePatternSet &patterns,
                                                  int64_t segmentAlignment) {
  patterns.add<DecomposeLayer>(patterns.getContext(), segmentAlignment);
}

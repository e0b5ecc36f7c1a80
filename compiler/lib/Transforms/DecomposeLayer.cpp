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

#include "mlir/Dialect/Linalg/IR/Linalg.h"
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

/// The expert weight `routed` [E, ...] followed by the shared experts'
/// `shared` [1, ...] cut into `slices` experts along dimension `dim` (1 for
/// gate and up [1, Fs, D], 2 for down [1, D, Fs]): [E + slices, ...].
Value appendSharedSlices(OpBuilder &b, Location loc, Value routed, Value shared,
                         int64_t dim, int64_t slices) {
  auto type = cast<RankedTensorType>(shared.getType());
  int64_t rows = type.getDimSize(1), cols = type.getDimSize(2);
  Type element = type.getElementType();
  // [1, rows, cols] -> [rows, cols] -> the sliced dimension split in two.
  Value matrix = tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get({rows, cols}, element), shared,
      SmallVector<ReassociationIndices>{{0, 1}, {2}});
  Value pieces;
  if (dim == 1) {
    pieces = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({slices, rows / slices, cols}, element),
        matrix, SmallVector<ReassociationIndices>{{0, 1}, {2}});
  } else {
    Value split = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({rows, slices, cols / slices}, element),
        matrix, SmallVector<ReassociationIndices>{{0}, {1, 2}});
    // Slice p is columns [p F, (p + 1) F) of every row: a transpose.
    Value init = tensor::EmptyOp::create(
        b, loc, SmallVector<int64_t>{slices, rows, cols / slices}, element);
    pieces = linalg::TransposeOp::create(b, loc, split, init,
                                         SmallVector<int64_t>{1, 0, 2})
                 .getResult()
                 .front();
  }
  return tensor::ConcatOp::create(b, loc, /*dim=*/0,
                                  ValueRange{routed, pieces});
}

/// The routing of every token to the shared slices, experts `numExperts`
/// to `numExperts + slices - 1`, appended to the top-k choice: `indices`
/// and `weights` [T, k + slices], the shared slots' weight `scale` [T, 1]
/// or 1.
void appendSharedSlots(OpBuilder &b, Location loc, OpFoldResult tokens,
                       int64_t numExperts, int64_t slices, Value scale,
                       Value &indices, Value &weights) {
  MLIRContext *ctx = b.getContext();
  OpFoldResult slots = b.getIndexAttr(slices);
  Type i32 = b.getI32Type();
  Type floatType = cast<ShapedType>(weights.getType()).getElementType();
  SmallVector<utils::IteratorType> parallel(2, utils::IteratorType::parallel);
  AffineMap identity = AffineMap::getMultiDimIdentityMap(2, ctx);
  Value sharedIndices =
      linalg::GenericOp::create(
          b, loc,
          TypeRange{RankedTensorType::get({ShapedType::kDynamic, slices}, i32)},
          ValueRange{}, createEmptyTensor(b, loc, {tokens, slots}, i32),
          SmallVector<AffineMap>{identity}, parallel,
          [&](OpBuilder &nb, Location nloc, ValueRange) {
            Value expert = arith::AddIOp::create(
                nb, nloc, linalg::IndexOp::create(nb, nloc, 1),
                arith::ConstantIndexOp::create(nb, nloc, numExperts));
            linalg::YieldOp::create(
                nb, nloc,
                arith::IndexCastOp::create(nb, nloc, i32, expert).getResult());
          })
          .getResult(0);
  Value sharedWeights;
  Value weightsInit = createEmptyTensor(b, loc, {tokens, slots}, floatType);
  if (scale) {
    AffineExpr t, p;
    bindDims(ctx, t, p);
    AffineMap perToken =
        AffineMap::get(2, 0, {t, getAffineConstantExpr(0, ctx)}, ctx);
    sharedWeights =
        linalg::GenericOp::create(
            b, loc, TypeRange{weightsInit.getType()}, scale, weightsInit,
            SmallVector<AffineMap>{perToken, identity}, parallel,
            [&](OpBuilder &nb, Location nloc, ValueRange args) {
              linalg::YieldOp::create(nb, nloc, args[0]);
            })
            .getResult(0);
  } else {
    Value one = arith::ConstantOp::create(b, loc, b.getFloatAttr(floatType, 1));
    sharedWeights =
        linalg::FillOp::create(b, loc, one, weightsInit).getResult(0);
  }
  indices = tensor::ConcatOp::create(b, loc, /*dim=*/1,
                                     ValueRange{indices, sharedIndices});
  weights = tensor::ConcatOp::create(b, loc, /*dim=*/1,
                                     ValueRange{weights, sharedWeights});
}

} // namespace

LayerSteps mlir::moe::buildLayerSteps(OpBuilder &rewriter, LayerOp op,
                                      int64_t segmentAlignment) {
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  Value input = op.getInput();
  Type floatType = cast<ShapedType>(input.getType()).getElementType();
  Type i32Type = rewriter.getI32Type();
  int64_t routedExperts = op.getNumExperts();
  int64_t k = op.getTopK();
  // Shared experts run as more experts that every token is routed to.
  int64_t sharedSlices = op.getNumSharedSlices();
  int64_t numExperts = routedExperts + sharedSlices;
  int64_t slots = k + sharedSlices;
  OpFoldResult tokens = tensor::getMixedSize(rewriter, loc, input, 0);
  OpFoldResult hidden = tensor::getMixedSize(rewriter, loc, input, 1);
  // Rows of the expert-grouped buffers: T * k (and T for each shared
  // slice), and room for each segment's padding when segments are aligned.
  OpFoldResult rows = multiplySize(rewriter, loc, tokens, slots);
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
  OpFoldResult experts = rewriter.getIndexAttr(routedExperts);
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
  Value indices = steps.indices, weights = steps.weights;
  Value gateWeight = op.getGateWeight(), upWeight = op.getUpWeight(),
        downWeight = op.getDownWeight();
  if (sharedSlices > 0) {
    appendSharedSlots(rewriter, loc, tokens, routedExperts, sharedSlices,
                      op.getSharedScale(), indices, weights);
    if (gateWeight)
      gateWeight = appendSharedSlices(
          rewriter, loc, gateWeight, op.getSharedGateWeight(), 1, sharedSlices);
    upWeight = appendSharedSlices(rewriter, loc, upWeight,
                                  op.getSharedUpWeight(), 1, sharedSlices);
    downWeight = appendSharedSlices(rewriter, loc, downWeight,
                                    op.getSharedDownWeight(), 2, sharedSlices);
    experts = rewriter.getIndexAttr(numExperts);
  }

  Value countsInit = empty({experts}, i32Type);
  Value offsetsInit = empty({rewriter.getIndexAttr(numExperts + 1)}, i32Type);
  Value tokenIdsInit = empty({rows}, i32Type);
  Value rowWeightsInit = empty({rows}, floatType);
  auto dispatch = DispatchOp::create(
      rewriter, loc, countsInit.getType(), offsetsInit.getType(),
      tokenIdsInit.getType(), rowWeightsInit.getType(), indices, weights,
      countsInit, offsetsInit, tokenIdsInit, rowWeightsInit,
      op.getCapacityFactorAttr(),
      segmentAlignment > 1 ? rewriter.getI64IntegerAttr(segmentAlignment)
                           : IntegerAttr());
  steps.expertCounts = dispatch.getExpertCounts();
  if (sharedSlices > 0)
    steps.expertCounts = tensor::ExtractSliceOp::create(
        rewriter, loc, steps.expertCounts,
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(routedExperts)},
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)});

  Value permuteInit = empty({rows, hidden}, floatType);
  Value permuted = PermuteOp::create(
      rewriter, loc, permuteInit.getType(), input, dispatch.getTokenIds(),
      dispatch.getExpertOffsets(), permuteInit);

  Value expertInit = createZeroTensor(rewriter, loc, {rows, hidden},
                                      floatType);
  Value expertOut = ExpertFFNOp::create(
      rewriter, loc, expertInit.getType(), permuted,
      dispatch.getExpertOffsets(), gateWeight, upWeight, downWeight,
      op.getGateBias(), op.getUpBias(), op.getDownBias(), expertInit,
      op.getActivationAttr(), op.getSwigluAlphaAttr(), op.getSwigluLimitAttr());

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

//===- FuseSharedExperts.cpp - Shared experts in the routed loop ---------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-fuse-shared-experts: a `moe.layer` whose `outs`
// is an always-on FFN over the same tokens (a `moe.expert_ffn` of one
// expert whose one segment is every row, optionally scaled per token, as
// Qwen2-MoE's sigmoid gate does) takes that FFN as its shared experts. The
// layer's decomposition then runs it as Fs / F more experts of the routed
// F, every token routed to each, in the routed experts' grouped loop.
//
//===----------------------------------------------------------------------===//

#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/Passes.h"
#include "moe/Transforms/TensorUtils.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEFUSESHAREDEXPERTSPASS
#include "moe/Transforms/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

OpFoldResult rowCount(Value tensor);

/// `size` traced to where it comes from: a constant, the rows of the tensor
/// a `tensor.dim` measures, or the value itself.
OpFoldResult traceSize(Value size) {
  if (auto cast = size.getDefiningOp<arith::IndexCastOp>())
    size = cast.getIn();
  if (std::optional<int64_t> constant = getConstantIntValue(size))
    return IntegerAttr::get(IndexType::get(size.getContext()), *constant);
  auto dim = size.getDefiningOp<tensor::DimOp>();
  if (dim && getConstantIntValue(dim.getIndex()) == 0)
    return rowCount(dim.getSource());
  return size;
}

/// The rows of `tensor`, traced through destination-style ops to their
/// destinations and through `tensor.empty` to its size, so that two
/// tensors built for the same tokens compare equal.
OpFoldResult rowCount(Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (!type.isDynamicDim(0))
    return IntegerAttr::get(IndexType::get(tensor.getContext()),
                            type.getDimSize(0));
  Value destination = traceDestination(tensor);
  if (auto empty = destination.getDefiningOp<tensor::EmptyOp>())
    return traceSize(empty.getDynamicSize(0));
  return destination;
}

/// Whether `offsets` is `[0, T]` for the T rows of `input`: one expert
/// whose segment is every row.
bool isEveryRow(Value offsets, Value input) {
  auto elements = offsets.getDefiningOp<tensor::FromElementsOp>();
  if (!elements || elements.getElements().size() != 2 ||
      !matchPattern(elements.getElements()[0], m_Zero()))
    return false;
  return isEqualConstantIntOrValue(traceSize(elements.getElements()[1]),
                                   rowCount(input));
}

/// A per-token scale of the shared FFN's output: `generic` computes
/// `ffn[t, d] * h(logit[t, 0])`. Returns h's computation over the [T, 1]
/// logits as a new `linalg.generic` built at `generic`, or null when
/// `generic` is not of that form.
Value buildTokenScale(PatternRewriter &rewriter, linalg::GenericOp generic,
                      Value ffn) {
  MLIRContext *ctx = generic.getContext();
  if (generic.getNumDpsInputs() != 2 || generic.getNumDpsInits() != 1 ||
      generic.getNumParallelLoops() != 2 || generic.getNumLoops() != 2 ||
      generic.getDpsInputs()[0] != ffn)
    return nullptr;
  AffineExpr t, d;
  bindDims(ctx, t, d);
  AffineMap identity = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap perToken =
      AffineMap::get(2, 0, {t, getAffineConstantExpr(0, ctx)}, ctx);
  if (generic.getIndexingMapsArray() !=
      SmallVector<AffineMap>{identity, perToken, identity})
    return nullptr;
  Block *body = generic.getBody();
  Value ffnElement = body->getArgument(0), logitElement = body->getArgument(1);
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  auto product = yield.getOperand(0).getDefiningOp<arith::MulFOp>();
  if (!product)
    return nullptr;
  Value scale = product.getLhs() == ffnElement   ? product.getRhs()
                : product.getRhs() == ffnElement ? product.getLhs()
                                                 : Value();
  if (!scale || scale == ffnElement)
    return nullptr;
  // h must read the logit alone (no index, no other element).
  SetVector<Operation *> slice;
  if (Operation *producer = scale.getDefiningOp()) {
    BackwardSliceOptions options;
    options.inclusive = true;
    options.filter = [&](Operation *op) { return op->getBlock() == body; };
    if (failed(getBackwardSlice(producer, &slice, options)))
      return nullptr;
  } else if (scale != logitElement) {
    return nullptr;
  }
  for (Operation *op : slice) {
    if (isa<linalg::IndexOp>(op) || op->getNumRegions() != 0)
      return nullptr;
    for (Value operand : op->getOperands()) {
      auto arg = dyn_cast<BlockArgument>(operand);
      if (arg && arg.getOwner() == body && arg != logitElement)
        return nullptr;
    }
  }
  Location loc = generic.getLoc();
  Value logit = generic.getDpsInputs()[1];
  Type floatType =
      cast<ShapedType>(generic.getResult(0).getType()).getElementType();
  Value init = createEmptyTensor(
      rewriter, loc, tensor::getMixedSizes(rewriter, loc, logit), floatType);
  return linalg::GenericOp::create(
             rewriter, loc, TypeRange{init.getType()}, logit, init,
             SmallVector<AffineMap>{identity, identity},
             SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
             [&](OpBuilder &b, Location nloc, ValueRange args) {
               IRMapping mapping;
               mapping.map(logitElement, args[0]);
               for (Operation *op : slice)
                 b.clone(*op, mapping);
               linalg::YieldOp::create(b, nloc, mapping.lookup(scale));
             })
      .getResult(0);
}

struct FuseSharedExperts : OpRewritePattern<LayerOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LayerOp layer,
                                PatternRewriter &rewriter) const override {
    if (layer.hasSharedExperts())
      return rewriter.notifyMatchFailure(layer, "has shared experts already");
    Value init = layer.getInit();
    auto scaled = init.getDefiningOp<linalg::GenericOp>();
    auto shared =
        scaled ? scaled.getDpsInputs().empty()
                     ? ExpertFFNOp()
                     : scaled.getDpsInputs()[0].getDefiningOp<ExpertFFNOp>()
               : init.getDefiningOp<ExpertFFNOp>();
    if (!shared)
      return rewriter.notifyMatchFailure(layer, "outs is no shared FFN");
    if (!shared->hasOneUse() || (scaled && !scaled->hasOneUse()))
      return rewriter.notifyMatchFailure(layer,
                                         "the shared FFN has other uses");
    if (shared.getInput() != layer.getInput() ||
        !isEveryRow(shared.getExpertOffsets(), layer.getInput()))
      return rewriter.notifyMatchFailure(
          layer, "the FFN does not run over every token of the layer");
    // The layer runs the shared FFN as experts of the routed layout.
    auto upType = cast<RankedTensorType>(layer.getUpWeight().getType());
    auto sharedUpType = cast<RankedTensorType>(shared.getUpWeight().getType());
    int64_t width = upType.getDimSize(1),
            sharedWidth = sharedUpType.getDimSize(1);
    auto elementOf = [](Value value) {
      return value ? cast<ShapedType>(value.getType()).getElementType()
                   : Type();
    };
    auto isStatic = [](Value weight) {
      return !weight ||
             cast<RankedTensorType>(weight.getType()).hasStaticShape();
    };
    if (!isStatic(shared.getGateWeight()) || !isStatic(shared.getUpWeight()) ||
        !isStatic(shared.getDownWeight()) || width < 1 ||
        sharedWidth % width != 0)
      return rewriter.notifyMatchFailure(
          layer, "the shared width is not a multiple of the experts'");
    if (layer.isGated() != shared.isGated() ||
        layer.getActivation() != shared.getActivation() ||
        layer.getSwigluAlphaAttr() != shared.getSwigluAlphaAttr() ||
        layer.getSwigluLimitAttr() != shared.getSwigluLimitAttr() ||
        elementOf(layer.getGateWeight()) != elementOf(shared.getGateWeight()) ||
        elementOf(layer.getUpWeight()) != elementOf(shared.getUpWeight()) ||
        elementOf(layer.getDownWeight()) != elementOf(shared.getDownWeight()))
      return rewriter.notifyMatchFailure(
          layer, "the shared FFN's activation or weight types differ");
    if (layer.getGateBias() || layer.getUpBias() || layer.getDownBias() ||
        shared.getGateBias() || shared.getUpBias() || shared.getDownBias() ||
        layer.getCapacityFactorAttr())
      return rewriter.notifyMatchFailure(
          layer, "biases or a capacity factor keep the shared FFN apart");
    // Scaled, the shared output s * (init + FFN) is s * FFN only on zeros.
    Value scale;
    if (scaled) {
      if (!isZeroFilled(shared.getInit()))
        return rewriter.notifyMatchFailure(
            layer, "the scaled shared FFN accumulates into non-zeros");
      rewriter.setInsertionPoint(scaled);
      scale = buildTokenScale(rewriter, scaled, shared.getResult());
      if (!scale)
        return rewriter.notifyMatchFailure(
            layer, "outs is no per-token scale of the shared FFN");
    }

    rewriter.setInsertionPoint(layer);
    auto fused = LayerOp::create(
        rewriter, layer.getLoc(), layer.getResult().getType(), layer.getInput(),
        layer.getRouterWeight(), layer.getRouterBias(),
        layer.getSelectionBias(), layer.getRouterNoise(), layer.getGateWeight(),
        layer.getUpWeight(), layer.getDownWeight(), layer.getGateBias(),
        layer.getUpBias(), layer.getDownBias(), shared.getGateWeight(),
        shared.getUpWeight(), shared.getDownWeight(), scale, shared.getInit(),
        layer.getTopKAttr(), layer.getScoringAttr(), layer.getActivationAttr(),
        layer.getNormalizeAttr(), layer.getScalingFactorAttr(),
        layer.getNumGroupsAttr(), layer.getTopKGroupsAttr(),
        layer.getCapacityFactorAttr(), layer.getSwigluAlphaAttr(),
        layer.getSwigluLimitAttr(), layer.getNoiseSeedAttr());
    fused->setDiscardableAttrs(layer->getDiscardableAttrDictionary());
    rewriter.replaceOp(layer, fused.getResult());
    if (scaled)
      rewriter.eraseOp(scaled);
    rewriter.eraseOp(shared);
    return success();
  }
};

struct MoEFuseSharedExpertsPass
    : moe::impl::MoEFuseSharedExpertsPassBase<MoEFuseSharedExpertsPass> {
  using MoEFuseSharedExpertsPassBase::MoEFuseSharedExpertsPassBase;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMoEFuseSharedExpertsPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::moe::populateMoEFuseSharedExpertsPatterns(
    RewritePatternSet &patterns) {
  patterns.add<FuseSharedExperts>(patterns.getContext());
}

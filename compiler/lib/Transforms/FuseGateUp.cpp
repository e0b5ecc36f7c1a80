//===- FuseGateUp.cpp - Gate and up projections with their activation ----===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-fuse-gate-up: `moe.gated_activation` of the gate
// and up `moe.grouped_matmul`s of a gated FFN becomes one
// `moe.grouped_gated_matmul`, whose activation is its GEMM's epilogue.
//
//===----------------------------------------------------------------------===//

#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/Passes.h"
#include "moe/Transforms/TensorUtils.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEFUSEGATEUPPASS
#include "moe/Transforms/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// Whether `value` is used only as the input rows of grouped matmuls over
/// `offsets`, which read only the rows of the experts' segments.
bool onlySegmentRowsRead(Value value, Value offsets) {
  return llvm::all_of(value.getUses(), [&](OpOperand &use) {
    auto matmul = dyn_cast<GroupedMatmulOp>(use.getOwner());
    return matmul && matmul.getExpertOffsets() == offsets &&
           use.getOperandNumber() ==
               matmul.getInputMutable().getOperandNumber();
  });
}

struct FuseGateUp : OpRewritePattern<GatedActivationOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GatedActivationOp op,
                                PatternRewriter &rewriter) const override {
    auto gate = op.getGate().getDefiningOp<GroupedMatmulOp>();
    auto up = op.getUp().getDefiningOp<GroupedMatmulOp>();
    if (!gate || !up || gate == up || gate.hasCombine() || up.hasCombine())
      return rewriter.notifyMatchFailure(op, "not fed by two grouped matmuls");
    if (gate.getInput() != up.getInput() ||
        gate.getExpertOffsets() != up.getExpertOffsets())
      return rewriter.notifyMatchFailure(
          op, "the projections read different rows or segments");
    if (gate.getWeight().getType() != up.getWeight().getType() ||
        gate.getWeightLayout() != up.getWeightLayout() ||
        gate.getWeightLayout() == WeightLayout::pair_panels)
      return rewriter.notifyMatchFailure(
          op, "the projections' weights differ in layout");
    if (!isZeroFilled(gate.getInit()) || !isZeroFilled(up.getInit()))
      return rewriter.notifyMatchFailure(op,
                                         "a projection does not start at 0");
    if (!gate->hasOneUse() || !up->hasOneUse())
      return rewriter.notifyMatchFailure(op, "a projection has another use");
    if (!onlySegmentRowsRead(op.getResult(), gate.getExpertOffsets()))
      return rewriter.notifyMatchFailure(
          op, "rows outside the segments may be read");
    rewriter.replaceOpWithNewOp<GroupedGatedMatmulOp>(
        op, op.getInit().getType(), gate.getInput(), gate.getExpertOffsets(),
        /*token_ids=*/Value(), gate.getWeight(), up.getWeight(), gate.getBias(),
        up.getBias(), op.getInit(), op.getActivationAttr(),
        op.getSwigluAlphaAttr(), op.getSwigluLimitAttr(),
        gate.getWeightLayoutAttr());
    return success();
  }
};

struct MoEFuseGateUpPass
    : moe::impl::MoEFuseGateUpPassBase<MoEFuseGateUpPass> {
  using MoEFuseGateUpPassBase::MoEFuseGateUpPassBase;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMoEFuseGateUpPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::moe::populateMoEFuseGateUpPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseGateUp>(patterns.getContext());
}

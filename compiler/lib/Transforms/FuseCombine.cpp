//===- FuseCombine.cpp - The combine as the down projection's epilogue ----===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-fuse-combine: a `moe.combine` folds into the
// `moe.grouped_matmul` whose rows it adds, which then scales each row by its
// routing weight and adds it into its token's row in its epilogue.
//
//===----------------------------------------------------------------------===//

#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/Passes.h"
#include "moe/Transforms/TensorUtils.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEFUSECOMBINEPASS
#include "moe/Transforms/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

struct FuseCombine : OpRewritePattern<CombineOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CombineOp op,
                                PatternRewriter &rewriter) const override {
    auto matmul = op.getInput().getDefiningOp<GroupedMatmulOp>();
    if (!matmul || matmul.hasCombine())
      return rewriter.notifyMatchFailure(op, "its rows are no grouped matmul");
    // The combine reads the matmul's segment rows only when both use the
    // same offsets; the fused matmul computes nothing else.
    if (matmul.getExpertOffsets() != op.getExpertOffsets())
      return rewriter.notifyMatchFailure(
          op, "the matmul and the combine use different segments");
    if (!matmul->hasOneUse())
      return rewriter.notifyMatchFailure(op, "the matmul's rows are read "
                                             "elsewhere too");
    // The fused epilogue adds the product alone: the matmul must start from
    // zero, as the decomposition's do.
    if (!isZeroFilled(matmul.getInit()))
      return rewriter.notifyMatchFailure(op, "the matmul does not start from "
                                             "zero");
    rewriter.replaceOpWithNewOp<GroupedMatmulOp>(
        op, op.getInit().getType(), matmul.getInput(), matmul.getWeight(),
        matmul.getExpertOffsets(), matmul.getBias(), op.getTokenIds(),
        op.getRowWeights(), op.getInit(), matmul.getWeightLayoutAttr());
    rewriter.eraseOp(matmul);
    return success();
  }
};

struct MoEFuseCombinePass
    : moe::impl::MoEFuseCombinePassBase<MoEFuseCombinePass> {
  using MoEFuseCombinePassBase::MoEFuseCombinePassBase;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMoEFuseCombinePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::moe::populateMoEFuseCombinePatterns(RewritePatternSet &patterns) {
  patterns.add<FuseCombine>(patterns.getContext());
}

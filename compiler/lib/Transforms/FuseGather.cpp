//===- FuseGather.cpp - A gated FFN's rows read through the token ids ----===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-fuse-gather: `moe.permute` folds into the
// `moe.grouped_gated_matmul`s that read its rows, which then gather them
// through the token ids in their prologue.
//
//===----------------------------------------------------------------------===//

#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEFUSEGATHERPASS
#include "moe/Transforms/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

struct FuseGather : OpRewritePattern<GroupedGatedMatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GroupedGatedMatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getTokenIds())
      return rewriter.notifyMatchFailure(op, "already gathers its rows");
    auto permute = op.getInput().getDefiningOp<PermuteOp>();
    if (!permute)
      return rewriter.notifyMatchFailure(op, "its rows are not permuted");
    // The gather reads the rows as they are: a rounding copy stays.
    if (getElementTypeOrSelf(permute.getInput().getType()) !=
        getElementTypeOrSelf(permute.getResult().getType()))
      return rewriter.notifyMatchFailure(op, "the permute rounds its rows");
    // The matmul reads only its segments' rows, which the permute sets
    // when both use the same offsets; its other rows keep the permute's
    // destination, which a gather cannot reproduce.
    if (permute.getExpertOffsets() != op.getExpertOffsets())
      return rewriter.notifyMatchFailure(
          op, "the permute and the matmul use different segments");
    rewriter.modifyOpInPlace(op, [&] {
      op.getInputMutable().assign(permute.getInput());
      op.getTokenIdsMutable().assign(permute.getTokenIds());
    });
    return success();
  }
};

struct MoEFuseGatherPass : moe::impl::MoEFuseGatherPassBase<MoEFuseGatherPass> {
  using MoEFuseGatherPassBase::MoEFuseGatherPassBase;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMoEFuseGatherPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::moe::populateMoEFuseGatherPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseGather>(patterns.getContext());
}

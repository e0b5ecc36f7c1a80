//===- FuseRouter.cpp - Router scores and top-k in one step -----*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-fuse-router: `moe.top_k` of the scores of a
// `moe.router` becomes one `moe.router_top_k`, whose lowering never writes
// the [T, E] scores whole.
//
//===----------------------------------------------------------------------===//

#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEFUSEROUTERPASS
#include "moe/Transforms/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

struct FuseRouter : OpRewritePattern<TopKOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(TopKOp op,
                                PatternRewriter &rewriter) const override {
    auto router = op.getScores().getDefiningOp<RouterOp>();
    if (!router)
      return rewriter.notifyMatchFailure(op, "scores not from a router");
    if (!router->hasOneUse())
      return rewriter.notifyMatchFailure(op, "the scores have another use");
    // Noise draws are numbered by absolute token position: a lowering by
    // blocks of tokens would need their offsets.
    if (router.getNoiseWeight())
      return rewriter.notifyMatchFailure(op, "the router is noisy");
    rewriter.replaceOpWithNewOp<RouterTopKOp>(
        op, op->getResultTypes(), router.getInput(), router.getWeight(),
        router.getBias(), op.getSelectionBias(), op.getWeightsInit(),
        op.getIndicesInit(), router.getScoringAttr(),
        router.getWeightLayoutAttr(), op.getNormalizeAttr(),
        op.getScalingFactorAttr(), op.getNumGroupsAttr(),
        op.getTopKGroupsAttr());
    rewriter.eraseOp(router);
    return success();
  }
};

struct MoEFuseRouterPass : moe::impl::MoEFuseRouterPassBase<MoEFuseRouterPass> {
  using MoEFuseRouterPassBase::MoEFuseRouterPassBase;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMoEFuseRouterPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::moe::populateMoEFuseRouterPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseRouter>(patterns.getContext());
}

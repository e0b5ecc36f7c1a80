//===- UntieSharedInits.cpp - One destination tensor a use ------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-untie-shared-inits: every use of a shared
// `tensor.empty`, or of a shared zero fill of one, gets its own, so that
// empty-tensor elimination never places one destination in two results'
// buffers.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/Common/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEUNTIESHAREDINITSPASS
#include "moe/Codegen/Common/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// Moves every use of `value` but the first onto a clone of `ops` (the
/// producer chain of `value`, defs first), built right after the last op.
LogicalResult untieUses(Value value, ArrayRef<Operation *> ops,
                        PatternRewriter &rewriter) {
  SmallVector<OpOperand *> uses =
      llvm::map_to_vector(value.getUses(), [](OpOperand &use) { return &use; });
  if (uses.size() < 2)
    return failure();
  rewriter.setInsertionPointAfter(ops.back());
  for (OpOperand *use : llvm::drop_begin(uses)) {
    IRMapping mapping;
    Operation *clone = nullptr;
    for (Operation *op : ops)
      clone = rewriter.clone(*op, mapping);
    rewriter.modifyOpInPlace(use->getOwner(), [&] {
      use->set(clone->getResult(cast<OpResult>(value).getResultNumber()));
    });
  }
  return success();
}

struct UntieSharedEmpty : OpRewritePattern<tensor::EmptyOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(tensor::EmptyOp op,
                                PatternRewriter &rewriter) const override {
    return untieUses(op.getResult(), {op}, rewriter);
  }
};

struct UntieSharedFill : OpRewritePattern<linalg::FillOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::FillOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op->getNumResults() != 1)
      return failure();
    auto empty = op.getOutputs()[0].getDefiningOp<tensor::EmptyOp>();
    // A shared empty is untied first; then the fill is its only user.
    if (!empty || !empty->hasOneUse())
      return failure();
    return untieUses(op->getResult(0), {empty, op}, rewriter);
  }
};

struct MoEUntieSharedInitsPass
    : moe::impl::MoEUntieSharedInitsPassBase<MoEUntieSharedInitsPass> {
  using MoEUntieSharedInitsPassBase::MoEUntieSharedInitsPassBase;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateUntieSharedInitsPatterns(patterns);
    // Only the matched ops change: no folding, so CSE's merges stay undone.
    GreedyRewriteConfig config;
    config.enableFolding(false);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns),
                                     config)))
      return signalPassFailure();
  }
};

} // namespace

void mlir::moe::populateUntieSharedInitsPatterns(RewritePatternSet &patterns) {
  patterns.add<UntieSharedEmpty, UntieSharedFill>(patterns.getContext());
}

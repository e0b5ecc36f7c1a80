//===- DecomposeExpertFFN.cpp - Expert FFN into grouped matmuls -*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements the rewrite of `moe.expert_ffn` into
// `moe.grouped_matmul` ops for the gate, up and down projections and an
// elementwise `linalg.generic` for the activation, and the pass driving it.
//
//===----------------------------------------------------------------------===//

#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/Activations.h"
#include "moe/Transforms/Passes.h"
#include "moe/Transforms/TensorUtils.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEDECOMPOSEEXPERTFFNPASS
#include "moe/Transforms/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

//===----------------------------------------------------------------------===//
// Rewrite patterns
//===----------------------------------------------------------------------===//

struct DecomposeExpertFFN : OpRewritePattern<ExpertFFNOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ExpertFFNOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = op.getInput();
    Value offsets = op.getExpertOffsets();
    Type floatType = cast<ShapedType>(op.getInit().getType()).getElementType();
    OpFoldResult rows = tensor::getMixedSize(rewriter, loc, input, 0);
    OpFoldResult intermediate =
        tensor::getMixedSize(rewriter, loc, op.getUpWeight(), 1);

    // The projections into the intermediate size each start from zero.
    Value zero = createZeroTensor(rewriter, loc, {rows, intermediate},
                                  floatType);
    auto project = [&](Value weight, Value bias) -> Value {
      return GroupedMatmulOp::create(rewriter, loc, zero.getType(), input,
                                     weight, offsets, bias, zero);
    };
    SmallVector<Value> projections;
    if (op.isGated())
      projections.push_back(project(op.getGateWeight(), op.getGateBias()));
    projections.push_back(project(op.getUpWeight(), op.getUpBias()));

    Activation activation = op.getActivation();
    Value activated;
    if (op.isGated()) {
      Value activatedInit = createEmptyTensor(
          rewriter, loc, {rows, intermediate}, floatType);
      activated = GatedActivationOp::create(
          rewriter, loc, activatedInit.getType(), projections[0],
          projections[1], activatedInit, op.getActivationAttr(),
          op.getSwigluAlphaAttr(), op.getSwigluLimitAttr());
    } else {
      activated = buildElementwise(
          rewriter, loc, projections,
          [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
            return buildActivation(b, nestedLoc, activation, args[0]);
          });
    }

    rewriter.replaceOpWithNewOp<GroupedMatmulOp>(
        op, op.getInit().getType(), activated, op.getDownWeight(), offsets,
        op.getDownBias(), op.getInit());
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

struct MoEDecomposeExpertFFNPass
    : moe::impl::MoEDecomposeExpertFFNPassBase<MoEDecomposeExpertFFNPass> {
  using MoEDecomposeExpertFFNPassBase::MoEDecomposeExpertFFNPassBase;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMoEDecomposeExpertFFNPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::moe::populateMoEDecomposeExpertFFNPatterns(
    RewritePatternSet &patterns) {
  patterns.add<DecomposeExpertFFN>(patterns.getContext());
}

//===- ApproximateVectorMath.cpp - Vector math as polynomials -------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-cpu-approximate-vector-math: exp, erf and tanh on
// vectors become upstream's polynomial approximations, applied only to ops
// on vectors so that scalar code keeps libm's results.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOECPUAPPROXIMATEVECTORMATHPASS
#include "moe/Codegen/CPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

struct MoECPUApproximateVectorMathPass
    : moe::impl::MoECPUApproximateVectorMathPassBase<
          MoECPUApproximateVectorMathPass> {
  using MoECPUApproximateVectorMathPassBase::
      MoECPUApproximateVectorMathPassBase;

  void runOnOperation() override {
    SmallVector<Operation *> vectorMath;
    getOperation()->walk([&](Operation *op) {
      if (isa<math::ExpOp, math::ErfOp, math::TanhOp>(op) &&
          isa<VectorType>(op->getResult(0).getType()))
        vectorMath.push_back(op);
    });
    if (vectorMath.empty())
      return;
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef name) {
          return name == math::ExpOp::getOperationName() ||
                 name == math::ErfOp::getOperationName() ||
                 name == math::TanhOp::getOperationName();
        });
    // The expansions' own ops are on vectors too; nothing else is touched.
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
    if (failed(applyOpPatternsGreedily(vectorMath, std::move(patterns),
                                       config)))
      signalPassFailure();
  }
};

} // namespace

//===- ExpandBF16.cpp - bf16 conversions as integer ops -------------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-cpu-expand-bf16: arith.extf from bf16 and
// arith.truncf to bf16 become bitcasts, shifts and (for truncf) rounding in
// integer arithmetic, with upstream's bf16 expansion patterns and nothing
// else of arith-expand (which would also rewrite every maximumf/minimumf).
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOECPUEXPANDBF16PASS
#include "moe/Codegen/CPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

struct MoECPUExpandBF16Pass
    : moe::impl::MoECPUExpandBF16PassBase<MoECPUExpandBF16Pass> {
  using MoECPUExpandBF16PassBase::MoECPUExpandBF16PassBase;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    arith::populateExpandBFloat16Patterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

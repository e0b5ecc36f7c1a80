//===- FlattenVectorTransfers.cpp - 1-D transfers of contiguous data ------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-cpu-flatten-vector-transfers with upstream's
// transfer flattening patterns: an n-D vector transfer of a contiguous memref
// slice becomes one 1-D transfer of a collapsed view.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOECPUFLATTENVECTORTRANSFERSPASS
#include "moe/Codegen/CPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

struct MoECPUFlattenVectorTransfersPass
    : moe::impl::MoECPUFlattenVectorTransfersPassBase<
          MoECPUFlattenVectorTransfersPass> {
  using MoECPUFlattenVectorTransfersPassBase::
      MoECPUFlattenVectorTransfersPassBase;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    vector::populateFlattenVectorTransferPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

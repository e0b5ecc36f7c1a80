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
#include "mlir/Interfaces/VectorInterfaces.h"
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
    // Only the transfers the patterns can judge: upstream's
    // vector::isContiguousSlice reads out of bounds (a negative-size memcmp,
    // found by ASan) for a vector of unit dimensions only, or one of higher
    // rank than its memref.
    SmallVector<Operation *> transfers;
    getOperation()->walk([&](VectorTransferOpInterface transfer) {
      auto memref = dyn_cast<MemRefType>(transfer.getBase().getType());
      VectorType vector = transfer.getVectorType();
      if (memref && vector.getRank() >= 2 &&
          vector.getRank() <= memref.getRank() &&
          llvm::any_of(vector.getShape(),
                       [](int64_t size) { return size != 1; }))
        transfers.push_back(transfer);
    });
    RewritePatternSet patterns(&getContext());
    vector::populateFlattenVectorTransferPatterns(patterns);
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingOps);
    if (failed(applyOpPatternsGreedily(transfers, std::move(patterns), config)))
      signalPassFailure();
  }
};

} // namespace

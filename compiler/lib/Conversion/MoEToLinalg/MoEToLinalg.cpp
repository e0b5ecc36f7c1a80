//===- MoEToLinalg.cpp - MoE step ops to linalg, scf, tensor ----*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements the convert-moe-to-linalg pass, a partial conversion
// that makes every MoE op illegal.
//
//===----------------------------------------------------------------------===//

#include "moe/Conversion/MoEToLinalg/MoEToLinalg.h"
#include "moe/Dialect/MoE/IR/MoEOps.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_CONVERTMOETOLINALGPASS
#include "moe/Conversion/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

struct ConvertMoEToLinalgPass
    : moe::impl::ConvertMoEToLinalgPassBase<ConvertMoEToLinalgPass> {
  using ConvertMoEToLinalgPassBase::ConvertMoEToLinalgPassBase;

  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addIllegalDialect<MoEDialect>();
    target.addLegalDialect<arith::ArithDialect,
                           bufferization::BufferizationDialect,
                           linalg::LinalgDialect,
                           math::MathDialect, scf::SCFDialect,
                           tensor::TensorDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });

    RewritePatternSet patterns(ctx);
    RoutingDataLowering lowering{dispatchChunkTokens, permuteRowBlock,
                                 combineTokenBlock, blockColumnChunks};
    for (auto [name, value] :
         {std::pair<StringRef, int64_t>{"dispatch-chunk-tokens",
                                        lowering.dispatchChunkTokens},
          {"permute-row-block", lowering.permuteRowBlock},
          {"combine-token-block", lowering.combineTokenBlock},
          {"block-column-chunks", lowering.blockColumnChunks}}) {
      if (value < 0) {
        getOperation()->emitError()
            << name << " must be at least 0, got " << value;
        return signalPassFailure();
      }
    }
    populateMoEToLinalgConversionPatterns(patterns, lowering);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::moe::populateMoEToLinalgConversionPatterns(
    RewritePatternSet &patterns, const RoutingDataLowering &lowering) {
  populateMoERouterToLinalgPatterns(patterns);
  populateMoETopKToSCFPatterns(patterns);
  populateMoERoutingDataToSCFPatterns(patterns, lowering);
  populateMoEGroupedMatmulToLinalgPatterns(patterns);
}

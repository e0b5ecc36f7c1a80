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
#include "mlir/Dialect/Vector/IR/VectorOps.h"
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
    // A combining grouped matmul's epilogue, which targets tile.
    target.addLegalOp<SegmentCombineOp>();
    target.addLegalDialect<arith::ArithDialect,
                           bufferization::BufferizationDialect,
                           linalg::LinalgDialect,
                           math::MathDialect, scf::SCFDialect,
                           tensor::TensorDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });

    RewritePatternSet patterns(ctx);
    ConvertMoEToLinalgPassOptions options;
    for (auto [option, value] :
         {std::pair<const Option<int64_t> *, int64_t *>{
              &dispatchChunkTokens, &options.dispatchChunkTokens},
          {&permuteRowBlock, &options.permuteRowBlock},
          {&combineTokenBlock, &options.combineTokenBlock},
          {&blockColumnChunks, &options.blockColumnChunks}}) {
      *value = *option;
      if (*value < 0) {
        getOperation()->emitError()
            << option->getArgStr() << " must be at least 0, got " << *value;
        return signalPassFailure();
      }
    }
    populateMoEToLinalgConversionPatterns(patterns, options);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::moe::populateMoEToLinalgConversionPatterns(
    RewritePatternSet &patterns, const ConvertMoEToLinalgPassOptions &options) {
  populateMoERouterToLinalgPatterns(patterns);
  populateMoETopKToSCFPatterns(patterns);
  populateMoERoutingDataToSCFPatterns(patterns, options);
  populateMoEGroupedMatmulToLinalgPatterns(patterns);
}

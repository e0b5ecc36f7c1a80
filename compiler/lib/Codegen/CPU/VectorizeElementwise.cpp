//===- VectorizeElementwise.cpp - Threaded, vectorised elementwise ops ----===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-cpu-vectorize-elementwise: row-wise elementwise
// generics that no kernel schedule took, tiled over threads and vectorized
// (see the pass description).
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/CPU/Passes.h"
#include "moe/Transforms/TensorUtils.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOECPUVECTORIZEELEMENTWISEPASS
#include "moe/Codegen/CPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// Whether `op` is a row-wise elementwise generic this pass takes: two
/// parallel loops, identity maps, dynamic rows, at least `minColumns`
/// static columns, tensors, a body of arith and math ops, outside any
/// scf.forall.
bool isRowwiseElementwise(linalg::GenericOp op, int64_t minColumns) {
  if (op.getNumLoops() != 2 || op.getNumParallelLoops() != 2 ||
      !op.hasPureTensorSemantics() || op.getNumResults() != 1 ||
      op->getParentOfType<scf::ForallOp>())
    return false;
  if (!llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }))
    return false;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (!ShapedType::isDynamic(ranges[0]) || ShapedType::isDynamic(ranges[1]) ||
      ranges[1] < minColumns)
    return false;
  return llvm::all_of(op.getBody()->without_terminator(), [](Operation &inner) {
    Dialect *dialect = inner.getDialect();
    return isa_and_present<arith::ArithDialect, math::MathDialect>(dialect);
  });
}

struct MoECPUVectorizeElementwisePass
    : moe::impl::MoECPUVectorizeElementwisePassBase<
          MoECPUVectorizeElementwisePass> {
  using MoECPUVectorizeElementwisePassBase::MoECPUVectorizeElementwisePassBase;

  void runOnOperation() override {
    // Vectors of at least one AVX-512 register.
    constexpr int64_t kMinColumns = 16;
    SmallVector<linalg::GenericOp> ops;
    getOperation().walk([&](linalg::GenericOp op) {
      if (isRowwiseElementwise(op, kMinColumns))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : ops)
      if (failed(tileAndVectorize(rewriter, op)))
        return signalPassFailure();
  }

  LogicalResult tileAndVectorize(RewriterBase &rewriter, linalg::GenericOp op) {
    int64_t columns = op.getStaticLoopRanges()[1];
    int64_t chunk =
        largestDivisorAtMost(columns, std::max<int64_t>(vectorWidth, 1));
    rewriter.setInsertionPoint(op);
    // Blocks of rows over threads.
    scf::SCFTilingOptions blocks;
    blocks.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
    blocks.setTileSizes({rewriter.getIndexAttr(std::max<int64_t>(rowBlock, 1)),
                         rewriter.getIndexAttr(0)});
    FailureOr<scf::SCFTilingResult> blocked = scf::tileUsingSCF(
        rewriter, cast<TilingInterface>(op.getOperation()), blocks);
    if (failed(blocked))
      return op.emitError("could not tile the elementwise op into blocks");
    rewriter.replaceOp(op, blocked->replacements);
    // Rows of static column chunks in a block.
    Operation *block = blocked->tiledOps.back();
    scf::SCFTilingOptions rows;
    rows.setTileSizes({rewriter.getIndexAttr(1), rewriter.getIndexAttr(chunk)});
    rewriter.setInsertionPoint(block);
    FailureOr<scf::SCFTilingResult> tiled =
        scf::tileUsingSCF(rewriter, cast<TilingInterface>(block), rows);
    if (failed(tiled))
      return block->emitError("could not tile the elementwise op into rows");
    rewriter.replaceOp(block, tiled->replacements);
    Operation *tile = tiled->tiledOps.back();
    rewriter.setInsertionPoint(tile);
    FailureOr<linalg::VectorizationResult> vectorized =
        linalg::vectorize(rewriter, tile);
    if (failed(vectorized))
      return tile->emitError("could not vectorize the elementwise tile");
    rewriter.replaceOp(tile, vectorized->replacements);
    return success();
  }
};

} // namespace

//===- LowerVnniContractions.cpp - VNNI contractions as f32 FMAs ----------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-cpu-lower-vnni-contractions: the AMX-shaped
// contractions of the amx-tiles schedule as f32 matmul contractions,
// lowered to outer products of FMAs, for running that schedule without the
// tile unit (see the pass description).
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOECPULOWERVNNICONTRACTIONSPASS
#include "moe/Codegen/CPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// C[m, n] += A[m, k, p] B[k, n, p] (iterators m, n, k, p) on bf16 or f16
/// operands into an f32 accumulator, as C[m, n] += A'[2k + p, m]
/// B'[2k + p, n] on f32 operands.
struct VnniContractionToMatmul : OpRewritePattern<vector::ContractionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(vector::ContractionOp op,
                                PatternRewriter &rewriter) const override {
    MLIRContext *context = op.getContext();
    auto accType = dyn_cast<VectorType>(op.getAccType());
    VectorType lhsType = op.getLhsType(), rhsType = op.getRhsType();
    if (op.getKind() != vector::CombiningKind::ADD || !accType ||
        accType.getRank() != 2 || !accType.getElementType().isF32() ||
        lhsType.getRank() != 3 || rhsType.getRank() != 3 ||
        lhsType.getDimSize(2) != 2 || rhsType.getDimSize(2) != 2 ||
        !lhsType.getElementType().isIntOrFloat() ||
        lhsType.getElementType().getIntOrFloatBitWidth() != 16 ||
        !isa<FloatType>(lhsType.getElementType()) ||
        rhsType.getElementType() != lhsType.getElementType())
      return rewriter.notifyMatchFailure(op, "not a 16-bit VNNI contraction");
    AffineExpr m, n, k, p;
    bindDims(context, m, n, k, p);
    using MapList = ArrayRef<ArrayRef<AffineExpr>>;
    SmallVector<AffineMap> vnniMaps = AffineMap::inferFromExprList(
        MapList{{m, k, p}, {k, n, p}, {m, n}}, context);
    if (op.getIndexingMapsArray() != ArrayRef<AffineMap>(vnniMaps))
      return rewriter.notifyMatchFailure(op, "not in the VNNI layout");

    Location loc = op.getLoc();
    Type f32 = rewriter.getF32Type();
    int64_t rows = lhsType.getDimSize(0), pairs = lhsType.getDimSize(1),
            columns = rhsType.getDimSize(1);
    // Both operands with k (2k + p) leading: the form whose outer-product
    // lowering needs no further transpose. The transposes are 2-D, which
    // lower to one shuffle each (an n-D one goes element by element).
    auto transpose2D = [&](Value value) -> Value {
      return vector::TransposeOp::create(rewriter, loc, value,
                                         ArrayRef<int64_t>{1, 0});
    };
    // A[m, k, p] is A'[m, 2k + p]; transposed, [2k + p, m].
    Value lhs =
        arith::ExtFOp::create(rewriter, loc, lhsType.clone(f32), op.getLhs());
    lhs = transpose2D(vector::ShapeCastOp::create(
        rewriter, loc, VectorType::get({rows, 2 * pairs}, f32), lhs));
    // B[k, n, p]: each k's [n, p] transposed to [p, n], one after another,
    // is [2k + p, n].
    Value wideRhs =
        arith::ExtFOp::create(rewriter, loc, rhsType.clone(f32), op.getRhs());
    auto pairRowsType = VectorType::get({pairs, 2, columns}, f32);
    Value rhs = arith::ConstantOp::create(rewriter, loc, pairRowsType,
                                          rewriter.getZeroAttr(pairRowsType));
    for (int64_t k = 0; k < pairs; ++k) {
      Value slice = vector::ExtractOp::create(rewriter, loc, wideRhs,
                                              ArrayRef<int64_t>{k});
      rhs = vector::InsertOp::create(rewriter, loc, transpose2D(slice), rhs,
                                     ArrayRef<int64_t>{k});
    }
    rhs = vector::ShapeCastOp::create(
        rewriter, loc, VectorType::get({2 * pairs, columns}, f32), rhs);
    AffineExpr i, j, r;
    bindDims(context, i, j, r);
    SmallVector<AffineMap> matmulMaps =
        AffineMap::inferFromExprList(MapList{{r, i}, {r, j}, {i, j}}, context);
    rewriter.replaceOpWithNewOp<vector::ContractionOp>(
        op, lhs, rhs, op.getAcc(), rewriter.getAffineMapArrayAttr(matmulMaps),
        rewriter.getArrayAttr({vector::IteratorTypeAttr::get(
                                   context, vector::IteratorType::parallel),
                               vector::IteratorTypeAttr::get(
                                   context, vector::IteratorType::parallel),
                               vector::IteratorTypeAttr::get(
                                   context, vector::IteratorType::reduction)}));
    return success();
  }
};

struct MoECPULowerVnniContractionsPass
    : moe::impl::MoECPULowerVnniContractionsPassBase<
          MoECPULowerVnniContractionsPass> {
  using MoECPULowerVnniContractionsPassBase::
      MoECPULowerVnniContractionsPassBase;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<VnniContractionToMatmul>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // Then, while the matmuls are whole, 2K outer products of FMAs each,
    // and the transposes as single shuffles: a few hundred vector ops a
    // tile, where the vector lowering's default (a dot product per element
    // of C) took LLVM tens of seconds on a small model.
    RewritePatternSet lowering(&getContext());
    vector::populateVectorContractLoweringPatterns(
        lowering, vector::VectorContractLowering::OuterProduct);
    vector::populateVectorOuterProductLoweringPatterns(lowering);
    vector::populateVectorTransposeLoweringPatterns(
        lowering, vector::VectorTransposeLowering::Shuffle1D);
    if (failed(applyPatternsGreedily(getOperation(), std::move(lowering))))
      signalPassFailure();
  }
};

} // namespace

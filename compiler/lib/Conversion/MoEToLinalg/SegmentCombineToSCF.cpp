//===- SegmentCombineToSCF.cpp - moe.segment_combine to a row loop -------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file lowers `moe.segment_combine`, after targets have tiled it, to an
// `scf.for` over its rows that adds each row, scaled by its routing weight,
// into its token's row: one vector per row when the columns are few and
// static (a tile), an elementwise `linalg.generic` per row otherwise.
//
//===----------------------------------------------------------------------===//

#include "moe/Conversion/MoEToLinalg/MoEToLinalg.h"
#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::moe;

namespace {

/// Rows of at most this many static elements are added as one vector.
constexpr int64_t kMaxVectorElements = 1024;

struct SegmentCombineToSCF : OpRewritePattern<SegmentCombineOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SegmentCombineOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType inputType = op.getInput().getType();
    Type element = inputType.getElementType();
    ArrayRef<int64_t> columns = inputType.getShape().drop_front();
    int64_t rank = inputType.getRank();
    bool asVector = llvm::none_of(columns, ShapedType::isDynamic) &&
                    ShapedType::getNumElements(columns) <= kMaxVectorElements;

    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value rows = tensor::DimOp::create(rewriter, loc, op.getInput(), 0);
    // Row by row, in row order: each token row sums its contributions in
    // the order moe.combine adds them.
    auto loop = scf::ForOp::create(
        rewriter, loc, c0, rows, c1, ValueRange{op.getInit()},
        [&](OpBuilder &b, Location, Value r, ValueRange args) {
          Value token = tensor::ExtractOp::create(b, loc, op.getTokenIds(), r);
          Value isPadding = arith::CmpIOp::create(
              b, loc, arith::CmpIPredicate::slt, token,
              arith::ConstantIntOp::create(b, loc, token.getType(), 0));
          auto add = scf::IfOp::create(
              b, loc, isPadding,
              [&](OpBuilder &b, Location) {
                scf::YieldOp::create(b, loc, args[0]);
              },
              [&](OpBuilder &b, Location) {
                Value target =
                    arith::IndexCastOp::create(b, loc, b.getIndexType(), token);
                Value weight = convertFloat(
                    b, loc,
                    tensor::ExtractOp::create(b, loc, op.getRowWeights(), r),
                    element);
                scf::YieldOp::create(
                    b, loc,
                    asVector ? addRowAsVector(b, loc, op, r, target, weight,
                                              columns, args[0])
                             : addRowElementwise(b, loc, op, r, target, weight,
                                                 rank, args[0]));
              });
          scf::YieldOp::create(b, loc, add.getResults());
        });
    rewriter.replaceOp(op, loop.getResults());
    return success();
  }

private:
  /// `acc` with `weight * input[r]` added to its row `target`, as one
  /// vector of the row's static `columns`.
  static Value addRowAsVector(OpBuilder &b, Location loc, SegmentCombineOp op,
                              Value r, Value target, Value weight,
                              ArrayRef<int64_t> columns, Value acc) {
    Type element = op.getInput().getType().getElementType();
    auto rowType = VectorType::get(columns, element);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    SmallVector<Value> rowIndices = {r}, targetIndices = {target};
    rowIndices.append(columns.size(), zero);
    targetIndices.append(columns.size(), zero);
    // The reads drop the row dimension: a [1, columns...] slice as a
    // vector of the columns.
    unsigned rank = columns.size() + 1;
    AffineMap minor =
        AffineMap::getMinorIdentityMap(rank, columns.size(), b.getContext());
    SmallVector<bool> inBounds(columns.size(), true);
    Value padding = arith::ConstantOp::create(b, loc, b.getZeroAttr(element));
    Value x = vector::TransferReadOp::create(
        b, loc, rowType, op.getInput(), rowIndices, padding, minor, inBounds);
    Value current = vector::TransferReadOp::create(
        b, loc, rowType, acc, targetIndices, padding, minor, inBounds);
    Value scaled = arith::MulFOp::create(
        b, loc, vector::BroadcastOp::create(b, loc, rowType, weight), x);
    Value sum = arith::AddFOp::create(b, loc, current, scaled);
    return vector::TransferWriteOp::create(b, loc, sum, acc, targetIndices,
                                           minor, inBounds)
        .getResult();
  }

  /// `acc` with `weight * input[r]` added to its row `target`, as an
  /// elementwise `linalg.generic` on the two rows' slices.
  static Value addRowElementwise(OpBuilder &b, Location loc,
                                 SegmentCombineOp op, Value r, Value target,
                                 Value weight, int64_t rank, Value acc) {
    OpFoldResult one = b.getIndexAttr(1);
    auto rowSlice = [&](Value tensor, Value row) {
      SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
          sizes = tensor::getMixedSizes(b, loc, tensor), strides(rank, one);
      offsets[0] = row;
      sizes[0] = one;
      return tensor::ExtractSliceOp::create(b, loc, tensor, offsets, sizes,
                                            strides);
    };
    Value x = rowSlice(op.getInput(), r);
    tensor::ExtractSliceOp current = rowSlice(acc, target);
    Value updated = buildScaledAccumulate(b, loc, x, current, weight);
    return tensor::InsertSliceOp::create(
               b, loc, updated, acc, current.getMixedOffsets(),
               current.getMixedSizes(), current.getMixedStrides())
        .getResult();
  }
};

} // namespace

void mlir::moe::populateMoESegmentCombineToSCFPatterns(
    RewritePatternSet &patterns) {
  patterns.add<SegmentCombineToSCF>(patterns.getContext());
}

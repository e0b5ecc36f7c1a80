//===- WarpMMA.cpp - Warp tiles to tensor-core mma.sync ---------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-gpu-warp-mma: each moe.warp_mma tile of a
// segment matmul, which one warp runs, becomes a loop over K of
// nvgpu.mma.sync m16n8k16 on bf16 or f16 fragments that each lane loads from
// memory (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/GPU/Passes.h"
#include "moe/Codegen/GPU/TensorCores.h"
#include "moe/Dialect/MoE/IR/MoEDialect.h"

#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEGPUWARPMMAPASS
#include "moe/Codegen/GPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// An index of a padded tile: clamped into the buffer, with whether it is
/// inside (null when always).
struct TileIndex {
  Value clamped;
  Value inside;
};

/// Emits one warp's tile. Fragment layouts of mma.sync m16n8k16 with 16-bit
/// operands (PTX ISA, "Matrix Fragments for mma.m16n8k16"; upstream's
/// transform.nvgpu.rewrite_matmul_as_mma_sync uses the same for f16), with
/// g = lane / 4 and t = 2 * (lane % 4):
///   A [16, 16]: (g, t..t+1), (g+8, t..t+1), (g, t+8..t+9), (g+8, t+8..t+9)
///   B [16, 8]:  (t..t+1, g), (t+8..t+9, g)     (B[k, n] is W[n, k])
///   C [16, 8]:  (g, t..t+1), (g+8, t..t+1)
/// A tile smaller than 16 x 8, or a K that 16 does not divide, is padded
/// with zeros: a lane loads an element only inside the tile (at a clamped
/// index, then selects zero) and stores only inside it.
class WarpTileEmitter {
public:
  WarpTileEmitter(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  LogicalResult emit(linalg::GenericOp op);

private:
  Value constant(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  /// `at` in a dimension of `limit` elements (null: the tile fills it).
  TileIndex tileIndex(Value at, Value limit);
  /// `memref[row, col]`, or zero outside the tile.
  Value loadOrZero(Value memref, TileIndex row, TileIndex col);

  OpBuilder &b;
  Location loc;
};

TileIndex WarpTileEmitter::tileIndex(Value at, Value limit) {
  if (!limit)
    return {at, Value()};
  Value inside =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, at, limit);
  // Clamped, the load stays inside the buffer for every lane.
  Value last = arith::SubIOp::create(b, loc, limit, constant(1));
  return {arith::MinUIOp::create(b, loc, at, last), inside};
}

/// Both conditions, either, or null when neither is.
static Value bothInside(OpBuilder &b, Location loc, TileIndex row,
                        TileIndex col) {
  if (!row.inside || !col.inside)
    return row.inside ? row.inside : col.inside;
  return arith::AndIOp::create(b, loc, row.inside, col.inside);
}

Value WarpTileEmitter::loadOrZero(Value memref, TileIndex row, TileIndex col) {
  Value value = memref::LoadOp::create(b, loc, memref,
                                       ValueRange{row.clamped, col.clamped});
  Value inside = bothInside(b, loc, row, col);
  if (!inside)
    return value;
  Value zero =
      arith::ConstantOp::create(b, loc, b.getZeroAttr(value.getType()));
  return arith::SelectOp::create(b, loc, inside, value, zero);
}

/// A limit for a dimension of `memref` unless `tile` divides its static
/// size: the tile's loads and stores check against it.
static Value limitUnlessDivides(OpBuilder &b, Location loc, Value memref,
                                int64_t dim, int64_t tile) {
  int64_t size = cast<MemRefType>(memref.getType()).getDimSize(dim);
  if (!ShapedType::isDynamic(size) && size % tile == 0)
    return Value();
  return memref::DimOp::create(b, loc, memref, dim);
}

LogicalResult WarpTileEmitter::emit(linalg::GenericOp op) {
  Value activations = op.getDpsInputs()[0], weights = op.getDpsInputs()[1],
        result = op.getDpsInits()[0];
  for (auto [dim, bound] :
       {std::pair<int64_t, int64_t>(0, kMmaRows), {1, kMmaCols}}) {
    FailureOr<int64_t> largest = ValueBoundsConstraintSet::computeConstantBound(
        presburger::BoundType::UB,
        ValueBoundsConstraintSet::Variable(result, dim),
        /*stopCondition=*/nullptr, /*closedUB=*/true);
    if (failed(largest) || *largest > bound)
      return op.emitOpError("a moe.warp_mma tile must have at most ")
             << kMmaRows << " rows and " << kMmaCols << " columns";
  }
  // A padded 16 x 8 tile: rows and columns past the result's are zeros.
  Value rows = limitUnlessDivides(b, loc, result, 0, kMmaRows);
  Value cols = limitUnlessDivides(b, loc, result, 1, kMmaCols);
  Value depth = limitUnlessDivides(b, loc, activations, 1, kMmaDepth);

  // The fragments' type: the weights'. The activations are rounded to it.
  Type operandType = getTensorCoreOperandType(op);
  Value lane = gpu::LaneIdOp::create(b, loc, b.getIndexType(),
                                     b.getIndexAttr(kNVIDIAWarpSize));
  Value g = arith::DivUIOp::create(b, loc, lane, constant(4));
  Value t = arith::MulIOp::create(
      b, loc, arith::RemUIOp::create(b, loc, lane, constant(4)), constant(2));
  Value one = constant(1), eight = constant(8);
  TileIndex upperRow = tileIndex(g, rows);
  TileIndex lowerRow = tileIndex(arith::AddIOp::create(b, loc, g, eight), rows);
  TileIndex firstCol = tileIndex(t, cols);
  TileIndex secondCol = tileIndex(arith::AddIOp::create(b, loc, t, one), cols);
  // W's rows are the tile's columns.
  TileIndex weightRow = tileIndex(g, cols);

  // The accumulators: C's fragment, in its order.
  SmallVector<std::pair<TileIndex, TileIndex>> accumulatorAt = {
      {upperRow, firstCol},
      {upperRow, secondCol},
      {lowerRow, firstCol},
      {lowerRow, secondCol}};
  SmallVector<Value> accumulators;
  for (auto [row, col] : accumulatorAt)
    accumulators.push_back(loadOrZero(result, row, col));
  Value initial = vector::FromElementsOp::create(
      b, loc, VectorType::get({2, 2}, b.getF32Type()), accumulators);

  Value k = memref::DimOp::create(b, loc, activations, 1);
  auto loop = scf::ForOp::create(b, loc, constant(0), k, constant(kMmaDepth),
                                 ValueRange{initial});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value k0 = loop.getInductionVar();
    Value low = arith::AddIOp::create(b, loc, k0, t);
    Value high = arith::AddIOp::create(b, loc, low, eight);
    SmallVector<TileIndex> ks = {
        tileIndex(low, depth),
        tileIndex(arith::AddIOp::create(b, loc, low, one), depth),
        tileIndex(high, depth),
        tileIndex(arith::AddIOp::create(b, loc, high, one), depth)};
    SmallVector<Value> a;
    for (auto [row, col] : {std::pair(upperRow, ks[0]),
                            {upperRow, ks[1]},
                            {lowerRow, ks[0]},
                            {lowerRow, ks[1]},
                            {upperRow, ks[2]},
                            {upperRow, ks[3]},
                            {lowerRow, ks[2]},
                            {lowerRow, ks[3]}})
      a.push_back(arith::TruncFOp::create(b, loc, operandType,
                                          loadOrZero(activations, row, col)));
    SmallVector<Value> w;
    for (TileIndex col : ks)
      w.push_back(loadOrZero(weights, weightRow, col));
    Value aFragment = vector::FromElementsOp::create(
        b, loc, VectorType::get({4, 2}, operandType), a);
    Value bFragment = vector::FromElementsOp::create(
        b, loc, VectorType::get({2, 2}, operandType), w);
    Value product = nvgpu::MmaSyncOp::create(
        b, loc, aFragment, bFragment, loop.getRegionIterArgs().front(),
        ArrayRef<int64_t>{kMmaRows, kMmaCols, kMmaDepth});
    scf::YieldOp::create(b, loc, product);
  }

  // Inside the tile, a clamped index is the index itself.
  for (auto [i, at] : llvm::enumerate(accumulatorAt)) {
    auto [row, col] = at;
    Value value = vector::ExtractOp::create(
        b, loc, loop.getResult(0),
        ArrayRef<int64_t>{static_cast<int64_t>(i / 2),
                          static_cast<int64_t>(i % 2)});
    Value inside = bothInside(b, loc, row, col);
    OpBuilder::InsertionGuard guard(b);
    if (inside)
      b.setInsertionPointToStart(scf::IfOp::create(b, loc, inside).thenBlock());
    memref::StoreOp::create(b, loc, value, result,
                            ValueRange{row.clamped, col.clamped});
  }
  return success();
}

struct MoEGPUWarpMMAPass : moe::impl::MoEGPUWarpMMAPassBase<MoEGPUWarpMMAPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> tiles;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (op->hasAttr(kWarpMmaAttrName))
        tiles.push_back(op);
    });
    for (linalg::GenericOp op : tiles) {
      if (!getTensorCoreOperandType(op)) {
        op.emitOpError("a moe.warp_mma tile must compute C[m, n] += A[m, k] "
                       "* W[n, k] on buffers, with f32 A and C and bf16 or "
                       "f16 W");
        return signalPassFailure();
      }
      if (!op->getParentOfType<gpu::LaunchOp>() &&
          !op->getParentOfType<gpu::GPUFuncOp>()) {
        op.emitOpError("a moe.warp_mma tile must be inside a GPU kernel "
                       "(after moe-gpu-form-launches)");
        return signalPassFailure();
      }
      OpBuilder b(op);
      if (failed(WarpTileEmitter(b, op.getLoc()).emit(op)))
        return signalPassFailure();
      op.erase();
    }
  }
};

} // namespace

//===- WarpMMA.cpp - Warp tiles to tensor-core mma.sync ---------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-gpu-warp-mma: each moe.warp_mma tile of a
// segment matmul, which one warp runs, becomes a loop over K of
// nvgpu.mma.sync m16n8k16 on bf16 fragments that each lane loads from
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
  Value index(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  Value add(Value lhs, int64_t rhs) {
    return rhs == 0 ? lhs : arith::AddIOp::create(b, loc, lhs, index(rhs));
  }

  /// `memref[row, col]`, or zero where `row >= rowLimit` or `col >=
  /// colLimit` (a null limit: always inside).
  Value loadOrZero(Value memref, Value row, Value col, Value rowLimit,
                   Value colLimit);
  /// Whether (row, col) is inside the limits (null when always).
  Value inside(Value row, Value col, Value rowLimit, Value colLimit);

  OpBuilder &b;
  Location loc;
};

Value WarpTileEmitter::inside(Value row, Value col, Value rowLimit,
                              Value colLimit) {
  Value condition;
  for (auto [at, limit] : {std::pair(row, rowLimit), {col, colLimit}}) {
    if (!limit)
      continue;
    Value below =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, at, limit);
    condition =
        condition ? arith::AndIOp::create(b, loc, condition, below) : below;
  }
  return condition;
}

Value WarpTileEmitter::loadOrZero(Value memref, Value row, Value col,
                                  Value rowLimit, Value colLimit) {
  Value condition = inside(row, col, rowLimit, colLimit);
  // Clamped, the load stays inside the buffer for every lane.
  auto clamp = [&](Value at, Value limit) -> Value {
    if (!limit)
      return at;
    Value last = arith::SubIOp::create(b, loc, limit, index(1));
    return arith::MinUIOp::create(b, loc, at, last);
  };
  Value value = memref::LoadOp::create(
      b, loc, memref, ValueRange{clamp(row, rowLimit), clamp(col, colLimit)});
  if (!condition)
    return value;
  Value zero = arith::ConstantOp::create(
      b, loc, b.getZeroAttr(value.getType()));
  return arith::SelectOp::create(b, loc, condition, value, zero);
}

/// A limit for a dimension of `memref` unless `tile` divides its static
/// size: the tile's loads and stores check against it.
Value limitUnlessDivides(OpBuilder &b, Location loc, Value memref,
                         int64_t dim, int64_t tile) {
  int64_t size = cast<MemRefType>(memref.getType()).getDimSize(dim);
  if (!ShapedType::isDynamic(size) && size % tile == 0)
    return Value();
  return memref::DimOp::create(b, loc, memref, dim);
}

LogicalResult WarpTileEmitter::emit(linalg::GenericOp op) {
  Value activations = op.getDpsInputs()[0], weights = op.getDpsInputs()[1],
        result = op.getDpsInits()[0];
  for (auto [memref, dim, bound] :
       {std::tuple(result, 0, kMmaRows), {result, 1, kMmaCols}}) {
    FailureOr<int64_t> largest = ValueBoundsConstraintSet::computeConstantBound(
        presburger::BoundType::UB, ValueBoundsConstraintSet::Variable(memref, dim),
        /*stopCondition=*/nullptr, /*closedUB=*/true);
    if (failed(largest) || *largest > bound)
      return op.emitOpError("a moe.warp_mma tile must have at most ")
             << kMmaRows << " rows and " << kMmaCols << " columns";
  }
  // A padded 16 x 8 tile: rows and columns past the result's are zeros.
  Value rows = limitUnlessDivides(b, loc, result, 0, kMmaRows);
  Value cols = limitUnlessDivides(b, loc, result, 1, kMmaCols);
  Value depth = limitUnlessDivides(b, loc, activations, 1, kMmaDepth);

  Value lane = gpu::LaneIdOp::create(b, loc, b.getIndexType(),
                                     b.getIndexAttr(kNVIDIAWarpSize));
  Value group = arith::DivUIOp::create(b, loc, lane, index(4));
  Value pair = arith::MulIOp::create(
      b, loc, arith::RemUIOp::create(b, loc, lane, index(4)), index(2));
  Value upperRow = group, lowerRow = add(group, 8);

  // The accumulators: C's fragment.
  SmallVector<std::pair<Value, Value>> accumulatorAt = {
      {upperRow, pair}, {upperRow, add(pair, 1)},
      {lowerRow, pair}, {lowerRow, add(pair, 1)}};
  SmallVector<Value> accumulators;
  for (auto [row, col] : accumulatorAt)
    accumulators.push_back(loadOrZero(result, row, col, rows, cols));
  auto accumulatorType = VectorType::get({2, 2}, b.getF32Type());
  Value initial =
      vector::FromElementsOp::create(b, loc, accumulatorType, accumulators);

  Value k = memref::DimOp::create(b, loc, activations, 1);
  auto loop = scf::ForOp::create(b, loc, index(0), k, index(kMmaDepth),
                                 ValueRange{initial});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value k0 = loop.getInductionVar();
    Value kLow = arith::AddIOp::create(b, loc, k0, pair);
    Value kHigh = add(kLow, 8);
    SmallVector<Value> a;
    for (auto [row, col] :
         {std::pair(upperRow, kLow), {upperRow, add(kLow, 1)},
          {lowerRow, kLow}, {lowerRow, add(kLow, 1)},
          {upperRow, kHigh}, {upperRow, add(kHigh, 1)},
          {lowerRow, kHigh}, {lowerRow, add(kHigh, 1)}}) {
      Value value = loadOrZero(activations, row, col, rows, depth);
      a.push_back(arith::TruncFOp::create(b, loc, b.getBF16Type(), value));
    }
    SmallVector<Value> w;
    for (Value col : {kLow, add(kLow, 1), kHigh, add(kHigh, 1)})
      w.push_back(loadOrZero(weights, group, col, cols, depth));
    Value aFragment = vector::FromElementsOp::create(
        b, loc, VectorType::get({4, 2}, b.getBF16Type()), a);
    Value bFragment = vector::FromElementsOp::create(
        b, loc, VectorType::get({2, 2}, b.getBF16Type()), w);
    Value product = nvgpu::MmaSyncOp::create(
        b, loc, aFragment, bFragment, loop.getRegionIterArgs().front(),
        ArrayRef<int64_t>{kMmaRows, kMmaCols, kMmaDepth});
    scf::YieldOp::create(b, loc, product);
  }

  for (auto [i, at] : llvm::enumerate(accumulatorAt)) {
    auto [row, col] = at;
    Value value = vector::ExtractOp::create(
        b, loc, loop.getResult(0),
        ArrayRef<int64_t>{static_cast<int64_t>(i / 2),
                          static_cast<int64_t>(i % 2)});
    Value condition = inside(row, col, rows, cols);
    if (!condition) {
      memref::StoreOp::create(b, loc, value, result, ValueRange{row, col});
      continue;
    }
    auto ifInside = scf::IfOp::create(b, loc, condition);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifInside.thenBlock());
    memref::StoreOp::create(b, loc, value, result, ValueRange{row, col});
  }
  return success();
}

struct MoEGPUWarpMMAPass
    : moe::impl::MoEGPUWarpMMAPassBase<MoEGPUWarpMMAPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> tiles;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (op->hasAttr(kWarpMmaAttrName))
        tiles.push_back(op);
    });
    for (linalg::GenericOp op : tiles) {
      if (!isBF16WeightContraction(op)) {
        op.emitOpError("a moe.warp_mma tile must compute C[m, n] += A[m, k] "
                       "* W[n, k] on buffers, with f32 A and C and bf16 W");
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

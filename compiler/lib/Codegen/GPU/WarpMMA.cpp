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

#include "moe/Codegen/GPU/GatedTiles.h"
#include "moe/Codegen/GPU/Passes.h"
#include "moe/Codegen/GPU/TensorCores.h"
#include "moe/Dialect/MoE/IR/MoEDialect.h"

#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
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

  /// One tile, `op`: C += A * W, with C loaded and stored back.
  LogicalResult emit(linalg::GenericOp op);
  /// A gated FFN's tile (see GatedTiles.h): gate and up accumulate in
  /// registers, from their fills' value, over one K loop that loads each A
  /// fragment once; the epilogue runs on the accumulators and only its
  /// result is stored. Fails, emitting nothing, unless both matmuls are
  /// tensor-core tiles of the same activations.
  LogicalResult emitGated(const GatedGroup &group);

private:
  /// Checks that `result` is at most 16 x 8 and sets up the lane's
  /// fragment indices for a tile of `result` over `activations`' K.
  LogicalResult setUp(Operation *op, Value activations, Value result);
  /// The loop over K of mma.sync, one accumulator per weight (each starting
  /// from its `initial` fragment), the A fragment loaded once per step;
  /// returns the final accumulators.
  SmallVector<Value> emitProducts(Type operandType, Value activations,
                                  ArrayRef<Value> weights,
                                  ArrayRef<Value> initial);
  /// Stores `value` at the accumulator fragment's element `at` (only
  /// inside the tile).
  void storeInside(Value value, Value memref,
                   const std::pair<TileIndex, TileIndex> &at);

  Value constant(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  /// `at` in a dimension of `limit` elements (null: the tile fills it).
  TileIndex tileIndex(Value at, Value limit);
  /// `memref[row, col]`, or zero outside the tile.
  Value loadOrZero(Value memref, TileIndex row, TileIndex col);

  OpBuilder &b;
  Location loc;
  // Set by setUp.
  Value depth;
  TileIndex upperRow, lowerRow, firstCol, secondCol, weightRow;
  Value t;
  /// The accumulators' elements: C's fragment, in its order.
  SmallVector<std::pair<TileIndex, TileIndex>, 4> accumulatorAt;
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

LogicalResult WarpTileEmitter::setUp(Operation *op, Value activations,
                                     Value result) {
  for (auto [dim, bound] :
       {std::pair<int64_t, int64_t>(0, kMmaRows), {1, kMmaCols}}) {
    FailureOr<int64_t> largest = ValueBoundsConstraintSet::computeConstantBound(
        presburger::BoundType::UB,
        ValueBoundsConstraintSet::Variable(result, dim),
        /*stopCondition=*/nullptr, /*closedUB=*/true);
    if (failed(largest) || *largest > bound)
      return op->emitOpError("a moe.warp_mma tile must have at most ")
             << kMmaRows << " rows and " << kMmaCols << " columns";
  }
  // A padded 16 x 8 tile: rows and columns past the result's are zeros.
  Value rows = limitUnlessDivides(b, loc, result, 0, kMmaRows);
  Value cols = limitUnlessDivides(b, loc, result, 1, kMmaCols);
  depth = limitUnlessDivides(b, loc, activations, 1, kMmaDepth);

  Value lane = gpu::LaneIdOp::create(b, loc, b.getIndexType(),
                                     b.getIndexAttr(kNVIDIAWarpSize));
  Value g = arith::DivUIOp::create(b, loc, lane, constant(4));
  t = arith::MulIOp::create(
      b, loc, arith::RemUIOp::create(b, loc, lane, constant(4)), constant(2));
  Value one = constant(1), eight = constant(8);
  upperRow = tileIndex(g, rows);
  lowerRow = tileIndex(arith::AddIOp::create(b, loc, g, eight), rows);
  firstCol = tileIndex(t, cols);
  secondCol = tileIndex(arith::AddIOp::create(b, loc, t, one), cols);
  // W's rows are the tile's columns.
  weightRow = tileIndex(g, cols);
  accumulatorAt = {{upperRow, firstCol},
                   {upperRow, secondCol},
                   {lowerRow, firstCol},
                   {lowerRow, secondCol}};
  return success();
}

SmallVector<Value> WarpTileEmitter::emitProducts(Type operandType,
                                                 Value activations,
                                                 ArrayRef<Value> weights,
                                                 ArrayRef<Value> initial) {
  Value k = memref::DimOp::create(b, loc, activations, 1);
  auto loop =
      scf::ForOp::create(b, loc, constant(0), k, constant(kMmaDepth), initial);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Value k0 = loop.getInductionVar();
  Value one = constant(1), eight = constant(8);
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
  Value aFragment = vector::FromElementsOp::create(
      b, loc, VectorType::get({4, 2}, operandType), a);
  SmallVector<Value> products;
  for (auto [weight, accumulator] :
       llvm::zip(weights, loop.getRegionIterArgs())) {
    SmallVector<Value> w;
    for (TileIndex col : ks)
      w.push_back(loadOrZero(weight, weightRow, col));
    Value bFragment = vector::FromElementsOp::create(
        b, loc, VectorType::get({2, 2}, operandType), w);
    products.push_back(nvgpu::MmaSyncOp::create(
        b, loc, aFragment, bFragment, accumulator,
        ArrayRef<int64_t>{kMmaRows, kMmaCols, kMmaDepth}));
  }
  scf::YieldOp::create(b, loc, products);
  return SmallVector<Value>(loop.getResults());
}

void WarpTileEmitter::storeInside(Value value, Value memref,
                                  const std::pair<TileIndex, TileIndex> &at) {
  // Inside the tile, a clamped index is the index itself.
  auto [row, col] = at;
  Value inside = bothInside(b, loc, row, col);
  OpBuilder::InsertionGuard guard(b);
  if (inside)
    b.setInsertionPointToStart(scf::IfOp::create(b, loc, inside).thenBlock());
  memref::StoreOp::create(b, loc, value, memref,
                          ValueRange{row.clamped, col.clamped});
}

/// Element `i` of a [2, 2] accumulator fragment.
static Value fragmentElement(OpBuilder &b, Location loc, Value fragment,
                             int64_t i) {
  return vector::ExtractOp::create(b, loc, fragment,
                                   ArrayRef<int64_t>{i / 2, i % 2});
}

LogicalResult WarpTileEmitter::emit(linalg::GenericOp op) {
  Value activations = op.getDpsInputs()[0], weights = op.getDpsInputs()[1],
        result = op.getDpsInits()[0];
  if (failed(setUp(op, activations, result)))
    return failure();
  SmallVector<Value> accumulators;
  for (auto [row, col] : accumulatorAt)
    accumulators.push_back(loadOrZero(result, row, col));
  Value initial = vector::FromElementsOp::create(
      b, loc, VectorType::get({2, 2}, b.getF32Type()), accumulators);
  // The fragments' type: the weights'. The activations are rounded to it.
  Value product = emitProducts(getTensorCoreOperandType(op), activations,
                               {weights}, {initial})
                      .front();
  for (auto [i, at] : llvm::enumerate(accumulatorAt))
    storeInside(fragmentElement(b, loc, product, i), result, at);
  return success();
}

LogicalResult WarpTileEmitter::emitGated(const GatedGroup &group) {
  linalg::GenericOp gate = group.gate, up = group.up, epilogue = group.epilogue;
  Type operandType = getTensorCoreOperandType(gate);
  Value activations = gate.getDpsInputs()[0];
  if (!gate->hasAttr(kWarpMmaAttrName) || !up->hasAttr(kWarpMmaAttrName) ||
      !operandType || operandType != getTensorCoreOperandType(up) ||
      up.getDpsInputs()[0] != activations)
    return failure();
  // The epilogue's other inputs (biases) are read at the element's row and
  // column through their indexing maps.
  for (OpOperand *input : epilogue.getDpsInputOperands())
    if (!epilogue.getMatchingIndexingMap(input).isProjectedPermutation())
      return failure();
  if (failed(setUp(gate, activations, group.gateAcc)))
    return failure();
  auto splat = [&](linalg::FillOp fill) -> Value {
    return vector::BroadcastOp::create(b, loc,
                                       VectorType::get({2, 2}, b.getF32Type()),
                                       fill.getInputs().front());
  };
  SmallVector<Value> products = emitProducts(
      operandType, activations, {gate.getDpsInputs()[1], up.getDpsInputs()[1]},
      {splat(group.gateFill), splat(group.upFill)});
  Block &body = epilogue.getRegion().front();
  Value out = epilogue.getDpsInits()[0];
  for (auto [i, at] : llvm::enumerate(accumulatorAt)) {
    auto [row, col] = at;
    SmallVector<Value, 2> element = {row.clamped, col.clamped};
    IRMapping mapping;
    mapping.map(body.getArgument(0), fragmentElement(b, loc, products[0], i));
    mapping.map(body.getArgument(1), fragmentElement(b, loc, products[1], i));
    for (OpOperand *input :
         llvm::drop_begin(epilogue.getDpsInputOperands(), 2)) {
      SmallVector<Value> indices;
      for (AffineExpr expr :
           epilogue.getMatchingIndexingMap(input).getResults())
        indices.push_back(element[cast<AffineDimExpr>(expr).getPosition()]);
      mapping.map(epilogue.getMatchingBlockArgument(input),
                  memref::LoadOp::create(b, loc, input->get(), indices));
    }
    BlockArgument outArg =
        epilogue.getMatchingBlockArgument(epilogue.getDpsInitOperand(0));
    if (!outArg.use_empty())
      mapping.map(outArg, memref::LoadOp::create(b, loc, out, element));
    for (Operation &op : body.without_terminator())
      b.clone(op, mapping);
    Value value = mapping.lookupOrDefault(body.getTerminator()->getOperand(0));
    storeInside(value, out, at);
  }
  return success();
}

struct MoEGPUWarpMMAPass : moe::impl::MoEGPUWarpMMAPassBase<MoEGPUWarpMMAPass> {
  void runOnOperation() override {
    // Gated FFN tiles first: their matmuls then leave the one-tile path.
    SmallVector<GatedGroup> groups;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (std::optional<GatedGroup> group = matchGatedGroup(op);
          group && group->gate->hasAttr(kWarpMmaAttrName))
        groups.push_back(*group);
    });
    for (const GatedGroup &group : groups) {
      if (!group.epilogue->getParentOfType<gpu::LaunchOp>() &&
          !group.epilogue->getParentOfType<gpu::GPUFuncOp>())
        continue;
      OpBuilder b(group.epilogue);
      if (failed(WarpTileEmitter(b, group.epilogue->getLoc()).emitGated(group)))
        continue;
      for (Operation *op : group.ops())
        op->erase();
    }
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

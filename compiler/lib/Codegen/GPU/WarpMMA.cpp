//===- WarpMMA.cpp - Warp tiles to tensor-core mma.sync ---------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-gpu-warp-mma: each moe.warp_mma tile of a
// segment matmul, which one warp runs, becomes a loop over K of
// nvgpu.mma.sync (m16n8k16 on bf16 or f16 fragments, m16n8k8 on tf32) that
// each lane loads from memory (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/GPU/GatedTiles.h"
#include "moe/Codegen/GPU/Passes.h"
#include "moe/Codegen/GPU/TensorCores.h"
#include "moe/Dialect/MoE/IR/MoEDialect.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
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

/// Emits one warp's tile: up to 2 x 4 sub-tiles of mma.sync's 16 x 8
/// (kWarpTileRows x kWarpTileCols), whose mma.syncs share each A fragment
/// along a row of sub-tiles and each W fragment along a column. Fragment
/// layouts (PTX ISA, "Matrix Fragments for mma.m16n8k16" with 16-bit
/// operands, which upstream's transform.nvgpu.rewrite_matmul_as_mma_sync
/// also uses for f16, and "for mma.m16n8k8" with .tf32), with g = lane / 4
/// and q = lane % 4, in sub-tile (i, j) at rows 16 i and columns 8 j:
///   16-bit, K = 16, t = 2 q, a register holds two elements along K:
///     A [16, 16]: (g, t..t+1), (g+8, t..t+1), (g, t+8..t+9), (g+8, t+8..t+9)
///     B [16, 8]:  (t..t+1, g), (t+8..t+9, g)     (B[k, n] is W[n, k])
///   tf32, K = 8, a register holds one element:
///     A [16, 8]:  (g, q), (g+8, q), (g, q+4), (g+8, q+4)
///     B [8, 8]:   (q, g), (q+4, g)
///   C [16, 8]:  (g, 2q..2q+1), (g+8, 2q..2q+1)
/// A tile smaller than its sub-tiles, or a K that the mma's K does not
/// divide, is padded with zeros: a lane loads an element only inside the
/// tile (at a clamped index, then selects zero) and stores only inside it.
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
  /// An accumulator element's place: row and column.
  using Element = std::pair<TileIndex, TileIndex>;

  /// Checks that `result` is at most kWarpTileRows x kWarpTileCols and sets
  /// up the sub-tiles and the lane's fragment indices for a tile of
  /// `result` over `activations`' K.
  LogicalResult setUp(Operation *op, Value activations, Value result,
                      int64_t mmaDepth);
  /// The loop over K of mma.sync: for each weight, one accumulator per
  /// sub-tile, starting from `initial` (weight-major, then sub-tile rows,
  /// then columns); each A and W fragment loaded once per step. Returns the
  /// final accumulators in the same order.
  SmallVector<Value> emitProducts(Type operandType, Value activations,
                                  ArrayRef<Value> weights,
                                  ArrayRef<Value> initial);
  /// Element `e` (C's fragment order) of sub-tile (i, j).
  Element elementAt(int64_t i, int64_t j, int64_t e) const {
    return {e < 2 ? upperRows[i] : lowerRows[i],
            e % 2 == 0 ? firstCols[j] : secondCols[j]};
  }
  int64_t subTiles() const { return rowTiles * colTiles; }
  /// Stores `value` at `at` (only inside the tile).
  void storeInside(Value value, Value memref, const Element &at);

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
  int64_t rowTiles = 0, colTiles = 0;
  Value depth, quad, t;
  /// Rows g and g + 8 of each row of sub-tiles.
  SmallVector<TileIndex, 2> upperRows, lowerRows;
  /// Columns t and t + 1 of each column of sub-tiles, and W's row g there.
  SmallVector<TileIndex, 4> firstCols, secondCols, weightRows;
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

/// A limit for a dimension of `memref` unless its static size is `tile`:
/// the tile's loads and stores check against it.
static Value limitUnlessFull(OpBuilder &b, Location loc, Value memref,
                             int64_t dim, int64_t tile) {
  int64_t size = cast<MemRefType>(memref.getType()).getDimSize(dim);
  if (!ShapedType::isDynamic(size) && size % tile == 0)
    return Value();
  return memref::DimOp::create(b, loc, memref, dim);
}

LogicalResult WarpTileEmitter::setUp(Operation *op, Value activations,
                                     Value result, int64_t mmaDepth) {
  SmallVector<int64_t, 2> largest;
  for (auto [dim, bound] :
       {std::pair<int64_t, int64_t>(0, kWarpTileRows), {1, kWarpTileCols}}) {
    FailureOr<int64_t> size = ValueBoundsConstraintSet::computeConstantBound(
        presburger::BoundType::UB,
        ValueBoundsConstraintSet::Variable(result, dim),
        /*stopCondition=*/nullptr, /*closedUB=*/true);
    if (failed(size) || *size > bound || *size < 1)
      return op->emitOpError("a moe.warp_mma tile must have at most ")
             << kWarpTileRows << " rows and " << kWarpTileCols << " columns";
    largest.push_back(*size);
  }
  rowTiles = llvm::divideCeil(largest[0], kMmaRows);
  colTiles = llvm::divideCeil(largest[1], kMmaCols);
  // Rows and columns past the result's, up to the sub-tiles', are zeros.
  Value rows = limitUnlessFull(b, loc, result, 0, rowTiles * kMmaRows);
  Value cols = limitUnlessFull(b, loc, result, 1, colTiles * kMmaCols);
  depth = limitUnlessFull(b, loc, activations, 1, mmaDepth);

  Value lane = gpu::LaneIdOp::create(b, loc, b.getIndexType(),
                                     b.getIndexAttr(kNVIDIAWarpSize));
  Value g = arith::DivUIOp::create(b, loc, lane, constant(4));
  quad = arith::RemUIOp::create(b, loc, lane, constant(4));
  t = arith::MulIOp::create(b, loc, quad, constant(2));
  auto plus = [&](Value value, int64_t offset) -> Value {
    if (offset == 0)
      return value;
    return arith::AddIOp::create(b, loc, value, constant(offset));
  };
  upperRows.clear();
  lowerRows.clear();
  firstCols.clear();
  secondCols.clear();
  weightRows.clear();
  for (int64_t i = 0; i < rowTiles; ++i) {
    upperRows.push_back(tileIndex(plus(g, i * kMmaRows), rows));
    lowerRows.push_back(tileIndex(plus(g, i * kMmaRows + 8), rows));
  }
  for (int64_t j = 0; j < colTiles; ++j) {
    firstCols.push_back(tileIndex(plus(t, j * kMmaCols), cols));
    secondCols.push_back(tileIndex(plus(t, j * kMmaCols + 1), cols));
    // W's rows are the tile's columns.
    weightRows.push_back(tileIndex(plus(g, j * kMmaCols), cols));
  }
  return success();
}

SmallVector<Value> WarpTileEmitter::emitProducts(Type operandType,
                                                 Value activations,
                                                 ArrayRef<Value> weights,
                                                 ArrayRef<Value> initial) {
  bool isTF32 = isa<FloatTF32Type>(operandType);
  int64_t mmaDepth = getMmaDepth(operandType);
  // A fragment register holds 32 bits: two 16-bit elements along K, or one
  // tf32 (in an f32).
  int64_t perRegister = isTF32 ? 1 : 2;
  Type elementType = isTF32 ? b.getF32Type() : operandType;
  Value k = memref::DimOp::create(b, loc, activations, 1);
  auto loop =
      scf::ForOp::create(b, loc, constant(0), k, constant(mmaDepth), initial);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Value k0 = loop.getInductionVar();
  // The lane's K columns: the first half's registers at k0 + (t or q), the
  // second half's mmaDepth / 2 further, each register perRegister of them.
  Value first = arith::AddIOp::create(b, loc, k0, isTF32 ? quad : t);
  SmallVector<SmallVector<TileIndex, 2>, 2> halves;
  for (int64_t half = 0; half < 2; ++half) {
    SmallVector<TileIndex, 2> columns;
    for (int64_t e = 0; e < perRegister; ++e) {
      int64_t offset = half * (mmaDepth / 2) + e;
      Value at = offset == 0
                     ? first
                     : arith::AddIOp::create(b, loc, first, constant(offset));
      columns.push_back(tileIndex(at, depth));
    }
    halves.push_back(columns);
  }
  // Rounded to the operand type: the activations always, the weights when
  // they are f32 (tf32). To tf32 by cvt.rna.tf32.f32, one instruction for
  // what the tile's body computes on the bits (roundToTensorCoreOperand).
  auto load = [&](Value memref, TileIndex row, TileIndex col, bool round) {
    Value value = loadOrZero(memref, row, col);
    if (!round)
      return value;
    if (!isTF32)
      return roundToTensorCoreOperand(b, loc, value, operandType);
    Value bits = NVVM::ConvertFloatToTF32Op::create(
        b, loc, b.getI32Type(), value, NVVM::FPRoundingMode::RNA,
        NVVM::SaturationMode::NONE, /*relu=*/false);
    return Value(arith::BitcastOp::create(b, loc, b.getF32Type(), bits));
  };
  // One A fragment per row of sub-tiles: registers (g, first half), (g + 8,
  // first half), (g, second half), (g + 8, second half).
  SmallVector<Value, 2> aFragments;
  for (int64_t i = 0; i < rowTiles; ++i) {
    SmallVector<Value> a;
    for (ArrayRef<TileIndex> columns : halves)
      for (TileIndex row : {upperRows[i], lowerRows[i]})
        for (TileIndex col : columns)
          a.push_back(load(activations, row, col, /*round=*/true));
    aFragments.push_back(vector::FromElementsOp::create(
        b, loc, VectorType::get({4, perRegister}, elementType), a));
  }
  // One W fragment per weight and column of sub-tiles, for the column's
  // mma.syncs: W's row g at each half's columns.
  SmallVector<Value> products(initial.size());
  auto accumulators = loop.getRegionIterArgs();
  for (auto [w, weight] : llvm::enumerate(weights))
    for (int64_t j = 0; j < colTiles; ++j) {
      SmallVector<Value> elements;
      for (ArrayRef<TileIndex> columns : halves)
        for (TileIndex col : columns)
          elements.push_back(load(weight, weightRows[j], col, isTF32));
      Value bFragment = vector::FromElementsOp::create(
          b, loc, VectorType::get({2, perRegister}, elementType), elements);
      for (int64_t i = 0; i < rowTiles; ++i) {
        int64_t at = (w * rowTiles + i) * colTiles + j;
        products[at] = nvgpu::MmaSyncOp::create(
            b, loc, aFragments[i], bFragment, accumulators[at],
            ArrayRef<int64_t>{kMmaRows, kMmaCols, mmaDepth}, isTF32);
      }
    }
  scf::YieldOp::create(b, loc, products);
  return SmallVector<Value>(loop.getResults());
}

void WarpTileEmitter::storeInside(Value value, Value memref,
                                  const Element &at) {
  // Inside the tile, a clamped index is the index itself.
  auto [row, col] = at;
  Value inside = bothInside(b, loc, row, col);
  OpBuilder::InsertionGuard guard(b);
  if (inside)
    b.setInsertionPointToStart(scf::IfOp::create(b, loc, inside).thenBlock());
  memref::StoreOp::create(b, loc, value, memref,
                          ValueRange{row.clamped, col.clamped});
}

/// Element `e` of a [2, 2] accumulator fragment.
static Value fragmentElement(OpBuilder &b, Location loc, Value fragment,
                             int64_t e) {
  return vector::ExtractOp::create(b, loc, fragment,
                                   ArrayRef<int64_t>{e / 2, e % 2});
}

LogicalResult WarpTileEmitter::emit(linalg::GenericOp op) {
  Value activations = op.getDpsInputs()[0], weights = op.getDpsInputs()[1],
        result = op.getDpsInits()[0];
  Type operandType = getTensorCoreOperandType(op);
  if (failed(setUp(op, activations, result, getMmaDepth(operandType))))
    return failure();
  SmallVector<Value> initial;
  for (int64_t i = 0; i < rowTiles; ++i)
    for (int64_t j = 0; j < colTiles; ++j) {
      SmallVector<Value> accumulators;
      for (int64_t e = 0; e < 4; ++e) {
        auto [row, col] = elementAt(i, j, e);
        accumulators.push_back(loadOrZero(result, row, col));
      }
      initial.push_back(vector::FromElementsOp::create(
          b, loc, VectorType::get({2, 2}, b.getF32Type()), accumulators));
    }
  SmallVector<Value> products =
      emitProducts(operandType, activations, {weights}, initial);
  for (int64_t i = 0; i < rowTiles; ++i)
    for (int64_t j = 0; j < colTiles; ++j)
      for (int64_t e = 0; e < 4; ++e)
        storeInside(fragmentElement(b, loc, products[i * colTiles + j], e),
                    result, elementAt(i, j, e));
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
  if (failed(setUp(gate, activations, group.gateAcc, getMmaDepth(operandType))))
    return failure();
  SmallVector<Value> initial;
  for (linalg::FillOp fill : {group.gateFill, group.upFill}) {
    Value splat = vector::BroadcastOp::create(
        b, loc, VectorType::get({2, 2}, b.getF32Type()),
        fill.getInputs().front());
    initial.append(subTiles(), splat);
  }
  SmallVector<Value> products =
      emitProducts(operandType, activations,
                   {gate.getDpsInputs()[1], up.getDpsInputs()[1]}, initial);
  Block &body = epilogue.getRegion().front();
  Value out = epilogue.getDpsInits()[0];
  SmallVector<OpOperand *> inputs = epilogue.getDpsInputOperands();
  BlockArgument outArg =
      epilogue.getMatchingBlockArgument(epilogue.getDpsInitOperand(0));
  for (int64_t i = 0; i < rowTiles; ++i)
    for (int64_t j = 0; j < colTiles; ++j) {
      int64_t at = i * colTiles + j;
      for (int64_t e = 0; e < 4; ++e) {
        Element place = elementAt(i, j, e);
        SmallVector<Value, 2> element = {place.first.clamped,
                                         place.second.clamped};
        IRMapping mapping;
        mapping.map(body.getArgument(0),
                    fragmentElement(b, loc, products[at], e));
        mapping.map(body.getArgument(1),
                    fragmentElement(b, loc, products[subTiles() + at], e));
        for (OpOperand *input : llvm::drop_begin(inputs, 2)) {
          SmallVector<Value> indices;
          for (AffineExpr expr :
               epilogue.getMatchingIndexingMap(input).getResults())
            indices.push_back(element[cast<AffineDimExpr>(expr).getPosition()]);
          mapping.map(epilogue.getMatchingBlockArgument(input),
                      memref::LoadOp::create(b, loc, input->get(), indices));
        }
        if (!outArg.use_empty())
          mapping.map(outArg, memref::LoadOp::create(b, loc, out, element));
        for (Operation &op : body.without_terminator())
          b.clone(op, mapping);
        storeInside(
            mapping.lookupOrDefault(body.getTerminator()->getOperand(0)), out,
            place);
      }
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
                       "* W[n, k] on buffers, with f32 A and C and bf16, "
                       "f16 or f32 (tf32) W");
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

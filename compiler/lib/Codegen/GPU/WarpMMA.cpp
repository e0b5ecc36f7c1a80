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

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/NVGPU/Utils/MMAUtils.h"
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
  /// With `emulateLanes`, the lane code runs on the host (see Passes.td).
  WarpTileEmitter(OpBuilder &b, Location loc, bool emulateLanes)
      : b(b), loc(loc), emulateLanes(emulateLanes) {}

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
  /// Accumulator element `e` (C's fragment order) of accumulator `s`.
  using ElementFn = function_ref<Value(int64_t s, int64_t e)>;

  /// Checks that `result` is at most kWarpTileRows x kWarpTileCols and sets
  /// its sub-tiles.
  LogicalResult checkShape(Operation *op, Value result);
  /// Sets up, for lane `lane` (null: the GPU's lane id), its fragment
  /// indices for a tile of `result` over `activations`' K.
  void setUpLane(Value activations, Value result, int64_t mmaDepth, Value lane);
  /// The tile: for each weight, one accumulator per sub-tile (weight-major,
  /// then sub-tile rows, then columns), element e of accumulator s starting
  /// from `initial(s, e)`, then a loop over K of mma.sync, each A and W
  /// fragment loaded once per step; `finish` gets the final elements. Both
  /// run where the lane's indices are set up.
  void emitTile(Type operandType, Value activations, Value result,
                ArrayRef<Value> weights, ElementFn initial,
                function_ref<void(ElementFn)> finish);
  /// The lane's K columns at step `k0`: per half of the step, one per
  /// element of a fragment register.
  SmallVector<SmallVector<TileIndex, 2>, 2> stepColumns(Type operandType,
                                                        Value k0);
  /// The lane's elements of A's fragment for row of sub-tiles `i`, in
  /// register order, rounded to the operand type.
  SmallVector<Value> aElements(Type operandType, Value activations,
                               ArrayRef<SmallVector<TileIndex, 2>> halves,
                               int64_t i);
  /// The lane's elements of `weight`'s fragment for column of sub-tiles `j`.
  SmallVector<Value> wElements(Type operandType, Value weight,
                               ArrayRef<SmallVector<TileIndex, 2>> halves,
                               int64_t j);
  /// The loop over K of nvgpu.mma.sync, from the `initial` accumulators.
  SmallVector<Value> emitProducts(Type operandType, Value activations,
                                  ArrayRef<Value> weights,
                                  ArrayRef<Value> initial);
  /// On the host: `body(lane)` in a loop over the warp's lanes.
  void forEachLane(function_ref<void(Value)> body);
  /// On the host: one mma.sync of the lanes' fragments, A's row of
  /// sub-tiles `i` and W fragment `j`, into accumulator `s`, all in
  /// [lane, ...] buffers, by upstream's fragment layouts.
  void emulateMma(Type operandType, Value aBuffer, int64_t i, Value wBuffer,
                  int64_t j, Value accBuffer, int64_t s);
  /// Element `e` (C's fragment order) of sub-tile (i, j).
  Element elementAt(int64_t i, int64_t j, int64_t e) const {
    return {e < 2 ? upperRows[i] : lowerRows[i],
            e % 2 == 0 ? firstCols[j] : secondCols[j]};
  }
  int64_t subTiles() const { return rowTiles * colTiles; }
  /// Stores `value` at `at` (only inside the tile).
  void storeInside(Value value, Value memref, const Element &at);
  /// `value` rounded to `operandType` as the tile's body does (tf32: by
  /// cvt.rna.tf32.f32 on the GPU, on the bits on the host).
  Value round(Value value, Type operandType);

  Value constant(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  /// `at` in a dimension of `limit` elements (null: the tile fills it).
  TileIndex tileIndex(Value at, Value limit);
  /// `memref[row, col]`, or zero outside the tile.
  Value loadOrZero(Value memref, TileIndex row, TileIndex col);

  OpBuilder &b;
  Location loc;
  bool emulateLanes;
  // Set by checkShape.
  int64_t rowTiles = 0, colTiles = 0;
  // Set by setUpLane.
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

LogicalResult WarpTileEmitter::checkShape(Operation *op, Value result) {
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
  return success();
}

void WarpTileEmitter::setUpLane(Value activations, Value result,
                                int64_t mmaDepth, Value lane) {
  // Rows and columns past the result's, up to the sub-tiles', are zeros.
  Value rows = limitUnlessFull(b, loc, result, 0, rowTiles * kMmaRows);
  Value cols = limitUnlessFull(b, loc, result, 1, colTiles * kMmaCols);
  depth = limitUnlessFull(b, loc, activations, 1, mmaDepth);
  if (!lane)
    lane = gpu::LaneIdOp::create(b, loc, b.getIndexType(),
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
}

Value WarpTileEmitter::round(Value value, Type operandType) {
  if (!isa<FloatTF32Type>(operandType) || emulateLanes)
    return roundToTensorCoreOperand(b, loc, value, operandType);
  // To tf32 by cvt.rna.tf32.f32, one instruction for what the tile's body
  // computes on the bits (roundToTensorCoreOperand).
  Value bits = NVVM::ConvertFloatToTF32Op::create(
      b, loc, b.getI32Type(), value, NVVM::FPRoundingMode::RNA,
      NVVM::SaturationMode::NONE, /*relu=*/false);
  return arith::BitcastOp::create(b, loc, b.getF32Type(), bits);
}

SmallVector<SmallVector<TileIndex, 2>, 2>
WarpTileEmitter::stepColumns(Type operandType, Value k0) {
  bool isTF32 = isa<FloatTF32Type>(operandType);
  int64_t mmaDepth = getMmaDepth(operandType);
  // A fragment register holds 32 bits: two 16-bit elements along K, or one
  // tf32 (in an f32). The first half's registers sit at k0 + (t or q), the
  // second half's mmaDepth / 2 further.
  int64_t perRegister = isTF32 ? 1 : 2;
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
  return halves;
}

SmallVector<Value>
WarpTileEmitter::aElements(Type operandType, Value activations,
                           ArrayRef<SmallVector<TileIndex, 2>> halves,
                           int64_t i) {
  // Registers (g, first half), (g + 8, first half), (g, second half),
  // (g + 8, second half), rounded to the operand type.
  SmallVector<Value> elements;
  for (ArrayRef<TileIndex> columns : halves)
    for (TileIndex row : {upperRows[i], lowerRows[i]})
      for (TileIndex col : columns)
        elements.push_back(
            round(loadOrZero(activations, row, col), operandType));
  return elements;
}

SmallVector<Value>
WarpTileEmitter::wElements(Type operandType, Value weight,
                           ArrayRef<SmallVector<TileIndex, 2>> halves,
                           int64_t j) {
  // W's row g at each half's columns; rounded only when f32 (tf32).
  SmallVector<Value> elements;
  for (ArrayRef<TileIndex> columns : halves)
    for (TileIndex col : columns) {
      Value value = loadOrZero(weight, weightRows[j], col);
      elements.push_back(
          isa<FloatTF32Type>(operandType) ? round(value, operandType) : value);
    }
  return elements;
}

SmallVector<Value> WarpTileEmitter::emitProducts(Type operandType,
                                                 Value activations,
                                                 ArrayRef<Value> weights,
                                                 ArrayRef<Value> initial) {
  bool isTF32 = isa<FloatTF32Type>(operandType);
  int64_t mmaDepth = getMmaDepth(operandType);
  int64_t perRegister = isTF32 ? 1 : 2;
  Type elementType = isTF32 ? b.getF32Type() : operandType;
  Value k = memref::DimOp::create(b, loc, activations, 1);
  auto loop =
      scf::ForOp::create(b, loc, constant(0), k, constant(mmaDepth), initial);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  SmallVector<SmallVector<TileIndex, 2>, 2> halves =
      stepColumns(operandType, loop.getInductionVar());
  // One A fragment per row of sub-tiles.
  SmallVector<Value, 2> aFragments;
  for (int64_t i = 0; i < rowTiles; ++i)
    aFragments.push_back(vector::FromElementsOp::create(
        b, loc, VectorType::get({4, perRegister}, elementType),
        aElements(operandType, activations, halves, i)));
  // One W fragment per weight and column of sub-tiles, for the column's
  // mma.syncs.
  SmallVector<Value> products(initial.size());
  auto accumulators = loop.getRegionIterArgs();
  for (auto [weight, memref] : llvm::enumerate(weights))
    for (int64_t j = 0; j < colTiles; ++j) {
      Value bFragment = vector::FromElementsOp::create(
          b, loc, VectorType::get({2, perRegister}, elementType),
          wElements(operandType, memref, halves, j));
      for (int64_t i = 0; i < rowTiles; ++i) {
        int64_t at = (weight * rowTiles + i) * colTiles + j;
        products[at] = nvgpu::MmaSyncOp::create(
            b, loc, aFragments[i], bFragment, accumulators[at],
            ArrayRef<int64_t>{kMmaRows, kMmaCols, mmaDepth}, isTF32);
      }
    }
  scf::YieldOp::create(b, loc, products);
  return SmallVector<Value>(loop.getResults());
}

void WarpTileEmitter::forEachLane(function_ref<void(Value)> body) {
  auto loop = scf::ForOp::create(b, loc, constant(0), constant(kNVIDIAWarpSize),
                                 constant(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(loop.getBody()->getTerminator());
  body(loop.getInductionVar());
}

void WarpTileEmitter::emulateMma(Type operandType, Value aBuffer, int64_t i,
                                 Value wBuffer, int64_t j, Value accBuffer,
                                 int64_t s) {
  bool isTF32 = isa<FloatTF32Type>(operandType);
  int64_t mmaDepth = getMmaDepth(operandType);
  int64_t perRegister = isTF32 ? 1 : 2;
  // Upstream's layouts by element width (its register query has no bf16;
  // bf16's layout is f16's).
  Type layoutType = isTF32 ? b.getF32Type() : Type(b.getF16Type());
  Type f32 = b.getF32Type();
  auto layout = [&](ArrayRef<int64_t> shape, Type type,
                    nvgpu::MatMulOperandRole role) {
    FailureOr<AffineMap> map = nvgpu::getLaneIdAndValueIdToOperandCoord(
        b, loc, nvgpu::WarpMatrixInfo{VectorType::get(shape, type), role});
    assert(succeeded(map) && "mma.sync shapes have upstream layouts");
    return *map;
  };
  AffineMap aLayout =
      layout({kMmaRows, mmaDepth}, layoutType, nvgpu::MatMulOperandRole::A);
  AffineMap wLayout =
      layout({kMmaCols, mmaDepth}, layoutType, nvgpu::MatMulOperandRole::B);
  AffineMap cLayout =
      layout({kMmaRows, kMmaCols}, f32, nvgpu::MatMulOperandRole::C);
  Value aFull = memref::AllocaOp::create(
      b, loc, MemRefType::get({kMmaRows, mmaDepth}, f32));
  Value wFull = memref::AllocaOp::create(
      b, loc, MemRefType::get({kMmaCols, mmaDepth}, f32));
  Value cFull = memref::AllocaOp::create(
      b, loc, MemRefType::get({kMmaRows, kMmaCols}, f32));
  auto coordinates = [&](AffineMap map, Value lane, Value value) {
    SmallVector<Value, 2> at;
    for (unsigned r = 0; r < 2; ++r)
      at.push_back(affine::AffineApplyOp::create(b, loc, map.getSubMap({r}),
                                                 ValueRange{lane, value}));
    return at;
  };
  auto widened = [&](Value value) -> Value {
    if (value.getType() == f32)
      return value;
    return arith::ExtFOp::create(b, loc, f32, value);
  };
  // Scatter (or, with `gather`, gather back) each lane's `values` elements
  // of fragment `index` in `buffer` to the full matrix by `map`.
  auto exchange = [&](Value buffer, int64_t index, int64_t values,
                      AffineMap map, Value full, bool gather) {
    forEachLane([&](Value lane) {
      for (int64_t v = 0; v < values; ++v) {
        Value value = constant(v);
        SmallVector<Value, 2> at = coordinates(map, lane, value);
        SmallVector<Value, 3> slot = {lane, constant(index), value};
        if (gather) {
          Value element = memref::LoadOp::create(b, loc, full, at);
          memref::StoreOp::create(b, loc, element, buffer, slot);
        } else {
          Value element = memref::LoadOp::create(b, loc, buffer, slot);
          memref::StoreOp::create(b, loc, widened(element), full, at);
        }
      }
    });
  };
  exchange(aBuffer, i, 4 * perRegister, aLayout, aFull, /*gather=*/false);
  exchange(wBuffer, j, 2 * perRegister, wLayout, wFull, /*gather=*/false);
  exchange(accBuffer, s, 4, cLayout, cFull, /*gather=*/false);
  // C[m, n] += sum over k of A[m, k] * W[n, k], in f32.
  auto rows =
      scf::ForOp::create(b, loc, constant(0), constant(kMmaRows), constant(1));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(rows.getBody()->getTerminator());
    auto cols = scf::ForOp::create(b, loc, constant(0), constant(kMmaCols),
                                   constant(1));
    b.setInsertionPoint(cols.getBody()->getTerminator());
    Value m = rows.getInductionVar(), n = cols.getInductionVar();
    Value c = memref::LoadOp::create(b, loc, cFull, ValueRange{m, n});
    auto ks = scf::ForOp::create(b, loc, constant(0), constant(mmaDepth),
                                 constant(1), ValueRange{c});
    b.setInsertionPointToStart(ks.getBody());
    Value k = ks.getInductionVar();
    Value product = arith::MulFOp::create(
        b, loc, memref::LoadOp::create(b, loc, aFull, ValueRange{m, k}),
        memref::LoadOp::create(b, loc, wFull, ValueRange{n, k}));
    scf::YieldOp::create(b, loc,
                         ValueRange{arith::AddFOp::create(
                             b, loc, ks.getRegionIterArg(0), product)});
    b.setInsertionPointAfter(ks);
    memref::StoreOp::create(b, loc, ks.getResult(0), cFull, ValueRange{m, n});
  }
  exchange(accBuffer, s, 4, cLayout, cFull, /*gather=*/true);
}

void WarpTileEmitter::emitTile(Type operandType, Value activations,
                               Value result, ArrayRef<Value> weights,
                               ElementFn initial,
                               function_ref<void(ElementFn)> finish) {
  int64_t mmaDepth = getMmaDepth(operandType);
  int64_t accumulators = static_cast<int64_t>(weights.size()) * subTiles();
  if (!emulateLanes) {
    setUpLane(activations, result, mmaDepth, /*lane=*/Value());
    SmallVector<Value> initialFragments;
    VectorType fragmentType = VectorType::get({2, 2}, b.getF32Type());
    for (int64_t s = 0; s < accumulators; ++s) {
      SmallVector<Value, 4> elements;
      for (int64_t e = 0; e < 4; ++e)
        elements.push_back(initial(s, e));
      // A fill's value: one splat.
      if (llvm::all_equal(elements)) {
        initialFragments.push_back(vector::BroadcastOp::create(
            b, loc, fragmentType, elements.front()));
        continue;
      }
      initialFragments.push_back(
          vector::FromElementsOp::create(b, loc, fragmentType, elements));
    }
    SmallVector<Value> products =
        emitProducts(operandType, activations, weights, initialFragments);
    finish([&](int64_t s, int64_t e) -> Value {
      return vector::ExtractOp::create(b, loc, products[s],
                                       ArrayRef<int64_t>{e / 2, e % 2});
    });
    return;
  }
  // On the host: the lanes' accumulators and fragments in [lane, ...]
  // buffers, each phase a loop over the lanes.
  bool isTF32 = isa<FloatTF32Type>(operandType);
  int64_t perRegister = isTF32 ? 1 : 2;
  Type elementType = isTF32 ? b.getF32Type() : operandType;
  Value accBuffer = memref::AllocaOp::create(
      b, loc,
      MemRefType::get({kNVIDIAWarpSize, accumulators, 4}, b.getF32Type()));
  Value aBuffer = memref::AllocaOp::create(
      b, loc,
      MemRefType::get({kNVIDIAWarpSize, rowTiles, 4 * perRegister},
                      elementType));
  int64_t wFragments = static_cast<int64_t>(weights.size()) * colTiles;
  Value wBuffer = memref::AllocaOp::create(
      b, loc,
      MemRefType::get({kNVIDIAWarpSize, wFragments, 2 * perRegister},
                      elementType));
  auto slot = [&](Value lane, int64_t index, int64_t value) {
    return SmallVector<Value, 3>{lane, constant(index), constant(value)};
  };
  forEachLane([&](Value lane) {
    setUpLane(activations, result, mmaDepth, lane);
    for (int64_t s = 0; s < accumulators; ++s)
      for (int64_t e = 0; e < 4; ++e)
        memref::StoreOp::create(b, loc, initial(s, e), accBuffer,
                                slot(lane, s, e));
  });
  Value k = memref::DimOp::create(b, loc, activations, 1);
  auto loop = scf::ForOp::create(b, loc, constant(0), k, constant(mmaDepth));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(loop.getBody()->getTerminator());
    Value k0 = loop.getInductionVar();
    forEachLane([&](Value lane) {
      setUpLane(activations, result, mmaDepth, lane);
      SmallVector<SmallVector<TileIndex, 2>, 2> halves =
          stepColumns(operandType, k0);
      for (int64_t i = 0; i < rowTiles; ++i)
        for (auto [v, element] :
             llvm::enumerate(aElements(operandType, activations, halves, i)))
          memref::StoreOp::create(b, loc, element, aBuffer, slot(lane, i, v));
      for (auto [weight, memref] : llvm::enumerate(weights))
        for (int64_t j = 0; j < colTiles; ++j)
          for (auto [v, element] :
               llvm::enumerate(wElements(operandType, memref, halves, j)))
            memref::StoreOp::create(b, loc, element, wBuffer,
                                    slot(lane, weight * colTiles + j, v));
    });
    for (int64_t wj = 0; wj < wFragments; ++wj) {
      int64_t weight = wj / colTiles, j = wj % colTiles;
      for (int64_t i = 0; i < rowTiles; ++i)
        emulateMma(operandType, aBuffer, i, wBuffer, wj, accBuffer,
                   (weight * rowTiles + i) * colTiles + j);
    }
  }
  forEachLane([&](Value lane) {
    setUpLane(activations, result, mmaDepth, lane);
    finish([&](int64_t s, int64_t e) -> Value {
      return memref::LoadOp::create(b, loc, accBuffer, slot(lane, s, e));
    });
  });
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

LogicalResult WarpTileEmitter::emit(linalg::GenericOp op) {
  Value activations = op.getDpsInputs()[0], weights = op.getDpsInputs()[1],
        result = op.getDpsInits()[0];
  if (failed(checkShape(op, result)))
    return failure();
  emitTile(
      getTensorCoreOperandType(op), activations, result, {weights},
      [&](int64_t s, int64_t e) -> Value {
        auto [row, col] = elementAt(s / colTiles, s % colTiles, e);
        return loadOrZero(result, row, col);
      },
      [&](ElementFn value) {
        for (int64_t s = 0; s < subTiles(); ++s)
          for (int64_t e = 0; e < 4; ++e)
            storeInside(value(s, e), result,
                        elementAt(s / colTiles, s % colTiles, e));
      });
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
  if (failed(checkShape(gate, group.gateAcc)))
    return failure();
  Block &body = epilogue.getRegion().front();
  Value out = epilogue.getDpsInits()[0];
  SmallVector<OpOperand *> inputs = epilogue.getDpsInputOperands();
  BlockArgument outArg =
      epilogue.getMatchingBlockArgument(epilogue.getDpsInitOperand(0));
  linalg::FillOp gateFill = group.gateFill, upFill = group.upFill;
  Value fills[2] = {gateFill.getInputs().front(), upFill.getInputs().front()};
  emitTile(
      operandType, activations, group.gateAcc,
      {gate.getDpsInputs()[1], up.getDpsInputs()[1]},
      [&](int64_t s, int64_t) -> Value { return fills[s / subTiles()]; },
      [&](ElementFn value) {
        for (int64_t at = 0; at < subTiles(); ++at)
          for (int64_t e = 0; e < 4; ++e) {
            Element place = elementAt(at / colTiles, at % colTiles, e);
            SmallVector<Value, 2> element = {place.first.clamped,
                                             place.second.clamped};
            IRMapping mapping;
            mapping.map(body.getArgument(0), value(at, e));
            mapping.map(body.getArgument(1), value(subTiles() + at, e));
            for (OpOperand *input : llvm::drop_begin(inputs, 2)) {
              SmallVector<Value> indices;
              for (AffineExpr expr :
                   epilogue.getMatchingIndexingMap(input).getResults())
                indices.push_back(
                    element[cast<AffineDimExpr>(expr).getPosition()]);
              mapping.map(
                  epilogue.getMatchingBlockArgument(input),
                  memref::LoadOp::create(b, loc, input->get(), indices));
            }
            if (!outArg.use_empty())
              mapping.map(outArg, memref::LoadOp::create(b, loc, out, element));
            for (Operation &op : body.without_terminator())
              b.clone(op, mapping);
            storeInside(
                mapping.lookupOrDefault(body.getTerminator()->getOperand(0)),
                out, place);
          }
      });
  return success();
}

/// Whether `op` sits in a forall over a block's warps (its tiles before
/// the launches are formed).
bool isInWarpForall(Operation *op) {
  for (auto forall = op->getParentOfType<scf::ForallOp>(); forall;
       forall = forall->getParentOfType<scf::ForallOp>()) {
    std::optional<ArrayAttr> mapping = forall.getMapping();
    if (mapping && !mapping->empty() &&
        isa<gpu::GPUWarpMappingAttr>(mapping->getValue().front()))
      return true;
  }
  return false;
}

struct MoEGPUWarpMMAPass : moe::impl::MoEGPUWarpMMAPassBase<MoEGPUWarpMMAPass> {
  using MoEGPUWarpMMAPassBase::MoEGPUWarpMMAPassBase;

  /// Where a tile may be rewritten: in a GPU kernel, or on the host in its
  /// warp forall.
  bool isWarpCode(Operation *op) {
    if (emulateLanes)
      return isInWarpForall(op);
    return op->getParentOfType<gpu::LaunchOp>() ||
           op->getParentOfType<gpu::GPUFuncOp>();
  }

  void runOnOperation() override {
    // Gated FFN tiles first: their matmuls then leave the one-tile path.
    SmallVector<GatedGroup> groups;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (std::optional<GatedGroup> group = matchGatedGroup(op);
          group && group->gate->hasAttr(kWarpMmaAttrName))
        groups.push_back(*group);
    });
    for (const GatedGroup &group : groups) {
      if (!isWarpCode(group.epilogue))
        continue;
      OpBuilder b(group.epilogue);
      if (failed(WarpTileEmitter(b, group.epilogue->getLoc(), emulateLanes)
                     .emitGated(group)))
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
      if (!isWarpCode(op)) {
        op.emitOpError(emulateLanes
                           ? "a moe.warp_mma tile must be inside a forall "
                             "over warps (emulate-lanes)"
                           : "a moe.warp_mma tile must be inside a GPU "
                             "kernel (after moe-gpu-form-launches)");
        return signalPassFailure();
      }
      OpBuilder b(op);
      if (failed(WarpTileEmitter(b, op.getLoc(), emulateLanes).emit(op)))
        return signalPassFailure();
      op.erase();
    }
  }
};

} // namespace

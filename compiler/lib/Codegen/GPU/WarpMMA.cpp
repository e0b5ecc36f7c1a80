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

/// A step over K: 32 columns, two mma.sync m16n8k16 or four m16n8k8, for
/// which each lane loads 8 consecutive elements of each of its rows.
constexpr int64_t kLaneGroup = 8;
constexpr int64_t kStepDepth = 4 * kLaneGroup;

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
  /// A lane's kLaneGroup consecutive elements along K of one row, from
  /// `start`, loaded when a fragment first takes one (null until then; a
  /// whole step's elements loaded at once would all be live together):
  /// all by one vector load when `vectorized`, else each, checked against
  /// K.
  struct Group {
    Value memref;
    TileIndex row;
    Value start;
    /// Where a vector load starts: `start`, or inside K.
    TileIndex column;
    bool vectorized;
    SmallVector<Value, 8> elements;
  };
  /// Accumulator element `e` (C's fragment order) of accumulator `s`.
  using ElementFn = function_ref<Value(int64_t s, int64_t e)>;

  /// Checks that `result` is at most kWarpTileRows x kWarpTileCols and sets
  /// its sub-tiles.
  LogicalResult checkShape(Operation *op, Value result);
  /// Sets up, for lane `lane` (null: the GPU's lane id), its fragment
  /// indices for a tile of `result` over `activations`' K.
  void setUpLane(Value activations, Value result, Value lane);
  /// The tile: for each weight, one accumulator per sub-tile (weight-major,
  /// then sub-tile rows, then columns), element e of accumulator s starting
  /// from `initial(s, e)`, then a loop over K of mma.sync, each A and W
  /// fragment loaded once per step; `finish` gets the final elements. Both
  /// run where the lane's indices are set up.
  void emitTile(Type operandType, Value activations, Value result,
                ArrayRef<Value> weights, ElementFn initial,
                function_ref<void(ElementFn)> finish);
  /// One step's groups of the lane (see loadGroup): per row of sub-tiles,
  /// A's rows g and g + 8; per weight and column of sub-tiles, W's row g.
  struct StepGroups {
    SmallVector<std::pair<Group, Group>, 2> a;
    SmallVector<Group, 8> w;
  };
  /// The lane's groups of the step at `k0`, loaded when first used.
  StepGroups loadStep(Value activations, ArrayRef<Value> weights, Value k0);
  /// `memref`'s row `row` at the lane's K columns of a step, [start, start
  /// + 8) with start = k0 + 8 q, zeros outside the tile: one vector load,
  /// aligned to its bytes up to 16, where the buffer allows it, from
  /// `column` (`start` checked against K as a group's: clamped to K - 8).
  Group loadGroup(Value memref, TileIndex row, Value start, TileIndex column);
  /// Element `e` of `group`, loaded now if it is not yet.
  Value groupElement(Group &group, int64_t e);
  /// The lane's elements of A's fragment for row of sub-tiles `i` and the
  /// step's mma.sync `m`, in register order, rounded to the operand type.
  SmallVector<Value> aElements(Type operandType, StepGroups &groups, int64_t i,
                               int64_t m);
  /// The lane's elements of W fragment `wj` (weight-major, then columns of
  /// sub-tiles) for the step's mma.sync `m`.
  SmallVector<Value> wElements(Type operandType, StepGroups &groups, int64_t wj,
                               int64_t m);
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
  // Set by setUpLane: K when a step may reach past it, lane % 4, 2 (lane %
  // 4) and the lane's first K column in a step, 8 (lane % 4).
  Value depth, quad, t, laneK;
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

void WarpTileEmitter::setUpLane(Value activations, Value result, Value lane) {
  // Rows and columns past the result's, up to the sub-tiles', are zeros.
  Value rows = limitUnlessFull(b, loc, result, 0, rowTiles * kMmaRows);
  Value cols = limitUnlessFull(b, loc, result, 1, colTiles * kMmaCols);
  depth = limitUnlessFull(b, loc, activations, 1, kStepDepth);
  if (!lane)
    lane = gpu::LaneIdOp::create(b, loc, b.getIndexType(),
                                 b.getIndexAttr(kNVIDIAWarpSize));
  Value g = arith::DivUIOp::create(b, loc, lane, constant(4));
  quad = arith::RemUIOp::create(b, loc, lane, constant(4));
  t = arith::MulIOp::create(b, loc, quad, constant(2));
  laneK = arith::MulIOp::create(b, loc, quad, constant(kLaneGroup));
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

/// Whether `memref`'s rows are whole groups of `group` contiguous elements
/// that start `group` elements apart from an allocation: then a group at a
/// K multiple of `group` is aligned to its bytes (up to the 64 bytes the
/// ABI aligns every buffer, argument and view of the arena to). Each view
/// on the way must move by whole groups: its strides, but the innermost
/// (1), multiples of `group`, and its innermost offset too.
static bool holdsAlignedGroups(Value memref, int64_t group) {
  auto type = cast<MemRefType>(memref.getType());
  if (type.getRank() != 2 || ShapedType::isDynamic(type.getDimSize(1)) ||
      type.getDimSize(1) % group != 0)
    return false;
  for (Value view = memref;;) {
    auto viewType = cast<MemRefType>(view.getType());
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(viewType.getStridesAndOffset(strides, offset)) ||
        strides.empty() || strides.back() != 1)
      return false;
    for (int64_t stride : llvm::drop_end(strides))
      if (ShapedType::isDynamic(stride) || stride % group != 0)
        return false;
    if (!ShapedType::isDynamic(offset))
      return offset % group == 0;
    Operation *def = view.getDefiningOp();
    if (auto subview = dyn_cast_or_null<memref::SubViewOp>(def)) {
      int64_t innermost = subview.getStaticOffsets().back();
      if (ShapedType::isDynamic(innermost) || innermost % group != 0)
        return false;
      view = subview.getSource();
      continue;
    }
    if (auto cast = dyn_cast_or_null<memref::CastOp>(def)) {
      view = cast.getSource();
      continue;
    }
    return isa<BlockArgument>(view) ||
           isa_and_nonnull<memref::ViewOp, memref::AllocOp, memref::AllocaOp>(
               def);
  }
}

WarpTileEmitter::Group WarpTileEmitter::loadGroup(Value memref, TileIndex row,
                                                  Value start,
                                                  TileIndex column) {
  Group group{
      memref, row, start, column, holdsAlignedGroups(memref, kLaneGroup), {}};
  group.elements.resize(kLaneGroup);
  return group;
}

Value WarpTileEmitter::groupElement(Group &group, int64_t e) {
  Value &element = group.elements[e];
  if (element)
    return element;
  if (!group.vectorized) {
    Value at = e == 0 ? group.start
                      : arith::AddIOp::create(b, loc, group.start, constant(e));
    element = loadOrZero(group.memref, group.row, tileIndex(at, depth));
    return element;
  }
  TileIndex column = group.column;
  Type elementType = cast<MemRefType>(group.memref.getType()).getElementType();
  auto vectorType = VectorType::get({kLaneGroup}, elementType);
  int64_t bytes = kLaneGroup * elementType.getIntOrFloatBitWidth() / 8;
  Value vector = vector::LoadOp::create(
      b, loc, vectorType, group.memref,
      ValueRange{group.row.clamped, column.clamped},
      /*nontemporal=*/false, llvm::MaybeAlign(std::min<int64_t>(bytes, 16)));
  if (Value inside = bothInside(b, loc, group.row, column)) {
    Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(vectorType));
    vector = arith::SelectOp::create(b, loc, inside, vector, zero);
  }
  for (int64_t at = 0; at < kLaneGroup; ++at)
    group.elements[at] = vector::ExtractOp::create(b, loc, vector, at);
  return element;
}

WarpTileEmitter::StepGroups WarpTileEmitter::loadStep(Value activations,
                                                      ArrayRef<Value> weights,
                                                      Value k0) {
  // Where K is a multiple of the group (any buffer a group's vector load
  // reads), a group is inside K or past it.
  Value start = arith::AddIOp::create(b, loc, k0, laneK);
  TileIndex column = {start, Value()};
  bool anyVectorized = holdsAlignedGroups(activations, kLaneGroup) ||
                       llvm::any_of(weights, [](Value weight) {
                         return holdsAlignedGroups(weight, kLaneGroup);
                       });
  if (depth && anyVectorized) {
    column.inside =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, start, depth);
    Value last = arith::SubIOp::create(b, loc, depth, constant(kLaneGroup));
    column.clamped = arith::MinUIOp::create(b, loc, start, last);
  }
  StepGroups groups;
  for (int64_t i = 0; i < rowTiles; ++i)
    groups.a.push_back({loadGroup(activations, upperRows[i], start, column),
                        loadGroup(activations, lowerRows[i], start, column)});
  for (Value weight : weights)
    for (int64_t j = 0; j < colTiles; ++j)
      groups.w.push_back(loadGroup(weight, weightRows[j], start, column));
  return groups;
}

/// Where a fragment register's elements sit in the lane's group: register
/// `r` (0 or 1 along K: A's registers 0, 1 and 2, 3, W's 0 and 1) of the
/// step's mma.sync `m` holds elements [(2 m + r) p, (2 m + r) p + p) for `p`
/// elements a register. Lane q's K columns of mma.sync m are then k0 + 8 q +
/// 2 m p + [0, 2 p), the same for A and W: a permutation of the step's K
/// that the sum over K does not see.
static int64_t elementInGroup(int64_t m, int64_t r, int64_t e,
                              int64_t perRegister) {
  return (2 * m + r) * perRegister + e;
}

SmallVector<Value> WarpTileEmitter::aElements(Type operandType,
                                              StepGroups &groups, int64_t i,
                                              int64_t m) {
  // Registers (g, r = 0), (g + 8, r = 0), (g, r = 1), (g + 8, r = 1),
  // rounded to the operand type.
  int64_t perRegister = getElementsPerRegister(operandType);
  auto &[upper, lower] = groups.a[i];
  SmallVector<Value> elements;
  for (int64_t r = 0; r < 2; ++r)
    for (Group *row : {&upper, &lower})
      for (int64_t e = 0; e < perRegister; ++e)
        elements.push_back(
            round(groupElement(*row, elementInGroup(m, r, e, perRegister)),
                  operandType));
  return elements;
}

SmallVector<Value> WarpTileEmitter::wElements(Type operandType,
                                              StepGroups &groups, int64_t wj,
                                              int64_t m) {
  // W's row g; rounded only when f32 (tf32).
  int64_t perRegister = getElementsPerRegister(operandType);
  SmallVector<Value> elements;
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t e = 0; e < perRegister; ++e) {
      Value value =
          groupElement(groups.w[wj], elementInGroup(m, r, e, perRegister));
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
  int64_t perRegister = getElementsPerRegister(operandType);
  Type elementType = getFragmentElementType(operandType);
  Value k = memref::DimOp::create(b, loc, activations, 1);
  auto loop =
      scf::ForOp::create(b, loc, constant(0), k, constant(kStepDepth), initial);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  StepGroups groups = loadStep(activations, weights, loop.getInductionVar());
  SmallVector<Value> accumulators(loop.getRegionIterArgs());
  for (int64_t m = 0; m < kStepDepth / mmaDepth; ++m) {
    // One A fragment per row of sub-tiles, one W fragment per weight and
    // column of sub-tiles, each shared by its row's or column's mma.syncs.
    SmallVector<Value, 2> aFragments;
    for (int64_t i = 0; i < rowTiles; ++i)
      aFragments.push_back(vector::FromElementsOp::create(
          b, loc, VectorType::get({4, perRegister}, elementType),
          aElements(operandType, groups, i, m)));
    for (int64_t wj = 0; wj < static_cast<int64_t>(groups.w.size()); ++wj) {
      int64_t weight = wj / colTiles, j = wj % colTiles;
      Value bFragment = vector::FromElementsOp::create(
          b, loc, VectorType::get({2, perRegister}, elementType),
          wElements(operandType, groups, wj, m));
      for (int64_t i = 0; i < rowTiles; ++i) {
        int64_t at = (weight * rowTiles + i) * colTiles + j;
        accumulators[at] = nvgpu::MmaSyncOp::create(
            b, loc, aFragments[i], bFragment, accumulators[at],
            ArrayRef<int64_t>{kMmaRows, kMmaCols, mmaDepth}, isTF32);
      }
    }
  }
  scf::YieldOp::create(b, loc, accumulators);
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
  int64_t perRegister = getElementsPerRegister(operandType);
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
  int64_t accumulators = static_cast<int64_t>(weights.size()) * subTiles();
  if (!emulateLanes) {
    setUpLane(activations, result, /*lane=*/Value());
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
  // On the host: the lanes' accumulators and a step's fragments in [lane,
  // ...] buffers, each phase a loop over the lanes.
  int64_t mmas = kStepDepth / getMmaDepth(operandType);
  int64_t perRegister = getElementsPerRegister(operandType);
  Type elementType = getFragmentElementType(operandType);
  Value accBuffer = memref::AllocaOp::create(
      b, loc,
      MemRefType::get({kNVIDIAWarpSize, accumulators, 4}, b.getF32Type()));
  Value aBuffer = memref::AllocaOp::create(
      b, loc,
      MemRefType::get({kNVIDIAWarpSize, mmas * rowTiles, 4 * perRegister},
                      elementType));
  int64_t wFragments = static_cast<int64_t>(weights.size()) * colTiles;
  Value wBuffer = memref::AllocaOp::create(
      b, loc,
      MemRefType::get({kNVIDIAWarpSize, mmas * wFragments, 2 * perRegister},
                      elementType));
  auto slot = [&](Value lane, int64_t index, int64_t value) {
    return SmallVector<Value, 3>{lane, constant(index), constant(value)};
  };
  forEachLane([&](Value lane) {
    setUpLane(activations, result, lane);
    for (int64_t s = 0; s < accumulators; ++s)
      for (int64_t e = 0; e < 4; ++e)
        memref::StoreOp::create(b, loc, initial(s, e), accBuffer,
                                slot(lane, s, e));
  });
  Value k = memref::DimOp::create(b, loc, activations, 1);
  auto loop = scf::ForOp::create(b, loc, constant(0), k, constant(kStepDepth));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(loop.getBody()->getTerminator());
    Value k0 = loop.getInductionVar();
    forEachLane([&](Value lane) {
      setUpLane(activations, result, lane);
      StepGroups groups = loadStep(activations, weights, k0);
      for (int64_t m = 0; m < mmas; ++m) {
        for (int64_t i = 0; i < rowTiles; ++i)
          for (auto [v, element] :
               llvm::enumerate(aElements(operandType, groups, i, m)))
            memref::StoreOp::create(b, loc, element, aBuffer,
                                    slot(lane, m * rowTiles + i, v));
        for (int64_t wj = 0; wj < wFragments; ++wj)
          for (auto [v, element] :
               llvm::enumerate(wElements(operandType, groups, wj, m)))
            memref::StoreOp::create(b, loc, element, wBuffer,
                                    slot(lane, m * wFragments + wj, v));
      }
    });
    for (int64_t m = 0; m < mmas; ++m)
      for (int64_t wj = 0; wj < wFragments; ++wj) {
        int64_t weight = wj / colTiles, j = wj % colTiles;
        for (int64_t i = 0; i < rowTiles; ++i)
          emulateMma(operandType, aBuffer, m * rowTiles + i, wBuffer,
                     m * wFragments + wj, accBuffer,
                     (weight * rowTiles + i) * colTiles + j);
      }
  }
  forEachLane([&](Value lane) {
    setUpLane(activations, result, lane);
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

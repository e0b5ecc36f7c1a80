//===- WarpTileEmitter.cpp - A warp tile's lane code ----------------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The lane's side of moe-gpu-warp-mma's emitter (WarpTileEmitter.h): its
// fragment indices, a K step's groups (loaded, prefetched or from the W
// ring), the mma.syncs of a step, and whole tiles, plain and gated.
//
//===----------------------------------------------------------------------===//

#include "WarpTileEmitter.h"

#include "moe/Dialect/MoE/IR/MoEDialect.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/NVGPU/Utils/MMAUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"

using namespace mlir;
using namespace mlir::moe;
using namespace mlir::moe::warp_mma;

TileIndex WarpTileEmitter::tileIndex(Value at, Value limit) {
  if (!limit)
    return {at, Value()};
  Value inside =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, at, limit);
  // Clamped, the load stays inside the buffer for every lane (of a tile
  // with rows and columns: an empty one loads nothing).
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
       {std::pair<int64_t, int64_t>(0, maxRows), {1, maxColumns}}) {
    FailureOr<int64_t> size = ValueBoundsConstraintSet::computeConstantBound(
        presburger::BoundType::UB,
        ValueBoundsConstraintSet::Variable(result, dim),
        /*stopCondition=*/nullptr, /*closedUB=*/true);
    if (failed(size) || *size > bound || *size < 1)
      return op->emitOpError("a moe.warp_mma tile must have at most ")
             << maxRows << " rows and " << maxColumns << " columns";
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
/// (1), multiples of `group`, and its innermost offset too, down to a
/// memref whose offset is static (an allocation's, or an argument's).
bool mlir::moe::warp_mma::holdsAlignedGroups(Value memref, int64_t group) {
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
    // An allocation, a view of the arena or an argument with a dynamic
    // offset: where it starts is not known.
    return false;
  }
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
  // A ring slot holds what the copy read at the clamped place.
  Value vector = group.ringAt.empty()
                     ? vector::LoadOp::create(
                           b, loc, vectorType, group.memref,
                           ValueRange{group.row.clamped, column.clamped},
                           /*nontemporal=*/false,
                           llvm::MaybeAlign(std::min<int64_t>(bytes, 16)))
                     : vector::LoadOp::create(
                           b, loc, vectorType, ring->buffer, group.ringAt,
                           /*nontemporal=*/false, llvm::MaybeAlign(16));
  if (Value inside = bothInside(b, loc, group.row, column)) {
    Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(vectorType));
    vector = arith::SelectOp::create(b, loc, inside, vector, zero);
  }
  setGroupVector(group, vector);
  return element;
}

void WarpTileEmitter::setGroupVector(Group &group, Value vector) {
  group.vector = vector;
  for (int64_t at = 0; at < kLaneGroup; ++at)
    group.elements[at] = vector::ExtractOp::create(b, loc, vector, at);
}

std::optional<int64_t> WarpTileEmitter::lastStaticStep(ArrayRef<Value> weights,
                                                       Value activations) {
  int64_t k = cast<MemRefType>(activations.getType()).getDimSize(1);
  if (ShapedType::isDynamic(k) || k <= 0)
    return std::nullopt;
  Type element = cast<MemRefType>(weights.front().getType()).getElementType();
  if (!llvm::all_of(weights, [&](Value weight) {
        return cast<MemRefType>(weight.getType()).getElementType() == element &&
               holdsAlignedGroups(weight, kLaneGroup);
      }))
    return std::nullopt;
  return (k - 1) / kStepDepth * kStepDepth;
}

Value WarpTileEmitter::nextPrefetchStep(Value k0, int64_t lastStep) {
  return arith::MinUIOp::create(
      b, loc, arith::AddIOp::create(b, loc, k0, constant(kStepDepth)),
      constant(lastStep));
}

SmallVector<Value> WarpTileEmitter::ringIndices(Value slot, int64_t group,
                                                Value lane) {
  SmallVector<Value> indices;
  if (ring->warp)
    indices.push_back(ring->warp);
  llvm::append_range(indices,
                     ValueRange{slot, constant(group), lane, constant(0)});
  return indices;
}

Value WarpTileEmitter::ringSlot(Value k0, int64_t ahead) {
  // In 32 bits: a remainder by a stage count that is not a power of two
  // is a multiply-high and a subtract, which on 64-bit indices took the
  // gated kernel's registers past what ptxas kept without a spill.
  Type i32 = b.getI32Type();
  auto constant32 = [&](int64_t value) -> Value {
    return arith::ConstantIntOp::create(b, loc, value, 32);
  };
  Value step = arith::DivUIOp::create(
      b, loc, arith::IndexCastUIOp::create(b, loc, i32, k0),
      constant32(kStepDepth));
  if (ahead != 0)
    step = arith::AddIOp::create(b, loc, step, constant32(ahead));
  return arith::IndexCastUIOp::create(
      b, loc, b.getIndexType(),
      arith::RemUIOp::create(b, loc, step, constant32(ring->stages)));
}

void WarpTileEmitter::copyToRing(ArrayRef<Value> weights, Value activations,
                                 Value k0, Value slot, Value lane) {
  // The groups' places only: nothing is loaded through them here.
  StepGroups groups = loadStep(
      ASource{activations, Value(), {}, Value(), Value()}, weights, k0);
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  SmallVector<Value> tokens;
  for (auto [j, group] : llvm::enumerate(groups.w)) {
    SmallVector<Value> from = {group.row.clamped, group.column.clamped};
    SmallVector<Value> to = ringIndices(slot, static_cast<int64_t>(j), lane);
    if (emulateLanes) {
      auto type = VectorType::get(
          {kLaneGroup},
          cast<MemRefType>(group.memref.getType()).getElementType());
      vector::StoreOp::create(
          b, loc, vector::LoadOp::create(b, loc, type, group.memref, from),
          ring->buffer, to);
      continue;
    }
    // 16 bytes, past L1 (a warp's W groups are its own).
    tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
        b, loc, tokenType, ring->buffer, to, group.memref, from,
        b.getIndexAttr(kLaneGroup), /*srcElements=*/Value(), b.getUnitAttr()));
  }
  if (!emulateLanes)
    nvgpu::DeviceAsyncCreateGroupOp::create(b, loc, tokenType, tokens);
}

void WarpTileEmitter::readFromRing(StepGroups &groups, Value slot, Value lane) {
  for (auto [j, group] : llvm::enumerate(groups.w))
    group.ringAt = ringIndices(slot, static_cast<int64_t>(j), lane);
}

SmallVector<Value> WarpTileEmitter::loadWeightVectors(ArrayRef<Value> weights,
                                                      Value activations,
                                                      Value k0) {
  StepGroups groups = loadStep(
      ASource{activations, Value(), {}, Value(), Value()}, weights, k0);
  SmallVector<Value> vectors;
  for (Group &group : groups.w) {
    groupElement(group, 0);
    vectors.push_back(group.vector);
  }
  return vectors;
}

WarpTileEmitter::StepGroups
WarpTileEmitter::loadStep(ASource a, ArrayRef<Value> weights, Value k0) {
  // A staged chunk's groups are aligned (its rows are 192 bytes).
  bool aVectorized = a.chunkStart || holdsAlignedGroups(a.memref, kLaneGroup);
  SmallVector<bool, 2> wVectorized =
      llvm::map_to_vector(weights, [](Value weight) {
        return holdsAlignedGroups(weight, kLaneGroup);
      });
  // Where K is a multiple of the group (any buffer a group's vector load
  // reads), a group is inside K or past it.
  Value start = arith::AddIOp::create(b, loc, k0, laneK);
  TileIndex column = {start, Value()};
  bool loadsGroupsOfK =
      (aVectorized && !a.chunkStart) || llvm::is_contained(wVectorized, true);
  if (depth && loadsGroupsOfK) {
    column.inside =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, start, depth);
    Value last = arith::SubIOp::create(b, loc, depth, constant(kLaneGroup));
    column.clamped = arith::MinUIOp::create(b, loc, start, last);
  }
  auto makeGroup = [&](Value memref, TileIndex row, Value at, TileIndex from,
                       bool vectorized) {
    Group loaded{memref, row, at, from, vectorized, {}, Value(), {}};
    loaded.elements.resize(kLaneGroup);
    return loaded;
  };
  StepGroups groups;
  for (int64_t i = 0; i < rowTiles; ++i) {
    std::array<TileIndex, 2> rows = {upperRows[i], lowerRows[i]};
    Value aStart = start;
    TileIndex aColumn = column;
    if (a.chunkStart) {
      // A staged chunk's columns start at the chunk's and need no checks;
      // a row past the tile's (clamped to its last) reaches only
      // accumulator rows that are never stored, so it needs no zeros.
      aStart = arith::AddIOp::create(
          b, loc, arith::SubIOp::create(b, loc, k0, a.chunkStart), laneK);
      aColumn = {aStart, Value()};
      for (TileIndex &row : rows)
        row.inside = Value();
    }
    groups.a.push_back(
        {makeGroup(a.memref, rows[0], aStart, aColumn, aVectorized),
         makeGroup(a.memref, rows[1], aStart, aColumn, aVectorized)});
  }
  for (auto [w, weight] : llvm::enumerate(weights))
    for (int64_t j = 0; j < colTiles; ++j) {
      if (a.weightViews.empty()) {
        groups.w.push_back(
            makeGroup(weight, weightRows[j], start, column, wVectorized[w]));
        continue;
      }
      // A staged chunk, as A's: zeros past the block's rows and K, and a
      // row past the tile's (clamped to its last) reaches only accumulator
      // columns that are never stored.
      Value at = arith::AddIOp::create(
          b, loc, arith::SubIOp::create(b, loc, k0, a.chunkStart), laneK);
      groups.w.push_back(makeGroup(a.weightViews[w],
                                   {weightRows[j].clamped, Value()}, at,
                                   {at, Value()}, /*vectorized=*/true));
    }
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
      for (int64_t e = 0; e < perRegister; ++e) {
        // A staged chunk's elements are rounded already.
        Value element =
            groupElement(*row, elementInGroup(m, r, e, perRegister));
        elements.push_back(element.getType() == operandType
                               ? element
                               : round(element, operandType));
      }
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

SmallVector<Value>
WarpTileEmitter::emitStepProducts(Type operandType, ASource a,
                                  ArrayRef<Value> weights, Value k0,
                                  ValueRange initial, ValueRange weightVectors,
                                  Value ringSlot, Value ringLane) {
  bool isTF32 = isa<FloatTF32Type>(operandType);
  int64_t mmaDepth = getMmaDepth(operandType);
  int64_t perRegister = getElementsPerRegister(operandType);
  Type elementType = getFragmentElementType(operandType);
  StepGroups groups = loadStep(a, weights, k0);
  for (auto [group, vector] : llvm::zip(groups.w, weightVectors))
    setGroupVector(group, vector);
  if (ringSlot)
    readFromRing(groups, ringSlot, ringLane);
  SmallVector<Value> accumulators(initial);
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
  return accumulators;
}

Value WarpTileEmitter::hasElements(Value result) {
  Value any;
  for (int64_t dim : {0, 1}) {
    FailureOr<int64_t> fewest = ValueBoundsConstraintSet::computeConstantBound(
        presburger::BoundType::LB,
        ValueBoundsConstraintSet::Variable(result, dim));
    if (succeeded(fewest) && *fewest >= 1)
      continue;
    Value size = memref::DimOp::create(b, loc, result, dim);
    Value some = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, size,
                                       constant(0));
    any = any ? arith::AndIOp::create(b, loc, any, some) : some;
  }
  return any;
}

void mlir::moe::warp_mma::fillBlock(OpBuilder &b, Location loc, Block *block,
                                    function_ref<SmallVector<Value>()> body) {
  OpBuilder::InsertionGuard guard(b);
  if (!block->empty() && block->back().hasTrait<OpTrait::IsTerminator>()) {
    b.setInsertionPoint(block->getTerminator());
    [[maybe_unused]] SmallVector<Value> values = body();
    assert(values.empty() && "a block with its yield yields nothing");
    return;
  }
  b.setInsertionPointToStart(block);
  scf::YieldOp::create(b, loc, body());
}

void WarpTileEmitter::emitTile(Type operandType, Value activations,
                               Value result, ArrayRef<Value> weights,
                               ElementFn initial,
                               function_ref<void(ElementFn)> finish) {
  int64_t accumulators = static_cast<int64_t>(weights.size()) * subTiles();
  if (planStaging)
    staging = planStaging(colTiles * kMmaCols);
  if (staging && staging->coreMatrices)
    return emitWarpgroupTile(operandType, activations, result, weights, initial,
                             finish);
  // A warp past a ragged window's last columns (or the block's last row)
  // has an empty tile: it loads and stores nothing, but takes its part in
  // a staged tile's copies and barriers.
  Value hasTile = hasElements(result);
  OpBuilder::InsertionGuard guard(b);
  if (hasTile && !staging) {
    b.setInsertionPointToStart(scf::IfOp::create(b, loc, hasTile).thenBlock());
    hasTile = Value();
  }
  auto whereTile = [&](function_ref<void()> body) { whereTrue(hasTile, body); };
  // Prefetched, a step's mma.syncs take the W groups the step before
  // loaded (the first step's, loaded before the loop), after issuing the
  // loads of the next step's: a warp has two steps of W in flight, not one.
  // With a ring, a lane's copies of the next stages - 1 steps' W groups
  // are in flight while a step runs, in shared memory, not registers.
  std::optional<int64_t> lastStep = lastStaticStep(weights, activations);
  Type weightElement =
      cast<MemRefType>(weights.front().getType()).getElementType();
  int64_t weightGroups = static_cast<int64_t>(weights.size());
  bool weightsStaged = staging && !staging->weightBuffers.empty();
  if (lastStep && planWeightRing && !weightsStaged &&
      weightElement.getIntOrFloatBitWidth() == 16)
    // More stages than steps ahead would copy the last step again.
    ring = planWeightRing(weightGroups * colTiles, weightElement,
                          *lastStep / kStepDepth + 2);
  bool prefetch = lastStep && prefetchWeights && !ring && !weightsStaged;
  // The steps a ring's copies run ahead; each step's copies are one
  // cp.async group, so a step waits until at most `ahead - 1` are pending.
  int64_t ahead = ring ? ring->stages - 1 : 0;
  int64_t ringGroupsLeftPending = ahead - 1;
  // After the loop, the ring's copies past the last step have all landed.
  int64_t ringGroupsPendingAfterLoop = 0;
  auto copyAhead = [&](Value k0, Value lane) {
    Value next = arith::MinUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, k0, constant(ahead * kStepDepth)),
        constant(*lastStep));
    copyToRing(weights, activations, next, ringSlot(k0, ahead), lane);
  };
  auto fillRing = [&](Value lane) {
    for (int64_t step = 0; step < ahead; ++step) {
      Value k0 = constant(std::min(step * kStepDepth, *lastStep));
      copyToRing(weights, activations, k0,
                 ringSlot(constant(step * kStepDepth), 0), lane);
    }
  };
  if (!emulateLanes) {
    setUpLane(activations, result, /*lane=*/Value());
    weightGroups *= colTiles;
    Value lane = ring ? gpu::LaneIdOp::create(b, loc, b.getIndexType(),
                                              b.getIndexAttr(kNVIDIAWarpSize))
                      : Value();
    if (ring)
      whereTile([&] { fillRing(lane); });
    VectorType fragmentType = VectorType::get({2, 2}, b.getF32Type());
    VectorType groupType = VectorType::get({kLaneGroup}, weightElement);
    auto initialFragments = [&]() {
      SmallVector<Value> fragments;
      for (int64_t s = 0; s < accumulators; ++s) {
        SmallVector<Value, 4> elements;
        for (int64_t e = 0; e < 4; ++e)
          elements.push_back(initial(s, e));
        // A fill's value: one splat.
        if (llvm::all_equal(elements)) {
          fragments.push_back(vector::BroadcastOp::create(b, loc, fragmentType,
                                                          elements.front()));
          continue;
        }
        fragments.push_back(
            vector::FromElementsOp::create(b, loc, fragmentType, elements));
      }
      return fragments;
    };
    auto initialValues = [&]() {
      SmallVector<Value> values = initialFragments();
      if (prefetch)
        llvm::append_range(
            values, loadWeightVectors(weights, activations, constant(0)));
      return values;
    };
    SmallVector<Value> init;
    if (!hasTile) {
      init = initialValues();
    } else {
      SmallVector<Type> types(accumulators, fragmentType);
      if (prefetch)
        types.append(weightGroups, groupType);
      auto ifTile =
          scf::IfOp::create(b, loc, types, hasTile,
                            /*addThenBlock=*/true, /*addElseBlock=*/true);
      fillBlock(b, loc, ifTile.thenBlock(), initialValues);
      fillBlock(b, loc, ifTile.elseBlock(), [&] {
        return llvm::map_to_vector(types, [&](Type type) -> Value {
          return arith::ConstantOp::create(
              b, loc, cast<TypedAttr>(b.getZeroAttr(type)));
        });
      });
      init = SmallVector<Value>(ifTile.getResults());
    }
    SmallVector<Value> products = emitDepthLoop(
        operandType, activations, weights, hasTile, init,
        [&](Value k0, ASource a, ValueRange values) {
          if (ring) {
            // This step's copies have landed. The copies ahead go into the
            // slot the step before read (its mma.syncs, issued before, took
            // those groups); this step reads its own slot as it goes.
            NVVM::CpAsyncWaitGroupOp::create(b, loc, ringGroupsLeftPending);
            Value slot = ringSlot(k0, 0);
            copyAhead(k0, lane);
            return emitStepProducts(operandType, a, weights, k0, values, {},
                                    slot, lane);
          }
          if (!prefetch)
            return emitStepProducts(operandType, a, weights, k0, values);
          SmallVector<Value> next = loadWeightVectors(
              weights, activations, nextPrefetchStep(k0, *lastStep));
          SmallVector<Value> products = emitStepProducts(
              operandType, a, weights, k0, values.take_front(accumulators),
              values.drop_front(accumulators));
          llvm::append_range(products, next);
          return products;
        });
    // The copies past the last step must land before the ring is filled
    // again (the next tile of this warp) or the kernel ends.
    if (ring)
      NVVM::CpAsyncWaitGroupOp::create(b, loc, ringGroupsPendingAfterLoop);
    // The epilogue's element indices, computed again here (see
    // emitWarpgroupTile).
    setUpLane(activations, result, readLaneIdHere(b, loc));
    whereTile([&] {
      finish([&](int64_t s, int64_t e) -> Value {
        return vector::ExtractOp::create(b, loc, products[s],
                                         ArrayRef<int64_t>{e / 2, e % 2});
      });
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
  // Prefetched, each lane's W groups of the step (current) and of the next
  // (next), which the step loads before it reads the current ones.
  Value currentW, nextW;
  if (prefetch) {
    auto groupsType = MemRefType::get({kNVIDIAWarpSize, wFragments, kLaneGroup},
                                      weightElement);
    currentW = memref::AllocaOp::create(b, loc, groupsType);
    nextW = memref::AllocaOp::create(b, loc, groupsType);
  }
  auto slot = [&](Value lane, int64_t index, int64_t value) {
    return SmallVector<Value, 3>{lane, constant(index), constant(value)};
  };
  // The ring's model (see WarpTileHostEmulation.cpp): every lane copies
  // and commits alike, so the warp's copies of a step are one model group.
  auto modelRingCopy = [&](Value stage, Value step) {
    modelSlotCopy(ring->groupModel, ring->slotModel, stage, step);
    modelCommit(ring->groupModel);
  };
  whereTile([&] {
    forEachLane([&](Value lane) {
      setUpLane(activations, result, lane);
      storeLaneAccumulators(accBuffer, lane, accumulators, initial);
      if (prefetch)
        storeLaneGroups(currentW, lane,
                        loadWeightVectors(weights, activations, constant(0)));
      if (ring)
        fillRing(lane);
    });
    if (!ring)
      return;
    initAsyncCopyModel(ring->groupModel, {ring->slotModel});
    for (int64_t step = 0; step < ahead; ++step)
      modelRingCopy(ringSlot(constant(step * kStepDepth), 0), constant(step));
  });
  emitDepthLoop(
      operandType, activations, weights, hasTile, ValueRange(),
      [&](Value k0, ASource a, ValueRange) -> SmallVector<Value> {
        if (ring) {
          // As the GPU's step: the wait, the copies `ahead` steps on, then
          // the reads of this step's stage.
          modelWaitGroup(ring->groupModel, ringGroupsLeftPending);
          Value step = arith::DivUIOp::create(b, loc, k0, constant(kStepDepth));
          modelRingCopy(ringSlot(k0, ahead),
                        arith::AddIOp::create(b, loc, step, constant(ahead)));
          modelSlotRead(ring->groupModel, ring->slotModel, ringSlot(k0, 0),
                        step, AsyncCopyCounter::Complete);
        }
        forEachLane([&](Value lane) {
          setUpLane(activations, result, lane);
          if (prefetch)
            storeLaneGroups(nextW, lane,
                            loadWeightVectors(weights, activations,
                                              nextPrefetchStep(k0, *lastStep)));
          StepGroups groups = loadStep(a, weights, k0);
          if (prefetch)
            for (auto [group, vector] :
                 llvm::zip(groups.w, loadLaneGroups(currentW, lane)))
              setGroupVector(group, vector);
          if (ring) {
            readFromRing(groups, ringSlot(k0, 0), lane);
            copyAhead(k0, lane);
          }
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
        if (prefetch)
          forEachLane([&](Value lane) {
            storeLaneGroups(currentW, lane, loadLaneGroups(nextW, lane));
          });
        return {};
      });
  whereTile([&] {
    if (ring) {
      // The GPU's wait after the loop.
      modelWaitGroup(ring->groupModel, ringGroupsPendingAfterLoop);
      modelCopiesLanded(ring->groupModel, {ring->slotModel});
    }
    finishLanes(accBuffer, activations, result, finish);
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

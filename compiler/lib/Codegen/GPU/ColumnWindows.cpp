//===- ColumnWindows.cpp - A block's window of columns --------------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// A block's work on a window of its columns, and the tiles with operands
// that build it (see ColumnWindows.h).
//
//===----------------------------------------------------------------------===//

#include "ColumnWindows.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/TilingInterface.h"

using namespace mlir;
using namespace mlir::moe;
using namespace mlir::moe::distribute;

Value mlir::moe::distribute::columnWindowSize(OpBuilder &b, Location loc,
                                              Value first, int64_t columns,
                                              int64_t block) {
  if (columns % block == 0)
    return arith::ConstantIndexOp::create(b, loc, block);
  AffineExpr d0 = b.getAffineDimExpr(0);
  return affine::AffineMinOp::create(
      b, loc,
      AffineMap::get(1, 0,
                     {b.getAffineConstantExpr(block),
                      b.getAffineConstantExpr(columns) - d0},
                     b.getContext()),
      ValueRange{first});
}

std::pair<Value, Value>
mlir::moe::distribute::columnBlockAndSlot(OpBuilder &b, Location loc,
                                          Value linear, Value slots,
                                          int64_t columnBlocks, int64_t group) {
  auto constant = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };
  group = std::min(group, columnBlocks);
  if (group <= 1)
    return {arith::DivUIOp::create(b, loc, linear, slots),
            arith::RemUIOp::create(b, loc, linear, slots)};
  Value span = arith::MulIOp::create(b, loc, slots, constant(group));
  Value groupFirst = arith::MulIOp::create(
      b, loc, arith::DivUIOp::create(b, loc, linear, span), constant(group));
  Value within = arith::RemUIOp::create(b, loc, linear, span);
  Value width = arith::MinUIOp::create(
      b, loc, constant(group),
      arith::SubIOp::create(b, loc, constant(columnBlocks), groupFirst));
  return {arith::AddIOp::create(b, loc, groupFirst,
                                arith::RemUIOp::create(b, loc, within, width)),
          arith::DivUIOp::create(b, loc, within, width)};
}

void mlir::moe::distribute::eraseUnusedBuffer(Value value) {
  while (Operation *def = value.getDefiningOp()) {
    if (!llvm::all_of(def->getUsers(), [](Operation *user) {
          return isa<memref::DeallocOp>(user);
        }))
      return;
    auto view = dyn_cast<memref::SubViewOp>(def);
    if (!view && !isa<memref::AllocOp>(def))
      return;
    for (Operation *user : llvm::make_early_inc_range(def->getUsers()))
      user->erase();
    value = view ? view.getSource() : Value();
    def->erase();
  }
}

/// Points each operand of `op` that is `from`, or a view of it, at `to`
/// instead, and erases the view when nothing else uses it.
static void retargetOperands(Operation *op, Value from, Value to) {
  for (OpOperand &operand : op->getOpOperands()) {
    Value current = operand.get();
    auto view = current.getDefiningOp<memref::SubViewOp>();
    if (current != from && (!view || view.getSource() != from))
      continue;
    operand.set(to);
    if (view && view->use_empty())
      view->erase();
  }
}

FailureOr<Operation *> mlir::moe::distribute::tileWithOperands(
    OpBuilder &b, Operation *op, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, ArrayRef<Value> accs, ArrayRef<Value> tiles) {
  auto tiling = cast<TilingInterface>(op);
  SmallVector<Range> domain = tiling.getIterationDomain(b);
  SmallVector<OpFoldResult> allOffsets, allSizes;
  for (auto [d, range] : llvm::enumerate(domain)) {
    bool tiled = d < offsets.size() && offsets[d];
    allOffsets.push_back(tiled ? offsets[d] : range.offset);
    allSizes.push_back(tiled ? sizes[d] : range.size);
  }
  FailureOr<TilingResult> tiled =
      tiling.getTiledImplementation(b, allOffsets, allSizes);
  if (failed(tiled) || tiled->tiledOps.size() != 1)
    return op->emitError("cannot tile this op for the GPU schedule");
  Operation *tiledOp = tiled->tiledOps.front();
  for (auto [acc, tile] : llvm::zip(accs, tiles))
    retargetOperands(tiledOp, acc, tile);
  return tiledOp;
}

/// The buffer `value` views: the source of its subviews, all the way up.
static Value viewedBuffer(Value value) {
  while (auto view = value.getDefiningOp<memref::SubViewOp>())
    value = view.getSource();
  return value;
}

std::optional<int64_t> mlir::moe::distribute::sharedColumnCount(Block *block) {
  std::optional<int64_t> columns;
  DenseSet<Value> outputs, written;
  SmallVector<linalg::LinalgOp> ops;
  for (Operation &op : block->without_terminator()) {
    if (isMemoryEffectFree(&op) || isa<memref::AllocOp>(op))
      continue;
    auto linalgOp = dyn_cast<linalg::LinalgOp>(&op);
    if (!linalgOp || !linalgOp.hasPureBufferSemantics() ||
        !isa<TilingInterface>(&op) || linalgOp.getNumLoops() < 2 ||
        linalgOp.getNumDpsInits() != 1)
      return std::nullopt;
    SmallVector<utils::IteratorType> iterators =
        linalgOp.getIteratorTypesArray();
    OpOperand *init = linalgOp.getDpsInitOperand(0);
    auto type = dyn_cast<MemRefType>(init->get().getType());
    if (iterators[0] != utils::IteratorType::parallel ||
        iterators[1] != utils::IteratorType::parallel || !type ||
        type.getRank() != 2 ||
        linalgOp.getMatchingIndexingMap(init) !=
            AffineMap::getMultiDimMapWithTargets(linalgOp.getNumLoops(), {0, 1},
                                                 op.getContext()))
      return std::nullopt;
    int64_t n = type.getDimSize(1);
    if (ShapedType::isDynamic(n) || (columns && *columns != n))
      return std::nullopt;
    columns = n;
    outputs.insert(init->get());
    written.insert(viewedBuffer(init->get()));
    ops.push_back(linalgOp);
  }
  for (linalg::LinalgOp op : ops)
    for (OpOperand *input : op.getDpsInputOperands()) {
      Value value = input->get();
      if (!isa<MemRefType>(value.getType()) ||
          !written.contains(viewedBuffer(value)))
        continue;
      if (!outputs.contains(value) ||
          op.getMatchingIndexingMap(input) !=
              AffineMap::getMultiDimMapWithTargets(op.getNumLoops(), {0, 1},
                                                   op->getContext()))
        return std::nullopt;
    }
  return columns;
}

LogicalResult mlir::moe::distribute::restrictToColumns(Block *block,
                                                       Value first,
                                                       Value count) {
  SmallVector<Operation *> ops;
  for (Operation &op : block->without_terminator())
    if (isa<linalg::LinalgOp>(op))
      ops.push_back(&op);
  OpBuilder b(block, block->begin());
  Location loc = block->getParentOp()->getLoc();
  // One window per output, before the ops (outputs come from the block's
  // allocations and views, so they are defined by the first op that uses
  // them).
  SmallVector<Value> outputs, windows;
  for (Operation *op : ops) {
    Value output = cast<linalg::LinalgOp>(op).getDpsInits()[0];
    if (llvm::is_contained(outputs, output))
      continue;
    b.setInsertionPoint(op);
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    outputs.push_back(output);
    windows.push_back(memref::SubViewOp::create(
        b, loc, output, ArrayRef<OpFoldResult>{zero, first},
        ArrayRef<OpFoldResult>{memref::getMixedSize(b, loc, output, 0), count},
        ArrayRef<OpFoldResult>{one, one}));
  }
  for (Operation *op : ops) {
    b.setInsertionPoint(op);
    if (failed(tileWithOperands(b, op, {OpFoldResult(), first},
                                {OpFoldResult(), count}, outputs, windows)))
      return failure();
    op->erase();
  }
  return success();
}

//===- PrefetchNextBlock.cpp - Stream the next weight block early ---------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-cpu-prefetch-next-block: the register tiles that
// re-read one block of a packed weight panel also prefetch, a slice each,
// the block the kernel reads next (see the pass description).
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/MapVector.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOECPUPREFETCHNEXTBLOCKPASS
#include "moe/Codegen/CPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// Reads of less than a cache line per k step are left alone.
constexpr int64_t kCacheLineBits = 512;

/// Fractional bits of the per-k-step prefetch advance.
constexpr int64_t kFixedPointBits = 16;

/// A weight read of a kernel's k loop that streams a contiguous block.
struct BlockRead {
  vector::TransferReadOp read;
  /// The loop over k (step 1, constant bounds).
  scf::ForOp kLoop;
  /// The k-invariant view the read takes its k-th row of: the block.
  Value block;
  /// Elements of one k row of the block (they are contiguous).
  int64_t rowElements;
  /// Elements of the allocation the block lies in.
  int64_t allocationElements;
  /// The row-tile loops between `block` and the k loop, outermost first.
  SmallVector<scf::ForOp> rowLoops;
};

/// The static-shaped, identity-layout memref `value` is a view of, through
/// subviews, reshapes and casts; null when there is none.
Value viewedAllocation(Value value) {
  while (true) {
    auto type = dyn_cast<MemRefType>(value.getType());
    if (!type)
      return {};
    if (type.hasStaticShape() && type.getLayout().isIdentity())
      return value;
    Operation *def = value.getDefiningOp();
    if (auto subview = dyn_cast_if_present<memref::SubViewOp>(def))
      value = subview.getSource();
    else if (auto collapse = dyn_cast_if_present<memref::CollapseShapeOp>(def))
      value = collapse.getSrc();
    else if (auto expand = dyn_cast_if_present<memref::ExpandShapeOp>(def))
      value = expand.getSrc();
    else if (auto cast = dyn_cast_if_present<memref::CastOp>(def))
      value = cast.getSource();
    else
      return {};
  }
}

/// Matches `read` as the k-th row of a packed block: its source is (a
/// unit-dim collapse of) `subview %block[0.., %k, 0..] [1.., 1, full..]`
/// whose trailing dims are contiguous and read whole, with %k the
/// induction variable of the innermost loop around it.
std::optional<BlockRead> matchBlockRead(vector::TransferReadOp read) {
  auto kLoop = dyn_cast<scf::ForOp>(read->getParentOp());
  if (!kLoop || !kLoop.getConstantStep() || !kLoop.getConstantStep()->isOne() ||
      !getConstantIntValue(kLoop.getLowerBound()) ||
      !getConstantIntValue(kLoop.getUpperBound()))
    return std::nullopt;
  if (!llvm::all_of(read.getIndices(),
                    [](Value index) { return isConstantIntValue(index, 0); }))
    return std::nullopt;
  Value source = read.getBase();
  if (auto collapse = source.getDefiningOp<memref::CollapseShapeOp>())
    source = collapse.getSrc();
  auto row = source.getDefiningOp<memref::SubViewOp>();
  if (!row)
    return std::nullopt;
  auto blockType = row.getSourceType();
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(blockType.getStridesAndOffset(strides, offset)))
    return std::nullopt;
  // One offset is the k loop's induction variable; the others are 0.
  std::optional<unsigned> kDim;
  for (auto [dim, offsetValue] : llvm::enumerate(row.getMixedOffsets())) {
    if (isConstantIntValue(offsetValue, 0))
      continue;
    if (kDim ||
        dyn_cast_if_present<Value>(offsetValue) != kLoop.getInductionVar())
      return std::nullopt;
    kDim = dim;
  }
  if (!kDim || !llvm::all_of(row.getMixedStrides(), [](OpFoldResult stride) {
        return isConstantIntValue(stride, 1);
      }))
    return std::nullopt;
  // Dims before k are read at one index, dims after it whole and
  // contiguous: one k row is one run of memory, and the next k row follows.
  ArrayRef<int64_t> shape = blockType.getShape();
  SmallVector<OpFoldResult> sizes = row.getMixedSizes();
  int64_t rowElements = 1;
  for (int64_t dim = shape.size() - 1; dim > int64_t(*kDim); --dim) {
    if (ShapedType::isDynamic(shape[dim]) ||
        !isConstantIntValue(sizes[dim], shape[dim]) ||
        strides[dim] != rowElements)
      return std::nullopt;
    rowElements *= shape[dim];
  }
  for (int64_t dim = 0; dim <= int64_t(*kDim); ++dim)
    if (!isConstantIntValue(sizes[dim], 1))
      return std::nullopt;
  if (strides[*kDim] != rowElements)
    return std::nullopt;
  // The read takes the whole row.
  auto vectorType = read.getVectorType();
  // Rows under a cache line are not weight panels (a matrix row, say).
  if (vectorType.getNumElements() != rowElements ||
      rowElements * vectorType.getElementTypeBitWidth() < kCacheLineBits ||
      !llvm::all_of(read.getInBoundsValues(), [](bool b) { return b; }))
    return std::nullopt;

  Value allocation = viewedAllocation(row.getSource());
  if (!allocation)
    return std::nullopt;
  int64_t allocationElements =
      cast<MemRefType>(allocation.getType()).getNumElements();

  // The row-tile loops: the loops between the block's definition and the
  // k loop (a loop over row tiles and, for the remainder, one over its
  // rows). None of them moves the block, so each re-reads it.
  Region *blockRegion = row.getSource().getParentRegion();
  SmallVector<scf::ForOp> rowLoops;
  for (Operation *current = kLoop; current->getParentRegion() != blockRegion;) {
    auto loop = dyn_cast_if_present<scf::ForOp>(current->getParentOp());
    if (!loop || !loop.getConstantStep())
      return std::nullopt;
    rowLoops.push_back(loop);
    current = loop;
  }
  if (rowLoops.empty() || rowLoops.size() > 2)
    return std::nullopt;
  std::reverse(rowLoops.begin(), rowLoops.end());
  return BlockRead{read,
                   kLoop,
                   row.getSource(),
                   rowElements,
                   allocationElements,
                   std::move(rowLoops)};
}

/// The prefetches of one matched weight read: its slice of the block after
/// `match.block` in memory (see the pass description), in the k loop the
/// read is in or in a copy of it.
class NextBlockPrefetch {
public:
  NextBlockPrefetch(BlockRead match, unsigned localityHint)
      : match(std::move(match)), localityHint(localityHint) {
    scf::ForOp kLoop = this->match.kLoop;
    kBegin = *getConstantIntValue(kLoop.getLowerBound());
    kRows = *getConstantIntValue(kLoop.getUpperBound()) - kBegin;
    blockElements = kRows * this->match.rowElements;
    tileRows = this->match.rowLoops.back().getConstantStep()->getSExtValue();
  }

  /// Whether the k loop runs at all (there is nothing to prefetch for).
  bool hasSteps() const { return kRows > 0; }

  /// The elements a tile of the regular spread, `spreadRows`, advances a k
  /// step, in 16.16 fixed point: h P / S.
  int64_t stepSlice(int64_t spreadRows) const {
    return (tileRows * match.rowElements << kFixedPointBits) / spreadRows;
  }

  /// Whether that step is a whole number of elements.
  bool hasWholeStep(int64_t spreadRows) const {
    return stepSlice(spreadRows) % (int64_t(1) << kFixedPointBits) == 0;
  }

  /// The elements a tile of `spreadRows`'s whole step covers over its k
  /// loop: the distance between the streams of a short block's tile.
  int64_t streamElements(int64_t spreadRows) const {
    return kRows * (stepSlice(spreadRows) >> kFixedPointBits);
  }

  /// The next block's offset in, and a flat view of, the weights the
  /// prefetches address, built at `b`.
  std::pair<Value, Value> emitBlockAddress(OpBuilder &b) {
    Location loc = match.read.getLoc();
    auto metadata =
        memref::ExtractStridedMetadataOp::create(b, loc, match.block);
    Value nextBlock = arith::AddIOp::create(
        b, loc, metadata.getOffset(),
        arith::ConstantIndexOp::create(
            b, loc, kBegin * match.rowElements + blockElements));
    auto elementType = cast<MemRefType>(match.block.getType()).getElementType();
    Value flat = memref::ReinterpretCastOp::create(
        b, loc, MemRefType::get({match.allocationElements}, elementType),
        metadata.getBaseBuffer(), /*offset=*/int64_t(0),
        ArrayRef<int64_t>{match.allocationElements}, ArrayRef<int64_t>{1});
    return {nextBlock, flat};
  }

  /// Prefetches in the k loop `kLoop` (the match's or a copy's), beside its
  /// `read`, whose tile's first row is the sum of `rowIVs` (a loop over
  /// tiles, then, for the remainder, a loop over its rows). The tile of
  /// rows [r, r + h) prefetches, at k step j, element
  ///   (r K + j h) P / S  =  r K P / S + j (h P / S)
  /// of the next block (K k rows of P elements, S = `spread`): the tiles of
  /// S rows prefetch all of it, evenly over their k loops. Each k step
  /// issues `streams` prefetches, each `regularSpread`'s step (h P / S of
  /// the regular spread), `streamElements` apart.
  void emitPrefetches(scf::ForOp kLoop, Operation *read, ArrayRef<Value> rowIVs,
                      int64_t spread, int64_t regularSpread, int64_t streams,
                      int64_t streamElements) {
    Location loc = match.read.getLoc();
    // What the k loop does not change is computed once per tile, before it
    // (LLVM hoists what the tiles share; built once before the row loops,
    // the block's address stayed live through both copies of them, and
    // LLVM spilled row pointers of the regular 6 x 64 loop for it).
    OpBuilder b(kLoop);
    auto [nextBlock, flat] = emitBlockAddress(b);
    auto constant = [&](int64_t value) -> Value {
      return arith::ConstantIndexOp::create(b, loc, value);
    };
    int64_t step = stepSlice(regularSpread);
    // The k loop covers [start, start + reach] from the tile's start. The
    // start is clamped once, here, so that the whole range stays in the
    // next block (tiles past the first S rows prefetch its end again) and
    // in the allocation (the last block has no next one): the k loop only
    // adds.
    int64_t reach = (((kRows - 1) * step) >> kFixedPointBits) +
                    (streams - 1) * streamElements;
    int64_t lastStart = std::max<int64_t>(blockElements - 1 - reach, 0);
    int64_t lastTarget =
        std::max<int64_t>(match.allocationElements - 1 - reach, 0);
    Value tileRow = rowIVs.front();
    for (Value iv : rowIVs.drop_front())
      tileRow = arith::AddIOp::create(b, loc, tileRow, iv);
    Value tileSlice = arith::DivUIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, tileRow,
                              constant(kRows * match.rowElements)),
        constant(spread));
    Value start = arith::AddIOp::create(
        b, loc, nextBlock,
        arith::MinUIOp::create(b, loc, tileSlice, constant(lastStart)));
    start = arith::MinUIOp::create(b, loc, start, constant(lastTarget));

    b.setInsertionPoint(read);
    Value j = arith::SubIOp::create(b, loc, kLoop.getInductionVar(),
                                    constant(kBegin));
    // A whole number of elements a step is a plain multiply, which LLVM
    // turns into a pointer increment.
    Value advance =
        hasWholeStep(regularSpread)
            ? arith::MulIOp::create(b, loc, j,
                                    constant(step >> kFixedPointBits))
                  .getResult()
            : arith::ShRUIOp::create(
                  b, loc, arith::MulIOp::create(b, loc, j, constant(step)),
                  constant(kFixedPointBits))
                  .getResult();
    Value target = arith::AddIOp::create(b, loc, start, advance);
    for (int64_t stream = 0; stream < streams; ++stream) {
      Value at = stream == 0
                     ? target
                     : arith::AddIOp::create(b, loc, target,
                                             constant(stream * streamElements));
      memref::PrefetchOp::create(b, loc, flat, ValueRange{at},
                                 /*isWrite=*/false, localityHint,
                                 /*isDataCache=*/true);
    }
  }

  BlockRead match;
  unsigned localityHint;
  int64_t kBegin, kRows, blockElements, tileRows;
};

/// Prefetches the next blocks of `reads`, the matched reads under one
/// outermost row loop (the whole-K gated tile has two, its gate's and its
/// up projection's). With `shortSpreadRows` S' (0: off), a block of S' / 2
/// to 3 S' / 2 rows (and fewer than `spreadRows`) runs a copy of the row
/// loop whose tiles prefetch `spreadRows / S'` times larger slices.
void prefetchNextBlocks(ArrayRef<BlockRead> reads, int64_t spreadRows,
                        int64_t shortSpreadRows, unsigned localityHint) {
  SmallVector<NextBlockPrefetch> prefetches;
  for (const BlockRead &read : reads) {
    NextBlockPrefetch prefetch(read, localityHint);
    if (prefetch.hasSteps())
      prefetches.push_back(std::move(prefetch));
  }
  if (prefetches.empty())
    return;
  auto rowIVsOf = [](BlockRead &match) {
    return llvm::map_to_vector(
        match.rowLoops, [](scf::ForOp loop) { return loop.getInductionVar(); });
  };

  // A short block's tiles would prefetch only their rows' share of the
  // next block. Spread over S' = S / m rows instead, a tile's slice is m
  // times as large: m streams of a regular tile's step, each as long as a
  // regular tile's range, so the k loop keeps its constant step and
  // prefetches every cache line of the slice. Short means from S' / 2 to
  // 3 S' / 2 rows: fewer are a decoding token's few rows, whose one pass
  // over the block the hardware prefetcher streams; with more, the whole
  // next block would sit in L1 beside the current one for most of it.
  // Short blocks run a copy of the row loop, so that the regular tiles'
  // loops stay as they were.
  int64_t streams = shortSpreadRows > 0 ? spreadRows / shortSpreadRows : 1;
  bool copyForShort = streams > 1 && spreadRows % shortSpreadRows == 0 &&
                      llvm::all_of(prefetches, [&](const auto &prefetch) {
                        return prefetch.hasWholeStep(spreadRows);
                      });
  if (!copyForShort) {
    for (NextBlockPrefetch &prefetch : prefetches)
      prefetch.emitPrefetches(prefetch.match.kLoop, prefetch.match.read,
                              rowIVsOf(prefetch.match), spreadRows, spreadRows,
                              /*streams=*/1, /*streamElements=*/0);
    return;
  }
  scf::ForOp rowLoop = reads.front().rowLoops.front();
  Location loc = rowLoop.getLoc();
  OpBuilder b(rowLoop);
  auto constant = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };
  Value rows = rowLoop.getUpperBound();
  Value regularBlock = arith::OrIOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, rows,
                            constant((shortSpreadRows + 1) / 2)),
      arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::uge, rows,
          constant(std::min(spreadRows, shortSpreadRows * 3 / 2))));
  auto ifOp = scf::IfOp::create(b, loc, rowLoop.getResultTypes(), regularBlock,
                                /*addThenBlock=*/true, /*addElseBlock=*/true);
  OpBuilder elseBuilder = OpBuilder::atBlockEnd(ifOp.elseBlock());
  IRMapping mapping;
  auto shortRowLoop = cast<scf::ForOp>(elseBuilder.clone(*rowLoop, mapping));
  scf::YieldOp::create(elseBuilder, loc, shortRowLoop.getResults());
  rowLoop->replaceAllUsesWith(ifOp.getResults());
  rowLoop->moveBefore(ifOp.thenBlock(), ifOp.thenBlock()->end());
  OpBuilder thenBuilder = OpBuilder::atBlockEnd(ifOp.thenBlock());
  scf::YieldOp::create(thenBuilder, loc, rowLoop.getResults());
  for (NextBlockPrefetch &prefetch : prefetches) {
    BlockRead &match = prefetch.match;
    SmallVector<Value> shortRowIVs = llvm::map_to_vector(
        rowIVsOf(match), [&](Value iv) { return mapping.lookup(iv); });
    prefetch.emitPrefetches(
        cast<scf::ForOp>(mapping.lookup(match.kLoop.getOperation())),
        mapping.lookup(match.read.getOperation()), shortRowIVs, shortSpreadRows,
        spreadRows, streams, prefetch.streamElements(spreadRows));
    prefetch.emitPrefetches(match.kLoop, match.read, rowIVsOf(match),
                            spreadRows, spreadRows, /*streams=*/1,
                            /*streamElements=*/0);
  }
}

struct MoECPUPrefetchNextBlockPass
    : moe::impl::MoECPUPrefetchNextBlockPassBase<MoECPUPrefetchNextBlockPass> {
  using MoECPUPrefetchNextBlockPassBase::MoECPUPrefetchNextBlockPassBase;

  void runOnOperation() override {
    if (spreadRows < 1 || shortSpreadRows < 0 || localityHint > 3) {
      getOperation()->emitError()
          << "moe-cpu-prefetch-next-block: spread-rows must be at least 1, "
             "short-spread-rows at least 0 and locality-hint at most 3";
      return signalPassFailure();
    }
    // The matched reads, by their outermost row loop.
    llvm::MapVector<Operation *, SmallVector<BlockRead>> readsByRowLoop;
    getOperation()->walk([&](vector::TransferReadOp read) {
      if (std::optional<BlockRead> match = matchBlockRead(read))
        readsByRowLoop[match->rowLoops.front()].push_back(std::move(*match));
    });
    for (auto &[rowLoop, reads] : readsByRowLoop)
      prefetchNextBlocks(reads, spreadRows, shortSpreadRows, localityHint);
  }
};

} // namespace

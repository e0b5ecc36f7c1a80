//===- RoutingDataToSCF.cpp - dispatch, permute, combine --------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file lowers the ops that move routing data:
//
// - `moe.dispatch` to a stable counting sort of the T * k assignments:
//   a histogram, a prefix sum (applying the capacity), then a placement pass
//   in token order. O(T * k + E). With chunks, the histogram and the
//   placement are foralls over (expert, chunk of tokens), which a GPU runs
//   in parallel, and each expert's counts are scanned over the chunks:
//   O(E * T * k) work in all, but no iteration waits on another's memory.
// - `moe.permute` to a copy of each used row from its token's row.
// - `moe.combine` to a scatter-add over the used rows, in row order, so the
//   sum is deterministic.
// Permute and combine split their columns into an `scf.forall` of chunks,
// each chunk the whole op on its columns; or, for a GPU's many blocks, into
// a forall over blocks of rows (permute) or of tokens (combine: each block
// finds its tokens' rows in every segment by binary search and adds them in
// the same row order), each block's columns then split into chunks.
//
//===----------------------------------------------------------------------===//

#include "moe/Conversion/MoEToLinalg/MoEToLinalg.h"
#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/TensorUtils.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

using namespace mlir;
using namespace mlir::moe;

namespace {

Value i32Constant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(value));
}

Value toIndex(OpBuilder &b, Location loc, Value value) {
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), value);
}

/// Reads `offsets[E]`, the number of used rows, as an index.
Value usedRows(OpBuilder &b, Location loc, Value offsets) {
  int64_t numExperts = cast<ShapedType>(offsets.getType()).getDimSize(0) - 1;
  Value last = arith::ConstantIndexOp::create(b, loc, numExperts);
  return toIndex(b, loc,
                 tensor::ExtractOp::create(b, loc, offsets, ValueRange{last}));
}

/// Columns of one independent chunk of a row-moving op: rows stay whole
/// streams of at least this many bytes while a [*, D] op splits into a few
/// chunks that threads (or blocks) can take.
constexpr int64_t kColumnChunk = 256;

/// A forall body's write of the slices `sources[i]` into its shared outputs
/// `dests[i]` at `offsets[i]` with `sizes[i]`, unit strides.
void insertInParallel(OpBuilder &b, Location loc, ArrayRef<Value> sources,
                      ArrayRef<Value> dests,
                      ArrayRef<SmallVector<OpFoldResult>> offsets,
                      ArrayRef<SmallVector<OpFoldResult>> sizes) {
  auto inParallel = scf::InParallelOp::create(b, loc);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(inParallel.getBody());
  for (auto [source, dest, offset, size] :
       llvm::zip(sources, dests, offsets, sizes))
    tensor::ParallelInsertSliceOp::create(
        b, loc, source, dest, offset, size,
        SmallVector<OpFoldResult>(offset.size(), b.getIndexAttr(1)));
}

/// A chunk of a [rows, D] tensor's columns: `width` (static, or dynamic)
/// columns from `offset`, `stride` apart; `size` is the width as an
/// OpFoldResult.
struct ColumnChunk {
  Value offset;
  int64_t stride;
  int64_t width;
  OpFoldResult size;

  /// This chunk's columns of row `row` of `source` (a [R, D] tensor).
  Value rowOf(OpBuilder &b, Location loc, Value source, OpFoldResult row,
              Type elementType) const {
    return tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get({width}, elementType), source,
        ArrayRef<OpFoldResult>{row, offset},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), size},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(stride)});
  }

  /// Whether the chunk's rows move as vectors: a thread's interleaved
  /// columns, few enough for registers. A thread then issues a row's loads
  /// together, where an element loop would wait for each load before its
  /// store (the stores may alias the loads as far as the GPU compiler knows).
  bool movesAsVectors() const {
    return stride > 1 && !ShapedType::isDynamic(width) &&
           width <= kMaxVectorChunk;
  }

  /// `row` (a [width] tensor) as a vector of `elementType`.
  Value readVector(OpBuilder &b, Location loc, Value row,
                   Type elementType) const {
    Type rowElement = cast<ShapedType>(row.getType()).getElementType();
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value vector = vector::TransferReadOp::create(
        b, loc, VectorType::get({width}, rowElement), row, ValueRange{zero},
        /*padding=*/std::nullopt, ArrayRef<bool>{true});
    return convertFloat(b, loc, vector, elementType);
  }

  /// `dest` (a [R, width] tensor) with `vector` written to its row `row`.
  Value writeVector(OpBuilder &b, Location loc, Value vector, Value dest,
                    Value row) const {
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    return vector::TransferWriteOp::create(b, loc, vector, dest,
                                           ValueRange{row, zero},
                                           ArrayRef<bool>{true})
        .getResult();
  }

  static constexpr int64_t kMaxVectorChunk = 64;
};

/// Builds `body(b, chunk, destChunk)` over column chunks of `dest` [rows, D]
/// as an `scf.forall` whose iterations each write their own columns, and
/// returns the updated `dest`. Chunks are `kColumnChunk` contiguous columns
/// or, with `maxChunks` > 0, at most that many chunks (a GPU block's threads
/// take one each) that interleave: chunk c of n has columns c, c + n, ...,
/// so that consecutive threads touch consecutive columns (coalesced). Each
/// chunk does exactly what the whole op would on its columns, in the same
/// order, so the result does not depend on how chunks are scheduled. A
/// dynamic D, or one that fits one chunk, gets one call on the whole of
/// `dest`.
Value buildColumnChunks(
    OpBuilder &b, Location loc, Value dest,
    function_ref<Value(OpBuilder &, const ColumnChunk &, Value)> body,
    int64_t maxChunks = 0) {
  auto type = cast<RankedTensorType>(dest.getType());
  int64_t width = type.getDimSize(1);
  int64_t chunk = width;
  if (!ShapedType::isDynamic(width))
    chunk = maxChunks > 0 ? width / largestDivisorAtMost(width, maxChunks)
                          : largestDivisorAtMost(width, kColumnChunk);
  if (ShapedType::isDynamic(width) || chunk == width)
    return body(b,
                ColumnChunk{arith::ConstantIndexOp::create(b, loc, 0), 1, width,
                            tensor::getMixedSize(b, loc, dest, 1)},
                dest);
  int64_t chunks = width / chunk;
  bool interleaved = maxChunks > 0;
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(chunks)}, ValueRange{dest},
      std::nullopt, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value column =
            interleaved ? args[0]
                        : arith::MulIOp::create(
                              nb, nloc, args[0],
                              arith::ConstantIndexOp::create(nb, nloc, chunk));
        OpFoldResult rows = tensor::getMixedSize(nb, nloc, args[1], 0);
        SmallVector<OpFoldResult> offsets = {zero, column},
                                  sizes = {rows, nb.getIndexAttr(chunk)},
                                  strides = {one, nb.getIndexAttr(interleaved
                                                                      ? chunks
                                                                      : 1)};
        Value destChunk = tensor::ExtractSliceOp::create(
            nb, nloc, args[1], offsets, sizes, strides);
        Value result = body(
            nb, ColumnChunk{column, interleaved ? chunks : 1, chunk, sizes[1]},
            destChunk);
        auto inParallel = scf::InParallelOp::create(nb, nloc);
        nb.setInsertionPointToStart(inParallel.getBody());
        tensor::ParallelInsertSliceOp::create(nb, nloc, result, args[1],
                                              offsets, sizes, strides);
      });
  return forall.getResult(0);
}

/// Calls `body(b, t, j, iterArgs)` for every assignment (t, j) of a [T, k]
/// tensor with `first` <= t < `last`, in token order, threading
/// `iterArgs`; returns the final values.
ValueRange forEachAssignment(
    OpBuilder &b, Location loc, Value first, Value last, int64_t k,
    ValueRange iterArgs,
    function_ref<SmallVector<Value>(OpBuilder &, Value, Value, ValueRange)>
        body) {
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value kValue = arith::ConstantIndexOp::create(b, loc, k);
  auto outer = scf::ForOp::create(
      b, loc, first, last, c1, iterArgs,
      [&](OpBuilder &b, Location, Value t, ValueRange outerArgs) {
        auto inner = scf::ForOp::create(
            b, loc, c0, kValue, c1, outerArgs,
            [&](OpBuilder &b, Location, Value j, ValueRange innerArgs) {
              scf::YieldOp::create(b, loc, body(b, t, j, innerArgs));
            });
        scf::YieldOp::create(b, loc, inner.getResults());
      });
  return outer.getResults();
}

/// The tokens [first, last) of chunk `c` of `chunkTokens` tokens each.
std::pair<Value, Value> chunkTokenRange(OpBuilder &b, Location loc, Value c,
                                        int64_t chunkTokens, Value tokens) {
  Value size = arith::ConstantIndexOp::create(b, loc, chunkTokens);
  Value first = arith::MulIOp::create(b, loc, c, size);
  Value last = arith::MinUIOp::create(
      b, loc, arith::AddIOp::create(b, loc, first, size), tokens);
  return {first, last};
}

/// The one-element slice of `dest` at `position` holding `value`, for a
/// forall iteration to write there.
Value elementSlice(OpBuilder &b, Location loc, Value value, Value dest,
                   ArrayRef<OpFoldResult> position) {
  SmallVector<OpFoldResult> ones(position.size(), b.getIndexAttr(1));
  Value slot =
      tensor::ExtractSliceOp::create(b, loc, dest, position, ones, ones);
  SmallVector<Value> zeros(position.size(),
                           arith::ConstantIndexOp::create(b, loc, 0));
  return tensor::InsertOp::create(b, loc, value, slot, zeros);
}

//===----------------------------------------------------------------------===//
// DispatchOp
//===----------------------------------------------------------------------===//

/// `tokenIds` and `rowWeights` with assignment (t, j)'s token and its
/// weight from `weights` [T, k] at row `row(b)` where `write` holds, as they
/// are where not: the results of the `scf.if` that writes them.
std::pair<Value, Value> placeAssignment(OpBuilder &b, Location loc, Value write,
                                        function_ref<Value(OpBuilder &)> row,
                                        Value t, Value j, Value weights,
                                        Value tokenIds, Value rowWeights) {
  auto written = scf::IfOp::create(
      b, loc, write,
      [&](OpBuilder &b, Location) {
        Value at = row(b);
        Value token = arith::IndexCastOp::create(b, loc, b.getI32Type(), t);
        Value weight =
            tensor::ExtractOp::create(b, loc, weights, ValueRange{t, j});
        scf::YieldOp::create(
            b, loc,
            ValueRange{tensor::InsertOp::create(b, loc, token, tokenIds,
                                                ValueRange{at}),
                       tensor::InsertOp::create(b, loc, weight, rowWeights,
                                                ValueRange{at})});
      },
      [&](OpBuilder &b, Location) {
        scf::YieldOp::create(b, loc, ValueRange{tokenIds, rowWeights});
      });
  return {written.getResult(0), written.getResult(1)};
}

/// The dispatch's counting sort in parallel (`dispatch-chunk-tokens`):
/// builds its histogram (step 1) and its placement (step 4) over (expert,
/// chunk of `chunkTokens` tokens); the prefix sum between them is the
/// serial form's.
class ChunkedDispatchBuilder {
public:
  ChunkedDispatchBuilder(PatternRewriter &rewriter, DispatchOp op, Value tokens,
                         int64_t chunkTokens)
      : rewriter(rewriter), op(op), loc(op.getLoc()), tokens(tokens),
        chunkTokens(chunkTokens), numExperts(op.getNumExperts()),
        k(cast<ShapedType>(op.getIndices().getType()).getDimSize(1)),
        i32(rewriter.getI32Type()), zero(i32Constant(rewriter, loc, 0)),
        one(i32Constant(rewriter, loc, 1)) {}

  /// Step 1 in parallel, returning the histogram: a forall over (expert, chunk)
  /// counts each chunk's assignments to each expert, and a forall over experts
  /// scans the counts over chunks. An iteration reads its chunk's indices and
  /// keeps its count in a register: no iteration waits on another's memory.
  Value count() {
    Value indices = op.getIndices();
    OpFoldResult experts = rewriter.getIndexAttr(numExperts);
    OpFoldResult zeroIndex = rewriter.getIndexAttr(0);
    OpFoldResult oneIndex = rewriter.getIndexAttr(1);
    chunks = arith::CeilDivUIOp::create(
        rewriter, loc, tokens,
        arith::ConstantIndexOp::create(rewriter, loc, chunkTokens));
    auto counting = scf::ForallOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{experts, chunks},
        ValueRange{createEmptyTensor(rewriter, loc, {experts, chunks}, i32)},
        std::nullopt, [&](OpBuilder &b, Location, ValueRange args) {
          Value e = args[0], c = args[1], grid = args[2];
          Value first, last;
          std::tie(first, last) =
              chunkTokenRange(b, loc, c, chunkTokens, tokens);
          Value expert = arith::IndexCastOp::create(b, loc, i32, e);
          Value count =
              forEachAssignment(
                  b, loc, first, last, k, ValueRange{zero},
                  [&](OpBuilder &b, Value t, Value j, ValueRange running) {
                    Value match = arith::CmpIOp::create(
                        b, loc, arith::CmpIPredicate::eq,
                        tensor::ExtractOp::create(b, loc, indices,
                                                  ValueRange{t, j}),
                        expert);
                    return SmallVector<Value>{arith::AddIOp::create(
                        b, loc, running[0],
                        arith::SelectOp::create(b, loc, match, one, zero))};
                  })
                  .front();
          SmallVector<OpFoldResult> position{e, c};
          insertInParallel(b, loc,
                           {elementSlice(b, loc, count, grid, position)},
                           {grid}, {position}, {{oneIndex, oneIndex}});
        });
    counts = counting.getResult(0);

    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    auto rowType = RankedTensorType::get({ShapedType::kDynamic}, i32);
    auto scanning = scf::ForallOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{experts},
        ValueRange{createEmptyTensor(rewriter, loc, {experts, chunks}, i32),
                   op.getCountsInit()},
        std::nullopt, [&](OpBuilder &b, Location, ValueRange args) {
          Value e = args[0], starts = args[1], totals = args[2];
          SmallVector<OpFoldResult> rowOffsets{e, zeroIndex},
              rowSizes{oneIndex, chunks}, strides{oneIndex, oneIndex};
          Value countRow = tensor::ExtractSliceOp::create(
              b, loc, rowType, counts, rowOffsets, rowSizes, strides);
          Value startRow = tensor::ExtractSliceOp::create(
              b, loc, rowType, starts, rowOffsets, rowSizes, strides);
          auto scan = scf::ForOp::create(
              b, loc, c0, chunks, c1, ValueRange{zero, startRow},
              [&](OpBuilder &b, Location, Value c, ValueRange running) {
                Value count =
                    tensor::ExtractOp::create(b, loc, countRow, ValueRange{c});
                Value written = tensor::InsertOp::create(
                    b, loc, running[0], running[1], ValueRange{c});
                scf::YieldOp::create(
                    b, loc,
                    ValueRange{arith::AddIOp::create(b, loc, running[0], count),
                               written});
              });
          SmallVector<OpFoldResult> position{e};
          insertInParallel(
              b, loc,
              {scan.getResult(1),
               elementSlice(b, loc, scan.getResult(0), totals, position)},
              {starts, totals}, {rowOffsets, position}, {rowSizes, {oneIndex}});
        });
    starts = scanning.getResult(0);
    return scanning.getResult(1);
  }

  /// Step 4 in parallel: the iteration for (expert e, chunk c) writes the
  /// rows of e's segment that chunk c's assignments to e take, in token
  /// order: the `counts[e, c]` rows from `starts[e, c]` on, fewer where the
  /// capacity ends the segment. These are the rows the serial placement
  /// gives them, and each iteration writes a slice of its own.
  std::pair<Value, Value> place(Value offsets, Value capacity) {
    Value indices = op.getIndices();
    Value weights = op.getWeights();
    OpFoldResult oneIndex = rewriter.getIndexAttr(1);
    auto placing = scf::ForallOp::create(
        rewriter, loc,
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(numExperts), chunks},
        ValueRange{op.getTokenIdsInit(), op.getRowWeightsInit()}, std::nullopt,
        [&](OpBuilder &b, Location, ValueRange args) {
          Value e = args[0], c = args[1], ids = args[2], rowWeights = args[3];
          Value start =
              tensor::ExtractOp::create(b, loc, starts, ValueRange{e, c});
          Value kept =
              tensor::ExtractOp::create(b, loc, counts, ValueRange{e, c});
          Value first = start;
          if (capacity) {
            // Rows from the capacity on are dropped; the slice then starts
            // no later than the segment's end.
            kept = arith::MaxSIOp::create(
                b, loc,
                arith::MinSIOp::create(
                    b, loc, kept,
                    arith::SubIOp::create(b, loc, capacity, start)),
                zero);
            first = arith::MinSIOp::create(b, loc, start, capacity);
          }
          Value segmentStart =
              tensor::ExtractOp::create(b, loc, offsets, ValueRange{e});
          SmallVector<OpFoldResult> sliceOffsets{toIndex(
              b, loc, arith::AddIOp::create(b, loc, segmentStart, first))};
          SmallVector<OpFoldResult> sliceSizes{toIndex(b, loc, kept)};
          SmallVector<OpFoldResult> strides{oneIndex};
          Value idSlice = tensor::ExtractSliceOp::create(
              b, loc, ids, sliceOffsets, sliceSizes, strides);
          Value weightSlice = tensor::ExtractSliceOp::create(
              b, loc, rowWeights, sliceOffsets, sliceSizes, strides);
          Value firstToken, lastToken;
          std::tie(firstToken, lastToken) =
              chunkTokenRange(b, loc, c, chunkTokens, tokens);
          Value expert = arith::IndexCastOp::create(b, loc, i32, e);
          ValueRange placed = forEachAssignment(
              b, loc, firstToken, lastToken, k,
              ValueRange{zero, idSlice, weightSlice},
              [&](OpBuilder &b, Value t, Value j, ValueRange running) {
                Value position = running[0];
                Value match = arith::CmpIOp::create(
                    b, loc, arith::CmpIPredicate::eq,
                    tensor::ExtractOp::create(b, loc, indices,
                                              ValueRange{t, j}),
                    expert);
                Value write = arith::AndIOp::create(
                    b, loc, match,
                    arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                          position, kept));
                auto [placedIds, placedWeights] = placeAssignment(
                    b, loc, write,
                    [&](OpBuilder &b) { return toIndex(b, loc, position); }, t,
                    j, weights, running[1], running[2]);
                Value next = arith::AddIOp::create(
                    b, loc, position,
                    arith::SelectOp::create(b, loc, match, one, zero));
                return SmallVector<Value>{next, placedIds, placedWeights};
              });
          insertInParallel(b, loc, {placed[1], placed[2]}, {ids, rowWeights},
                           {sliceOffsets, sliceOffsets},
                           {sliceSizes, sliceSizes});
        });
    return {placing.getResult(0), placing.getResult(1)};
  }

private:
  PatternRewriter &rewriter;
  DispatchOp op;
  Location loc;
  Value tokens;
  int64_t chunkTokens, numExperts, k;
  Type i32;
  Value zero, one;
  /// What the histogram leaves for the placement: for each expert e and
  /// chunk c, `counts[e, c]` assignments of chunk c name e, and
  /// `starts[e, c]` of them come in earlier chunks.
  Value chunks, counts, starts;
};

struct DispatchToSCF : OpRewritePattern<DispatchOp> {
  DispatchToSCF(MLIRContext *context, int64_t chunkTokens)
      : OpRewritePattern(context), chunkTokens(chunkTokens) {}

  LogicalResult matchAndRewrite(DispatchOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value indices = op.getIndices();
    Value weights = op.getWeights();
    int64_t numExperts = op.getNumExperts();
    int64_t k = cast<ShapedType>(indices.getType()).getDimSize(1);
    Value tokens = tensor::DimOp::create(rewriter, loc, indices, 0);
    Value zero = i32Constant(rewriter, loc, 0);
    Value one = i32Constant(rewriter, loc, 1);
    Value numExpertsI32 = i32Constant(rewriter, loc, numExperts);
    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value experts = arith::ConstantIndexOp::create(rewriter, loc, numExperts);

    // The expert of assignment (t, j), and whether it names a real expert;
    // out-of-range indices are dropped rather than written out of bounds.
    auto expertOf = [&](OpBuilder &b, Value t, Value j,
                        Value &inRange) -> Value {
      Value e = tensor::ExtractOp::create(b, loc, indices, ValueRange{t, j});
      inRange = arith::AndIOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, e, zero),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, e,
                                numExpertsI32));
      return toIndex(b, loc, arith::SelectOp::create(b, loc, inRange, e, zero));
    };

    // 1. Histogram of experts over all assignments.
    std::optional<ChunkedDispatchBuilder> chunked;
    Value histogram;
    if (chunkTokens > 0) {
      chunked.emplace(rewriter, op, tokens, chunkTokens);
      histogram = chunked->count();
    } else {
      Value countsInit =
          linalg::FillOp::create(rewriter, loc, zero, op.getCountsInit())
              .getResult(0);
      histogram =
          forEachAssignment(
              rewriter, loc, c0, tokens, k, ValueRange{countsInit},
              [&](OpBuilder &b, Value t, Value j, ValueRange args) {
                Value inRange;
                Value e = expertOf(b, t, j, inRange);
                Value count =
                    tensor::ExtractOp::create(b, loc, args[0], ValueRange{e});
                Value increment =
                    arith::SelectOp::create(b, loc, inRange, one, zero);
                Value updated = arith::AddIOp::create(b, loc, count, increment);
                return SmallVector<Value>{tensor::InsertOp::create(
                    b, loc, updated, args[0], ValueRange{e})};
              })
              .front();
    }

    // 2. Capacity C = ceil(capacity_factor * (T * k) / E), in f64 as the
    //    model format defines it.
    Value capacity;
    if (FloatAttr factor = op.getCapacityFactorAttr()) {
      Type f64 = rewriter.getF64Type();
      Value assignments = arith::MulIOp::create(
          rewriter, loc, tokens,
          arith::ConstantIndexOp::create(rewriter, loc, k));
      Value assignmentsF64 = arith::UIToFPOp::create(
          rewriter, loc, f64,
          arith::IndexCastUIOp::create(rewriter, loc, rewriter.getI64Type(),
                                       assignments));
      Value scaled = arith::MulFOp::create(
          rewriter, loc,
          arith::ConstantOp::create(
              rewriter, loc,
              rewriter.getF64FloatAttr(factor.getValueAsDouble())),
          assignmentsF64);
      Value perExpert = arith::DivFOp::create(
          rewriter, loc, scaled,
          arith::ConstantOp::create(
              rewriter, loc,
              rewriter.getF64FloatAttr(static_cast<double>(numExperts))));
      // No expert can keep more than the i32 row range; larger factors (a
      // "no limit" 1e30) mean no dropping.
      Value bounded = arith::MinimumFOp::create(
          rewriter, loc, math::CeilOp::create(rewriter, loc, perExpert),
          arith::ConstantOp::create(
              rewriter, loc,
              rewriter.getF64FloatAttr(std::numeric_limits<int32_t>::max())));
      capacity = arith::FPToSIOp::create(rewriter, loc,
                                         rewriter.getI32Type(), bounded);
    }

    // 3. Kept counts and their exclusive prefix sum, each segment rounded up
    //    to the alignment.
    int64_t alignment = op.getSegmentAlignmentOrOne();
    auto prefix = scf::ForOp::create(
        rewriter, loc, c0, experts, c1,
        ValueRange{op.getOffsetsInit(), histogram, zero},
        [&](OpBuilder &b, Location, Value e, ValueRange args) {
          Value count = tensor::ExtractOp::create(b, loc, args[1], ValueRange{e});
          if (capacity)
            count = arith::MinSIOp::create(b, loc, count, capacity);
          Value offsets =
              tensor::InsertOp::create(b, loc, args[2], args[0], ValueRange{e});
          Value counts =
              tensor::InsertOp::create(b, loc, count, args[1], ValueRange{e});
          Value segment = count;
          if (alignment > 1) {
            Value align = i32Constant(b, loc, alignment);
            segment = arith::MulIOp::create(
                b, loc, arith::CeilDivUIOp::create(b, loc, count, align),
                align);
          }
          Value running = arith::AddIOp::create(b, loc, args[2], segment);
          scf::YieldOp::create(b, loc, ValueRange{offsets, counts, running});
        });
    Value offsets = tensor::InsertOp::create(
        rewriter, loc, prefix.getResult(2), prefix.getResult(0),
        ValueRange{experts});
    Value counts = prefix.getResult(1);

    // 4. Placement in token order; `seen[e]` counts e's assignments so far.
    Value tokenIds, rowWeights;
    if (chunkTokens > 0) {
      std::tie(tokenIds, rowWeights) = chunked->place(offsets, capacity);
    } else {
      Value seenInit =
          linalg::FillOp::create(
              rewriter, loc, zero,
              createEmptyTensor(rewriter, loc,
                                {rewriter.getIndexAttr(numExperts)},
                                rewriter.getI32Type()))
              .getResult(0);
      ValueRange placed = forEachAssignment(
          rewriter, loc, c0, tokens, k,
          ValueRange{op.getTokenIdsInit(), op.getRowWeightsInit(), seenInit},
          [&](OpBuilder &b, Value t, Value j, ValueRange args) {
            Value inRange;
            Value e = expertOf(b, t, j, inRange);
            Value position =
                tensor::ExtractOp::create(b, loc, args[2], ValueRange{e});
            Value seen = tensor::InsertOp::create(
                b, loc,
                arith::AddIOp::create(
                    b, loc, position,
                    arith::SelectOp::create(b, loc, inRange, one, zero)),
                args[2], ValueRange{e});
            Value keep = inRange;
            if (capacity)
              keep = arith::AndIOp::create(
                  b, loc, keep,
                  arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                        position, capacity));
            auto [ids, rowWeights] = placeAssignment(
                b, loc, keep,
                [&](OpBuilder &b) {
                  Value start =
                      tensor::ExtractOp::create(b, loc, offsets, ValueRange{e});
                  return toIndex(
                      b, loc, arith::AddIOp::create(b, loc, start, position));
                },
                t, j, weights, args[0], args[1]);
            return SmallVector<Value>{ids, rowWeights, seen};
          });
      tokenIds = placed[0];
      rowWeights = placed[1];
    }
    if (alignment > 1) {
      // 5. Padding rows: token id -1 (skipped by permute and combine) and
      //    weight 0.
      Value minusOne = i32Constant(rewriter, loc, -1);
      Value zeroWeight = arith::ConstantOp::create(
          rewriter, loc,
          rewriter.getFloatAttr(
              cast<ShapedType>(rowWeights.getType()).getElementType(), 0.0));
      auto padding = scf::ForOp::create(
          rewriter, loc, c0, experts, c1, ValueRange{tokenIds, rowWeights},
          [&](OpBuilder &b, Location, Value e, ValueRange args) {
            Value next = arith::AddIOp::create(b, loc, e, c1);
            Value start = arith::AddIOp::create(
                b, loc,
                tensor::ExtractOp::create(b, loc, offsets, ValueRange{e}),
                tensor::ExtractOp::create(b, loc, counts, ValueRange{e}));
            Value end =
                tensor::ExtractOp::create(b, loc, offsets, ValueRange{next});
            auto rows = scf::ForOp::create(
                b, loc, toIndex(b, loc, start), toIndex(b, loc, end), c1,
                args,
                [&](OpBuilder &b, Location, Value r, ValueRange rowArgs) {
                  scf::YieldOp::create(
                      b, loc,
                      ValueRange{tensor::InsertOp::create(
                                     b, loc, minusOne, rowArgs[0],
                                     ValueRange{r}),
                                 tensor::InsertOp::create(
                                     b, loc, zeroWeight, rowArgs[1],
                                     ValueRange{r})});
                });
            scf::YieldOp::create(b, loc, rows.getResults());
          });
      tokenIds = padding.getResult(0);
      rowWeights = padding.getResult(1);
    }

    rewriter.replaceOp(op, {counts, offsets, tokenIds, rowWeights});
    return success();
  }

private:
  int64_t chunkTokens;
};

//===----------------------------------------------------------------------===//
// PermuteOp
//===----------------------------------------------------------------------===//

/// Where permute and combine put their forall: over column chunks of all
/// rows (0 `rowBlock`; threads share the columns), or over blocks of
/// `rowBlock` rows (tokens, for combine), each block's columns split into
/// at most `columnChunks` chunks (a GPU grid of blocks, each block's threads
/// taking a chunk).
struct RowOpLayout {
  int64_t rowBlock = 0;
  int64_t columnChunks = 0;
};

/// Builds `body(b, first, count, destBlock)` over blocks of `blockRows` rows
/// of `dest` [R, D] as an `scf.forall` over ceil(R / blockRows) blocks, each
/// writing its own rows, and returns the updated `dest`. Block i holds rows
/// [first, first + count): from i * blockRows, and none from `limit(b)` on,
/// which each block computes itself (on a GPU, a value read from device
/// memory before the loop would make the loop host code's).
Value buildRowBlocks(
    OpBuilder &b, Location loc, Value dest, int64_t blockRows,
    function_ref<Value(OpBuilder &)> limit,
    function_ref<Value(OpBuilder &, Value, Value, Value)> body) {
  Value rows = tensor::DimOp::create(b, loc, dest, 0);
  Value blockSize = arith::ConstantIndexOp::create(b, loc, blockRows);
  Value blocks = arith::CeilDivUIOp::create(b, loc, rows, blockSize);
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{blocks}, ValueRange{dest}, std::nullopt,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value first = arith::MulIOp::create(nb, nloc, args[0], blockSize);
        Value count = arith::MaxSIOp::create(
            nb, nloc,
            arith::MinSIOp::create(
                nb, nloc, arith::SubIOp::create(nb, nloc, limit(nb), first),
                blockSize),
            arith::ConstantIndexOp::create(nb, nloc, 0));
        SmallVector<OpFoldResult> offsets = {first, zero},
                                  sizes = {count, tensor::getMixedSize(
                                                      nb, nloc, args[1], 1)};
        Value block =
            tensor::ExtractSliceOp::create(nb, nloc, args[1], offsets, sizes,
                                           ArrayRef<OpFoldResult>{one, one});
        Value result = body(nb, first, count, block);
        insertInParallel(nb, nloc, {result}, {args[1]}, {offsets}, {sizes});
      });
  return forall.getResult(0);
}

//===----------------------------------------------------------------------===//
// PermuteOp
//===----------------------------------------------------------------------===//

struct PermuteToLinalg : OpRewritePattern<PermuteOp> {
  PermuteToLinalg(MLIRContext *context, RowOpLayout layout)
      : OpRewritePattern(context), layout(layout) {}

  LogicalResult matchAndRewrite(PermuteOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value init = op.getInit();
    if (layout.rowBlock > 0) {
      // Blocks of rows, the last ones past the used rows empty: the grid is
      // sized by the rows there can be, not by the routing.
      auto used = [&](OpBuilder &b) {
        return usedRows(b, loc, op.getExpertOffsets());
      };
      rewriter.replaceOp(
          op, buildRowBlocks(
                  rewriter, loc, init, layout.rowBlock, used,
                  [&](OpBuilder &b, Value first, Value count, Value block) {
                    return copyRows(b, loc, op, block, first, count,
                                    layout.columnChunks);
                  }));
      return success();
    }
    Value used = usedRows(rewriter, loc, op.getExpertOffsets());
    OpFoldResult width = tensor::getMixedSize(rewriter, loc, init, 1);
    OpFoldResult zero = rewriter.getIndexAttr(0);
    OpFoldResult one = rewriter.getIndexAttr(1);
    Value rows = tensor::ExtractSliceOp::create(
        rewriter, loc, init, ArrayRef<OpFoldResult>{zero, zero},
        ArrayRef<OpFoldResult>{used, width}, ArrayRef<OpFoldResult>{one, one});
    Value gathered =
        copyRows(rewriter, loc, op, rows,
                 arith::ConstantIndexOp::create(rewriter, loc, 0), used,
                 /*maxChunks=*/0);
    rewriter.replaceOpWithNewOp<tensor::InsertSliceOp>(
        op, gathered, init, ArrayRef<OpFoldResult>{zero, zero},
        ArrayRef<OpFoldResult>{used, width}, ArrayRef<OpFoldResult>{one, one});
    return success();
  }

private:
  /// `row` (a [width] tensor) with its elements rounded to `elementType`,
  /// or itself where they are of that type.
  static Value roundRow(OpBuilder &b, Location loc, Value row,
                        Type elementType) {
    if (cast<RankedTensorType>(row.getType()).getElementType() == elementType)
      return row;
    return buildElementwise(
        b, loc, row,
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          return convertFloat(nb, nloc, args[0], elementType);
        },
        elementType);
  }

  /// rows[i, :] = input[token_ids[first + i], :] for i < count: one
  /// contiguous row copy per row (the token id read once a row, not once an
  /// element), in column chunks, which threads share; rounded where `rows`
  /// has a narrower element type than the input.
  static Value copyRows(OpBuilder &b, Location loc, PermuteOp op, Value rows,
                        Value first, Value count, int64_t maxChunks) {
    Value input = op.getInput();
    auto inputType = cast<RankedTensorType>(input.getType());
    Type rowsElement = cast<RankedTensorType>(rows.getType()).getElementType();
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
    return buildColumnChunks(
        b, loc, rows,
        [&](OpBuilder &b, const ColumnChunk &columns, Value chunk) -> Value {
          auto copy = scf::ForOp::create(
              b, loc, c0, count, c1, ValueRange{chunk},
              [&](OpBuilder &b, Location, Value i, ValueRange args) {
                Value r = arith::AddIOp::create(b, loc, first, i);
                // A padding row (token id -1) reads row 0: any row will do.
                Value token =
                    toIndex(b, loc,
                            arith::MaxSIOp::create(
                                b, loc,
                                tensor::ExtractOp::create(
                                    b, loc, op.getTokenIds(), ValueRange{r}),
                                i32Constant(b, loc, 0)));
                Value row = columns.rowOf(b, loc, input, token,
                                          inputType.getElementType());
                if (columns.movesAsVectors()) {
                  Value vector = columns.readVector(b, loc, row, rowsElement);
                  scf::YieldOp::create(
                      b, loc, columns.writeVector(b, loc, vector, args[0], i));
                  return;
                }
                Value written = tensor::InsertSliceOp::create(
                    b, loc, roundRow(b, loc, row, rowsElement), args[0],
                    ArrayRef<OpFoldResult>{i, zero},
                    ArrayRef<OpFoldResult>{one, columns.size},
                    ArrayRef<OpFoldResult>{one, one});
                scf::YieldOp::create(b, loc, ValueRange{written});
              });
          return copy.getResult(0);
        },
        maxChunks);
  }

  RowOpLayout layout;
};

//===----------------------------------------------------------------------===//
// CombineOp
//===----------------------------------------------------------------------===//

/// The first row r in [lo, hi) with `tokenIds[r]` >= `token` as unsigned
/// numbers, by binary search: a segment's token ids ascend (the dispatch
/// places rows in token order), and its padding rows' -1 comes last.
Value lowerBoundRow(OpBuilder &b, Location loc, Value tokenIds, Value lo,
                    Value hi, Value token) {
  Type index = b.getIndexType();
  auto search = scf::WhileOp::create(
      b, loc, TypeRange{index, index}, ValueRange{lo, hi},
      [&](OpBuilder &b, Location, ValueRange range) {
        Value open = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                           range[0], range[1]);
        scf::ConditionOp::create(b, loc, open, range);
      },
      [&](OpBuilder &b, Location, ValueRange range) {
        Value mid = arith::ShRUIOp::create(
            b, loc, arith::AddIOp::create(b, loc, range[0], range[1]),
            arith::ConstantIndexOp::create(b, loc, 1));
        Value below = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::ult,
            tensor::ExtractOp::create(b, loc, tokenIds, ValueRange{mid}),
            token);
        Value next = arith::AddIOp::create(
            b, loc, mid, arith::ConstantIndexOp::create(b, loc, 1));
        scf::YieldOp::create(
            b, loc,
            ValueRange{arith::SelectOp::create(b, loc, below, next, range[0]),
                       arith::SelectOp::create(b, loc, below, range[1], mid)});
      });
  return search.getResult(0);
}

struct CombineToSCF : OpRewritePattern<CombineOp> {
  CombineToSCF(MLIRContext *context, RowOpLayout layout)
      : OpRewritePattern(context), layout(layout) {}

  LogicalResult matchAndRewrite(CombineOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    if (layout.rowBlock > 0) {
      rewriter.replaceOp(op, combineTokenBlocks(rewriter, loc, op));
      return success();
    }
    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value used = usedRows(rewriter, loc, op.getExpertOffsets());

    // Each column chunk adds every used row in row order, so each output
    // element sums its contributions in one fixed order however the chunks
    // are spread over threads.
    Value result = buildColumnChunks(
        rewriter, loc, op.getInit(),
        [&](OpBuilder &b, const ColumnChunk &columns, Value chunk) -> Value {
          auto rows = scf::ForOp::create(
              b, loc, c0, used, c1, ValueRange{chunk},
              [&](OpBuilder &b, Location, Value r, ValueRange args) {
                Value tokenId = tensor::ExtractOp::create(
                    b, loc, op.getTokenIds(), ValueRange{r});
                // Padding rows (token id -1) add nothing.
                Value isPadding = arith::CmpIOp::create(
                    b, loc, arith::CmpIPredicate::slt, tokenId,
                    i32Constant(b, loc, 0));
                auto skip = scf::IfOp::create(b, loc, args[0].getType(),
                                              isPadding,
                                              /*withElseRegion=*/true);
                OpBuilder thenBuilder =
                    OpBuilder::atBlockEnd(&skip.getThenRegion().front());
                scf::YieldOp::create(thenBuilder, loc, args[0]);
                b.setInsertionPointToStart(&skip.getElseRegion().front());
                scf::YieldOp::create(b, loc,
                                     addWeightedRow(b, loc, op, r,
                                                    toIndex(b, loc, tokenId),
                                                    columns, args[0]));
                b.setInsertionPointAfter(skip);
                scf::YieldOp::create(b, loc, skip.getResults());
              });
          return rows.getResult(0);
        });
    rewriter.replaceOp(op, result);
    return success();
  }

private:
  /// `acc` with `row_weights[r] * input[r, columns]` added to its row
  /// `target`, where `acc` holds the chunk's columns.
  static Value addWeightedRow(OpBuilder &b, Location loc, CombineOp op, Value r,
                              Value target, const ColumnChunk &columns,
                              Value acc) {
    Type element = cast<ShapedType>(acc.getType()).getElementType();
    Type inputElement =
        cast<ShapedType>(op.getInput().getType()).getElementType();
    auto rowType = RankedTensorType::get({columns.width}, element);
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    Value weight = convertFloat(
        b, loc,
        tensor::ExtractOp::create(b, loc, op.getRowWeights(), ValueRange{r}),
        element);
    Value source = columns.rowOf(b, loc, op.getInput(), r, inputElement);
    Value current = tensor::ExtractSliceOp::create(
        b, loc, rowType, acc, ArrayRef<OpFoldResult>{target, zero},
        ArrayRef<OpFoldResult>{one, columns.size},
        ArrayRef<OpFoldResult>{one, one});
    if (columns.movesAsVectors()) {
      auto vectorType = VectorType::get({columns.width}, element);
      Value x = columns.readVector(b, loc, source, element);
      Value scaled = arith::MulFOp::create(
          b, loc, vector::BroadcastOp::create(b, loc, vectorType, weight), x);
      Value sum = arith::AddFOp::create(
          b, loc, columns.readVector(b, loc, current, element), scaled);
      return columns.writeVector(b, loc, sum, acc, target);
    }
    Value updated = buildScaledAccumulate(b, loc, source, current, weight);
    return tensor::InsertSliceOp::create(
        b, loc, updated, acc, ArrayRef<OpFoldResult>{target, zero},
        ArrayRef<OpFoldResult>{one, columns.size},
        ArrayRef<OpFoldResult>{one, one});
  }

  /// The forall over blocks of tokens: a block finds its tokens' rows in
  /// each expert's segment by binary search and adds them, expert by expert
  /// and in row order within a segment, which is the order the row-order
  /// form adds them in: the same sums, bit for bit.
  Value combineTokenBlocks(PatternRewriter &rewriter, Location loc,
                           CombineOp op) const {
    Value init = op.getInit();
    Value offsets = op.getExpertOffsets();
    Value tokenIds = op.getTokenIds();
    int64_t numExperts = cast<ShapedType>(offsets.getType()).getDimSize(0) - 1;
    Value tokens = tensor::DimOp::create(rewriter, loc, init, 0);
    Type i32 = rewriter.getI32Type();
    return buildRowBlocks(
        rewriter, loc, init, layout.rowBlock,
        [&](OpBuilder &) { return tokens; },
        [&](OpBuilder &b, Value firstToken, Value count, Value block) {
          Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
          Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
          Value experts = arith::ConstantIndexOp::create(b, loc, numExperts);
          Value first = arith::IndexCastOp::create(b, loc, i32, firstToken);
          Value last = arith::IndexCastOp::create(
              b, loc, i32, arith::AddIOp::create(b, loc, firstToken, count));
          return buildColumnChunks(
              b, loc, block,
              [&](OpBuilder &b, const ColumnChunk &columns,
                  Value chunk) -> Value {
                auto perExpert = scf::ForOp::create(
                    b, loc, c0, experts, c1, ValueRange{chunk},
                    [&](OpBuilder &b, Location, Value e, ValueRange acc) {
                      Value start =
                          toIndex(b, loc,
                                  tensor::ExtractOp::create(b, loc, offsets,
                                                            ValueRange{e}));
                      Value end = toIndex(b, loc,
                                          tensor::ExtractOp::create(
                                              b, loc, offsets,
                                              ValueRange{arith::AddIOp::create(
                                                  b, loc, e, c1)}));
                      Value lo =
                          lowerBoundRow(b, loc, tokenIds, start, end, first);
                      Value hi = lowerBoundRow(b, loc, tokenIds, lo, end, last);
                      auto rows = scf::ForOp::create(
                          b, loc, lo, hi, c1, acc,
                          [&](OpBuilder &b, Location, Value r,
                              ValueRange rowAcc) {
                            Value target = arith::SubIOp::create(
                                b, loc,
                                toIndex(b, loc,
                                        tensor::ExtractOp::create(
                                            b, loc, tokenIds, ValueRange{r})),
                                firstToken);
                            scf::YieldOp::create(b, loc,
                                                 addWeightedRow(b, loc, op, r,
                                                                target, columns,
                                                                rowAcc[0]));
                          });
                      scf::YieldOp::create(b, loc, rows.getResults());
                    });
                return perExpert.getResult(0);
              },
              layout.columnChunks);
        });
  }

  RowOpLayout layout;
};

} // namespace

void mlir::moe::populateMoERoutingDataToSCFPatterns(
    RewritePatternSet &patterns, const ConvertMoEToLinalgPassOptions &options) {
  patterns.add<DispatchToSCF>(patterns.getContext(),
                              options.dispatchChunkTokens);
  RowOpLayout permute{options.permuteRowBlock, options.blockColumnChunks};
  RowOpLayout combine{options.combineTokenBlock, options.blockColumnChunks};
  patterns.add<PermuteToLinalg>(patterns.getContext(), permute);
  patterns.add<CombineToSCF>(patterns.getContext(), combine);
}

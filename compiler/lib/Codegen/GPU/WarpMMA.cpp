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

#include "moe/Codegen/GPU/BufferAccesses.h"
#include "moe/Codegen/GPU/GatedTiles.h"
#include "moe/Codegen/GPU/Passes.h"
#include "moe/Codegen/GPU/TensorCores.h"
#include "moe/Codegen/GPU/ThreadTiles.h"
#include "moe/Codegen/GPU/WarpgroupMMA.h"
#include "moe/Dialect/MoE/IR/MoEDialect.h"
#include "moe/Transforms/FunctionPassOptions.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/NVGPU/Utils/MMAUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "mlir/Transforms/RegionUtils.h"

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

/// A block's A rows staged in shared memory: chunks of 64 columns of
/// kWarpTileRows rows, two buffers. A row takes 96 elements (192 bytes, 64
/// past a multiple of 128): the 8 lanes of a 16-byte access phase (rows g
/// and g + 1, 4 groups each) then touch 128 distinct bytes, no bank twice.
constexpr int64_t kChunkDepth = 2 * kStepDepth;
constexpr int64_t kStagedRowStride = 3 * kStepDepth;
/// f32 elements a thread copies at a time (16 bytes).
constexpr int64_t kCopyWidth = 4;
/// How long a thread waiting on a TMA box's mbarrier may be suspended
/// before it tests again (ns; a hint, CUTLASS's).
constexpr int64_t kBoxWaitTicks = 10000000;
/// The static shared memory any GPU gives a block.
constexpr int64_t kStaticSharedBytes = 48 * 1024;
/// The most shared memory, static and dynamic, a W ring may take a block
/// to: two blocks an SM still fit sm_80's 164 KB (and sm_90's 228 KB).
constexpr int64_t kSharedBytesPerBlock = 80 * 1024;
/// The most a block with staged W may take: one block an SM (W chunks of
/// a 128-column block's gate and up take 96 KB), within sm_80's 163 KB.
constexpr int64_t kStagedWeightSharedBytes = 160 * 1024;
/// The same for a warpgroup's core matrices, which only sm_90a runs: its
/// 227 KB a block.
constexpr int64_t kWarpgroupSharedBytes = 227 * 1024;
/// The f32 activation ring's rows: a chunk's 256 bytes and 32 more, so that
/// the 4 rows of 8 threads' 16-byte pieces (2 a row, in core-matrix order:
/// getCoreMatrixPiecePlace) fall on distinct banks as they are copied and
/// rounded.
constexpr int64_t kRingRowStride = kChunkDepth + 8;

/// The block's shared A chunks and who copies them.
struct Staging {
  /// [activationSlots, rows, kStagedRowStride] of the operand type:
  /// workgroup memory of the launch, or on the host an alloca. Chunk c is
  /// in slot c % activationSlots.
  Value buffer;
  /// With staged W: the chunks whose W copies are in flight while a chunk's
  /// steps run (the next `weightChunksAhead`), and with core matrices the
  /// chunks whose wgmmas may still run when the block passes a chunk's
  /// barrier (`pendingChunks`, the last ones). W's buffers have
  /// weightChunksAhead + pendingChunks + 1 slots, A's (written a chunk
  /// ahead) pendingChunks + 2, or narrowed A's (copied with W's) W's count:
  /// a copy then never writes a slot that a step or a pending wgmma still
  /// reads.
  int64_t weightChunksAhead = 1, pendingChunks = 0;
  int64_t activationSlots = 2, weightSlots = 2;
  /// With core matrices and `copy-activations-async`: A's chunks in f32 as
  /// cp.async lands them, [weightChunksAhead, rows, kRingRowStride] (chunk c
  /// in slot c % weightChunksAhead), copied with W's chunk and rounded
  /// into `buffer` by the thread that copied them (null: A goes through
  /// registers, loaded before a chunk's steps and stored after them).
  Value activationRing;
  /// What the block copies: the tile's activations, or (on a grid of warp
  /// rows) the block's rows, of which the tile's are a window from
  /// `rowOffset` (null: the tile's rows are the staged rows).
  Value source;
  Value rowOffset;
  /// With staged W, per weight: chunks of its block's rows,
  /// [weightSlots, rows, kStagedRowStride] (rows zeros past them and past K),
  /// the view they copy, and the tile's window's first row (null: 0).
  SmallVector<Value, 2> weightBuffers, weightSources, weightRowOffsets;
  /// A's rows are of the operand type already (moe-gpu-narrow-activations):
  /// its chunks are copied by cp.async with W's, in the same groups and
  /// into as many slots (activationSlots == weightSlots), not rounded on
  /// the way; without staged W, a chunk ahead in two slots.
  bool narrowActivations = false;
  /// The block's threads, which share the copy.
  int64_t threads = 0;
  /// The thread's index in the block (on the host: null, a loop over them).
  Value threadId;
  /// A and W chunks laid out as core matrices for the block's warpgroup
  /// (see WarpgroupMMA.h), which reads them by wgmma, not by lanes.
  bool coreMatrices = false;
  /// With core matrices and `tma-weights`, per weight: W's chunks come by
  /// TMA, each a box of 64 columns by the staged rows that one thread of
  /// the block issues, into a 128-byte swizzled buffer
  /// (getSwizzledChunksType); their bytes landing complete the slot's
  /// mbarrier phase. Empty: W by cp.async.
  struct TmaWeight {
    /// The tensor the boxes come from (W's, above the launch: [n, k] or
    /// [expert, n, k]), and on the GPU its tensor map (created on the host
    /// before the launch).
    Value tensor, map;
    /// The box coordinates of W's first element in `tensor`, innermost
    /// first: k, n and the expert.
    SmallVector<Value, 3> origin;
  };
  SmallVector<TmaWeight, 2> tmaWeights;
  /// On the GPU with tmaWeights: one mbarrier a W slot, and whether this
  /// thread is the one that issues the boxes.
  Value weightBarriers, issuesBoxes;
};

/// A warp's ring of W stages in shared memory: each lane copies its W
/// groups of a step `stages - 1` steps ahead (cp.async) into a slot of its
/// own, and reads them back (ld.shared) when the step runs.
struct WeightRing {
  /// [warps, stages, groups, lanes, kLaneGroup] of W's type, workgroup
  /// memory of the launch; on the host [stages, groups, lanes, kLaneGroup],
  /// an alloca (the warps run one after another).
  Value buffer;
  /// The warp's index in the block (on the host: null).
  Value warp;
  int64_t stages = 0;
};

/// Where a step's A groups come from: the activations, checked against K
/// as W is, or (with `chunkStart`) the staged chunk that starts there,
/// which holds zeros past K and past the tile's rows.
struct ASource {
  Value memref;
  Value chunkStart;
  /// With staged W, each weight's staged chunk, from the tile's first row.
  SmallVector<Value, 2> weightViews;
  /// Staged: the chunk's slot in A's staged buffer, and in W's.
  Value slot, weightSlot;
};

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
  /// With `staging`, the tile reads its A rows from the block's shared
  /// chunks, which every thread of the block helps copy.
  /// With `prefetchWeights`, each step loads the next step's W groups
  /// before its mma.syncs, which take those the step before loaded.
  /// With `planWeightRing` (given a lane's W groups a step, their type, and
  /// the most stages the tile's steps can use), each lane copies its W groups
  /// into a ring of stages in shared memory ahead of the steps (in place of
  /// `prefetchWeights`). A tile has at most `maxRows` rows (a multiple of
  /// kMmaRows) and `maxColumns` columns. `planStaging` gets the tile's
  /// columns padded to its 8-column tiles; with core-matrix staging the
  /// tile is its warp's part of a warpgroup's wgmma (on the host the warp
  /// forall's index `hostWarp` gives its rank).
  WarpTileEmitter(
      OpBuilder &b, Location loc, bool emulateLanes,
      std::function<std::optional<Staging>(int64_t)> planStaging = nullptr,
      bool prefetchWeights = false, int64_t maxRows = kWarpTileRows,
      std::function<std::optional<WeightRing>(int64_t, Type, int64_t)>
          planWeightRing = nullptr,
      int64_t maxColumns = kWarpTileCols, Value hostWarp = Value())
      : b(b), loc(loc), emulateLanes(emulateLanes),
        prefetchWeights(prefetchWeights), maxRows(maxRows),
        maxColumns(maxColumns), hostWarp(hostWarp),
        planStaging(std::move(planStaging)),
        planWeightRing(std::move(planWeightRing)) {}

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
    /// The vector load's result, once loaded (vectorized only).
    Value vector;
    /// Where the group sits in the W ring, when read from there (still
    /// zeros outside the tile by `row` and `column`).
    SmallVector<Value, 5> ringAt;
  };
  /// Accumulator element `e` (C's fragment order) of accumulator `s`.
  using ElementFn = function_ref<Value(int64_t s, int64_t e)>;

  /// Checks that `result` is at most maxRows x maxColumns and sets its
  /// sub-tiles.
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
  /// The loop over K, from `init`: steps of kStepDepth, each `step(k0, a,
  /// values)` returning the next values. Staged, a loop over the chunks
  /// whose body has the block copy the next chunk, runs the chunk's steps
  /// where `hasTile` (null: always), and waits for the block; else a loop
  /// over the steps.
  /// With core-matrix staging, the step's ASource holds the staged
  /// buffers themselves, and `endOfChunk` runs before the chunk's barrier
  /// (on the GPU).
  SmallVector<Value> emitDepthLoop(
      Type operandType, Value activations, ArrayRef<Value> weights,
      Value hasTile, ValueRange init,
      function_ref<SmallVector<Value>(Value, ASource, ValueRange)> step,
      function_ref<void()> endOfChunk = nullptr);
  /// emitTile's form for a warp of a warpgroup (staging->coreMatrices):
  /// each step's wgmma.mma_async m64nNk16 on the staged chunks, the warp's
  /// accumulators (rows 16 (warp % 4) on of the block's, its tile's) in
  /// LLVM structs; on the host, the same from the descriptors' bits.
  void emitWarpgroupTile(Type operandType, Value activations, Value result,
                         ArrayRef<Value> weights, ElementFn initial,
                         function_ref<void(ElementFn)> finish);
  /// The indices of (row, column) in chunk `slot` of the staged buffer.
  SmallVector<Value> stagedIndices(Value slot, Value row, Value column) {
    if (staging->coreMatrices)
      return getCoreMatrixIndices(b, loc, slot, row, column);
    return {slot, row, column};
  }
  /// The block copies chunk `chunk` of the staging's source (its rows,
  /// rounded to `operandType`, zeros past them and past K) into staged
  /// buffer `chunk % activationSlots`: on the GPU this thread's pieces, on the
  /// host every thread's.
  void emitStageCopy(Type operandType, Value chunk);
  /// The block copies chunk `chunk` of each staged weight's rows, and of
  /// narrowed A's, into its buffer `chunk % weightSlots`: on the GPU this
  /// thread's pieces by cp.async (zeros past the rows and K), committed as
  /// one group unless `commit` is false; on the host every thread's.
  void emitWeightStageCopy(Value chunk, bool commit = true);
  /// With TMA W (Staging::tmaWeights), the boxes of the chunk from
  /// `chunkStart` into slot `slot` of each W buffer: on the GPU issued by
  /// one thread, which arrives on the slot's mbarrier expecting their
  /// bytes; on the host copied as TMA writes them.
  void emitWeightBoxes(Value chunkStart, Value slot);
  /// Slot `slot` of staged buffer `buffer` ([slots, rows, kStagedRowStride]),
  /// the tile's rows: all of them, or (with `firstRow`) the window of
  /// `operand`'s rows from there, which the tile reads only inside.
  Value stagedChunk(Value buffer, Value slot, Value firstRow, Value operand);
  /// `copy(thread)` for this thread on the GPU, or on the host for each of
  /// the block's threads in turn (one warp's turn copies for all).
  void asCopyingThreads(function_ref<void(Value)> copy);
  /// Thread `thread`'s pieces of chunk `chunk`: kCopyWidth f32 each, zeros
  /// past the rows and K.
  SmallVector<Value> loadStagePieces(Value activations, Value chunk,
                                     Value thread);
  /// Stores thread `thread`'s `pieces` of chunk `chunk`, rounded.
  void storeStagePieces(Type operandType, Value chunk, Value thread,
                        ValueRange pieces);
  /// Where thread `thread`'s piece `p` of a chunk sits, pieces of `width`
  /// elements: row and column. Consecutive threads take consecutive
  /// pieces: along a row, or in core matrices (getCoreMatrixPiecePlace),
  /// so that their stores into the staged layout are free of bank
  /// conflicts.
  std::pair<Value, Value> piecePlace(Value thread, int64_t p,
                                     int64_t width = kCopyWidth);
  /// A row-major source of staged chunks and the bounds its pieces of
  /// `width` elements are checked and clamped against.
  struct PieceSource {
    Value memref, rows, depth;
    /// The last row and the last piece's column: clamped to them, a copy
    /// of no bytes still has an address inside the source.
    Value lastRow, lastPiece;
    int64_t width;
  };
  PieceSource getPieceSource(Value source, int64_t width);
  /// Whether the piece at (`row`, `k`) is inside the source: K is a
  /// multiple of the piece, so a piece is inside K or past it.
  Value isPieceInside(const PieceSource &source, Value row, Value k);
  /// Copies the source's piece at (`row`, `k`) into `buffer` at `to`: on
  /// the GPU by cp.async past L1 (zeros written for a piece outside the
  /// source), returning its token; on the host by a load (or zeros) and a
  /// store, returning null.
  Value copyStagePiece(const PieceSource &source, Value row, Value k,
                       Value buffer, ValueRange to);
  /// The block copies chunk `chunk` of the activations into the activation
  /// ring: on the GPU this thread's pieces by cp.async (zeros past the rows
  /// and K; committed with W's), on the host every thread's.
  void emitActivationRingCopy(Value chunk);
  /// Each thread rounds its pieces of chunk `chunk` from the activation
  /// ring into slot `chunk % activationSlots` of the staged buffer (on the host
  /// every thread's): after its own copies have landed, no barrier needed.
  void roundActivationRing(Type operandType, Value chunk);
  /// The rows of a staged chunk (the buffer's second dimension).
  int64_t stagedRows() const {
    return getStagedRows(cast<MemRefType>(staging->buffer.getType()));
  }
  /// A thread's f32 pieces of a chunk of A (A not narrowed).
  int64_t piecesPerThread() const {
    return stagedRows() * kChunkDepth / kCopyWidth / staging->threads;
  }
  /// Whether the tile of `result` has rows and columns, or null where it
  /// always has (a warp past a ragged column window's last columns, or on
  /// a grid of warp rows past the block's last row, has none).
  Value hasElements(Value result);
  /// One step's groups of the lane (see Group): per row of sub-tiles, A's
  /// rows g and g + 8; per weight and column of sub-tiles, W's row g, each
  /// at the lane's K columns of the step, [k0 + 8 q, k0 + 8 q + 8), zeros
  /// outside the tile. A group is one vector load, aligned to its bytes up
  /// to 16, where the buffer allows it (from `column`: the start checked
  /// against K as a group's, clamped to K - 8).
  struct StepGroups {
    SmallVector<std::pair<Group, Group>, 2> a;
    SmallVector<Group, 8> w;
  };
  /// The lane's groups of the step at `k0`, loaded when first used.
  StepGroups loadStep(ASource a, ArrayRef<Value> weights, Value k0);
  /// Element `e` of `group`, loaded now if it is not yet.
  Value groupElement(Group &group, int64_t e);
  /// Sets `group`'s elements from `vector`, its vector load's result.
  void setGroupVector(Group &group, Value vector);
  /// Where the last K step of a tile over `activations` starts, when the
  /// tile may load its W groups ahead of their step (prefetched, or into a
  /// ring): a static K, W of one element type, and every group one vector
  /// load. Nullopt otherwise.
  std::optional<int64_t> lastStaticStep(ArrayRef<Value> weights,
                                        Value activations);
  /// The indices of lane `lane`'s group `group` in `slot` of the ring.
  SmallVector<Value> ringIndices(Value slot, int64_t group, Value lane);
  /// The ring slot of the step at `k0`, `ahead` steps on.
  Value ringSlot(Value k0, int64_t ahead);
  /// Lane `lane` copies its W groups of the step at `k0` into ring slot
  /// `slot`: by cp.async on the GPU, committed as one group; on the host
  /// by loads and stores.
  void copyToRing(ArrayRef<Value> weights, Value activations, Value k0,
                  Value slot, Value lane);
  /// Has lane `lane`'s W groups of a step read from ring slot `slot`.
  void readFromRing(StepGroups &groups, Value slot, Value lane);
  /// On the host: stores lane `lane`'s group vectors into `buffer`
  /// ([lanes, groups, kLaneGroup]), or loads them from it.
  void storeLaneGroups(Value buffer, Value lane, ValueRange vectors);
  SmallVector<Value> loadLaneGroups(Value buffer, Value lane);
  /// Where the step after the one at `k0` starts, or the last step's start
  /// (`lastStep`) again after the last (which the loop then never reads).
  Value nextPrefetchStep(Value k0, int64_t lastStep);
  /// The lane's W groups of the step at `k0` (of `activations`' K),
  /// loaded now: one vector each, weight-major, then columns of sub-tiles.
  SmallVector<Value> loadWeightVectors(ArrayRef<Value> weights,
                                       Value activations, Value k0);
  /// The lane's elements of A's fragment for row of sub-tiles `i` and the
  /// step's mma.sync `m`, in register order, rounded to the operand type.
  SmallVector<Value> aElements(Type operandType, StepGroups &groups, int64_t i,
                               int64_t m);
  /// The lane's elements of W fragment `wj` (weight-major, then columns of
  /// sub-tiles) for the step's mma.sync `m`.
  SmallVector<Value> wElements(Type operandType, StepGroups &groups, int64_t wj,
                               int64_t m);
  /// One step over K at `k0` of nvgpu.mma.sync, from the `initial`
  /// accumulators; W's groups from `weightVectors` when given (prefetched).
  /// With `ringSlot`, W's groups from that slot of the ring (lane
  /// `ringLane`'s).
  SmallVector<Value> emitStepProducts(Type operandType, ASource a,
                                      ArrayRef<Value> weights, Value k0,
                                      ValueRange initial,
                                      ValueRange weightVectors = {},
                                      Value ringSlot = {}, Value ringLane = {});
  /// `body` where `condition` holds (always where it is null).
  void whereTrue(Value condition, function_ref<void()> body) {
    if (!condition)
      return body();
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(
        scf::IfOp::create(b, loc, condition).thenBlock());
    body();
  }
  /// On the host: stores lane `lane`'s first values of its `accumulators`
  /// accumulators (4 elements each) into `accBuffer` ([lane, s, e]).
  void storeLaneAccumulators(Value accBuffer, Value lane, int64_t accumulators,
                             ElementFn initial);
  /// On the host: `finish` for each lane, on its elements in `accBuffer`.
  void finishLanes(Value accBuffer, Value activations, Value result,
                   function_ref<void(ElementFn)> finish);
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
  bool prefetchWeights;
  int64_t maxRows;
  int64_t maxColumns;
  /// On the host, the warp forall's index (its rank in the warpgroup is
  /// this modulo 4).
  Value hostWarp;
  /// Plans the staging (creating its buffer) once the tile is emitted.
  std::function<std::optional<Staging>(int64_t)> planStaging;
  std::optional<Staging> staging;
  /// Plans the W ring (creating its buffer) once the tile is emitted.
  std::function<std::optional<WeightRing>(int64_t, Type, int64_t)>
      planWeightRing;
  std::optional<WeightRing> ring;
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

void WarpTileEmitter::storeLaneGroups(Value buffer, Value lane,
                                      ValueRange vectors) {
  for (auto [j, vector] : llvm::enumerate(vectors))
    vector::StoreOp::create(
        b, loc, vector, buffer,
        ValueRange{lane, constant(static_cast<int64_t>(j)), constant(0)});
}

SmallVector<Value> WarpTileEmitter::loadLaneGroups(Value buffer, Value lane) {
  auto type = cast<MemRefType>(buffer.getType());
  auto vectorType = VectorType::get({kLaneGroup}, type.getElementType());
  SmallVector<Value> vectors;
  for (int64_t j = 0; j < type.getDimSize(1); ++j)
    vectors.push_back(
        vector::LoadOp::create(b, loc, vectorType, buffer,
                               ValueRange{lane, constant(j), constant(0)}));
  return vectors;
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

/// Builds `block`'s contents with `body` and yields what it returns: at
/// the start of a block that still needs its yield, or before the yield of
/// one that yields nothing (which builders add themselves).
static void fillBlock(OpBuilder &b, Location loc, Block *block,
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

SmallVector<Value> WarpTileEmitter::loadStagePieces(Value activations,
                                                    Value chunk, Value thread) {
  // Thread x copies 16-byte pieces x, x + threads, ... of the chunk, in
  // piecePlace's order.
  PieceSource source = {activations,
                        memref::DimOp::create(b, loc, activations, 0),
                        memref::DimOp::create(b, loc, activations, 1),
                        Value(),
                        Value(),
                        kCopyWidth};
  Value chunkStart =
      arith::MulIOp::create(b, loc, chunk, constant(kChunkDepth));
  auto pieceType = VectorType::get({kCopyWidth}, b.getF32Type());
  SmallVector<Value> pieces;
  for (int64_t p = 0; p < piecesPerThread(); ++p) {
    // (Not a structured binding: the load's builder captures `row`.)
    Value row, column;
    std::tie(row, column) = piecePlace(thread, p);
    Value k = arith::AddIOp::create(b, loc, chunkStart, column);
    auto load = scf::IfOp::create(b, loc, TypeRange{pieceType},
                                  isPieceInside(source, row, k),
                                  /*addThenBlock=*/true, /*addElseBlock=*/true);
    fillBlock(b, loc, load.thenBlock(), [&]() -> SmallVector<Value> {
      return {vector::LoadOp::create(b, loc, pieceType, activations,
                                     ValueRange{row, k}, /*nontemporal=*/false,
                                     llvm::MaybeAlign(16))};
    });
    fillBlock(b, loc, load.elseBlock(), [&]() -> SmallVector<Value> {
      return {arith::ConstantOp::create(b, loc, b.getZeroAttr(pieceType))};
    });
    pieces.push_back(load.getResult(0));
  }
  return pieces;
}

void WarpTileEmitter::storeStagePieces(Type operandType, Value chunk,
                                       Value thread, ValueRange pieces) {
  Value slot =
      arith::RemUIOp::create(b, loc, chunk, constant(staging->activationSlots));
  for (auto [p, piece] : llvm::enumerate(pieces)) {
    auto [row, column] = piecePlace(thread, p);
    Value rounded = arith::TruncFOp::create(
        b, loc, VectorType::get({kCopyWidth}, operandType), piece);
    vector::StoreOp::create(
        b, loc, rounded, staging->buffer, stagedIndices(slot, row, column),
        /*nontemporal=*/false, llvm::MaybeAlign(kCopyWidth * 2));
  }
}

std::pair<Value, Value> WarpTileEmitter::piecePlace(Value thread, int64_t p,
                                                    int64_t width) {
  int64_t piecesPerRow = kChunkDepth / width;
  Value linear =
      arith::AddIOp::create(b, loc, constant(p * staging->threads), thread);
  if (staging->coreMatrices)
    return getCoreMatrixPiecePlace(b, loc, linear, width, kChunkDepth);
  Value row = arith::DivUIOp::create(b, loc, linear, constant(piecesPerRow));
  Value column = arith::MulIOp::create(
      b, loc, arith::RemUIOp::create(b, loc, linear, constant(piecesPerRow)),
      constant(width));
  return {row, column};
}

WarpTileEmitter::PieceSource WarpTileEmitter::getPieceSource(Value source,
                                                             int64_t width) {
  Value rows = memref::DimOp::create(b, loc, source, 0);
  Value depth = memref::DimOp::create(b, loc, source, 1);
  return {source,
          rows,
          depth,
          arith::MaxSIOp::create(
              b, loc, arith::SubIOp::create(b, loc, rows, constant(1)),
              constant(0)),
          arith::SubIOp::create(b, loc, depth, constant(width)),
          width};
}

Value WarpTileEmitter::isPieceInside(const PieceSource &source, Value row,
                                     Value k) {
  return arith::AndIOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row,
                            source.rows),
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, k,
                            source.depth));
}

Value WarpTileEmitter::copyStagePiece(const PieceSource &source, Value row,
                                      Value k, Value buffer, ValueRange to) {
  auto type = cast<MemRefType>(source.memref.getType());
  int64_t width = source.width;
  assert(width * type.getElementTypeBitWidth() == 16 * 8 &&
         "a piece is 16 bytes");
  Value inside = isPieceInside(source, row, k);
  SmallVector<Value> from = {
      arith::MinUIOp::create(b, loc, row, source.lastRow),
      arith::MinUIOp::create(b, loc, k, source.lastPiece)};
  if (emulateLanes) {
    auto pieceType = VectorType::get({width}, type.getElementType());
    auto load = scf::IfOp::create(b, loc, TypeRange{pieceType}, inside,
                                  /*addThenBlock=*/true,
                                  /*addElseBlock=*/true);
    fillBlock(b, loc, load.thenBlock(), [&]() -> SmallVector<Value> {
      return {vector::LoadOp::create(b, loc, pieceType, source.memref, from)};
    });
    fillBlock(b, loc, load.elseBlock(), [&]() -> SmallVector<Value> {
      return {arith::ConstantOp::create(b, loc, b.getZeroAttr(pieceType))};
    });
    vector::StoreOp::create(b, loc, load.getResult(0), buffer, to);
    return Value();
  }
  // 16 bytes, past L1 (the block reads them from shared memory).
  Value elements =
      arith::SelectOp::create(b, loc, inside, constant(width), constant(0));
  return nvgpu::DeviceAsyncCopyOp::create(
      b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()), buffer, to,
      source.memref, from, b.getIndexAttr(width), elements, b.getUnitAttr());
}

void WarpTileEmitter::emitStageCopy(Type operandType, Value chunk) {
  auto copyAs = [&](Value thread) {
    storeStagePieces(operandType, chunk, thread,
                     loadStagePieces(staging->source, chunk, thread));
  };
  asCopyingThreads(copyAs);
}

void WarpTileEmitter::emitActivationRingCopy(Value chunk) {
  PieceSource source = getPieceSource(staging->source, kCopyWidth);
  Value chunkStart =
      arith::MulIOp::create(b, loc, chunk, constant(kChunkDepth));
  Value slot = arith::RemUIOp::create(b, loc, chunk,
                                      constant(staging->weightChunksAhead));
  asCopyingThreads([&](Value thread) {
    for (int64_t p = 0; p < piecesPerThread(); ++p) {
      auto [row, column] = piecePlace(thread, p);
      Value k = arith::AddIOp::create(b, loc, chunkStart, column);
      copyStagePiece(source, row, k, staging->activationRing,
                     {slot, row, column});
    }
  });
}

void WarpTileEmitter::roundActivationRing(Type operandType, Value chunk) {
  Value from = arith::RemUIOp::create(b, loc, chunk,
                                      constant(staging->weightChunksAhead));
  Value slot =
      arith::RemUIOp::create(b, loc, chunk, constant(staging->activationSlots));
  auto pieceType = VectorType::get({kCopyWidth}, b.getF32Type());
  asCopyingThreads([&](Value thread) {
    for (int64_t p = 0; p < piecesPerThread(); ++p) {
      auto [row, column] = piecePlace(thread, p);
      Value piece =
          vector::LoadOp::create(b, loc, pieceType, staging->activationRing,
                                 ValueRange{from, row, column},
                                 /*nontemporal=*/false, llvm::MaybeAlign(16));
      Value rounded = arith::TruncFOp::create(
          b, loc, VectorType::get({kCopyWidth}, operandType), piece);
      vector::StoreOp::create(
          b, loc, rounded, staging->buffer, stagedIndices(slot, row, column),
          /*nontemporal=*/false, llvm::MaybeAlign(kCopyWidth * 2));
    }
  });
}

Value WarpTileEmitter::stagedChunk(Value buffer, Value slot, Value firstRow,
                                   Value operand) {
  auto type = cast<MemRefType>(buffer.getType());
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  OpFoldResult first = zero, rows = b.getIndexAttr(type.getDimSize(1));
  if (firstRow) {
    first = firstRow;
    rows = memref::DimOp::create(b, loc, operand, 0).getResult();
  }
  return memref::SubViewOp::create(
      b, loc,
      MemRefType::get({firstRow ? ShapedType::kDynamic : type.getDimSize(1),
                       kStagedRowStride},
                      type.getElementType(),
                      StridedLayoutAttr::get(b.getContext(),
                                             ShapedType::kDynamic,
                                             {kStagedRowStride, 1}),
                      type.getMemorySpace()),
      buffer, ArrayRef<OpFoldResult>{slot, first, zero},
      ArrayRef<OpFoldResult>{one, rows, b.getIndexAttr(kStagedRowStride)},
      ArrayRef<OpFoldResult>{one, one, one});
}

void WarpTileEmitter::asCopyingThreads(function_ref<void(Value)> copy) {
  if (staging->threadId)
    return copy(staging->threadId);
  auto threads = scf::ForOp::create(b, loc, constant(0),
                                    constant(staging->threads), constant(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(threads.getBody()->getTerminator());
  copy(threads.getInductionVar());
}

void WarpTileEmitter::emitWeightStageCopy(Value chunk, bool commit) {
  Value chunkStart =
      arith::MulIOp::create(b, loc, chunk, constant(kChunkDepth));
  Value slot =
      arith::RemUIOp::create(b, loc, chunk, constant(staging->weightSlots));
  // The staged buffers and what they copy: W's (unless TMA copies its
  // boxes), and narrowed A's.
  SmallVector<std::pair<Value, Value>, 3> copies;
  if (!staging->tmaWeights.empty())
    emitWeightBoxes(chunkStart, slot);
  else
    for (auto [buffer, weight] :
         llvm::zip_equal(staging->weightBuffers, staging->weightSources))
      copies.push_back({buffer, weight});
  if (staging->narrowActivations)
    copies.push_back({staging->buffer, staging->source});
  SmallVector<Value> tokens;
  auto copyAs = [&](Value thread) {
    for (auto [buffer, weight] : copies) {
      int64_t rows = getStagedRows(cast<MemRefType>(buffer.getType()));
      PieceSource source = getPieceSource(weight, kSixteenBitPieceWidth);
      // Thread x copies pieces x, x + threads, ..., in piecePlace's order.
      int64_t piecesPerRow = kChunkDepth / kSixteenBitPieceWidth;
      for (int64_t p = 0; p < rows * piecesPerRow / staging->threads; ++p) {
        auto [row, column] = piecePlace(thread, p, kSixteenBitPieceWidth);
        Value k = arith::AddIOp::create(b, loc, chunkStart, column);
        if (Value token = copyStagePiece(source, row, k, buffer,
                                         stagedIndices(slot, row, column)))
          tokens.push_back(token);
      }
    }
  };
  asCopyingThreads(copyAs);
  if (staging->threadId && commit)
    nvgpu::DeviceAsyncCreateGroupOp::create(
        b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()), tokens);
}

void WarpTileEmitter::emitWeightBoxes(Value chunkStart, Value slot) {
  if (!emulateLanes) {
    int64_t bytes = 0;
    for (Value buffer : staging->weightBuffers) {
      auto type = cast<MemRefType>(buffer.getType());
      bytes += getStagedRows(type) * kSwizzleRowBytes;
    }
    // The slot's phase completes once this thread has arrived and every
    // box's bytes (zeros past the tensor included) have landed.
    nvgpu::MBarrierArriveExpectTxOp::create(b, loc, staging->weightBarriers,
                                            constant(bytes), slot,
                                            staging->issuesBoxes);
  }
  for (auto [box, buffer] :
       llvm::zip_equal(staging->tmaWeights, staging->weightBuffers)) {
    auto bufferType = cast<MemRefType>(buffer.getType());
    auto tensorType = cast<MemRefType>(box.tensor.getType());
    int64_t rows = getStagedRows(bufferType);
    int64_t rank = tensorType.getRank();
    SmallVector<Value, 3> at(box.origin);
    at[0] = arith::AddIOp::create(b, loc, at[0], chunkStart);
    if (!emulateLanes) {
      // The slot as the map's box: [1, rows, 64] of a tensor [expert, n,
      // k], or [rows, 64] of one [n, k].
      ArrayRef<int64_t> boxShape =
          cast<nvgpu::TensorMapDescriptorType>(box.map.getType())
              .getTensor()
              .getShape();
      auto dstType =
          cast<MemRefType>(memref::SubViewOp::inferRankReducedResultType(
              boxShape, bufferType,
              SmallVector<int64_t>{ShapedType::kDynamic, 0, 0},
              SmallVector<int64_t>{1, rows, kChunkDepth},
              SmallVector<int64_t>{1, 1, 1}));
      Value dst = memref::SubViewOp::create(
          b, loc, dstType, buffer,
          ArrayRef<OpFoldResult>{slot, b.getIndexAttr(0), b.getIndexAttr(0)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(rows),
                                 b.getIndexAttr(kChunkDepth)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                                 b.getIndexAttr(1)});
      nvgpu::TmaAsyncLoadOp::create(
          b, loc, dst, staging->weightBarriers, box.map, at, slot,
          /*multicastMask=*/Value(), staging->issuesBoxes);
      continue;
    }
    // On the host, the box as TMA writes it: each row's 16-byte pieces of
    // the tensor (the expert's rows), zeros past its rows and K, at their
    // swizzled places.
    Value rowsOfTensor = box.tensor;
    if (rank == 3) {
      int64_t tensorRows = tensorType.getDimSize(1);
      int64_t depth = tensorType.getDimSize(2);
      auto viewType =
          cast<MemRefType>(memref::SubViewOp::inferRankReducedResultType(
              {tensorRows, depth}, tensorType,
              SmallVector<int64_t>{ShapedType::kDynamic, 0, 0},
              SmallVector<int64_t>{1, tensorRows, depth},
              SmallVector<int64_t>{1, 1, 1}));
      rowsOfTensor = memref::SubViewOp::create(
          b, loc, viewType, box.tensor,
          ArrayRef<OpFoldResult>{at[2], b.getIndexAttr(0), b.getIndexAttr(0)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(tensorRows),
                                 b.getIndexAttr(depth)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                                 b.getIndexAttr(1)});
    }
    PieceSource source = getPieceSource(rowsOfTensor, kSixteenBitPieceWidth);
    auto rowLoop =
        scf::ForOp::create(b, loc, constant(0), constant(rows), constant(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(rowLoop.getBody()->getTerminator());
    Value row = rowLoop.getInductionVar();
    auto pieceLoop =
        scf::ForOp::create(b, loc, constant(0), constant(kChunkDepth),
                           constant(kSixteenBitPieceWidth));
    b.setInsertionPoint(pieceLoop.getBody()->getTerminator());
    Value column = pieceLoop.getInductionVar();
    copyStagePiece(
        source, arith::AddIOp::create(b, loc, at[1], row),
        arith::AddIOp::create(b, loc, at[0], column), buffer,
        getSwizzledPieceIndices(b, loc, bufferType, slot, row, column));
  }
}

SmallVector<Value> WarpTileEmitter::emitDepthLoop(
    Type operandType, Value activations, ArrayRef<Value> weights, Value hasTile,
    ValueRange init,
    function_ref<SmallVector<Value>(Value, ASource, ValueRange)> step,
    function_ref<void()> endOfChunk) {
  Value k = memref::DimOp::create(b, loc, activations, 1);
  if (!staging) {
    auto loop =
        scf::ForOp::create(b, loc, constant(0), k, constant(kStepDepth), init);
    fillBlock(b, loc, loop.getBody(), [&] {
      return step(loop.getInductionVar(),
                  ASource{activations, Value(), {}, Value(), Value()},
                  loop.getRegionIterArgs());
    });
    return SmallVector<Value>(loop.getResults());
  }
  // Staged: chunk c + 1 is copied into a buffer of its own while chunk c's
  // steps run (f32 A: its loads issued before them, its stores after;
  // narrowed A and staged W: cp.async, `ahead` chunks on, waited for after
  // them); the barrier after makes the copy visible, and makes sure that
  // no warp still reads the buffer the next copy writes.
  auto barrier = [&] {
    if (!staging->threadId)
      return;
    // wgmma reads shared memory through the async proxy: the thread's
    // writes (stores and landed cp.async copies) are ordered before it.
    if (staging->coreMatrices)
      NVVM::FenceProxyOp::create(
          b, loc,
          NVVM::ProxyKindAttr::get(b.getContext(),
                                   NVVM::ProxyKind::async_shared),
          NVVM::SharedSpaceAttr::get(b.getContext(),
                                     NVVM::SharedSpace::shared_cta));
    gpu::BarrierOp::create(b, loc);
  };
  // Narrowed, A's chunks are copied as W's are (by emitWeightStageCopy),
  // with them where W is staged.
  bool narrow = staging->narrowActivations;
  bool copiesAsync = !staging->weightBuffers.empty() || narrow;
  int64_t ahead = staging->weightChunksAhead;
  // With the activation ring, A's chunks are copied with W's, in their
  // groups, and rounded once they have landed.
  bool ringed = static_cast<bool>(staging->activationRing);
  Value chunks = arith::CeilDivUIOp::create(b, loc, k, constant(kChunkDepth));
  // TMA W's boxes: the slots' mbarriers are set up for this run of the
  // tile, one arrival (the issuing thread's) and the boxes' bytes a phase,
  // before any thread waits on them.
  bool boxes = !staging->tmaWeights.empty() && staging->threadId;
  if (boxes) {
    for (int64_t slot = 0; slot < staging->weightSlots; ++slot)
      nvgpu::MBarrierInitOp::create(b, loc, staging->weightBarriers,
                                    constant(1), constant(slot),
                                    staging->issuesBoxes);
    // The maps were written to global memory by the host: the issuing
    // thread acquires them for the tensor-map proxy before its first box
    // (and brings them into the cache).
    whereTrue(staging->issuesBoxes, [&] {
      for (const Staging::TmaWeight &box : staging->tmaWeights) {
        nvgpu::TmaFenceOp::create(b, loc, box.map);
        nvgpu::TmaPrefetchOp::create(b, loc, box.map, /*predicate=*/Value());
      }
    });
    NVVM::FenceMbarrierInitOp::create(b, loc);
    gpu::BarrierOp::create(b, loc);
  }
  // The copies of chunk `chunk` (the next) have landed before the barrier
  // that makes every thread's visible: this thread's cp.async copies (each
  // later chunk's are a group of their own, committed after it), and with
  // TMA W the boxes of the chunk, where there is one (`mayBePast`: it may
  // be past the last), whose slot's mbarrier completes its
  // (chunk / slots)-th phase.
  auto waitForWeights = [&](Value chunk, bool mayBePast) {
    if (copiesAsync && staging->threadId)
      NVVM::CpAsyncWaitGroupOp::create(b, loc, ahead - 1);
    if (!boxes)
      return;
    auto wait = [&] {
      Value slots = constant(staging->weightSlots);
      Value use = arith::DivUIOp::create(b, loc, chunk, slots);
      Value parity = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::ne,
          arith::RemUIOp::create(b, loc, use, constant(2)), constant(0));
      nvgpu::MBarrierTryWaitParityOp::create(
          b, loc, staging->weightBarriers, parity, constant(kBoxWaitTicks),
          arith::RemUIOp::create(b, loc, chunk, slots));
    };
    if (!mayBePast)
      return wait();
    whereTrue(
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, chunk, chunks),
        wait);
  };
  // The cp.async copies (W's, narrowed A's) of chunk `chunk` where there is
  // one; with more than one chunk ahead, a group is committed either way,
  // so that the waits count the groups after the next chunk's.
  auto copyWeightsIfAny = [&](Value chunk) {
    Value any =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, chunk, chunks);
    fillBlock(b, loc, scf::IfOp::create(b, loc, any).thenBlock(), [&] {
      if (ringed)
        emitActivationRingCopy(chunk);
      emitWeightStageCopy(chunk, /*commit=*/ahead == 1);
      return SmallVector<Value>();
    });
    if (ahead > 1 && staging->threadId)
      nvgpu::DeviceAsyncCreateGroupOp::create(
          b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()),
          ValueRange());
  };
  if (ringed)
    emitActivationRingCopy(constant(0));
  else if (!narrow)
    emitStageCopy(operandType, constant(0));
  if (copiesAsync) {
    emitWeightStageCopy(constant(0));
    for (int64_t c = 1; c < ahead; ++c)
      copyWeightsIfAny(constant(c));
  }
  waitForWeights(constant(0), /*mayBePast=*/false);
  if (ringed)
    roundActivationRing(operandType, constant(0));
  barrier();
  // The steps of chunk `chunk` on its staged slot, from `values`.
  auto emitChunkSteps = [&](Value chunk,
                            ValueRange values) -> SmallVector<Value> {
    Value chunkStart =
        arith::MulIOp::create(b, loc, chunk, constant(kChunkDepth));
    Value slot = arith::RemUIOp::create(b, loc, chunk,
                                        constant(staging->activationSlots));
    Value weightSlot =
        arith::RemUIOp::create(b, loc, chunk, constant(staging->weightSlots));
    // Core matrices are read through descriptors of the buffers.
    Value view = staging->coreMatrices
                     ? staging->buffer
                     : stagedChunk(staging->buffer, slot, staging->rowOffset,
                                   activations);
    // A warpgroup's chunk always takes its two steps (past K its buffers
    // hold zeros): a loop of a dynamic count of steps, where K is not a
    // multiple of the chunk, carries the accumulators around a back edge,
    // and ptxas then serializes the wgmmas.
    Value chunkEnd =
        arith::AddIOp::create(b, loc, chunkStart, constant(kChunkDepth));
    if (!staging->coreMatrices)
      chunkEnd = arith::MinUIOp::create(b, loc, k, chunkEnd);
    SmallVector<Value, 2> weightViews;
    for (auto [buffer, offset, weight] : llvm::zip_equal(
             staging->weightBuffers, staging->weightRowOffsets, weights))
      weightViews.push_back(
          staging->coreMatrices
              ? buffer
              : stagedChunk(buffer, weightSlot, offset, weight));
    auto emitSteps = [&](ValueRange values) -> SmallVector<Value> {
      auto steps = scf::ForOp::create(b, loc, chunkStart, chunkEnd,
                                      constant(kStepDepth), values);
      fillBlock(b, loc, steps.getBody(), [&] {
        return step(steps.getInductionVar(),
                    ASource{view, chunkStart, weightViews, slot, weightSlot},
                    steps.getRegionIterArgs());
      });
      return SmallVector<Value>(steps.getResults());
    };
    if (!hasTile)
      return emitSteps(values);
    auto ifTile = scf::IfOp::create(b, loc, init.getTypes(), hasTile,
                                    /*addThenBlock=*/true,
                                    /*addElseBlock=*/true);
    fillBlock(b, loc, ifTile.thenBlock(), [&] { return emitSteps(values); });
    fillBlock(b, loc, ifTile.elseBlock(),
              [&] { return SmallVector<Value>(values); });
    return SmallVector<Value>(ifTile.getResults());
  };
  auto loop =
      scf::ForOp::create(b, loc, constant(0), chunks, constant(1), init);
  fillBlock(b, loc, loop.getBody(), [&]() -> SmallVector<Value> {
    Value chunk = loop.getInductionVar();
    Value next = arith::AddIOp::create(b, loc, chunk, constant(1));
    Value hasNext =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, next, chunks);
    // A thread's loads of the next chunk are issued before this chunk's
    // steps and stored after them, so that the steps run while they are
    // in flight (on the host the whole copy comes after the steps); with
    // the activation ring, A's copies go with W's.
    // The W copies of the chunk `ahead` on are in flight while this
    // chunk's steps run (its slot's last readers, a step or a pending
    // wgmma, passed the barrier that ended the chunk before).
    if (copiesAsync)
      copyWeightsIfAny(arith::AddIOp::create(b, loc, chunk, constant(ahead)));
    SmallVector<Value> nextPieces;
    if (staging->threadId && !ringed && !narrow) {
      auto pieceType = VectorType::get({kCopyWidth}, b.getF32Type());
      auto load = scf::IfOp::create(
          b, loc, SmallVector<Type>(piecesPerThread(), pieceType), hasNext,
          /*addThenBlock=*/true, /*addElseBlock=*/true);
      fillBlock(b, loc, load.thenBlock(), [&] {
        return loadStagePieces(staging->source, next, staging->threadId);
      });
      fillBlock(b, loc, load.elseBlock(), [&] {
        Value zero =
            arith::ConstantOp::create(b, loc, b.getZeroAttr(pieceType));
        return SmallVector<Value>(piecesPerThread(), zero);
      });
      nextPieces = SmallVector<Value>(load.getResults());
    }
    // On the host, a chunk's steps come `pendingChunks` chunks late, after
    // the copies that a pending wgmma on the GPU runs beside: where those
    // wrote a slot it still reads, the host run reads what they wrote.
    bool deferSteps = !staging->threadId && staging->pendingChunks > 0;
    SmallVector<Value> values = SmallVector<Value>(loop.getRegionIterArgs());
    if (!deferSteps)
      values = emitChunkSteps(chunk, values);
    if (ringed) {
      // The next chunk's A has landed with its W: rounded into its slot.
      waitForWeights(next, /*mayBePast=*/true);
      fillBlock(b, loc, scf::IfOp::create(b, loc, hasNext).thenBlock(), [&] {
        roundActivationRing(operandType, next);
        return SmallVector<Value>();
      });
      if (endOfChunk && staging->threadId)
        endOfChunk();
    } else {
      if (!narrow)
        fillBlock(b, loc, scf::IfOp::create(b, loc, hasNext).thenBlock(), [&] {
          if (staging->threadId)
            storeStagePieces(operandType, next, staging->threadId, nextPieces);
          else
            emitStageCopy(operandType, next);
          return SmallVector<Value>();
        });
      if (endOfChunk && staging->threadId)
        endOfChunk();
      waitForWeights(next, /*mayBePast=*/true);
    }
    barrier();
    if (deferSteps) {
      assert(init.empty() && "the host's steps carry no values");
      Value late = arith::SubIOp::create(b, loc, chunk,
                                         constant(staging->pendingChunks));
      Value any =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, chunk,
                                constant(staging->pendingChunks));
      fillBlock(b, loc, scf::IfOp::create(b, loc, any).thenBlock(), [&] {
        emitChunkSteps(late, ValueRange());
        return SmallVector<Value>();
      });
    }
    return values;
  });
  // Every box has landed and been waited for by every thread before the
  // last barrier: the mbarriers are invalidated, so that a next run of
  // the tile may set them up again.
  if (boxes)
    whereTrue(staging->issuesBoxes, [&] {
      for (int64_t slot = 0; slot < staging->weightSlots; ++slot) {
        Value address = nvgpu::MBarrierGetOp::create(
            b, loc, b.getI64Type(), staging->weightBarriers, constant(slot));
        NVVM::MBarrierInvalOp::create(
            b, loc,
            LLVM::IntToPtrOp::create(
                b, loc,
                LLVM::LLVMPointerType::get(
                    b.getContext(),
                    static_cast<unsigned>(NVVM::NVVMMemorySpace::Shared)),
                address));
      }
    });
  if (staging->threadId || staging->pendingChunks == 0)
    return SmallVector<Value>(loop.getResults());
  // The host's last chunks' steps, which the GPU waits for after the loop.
  for (int64_t late = staging->pendingChunks; late > 0; --late) {
    Value any = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, chunks,
                                      constant(late));
    fillBlock(b, loc, scf::IfOp::create(b, loc, any).thenBlock(), [&] {
      emitChunkSteps(arith::SubIOp::create(b, loc, chunks, constant(late)),
                     ValueRange());
      return SmallVector<Value>();
    });
  }
  return SmallVector<Value>(loop.getResults());
}

void WarpTileEmitter::forEachLane(function_ref<void(Value)> body) {
  auto loop = scf::ForOp::create(b, loc, constant(0), constant(kNVIDIAWarpSize),
                                 constant(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(loop.getBody()->getTerminator());
  body(loop.getInductionVar());
}

void WarpTileEmitter::storeLaneAccumulators(Value accBuffer, Value lane,
                                            int64_t accumulators,
                                            ElementFn initial) {
  for (int64_t s = 0; s < accumulators; ++s)
    for (int64_t e = 0; e < 4; ++e)
      memref::StoreOp::create(b, loc, initial(s, e), accBuffer,
                              ValueRange{lane, constant(s), constant(e)});
}

void WarpTileEmitter::finishLanes(Value accBuffer, Value activations,
                                  Value result,
                                  function_ref<void(ElementFn)> finish) {
  forEachLane([&](Value lane) {
    setUpLane(activations, result, lane);
    finish([&](int64_t s, int64_t e) -> Value {
      return memref::LoadOp::create(b, loc, accBuffer,
                                    ValueRange{lane, constant(s), constant(e)});
    });
  });
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
            NVVM::CpAsyncWaitGroupOp::create(b, loc, ahead - 1);
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
      NVVM::CpAsyncWaitGroupOp::create(b, loc, 0);
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
  });
  emitDepthLoop(
      operandType, activations, weights, hasTile, ValueRange(),
      [&](Value k0, ASource a, ValueRange) -> SmallVector<Value> {
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
  whereTile([&] { finishLanes(accBuffer, activations, result, finish); });
}

void WarpTileEmitter::emitWarpgroupTile(Type operandType, Value activations,
                                        Value result, ArrayRef<Value> weights,
                                        ElementFn initial,
                                        function_ref<void(ElementFn)> finish) {
  assert(rowTiles == 1 && "a warp's part of a warpgroup is 16 rows");
  int64_t weightCount = static_cast<int64_t>(weights.size());
  int64_t accumulators = weightCount * colTiles;
  // Every warp of the warpgroup issues its wgmmas (they are .aligned), an
  // empty tile too: it only loads and stores nothing.
  Value hasTile = hasElements(result);
  auto whereTile = [&](function_ref<void()> body) { whereTrue(hasTile, body); };
  // With more than one warpgroup a block, the row of the staged A chunk
  // where this warp's warpgroup's 64 rows start (null: row 0).
  Value firstRow;
  // The step's two halves of K, each one wgmma a weight, from column
  // `column` of the staged chunk (the buffers in `a`).
  auto descriptors = [&](ASource a, Value k0, int64_t half) {
    Value column = arith::AddIOp::create(
        b, loc, arith::SubIOp::create(b, loc, k0, a.chunkStart),
        constant(half * kWarpgroupDepth));
    SmallVector<Value, 3> built = {buildWarpgroupDescriptor(
        b, loc, a.memref, a.slot, column, emulateLanes, firstRow)};
    for (Value buffer : a.weightViews)
      built.push_back(buildWarpgroupDescriptor(b, loc, buffer, a.weightSlot,
                                               column, emulateLanes));
    return built;
  };
  int64_t halves = kStepDepth / kWarpgroupDepth;
  // The warp's warpgroup reads its 64 rows of the block's staged A.
  auto warpgroupRows = [&](Value warp) {
    return arith::MulIOp::create(
        b, loc, arith::DivUIOp::create(b, loc, warp, constant(kWarpgroupWarps)),
        constant(kWarpgroupRows));
  };
  bool severalWarpgroups = stagedRows() > kWarpgroupRows;
  if (!emulateLanes) {
    setUpLane(activations, result, /*lane=*/Value());
    if (severalWarpgroups)
      firstRow = warpgroupRows(arith::DivUIOp::create(
          b, loc, staging->threadId, constant(kNVIDIAWarpSize)));
    Type structType =
        getWarpgroupAccumulatorType(b.getContext(), colTiles * kMmaCols);
    auto initialStructs = [&]() {
      SmallVector<Value> structs;
      for (int64_t w = 0; w < weightCount; ++w) {
        Value value = LLVM::UndefOp::create(b, loc, structType);
        for (int64_t j = 0; j < colTiles; ++j)
          for (int64_t e = 0; e < 4; ++e)
            value = LLVM::InsertValueOp::create(b, loc, value,
                                                initial(w * colTiles + j, e),
                                                ArrayRef<int64_t>{4 * j + e});
        structs.push_back(value);
      }
      return structs;
    };
    SmallVector<Value> init;
    if (!hasTile) {
      init = initialStructs();
    } else {
      // An empty tile's C is not loaded; its accumulators are never stored.
      auto ifTile = scf::IfOp::create(
          b, loc, SmallVector<Type>(weightCount, structType), hasTile,
          /*addThenBlock=*/true, /*addElseBlock=*/true);
      fillBlock(b, loc, ifTile.thenBlock(), initialStructs);
      fillBlock(b, loc, ifTile.elseBlock(), [&] {
        return SmallVector<Value>(weightCount,
                                  LLVM::UndefOp::create(b, loc, structType));
      });
      init = SmallVector<Value>(ifTile.getResults());
    }
    SmallVector<Value> products = emitDepthLoop(
        operandType, activations, weights, /*hasTile=*/Value(), init,
        [&](Value k0, ASource a, ValueRange values) {
          // The accumulators' registers were last written by the steps'
          // wgmmas or the first values: a fence orders them before these
          // (and the values are pinned before it).
          SmallVector<Value> accs = llvm::map_to_vector(values, [&](Value acc) {
            return fenceWarpgroupAccumulators(b, loc, acc);
          });
          NVVM::WgmmaFenceAlignedOp::create(b, loc);
          for (int64_t half = 0; half < halves; ++half) {
            SmallVector<Value, 3> at = descriptors(a, k0, half);
            for (int64_t w = 0; w < weightCount; ++w)
              accs[w] = createWarpgroupMma(b, loc, operandType, at.front(),
                                           at[w + 1], accs[w]);
          }
          NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
          return accs;
        },
        // A chunk's wgmmas have read its buffers before the barrier after
        // which copies overwrite them: the last `pendingChunks` chunks'
        // (a group a step) may still run.
        [&] {
          NVVM::WgmmaWaitGroupSyncOp::create(
              b, loc, staging->pendingChunks * (kChunkDepth / kStepDepth));
        });
    // All of them have run before the accumulators are read.
    // The last loop barrier passed with the last chunks' wgmmas pending:
    // once they have run, a barrier, so that no thread stages the next
    // run of this tile (a block-uniform loop around it) into a slot that
    // another warpgroup's wgmmas still read.
    if (staging->pendingChunks > 0) {
      NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
      gpu::BarrierOp::create(b, loc);
    }
    // Read after the last wait, not hoisted above it.
    for (Value &acc : products)
      acc = fenceWarpgroupAccumulators(b, loc, acc);
    // The epilogue's element indices, computed again here: kept from
    // before the loop, a ragged tile's clamped columns and their checks
    // (a register each) would be live beside the accumulators all along
    // it, and spill.
    setUpLane(activations, result, readLaneIdHere(b, loc));
    whereTile([&] {
      finish([&](int64_t s, int64_t e) -> Value {
        return LLVM::ExtractValueOp::create(
            b, loc, products[s / colTiles],
            ArrayRef<int64_t>{4 * (s % colTiles) + e});
      });
    });
    return;
  }
  // On the host: the lanes' accumulators in a [lane, accumulator, 4]
  // buffer, each wgmma computed as this warp of the group sees it.
  Value accBuffer = memref::AllocaOp::create(
      b, loc,
      MemRefType::get({kNVIDIAWarpSize, accumulators, 4}, b.getF32Type()));
  Value rank =
      arith::RemUIOp::create(b, loc, hostWarp, constant(kWarpgroupWarps));
  if (severalWarpgroups)
    firstRow = warpgroupRows(hostWarp);
  whereTile([&] {
    forEachLane([&](Value lane) {
      setUpLane(activations, result, lane);
      storeLaneAccumulators(accBuffer, lane, accumulators, initial);
    });
  });
  emitDepthLoop(operandType, activations, weights, hasTile, ValueRange(),
                [&](Value k0, ASource a, ValueRange) -> SmallVector<Value> {
                  for (int64_t half = 0; half < halves; ++half) {
                    SmallVector<Value, 3> at = descriptors(a, k0, half);
                    for (int64_t w = 0; w < weightCount; ++w)
                      emulateWarpgroupMma(b, loc, a.memref, at.front(),
                                          a.weightViews[w], at[w + 1], rank,
                                          accBuffer, w * colTiles, colTiles);
                  }
                  return {};
                });
  whereTile([&] { finishLanes(accBuffer, activations, result, finish); });
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

/// The forall over a block's warps around `op` (its tiles before the
/// launches are formed), or null.
scf::ForallOp getWarpForall(Operation *op) {
  for (auto forall = op->getParentOfType<scf::ForallOp>(); forall;
       forall = forall->getParentOfType<scf::ForallOp>()) {
    std::optional<ArrayAttr> mapping = forall.getMapping();
    if (mapping && !mapping->empty() &&
        isa<gpu::GPUWarpMappingAttr>(mapping->getValue().front()))
      return forall;
  }
  return scf::ForallOp();
}

/// What may differ between the threads of a block inside `scope` (a
/// gpu.launch, or on the host the warp forall): values that derive from a
/// thread, lane or subgroup id, or from `threadValues` (the launch's thread
/// ids, the warp forall's index), through ops inside the scope. A load is
/// as uniform as its address, unless it reads a thread's private memory;
/// an atomic's result, or an op's whose effects are unknown, varies.
class BlockUniformity {
public:
  BlockUniformity(Operation *scope, ValueRange threadValues) : scope(scope) {
    roots.insert(threadValues.begin(), threadValues.end());
    if (auto launch = dyn_cast<gpu::LaunchOp>(scope))
      privateMemory.insert(launch.getPrivateAttributions().begin(),
                           launch.getPrivateAttributions().end());
  }

  bool varies(Value value) {
    // A loop's values are first assumed uniform; where one then varies,
    // it joins the roots and the analysis starts over (the roots only
    // grow, so this ends).
    while (true) {
      memo.clear();
      assumed.clear();
      bool result = lookup(value);
      bool contradicted = false;
      for (Value at : assumed)
        if (memo.lookup(at) && roots.insert(at).second)
          contradicted = true;
      if (!contradicted)
        return result;
    }
  }

  /// Whether every thread of the block reaches `op` alike: each loop and
  /// condition around it inside the scope is uniform.
  bool reachedAlike(Operation *op) {
    for (Operation *parent = op->getParentOp(); parent != scope;
         parent = parent->getParentOp()) {
      if (!parent)
        return false;
      if (auto loop = dyn_cast<scf::ForOp>(parent)) {
        if (varies(loop.getLowerBound()) || varies(loop.getUpperBound()) ||
            varies(loop.getStep()))
          return false;
        continue;
      }
      if (auto condition = dyn_cast<scf::IfOp>(parent)) {
        if (varies(condition.getCondition()))
          return false;
        continue;
      }
      return false;
    }
    return true;
  }

private:
  static bool isThreadId(Operation *op) {
    return isa<gpu::ThreadIdOp, gpu::LaneIdOp, gpu::SubgroupIdOp,
               gpu::GlobalIdOp>(op);
  }

  bool lookup(Value value) {
    if (roots.contains(value))
      return true;
    if (auto known = memo.find(value); known != memo.end()) {
      if (inProgress.contains(value))
        assumed.insert(value);
      return known->second;
    }
    memo[value] = false;
    inProgress.insert(value);
    bool result = computeVaries(value);
    inProgress.erase(value);
    memo[value] = result;
    return result;
  }

  /// Whether what `op` and the ops in it read may differ between threads:
  /// they write (an atomic's result), have effects BufferAccesses cannot
  /// name, or read a thread's own memory (an alloca, a private
  /// attribution).
  bool readsVaryingMemory(Operation *op) {
    BufferAccesses accesses = BufferAccesses::of(op);
    return accesses.unknown ||
           llvm::any_of(accesses.accesses, [&](auto access) {
             auto [buffer, written] = access;
             return written || privateMemory.contains(buffer) ||
                    buffer.template getDefiningOp<memref::AllocaOp>();
           });
  }

  bool computeVaries(Value value) {
    if (auto arg = dyn_cast<BlockArgument>(value)) {
      Operation *owner = arg.getOwner()->getParentOp();
      if (!scope->isProperAncestor(owner))
        return false;
      auto loop = dyn_cast<scf::ForOp>(owner);
      if (!loop)
        return true;
      if (lookup(loop.getLowerBound()) || lookup(loop.getUpperBound()) ||
          lookup(loop.getStep()))
        return true;
      if (arg == loop.getInductionVar())
        return false;
      OpOperand *init = loop.getTiedLoopInit(arg);
      return lookup(init->get()) ||
             lookup(loop.getTiedLoopYieldedValue(arg)->get());
    }
    Operation *def = value.getDefiningOp();
    if (!scope->isProperAncestor(def))
      return false;
    if (isThreadId(def))
      return true;
    if (llvm::any_of(def->getOperands(),
                     [&](Value operand) { return lookup(operand); }))
      return true;
    if (readsVaryingMemory(def))
      return true;
    if (def->getNumRegions() == 0)
      return false;
    // A region's results: anything it reads, or any id inside.
    bool inside = false;
    def->walk([&](Operation *nested) {
      if (isThreadId(nested))
        inside = true;
    });
    if (inside)
      return true;
    llvm::SetVector<Value> used;
    getUsedValuesDefinedAbove(def->getRegions(), used);
    return llvm::any_of(used, [&](Value operand) { return lookup(operand); });
  }

  Operation *scope;
  DenseSet<Value> roots;
  DenseSet<Value> privateMemory;
  DenseMap<Value, bool> memo;
  /// Values being computed, and those read before they were known.
  DenseSet<Value> inProgress, assumed;
};

/// The most rows a [rows, K] `memref` has: through the size of the
/// subview that makes it (a segment's row block, min(left, row-block)),
/// else by its value bounds.
static FailureOr<int64_t> mostRows(Value memref) {
  if (auto view = memref.getDefiningOp<memref::SubViewOp>();
      view && view.getSourceType().getRank() == 2)
    if (auto size = dyn_cast<Value>(view.getMixedSizes().front()))
      return constantUpperBound(size);
  return ValueBoundsConstraintSet::computeConstantBound(
      presburger::BoundType::UB, ValueBoundsConstraintSet::Variable(memref, 0),
      /*stopCondition=*/nullptr, /*closedUB=*/true);
}

/// The threads of `launch`'s blocks, when static and along x only.
static std::optional<int64_t> blockThreads(gpu::LaunchOp launch) {
  std::optional<int64_t> x = getConstantIntValue(launch.getBlockSizeX());
  std::optional<int64_t> y = getConstantIntValue(launch.getBlockSizeY());
  std::optional<int64_t> z = getConstantIntValue(launch.getBlockSizeZ());
  if (!x || y != 1 || z != 1)
    return std::nullopt;
  return x;
}

static int64_t bytesOf(MemRefType type) {
  return type.getNumElements() * type.getElementType().getIntOrFloatBitWidth() /
         8;
}

/// The bytes of `launch`'s workgroup buffers so far.
static int64_t workgroupBytes(gpu::LaunchOp launch) {
  int64_t bytes = 0;
  for (BlockArgument buffer : launch.getWorkgroupAttributions())
    bytes += bytesOf(cast<MemRefType>(buffer.getType()));
  return bytes;
}

/// The bytes of `launch`'s dynamic shared memory so far (0 without), or
/// nullopt where they are not a constant.
static std::optional<int64_t> dynamicSharedBytes(gpu::LaunchOp launch) {
  Value size = launch.getDynamicSharedMemorySize();
  if (!size)
    return 0;
  return getConstantIntValue(size);
}

/// Views of `types` (workgroup memory) one after another in `launch`'s
/// dynamic shared memory from `offset` (16-byte aligned), or from the
/// first byte past it on an `alignment` boundary, the launch's dynamic size
/// grown to their end: where buffers past the static 48 KB go.
static SmallVector<Value> placeInDynamicShared(OpBuilder &b, Location loc,
                                               gpu::LaunchOp launch,
                                               int64_t offset,
                                               ArrayRef<MemRefType> types,
                                               int64_t alignment = 16) {
  int64_t end = offset;
  for (MemRefType type : types)
    end += bytesOf(type);
  // Past 16 bytes, where the first aligned byte is depends on the block's
  // shared address, known at run time only: an alignment's bytes more,
  // the buffers from the first aligned byte past `offset`.
  bool alignAtRunTime = alignment > 16;
  if (alignAtRunTime)
    end += alignment;
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(launch);
    launch.getDynamicSharedMemorySizeMutable().assign(
        arith::ConstantIntOp::create(b, loc, end, 32));
  }
  Value memory = gpu::DynamicSharedMemoryOp::create(
      b, loc,
      MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), AffineMap(),
                      types.front().getMemorySpace()));
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };
  Value start;
  if (alignAtRunTime) {
    Value address = arith::AddIOp::create(
        b, loc, memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memory),
        index(offset));
    Value pad = arith::RemUIOp::create(
        b, loc,
        arith::SubIOp::create(
            b, loc, index(alignment),
            arith::RemUIOp::create(b, loc, address, index(alignment))),
        index(alignment));
    start = arith::AddIOp::create(b, loc, index(offset), pad);
  }
  SmallVector<Value> views;
  for (MemRefType type : types) {
    Value shift = start ? start : index(offset);
    views.push_back(
        memref::ViewOp::create(b, loc, type, memory, shift, ValueRange()));
    if (start)
      start = arith::AddIOp::create(b, loc, start, index(bytesOf(type)));
    offset += bytesOf(type);
  }
  return views;
}

/// On the host, a buffer of each of `types` (allocas aligned to
/// `alignment` bytes), where the GPU's are in shared memory.
static SmallVector<Value> allocateOnHost(OpBuilder &b, Location loc,
                                         ArrayRef<MemRefType> types,
                                         int64_t alignment) {
  return llvm::map_to_vector(types, [&](MemRefType type) -> Value {
    return memref::AllocaOp::create(b, loc, type,
                                    b.getI64IntegerAttr(alignment));
  });
}

/// Whether `bytes` more of static shared memory fit `launch`: within the 48
/// KB of static shared memory, and with its dynamic shared memory within
/// kSharedBytesPerBlock.
static bool fitsStatic(gpu::LaunchOp launch, int64_t bytes) {
  std::optional<int64_t> dynamicBytes = dynamicSharedBytes(launch);
  int64_t staticBytes = workgroupBytes(launch) + bytes;
  return dynamicBytes && staticBytes <= kStaticSharedBytes &&
         staticBytes + *dynamicBytes <= kSharedBytesPerBlock;
}

struct MoEGPUWarpMMAPass : moe::impl::MoEGPUWarpMMAPassBase<MoEGPUWarpMMAPass> {
  using MoEGPUWarpMMAPassBase::MoEGPUWarpMMAPassBase;

  /// On the host, the index of the warp forall around `op`.
  Value hostWarp(Operation *op) {
    if (!emulateLanes)
      return Value();
    return getWarpForall(op).getInductionVar(0);
  }

  /// Where a tile may be rewritten: in a GPU kernel, or on the host in its
  /// warp forall.
  bool isWarpCode(Operation *op) {
    if (emulateLanes)
      return static_cast<bool>(getWarpForall(op));
    return op->getParentOfType<gpu::LaunchOp>() ||
           op->getParentOfType<gpu::GPUFuncOp>();
  }

  /// A tile's operand that is a window of whole rows of a view the same
  /// for every thread of the block, from a row that is not: that view, the
  /// window's first row, and the most rows the view has (a staged chunk's).
  /// A tile reads only rows of its window (clamped to its last), so never
  /// past the view's.
  struct RowsWindow {
    Value source;
    Value firstRow;
    int64_t rows;
  };
  std::optional<RowsWindow> blockRowsWindow(Value activations,
                                            BlockUniformity &uniformity) {
    auto window = activations.getDefiningOp<memref::SubViewOp>();
    if (!window || window.getSourceType().getRank() != 2 ||
        !window.hasUnitStride() || window.getStaticOffsets()[1] != 0 ||
        window.getStaticOffsets()[0] != ShapedType::kDynamic ||
        window.getStaticSizes()[1] != window.getSourceType().getDimSize(1) ||
        uniformity.varies(window.getSource()))
      return std::nullopt;
    FailureOr<int64_t> sourceRows = mostRows(window.getSource());
    if (failed(sourceRows) || *sourceRows < 1)
      return std::nullopt;
    return RowsWindow{
        window.getSource(), window.getOffsets().front(),
        static_cast<int64_t>(llvm::alignTo(*sourceRows, kMmaRows))};
  }

  /// The block's staged A chunks for a tile at `at` that reads
  /// `activations` on `operandType` (see Passes.td), created there, when the
  /// tile may have them: 16-bit operands; activations the same for every
  /// thread, in 16-byte pieces; every thread of the block reaching the tile
  /// alike, so that all take part in the copies and barriers; a block whose
  /// threads split the chunk evenly. With `wgmma`, a tile of `columns`
  /// columns that is a warp's window of a warpgroup's 64 rows, whose W can
  /// be staged, has its chunks as core matrices (Staging::coreMatrices).
  std::optional<Staging> planStaging(OpBuilder &b, Operation *at,
                                     Value activations,
                                     SmallVector<Value, 2> weights,
                                     Type operandType, int64_t columns) {
    // Narrowed A (of the operand type) is copied as W is, in 16-byte
    // pieces of 8 elements; f32 A in pieces of 4, rounded on the way.
    bool narrow = getElementTypeOrSelf(activations.getType()) == operandType;
    int64_t pieceWidth = narrow ? kSixteenBitPieceWidth : kCopyWidth;
    if (!stageActivations || isa<FloatTF32Type>(operandType) ||
        !holdsAlignedGroups(activations, pieceWidth))
      return std::nullopt;
    Operation *scope;
    SmallVector<Value, 3> threadValues;
    int64_t threads;
    if (emulateLanes) {
      scf::ForallOp warps = getWarpForall(at);
      std::optional<SmallVector<int64_t>> count;
      if (warps.getRank() == 1)
        count = getConstantIntValues(warps.getMixedUpperBound());
      if (!count || ShapedType::isDynamic(count->front()))
        return std::nullopt;
      scope = warps;
      llvm::append_range(threadValues, warps.getInductionVars());
      threads = count->front() * kNVIDIAWarpSize;
    } else {
      auto launch = at->getParentOfType<gpu::LaunchOp>();
      std::optional<int64_t> x = launch ? blockThreads(launch) : std::nullopt;
      if (!x)
        return std::nullopt;
      scope = launch;
      gpu::KernelDim3 ids = launch.getThreadIds();
      threadValues = {ids.x, ids.y, ids.z};
      threads = *x;
    }
    BlockUniformity uniformity(scope, threadValues);
    if (threads % kNVIDIAWarpSize != 0 || !uniformity.reachedAlike(at))
      return std::nullopt;
    Staging staging;
    staging.threads = threads;
    staging.source = activations;
    int64_t rows = warpTileRows;
    if (uniformity.varies(activations)) {
      // On a grid of warp rows a warp's rows are a window of the block's:
      // the block stages all of them.
      std::optional<RowsWindow> window =
          blockRowsWindow(activations, uniformity);
      if (!window)
        return std::nullopt;
      staging.source = window->source;
      staging.rowOffset = window->firstRow;
      rows = window->rows;
    }
    if (rows * kChunkDepth / pieceWidth % threads != 0)
      return std::nullopt;
    std::optional<WeightPlan> weightPlan;
    if (stageWeights || wgmma)
      weightPlan = planWeights(at, threads, weights, uniformity);
    // The pipeline's depth: what the options ask for, or where its buffers
    // do not fit the block's shared memory, the deepest that does.
    int64_t ahead = weightChunksAhead, pending = 0;
    // W's slots: one for each chunk ahead and (core matrices) each
    // pending chunk, besides the chunk the steps read. A's: two, and one
    // for each pending chunk; narrowed A's, W's (it is copied with W).
    auto slots = [&](bool withWeights, bool core) -> int64_t {
      if (!withWeights)
        return 2;
      return ahead + (core ? pending : 0) + 1;
    };
    auto activationSlots = [&](bool withWeights, bool core) -> int64_t {
      if (narrow)
        return slots(withWeights, core);
      return 2 + (core ? pending : 0);
    };
    auto bufferType = [&](int64_t bufferSlots, int64_t bufferRows, Type element,
                          bool core) {
      return core ? getCoreMatrixChunksType(bufferSlots, bufferRows,
                                            kChunkDepth, element)
                  : MemRefType::get({bufferSlots, bufferRows, kStagedRowStride},
                                    element);
    };
    // With TMA W (`boxTensors`), W's chunks are swizzled as TMA writes
    // them, their slots from a 1,024-byte boundary.
    SmallVector<Value, 2> boxTensors;
    auto weightTypes = [&](bool core) {
      SmallVector<MemRefType, 3> types;
      for (auto [weightRows, element] :
           llvm::zip_equal(weightPlan->rows, weightPlan->elements))
        types.push_back(
            core && !boxTensors.empty()
                ? getSwizzledChunksType(slots(true, core), weightRows,
                                        kChunkDepth, element)
                : bufferType(slots(true, core), weightRows, element, core));
      return types;
    };
    // A's chunks in f32 as cp.async lands them: a slot a chunk ahead.
    auto ringType = [&] {
      return MemRefType::get({ahead, rows, kRingRowStride}, b.getF32Type());
    };
    auto launch = emulateLanes ? gpu::LaunchOp() : cast<gpu::LaunchOp>(scope);
    // Whether the staged buffers (with `ring`, the activation ring too) fit
    // at the depth now set.
    auto fitsDepth = [&](bool core, bool ring) {
      SmallVector<MemRefType, 3> types = weightTypes(core);
      if (ring)
        types.push_back(ringType());
      return fitWeights(launch,
                        bufferType(activationSlots(/*withWeights=*/true, core),
                                   rows, operandType, core),
                        types, /*warpgroup=*/core,
                        core && !boxTensors.empty() ? kSwizzlePatternBytes : 0);
    };
    // Sets the depth asked for, or the deepest that fits (fewer pending
    // chunks first, then fewer chunks ahead) with a warning that names it;
    // false where none fits.
    auto fitDeepest = [&](bool core) {
      int64_t askedPending = core ? wgmmaPendingChunks : 0;
      for (ahead = weightChunksAhead; ahead >= 1; --ahead) {
        for (pending = askedPending; pending >= 0; --pending) {
          if (!fitsDepth(core, /*ring=*/false))
            continue;
          if (ahead != weightChunksAhead || pending != askedPending) {
            at->emitWarning()
                << "the staged buffers of "
                << describeDepth(weightChunksAhead, askedPending, core)
                << " do not fit a block's shared "
                   "memory; this tile takes "
                << describeDepth(ahead, pending, core);
          }
          return true;
        }
      }
      ahead = weightChunksAhead;
      pending = 0;
      return false;
    };
    // A warpgroup's tile: its block is one or more warpgroups whose warps
    // take 16 rows each of the block's 64 a warpgroup (moe-gpu-distribute's
    // grid of 16-row tiles, warp w from row 16 w: the rows the wgmma
    // gives warp w % 4 of warpgroup w / 4), and all of the block's W rows,
    // staged from row 0 (no window of them).
    int64_t warpgroupThreads = kWarpgroupWarps * kNVIDIAWarpSize;
    bool warpgroupTile =
        wgmma && weightPlan && staging.rowOffset && warpTileRows == kMmaRows &&
        llvm::none_of(weightPlan->offsets,
                      [](Value offset) { return static_cast<bool>(offset); }) &&
        threads % warpgroupThreads == 0 &&
        rows == kWarpgroupRows * (threads / warpgroupThreads) &&
        llvm::all_of(weightPlan->rows,
                     [&](int64_t weightRows) { return weightRows >= columns; });
    if (tmaWeights && warpgroupTile) {
      // A TMA box is at most 256 rows; its tensor is W's, above the launch.
      for (auto [source, weightRows] :
           llvm::zip_equal(weightPlan->sources, weightPlan->rows))
        boxTensors.push_back(
            weightRows <= kMaxBoxRows ? getBoxTensor(source, launch) : Value());
      if (!llvm::all_of(boxTensors, [](Value tensor) { return tensor; })) {
        at->emitWarning()
            << "tma-weights: this tile's W is not a box of a weight tensor "
               "(whole rows of 16-bit elements, a multiple of 16 bytes, "
               "views of it by unit-stride subviews); its chunks are copied "
               "by cp.async";
        boxTensors.clear();
      }
    }
    staging.coreMatrices = warpgroupTile && fitDeepest(/*core=*/true);
    if (!staging.coreMatrices)
      boxTensors.clear();
    if (warpgroupTile && !staging.coreMatrices)
      at->emitWarning() << "the staged core matrices of wgmma=true do not fit "
                           "a block's shared memory at any depth; this tile "
                           "runs on mma.sync";
    // A's chunks in f32 as cp.async lands them, where they fit beside W's
    // too (else A goes through registers). Narrowed A needs no ring.
    bool ringed = false;
    if (staging.coreMatrices && copyActivationsAsync && !narrow) {
      ringed = fitsDepth(/*core=*/true, /*ring=*/true);
      if (!ringed)
        at->emitWarning() << "the activation ring (copy-activations-async) "
                             "does not fit a block's shared memory beside "
                          << describeDepth(ahead, pending, /*core=*/true)
                          << "; this tile loads A into registers";
    }
    bool withWeights =
        weightPlan &&
        (staging.coreMatrices || (stageWeights && fitDeepest(/*core=*/false)));
    staging.narrowActivations = narrow;
    staging.weightSlots = slots(withWeights, staging.coreMatrices);
    staging.activationSlots =
        activationSlots(withWeights, staging.coreMatrices);
    if (withWeights) {
      staging.weightChunksAhead = ahead;
      if (staging.coreMatrices)
        staging.pendingChunks = pending;
    }
    MemRefType aType = bufferType(staging.activationSlots, rows, operandType,
                                  staging.coreMatrices);
    Location loc = at->getLoc();
    if (emulateLanes) {
      // Aligned for the 16-byte group loads.
      staging.buffer =
          memref::AllocaOp::create(b, loc, aType, b.getI64IntegerAttr(64));
    } else if (fitsStatic(launch, bytesOf(aType))) {
      // Within the static shared memory every GPU gives a block.
      staging.buffer = launch.addWorkgroupAttribution(inWorkgroup(aType), loc);
    } else if (withWeights) {
      // A deeper ring of chunks, beside W's (which fitWeights counted it
      // with) in dynamic shared memory.
      staging.buffer =
          placeInDynamicShared(b, loc, launch,
                               llvm::alignTo(*dynamicSharedBytes(launch), 16),
                               {inWorkgroup(aType)})
              .front();
    } else {
      return std::nullopt;
    }
    if (!emulateLanes)
      staging.threadId = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    if (withWeights) {
      SmallVector<MemRefType, 3> types = weightTypes(staging.coreMatrices);
      if (!boxTensors.empty()) {
        // Swizzled slots on 1,024-byte boundaries; the ring apart.
        staging.weightBuffers = createSwizzledBuffers(b, at, types);
        types.clear();
      }
      if (ringed)
        types.push_back(ringType());
      SmallVector<Value> buffers;
      if (!types.empty())
        buffers = createSharedBuffers(b, at, types);
      if (ringed)
        staging.activationRing = buffers.pop_back_val();
      if (boxTensors.empty())
        staging.weightBuffers.assign(buffers.begin(), buffers.end());
      staging.weightSources = weightPlan->sources;
      staging.weightRowOffsets = weightPlan->offsets;
    }
    if (!boxTensors.empty())
      planBoxes(b, at, launch, staging, boxTensors);
    return staging;
  }

  /// The most rows of a TMA box.
  static constexpr int64_t kMaxBoxRows = 256;

  /// The tensor a TMA box of staged W view `weight` ([rows, k], 16-bit
  /// elements) comes from (Staging::TmaWeight), or null where none: the
  /// view's chain of unit-stride subviews and casts reaches a tensor ([n,
  /// k] or [expert, n, k]: the identity layout, a static shape, rows a
  /// multiple of 16 bytes) whose rows the view's are, defined outside
  /// `launch` (on the GPU: the host makes its tensor map).
  static Value getBoxTensor(Value weight, gpu::LaunchOp launch) {
    auto viewType = cast<MemRefType>(weight.getType());
    Value tensor = weight;
    while (Operation *def = tensor.getDefiningOp()) {
      if (auto view = dyn_cast<memref::SubViewOp>(def);
          view && view.hasUnitStride()) {
        tensor = view.getSource();
        continue;
      }
      if (auto castOp = dyn_cast<memref::CastOp>(def)) {
        tensor = castOp.getSource();
        continue;
      }
      break;
    }
    if (launch && launch->isAncestor(tensor.getParentBlock()->getParentOp()))
      return Value();
    auto type = dyn_cast<MemRefType>(tensor.getType());
    if (!type || (type.getRank() != 2 && type.getRank() != 3) ||
        !type.getLayout().isIdentity() || !type.hasStaticShape() ||
        type.getElementType() != viewType.getElementType() ||
        viewType.getRank() != 2 || viewType.getElementTypeBitWidth() != 16)
      return Value();
    int64_t depth = type.getDimSize(type.getRank() - 1);
    SmallVector<int64_t> strides;
    int64_t offset;
    // The view has all of K: TMA fills zeros past the tensor only, and a
    // view of part of K (split-k's slices) would read its neighbours'.
    if (depth * 2 % 16 != 0 || viewType.getDimSize(1) != depth ||
        failed(viewType.getStridesAndOffset(strides, offset)) ||
        strides[0] != depth || strides[1] != 1)
      return Value();
    return tensor;
  }

  /// Sets up `staging`'s TMA W (Staging::tmaWeights) from `tensors`, one a
  /// weight: each view's origin in its tensor (from the view's offset), and
  /// on the GPU the tensor maps (before `launch`), the slots' mbarriers and
  /// the issuing thread (thread 0).
  void planBoxes(OpBuilder &b, Operation *at, gpu::LaunchOp launch,
                 Staging &staging, ArrayRef<Value> tensors) {
    Location loc = at->getLoc();
    MLIRContext *context = b.getContext();
    auto index = [&](int64_t value) -> Value {
      return arith::ConstantIndexOp::create(b, loc, value);
    };
    auto workgroup =
        gpu::AddressSpaceAttr::get(context, gpu::AddressSpace::Workgroup);
    for (auto [tensor, view, buffer] : llvm::zip_equal(
             tensors, staging.weightSources, staging.weightBuffers)) {
      auto type = cast<MemRefType>(tensor.getType());
      int64_t rank = type.getRank();
      int64_t depth = type.getDimSize(rank - 1);
      int64_t rows = type.getDimSize(rank - 2);
      Staging::TmaWeight box;
      box.tensor = tensor;
      // The view's first element: offset = (expert * rows + n) * depth + k.
      Value offset =
          memref::ExtractStridedMetadataOp::create(b, loc, view).getOffset();
      Value row = arith::DivUIOp::create(b, loc, offset, index(depth));
      box.origin = {arith::RemUIOp::create(b, loc, offset, index(depth)),
                    arith::RemUIOp::create(b, loc, row, index(rows))};
      if (rank == 3)
        box.origin.push_back(arith::DivUIOp::create(b, loc, row, index(rows)));
      if (launch) {
        OpBuilder::InsertPoint inKernel = b.saveInsertionPoint();
        b.setInsertionPoint(launch);
        int64_t boxRows = getStagedRows(cast<MemRefType>(buffer.getType()));
        SmallVector<int64_t> boxShape = {boxRows, kChunkDepth};
        if (rank == 3)
          boxShape.insert(boxShape.begin(), 1);
        auto mapType = nvgpu::TensorMapDescriptorType::get(
            context,
            MemRefType::get(boxShape, type.getElementType(), AffineMap(),
                            workgroup),
            nvgpu::TensorMapSwizzleKind::SWIZZLE_128B,
            nvgpu::TensorMapL2PromoKind::L2PROMO_256B,
            nvgpu::TensorMapOOBKind::OOB_ZERO,
            nvgpu::TensorMapInterleaveKind::INTERLEAVE_NONE);
        Value unranked = memref::CastOp::create(
            b, loc,
            UnrankedMemRefType::get(type.getElementType(),
                                    type.getMemorySpace()),
            tensor);
        Value map = nvgpu::TmaCreateDescriptorOp::create(
            b, loc, mapType, unranked,
            llvm::map_to_vector(
                boxShape, [&](int64_t size) -> Value { return index(size); }));
        b.restoreInsertionPoint(inKernel);
        box.map = map;
      }
      staging.tmaWeights.push_back(box);
    }
    if (!launch)
      return;
    staging.weightBarriers = nvgpu::MBarrierCreateOp::create(
        b, loc,
        nvgpu::MBarrierGroupType::get(context, workgroup, staging.weightSlots));
    staging.issuesBoxes = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::eq, staging.threadId, index(0));
  }

  /// Buffers of `types` (swizzled W chunks, which fitWeights found room
  /// for with a pattern's bytes more), each slot on a 1,024-byte boundary:
  /// on the host allocas so aligned; on the GPU in dynamic shared memory,
  /// after any an earlier tile of the launch took, from the first such
  /// boundary past it (the block's shared address is known at run time
  /// only).
  SmallVector<Value> createSwizzledBuffers(OpBuilder &b, Operation *at,
                                           ArrayRef<MemRefType> types) {
    Location loc = at->getLoc();
    if (emulateLanes)
      return allocateOnHost(b, loc, types, kSwizzlePatternBytes);
    auto launch = at->getParentOfType<gpu::LaunchOp>();
    return placeInDynamicShared(
        b, loc, launch, llvm::alignTo(*dynamicSharedBytes(launch), 16),
        llvm::map_to_vector(types, inWorkgroup), kSwizzlePatternBytes);
  }

  /// `type` in workgroup memory.
  static MemRefType inWorkgroup(MemRefType type) {
    auto workgroup = gpu::AddressSpaceAttr::get(type.getContext(),
                                                gpu::AddressSpace::Workgroup);
    return MemRefType::get(type.getShape(), type.getElementType(), AffineMap(),
                           workgroup);
  }

  /// What a tile's staged W copies: per weight, the view (the weight, or
  /// the block's rows of which the weight is a window), the window's first
  /// row (null: none), the rows staged and the element type.
  struct WeightPlan {
    SmallVector<Value, 2> sources, offsets;
    SmallVector<int64_t, 2> rows;
    SmallVector<Type, 2> elements;
  };

  /// The staged W of a tile of `weights` in a block of `threads`, where
  /// every weight allows it: 16-bit elements in aligned 16-byte groups, a
  /// view the same for every thread or a window of rows of one, whose rows
  /// the block's threads split evenly. All of the tile's weights or none.
  std::optional<WeightPlan> planWeights(Operation *at, int64_t threads,
                                        ArrayRef<Value> weights,
                                        BlockUniformity &uniformity) {
    WeightPlan plan;
    for (Value weight : weights) {
      Type element = cast<MemRefType>(weight.getType()).getElementType();
      if (element.getIntOrFloatBitWidth() != 16 ||
          !holdsAlignedGroups(weight, kSixteenBitPieceWidth))
        return std::nullopt;
      Value source = weight, offset;
      FailureOr<int64_t> rows = failure();
      if (uniformity.varies(weight)) {
        std::optional<RowsWindow> window = blockRowsWindow(weight, uniformity);
        if (!window)
          return std::nullopt;
        source = window->source;
        offset = window->firstRow;
        rows = window->rows;
      } else {
        rows = mostRows(weight);
        if (failed(rows) || *rows < 1)
          return std::nullopt;
        rows = llvm::alignTo(*rows, kMmaRows);
      }
      if (*rows * (kChunkDepth / kSixteenBitPieceWidth) % threads != 0)
        return std::nullopt;
      plan.sources.push_back(source);
      plan.offsets.push_back(offset);
      plan.rows.push_back(*rows);
      plan.elements.push_back(element);
    }
    return plan;
  }

  /// The options that set a depth, as a user writes them.
  static std::string describeDepth(int64_t ahead, int64_t pending, bool core) {
    std::string text = "weight-chunks-ahead=" + std::to_string(ahead);
    if (core)
      text += " wgmma-pending-chunks=" + std::to_string(pending);
    return text;
  }

  /// Whether staged W buffers of `weightTypes` fit beside staged A of
  /// `aType`: on the host within the limit, so that it runs what the GPU
  /// would; on the GPU in `launch`'s 48 KB of static shared memory, else in
  /// dynamic shared memory up to the limit a block. The limit is
  /// kStagedWeightSharedBytes, or for a `warpgroup` (sm_90a)
  /// kWarpgroupSharedBytes.
  bool fitWeights(gpu::LaunchOp launch, MemRefType aType,
                  ArrayRef<MemRefType> weightTypes, bool warpgroup = false,
                  int64_t alignmentBytes = 0) {
    int64_t limit =
        warpgroup ? kWarpgroupSharedBytes : kStagedWeightSharedBytes;
    int64_t bytes = alignmentBytes;
    for (MemRefType type : weightTypes)
      bytes += bytesOf(type);
    if (!launch)
      return bytesOf(aType) + bytes <= limit;
    std::optional<int64_t> dynamicBytes = dynamicSharedBytes(launch);
    if (!dynamicBytes)
      return false;
    return fitsStatic(launch, bytesOf(aType) + bytes) ||
           workgroupBytes(launch) + bytesOf(aType) +
                   static_cast<int64_t>(llvm::alignTo(*dynamicBytes, 16)) +
                   bytes <=
               limit;
  }

  /// Buffers of `types` (staged W, and the activation ring), which
  /// fitWeights found room for: on the host allocas; on the GPU in static
  /// shared memory where they fit it, else in dynamic shared memory after
  /// any an earlier tile of the launch took.
  SmallVector<Value> createSharedBuffers(OpBuilder &b, Operation *at,
                                         ArrayRef<MemRefType> types) {
    Location loc = at->getLoc();
    SmallVector<Value> buffers;
    if (emulateLanes) {
      // Aligned for the 16-byte group loads.
      buffers = allocateOnHost(b, loc, types, 64);
    } else {
      auto launch = at->getParentOfType<gpu::LaunchOp>();
      int64_t bytes = 0;
      for (MemRefType type : types)
        bytes += bytesOf(type);
      SmallVector<MemRefType, 2> workgroupTypes =
          llvm::map_to_vector(types, inWorkgroup);
      if (fitsStatic(launch, bytes)) {
        for (MemRefType type : workgroupTypes)
          buffers.push_back(launch.addWorkgroupAttribution(type, loc));
      } else {
        int64_t offset = llvm::alignTo(*dynamicSharedBytes(launch), 16);
        buffers = placeInDynamicShared(b, loc, launch, offset, workgroupTypes);
      }
    }
    return buffers;
  }

  /// A ring of W stages for a tile at `at` whose lanes copy `groups` W
  /// groups of `element` a step: `weight-stages` stages, at most
  /// `maxStages`, in static shared memory where they fit its 48 KB, else
  /// in dynamic shared memory, fewer where the block's shared memory would
  /// pass kSharedBytesPerBlock, none below two.
  std::optional<WeightRing> planWeightRing(OpBuilder &b, Operation *at,
                                           int64_t groups, Type element,
                                           int64_t maxStages) {
    int64_t stages = std::min<int64_t>(weightStages, maxStages);
    if (stages < 2)
      return std::nullopt;
    WeightRing ring;
    SmallVector<int64_t> slot = {groups, kNVIDIAWarpSize, kLaneGroup};
    if (emulateLanes) {
      ring.stages = stages;
      SmallVector<int64_t> shape = {ring.stages};
      llvm::append_range(shape, slot);
      // Aligned for the 16-byte group loads.
      ring.buffer = memref::AllocaOp::create(b, at->getLoc(),
                                             MemRefType::get(shape, element),
                                             b.getI64IntegerAttr(64));
      return ring;
    }
    auto launch = at->getParentOfType<gpu::LaunchOp>();
    std::optional<int64_t> threads =
        launch ? blockThreads(launch) : std::nullopt;
    if (!threads || *threads % kNVIDIAWarpSize != 0)
      return std::nullopt;
    int64_t warps = *threads / kNVIDIAWarpSize;
    int64_t stageBytes = bytesOf(MemRefType::get(slot, element)) * warps;
    int64_t staticBytes = workgroupBytes(launch);
    auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                                gpu::AddressSpace::Workgroup);
    Location loc = at->getLoc();
    auto ringType = [&] {
      SmallVector<int64_t> shape = {warps, ring.stages};
      llvm::append_range(shape, slot);
      return MemRefType::get(shape, element, AffineMap(), workgroup);
    };
    if (fitsStatic(launch, stages * stageBytes)) {
      ring.stages = stages;
      ring.buffer = launch.addWorkgroupAttribution(ringType(), loc);
    } else {
      // Past the static 48 KB: dynamic shared memory (the runtime opts a
      // kernel into more than 48 KB), after any earlier ring's. Static
      // buffers planned later check the total too (fitsStatic).
      std::optional<int64_t> dynamicBytes = dynamicSharedBytes(launch);
      if (!dynamicBytes)
        return std::nullopt;
      int64_t offset = llvm::alignTo(*dynamicBytes, 16);
      ring.stages = std::min<int64_t>(
          stages, (kSharedBytesPerBlock - staticBytes - offset) / stageBytes);
      if (ring.stages < 2)
        return std::nullopt;
      ring.buffer =
          placeInDynamicShared(b, loc, launch, offset, {ringType()}).front();
    }
    ring.warp = arith::DivUIOp::create(
        b, loc, gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x),
        arith::ConstantIndexOp::create(b, loc, kNVIDIAWarpSize));
    return ring;
  }

  void runOnOperation() override {
    // A function with options of its own for this pass (a layer's version
    // for few tokens) is lowered with those.
    FailureOr<SmallVector<Operation *>> own = runFunctionsWithOwnOptions(
        getOperation(), getArgument(),
        [] { return std::make_unique<MoEGPUWarpMMAPass>(); },
        [&](OpPassManager &pm, Operation *function) {
          return runPipeline(pm, function);
        });
    if (failed(own))
      return signalPassFailure();
    if (!own->empty())
      return;
    if (weightStages < 0) {
      getOperation().emitError("moe-gpu-warp-mma: weight-stages must not be "
                               "negative (0 or 1: no ring)");
      return signalPassFailure();
    }
    if (weightChunksAhead < 1 || weightChunksAhead > 3 ||
        wgmmaPendingChunks < 0 || wgmmaPendingChunks > 2) {
      getOperation().emitError(
          "moe-gpu-warp-mma: weight-chunks-ahead must be 1 to 3 and "
          "wgmma-pending-chunks 0 to 2");
      return signalPassFailure();
    }
    // Gated FFN tiles first: their matmuls then leave the one-tile path.
    SmallVector<GatedGroup> groups;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (std::optional<GatedGroup> group = matchGatedGroup(op);
          group && group->gate->hasAttr(kWarpMmaAttrName))
        groups.push_back(*group);
    });
    for (GatedGroup group : groups) {
      if (!isWarpCode(group.epilogue))
        continue;
      OpBuilder b(group.epilogue);
      auto stage = [&](int64_t columns) {
        return planStaging(
            b, group.epilogue, group.gate.getDpsInputs()[0],
            {group.gate.getDpsInputs()[1], group.up.getDpsInputs()[1]},
            getTensorCoreOperandType(group.gate), columns);
      };
      auto ring = [&](int64_t groups, Type element, int64_t maxStages) {
        return planWeightRing(b, group.epilogue, groups, element, maxStages);
      };
      if (failed(WarpTileEmitter(b, group.epilogue->getLoc(), emulateLanes,
                                 stage, prefetchWeights, warpTileRows, ring,
                                 warpTileColumns, hostWarp(group.epilogue))
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
                       "* W[n, k] on buffers, with f32 C, and bf16 or f16 "
                       "W with f32 A or A of W's type, or f32 (tf32) A and "
                       "W");
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
      auto stage = [&](int64_t columns) {
        return planStaging(b, op, op.getDpsInputs()[0], {op.getDpsInputs()[1]},
                           getTensorCoreOperandType(op), columns);
      };
      auto ring = [&](int64_t groups, Type element, int64_t maxStages) {
        return planWeightRing(b, op, groups, element, maxStages);
      };
      if (failed(WarpTileEmitter(b, op.getLoc(), emulateLanes, stage,
                                 prefetchWeights, warpTileRows, ring,
                                 warpTileColumns, hostWarp(op))
                     .emit(op)))
        return signalPassFailure();
      op.erase();
    }
  }
};

} // namespace

//===- WarpTileEmitter.h - Warp tiles as lane code --------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// moe-gpu-warp-mma's emitter (a private header of MoECodegenGPU): it rewrites
// one moe.warp_mma tile into the lane code of a warp, on mma.sync, or as a
// warp's share of a warpgroup's wgmma, with the block's staged chunks, W
// rings and TMA boxes that the pass plans (planStaging, planWeightRing), or
// the same lane code emulated on the host. Its definitions are split by
// concern:
//   WarpTileEmitter.cpp        the lane's fragments, steps and tiles;
//   WarpTileStaging.cpp        the block's staged chunks, the K loop (over
//                              them, or over steps where nothing is staged),
//                              and wgmma on them;
//   WarpTileHostEmulation.cpp  the lanes, their groups and mma.sync run on
//                              the host, and the models of cp.async groups
//                              and TMA mbarriers that check the waits there.
// WarpMMA.cpp is the pass that plans the buffers and drives the emitter.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_LIB_CODEGEN_GPU_WARPTILEEMITTER_H
#define MOE_LIB_CODEGEN_GPU_WARPTILEEMITTER_H

#include "moe/Codegen/GPU/GatedTiles.h"
#include "moe/Codegen/GPU/TensorCores.h"
#include "moe/Codegen/GPU/WarpgroupMMA.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

#include <functional>
#include <limits>
#include <optional>

namespace mlir {
namespace moe {
namespace warp_mma {

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
/// How long a thread waits on a TMA box's mbarrier before it traps (ns):
/// a phase that never completes (a box that never lands, bytes expected
/// that never come) then ends the kernel with a launch error, not a hang.
/// A box lands in microseconds.
constexpr int64_t kBoxWaitLimitNanoseconds = 2000000000;
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
  /// its chunks are copied with W's (by cp.async in the same groups, or
  /// with TMA W and `tma-activations` as TMA boxes on the same mbarriers)
  /// and into as many slots (activationSlots == weightSlots), not rounded
  /// on the way; without staged W, a chunk ahead in two slots.
  bool narrowActivations = false;
  /// The block's threads, which share the copy.
  int64_t threads = 0;
  /// The thread's index in the block (on the host: null, a loop over them).
  Value threadId;
  /// A and W chunks laid out as core matrices for the block's warpgroup
  /// (see WarpgroupMMA.h), which reads them by wgmma, not by lanes.
  bool coreMatrices = false;
  /// With core matrices and `tma-weights`, the chunks that come by TMA,
  /// each a box of 64 columns by the staged rows that one thread of the
  /// block issues, into a 128-byte swizzled buffer (getSwizzledChunksType);
  /// their bytes landing complete the slot's mbarrier phase: one a weight
  /// (W's, in weightBuffers' order), then with `tma-activations` narrowed
  /// A's (`activationsByTma`). Empty: W by cp.async.
  struct TmaBox {
    /// The tensor the boxes come from (above the launch: W's [n, k] or
    /// [expert, n, k], A's [rows, k]), and on the GPU its tensor map
    /// (created on the host before the launch).
    Value tensor, map;
    /// The box coordinates of the view's first element in `tensor`,
    /// innermost first: k, the row (n) and the expert.
    SmallVector<Value, 3> origin;
    /// The staged buffer the boxes land in (a weight buffer, or `buffer`).
    Value buffer;
  };
  SmallVector<TmaBox, 3> tmaBoxes;
  bool activationsByTma = false;
  /// Whether the block's threads copy any chunk by cp.async (W without TMA,
  /// narrowed A without TMA, the activation ring), whose groups they commit
  /// and wait for.
  bool copiesByCpAsync() const {
    return (!weightBuffers.empty() && tmaBoxes.empty()) ||
           (narrowActivations && !activationsByTma) ||
           static_cast<bool>(activationRing);
  }
  /// With tmaBoxes: on the GPU one mbarrier a W slot (A's boxes of the
  /// chunk land on it too), and whether this
  /// thread is the one that issues the boxes; on the host a model of those
  /// mbarriers ([weightSlots, BoxBarrierField::Count] of index: see
  /// WarpTileHostEmulation.cpp), and null.
  Value weightBarriers, issuesBoxes;
  /// With tma-empty-barriers (A and W both by TMA, so no thread writes a
  /// slot): on the GPU a second mbarrier a slot, its empty one (an arrival
  /// a warp a phase, once the warp's wgmmas that read the slot's chunk are
  /// waited for), which the issuing thread waits on before the slot's next
  /// boxes, in place of the block barrier a chunk; on the host a model of
  /// those ([weightSlots, EmptyBarrierField::Count] of index). Null: the
  /// block barrier ends each chunk.
  Value emptyBarriers;
  /// On the host, where the block copies chunks by cp.async: a model of
  /// each slot's last copy ([slots, SlotCopyField::Count] of index) for the
  /// W slots where cp.async fills them (W without TMA, narrowed A) and for
  /// the activation ring (null where none), and of the cp.async groups
  /// ([AsyncCopyCounter::Count] of index; null without either). See
  /// WarpTileHostEmulation.cpp.
  Value asyncGroupModel, slotCopyModel, ringCopyModel;
  /// On the host: a model of the block barriers that order the threads'
  /// accesses to the staged slots: the barriers passed
  /// ([BlockBarrierCounter::Count] of index), and each A and W slot's
  /// accesses ([slots, SlotAccessField::Count] of index; W's null where W
  /// is not staged). See WarpTileHostEmulation.cpp.
  Value barrierModel, activationAccessModel, weightAccessModel;
};

/// The host's model of a block's cp.async groups (Staging::asyncGroupModel).
enum class AsyncCopyCounter : int64_t {
  /// The groups committed, and those a wait_group has found complete.
  Committed,
  Complete,
  /// Those complete when the block last passed a barrier: the copies in
  /// them are visible to every thread of the block, not only their own.
  Visible,
  Count
};
/// A staged slot's last copy by cp.async: its group and its chunk.
enum class SlotCopyField : int64_t { Group, Chunk, Count };

/// The host's model of the block barrier (Staging::barrierModel): the
/// barriers the block has passed.
enum class BlockBarrierCounter : int64_t { Passed, Count };
/// A staged slot's accesses by the block's threads, in barriers passed
/// (Staging::activationAccessModel, weightAccessModel).
enum class SlotAccessField : int64_t {
  /// The barriers passed from which every thread may read what the slot
  /// holds: one past those at its threads' stores (0 for copies whose
  /// landing other models check: cp.async groups, TMA's mbarriers).
  VisibleFrom,
  /// The barriers passed when its reads last ended: the steps', or a
  /// pending wgmma's once it was waited for (kReadsInFlight while one may
  /// still run; -1 before any read).
  LastRead,
  Count
};
/// SlotAccessField::LastRead while a read of the slot may still run.
constexpr int64_t kReadsInFlight = std::numeric_limits<int64_t>::max();

/// A host model's memory (see WarpTileHostEmulation.cpp): `slots` rows of
/// the fields of `Field` (no rows: the fields alone), of index.
template <typename Field>
Value allocateModel(OpBuilder &b, Location loc, std::optional<int64_t> slots) {
  SmallVector<int64_t, 2> shape;
  if (slots)
    shape.push_back(*slots);
  shape.push_back(static_cast<int64_t>(Field::Count));
  return memref::AllocaOp::create(b, loc,
                                  MemRefType::get(shape, b.getIndexType()));
}

/// The arrivals that complete a TMA W slot's mbarrier phase with the
/// boxes' bytes: the issuing thread's.
constexpr int64_t kBoxArrivals = 1;

/// A field of the host's model of a W slot's mbarrier (Staging::
/// weightBarriers on the host).
enum class BoxBarrierField : int64_t {
  /// The phases completed (the GPU keeps only this one's parity).
  Phases,
  /// The arrivals and the bytes the phase in progress still waits for.
  PendingArrivals,
  PendingBytes,
  /// The phases a thread has waited for.
  Waited,
  Count
};

/// A field of the host's model of a slot's empty mbarrier (Staging::
/// emptyBarriers on the host).
enum class EmptyBarrierField : int64_t {
  /// The phases completed: the slot's chunks whose reads this warp (on the
  /// GPU every warp) released.
  Released,
  /// The phases the issuing thread waited for before the slot's boxes.
  Acquired,
  /// The slot's chunks whose wgmmas this warp's waits have retired.
  Retired,
  Count
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
  /// On the host: a model of the warp's cp.async groups and of each
  /// stage's last copy (see Staging::asyncGroupModel), its lanes' alike.
  Value groupModel, slotModel;
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
  /// buffers themselves, and on the GPU `endOfChunk(left)` waits for the
  /// chunks' wgmmas but the last `left` chunks': before each chunk's
  /// barrier with Staging::pendingChunks, and after the loop with none
  /// (then a barrier, so that a next run of the tile copies into no slot a
  /// warpgroup still reads).
  SmallVector<Value> emitDepthLoop(
      Type operandType, Value activations, ArrayRef<Value> weights,
      Value hasTile, ValueRange init,
      function_ref<SmallVector<Value>(Value, ASource, ValueRange)> step,
      function_ref<void(int64_t)> endOfChunk = nullptr);
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
  /// With TMA W (Staging::tmaBoxes), the boxes of the chunk from
  /// `chunkStart` into slot `slot` of each boxed buffer (W's, and with
  /// `tma-activations` A's): on the GPU issued by one thread, which arrives
  /// on the slot's mbarrier expecting their bytes; on the host copied as
  /// TMA writes them.
  void emitChunkBoxes(Value chunk, Value chunkStart, Value slot);
  /// On the GPU, waits for the phase of `parity` of mbarrier `slot` of
  /// `barriers` (a TMA slot's full or empty one), trapping after
  /// kBoxWaitLimitNanoseconds.
  void waitOnSlotBarrier(Value barriers, Value slot, Value parity);
  /// With empty mbarriers (Staging::emptyBarriers), before the boxes of
  /// chunk `chunk` into slot `slot`: where the slot held an earlier chunk,
  /// the issuing thread waits for that chunk's reads to be released (on
  /// the host, the model checks that they were).
  void acquireSlot(Value chunk, Value slot);
  /// With empty mbarriers, once this warp's reads of chunk `chunk` have
  /// ended (its wgmmas waited for): lane 0 arrives on the slot's empty
  /// mbarrier (on the host, the model's release).
  void releaseSlot(Value chunk);
  /// On the host, `box` into slot `slot` of its buffer as TMA writes it,
  /// from its coordinates `at` (innermost first).
  void copyBoxOnHost(const Staging::TmaBox &box, ArrayRef<Value> at,
                     Value slot);
  /// On the host, with TMA W: the model of the slots' mbarriers (Staging::
  /// weightBarriers), updated as the GPU's would be by what this thread
  /// does in program order, and checked where the GPU relies on them,
  /// with a message and an abort where it fails (cf.assert): set up for a
  /// run of the tile; an arrival expecting `bytes`; a box of `bytes`
  /// landed; a wait for chunk use `use` of the slot with `parity`, as the
  /// GPU's try_wait.parity; and invalidated after the run.
  void initBoxBarrierModel();
  void modelArrivalExpectingBytes(Value slot, int64_t bytes);
  void modelBoxLanded(Value slot, int64_t bytes);
  void modelBoxWait(Value slot, Value use, Value parity);
  void modelBoxBarrierInvalidation();
  /// On the host, with empty mbarriers: the model of them (Staging::
  /// emptyBarriers), set up for a run of the tile; the warp's wait for its
  /// wgmmas retiring those of chunk `chunk`; the release of its slot; the
  /// issuing thread's wait for the release of use `use` - 1 of slot `slot`
  /// before the boxes of use `use`, passing `parity`.
  void initEmptyBarrierModel();
  void modelSlotRetired(Value chunk);
  void modelSlotRelease(Value chunk);
  void modelSlotAcquire(Value slot, Value use, Value parity);
  /// Field `field` of a host model (a memref of index whose last dimension
  /// is the model's fields): at `slot` of a model of slots, or (null) of
  /// one of counters; and its update.
  template <typename Field>
  Value loadModelField(Value model, Value slot, Field field) {
    return memref::LoadOp::create(b, loc, model, modelIndices(slot, field));
  }
  template <typename Field>
  void storeModelField(Value model, Value slot, Field field, Value value) {
    memref::StoreOp::create(b, loc, value, model, modelIndices(slot, field));
  }
  template <typename Field>
  SmallVector<Value, 2> modelIndices(Value slot, Field field) {
    Value at = constant(static_cast<int64_t>(field));
    if (!slot)
      return {at};
    return {slot, at};
  }
  /// The slot's phase completes once no arrival and no byte is pending.
  void completePhaseIfDone(Value slot);
  /// Takes `amount` from the slot's pending arrivals or bytes (`field`),
  /// with `message` where fewer are pending.
  void takeFromPending(Value slot, BoxBarrierField field, int64_t amount,
                       StringRef message);
  /// Asserts, with `message`, that a wait passing `parity` returns on an
  /// mbarrier whose phase in progress is number `inProgress`
  /// (try_wait.parity returns once the phase of that parity has
  /// completed: while the phase in progress has the other parity).
  void assertParityReturns(Value inProgress, Value parity, StringRef message);
  /// On the host, where copies go by cp.async (the block's staged chunks,
  /// a warp's W ring): a model of the groups (`groups`: Staging::
  /// asyncGroupModel or WeightRing::groupModel) and of each slot's last
  /// copy (`slotModel`), updated as each GPU thread's would be and checked
  /// where the GPU relies on them (cf.assert): set up for a run of the
  /// tile; a group committed; `cp.async.wait_group pending`; the copies of
  /// chunk (or step) `chunk` into slot `slot`, in the group being built; a
  /// read of that slot for `chunk` (its copies landed: their group waited
  /// for, and the slot still holds that chunk); and, after the loop, no
  /// copy in flight.
  void initAsyncCopyModel(Value groups, ArrayRef<Value> slotModels);
  void modelCommit(Value groups);
  void modelWaitGroup(Value groups, int64_t pending);
  void modelSlotCopy(Value groups, Value slotModel, Value slot, Value chunk);
  /// A read's copies have landed where `landed` (Complete for the copying
  /// thread's own reads, Visible for the block's other threads') counts
  /// their group.
  void modelSlotRead(Value groups, Value slotModel, Value slot, Value chunk,
                     AsyncCopyCounter landed);
  void modelCopiesLanded(Value groups, ArrayRef<Value> slotModels);
  /// On the host, with staging: the model of the block barriers
  /// (Staging::barrierModel), which checks that the block's threads reach
  /// a staged slot in an order the GPU's barriers enforce: set up for a
  /// run of the tile; a barrier passed; a write into slot `slot` of A's or
  /// W's slots (`accesses`: Staging::activationAccessModel or
  /// weightAccessModel) after every read of what it held ended before a
  /// barrier, by stores that the next barrier makes visible
  /// (`visibleAtBarrier`) or by copies whose landing other models check;
  /// the reads of a chunk from the slot, visible to every thread, that
  /// end now (`endNow`) or once modelBarrierReadsEnded says so (a pending
  /// wgmma's).
  void initBarrierModel();
  void modelBarrier();
  void modelBarrierWrite(Value accesses, Value slot, bool visibleAtBarrier);
  void modelBarrierReads(Value accesses, Value slot, bool endNow);
  void modelBarrierReadsEnded(Value accesses, Value slot);
  /// Checks that the barriers the block has passed stand in `predicate` to
  /// the slot's `field`, with `message` where they do not; returns them.
  Value checkBarriersPassed(Value accesses, Value slot,
                            arith::CmpIPredicate predicate,
                            SlotAccessField field, StringRef message);
  /// The staged A and W slots of chunk `chunk`.
  Value activationSlotOf(Value chunk) {
    return arith::RemUIOp::create(b, loc, chunk,
                                  constant(staging->activationSlots));
  }
  Value weightSlotOf(Value chunk) {
    return arith::RemUIOp::create(b, loc, chunk,
                                  constant(staging->weightSlots));
  }
  /// The use of its W slot that chunk `chunk` is (chunk / weightSlots):
  /// the phase of the slot's mbarriers that stands for it.
  Value weightSlotUseOf(Value chunk) {
    return arith::DivUIOp::create(b, loc, chunk,
                                  constant(staging->weightSlots));
  }
  /// Whether mbarrier phase `phase` is odd: the parity try_wait.parity
  /// takes to wait for it (i1).
  Value isOddPhase(Value phase) {
    return arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::ne,
        arith::RemUIOp::create(b, loc, phase, constant(2)), constant(0));
  }
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

/// Whether `memref` ([rows, K]) holds its rows' groups of `group`
/// consecutive elements along K at addresses aligned to their bytes (see
/// WarpTileEmitter.cpp).
bool holdsAlignedGroups(Value memref, int64_t group);

/// Builds `block`'s contents with `body` and yields what it returns: at
/// the start of a block that still needs its yield, or before the yield of
/// one that yields nothing (which builders add themselves).
void fillBlock(OpBuilder &b, Location loc, Block *block,
               function_ref<SmallVector<Value>()> body);

} // namespace warp_mma
} // namespace moe
} // namespace mlir

#endif // MOE_LIB_CODEGEN_GPU_WARPTILEEMITTER_H

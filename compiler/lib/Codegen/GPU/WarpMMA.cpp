//===- WarpMMA.cpp - Warp tiles to tensor-core mma.sync ---------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-gpu-warp-mma: each moe.warp_mma tile of a
// segment matmul, which one warp runs, becomes a loop over K of
// nvgpu.mma.sync (m16n8k16 on bf16 or f16 fragments, m16n8k8 on tf32) that
// each lane loads from memory (see Passes.td). This file plans what a tile
// may have (staged chunks, a W ring, TMA boxes, their shared memory) and
// drives the emitter, WarpTileEmitter.h, which writes the lane code.
//
//===----------------------------------------------------------------------===//

#include "WarpTileEmitter.h"

#include "moe/Codegen/GPU/BufferAccesses.h"
#include "moe/Codegen/GPU/GatedTiles.h"
#include "moe/Codegen/GPU/Passes.h"
#include "moe/Codegen/GPU/TensorCores.h"
#include "moe/Codegen/GPU/ThreadTiles.h"
#include "moe/Codegen/GPU/WarpgroupMMA.h"
#include "moe/Dialect/MoE/IR/MoEDialect.h"
#include "moe/Transforms/FunctionPassOptions.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
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
using namespace mlir::moe::warp_mma;

namespace {

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

/// Where buffers of `types` placed from `offset` on an `alignment` boundary
/// end in dynamic shared memory. Past 16 bytes, where the first aligned
/// byte is depends on the block's shared address, known at run time only:
/// an alignment's bytes more, the buffers from the first aligned byte past
/// `offset`.
static int64_t dynamicSharedEnd(int64_t offset, ArrayRef<MemRefType> types,
                                int64_t alignment) {
  int64_t end = offset + (alignment > 16 ? alignment : 0);
  for (MemRefType type : types)
    end += bytesOf(type);
  return end;
}

/// Views of `types` (workgroup memory) one after another in `launch`'s
/// dynamic shared memory from `offset` (16-byte aligned), or from the
/// first byte past it on an `alignment` boundary, the launch's dynamic size
/// grown to their end (dynamicSharedEnd): where buffers past the static 48
/// KB go.
static SmallVector<Value> placeInDynamicShared(OpBuilder &b, Location loc,
                                               gpu::LaunchOp launch,
                                               int64_t offset,
                                               ArrayRef<MemRefType> types,
                                               int64_t alignment = 16) {
  int64_t end = dynamicSharedEnd(offset, types, alignment);
  bool alignAtRunTime = alignment > 16;
  // Tiles that never run in a block at once share bytes (see
  // dynamicSharedStart): the launch has the most any of them reaches.
  if (end > dynamicSharedBytes(launch).value_or(0)) {
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

/// Whether what `a` holds and `b`, in `launch`, never run in one block:
/// they are in the two branches of an scf.if whose condition is the same for
/// every thread of the block and that no loop of the launch repeats (kernels
/// sharing a launch, moe-gpu-merge-independent-kernels): the whole block
/// takes one branch, once, so the other's buffers are never used.
static bool inExclusiveBranches(Block *a, Operation *b, gpu::LaunchOp launch) {
  for (Region *region = a->getParent(); region;
       region = region->getParentOp()->getParentRegion()) {
    Operation *parent = region->getParentOp();
    if (parent == launch.getOperation())
      return false;
    if (!parent->isProperAncestor(b))
      continue;
    auto branch = dyn_cast<scf::IfOp>(parent);
    if (!branch || region->findAncestorOpInRegion(*b))
      return false;
    for (Operation *up = branch->getParentOp(); up != launch;
         up = up->getParentOp())
      if (isa<LoopLikeOpInterface>(up))
        return false;
    gpu::KernelDim3 ids = launch.getThreadIds();
    BlockUniformity uniformity(launch, ValueRange{ids.x, ids.y, ids.z});
    return uniformity.reachedAlike(branch) &&
           !uniformity.varies(branch.getCondition());
  }
  return false;
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

  /// Per launch, where each tile's buffers in dynamic shared memory end
  /// (bytes), with the block that held the tile (the tile itself is
  /// rewritten; null: what the launch had before this pass).
  DenseMap<Operation *, SmallVector<std::pair<Block *, int64_t>>> dynamicEnds;

  /// Where the tile at `at` may place buffers in `launch`'s dynamic shared
  /// memory: past those of every tile placed before that may run in the
  /// same block (all but those in the other branch of a kernel sharing the
  /// launch: inExclusiveBranches), and past the tile's own.
  int64_t dynamicSharedStart(gpu::LaunchOp launch, Operation *at) {
    auto [entry, first] = dynamicEnds.try_emplace(launch);
    if (first)
      entry->second.push_back(
          {nullptr, dynamicSharedBytes(launch).value_or(0)});
    int64_t start = 0;
    for (auto [tile, end] : entry->second)
      if (!tile || !inExclusiveBranches(tile, at, launch))
        start = std::max(start, end);
    return start;
  }

  /// placeInDynamicShared for the tile at `at`, from dynamicSharedStart.
  SmallVector<Value> placeForTile(OpBuilder &b, Operation *at,
                                  gpu::LaunchOp launch,
                                  ArrayRef<MemRefType> types,
                                  int64_t alignment = 16) {
    int64_t offset = llvm::alignTo(dynamicSharedStart(launch, at), 16);
    dynamicEnds[launch].push_back(
        {at->getBlock(), dynamicSharedEnd(offset, types, alignment)});
    return placeInDynamicShared(b, at->getLoc(), launch, offset, types,
                                alignment);
  }

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
      return fitWeights(at, launch,
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
               "(rows of 16-bit elements, a multiple of 16 bytes, all of "
               "them or a slice of whole 64-column chunks, views of it by "
               "unit-stride subviews); its chunks are copied by cp.async";
        boxTensors.clear();
      }
    }
    staging.coreMatrices = warpgroupTile && fitDeepest(/*core=*/true);
    if (!staging.coreMatrices)
      boxTensors.clear();
    // With tma-activations, narrowed A's chunks come by TMA beside W's, on
    // their mbarriers: boxes of the rows A's view is a window of.
    Value activationTensor;
    if (tmaActivations && !boxTensors.empty()) {
      if (narrow && rows <= kMaxBoxRows)
        activationTensor =
            getBoxTensor(staging.source, launch, /*dynamicRows=*/true);
      if (!narrow)
        at->emitWarning() << "tma-activations: this tile's A is f32, "
                             "rounded as the block stages it; it is not "
                             "copied by TMA";
      else if (!activationTensor)
        at->emitWarning()
            << "tma-activations: this tile's A is not a box of a tensor "
               "(rows of 16-bit elements, a multiple of 16 bytes, all of "
               "them or a slice of whole 64-column chunks, views of it by "
               "unit-stride subviews); its chunks are copied by cp.async";
      if (tmaEmptyBarriers && !activationTensor)
        at->emitWarning() << "tma-empty-barriers: this tile's threads "
                             "write its staged A, so a block barrier still "
                             "ends each chunk";
    }
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
    MemRefType aType =
        activationTensor
            ? getSwizzledChunksType(staging.activationSlots, rows, kChunkDepth,
                                    operandType)
            : bufferType(staging.activationSlots, rows, operandType,
                         staging.coreMatrices);
    Location loc = at->getLoc();
    if (activationTensor) {
      // A's swizzled slots go with W's (below).
    } else if (emulateLanes) {
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
          placeForTile(b, at, launch, {inWorkgroup(aType)}).front();
    } else {
      return std::nullopt;
    }
    if (!emulateLanes)
      staging.threadId = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    if (withWeights) {
      SmallVector<MemRefType, 3> types = weightTypes(staging.coreMatrices);
      if (!boxTensors.empty()) {
        // Swizzled slots on 1,024-byte boundaries (A's first where TMA
        // copies it too); the ring apart.
        if (activationTensor)
          types.insert(types.begin(), aType);
        SmallVector<Value> swizzled = createSwizzledBuffers(b, at, types);
        ArrayRef<Value> weightBuffers = swizzled;
        if (activationTensor) {
          staging.buffer = swizzled.front();
          weightBuffers = weightBuffers.drop_front();
        }
        staging.weightBuffers.assign(weightBuffers.begin(),
                                     weightBuffers.end());
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
      planBoxes(b, at, launch, staging, boxTensors, activationTensor);
    if (emulateLanes) {
      // On the host, the model of the block's cp.async copies: the last
      // copy into each W slot where cp.async fills them (W's without TMA,
      // narrowed A's) and into each slot of the activation ring, and the
      // groups where there is either.
      if ((narrow && !activationTensor) ||
          (withWeights && boxTensors.empty()))
        staging.slotCopyModel =
            allocateModel<SlotCopyField>(b, loc, staging.weightSlots);
      if (staging.activationRing)
        staging.ringCopyModel =
            allocateModel<SlotCopyField>(b, loc, staging.weightChunksAhead);
      if (staging.slotCopyModel || staging.ringCopyModel)
        staging.asyncGroupModel =
            allocateModel<AsyncCopyCounter>(b, loc, std::nullopt);
      // And of the block barriers' order of the slots' writes and reads:
      // at the start of the warp's turn, so that it sees the runs of a
      // block-uniform loop around the tile one after another. With empty
      // mbarriers there is no such barrier: their model orders the boxes
      // after the reads instead.
      if (staging.emptyBarriers)
        return staging;
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(cast<scf::ForallOp>(scope).getBody());
      staging.barrierModel =
          allocateModel<BlockBarrierCounter>(b, loc, std::nullopt);
      staging.activationAccessModel =
          allocateModel<SlotAccessField>(b, loc, staging.activationSlots);
      if (withWeights)
        staging.weightAccessModel =
            allocateModel<SlotAccessField>(b, loc, staging.weightSlots);
    }
    return staging;
  }

  /// The most rows of a TMA box.
  static constexpr int64_t kMaxBoxRows = 256;

  /// The tensor a TMA box of staged view `view` ([rows, k], 16-bit
  /// elements: W's, or with `dynamicRows` A's) comes from (Staging::TmaBox),
  /// or null where none: the view's chain of unit-stride subviews and casts
  /// reaches a tensor ([n, k] or [expert, n, k]; A's [rows, k], its row
  /// count known at run time: the identity layout, a static shape but
  /// those rows, rows a multiple of 16 bytes) whose rows the view's are,
  /// defined outside `launch` (on the GPU: the host makes its tensor map).
  static Value getBoxTensor(Value view, gpu::LaunchOp launch,
                            bool dynamicRows = false) {
    auto viewType = cast<MemRefType>(view.getType());
    Value tensor = view;
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
    auto isStatic = [&](MemRefType type) {
      if (!dynamicRows)
        return type.hasStaticShape();
      return type.getRank() == 2 && !type.isDynamicDim(1);
    };
    if (!type || (type.getRank() != 2 && type.getRank() != 3) ||
        !type.getLayout().isIdentity() || !isStatic(type) ||
        type.getElementType() != viewType.getElementType() ||
        viewType.getRank() != 2 || viewType.getElementTypeBitWidth() != 16)
      return Value();
    int64_t depth = type.getDimSize(type.getRank() - 1);
    SmallVector<int64_t> strides;
    int64_t offset;
    // The view has all of K, or a slice of it (split-k's) a whole number of
    // chunks long: TMA fills zeros past the tensor only, so the box of a
    // chunk that reached past the slice would read its neighbour's columns.
    int64_t viewDepth = viewType.getDimSize(1);
    if (depth * 2 % 16 != 0 || ShapedType::isDynamic(viewDepth) ||
        (viewDepth != depth && viewDepth % kChunkDepth != 0) ||
        failed(viewType.getStridesAndOffset(strides, offset)) ||
        strides[0] != depth || strides[1] != 1)
      return Value();
    return tensor;
  }

  /// Sets up `staging`'s TMA boxes (Staging::tmaBoxes) from `tensors`, one
  /// a weight, and A's `activationTensor` (null: A not by TMA): each view's
  /// origin in its tensor (from the view's offset), and on the GPU the
  /// tensor maps (before `launch`), the slots' mbarriers and the issuing
  /// thread (thread 0).
  void planBoxes(OpBuilder &b, Operation *at, gpu::LaunchOp launch,
                 Staging &staging, ArrayRef<Value> tensors,
                 Value activationTensor) {
    Location loc = at->getLoc();
    MLIRContext *context = b.getContext();
    auto index = [&](int64_t value) -> Value {
      return arith::ConstantIndexOp::create(b, loc, value);
    };
    auto workgroup =
        gpu::AddressSpaceAttr::get(context, gpu::AddressSpace::Workgroup);
    SmallVector<std::tuple<Value, Value, Value>, 3> boxed;
    for (auto [tensor, view, buffer] : llvm::zip_equal(
             tensors, staging.weightSources, staging.weightBuffers))
      boxed.push_back({tensor, view, buffer});
    if (activationTensor) {
      boxed.push_back({activationTensor, staging.source, staging.buffer});
      staging.activationsByTma = true;
    }
    for (auto [tensor, view, buffer] : boxed) {
      auto type = cast<MemRefType>(tensor.getType());
      int64_t rank = type.getRank();
      int64_t depth = type.getDimSize(rank - 1);
      int64_t rows = type.getDimSize(rank - 2);
      Staging::TmaBox box;
      box.tensor = tensor;
      box.buffer = buffer;
      // The view's first element: offset = (expert * rows + n) * depth + k
      // (A's: row * depth + k, its rows not a constant).
      Value offset =
          memref::ExtractStridedMetadataOp::create(b, loc, view).getOffset();
      Value row = arith::DivUIOp::create(b, loc, offset, index(depth));
      box.origin = {arith::RemUIOp::create(b, loc, offset, index(depth)),
                    ShapedType::isDynamic(rows)
                        ? row
                        : arith::RemUIOp::create(b, loc, row, index(rows))};
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
      staging.tmaBoxes.push_back(box);
    }
    // No thread writes a slot where A comes by TMA too: with
    // tma-empty-barriers, empty mbarriers order the boxes after the reads.
    bool empty = tmaEmptyBarriers && activationTensor;
    if (!launch) {
      // On the host, the models of the slots' mbarriers.
      staging.weightBarriers =
          allocateModel<BoxBarrierField>(b, loc, staging.weightSlots);
      if (empty)
        staging.emptyBarriers =
            allocateModel<EmptyBarrierField>(b, loc, staging.weightSlots);
      return;
    }
    auto groupType =
        nvgpu::MBarrierGroupType::get(context, workgroup, staging.weightSlots);
    staging.weightBarriers = nvgpu::MBarrierCreateOp::create(b, loc, groupType);
    if (empty)
      staging.emptyBarriers =
          nvgpu::MBarrierCreateOp::create(b, loc, groupType);
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
    return placeForTile(b, at, launch, llvm::map_to_vector(types, inWorkgroup),
                        kSwizzlePatternBytes);
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
  bool fitWeights(Operation *at, gpu::LaunchOp launch, MemRefType aType,
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
    // The dynamic bytes: the launch's, or this tile's end past its start
    // (dynamicSharedStart) where that is more.
    int64_t dynamicEnd = std::max<int64_t>(
        *dynamicBytes,
        llvm::alignTo(dynamicSharedStart(launch, at), 16) + bytes);
    return fitsStatic(launch, bytesOf(aType) + bytes) ||
           workgroupBytes(launch) + bytesOf(aType) + dynamicEnd <= limit;
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
        buffers = placeForTile(b, at, launch, workgroupTypes);
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
      // The model of the warp's cp.async copies into the ring.
      ring.groupModel =
          allocateModel<AsyncCopyCounter>(b, at->getLoc(), std::nullopt);
      ring.slotModel =
          allocateModel<SlotCopyField>(b, at->getLoc(), ring.stages);
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
      if (!dynamicSharedBytes(launch))
        return std::nullopt;
      int64_t offset = llvm::alignTo(dynamicSharedStart(launch, at), 16);
      ring.stages = std::min<int64_t>(
          stages, (kSharedBytesPerBlock - staticBytes - offset) / stageBytes);
      if (ring.stages < 2)
        return std::nullopt;
      ring.buffer = placeForTile(b, at, launch, {ringType()}).front();
    }
    ring.warp = arith::DivUIOp::create(
        b, loc, gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x),
        arith::ConstantIndexOp::create(b, loc, kNVIDIAWarpSize));
    return ring;
  }

  void runOnOperation() override {
    dynamicEnds.clear();
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
    if (tmaEmptyBarriers && !tmaActivations) {
      getOperation().emitError(
          "moe-gpu-warp-mma: tma-empty-barriers needs tma-activations (the "
          "block barrier a chunk can go only where no thread writes a slot)");
      return signalPassFailure();
    }
    if (ungatedWarpTileColumns < 0 || ungatedWarpTileColumns % kMmaCols != 0 ||
        ungatedWarpTileColumns > 32 * kMmaCols ||
        (ungatedWarpTileColumns > 16 * kMmaCols && !wgmma)) {
      getOperation().emitError(
          "moe-gpu-warp-mma: ungated-warp-tile-columns must be 0 or a "
          "multiple of 8 from 8 to 128, or to 256 with wgmma, not ")
          << static_cast<int64_t>(ungatedWarpTileColumns);
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
      // A tile outside a gated FFN may be wider (ungated-warp-tile-columns).
      int64_t maxColumns =
          ungatedWarpTileColumns ? ungatedWarpTileColumns : warpTileColumns;
      if (failed(WarpTileEmitter(b, op.getLoc(), emulateLanes, stage,
                                 prefetchWeights, warpTileRows, ring,
                                 maxColumns, hostWarp(op))
                     .emit(op)))
        return signalPassFailure();
      op.erase();
    }
  }
};

} // namespace

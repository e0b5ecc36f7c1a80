//===- Distribute.cpp - Work over GPU blocks and threads --------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-gpu-distribute: the GPU schedule on buffers, as
// scf.forall loops mapped to blocks and threads (see Passes.td). What stays
// on the host and the match of segment loops are HostCode.h's; a block's
// windows of columns ColumnWindows.h's.
//
//===----------------------------------------------------------------------===//

#include "ColumnWindows.h"
#include "HostCode.h"

#include "moe/Codegen/GPU/BufferAccesses.h"
#include "moe/Codegen/GPU/GatedTiles.h"
#include "moe/Codegen/GPU/Passes.h"
#include "moe/Codegen/GPU/TensorCores.h"
#include "moe/Codegen/GPU/ThreadTiles.h"
#include "moe/Dialect/MoE/IR/MoEDialect.h"
#include "moe/Transforms/FunctionPassOptions.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEGPUDISTRIBUTEPASS
#include "moe/Codegen/GPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;
using namespace mlir::moe::distribute;

namespace {

/// Whether `op` is a linalg op on buffers with a parallel loop, which
/// tiling can spread over threads or blocks.
bool isDistributableLinalg(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  return linalgOp && linalgOp.hasPureBufferSemantics() &&
         isa<TilingInterface>(op) && linalgOp.getNumParallelLoops() > 0;
}

/// Whether `op` is a segment matmul with BF16 or F16 weights whose body is
/// `acc + a * extf(w)` (with activations of the weights' type, `acc +
/// extf(a) * extf(w)`), or with F32 weights whose body is `acc + a * w`:
/// rounding an f32 `a` (and an F32 `w`) to the tensor cores' type there
/// gives what they compute.
bool isTensorCoreSegmentMatmul(Operation *op) {
  auto generic = dyn_cast<linalg::GenericOp>(op);
  if (!generic || !generic->hasAttr(kSegmentMatmulAttrName))
    return false;
  Type operandType = getTensorCoreOperandType(generic);
  if (!operandType)
    return false;
  bool widensWeights = !isa<FloatTF32Type>(operandType);
  Block &body = generic.getRegion().front();
  bool widensActivations = body.getArgument(0).getType() == operandType;
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || body.getOperations().size() != 3u + (widensWeights ? 1u : 0u) +
                                                 (widensActivations ? 1u : 0u))
    return false;
  Value acc = body.getArgument(2), product = add.getRhs();
  if (add.getRhs() == acc)
    product = add.getLhs();
  else if (add.getLhs() != acc)
    return false;
  auto mul = product.getDefiningOp<arith::MulFOp>();
  if (!mul)
    return false;
  // `argument` itself, or with `widened`, its extf.
  auto isOperand = [&](Value value, unsigned argument, bool widened) {
    if (!widened)
      return value == body.getArgument(argument);
    auto ext = value.getDefiningOp<arith::ExtFOp>();
    return ext && ext.getIn() == body.getArgument(argument);
  };
  auto isActivation = [&](Value value) {
    return isOperand(value, 0, widensActivations);
  };
  auto isWeight = [&](Value value) {
    return isOperand(value, 1, widensWeights);
  };
  return (isActivation(mul.getLhs()) && isWeight(mul.getRhs())) ||
         (isActivation(mul.getRhs()) && isWeight(mul.getLhs()));
}

/// Whether `op` is an scf.if without results whose branches write memory:
/// its condition is the same for every thread of a block, so its branches
/// are distributed in place.
bool isDistributableIf(Operation *op) {
  auto ifOp = dyn_cast<scf::IfOp>(op);
  return ifOp && ifOp.getNumResults() == 0 && writesMemory(op);
}

/// Moves the body of `from` to the end of `to`'s (before its terminator),
/// with `ivs` for `from`'s induction variables, and erases `from`.
void moveForallBody(scf::ForallOp from, scf::ForallOp to, ValueRange ivs) {
  Block *body = from.getBody();
  body->getTerminator()->erase();
  Operation *terminator = to.getBody()->getTerminator();
  for (auto [iv, replacement] : llvm::zip(from.getInductionVars(), ivs))
    iv.replaceAllUsesWith(replacement);
  to.getBody()->getOperations().splice(terminator->getIterator(),
                                       body->getOperations());
  from.erase();
}

/// `forall` with lower bounds 0 and steps 1: the upper bounds become trip
/// counts and the body recomputes each original induction variable.
scf::ForallOp normalize(scf::ForallOp forall) {
  if (forall.isNormalized())
    return forall;
  OpBuilder b(forall);
  Location loc = forall.getLoc();
  SmallVector<OpFoldResult> counts;
  for (auto [lb, ub, step] :
       llvm::zip(forall.getMixedLowerBound(), forall.getMixedUpperBound(),
                 forall.getMixedStep())) {
    Value extent = arith::SubIOp::create(
        b, loc, getValueOrCreateConstantIndexOp(b, loc, ub),
        getValueOrCreateConstantIndexOp(b, loc, lb));
    counts.push_back(
        arith::CeilDivUIOp::create(
            b, loc, extent, getValueOrCreateConstantIndexOp(b, loc, step))
            .getResult());
  }
  auto normalized =
      scf::ForallOp::create(b, loc, counts, ValueRange(), forall.getMapping());
  b.setInsertionPointToStart(normalized.getBody());
  SmallVector<Value> ivs;
  for (auto [iv, lb, step] :
       llvm::zip(normalized.getInductionVars(), forall.getMixedLowerBound(),
                 forall.getMixedStep())) {
    Value scaled = arith::MulIOp::create(
        b, loc, iv, getValueOrCreateConstantIndexOp(b, loc, step));
    ivs.push_back(arith::AddIOp::create(
        b, loc, scaled, getValueOrCreateConstantIndexOp(b, loc, lb)));
  }
  moveForallBody(forall, normalized, ivs);
  return normalized;
}

/// `forall` (normalized) as a forall over one dimension mapped to `mapping`:
/// its iterations in order with the first dimension fastest, each
/// recomputing the original induction variables. Kernels over one
/// dimension share launches (moe-gpu-merge-independent-kernels).
scf::ForallOp linearize(scf::ForallOp forall, Attribute mapping) {
  if (forall.getRank() == 1)
    return forall;
  OpBuilder b(forall);
  Location loc = forall.getLoc();
  SmallVector<Value> counts;
  Value total = arith::ConstantIndexOp::create(b, loc, 1);
  for (OpFoldResult ub : forall.getMixedUpperBound()) {
    counts.push_back(getValueOrCreateConstantIndexOp(b, loc, ub));
    total = arith::MulIOp::create(b, loc, total, counts.back());
  }
  auto line = scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{total},
                                    ValueRange(), b.getArrayAttr({mapping}));
  b.setInsertionPointToStart(line.getBody());
  Value rest = line.getInductionVar(0);
  SmallVector<Value> ivs;
  for (auto [d, count] : llvm::enumerate(counts)) {
    if (d + 1 == counts.size()) {
      ivs.push_back(rest);
      break;
    }
    ivs.push_back(arith::RemUIOp::create(b, loc, rest, count));
    rest = arith::DivUIOp::create(b, loc, rest, count);
  }
  moveForallBody(forall, line, ivs);
  return line;
}

/// Whether `value` can pass through a one-element buffer from one GPU
/// kernel, or thread, to another (`between` says which, for the message).
LogicalResult checkSpillable(Value value, StringRef between) {
  Type type = value.getType();
  if (MemRefType::isValidElementType(type) && !isa<MemRefType>(type))
    return success();
  return value.getDefiningOp()->emitError()
         << "a value of this type cannot pass between GPU " << between;
}

/// Recomputes `value`, a result of an op of `group`, before `user` (an op
/// outside the group, in the same block): an op without memory effects or
/// regions (a view, index arithmetic) is cloned from its operands, any other
/// value is read back through `reload`.
FailureOr<Value>
rematerialize(Value value, Operation *user,
              const llvm::SmallPtrSetImpl<Operation *> &group,
              llvm::function_ref<FailureOr<Value>(Value, OpBuilder &)> reload) {
  Operation *def = value.getDefiningOp();
  if (!def || !group.contains(def))
    return value;
  OpBuilder at(user);
  if (def->getNumRegions() != 0 || !isMemoryEffectFree(def))
    return reload(value, at);
  IRMapping mapping;
  for (Value operand : def->getOperands()) {
    FailureOr<Value> operandAt = rematerialize(operand, user, group, reload);
    if (failed(operandAt))
      return failure();
    mapping.map(operand, *operandAt);
  }
  return at.clone(*def, mapping)
      ->getResult(cast<OpResult>(value).getResultNumber());
}

struct MoEGPUDistributePass
    : moe::impl::MoEGPUDistributePassBase<MoEGPUDistributePass> {
  using MoEGPUDistributePassBase::MoEGPUDistributePassBase;

  void runOnOperation() override {
    // A function with options of its own for this pass (a layer's version
    // for few tokens) is lowered with those.
    FailureOr<SmallVector<Operation *>> own = runFunctionsWithOwnOptions(
        getOperation(), getArgument(),
        [] { return std::make_unique<MoEGPUDistributePass>(); },
        [&](OpPassManager &pm, Operation *function) {
          return runPipeline(pm, function);
        });
    if (failed(own))
      return signalPassFailure();
    if (!own->empty())
      return;
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    if (rowBlock < 1 || rowsPerBlock < 1 || threads < 1 || columnBlock < 0 ||
        columnGroup < 1) {
      func.emitError("moe-gpu-distribute: row-block, rows-per-block, "
                     "threads and column-group must be positive, and "
                     "column-block not negative");
      return signalPassFailure();
    }
    if (warpTileRows < kMmaRows || warpTileRows % kMmaRows != 0 ||
        warpTileRows > 4 * kMmaRows) {
      func.emitError("moe-gpu-distribute: warp-tile-rows must be 16, 32, 48 "
                     "or 64, not ")
          << static_cast<int64_t>(warpTileRows);
      return signalPassFailure();
    }
    if (warpTileColumns < kMmaCols || warpTileColumns % kMmaCols != 0 ||
        warpTileColumns > 16 * kMmaCols) {
      func.emitError("moe-gpu-distribute: warp-tile-columns must be a "
                     "multiple of 8 from 8 to 128, not ")
          << static_cast<int64_t>(warpTileColumns);
      return signalPassFailure();
    }
    if (ungatedColumnBlock < 0) {
      func.emitError("moe-gpu-distribute: ungated-column-block must not be "
                     "negative, not ")
          << static_cast<int64_t>(ungatedColumnBlock);
      return signalPassFailure();
    }
    if (ungatedWarpTileColumns < 0 || ungatedWarpTileColumns % kMmaCols != 0 ||
        ungatedWarpTileColumns > 32 * kMmaCols) {
      func.emitError("moe-gpu-distribute: ungated-warp-tile-columns must be "
                     "0 or a multiple of 8 from 8 to 256, not ")
          << static_cast<int64_t>(ungatedWarpTileColumns);
      return signalPassFailure();
    }
    if (warpRows < 1 ||
        (warpRows > 1 && (threads % (warpRows * kNVIDIAWarpSize) != 0 ||
                          rowBlock != warpRows * warpTileRows))) {
      func.emitError("moe-gpu-distribute: warp-rows must be positive, and "
                     "above 1 divide the block's warps (threads / 32) with "
                     "row-block = warp-rows x warp-tile-rows, not warp-rows=")
          << static_cast<int64_t>(warpRows)
          << " threads=" << static_cast<int64_t>(threads)
          << " row-block=" << static_cast<int64_t>(rowBlock)
          << " warp-tile-rows=" << static_cast<int64_t>(warpTileRows);
      return signalPassFailure();
    }
    if (failed(distributeFunction(func)))
      return signalPassFailure();
  }

  LogicalResult distributeFunction(func::FuncOp func);
  /// Distributes the host code `top`, in a function or a host branch
  /// (`outer`: the host values around it).
  LogicalResult distributeHostBlock(Block *top, HostValues *outer);

  /// Makes `ops` (consecutive top-level ops) the body of a one-block forall
  /// placed before `before`.
  LogicalResult runAsOneBlock(ArrayRef<Operation *> ops, Operation *before);
  LogicalResult distributeSegmentLoop(SegmentLoop &segment, Value blockStarts);
  /// Builds, for the segment loops of `top`, the first row block of each
  /// expert's segment (see buildBlockStarts), one buffer per offsets
  /// buffer; returns them by segment loop.
  DenseMap<Operation *, Value> buildBlockMaps(Block *top, HostValues &host);
  LogicalResult distributeTopLevelLinalg(Operation *op);
  /// Wraps each top-level gated group (see GatedTiles.h; a shared expert's
  /// or a dense FFN's, over all rows) in a forall over blocks of `row-block`
  /// rows, whose block runs the group on its rows: distributeBlock then
  /// fuses it like a segment's.
  LogicalResult wrapTopLevelGatedGroups(Block *top);
  /// Runs `group`, inside a block, as one loop nest: the block's workers
  /// (warps on tensor cores, threads otherwise) split the columns, and walk
  /// theirs in tiles (32 x 32 warp tiles on tensor cores, the block's rows x 1
  /// otherwise); a tile runs the fills, both matmuls and the epilogue on a
  /// worker's tile of scratch, so no [rows, N] gate or up is written.
  LogicalResult fuseGatedGroup(GatedGroup group);

  /// Distributes the body of block forall `forall` over threads.
  LogicalResult distributeBlock(scf::ForallOp forall);
  LogicalResult distributeOps(Block *block, scf::ForallOp forall,
                              Value linearBlock);
  LogicalResult runOnThreadZero(ArrayRef<Operation *> ops, scf::ForallOp forall,
                                Value linearBlock);
  LogicalResult tileOverThreads(Operation *op);
  /// Runs the reductions a thread forall holds with register accumulators
  /// (accumulateInRegisters), where they allow it.
  void accumulateTileInRegisters(scf::ForallOp forall);
  /// The columns a block takes: ungated-column-block (where set) for a
  /// tensor-core matmul outside a gated FFN, column-block otherwise.
  int64_t columnBlockFor(bool ungatedTensorCoreMatmul) const {
    return ungatedTensorCoreMatmul && ungatedColumnBlock > 0
               ? ungatedColumnBlock
               : columnBlock;
  }
  /// columnBlockFor the matmuls of a segment's `body`: ungated where a
  /// tensor-core matmul is there and no gated FFN (the gate and up of one
  /// match matchGatedGroup, as fuseGatedGroup and moe-gpu-warp-mma do).
  int64_t columnBlockOf(Block *body) {
    if (ungatedColumnBlock == 0)
      return columnBlock;
    bool tensorCoreMatmul = false, gated = false;
    body->walk([&](linalg::GenericOp op) {
      tensorCoreMatmul |= usesTensorCores(op);
      gated |= matchGatedGroup(op).has_value();
    });
    return columnBlockFor(tensorCoreMatmul && !gated);
  }
  /// The columns of a warp tile of a tensor-core matmul outside a gated FFN.
  int64_t ungatedTileColumns() const {
    return ungatedWarpTileColumns ? ungatedWarpTileColumns : warpTileColumns;
  }
  /// Whether `op` runs on tensor cores.
  bool usesTensorCores(Operation *op) {
    if (!tensorCores || threads % kNVIDIAWarpSize != 0 ||
        !isTensorCoreSegmentMatmul(op))
      return false;
    return tf32 || !isa<FloatTF32Type>(
                       getTensorCoreOperandType(cast<linalg::LinalgOp>(op)));
  }
  /// Rounds the operands of `op` (isTensorCoreSegmentMatmul) to the tensor
  /// cores' type and tiles it over the block's warps, then into
  /// moe.warp_mma tiles.
  LogicalResult tileOverWarps(linalg::GenericOp op);
  /// The same over a grid of `warp-rows` rows of warps (see Passes.td),
  /// `op`'s `rows` fitting it (fitsWarpGrid).
  LogicalResult tileOverWarpGrid(linalg::GenericOp op, Value rows);
  /// Whether a block's `rows` fit a grid of warp rows, one warp tile each:
  /// `warp-rows` is above 1 and they are at most row-block. (A block of
  /// more, a segment's whole rows where its loop over experts folded away,
  /// keeps its warps on all of its rows.)
  bool fitsWarpGrid(Value rows) {
    if (warpRows < 2)
      return false;
    FailureOr<int64_t> most = constantUpperBound(rows);
    return succeeded(most) && *most <= warpRows * warpTileRows;
  }
  /// The rows of a block of `rows` that warp `warp` of a grid of
  /// `warp-rows` rows of warps (consecutive warps along the columns) takes:
  /// one warp tile, [row, row + count), none past the block's last row; as
  /// affine ops, whose bounds moe-gpu-warp-mma's checks see.
  std::pair<Value, Value> warpGridRows(OpBuilder &b, Location loc, Value warp,
                                       Value rows);
  /// Rounds the operands of `op` (isTensorCoreSegmentMatmul) to the tensor
  /// cores' type, as mma.sync takes them, and marks it moe.warp_mma.
  void roundForTensorCores(linalg::GenericOp op);

  /// A top-level buffer of `elementType` with one [shape] slice per block of
  /// `forall` (the first dimension), allocated before `forall`.
  Value allocateGridBuffer(scf::ForallOp forall, ArrayRef<int64_t> shape,
                           Type elementType);

  Attribute threadX() {
    return gpu::GPUThreadMappingAttr::get(&getContext(), gpu::MappingId::DimX);
  }
  Attribute warpX() {
    return gpu::GPUWarpMappingAttr::get(&getContext(), gpu::MappingId::DimX);
  }
  Attribute block(int64_t dim) {
    return gpu::GPUBlockMappingAttr::get(
        &getContext(), static_cast<gpu::MappingId>(
                           static_cast<int64_t>(gpu::MappingId::DimX) + dim));
  }
};

LogicalResult MoEGPUDistributePass::distributeFunction(func::FuncOp func) {
  // Copies spread over threads like any linalg op.
  SmallVector<memref::CopyOp> copies;
  func.walk([&](memref::CopyOp copy) { copies.push_back(copy); });
  for (memref::CopyOp copy : copies) {
    OpBuilder b(copy);
    linalg::CopyOp::create(b, copy.getLoc(), copy.getSource(),
                           copy.getTarget());
    copy.erase();
  }
  return distributeHostBlock(&func.getBody().front(), /*outer=*/nullptr);
}

LogicalResult MoEGPUDistributePass::distributeHostBlock(Block *top,
                                                        HostValues *outer) {
  dropZeroSizeGuards(top);
  if (failed(wrapTopLevelGatedGroups(top)))
    return failure();
  HostValues host(top, outer);
  DenseMap<Operation *, Value> blockMaps = buildBlockMaps(top, host);
  // Whether `op` or an op nested in it uses a result of an op in `set`.
  auto usesAny = [](Operation *op,
                    const llvm::SmallPtrSetImpl<Operation *> &set) {
    bool found = false;
    op->walk([&](Operation *nested) {
      for (Value operand : nested->getOperands())
        if (Operation *def = operand.getDefiningOp())
          if (set.contains(def))
            found = true;
    });
    return found;
  };
  auto allOnHost = [&](ArrayRef<OpFoldResult> values) {
    return llvm::all_of(values, [&](OpFoldResult value) {
      auto dynamic = dyn_cast<Value>(value);
      return !dynamic || host.contains(dynamic);
    });
  };
  // A kernel of its own: an op whose grid the host can size.
  auto isKernel = [&](Operation *op) -> bool {
    if (auto forall = dyn_cast<scf::ForallOp>(op))
      return !forall.getMapping() && forall.getNumResults() == 0 &&
             allOnHost(forall.getMixedLowerBound()) &&
             allOnHost(forall.getMixedUpperBound()) &&
             allOnHost(forall.getMixedStep());
    if (auto loop = dyn_cast<scf::ForOp>(op))
      return matchSegmentLoop(loop, host).has_value();
    if (isDistributableLinalg(op) &&
        cast<linalg::LinalgOp>(op).getIteratorTypesArray().front() ==
            utils::IteratorType::parallel)
      return llvm::all_of(op->getOperands(),
                          [&](Value v) { return host.contains(v); });
    return false;
  };
  // Host work that orders the device's: calls, branches between them, and
  // freeing buffers.
  auto isHostBoundary = [&](Operation *op) {
    return isa<func::CallOp, memref::DeallocOp>(op) || isHostBranch(op, host);
  };

  Operation *terminator = top->getTerminator();
  for (Operation *op = &top->front(); op != terminator;) {
    if (isHostBranch(op, host)) {
      for (Region &branch : op->getRegions())
        if (!branch.empty() &&
            failed(distributeHostBlock(&branch.front(), &host)))
          return failure();
      op = op->getNextNode();
      continue;
    }
    if (host.computesOnHost(op) || isHostBoundary(op)) {
      op = op->getNextNode();
      continue;
    }
    if (isKernel(op)) {
      Operation *next = op->getNextNode();
      if (auto forall = dyn_cast<scf::ForallOp>(op)) {
        SmallVector<Attribute> mapping;
        for (int64_t d = 0, e = forall.getRank(); d < e; ++d)
          mapping.push_back(block(e - 1 - d));
        if (forall.getRank() > 3)
          return forall.emitError("a forall of more than 3 dimensions has "
                                  "no GPU grid");
        forall.setMappingAttr(ArrayAttr::get(&getContext(), mapping));
        if (failed(distributeBlock(normalize(forall))))
          return failure();
      } else if (auto loop = dyn_cast<scf::ForOp>(op)) {
        std::optional<SegmentLoop> segment = matchSegmentLoop(loop, host);
        if (failed(distributeSegmentLoop(*segment, blockMaps.lookup(loop))))
          return failure();
      } else if (failed(distributeTopLevelLinalg(op))) {
        return failure();
      }
      op = next;
      continue;
    }
    // A run of serial work: this op, the ops after it up to the next
    // kernel or host boundary, and every later op using their results but
    // a forall kernel, whose body reads them back (its grid the host sizes).
    SmallVector<Operation *> run{op};
    llvm::SmallPtrSet<Operation *, 16> runSet{op};
    Operation *next = op->getNextNode();
    for (; next != terminator; next = next->getNextNode()) {
      bool depends = usesAny(next, runSet);
      if (!depends && host.computesOnHost(next))
        continue;
      if ((!depends || isa<scf::ForallOp>(next)) && isKernel(next))
        break;
      if (!depends && isHostBoundary(next))
        break;
      if (depends && isHostBoundary(next))
        return next->emitError(
            "the host needs a value computed on the GPU here");
      run.push_back(next);
      runSet.insert(next);
    }
    // Values later kernels use: a pure op (a view) is recomputed before its
    // later user, from its operands; any other value passes through a
    // one-element buffer, which the run stores and a load before the later
    // user reads (the load then joins that user's kernel).
    SmallVector<Operation *> stores;
    DenseMap<Value, Value> spills;
    auto reload = [&](Value value, OpBuilder &at) -> FailureOr<Value> {
      Operation *def = value.getDefiningOp();
      if (failed(checkSpillable(value, "kernels")))
        return failure();
      Value &spill = spills[value];
      if (!spill) {
        OpBuilder b(&top->front());
        spill = memref::AllocOp::create(b, def->getLoc(),
                                        MemRefType::get({1}, value.getType()));
        b.setInsertionPointAfter(def);
        Value zero = arith::ConstantIndexOp::create(b, def->getLoc(), 0);
        stores.push_back(zero.getDefiningOp());
        stores.push_back(memref::StoreOp::create(b, def->getLoc(), value, spill,
                                                 ValueRange{zero}));
      }
      Location loc = at.getInsertionPoint()->getLoc();
      Value index = arith::ConstantIndexOp::create(at, loc, 0);
      return memref::LoadOp::create(at, loc, spill, ValueRange{index})
          .getResult();
    };
    for (Operation *runOp : run)
      for (Value result : runOp->getResults())
        for (OpOperand &use : llvm::make_early_inc_range(result.getUses())) {
          Operation *ancestor = top->findAncestorOpInBlock(*use.getOwner());
          if (!ancestor || runSet.contains(ancestor))
            continue;
          if (isHostBoundary(ancestor))
            return use.getOwner()->emitError(
                "the host needs a value computed on the GPU here");
          // A forall kernel reads the value in its body, on the device.
          Operation *at = ancestor;
          if (auto kernel = dyn_cast<scf::ForallOp>(ancestor);
              kernel && isKernel(kernel))
            at = &kernel.getBody()->front();
          FailureOr<Value> materialized =
              rematerialize(result, at, runSet, reload);
          if (failed(materialized))
            return failure();
          use.set(*materialized);
        }
    // The stores go into the run, in the order of the ops they follow.
    SmallVector<Operation *> ordered;
    for (Operation &candidate : *top)
      if (runSet.contains(&candidate) || llvm::is_contained(stores, &candidate))
        ordered.push_back(&candidate);
    if (failed(runAsOneBlock(ordered, next)))
      return failure();
    op = next;
  }
  return success();
}

LogicalResult MoEGPUDistributePass::runAsOneBlock(ArrayRef<Operation *> ops,
                                                  Operation *before) {
  OpBuilder b(before);
  Location loc = ops.front()->getLoc();
  auto forall =
      scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(1)},
                            ValueRange(), b.getArrayAttr({block(0)}));
  Operation *terminator = forall.getBody()->getTerminator();
  for (Operation *op : ops)
    op->moveBefore(terminator);
  return distributeBlock(forall);
}

/// Stores into `blockStarts` ([E + 1] i32) the first row block of each
/// expert's segment, when every segment is split into blocks of `rowBlock`
/// rows: blockStarts[e] = sum over e' < e of ceil(size(e') / rowBlock), and
/// blockStarts[E] the number of blocks. One serial loop over the experts.
void buildBlockStarts(OpBuilder &b, Location loc, Value offsets,
                      int64_t numExperts, int64_t rowBlock, Value blockStarts) {
  Type i32 = b.getI32Type();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value experts = arith::ConstantIndexOp::create(b, loc, numExperts);
  Value noBlocks = arith::ConstantIntOp::create(b, loc, i32, 0);
  Value blockRows = arith::ConstantIntOp::create(b, loc, i32, rowBlock);
  auto loop = scf::ForOp::create(
      b, loc, zero, experts, one, ValueRange{noBlocks},
      [&](OpBuilder &nb, Location nloc, Value e, ValueRange first) {
        memref::StoreOp::create(nb, nloc, first[0], blockStarts, e);
        Value begin = memref::LoadOp::create(nb, nloc, offsets, e);
        Value next = arith::AddIOp::create(nb, nloc, e, one);
        Value end = memref::LoadOp::create(nb, nloc, offsets, next);
        Value size = arith::SubIOp::create(nb, nloc, end, begin);
        Value blocks = arith::CeilDivUIOp::create(nb, nloc, size, blockRows);
        scf::YieldOp::create(
            nb, nloc,
            arith::AddIOp::create(nb, nloc, first[0], blocks).getResult());
      });
  memref::StoreOp::create(b, loc, loop.getResult(0), blockStarts, experts);
}

/// The expert whose row blocks include block `linear`: the last e in
/// [0, E) with blockStarts[e] <= linear (a binary search; blockStarts[0] is
/// 0). Past the last block, that is the last expert with rows, or E - 1.
Value findBlockExpert(OpBuilder &b, Location loc, Value blockStarts,
                      int64_t numExperts, Value linear) {
  Type index = b.getIndexType();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value experts = arith::ConstantIndexOp::create(b, loc, numExperts);
  // Invariant: blockStarts[lo] <= linear, and hi is E or blockStarts[hi] >
  // linear.
  auto search = scf::WhileOp::create(
      b, loc, TypeRange{index, index}, ValueRange{zero, experts},
      [&](OpBuilder &nb, Location nloc, ValueRange bounds) {
        Value next = arith::AddIOp::create(nb, nloc, bounds[0], one);
        Value more = arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::ult,
                                           next, bounds[1]);
        scf::ConditionOp::create(nb, nloc, more, bounds);
      },
      [&](OpBuilder &nb, Location nloc, ValueRange bounds) {
        Value two = arith::ConstantIndexOp::create(nb, nloc, 2);
        Value mid = arith::DivUIOp::create(
            nb, nloc, arith::AddIOp::create(nb, nloc, bounds[0], bounds[1]),
            two);
        Value first = arith::IndexCastOp::create(
            nb, nloc, index,
            memref::LoadOp::create(nb, nloc, blockStarts, mid));
        Value atOrBefore = arith::CmpIOp::create(
            nb, nloc, arith::CmpIPredicate::ule, first, linear);
        scf::YieldOp::create(
            nb, nloc,
            ValueRange{
                arith::SelectOp::create(nb, nloc, atOrBefore, mid, bounds[0]),
                arith::SelectOp::create(nb, nloc, atOrBefore, bounds[1], mid)});
      });
  return search.getResult(0);
}

DenseMap<Operation *, Value>
MoEGPUDistributePass::buildBlockMaps(Block *top, HostValues &host) {
  DenseMap<Operation *, Value> maps;
  DenseMap<Value, Value> byOffsets;
  for (auto loop : llvm::make_early_inc_range(top->getOps<scf::ForOp>())) {
    std::optional<SegmentLoop> segment = matchSegmentLoop(loop, host);
    if (!segment || !segment->offsets || !segment->numExperts ||
        *segment->numExperts < 1 ||
        cast<MemRefType>(segment->offsets.getType()).getRank() != 1)
      continue;
    Value &blockStarts = byOffsets[segment->offsets];
    if (!blockStarts) {
      // Built where the offsets are complete: after the last op before the
      // loop that writes them (the dispatch's serial run, which this loop
      // then joins), or right before the loop.
      Operation *after = nullptr;
      for (Operation *op = loop->getPrevNode(); op && !after;
           op = op->getPrevNode())
        if (!host.computesOnHost(op) &&
            BufferAccesses::of(op).mayWrite(segment->offsets))
          after = op;
      Location loc = loop.getLoc();
      OpBuilder b(&top->front());
      blockStarts = memref::AllocOp::create(
          b, loc, MemRefType::get({*segment->numExperts + 1}, b.getI32Type()));
      if (after)
        b.setInsertionPointAfter(after);
      else
        b.setInsertionPoint(loop);
      buildBlockStarts(b, loc, segment->offsets, *segment->numExperts, rowBlock,
                       blockStarts);
    }
    maps[loop] = blockStarts;
  }
  return maps;
}

LogicalResult MoEGPUDistributePass::distributeSegmentLoop(SegmentLoop &segment,
                                                          Value blockStarts) {
  scf::ForOp loop = segment.loop;
  OpBuilder b(loop);
  // The kernel's name says what it is (moe-gpu-merge-kernel-modules).
  Location loc =
      NameLoc::get(b.getStringAttr(kGroupedMatmulKernelName), loop.getLoc());
  Value rowBlockSize = arith::ConstantIndexOp::create(b, loc, rowBlock);
  Value maxRows = memref::DimOp::create(b, loc, segment.rowSource, 0);
  Value rowBlocks = arith::CeilDivUIOp::create(b, loc, maxRows, rowBlockSize);
  IRMapping mapping;
  scf::ForallOp forall;
  Value expert, rowBlockIndex, columnIndex;
  // The columns split over blocks too, `column-block` a block, where the
  // segment's work allows: a few rows (decode) then still spread over the
  // GPU, where a block per row block would leave it nearly idle.
  std::optional<int64_t> columns;
  Block *segmentBody = &segment.body.getThenRegion().front();
  int64_t blockColumns = columnBlockOf(segmentBody);
  if (blockStarts && blockColumns > 0)
    columns = sharedColumnCount(segmentBody);
  int64_t columnBlocks = columns ? llvm::divideCeil(*columns, blockColumns) : 1;
  if (blockStarts) {
    // One block per row block of a segment: the segments' blocks together
    // number at most ceil(R / B) + E, and each block finds its expert in
    // the block map. No grid dimension runs over all the experts. With
    // column blocks, the row blocks of one column block are consecutive:
    // they read the same weight columns.
    Value experts = arith::ConstantIndexOp::create(b, loc, *segment.numExperts);
    Value rowSlots = arith::AddIOp::create(b, loc, rowBlocks, experts);
    Value blocks = rowSlots;
    if (columnBlocks > 1)
      blocks = arith::MulIOp::create(
          b, loc, rowSlots,
          arith::ConstantIndexOp::create(b, loc, columnBlocks));
    forall = scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{blocks},
                                   ValueRange(), b.getArrayAttr({block(0)}));
    b.setInsertionPoint(forall.getBody()->getTerminator());
    Value linear = forall.getInductionVar(0);
    if (columnBlocks > 1)
      std::tie(columnIndex, linear) = columnBlockAndSlot(
          b, loc, linear, rowSlots, columnBlocks, columnGroup);
    expert = findBlockExpert(b, loc, blockStarts, *segment.numExperts, linear);
    Value first = arith::IndexCastOp::create(
        b, loc, b.getIndexType(),
        memref::LoadOp::create(b, loc, blockStarts, expert));
    rowBlockIndex = arith::SubIOp::create(b, loc, linear, first);
  } else {
    // A block per (expert, row block of the largest segment possible).
    forall = scf::ForallOp::create(
        b, loc,
        ArrayRef<OpFoldResult>{loop.getUpperBound(), OpFoldResult(rowBlocks)},
        ValueRange(), b.getArrayAttr({block(1), block(0)}));
    b.setInsertionPoint(forall.getBody()->getTerminator());
    expert = forall.getInductionVar(0);
    rowBlockIndex = forall.getInductionVar(1);
  }
  mapping.map(loop.getInductionVar(), expert);
  for (Operation &op : loop.getBody()->without_terminator()) {
    if (&op == segment.body)
      break;
    b.clone(op, mapping);
  }
  // The block's rows: [start + r * B, start + min(size, (r + 1) * B)).
  Value skipped = arith::MulIOp::create(b, loc, rowBlockIndex, rowBlockSize);
  Value start = arith::AddIOp::create(
      b, loc, mapping.lookupOrDefault(segment.start), skipped);
  Value left = arith::SubIOp::create(
      b, loc, mapping.lookupOrDefault(segment.size), skipped);
  Value size = arith::MinSIOp::create(b, loc, left, rowBlockSize);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value any =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, size, zero);
  mapping.map(segment.start, start);
  mapping.map(segment.size, size);
  mapping.map(segment.body.getCondition(), any);
  auto body = cast<scf::IfOp>(b.clone(*segment.body, mapping));
  loop.erase();
  if (columnBlocks > 1) {
    b.setInsertionPoint(body);
    Value first = arith::MulIOp::create(
        b, loc, columnIndex,
        arith::ConstantIndexOp::create(b, loc, blockColumns));
    Value count = columnWindowSize(b, loc, first, *columns, blockColumns);
    if (failed(restrictToColumns(&body.getThenRegion().front(), first, count)))
      return failure();
  }
  return distributeBlock(forall);
}

LogicalResult MoEGPUDistributePass::distributeTopLevelLinalg(Operation *op) {
  auto linalgOp = cast<linalg::LinalgOp>(op);
  IRRewriter rewriter(op);
  SmallVector<OpFoldResult> tileSizes(linalgOp.getNumLoops(),
                                      rewriter.getIndexAttr(0));
  // A row reduction (a norm) spreads its rows over the threads: a block
  // takes one row a thread. Other ops spread their columns.
  // A dense matmul on tensor cores takes a segment's row block: its warp
  // tiles are 16 rows high.
  int64_t rows =
      linalgOp.getNumParallelLoops() == 1 ? threads.getValue() : rowsPerBlock;
  if (usesTensorCores(op))
    rows = rowBlock;
  tileSizes.front() = rewriter.getIndexAttr(rows);
  SmallVector<Attribute> mapping = {block(0)};
  // A linear node or shared expert (a grouped matmul of one segment) splits
  // its columns over blocks too, as a segment's (see distributeSegmentLoop).
  bool isSegmentMatmul = op->hasAttr(kSegmentMatmulAttrName);
  // (Top-level gated FFNs were wrapped in foralls of their own before:
  // a top-level tensor-core matmul here is outside one.)
  int64_t blockColumns = columnBlockFor(usesTensorCores(op));
  if (isSegmentMatmul && blockColumns > 0 && linalgOp.getNumLoops() == 3) {
    int64_t columns =
        cast<MemRefType>(linalgOp.getDpsInits()[0].getType()).getDimSize(1);
    if (!ShapedType::isDynamic(columns) && columns > blockColumns) {
      tileSizes[1] = rewriter.getIndexAttr(blockColumns);
      mapping.push_back(block(1));
    }
  }
  scf::SCFTilingOptions options;
  options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp)
      .setTileSizes(tileSizes)
      .setMapping(mapping);
  FailureOr<scf::SCFTilingResult> tiled =
      scf::tileUsingSCF(rewriter, cast<TilingInterface>(op), options);
  if (failed(tiled))
    return op->emitError("cannot tile this op into GPU blocks");
  rewriter.eraseOp(op);
  scf::ForallOp forall =
      linearize(normalize(cast<scf::ForallOp>(tiled->loops.front())), block(0));
  if (isSegmentMatmul)
    forall->setLoc(NameLoc::get(
        rewriter.getStringAttr(kGroupedMatmulKernelName), forall.getLoc()));
  return distributeBlock(forall);
}

Value MoEGPUDistributePass::allocateGridBuffer(scf::ForallOp forall,
                                               ArrayRef<int64_t> shape,
                                               Type elementType) {
  OpBuilder b(forall);
  Location loc = forall.getLoc();
  Value blocks = arith::ConstantIndexOp::create(b, loc, 1);
  for (OpFoldResult ub : forall.getMixedUpperBound())
    blocks = arith::MulIOp::create(b, loc, blocks,
                                   getValueOrCreateConstantIndexOp(b, loc, ub));
  SmallVector<int64_t> gridShape{ShapedType::kDynamic};
  llvm::append_range(gridShape, shape);
  return memref::AllocOp::create(
      b, loc, MemRefType::get(gridShape, elementType), ValueRange{blocks});
}

LogicalResult MoEGPUDistributePass::wrapTopLevelGatedGroups(Block *top) {
  SmallVector<GatedGroup> groups;
  for (auto epilogue : top->getOps<linalg::GenericOp>())
    if (std::optional<GatedGroup> group = matchGatedGroup(epilogue))
      groups.push_back(*group);
  for (GatedGroup &group : groups) {
    OpBuilder b(group.epilogue);
    // The kernel's name says what it is (moe-gpu-merge-kernel-modules).
    Location loc = NameLoc::get(b.getStringAttr(kGroupedMatmulKernelName),
                                group.epilogue.getLoc());
    SmallVector<Range> domain =
        cast<TilingInterface>(group.epilogue.getOperation())
            .getIterationDomain(b);
    Value rows = getValueOrCreateConstantIndexOp(b, loc, domain[0].size);
    Value blockRows = arith::ConstantIndexOp::create(b, loc, rowBlock);
    Value rowBlocks = arith::CeilDivUIOp::create(b, loc, rows, blockRows);
    // Blocks of columns too (see distributeSegmentLoop), the row blocks of
    // one column block consecutive.
    std::optional<int64_t> columns = getConstantIntValue(domain[1].size);
    int64_t columnBlocks = columns && columnBlock > 0
                               ? llvm::divideCeil(*columns, columnBlock)
                               : 1;
    Value blocks = rowBlocks;
    if (columnBlocks > 1)
      blocks = arith::MulIOp::create(
          b, loc, rowBlocks,
          arith::ConstantIndexOp::create(b, loc, columnBlocks));
    auto forall = scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{blocks},
                                        ValueRange(), std::nullopt);
    b.setInsertionPoint(forall.getBody()->getTerminator());
    Value linear = forall.getInductionVar(0);
    Value rowBlockIndex = linear;
    OpFoldResult columnFirst = b.getIndexAttr(0), columnCount = domain[1].size;
    if (columnBlocks > 1) {
      Value columnIndex;
      std::tie(columnIndex, rowBlockIndex) = columnBlockAndSlot(
          b, loc, linear, rowBlocks, columnBlocks, columnGroup);
      Value first = arith::MulIOp::create(
          b, loc, columnIndex,
          arith::ConstantIndexOp::create(b, loc, columnBlock));
      columnFirst = first;
      columnCount = columnWindowSize(b, loc, first, *columns, columnBlock);
    }
    Value first = arith::MulIOp::create(b, loc, rowBlockIndex, blockRows);
    Value count = arith::MinUIOp::create(
        b, loc, blockRows, arith::SubIOp::create(b, loc, rows, first));
    // One view of an accumulator's window for its three users: the group
    // still matches inside the block.
    auto blockWindowOf = [&](Value acc) -> Value {
      OpFoldResult one = b.getIndexAttr(1);
      return memref::SubViewOp::create(
          b, loc, acc, ArrayRef<OpFoldResult>{first, columnFirst},
          ArrayRef<OpFoldResult>{count, columnCount},
          ArrayRef<OpFoldResult>{one, one});
    };
    SmallVector<Value, 2> accs = {group.gateAcc, group.upAcc};
    SmallVector<Value, 2> views = {blockWindowOf(group.gateAcc),
                                   blockWindowOf(group.upAcc)};
    for (Operation *op : group.ops())
      if (failed(tileWithOperands(b, op, {first, columnFirst},
                                  {count, columnCount}, accs, views)))
        return failure();
    for (Operation *op : group.ops())
      op->erase();
  }
  return success();
}

/// Worker `worker` of `workers`' share of `columns`: [first, first +
/// count), ceil(columns / workers) each (none for the last workers of a
/// ragged split).
static std::pair<Value, Value> columnShare(OpBuilder &b, Location loc,
                                           Value worker, int64_t workers,
                                           Value columns) {
  Value perWorker = arith::CeilDivUIOp::create(
      b, loc, columns, arith::ConstantIndexOp::create(b, loc, workers));
  Value first = arith::MinUIOp::create(
      b, loc, arith::MulIOp::create(b, loc, worker, perWorker), columns);
  Value count = arith::MinUIOp::create(
      b, loc, perWorker, arith::SubIOp::create(b, loc, columns, first));
  return {first, count};
}

/// min(tile, end - at) as affine.min, which bounds analyses see through.
static Value tileSize(OpBuilder &b, Location loc, int64_t tile, Value at,
                      Value end) {
  AffineExpr d0 = b.getAffineDimExpr(0), s0 = b.getAffineSymbolExpr(0);
  return affine::AffineMinOp::create(
      b, loc,
      AffineMap::get(1, 1, {s0 - d0, b.getAffineConstantExpr(tile)},
                     b.getContext()),
      ValueRange{at, end});
}

/// A warp's `count` of `columns` split over `workers` warps, when every
/// warp's share fits one warp tile: as an affine.min, whose bound
/// moe-gpu-warp-mma's shape check sees (the warp then takes its columns
/// with no loop, even none, and reaches its tile). Null otherwise.
static Value columnsInOneWarpTile(OpBuilder &b, Location loc, Value columns,
                                  int64_t workers, Value count,
                                  int64_t tileColumns) {
  FailureOr<int64_t> mostColumns = constantUpperBound(columns);
  if (failed(mostColumns) ||
      static_cast<int64_t>(llvm::divideCeil(*mostColumns, workers)) >
          tileColumns)
    return Value();
  return tileSize(b, loc, tileColumns,
                  arith::ConstantIndexOp::create(b, loc, 0), count);
}

std::pair<Value, Value> MoEGPUDistributePass::warpGridRows(OpBuilder &b,
                                                           Location loc,
                                                           Value warp,
                                                           Value rows) {
  int64_t columnWarps = threads / kNVIDIAWarpSize / warpRows;
  AffineExpr w = b.getAffineDimExpr(0), s0 = b.getAffineSymbolExpr(0);
  Value row = affine::AffineMinOp::create(
      b, loc,
      AffineMap::get(1, 1, {w.floorDiv(columnWarps) * warpTileRows, s0},
                     b.getContext()),
      ValueRange{warp, rows});
  return {row, tileSize(b, loc, warpTileRows, row, rows)};
}

LogicalResult MoEGPUDistributePass::fuseGatedGroup(GatedGroup group) {
  bool onTensorCores = usesTensorCores(group.gate) && usesTensorCores(group.up);
  int64_t warps = threads / kNVIDIAWarpSize;
  int64_t tileRows = onTensorCores ? warpTileRows : rowBlock;
  int64_t tileColumns = onTensorCores ? int64_t(warpTileColumns) : 1;
  if (onTensorCores) {
    roundForTensorCores(group.gate);
    roundForTensorCores(group.up);
  }
  OpBuilder b(group.epilogue);
  Location loc = group.epilogue.getLoc();
  auto constant = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };
  // A worker's tile of gate and up lives in memory of its own: allocas in
  // the worker forall's body, an automatic allocation scope
  // (moe-gpu-hoist-private-scratch then moves them to the kernel's entry,
  // each thread's). On tensor cores moe-gpu-warp-mma keeps the tiles in
  // registers instead, and the allocas go. A buffer per block would grow
  // with the grid, which column blocks make large.
  auto scratchType = MemRefType::get(
      {tileRows, tileColumns}, getElementTypeOrSelf(group.gateAcc.getType()));
  SmallVector<Range> domain =
      cast<TilingInterface>(group.epilogue.getOperation())
          .getIterationDomain(b);
  Value rows = getValueOrCreateConstantIndexOp(b, loc, domain[0].size);
  Value columns = getValueOrCreateConstantIndexOp(b, loc, domain[1].size);
  // On a grid of warp rows, each row of warps splits the columns.
  bool onGrid = onTensorCores && fitsWarpGrid(rows);
  int64_t workers = onTensorCores ? warps / (onGrid ? warpRows : 1) : threads;
  auto forall = scf::ForallOp::create(
      b, loc,
      ArrayRef<OpFoldResult>{b.getIndexAttr(onTensorCores ? warps : threads)},
      ValueRange(), b.getArrayAttr({onTensorCores ? warpX() : threadX()}));
  b.setInsertionPoint(forall.getBody()->getTerminator());
  Value gateScratch = memref::AllocaOp::create(b, loc, scratchType);
  Value upScratch = memref::AllocaOp::create(b, loc, scratchType);
  Value warpOrThread = forall.getInductionVar(0);
  Value worker =
      onGrid ? arith::RemUIOp::create(b, loc, warpOrThread, constant(workers))
             : warpOrThread;
  auto [first, count] = columnShare(b, loc, worker, workers, columns);
  // A warp of a grid takes one tile of rows; otherwise a worker walks all
  // of the block's rows in tiles.
  Value row, rowCount;
  if (onGrid) {
    std::tie(row, rowCount) = warpGridRows(b, loc, warpOrThread, rows);
  } else {
    auto rowLoop =
        scf::ForOp::create(b, loc, constant(0), rows, constant(tileRows));
    b.setInsertionPointToStart(rowLoop.getBody());
    row = rowLoop.getInductionVar();
    rowCount = tileSize(b, loc, tileRows, row, rows);
  }
  // A warp whose columns fit one tile takes them without a loop, even none
  // (a ragged window's last warps): every warp of the block then reaches
  // its tile, where moe-gpu-warp-mma may place block-wide barriers.
  Value column = first;
  Value columnCount =
      onTensorCores
          ? columnsInOneWarpTile(b, loc, columns, workers, count, tileColumns)
          : Value();
  if (!columnCount) {
    auto columnLoop =
        scf::ForOp::create(b, loc, constant(0), count, constant(tileColumns));
    b.setInsertionPointToStart(columnLoop.getBody());
    Value step = columnLoop.getInductionVar();
    column = arith::AddIOp::create(b, loc, first, step);
    columnCount = tileSize(b, loc, tileColumns, step, count);
  }
  auto scratchTile = [&](Value scratch) -> Value {
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    return memref::SubViewOp::create(
        b, loc, scratch, ArrayRef<OpFoldResult>{zero, zero},
        ArrayRef<OpFoldResult>{rowCount, columnCount},
        ArrayRef<OpFoldResult>{one, one});
  };
  SmallVector<Value, 2> accs = {group.gateAcc, group.upAcc};
  SmallVector<Value, 2> tiles = {scratchTile(gateScratch),
                                 scratchTile(upScratch)};
  for (Operation *op : group.ops())
    if (failed(tileWithOperands(b, op, {row, column}, {rowCount, columnCount},
                                accs, tiles)))
      return failure();
  for (Operation *op : group.ops())
    op->erase();
  eraseUnusedBuffer(group.gateAcc);
  eraseUnusedBuffer(group.upAcc);
  return success();
}

LogicalResult MoEGPUDistributePass::distributeBlock(scf::ForallOp forall) {
  Block *body = forall.getBody();
  // Gate, up and the activation of a gated FFN as one loop nest, before
  // the block's buffers are placed: the [rows, N] gate and up go.
  SmallVector<GatedGroup> groups;
  body->walk([&](linalg::GenericOp op) {
    if (std::optional<GatedGroup> group = matchGatedGroup(op))
      groups.push_back(*group);
  });
  for (GatedGroup &group : groups)
    if (failed(fuseGatedGroup(group)))
      return failure();
  OpBuilder b(body, body->begin());
  Location loc = forall.getLoc();
  // The block's place in the grid, row-major over the forall's dimensions.
  Value linear = arith::ConstantIndexOp::create(b, loc, 0);
  for (auto [iv, ub] :
       llvm::zip(forall.getInductionVars(), forall.getMixedUpperBound())) {
    linear = arith::MulIOp::create(b, loc, linear,
                                   getValueOrCreateConstantIndexOp(b, loc, ub));
    linear = arith::AddIOp::create(b, loc, linear, iv);
  }
  // The block's buffers: its slice of one buffer for the grid, as large as
  // their shape can be.
  SmallVector<memref::AllocOp> allocs;
  body->walk([&](memref::AllocOp alloc) { allocs.push_back(alloc); });
  for (memref::AllocOp alloc : allocs) {
    MemRefType type = alloc.getType();
    if (!type.getLayout().isIdentity())
      return alloc.emitError("a block's buffer must have the identity layout");
    SmallVector<int64_t> shape;
    auto dynamicSizes = alloc.getDynamicSizes();
    unsigned next = 0;
    for (int64_t size : type.getShape()) {
      if (!ShapedType::isDynamic(size)) {
        shape.push_back(size);
        continue;
      }
      FailureOr<int64_t> bound = constantUpperBound(dynamicSizes[next++]);
      if (failed(bound))
        return alloc.emitError(
            "a GPU block's buffer needs a constant upper bound on its size");
      shape.push_back(*bound);
    }
    Value grid = allocateGridBuffer(forall, shape, type.getElementType());
    OpBuilder at(alloc);
    SmallVector<OpFoldResult> offsets(shape.size() + 1, at.getIndexAttr(0));
    offsets.front() = linear;
    SmallVector<OpFoldResult> sizes{at.getIndexAttr(1)};
    SmallVector<OpFoldResult> strides(shape.size() + 1, at.getIndexAttr(1));
    next = 0;
    for (auto [size, bound] : llvm::zip(type.getShape(), shape))
      sizes.push_back(ShapedType::isDynamic(size)
                          ? OpFoldResult(dynamicSizes[next++])
                          : OpFoldResult(at.getIndexAttr(bound)));
    auto resultType = memref::SubViewOp::inferRankReducedResultType(
        type.getShape(), cast<MemRefType>(grid.getType()), offsets, sizes,
        strides);
    Value slice = memref::SubViewOp::create(at, alloc.getLoc(),
                                            cast<MemRefType>(resultType), grid,
                                            offsets, sizes, strides);
    // Users take any strided layout but views, which get their type anew.
    SmallVector<Operation *> users(alloc->getUsers());
    for (Operation *user : users) {
      if (isa<memref::DeallocOp>(user)) {
        user->erase();
        continue;
      }
      if (auto view = dyn_cast<memref::SubViewOp>(user)) {
        OpBuilder vb(view);
        auto viewType = memref::SubViewOp::inferRankReducedResultType(
            view.getType().getShape(), cast<MemRefType>(slice.getType()),
            view.getMixedOffsets(), view.getMixedSizes(),
            view.getMixedStrides());
        Value newView = memref::SubViewOp::create(
            vb, view.getLoc(), cast<MemRefType>(viewType), slice,
            view.getMixedOffsets(), view.getMixedSizes(),
            view.getMixedStrides());
        for (OpOperand &use : llvm::make_early_inc_range(view->getUses()))
          if (!isa<linalg::LinalgOp, memref::LoadOp, memref::StoreOp,
                   memref::DimOp, memref::CopyOp>(use.getOwner()))
            return use.getOwner()->emitError(
                "unsupported use of a view of a GPU block's buffer");
        view.replaceAllUsesWith(newView);
        view.erase();
        continue;
      }
      if (!isa<linalg::LinalgOp, memref::LoadOp, memref::StoreOp, memref::DimOp,
               memref::CopyOp>(user))
        return user->emitError("unsupported use of a GPU block's buffer");
    }
    alloc.replaceAllUsesWith(slice);
    alloc.erase();
  }
  return distributeOps(body, forall, linear);
}

LogicalResult MoEGPUDistributePass::distributeOps(Block *block,
                                                  scf::ForallOp forall,
                                                  Value linearBlock) {
  // The block is walked as it changes: moving a group to thread 0 inserts
  // the reloads of its results before the ops that follow.
  Operation *terminator = block->getTerminator();
  for (Operation *op = &block->front(); op != terminator;) {
    Operation *next = op->getNextNode();
    // Already over the block's warps or threads (a gated FFN's tiles).
    if (auto inner = dyn_cast<scf::ForallOp>(op); inner && inner.getMapping()) {
      op = next;
      continue;
    }
    // A forall of the lowering (column chunks of a gather): its iterations
    // are independent, so threads take them when there are enough.
    if (auto inner = dyn_cast<scf::ForallOp>(op);
        inner && !inner.getMapping() && inner.getRank() == 1 &&
        inner.isNormalized() && inner.getNumResults() == 0) {
      std::optional<int64_t> count =
          getConstantIntValue(inner.getMixedUpperBound().front());
      if (count && *count <= threads) {
        inner.setMappingAttr(OpBuilder(inner).getArrayAttr({threadX()}));
        op = next;
        continue;
      }
    }
    if (isDistributableLinalg(op)) {
      if (usesTensorCores(op)) {
        if (failed(tileOverWarps(cast<linalg::GenericOp>(op))))
          return failure();
      } else if (failed(tileOverThreads(op))) {
        return failure();
      }
      op = next;
      continue;
    }
    if (isDistributableIf(op)) {
      auto ifOp = cast<scf::IfOp>(op);
      if (failed(distributeOps(ifOp.thenBlock(), forall, linearBlock)))
        return failure();
      if (ifOp.elseBlock() &&
          failed(distributeOps(ifOp.elseBlock(), forall, linearBlock)))
        return failure();
      op = next;
      continue;
    }
    if (!writesMemory(op)) {
      op = next;
      continue;
    }
    // Serial work for thread 0, up to the next op spread over threads.
    SmallVector<Operation *> group;
    for (; op != terminator && !isDistributableLinalg(op) &&
           !isDistributableIf(op);
         op = op->getNextNode())
      group.push_back(op);
    if (failed(runOnThreadZero(group, forall, linearBlock)))
      return failure();
  }
  return success();
}

LogicalResult MoEGPUDistributePass::runOnThreadZero(ArrayRef<Operation *> ops,
                                                    scf::ForallOp forall,
                                                    Value linearBlock) {
  llvm::SmallPtrSet<Operation *, 16> group(ops.begin(), ops.end());
  Block *block = ops.front()->getBlock();
  OpBuilder b(ops.front());
  Location loc = ops.front()->getLoc();
  auto single =
      scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(1)},
                            ValueRange(), b.getArrayAttr({threadX()}));
  Operation *terminator = single.getBody()->getTerminator();
  for (Operation *op : ops)
    op->moveBefore(terminator);
  // What later ops of the block use: views are recomputed, other values
  // pass through the block's slot of a grid buffer.
  DenseMap<Value, Value> spills;
  auto reload = [&](Value value, OpBuilder &at) -> FailureOr<Value> {
    Operation *def = value.getDefiningOp();
    if (failed(checkSpillable(value, "threads")))
      return failure();
    Value &spill = spills[value];
    if (!spill) {
      spill = allocateGridBuffer(forall, {}, value.getType());
      OpBuilder store(terminator);
      memref::StoreOp::create(store, def->getLoc(), value, spill,
                              ValueRange{linearBlock});
    }
    return memref::LoadOp::create(at, at.getInsertionPoint()->getLoc(), spill,
                                  ValueRange{linearBlock})
        .getResult();
  };
  for (Operation *op : ops)
    for (Value result : op->getResults())
      for (OpOperand &use : llvm::make_early_inc_range(result.getUses())) {
        Operation *ancestor = block->findAncestorOpInBlock(*use.getOwner());
        if (!ancestor || ancestor == single.getOperation())
          continue;
        FailureOr<Value> materialized =
            rematerialize(result, ancestor, group, reload);
        if (failed(materialized))
          return failure();
        use.set(*materialized);
      }
  // (Last: `ops` may hold a forall.) Thread 0 runs what it holds in order: a
  // forall inside is a loop.
  SmallVector<scf::ForallOp> nested;
  single.getBody()->walk([&](scf::ForallOp inner) {
    if (!inner.getMapping())
      nested.push_back(inner);
  });
  for (scf::ForallOp inner : nested) {
    IRRewriter rewriter(inner);
    if (failed(scf::forallToForLoop(rewriter, inner)))
      return inner.emitError("cannot run this forall as a loop");
  }
  return success();
}

LogicalResult MoEGPUDistributePass::tileOverThreads(Operation *op) {
  auto linalgOp = cast<linalg::LinalgOp>(op);
  IRRewriter rewriter(op);
  // Cyclically over the parallel loops the threads fill: a warp's lanes on
  // consecutive elements, and a [16 tokens, 8 experts] router's logits on
  // all 128 threads, not on 8.
  FailureOr<scf::ForallOp> cyclic =
      tileCyclicallyOverThreads(rewriter, linalgOp, threads, threadX());
  if (succeeded(cyclic)) {
    accumulateTileInRegisters(*cyclic);
    return success();
  }
  // Else (an op that reads linalg.index, or indexes a loop by an
  // expression) in contiguous chunks of the innermost parallel loop.
  SmallVector<utils::IteratorType> iterators = linalgOp.getIteratorTypesArray();
  int64_t dim = -1;
  for (int64_t d = iterators.size() - 1; d >= 0 && dim < 0; --d)
    if (iterators[d] == utils::IteratorType::parallel)
      dim = d;
  SmallVector<OpFoldResult> numThreads(iterators.size(),
                                       rewriter.getIndexAttr(0));
  numThreads[dim] = rewriter.getIndexAttr(threads);
  scf::SCFTilingOptions options;
  options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp)
      .setNumThreads(numThreads)
      .setMapping({threadX()});
  FailureOr<scf::SCFTilingResult> tiled =
      scf::tileUsingSCF(rewriter, cast<TilingInterface>(op), options);
  if (failed(tiled))
    return op->emitError("cannot tile this op over GPU threads");
  rewriter.eraseOp(op);
  accumulateTileInRegisters(cast<scf::ForallOp>(tiled->loops.front()));
  return success();
}

void MoEGPUDistributePass::accumulateTileInRegisters(scf::ForallOp forall) {
  // A thread's reduction (a logit's dot product, a row's max) keeps its sum
  // in a register: through memory, each term waits for the last one's
  // store.
  SmallVector<linalg::GenericOp> reductions;
  forall.getBody()->walk([&](linalg::GenericOp op) {
    if (op.getNumReductionLoops() > 0)
      reductions.push_back(op);
  });
  IRRewriter rewriter(forall);
  for (linalg::GenericOp op : reductions)
    (void)accumulateInRegisters(rewriter, op);
}

void MoEGPUDistributePass::roundForTensorCores(linalg::GenericOp op) {
  // C += bf16(A) * W (or f16), or tf32(A) * tf32(W): what mma.sync
  // computes, and what the host-semantics check then runs.
  Block &body = op.getRegion().front();
  Type operandType = getTensorCoreOperandType(op);
  auto b = OpBuilder::atBlockBegin(&body);
  Location loc = op.getLoc();
  SmallVector<Value, 2> operands;
  // Activations of the operand type are rounded already.
  if (body.getArgument(0).getType() != operandType)
    operands.push_back(body.getArgument(0));
  if (isa<FloatTF32Type>(operandType))
    operands.push_back(body.getArgument(1));
  for (Value operand : operands) {
    // The body's uses, not those of the rounding itself.
    SmallVector<OpOperand *> uses = llvm::map_to_vector(
        operand.getUses(), [](OpOperand &use) { return &use; });
    Value rounded = roundToTensorCoreOperand(b, loc, operand, operandType);
    if (rounded.getType() != b.getF32Type())
      rounded = arith::ExtFOp::create(b, loc, b.getF32Type(), rounded);
    for (OpOperand *use : uses)
      use->set(rounded);
  }
  op->setAttr(kWarpMmaAttrName, b.getUnitAttr());
}

LogicalResult MoEGPUDistributePass::tileOverWarps(linalg::GenericOp op) {
  roundForTensorCores(op);
  if (warpRows > 1) {
    OpBuilder b(op);
    SmallVector<Range> domain =
        cast<TilingInterface>(op.getOperation()).getIterationDomain(b);
    Value rows =
        getValueOrCreateConstantIndexOp(b, op.getLoc(), domain[0].size);
    if (fitsWarpGrid(rows))
      return tileOverWarpGrid(op, rows);
  }

  // The warps split the columns; each then walks its columns in warp tiles
  // (warp-tile-rows x warp-tile-columns). The tiles keep the marker.
  IRRewriter rewriter(op);
  scf::SCFTilingOptions overWarps;
  overWarps.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp)
      .setNumThreads({rewriter.getIndexAttr(0),
                      rewriter.getIndexAttr(threads / kNVIDIAWarpSize),
                      rewriter.getIndexAttr(0)})
      .setMapping({warpX()});
  FailureOr<scf::SCFTilingResult> warpTiles = scf::tileUsingSCF(
      rewriter, cast<TilingInterface>(op.getOperation()), overWarps);
  if (failed(warpTiles))
    return op->emitError("cannot tile this op over GPU warps");
  rewriter.eraseOp(op);
  Operation *warpTile = warpTiles->tiledOps.front();
  rewriter.setInsertionPoint(warpTile);
  scf::SCFTilingOptions mmaTiles;
  mmaTiles.setTileSizes({rewriter.getIndexAttr(warpTileRows),
                         rewriter.getIndexAttr(ungatedTileColumns()),
                         rewriter.getIndexAttr(0)});
  FailureOr<scf::SCFTilingResult> tiles =
      scf::tileUsingSCF(rewriter, cast<TilingInterface>(warpTile), mmaTiles);
  if (failed(tiles))
    return warpTile->emitError("cannot tile this op into warp tiles");
  rewriter.eraseOp(warpTile);
  return success();
}

LogicalResult MoEGPUDistributePass::tileOverWarpGrid(linalg::GenericOp op,
                                                     Value rows) {
  // By hand, not by TilingInterface's forall: a warp's rows and columns
  // both derive from its one index (a 1-D forall over the block's warps,
  // as moe-gpu-warp-mma expects), and a warp whose columns fit one warp
  // tile takes them with no loop, so that every warp reaches its tile.
  OpBuilder b(op);
  Location loc = op.getLoc();
  int64_t warps = threads / kNVIDIAWarpSize;
  int64_t columnWarps = warps / warpRows;
  SmallVector<Range> domain =
      cast<TilingInterface>(op.getOperation()).getIterationDomain(b);
  Value columns = getValueOrCreateConstantIndexOp(b, loc, domain[1].size);
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(warps)}, ValueRange(),
      b.getArrayAttr({warpX()}));
  b.setInsertionPoint(forall.getBody()->getTerminator());
  Value warp = forall.getInductionVar(0);
  Value columnWarp = arith::RemUIOp::create(
      b, loc, warp, arith::ConstantIndexOp::create(b, loc, columnWarps));
  auto [first, count] = columnShare(b, loc, columnWarp, columnWarps, columns);
  auto [row, rowCount] = warpGridRows(b, loc, warp, rows);
  Value oneTile = columnsInOneWarpTile(b, loc, columns, columnWarps, count,
                                       ungatedTileColumns());
  Value columnCount = oneTile ? oneTile : count;
  FailureOr<Operation *> warpTile =
      tileWithOperands(b, op, {row, first}, {rowCount, columnCount}, {}, {});
  if (failed(warpTile))
    return failure();
  op->erase();
  if (oneTile)
    return success();
  // More columns than a tile: the warp walks them in warp tiles.
  IRRewriter rewriter(*warpTile);
  scf::SCFTilingOptions mmaTiles;
  mmaTiles.setTileSizes({rewriter.getIndexAttr(0),
                         rewriter.getIndexAttr(ungatedTileColumns()),
                         rewriter.getIndexAttr(0)});
  FailureOr<scf::SCFTilingResult> tiles =
      scf::tileUsingSCF(rewriter, cast<TilingInterface>(*warpTile), mmaTiles);
  if (failed(tiles))
    return (*warpTile)->emitError("cannot tile this op into warp tiles");
  rewriter.eraseOp(*warpTile);
  return success();
}

} // namespace

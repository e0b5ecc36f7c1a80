//===- HoistAMXAccumulators.cpp - Accumulator tiles in registers ----------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-cpu-hoist-amx-accumulators: an AMX accumulator
// tile loaded and stored at the same place in every iteration of a loop is
// loaded before it, carried through it and stored after it (see the pass
// description).
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/CPU/Passes.h"

#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOECPUHOISTAMXACCUMULATORSPASS
#include "moe/Codegen/CPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// The buffer `memref` is a view of: its views' sources followed back.
Value bufferRoot(Value memref) {
  while (true) {
    if (auto view = memref.getDefiningOp<ViewLikeOpInterface>())
      memref = view.getViewSource();
    else if (auto collapse = memref.getDefiningOp<memref::CollapseShapeOp>())
      memref = collapse.getSrc();
    else if (auto expand = memref.getDefiningOp<memref::ExpandShapeOp>())
      memref = expand.getSrc();
    else
      return memref;
  }
}

/// Whether buffers `a` and `b` (bufferRoot values) cannot overlap: they are
/// different values and one of them is a fresh allocation.
bool areDisjointBuffers(Value a, Value b) {
  auto isAllocation = [](Value buffer) {
    return buffer.getDefiningOp<memref::AllocOp>() ||
           buffer.getDefiningOp<memref::AllocaOp>();
  };
  return a != b && (isAllocation(a) || isAllocation(b));
}

/// Whether `load` and `store` name the same place: base, indices and
/// stride.
bool isSamePlace(amx::TileLoadOp load, amx::TileStoreOp store) {
  return load.getBase() == store.getBase() &&
         llvm::equal(load.getIndices(), store.getIndices()) &&
         load.getStride() == store.getStride() &&
         load.getType() == store.getVal().getType();
}

/// Whether, apart from `load` and `store`, the ops of `loop`'s body only
/// read memory, and only buffers disjoint from `root`.
bool onlyReadsElsewhere(scf::ForOp loop, amx::TileLoadOp load,
                        amx::TileStoreOp store, Value root) {
  WalkResult result = loop.getBody()->walk([&](Operation *op) {
    if (op == load.getOperation() || op == store.getOperation() || isPure(op) ||
        op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      return WalkResult::advance();
    // Upstream declares the tile loads as writes (of the tile register
    // state, which keeps them in order); of memory, they read their base.
    if (auto otherLoad = dyn_cast<amx::TileLoadOp>(op))
      return areDisjointBuffers(bufferRoot(otherLoad.getBase()), root)
                 ? WalkResult::advance()
                 : WalkResult::interrupt();
    auto effects = dyn_cast<MemoryEffectOpInterface>(op);
    if (!effects)
      return WalkResult::interrupt();
    SmallVector<MemoryEffects::EffectInstance> instances;
    effects.getEffects(instances);
    for (const MemoryEffects::EffectInstance &instance : instances) {
      Value value = instance.getValue();
      if (!isa<MemoryEffects::Read>(instance.getEffect()) || !value ||
          !isa<MemRefType>(value.getType()) ||
          !areDisjointBuffers(bufferRoot(value), root))
        return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return !result.wasInterrupted();
}

/// Carries the tile that `load` and `store` move through `loop` instead:
/// `load` before it, `store` after it. Returns the new loop.
scf::ForOp carryTile(RewriterBase &rewriter, scf::ForOp loop,
                     amx::TileLoadOp load, amx::TileStoreOp store) {
  rewriter.moveOpBefore(load, loop);
  Value stored = store.getVal();
  auto newLoop = cast<scf::ForOp>(*loop.replaceWithAdditionalYields(
      rewriter, load.getResult(), /*replaceInitOperandUsesInLoop=*/true,
      [&](OpBuilder &, Location, ArrayRef<BlockArgument>) {
        return SmallVector<Value>{stored};
      }));
  rewriter.moveOpAfter(store, newLoop);
  rewriter.modifyOpInPlace(store, [&] {
    store.getValMutable().assign(newLoop.getResults().back());
  });
  return newLoop;
}

/// Loops of at most this many steps are unrolled once their tiles are
/// carried (a longer one keeps its loads and stores).
constexpr int64_t kMaxUnrolledSteps = 16;

struct MoECPUHoistAMXAccumulatorsPass
    : moe::impl::MoECPUHoistAMXAccumulatorsPassBase<
          MoECPUHoistAMXAccumulatorsPass> {
  using MoECPUHoistAMXAccumulatorsPassBase::MoECPUHoistAMXAccumulatorsPassBase;

  void runOnOperation() override {
    SmallVector<scf::ForOp> loops;
    getOperation().walk([&](amx::TileStoreOp store) {
      if (auto loop = dyn_cast<scf::ForOp>(store->getParentOp()))
        if (loops.empty() || loops.back() != loop)
          loops.push_back(loop);
    });
    IRRewriter rewriter(&getContext());
    for (scf::ForOp loop : loops) {
      std::optional<APInt> steps = loop.getStaticTripCount();
      if (!steps || steps->getSExtValue() > kMaxUnrolledSteps)
        continue;
      // The places' views and indices, computed in the loop, move out of it.
      moveLoopInvariantCode(cast<LoopLikeOpInterface>(loop.getOperation()));
      bool changed = true;
      while (changed) {
        changed = false;
        for (auto store : loop.getBody()->getOps<amx::TileStoreOp>()) {
          if (!loop.isDefinedOutsideOfLoop(store.getBase()) ||
              !llvm::all_of(store.getIndices(),
                            [&](Value index) {
                              return loop.isDefinedOutsideOfLoop(index);
                            }) ||
              (store.getStride() &&
               !loop.isDefinedOutsideOfLoop(store.getStride())))
            continue;
          // The load of the same place that the loop's first step reads.
          amx::TileLoadOp load;
          for (auto candidate : loop.getBody()->getOps<amx::TileLoadOp>())
            if (isSamePlace(candidate, store) &&
                candidate->isBeforeInBlock(store)) {
              load = candidate;
              break;
            }
          if (!load ||
              !onlyReadsElsewhere(loop, load, store,
                                  bufferRoot(store.getBase())) ||
              llvm::any_of(load->getUsers(), [&](Operation *user) {
                return !loop->isProperAncestor(user);
              }))
            continue;
          loop = carryTile(rewriter, loop, load, store);
          changed = true;
          break;
        }
      }
      // The tiles then flow through straight-line code.
      if (loop.getNumRegionIterArgs() > 0 &&
          llvm::any_of(loop.getRegionIterArgs(),
                       [](BlockArgument argument) {
                         return isa<amx::TileType>(argument.getType());
                       }) &&
          failed(loopUnrollFull(loop)))
        return signalPassFailure();
    }
  }
};

} // namespace

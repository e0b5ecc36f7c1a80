//===- HoistAMXAccumulators.cpp - AMX tiles kept in tile registers --------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-cpu-hoist-amx-accumulators: the AMX accumulator
// tiles loaded and stored at the same places in every step of a k loop are
// loaded before it, carried through it and stored after it, and a tile
// loaded twice from one place is loaded once (see the pass description).
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

/// The memref `view` is a view of (through a subview, a reshape or any
/// view-like op), or null.
Value viewSource(Value view) {
  if (auto viewLike = view.getDefiningOp<ViewLikeOpInterface>())
    return viewLike.getViewSource();
  if (auto collapse = view.getDefiningOp<memref::CollapseShapeOp>())
    return collapse.getSrc();
  if (auto expand = view.getDefiningOp<memref::ExpandShapeOp>())
    return expand.getSrc();
  return nullptr;
}

/// `memref` and the views it is a view of, up to the buffer itself (last).
SmallVector<Value> viewChain(Value memref) {
  SmallVector<Value> chain = {memref};
  while (Value source = viewSource(chain.back()))
    chain.push_back(source);
  return chain;
}

bool isAllocation(Value buffer) {
  return buffer.getDefiningOp<memref::AllocOp>() ||
         buffer.getDefiningOp<memref::AllocaOp>();
}

/// Whether subviews `a` and `b` of one memref, each with static offsets,
/// sizes and unit strides, cover boxes that do not intersect.
bool areDisjointSubviews(memref::SubViewOp a, memref::SubViewOp b) {
  if (!a || !b || a.getSource() != b.getSource() || !a.hasUnitStride() ||
      !b.hasUnitStride())
    return false;
  ArrayRef<int64_t> offsetsA = a.getStaticOffsets(),
                    offsetsB = b.getStaticOffsets(),
                    sizesA = a.getStaticSizes(), sizesB = b.getStaticSizes();
  for (size_t dim = 0; dim < offsetsA.size(); ++dim) {
    if (ShapedType::isDynamic(offsetsA[dim]) ||
        ShapedType::isDynamic(offsetsB[dim]) ||
        ShapedType::isDynamic(sizesA[dim]) ||
        ShapedType::isDynamic(sizesB[dim]))
      continue;
    if (offsetsA[dim] + sizesA[dim] <= offsetsB[dim] ||
        offsetsB[dim] + sizesB[dim] <= offsetsA[dim])
      return true;
  }
  return false;
}

/// Whether every access through view `a` is disjoint from every access
/// through view `b` (an access through a view stays inside it): views of
/// different buffers one of which is a fresh allocation, or views whose
/// chains part at two subviews of one memref over disjoint static boxes.
bool areDisjointViews(Value a, Value b) {
  SmallVector<Value> chainA = viewChain(a), chainB = viewChain(b);
  if (chainA.back() != chainB.back())
    return isAllocation(chainA.back()) || isAllocation(chainB.back());
  // The views just below the chains' last common memref.
  auto itA = chainA.rbegin(), itB = chainB.rbegin();
  while (std::next(itA) != chainA.rend() && std::next(itB) != chainB.rend() &&
         *std::next(itA) == *std::next(itB))
    ++itA, ++itB;
  if (std::next(itA) == chainA.rend() || std::next(itB) == chainB.rend())
    return false;
  return areDisjointSubviews(
      std::next(itA)->getDefiningOp<memref::SubViewOp>(),
      std::next(itB)->getDefiningOp<memref::SubViewOp>());
}

/// Whether tile loads or stores `a` and `b` move a tile of one type to or
/// from one place: base, indices and stride.
template <typename OpA, typename OpB>
bool isSamePlace(OpA a, Type tileA, OpB b, Type tileB) {
  return a.getBase() == b.getBase() &&
         llvm::equal(a.getIndices(), b.getIndices()) &&
         a.getStride() == b.getStride() && tileA == tileB;
}

/// An accumulator tile a loop loads and stores at one place in each step.
struct Accumulator {
  amx::TileLoadOp load;
  amx::TileStoreOp store;
};

/// The accumulators of `loop`: each store of a loop-invariant place after a
/// load of the same place whose tile is used in the loop only.
SmallVector<Accumulator> findAccumulators(scf::ForOp loop) {
  SmallVector<Accumulator> accumulators;
  auto invariant = [&](Value value) {
    return !value || loop.isDefinedOutsideOfLoop(value);
  };
  for (auto store : loop.getBody()->getOps<amx::TileStoreOp>()) {
    if (!invariant(store.getBase()) ||
        !llvm::all_of(store.getIndices(), invariant) ||
        !invariant(store.getStride()))
      continue;
    for (auto load : loop.getBody()->getOps<amx::TileLoadOp>()) {
      if (!isSamePlace(load, load.getType(), store, store.getVal().getType()) ||
          !load->isBeforeInBlock(store))
        continue;
      if (llvm::all_of(load->getUsers(), [&](Operation *user) {
            return loop->isProperAncestor(user);
          }))
        accumulators.push_back({load, store});
      break;
    }
  }
  return accumulators;
}

/// Whether `accumulators` can be carried through `loop`: their places are
/// pairwise disjoint, and every other op of the loop at most reads memory
/// disjoint from all of them, so that each place is only ever touched by
/// its own load and store.
bool canCarry(scf::ForOp loop, MutableArrayRef<Accumulator> accumulators) {
  for (size_t i = 0; i < accumulators.size(); ++i)
    for (size_t j = i + 1; j < accumulators.size(); ++j)
      if (!areDisjointViews(accumulators[i].store.getBase(),
                            accumulators[j].store.getBase()))
        return false;
  DenseSet<Operation *> own;
  for (Accumulator &accumulator : accumulators) {
    own.insert(accumulator.load);
    own.insert(accumulator.store);
  }
  auto readsElsewhere = [&](Value memref) {
    return llvm::all_of(accumulators, [&](Accumulator &accumulator) {
      return areDisjointViews(memref, accumulator.store.getBase());
    });
  };
  WalkResult result = loop.getBody()->walk([&](Operation *op) {
    if (own.contains(op) || isPure(op) ||
        op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      return WalkResult::advance();
    // Upstream declares the tile loads as writes (of the tile register
    // state, which keeps them in order); of memory, they read their base.
    if (auto load = dyn_cast<amx::TileLoadOp>(op))
      return readsElsewhere(load.getBase()) ? WalkResult::advance()
                                            : WalkResult::interrupt();
    auto effects = dyn_cast<MemoryEffectOpInterface>(op);
    if (!effects)
      return WalkResult::interrupt();
    SmallVector<MemoryEffects::EffectInstance> instances;
    effects.getEffects(instances);
    for (const MemoryEffects::EffectInstance &instance : instances) {
      Value value = instance.getValue();
      if (!isa<MemoryEffects::Read>(instance.getEffect()) || !value ||
          !isa<MemRefType>(value.getType()) || !readsElsewhere(value))
        return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return !result.wasInterrupted();
}

/// Carries `accumulators` through `loop`: each loaded before it and stored
/// after it. Returns the new loop.
scf::ForOp carryTiles(RewriterBase &rewriter, scf::ForOp loop,
                      MutableArrayRef<Accumulator> accumulators) {
  SmallVector<Value> initial, stored;
  for (Accumulator &accumulator : accumulators) {
    rewriter.moveOpBefore(accumulator.load, loop);
    initial.push_back(accumulator.load.getResult());
    stored.push_back(accumulator.store.getVal());
  }
  auto newLoop = cast<scf::ForOp>(*loop.replaceWithAdditionalYields(
      rewriter, initial, /*replaceInitOperandUsesInLoop=*/true,
      [&](OpBuilder &, Location, ArrayRef<BlockArgument>) { return stored; }));
  ValueRange results =
      newLoop.getResults().take_back(static_cast<int64_t>(stored.size()));
  Operation *after = newLoop;
  for (auto [accumulator, result] : llvm::zip(accumulators, results)) {
    rewriter.moveOpAfter(accumulator.store, after);
    after = accumulator.store;
    rewriter.modifyOpInPlace(accumulator.store, [&] {
      accumulator.store.getValMutable().assign(result);
    });
  }
  return newLoop;
}

/// Loads each tile once where `block` loads it again from the same place
/// with nothing in between that may write memory.
void mergeRepeatedLoads(Block &block) {
  SmallVector<amx::TileLoadOp> loaded;
  for (Operation &op : llvm::make_early_inc_range(block)) {
    if (auto load = dyn_cast<amx::TileLoadOp>(op)) {
      auto *earlier = llvm::find_if(loaded, [&](amx::TileLoadOp other) {
        return isSamePlace(other, other.getType(), load, load.getType());
      });
      if (earlier != loaded.end()) {
        load.replaceAllUsesWith(earlier->getResult());
        load.erase();
      } else {
        loaded.push_back(load);
      }
      continue;
    }
    // Tile products and zeros touch tile registers only.
    if (isPure(&op) || isa<amx::TileZeroOp>(op))
      continue;
    auto effects = dyn_cast<MemoryEffectOpInterface>(op);
    if (op.getNumRegions() > 0 || !effects ||
        !effects.onlyHasEffect<MemoryEffects::Read>())
      loaded.clear();
  }
}

/// Loops of at most this many steps are unrolled once their tiles are
/// carried (a longer one keeps its loads and stores).
constexpr int64_t kMaxUnrolledSteps = 16;

struct MoECPUHoistAMXAccumulatorsPass
    : moe::impl::MoECPUHoistAMXAccumulatorsPassBase<
          MoECPUHoistAMXAccumulatorsPass> {
  using MoECPUHoistAMXAccumulatorsPassBase::MoECPUHoistAMXAccumulatorsPassBase;

  void runOnOperation() override {
    SetVector<scf::ForOp> loops;
    getOperation().walk([&](amx::TileStoreOp store) {
      if (auto loop = dyn_cast<scf::ForOp>(store->getParentOp()))
        loops.insert(loop);
    });
    IRRewriter rewriter(&getContext());
    for (scf::ForOp loop : loops) {
      std::optional<APInt> steps = loop.getStaticTripCount();
      if (!steps || steps->getSExtValue() > kMaxUnrolledSteps)
        continue;
      // The places' views and indices, computed in the loop, move out of it.
      moveLoopInvariantCode(cast<LoopLikeOpInterface>(loop.getOperation()));
      SmallVector<Accumulator> accumulators = findAccumulators(loop);
      if (accumulators.empty() || !canCarry(loop, accumulators))
        continue;
      Block *parent = loop->getBlock();
      // The tiles then flow through straight-line code, where the operand
      // tiles that several products share are loaded once.
      if (failed(loopUnrollFull(carryTiles(rewriter, loop, accumulators))))
        return signalPassFailure();
      mergeRepeatedLoads(*parent);
    }
  }
};

} // namespace

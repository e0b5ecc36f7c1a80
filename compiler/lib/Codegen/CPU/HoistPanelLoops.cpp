//===- HoistPanelLoops.cpp - Panels outside the experts' loop ---*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-cpu-hoist-panel-loops: the parallel loop over a
// grouped kernel's column panels moves outside the loop over the experts'
// segments, so one parallel loop covers every expert (see the pass
// description).
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/CPU/Passes.h"
#include "moe/Conversion/MoEToLinalg/MoEToLinalg.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOECPUHOISTPANELLOOPSPASS
#include "moe/Codegen/CPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// Whether `op` at most reads memory and has no regions: it may run once
/// per panel instead of once.
bool onlyReads(Operation *op) {
  if (op->getNumRegions() != 0)
    return false;
  if (isMemoryEffectFree(op))
    return true;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects)
    return false;
  SmallVector<MemoryEffects::EffectInstance> instances;
  effects.getEffects(instances);
  return llvm::all_of(instances, [](MemoryEffects::EffectInstance &effect) {
    return isa<MemoryEffects::Read>(effect.getEffect());
  });
}

/// The one `OpTy` op of `block` when every other op (but the terminator)
/// only reads; null otherwise.
template <typename OpTy> OpTy soleOpBesideReads(Block *block) {
  OpTy sole;
  for (Operation &op : block->without_terminator()) {
    if (auto match = dyn_cast<OpTy>(op)) {
      if (sole)
        return {};
      sole = match;
    } else if (!onlyReads(&op)) {
      return {};
    }
  }
  return sole;
}

/// The panel loop of segment loop `loop` when the two can be interchanged:
/// `loop` holds reads and one `scf.if` without results or else branch,
/// which holds reads and one normalized one-dimensional `scf.forall` with
/// a constant trip count and no outputs.
scf::ForallOp findPanelLoop(scf::ForOp loop) {
  if (loop.getNumResults() != 0)
    return {};
  auto guard = soleOpBesideReads<scf::IfOp>(loop.getBody());
  if (!guard || guard.getNumResults() != 0 ||
      (guard.elseBlock() && !guard.elseBlock()->without_terminator().empty()))
    return {};
  auto panels = soleOpBesideReads<scf::ForallOp>(guard.thenBlock());
  if (!panels || panels.getRank() != 1 || panels.getNumResults() != 0 ||
      panels.getMapping() ||
      !isConstantIntValue(panels.getMixedLowerBound()[0], 0) ||
      !isConstantIntValue(panels.getMixedStep()[0], 1) ||
      !getConstantIntValue(panels.getMixedUpperBound()[0]) ||
      !panels.getTerminator().getYieldingOps().empty())
    return {};
  return panels;
}

/// The OpenMP runtime's thread count for the next parallel region.
constexpr const char kMaxThreadsName[] = "omp_get_max_threads";

/// Rewrites `loop { ... panels (%p) in (N) { B } }` as one parallel loop
/// over the threads, each running `loop { ... for %p in its share of the
/// N panels { B } }`: a thread keeps an expert's rows in cache across its
/// panels, as before, and no thread waits for another between experts.
void hoistPanelLoop(scf::ForOp loop, scf::ForallOp panels,
                    func::FuncOp maxThreads) {
  OpBuilder b(loop);
  Location loc = panels.getLoc();
  Value numPanels =
      getValueOrCreateConstantIndexOp(b, loc, panels.getMixedUpperBound()[0]);
  Value threads = arith::IndexCastOp::create(
      b, loc, b.getIndexType(),
      func::CallOp::create(b, loc, maxThreads, ValueRange{}).getResult(0));
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value chunks = arith::MaxSIOp::create(
      b, loc, one, arith::MinSIOp::create(b, loc, threads, numPanels));
  scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{chunks}, ValueRange{}, std::nullopt,
      [&](OpBuilder &nb, Location nloc, ValueRange ivs) {
        // Chunk c takes panels [c N / chunks, (c + 1) N / chunks).
        auto bound = [&](Value chunk) -> Value {
          return arith::DivUIOp::create(
              nb, nloc, arith::MulIOp::create(nb, nloc, chunk, numPanels),
              chunks);
        };
        Value first = bound(ivs[0]);
        Value last = bound(arith::AddIOp::create(nb, nloc, ivs[0], one));
        IRMapping mapping;
        Operation *copy = nb.clone(*loop, mapping);
        scf::ForallOp inner;
        copy->walk([&](scf::ForallOp forall) { inner = forall; });
        // The inner parallel loop becomes a loop over the chunk's panels.
        OpBuilder ib(inner);
        auto panelLoop = scf::ForOp::create(ib, loc, first, last, one);
        Block *body = inner.getBody();
        body->getArgument(0).replaceAllUsesWith(panelLoop.getInductionVar());
        panelLoop.getBody()->getOperations().splice(
            Block::iterator(panelLoop.getBody()->getTerminator()),
            body->getOperations(), body->begin(), std::prev(body->end()));
        inner.erase();
        scf::InParallelOp::create(nb, nloc);
      });
  loop.erase();
}

struct MoECPUHoistPanelLoopsPass
    : moe::impl::MoECPUHoistPanelLoopsPassBase<MoECPUHoistPanelLoopsPass> {
  using MoECPUHoistPanelLoopsPassBase::MoECPUHoistPanelLoopsPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<scf::ForOp, scf::ForallOp>> nests;
    module.walk([&](scf::ForOp loop) {
      if (!loop->hasAttr(kSegmentLoopAttrName))
        return;
      if (scf::ForallOp panels = findPanelLoop(loop))
        nests.push_back({loop, panels});
    });
    if (nests.empty())
      return;
    OpBuilder b(&getContext());
    auto maxThreadsType = b.getFunctionType({}, {b.getI32Type()});
    auto maxThreads = module.lookupSymbol<func::FuncOp>(kMaxThreadsName);
    if (!maxThreads) {
      b.setInsertionPointToEnd(module.getBody());
      maxThreads = func::FuncOp::create(b, module.getLoc(), kMaxThreadsName,
                                        maxThreadsType);
      maxThreads.setPrivate();
    } else if (maxThreads.getFunctionType() != maxThreadsType) {
      maxThreads.emitError()
          << "'" << kMaxThreadsName << "' must have type " << maxThreadsType;
      return signalPassFailure();
    }
    for (auto [loop, panels] : nests)
      hoistPanelLoop(loop, panels, maxThreads);
  }
};

} // namespace

//===- MergeIndependentKernels.cpp - Kernels that share a launch -*- C++
//-*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-gpu-merge-independent-kernels: block foralls that
// touch disjoint buffers become one forall over both grids (see the pass
// description).
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/GPU/BufferAccesses.h"
#include "moe/Codegen/GPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEGPUMERGEINDEPENDENTKERNELSPASS
#include "moe/Codegen/GPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// Whether `op` is a kernel this pass merges: a top-level forall over a
/// line of blocks, without results.
bool isLineKernel(Operation *op) {
  auto forall = dyn_cast<scf::ForallOp>(op);
  if (!forall || forall.getRank() != 1 || forall.getNumResults() != 0 ||
      !forall.isNormalized())
    return false;
  std::optional<ArrayAttr> mapping = forall.getMapping();
  return mapping && mapping->size() == 1 &&
         isa<gpu::GPUBlockMappingAttr>((*mapping)[0]) &&
         cast<gpu::GPUBlockMappingAttr>((*mapping)[0]).getBlock() ==
             gpu::MappingId::DimX;
}

/// Whether `op` orders host and device work, so no kernel moves across it.
bool isHostBoundary(Operation *op) {
  return isa<func::CallOp, func::ReturnOp, memref::DeallocOp>(op);
}

/// Whether `op` is host work that may run earlier: index arithmetic, a
/// view, an allocation.
bool isMovableHostOp(Operation *op) {
  return op->getNumRegions() == 0 &&
         (isMemoryEffectFree(op) || isa<memref::AllocOp>(op));
}

/// The ops among `between` whose results `kernel` uses, directly or
/// through each other, in their order; failure if one is not host work
/// that may run earlier.
FailureOr<SmallVector<Operation *>>
operandProducers(scf::ForallOp kernel, ArrayRef<Operation *> between) {
  llvm::SmallPtrSet<Operation *, 16> candidates(between.begin(), between.end());
  llvm::SmallPtrSet<Operation *, 16> needed;
  SmallVector<Value> worklist;
  kernel->walk([&](Operation *op) {
    for (Value operand : op->getOperands())
      worklist.push_back(operand);
  });
  while (!worklist.empty()) {
    Operation *def = worklist.pop_back_val().getDefiningOp();
    if (!def || !candidates.contains(def) || !needed.insert(def).second)
      continue;
    if (!isMovableHostOp(def))
      return failure();
    llvm::append_range(worklist, def->getOperands());
  }
  SmallVector<Operation *> ordered;
  for (Operation *op : between)
    if (needed.contains(op))
      ordered.push_back(op);
  return ordered;
}

/// One forall over `first`'s blocks and then `second`'s, before `first`;
/// both are erased.
scf::ForallOp mergeKernels(scf::ForallOp first, scf::ForallOp second) {
  OpBuilder b(first);
  // The kernel keeps the name of a grouped matmul in it.
  Location loc =
      isa<NameLoc>(first.getLoc()) ? first.getLoc() : second.getLoc();
  Value firstBlocks = getValueOrCreateConstantIndexOp(
      b, loc, first.getMixedUpperBound().front());
  Value secondBlocks = getValueOrCreateConstantIndexOp(
      b, loc, second.getMixedUpperBound().front());
  Value blocks = arith::AddIOp::create(b, loc, firstBlocks, secondBlocks);
  auto merged = scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{blocks},
                                      ValueRange(), first.getMappingAttr());
  b.setInsertionPointToStart(merged.getBody());
  Value block = merged.getInductionVar(0);
  Value inFirst = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                        block, firstBlocks);
  auto choice = scf::IfOp::create(b, loc, inFirst, /*withElseRegion=*/true);
  auto moveBody = [&](scf::ForallOp kernel, Block *into, Value at) {
    Block *body = kernel.getBody();
    kernel.getInductionVar(0).replaceAllUsesWith(at);
    body->getTerminator()->erase();
    into->getOperations().splice(into->getTerminator()->getIterator(),
                                 body->getOperations());
    kernel.erase();
  };
  moveBody(first, choice.thenBlock(), block);
  b.setInsertionPointToStart(choice.elseBlock());
  Value secondBlock = arith::SubIOp::create(b, loc, block, firstBlocks);
  moveBody(second, choice.elseBlock(), secondBlock);
  return merged;
}

struct MoEGPUMergeIndependentKernelsPass
    : moe::impl::MoEGPUMergeIndependentKernelsPassBase<
          MoEGPUMergeIndependentKernelsPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    Block *top = &func.getBody().front();
    for (Operation *op = &top->front(); op; op = op->getNextNode()) {
      if (!isLineKernel(op))
        continue;
      auto kernel = cast<scf::ForallOp>(op);
      while (scf::ForallOp next = findPartner(kernel)) {
        kernel = mergeKernels(kernel, next);
        op = kernel;
      }
    }
  }

  /// The first kernel after `kernel` that may join it: independent of it
  /// and of everything between them, with the host ops it needs from
  /// between them moved before `kernel`; null when none may.
  scf::ForallOp findPartner(scf::ForallOp kernel) {
    BufferAccesses kernelAccesses = BufferAccesses::of(kernel);
    SmallVector<Operation *> between;
    BufferAccesses betweenAccesses;
    for (Operation *op = kernel->getNextNode(); op && !isHostBoundary(op);
         op = op->getNextNode()) {
      if (isLineKernel(op)) {
        auto candidate = cast<scf::ForallOp>(op);
        BufferAccesses candidateAccesses = BufferAccesses::of(candidate);
        FailureOr<SmallVector<Operation *>> producers =
            operandProducers(candidate, between);
        if (succeeded(producers) &&
            candidateAccesses.independentOf(kernelAccesses) &&
            candidateAccesses.independentOf(betweenAccesses)) {
          for (Operation *producer : *producers)
            producer->moveBefore(kernel);
          return candidate;
        }
      }
      between.push_back(op);
      if (!isMovableHostOp(op))
        betweenAccesses.addEffectsOf(op);
    }
    return {};
  }
};

} // namespace

//===- HostCode.cpp - The host's part of a function -----------------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// What moe-gpu-distribute leaves on the host, and the segment loops it
// matches (see HostCode.h).
//
//===----------------------------------------------------------------------===//

#include "HostCode.h"

#include "moe/Dialect/MoE/IR/MoEDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;
using namespace mlir::moe;
using namespace mlir::moe::distribute;

bool HostValues::contains(Value value) {
  if (auto arg = dyn_cast<BlockArgument>(value))
    return arg.getOwner() == top || (outer && outer->contains(value));
  if (outer && value.getDefiningOp()->getBlock() != top)
    return outer->contains(value);
  auto it = known.find(value);
  if (it != known.end())
    return it->second;
  Operation *op = value.getDefiningOp();
  bool result = computesOnHost(op);
  known[value] = result;
  return result;
}

bool HostValues::computesOnHost(Operation *op) {
  if (op->getBlock() != top || op->getNumRegions() != 0)
    return false;
  if (!isMemoryEffectFree(op) && !isa<memref::AllocOp>(op))
    return false;
  return llvm::all_of(op->getOperands(),
                      [&](Value operand) { return contains(operand); });
}

bool mlir::moe::distribute::writesMemory(Operation *op) {
  std::optional<SmallVector<MemoryEffects::EffectInstance>> effects =
      getEffectsRecursively(op);
  if (!effects)
    return true;
  return llvm::any_of(*effects, [](const MemoryEffects::EffectInstance &it) {
    return !isa<MemoryEffects::Read>(it.getEffect());
  });
}

bool mlir::moe::distribute::isHostBranch(Operation *op, HostValues &host) {
  auto ifOp = dyn_cast<scf::IfOp>(op);
  if (!ifOp || ifOp.getNumResults() != 0 || !host.contains(ifOp.getCondition()))
    return false;
  return ifOp->walk([](func::CallOp) { return WalkResult::interrupt(); })
      .wasInterrupted();
}

void mlir::moe::distribute::dropZeroSizeGuards(Block *top) {
  HostValues host(top);
  auto emptyWhenEmpty = [](Operation &op) {
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
      return linalgOp.hasPureBufferSemantics();
    if (isa<memref::AllocOp>(op))
      return true;
    return isMemoryEffectFree(&op) && op.getNumRegions() == 0 &&
           !isa<arith::DivUIOp, arith::DivSIOp, arith::CeilDivUIOp,
                arith::CeilDivSIOp, arith::FloorDivSIOp, arith::RemUIOp,
                arith::RemSIOp>(op);
  };
  for (auto ifOp : llvm::make_early_inc_range(top->getOps<scf::IfOp>())) {
    if (ifOp.getNumResults() != 0 || !ifOp.getElseRegion().empty() ||
        !host.contains(ifOp.getCondition()) ||
        !llvm::all_of(ifOp.thenBlock()->without_terminator(), emptyWhenEmpty))
      continue;
    Block *body = ifOp.thenBlock();
    body->getTerminator()->erase();
    top->getOperations().splice(ifOp->getIterator(), body->getOperations());
    ifOp.erase();
  }
}

/// The buffer that `value` (an index) is loaded from at index `at`, through
/// an index cast; null otherwise.
static Value loadedFrom(Value value, Value at) {
  if (auto cast = value.getDefiningOp<arith::IndexCastOp>())
    value = cast.getIn();
  auto load = value.getDefiningOp<memref::LoadOp>();
  if (!load || load.getIndices().size() != 1 || load.getIndices()[0] != at)
    return Value();
  return load.getMemRef();
}

std::optional<SegmentLoop>
mlir::moe::distribute::matchSegmentLoop(scf::ForOp loop, HostValues &host) {
  if (!loop->hasAttr(kSegmentLoopAttrName) || loop.getNumResults() != 0 ||
      !host.contains(loop.getUpperBound()) ||
      !isConstantIntValue(loop.getLowerBound(), 0) ||
      !isConstantIntValue(loop.getStep(), 1))
    return std::nullopt;
  Block *body = loop.getBody();
  auto ifOp = dyn_cast<scf::IfOp>(body->getTerminator()->getPrevNode());
  if (!ifOp || ifOp.getNumResults() != 0)
    return std::nullopt;
  for (Operation &op : body->without_terminator())
    if (&op != ifOp && writesMemory(&op))
      return std::nullopt;
  auto cmp = ifOp.getCondition().getDefiningOp<arith::CmpIOp>();
  if (!cmp || cmp.getPredicate() != arith::CmpIPredicate::sgt ||
      !isConstantIntValue(cmp.getRhs(), 0))
    return std::nullopt;
  auto sub = cmp.getLhs().getDefiningOp<arith::SubIOp>();
  if (!sub)
    return std::nullopt;
  SegmentLoop segment{loop,
                      ifOp,
                      sub.getRhs(),
                      sub.getResult(),
                      Value(),
                      Value(),
                      getConstantIntValue(loop.getUpperBound())};
  segment.offsets = loadedFrom(segment.start, loop.getInductionVar());
  if (segment.offsets && !host.contains(segment.offsets))
    segment.offsets = Value();
  ifOp.getThenRegion().walk([&](memref::SubViewOp view) {
    if (segment.rowSource || view.getMixedOffsets().empty())
      return;
    OpFoldResult offset = view.getMixedOffsets().front();
    OpFoldResult size = view.getMixedSizes().front();
    if (dyn_cast<Value>(offset) == segment.start &&
        dyn_cast<Value>(size) == segment.size &&
        host.contains(view.getSource()))
      segment.rowSource = view.getSource();
  });
  if (!segment.rowSource)
    return std::nullopt;
  return segment;
}

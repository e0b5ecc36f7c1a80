//===- GatedTiles.cpp - Gate, up and activation as one GPU tile -*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/GPU/GatedTiles.h"
#include "moe/Dialect/MoE/IR/MoEDialect.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;
using namespace mlir::moe;

namespace {

/// Whether `op` is a segment matmul `C[m, n] += ...` over (m, n, k) that
/// accumulates into its only init `acc`, which it does not read otherwise.
bool isSegmentMatmulInto(linalg::GenericOp op, Value acc) {
  if (!op->hasAttr(kSegmentMatmulAttrName) || !op.hasPureBufferSemantics() ||
      op.getNumDpsInits() != 1 || op.getDpsInits()[0] != acc ||
      llvm::is_contained(op.getDpsInputs(), acc) || op.getNumLoops() != 3)
    return false;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  AffineMap init = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  return iterators[0] == utils::IteratorType::parallel &&
         iterators[1] == utils::IteratorType::parallel &&
         iterators[2] == utils::IteratorType::reduction &&
         init ==
             AffineMap::getMultiDimMapWithTargets(3, {0, 1}, op.getContext());
}

/// The fill and the segment matmul that write `acc` before `epilogue`, its
/// only other readers and writers.
std::optional<std::pair<linalg::FillOp, linalg::GenericOp>>
matchProducers(Value acc, linalg::GenericOp epilogue) {
  linalg::FillOp fill;
  linalg::GenericOp matmul;
  for (Operation *user : acc.getUsers()) {
    if (user == epilogue.getOperation() || isa<memref::DeallocOp>(user))
      continue;
    if (user->getBlock() != epilogue->getBlock() ||
        !user->isBeforeInBlock(epilogue))
      return std::nullopt;
    if (auto candidate = dyn_cast<linalg::FillOp>(user);
        candidate && !fill && candidate.hasPureBufferSemantics() &&
        candidate.getOutputs().front() == acc) {
      fill = candidate;
      continue;
    }
    if (auto candidate = dyn_cast<linalg::GenericOp>(user);
        candidate && !matmul && isSegmentMatmulInto(candidate, acc)) {
      matmul = candidate;
      continue;
    }
    return std::nullopt;
  }
  if (!fill || !matmul || !fill->isBeforeInBlock(matmul))
    return std::nullopt;
  return std::make_pair(fill, matmul);
}

} // namespace

std::optional<GatedGroup>
mlir::moe::matchGatedGroup(linalg::GenericOp epilogue) {
  if (!epilogue->hasAttr(kSegmentEpilogueAttrName) ||
      !epilogue.hasPureBufferSemantics() || epilogue.getNumDpsInputs() < 2 ||
      epilogue.getNumDpsInits() != 1 || epilogue.getNumLoops() != 2 ||
      epilogue.getNumParallelLoops() != 2)
    return std::nullopt;
  AffineMap identity =
      AffineMap::getMultiDimIdentityMap(2, epilogue.getContext());
  for (OpOperand *operand :
       {epilogue.getDpsInputOperand(0), epilogue.getDpsInputOperand(1),
        epilogue.getDpsInitOperand(0)})
    if (epilogue.getMatchingIndexingMap(operand) != identity)
      return std::nullopt;
  GatedGroup group;
  group.epilogue = epilogue;
  group.gateAcc = epilogue.getDpsInputs()[0];
  group.upAcc = epilogue.getDpsInputs()[1];
  if (group.gateAcc == group.upAcc)
    return std::nullopt;
  auto gate = matchProducers(group.gateAcc, epilogue);
  auto up = matchProducers(group.upAcc, epilogue);
  if (!gate || !up)
    return std::nullopt;
  std::tie(group.gateFill, group.gate) = *gate;
  std::tie(group.upFill, group.up) = *up;
  // The producers may move down to the epilogue: nothing between reads or
  // writes memory (an allocation only makes new memory).
  Operation *first = group.gateFill;
  for (Operation *op : group.ops())
    if (op->isBeforeInBlock(first))
      first = op;
  SmallVector<Operation *, 5> members = group.ops();
  for (Operation *op = first; op != epilogue.getOperation();
       op = op->getNextNode())
    if (!llvm::is_contained(members, op) && !isMemoryEffectFree(op) &&
        !isa<memref::AllocOp>(op))
      return std::nullopt;
  return group;
}

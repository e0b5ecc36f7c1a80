//===- BufferAccesses.cpp - The buffers a GPU kernel touches ----*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/GPU/BufferAccesses.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;
using namespace mlir::moe;

/// Whether buffers `a` and `b` (as BufferAccesses keeps them) may overlap:
/// a fresh allocation overlaps itself only; anything else may overlap
/// anything but a fresh allocation.
static bool mayOverlap(Value a, Value b) {
  if (a == b)
    return true;
  return !a.getDefiningOp<memref::AllocOp>() &&
         !b.getDefiningOp<memref::AllocOp>();
}

BufferAccesses BufferAccesses::of(Operation *op) {
  BufferAccesses result;
  result.addEffectsOf(op);
  return result;
}

void BufferAccesses::addEffectsOf(Operation *op) {
  std::optional<SmallVector<MemoryEffects::EffectInstance>> effects =
      getEffectsRecursively(op);
  if (!effects) {
    unknown = true;
    return;
  }
  for (const MemoryEffects::EffectInstance &effect : *effects) {
    // A buffer allocated inside (a block's scratch) is the op's own.
    if (isa<MemoryEffects::Allocate, MemoryEffects::Free>(effect.getEffect()))
      continue;
    Value value = effect.getValue();
    if (!value || !isa<BaseMemRefType>(value.getType())) {
      unknown = true;
      continue;
    }
    add(value, isa<MemoryEffects::Write>(effect.getEffect()));
  }
}

Value mlir::moe::getViewedBuffer(Value value) {
  while (auto view = value.getDefiningOp<ViewLikeOpInterface>())
    value = view.getViewSource();
  return value;
}

void BufferAccesses::add(Value value, bool written) {
  value = getViewedBuffer(value);
  if (auto select = value.getDefiningOp<arith::SelectOp>()) {
    add(select.getTrueValue(), written);
    add(select.getFalseValue(), written);
    return;
  }
  accesses.emplace_back(value, written);
}

bool BufferAccesses::mayWrite(Value buffer) const {
  if (unknown)
    return true;
  return llvm::any_of(accesses, [&](const std::pair<Value, bool> &access) {
    return access.second && mayOverlap(access.first, buffer);
  });
}

bool BufferAccesses::independentOf(const BufferAccesses &other) const {
  if (unknown || other.unknown)
    return false;
  for (auto [first, firstWritten] : accesses)
    for (auto [second, secondWritten] : other.accesses)
      if ((firstWritten || secondWritten) && mayOverlap(first, second))
        return false;
  return true;
}

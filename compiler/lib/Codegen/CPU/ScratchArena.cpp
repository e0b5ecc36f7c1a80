//===- ScratchArena.cpp - The forward pass's buffers in one arena -*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-cpu-scratch-arena: the buffers `moe_forward`
// allocates at its top level, sized by the token count alone, become views
// of the caller's scratch arena, and `moe_scratch_bytes(T)` tells the
// caller how large that arena must be. A call then allocates nothing (and
// touches no fresh page) but what depends on the routing.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/CPU/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOECPUSCRATCHARENAPASS
#include "moe/Codegen/CPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// Whether `value` is a pure function of `tokens`: `tokens` itself, or the
/// result of a side-effect-free op without regions whose operands all are.
bool isFunctionOfTokens(Value value, Value tokens,
                        DenseMap<Value, bool> &known) {
  if (value == tokens)
    return true;
  auto it = known.find(value);
  if (it != known.end())
    return it->second;
  Operation *op = value.getDefiningOp();
  bool result = op && op->getNumRegions() == 0 && isPure(op) &&
                llvm::all_of(op->getOperands(), [&](Value operand) {
                  return isFunctionOfTokens(operand, tokens, known);
                });
  known[value] = result;
  return result;
}

/// Clones the computation of `value` (a function of `tokens`) at `b`'s
/// insertion point, with `tokens` mapped in `mapping`.
Value cloneFunctionOfTokens(OpBuilder &b, Value value, IRMapping &mapping) {
  if (Value mapped = mapping.lookupOrNull(value))
    return mapped;
  Operation *op = value.getDefiningOp();
  for (Value operand : op->getOperands())
    cloneFunctionOfTokens(b, operand, mapping);
  b.clone(*op, mapping);
  return mapping.lookup(value);
}

struct MoECPUScratchArenaPass
    : moe::impl::MoECPUScratchArenaPassBase<MoECPUScratchArenaPass> {
  using MoECPUScratchArenaPassBase::MoECPUScratchArenaPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>(kForwardEntryName);
    if (!forward || forward.isExternal())
      return;
    if (forward.getNumArguments() != kForwardNumArguments) {
      forward.emitError() << "expected " << unsigned(kForwardNumArguments)
                          << " arguments (the token count and four arenas)";
      return signalPassFailure();
    }
    if (module.lookupSymbol(kScratchBytesName)) {
      module.emitError() << "symbol '" << kScratchBytesName
                         << "' is already defined";
      return signalPassFailure();
    }
    Block &body = forward.getBody().front();
    Value tokens = body.getArgument(kForwardTokens);
    Value scratch = body.getArgument(kForwardScratch);

    // The top-level allocations sized by the token count alone, in order.
    DenseMap<Value, bool> known;
    SmallVector<memref::AllocOp> placed;
    for (auto alloc : body.getOps<memref::AllocOp>()) {
      MemRefType type = alloc.getType();
      if (!type.getLayout().isIdentity() || type.getMemorySpace() ||
          type.getElementTypeBitWidth() % 8 != 0 ||
          !alloc.getSymbolOperands().empty())
        continue;
      if (llvm::all_of(alloc.getDynamicSizes(), [&](Value size) {
            return isFunctionOfTokens(size, tokens, known);
          }))
        placed.push_back(alloc);
    }

    // Each becomes a view at the running offset.
    OpBuilder b(&getContext());
    b.setInsertionPointToStart(&body);
    Value offset = arith::ConstantIndexOp::create(b, forward.getLoc(), 0);
    SmallVector<memref::ViewOp> views;
    for (memref::AllocOp alloc : placed) {
      b.setInsertionPoint(alloc);
      Location loc = alloc.getLoc();
      auto view = memref::ViewOp::create(b, loc, alloc.getType(), scratch,
                                         offset, alloc.getDynamicSizes());
      offset = arith::AddIOp::create(
          b, loc, offset,
          buildArenaBytes(b, loc, alloc.getType(), alloc.getDynamicSizes()));
      alloc.replaceAllUsesWith(view.getResult());
      alloc.erase();
      views.push_back(view);
    }

    // moe_scratch_bytes(T): the same sizes, summed.
    b.setInsertionPointAfter(forward);
    Location loc = forward.getLoc();
    auto sizeFunction = func::FuncOp::create(
        b, loc, kScratchBytesName,
        b.getFunctionType({b.getIndexType()}, {b.getIndexType()}));
    Block *sizeBody = sizeFunction.addEntryBlock();
    b.setInsertionPointToStart(sizeBody);
    IRMapping mapping;
    mapping.map(tokens, sizeBody->getArgument(0));
    Value total = arith::ConstantIndexOp::create(b, loc, 0);
    for (memref::ViewOp view : views) {
      SmallVector<Value> sizes;
      for (Value size : view.getSizes())
        sizes.push_back(cloneFunctionOfTokens(b, size, mapping));
      total = arith::AddIOp::create(
          b, loc, total, buildArenaBytes(b, loc, view.getType(), sizes));
    }
    func::ReturnOp::create(b, loc, total);
  }
};

} // namespace

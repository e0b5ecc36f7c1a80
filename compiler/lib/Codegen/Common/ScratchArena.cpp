//===- ScratchArena.cpp - The forward pass's buffers in one arena -*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-scratch-arena: the buffers `moe_forward`
// allocates at its top level, sized by the token count alone, become views
// of the caller's scratch arena, and `moe_scratch_bytes(T)` tells the
// caller how large that arena must be. A call then allocates nothing (and
// touches no fresh page) but what depends on the routing. The outlined
// layers `moe_forward` calls take their buffers from one region after its
// own, which they share: they run one at a time.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/Common/EntryABI.h"
#include "moe/Codegen/Common/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOESCRATCHARENAPASS
#include "moe/Codegen/Common/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// Whether `value` is a pure function of the leaves `isLeaf` accepts: a
/// leaf, or the result of a side-effect-free op without regions whose
/// operands all are.
bool isFunctionOf(Value value, llvm::function_ref<bool(Value)> isLeaf,
                  DenseMap<Value, bool> &known) {
  if (isLeaf(value))
    return true;
  auto it = known.find(value);
  if (it != known.end())
    return it->second;
  Operation *op = value.getDefiningOp();
  bool result = op && op->getNumRegions() == 0 && isPure(op) &&
                llvm::all_of(op->getOperands(), [&](Value operand) {
                  return isFunctionOf(operand, isLeaf, known);
                });
  known[value] = result;
  return result;
}

/// Clones the computation of `value` (a function of the values `mapping`
/// maps) at `b`'s insertion point, folding what folds: a dimension of a
/// mapped view becomes the view's size.
Value cloneFunction(OpBuilder &b, Value value, IRMapping &mapping) {
  if (Value mapped = mapping.lookupOrNull(value))
    return mapped;
  Operation *op = value.getDefiningOp();
  SmallVector<Value> operands;
  for (Value operand : op->getOperands())
    operands.push_back(cloneFunction(b, operand, mapping));
  if (auto dim = dyn_cast<memref::DimOp>(op)) {
    Value folded =
        b.createOrFold<memref::DimOp>(dim.getLoc(), operands[0], operands[1]);
    mapping.map(value, folded);
    return folded;
  }
  b.clone(*op, mapping);
  return mapping.lookup(value);
}

/// Whether `buffer` or a view of it reaches a `func.return`: it outlives
/// the call and cannot take a place in the scratch arena.
bool escapes(Value buffer) {
  for (Operation *user : buffer.getUsers()) {
    if (isa<func::ReturnOp>(user))
      return true;
    if (auto view = dyn_cast<ViewLikeOpInterface>(user))
      if (view.getViewSource() == buffer && escapes(view->getResult(0)))
        return true;
  }
  return false;
}

/// The buffers of `body`'s top level to place in an arena: identity-layout
/// allocations whose sizes `isSize` accepts and that do not escape.
SmallVector<memref::AllocOp>
placeableAllocations(Block &body, llvm::function_ref<bool(Value)> isSize) {
  SmallVector<memref::AllocOp> placed;
  for (auto alloc : body.getOps<memref::AllocOp>()) {
    MemRefType type = alloc.getType();
    if (!type.getLayout().isIdentity() || type.getMemorySpace() ||
        arenaElementBytes(type.getElementType()) == 0 ||
        (type.getElementType().isIntOrFloat() &&
         type.getElementTypeBitWidth() % 8 != 0 &&
         type.getElementTypeBitWidth() != 1) ||
        !alloc.getSymbolOperands().empty() ||
        !llvm::all_of(alloc.getDynamicSizes(), isSize) ||
        escapes(alloc.getResult()))
      continue;
    placed.push_back(alloc);
  }
  return placed;
}

/// Replaces each of `allocs` with a view of `arena` at the running offset
/// from zero; returns the views.
SmallVector<memref::ViewOp> placeInArena(ArrayRef<memref::AllocOp> allocs,
                                         Value arena) {
  SmallVector<memref::ViewOp> views;
  if (allocs.empty())
    return views;
  Block *body = allocs.front()->getBlock();
  auto b = OpBuilder::atBlockBegin(body);
  Value offset = arith::ConstantIndexOp::create(b, arena.getLoc(), 0);
  for (memref::AllocOp alloc : allocs) {
    b.setInsertionPoint(alloc);
    Location loc = alloc.getLoc();
    auto view = memref::ViewOp::create(b, loc, alloc.getType(), arena, offset,
                                       alloc.getDynamicSizes());
    offset = arith::AddIOp::create(
        b, loc, offset,
        buildArenaBytes(b, loc, alloc.getType(), alloc.getDynamicSizes()));
    alloc.replaceAllUsesWith(view.getResult());
    alloc.erase();
    views.push_back(view);
  }
  return views;
}

/// A buffer in an arena: its type and dynamic sizes.
struct ArenaBuffer {
  MemRefType type;
  ValueRange sizes;
};

SmallVector<ArenaBuffer> arenaBuffers(ArrayRef<memref::ViewOp> views) {
  return llvm::map_to_vector(views, [](memref::ViewOp view) {
    return ArenaBuffer{view.getType(), view.getSizes()};
  });
}

SmallVector<ArenaBuffer> arenaBuffers(ArrayRef<memref::AllocOp> allocs) {
  return llvm::map_to_vector(allocs, [](memref::AllocOp alloc) {
    return ArenaBuffer{alloc.getType(), alloc.getDynamicSizes()};
  });
}

/// Whether `call` runs at most once a call of `forward`: in its body, or in
/// the branches of `scf.if`s there (a layer's versions by token count).
bool isCalledOnce(func::CallOp call, func::FuncOp forward) {
  Operation *parent = call->getParentOp();
  while (isa<scf::IfOp>(parent))
    parent = parent->getParentOp();
  return parent == forward.getOperation();
}

/// The bytes `buffers` take together, computed at `b`'s insertion point
/// from the values `mapping` maps.
Value buildArenaTotal(OpBuilder &b, Location loc,
                      ArrayRef<ArenaBuffer> buffers, IRMapping &mapping) {
  Value total = arith::ConstantIndexOp::create(b, loc, 0);
  for (const ArenaBuffer &buffer : buffers) {
    SmallVector<Value> sizes;
    for (Value size : buffer.sizes)
      sizes.push_back(cloneFunction(b, size, mapping));
    total = arith::AddIOp::create(
        b, loc, total, buildArenaBytes(b, loc, buffer.type, sizes));
  }
  return total;
}

struct MoEScratchArenaPass
    : moe::impl::MoEScratchArenaPassBase<MoEScratchArenaPass> {
  using MoEScratchArenaPassBase::MoEScratchArenaPassBase;

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
    DenseMap<Value, bool> known;
    auto isTokens = [&](Value value) { return value == tokens; };
    auto isFunctionOfTokens = [&](Value value) {
      return isFunctionOf(value, isTokens, known);
    };

    // moe_forward's own buffers, one after another from offset zero.
    SmallVector<memref::ViewOp> views = placeInArena(
        placeableAllocations(body, isFunctionOfTokens), scratch);
    OpBuilder b(&getContext());
    Location loc = forward.getLoc();

    // The functions it calls (outlined layers) run one at a time: their
    // buffers share one region after moe_forward's own, as large as the
    // largest call needs.
    Value calleeOffset;
    auto getCalleeOffset = [&] {
      if (!calleeOffset) {
        b.setInsertionPointToStart(&body);
        IRMapping forwardMapping;
        forwardMapping.map(tokens, tokens);
        calleeOffset =
            buildArenaTotal(b, loc, arenaBuffers(views), forwardMapping);
      }
      return calleeOffset;
    };
    SmallVector<Value> calleeNeeds = placeCalleeBuffers(
        module, forward, scratch, getCalleeOffset, isFunctionOfTokens);

    // moe_scratch_bytes(T): moe_forward's buffers, then the callees' region.
    b.setInsertionPointAfter(forward);
    auto sizeFunction = func::FuncOp::create(
        b, loc, kScratchBytesName,
        b.getFunctionType({b.getIndexType()}, {b.getIndexType()}));
    Block *sizeBody = sizeFunction.addEntryBlock();
    b.setInsertionPointToStart(sizeBody);
    IRMapping mapping;
    mapping.map(tokens, sizeBody->getArgument(0));
    Value total = buildArenaTotal(b, loc, arenaBuffers(views), mapping);
    Value largestNeed;
    for (Value need : calleeNeeds) {
      Value cloned = cloneFunction(b, need, mapping);
      largestNeed = largestNeed
                        ? arith::MaxUIOp::create(b, loc, largestNeed, cloned)
                        : cloned;
    }
    if (largestNeed)
      total = arith::AddIOp::create(b, loc, total, largestNeed);
    func::ReturnOp::create(b, loc, total);
  }

  /// Gives the top-level buffers of each function `forward` calls (at its
  /// top level, and nowhere else) a place in `scratch` from the offset
  /// `getOffset` builds:
  /// the function takes its part of the arena as a new last argument.
  /// Returns the bytes each call needs, as functions of the token count
  /// (`isFunctionOfTokens`) at the call.
  SmallVector<Value>
  placeCalleeBuffers(ModuleOp module, func::FuncOp forward, Value scratch,
                     llvm::function_ref<Value()> getOffset,
                     llvm::function_ref<bool(Value)> isFunctionOfTokens) {
    SmallVector<Value> needs;
    auto arenaType = MemRefType::get({ShapedType::kDynamic},
                                     IntegerType::get(&getContext(), 8));
    for (auto callee : module.getOps<func::FuncOp>()) {
      if (callee == forward || callee.isExternal() || callee.isPublic())
        continue;
      std::optional<SymbolTable::UseRange> uses =
          SymbolTable::getSymbolUses(callee, module);
      if (!uses || uses->empty())
        continue;
      SmallVector<func::CallOp> calls;
      for (const SymbolTable::SymbolUse &use : *uses) {
        auto call = dyn_cast<func::CallOp>(use.getUser());
        if (!call || !isCalledOnce(call, forward))
          break;
        calls.push_back(call);
      }
      if (calls.size() != llvm::range_size(*uses))
        continue;

      // The callee's buffers sized by its index arguments and the sizes of
      // its memref arguments.
      Block &body = callee.getBody().front();
      DenseMap<Value, bool> known;
      auto isLeaf = [&](Value value) {
        if (auto arg = dyn_cast<BlockArgument>(value))
          return arg.getOwner() == &body && arg.getType().isIndex();
        auto dim = value.getDefiningOp<memref::DimOp>();
        return dim && isa<BlockArgument>(dim.getSource()) &&
               cast<BlockArgument>(dim.getSource()).getOwner() == &body &&
               dim.getConstantIndex().has_value();
      };
      SmallVector<memref::AllocOp> allocs =
          placeableAllocations(body, [&](Value size) {
            return isFunctionOf(size, isLeaf, known);
          });
      if (allocs.empty())
        continue;

      // What each call needs: the sizes computed from its operands.
      Location loc = callee.getLoc();
      OpBuilder b(&getContext());
      SmallVector<ArenaBuffer> buffers = arenaBuffers(allocs);
      SmallVector<Value> callNeeds;
      for (func::CallOp call : calls) {
        b.setInsertionPoint(call);
        IRMapping mapping;
        mapping.map(body.getArguments(), call.getOperands());
        callNeeds.push_back(buildArenaTotal(b, loc, buffers, mapping));
      }
      if (!llvm::all_of(callNeeds, isFunctionOfTokens))
        continue;

      // The callee's buffers become views of its new last argument, and
      // each call passes its part of the arena.
      // (insertArgument keeps the argument attributes in step.)
      unsigned arenaIndex = callee.getNumArguments();
      // (A callee that cannot take one keeps its allocations.)
      if (failed(callee.insertArgument(arenaIndex, arenaType, DictionaryAttr(),
                                       loc)))
        continue;
      BlockArgument arena = body.getArgument(arenaIndex);
      placeInArena(allocs, arena);
      Value offset = getOffset();
      for (auto [call, need] : llvm::zip_equal(calls, callNeeds)) {
        b.setInsertionPoint(call);
        Value part = memref::ViewOp::create(b, call.getLoc(), arenaType,
                                            scratch, offset, ValueRange{need});
        call.getOperandsMutable().append(part);
        needs.push_back(need);
      }
    }
    return needs;
  }
};

} // namespace

//===- OutlineLayers.cpp - One function per MoE layer -----------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-outline-layers: each `moe.layer`, with the
// producers only it uses, moves into a private function of its own. Layers
// of one shape become identical functions, which upstream's
// duplicate-function-elimination merges, so a deep model compiles each
// distinct layer once instead of one function that grows with every layer.
// The elementwise ops that the layer's result alone feeds (the residual add)
// move with it: left in the caller, each would be one more parallel loop
// there per layer.
//
//===----------------------------------------------------------------------===//

#include "moe/Transforms/Passes.h"
#include "moe/Transforms/TensorUtils.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEOUTLINELAYERSPASS
#include "moe/Transforms/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// The values `op` reads: its operands and, inside its regions, the values
/// defined above it.
SetVector<Value> usedValues(Operation *op) {
  SetVector<Value> used(op->getOperands().begin(), op->getOperands().end());
  getUsedValuesDefinedAbove(op->getRegions(), used);
  return used;
}

/// The `tensor.empty` that `op`'s (destination-style) result is finally
/// written into, following the destination operands of the ops that fill
/// it; null when the destination comes from elsewhere.
Operation *resultDestination(DestinationStyleOpInterface op) {
  return traceDestination(op.getDpsInitOperand(0)->get())
      .getDefiningOp<tensor::EmptyOp>();
}

/// The op that may move into the layer's function after `producer`: the
/// sole user of its single result, in the same block, when that user is an
/// elementwise linalg op with one result (the residual add). Anything else
/// (a return, another layer, a matmul) stays with the caller.
linalg::LinalgOp elementwiseConsumer(Operation *producer) {
  if (producer->getNumResults() != 1 || !producer->getResult(0).hasOneUse())
    return nullptr;
  auto consumer =
      dyn_cast<linalg::LinalgOp>(*producer->getResult(0).getUsers().begin());
  if (!consumer || consumer->getBlock() != producer->getBlock() ||
      consumer->getNumResults() != 1 || !consumer.hasPureTensorSemantics() ||
      consumer.getNumLoops() != consumer.getNumParallelLoops() ||
      !isMemoryEffectFree(consumer))
    return nullptr;
  return consumer;
}

/// Adds to `cluster`, to a fixed point, every memory-effect-free producer in
/// `block` whose results are used by `cluster` alone, but for constants
/// (cloned instead), other layers and `destinations` (which stay with the
/// caller).
void addProducers(llvm::SmallPtrSetImpl<Operation *> &cluster, Block *block,
                  const llvm::SmallPtrSetImpl<Operation *> &destinations) {
  auto inCluster = [&](Operation *user) {
    Operation *ancestor = block->findAncestorOpInBlock(*user);
    return ancestor && cluster.contains(ancestor);
  };
  bool changed = true;
  while (changed) {
    changed = false;
    for (Operation *op : llvm::to_vector(cluster)) {
      for (Value value : usedValues(op)) {
        Operation *producer = value.getDefiningOp();
        if (!producer || producer->getBlock() != block ||
            cluster.contains(producer) || destinations.contains(producer) ||
            isa<LayerOp>(producer) ||
            producer->hasTrait<OpTrait::ConstantLike>() ||
            !isMemoryEffectFree(producer))
          continue;
        if (llvm::all_of(producer->getUsers(), inCluster)) {
          cluster.insert(producer);
          changed = true;
        }
      }
    }
  }
}

/// `layer` and the producers only it uses (its norm, shared experts, fills).
llvm::SmallPtrSet<Operation *, 16> layerProducers(LayerOp layer) {
  llvm::SmallPtrSet<Operation *, 16> cluster = {layer};
  llvm::SmallPtrSet<Operation *, 2> destinations;
  destinations.insert(resultDestination(layer));
  addProducers(cluster, layer->getBlock(), destinations);
  return cluster;
}

/// The ops that move with `layer` into its function, in block order: the
/// layer, the chain of elementwise ops its result alone feeds up to the
/// first op of another layer's producers (`claimed`: the next layer's
/// norm stays with that layer), and the producers only they use. The final
/// destinations of the layer and of the chain's last op stay with the
/// caller.
SmallVector<Operation *> layerCluster(LayerOp layer,
                                      const DenseSet<Operation *> &claimed) {
  llvm::SmallPtrSet<Operation *, 16> cluster = {layer};
  llvm::SmallPtrSet<Operation *, 2> destinations;
  destinations.insert(resultDestination(layer));
  Operation *last = layer;
  while (linalg::LinalgOp consumer = elementwiseConsumer(last)) {
    if (claimed.contains(consumer))
      break;
    cluster.insert(consumer);
    last = consumer;
  }
  if (last != layer)
    destinations.insert(
        resultDestination(cast<DestinationStyleOpInterface>(last)));
  addProducers(cluster, layer->getBlock(), destinations);
  SmallVector<Operation *> ordered(cluster.begin(), cluster.end());
  llvm::sort(ordered,
             [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  return ordered;
}

struct MoEOutlineLayersPass
    : moe::impl::MoEOutlineLayersPassBase<MoEOutlineLayersPass> {
  using MoEOutlineLayersPassBase::MoEOutlineLayersPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    for (auto func : llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (func.isExternal() || func->hasAttr(kLayerFunctionAttrName))
        continue;
      SmallVector<LayerOp> layers;
      for (Block &block : func.getBody())
        for (auto layer : block.getOps<LayerOp>())
          layers.push_back(layer);
      // Each layer's producers, found before any moves: a layer's chain of
      // consumers stops where the next layer's producers begin.
      DenseSet<Operation *> claimed;
      for (LayerOp layer : layers)
        for (Operation *op : layerProducers(layer))
          if (op != layer)
            claimed.insert(op);
      for (LayerOp layer : layers)
        outline(symbols, layer, claimed);
    }
  }

  /// Moves `layer`'s cluster into a new function at the end of the module
  /// and calls it in the place of the cluster's last op, which every
  /// argument dominates.
  void outline(SymbolTable &symbols, LayerOp layer,
               const DenseSet<Operation *> &claimed) {
    SmallVector<Operation *> cluster = layerCluster(layer, claimed);
    llvm::SmallPtrSet<Operation *, 16> members(cluster.begin(), cluster.end());
    Operation *last = cluster.back();

    // Arguments: what the cluster reads from outside, in order of first
    // use, so layers of one shape get one signature. Constants are cloned.
    SetVector<Value> arguments;
    for (Operation *op : cluster)
      for (Value value : usedValues(op)) {
        Operation *producer = value.getDefiningOp();
        if (producer && (members.contains(producer) ||
                         producer->hasTrait<OpTrait::ConstantLike>()))
          continue;
        arguments.insert(value);
      }

    Location loc = layer.getLoc();
    auto b =
        OpBuilder::atBlockEnd(layer->getParentOfType<ModuleOp>().getBody());
    auto function = func::FuncOp::create(
        b, loc, "moe_layer",
        b.getFunctionType(ValueRange(arguments.getArrayRef()).getTypes(),
                          last->getResultTypes()));
    symbols.insert(function);
    function.setPrivate();
    function.setNoInline(true);
    function->setAttr(kLayerFunctionAttrName, b.getUnitAttr());

    Block *body = function.addEntryBlock();
    IRMapping mapping;
    mapping.map(arguments.getArrayRef(), body->getArguments());
    b.setInsertionPointToStart(body);
    for (Operation *op : cluster) {
      for (Value value : usedValues(op)) {
        Operation *producer = value.getDefiningOp();
        if (producer && producer->hasTrait<OpTrait::ConstantLike>() &&
            !mapping.contains(value))
          b.clone(*producer, mapping);
      }
      b.clone(*op, mapping);
    }
    SmallVector<Value> results;
    for (Value result : last->getResults())
      results.push_back(mapping.lookup(result));
    func::ReturnOp::create(b, loc, results);

    b.setInsertionPoint(last);
    auto call = func::CallOp::create(b, loc, function, arguments.getArrayRef());
    call.setNoInline(true);
    last->replaceAllUsesWith(call.getResults());
    for (Operation *op : llvm::reverse(cluster))
      op->erase();
  }
};

} // namespace

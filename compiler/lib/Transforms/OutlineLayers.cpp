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
//
//===----------------------------------------------------------------------===//

#include "moe/Transforms/Passes.h"
#include "moe/Transforms/TensorUtils.h"

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

/// The `tensor.empty` that `layer`'s result is finally written into,
/// following the destination operands of the ops that fill it; null when
/// the destination comes from elsewhere.
Operation *resultDestination(LayerOp layer) {
  return traceDestination(layer.getDpsInitOperand(0)->get())
      .getDefiningOp<tensor::EmptyOp>();
}

/// The ops that move with `layer` into its function, in block order: the
/// layer and, to a fixed point, every memory-effect-free producer in its
/// block whose results are used by those ops alone. Constants are cloned
/// instead, and the layer's final destination stays with the caller.
SmallVector<Operation *> layerCluster(LayerOp layer) {
  Block *block = layer->getBlock();
  Operation *destination = resultDestination(layer);
  llvm::SmallPtrSet<Operation *, 16> cluster = {layer};
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
            cluster.contains(producer) || producer == destination ||
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
      for (LayerOp layer : layers)
        outline(symbols, layer);
    }
  }

  /// Moves `layer`'s cluster into a new function at the end of the module
  /// and calls it in the layer's place.
  void outline(SymbolTable &symbols, LayerOp layer) {
    SmallVector<Operation *> cluster = layerCluster(layer);
    llvm::SmallPtrSet<Operation *, 16> members(cluster.begin(), cluster.end());

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
                          layer->getResultTypes()));
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
    for (Value result : layer->getResults())
      results.push_back(mapping.lookup(result));
    func::ReturnOp::create(b, loc, results);

    b.setInsertionPoint(layer);
    auto call = func::CallOp::create(b, loc, function, arguments.getArrayRef());
    call.setNoInline(true);
    layer->replaceAllUsesWith(call.getResults());
    for (Operation *op : llvm::reverse(cluster))
      op->erase();
  }
};

} // namespace

//===- MergeKernelModules.cpp - One gpu.module for all kernels --*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-gpu-merge-kernel-modules (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/GPU/Passes.h"

#include "mlir/IR/SymbolTable.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEGPUMERGEKERNELMODULESPASS
#include "moe/Codegen/GPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

struct MoEGPUMergeKernelModulesPass
    : moe::impl::MoEGPUMergeKernelModulesPassBase<
          MoEGPUMergeKernelModulesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> kernelModules(
        module.getOps<gpu::GPUModuleOp>());
    if (kernelModules.size() < 2)
      return;
    gpu::GPUModuleOp target = kernelModules.front();
    SymbolTable targetSymbols(target);
    DenseMap<Attribute, SymbolRefAttr> moved;
    for (gpu::GPUModuleOp source : ArrayRef(kernelModules).drop_front()) {
      for (Operation &op :
           llvm::make_early_inc_range(source.getBody()->getOperations())) {
        auto symbol = dyn_cast<SymbolOpInterface>(&op);
        if (!symbol) {
          op.emitError("cannot merge this op into one gpu.module");
          return signalPassFailure();
        }
        SymbolRefAttr oldRef = SymbolRefAttr::get(
            source.getNameAttr(),
            {FlatSymbolRefAttr::get(symbol.getNameAttr())});
        op.moveBefore(target.getBody(), target.getBody()->end());
        // insert() renames a symbol that would clash.
        StringAttr name = targetSymbols.insert(&op);
        moved[oldRef] = SymbolRefAttr::get(
            target.getNameAttr(), {FlatSymbolRefAttr::get(name)});
      }
      source.erase();
    }
    module.walk([&](gpu::LaunchFuncOp launch) {
      auto it = moved.find(launch.getKernel());
      if (it != moved.end())
        launch.setKernelAttr(it->second);
    });
    target.setName("moe_kernels");
    module.walk([&](gpu::LaunchFuncOp launch) {
      launch.setKernelAttr(SymbolRefAttr::get(
          target.getNameAttr(),
          {FlatSymbolRefAttr::get(launch.getKernelName())}));
    });
  }
};

} // namespace

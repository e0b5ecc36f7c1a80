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

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
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

/// Bytes a kernel's workgroup buffers are aligned to.
constexpr int64_t kWorkgroupAlignment = 16;

struct MoEGPUMergeKernelModulesPass
    : moe::impl::MoEGPUMergeKernelModulesPassBase<
          MoEGPUMergeKernelModulesPass> {
  using MoEGPUMergeKernelModulesPassBase::MoEGPUMergeKernelModulesPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (gemmMinBlocksPerSM < 0) {
      module.emitError("moe-gpu-merge-kernel-modules: gemm-min-blocks-per-sm "
                       "must not be negative");
      return signalPassFailure();
    }
    SmallVector<gpu::GPUModuleOp> kernelModules(
        module.getOps<gpu::GPUModuleOp>());
    if (kernelModules.empty())
      return;
    gpu::GPUModuleOp target = kernelModules.front();
    StringAttr targetOldName = target.getNameAttr();
    target.setName("moe_kernels");
    SymbolTable targetSymbols(target);
    // Old reference (module, kernel) to the kernel's new name.
    DenseMap<std::pair<StringAttr, StringAttr>, StringAttr> renamed;
    for (gpu::GPUModuleOp source : kernelModules) {
      StringAttr sourceName =
          source == target ? targetOldName : source.getNameAttr();
      for (Operation &op :
           llvm::make_early_inc_range(source.getBody()->getOperations())) {
        auto symbol = dyn_cast<SymbolOpInterface>(&op);
        if (!symbol) {
          op.emitError("cannot merge this op into one gpu.module");
          return signalPassFailure();
        }
        StringAttr oldName = symbol.getNameAttr();
        if (source != target) {
          op.moveBefore(target.getBody(), target.getBody()->end());
          // insert() renames a symbol that would clash.
          targetSymbols.insert(&op);
        }
        if (auto role = dyn_cast<NameLoc>(op.getLoc());
            role && role.getName() == kGroupedMatmulKernelName) {
          std::string base = oldName.str();
          base = base.substr(0, base.find("_kernel")) + "_" +
                 kGroupedMatmulKernelName.str();
          std::string name = base;
          for (int n = 0; targetSymbols.lookup(name); ++n)
            name = base + "_" + std::to_string(n);
          if (failed(targetSymbols.rename(&op, name))) {
            op.emitError("cannot rename this kernel");
            return signalPassFailure();
          }
          if (gemmMinBlocksPerSM > 0)
            op.setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                       IntegerAttr::get(IntegerType::get(&getContext(), 32),
                                        gemmMinBlocksPerSM));
        }
        renamed[{sourceName, oldName}] = symbol.getNameAttr();
      }
      if (source != target)
        source.erase();
    }
    // A gpu.launch's workgroup attributions carry no attributes, so the
    // outlined kernel's have no alignment, and LLVM would give the buffer
    // its element's: moe-gpu-warp-mma's staged chunks take 16-byte loads.
    for (auto kernel : target.getOps<gpu::GPUFuncOp>())
      for (unsigned index = 0; index < kernel.getNumWorkgroupAttributions();
           ++index)
        if (!kernel.getWorkgroupAttributionAttr(
                index, LLVM::LLVMDialect::getAlignAttrName()))
          kernel.setWorkgroupAttributionAttr(
              index, LLVM::LLVMDialect::getAlignAttrName(),
              IntegerAttr::get(IntegerType::get(&getContext(), 64),
                               kWorkgroupAlignment));
    module.walk([&](gpu::LaunchFuncOp launch) {
      auto it =
          renamed.find({launch.getKernelModuleName(), launch.getKernelName()});
      if (it == renamed.end())
        return;
      launch.setKernelAttr(SymbolRefAttr::get(
          target.getNameAttr(), {FlatSymbolRefAttr::get(it->second)}));
    });
  }
};

} // namespace

//===- ExternDynamicSharedMemory.cpp - Extern dynamic smem ----*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-gpu-extern-dynamic-shared-memory: the zero-sized
// shared-memory globals of lowered gpu.dynamic_shared_memory ops get
// external linkage (see the pass description).
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/GPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEGPUEXTERNDYNAMICSHAREDMEMORYPASS
#include "moe/Codegen/GPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

struct MoEGPUExternDynamicSharedMemoryPass
    : moe::impl::MoEGPUExternDynamicSharedMemoryPassBase<
          MoEGPUExternDynamicSharedMemoryPass> {
  void runOnOperation() override {
    for (auto global : getOperation().getOps<LLVM::GlobalOp>()) {
      auto array = dyn_cast<LLVM::LLVMArrayType>(global.getGlobalType());
      if (!array || array.getNumElements() != 0 ||
          global.getAddrSpace() !=
              static_cast<unsigned>(NVVM::NVVMMemorySpace::Shared))
        continue;
      global.setLinkage(LLVM::Linkage::External);
    }
  }
};

} // namespace

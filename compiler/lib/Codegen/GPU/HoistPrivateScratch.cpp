//===- HoistPrivateScratch.cpp - Scratch to the kernel entry ---*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-gpu-hoist-private-scratch: the static allocas of
// workers move to the entry block of their kernel, or of the function on
// the host (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/GPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEGPUHOISTPRIVATESCRATCHPASS
#include "moe/Codegen/GPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// The outermost gpu.launch around `op`, or null.
gpu::LaunchOp outermostLaunch(Operation *op) {
  gpu::LaunchOp outermost;
  for (auto launch = op->getParentOfType<gpu::LaunchOp>(); launch;
       launch = launch->getParentOfType<gpu::LaunchOp>())
    outermost = launch;
  return outermost;
}

struct MoEGPUHoistPrivateScratchPass
    : moe::impl::MoEGPUHoistPrivateScratchPassBase<
          MoEGPUHoistPrivateScratchPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    SmallVector<memref::AllocaOp> allocas;
    func.walk([&](memref::AllocaOp alloca) {
      if (alloca->getNumOperands() == 0 &&
          (alloca->getParentOfType<scf::ForallOp>() ||
           alloca->getParentOfType<gpu::LaunchOp>()))
        allocas.push_back(alloca);
    });
    IRRewriter rewriter(&getContext());
    for (memref::AllocaOp alloca : allocas) {
      gpu::LaunchOp launch = outermostLaunch(alloca);
      Block &entry = launch ? launch.getBody().front() : func.getBody().front();
      rewriter.moveOpBefore(alloca, &entry, entry.begin());
    }
  }
};

} // namespace

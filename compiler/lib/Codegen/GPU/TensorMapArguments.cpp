//===- TensorMapArguments.cpp - Tensor maps as kernel pointers --*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-gpu-tensor-map-arguments: kernel arguments of
// type !nvgpu.tensormap.descriptor become the !llvm.ptr they lower to (see
// the pass description).
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/GPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEGPUTENSORMAPARGUMENTSPASS
#include "moe/Codegen/GPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

struct MoEGPUTensorMapArgumentsPass
    : moe::impl::MoEGPUTensorMapArgumentsPassBase<
          MoEGPUTensorMapArgumentsPass> {
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    Type pointer = LLVM::LLVMPointerType::get(context);
    auto isMap = [](Type type) {
      return isa<nvgpu::TensorMapDescriptorType>(type);
    };
    // The kernels: each map argument a pointer, cast back at the entry.
    getOperation().walk([&](gpu::GPUFuncOp kernel) {
      if (!kernel.isKernel() || kernel.isExternal() ||
          llvm::none_of(kernel.getArgumentTypes(), isMap))
        return;
      Block &entry = kernel.front();
      OpBuilder b = OpBuilder::atBlockBegin(&entry);
      SmallVector<Type> inputs(kernel.getArgumentTypes());
      for (BlockArgument argument : entry.getArguments()) {
        Type type = argument.getType();
        if (!isMap(type))
          continue;
        argument.setType(pointer);
        auto map = UnrealizedConversionCastOp::create(
            b, argument.getLoc(), type, ValueRange{argument});
        argument.replaceAllUsesExcept(map.getResult(0), map);
        inputs[argument.getArgNumber()] = pointer;
      }
      kernel.setFunctionType(
          FunctionType::get(context, inputs, kernel.getResultTypes()));
    });
    // The launches: each map operand cast to the pointer.
    getOperation().walk([&](gpu::LaunchFuncOp launch) {
      OpBuilder b(launch);
      for (OpOperand &operand : launch.getKernelOperandsMutable()) {
        if (!isMap(operand.get().getType()))
          continue;
        operand.set(UnrealizedConversionCastOp::create(b, launch.getLoc(),
                                                       pointer, operand.get())
                        .getResult(0));
      }
    });
  }
};

} // namespace

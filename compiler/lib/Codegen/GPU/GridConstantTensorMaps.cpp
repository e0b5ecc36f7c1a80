//===- GridConstantTensorMaps.cpp - Tensor maps by value --------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-gpu-grid-constant-tensor-maps: TMA tensor maps
// reach the kernels as 128-byte grid-constant parameters (see the pass
// description).
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/GPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEGPUGRIDCONSTANTTENSORMAPSPASS
#include "moe/Codegen/GPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// The runtime function that makes a tensor map on the host (upstream's
/// lowering of nvgpu.tma.create.descriptor calls it).
constexpr llvm::StringLiteral kEncodeTensorMap =
    "mgpuTensorMapEncodeTiledMemref";
/// A CUtensorMap: 128 bytes, 64-byte aligned.
constexpr int64_t kTensorMapBytes = 128, kTensorMapAlignment = 64;

/// The tensor map the host made that `value` is, through the casts that
/// the conversions left on its way to the launch; null if it is none.
Value getHostTensorMap(Value value) {
  while (auto cast = value.getDefiningOp<UnrealizedConversionCastOp>()) {
    if (cast.getInputs().size() != 1)
      return Value();
    value = cast.getInputs().front();
  }
  auto call = value.getDefiningOp<LLVM::CallOp>();
  return call && call.getCallee() == kEncodeTensorMap ? value : Value();
}

/// Whether `use` takes the tensor map as a TMA instruction's map: a copy's
/// or a prefetch's (which take a parameter's address as CUDA's
/// __grid_constant__ maps give it), as an NVVM op or as the inline PTX
/// that convert-nvvm-to-llvm lowers such ops to.
bool isTensorMapUse(OpOperand &use) {
  Operation *user = use.getOwner();
  if (auto inlineAsm = dyn_cast<LLVM::InlineAsmOp>(user)) {
    StringRef text = inlineAsm.getAsmString();
    return text.contains("cp.async.bulk.tensor") ||
           text.contains("prefetch.tensormap");
  }
  if (auto copy =
          dyn_cast<NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp>(user))
    return &copy.getTmaDescriptorMutable() == &use;
  if (auto prefetch = dyn_cast<NVVM::PrefetchOp>(user))
    return prefetch.getTensormap();
  return false;
}

struct MoEGPUGridConstantTensorMapsPass
    : moe::impl::MoEGPUGridConstantTensorMapsPassBase<
          MoEGPUGridConstantTensorMapsPass> {
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    auto mapValueType = LLVM::LLVMArrayType::get(IntegerType::get(context, 64),
                                                 kTensorMapBytes / 8);
    // Each kernel's map arguments, and the launches' operands (with their
    // kernels) that pass other values: an error where that is a map
    // argument.
    llvm::MapVector<Operation *, llvm::SmallSetVector<unsigned, 4>> maps;
    SmallVector<std::tuple<gpu::LaunchFuncOp, Operation *, unsigned>> others;
    bool failed = false;
    getOperation().walk([&](gpu::LaunchFuncOp launch) {
      auto kernel = SymbolTable::lookupNearestSymbolFrom<LLVM::LLVMFuncOp>(
          launch, launch.getKernel());
      if (!kernel)
        return;
      if (launch.getNumKernelOperands() != kernel.getNumArguments()) {
        // Not the one-to-one operands this pass relies on.
        if (llvm::any_of(launch.getKernelOperands(), getHostTensorMap)) {
          launch.emitOpError("passes ")
              << launch.getNumKernelOperands() << " operands to kernel "
              << kernel.getName() << " of " << kernel.getNumArguments()
              << " arguments: its tensor maps cannot be matched to them";
          failed = true;
        }
        return;
      }
      OpBuilder b(launch);
      for (auto [index, operand] :
           llvm::enumerate(launch.getKernelOperandsMutable())) {
        Value map = getHostTensorMap(operand.get());
        if (!map) {
          others.emplace_back(launch, kernel, index);
          continue;
        }
        // The map's bytes, which the driver copies into the launch's
        // parameters.
        operand.set(LLVM::LoadOp::create(b, launch.getLoc(), mapValueType, map,
                                         /*alignment=*/8));
        maps[kernel].insert(index);
      }
    });
    if (failed)
      return signalPassFailure();
    for (auto [launch, kernel, index] : others) {
      auto found = maps.find(kernel);
      if (found != maps.end() && found->second.contains(index)) {
        launch.emitOpError("passes kernel argument ")
            << index
            << " a value that is not a tensor map, where another launch of "
               "the kernel passes one";
        return signalPassFailure();
      }
    }
    Type mapBytes =
        LLVM::LLVMArrayType::get(IntegerType::get(context, 8), kTensorMapBytes);
    for (auto &[op, indices] : maps) {
      auto kernel = cast<LLVM::LLVMFuncOp>(op);
      for (unsigned index : indices) {
        BlockArgument argument = kernel.getArgument(index);
        if (!isa<LLVM::LLVMPointerType>(argument.getType())) {
          kernel.emitOpError("takes a tensor map as argument ")
              << index << " of type " << argument.getType()
              << ", not the pointer it lowers to";
          return signalPassFailure();
        }
        for (OpOperand &use : argument.getUses()) {
          if (isTensorMapUse(use))
            continue;
          use.getOwner()->emitOpError("uses the tensor map of argument ")
              << index << " of kernel " << kernel.getName()
              << " otherwise than as a TMA copy's or prefetch's map; a "
                 "grid-constant map is only those instructions'";
          return signalPassFailure();
        }
        kernel.setArgAttr(index, LLVM::LLVMDialect::getByValAttrName(),
                          TypeAttr::get(mapBytes));
        kernel.setArgAttr(index, LLVM::LLVMDialect::getAlignAttrName(),
                          IntegerAttr::get(IntegerType::get(context, 64),
                                           kTensorMapAlignment));
        kernel.setArgAttr(index, NVVM::NVVMDialect::getGridConstantAttrName(),
                          UnitAttr::get(context));
      }
    }
    // A map that reached its launch some other way than from the call
    // (through a block argument, say) would leave its kernel argument a
    // pointer to host memory: every kernel argument that TMA instructions
    // take as a map must now be grid-constant.
    getOperation().walk([&](LLVM::LLVMFuncOp kernel) {
      if (!kernel->hasAttr(NVVM::NVVMDialect::getKernelFuncAttrName()) ||
          kernel.isExternal())
        return;
      for (BlockArgument argument : kernel.getArguments()) {
        if (kernel.getArgAttr(argument.getArgNumber(),
                              NVVM::NVVMDialect::getGridConstantAttrName()) ||
            llvm::none_of(argument.getUses(), isTensorMapUse))
          continue;
        kernel.emitOpError("takes argument ")
            << argument.getArgNumber()
            << " as a TMA tensor map, but no launch passes it a map the "
               "host made (mgpuTensorMapEncodeTiledMemref)";
        failed = true;
      }
    });
    if (failed)
      signalPassFailure();
  }
};

} // namespace

//===- Passes.h - GPU code generation passes --------------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_CODEGEN_GPU_PASSES_H
#define MOE_CODEGEN_GPU_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace moe {

/// The name location moe-gpu-distribute gives the kernels of segment loops
/// (the grouped matmuls), and the suffix moe-gpu-merge-kernel-modules names
/// them by.
constexpr llvm::StringLiteral kGroupedMatmulKernelName = "grouped_matmul";

#define GEN_PASS_DECL
#include "moe/Codegen/GPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "moe/Codegen/GPU/Passes.h.inc"

} // namespace moe
} // namespace mlir

#endif // MOE_CODEGEN_GPU_PASSES_H

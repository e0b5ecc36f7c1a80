//===- Passes.h - CPU code generation passes --------------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_CODEGEN_CPU_PASSES_H
#define MOE_CODEGEN_CPU_PASSES_H

#include "mlir/Dialect/AMX/AMXDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "moe/Codegen/Common/EntryABI.h"
#include "moe/Dialect/MoE/IR/MoEDialect.h"

namespace mlir {
namespace moe {

/// f32 lanes of one AVX-512 BF16 dot product (`vdpbf16ps` on zmm): the N
/// tile of the pair-layout kernels.
constexpr int64_t kBF16DotLanes = 16;

/// Rows of an AMX tile, the row block of moe-cpu-tile-and-vectorize's
/// amx-tiles kernels, to which the CPU pipeline pads the segments with
/// --amx, so that no remainder rows are left.
constexpr int64_t kAMXBlockRows = 16;

#define GEN_PASS_DECL
#include "moe/Codegen/CPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "moe/Codegen/CPU/Passes.h.inc"

/// Adds what the CPU code generation needs of upstream dialects beyond
/// their own registration: an inliner interface for x86vector.
void registerCPUCodegenDialectExtensions(DialectRegistry &registry);

} // namespace moe
} // namespace mlir

#endif // MOE_CODEGEN_CPU_PASSES_H

//===- Passes.h - CPU code generation passes --------------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_CODEGEN_CPU_PASSES_H
#define MOE_CODEGEN_CPU_PASSES_H

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
#include "moe/ABI/ABI.h"
#include "moe/Dialect/MoE/IR/MoEDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace moe {

/// Name of the entry point every compiled model exports.
constexpr const char kForwardEntryName[] = MOE_ABI_FORWARD_NAME;
/// Name of the load-time weight preparation entry point.
constexpr const char kPrepareEntryName[] = MOE_ABI_PREPARE_NAME;
/// Alignment of every tensor in a byte arena (docs/abi.md).
constexpr int64_t kArenaAlignment = MOE_ABI_ARENA_ALIGNMENT;
/// Builds the bytes a buffer of `type` (dynamic sizes `dynamicSizes`) takes
/// in a byte arena, rounded up to `kArenaAlignment`: the step from its
/// offset to the next tensor's.
Value buildArenaBytes(OpBuilder &b, Location loc, MemRefType type,
                      ValueRange dynamicSizes);
/// Name of the function that gives the scratch arena's size for T tokens.
constexpr const char kScratchBytesName[] = MOE_ABI_SCRATCH_BYTES_NAME;
/// Arguments of `moe_forward`: the token count, then the byte arenas.
enum ForwardArgument : unsigned {
  kForwardTokens = MOE_FORWARD_TOKENS,
  kForwardInputs = MOE_FORWARD_INPUTS,
  kForwardParams = MOE_FORWARD_PARAMS,
  kForwardOutputs = MOE_FORWARD_OUTPUTS,
  kForwardScratch = MOE_FORWARD_SCRATCH,
  kForwardNumArguments = MOE_FORWARD_NUM_ARGUMENTS
};
/// f32 lanes of one AVX-512 BF16 dot product (`vdpbf16ps` on zmm): the N
/// tile of the pair-layout kernels.
constexpr int64_t kBF16DotLanes = 16;

#define GEN_PASS_DECL
#include "moe/Codegen/CPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "moe/Codegen/CPU/Passes.h.inc"

} // namespace moe
} // namespace mlir

#endif // MOE_CODEGEN_CPU_PASSES_H

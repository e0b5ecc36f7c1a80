//===- Pipelines.h - moe-mlir pass pipelines --------------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file declares the named pass pipelines of moe-mlir, one per target,
// and the stage builders they are chained from. `moe-opt` registers them by
// name; `moe-compile` calls the same builders.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_PIPELINES_PIPELINES_H
#define MOE_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;

namespace moe {

/// Options of the MoE dialect decomposition stage.
struct DecompositionOptions : public PassPipelineOptions<DecompositionOptions> {
  PassOptions::Option<bool> decomposeExpertFFN{
      *this, "decompose-expert-ffn",
      llvm::cl::desc("Decompose moe.expert_ffn into moe.grouped_matmul ops "
                     "and an elementwise activation"),
      llvm::cl::init(true)};
};

/// Options of the CPU pipeline.
struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  PassOptions::Option<bool> decomposeExpertFFN{
      *this, "decompose-expert-ffn",
      llvm::cl::desc("Decompose moe.expert_ffn into moe.grouped_matmul ops "
                     "and an elementwise activation"),
      llvm::cl::init(true)};
};

/// Adds the passes expanding `moe.layer` into the MoE step ops (and, when
/// asked, expert FFNs into grouped matmuls), then cleans up.
void buildMoEDecompositionPipeline(OpPassManager &pm,
                                   const DecompositionOptions &options);

/// Adds the lowering of the MoE step ops to linalg, scf and tensor ops.
void buildMoEToLinalgStage(OpPassManager &pm);

/// Adds the CPU entry-point ABI, inlining and bufferization.
void buildMoECPUBufferizationStage(OpPassManager &pm);

/// Adds the lowering of loops, memrefs, arith and math to the LLVM dialect.
void buildMoECPUToLLVMStage(OpPassManager &pm);

/// Adds the CPU pipeline: a module holding one function marked `moe.entry`
/// in the MoE dialect, to the LLVM dialect with a `moe_forward` entry point
/// (see docs/abi.md).
void buildMoECPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

/// Registers `moe-decomposition-pipeline` and `moe-cpu-pipeline`.
void registerMoEPipelines();

} // namespace moe
} // namespace mlir

#endif // MOE_PIPELINES_PIPELINES_H

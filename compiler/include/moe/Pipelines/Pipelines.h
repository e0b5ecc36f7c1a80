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

/// Adds the CPU pipeline: MoE dialect to code for the host CPU. It runs the
/// decomposition stage; the lowering stages follow as they are built.
void buildMoECPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

/// Registers `moe-decomposition-pipeline` and `moe-cpu-pipeline`.
void registerMoEPipelines();

} // namespace moe
} // namespace mlir

#endif // MOE_PIPELINES_PIPELINES_H

//===- CPUPipeline.cpp - The moe-mlir CPU pipeline --------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements the pass pipelines that take the MoE dialect to code
// for the host CPU, as a chain of stage builders.
//
//===----------------------------------------------------------------------===//

#include "moe/Pipelines/Pipelines.h"
#include "moe/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::moe;

//===----------------------------------------------------------------------===//
// Pipeline stages
//===----------------------------------------------------------------------===//

void mlir::moe::buildMoEDecompositionPipeline(
    OpPassManager &pm, const DecompositionOptions &options) {
  OpPassManager &funcPm = pm.nest<func::FuncOp>();
  funcPm.addPass(createMoEDecomposeLayerPass());
  if (options.decomposeExpertFFN)
    funcPm.addPass(createMoEDecomposeExpertFFNPass());
  funcPm.addPass(createCanonicalizerPass());
  funcPm.addPass(createCSEPass());
}

void mlir::moe::buildMoECPUPipeline(OpPassManager &pm,
                                    const CPUPipelineOptions &options) {
  DecompositionOptions decomposition;
  decomposition.decomposeExpertFFN = options.decomposeExpertFFN;
  buildMoEDecompositionPipeline(pm, decomposition);
}

//===----------------------------------------------------------------------===//
// Pipeline registration.
//===----------------------------------------------------------------------===//

void mlir::moe::registerMoEPipelines() {
  PassPipelineRegistration<DecompositionOptions>(
      "moe-decomposition-pipeline",
      "Expand moe.layer into the MoE step ops and expert FFNs into grouped "
      "matmuls",
      buildMoEDecompositionPipeline);
  PassPipelineRegistration<CPUPipelineOptions>(
      "moe-cpu-pipeline", "Compile the MoE dialect for the host CPU",
      buildMoECPUPipeline);
}

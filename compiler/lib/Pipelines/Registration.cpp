//===- Registration.cpp - Named moe-mlir pipelines -------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file registers the pass pipelines of moe-mlir by name, for moe-opt,
// and the dialects they use, for moe-opt and moe-compile.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/CPU/Passes.h"
#include "moe/Dialect/MoE/IR/MoEDialect.h"
#include "moe/Pipelines/Pipelines.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

#include "mlir/Pass/PassRegistry.h"

using namespace mlir;
using namespace mlir::moe;

//===----------------------------------------------------------------------===//
// Pipeline registration.
//===----------------------------------------------------------------------===//

void mlir::moe::registerMoEDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registerCPUCodegenDialectExtensions(registry);
  registry.insert<MoEDialect>();
}

void mlir::moe::registerMoEPipelines() {
  PassPipelineRegistration<DecompositionOptions>(
      "moe-decomposition-pipeline",
      "Expand moe.layer into the MoE step ops and expert FFNs into grouped "
      "matmuls",
      buildMoEDecompositionPipeline);
  PassPipelineRegistration<>(
      "moe-to-linalg-pipeline",
      "Lower the MoE step ops to linalg, scf and tensor ops, then clean up",
      [](OpPassManager &pm) { buildMoEToLinalgStage(pm); });
  PassPipelineRegistration<CPUPipelineOptions>(
      "moe-cpu-pipeline",
      "Compile a module with a 'moe.entry' function in the MoE dialect to "
      "the LLVM dialect for the host CPU",
      buildMoECPUPipeline);
  // (PassPipelineRegistration's, with the options checked: a wrong
  // combination is an error, not a pipeline that fails later.)
  registerPassPipeline(
      "moe-nvptx-pipeline",
      "Compile a module with a 'moe.entry' function in the MoE dialect to "
      "the LLVM dialect for the host, launching NVPTX kernels",
      [](OpPassManager &pm, StringRef optionsText,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        NVPTXPipelineOptions options;
        if (failed(options.parseFromString(optionsText)))
          return failure();
        std::string error = verifyNVPTXPipelineOptions(options);
        if (!error.empty())
          return errorHandler(error);
        buildMoENVPTXPipeline(pm, options);
        return success();
      },
      [](function_ref<void(const mlir::detail::PassOptions &)> optionsHandler) {
        optionsHandler(NVPTXPipelineOptions());
      });
}

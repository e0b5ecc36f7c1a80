//===- MoEOptMain.cpp - The moe-opt driver ----------------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-opt: upstream's MlirOptMain with every dialect and
// pass registered, run on a thread with a large stack after a scan that
// refuses input nested too deeply for it (MLIR's parser recurses once per
// bracket, and upstream mlir-opt overflows its stack on such input).
//
//===----------------------------------------------------------------------===//

#include "moe/Tools/MoEOptMain.h"

#include "moe/Codegen/CPU/Passes.h"
#include "moe/Codegen/Common/Passes.h"
#include "moe/Codegen/GPU/Passes.h"
#include "moe/Conversion/Passes.h"
#include "moe/Dialect/MoE/IR/MoEDialect.h"
#include "moe/Pipelines/Pipelines.h"
#include "moe/Support/ParseLimits.h"
#include "moe/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;

namespace {

/// Opens the input, refuses it if it nests too deeply, and runs
/// MlirOptMain on it.
LogicalResult processInputFile(llvm::StringRef inputFilename,
                               llvm::StringRef outputFilename,
                               DialectRegistry &registry,
                               const MlirOptMainConfig &config) {
  std::string errorMessage;
  std::unique_ptr<llvm::MemoryBuffer> input =
      openInputFile(inputFilename, &errorMessage);
  if (!input) {
    llvm::errs() << errorMessage << "\n";
    return failure();
  }
  if (!moe::checkNestingDepth(*input, llvm::errs(), config.inputSplitMarker()))
    return failure();
  std::unique_ptr<llvm::ToolOutputFile> output =
      openOutputFile(outputFilename, &errorMessage);
  if (!output) {
    llvm::errs() << errorMessage << "\n";
    return failure();
  }
  LogicalResult result = failure();
  moe::runOnParserStack([&] {
    result = MlirOptMain(output->os(), std::move(input), registry, config);
  });
  if (succeeded(result))
    output->keep();
  return result;
}

} // namespace

int mlir::moe::moeOptMain(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  DialectRegistry registry;
  registerMoEDialects(registry);

  registerAllPasses();
  registerMoECodegenCommonPasses();
  registerMoECPUPasses();
  registerMoEGPUPasses();
  registerMoEConversionPasses();
  registerMoETransformsPasses();
  registerMoEPipelines();

  auto [inputFilename, outputFilename] = registerAndParseCLIOptions(
      argc, argv, "moe-mlir optimizer driver\n", registry);
  MlirOptMainConfig config = MlirOptMainConfig::createFromCLOptions();
  // Listing dialects or passes reads no input: upstream's driver does it.
  if (config.shouldShowDialects() || config.shouldListPasses())
    return asMainReturnCode(
        MlirOptMain(argc, argv, inputFilename, outputFilename, registry));
  return asMainReturnCode(
      processInputFile(inputFilename, outputFilename, registry, config));
}

//===- moe-opt.cpp - moe-mlir optimizer driver ------------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// An mlir-opt for moe-mlir: the MoE dialect and its passes and pipelines,
// with every upstream dialect, pass and LLVM IR translation.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/CPU/Passes.h"
#include "moe/Conversion/Passes.h"
#include "moe/Dialect/MoE/IR/MoEDialect.h"
#include "moe/Pipelines/Pipelines.h"
#include "moe/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<mlir::moe::MoEDialect>();

  mlir::registerAllPasses();
  mlir::moe::registerMoECPUPasses();
  mlir::moe::registerMoEConversionPasses();
  mlir::moe::registerMoETransformsPasses();
  mlir::moe::registerMoEPipelines();

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "moe-mlir optimizer driver\n", registry));
}

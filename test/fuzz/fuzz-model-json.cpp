//===- fuzz-model-json.cpp - Fuzz the moe-graph importer --------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// Feeds arbitrary bytes to the moe-graph parser and resolver (random-init
// models need no weights file), and imports every model they accept into
// the MoE dialect and verifies it: no input may crash or hang, and every
// accepted model must import (a null module aborts) to IR that verifies.
//
//===----------------------------------------------------------------------===//

#include "moe/Dialect/MoE/IR/MoEDialect.h"
#include "moe/Frontend/ModelImporter.h"
#include "moe/Model/ModelSpec.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::MLIRContext *context = [] {
    auto *ctx = new mlir::MLIRContext();
    ctx->loadDialect<mlir::arith::ArithDialect, mlir::func::FuncDialect,
                     mlir::linalg::LinalgDialect, mlir::math::MathDialect,
                     mlir::moe::MoEDialect, mlir::tensor::TensorDialect>();
    return ctx;
  }();
  std::string text(reinterpret_cast<const char *>(data), size);
  moe::ModelSpec model;
  std::string error;
  if (!moe::parseModelSpec(text, "/fuzz/model.json", model, error) ||
      !moe::resolveModelSpec(model, nullptr, error))
    return 0;
  // Huge models are valid but would only measure allocation.
  if (model.paramBytes > (uint64_t(64) << 20))
    return 0;
  mlir::ScopedDiagnosticHandler quiet(
      context, [](mlir::Diagnostic &) { return mlir::success(); });
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::moe::importModel(context, model, error);
  // An accepted model must import, and to valid IR. The importer fails only
  // on what the parser and resolver check first (operands defined before
  // use, known scoring and activation, attributes within f32 range, shapes
  // that make moe.layer verify): a null module here is a model they let
  // through by mistake, which moe-compile would refuse with a message.
  if (!module) {
    std::fprintf(stderr, "fuzz-model-json: an accepted model failed to "
                         "import: %s\n",
                 error.c_str());
    std::abort();
  }
  if (mlir::failed(mlir::verify(*module))) {
    std::fprintf(stderr,
                 "fuzz-model-json: an accepted model imports to IR that "
                 "does not verify\n");
    std::abort();
  }
  return 0;
}

//===- fuzz-model-json.cpp - Fuzz the moe-graph importer --------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// Feeds arbitrary bytes to the moe-graph parser and resolver (random-init
// models need no weights file), and imports every model they accept into
// the MoE dialect and verifies it: no input may crash, hang or produce IR
// that does not verify.
//
//===----------------------------------------------------------------------===//

#include "moe/Dialect/MoE/IR/MoEDialect.h"
#include "moe/Frontend/ModelImporter.h"
#include "moe/Runtime/ModelSpec.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

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
  if (module && mlir::failed(mlir::verify(*module)))
    std::abort(); // An accepted model must import to valid IR.
  return 0;
}

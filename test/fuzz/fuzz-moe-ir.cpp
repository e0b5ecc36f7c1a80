//===- fuzz-moe-ir.cpp - Fuzz the MoE dialect parser and verifiers -*- C++ -*-//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// Parses arbitrary text as MLIR with the MoE dialect (and the upstream
// dialects its tests use) and verifies it, as moe-opt does: text nested
// deeper than the tools accept is refused, and the rest is parsed on a
// thread with the tools' parser stack. Diagnostics are the expected
// outcome, crashes are bugs.
//
//===----------------------------------------------------------------------===//

#include "moe/Dialect/MoE/IR/MoEDialect.h"
#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Support/ParseLimits.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::MLIRContext *context = [] {
    auto *ctx = new mlir::MLIRContext();
    ctx->loadDialect<mlir::arith::ArithDialect, mlir::func::FuncDialect,
                     mlir::moe::MoEDialect, mlir::tensor::TensorDialect>();
    // Unregistered ops would bypass the verifiers under test.
    ctx->allowUnregisteredDialects(false);
    return ctx;
  }();
  mlir::ScopedDiagnosticHandler quiet(
      context, [](mlir::Diagnostic &) { return mlir::success(); });
  // MLIR's lexer reads a terminating NUL, as every buffer LLVM reads files
  // into has: parse a copy that has one.
  std::string text(reinterpret_cast<const char *>(data), size);
  if (mlir::moe::findExcessiveNesting(text, mlir::moe::kMaxNestingDepth))
    return 0;
  mlir::ParserConfig config(context);
  // The parser verifies what it parses.
  mlir::moe::runOnParserStack(
      [&] { (void)mlir::parseSourceString<mlir::ModuleOp>(text, config); });
  return 0;
}

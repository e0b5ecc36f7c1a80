//===- Passes.h - Code generation passes shared by targets ------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_CODEGEN_COMMON_PASSES_H
#define MOE_CODEGEN_COMMON_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace moe {

/// Patterns that give each use of a multi-use `tensor.empty`, and of a
/// multi-use `linalg.fill` of a `tensor.empty`, its own copy.
void populateUntieSharedInitsPatterns(RewritePatternSet &patterns);

#define GEN_PASS_DECL
#include "moe/Codegen/Common/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "moe/Codegen/Common/Passes.h.inc"

} // namespace moe
} // namespace mlir

#endif // MOE_CODEGEN_COMMON_PASSES_H

//===- ModelImporter.h - moe-graph JSON to MLIR -----------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// Imports a validated moe-graph model (moe::ModelSpec) into a module holding
// one function on tensors, marked `moe.entry`: MoE layers become `moe.layer`
// ops and the other nodes linalg ops.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_FRONTEND_MODELIMPORTER_H
#define MOE_FRONTEND_MODELIMPORTER_H

#include "moe/Model/ModelSpec.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>

namespace mlir {
class MLIRContext;

namespace moe {

/// Imports `model` (resolved) into a new module. Returns null with a message
/// naming the node and field in `error` for what the compiler cannot
/// compile yet.
OwningOpRef<ModuleOp> importModel(MLIRContext *context,
                                  const ::moe::ModelSpec &model,
                                  std::string &error);

} // namespace moe
} // namespace mlir

#endif // MOE_FRONTEND_MODELIMPORTER_H

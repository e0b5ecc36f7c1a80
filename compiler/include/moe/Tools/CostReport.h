//===- CostReport.h - The dense-vs-MoE cost report --------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// What `moe-compile MODEL.json --report` prints: for the model and each MoE
// layer, total and active parameters, FLOPs per token against a dense model
// of the same total size, resident weight bytes and bytes read per token at
// decode. Knowledge grows with total experts, cost with active ones.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_TOOLS_COSTREPORT_H
#define MOE_TOOLS_COSTREPORT_H

#include "moe/Model/ModelSpec.h"

#include "llvm/Support/raw_ostream.h"

namespace mlir {
namespace moe {

/// Parameter, FLOP and byte counts of a model or one of its MoE layers.
struct Cost {
  /// Every weight element.
  uint64_t totalParams = 0;
  /// Weight elements one token uses: the router, k experts, shared experts
  /// and every dense node.
  uint64_t activeParams = 0;
  /// Multiply-adds count 2 FLOPs; elementwise work is not counted.
  uint64_t flopsPerToken = 0;
  /// FLOPs per token of a dense model with the same total parameters.
  uint64_t denseFlopsPerToken = 0;
  uint64_t residentBytes = 0;
  /// Weight bytes one decode token reads (its active weights, once).
  uint64_t decodeBytesPerToken = 0;
};

/// The cost of the MoE node `node` of `model` (resolved).
Cost moeLayerCost(const ::moe::ModelSpec &model, const ::moe::NodeSpec &node);

/// The cost of the whole model.
Cost modelCost(const ::moe::ModelSpec &model);

/// Prints the report for `model`.
void printCostReport(const ::moe::ModelSpec &model, llvm::raw_ostream &os);

} // namespace moe
} // namespace mlir

#endif // MOE_TOOLS_COSTREPORT_H

//===- CostReport.cpp - The dense-vs-MoE cost report ------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file computes the cost report from the resolved parameter list: a
// parameter of a MoE node is expert-local when its key is one of the
// stacked expert weights (leading dimension E, one slice per expert), and
// every other parameter is used by every token.
//
//===----------------------------------------------------------------------===//

#include "moe/Tools/CostReport.h"

#include "llvm/Support/Format.h"

using namespace mlir;
using namespace mlir::moe;

namespace {

uint64_t elements(const ::moe::ParamSpec &param) {
  uint64_t count = 1;
  for (int64_t dim : param.shape)
    count *= static_cast<uint64_t>(dim);
  return count;
}

/// Whether `param` belongs to node `node` (keys are "<node>.<role>").
bool belongsTo(const ::moe::ParamSpec &param, const ::moe::NodeSpec &node) {
  return param.key.size() > node.name.size() &&
         param.key.compare(0, node.name.size(), node.name) == 0 &&
         param.key[node.name.size()] == '.';
}

/// The role of a parameter within its node ("gate_proj", "router.weight").
std::string roleOf(const ::moe::ParamSpec &param,
                   const ::moe::NodeSpec &node) {
  return param.key.substr(node.name.size() + 1);
}

bool isExpertLocal(const std::string &role) {
  return role == "gate_proj" || role == "up_proj" || role == "down_proj" ||
         role == "gate_bias" || role == "up_bias" || role == "down_bias";
}

/// Whether a parameter is a matrix that tokens multiply with (2 FLOPs per
/// element used), rather than a bias or norm scale.
bool isMatrix(const std::string &role) {
  return role == "gate_proj" || role == "up_proj" || role == "down_proj" ||
         role == "router.weight" || role == "router.noise" ||
         role == "shared.gate_proj" || role == "shared.up_proj" ||
         role == "shared.down_proj" || role == "shared.gate" ||
         role == "weight";
}

void add(Cost &total, const Cost &part) {
  total.totalParams += part.totalParams;
  total.activeParams += part.activeParams;
  total.flopsPerToken += part.flopsPerToken;
  total.denseFlopsPerToken += part.denseFlopsPerToken;
  total.residentBytes += part.residentBytes;
  total.decodeBytesPerToken += part.decodeBytesPerToken;
}

/// The cost of the parameters of `node`; `activeFraction` scales
/// expert-local ones (k / E for a MoE node).
Cost nodeCost(const ::moe::ModelSpec &model, const ::moe::NodeSpec &node) {
  Cost cost;
  bool isMoE = node.kind == ::moe::NodeKind::MoE;
  uint64_t experts = isMoE ? node.moe.numExperts : 1;
  uint64_t k = isMoE ? node.moe.topK : 1;
  for (const ::moe::ParamSpec &param : model.params) {
    if (!belongsTo(param, node))
      continue;
    std::string role = roleOf(param, node);
    uint64_t count = elements(param);
    uint64_t bytes = param.bytes();
    bool local = isMoE && isExpertLocal(role);
    uint64_t active = local ? count / experts * k : count;
    uint64_t activeBytes = local ? bytes / experts * k : bytes;
    // A norm's weight is not a matmul: count its FLOPs as zero.
    bool matrix = isMatrix(role) && !(role == "weight" &&
                                      node.kind != ::moe::NodeKind::Linear);
    cost.totalParams += count;
    cost.activeParams += active;
    cost.residentBytes += bytes;
    cost.decodeBytesPerToken += activeBytes;
    if (matrix) {
      cost.flopsPerToken += 2 * active;
      cost.denseFlopsPerToken += 2 * count;
    }
  }
  return cost;
}

void printCost(llvm::raw_ostream &os, const Cost &cost) {
  auto human = [](double value) {
    const char *units[] = {"", "K", "M", "G", "T"};
    int unit = 0;
    while (value >= 1000.0 && unit < 4) {
      value /= 1000.0;
      ++unit;
    }
    std::string text;
    llvm::raw_string_ostream(text) << llvm::format("%.3g", value) << units[unit];
    return text;
  };
  double ratio = cost.flopsPerToken
                     ? static_cast<double>(cost.denseFlopsPerToken) /
                           cost.flopsPerToken
                     : 0.0;
  os << "  total parameters:        " << cost.totalParams << " ("
     << human(cost.totalParams) << ")\n"
     << "  active per token:        " << cost.activeParams << " ("
     << human(cost.activeParams) << ", "
     << llvm::format("%.1f%%", cost.totalParams
                                   ? 100.0 * cost.activeParams /
                                         cost.totalParams
                                   : 0.0)
     << ")\n"
     << "  FLOPs per token (MoE):   " << cost.flopsPerToken << " ("
     << human(cost.flopsPerToken) << ")\n"
     << "  FLOPs per token (dense, same total parameters): "
     << cost.denseFlopsPerToken << " (" << human(cost.denseFlopsPerToken)
     << ", " << llvm::format("%.2fx", ratio) << ")\n"
     << "  weight bytes resident:   " << cost.residentBytes << " ("
     << human(cost.residentBytes) << "B)\n"
     << "  bytes read per token at decode: " << cost.decodeBytesPerToken
     << " (" << human(cost.decodeBytesPerToken) << "B)\n";
}

} // namespace

Cost mlir::moe::moeLayerCost(const ::moe::ModelSpec &model,
                             const ::moe::NodeSpec &node) {
  return nodeCost(model, node);
}

Cost mlir::moe::modelCost(const ::moe::ModelSpec &model) {
  Cost total;
  for (const ::moe::NodeSpec &node : model.nodes)
    add(total, nodeCost(model, node));
  return total;
}

void mlir::moe::printCostReport(const ::moe::ModelSpec &model,
                                llvm::raw_ostream &os) {
  os << "model " << (model.name.empty() ? "(unnamed)" : model.name) << ":\n";
  printCost(os, modelCost(model));
  for (const ::moe::NodeSpec &node : model.nodes) {
    if (node.kind != ::moe::NodeKind::MoE)
      continue;
    os << "moe layer " << node.name << " (E=" << node.moe.numExperts
       << ", k=" << node.moe.topK << ", D=" << node.width
       << ", F=" << node.moe.intermediateSize;
    if (node.moe.sharedExperts)
      os << ", shared F=" << node.moe.sharedExperts->intermediateSize;
    os << "):\n";
    printCost(os, moeLayerCost(model, node));
  }
}

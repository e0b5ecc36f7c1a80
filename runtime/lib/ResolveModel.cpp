//===- ResolveModel.cpp - Widths and the weight ABI of a model ------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements resolveModelSpec: it infers the width of every value,
// builds the ordered parameter list of the compiled entry point (the weight
// ABI), checks it against the tensors of a weights file, and lays the
// parameters out in one 64-byte-aligned arena.
//
//===----------------------------------------------------------------------===//

#include "moe/Model/ModelSpec.h"

#include "Support.h"

#include <algorithm>
#include <map>
#include <set>

namespace moe {
namespace {

/// Where an expert parameter of per-expert shape [R, C] (or [R]) lies in
/// its tensor (extension): `transposed` tensors are stored [C, R] (`x W`);
/// a fused tensor holds `parts` pieces of R rows, of which this is `part`:
/// rows [part * R, (part + 1) * R), or with `interleaved` rows part,
/// part + parts, ...
struct SourcePlacement {
  bool transposed = false;
  int64_t parts = 1, part = 0;
  bool interleaved = false;
  bool isWhole() const { return !transposed && parts == 1; }
};

/// Builds the parameter list of one model.
class ParamBuilder {
public:
  ParamBuilder(ModelSpec &model,
               const std::vector<TensorShapeInfo> *fileTensors,
               std::string &error)
      : model(model), error(error), hasFile(fileTensors != nullptr) {
    if (fileTensors)
      for (const TensorShapeInfo &info : *fileTensors)
        tensors.insert({info.name, &info});
  }

  bool resolve();

private:
  bool fail(const std::string &text) {
    error = text;
    return false;
  }

  /// The file tensor `name`, or null with a message naming `node` when the
  /// file has no such tensor or has it in a dtype no weight can have.
  const TensorShapeInfo *findTensor(const NodeSpec &node,
                                    const std::string &name);

  /// "weight 'NAME' (node 'NODE')", how messages name a weight.
  static std::string weightOf(const NodeSpec &node, const std::string &name) {
    return "weight " + detail::quote(name) + " (node " +
           detail::quote(node.name) + ")";
  }
  /// The weights file, for messages.
  std::string weightsFile() const { return model.weights.describe(); }
  /// The file holding tensor `info`: its shard, when the weights have
  /// several.
  std::string fileOf(const TensorShapeInfo *info) const {
    return info->file.empty() ? weightsFile() : pathForMessage(info->file);
  }

  /// Adds parameter "<node>.<role>" from tensor `name` of `shape`. With
  /// `numExperts` > 0 the parameter is stacked: a `name` with `{e}` names one
  /// tensor per expert, of `shape`; without, one tensor of [E] + `shape`.
  /// `placement` says where `shape` lies in each tensor when it is not the
  /// whole of it.
  bool addParam(const NodeSpec &node, const std::string &role,
                const std::string &name, std::vector<int64_t> shape,
                InitKind init, int64_t numExperts = 0,
                const SourcePlacement &placement = {});

  bool resolveLinear(NodeSpec &node, int64_t inWidth);
  bool resolveMoE(NodeSpec &node, int64_t inWidth);

  ModelSpec &model;
  std::string &error;
  bool hasFile;
  std::map<std::string, const TensorShapeInfo *> tensors;
  std::set<std::string> keys;
};

const TensorShapeInfo *ParamBuilder::findTensor(const NodeSpec &node,
                                                const std::string &name) {
  auto it = tensors.find(name);
  if (it == tensors.end()) {
    fail(weightOf(node, name) + " not found in " + weightsFile());
    return nullptr;
  }
  // The file may hold tensors of any safetensors dtype; a weight must be of
  // one the compiled code computes with.
  if (!it->second->dtype) {
    fail(weightOf(node, name) + ": unsupported dtype " +
         storageDTypeName(it->second->storageDType) + " in " +
         fileOf(it->second) +
         " (expected F32, BF16 or F16)");
    return nullptr;
  }
  return it->second;
}

bool ParamBuilder::addParam(const NodeSpec &node, const std::string &role,
                            const std::string &name, std::vector<int64_t> shape,
                            InitKind init, int64_t numExperts,
                            const SourcePlacement &placement) {
  ParamSpec param;
  param.key = node.name + "." + role;
  param.init = init;
  if (!keys.insert(param.key).second)
    return fail("parameter key " + detail::quote(param.key) + " of node " +
                detail::quote(node.name) +
                " collides with another node's parameter; rename one node");

  // Each tensor's shape, and with a placement the view of `shape` in it.
  std::vector<int64_t> tensorShape = shape;
  std::optional<SourceView> view;
  if (!placement.isWhole()) {
    view.emplace();
    view->sliceShape = shape;
    tensorShape[0] *= placement.parts;
    if (placement.transposed)
      std::reverse(tensorShape.begin(), tensorShape.end());
    for (size_t i = 0; i < shape.size(); ++i) {
      bool rows = i == 0;
      view->dims.push_back(
          static_cast<int64_t>(placement.transposed ? shape.size() - 1 - i : i));
      view->start.push_back(!rows                  ? 0
                            : placement.interleaved ? placement.part
                                                    : placement.part * shape[0]);
      view->step.push_back(rows && placement.interleaved ? placement.parts : 1);
    }
  }

  const std::string placeholder = "{e}";
  bool perExpert =
      numExperts > 0 && name.find(placeholder) != std::string::npos;
  if (perExpert) {
    for (int64_t e = 0; e < numExperts; ++e) {
      std::string source = name;
      for (size_t at = source.find(placeholder); at != std::string::npos;
           at = source.find(placeholder, at)) {
        std::string index = std::to_string(e);
        source.replace(at, placeholder.size(), index);
        at += index.size();
      }
      param.sourceNames.push_back(source);
    }
    param.sourceShape = tensorShape;
    param.view = view;
    param.shape = shape;
    param.shape.insert(param.shape.begin(), numExperts);
  } else {
    // A plain tensor, or (extension) experts already stacked in the file.
    if (numExperts > 0) {
      shape.insert(shape.begin(), numExperts);
      tensorShape.insert(tensorShape.begin(), numExperts);
      if (view) {
        view->sliceShape = shape;
        for (int64_t &dim : view->dims)
          ++dim;
        view->dims.insert(view->dims.begin(), 0);
        view->start.insert(view->start.begin(), 0);
        view->step.insert(view->step.begin(), 1);
      }
    }
    param.sourceNames = {name};
    param.sourceShape = tensorShape;
    param.view = view;
    param.shape = shape;
  }

  uint64_t count = 0, bytes = 0;
  if (!detail::shapeElementCount(param.shape, count) ||
      !detail::checkedMul(count, 4, bytes) || bytes > (uint64_t(1) << 60))
    return fail("parameter " + detail::quote(param.key) + " of shape " +
                detail::formatShape(param.shape) + " is too large");

  if (hasFile) {
    const TensorShapeInfo *first = nullptr;
    for (const std::string &source : param.sourceNames) {
      const TensorShapeInfo *info = findTensor(node, source);
      if (!info)
        return false;
      if (info->shape != param.sourceShape)
        return fail(weightOf(node, source) + ": shape " +
                    detail::formatShape(info->shape) + " in " + fileOf(info) +
                    ", expected " + detail::formatShape(param.sourceShape));
      if (first && *info->dtype != *first->dtype)
        return fail(weightOf(node, source) + ": dtype " +
                    dtypeName(*info->dtype) + " in " + fileOf(info) +
                    " differs from " + dtypeName(*first->dtype) + " of " +
                    detail::quote(first->name) +
                    "; the experts of one parameter must share a dtype");
      if (!first)
        first = info;
    }
    param.dtype = *first->dtype;
  }
  model.params.push_back(std::move(param));
  return true;
}

bool ParamBuilder::resolveLinear(NodeSpec &node, int64_t inWidth) {
  if (hasFile) {
    // N comes from the file; out_features, if given, must agree with it.
    const TensorShapeInfo *info = findTensor(node, node.weight);
    if (!info)
      return false;
    if (info->shape.size() != 2 || info->shape[0] < 1)
      return fail(weightOf(node, node.weight) + ": shape " +
                  detail::formatShape(info->shape) + " in " + fileOf(info) +
                  ", expected [N, " + std::to_string(inWidth) +
                  "] with N >= 1");
    if (node.outFeatures != 0 && node.outFeatures != info->shape[0])
      return fail("out_features " + std::to_string(node.outFeatures) +
                  " of node " + detail::quote(node.name) +
                  " does not match weight " + detail::quote(node.weight) +
                  " of shape " + detail::formatShape(info->shape) + " in " +
                  fileOf(info));
    node.outFeatures = info->shape[0];
  } else if (node.outFeatures == 0) {
    return fail("node " + detail::quote(node.name) +
                " (linear) needs 'out_features' with random init weights");
  }
  node.width = node.outFeatures;
  if (!addParam(node, "weight", node.weight, {node.outFeatures, inWidth},
                InitKind::Normal))
    return false;
  return !node.bias || addParam(node, "bias", *node.bias, {node.outFeatures},
                                InitKind::Zeros);
}

bool ParamBuilder::resolveMoE(NodeSpec &node, int64_t d) {
  const MoESpec &moe = node.moe;
  const RouterSpec &router = moe.router;
  const ExpertsSpec &experts = moe.experts;
  int64_t e = moe.numExperts, f = moe.intermediateSize;
  node.width = d;

  // The argument order of the entry point; keep in sync with the compiler.
  if (!addParam(node, "router.weight", router.weight, {e, d},
                InitKind::Normal) ||
      (router.linearBias &&
       !addParam(node, "router.linear_bias", *router.linearBias, {e},
                 InitKind::Zeros)) ||
      (router.bias &&
       !addParam(node, "router.bias", *router.bias, {e}, InitKind::Zeros)) ||
      (router.noiseWeight &&
       !addParam(node, "router.noise", *router.noiseWeight, {e, d},
                 InitKind::Normal)))
    return false;

  // Projections stored [in, out] (extension) are transposed views; a fused
  // gate/up tensor gives both as parts 0 and 1 of one tensor.
  SourcePlacement proj{experts.weightsInOut}, bias;
  auto fusedPart = [&](SourcePlacement placement, int64_t part) {
    placement.parts = 2;
    placement.part = part;
    placement.interleaved = experts.gateUpInterleaved;
    return placement;
  };
  const std::optional<std::string> &gateUp = experts.gateUpProj;
  const std::optional<std::string> &gateUpBias = experts.gateUpBias;
  if ((gateUp &&
       (!addParam(node, "gate_proj", *gateUp, {f, d}, InitKind::Normal, e,
                  fusedPart(proj, 0)) ||
        !addParam(node, "up_proj", *gateUp, {f, d}, InitKind::Normal, e,
                  fusedPart(proj, 1)))) ||
      (!gateUp &&
       ((experts.gateProj && !addParam(node, "gate_proj", *experts.gateProj,
                                       {f, d}, InitKind::Normal, e, proj)) ||
        !addParam(node, "up_proj", experts.upProj, {f, d}, InitKind::Normal,
                  e, proj))) ||
      !addParam(node, "down_proj", experts.downProj, {d, f}, InitKind::Normal,
                e, proj) ||
      (gateUpBias &&
       (!addParam(node, "gate_bias", *gateUpBias, {f}, InitKind::Zeros, e,
                  fusedPart(bias, 0)) ||
        !addParam(node, "up_bias", *gateUpBias, {f}, InitKind::Zeros, e,
                  fusedPart(bias, 1)))) ||
      (experts.gateBias && !addParam(node, "gate_bias", *experts.gateBias, {f},
                                     InitKind::Zeros, e)) ||
      (experts.upBias &&
       !addParam(node, "up_bias", *experts.upBias, {f}, InitKind::Zeros, e)) ||
      (experts.downBias && !addParam(node, "down_bias", *experts.downBias, {d},
                                     InitKind::Zeros, e)))
    return false;

  if (const std::optional<SharedExpertsSpec> &shared = moe.sharedExperts) {
    int64_t fs = shared->intermediateSize;
    if ((shared->gateProj &&
         !addParam(node, "shared.gate_proj", *shared->gateProj, {fs, d},
                   InitKind::Normal)) ||
        !addParam(node, "shared.up_proj", shared->upProj, {fs, d},
                  InitKind::Normal) ||
        !addParam(node, "shared.down_proj", shared->downProj, {d, fs},
                  InitKind::Normal) ||
        (shared->gate && !addParam(node, "shared.gate", *shared->gate, {1, d},
                                   InitKind::Normal)))
      return false;
  }
  return true;
}

bool ParamBuilder::resolve() {
  model.params.clear();
  model.paramBytes = 0;
  std::map<std::string, int64_t> widths;
  // Values of shape [1, width] rather than [tokens, width]: aux outputs.
  std::set<std::string> singleRow;
  for (const InputSpec &input : model.inputs)
    widths[input.name] = input.width;

  for (NodeSpec &node : model.nodes) {
    // parseModelSpec checked that every operand is defined before its use.
    auto operand = widths.find(node.inputs.at(0));
    if (operand == widths.end())
      return fail("node " + detail::quote(node.name) + " uses " +
                  detail::quote(node.inputs[0]) +
                  ", which is not defined before it");
    int64_t inWidth = operand->second;
    switch (node.kind) {
    case NodeKind::Linear:
      if (!resolveLinear(node, inWidth))
        return false;
      break;
    case NodeKind::RMSNorm:
    case NodeKind::LayerNorm:
      node.width = inWidth;
      if (!addParam(node, "weight", node.weight, {inWidth}, InitKind::Ones) ||
          (node.bias &&
           !addParam(node, "bias", *node.bias, {inWidth}, InitKind::Zeros)))
        return false;
      break;
    case NodeKind::Add:
    case NodeKind::Mul: {
      auto other = widths.find(node.inputs.at(1));
      if (other == widths.end())
        return fail("node " + detail::quote(node.name) + " uses " +
                    detail::quote(node.inputs[1]) +
                    ", which is not defined before it");
      if (other->second != inWidth)
        return fail("node " + detail::quote(node.name) + " (" +
                    nodeKindName(node.kind) + "): widths of " +
                    detail::quote(node.inputs[0]) + " (" +
                    std::to_string(inWidth) + ") and " +
                    detail::quote(node.inputs[1]) + " (" +
                    std::to_string(other->second) + ") differ");
      node.width = inWidth;
      break;
    }
    case NodeKind::SiLU:
    case NodeKind::GELU:
    case NodeKind::GELUTanh:
    case NodeKind::ReLU:
      node.width = inWidth;
      break;
    case NodeKind::MoE:
      if (!resolveMoE(node, inWidth))
        return false;
      break;
    }
    widths[node.name] = node.width;
    const AuxSpec &aux = node.moe.aux;
    if (aux.expertCounts)
      widths[*aux.expertCounts] = node.moe.numExperts;
    if (aux.loadBalancingLoss)
      widths[*aux.loadBalancingLoss] = 1;
    if (aux.routerZLoss)
      widths[*aux.routerZLoss] = 1;
    for (const std::optional<std::string> &name :
         {aux.expertCounts, aux.loadBalancingLoss, aux.routerZLoss})
      if (name)
        singleRow.insert(*name);
  }

  for (OutputSpec &output : model.outputs) {
    auto it = widths.find(output.name);
    if (it == widths.end())
      return fail("output " + detail::quote(output.name) +
                  " is not a defined value");
    output.width = it->second;
    output.perToken = !singleRow.count(output.name);
  }

  // The arena: every parameter at a 64-byte-aligned offset.
  uint64_t end = 0;
  for (ParamSpec &param : model.params) {
    param.offset = alignArenaOffset(end);
    if (!detail::checkedAdd(param.offset, param.bytes(), end) ||
        end > (uint64_t(1) << 60))
      return fail("the parameters of the model are too large");
  }
  model.paramBytes = alignArenaOffset(end);
  return true;
}

} // namespace

bool resolveModelSpec(ModelSpec &model,
                      const std::vector<TensorShapeInfo> *fileTensors,
                      std::string &error) {
  try {
    std::string message;
    ParamBuilder builder(model, fileTensors, message);
    if (!builder.resolve()) {
      error = detail::makeError(model.path, message);
      return false;
    }
    return true;
  } catch (const std::exception &e) {
    error = detail::makeError(model.path,
                              std::string("cannot resolve model: ") + e.what());
    return false;
  }
}

} // namespace moe

std::vector<std::string> moe::compiledSignature(const ModelSpec &model) {
  std::vector<std::string> lines;
  for (const InputSpec &input : model.inputs)
    lines.push_back("input " + input.name + " width " +
                    std::to_string(input.width));
  for (const OutputSpec &output : model.outputs)
    lines.push_back("output " + output.name + " width " +
                    std::to_string(output.width) +
                    (output.perToken ? "" : " single row"));
  for (const ParamSpec &param : model.params) {
    std::string shape;
    for (int64_t dim : param.shape)
      shape += (shape.empty() ? "" : "x") + std::to_string(dim);
    lines.push_back("param " + param.key + " " + dtypeName(param.dtype) + " " +
                    shape);
  }
  return lines;
}

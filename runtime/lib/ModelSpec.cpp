//===- ModelSpec.cpp - Parsing moe-graph JSON models ----------------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements parseModelSpec and loadModelSpec: the structural
// checks of a moe-graph model (fields, types, ranges, names, references).
// Widths and the parameter list are computed by resolveModelSpec
// (ResolveModel.cpp). nlohmann/json reports errors with exceptions; they are
// all caught here and turned into messages.
//
//===----------------------------------------------------------------------===//

#include "moe/Model/ModelSpec.h"
#include "moe/Model/WeightFiles.h"

#include "FieldReader.h"
#include "Support.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <map>
#include <sstream>
#include <tuple>
#include <unistd.h>

using nlohmann::json;

namespace moe {

using detail::FieldReader;
using detail::typeName;

namespace {

/// Finds the op named `name`.
std::optional<NodeKind> lookupNodeKind(const std::string &name) {
  static const NodeKind kinds[] = {NodeKind::Linear,    NodeKind::RMSNorm,
                                   NodeKind::LayerNorm, NodeKind::Add,
                                   NodeKind::Mul,       NodeKind::SiLU,
                                   NodeKind::GELU,      NodeKind::GELUTanh,
                                   NodeKind::ReLU,      NodeKind::MoE};
  for (NodeKind kind : kinds)
    if (name == nodeKindName(kind))
      return kind;
  return std::nullopt;
}

/// Joins `file` to the directory of `jsonPath` and makes it absolute.
std::string resolveRelativePath(const std::string &jsonPath,
                                const std::string &file) {
  if (!file.empty() && file[0] == '/')
    return file;
  std::string dir;
  size_t slash = jsonPath.rfind('/');
  if (slash != std::string::npos)
    dir = jsonPath.substr(0, slash + 1);
  if (dir.empty() || dir[0] != '/') {
    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)))
      dir = std::string(cwd) + "/" + dir;
  }
  // Drop "./" components so that messages show a tidy path; ".." is kept,
  // as it cannot be folded without resolving symbolic links.
  std::string joined = dir + file, tidy;
  std::istringstream parts(joined);
  std::string part;
  while (std::getline(parts, part, '/'))
    if (!part.empty() && part != ".")
      tidy += "/" + part;
  return tidy.empty() ? "/" : tidy;
}

//===----------------------------------------------------------------------===//
// The model parser
//===----------------------------------------------------------------------===//

/// Parses one model. Messages are bare texts; parseModelSpec prefixes the
/// file.
class ModelParser {
public:
  ModelParser(ModelSpec &model, std::string &error)
      : model(model), error(error) {}

  bool parse(const json &root);

private:
  bool fail(const std::string &text) {
    error = text;
    return false;
  }

  bool parseWeights(FieldReader &top);
  bool parseInputs(FieldReader &top);
  bool parseNode(const json &object, size_t index);
  bool parseMoE(FieldReader &fields, NodeSpec &node);
  bool parseOutputs(FieldReader &top);

  /// Records value `name`, defined by `origin` (e.g. "nodes[3]").
  bool defineValue(const std::string &name, const std::string &origin,
                   const std::string &auxOwner = "");
  /// Checks that `value`, used by `node`, is defined before it.
  bool checkUse(const NodeSpec &node, const std::string &value);

  struct ValueInfo {
    std::string origin;
    /// For an aux value: the node that defines it.
    std::string auxOwner;
  };

  ModelSpec &model;
  std::string &error;
  std::map<std::string, ValueInfo> values;
};

bool ModelParser::defineValue(const std::string &name,
                              const std::string &origin,
                              const std::string &auxOwner) {
  // Value names become file names (`--outputs DIR` writes DIR/NAME.npy).
  bool valid = !name.empty() && name != "." && name != "..";
  for (char c : name)
    valid &= c != '/' && c != '\\' && static_cast<unsigned char>(c) >= 0x20;
  if (!valid)
    return fail("invalid name " + detail::quote(name) + " (" + origin +
                "): a name must be non-empty, must not contain '/', '\\' or "
                "control characters, and must not be '.' or '..'");
  auto inserted = values.insert({name, ValueInfo{origin, auxOwner}});
  if (!inserted.second)
    return fail("duplicate name " + detail::quote(name) + " (" + origin +
                "), already defined by " + inserted.first->second.origin);
  return true;
}

bool ModelParser::checkUse(const NodeSpec &node, const std::string &value) {
  auto it = values.find(value);
  if (it == values.end())
    return fail("node " + detail::quote(node.name) + " uses " +
                detail::quote(value) + ", which is not defined before it");
  // Aux values are [1, E] or [1, 1], not [tokens, width]: only graph
  // outputs may name them.
  if (!it->second.auxOwner.empty())
    return fail("node " + detail::quote(node.name) + " uses " +
                detail::quote(value) + ", an aux output of node " +
                detail::quote(it->second.auxOwner) +
                "; aux values can only be graph outputs");
  return true;
}

bool ModelParser::parse(const json &root) {
  if (!root.is_object())
    return fail("the model must be a JSON object, found " + typeName(root));
  FieldReader top(root, "at top level", error);
  if (!top.checkKnown({"format", "version", "name", "dtype", "weights",
                       "inputs", "outputs", "nodes"}))
    return false;

  std::string format;
  if (!top.getString("format", format, true))
    return false;
  if (format != "moe-graph")
    return fail("unsupported format " + detail::quote(format) +
                " (expected 'moe-graph')");
  int64_t version = 0;
  if (!top.getInt("version", version, INT64_MIN, INT64_MAX, true))
    return false;
  if (version != 1)
    return fail("unsupported version " + std::to_string(version) +
                " (expected 1)");
  if (!top.getString("name", model.name, false) ||
      !top.getString("dtype", model.dtype, false))
    return false;
  if (model.dtype != "f32")
    return fail("unsupported dtype " + detail::quote(model.dtype) +
                " at top level (expected 'f32')");

  if (!parseWeights(top) || !parseInputs(top))
    return false;

  const json *nodes = nullptr;
  if (!top.getArray("nodes", nodes, true))
    return false;
  for (size_t i = 0; i < nodes->size(); ++i)
    if (!parseNode((*nodes)[i], i))
      return false;

  return parseOutputs(top);
}

bool ModelParser::parseWeights(FieldReader &top) {
  const json *object = nullptr;
  if (!top.getObject("weights", object, true))
    return false;
  FieldReader fields(*object, "in weights", error);
  int sources = fields.has("file") + fields.has("files") + fields.has("init");
  if (sources > 1)
    return fail("weights must have one of 'file', 'files' and 'init'");
  if (fields.has("file")) {
    std::string file;
    if (!fields.checkKnown({"file"}) || !fields.getName("file", file, true))
      return false;
    model.weights.files = {resolveRelativePath(model.path, file)};
    return true;
  }
  if (fields.has("files")) {
    const json *files = nullptr;
    if (!fields.checkKnown({"files"}) || !fields.getArray("files", files, true))
      return false;
    if (files->empty())
      return fail("'files' in weights names no file");
    for (const json &file : *files) {
      if (!file.is_string() || file.get_ref<const std::string &>().empty())
        return fail("'files' in weights must hold non-empty strings, found " +
                    detail::summarizeJson(file));
      const std::string &path = file.get_ref<const std::string &>();
      if (isWeightsIndex(path))
        return fail("'files' in weights names the index " +
                    detail::quote(path) +
                    "; name an index alone, as 'file'");
      model.weights.files.push_back(resolveRelativePath(model.path, path));
    }
    return true;
  }
  if (!fields.has("init"))
    return fail("weights must have 'file', 'files' or 'init'");
  std::string init;
  if (!fields.checkKnown({"init", "seed", "std"}) ||
      !fields.getString("init", init, true))
    return false;
  if (init != "random")
    return fail("unsupported weights init " + detail::quote(init) +
                " (expected 'random')");
  return fields.getSeed("seed", model.weights.seed) &&
         fields.getNumber("std", model.weights.stdDev, /*positive=*/false,
                          /*nonNegative=*/true);
}

bool ModelParser::parseInputs(FieldReader &top) {
  const json *inputs = nullptr;
  if (!top.getArray("inputs", inputs, true))
    return false;
  if (inputs->empty())
    return fail("'inputs' must not be empty");
  for (size_t i = 0; i < inputs->size(); ++i) {
    std::string origin = "inputs[" + std::to_string(i) + "]";
    const json &object = (*inputs)[i];
    if (!object.is_object())
      return fail(origin + " must be an object, found " + typeName(object));
    FieldReader fields(object, "in " + origin, error);
    InputSpec input;
    const json *shape = nullptr;
    if (!fields.checkKnown({"name", "shape"}) ||
        !fields.getString("name", input.name, true) ||
        !fields.getArray("shape", shape, true))
      return false;
    // ["tokens", W]: the token count is dynamic, the width static.
    const char *expected = "expected [\"tokens\", WIDTH] with WIDTH > 0";
    if (shape->size() != 2 || !(*shape)[0].is_string() ||
        (*shape)[0].get<std::string>() != "tokens" ||
        !(*shape)[1].is_number_unsigned() || (*shape)[1].get<uint64_t>() == 0 ||
        (*shape)[1].get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      return fail("invalid shape " + detail::summarizeJson(*shape) +
                  " of input " + detail::quote(input.name) + ": " + expected);
    input.width = (*shape)[1].get<int64_t>();
    if (!defineValue(input.name, origin))
      return false;
    model.inputs.push_back(input);
  }
  return true;
}

bool ModelParser::parseNode(const json &object, size_t index) {
  std::string origin = "nodes[" + std::to_string(index) + "]";
  if (!object.is_object())
    return fail(origin + " must be an object, found " + typeName(object));
  NodeSpec node;
  node.index = index;
  {
    FieldReader unnamed(object, "in " + origin, error);
    if (!unnamed.getString("name", node.name, true))
      return false;
  }
  FieldReader fields(object, "in node " + detail::quote(node.name), error);
  std::string op;
  if (!fields.getString("op", op, true))
    return false;
  std::optional<NodeKind> kind = lookupNodeKind(op);
  if (!kind)
    return fail("unknown op " + detail::quote(op) + " in node " +
                detail::quote(node.name));
  node.kind = *kind;

  switch (node.kind) {
  case NodeKind::Linear: {
    std::string input;
    if (!fields.checkKnown(
            {"name", "op", "input", "weight", "bias", "out_features"}) ||
        !fields.getName("input", input, true) ||
        !fields.getName("weight", node.weight, true) ||
        !fields.getOptName("bias", node.bias) ||
        !fields.getInt("out_features", node.outFeatures, 1, INT64_MAX, false))
      return false;
    node.inputs = {input};
    break;
  }
  case NodeKind::RMSNorm:
  case NodeKind::LayerNorm: {
    std::string input;
    bool ok = node.kind == NodeKind::RMSNorm
                  ? fields.checkKnown({"name", "op", "input", "weight", "eps"})
                  : fields.checkKnown(
                        {"name", "op", "input", "weight", "bias", "eps"});
    if (!ok || !fields.getName("input", input, true) ||
        !fields.getName("weight", node.weight, true) ||
        !fields.getOptName("bias", node.bias) ||
        !fields.getNumber("eps", node.eps, /*positive=*/false,
                          /*nonNegative=*/true))
      return false;
    node.inputs = {input};
    break;
  }
  case NodeKind::Add:
  case NodeKind::Mul: {
    const json *inputs = nullptr;
    if (!fields.checkKnown({"name", "op", "inputs"}) ||
        !fields.getArray("inputs", inputs, true))
      return false;
    if (inputs->size() != 2)
      return fail("field 'inputs' in node " + detail::quote(node.name) +
                  " must have exactly 2 values, found " +
                  std::to_string(inputs->size()));
    for (const json &value : *inputs) {
      if (!value.is_string())
        return fail("field 'inputs' in node " + detail::quote(node.name) +
                    ": expected string, found " + typeName(value));
      node.inputs.push_back(value.get<std::string>());
    }
    break;
  }
  case NodeKind::SiLU:
  case NodeKind::GELU:
  case NodeKind::GELUTanh:
  case NodeKind::ReLU: {
    std::string input;
    if (!fields.checkKnown({"name", "op", "input"}) ||
        !fields.getName("input", input, true))
      return false;
    node.inputs = {input};
    break;
  }
  case NodeKind::MoE:
    if (!parseMoE(fields, node))
      return false;
    break;
  }

  for (const std::string &input : node.inputs)
    if (!checkUse(node, input))
      return false;
  if (!defineValue(node.name, origin))
    return false;
  // Aux values are defined after the node's own output.
  const AuxSpec &aux = node.moe.aux;
  for (const std::optional<std::string> *name :
       {&aux.expertCounts, &aux.loadBalancingLoss, &aux.routerZLoss})
    if (*name && !defineValue(**name, "aux of " + origin, node.name))
      return false;
  model.nodes.push_back(std::move(node));
  return true;
}

bool ModelParser::parseMoE(FieldReader &fields, NodeSpec &node) {
  MoESpec &moe = node.moe;
  std::string input;
  const json *routerJson = nullptr, *expertsJson = nullptr,
             *sharedJson = nullptr, *auxJson = nullptr;
  if (!fields.checkKnown({"name", "op", "input", "num_experts", "top_k",
                          "intermediate_size", "router", "experts",
                          "shared_experts", "aux", "capacity_factor"}) ||
      !fields.getName("input", input, true) ||
      !fields.getInt("num_experts", moe.numExperts, 1, INT64_MAX, true) ||
      !fields.getInt("top_k", moe.topK, 1, moe.numExperts, true) ||
      !fields.getInt("intermediate_size", moe.intermediateSize, 1, INT64_MAX,
                     true) ||
      !fields.getObject("router", routerJson, true) ||
      !fields.getObject("experts", expertsJson, true) ||
      !fields.getObject("shared_experts", sharedJson, false) ||
      !fields.getObject("aux", auxJson, false))
    return false;
  node.inputs = {input};
  if (fields.has("capacity_factor")) {
    double factor = 0;
    if (!fields.getNumber("capacity_factor", factor, /*positive=*/true))
      return false;
    moe.capacityFactor = factor;
  }
  const std::string ofNode = " of node " + detail::quote(node.name);

  // The router.
  RouterSpec &router = moe.router;
  FieldReader routerFields(*routerJson, "in router" + ofNode, error);
  const json *noiseJson = nullptr;
  if (!routerFields.checkKnown({"weight", "scoring", "normalize_top_k", "bias",
                                "num_groups", "top_k_groups", "scaling_factor",
                                "linear_bias", "noise"}) ||
      !routerFields.getName("weight", router.weight, true) ||
      !routerFields.getString("scoring", router.scoring, false) ||
      !routerFields.getBool("normalize_top_k", router.normalizeTopK) ||
      !routerFields.getOptName("bias", router.bias) ||
      !routerFields.getInt("num_groups", router.numGroups, 1, moe.numExperts,
                           false) ||
      !routerFields.getInt("top_k_groups", router.topKGroups, 1,
                           router.numGroups, false) ||
      !routerFields.getNumber("scaling_factor", router.scalingFactor,
                              /*positive=*/true) ||
      !routerFields.getOptName("linear_bias", router.linearBias) ||
      !routerFields.getObject("noise", noiseJson, false))
    return false;
  if (router.scoring != "softmax" && router.scoring != "sigmoid")
    return fail("unknown scoring " + detail::quote(router.scoring) +
                " in router" + ofNode +
                " (expected 'softmax' or 'sigmoid')");
  if (moe.numExperts % router.numGroups != 0)
    return fail("num_experts " + std::to_string(moe.numExperts) +
                " is not a multiple of num_groups " +
                std::to_string(router.numGroups) + " in router" + ofNode);
  int64_t eligible = router.topKGroups * (moe.numExperts / router.numGroups);
  if (moe.topK > eligible)
    return fail("top_k " + std::to_string(moe.topK) + " exceeds the " +
                std::to_string(eligible) + " experts of the top_k_groups=" +
                std::to_string(router.topKGroups) + " eligible groups" +
                ofNode);
  if (noiseJson) {
    FieldReader noiseFields(*noiseJson, "in router.noise" + ofNode, error);
    std::string weight;
    if (!noiseFields.checkKnown({"weight", "seed"}) ||
        !noiseFields.getName("weight", weight, true) ||
        !noiseFields.getSeed("seed", router.noiseSeed))
      return false;
    router.noiseWeight = weight;
  }

  // The routed experts.
  ExpertsSpec &experts = moe.experts;
  FieldReader expertFields(*expertsJson, "in experts" + ofNode, error);
  std::string gateUpSplit = "halves", weightLayout = "out_in";
  if (!expertFields.checkKnown({"activation", "gated", "gate_proj", "up_proj",
                                "down_proj", "up_bias", "down_bias",
                                "gate_bias", "alpha", "limit", "gate_up_proj",
                                "gate_up_bias", "gate_up_split",
                                "weight_layout"}) ||
      !expertFields.getString("activation", experts.activation, false) ||
      !expertFields.getBool("gated", experts.gated) ||
      !expertFields.getOptName("gate_proj", experts.gateProj) ||
      !expertFields.getOptName("gate_up_proj", experts.gateUpProj) ||
      !expertFields.getOptName("gate_up_bias", experts.gateUpBias) ||
      !expertFields.getString("gate_up_split", gateUpSplit, false) ||
      !expertFields.getString("weight_layout", weightLayout, false) ||
      !expertFields.getName("up_proj", experts.upProj,
                            !expertsJson->contains("gate_up_proj")) ||
      !expertFields.getName("down_proj", experts.downProj, true) ||
      !expertFields.getOptName("gate_bias", experts.gateBias) ||
      !expertFields.getOptName("up_bias", experts.upBias) ||
      !expertFields.getOptName("down_bias", experts.downBias) ||
      !expertFields.getNumber("alpha", experts.alpha) ||
      !expertFields.getNumber("limit", experts.limit, /*positive=*/true))
    return false;
  // The compiled model holds these factors as f32: they must stay finite
  // and positive there too.
  for (auto [key, value, where] :
       {std::tuple<const char *, double, const char *>{
            "scaling_factor", router.scalingFactor, "router"},
        {"limit", experts.limit, "experts"}}) {
    float narrowed = static_cast<float>(value);
    if (!std::isfinite(narrowed) || !(narrowed > 0.0f)) {
      std::ostringstream text;
      text << "field '" << key << "' in " << where << ofNode << " must be "
           << "a positive number within f32 range, found " << value;
      return fail(text.str());
    }
  }
  if (!std::isfinite(static_cast<float>(experts.alpha)))
    return fail("field 'alpha' in experts" + ofNode +
                " must be within f32 range");
  const std::string &act = experts.activation;
  if (act != "silu" && act != "gelu" && act != "gelu_tanh" && act != "relu" &&
      act != "swiglu_oai")
    return fail("unknown activation " + detail::quote(act) + " in experts" +
                ofNode +
                " (expected silu, gelu, gelu_tanh, relu or swiglu_oai)");
  if (act == "swiglu_oai" && !experts.gated)
    return fail("activation 'swiglu_oai' requires gated experts" + ofNode);
  for (const char *key : {"alpha", "limit"})
    if (act != "swiglu_oai" && expertsJson->contains(key))
      return fail("field '" + std::string(key) + "' in experts" + ofNode +
                  " applies to activation 'swiglu_oai' only, not " +
                  detail::quote(act));
  // Fused gate/up (extension): it replaces both projections, or both
  // biases, and needs gated experts.
  if (gateUpSplit != "halves" && gateUpSplit != "interleaved")
    return fail("field 'gate_up_split' in experts" + ofNode + " is " +
                detail::quote(gateUpSplit) +
                " (expected 'halves' or 'interleaved')");
  if (weightLayout != "out_in" && weightLayout != "in_out")
    return fail("field 'weight_layout' in experts" + ofNode + " is " +
                detail::quote(weightLayout) +
                " (expected 'out_in' or 'in_out')");
  experts.gateUpInterleaved = gateUpSplit == "interleaved";
  experts.weightsInOut = weightLayout == "in_out";
  struct FusedField {
    const char *name;
    bool given;
    const char *gate, *up;
  };
  for (const FusedField &fused :
       {FusedField{"gate_up_proj", experts.gateUpProj.has_value(),
                   "gate_proj", "up_proj"},
        FusedField{"gate_up_bias", experts.gateUpBias.has_value(),
                   "gate_bias", "up_bias"}}) {
    if (!fused.given)
      continue;
    if (!experts.gated)
      return fail("field '" + std::string(fused.name) + "' in experts" +
                  ofNode + " is not allowed with 'gated': false");
    if (expertsJson->contains(fused.gate) || expertsJson->contains(fused.up))
      return fail("field '" + std::string(fused.name) + "' in experts" +
                  ofNode + " replaces '" + fused.gate + "' and '" + fused.up +
                  "'; give one or the other");
  }
  if (expertsJson->contains("gate_up_split") && !experts.gateUpProj &&
      !experts.gateUpBias)
    return fail("field 'gate_up_split' in experts" + ofNode +
                " needs 'gate_up_proj' or 'gate_up_bias'");
  if (experts.gated && !experts.gateProj && !experts.gateUpProj)
    return fail("missing field 'gate_proj' in experts" + ofNode +
                " (required by gated experts)");
  if (!experts.gated && experts.gateProj)
    return fail("field 'gate_proj' in experts" + ofNode +
                " is not allowed with 'gated': false");
  if (!experts.gated && experts.gateBias)
    return fail("field 'gate_bias' in experts" + ofNode +
                " is not allowed with 'gated': false");

  // The shared experts: the same activation and gating as the experts.
  if (sharedJson) {
    SharedExpertsSpec shared;
    FieldReader sharedFields(*sharedJson, "in shared_experts" + ofNode, error);
    if (!sharedFields.checkKnown({"intermediate_size", "gate_proj", "up_proj",
                                  "down_proj", "gate"}) ||
        !sharedFields.getInt("intermediate_size", shared.intermediateSize, 1,
                             INT64_MAX, true) ||
        !sharedFields.getOptName("gate_proj", shared.gateProj) ||
        !sharedFields.getName("up_proj", shared.upProj, true) ||
        !sharedFields.getName("down_proj", shared.downProj, true) ||
        !sharedFields.getOptName("gate", shared.gate))
      return false;
    if (experts.gated && !shared.gateProj)
      return fail("missing field 'gate_proj' in shared_experts" + ofNode +
                  " (required by gated experts)");
    if (!experts.gated && shared.gateProj)
      return fail("field 'gate_proj' in shared_experts" + ofNode +
                  " is not allowed with 'gated': false experts");
    moe.sharedExperts = shared;
  }

  if (auxJson) {
    FieldReader auxFields(*auxJson, "in aux" + ofNode, error);
    if (!auxFields.checkKnown(
            {"expert_counts", "load_balancing_loss", "router_z_loss"}) ||
        !auxFields.getOptString("expert_counts", moe.aux.expertCounts) ||
        !auxFields.getOptString("load_balancing_loss",
                                moe.aux.loadBalancingLoss) ||
        !auxFields.getOptString("router_z_loss", moe.aux.routerZLoss))
      return false;
  }
  return true;
}

bool ModelParser::parseOutputs(FieldReader &top) {
  const json *outputs = nullptr;
  if (!top.getArray("outputs", outputs, true))
    return false;
  if (outputs->empty())
    return fail("'outputs' must not be empty");
  for (size_t i = 0; i < outputs->size(); ++i) {
    const json &value = (*outputs)[i];
    if (!value.is_string())
      return fail("outputs[" + std::to_string(i) +
                  "]: expected string, found " + typeName(value));
    OutputSpec output;
    output.name = value.get<std::string>();
    if (!values.count(output.name))
      return fail("output " + detail::quote(output.name) +
                  " is not a defined value");
    for (const OutputSpec &other : model.outputs)
      if (other.name == output.name)
        return fail("output " + detail::quote(output.name) +
                    " is listed twice");
    model.outputs.push_back(output);
  }
  return true;
}

/// "PATH:L:C: error: invalid JSON: TEXT" from nlohmann's "[json.exception.
/// parse_error.101] parse error at line L, column C: TEXT".
std::string formatParseError(const std::string &path, const std::string &what,
                             const std::string &text, size_t byte) {
  unsigned long line = 0, column = 0;
  size_t at = what.find("at line ");
  std::string reason = what;
  if (at != std::string::npos &&
      std::sscanf(what.c_str() + at, "at line %lu, column %lu", &line,
                  &column) == 2) {
    size_t colon = what.find(": ", at);
    if (colon != std::string::npos)
      reason = what.substr(colon + 2);
  } else {
    // Count lines up to the failing byte ourselves.
    line = 1;
    column = 0;
    for (size_t i = 0; i < byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 0;
      } else {
        ++column;
      }
    }
    size_t bracket = what.find("] ");
    if (bracket != std::string::npos)
      reason = what.substr(bracket + 2);
  }
  // nlohmann's text ends with the token it read last, which may be a whole
  // (huge) string.
  return pathForMessage(path) + ":" + std::to_string(line) + ":" +
         std::to_string(column) +
         ": error: invalid JSON: " + detail::clipText(reason, 400);
}

} // namespace

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

bool parseModelSpec(const std::string &text, const std::string &path,
                    ModelSpec &model, std::string &error) {
  try {
    json root;
    try {
      root = json::parse(text);
    } catch (const json::parse_error &e) {
      error = formatParseError(path, e.what(), text, e.byte);
      return false;
    } catch (const json::exception &e) {
      // A number too large for a double; nlohmann gives no position.
      std::string what = e.what();
      size_t bracket = what.find("] ");
      error = detail::makeError(
          path,
          "invalid JSON: " +
              (bracket == std::string::npos ? what : what.substr(bracket + 2)));
      return false;
    }
    ModelSpec parsed;
    parsed.path = path;
    std::string message;
    ModelParser parser(parsed, message);
    if (!parser.parse(root)) {
      error = detail::makeError(path, message);
      return false;
    }
    model = std::move(parsed);
    return true;
  } catch (const std::exception &e) {
    // Number overflow in nlohmann, allocation failure, ...
    error = detail::makeError(path, std::string("invalid model: ") + e.what());
    return false;
  }
}

std::string WeightsSource::describe() const {
  if (files.empty())
    return "the random init";
  std::string first = pathForMessage(files.front());
  if (files.size() == 1)
    return first;
  return first + " and " + std::to_string(files.size() - 1) + " more shard" +
         (files.size() == 2 ? "" : "s");
}

bool resolveModelSpecWithWeights(ModelSpec &model,
                                 const std::string &weightsOverride,
                                 std::string &error) {
  // An override is relative to the working directory, like any command line
  // path, not to the JSON file.
  if (!weightsOverride.empty())
    model.weights.files = {resolveRelativePath("", weightsOverride)};
  if (model.weights.isRandom())
    return resolveModelSpec(model, nullptr, error);
  std::unique_ptr<WeightFiles> files = WeightFiles::open(model.weights, error);
  if (!files)
    return false;
  std::vector<TensorShapeInfo> shapes = files->shapes();
  return resolveModelSpec(model, &shapes, error);
}

bool loadModelSpec(const std::string &path, const std::string &weightsOverride,
                   ModelSpec &model, std::string &error) {
  std::string text;
  return readFile(path, text, error) &&
         parseModelSpec(text, path, model, error) &&
         resolveModelSpecWithWeights(model, weightsOverride, error);
}

} // namespace moe

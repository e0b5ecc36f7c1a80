//===- HuggingFace.cpp - moe-graph models of Hugging Face checkpoints -----===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements importHuggingFace: it reads a checkpoint's
// config.json, decides for each selected layer whether it is a MoE block or
// a dense MLP, as Transformers' modeling code for the model type does, and
// writes the layer's nodes with the checkpoint's tensor names
// (docs/huggingface.md).
//
//===----------------------------------------------------------------------===//

#include "moe/Frontend/HuggingFace.h"
#include "moe/Model/ModelSpec.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>

using nlohmann::json;
using nlohmann::ordered_json;

namespace moe {

const std::vector<std::string> &supportedHuggingFaceModelTypes() {
  static const std::vector<std::string> types = {
      "mixtral",  "qwen2_moe", "qwen3_moe",          "olmoe",
      "deepseek_v3", "gpt_oss", "switch_transformers"};
  return types;
}

namespace {

/// Typed reads of config.json fields, each failing with a message that
/// names the file, the field and the model type.
class Config {
public:
  Config(const json &object, std::string path, std::string modelType,
         std::string &error)
      : object(object), path(std::move(path)), modelType(std::move(modelType)),
        error(error) {}

  bool has(const char *key) const {
    auto it = object.find(key);
    return it != object.end() && !it->is_null();
  }

  /// An integer >= `minimum`; `fallback` when the field is absent.
  bool getInt(const char *key, int64_t &out,
              std::optional<int64_t> fallback = std::nullopt,
              int64_t minimum = 1) {
    if (!has(key))
      return fallback ? (out = *fallback, true) : missing(key);
    const json &value = object.at(key);
    if (!value.is_number_integer() || value.get<int64_t>() < minimum)
      return invalid(key, "an integer >= " + std::to_string(minimum), value);
    out = value.get<int64_t>();
    return true;
  }
  /// The first of `keys` the config has.
  bool getIntOf(std::initializer_list<const char *> keys, int64_t &out) {
    for (const char *key : keys)
      if (has(key))
        return getInt(key, out);
    return missing(*keys.begin());
  }
  bool getNumber(const char *key, double &out,
                 std::optional<double> fallback = std::nullopt) {
    if (!has(key))
      return fallback ? (out = *fallback, true) : missing(key);
    const json &value = object.at(key);
    if (!value.is_number() || !(value.get<double>() > 0))
      return invalid(key, "a positive number", value);
    out = value.get<double>();
    return true;
  }
  bool getBool(const char *key, bool &out, bool fallback) {
    if (!has(key))
      return (out = fallback, true);
    const json &value = object.at(key);
    if (!value.is_boolean())
      return invalid(key, "true or false", value);
    out = value.get<bool>();
    return true;
  }
  bool getString(const char *key, std::string &out,
                 std::optional<std::string> fallback = std::nullopt) {
    if (!has(key))
      return fallback ? (out = *fallback, true) : missing(key);
    const json &value = object.at(key);
    if (!value.is_string())
      return invalid(key, "a string", value);
    out = value.get<std::string>();
    return true;
  }
  /// A list of integers; empty when absent.
  bool getIntList(const char *key, std::vector<int64_t> &out) {
    out.clear();
    if (!has(key))
      return true;
    const json &value = object.at(key);
    if (!value.is_array())
      return invalid(key, "a list of layer numbers", value);
    for (const json &item : value) {
      if (!item.is_number_integer())
        return invalid(key, "a list of layer numbers", value);
      out.push_back(item.get<int64_t>());
    }
    return true;
  }

  bool fail(const std::string &text) {
    error = pathForMessage(path) + ": error: " + text;
    return false;
  }

private:
  bool missing(const char *key) {
    return fail("'" + std::string(key) + "' is missing; model_type '" +
                modelType + "' needs it");
  }
  bool invalid(const char *key, const std::string &expected,
               const json &value) {
    std::string text = value.dump();
    if (text.size() > 80)
      text = text.substr(0, 80) + "...";
    return fail("'" + std::string(key) + "' must be " + expected +
                ", found " + text);
  }

  const json &object;
  std::string path, modelType;
  std::string &error;
};

/// The moe-graph activation of a Transformers `hidden_act`.
std::optional<std::string> activationOf(const std::string &hiddenAct) {
  if (hiddenAct == "silu" || hiddenAct == "swish")
    return "silu";
  if (hiddenAct == "gelu")
    return "gelu";
  if (hiddenAct == "gelu_pytorch_tanh" || hiddenAct == "gelu_new" ||
      hiddenAct == "gelu_fast")
    return "gelu_tanh";
  if (hiddenAct == "relu")
    return "relu";
  return std::nullopt;
}

/// The nodes of the model being built.
class GraphBuilder {
public:
  /// The value the next layer reads.
  std::string residual = "x";
  ordered_json nodes = ordered_json::array();

  void rmsNorm(const std::string &name, const std::string &weight,
               double eps) {
    nodes.push_back({{"name", name},
                     {"op", "rms_norm"},
                     {"input", residual},
                     {"weight", weight},
                     {"eps", eps}});
  }
  void linear(const std::string &name, const std::string &input,
              const std::string &weight) {
    nodes.push_back(
        {{"name", name}, {"op", "linear"}, {"input", input}, {"weight", weight}});
  }
  void unary(const std::string &name, const std::string &op,
             const std::string &input) {
    nodes.push_back({{"name", name}, {"op", op}, {"input", input}});
  }
  void binary(const std::string &name, const std::string &op,
              const std::string &lhs, const std::string &rhs) {
    nodes.push_back(
        {{"name", name}, {"op", op}, {"inputs", ordered_json::array({lhs, rhs})}});
  }
  /// A dense MLP of layer `layer` on `input`: `down(act(gate(x)) * up(x))`,
  /// or `down(act(up(x)))` without a gate (an empty `gate`).
  std::string denseMLP(int64_t layer, const std::string &input,
                       const std::string &gate, const std::string &up,
                       const std::string &down, const std::string &activation) {
    std::string prefix = "l" + std::to_string(layer) + ".mlp.";
    linear(prefix + "up", input, up);
    std::string hidden = prefix + "up";
    if (!gate.empty()) {
      linear(prefix + "gate", input, gate);
      unary(prefix + "act", activation, prefix + "gate");
      binary(prefix + "hidden", "mul", prefix + "act", prefix + "up");
      hidden = prefix + "hidden";
    } else {
      unary(prefix + "act", activation, prefix + "up");
      hidden = prefix + "act";
    }
    linear(prefix + "down", hidden, down);
    return prefix + "down";
  }
  /// `residual = residual + ffn`, named after the layer.
  void residualAdd(int64_t layer, const std::string &ffn) {
    std::string name = "l" + std::to_string(layer) + ".out";
    binary(name, "add", residual, ffn);
    residual = name;
  }
};

/// The weights of the checkpoint in `directory`: its index, its one
/// safetensors file, or its safetensors files in name order.
bool findWeights(const std::filesystem::path &directory, ordered_json &weights,
                 std::string &described, std::string &error) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path index = directory / "model.safetensors.index.json";
  fs::path single = directory / "model.safetensors";
  if (fs::exists(index, ec)) {
    weights = {{"file", index.string()}};
    described = index.string();
    return true;
  }
  if (fs::exists(single, ec)) {
    weights = {{"file", single.string()}};
    described = single.string();
    return true;
  }
  std::vector<std::string> files;
  for (const fs::directory_entry &entry : fs::directory_iterator(directory, ec))
    if (entry.path().extension() == ".safetensors")
      files.push_back(entry.path().string());
  if (files.empty()) {
    error = pathForMessage(directory.string()) +
            ": error: no weights: expected model.safetensors.index.json, "
            "model.safetensors or *.safetensors files";
    return false;
  }
  std::sort(files.begin(), files.end());
  weights = {{"files", files}};
  described = files.front() + " and " + std::to_string(files.size() - 1) +
              " more";
  return true;
}

} // namespace

bool importHuggingFace(const HuggingFaceImportOptions &options,
                       HuggingFaceImport &result, std::string &error) {
  namespace fs = std::filesystem;
  fs::path directory = fs::absolute(options.directory);
  std::string configPath = (directory / "config.json").string();
  std::string text;
  if (!readFile(configPath, text, error))
    return false;
  json config = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object()) {
    error = pathForMessage(configPath) + ": error: not a JSON object";
    return false;
  }
  std::string modelType;
  {
    Config typeReader(config, configPath, "?", error);
    if (!typeReader.has("model_type"))
      return typeReader.fail("'model_type' is missing");
    if (!typeReader.getString("model_type", modelType))
      return false;
  }
  const std::vector<std::string> &types = supportedHuggingFaceModelTypes();
  if (std::find(types.begin(), types.end(), modelType) == types.end()) {
    std::string known;
    for (const std::string &type : types)
      known += (known.empty() ? "" : ", ") + type;
    error = pathForMessage(configPath) + ": error: unsupported model_type '" +
            modelType + "' (moe-import-hf reads " + known + ")";
    return false;
  }
  Config c(config, configPath, modelType, error);
  bool isSwitch = modelType == "switch_transformers";

  int64_t hidden = 0, layers = 0;
  double eps = 0;
  if (isSwitch) {
    if (!c.getInt("d_model", hidden) || !c.getInt("num_layers", layers) ||
        !c.getNumber("layer_norm_epsilon", eps, 1e-6))
      return false;
  } else {
    if (!c.getInt("hidden_size", hidden) ||
        !c.getInt("num_hidden_layers", layers) ||
        !c.getNumber("rms_norm_eps", eps, 1e-6))
      return false;
  }
  int64_t first = 0, last = layers;
  if (options.layers) {
    std::tie(first, last) = *options.layers;
    if (first < 0 || first >= last || last > layers) {
      error = "moe-import-hf: error: --layers " + std::to_string(first) + ":" +
              std::to_string(last) + " is not a range of the " +
              std::to_string(layers) + " layers of " +
              pathForMessage(configPath);
      return false;
    }
  }

  std::string activation = "silu";
  if (!isSwitch && modelType != "gpt_oss") {
    std::string hiddenAct;
    if (!c.getString("hidden_act", hiddenAct, std::string("silu")))
      return false;
    std::optional<std::string> mapped = activationOf(hiddenAct);
    if (!mapped)
      return c.fail("'hidden_act' '" + hiddenAct +
                    "' has no moe-graph activation (silu, gelu, "
                    "gelu_pytorch_tanh, gelu_new, relu)");
    activation = *mapped;
  }

  GraphBuilder graph;
  for (int64_t layer = first; layer < last; ++layer) {
    std::string n = std::to_string(layer);
    std::string prefix = "model.layers." + n + ".";
    std::string norm = "l" + n + ".norm", moeName = "l" + n + ".moe";
    ordered_json moe = {{"name", moeName}, {"op", "moe"}, {"input", norm}};
    auto experts = [&](const std::string &base, const char *gate,
                       const char *up, const char *down) {
      return ordered_json{{"activation", activation},
                          {"gated", true},
                          {"gate_proj", base + "{e}." + gate + ".weight"},
                          {"up_proj", base + "{e}." + up + ".weight"},
                          {"down_proj", base + "{e}." + down + ".weight"}};
    };
    // Each block normalises its input, then runs its FFN on that.
    graph.rmsNorm(norm,
                  isSwitch ? "encoder.block." + n + ".layer.1.layer_norm.weight"
                           : prefix + "post_attention_layernorm.weight",
                  eps);
    std::optional<std::string> ffn;
    // The MoE node's routed experts: `e` of width `f`, `k` a token.
    auto routed = [&](int64_t e, int64_t k, int64_t f) {
      moe["num_experts"] = e;
      moe["top_k"] = k;
      moe["intermediate_size"] = f;
    };
    // The layer's FFN as Transformers' dense gated MLP under `mlp`; the
    // config must give its width (`intermediate_size`), which the tensors
    // then have.
    auto denseGatedMLP = [&](const std::string &mlp) {
      int64_t width;
      if (!c.getInt("intermediate_size", width))
        return false;
      ffn = graph.denseMLP(layer, norm, mlp + "gate_proj.weight",
                           mlp + "up_proj.weight", mlp + "down_proj.weight",
                           activation);
      return true;
    };
    if (modelType == "mixtral") {
      int64_t e, k, f;
      if (!c.getInt("num_local_experts", e) ||
          !c.getInt("num_experts_per_tok", k) ||
          !c.getInt("intermediate_size", f))
        return false;
      std::string block = prefix + "block_sparse_moe.";
      routed(e, k, f);
      moe["router"] = {{"weight", block + "gate.weight"},
                       {"scoring", "softmax"},
                       {"normalize_top_k", true}};
      moe["experts"] = experts(block + "experts.", "w1", "w3", "w2");
    } else if (modelType == "qwen2_moe" || modelType == "qwen3_moe" ||
               modelType == "olmoe") {
      bool olmoe = modelType == "olmoe";
      int64_t e, k, f, step = 1;
      bool normalize;
      std::vector<int64_t> mlpOnly;
      if (!c.getInt("num_experts", e) || !c.getInt("num_experts_per_tok", k) ||
          !c.getInt(olmoe ? "intermediate_size" : "moe_intermediate_size", f) ||
          !c.getBool("norm_topk_prob", normalize, false) ||
          (!olmoe && (!c.getInt("decoder_sparse_step", step, 1) ||
                      !c.getIntList("mlp_only_layers", mlpOnly))))
        return false;
      // Transformers: a MoE block unless the layer is in mlp_only_layers or
      // off the sparse step.
      bool sparse = std::find(mlpOnly.begin(), mlpOnly.end(), layer) ==
                        mlpOnly.end() &&
                    (layer + 1) % step == 0;
      std::string mlp = prefix + "mlp.";
      if (!sparse) {
        if (!denseGatedMLP(mlp))
          return false;
      } else {
        routed(e, k, f);
        moe["router"] = {{"weight", mlp + "gate.weight"},
                         {"scoring", "softmax"},
                         {"normalize_top_k", normalize}};
        moe["experts"] =
            experts(mlp + "experts.", "gate_proj", "up_proj", "down_proj");
        int64_t shared = 0;
        if (modelType == "qwen2_moe" &&
            !c.getInt("shared_expert_intermediate_size", shared, 0, 0))
          return false;
        if (shared > 0)
          moe["shared_experts"] = {
              {"intermediate_size", shared},
              {"gate_proj", mlp + "shared_expert.gate_proj.weight"},
              {"up_proj", mlp + "shared_expert.up_proj.weight"},
              {"down_proj", mlp + "shared_expert.down_proj.weight"},
              {"gate", mlp + "shared_expert_gate.weight"}};
      }
    } else if (modelType == "deepseek_v3") {
      int64_t e, k, f, shared, groups, topGroups, firstDense, frequency;
      double scaling;
      bool normalize;
      std::string scoring, topkMethod;
      if (!c.getInt("n_routed_experts", e) ||
          !c.getInt("num_experts_per_tok", k) ||
          !c.getInt("moe_intermediate_size", f) ||
          !c.getInt("n_shared_experts", shared, 0, 0) ||
          !c.getInt("n_group", groups, 1) || !c.getInt("topk_group", topGroups, 1) ||
          !c.getInt("first_k_dense_replace", firstDense, 0, 0) ||
          !c.getInt("moe_layer_freq", frequency, 1) ||
          !c.getNumber("routed_scaling_factor", scaling, 1.0) ||
          !c.getBool("norm_topk_prob", normalize, true) ||
          !c.getString("scoring_func", scoring, std::string("sigmoid")) ||
          !c.getString("topk_method", topkMethod, std::string("noaux_tc")))
        return false;
      if (scoring != "sigmoid" && scoring != "softmax")
        return c.fail("'scoring_func' '" + scoring +
                      "' is not one moe-graph has (sigmoid, softmax)");
      std::string mlp = prefix + "mlp.";
      // Transformers: dense below first_k_dense_replace and off the MoE
      // layer frequency.
      if (layer < firstDense || layer % frequency != 0) {
        if (!denseGatedMLP(mlp))
          return false;
      } else {
        routed(e, k, f);
        ordered_json router = {{"weight", mlp + "gate.weight"},
                               {"scoring", scoring},
                               {"normalize_top_k", normalize}};
        if (topkMethod == "noaux_tc")
          router["bias"] = mlp + "gate.e_score_correction_bias";
        if (groups > 1) {
          router["num_groups"] = groups;
          router["top_k_groups"] = topGroups;
        }
        router["scaling_factor"] = scaling;
        moe["router"] = router;
        moe["experts"] =
            experts(mlp + "experts.", "gate_proj", "up_proj", "down_proj");
        if (shared > 0)
          moe["shared_experts"] = {
              {"intermediate_size", shared * f},
              {"gate_proj", mlp + "shared_experts.gate_proj.weight"},
              {"up_proj", mlp + "shared_experts.up_proj.weight"},
              {"down_proj", mlp + "shared_experts.down_proj.weight"}};
      }
    } else if (modelType == "gpt_oss") {
      int64_t e, k, f;
      double limit;
      if (!c.getInt("num_local_experts", e) ||
          !c.getIntOf({"num_experts_per_tok", "experts_per_token"}, k) ||
          !c.getInt("intermediate_size", f) ||
          !c.getNumber("swiglu_limit", limit, 7.0))
        return false;
      std::string mlp = prefix + "mlp.";
      routed(e, k, f);
      // Top-k of the logits, then a softmax over those k: the softmax of
      // all, renormalised over the k.
      moe["router"] = {{"weight", mlp + "router.weight"},
                       {"linear_bias", mlp + "router.bias"},
                       {"scoring", "softmax"},
                       {"normalize_top_k", true}};
      moe["experts"] = {{"activation", "swiglu_oai"},
                        {"gated", true},
                        {"alpha", 1.702},
                        {"limit", limit},
                        {"weight_layout", "in_out"},
                        {"gate_up_split", "interleaved"},
                        {"gate_up_proj", mlp + "experts.gate_up_proj"},
                        {"gate_up_bias", mlp + "experts.gate_up_proj_bias"},
                        {"down_proj", mlp + "experts.down_proj"},
                        {"down_bias", mlp + "experts.down_proj_bias"}};
    } else if (isSwitch) {
      int64_t e, f, step;
      std::string feedForward;
      if (!c.getInt("num_experts", e) || !c.getInt("d_ff", f) ||
          !c.getInt("encoder_sparse_step", step, 1, 0) ||
          !c.getString("feed_forward_proj", feedForward, std::string("relu")))
        return false;
      if (feedForward != "relu")
        return c.fail("'feed_forward_proj' '" + feedForward +
                      "' is not imported (relu is)");
      // The encoder's blocks: layer.1 is the feed-forward one.
      std::string block = "encoder.block." + n + ".layer.1.";
      bool sparse = step > 0 && (layer % step == 1 || step == 1);
      if (!sparse) {
        ffn = graph.denseMLP(layer, norm, "",
                             block + "DenseReluDense.wi.weight",
                             block + "DenseReluDense.wo.weight", "relu");
      } else {
        routed(e, 1, f);
        moe["router"] = {{"weight", block + "mlp.router.classifier.weight"},
                         {"scoring", "softmax"}};
        moe["experts"] = {
            {"activation", "relu"},
            {"gated", false},
            {"up_proj", block + "mlp.experts.expert_{e}.wi.weight"},
            {"down_proj", block + "mlp.experts.expert_{e}.wo.weight"}};
      }
    }
    if (!ffn) {
      graph.nodes.push_back(moe);
      ffn = moeName;
      ++result.moeLayers;
    } else {
      ++result.denseLayers;
    }
    graph.residualAdd(layer, *ffn);
  }

  ordered_json weights;
  if (!findWeights(directory, weights, result.weights, error))
    return false;
  std::string name = directory.filename().string();
  if (name.empty())
    name = directory.parent_path().filename().string();
  ordered_json model = {
      {"format", "moe-graph"},
      {"version", 1},
      {"name", name.empty() ? modelType : name},
      {"dtype", "f32"},
      {"weights", weights},
      {"inputs", ordered_json::array({{{"name", "x"},
                                       {"shape", ordered_json::array(
                                                     {"tokens", hidden})}}})},
      {"outputs", ordered_json::array({graph.residual})},
      {"nodes", graph.nodes}};
  result.modelJson = model.dump(1) + "\n";
  result.modelType = modelType;
  result.firstLayer = first;
  result.lastLayer = last;
  return true;
}

} // namespace moe

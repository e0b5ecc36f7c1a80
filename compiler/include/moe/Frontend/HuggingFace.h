//===- HuggingFace.h - moe-graph models of Hugging Face checkpoints -*- C++ -*-//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// moe-import-hf's mapping: a Hugging Face checkpoint directory (config.json
// and safetensors shards) to a moe-graph model of its decoder feed-forward
// blocks, `x = x + FFN(post_attention_layernorm(x))` for each selected
// layer, where FFN is the layer's MoE block or its dense MLP as the config
// says. docs/huggingface.md lists each family's config keys and what they
// become.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_FRONTEND_HUGGINGFACE_H
#define MOE_FRONTEND_HUGGINGFACE_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moe {

/// The `model_type`s moe-import-hf reads, in the order its help lists them.
const std::vector<std::string> &supportedHuggingFaceModelTypes();

struct HuggingFaceImportOptions {
  /// The checkpoint directory.
  std::string directory;
  /// Layers [first, last) to import; all when unset.
  std::optional<std::pair<int64_t, int64_t>> layers;
};

/// What an import produced.
struct HuggingFaceImport {
  /// The moe-graph model, as JSON text.
  std::string modelJson;
  std::string modelType;
  int64_t firstLayer = 0, lastLayer = 0;
  int64_t moeLayers = 0, denseLayers = 0;
  /// The weights the model names: an index or a safetensors file.
  std::string weights;
};

/// Maps the checkpoint in `options.directory`. Returns false with a message
/// in `error` naming the file and the field (or tensor) at fault: an
/// unknown `model_type`, a missing or invalid config field, no weights.
/// The model's tensor names are the checkpoint's; they are not checked
/// here (moe-import-hf resolves the model against the shards).
bool importHuggingFace(const HuggingFaceImportOptions &options,
                       HuggingFaceImport &result, std::string &error);

} // namespace moe

#endif // MOE_FRONTEND_HUGGINGFACE_H

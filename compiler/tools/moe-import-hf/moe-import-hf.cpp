//===- moe-import-hf.cpp - Hugging Face checkpoints to moe-graph ----------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
//   moe-import-hf DIR -o MODEL.json [--layers A:B]
//
// Writes the moe-graph model of the decoder feed-forward blocks of the
// Hugging Face checkpoint in DIR (config.json and its safetensors), with
// the checkpoint's tensor names, after checking it against the shards'
// headers: `moe-compile MODEL.json` then compiles it. See
// docs/huggingface.md.
//
//===----------------------------------------------------------------------===//

#include "moe/Frontend/HuggingFace.h"
#include "moe/Model/ModelSpec.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

int usage(const char *message = nullptr) {
  if (message)
    std::fprintf(stderr, "moe-import-hf: error: %s\n", message);
  std::string types;
  for (const std::string &type : moe::supportedHuggingFaceModelTypes())
    types += (types.empty() ? "" : ", ") + type;
  std::fprintf(
      message ? stderr : stdout,
      "usage: moe-import-hf DIR -o MODEL.json [--layers A:B]\n"
      "\n"
      "Writes a moe-graph model of the feed-forward blocks of the Hugging\n"
      "Face checkpoint in DIR (config.json, model.safetensors.index.json and\n"
      "its shards, or model.safetensors): for each layer,\n"
      "x = x + FFN(post_attention_layernorm(x)), FFN the layer's MoE block or\n"
      "dense MLP as the config says, with the checkpoint's tensor names.\n"
      "--layers A:B imports layers A to B - 1 (default: all).\n"
      "model_type: %s.\n",
      types.c_str());
  return message ? 1 : 0;
}

bool parseLayers(const std::string &text, std::pair<int64_t, int64_t> &range) {
  size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return false;
  char *end = nullptr;
  long long first = std::strtoll(text.c_str(), &end, 10);
  if (end != text.c_str() + colon)
    return false;
  long long last = std::strtoll(text.c_str() + colon + 1, &end, 10);
  if (*end != '\0')
    return false;
  range = {first, last};
  return true;
}

} // namespace

int main(int argc, char **argv) {
  moe::HuggingFaceImportOptions options;
  std::string output;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h")
      return usage();
    if (arg == "-o" || arg == "--layers") {
      if (i + 1 >= argc)
        return usage((arg + " needs a value").c_str());
      std::string value = argv[++i];
      if (arg == "-o") {
        output = value;
      } else {
        std::pair<int64_t, int64_t> range;
        if (!parseLayers(value, range))
          return usage(("--layers takes A:B, got '" + value + "'").c_str());
        options.layers = range;
      }
      continue;
    }
    if (!arg.empty() && arg[0] == '-')
      return usage(("unknown option " + arg).c_str());
    if (!options.directory.empty())
      return usage("one checkpoint directory at a time");
    options.directory = arg;
  }
  if (options.directory.empty())
    return usage("no checkpoint directory");
  if (output.empty())
    return usage("no output file (-o MODEL.json)");

  moe::HuggingFaceImport result;
  std::string error;
  if (!moe::importHuggingFace(options, result, error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  // The model must fit the checkpoint: every tensor there, of its shape.
  moe::ModelSpec model;
  if (!moe::parseModelSpec(result.modelJson, output, model, error) ||
      !moe::resolveModelSpecWithWeights(model, "", error)) {
    std::fprintf(stderr,
                 "moe-import-hf: error: the %s model does not fit its "
                 "checkpoint:\n%s\n",
                 result.modelType.c_str(), error.c_str());
    return 1;
  }
  std::ofstream file(output);
  file << result.modelJson;
  file.close();
  if (!file) {
    std::fprintf(stderr, "moe-import-hf: error: cannot write %s\n",
                 output.c_str());
    return 1;
  }
  std::fprintf(stderr,
               "moe-import-hf: %s, layers %lld to %lld (%lld MoE, %lld "
               "dense), %lld parameters in %s\n",
               result.modelType.c_str(),
               static_cast<long long>(result.firstLayer),
               static_cast<long long>(result.lastLayer - 1),
               static_cast<long long>(result.moeLayers),
               static_cast<long long>(result.denseLayers),
               static_cast<long long>(model.params.size()),
               result.weights.c_str());
  return 0;
}

//===- WeightFiles.h - The safetensors files of a model ---------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The weights of a model as one set of named tensors, whether they come
// from one safetensors file, a list of shards, or a Hugging Face index
// (`model.safetensors.index.json`, whose `weight_map` names each tensor's
// shard). Every shard is memory-mapped; a tensor is found in the shard that
// holds it, and a tensor in two shards, a shard that is not there, or an
// index that names a shard without the tensor is an error naming both.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_MODEL_WEIGHTFILES_H
#define MOE_MODEL_WEIGHTFILES_H

#include "moe/Model/ModelSpec.h"
#include "moe/Model/Safetensors.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace moe {

/// Whether `path` names a Hugging Face index of shards rather than a
/// safetensors file: it ends in ".json".
bool isWeightsIndex(const std::string &path);

/// The opened weights files of a model.
class WeightFiles {
public:
  /// A tensor and the shard it is in.
  struct Tensor {
    const SafetensorsFile *file;
    const SafetensorsEntry *entry;
  };

  /// Opens the files `source` names (not random init). Returns null with a
  /// message in `error` naming the file, shard and tensor at fault.
  static std::unique_ptr<WeightFiles> open(const WeightsSource &source,
                                           std::string &error);

  /// The tensor named `name`, or null.
  const Tensor *find(const std::string &name) const;
  /// Every tensor's name, dtype and shape.
  std::vector<TensorShapeInfo> shapes() const;
  const std::vector<std::unique_ptr<SafetensorsFile>> &shards() const {
    return files;
  }

private:
  WeightFiles() = default;
  /// Adds every tensor of `file`; fails on a name another shard has.
  bool addShard(std::unique_ptr<SafetensorsFile> file, std::string &error);

  std::vector<std::unique_ptr<SafetensorsFile>> files;
  std::map<std::string, Tensor> tensors;
};

} // namespace moe

#endif // MOE_MODEL_WEIGHTFILES_H

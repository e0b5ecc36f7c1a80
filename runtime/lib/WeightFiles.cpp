//===- WeightFiles.cpp - The safetensors files of a model -----------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements WeightFiles: one safetensors file, a list of shards,
// or the shards a Hugging Face index names, as one map from tensor names to
// the memory-mapped shard holding each.
//
//===----------------------------------------------------------------------===//

#include "moe/Model/WeightFiles.h"

#include "Support.h"

#include <nlohmann/json.hpp>

#include <set>

using nlohmann::json;

namespace moe {

bool isWeightsIndex(const std::string &path) {
  const std::string suffix = ".json";
  return path.size() >= suffix.size() &&
         path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
}

namespace {

/// The directory of `path`, with a trailing '/', or "" for none.
std::string directoryOf(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

/// One entry of an index's `weight_map`: a tensor and its shard's name.
struct IndexEntry {
  std::string tensor, shard;
};

/// Reads the `weight_map` of the index at `path`, in the file's order.
bool readIndex(const std::string &path, std::vector<IndexEntry> &entries,
               std::string &error) {
  std::string text;
  if (!readFile(path, text, error))
    return false;
  // nlohmann keeps the last of two equal keys; a tensor listed twice must
  // be an error, so the parse watches the keys of `weight_map`.
  std::string topKey, repeated;
  std::set<std::string> seen;
  json::parser_callback_t watchKeys = [&](int depth, json::parse_event_t event,
                                          json &parsed) {
    if (event != json::parse_event_t::key || !parsed.is_string())
      return true;
    const std::string &key = parsed.get_ref<const std::string &>();
    if (depth == 1)
      topKey = key;
    else if (depth == 2 && topKey == "weight_map" &&
             !seen.insert(key).second && repeated.empty())
      repeated = key;
    return true;
  };
  json index = json::parse(text, watchKeys, /*allow_exceptions=*/false);
  auto fail = [&](const std::string &message) {
    error = detail::makeError(path, message);
    return false;
  };
  if (index.is_discarded())
    return fail("invalid index: not JSON");
  if (!repeated.empty())
    return fail("tensor " + detail::quote(repeated) +
                " is listed twice in 'weight_map'");
  if (!index.is_object())
    return fail(std::string("invalid index: expected an object, found ") +
                index.type_name());
  auto map = index.find("weight_map");
  if (map == index.end() || !map->is_object())
    return fail("invalid index: expected an object 'weight_map' mapping "
                "tensor names to shard files");
  if (map->empty())
    return fail("'weight_map' names no tensor");
  for (auto it = map->begin(); it != map->end(); ++it) {
    if (!it.value().is_string() || it.value().get_ref<const std::string &>()
                                       .empty())
      return fail("tensor " + detail::quote(it.key()) +
                  ": its shard must be a non-empty string, found " +
                  detail::summarizeJson(it.value()));
    entries.push_back({it.key(), it.value().get<std::string>()});
  }
  return true;
}

} // namespace

bool WeightFiles::addShard(std::unique_ptr<SafetensorsFile> file,
                           std::string &error) {
  for (const auto &[name, entry] : file->tensors()) {
    auto [it, inserted] = tensors.insert({name, Tensor{file.get(), &entry}});
    if (!inserted) {
      error = detail::makeError(
          file->path(), "tensor " + detail::quote(name) + " is also in " +
                            pathForMessage(it->second.file->path()) +
                            "; a tensor must be in one shard only");
      return false;
    }
  }
  files.push_back(std::move(file));
  return true;
}

std::unique_ptr<WeightFiles> WeightFiles::open(const WeightsSource &source,
                                               std::string &error) {
  std::unique_ptr<WeightFiles> result(new WeightFiles());
  if (source.files.size() == 1 && isWeightsIndex(source.files.front())) {
    const std::string &indexPath = source.files.front();
    std::vector<IndexEntry> entries;
    if (!readIndex(indexPath, entries, error))
      return nullptr;
    // Each shard once, in the order the index first names it.
    std::map<std::string, const SafetensorsFile *> shardByName;
    for (const IndexEntry &entry : entries) {
      if (shardByName.count(entry.shard))
        continue;
      std::string shardError;
      std::unique_ptr<SafetensorsFile> shard = SafetensorsFile::open(
          directoryOf(indexPath) + entry.shard, shardError);
      if (!shard) {
        error = detail::makeError(
            indexPath, "shard " + detail::quote(entry.shard) +
                           " (of tensor " + detail::quote(entry.tensor) +
                           ") cannot be read: " + shardError);
        return nullptr;
      }
      shardByName[entry.shard] = shard.get();
      if (!result->addShard(std::move(shard), error))
        return nullptr;
    }
    for (const IndexEntry &entry : entries) {
      const Tensor *tensor = result->find(entry.tensor);
      if (!tensor || tensor->file != shardByName[entry.shard]) {
        error = detail::makeError(
            indexPath, "tensor " + detail::quote(entry.tensor) +
                           " is mapped to shard " +
                           detail::quote(entry.shard) +
                           ", which does not hold it");
        return nullptr;
      }
    }
    return result;
  }
  for (const std::string &path : source.files) {
    std::unique_ptr<SafetensorsFile> file = SafetensorsFile::open(path, error);
    if (!file || !result->addShard(std::move(file), error))
      return nullptr;
  }
  return result;
}

const WeightFiles::Tensor *WeightFiles::find(const std::string &name) const {
  auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : &it->second;
}

std::vector<TensorShapeInfo> WeightFiles::shapes() const {
  std::vector<TensorShapeInfo> result;
  for (const auto &[name, tensor] : tensors)
    result.push_back({name, tensor.entry->dtype, tensor.entry->shape,
                      tensor.entry->storageDType, tensor.file->path()});
  return result;
}

} // namespace moe

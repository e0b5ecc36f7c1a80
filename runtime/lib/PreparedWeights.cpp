//===- PreparedWeights.cpp - Weights as the compiled code reads them ------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements the prepared weights file: writing a parameter arena
// with a header naming its build and model, and mapping one back.
//
//===----------------------------------------------------------------------===//

#include "moe/Runtime/PreparedWeights.h"

#include "Support.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>

using nlohmann::json;

namespace moe {

namespace {

constexpr char kMagic[8] = {'M', 'O', 'E', 'P', 'R', 'E', 'P', '\0'};
constexpr uint32_t kFormatVersion = 1;
/// The arena starts at a page boundary, so that the mapping is aligned.
constexpr uint64_t kDataAlignment = 4096;
/// A header larger than this is not one this runtime wrote.
constexpr uint32_t kMaxHeaderBytes = 64u << 20;
/// The magic, the format version and the JSON header's length (u32 each)
/// come before the JSON header.
constexpr uint64_t kVersionAt = sizeof(kMagic), kLengthAt = kVersionAt + 4,
                   kHeaderAt = kLengthAt + 4;

/// Where the arena starts after a JSON header of `length` bytes.
uint64_t dataOffsetAfter(uint64_t length) {
  return (kHeaderAt + length + kDataAlignment - 1) / kDataAlignment *
         kDataAlignment;
}

} // namespace

bool isPreparedWeightsFile(const std::string &path) {
  FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    return false;
  char magic[sizeof(kMagic)];
  bool matches = std::fread(magic, 1, sizeof(magic), file) == sizeof(magic) &&
                 std::memcmp(magic, kMagic, sizeof(kMagic)) == 0;
  std::fclose(file);
  return matches;
}

std::vector<TensorShapeInfo> parameterSourceTensors(const ModelSpec &model) {
  std::vector<TensorShapeInfo> tensors;
  for (const ParamSpec &param : model.params)
    for (const std::string &name : param.sourceNames)
      tensors.push_back({name, param.dtype, param.sourceShape,
                         StorageDType::F32, std::string()});
  return tensors;
}

bool writePreparedWeights(
    const std::string &path, const PreparedHeader &header,
    const std::function<bool(uint64_t, uint8_t *, uint64_t, std::string &)>
        &read,
    std::string &error) {
  json tensors = json::array();
  for (const TensorShapeInfo &tensor : header.tensors)
    tensors.push_back({{"name", tensor.name},
                       {"dtype", dtypeName(*tensor.dtype)},
                       {"shape", tensor.shape}});
  std::string text = json{{"build", header.build},
                          {"target", header.target},
                          {"signature", header.signature},
                          {"param_bytes", header.paramBytes},
                          {"tensors", tensors}}
                         .dump();
  uint32_t length = static_cast<uint32_t>(text.size());
  uint64_t dataOffset = dataOffsetAfter(text.size());

  std::string temporary = path + ".partial";
  FILE *file = std::fopen(temporary.c_str(), "wb");
  // Leaves no partial file behind.
  auto discard = [&](const std::string &message) {
    error = message;
    if (file)
      std::fclose(file);
    std::remove(temporary.c_str());
    return false;
  };
  auto fail = [&](const std::string &what) {
    return discard(detail::makeError(path, what + ": " + std::strerror(errno)));
  };
  if (!file)
    return fail("cannot create file");
  std::vector<uint8_t> head(dataOffset, 0);
  std::memcpy(head.data(), kMagic, sizeof(kMagic));
  std::memcpy(head.data() + kVersionAt, &kFormatVersion, 4);
  std::memcpy(head.data() + kLengthAt, &length, 4);
  std::memcpy(head.data() + kHeaderAt, text.data(), text.size());
  if (std::fwrite(head.data(), 1, head.size(), file) != head.size())
    return fail("cannot write");
  // The arena in pieces: a GPU's is downloaded a piece at a time.
  constexpr uint64_t kPiece = 64u << 20;
  std::vector<uint8_t> piece(std::min(kPiece, header.paramBytes));
  for (uint64_t offset = 0; offset < header.paramBytes; offset += kPiece) {
    uint64_t bytes = std::min(kPiece, header.paramBytes - offset);
    std::string readError;
    if (!read(offset, piece.data(), bytes, readError))
      return discard(
          detail::makeError(path, "cannot read the weights: " + readError));
    if (std::fwrite(piece.data(), 1, bytes, file) != bytes)
      return fail("cannot write");
  }
  if (std::fclose(file) != 0) {
    file = nullptr;
    return fail("cannot write");
  }
  file = nullptr;
  if (std::rename(temporary.c_str(), path.c_str()) != 0)
    return fail("cannot rename the finished file");
  return true;
}

bool openPreparedWeights(const std::string &path, PreparedHeader &header,
                         std::shared_ptr<MappedFile> &file,
                         uint64_t &dataOffset, std::string &error) {
  std::unique_ptr<MappedFile> mapped = MappedFile::open(path, error);
  if (!mapped)
    return false;
  auto fail = [&](const std::string &text) {
    error = detail::makeError(path, text);
    return false;
  };
  const uint8_t *data = mapped->data();
  uint64_t size = mapped->size();
  if (size < kHeaderAt || std::memcmp(data, kMagic, sizeof(kMagic)) != 0)
    return fail("not a prepared weights file (written by --save-prepared)");
  uint32_t version, length;
  std::memcpy(&version, data + kVersionAt, 4);
  std::memcpy(&length, data + kLengthAt, 4);
  if (version != kFormatVersion)
    return fail("prepared weights of format version " +
                std::to_string(version) + "; this runtime reads version " +
                std::to_string(kFormatVersion));
  if (length > kMaxHeaderBytes || kHeaderAt + length > size)
    return fail("the header is cut short or too long");
  json parsed =
      json::parse(data + kHeaderAt, data + kHeaderAt + length, nullptr,
                  /*allow_exceptions=*/false);
  try {
    if (parsed.is_discarded() || !parsed.is_object())
      return fail("the header is not a JSON object");
    header.build = parsed.at("build").get<std::string>();
    header.target = parsed.at("target").get<std::string>();
    header.signature = parsed.at("signature").get<std::vector<std::string>>();
    header.paramBytes = parsed.at("param_bytes").get<uint64_t>();
    header.tensors.clear();
    for (const json &tensor : parsed.at("tensors")) {
      TensorShapeInfo info;
      info.name = tensor.at("name").get<std::string>();
      StorageDType storage;
      if (!parseStorageDType(tensor.at("dtype").get<std::string>(), storage) ||
          !toDType(storage))
        return fail("the header names a dtype no weight has");
      info.storageDType = storage;
      info.dtype = toDType(storage);
      info.shape = tensor.at("shape").get<std::vector<int64_t>>();
      info.file = path;
      header.tensors.push_back(std::move(info));
    }
  } catch (const std::exception &e) {
    return fail(std::string("invalid header: ") + e.what());
  }
  dataOffset = dataOffsetAfter(length);
  if (dataOffset > size || header.paramBytes > size - dataOffset)
    return fail("the file is cut short: it holds " +
                std::to_string(size > dataOffset ? size - dataOffset : 0) +
                " of its " + std::to_string(header.paramBytes) +
                " bytes of weights");
  file = std::move(mapped);
  return true;
}

} // namespace moe

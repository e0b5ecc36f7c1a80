//===- Safetensors.cpp - Reading and writing safetensors files ------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements a validating safetensors reader over a read-only
// memory mapping, and a small writer of F32 files for tests and tools. The
// header is untrusted input: every length, offset and shape product is
// checked, with 64-bit overflow, before any tensor data is read.
//
//===----------------------------------------------------------------------===//

#include "moe/Model/Safetensors.h"

#include "Support.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

using nlohmann::json;

namespace moe {
namespace {

/// Reads the header entry of tensor `name` into `entry`, checking it against
/// a data section of `dataSize` bytes. Entries of every safetensors dtype
/// are checked alike; those of a dtype that no weight can have are kept,
/// with an empty `dtype`, so that an unused one is no error. Returns the
/// message text on failure.
bool parseEntry(const std::string &name, const json &value, uint64_t dataSize,
                SafetensorsEntry &entry, std::string &error) {
  std::string where = "tensor " + detail::quote(name) + ": ";
  if (!value.is_object()) {
    error =
        where + "header entry must be an object, found " + value.type_name();
    return false;
  }
  auto dtype = value.find("dtype");
  auto shape = value.find("shape");
  auto offsets = value.find("data_offsets");
  if (dtype == value.end() || shape == value.end() || offsets == value.end()) {
    error = where + "header entry needs 'dtype', 'shape' and 'data_offsets'";
    return false;
  }
  if (!dtype->is_string()) {
    error = where + "'dtype' must be a string, found " + dtype->type_name();
    return false;
  }
  const std::string &dtypeText = dtype->get_ref<const std::string &>();
  if (!parseStorageDType(dtypeText, entry.storageDType)) {
    error = where + "unknown dtype " + detail::quote(dtypeText) +
            " (not a safetensors dtype)";
    return false;
  }
  entry.dtype = toDType(entry.storageDType);
  if (!shape->is_array()) {
    error = where + "'shape' must be an array, found " + shape->type_name();
    return false;
  }
  entry.shape.clear();
  for (const json &dim : *shape) {
    if (!dim.is_number_unsigned() ||
        dim.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      error = where + "invalid shape " + detail::summarizeJson(*shape) +
              " (dimensions must be non-negative integers)";
      return false;
    }
    entry.shape.push_back(dim.get<int64_t>());
  }
  if (!offsets->is_array() || offsets->size() != 2 ||
      !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned()) {
    error = where + "'data_offsets' must be two non-negative integers, found " +
            detail::summarizeJson(*offsets);
    return false;
  }
  entry.begin = (*offsets)[0].get<uint64_t>();
  entry.end = (*offsets)[1].get<uint64_t>();
  if (entry.begin > entry.end || entry.end > dataSize) {
    error = where + "data_offsets [" + std::to_string(entry.begin) + ", " +
            std::to_string(entry.end) + "] are outside the data section of " +
            std::to_string(dataSize) + " bytes (truncated file?)";
    return false;
  }
  // The size in bits first: F4 and F6 elements are packed, and a tensor of
  // them must fill whole bytes.
  const char *dtypeName = storageDTypeName(entry.storageDType);
  uint64_t count = 0, bits = 0;
  if (!detail::shapeElementCount(entry.shape, count) ||
      !detail::checkedMul(count, storageDTypeBits(entry.storageDType), bits)) {
    error =
        where + "shape " + detail::formatShape(entry.shape) + " is too large";
    return false;
  }
  if (bits % 8 != 0) {
    error = where + "shape " + detail::formatShape(entry.shape) + " of " +
            dtypeName + " is " + std::to_string(bits) +
            " bits, not a whole number of bytes";
    return false;
  }
  uint64_t bytes = bits / 8;
  if (bytes != entry.end - entry.begin) {
    error = where + "shape " + detail::formatShape(entry.shape) + " of " +
            dtypeName + " needs " + std::to_string(bytes) +
            " bytes, but data_offsets [" + std::to_string(entry.begin) + ", " +
            std::to_string(entry.end) + "] hold " +
            std::to_string(entry.end - entry.begin);
    return false;
  }
  return true;
}

} // namespace

SafetensorsFile::~SafetensorsFile() = default;

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string &path,
                                                       std::string &error) {
  auto fail = [&](const std::string &text) {
    error = detail::makeError(path, text);
    return nullptr;
  };
  try {
    std::unique_ptr<MappedFile> mapped = MappedFile::open(path, error);
    if (!mapped)
      return nullptr;
    uint64_t size = mapped->size();
    if (size < 8)
      return fail("file of " + std::to_string(size) +
                  " bytes is too short for a safetensors header");
    std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
    file->filePath = path;
    file->file = std::move(mapped);
    const uint8_t *mapping = file->file->data();

    // The header: a little-endian u64 length, then that much JSON.
    uint64_t headerSize = 0;
    for (int i = 7; i >= 0; --i)
      headerSize = (headerSize << 8) | mapping[i];
    if (headerSize > size - 8)
      return fail("header length " + std::to_string(headerSize) +
                  " exceeds the file size of " + std::to_string(size) +
                  " bytes (truncated file?)");
    const char *headerStart = reinterpret_cast<const char *>(mapping + 8);
    json header;
    try {
      header = json::parse(headerStart, headerStart + headerSize);
    } catch (const json::exception &e) {
      // Drop nlohmann's "[json.exception.parse_error.101] " tag.
      std::string what = e.what();
      size_t bracket = what.find("] ");
      // The text may end with a whole (huge) string token.
      return fail(detail::clipText(
          "invalid safetensors header: " +
              (bracket == std::string::npos ? what : what.substr(bracket + 2)),
          400));
    }
    if (!header.is_object())
      return fail(std::string("safetensors header must be a JSON object, "
                              "found ") +
                  header.type_name());
    file->dataStart = mapping + 8 + headerSize;
    uint64_t dataSize = size - 8 - headerSize;

    for (auto it = header.begin(); it != header.end(); ++it) {
      if (it.key() == "__metadata__") {
        if (!it->is_object())
          return fail("'__metadata__' must be an object");
        continue;
      }
      SafetensorsEntry entry;
      std::string message;
      if (!parseEntry(it.key(), *it, dataSize, entry, message))
        return fail(message);
      file->entries.emplace(it.key(), std::move(entry));
    }

    // No two tensors may share bytes.
    std::vector<std::pair<const std::string *, const SafetensorsEntry *>>
        ranges;
    for (const auto &named : file->entries)
      if (named.second.begin != named.second.end)
        ranges.push_back({&named.first, &named.second});
    std::sort(ranges.begin(), ranges.end(), [](const auto &a, const auto &b) {
      return a.second->begin < b.second->begin;
    });
    for (size_t i = 1; i < ranges.size(); ++i)
      if (ranges[i].second->begin < ranges[i - 1].second->end)
        return fail("tensor " + detail::quote(*ranges[i].first) +
                    ": data_offsets [" +
                    std::to_string(ranges[i].second->begin) + ", " +
                    std::to_string(ranges[i].second->end) +
                    "] overlap those of tensor " +
                    detail::quote(*ranges[i - 1].first));
    return file;
  } catch (const std::exception &e) {
    return fail(std::string("cannot read safetensors file: ") + e.what());
  }
}

const SafetensorsEntry *SafetensorsFile::find(const std::string &name) const {
  auto it = entries.find(name);
  return it == entries.end() ? nullptr : &it->second;
}

const uint8_t *SafetensorsFile::data(const SafetensorsEntry &entry) const {
  return dataStart + entry.begin;
}

std::vector<TensorShapeInfo> SafetensorsFile::shapes() const {
  std::vector<TensorShapeInfo> result;
  result.reserve(entries.size());
  for (const auto &named : entries)
    result.push_back({named.first, named.second.dtype, named.second.shape,
                      named.second.storageDType, filePath});
  return result;
}

bool writeSafetensorsF32(const std::string &path,
                         const std::vector<SafetensorsWriteEntry> &tensors,
                         std::string &error) {
  auto fail = [&](const std::string &text) {
    error = detail::makeError(path, text);
    return false;
  };
  try {
    json header = json::object();
    uint64_t offset = 0;
    for (const SafetensorsWriteEntry &tensor : tensors) {
      uint64_t count = 0;
      if (!detail::shapeElementCount(tensor.shape, count) ||
          count != tensor.values.size())
        return fail("tensor " + detail::quote(tensor.name) + ": shape " +
                    detail::formatShape(tensor.shape) + " does not match its " +
                    std::to_string(tensor.values.size()) + " values");
      if (tensor.name == "__metadata__" || header.contains(tensor.name))
        return fail("tensor " + detail::quote(tensor.name) +
                    ": duplicate or reserved tensor name");
      uint64_t end = offset + count * 4;
      header[tensor.name] = {{"dtype", "F32"},
                             {"shape", tensor.shape},
                             {"data_offsets", {offset, end}}};
      offset = end;
    }
    // Pad the header with spaces so that the data starts 8-byte aligned.
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');

    std::FILE *stream = std::fopen(path.c_str(), "wb");
    if (!stream)
      return fail(std::string("cannot create file: ") + std::strerror(errno));
    uint8_t length[8];
    for (int i = 0; i < 8; ++i)
      length[i] = static_cast<uint8_t>(uint64_t(text.size()) >> (8 * i));
    bool ok = std::fwrite(length, 1, 8, stream) == 8 &&
              std::fwrite(text.data(), 1, text.size(), stream) == text.size();
    // The host is little-endian, as the format.
    for (const SafetensorsWriteEntry &tensor : tensors)
      ok = ok &&
           std::fwrite(tensor.values.data(), sizeof(float),
                       tensor.values.size(), stream) == tensor.values.size();
    ok = (std::fclose(stream) == 0) && ok;
    if (!ok)
      return fail("cannot write file");
    return true;
  } catch (const std::exception &e) {
    return fail(std::string("cannot write safetensors file: ") + e.what());
  }
}

} // namespace moe

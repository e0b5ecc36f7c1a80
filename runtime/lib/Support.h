//===- Support.h - Private helpers of the runtime library -------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// Small helpers shared by the runtime's translation units: the one format of
// error messages, the quoting of user text and JSON values in them,
// overflow-checked size arithmetic and shape printing. Not installed;
// nothing outside runtime/lib includes it.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_RUNTIME_LIB_SUPPORT_H
#define MOE_RUNTIME_LIB_SUPPORT_H

#include "moe/Model/ModelSpec.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace moe {
namespace detail {

/// The most bytes of TEXT a message keeps (a safety net: every part of a
/// message is bounded on its own), so that with its location every message
/// stays under 4 KiB.
constexpr size_t kMessageTextLimit = 2560;

/// The length of the longest prefix of `text` of at most `limit` bytes that
/// ends at a UTF-8 character boundary.
inline size_t utf8Prefix(const std::string &text, size_t limit) {
  if (limit >= text.size())
    return text.size();
  size_t end = limit;
  // Step back over continuation bytes (10xxxxxx), at most three.
  for (int i = 0; i < 3 && end > 0 &&
                  (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80;
       ++i)
    --end;
  return end;
}

/// `text`, cut to at most `limit` bytes (at a UTF-8 character boundary)
/// followed by "..." when longer.
inline std::string clipText(const std::string &text, size_t limit) {
  if (text.size() <= limit)
    return text;
  return text.substr(0, utf8Prefix(text, limit)) + "...";
}

/// Every message of the library reads `LOCATION: error: TEXT`, where LOCATION
/// is the file the problem is in (a model, weights or array file), like a
/// compiler diagnostic. Callers print it as it is.
inline std::string makeError(const std::string &location,
                             const std::string &text) {
  return pathForMessage(location) + ": error: " +
         clipText(text, kMessageTextLimit);
}

/// User text quoted for a message: `'TEXT'`, or `'PREFIX...' (N bytes)`
/// (quoteForMessage). Every name, field and value from a model, weights or
/// array file that a message shows goes through it.
inline std::string quote(const std::string &text) {
  return quoteForMessage(text);
}

/// A short, bounded rendering of the JSON value `value` for a message, in
/// JSON syntax: arrays and objects down to `depth` levels and with at most
/// `items` elements each, strings cut to 32 bytes; whatever is left out
/// reads "...", e.g. `["tokens", [[[...]]]]`. Never dump() a user value into
/// a message: it recurses once per level (a stack overflow on a deeply
/// nested array) and has no bound on its length.
template <typename Json>
void appendJsonSummary(std::string &out, const Json &value, unsigned depth,
                       size_t items = 4) {
  // Past this many bytes, further elements are left out.
  const size_t budget = 160;
  if (value.is_string()) {
    const std::string &text = value.template get_ref<const std::string &>();
    out += '"';
    std::string shown = clipText(text, 32);
    for (char c : shown) {
      unsigned char u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (u < 0x20 || u == 0x7F) {
        out += '?';
      } else {
        out += c;
      }
    }
    out += '"';
  } else if (value.is_array() || value.is_object()) {
    bool isArray = value.is_array();
    out += isArray ? '[' : '{';
    if (!value.empty()) {
      if (depth == 0) {
        out += "...";
      } else {
        size_t count = 0;
        for (auto it = value.begin(); it != value.end(); ++it, ++count) {
          if (count)
            out += ", ";
          if (count == items || out.size() > budget) {
            out += "...";
            break;
          }
          if (!isArray) {
            appendJsonSummary(out, Json(it.key()), 0, items);
            out += ": ";
          }
          appendJsonSummary(out, *it, depth - 1, items);
        }
      }
    }
    out += isArray ? ']' : '}';
  } else {
    // null, a boolean or a number: short, and dump() does not recurse.
    out += value.dump();
  }
}

template <typename Json>
std::string summarizeJson(const Json &value, unsigned depth = 3) {
  std::string out;
  appendJsonSummary(out, value, depth);
  return out;
}

/// `a * b`, or false when it does not fit in 64 bits.
inline bool checkedMul(uint64_t a, uint64_t b, uint64_t &result) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a)
    return false;
  result = a * b;
  return true;
}

/// `a + b`, or false when it does not fit in 64 bits.
inline bool checkedAdd(uint64_t a, uint64_t b, uint64_t &result) {
  if (b > std::numeric_limits<uint64_t>::max() - a)
    return false;
  result = a + b;
  return true;
}

/// The element count of `shape`, or false on a negative dimension or when
/// the product does not fit in 64 bits.
inline bool shapeElementCount(const std::vector<int64_t> &shape,
                              uint64_t &count) {
  count = 1;
  for (int64_t dim : shape)
    if (dim < 0 || !checkedMul(count, static_cast<uint64_t>(dim), count))
      return false;
  return true;
}

/// "[4, 8]", the spelling of shapes in messages.
inline std::string formatShape(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

} // namespace detail
} // namespace moe

#endif // MOE_RUNTIME_LIB_SUPPORT_H

//===- Support.h - Private helpers of the runtime library -------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// Small helpers shared by the runtime's translation units: the one format of
// error messages, overflow-checked size arithmetic and shape printing. Not
// installed; nothing outside runtime/lib includes it.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_RUNTIME_LIB_SUPPORT_H
#define MOE_RUNTIME_LIB_SUPPORT_H

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace moe {
namespace detail {

/// Every message of the library reads `LOCATION: error: TEXT`, where LOCATION
/// is the file the problem is in (a model, weights or array file), like a
/// compiler diagnostic. Callers print it as it is.
inline std::string makeError(const std::string &location,
                             const std::string &text) {
  return location + ": error: " + text;
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

//===- FieldReader.h - Typed access to a JSON object's fields ---*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The model parser reads every JSON object of a moe-graph file through a
// FieldReader: typed accessors that fail with a message saying which field
// of which object was missing or of the wrong type. Private to the model
// library.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_MODEL_FIELDREADER_H
#define MOE_MODEL_FIELDREADER_H

#include "Support.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace moe {
namespace detail {

using nlohmann::json;

/// How a JSON value's type is named in messages.
inline std::string typeName(const json &value) {
  switch (value.type()) {
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
    return "integer";
  case json::value_t::number_float:
    return "number";
  default:
    return value.type_name();
  }
}

/// Reads the fields of one JSON object, with messages that say where the
/// object is (`where`, e.g. "in router of node 'm'"). Each accessor returns
/// false with the message in `error`; optional accessors leave the output
/// alone when the field is absent, so it keeps its default.
class FieldReader {
public:
  FieldReader(const json &object, std::string where, std::string &error)
      : object(object), where(std::move(where)), error(error) {}

  const std::string &location() const { return where; }

  bool fail(const std::string &text) {
    error = text;
    return false;
  }

  /// Rejects fields outside `allowed`. Done first, so that a misspelt
  /// optional field is reported as such instead of being ignored.
  bool checkKnown(std::initializer_list<const char *> allowed) {
    for (auto it = object.begin(); it != object.end(); ++it) {
      bool known = false;
      for (const char *name : allowed)
        known |= it.key() == name;
      if (!known)
        return fail("unknown field " + detail::quote(it.key()) + " " + where);
    }
    return true;
  }

  const json *find(const char *key) const {
    auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
  }
  bool has(const char *key) const { return find(key) != nullptr; }

  bool missing(const char *key) {
    return fail("missing field '" + std::string(key) + "' " + where);
  }
  bool wrongType(const char *key, const char *expected, const json &value) {
    return fail("field '" + std::string(key) + "' " + where + ": expected " +
                expected + ", found " + typeName(value));
  }

  bool getString(const char *key, std::string &out, bool required) {
    const json *value = find(key);
    if (!value)
      return required ? missing(key) : true;
    if (!value->is_string())
      return wrongType(key, "string", *value);
    out = value->get<std::string>();
    return true;
  }
  bool getOptString(const char *key, std::optional<std::string> &out) {
    std::string text;
    if (!has(key))
      return true;
    if (!getString(key, text, true))
      return false;
    out = text;
    return true;
  }
  /// A non-empty string: a weight or value name.
  bool getName(const char *key, std::string &out, bool required) {
    if (!getString(key, out, required))
      return false;
    if (has(key) && out.empty())
      return fail("field '" + std::string(key) + "' " + where +
                  " must not be empty");
    return true;
  }
  bool getOptName(const char *key, std::optional<std::string> &out) {
    if (!has(key))
      return true;
    std::string text;
    if (!getName(key, text, true))
      return false;
    out = text;
    return true;
  }

  bool getInt(const char *key, int64_t &out, int64_t lo, int64_t hi,
              bool required) {
    const json *value = find(key);
    if (!value)
      return required ? missing(key) : true;
    if (!value->is_number_integer())
      return wrongType(key, "integer", *value);
    std::string found;
    bool inRange;
    if (value->is_number_unsigned()) {
      uint64_t v = value->get<uint64_t>();
      found = std::to_string(v);
      inRange = v <= static_cast<uint64_t>(INT64_MAX) &&
                static_cast<int64_t>(v) >= lo && static_cast<int64_t>(v) <= hi;
      if (inRange)
        out = static_cast<int64_t>(v);
    } else {
      int64_t v = value->get<int64_t>();
      found = std::to_string(v);
      inRange = v >= lo && v <= hi;
      if (inRange)
        out = v;
    }
    if (inRange)
      return true;
    std::string range = hi == INT64_MAX ? ">= " + std::to_string(lo)
                                        : "in [" + std::to_string(lo) + ", " +
                                              std::to_string(hi) + "]";
    return fail("field '" + std::string(key) + "' " + where + " must be " +
                range + ", found " + found);
  }

  /// A seed: any non-negative 64-bit integer.
  bool getSeed(const char *key, uint64_t &out) {
    const json *value = find(key);
    if (!value)
      return true;
    if (!value->is_number_integer())
      return wrongType(key, "integer", *value);
    if (!value->is_number_unsigned())
      return fail("field '" + std::string(key) + "' " + where +
                  " must be >= 0, found " +
                  std::to_string(value->get<int64_t>()));
    out = value->get<uint64_t>();
    return true;
  }

  /// A finite number; `positive` also rejects values <= 0 and `nonNegative`
  /// values < 0.
  bool getNumber(const char *key, double &out, bool positive = false,
                 bool nonNegative = false) {
    const json *value = find(key);
    if (!value)
      return true;
    if (!value->is_number())
      return wrongType(key, "number", *value);
    double v = value->get<double>();
    if (!std::isfinite(v))
      return fail("field '" + std::string(key) + "' " + where +
                  " must be finite");
    if ((positive && !(v > 0)) || (nonNegative && !(v >= 0))) {
      std::ostringstream text;
      text << "field '" << key << "' " << where << " must be "
           << (positive ? "> 0" : ">= 0") << ", found " << v;
      return fail(text.str());
    }
    out = v;
    return true;
  }

  bool getBool(const char *key, bool &out) {
    const json *value = find(key);
    if (!value)
      return true;
    if (!value->is_boolean())
      return wrongType(key, "boolean", *value);
    out = value->get<bool>();
    return true;
  }

  /// The object in field `key`, or null (with no error) when absent.
  bool getObject(const char *key, const json *&out, bool required) {
    out = find(key);
    if (!out)
      return required ? missing(key) : true;
    if (!out->is_object())
      return wrongType(key, "object", *out);
    return true;
  }
  bool getArray(const char *key, const json *&out, bool required) {
    out = find(key);
    if (!out)
      return required ? missing(key) : true;
    if (!out->is_array())
      return wrongType(key, "array", *out);
    return true;
  }

private:
  const json &object;
  std::string where;
  std::string &error;
};

} // namespace detail
} // namespace moe

#endif // MOE_MODEL_FIELDREADER_H

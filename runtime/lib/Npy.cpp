//===- Npy.cpp - Reading and writing .npy arrays --------------------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements the reader and writer of 2-D float32 `.npy` files.
// The header is a Python dict literal; a small parser reads exactly the
// subset NumPy writes ({'descr': STR, 'fortran_order': BOOL, 'shape':
// TUPLE}), so that no Python-literal corner case can be misread.
//
//===----------------------------------------------------------------------===//

#include "moe/Runtime/Npy.h"
#include "moe/Model/ModelSpec.h"

#include "Support.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

namespace moe {
namespace {

/// The fields of an .npy header.
struct NpyHeader {
  std::optional<std::string> descr;
  std::optional<bool> fortranOrder;
  std::optional<std::vector<int64_t>> shape;
};

/// A parser of the header dict, e.g.
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
class HeaderParser {
public:
  explicit HeaderParser(const std::string &text) : text(text) {}

  /// Parses the dict into `header`; false with a message in `error`.
  bool parse(NpyHeader &header, std::string &error);

private:
  void skipSpace() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' ||
                                 text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }
  bool consume(char c) {
    skipSpace();
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  bool parseString(std::string &out);
  bool parseShape(std::vector<int64_t> &out);
  /// The header for a message: quoted, without its padding, and cut.
  std::string shown() const {
    size_t end = text.find_last_not_of(" \t\n\r");
    return detail::quote(end == std::string::npos ? ""
                                                  : text.substr(0, end + 1));
  }

  const std::string &text;
  size_t pos = 0;
};

bool HeaderParser::parseString(std::string &out) {
  skipSpace();
  if (pos >= text.size() || (text[pos] != '\'' && text[pos] != '"'))
    return false;
  char quote = text[pos++];
  size_t end = text.find(quote, pos);
  if (end == std::string::npos)
    return false;
  out = text.substr(pos, end - pos);
  pos = end + 1;
  return true;
}

bool HeaderParser::parseShape(std::vector<int64_t> &out) {
  if (!consume('('))
    return false;
  out.clear();
  while (true) {
    if (consume(')'))
      return true;
    skipSpace();
    size_t start = pos;
    int64_t value = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      int digit = text[pos++] - '0';
      if (value > (INT64_MAX - digit) / 10)
        return false;
      value = value * 10 + digit;
    }
    // Python 2 era files may write long integers as "3L".
    if (pos < text.size() && text[pos] == 'L')
      ++pos;
    if (pos == start)
      return false;
    out.push_back(value);
    if (!consume(',')) {
      return consume(')');
    }
  }
}

bool HeaderParser::parse(NpyHeader &header, std::string &error) {
  error = "malformed header " + shown();
  if (!consume('{'))
    return false;
  while (true) {
    if (consume('}'))
      break;
    std::string key;
    if (!parseString(key) || !consume(':'))
      return false;
    if (key == "descr") {
      std::string descr;
      if (!parseString(descr))
        return false;
      header.descr = descr;
    } else if (key == "fortran_order") {
      skipSpace();
      if (text.compare(pos, 4, "True") == 0) {
        header.fortranOrder = true;
        pos += 4;
      } else if (text.compare(pos, 5, "False") == 0) {
        header.fortranOrder = false;
        pos += 5;
      } else {
        return false;
      }
    } else if (key == "shape") {
      std::vector<int64_t> shape;
      if (!parseShape(shape))
        return false;
      header.shape = shape;
    } else {
      error = "unexpected key " + detail::quote(key) + " in header " + shown();
      return false;
    }
    if (!consume(',')) {
      if (!consume('}'))
        return false;
      break;
    }
  }
  if (!header.descr || !header.fortranOrder || !header.shape) {
    error = "header " + shown() + " needs 'descr', 'fortran_order' and 'shape'";
    return false;
  }
  return true;
}

/// "(3, 4)", "(3,)": the Python spelling of a shape.
std::string formatTuple(const std::vector<int64_t> &shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

bool readNpyImpl(const std::string &path, Array2D &array, std::string &error) {
  auto fail = [&](const std::string &text) {
    error = detail::makeError(path, text);
    return false;
  };
  std::string bytes;
  if (!readFile(path, bytes, error))
    return false;
  static const char magic[] = "\x93NUMPY";
  if (bytes.size() < 10 || bytes.compare(0, 6, magic, 6) != 0)
    return fail("not a .npy file (bad magic)");
  auto byteAt = [&](size_t i) {
    return static_cast<uint64_t>(static_cast<uint8_t>(bytes[i]));
  };
  unsigned major = static_cast<unsigned>(byteAt(6));
  unsigned minor = static_cast<unsigned>(byteAt(7));
  uint64_t headerSize = 0, prefix = 0;
  if (major == 1 && minor == 0) {
    headerSize = byteAt(8) | byteAt(9) << 8;
    prefix = 10;
  } else if ((major == 2 || major == 3) && minor == 0) {
    if (bytes.size() < 12)
      return fail("truncated .npy header");
    headerSize =
        byteAt(8) | byteAt(9) << 8 | byteAt(10) << 16 | byteAt(11) << 24;
    prefix = 12;
  } else {
    return fail("unsupported .npy version " + std::to_string(major) + "." +
                std::to_string(minor));
  }
  if (headerSize > bytes.size() - prefix)
    return fail("header length " + std::to_string(headerSize) +
                " exceeds the file size of " + std::to_string(bytes.size()) +
                " bytes");

  NpyHeader header;
  std::string message;
  std::string headerText = bytes.substr(prefix, headerSize);
  HeaderParser parser(headerText);
  if (!parser.parse(header, message))
    return fail(message);
  const std::string &descr = *header.descr;
  if (descr == ">f4")
    return fail("big-endian float32 ('>f4') is not supported; expected "
                "little-endian float32 '<f4'");
  if (descr != "<f4")
    return fail("dtype " + detail::quote(descr) + ", expected float32 '<f4'");
  if (*header.fortranOrder)
    return fail("Fortran-order arrays are not supported; expected C order");
  const std::vector<int64_t> &shape = *header.shape;
  if (shape.size() != 2)
    return fail("shape " + formatTuple(shape) + " has rank " +
                std::to_string(shape.size()) + ", expected 2 (tokens, width)");

  uint64_t count = 0, dataBytes = 0;
  if (!detail::shapeElementCount(shape, count) ||
      !detail::checkedMul(count, 4, dataBytes))
    return fail("shape " + formatTuple(shape) + " is too large");
  uint64_t available = bytes.size() - prefix - headerSize;
  if (available != dataBytes)
    return fail("data of " + std::to_string(available) +
                " bytes does not match shape " + formatTuple(shape) +
                " (expected " + std::to_string(dataBytes) + " bytes)");

  Array2D result;
  result.rows = shape[0];
  result.cols = shape[1];
  result.values.resize(count);
  if (count)
    std::memcpy(result.values.data(), bytes.data() + prefix + headerSize,
                dataBytes);
  array = std::move(result);
  return true;
}

} // namespace

bool readNpy(const std::string &path, Array2D &array, std::string &error) {
  try {
    return readNpyImpl(path, array, error);
  } catch (const std::exception &e) {
    error = detail::makeError(path, std::string("cannot read .npy file: ") +
                                        e.what());
    return false;
  }
}

bool writeNpy(const std::string &path, const Array2D &array,
              std::string &error) {
  auto fail = [&](const std::string &text) {
    error = detail::makeError(path, text);
    return false;
  };
  try {
    uint64_t count = 0;
    if (array.rows < 0 || array.cols < 0 ||
        !detail::shapeElementCount({array.rows, array.cols}, count) ||
        count != array.values.size())
      return fail("array of shape (" + std::to_string(array.rows) + ", " +
                  std::to_string(array.cols) + ") has " +
                  std::to_string(array.values.size()) + " values");
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " +
                         formatTuple({array.rows, array.cols}) + ", }";
    // Pad with spaces and end with a newline so that the data starts at a
    // multiple of 64 bytes, as NumPy does.
    size_t total = 10 + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header += '\n';
    if (header.size() > 65535)
      return fail("header too long");

    std::FILE *stream = std::fopen(path.c_str(), "wb");
    if (!stream)
      return fail(std::string("cannot create file: ") + std::strerror(errno));
    unsigned char prefix[10] = {0x93,
                                'N',
                                'U',
                                'M',
                                'P',
                                'Y',
                                1,
                                0,
                                static_cast<unsigned char>(header.size()),
                                static_cast<unsigned char>(header.size() >> 8)};
    bool ok =
        std::fwrite(prefix, 1, 10, stream) == 10 &&
        std::fwrite(header.data(), 1, header.size(), stream) == header.size() &&
        std::fwrite(array.values.data(), sizeof(float), array.values.size(),
                    stream) == array.values.size();
    ok = (std::fclose(stream) == 0) && ok;
    if (!ok)
      return fail("cannot write file");
    return true;
  } catch (const std::exception &e) {
    return fail(std::string("cannot write .npy file: ") + e.what());
  }
}

} // namespace moe

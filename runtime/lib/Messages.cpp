//===- Messages.cpp - Files and user text in messages -------------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// Reading a whole file, and quoting user text and paths for the library's
// messages (ModelSpec.h).
//
//===----------------------------------------------------------------------===//

#include "moe/Model/ModelSpec.h"

#include "Support.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace moe {

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

bool readFile(const std::string &path, std::string &contents,
              std::string &error) {
  try {
    std::ifstream stream(path, std::ios::binary);
    if (!stream) {
      error = detail::makeError(path, std::string("cannot open file: ") +
                                          std::strerror(errno));
      return false;
    }
    std::ostringstream buffer;
    buffer << stream.rdbuf();
    if (stream.bad()) {
      error = detail::makeError(path, "cannot read file");
      return false;
    }
    contents = buffer.str();
    return true;
  } catch (const std::exception &e) {
    error =
        detail::makeError(path, std::string("cannot read file: ") + e.what());
    return false;
  }
}

//===----------------------------------------------------------------------===//
// Messages
//===----------------------------------------------------------------------===//

namespace {

/// The first character boundary of `text` at or after byte `start`.
size_t utf8Suffix(const std::string &text, size_t start) {
  for (int i = 0; i < 3 && start < text.size() &&
                  (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80;
       ++i)
    ++start;
  return start;
}

/// Appends `text[begin, end)` to `out` with control characters escaped.
void appendEscaped(std::string &out, const std::string &text, size_t begin,
                   size_t end) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = begin; i < end; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else if (c < 0x20 || c == 0x7F) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
}

} // namespace

std::string quoteForMessage(const std::string &text) {
  std::string out = "'";
  if (text.size() <= kMessageQuoteLimit) {
    appendEscaped(out, text, 0, text.size());
    return out + "'";
  }
  appendEscaped(out, text, 0, detail::utf8Prefix(text, kMessageQuoteLimit));
  return out + "...' (" + std::to_string(text.size()) + " bytes)";
}

std::string pathForMessage(const std::string &path) {
  std::string out;
  if (path.size() <= kMessagePathLimit) {
    appendEscaped(out, path, 0, path.size());
    return out;
  }
  // The start (the directory) and the end (the file name).
  const size_t keep = kMessagePathLimit / 4;
  appendEscaped(out, path, 0, detail::utf8Prefix(path, keep));
  out += "...";
  appendEscaped(out, path, utf8Suffix(path, path.size() - keep), path.size());
  return out + " (" + std::to_string(path.size()) + " bytes)";
}

} // namespace moe

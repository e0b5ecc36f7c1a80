//===- ParseLimits.cpp - Bounds on what the MLIR text parser recurses on --===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements the bracket-depth scan that runs before MLIR text is
// parsed, and the large-stack thread the parse runs on.
//
//===----------------------------------------------------------------------===//

#include "moe/Support/ParseLimits.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/thread.h"

#include <condition_variable>
#include <mutex>

using namespace llvm;

std::optional<size_t> mlir::moe::findExcessiveNesting(StringRef text,
                                                      unsigned maxDepth,
                                                      StringRef splitMarker) {
  // Open brackets, and the unary minus signs in a row (the affine parser
  // recurses once per negation too).
  unsigned depth = 0, negations = 0;
  size_t size = text.size();
  for (size_t i = 0; i < size; ++i) {
    char c = text[i];
    char next = i + 1 < size ? text[i + 1] : '\0';
    if (c == '-' && next != '>') {
      if (depth + ++negations > maxDepth)
        return i;
      continue;
    }
    if (!llvm::isSpace(c))
      negations = 0;
    switch (c) {
    case '"':
      // A string literal ends at an unescaped quote or at the end of its
      // line (the lexer rejects the latter; the count need not care).
      for (++i; i < size && text[i] != '"' && text[i] != '\n'; ++i)
        if (text[i] == '\\')
          ++i;
      break;
    case '/':
      if (next != '/')
        break;
      if (!splitMarker.empty() && text.substr(i).starts_with(splitMarker)) {
        StringRef lineBefore = text.take_front(i).rtrim(" \t");
        if (lineBefore.empty() || lineBefore.ends_with("\n"))
          depth = 0;
      }
      i = std::min(text.find('\n', i), size);
      break;
    case '-':
      // `->` is not a bracket.
      ++i;
      break;
    case '<':
      // `<=` is not a bracket.
      if (next == '=') {
        ++i;
        break;
      }
      [[fallthrough]];
    case '(':
    case '[':
    case '{':
      if (++depth > maxDepth)
        return i;
      break;
    case '>':
      // `>=` is not a bracket.
      if (next == '=') {
        ++i;
        break;
      }
      [[fallthrough]];
    case ')':
    case ']':
    case '}':
      // Unbalanced text fails to parse where the parser meets it; a close
      // with nothing open just keeps the count at zero.
      if (depth)
        --depth;
      break;
    default:
      break;
    }
  }
  return std::nullopt;
}

bool mlir::moe::checkNestingDepth(const MemoryBuffer &buffer, raw_ostream &os,
                                  StringRef splitMarker) {
  StringRef text = buffer.getBuffer();
  std::optional<size_t> offset =
      findExcessiveNesting(text, kMaxNestingDepth, splitMarker);
  if (!offset)
    return true;
  // Line and column as MLIR's diagnostics give them (both from 1); the
  // line itself is not echoed, since such lines are usually enormous.
  StringRef before = text.take_front(*offset);
  size_t line = before.count('\n') + 1;
  size_t lineStart = before.rfind('\n');
  size_t column = lineStart == StringRef::npos ? *offset + 1
                                               : *offset - lineStart;
  os << buffer.getBufferIdentifier() << ":" << line << ":" << column
     << ": error: nesting too deep: more than " << kMaxNestingDepth
     << " nested brackets or negations\n";
  return false;
}

namespace {

/// A thread with the parser's stack that runs one job at a time, made on
/// first use and kept: a fuzz target parses on it once an input, and a
/// thread made and torn down each time would cost more than the parse (under
/// ASan, a thread's exit clears the shadow of its whole stack).
class ParserStackThread {
public:
  ParserStackThread()
      : thread(std::optional<unsigned>(mlir::moe::kParserStackSize),
               [this] { serve(); }) {}

  ~ParserStackThread() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    thread.join();
  }

  void run(function_ref<void()> fn) {
    std::lock_guard<std::mutex> caller(callerMutex);
    std::unique_lock<std::mutex> lock(mutex);
    job = &fn;
    wake.notify_all();
    done.wait(lock, [this] { return job == nullptr; });
  }

private:
  void serve() {
    std::unique_lock<std::mutex> lock(mutex);
    while (true) {
      wake.wait(lock, [this] { return job || stopping; });
      if (!job)
        return;
      (*job)();
      job = nullptr;
      done.notify_all();
    }
  }

  /// One caller at a time.
  std::mutex callerMutex;
  std::mutex mutex;
  std::condition_variable wake, done;
  function_ref<void()> *job = nullptr;
  bool stopping = false;
  llvm::thread thread;
};

} // namespace

void mlir::moe::runOnParserStack(function_ref<void()> fn) {
  static ParserStackThread parserThread;
  parserThread.run(fn);
}

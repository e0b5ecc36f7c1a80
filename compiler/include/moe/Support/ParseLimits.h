//===- ParseLimits.h - Bounds on what the MLIR text parser recurses on -*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// MLIR's parser descends recursively: each open bracket of a type, attribute,
// location or region, and each term of an affine expression, is a few stack
// frames deeper. Text nested tens of thousands deep overflows the 8 MiB stack
// of a process's main thread (upstream `mlir-opt` crashes on `func.func @f`
// followed by 20,000 `(`). The tools that parse MLIR text therefore
//   - reject text whose brackets nest deeper than `kMaxNestingDepth`, with a
//     located error, before the parser sees it, and
//   - parse and transform on a thread whose stack is `kParserStackSize`: it
//     holds the deepest nesting accepted many times over, and the recursion
//     on constructs without brackets (long affine sums, runs of negations)
//     for inputs of several MiB.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_SUPPORT_PARSELIMITS_H
#define MOE_SUPPORT_PARSELIMITS_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <optional>

namespace llvm {
class MemoryBuffer;
} // namespace llvm

namespace mlir::moe {

/// The deepest bracket nesting that MLIR text may have (any mix of `(`, `[`,
/// `{` and `<`, and runs of unary minus). Real IR stays below a hundred.
inline constexpr unsigned kMaxNestingDepth = 4096;

/// The stack of the thread that parses and transforms MLIR text.
inline constexpr unsigned kParserStackSize = 1024u << 20;

/// Where `text` first has more than `maxDepth` brackets open at once, as a
/// byte offset; none if it never does. A run of minus signs (`- - x`) counts
/// as deeper by one a sign, as the affine parser recurses on each. Brackets
/// in string literals and comments do not count, nor do the `>` of `->` and
/// `>=` and the `<` of `<=`. Where `splitMarker` is not empty, each line that starts with it
/// begins a new count (the chunks of `--split-input-file` parse apart).
std::optional<size_t> findExcessiveNesting(llvm::StringRef text,
                                           unsigned maxDepth,
                                           llvm::StringRef splitMarker = {});

/// Checks `buffer` with `findExcessiveNesting(.., kMaxNestingDepth, ..)`;
/// reports excessive nesting to `os` as
///   `NAME:LINE:COL: error: nesting too deep: ...`
/// (the way MLIR prints a diagnostic) and returns false.
bool checkNestingDepth(const llvm::MemoryBuffer &buffer, llvm::raw_ostream &os,
                       llvm::StringRef splitMarker = {});

/// Runs `fn` on a thread whose stack is `kParserStackSize` bytes, and waits
/// for it. The thread is made on the first call and reused by later ones
/// (one at a time), so that calling this once an input costs little.
void runOnParserStack(llvm::function_ref<void()> fn);

} // namespace mlir::moe

#endif // MOE_SUPPORT_PARSELIMITS_H

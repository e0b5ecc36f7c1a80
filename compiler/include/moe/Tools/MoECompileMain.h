//===- MoECompileMain.h - The moe-compile driver ----------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The library behind `moe-compile`: moe-graph JSON in, MLIR, LLVM IR, an
// object file or an ahead-of-time compiled executable out.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_TOOLS_MOECOMPILEMAIN_H
#define MOE_TOOLS_MOECOMPILEMAIN_H

namespace mlir {
namespace moe {

/// Runs moe-compile with the given command line; returns the exit code.
int moeCompileMain(int argc, char **argv);

} // namespace moe
} // namespace mlir

#endif // MOE_TOOLS_MOECOMPILEMAIN_H

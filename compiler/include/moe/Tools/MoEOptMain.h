//===- MoEOptMain.h - The moe-opt driver ------------------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_TOOLS_MOEOPTMAIN_H
#define MOE_TOOLS_MOEOPTMAIN_H

namespace mlir::moe {

/// The `main` of moe-opt: mlir-opt with the MoE dialect, its passes and
/// pipelines, and every upstream dialect, pass and LLVM IR translation.
/// Input nested deeper than `kMaxNestingDepth` is refused with a located
/// error; the rest is parsed and transformed on a thread with a large stack
/// (moe/Support/ParseLimits.h).
int moeOptMain(int argc, char **argv);

} // namespace mlir::moe

#endif // MOE_TOOLS_MOEOPTMAIN_H

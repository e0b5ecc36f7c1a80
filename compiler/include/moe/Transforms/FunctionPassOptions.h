//===- FunctionPassOptions.h - Passes with a function's own options -*- C++
//-*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// A function may carry `moe.pass_options`: for some passes, the options they
// run with on that function in place of their own (a layer's version for few
// tokens, with a schedule of its own: --moe-version-layers). A pass that
// honours it begins its runOnOperation with
//
//   if (std::optional<StringRef> options =
//           getFunctionPassOptions(getOperation(), getArgument()))
//     return runWithFunctionPassOptions(getOperation(), getArgument(),
//         *options, createMyPass(), [&](OpPassManager &pm) {
//           return runPipeline(pm, getOperation()); }) ... ;
//
// (Pass::runPipeline is the pass's own, so the pass calls it.)
//
//===----------------------------------------------------------------------===//

#ifndef MOE_TRANSFORMS_FUNCTIONPASSOPTIONS_H
#define MOE_TRANSFORMS_FUNCTIONPASSOPTIONS_H

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

#include <optional>
#include <string>

namespace mlir {
namespace moe {

/// The options `op`'s function (`op` or its closest function ancestor)
/// gives the pass `passArgument` in its `moe.pass_options`, if any.
std::optional<StringRef> getFunctionPassOptions(Operation *op,
                                                StringRef passArgument);

/// Runs `pass` (a new pass of the caller's kind) with `options` on the
/// function `function`, through `runPipeline` (the caller's
/// Pass::runPipeline). While it runs, `function` carries no options for
/// `passArgument`, so that `pass` runs with its own. An option `pass` does
/// not take is reported on `function`.
LogicalResult runWithFunctionPassOptions(
    Operation *function, StringRef passArgument, StringRef options,
    std::unique_ptr<Pass> pass,
    llvm::function_ref<LogicalResult(OpPassManager &)> runPipeline);

/// The options `pass` runs with, as `key=value` pairs that
/// Pass::initializeOptions reads back.
std::string getPassOptionsText(Pass &pass);

} // namespace moe
} // namespace mlir

#endif // MOE_TRANSFORMS_FUNCTIONPASSOPTIONS_H

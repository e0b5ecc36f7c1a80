//===- FunctionPassOptions.h - A function's own pass options ---*- C++ -*-===//
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
//   FailureOr<SmallVector<Operation *>> own = runFunctionsWithOwnOptions(
//       getOperation(), getArgument(),
//       [] { return std::make_unique<MyPass>(); },
//       [&](OpPassManager &pm, Operation *function) {
//         return runPipeline(pm, function);
//       });
//
// and leaves the functions it returns alone. (Pass::runPipeline is
// protected: the pass passes its own.)
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

/// Runs, on each function at or under `root` whose `moe.pass_options`
/// names the pass `passArgument`, a new pass of the caller's kind
/// (`createPass`) with those options, through `runPipeline` (the caller's
/// Pass::runPipeline). While it runs, the function carries no options for
/// `passArgument`, so that the new pass runs with its own. Returns those
/// functions, which the caller leaves alone; an option the pass does not
/// take is reported on its function, and is a failure.
FailureOr<SmallVector<Operation *>> runFunctionsWithOwnOptions(
    Operation *root, StringRef passArgument,
    llvm::function_ref<std::unique_ptr<Pass>()> createPass,
    llvm::function_ref<LogicalResult(OpPassManager &, Operation *)>
        runPipeline);

/// The options `pass` runs with, as `key=value` pairs that
/// Pass::initializeOptions reads back.
std::string getPassOptionsText(Pass &pass);

} // namespace moe
} // namespace mlir

#endif // MOE_TRANSFORMS_FUNCTIONPASSOPTIONS_H

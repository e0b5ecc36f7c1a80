//===- FunctionPassOptions.cpp - Passes with a function's own options ----===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#include "moe/Transforms/FunctionPassOptions.h"
#include "moe/Dialect/MoE/IR/MoEDialect.h"

#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace mlir::moe;

std::optional<StringRef>
mlir::moe::getFunctionPassOptions(Operation *op, StringRef passArgument) {
  Operation *function = isa<FunctionOpInterface>(op)
                            ? op
                            : op->getParentOfType<FunctionOpInterface>();
  if (!function)
    return std::nullopt;
  auto options = function->getAttrOfType<DictionaryAttr>(kPassOptionsAttrName);
  if (!options)
    return std::nullopt;
  if (auto text = options.getAs<StringAttr>(passArgument))
    return text.getValue();
  return std::nullopt;
}

/// Runs `pass` with `options` on `function` through `runPipeline`, with
/// the function's own options for `passArgument` set aside meanwhile.
static LogicalResult
runWithOptions(Operation *function, StringRef passArgument, StringRef options,
               std::unique_ptr<Pass> pass,
               llvm::function_ref<LogicalResult(OpPassManager &, Operation *)>
                   runPipeline) {
  std::string error;
  if (failed(pass->initializeOptions(options, [&](const Twine &message) {
        error = message.str();
        return failure();
      })))
    return function->emitError()
           << "invalid '" << kPassOptionsAttrName << "' of '" << passArgument
           << "': '" << options << "'" << (error.empty() ? "" : ": ") << error;
  OpPassManager pm(function->getName());
  pm.addPass(std::move(pass));
  // The pass runs with its own options: this function's are set aside.
  auto all = function->getAttrOfType<DictionaryAttr>(kPassOptionsAttrName);
  NamedAttrList others(all);
  others.erase(passArgument);
  function->setAttr(kPassOptionsAttrName,
                    others.getDictionary(function->getContext()));
  LogicalResult result = runPipeline(pm, function);
  function->setAttr(kPassOptionsAttrName, all);
  return result;
}

FailureOr<SmallVector<Operation *>> mlir::moe::runFunctionsWithOwnOptions(
    Operation *root, StringRef passArgument,
    llvm::function_ref<std::unique_ptr<Pass>()> createPass,
    llvm::function_ref<LogicalResult(OpPassManager &, Operation *)>
        runPipeline) {
  // Collected first: each run changes the function it runs on.
  SmallVector<std::pair<Operation *, StringRef>> own;
  root->walk([&](FunctionOpInterface function) {
    if (std::optional<StringRef> options =
            getFunctionPassOptions(function, passArgument))
      own.emplace_back(function, *options);
  });
  SmallVector<Operation *> functions;
  for (auto [function, options] : own) {
    if (failed(runWithOptions(function, passArgument, options, createPass(),
                              runPipeline)))
      return failure();
    functions.push_back(function);
  }
  return functions;
}

std::string mlir::moe::getPassOptionsText(Pass &pass) {
  std::string text;
  llvm::raw_string_ostream os(text);
  pass.printAsTextualPipeline(os);
  // `argument{options}`: the options alone.
  size_t open = text.find('{');
  if (open == std::string::npos || text.back() != '}')
    return "";
  return text.substr(open + 1, text.size() - open - 2);
}

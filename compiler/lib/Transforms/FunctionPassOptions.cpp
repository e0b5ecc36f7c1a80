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

LogicalResult mlir::moe::runWithFunctionPassOptions(
    Operation *function, StringRef passArgument, StringRef options,
    std::unique_ptr<Pass> pass,
    llvm::function_ref<LogicalResult(OpPassManager &)> runPipeline) {
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
  LogicalResult result = runPipeline(pm);
  function->setAttr(kPassOptionsAttrName, all);
  return result;
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

//===- Parameters.cpp - Weights that take a load-time layout ----*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/CPU/Parameters.h"
#include "moe/Codegen/CPU/Passes.h"

#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace mlir::moe;

namespace {

bool isEntry(func::FuncOp func) { return func->hasAttr(kEntryAttrName); }

/// Whether `arg`, an argument of the model function, is a weight parameter
/// still in its raw layout.
bool isRawEntryParameter(BlockArgument arg) {
  auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
  return func && isEntry(func) &&
         func.getArgAttr(arg.getArgNumber(), kParamAttrName) &&
         !func.getArgAttr(arg.getArgNumber(), kPreparePermutationAttrName);
}

void updateFunctionType(func::FuncOp func) {
  func.setFunctionType(FunctionType::get(func.getContext(),
                                         func.getBody().getArgumentTypes(),
                                         func.getResultTypes()));
}

} // namespace

SmallVector<BlockArgument> mlir::moe::modelParameters(BlockArgument arg) {
  auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
  if (!func || arg.getOwner() != &func.getBody().front())
    return {};
  if (isEntry(func))
    return isRawEntryParameter(arg) ? SmallVector<BlockArgument>{arg}
                                    : SmallVector<BlockArgument>{};
  if (func.isPublic())
    return {};
  auto module = func->getParentOfType<ModuleOp>();
  std::optional<SymbolTable::UseRange> uses =
      SymbolTable::getSymbolUses(func, module);
  if (!uses || uses->empty())
    return {};
  unsigned index = arg.getArgNumber();
  SmallVector<BlockArgument> parameters;
  for (const SymbolTable::SymbolUse &use : *uses) {
    auto call = dyn_cast<func::CallOp>(use.getUser());
    if (!call || call.getCallee() != func.getSymName())
      return {};
    auto parameter = dyn_cast<BlockArgument>(call.getOperand(index));
    if (!parameter || !isRawEntryParameter(parameter))
      return {};
    // Its every use passes it to this function, at this position.
    for (OpOperand &parameterUse : parameter.getUses()) {
      auto user = dyn_cast<func::CallOp>(parameterUse.getOwner());
      if (!user || user.getCallee() != func.getSymName() ||
          parameterUse.getOperandNumber() != index)
        return {};
    }
    parameters.push_back(parameter);
  }
  return parameters;
}

void mlir::moe::redeclareParameter(BlockArgument arg, RankedTensorType type,
                                   ArrayRef<int64_t> permutation) {
  SmallVector<BlockArgument> parameters = modelParameters(arg);
  assert(!parameters.empty() && "not a raw parameter");
  auto func = cast<func::FuncOp>(arg.getOwner()->getParentOp());
  arg.setType(type);
  updateFunctionType(func);
  auto permutationAttr = DenseI64ArrayAttr::get(arg.getContext(), permutation);
  for (BlockArgument parameter : parameters) {
    auto entry = cast<func::FuncOp>(parameter.getOwner()->getParentOp());
    parameter.setType(type);
    entry.setArgAttr(parameter.getArgNumber(), kPreparePermutationAttrName,
                     permutationAttr);
    updateFunctionType(entry);
  }
}

SmallVector<func::FuncOp> mlir::moe::parameterFunctions(ModuleOp module) {
  SmallVector<func::FuncOp> functions;
  for (auto func : module.getOps<func::FuncOp>())
    if (!func.isExternal())
      functions.push_back(func);
  return functions;
}

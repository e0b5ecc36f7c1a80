//===- Parameters.cpp - Weights that take a load-time layout ----*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/Common/Parameters.h"
#include "moe/Dialect/MoE/IR/MoEDialect.h"

#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace mlir::moe;

namespace {

bool isEntry(func::FuncOp func) { return func->hasAttr(kEntryAttrName); }

/// Whether `arg`, an argument of the model function, is a weight parameter
/// (or a concatenation of weights) still in its raw layout.
bool isRawEntryParameter(BlockArgument arg) {
  auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
  unsigned index = arg.getArgNumber();
  return func && isEntry(func) &&
         (func.getArgAttr(index, kParamAttrName) ||
          func.getArgAttr(index, kParamConcatAttrName)) &&
         !func.getArgAttr(index, kPreparePermutationAttrName);
}

/// Re-declares argument `index` of `entry` as `type`, which `permutation`
/// builds from its current type with dimensions split (the dims of `type`
/// permuted back), composed with the permutation that builds the current
/// type from the raw bytes, if any.
void redeclareEntryArgument(func::FuncOp entry, unsigned index,
                            RankedTensorType type,
                            ArrayRef<int64_t> permutation) {
  auto current = cast<RankedTensorType>(entry.getArgument(index).getType());
  int64_t rank = type.getRank();
  // The current type with dimensions split: split[permutation[i]] = type[i].
  SmallVector<int64_t> split(rank);
  for (auto [i, dim] : llvm::enumerate(permutation))
    split[dim] = type.getDimSize(i);
  // groups[c]: the split dims that make up current dim c.
  SmallVector<SmallVector<int64_t>> groups(current.getRank());
  int64_t next = 0;
  for (int64_t c = 0, e = current.getRank(); c < e; ++c) {
    int64_t product = 1;
    do {
      groups[c].push_back(next);
      product *= split[next++];
    } while (product < current.getDimSize(c) && next < rank);
    assert(product == current.getDimSize(c) && "not a split of the type");
  }
  assert(next == rank && "not a split of the type");
  // Current dim c is raw dim existing[c]; the raw bytes, viewed with the
  // same splits, hold split dim s at rawIndex[s].
  SmallVector<int64_t> existing =
      llvm::to_vector(llvm::seq<int64_t>(0, current.getRank()));
  if (auto attr = entry.getArgAttrOfType<DenseI64ArrayAttr>(
          index, kPreparePermutationAttrName))
    existing = llvm::to_vector(attr.asArrayRef());
  SmallVector<int64_t> rawIndex(rank);
  next = 0;
  for (int64_t raw = 0, e = current.getRank(); raw < e; ++raw)
    for (int64_t s : groups[llvm::find(existing, raw) - existing.begin()])
      rawIndex[s] = next++;
  SmallVector<int64_t> composed;
  for (int64_t dim : permutation)
    composed.push_back(rawIndex[dim]);
  entry.getArgument(index).setType(type);
  entry.setArgAttr(index, kPreparePermutationAttrName,
                   DenseI64ArrayAttr::get(entry.getContext(), composed));
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
  for (BlockArgument parameter : parameters) {
    auto entry = cast<func::FuncOp>(parameter.getOwner()->getParentOp());
    unsigned index = parameter.getArgNumber();
    // A concatenation's parts take the layout each, along dimension 0.
    if (auto parts = entry.getArgAttrOfType<DenseI64ArrayAttr>(
            index, kParamConcatAttrName)) {
      assert(!permutation.empty() && permutation.front() == 0 &&
             "a concatenation keeps its dimension 0");
      for (int64_t part : parts.asArrayRef()) {
        SmallVector<int64_t> shape(type.getShape());
        shape[0] = cast<RankedTensorType>(entry.getArgument(part).getType())
                       .getDimSize(0);
        redeclareEntryArgument(
            entry, part, RankedTensorType::get(shape, type.getElementType()),
            permutation);
      }
    }
    redeclareEntryArgument(entry, index, type, permutation);
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

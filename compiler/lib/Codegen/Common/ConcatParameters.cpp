//===- ConcatParameters.cpp - Weights concatenated at load time -*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-concat-parameters: a `tensor.concat` of weights
// (each a model parameter, reshaped and at most once transposed) becomes
// one weight argument of the model function that `moe_prepare` lays out at
// load time, so that the forward pass reads the concatenation in place
// instead of copying it on every call.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/Common/Parameters.h"
#include "moe/Codegen/Common/Passes.h"
#include "moe/Dialect/MoE/IR/MoEDialect.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOECONCATPARAMETERSPASS
#include "moe/Codegen/Common/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// One operand of a concatenation: the weight argument it reads, the type
/// it reads it as, and the permutation that builds that type from the
/// weight's bytes (empty for a reshape alone).
struct WeightView {
  BlockArgument weight;
  RankedTensorType type;
  SmallVector<int64_t> permutation;
  /// The ops between the weight and the concatenation, last first.
  SmallVector<Operation *> chain;
};

/// Traces `value` to a weight parameter through reshapes and at most one
/// transpose after them, each used once.
std::optional<WeightView> traceWeight(Value value) {
  WeightView view;
  view.type = dyn_cast<RankedTensorType>(value.getType());
  if (!view.type || !view.type.hasStaticShape())
    return std::nullopt;
  if (auto transpose = value.getDefiningOp<linalg::TransposeOp>()) {
    if (!transpose->hasOneUse())
      return std::nullopt;
    view.permutation = llvm::to_vector(transpose.getPermutation());
    view.chain.push_back(transpose);
    value = transpose.getInput();
  }
  while (!isa<BlockArgument>(value)) {
    Operation *op = value.getDefiningOp();
    if (!isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(op) ||
        !op->hasOneUse())
      return std::nullopt;
    view.chain.push_back(op);
    value = op->getOperand(0);
  }
  view.weight = cast<BlockArgument>(value);
  if (!view.weight.hasOneUse() || modelParameters(view.weight).empty())
    return std::nullopt;
  return view;
}

struct MoEConcatParametersPass
    : moe::impl::MoEConcatParametersPassBase<MoEConcatParametersPass> {
  using MoEConcatParametersPassBase::MoEConcatParametersPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp entry;
    for (auto func : module.getOps<func::FuncOp>())
      if (func->hasAttr(kEntryAttrName))
        entry = func;
    if (!entry)
      return;
    for (func::FuncOp func : parameterFunctions(module)) {
      SmallVector<tensor::ConcatOp> concats;
      func.walk([&](tensor::ConcatOp concat) {
        if (concat.getDim() == 0)
          concats.push_back(concat);
      });
      for (tensor::ConcatOp concat : concats)
        (void)concatenate(module, entry, func, concat);
    }
  }

  /// Replaces `concat` in `func` by a weight argument, if its operands are
  /// weights.
  LogicalResult concatenate(ModuleOp module, func::FuncOp entry,
                            func::FuncOp func, tensor::ConcatOp concat) {
    SmallVector<WeightView> views;
    for (Value input : concat.getInputs()) {
      std::optional<WeightView> view = traceWeight(input);
      if (!view)
        return failure();
      views.push_back(std::move(*view));
    }
    auto type = cast<RankedTensorType>(concat.getType());
    if (!type.hasStaticShape())
      return failure();
    if (func == entry) {
      SmallVector<BlockArgument> parts;
      for (const WeightView &view : views)
        parts.push_back(view.weight);
      BlockArgument merged = addConcatenation(entry, type, parts, views);
      replaceConcat(concat, merged, views);
      return success();
    }
    // A layer function: every call passes each weight a parameter of the
    // model function of its own, which becomes a part of the call's own
    // concatenation.
    std::optional<SymbolTable::UseRange> uses =
        SymbolTable::getSymbolUses(func, module);
    SmallVector<func::CallOp> calls;
    llvm::SmallDenseSet<BlockArgument> seen;
    for (const SymbolTable::SymbolUse &use : *uses) {
      auto call = cast<func::CallOp>(use.getUser());
      for (const WeightView &view : views) {
        auto parameter =
            cast<BlockArgument>(call.getOperand(view.weight.getArgNumber()));
        if (!seen.insert(parameter).second)
          return failure();
      }
      calls.push_back(call);
    }
    BlockArgument merged = func.front().addArgument(type, concat.getLoc());
    replaceConcat(concat, merged, views);
    llvm::BitVector erased(func.getNumArguments());
    for (const WeightView &view : views)
      erased.set(view.weight.getArgNumber());
    for (func::CallOp call : calls) {
      SmallVector<BlockArgument> parts;
      for (const WeightView &view : views)
        parts.push_back(
            cast<BlockArgument>(call.getOperand(view.weight.getArgNumber())));
      call->insertOperands(call->getNumOperands(),
                           addConcatenation(entry, type, parts, views));
      call->eraseOperands(erased);
    }
    func.front().eraseArguments(erased);
    func.setFunctionType(FunctionType::get(
        &getContext(), func.front().getArgumentTypes(), func.getResultTypes()));
    return success();
  }

  /// Adds the model function's argument for the concatenation of its
  /// weights `parts` read as `views`, and re-declares each part as its view.
  BlockArgument addConcatenation(func::FuncOp entry, RankedTensorType type,
                                 ArrayRef<BlockArgument> parts,
                                 ArrayRef<WeightView> views) {
    MLIRContext *ctx = &getContext();
    SmallVector<int64_t> indices;
    for (auto [part, view] : llvm::zip_equal(parts, views)) {
      unsigned index = part.getArgNumber();
      indices.push_back(index);
      entry.getArgument(index).setType(view.type);
      SmallVector<int64_t> permutation = view.permutation;
      if (permutation.empty())
        permutation =
            llvm::to_vector(llvm::seq<int64_t>(0, view.type.getRank()));
      entry.setArgAttr(index, kPreparePermutationAttrName,
                       DenseI64ArrayAttr::get(ctx, permutation));
    }
    unsigned position = entry.getNumArguments();
    NamedAttribute attr(StringAttr::get(ctx, kParamConcatAttrName),
                        DenseI64ArrayAttr::get(ctx, indices));
    (void)entry.insertArgument(position, type, DictionaryAttr::get(ctx, attr),
                               entry.getLoc());
    entry.setFunctionType(FunctionType::get(
        ctx, entry.front().getArgumentTypes(), entry.getResultTypes()));
    return entry.getArgument(position);
  }

  /// Replaces `concat` by `merged` and erases the reshapes and transposes
  /// that led to it.
  void replaceConcat(tensor::ConcatOp concat, Value merged,
                     ArrayRef<WeightView> views) {
    concat.getResult().replaceAllUsesWith(merged);
    concat.erase();
    for (const WeightView &view : views)
      for (Operation *op : view.chain) {
        // A transpose's destination is its own tensor.empty.
        Value init = isa<linalg::TransposeOp>(op) ? op->getOperand(1) : Value();
        op->erase();
        if (init && init.use_empty())
          init.getDefiningOp()->erase();
      }
  }
};

} // namespace

//===- Parameters.h - Weights that take a load-time layout ------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// A weight can be re-declared in a layout `moe_prepare` builds at load time
// when the model function receives it as a parameter. With layers outlined
// (moe-outline-layers), a layer function's argument is such a weight too
// when every call passes it a parameter of the model function used nowhere
// else: re-declaring it re-declares those parameters. A concatenation of
// weights (`moe.param_concat`, moe-concat-parameters) is such a weight too:
// re-declaring it re-declares each of its parts alike, along dimension 0.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_CODEGEN_COMMON_PARAMETERS_H
#define MOE_CODEGEN_COMMON_PARAMETERS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"

namespace mlir {
namespace moe {

/// The parameters of the model function that `arg` stands for: `arg`
/// itself for a raw (not yet re-declared) parameter of the model function;
/// for an argument of a function the model function alone calls, the
/// parameters every call passes there, when each is used by such calls
/// alone. Empty when `arg` is no raw parameter.
SmallVector<BlockArgument> modelParameters(BlockArgument arg);

/// Re-declares `arg` (for which `modelParameters` is not empty) as `type`,
/// which `moe_prepare` builds by `permutation` from the current type with
/// dimensions split (`type`'s dims permuted back): the argument, its
/// function's type, and the model parameters it stands for. A parameter
/// laid out already (a part of a concatenation) composes the two layouts.
void redeclareParameter(BlockArgument arg, RankedTensorType type,
                        ArrayRef<int64_t> permutation);

/// The functions with a body, in which weight arguments may be
/// re-declared: the model function and its outlined layers.
SmallVector<func::FuncOp> parameterFunctions(ModuleOp module);

} // namespace moe
} // namespace mlir

#endif // MOE_CODEGEN_COMMON_PARAMETERS_H

//===- TensorUtils.h - Helpers for building tensor IR -----------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// Small helpers shared by the MoE rewrites for sizing and creating
// destination tensors with a dynamic token count.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_TRANSFORMS_TENSORUTILS_H
#define MOE_TRANSFORMS_TENSORUTILS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

namespace mlir {
namespace moe {

/// Returns `size * factor`, folded to a constant when `size` is static.
OpFoldResult multiplySize(OpBuilder &b, Location loc, OpFoldResult size,
                          int64_t factor);

/// Creates a `tensor.empty` of the given sizes and element type.
Value createEmptyTensor(OpBuilder &b, Location loc,
                        ArrayRef<OpFoldResult> sizes, Type elementType);

/// Creates a tensor of the given sizes filled with zeros.
Value createZeroTensor(OpBuilder &b, Location loc,
                       ArrayRef<OpFoldResult> sizes, Type elementType);

} // namespace moe
} // namespace mlir

#endif // MOE_TRANSFORMS_TENSORUTILS_H

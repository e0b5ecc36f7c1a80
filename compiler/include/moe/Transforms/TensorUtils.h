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
#include "mlir/Support/LLVM.h"

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

/// The tensor that `value` is finally written into: `value` followed
/// through the destination operand of each destination-style op on tensors
/// that produces it (a `tensor.empty`, say, or a block argument).
Value traceDestination(Value value);

/// Whether `value` is a tensor filled with zeros (a `linalg.fill` of a
/// float zero).
bool isZeroFilled(Value value);

/// Converts a float scalar, or each element of a vector of floats, to float
/// type `type` (extf or truncf), or returns it as is.
Value convertFloat(OpBuilder &b, Location loc, Value value, Type type);

/// Builds `init + lhs rhs^T` as a `linalg.generic` contraction: `lhs` is
/// [M, K], `rhs` is [N, K] (the `nn.Linear` weight layout, any float type,
/// converted to the result's type inside the body) and `init` is [M, N].
Value buildMatmulTransposedRhs(OpBuilder &b, Location loc, Value lhs,
                               Value rhs, Value init);

/// Builds `init + lhs rhs` likewise, with `rhs` [K, N].
Value buildMatmul(OpBuilder &b, Location loc, Value lhs, Value rhs,
                  Value init);

/// The indexing maps of `buildMatmulTransposedRhs`: (m, n, k) ->
/// lhs (m, k), rhs (n, k), init (m, n).
SmallVector<AffineMap> getMatmulTransposedRhsIndexingMaps(MLIRContext *ctx);

/// The indexing maps of `buildMatmulInnerN`: (m, k, n) -> lhs (m, k),
/// rhs (k, n), init (m, n).
SmallVector<AffineMap> getMatmulInnerNIndexingMaps(MLIRContext *ctx);

/// Builds `init + lhs rhs` with `rhs` [K, N] and the iteration order
/// (m, k, n): lowered to loops, the innermost loop runs along the rows of
/// `rhs` and `init`, contiguous and free of a carried sum, which LLVM
/// vectorizes. For matmuls with a narrow N (a router's experts) that no
/// kernel schedule tiles.
Value buildMatmulInnerN(OpBuilder &b, Location loc, Value lhs, Value rhs,
                        Value init);

/// Builds `init + lhs rhs` with `rhs` in panels of P columns: `lhs` [M, K],
/// `rhs` [N/P, K, P], `init` [M, N/P, P].
Value buildMatmulPanels(OpBuilder &b, Location loc, Value lhs, Value rhs,
                        Value init);
/// The indexing maps of buildMatmulPanels over (m, panel, n, k).
SmallVector<AffineMap> getMatmulPanelsIndexingMaps(MLIRContext *ctx);

/// Builds `init + lhs rhs` with both operands in the pair (VNNI) layout of
/// AVX-512 BF16's dot product, the weight in panels of P columns: `lhs`
/// [M, K/2, 2], `rhs` [N/P, K/2, P, 2], `init` [M, N/P, P]; the products
/// are taken in the result's type.
Value buildMatmulVnni(OpBuilder &b, Location loc, Value lhs, Value rhs,
                      Value init);
/// The indexing maps of buildMatmulVnni over (m, panel, n, k, pair).
SmallVector<AffineMap> getMatmulVnniIndexingMaps(MLIRContext *ctx);

/// Builds `input + bias` with `input` [M, N] and `bias` [N] broadcast over
/// rows, written into `input`'s type.
Value buildAddRowBias(OpBuilder &b, Location loc, Value input, Value bias);

/// Builds `acc + scale * source` elementwise (`source` converted to `acc`'s
/// element type, `scale` a scalar of it), written into `acc`'s type: a
/// combine's weighted row added to its token's row.
Value buildScaledAccumulate(OpBuilder &b, Location loc, Value source, Value acc,
                            Value scale);

/// Builds a reduction of each row of `input` [M, N] into an [M] tensor that
/// starts at `initial` and folds elements in with `combine(acc, element)`.
Value buildRowReduction(
    OpBuilder &b, Location loc, Value input, double initial,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine);

/// Builds `body(element, rowValue)` for every element of `input` [M, N],
/// with `rowValues` an [M] tensor broadcast along N, into `init`.
Value buildRowBroadcastMap(
    OpBuilder &b, Location loc, Value input, Value rowValues, Value init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> body);

/// Builds `body(x...)` elementwise over same-shaped `inputs`, into a new
/// tensor shaped like the first input, with `resultElementType` elements
/// (default: the first input's).
Value buildElementwise(
    OpBuilder &b, Location loc, ValueRange inputs,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body,
    Type resultElementType = {});

/// The largest divisor of `extent` that is at most `limit` (at least 1): a
/// tile size that leaves no remainder.
inline int64_t largestDivisorAtMost(int64_t extent, int64_t limit) {
  for (int64_t size = std::min(extent, limit); size > 1; --size)
    if (extent % size == 0)
      return size;
  return 1;
}

} // namespace moe
} // namespace mlir

#endif // MOE_TRANSFORMS_TENSORUTILS_H

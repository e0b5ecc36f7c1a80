//===- TensorUtils.cpp - Helpers for building tensor IR ---------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#include "moe/Transforms/TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::moe;

OpFoldResult mlir::moe::multiplySize(OpBuilder &b, Location loc,
                                     OpFoldResult size, int64_t factor) {
  if (std::optional<int64_t> constant = getConstantIntValue(size))
    return b.getIndexAttr(*constant * factor);
  Value factorValue = arith::ConstantIndexOp::create(b, loc, factor);
  return arith::MulIOp::create(b, loc, cast<Value>(size), factorValue)
      .getResult();
}

Value mlir::moe::createEmptyTensor(OpBuilder &b, Location loc,
                                   ArrayRef<OpFoldResult> sizes,
                                   Type elementType) {
  return tensor::EmptyOp::create(b, loc, sizes, elementType);
}

Value mlir::moe::createZeroTensor(OpBuilder &b, Location loc,
                                  ArrayRef<OpFoldResult> sizes,
                                  Type elementType) {
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elementType));
  Value empty = createEmptyTensor(b, loc, sizes, elementType);
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

Value mlir::moe::traceDestination(Value value) {
  while (auto result = dyn_cast<OpResult>(value)) {
    auto dps = dyn_cast<DestinationStyleOpInterface>(result.getOwner());
    if (!dps || !dps.hasPureTensorSemantics())
      break;
    value = dps.getTiedOpOperand(result)->get();
  }
  return value;
}

bool mlir::moe::isZeroFilled(Value value) {
  auto fill = value.getDefiningOp<linalg::FillOp>();
  return fill && matchPattern(fill.getInputs().front(), m_AnyZeroFloat());
}

Value mlir::moe::convertFloat(OpBuilder &b, Location loc, Value value,
                              Type type) {
  auto from = cast<FloatType>(getElementTypeOrSelf(value.getType()));
  auto to = cast<FloatType>(type);
  if (from == to)
    return value;
  Type result = to;
  if (auto vector = dyn_cast<VectorType>(value.getType()))
    result = vector.clone(to);
  if (from.getWidth() < to.getWidth())
    return arith::ExtFOp::create(b, loc, result, value);
  return arith::TruncFOp::create(b, loc, result, value);
}

/// `init += lhs * rhs` over `maps` and `iterators`, with the operands
/// converted to the result's element type in the body.
static Value buildMultiplyAccumulate(OpBuilder &b, Location loc, Value lhs,
                                     Value rhs, Value init,
                                     ArrayRef<AffineMap> maps,
                                     ArrayRef<utils::IteratorType> iterators) {
  Type resultElement = cast<ShapedType>(init.getType()).getElementType();
  return linalg::GenericOp::create(
             b, loc, init.getType(), ValueRange{lhs, rhs}, init, maps,
             iterators,
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               Value a = convertFloat(nb, nloc, args[0], resultElement);
               Value w = convertFloat(nb, nloc, args[1], resultElement);
               Value product = arith::MulFOp::create(nb, nloc, a, w);
               Value sum = arith::AddFOp::create(nb, nloc, args[2], product);
               linalg::YieldOp::create(nb, nloc, sum);
             })
      .getResult(0);
}

/// `init + lhs rhs^T` (rhs [N, K]) or `init + lhs rhs` (rhs [K, N]).
static Value buildContraction(OpBuilder &b, Location loc, Value lhs, Value rhs,
                              Value init, bool rhsTransposed) {
  MLIRContext *ctx = b.getContext();
  AffineExpr m, n, k;
  bindDims(ctx, m, n, k);
  SmallVector<AffineMap> maps = {
      AffineMap::get(3, 0, {m, k}, ctx),
      AffineMap::get(3, 0, rhsTransposed ? ArrayRef<AffineExpr>{n, k}
                                         : ArrayRef<AffineExpr>{k, n},
                     ctx),
      AffineMap::get(3, 0, {m, n}, ctx)};
  SmallVector<utils::IteratorType> iterators = {utils::IteratorType::parallel,
                                                utils::IteratorType::parallel,
                                                utils::IteratorType::reduction};
  return buildMultiplyAccumulate(b, loc, lhs, rhs, init, maps, iterators);
}

Value mlir::moe::buildMatmulTransposedRhs(OpBuilder &b, Location loc,
                                          Value lhs, Value rhs, Value init) {
  return buildContraction(b, loc, lhs, rhs, init, /*rhsTransposed=*/true);
}

Value mlir::moe::buildMatmul(OpBuilder &b, Location loc, Value lhs, Value rhs,
                             Value init) {
  return buildContraction(b, loc, lhs, rhs, init, /*rhsTransposed=*/false);
}

SmallVector<AffineMap>
mlir::moe::getMatmulTransposedRhsIndexingMaps(MLIRContext *ctx) {
  AffineExpr m, n, k;
  bindDims(ctx, m, n, k);
  return {AffineMap::get(3, 0, {m, k}, ctx), AffineMap::get(3, 0, {n, k}, ctx),
          AffineMap::get(3, 0, {m, n}, ctx)};
}

SmallVector<AffineMap> mlir::moe::getMatmulInnerNIndexingMaps(MLIRContext *ctx) {
  AffineExpr m, k, n;
  bindDims(ctx, m, k, n);
  return {AffineMap::get(3, 0, {m, k}, ctx), AffineMap::get(3, 0, {k, n}, ctx),
          AffineMap::get(3, 0, {m, n}, ctx)};
}

Value mlir::moe::buildMatmulInnerN(OpBuilder &b, Location loc, Value lhs,
                                   Value rhs, Value init) {
  SmallVector<utils::IteratorType> iterators = {utils::IteratorType::parallel,
                                                utils::IteratorType::reduction,
                                                utils::IteratorType::parallel};
  return buildMultiplyAccumulate(b, loc, lhs, rhs, init,
                                 getMatmulInnerNIndexingMaps(b.getContext()),
                                 iterators);
}

SmallVector<AffineMap>
mlir::moe::getMatmulPanelsIndexingMaps(MLIRContext *ctx) {
  AffineExpr m, panel, n, k;
  bindDims(ctx, m, panel, n, k);
  return {AffineMap::get(4, 0, {m, k}, ctx),
          AffineMap::get(4, 0, {panel, k, n}, ctx),
          AffineMap::get(4, 0, {m, panel, n}, ctx)};
}

Value mlir::moe::buildMatmulPanels(OpBuilder &b, Location loc, Value lhs,
                                   Value rhs, Value init) {
  SmallVector<utils::IteratorType> iterators = {
      utils::IteratorType::parallel, utils::IteratorType::parallel,
      utils::IteratorType::parallel, utils::IteratorType::reduction};
  return buildMultiplyAccumulate(b, loc, lhs, rhs, init,
                                 getMatmulPanelsIndexingMaps(b.getContext()),
                                 iterators);
}

SmallVector<AffineMap> mlir::moe::getMatmulVnniIndexingMaps(MLIRContext *ctx) {
  AffineExpr m, panel, n, k, pair;
  bindDims(ctx, m, panel, n, k, pair);
  return {AffineMap::get(5, 0, {m, k, pair}, ctx),
          AffineMap::get(5, 0, {panel, k, n, pair}, ctx),
          AffineMap::get(5, 0, {m, panel, n}, ctx)};
}

Value mlir::moe::buildMatmulVnni(OpBuilder &b, Location loc, Value lhs,
                                 Value rhs, Value init) {
  SmallVector<utils::IteratorType> iterators = {
      utils::IteratorType::parallel, utils::IteratorType::parallel,
      utils::IteratorType::parallel, utils::IteratorType::reduction,
      utils::IteratorType::reduction};
  return buildMultiplyAccumulate(b, loc, lhs, rhs, init,
                                 getMatmulVnniIndexingMaps(b.getContext()),
                                 iterators);
}

Value mlir::moe::buildAddRowBias(OpBuilder &b, Location loc, Value input,
                                 Value bias) {
  MLIRContext *ctx = b.getContext();
  AffineExpr m, n;
  bindDims(ctx, m, n);
  SmallVector<AffineMap> maps = {AffineMap::get(2, 0, {n}, ctx),
                                 AffineMap::get(2, 0, {m, n}, ctx)};
  SmallVector<utils::IteratorType> iterators(2, utils::IteratorType::parallel);
  Type element = cast<ShapedType>(input.getType()).getElementType();
  return linalg::GenericOp::create(
             b, loc, input.getType(), ValueRange{bias}, input, maps,
             iterators,
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               Value biasValue = convertFloat(nb, nloc, args[0], element);
               linalg::YieldOp::create(
                   nb, nloc,
                   arith::AddFOp::create(nb, nloc, args[1], biasValue)
                       .getResult());
             })
      .getResult(0);
}

Value mlir::moe::buildScaledAccumulate(OpBuilder &b, Location loc, Value source,
                                       Value acc, Value scale) {
  auto type = cast<ShapedType>(acc.getType());
  AffineMap identity = b.getMultiDimIdentityMap(type.getRank());
  return linalg::GenericOp::create(
             b, loc, acc.getType(), ValueRange{source}, acc,
             SmallVector<AffineMap>{identity, identity},
             SmallVector<utils::IteratorType>(type.getRank(),
                                              utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               Value x = convertFloat(nb, nloc, args[0], type.getElementType());
               Value scaled = arith::MulFOp::create(nb, nloc, scale, x);
               linalg::YieldOp::create(
                   nb, nloc,
                   arith::AddFOp::create(nb, nloc, args[1], scaled)
                       .getResult());
             })
      .getResult(0);
}

Value mlir::moe::buildRowReduction(
    OpBuilder &b, Location loc, Value input, double initial,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  Type element = cast<ShapedType>(input.getType()).getElementType();
  OpFoldResult rows = tensor::getMixedSize(b, loc, input, 0);
  Value initialValue =
      arith::ConstantOp::create(b, loc, b.getFloatAttr(element, initial));
  Value init = linalg::FillOp::create(b, loc, initialValue,
                                      createEmptyTensor(b, loc, {rows}, element))
                   .getResult(0);
  MLIRContext *ctx = b.getContext();
  AffineExpr m, n;
  bindDims(ctx, m, n);
  SmallVector<AffineMap> maps = {AffineMap::get(2, 0, {m, n}, ctx),
                                 AffineMap::get(2, 0, {m}, ctx)};
  SmallVector<utils::IteratorType> iterators = {
      utils::IteratorType::parallel, utils::IteratorType::reduction};
  return linalg::GenericOp::create(
             b, loc, init.getType(), ValueRange{input}, init, maps, iterators,
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               linalg::YieldOp::create(nb, nloc,
                                       combine(nb, nloc, args[1], args[0]));
             })
      .getResult(0);
}

Value mlir::moe::buildElementwise(
    OpBuilder &b, Location loc, ValueRange inputs,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body,
    Type resultElementType) {
  Value first = inputs.front();
  auto type = cast<RankedTensorType>(first.getType());
  SmallVector<OpFoldResult> sizes;
  for (int64_t dim = 0; dim < type.getRank(); ++dim)
    sizes.push_back(tensor::getMixedSize(b, loc, first, dim));
  Value init = createEmptyTensor(
      b, loc, sizes,
      resultElementType ? resultElementType : type.getElementType());
  AffineMap identity = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<AffineMap> maps(inputs.size() + 1, identity);
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, init.getType(), inputs, init, maps, iterators,
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               linalg::YieldOp::create(nb, nloc,
                                       body(nb, nloc, args.drop_back()));
             })
      .getResult(0);
}

Value mlir::moe::buildRowBroadcastMap(
    OpBuilder &b, Location loc, Value input, Value rowValues, Value init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> body) {
  MLIRContext *ctx = b.getContext();
  AffineExpr m, n;
  bindDims(ctx, m, n);
  SmallVector<AffineMap> maps = {AffineMap::get(2, 0, {m, n}, ctx),
                                 AffineMap::get(2, 0, {m}, ctx),
                                 AffineMap::get(2, 0, {m, n}, ctx)};
  SmallVector<utils::IteratorType> iterators(2, utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, init.getType(), ValueRange{input, rowValues}, init, maps,
             iterators,
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               linalg::YieldOp::create(nb, nloc,
                                       body(nb, nloc, args[0], args[1]));
             })
      .getResult(0);
}

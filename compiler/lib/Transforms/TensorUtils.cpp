//===- TensorUtils.cpp - Helpers for building tensor IR ---------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#include "moe/Transforms/TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

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

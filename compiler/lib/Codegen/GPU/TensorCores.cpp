//===- TensorCores.cpp - The tensor-core form of segment matmuls -*- C++ -*-=//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/GPU/TensorCores.h"

#include "mlir/IR/AffineMap.h"

using namespace mlir;

Type mlir::moe::getTensorCoreOperandType(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 3 ||
      op.getNumReductionLoops() != 1)
    return Type();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (iterators[2] != utils::IteratorType::reduction)
    return Type();
  MLIRContext *context = op->getContext();
  AffineExpr m, n, k;
  bindDims(context, m, n, k);
  SmallVector<AffineMap> expected = AffineMap::inferFromExprList(
      ArrayRef<ArrayRef<AffineExpr>>{{m, k}, {n, k}, {m, n}}, context);
  if (op.getIndexingMapsArray() != expected)
    return Type();
  auto elementType = [&](OpOperand *operand) {
    return getElementTypeOrSelf(operand->get().getType());
  };
  Type weight = elementType(op.getDpsInputOperand(1));
  if (!elementType(op.getDpsInputOperand(0)).isF32() ||
      !elementType(op.getDpsInitOperand(0)).isF32() ||
      !(weight.isBF16() || weight.isF16()))
    return Type();
  return weight;
}

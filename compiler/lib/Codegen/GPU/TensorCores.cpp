//===- TensorCores.cpp - The tensor-core form of segment matmuls -*- C++ -*-=//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/GPU/TensorCores.h"

#include "mlir/IR/AffineMap.h"

using namespace mlir;

bool mlir::moe::isBF16WeightContraction(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 3 ||
      op.getNumReductionLoops() != 1)
    return false;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (iterators[2] != utils::IteratorType::reduction)
    return false;
  MLIRContext *context = op->getContext();
  AffineExpr m, n, k;
  bindDims(context, m, n, k);
  SmallVector<AffineMap> expected = AffineMap::inferFromExprList(
      ArrayRef<ArrayRef<AffineExpr>>{{m, k}, {n, k}, {m, n}}, context);
  if (op.getIndexingMapsArray() != expected)
    return false;
  auto elementType = [&](OpOperand *operand) {
    return getElementTypeOrSelf(operand->get().getType());
  };
  return elementType(op.getDpsInputOperand(0)).isF32() &&
         elementType(op.getDpsInputOperand(1)).isBF16() &&
         elementType(op.getDpsInitOperand(0)).isF32();
}

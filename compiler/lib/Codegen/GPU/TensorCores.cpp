//===- TensorCores.cpp - The tensor-core form of segment matmuls -*- C++ -*-=//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/GPU/TensorCores.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
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
  Type activation = elementType(op.getDpsInputOperand(0));
  if (!elementType(op.getDpsInitOperand(0)).isF32())
    return Type();
  if (weight.isF32())
    return activation.isF32() ? FloatTF32Type::get(context) : Type();
  // 16-bit A: rounded already (moe-gpu-narrow-activations).
  if ((weight.isBF16() || weight.isF16()) &&
      (activation.isF32() || activation == weight))
    return weight;
  return Type();
}

int64_t mlir::moe::getMmaDepth(Type operandType) {
  return isa<FloatTF32Type>(operandType) ? kTF32MmaDepth : kMmaDepth;
}

int64_t mlir::moe::getElementsPerRegister(Type operandType) {
  return isa<FloatTF32Type>(operandType) ? 1 : 2;
}

Type mlir::moe::getFragmentElementType(Type operandType) {
  if (isa<FloatTF32Type>(operandType))
    return Float32Type::get(operandType.getContext());
  return operandType;
}

Value mlir::moe::roundToTensorCoreOperand(OpBuilder &b, Location loc,
                                          Value value, Type operandType) {
  if (!isa<FloatTF32Type>(operandType))
    return arith::TruncFOp::create(b, loc, operandType, value);
  // tf32 keeps f32's sign, exponent and 10 mantissa bits. Adding half of
  // the 13 dropped bits' unit rounds the magnitude to nearest, ties away
  // from zero; a carry into the exponent is the next binade (or infinity).
  // A NaN stays itself (its bits could carry past the sign).
  Type i32 = b.getI32Type();
  Value bits = arith::BitcastOp::create(b, loc, i32, value);
  Value half = arith::ConstantIntOp::create(b, loc, i32, 0x1000);
  Value kept = arith::ConstantIntOp::create(b, loc, i32, int64_t(0xFFFFE000));
  Value rounded = arith::AndIOp::create(
      b, loc, arith::AddIOp::create(b, loc, bits, half), kept);
  Value narrowed = arith::BitcastOp::create(b, loc, b.getF32Type(), rounded);
  Value isNaN =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, value, value);
  return arith::SelectOp::create(b, loc, isNaN, value, narrowed);
}

Value mlir::moe::readLaneIdHere(OpBuilder &b, Location loc) {
  Value lane =
      LLVM::InlineAsmOp::create(
          b, loc, b.getI32Type(), ValueRange(),
          /*asm_string=*/"mov.u32 $0, %laneid;", /*constraints=*/"=r",
          /*has_side_effects=*/true, /*is_align_stack=*/false,
          LLVM::tailcallkind::TailCallKind::None,
          /*asm_dialect=*/LLVM::AsmDialectAttr(), /*operand_attrs=*/ArrayAttr())
          .getResult(0);
  return arith::IndexCastUIOp::create(b, loc, b.getIndexType(), lane);
}

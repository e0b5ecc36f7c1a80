//===- SegmentMatmul.cpp - Finding a lowered grouped matmul's kernels -----===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/Common/SegmentMatmul.h"
#include "moe/Dialect/MoE/IR/MoEDialect.h"
#include "moe/Transforms/TensorUtils.h"

using namespace mlir;
using namespace mlir::moe;

ShapedType mlir::moe::staticSegmentMatmulWeight(linalg::GenericOp op,
                                                ArrayRef<AffineMap> maps) {
  if (!op->hasAttr(kSegmentMatmulAttrName) || op.getNumDpsInputs() != 2 ||
      op.getIndexingMapsArray() != maps)
    return {};
  auto weightType = cast<ShapedType>(op.getDpsInputs()[1].getType());
  return weightType.hasStaticShape() ? weightType : ShapedType();
}

bool mlir::moe::isKNSegmentMatmul(linalg::GenericOp op, int64_t &n,
                                  int64_t &k) {
  MLIRContext *ctx = op.getContext();
  AffineExpr dm, dn, dk;
  bindDims(ctx, dm, dn, dk);
  ShapedType weightType =
      staticSegmentMatmulWeight(op, {AffineMap::get(3, 0, {dm, dk}, ctx),
                                     AffineMap::get(3, 0, {dk, dn}, ctx),
                                     AffineMap::get(3, 0, {dm, dn}, ctx)});
  if (!weightType)
    return false;
  k = weightType.getDimSize(0);
  n = weightType.getDimSize(1);
  return k > 1 && n > 1;
}

bool mlir::moe::isRouterLogitsMatmul(linalg::GenericOp op, int64_t &n,
                                     int64_t &k) {
  if (!op->hasAttr(kRouterLogitsAttrName) || op.getNumDpsInputs() != 2 ||
      op.getIndexingMapsArray() !=
          getMatmulInnerNIndexingMaps(op.getContext()))
    return false;
  auto weightType = cast<ShapedType>(op.getDpsInputs()[1].getType());
  if (!weightType.hasStaticShape())
    return false;
  k = weightType.getDimSize(0);
  n = weightType.getDimSize(1);
  return k > 1 && n > 1;
}

bool mlir::moe::isPanelSegmentMatmul(linalg::GenericOp op, int64_t &k) {
  ShapedType weightType = staticSegmentMatmulWeight(
      op, getMatmulPanelsIndexingMaps(op.getContext()));
  if (!weightType)
    return false;
  k = weightType.getDimSize(1);
  return k > 1 && weightType.getDimSize(2) > 1;
}

bool mlir::moe::isPairPanelSegmentMatmul(linalg::GenericOp op,
                                         int64_t &panelWidth, int64_t &kPairs) {
  ShapedType weightType =
      staticSegmentMatmulWeight(op, getMatmulVnniIndexingMaps(op.getContext()));
  if (!weightType)
    return false;
  kPairs = weightType.getDimSize(1);
  panelWidth = weightType.getDimSize(2);
  // Unit extents fold the tiled loops away, as in isKNSegmentMatmul.
  return kPairs > 1 && panelWidth > 1 && weightType.getDimSize(3) == 2;
}

bool mlir::moe::isGatedSegmentEpilogue(
    linalg::GenericOp op, SmallVectorImpl<linalg::GenericOp> &producers) {
  if (!op->hasAttr(kSegmentEpilogueAttrName) || op.getNumDpsInputs() < 2)
    return false;
  SmallVector<Value> inputs = op.getDpsInputs();
  for (Value input : ArrayRef<Value>(inputs).take_front(2)) {
    auto producer = input.getDefiningOp<linalg::GenericOp>();
    int64_t n, k;
    if (!producer || !producer->hasOneUse() ||
        (!isPanelSegmentMatmul(producer, k) &&
         !isPairPanelSegmentMatmul(producer, n, k) &&
         !isKNSegmentMatmul(producer, n, k)))
      return false;
    producers.push_back(producer);
  }
  // Both in one form: the forms differ in their loops or their maps.
  return producers[0].getIndexingMapsArray() ==
         producers[1].getIndexingMapsArray();
}

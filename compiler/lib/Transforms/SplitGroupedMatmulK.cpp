//===- SplitGroupedMatmulK.cpp - A grouped matmul's K in parts ------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-split-grouped-matmul-k: a grouped matmul's
// reduction becomes independent grouped matmuls over slices of K and one
// elementwise sum of their results, so that a target can run the slices in
// parallel where the output alone has too little parallel work (a GPU's
// down projection at decode).
//
//===----------------------------------------------------------------------===//

#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/FunctionPassOptions.h"
#include "moe/Transforms/Passes.h"
#include "moe/Transforms/TensorUtils.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/Support/MathExtras.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOESPLITGROUPEDMATMULKPASS
#include "moe/Transforms/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

/// The position of K among the weight's dimensions in `layout`, or nothing
/// for a layout whose K is not one dimension.
static std::optional<unsigned> weightReductionDim(WeightLayout layout) {
  switch (layout) {
  case WeightLayout::nk:
    return 2;
  case WeightLayout::kn:
    return 1;
  default:
    return std::nullopt;
  }
}

/// K of `op`: its input's columns (dynamic or static).
static int64_t reductionSize(GroupedMatmulOp op) {
  return cast<RankedTensorType>(op.getInput().getType()).getDimSize(1);
}

/// The slice [offset, offset + size) of dimension `dim` of `source`, all
/// of every other dimension.
static Value sliceDim(OpBuilder &b, Location loc, Value source, unsigned dim,
                      int64_t offset, int64_t size) {
  auto type = cast<RankedTensorType>(source.getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, source);
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  offsets[dim] = b.getIndexAttr(offset);
  sizes[dim] = b.getIndexAttr(size);
  return tensor::ExtractSliceOp::create(b, loc, source, offsets, sizes,
                                        strides);
}

FailureOr<Value> mlir::moe::splitGroupedMatmulReduction(RewriterBase &rewriter,
                                                        GroupedMatmulOp op,
                                                        int64_t parts,
                                                        int64_t kMultiple) {
  if (op.hasCombine())
    return rewriter.notifyMatchFailure(op, "the matmul combines its rows");
  std::optional<unsigned> kDim =
      weightReductionDim(op.getWeightLayoutAttr().getValue());
  if (!kDim)
    return rewriter.notifyMatchFailure(op, "K is no single weight dimension");
  int64_t k = reductionSize(op);
  if (ShapedType::isDynamic(k) || parts < 2 || kMultiple < 1)
    return rewriter.notifyMatchFailure(op, "no static K to split");
  int64_t slice = llvm::alignTo(llvm::divideCeil(k, parts), kMultiple);
  if (slice >= k)
    return rewriter.notifyMatchFailure(op, "K is one slice");

  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  Value init = op.getInit();
  auto resultType = cast<RankedTensorType>(init.getType());
  // The destination plus the parts, in slice order. A zero destination
  // adds nothing: the sum writes the fill's destination, and the fill goes.
  bool addInit = !isZeroFilled(init);
  Value destination =
      addInit ? init : init.getDefiningOp<linalg::FillOp>().getOutputs()[0];
  SmallVector<OpFoldResult> resultSizes =
      tensor::getMixedSizes(rewriter, loc, destination);
  SmallVector<Value> partials;
  for (int64_t offset = 0; offset < k; offset += slice) {
    int64_t size = std::min(slice, k - offset);
    Value input = sliceDim(rewriter, loc, op.getInput(), 1, offset, size);
    Value weight = sliceDim(rewriter, loc, op.getWeight(), *kDim, offset, size);
    Value zero = createZeroTensor(rewriter, loc, resultSizes,
                                  resultType.getElementType());
    Value bias = partials.empty() ? op.getBias() : Value();
    auto part =
        GroupedMatmulOp::create(rewriter, loc, resultType, input, weight,
                                op.getExpertOffsets(), bias, zero);
    part.setWeightLayoutAttr(op.getWeightLayoutAttr());
    partials.push_back(part.getResult());
  }

  MLIRContext *ctx = rewriter.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(2, ctx);
  SmallVector<AffineMap> maps(partials.size() + 1, identity);
  SmallVector<utils::IteratorType> iterators(2, utils::IteratorType::parallel);
  auto sum = linalg::GenericOp::create(
      rewriter, loc, resultType, partials, destination, maps, iterators,
      [&](OpBuilder &b, Location nested, ValueRange args) {
        Value total = addInit ? args.back() : args.front();
        for (Value part : args.drop_back().drop_front(addInit ? 0 : 1))
          total = arith::AddFOp::create(b, nested, total, part);
        linalg::YieldOp::create(b, nested, total);
      });
  rewriter.replaceOp(op, sum.getResult(0));
  if (!addInit && init.use_empty())
    rewriter.eraseOp(init.getDefiningOp());
  return sum.getResult(0);
}

namespace {

struct MoESplitGroupedMatmulKPass
    : moe::impl::MoESplitGroupedMatmulKPassBase<MoESplitGroupedMatmulKPass> {
  using MoESplitGroupedMatmulKPassBase::MoESplitGroupedMatmulKPassBase;

  void runOnOperation() override {
    // A function with options of its own for this pass (a layer's version
    // for few tokens) is split with those.
    if (failed(runFunctionsWithOwnOptions(
            getOperation(), getArgument(),
            [] { return std::make_unique<MoESplitGroupedMatmulKPass>(); },
            [&](OpPassManager &pm, Operation *function) {
              return runPipeline(pm, function);
            })))
      return signalPassFailure();

    // The parts are grouped matmuls too: collect the matmuls first, so
    // that each is split once.
    SmallVector<GroupedMatmulOp> matmuls;
    getOperation()->walk([&](GroupedMatmulOp op) {
      if (getFunctionPassOptions(op, getArgument()))
        return;
      int64_t k = reductionSize(op);
      if (!ShapedType::isDynamic(k) && k >= minK)
        matmuls.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (GroupedMatmulOp op : matmuls)
      (void)splitGroupedMatmulReduction(rewriter, op, parts, kMultiple);
  }
};

} // namespace

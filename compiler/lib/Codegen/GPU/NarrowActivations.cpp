//===- NarrowActivations.cpp - Permuted rows in the operand type -*- C++ -*-=//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-gpu-narrow-activations: a permute or a gated
// matmul whose rows only tensor-core matmuls read writes them rounded to the
// matmuls' operand type (see the pass description).
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/GPU/Passes.h"
#include "moe/Codegen/GPU/TensorCores.h"
#include "moe/Dialect/MoE/IR/MoEOps.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEGPUNARROWACTIVATIONSPASS
#include "moe/Codegen/GPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// The element type of `weight` where it is a tensor-core operand that A
/// can be narrowed to: BF16 or F16, in the nn.Linear `layout`; null
/// otherwise.
Type getNarrowWeightType(Value weight, WeightLayout layout) {
  Type element = getElementTypeOrSelf(weight.getType());
  if (layout != WeightLayout::nk || !(element.isBF16() || element.isF16()))
    return Type();
  return element;
}

/// The 16-bit float type of the weights of the matmul that reads `use` as
/// its input, over `offsets`' segments in the nn.Linear layout; null for
/// any other use.
Type getNarrowOperandType(OpOperand &use, Value offsets) {
  Operation *user = use.getOwner();
  Type weight;
  if (auto matmul = dyn_cast<GroupedMatmulOp>(user)) {
    if (&use != &matmul.getInputMutable() ||
        matmul.getExpertOffsets() != offsets)
      return Type();
    weight = getNarrowWeightType(matmul.getWeight(), matmul.getWeightLayout());
  } else if (auto gated = dyn_cast<GroupedGatedMatmulOp>(user)) {
    // With token ids the input is token rows, not these.
    if (&use != &gated.getInputMutable() || gated.getTokenIds() ||
        gated.getExpertOffsets() != offsets)
      return Type();
    weight =
        getNarrowWeightType(gated.getGateWeight(), gated.getWeightLayout());
  } else {
    return Type();
  }
  // Tensor cores accumulate into f32 (getTensorCoreOperandType); another
  // accumulator would take an FFMA kernel, on rounded rows. A gated
  // matmul's narrowed result (this pass's) still accumulates in f32.
  Type result = getElementTypeOrSelf(user->getResult(0).getType());
  if (!result.isF32() &&
      !(isa<GroupedGatedMatmulOp>(user) && result.getIntOrFloatBitWidth() < 32))
    return Type();
  return weight;
}

/// The type f32 `rows` (over `offsets`' segments) can narrow to: the one
/// operand type of all of their readers; null where there is none. Rows
/// of a width that 16-byte pieces do not divide stay f32: their tiles load
/// them element by element either way, which narrowing does not help (and
/// on sm_90a cost a ragged test layer's kernel a spill).
Type getNarrowRowType(Value rows, Value offsets) {
  auto type = cast<RankedTensorType>(rows.getType());
  if (!type.getElementType().isF32() || rows.use_empty() ||
      ShapedType::isDynamic(type.getDimSize(1)) ||
      type.getDimSize(1) % kSixteenBitPieceWidth != 0)
    return Type();
  Type narrow;
  auto takeType = [&](Type type) {
    if (!type || (narrow && type != narrow))
      return false;
    narrow = type;
    return true;
  };
  for (OpOperand &use : rows.getUses()) {
    // Sizes do not read the elements.
    if (isa<tensor::DimOp>(use.getOwner()))
      continue;
    // moe-split-grouped-matmul-k's parts read slices of K: each slice's
    // readers count.
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(use.getOwner())) {
      if (!slice.hasUnitStride() || slice.getResultType().getRank() != 2 ||
          slice.getResult().use_empty())
        return Type();
      for (OpOperand &sliceUse : slice.getResult().getUses())
        if (!takeType(getNarrowOperandType(sliceUse, offsets)))
          return Type();
      continue;
    }
    if (!takeType(getNarrowOperandType(use, offsets)))
      return Type();
  }
  return narrow;
}

/// The slices of `rows` (getNarrowRowType's) take its narrowed element
/// type.
void narrowSlices(Value rows) {
  Type element = getElementTypeOrSelf(rows.getType());
  for (Operation *user : rows.getUsers())
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(user))
      slice.getResult().setType(slice.getResultType().clone(element));
}

/// A fresh tensor of `like`'s shape and `element`s.
Value createEmptyLike(OpBuilder &b, Location loc, Value like, Type element) {
  return tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, like),
                                 element);
}

struct MoEGPUNarrowActivationsPass
    : moe::impl::MoEGPUNarrowActivationsPassBase<MoEGPUNarrowActivationsPass> {
  void runOnOperation() override {
    SmallVector<Operation *> producers;
    getOperation().walk([&](Operation *op) {
      if (isa<PermuteOp, GroupedGatedMatmulOp>(op))
        producers.push_back(op);
    });
    // Rows past the segments keep what `init` held, but no reader uses
    // them (each reads its segments only; A's TMA boxes, tma-activations,
    // may load rows past a segment, which reach only accumulator rows that
    // are never stored): a fresh buffer will do.
    for (Operation *producer : producers) {
      OpBuilder b(producer);
      Location loc = producer->getLoc();
      if (auto permute = dyn_cast<PermuteOp>(producer)) {
        Type narrow =
            getNarrowRowType(permute.getResult(), permute.getExpertOffsets());
        if (!narrow)
          continue;
        Value empty = createEmptyLike(b, loc, permute.getInit(), narrow);
        auto narrowed = PermuteOp::create(
            b, loc, empty.getType(), permute.getInput(), permute.getTokenIds(),
            permute.getExpertOffsets(), empty);
        narrowed->setDiscardableAttrs(permute->getDiscardableAttrDictionary());
        permute.getResult().replaceAllUsesWith(narrowed.getResult());
        permute.erase();
        narrowSlices(narrowed.getResult());
        continue;
      }
      // A gated matmul's rows (the down projection's input), where it runs
      // on tensor cores itself: rounded as its epilogue stores them.
      auto gated = cast<GroupedGatedMatmulOp>(producer);
      Type narrow =
          getNarrowRowType(gated.getResult(), gated.getExpertOffsets());
      if (!narrow ||
          !getNarrowWeightType(gated.getGateWeight(), gated.getWeightLayout()))
        continue;
      Value empty = createEmptyLike(b, loc, gated.getInit(), narrow);
      gated.getInitMutable().assign(empty);
      gated.getResult().setType(cast<RankedTensorType>(empty.getType()));
      narrowSlices(gated.getResult());
    }
  }
};

} // namespace

//===- BF16Dot.cpp - bf16 activations for bf16 expert weights ---*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-cpu-bf16-dot: expert matmuls whose weights are
// bf16 take bf16-rounded activations, and where the shapes allow, weights in
// the pair layout of AVX-512 BF16's `vdpbf16ps` (see the pass description).
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/CPU/Passes.h"
#include "moe/Codegen/Common/Parameters.h"
#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/TensorUtils.h"

#include "llvm/ADT/SetVector.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOECPUBF16DOTPASS
#include "moe/Codegen/CPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// Whether `use` is the weight, in the nn.Linear layout [E, N, K], of a
/// grouped matmul, or the gate or up weight of a gated one, whose input is
/// f32.
bool isF32InputWeightUse(OpOperand &use) {
  Operation *owner = use.getOwner();
  auto f32Input = [](Value input) {
    return cast<ShapedType>(input.getType()).getElementType().isF32();
  };
  if (auto matmul = dyn_cast<GroupedMatmulOp>(owner))
    return matmul.getWeightLayout() == WeightLayout::nk &&
           &use == &matmul.getWeightMutable() && f32Input(matmul.getInput());
  if (auto gated = dyn_cast<GroupedGatedMatmulOp>(owner))
    return gated.getWeightLayout() == WeightLayout::nk &&
           (&use == &gated.getGateWeightMutable() ||
            &use == &gated.getUpWeightMutable()) &&
           f32Input(gated.getInput());
  return false;
}

/// Whether `weight` is a bf16 weight parameter [E, N, K] used only as
/// such a weight.
bool isBF16ExpertWeight(BlockArgument weight) {
  auto type = dyn_cast<RankedTensorType>(weight.getType());
  return type && type.getRank() == 3 && type.hasStaticShape() &&
         type.getElementType().isBF16() && !modelParameters(weight).empty() &&
         llvm::all_of(weight.getUses(), isF32InputWeightUse);
}

/// The weights of `func` that take the pair layout: bf16 expert weights,
/// less those of a gated matmul whose other weight does not (both of its
/// weights change layout, or neither).
SetVector<BlockArgument> bf16ExpertWeights(func::FuncOp func) {
  SetVector<BlockArgument> weights;
  for (BlockArgument argument : func.getArguments())
    if (isBF16ExpertWeight(argument))
      weights.insert(argument);
  // Whether a gated matmul that uses `weight` keeps its other weight in
  // the nn.Linear layout.
  auto hasUnpairedPartner = [&](BlockArgument weight) {
    return llvm::any_of(weight.getUsers(), [&](Operation *user) {
      auto gated = dyn_cast<GroupedGatedMatmulOp>(user);
      if (!gated)
        return false;
      return llvm::any_of(
          ValueRange{gated.getGateWeight(), gated.getUpWeight()},
          [&](Value other) {
            auto argument = dyn_cast<BlockArgument>(other);
            return !argument || !weights.contains(argument);
          });
    });
  };
  // Dropping a weight can leave its gated matmul's other weight unpaired.
  for (bool changed = true; changed;) {
    changed = false;
    for (BlockArgument weight : llvm::to_vector(weights)) {
      if (hasUnpairedPartner(weight)) {
        weights.remove(weight);
        changed = true;
      }
    }
  }
  return weights;
}

/// `input` rounded to bf16 (to nearest even): as bf16, or with `widen` as
/// the f32 values of those bf16 numbers.
Value roundToBF16(OpBuilder &b, Location loc, Value input, bool widen) {
  Type bf16 = b.getBF16Type(), f32 = b.getF32Type();
  return buildElementwise(
      b, loc, input,
      [&](OpBuilder &nb, Location nloc, ValueRange args) -> Value {
        Value rounded = arith::TruncFOp::create(nb, nloc, bf16, args[0]);
        return widen ? arith::ExtFOp::create(nb, nloc, f32, rounded)
                     : rounded;
      },
      widen ? f32 : bf16);
}

struct MoECPUBF16DotPass
    : moe::impl::MoECPUBF16DotPassBase<MoECPUBF16DotPass> {
  using MoECPUBF16DotPassBase::MoECPUBF16DotPassBase;

  void runOnOperation() override {
    for (func::FuncOp func : parameterFunctions(getOperation()))
      runOnFunction(func);
  }

  void runOnFunction(func::FuncOp func) {
    OpBuilder b(&getContext());
    // One rounding per input value: gate and up share theirs.
    // Keyed by the input and whether it is widened back to f32.
    DenseMap<std::pair<Value, unsigned>, Value> rounded;
    // A gated matmul is reached through both of its weights.
    DenseSet<Operation *> done;
    for (BlockArgument weight : bf16ExpertWeights(func)) {
      auto type = cast<RankedTensorType>(weight.getType());
      int64_t e = type.getDimSize(0), n = type.getDimSize(1),
              k = type.getDimSize(2);
      // At least two pairs: the kernel schedule tiles K/2.
      bool pairs = k % 2 == 0 && k > 2 && n % kBF16DotLanes == 0;
      // Panels of whole dot-product vectors, at most panel-width wide (one
      // vector at least).
      int64_t panelVectors = std::max<int64_t>(panelWidth / kBF16DotLanes, 1);
      int64_t panel = kBF16DotLanes *
                      largestDivisorAtMost(n / kBF16DotLanes, panelVectors);
      for (Operation *user : weight.getUsers()) {
        if (!done.insert(user).second)
          continue;
        OpOperand &inputOperand =
            isa<GroupedMatmulOp>(user)
                ? cast<GroupedMatmulOp>(user).getInputMutable()
                : cast<GroupedGatedMatmulOp>(user).getInputMutable();
        Value input = inputOperand.get();
        Value &inputRounded = rounded[{input, pairs ? 0u : 1u}];
        if (!inputRounded) {
          b.setInsertionPointAfterValue(input);
          inputRounded = roundToBF16(b, user->getLoc(), input, !pairs);
        }
        inputOperand.assign(inputRounded);
        if (!pairs)
          continue;
        if (auto matmul = dyn_cast<GroupedMatmulOp>(user))
          matmul.setWeightLayout(WeightLayout::pair_panels);
        else
          cast<GroupedGatedMatmulOp>(user).setWeightLayout(
              WeightLayout::pair_panels);
      }
      if (!pairs)
        continue;
      // prepared[e][n/P][k/2][n%P][k%2] = raw[e][n][k]: the raw [E, N, K]
      // arena viewed as [E, N/P, P, K/2, 2], permuted.
      redeclareParameter(
          weight,
          RankedTensorType::get({e, n / panel, k / 2, panel, 2},
                                type.getElementType()),
          {0, 1, 3, 2, 4});
    }
  }
};

} // namespace

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

#include "moe/Codegen/CPU/Parameters.h"
#include "moe/Codegen/CPU/Passes.h"
#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/TensorUtils.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOECPUBF16DOTPASS
#include "moe/Codegen/CPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// The grouped matmuls that use `weight`, a bf16 weight parameter in the
/// nn.Linear layout [E, N, K]; empty when it has another use.
SmallVector<GroupedMatmulOp> bf16WeightUsers(BlockArgument weight) {
  auto type = dyn_cast<RankedTensorType>(weight.getType());
  if (!type || type.getRank() != 3 || !type.hasStaticShape() ||
      !type.getElementType().isBF16() || modelParameters(weight).empty())
    return {};
  SmallVector<GroupedMatmulOp> users;
  for (OpOperand &use : weight.getUses()) {
    auto matmul = dyn_cast<GroupedMatmulOp>(use.getOwner());
    if (!matmul || matmul.getWeightLayout() != WeightLayout::nk ||
        use.getOperandNumber() !=
            matmul.getWeightMutable().getOperandNumber() ||
        !cast<ShapedType>(matmul.getInput().getType())
             .getElementType()
             .isF32())
      return {};
    users.push_back(matmul);
  }
  return users;
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
    for (BlockArgument weight : func.getArguments()) {
      SmallVector<GroupedMatmulOp> users = bf16WeightUsers(weight);
      if (users.empty())
        continue;
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
      for (GroupedMatmulOp matmul : users) {
        Value input = matmul.getInput();
        Value &inputRounded = rounded[{input, pairs ? 0u : 1u}];
        if (!inputRounded) {
          b.setInsertionPointAfterValue(input);
          inputRounded = roundToBF16(b, matmul.getLoc(), input, !pairs);
        }
        matmul.getInputMutable().assign(inputRounded);
        if (pairs)
          matmul.setWeightLayout(WeightLayout::pair_panels);
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

//===- PrepareExpertWeights.cpp - Load-time expert weight layout -*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-cpu-prepare-expert-weights: expert weights that
// only feed grouped matmuls (plain or gated; a gated matmul's two weights
// together) are re-declared as panels [E, N/P, K, P] so the
// CPU kernel streams each panel's rows one after another; the re-layout
// itself runs once, at load time, in the `moe_prepare` entry point.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/CPU/Passes.h"
#include "moe/Codegen/Common/Parameters.h"
#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/TensorUtils.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOECPUPREPAREEXPERTWEIGHTSPASS
#include "moe/Codegen/CPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// Whether every use of `weight` is as the [E, D] weight of a router (plain
/// or fused with its top-k).
bool onlyFeedsRouters(BlockArgument weight) {
  if (weight.use_empty())
    return false;
  for (OpOperand &use : weight.getUses()) {
    Operation *owner = use.getOwner();
    if (auto router = dyn_cast<RouterOp>(owner)) {
      if (router.getWeightLayout() != WeightLayout::nk ||
          &use != &router.getWeightMutable())
        return false;
    } else if (auto fused = dyn_cast<RouterTopKOp>(owner)) {
      if (fused.getWeightLayout() != WeightLayout::nk ||
          &use != &fused.getWeightMutable())
        return false;
    } else {
      return false;
    }
  }
  return true;
}

/// Whether `use` is the [N, K] weight of a dense `init + lhs rhs^T`
/// contraction as `buildMatmulTransposedRhs` builds it (the shared experts'
/// sigmoid gate; linear nodes and the shared experts' projections are
/// grouped matmuls over one expert).
bool isDenseMatmulWeight(OpOperand &use) {
  auto generic = dyn_cast<linalg::GenericOp>(use.getOwner());
  return generic && generic.getNumDpsInputs() == 2 &&
         generic.getNumDpsInits() == 1 && use.getOperandNumber() == 1 &&
         generic.getIndexingMapsArray() ==
             getMatmulTransposedRhsIndexingMaps(generic.getContext()) &&
         generic.getIteratorTypesArray() ==
             SmallVector<utils::IteratorType>{utils::IteratorType::parallel,
                                              utils::IteratorType::parallel,
                                              utils::IteratorType::reduction} &&
         generic.getBody()->getOps<linalg::IndexOp>().empty();
}

/// The grouped matmul `use` is the [E, N, K] weight of, in the raw layout;
/// null for any other use. For a gated matmul, `partner` is set to its
/// other weight, which must take the same layout.
Operation *groupedWeightUser(OpOperand &use, Value &partner) {
  partner = {};
  Operation *owner = use.getOwner();
  if (auto matmul = dyn_cast<GroupedMatmulOp>(owner))
    return matmul.getWeightLayout() == WeightLayout::nk &&
                   &use == &matmul.getWeightMutable()
               ? owner
               : nullptr;
  auto gated = dyn_cast<GroupedGatedMatmulOp>(owner);
  if (!gated || gated.getWeightLayout() != WeightLayout::nk)
    return nullptr;
  if (&use == &gated.getGateWeightMutable())
    partner = gated.getUpWeight();
  else if (&use == &gated.getUpWeightMutable())
    partner = gated.getGateWeight();
  else
    return nullptr;
  return owner;
}

/// The parameters of `func` to lay out as expert panels: static [E, N, K]
/// parameters used only as grouped matmul weights, whose gated matmuls'
/// other weights are laid out too (one layout flag covers both).
llvm::SmallDenseSet<BlockArgument> findExpertWeights(func::FuncOp func) {
  llvm::SmallDenseSet<BlockArgument> weights;
  for (BlockArgument arg : func.getArguments()) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type || type.getRank() != 3 || !type.hasStaticShape() ||
        arg.use_empty() || modelParameters(arg).empty())
      continue;
    Value partner;
    if (llvm::all_of(arg.getUses(), [&](OpOperand &use) {
          return groupedWeightUser(use, partner) != nullptr;
        }))
      weights.insert(arg);
  }
  // Drop weights whose partner stays raw, until none is left to drop.
  bool changed = true;
  while (changed) {
    changed = false;
    for (BlockArgument arg : llvm::to_vector(weights)) {
      bool partnersStay = llvm::all_of(arg.getUses(), [&](OpOperand &use) {
        Value partner;
        groupedWeightUser(use, partner);
        auto partnerArg = dyn_cast_or_null<BlockArgument>(partner);
        return !partner || (partnerArg && weights.contains(partnerArg));
      });
      if (!partnersStay) {
        weights.erase(arg);
        changed = true;
      }
    }
  }
  return weights;
}

struct MoECPUPrepareExpertWeightsPass
    : moe::impl::MoECPUPrepareExpertWeightsPassBase<
          MoECPUPrepareExpertWeightsPass> {
  using MoECPUPrepareExpertWeightsPassBase::MoECPUPrepareExpertWeightsPassBase;

  void runOnOperation() override {
    for (func::FuncOp func : parameterFunctions(getOperation()))
      prepare(func);
  }

  void prepare(func::FuncOp func) {
    Builder b(&getContext());
    llvm::SmallDenseSet<BlockArgument> expertWeights = findExpertWeights(func);
    for (BlockArgument arg : func.getArguments()) {
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      bool unprepared2D = type && type.getRank() == 2 &&
                          type.hasStaticShape() && !arg.use_empty() &&
                          !modelParameters(arg).empty();
      // Re-declares the 2-D weight `arg` transposed, laid out at load time.
      auto transpose = [&] {
        redeclareParameter(
            arg,
            RankedTensorType::get({type.getDimSize(1), type.getDimSize(0)},
                                  type.getElementType()),
            {1, 0});
      };
      // A dense matmul's weight [N, K] becomes [K, N], and the matmul
      // iterates (m, k, n): its innermost loop runs along contiguous
      // rows of the weight and the result, which LLVM vectorizes.
      if (unprepared2D && llvm::all_of(arg.getUses(), isDenseMatmulWeight)) {
        transpose();
        auto iterator = [&](utils::IteratorType kind) -> Attribute {
          return linalg::IteratorTypeAttr::get(&getContext(), kind);
        };
        for (Operation *user : arg.getUsers()) {
          auto generic = cast<linalg::GenericOp>(user);
          generic.setIndexingMapsAttr(b.getAffineMapArrayAttr(
              getMatmulInnerNIndexingMaps(&getContext())));
          generic.setIteratorTypesAttr(
              b.getArrayAttr({iterator(utils::IteratorType::parallel),
                              iterator(utils::IteratorType::reduction),
                              iterator(utils::IteratorType::parallel)}));
        }
        continue;
      }
      // A router weight [E, D] becomes [D, E]: the E logits of a token
      // then accumulate along contiguous rows, in vector registers.
      if (unprepared2D && onlyFeedsRouters(arg)) {
        transpose();
        for (Operation *user : arg.getUsers()) {
          if (auto router = dyn_cast<RouterOp>(user))
            router.setWeightLayout(WeightLayout::kn);
          else
            cast<RouterTopKOp>(user).setWeightLayout(WeightLayout::kn);
        }
        continue;
      }
      if (!expertWeights.contains(arg))
        continue;
      // prepared[e][n/P][k][n%P] = raw[e][n][k]: the raw [E, N, K] arena
      // viewed as [E, N/P, P, K], permuted. Without a panel wider than one
      // column (N prime and above panel-width), [E, K, N] rows instead.
      int64_t e = type.getDimSize(0), n = type.getDimSize(1),
              k = type.getDimSize(2);
      int64_t panel = largestDivisorAtMost(n, std::max<int64_t>(panelWidth, 1));
      bool panels = panel > 1 || n == 1;
      if (panels)
        redeclareParameter(arg,
                           RankedTensorType::get({e, n / panel, k, panel},
                                                 type.getElementType()),
                           {0, 1, 3, 2});
      else
        redeclareParameter(
            arg, RankedTensorType::get({e, k, n}, type.getElementType()),
            {0, 2, 1});
      WeightLayout layout = panels ? WeightLayout::panels : WeightLayout::kn;
      for (Operation *user : arg.getUsers()) {
        if (auto matmul = dyn_cast<GroupedMatmulOp>(user))
          matmul.setWeightLayout(layout);
        else
          cast<GroupedGatedMatmulOp>(user).setWeightLayout(layout);
      }
    }
  }
};

} // namespace

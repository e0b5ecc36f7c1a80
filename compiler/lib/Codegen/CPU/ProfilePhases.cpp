//===- ProfilePhases.cpp - Calls marking the forward pass's steps --------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-cpu-profile-phases: each MoE step op of the model
// function or an outlined layer is bracketed by calls to the runtime's
// `moe_profile_phase` hook, so that the executable's --profile can time the
// forward pass by phase.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/CPU/Passes.h"
#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Runtime/ProfilePhases.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOECPUPROFILEPHASESPASS
#include "moe/Codegen/CPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;
using ::moe::ProfilePhase;

namespace {

/// The phase `op` belongs to, if it is a MoE step.
std::optional<ProfilePhase> phaseOf(Operation *op) {
  return TypeSwitch<Operation *, std::optional<ProfilePhase>>(op)
      .Case([](RouterOp) { return ProfilePhase::Router; })
      .Case([](TopKOp) { return ProfilePhase::TopK; })
      .Case([](RouterTopKOp) { return ProfilePhase::RouterTopK; })
      .Case([](DispatchOp) { return ProfilePhase::Dispatch; })
      .Case([](PermuteOp) { return ProfilePhase::Permute; })
      .Case([](GroupedGatedMatmulOp) { return ProfilePhase::GateUp; })
      .Case([](GatedActivationOp) { return ProfilePhase::Activation; })
      .Case([](GroupedMatmulOp matmul) {
        return matmul.hasCombine() ? ProfilePhase::MatmulCombine
                                   : ProfilePhase::Matmul;
      })
      .Case([](CombineOp) { return ProfilePhase::Combine; })
      .Default([](Operation *) { return std::nullopt; });
}

struct MoECPUProfilePhasesPass
    : mlir::moe::impl::MoECPUProfilePhasesPassBase<MoECPUProfilePhasesPass> {
  using MoECPUProfilePhasesPassBase::MoECPUProfilePhasesPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<Operation *, ProfilePhase>> steps;
    for (auto func : module.getOps<func::FuncOp>()) {
      // The model function and its outlined layers.
      if (func.isExternal())
        continue;
      // Steps at the function's top level only: a step inside a loop would
      // be timed once per iteration.
      for (Operation &op : func.getBody().front())
        if (std::optional<ProfilePhase> phase = phaseOf(&op))
          steps.push_back({&op, *phase});
    }
    if (steps.empty())
      return;
    OpBuilder b(&getContext());
    Type i32 = b.getI32Type();
    auto hookType = b.getFunctionType({i32, i32}, {});
    auto hook = module.lookupSymbol<func::FuncOp>(::moe::kProfileHookName);
    if (!hook) {
      b.setInsertionPointToEnd(module.getBody());
      hook = func::FuncOp::create(b, module.getLoc(), ::moe::kProfileHookName,
                                  hookType);
      hook.setPrivate();
    } else if (hook.getFunctionType() != hookType) {
      hook.emitError() << "'" << ::moe::kProfileHookName
                       << "' must have type " << hookType;
      return signalPassFailure();
    }
    auto mark = [&](Location loc, ProfilePhase phase, bool begin) {
      Value phaseValue = arith::ConstantOp::create(
          b, loc, b.getI32IntegerAttr(static_cast<int32_t>(phase)));
      Value beginValue =
          arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(begin));
      func::CallOp::create(b, loc, hook, ValueRange{phaseValue, beginValue});
    };
    for (auto [op, phase] : steps) {
      b.setInsertionPoint(op);
      mark(op->getLoc(), phase, /*begin=*/true);
      b.setInsertionPointAfter(op);
      mark(op->getLoc(), phase, /*begin=*/false);
    }
  }
};

} // namespace

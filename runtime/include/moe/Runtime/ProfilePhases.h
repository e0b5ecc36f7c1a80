//===- ProfilePhases.h - Phases of the forward pass for --profile -*- C++ -*-//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The compiled `moe_forward` calls `moe_profile_phase(phase, begin)` before
// and after each step of a MoE layer (see docs/abi.md); the executable's
// --profile adds up the time between the two. Compiler and runtime share
// this table.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_RUNTIME_PROFILEPHASES_H
#define MOE_RUNTIME_PROFILEPHASES_H

#include "moe/ABI/ABI.h"

#include <cstdint>

namespace moe {

/// The symbol of the hook: `void moe_profile_phase(int32_t phase,
/// int32_t begin)`, `begin` 1 before the step and 0 after it.
constexpr const char kProfileHookName[] = MOE_ABI_PROFILE_PHASE_NAME;

/// The steps of a MoE layer, as the hook's `phase` numbers them.
enum class ProfilePhase : int32_t {
  Router = 0,    // moe.router: logits and scores
  TopK,          // moe.top_k
  Dispatch,      // moe.dispatch: the counting sort into expert segments
  Permute,       // moe.permute: token rows into expert order
  GateUp,        // moe.grouped_gated_matmul: gate, up and activation
  Activation,    // moe.gated_activation (unfused)
  Matmul,        // moe.grouped_matmul: down, unfused gate/up, linear nodes
  Combine,       // moe.combine: weighted scatter back to token order
  RouterTopK,    // moe.router_top_k: router and top-k fused
  MatmulCombine, // moe.grouped_matmul with combine: down and combine fused
};
constexpr int kNumProfilePhases = 10;

/// The phases' names, as --profile prints them.
constexpr const char *kProfilePhaseNames[kNumProfilePhases] = {
    "router",     "top_k",  "dispatch", "permute",      "gate_up",
    "activation", "matmul", "combine",  "router_top_k", "matmul_combine"};

} // namespace moe

#endif // MOE_RUNTIME_PROFILEPHASES_H

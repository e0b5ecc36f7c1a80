//===- Passes.h - MoE dialect transformation passes -------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file declares the MoE transformation passes and the pattern
// populating functions they drive.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_TRANSFORMS_PASSES_H
#define MOE_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Pass/Pass.h"

#include "moe/Dialect/MoE/IR/MoEOps.h"

namespace mlir {
class RewritePatternSet;
class RewriterBase;

namespace moe {

#define GEN_PASS_DECL
#include "moe/Transforms/Passes.h.inc"

/// The values of a `moe.layer` expanded into its steps.
struct LayerSteps {
  /// Router scores [T, E].
  Value scores;
  /// Routing weights and expert indices [T, k].
  Value weights, indices;
  /// Assignments each expert keeps, after capacity [E] (i32).
  Value expertCounts;
  /// The layer's result.
  Value result;
};

/// Builds the steps of `op` (router, top-k, dispatch, permute, expert FFN,
/// combine) before it and returns their values; `op` itself stays. With
/// `segmentAlignment` B > 1, each expert's segment of rows is padded to a
/// multiple of B (`moe.dispatch`'s `segment_alignment`).
LayerSteps buildLayerSteps(OpBuilder &builder, LayerOp op,
                           int64_t segmentAlignment = 1);

/// Adds the pattern that expands `moe.layer` into router, top-k, dispatch,
/// permute, expert FFN and combine ops, segments aligned to
/// `segmentAlignment` rows.
void populateMoEDecomposeLayerPatterns(RewritePatternSet &patterns,
                                       int64_t segmentAlignment = 1);

/// Adds the pattern that folds a layer's separate shared FFN into the
/// layer as its shared experts.
void populateMoEFuseSharedExpertsPatterns(RewritePatternSet &patterns);

/// Adds the pattern that fuses `moe.top_k` with the `moe.router` whose
/// scores only it reads into `moe.router_top_k`.
void populateMoEFuseRouterPatterns(RewritePatternSet &patterns);

/// Adds the pattern that rewrites `moe.expert_ffn` into `moe.grouped_matmul`
/// ops and an elementwise activation.
void populateMoEDecomposeExpertFFNPatterns(RewritePatternSet &patterns);

/// Adds the pattern that fuses `moe.gated_activation` of the gate and up
/// grouped matmuls into `moe.grouped_gated_matmul`.
void populateMoEFuseGateUpPatterns(RewritePatternSet &patterns);

/// Adds the pattern of --moe-fuse-gather: a grouped gated matmul reads
/// `moe.permute`'s rows through its token ids.
void populateMoEFuseGatherPatterns(RewritePatternSet &patterns);

/// Populates the pattern of moe-fuse-combine: a combine folded into the
/// grouped matmul whose rows it adds.
void populateMoEFuseCombinePatterns(RewritePatternSet &patterns);

/// Splits the reduction of `op` into at most `parts` independent grouped
/// matmuls over slices of K, each but the last a multiple of `kMultiple`
/// long, and an elementwise sum of their results into `op`'s destination
/// (moe-split-grouped-matmul-k). Returns the sum, or failure, with nothing
/// changed, where K is dynamic, the slices would be one, `op` combines its
/// rows, or its weight layout is not `nk` or `kn`.
FailureOr<Value> splitGroupedMatmulReduction(RewriterBase &rewriter,
                                             GroupedMatmulOp op, int64_t parts,
                                             int64_t kMultiple);

#define GEN_PASS_REGISTRATION
#include "moe/Transforms/Passes.h.inc"

} // namespace moe
} // namespace mlir

#endif // MOE_TRANSFORMS_PASSES_H

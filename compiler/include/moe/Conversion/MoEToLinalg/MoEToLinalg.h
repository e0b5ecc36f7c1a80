//===- MoEToLinalg.h - MoE step ops to linalg, scf, tensor ------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_CONVERSION_MOETOLINALG_MOETOLINALG_H
#define MOE_CONVERSION_MOETOLINALG_MOETOLINALG_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;

namespace moe {

#define GEN_PASS_DECL_CONVERTMOETOLINALGPASS
#include "moe/Conversion/Passes.h.inc"

/// Tokens a lowered `moe.router_top_k` scores at a time: each block's
/// [block, E] scores live in a scratch of their own, and blocks run in
/// parallel.
constexpr int64_t kRouterTokenBlock = 16;

/// `moe.router` to a linalg contraction and softmax or sigmoid;
/// `moe.router_top_k` to an scf.forall over blocks of tokens, each a
/// `moe.router` and a `moe.top_k` on the block's rows.
void populateMoERouterToLinalgPatterns(RewritePatternSet &patterns);

/// `moe.top_k` to a per-token partial selection in scf loops.
void populateMoETopKToSCFPatterns(RewritePatternSet &patterns);

/// `moe.dispatch`, `moe.permute` and `moe.combine`: the counting sort, the
/// gather and the scatter-add, their parallel loops where `options` (the
/// pass's `dispatch-chunk-tokens`, `permute-row-block`,
/// `combine-token-block` and `block-column-chunks`) put them; the defaults
/// are the CPU's layout.
void populateMoERoutingDataToSCFPatterns(
    RewritePatternSet &patterns,
    const ConvertMoEToLinalgPassOptions &options = {});

/// `moe.grouped_matmul` to one linalg contraction per expert segment,
/// `moe.grouped_gated_matmul` to two and their epilogue per segment, and
/// `moe.gated_activation` to an elementwise `linalg.generic`.
void populateMoEGroupedMatmulToLinalgPatterns(RewritePatternSet &patterns);

/// `moe.segment_combine` (what a combining `moe.grouped_matmul` lowers its
/// epilogue to, for targets to tile) to a loop over its rows. Not part of
/// the conversion: targets run it after tiling.
void populateMoESegmentCombineToSCFPatterns(RewritePatternSet &patterns);

/// All of the above but populateMoESegmentCombineToSCFPatterns.
void populateMoEToLinalgConversionPatterns(
    RewritePatternSet &patterns,
    const ConvertMoEToLinalgPassOptions &options = {});

} // namespace moe
} // namespace mlir

#endif // MOE_CONVERSION_MOETOLINALG_MOETOLINALG_H

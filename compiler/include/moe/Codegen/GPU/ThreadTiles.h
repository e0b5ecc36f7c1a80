//===- ThreadTiles.h - Linalg iterations over GPU threads -------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// How moe-gpu-distribute spreads a linalg op on buffers (a router's logits,
// a softmax, a fill, an elementwise epilogue) over a block's threads:
// cyclically, so that the lanes of a warp touch consecutive elements
// (coalesced), over as many of its parallel loops as the threads fill; and
// how a thread then runs a reduction with its accumulator in a register
// rather than in memory.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_CODEGEN_GPU_THREADTILES_H
#define MOE_CODEGEN_GPU_THREADTILES_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace moe {

/// The largest value `size` can take, when a constant bounds it (a constant,
/// a min with one, or what the value-bounds analysis proves).
FailureOr<int64_t> constantUpperBound(Value size);

/// Replaces `op` by an `scf.forall` over at most `threads` iterations mapped
/// to `mapping`, in which iteration t runs `op` on strided views: its
/// parallel loops, innermost first, take as many threads as their (bounded)
/// trip counts fill, and thread c of the n on a loop takes its iterations
/// c, c + n, c + 2n, ... Consecutive threads take consecutive iterations of
/// the innermost loop. Fails, leaving `op` as it was (and at most unused
/// size queries before it), when an operand indexes a loop it would split
/// other than by the loop itself, an output does not index one, or the
/// body reads `linalg.index`.
FailureOr<scf::ForallOp> tileCyclicallyOverThreads(RewriterBase &rewriter,
                                                   linalg::LinalgOp op,
                                                   int64_t threads,
                                                   Attribute mapping);

/// Replaces `op`, a `linalg.generic` on buffers with reduction loops and one
/// output that no input shares a buffer with, by loops whose innermost ones
/// (the reductions) carry the accumulator as a loop value: one load and one
/// store of each output element, not one per term. Each element adds its
/// terms in the order `op`'s loops do. Fails, changing nothing, otherwise.
LogicalResult accumulateInRegisters(RewriterBase &rewriter,
                                    linalg::GenericOp op);

} // namespace moe
} // namespace mlir

#endif // MOE_CODEGEN_GPU_THREADTILES_H

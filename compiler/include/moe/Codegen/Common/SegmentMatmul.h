//===- SegmentMatmul.h - A lowered grouped matmul's kernels -----*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// `--convert-moe-to-linalg` lowers each expert segment of a grouped matmul
// to a `linalg.generic` contraction tagged `moe.segment_matmul` (and, for a
// gated one, an epilogue tagged `moe.segment_epilogue`). Every target's
// kernel schedule starts by recognising these forms; the matchers live
// here so that each target sees the same forms.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_CODEGEN_COMMON_SEGMENTMATMUL_H
#define MOE_CODEGEN_COMMON_SEGMENTMATMUL_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace mlir {
namespace moe {

/// The weight's type when `op` is a tagged segment matmul (A, W -> C) with
/// indexing maps `maps` and a static weight; null otherwise.
ShapedType staticSegmentMatmulWeight(linalg::GenericOp op,
                                     ArrayRef<AffineMap> maps);

/// Whether `op` is the segment matmul C[m, n] += A[m, k] W[k, n] with a
/// static weight, K and N more than 1 (unit extents would fold a tiled
/// loop away). Sets N and K.
bool isKNSegmentMatmul(linalg::GenericOp op, int64_t &n, int64_t &k);

/// Whether `op` is the panel form C[m, b, n] += A[m, k] W[b, k, n] of a
/// segment matmul (b over panels of the weight's columns), with a static
/// weight, K more than 1 and panels of more than one column. Sets K.
bool isPanelSegmentMatmul(linalg::GenericOp op, int64_t &k);

/// Whether `op` is the pair-layout form C[m, b, n] += A[m, k, p]
/// W[b, k, n, p] of a segment matmul (b over panels of P columns, n in a
/// panel, k over K/2 pairs, p in a pair), with a static weight of more than
/// one pair. Sets the panel width P and the number of pairs.
bool isPairPanelSegmentMatmul(linalg::GenericOp op, int64_t &panelWidth,
                              int64_t &kPairs);

/// Whether `op` is a router's logits contraction (tagged `moe.router_logits`)
/// in the form C[m, n] += A[m, k] W[k, n] with the loops (m, k, n), a
/// static weight, K and N more than 1. Sets N and K.
bool isRouterLogitsMatmul(linalg::GenericOp op, int64_t &n, int64_t &k);

/// Whether `op` is the epilogue of a lowered `moe.grouped_gated_matmul`
/// whose gate and up contractions, each used by it alone, are both in the
/// panel form, both in the pair-layout form, or both C[m, n] += A[m, k]
/// W[k, n] (see above). Appends the two contractions to `producers`.
bool isGatedSegmentEpilogue(linalg::GenericOp op,
                            SmallVectorImpl<linalg::GenericOp> &producers);

} // namespace moe
} // namespace mlir

#endif // MOE_CODEGEN_COMMON_SEGMENTMATMUL_H

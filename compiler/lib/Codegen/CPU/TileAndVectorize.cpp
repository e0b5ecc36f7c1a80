//===- TileAndVectorize.cpp - CPU kernels for expert segments ---*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-cpu-tile-and-vectorize. Each expert's segment
// contraction C[m, n] += A[m, k] W[k, n] gets a transform-dialect schedule:
//
//   forall n-panel (<= 32 columns)        tile sizes divide N and K, so
//     for k-block (<= 256)                every tile is static
//       for m in 8-row tiles (peeled)     the dynamic row count
//         for k in the block: C[8x32] += A[8x1] * W[1x32]  (in registers)
//       for m in the leftover rows, one at a time: the same, C[1x32]
//
// The panels are independent, so threads share them without changing any
// result. The vectorizer's multiply-reduce becomes a vector.contract, lowered
// to outer products and then to vector.fma, whose 8 x 32 accumulator the
// loop-invariant subset hoisting keeps in registers across the k-loop.
// BF16/F16 weights: sinking the widening `arith.extf` below the broadcast
// and transposes the vectorizer puts around W, and dropping unit dims, widen
// each loaded W[1x32] once instead of once per accumulator row (or per
// element of a [32, 1] vector, which LLVM scalarizes).
//
// The epilogue of a gated matmul (moe-fuse-gate-up) is scheduled with its
// two contractions fused in, over the whole of K:
//
//   forall n-panel
//     for m in 4-row tiles (peeled; the leftover rows one at a time)
//       gate: for k: G[4x32] += A[4x1] * Wg[1x32]   (in registers)
//       up:   for k: U[4x32] += A[4x1] * Wu[1x32]   (in registers)
//       H[4x32] = act(G) * U                         (the only write)
//
// With `gated-row-block` (the CPU pipeline's default), the two contractions
// are K-blocked instead, fused into blocks of rows:
//
//   forall n-panel
//     for m in blocks of 64 rows             partial sums G, U: [64, 32],
//       G = 0, U = 0                         one buffer a thread
//       gate: for k-block: for m in 8-row tiles: G[8x32] += ...  (as above)
//       up:   for k-block: for m in 8-row tiles: U[8x32] += ...
//       for m in the block: H[1x32] = act(G) * U
//
// so a panel's weights are read once per block, not once per 4-row tile.
// A combining down projection (moe-fuse-combine) is scheduled the same way
// around its moe.segment_combine: per block of rows, the K-blocked
// contraction into the block's partial sums, then each row, scaled by its
// routing weight, added into its token's row of the panel's columns
// (SegmentCombineToSCF, after the schedule).
//
// In the pair layout of --bf16-dot each k step is a k pair, and each row
// of the tile takes one AVX-512 BF16 dot product per 16 columns, as in the
// unfused pair-layout kernel. When the gated matmul gathers its rows
// (moe-fuse-gather), the gather is fused into each k loop and unrolled to
// one scalar load a row per k step, two per pair (UnrollSegmentGather). A
// router's logits over a block of tokens (moe.router_logits) get the FMA
// kernel's register tiles on one thread.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/CPU/Passes.h"
#include "moe/Codegen/Common/SegmentMatmul.h"
#include "moe/Conversion/MoEToLinalg/MoEToLinalg.h"
#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/TensorUtils.h"

#include "mlir/Dialect/Transform/IR/TransformOps.h"
#include "mlir/Dialect/Transform/Transforms/TransformInterpreterUtils.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOECPUTILEANDVECTORIZEPASS
#include "moe/Codegen/CPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// Whether `op` is the pair-layout contraction of moe-cpu-bf16-dot
/// (isPairPanelSegmentMatmul) with panels of whole dot-product vectors.
/// Sets the panel width and the number of pairs.
bool isVnniSegmentMatmul(linalg::GenericOp op, int64_t &panelWidth,
                         int64_t &kPairs) {
  return isPairPanelSegmentMatmul(op, panelWidth, kPairs) &&
         panelWidth % kBF16DotLanes == 0;
}

/// Whether `op` is a gated segment epilogue (isGatedSegmentEpilogue) whose
/// contractions the fused schedule can vectorize. Sets `panel` to the
/// columns a thread's tile covers: one panel, or the largest divisor of N up
/// to `panelWidth`; and `pairPanel` to the width of the pair layout's
/// panels (0 for the other forms).
bool isFusableGatedEpilogue(linalg::GenericOp op, int64_t panelWidth,
                            int64_t &panel, int64_t &pairPanel,
                            SmallVectorImpl<linalg::GenericOp> &producers) {
  if (!isGatedSegmentEpilogue(op, producers))
    return false;
  int64_t n, k;
  pairPanel = 0;
  if (isPairPanelSegmentMatmul(producers[0], n, k)) {
    if (!isVnniSegmentMatmul(producers[0], pairPanel, k)) {
      producers.clear();
      return false;
    }
    panel = 1;
    return true;
  }
  panel = isKNSegmentMatmul(producers[0], n, k)
              ? largestDivisorAtMost(n, std::max<int64_t>(panelWidth, 1))
              : 1;
  return true;
}

/// "[s0, s1, ...]": tile sizes for a transform op.
std::string tileSizes(ArrayRef<int64_t> sizes) {
  std::string text = "[";
  llvm::interleave(
      sizes, [&](int64_t size) { text += std::to_string(size); },
      [&] { text += ", "; });
  return text + "]";
}

/// The start every kernel schedule shares: kernel `id` tiled into panels
/// (an scf.forall with `parallel`), then K blocks, then row tiles whose loop
/// is peeled; %k<id>_full_op and %k<id>_tail_op are the full row tiles and
/// the remainder.
std::string tileAndPeelRows(int64_t id, ArrayRef<int64_t> panel,
                            ArrayRef<int64_t> block, ArrayRef<int64_t> rows,
                            bool parallel, bool fuseFill) {
  // The zero fill of the kernel's destination (tagged moe.tile_fill) is
  // fused into the panel loop: each panel zeroes its own columns, and
  // nothing is left between the loop and the segment loop around it.
  std::string fill =
      fuseFill && parallel
          ? llvm::formatv(R"mlir(
    %k{0}_fill = transform.structured.match ops{{["linalg.fill"]}
        attributes {{moe.tile_fill = {0} : i64} in %func
        : (!transform.any_op) -> !transform.any_op
    %k{0}_fill_tile, %k{0}_ln_fused =
        transform.structured.fuse_into_containing_op %k{0}_fill into %k{0}_ln
        : (!transform.any_op, !transform.any_op)
        -> (!transform.any_op, !transform.any_op)
)mlir",
                          id)
                .str()
          : std::string();
  return llvm::formatv(R"mlir(
    %k{0} = transform.structured.match ops{{["linalg.generic"]}
        attributes {{moe.tile_target = {0} : i64} in %func
        : (!transform.any_op) -> !transform.any_op
    %k{0}_panels, %k{0}_ln = transform.structured.{4}
        %k{0} tile_sizes {1}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
{5}    %k{0}_panel, %k{0}_lk = transform.structured.tile_using_for
        %k{0}_panels tile_sizes {2}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    %k{0}_rows, %k{0}_lm = transform.structured.tile_using_for
        %k{0}_panel tile_sizes {3}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    %k{0}_lm_for = transform.cast %k{0}_lm
        : !transform.any_op to !transform.op<"scf.for">
    %k{0}_full, %k{0}_tail = transform.loop.peel %k{0}_lm_for
        : (!transform.op<"scf.for">) -> (!transform.any_op, !transform.any_op)
    %k{0}_full_op = transform.structured.match ops{{["linalg.generic"]}
        attributes {{moe.tile_target = {0} : i64} in %k{0}_full
        : (!transform.any_op) -> !transform.any_op
    %k{0}_tail_op = transform.structured.match ops{{["linalg.generic"]}
        attributes {{moe.tile_target = {0} : i64} in %k{0}_tail
        : (!transform.any_op) -> !transform.any_op
)mlir",
                       id, tileSizes(panel), tileSizes(block), tileSizes(rows),
                       parallel ? "tile_using_forall" : "tile_using_for", fill)
      .str();
}

/// CSE, then the accumulators of the k loops of handles `kLoops` hoisted
/// into registers.
std::string hoistAccumulatorsOf(ArrayRef<std::string> kLoops) {
  std::string text = "    transform.apply_cse to %func : !transform.any_op\n";
  for (const std::string &loop : kLoops)
    text += llvm::formatv(R"mlir(
    transform.loop.hoist_loop_invariant_subsets {0}
        : !transform.any_op
)mlir",
                          loop)
                .str();
  return text;
}

/// The end every kernel schedule shares: hoistAccumulatorsOf the k loops
/// <kernel>_full_lk and <kernel>_tail_lk (`kernel` is the schedule's handle
/// prefix, %k<id> or %e<id>).
std::string hoistAccumulators(const std::string &kernel) {
  return hoistAccumulatorsOf({kernel + "_full_lk", kernel + "_tail_lk"});
}

/// The vector patterns that turn vectorized rank-1 updates into FMAs on
/// register-sized vectors: multiply-reduce to vector.contract, lowered to
/// outer products and then vector.fma; widening conversions sunk below
/// broadcasts and unit dimensions dropped.
std::string contractionPatterns() {
  return R"mlir(
    transform.apply_patterns to %func {
      transform.apply_patterns.vector.reduction_to_contract
      transform.apply_patterns.vector.transfer_permutation_patterns
    } : !transform.any_op
    transform.apply_patterns to %func {
      transform.apply_patterns.vector.lower_contraction
          lowering_strategy = "outerproduct"
      transform.apply_patterns.vector.transfer_permutation_patterns
      transform.apply_patterns.vector.lower_multi_reduction
          lowering_strategy = "innerparallel"
      transform.apply_patterns.vector.lower_outerproduct
    } : !transform.any_op
    transform.apply_patterns to %func {
      transform.apply_patterns.vector.sink_ops
      transform.apply_patterns.vector.drop_unit_dims_with_shape_cast
      transform.apply_patterns.canonicalization
    } : !transform.any_op
)mlir";
}

/// The vector patterns that turn the pair layout's 1 x 16 contractions
/// (one row, one k pair, 16 columns) into AVX-512 BF16 dot products:
/// multiply-reduce to vector.contract with the bf16 extensions folded in,
/// then upstream's x86vector rewrite to `x86vector.avx512.dot`.
std::string dotProductPatterns() {
  return R"mlir(
    transform.apply_patterns to %func {
      transform.apply_patterns.vector.reduction_to_contract
      transform.apply_patterns.vector.fold_arith_extension
      transform.apply_patterns.vector.transfer_permutation_patterns
    } : !transform.any_op
    transform.apply_patterns to %func {
      transform.apply_patterns.x86vector.vector_contract_to_packed_type_dot_product
    } : !transform.any_op
    transform.apply_patterns to %func {
      transform.apply_patterns.vector.drop_unit_dims_with_shape_cast
      transform.apply_patterns.tensor.fold_tensor_subset_ops_into_vector_transfers
      transform.apply_patterns.canonicalization
    } : !transform.any_op
)mlir";
}

/// The tile sizes of an FMA kernel schedule, one per loop of the kernel.
struct FMATiles {
  SmallVector<int64_t> panel, block, rows, rank1, row;
};

/// The tiles of C[m, n] += A[m, k] W[k, n]: N panels of `nTile`, K blocks
/// of `kTile`, `rowTile` rows.
FMATiles knTiles(int64_t nTile, int64_t kTile, int64_t rowTile) {
  return {{0, nTile, 0}, {0, 0, kTile}, {rowTile, 0, 0}, {0, 0, 1},
          {1, 0, 0}};
}

/// The tiles of a router's logits C[m, n] += A[m, k] W[k, n], loops (m, k,
/// n): N panels of `nTile`, K blocks of `kTile`, `rowTile` rows.
FMATiles routerTiles(int64_t nTile, int64_t kTile, int64_t rowTile) {
  return {{0, 0, nTile}, {0, kTile, 0}, {rowTile, 0, 0}, {0, 1, 0},
          {1, 0, 0}};
}

/// The tiles of the panel form C[m, b, n] += A[m, k] W[b, k, n]: one panel
/// of the weight at a time.
FMATiles panelTiles(int64_t kTile, int64_t rowTile) {
  return {{0, 1, 0, 0}, {0, 0, 0, kTile}, {rowTile, 0, 0, 0}, {0, 0, 0, 1},
          {1, 0, 0, 0}};
}

/// The schedule of FMA kernel `id`: panels, K blocks and register rows as
/// `tiles` says; with `parallel`, the panels form an scf.forall the pipeline
/// maps to threads, and with `fuseFill` the destination's fill (tagged
/// moe.tile_fill) moves into it.
std::string kernelSchedule(int64_t id, const FMATiles &tiles, bool parallel,
                           bool fuseFill) {
  return tileAndPeelRows(id, tiles.panel, tiles.block, tiles.rows, parallel,
                         fuseFill) +
         llvm::formatv(R"mlir(
    %k{0}_full_rank1, %k{0}_full_lk = transform.structured.tile_using_for
        %k{0}_full_op tile_sizes {1}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    %k{0}_tail_row, %k{0}_tail_lm = transform.structured.tile_using_for
        %k{0}_tail_op tile_sizes {2}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    %k{0}_tail_rank1, %k{0}_tail_lk = transform.structured.tile_using_for
        %k{0}_tail_row tile_sizes {1}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.structured.vectorize %k{0}_full_rank1 : !transform.any_op
    transform.structured.vectorize %k{0}_tail_rank1 : !transform.any_op
)mlir",
                       id, tileSizes(tiles.rank1), tileSizes(tiles.row))
             .str() +
         contractionPatterns() +
         hoistAccumulators("%k" + std::to_string(id));
}

/// Matches, inside `loop`, fused tile `part` of gated epilogue `id`: its
/// contractions (%e<id>_<part>_mm), epilogue (_act) and fills (_fill).
std::string matchFusedTile(int64_t id, StringRef part, StringRef loop) {
  return llvm::formatv(R"mlir(
    %e{0}_{1}_mm = transform.structured.match ops{{["linalg.generic"]}
        attributes {{moe.segment_matmul} in {2}
        : (!transform.any_op) -> !transform.any_op
    %e{0}_{1}_act = transform.structured.match ops{{["linalg.generic"]}
        attributes {{moe.tile_target = {0} : i64} in {2}
        : (!transform.any_op) -> !transform.any_op
    %e{0}_{1}_fill = transform.structured.match ops{{["linalg.fill"]}
        in {2} : (!transform.any_op) -> !transform.any_op
)mlir",
                       id, part, loop)
      .str();
}

/// "%<handle>_g, %<handle>_u = split_handle %<handle>": a handle to the
/// gate's and the up projection's ops of a fused tile, split.
std::string splitGateUp(StringRef handle) {
  return llvm::formatv(R"mlir(
    {0}_g, {0}_u = transform.split_handle {0}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
)mlir",
                       handle)
      .str();
}

/// `result`: the producer of operand 0 of the op of handle `of`.
std::string producerOfInput(StringRef of, StringRef result) {
  return llvm::formatv(R"mlir(
    {1} = transform.get_producer_of_operand {0}[0]
        : (!transform.any_op) -> !transform.any_op
)mlir",
                       of, result)
      .str();
}

/// `result`: the op of handle `producer` fused into loop `loop`.
std::string fuseInto(StringRef producer, StringRef loop, StringRef result) {
  return llvm::formatv(R"mlir(
    {2}, {1}_fused = transform.structured.fuse_into_containing_op {0}
        into {1}
        : (!transform.any_op, !transform.any_op)
        -> (!transform.any_op, !transform.any_op)
)mlir",
                       producer, loop, result)
      .str();
}

/// Moves the rows that the gate (`g`) and up (`u`) rank-1 updates of fused
/// tile `part` of gated epilogue `id` gather (moe.segment_gather) into their
/// k loops, so that each k step reads its rows' elements through the token
/// ids (UnrollSegmentGather), where a permuted copy was read.
std::string fuseGatherIntoKLoops(int64_t id, StringRef part) {
  std::string tile = llvm::formatv("%e{0}_{1}", id, part).str();
  std::string text = splitGateUp(tile + "_rank1") + splitGateUp(tile + "_lk");
  for (StringRef projection : {"g", "u"}) {
    std::string suffix = "_" + projection.str();
    // The rank-1 update's slice of the tile's rows.
    text += producerOfInput(tile + "_rank1" + suffix, tile + "_slice" + suffix);
    text += producerOfInput(tile + "_slice" + suffix, tile + "_rows" + suffix);
    text += fuseInto(tile + "_rows" + suffix, tile + "_lk" + suffix,
                     tile + "_gather" + suffix);
  }
  return text;
}

/// Vectorizes the fused tiles of gated epilogue `id` inside `loop` (named
/// `part` in the handles): the contractions' k loops tiled by `rank1`, the
/// rows they gather, if they do (`gather`), fused into those loops, the
/// fills, the rank-1 updates and the epilogue vectorized; the k loops are
/// %e<id>_<part>_lk.
std::string vectorizeFusedTile(int64_t id, StringRef part, StringRef loop,
                               ArrayRef<int64_t> rank1, bool gather) {
  return matchFusedTile(id, part, loop) +
         llvm::formatv(R"mlir(
    %e{0}_{1}_rank1, %e{0}_{1}_lk = transform.structured.tile_using_for
        %e{0}_{1}_mm tile_sizes {2}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
{3}    transform.structured.vectorize %e{0}_{1}_fill : !transform.any_op
    transform.structured.vectorize %e{0}_{1}_rank1 : !transform.any_op
    transform.structured.vectorize %e{0}_{1}_act : !transform.any_op
)mlir",
                       id, part, tileSizes(rank1),
                       gather ? fuseGatherIntoKLoops(id, part) : "")
             .str();
}

/// Tiles the pair-layout contractions of handle `op` into k pairs (loops
/// <prefix>_lk, tiles <prefix>_pair) and each pair into 1 x 16 dot-product
/// tiles (<prefix>_dot): over rows (<prefix>_lr) when `rowLoops`, and over
/// 16-column chunks (<prefix>_lc).
std::string pairDotTiles(StringRef prefix, StringRef op, bool rowLoops) {
  return llvm::formatv(R"mlir(
    {0}_pair, {0}_lk = transform.structured.tile_using_for
        {1} tile_sizes [0, 0, 0, 1, 0]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    {0}_dot, {2}{0}_lc = transform.structured.tile_using_for {0}_pair
        tile_sizes [{3}, 0, {4}, 0, 0]
        : (!transform.any_op) -> ({5}!transform.any_op, !transform.any_op)
)mlir",
                       prefix, op, rowLoops ? (prefix + "_lr, ").str() : "",
                       rowLoops ? 1 : 0, kBF16DotLanes,
                       rowLoops ? "!transform.any_op, " : "")
      .str();
}

/// Unrolls the loops of pairDotTiles(`prefix`): the column chunks of a
/// panel of `panelWidth`, and with `rowTile` > 1 the tile's rows.
std::string unrollPairDotLoops(StringRef prefix, int64_t panelWidth,
                               int64_t rowTile) {
  std::string text = llvm::formatv(R"mlir(
    transform.loop.unroll {0}_lc {{factor = {1}} : !transform.any_op
)mlir",
                                   prefix, panelWidth / kBF16DotLanes)
                         .str();
  if (rowTile > 1)
    text += llvm::formatv(R"mlir(
    transform.loop.unroll {0}_lr {{factor = {1}} : !transform.any_op
)mlir",
                          prefix, rowTile)
                .str();
  return text;
}

/// Moves the rows that the gate (`g`) and up (`u`) dot-product tiles of
/// fused pair-layout tile `part` of gated epilogue `id` gather into their
/// k-pair loops, and with `rowLoops` on into the loops over the tile's rows
/// inside them, so that each dot product reads its row's pair through the
/// token id (UnrollSegmentGather).
std::string fuseGatherIntoPairLoops(int64_t id, StringRef part, bool rowLoops) {
  std::string tile = llvm::formatv("%e{0}_{1}", id, part).str();
  std::string text = splitGateUp(tile + "_dot") + splitGateUp(tile + "_lk");
  if (rowLoops)
    text += splitGateUp(tile + "_lr");
  for (StringRef projection : {"g", "u"}) {
    std::string suffix = "_" + projection.str();
    // The dot product's slice of the pair's slice of the tile's rows (tiling
    // makes a slice of every operand, even one the 1 x 16 tiles leave
    // whole).
    text += producerOfInput(tile + "_dot" + suffix, tile + "_dot_slice" + suffix);
    text += producerOfInput(tile + "_dot_slice" + suffix,
                            tile + "_pair_slice" + suffix);
    text += producerOfInput(tile + "_pair_slice" + suffix,
                            tile + "_rows" + suffix);
    text += fuseInto(tile + "_rows" + suffix, tile + "_lk" + suffix,
                     tile + "_gather" + suffix);
    if (rowLoops)
      text += fuseInto(tile + "_gather" + suffix, tile + "_lr" + suffix,
                       tile + "_row_gather" + suffix);
  }
  return text;
}

/// Vectorizes the fused tiles of pair-layout gated epilogue `id` inside
/// `loop` (named `part` in the handles), as vnniKernelSchedule does its
/// kernel: the contractions' k-pair loops %e<id>_<part>_lk, in them 1 x 16
/// dot-product tiles over the tile's rows (`rowTile`; 1 for the remainder)
/// and panel of `panelWidth` columns, unrolled; the rows they gather, if
/// they do, fused in; the fills and the epilogue vectorized.
std::string vectorizeFusedPairTile(int64_t id, StringRef part, StringRef loop,
                                   int64_t rowTile, int64_t panelWidth,
                                   bool gather) {
  bool rowLoops = rowTile > 1;
  std::string tile = llvm::formatv("%e{0}_{1}", id, part).str();
  std::string text = matchFusedTile(id, part, loop) +
                     pairDotTiles(tile, tile + "_mm", rowLoops);
  if (gather)
    text += fuseGatherIntoPairLoops(id, part, rowLoops);
  text += llvm::formatv(R"mlir(
    transform.structured.vectorize {0}_fill : !transform.any_op
    transform.structured.vectorize {0}_dot : !transform.any_op
    transform.structured.vectorize {0}_act : !transform.any_op
)mlir",
                        tile)
              .str();
  text += unrollPairDotLoops(tile, panelWidth, rowTile);
  return text;
}

/// The schedule of gated epilogue `id` ([rows, N/P, P] in the panel form,
/// [rows, N] otherwise; `rank` says which) with its gate and up
/// contractions fused in: the epilogue is tiled into panels (an scf.forall
/// with `parallel`) and then row tiles, and each tile's two contractions
/// run over the whole of K in registers, straight into the activation. No
/// [rows, N] projection is written; a tile's accumulators never leave the
/// registers. The remainder rows (segments not aligned to the row tile, such
/// as a shared expert's T rows) run as fused 1-row tiles.
std::string fusedGatedSchedule(int64_t id, int64_t rank, int64_t panelTile,
                               int64_t rowTile, bool parallel, bool gather,
                               int64_t pairPanel) {
  SmallVector<int64_t> panel(rank, 0), rows(rank, 0), oneRow(rank, 0),
      rank1(rank + 1, 0);
  panel[1] = panelTile;
  rows[0] = rowTile;
  oneRow[0] = 1;
  rank1[rank] = 1;
  std::string kernel = "%e" + std::to_string(id);
  return llvm::formatv(R"mlir(
    %e{0} = transform.structured.match ops{{["linalg.generic"]}
        attributes {{moe.tile_target = {0} : i64} in %func
        : (!transform.any_op) -> !transform.any_op
    %e{0}_panel, %e{0}_ln = transform.structured.fuse %e{0}
        tile_sizes {1} {2}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    %e{0}_rows, %e{0}_lm = transform.structured.fuse %e{0}_panel
        tile_sizes {3}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    %e{0}_lm_for = transform.cast %e{0}_lm
        : !transform.any_op to !transform.op<"scf.for">
    %e{0}_full, %e{0}_tail = transform.loop.peel %e{0}_lm_for
        : (!transform.op<"scf.for">) -> (!transform.any_op, !transform.any_op)
    transform.apply_patterns to %e{0}_full {{
      transform.apply_patterns.tensor.fold_tensor_empty
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    transform.apply_cse to %e{0}_full : !transform.any_op
    %e{0}_tail_ep = transform.structured.match ops{{["linalg.generic"]}
        attributes {{moe.tile_target = {0} : i64} in %e{0}_tail
        : (!transform.any_op) -> !transform.any_op
    %e{0}_row, %e{0}_tail_lm = transform.structured.fuse %e{0}_tail_ep
        tile_sizes {5}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.apply_patterns to %e{0}_tail_lm {{
      transform.apply_patterns.tensor.fold_tensor_empty
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    transform.apply_cse to %e{0}_tail_lm : !transform.any_op
)mlir",
                       id, tileSizes(panel), parallel ? "{use_forall}" : "",
                       tileSizes(rows), tileSizes(rank1), tileSizes(oneRow))
             .str() +
         (pairPanel > 0
              ? vectorizeFusedPairTile(id, "full", kernel + "_full", rowTile,
                                       pairPanel, gather) +
                    vectorizeFusedPairTile(id, "tail", kernel + "_tail_lm",
                                           /*rowTile=*/1, pairPanel, gather) +
                    dotProductPatterns()
              : vectorizeFusedTile(id, "full", kernel + "_full", rank1,
                                   gather) +
                    vectorizeFusedTile(id, "tail", kernel + "_tail_lm", rank1,
                                       gather) +
                    contractionPatterns()) +
         hoistAccumulators(kernel);
}

/// The schedule of segment epilogue `id` ([rows, N/P, P] or [rows, N], by
/// `rank`) with its contractions K-blocked: a gated epilogue (`gated`: a
/// linalg.generic of a gate and an up contraction) or a combine
/// (moe.segment_combine of one contraction). The epilogue is tiled into
/// panels (an scf.forall with `parallel`) and blocks of `rowBlock` rows, and
/// into each block go its contractions, whose [rowBlock, P] partial sums
/// stay in a block-sized buffer (which moe-cpu-hoist-tile-buffers allocates
/// once per thread share) while each contraction runs as the plain kernel
/// does: K blocks of `kTile`, `rowTile`-row register tiles (peeled, single
/// rows for the remainder). The epilogue then reads the block's sums, a row
/// at a time, while they are in L1: the activation (vectorized here) or the
/// combine (lowered after the schedule, SegmentCombineToSCF). No [rows, N]
/// product is written. Against the whole-K tile (fusedGatedSchedule), a
/// panel's weights are read once per block instead of once per register
/// tile.
std::string blockedEpilogueSchedule(int64_t id, int64_t rank, int64_t panelTile,
                                    int64_t rowBlock, int64_t kTile,
                                    int64_t rowTile, bool parallel, bool gather,
                                    bool gated) {
  SmallVector<int64_t> panel(rank, 0), block(rank, 0), oneRow(rank, 0);
  panel[1] = panelTile;
  block[0] = rowBlock;
  oneRow[0] = 1;
  // The contractions' loops: the epilogue's, then k.
  SmallVector<int64_t> kBlock(rank + 1, 0), rows(rank + 1, 0),
      rank1(rank + 1, 0), row(rank + 1, 0);
  kBlock[rank] = kTile;
  rows[0] = rowTile;
  rank1[rank] = 1;
  row[0] = 1;
  std::string kernel = "%e" + std::to_string(id);
  // The k loops of the contractions' full and remainder tiles.
  SmallVector<std::string, 4> kLoops;
  // The gate and up projections, or the combine's one (d).
  SmallVector<StringRef, 2> projections = {"d"};
  std::string text;
  if (gated) {
    text = llvm::formatv(R"mlir(
    {0} = transform.structured.match ops{{["linalg.generic"]}
        attributes {{moe.tile_target = {1} : i64} in %func
        : (!transform.any_op) -> !transform.any_op
    {0}_panel, {0}_ln = transform.structured.fuse {0}
        tile_sizes {2} {3}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    {0}_blk, {0}_lb = transform.structured.fuse {0}_panel
        tile_sizes {4}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    {0}_mm = transform.structured.match ops{{["linalg.generic"]}
        attributes {{moe.segment_matmul} in {0}_lb
        : (!transform.any_op) -> !transform.any_op
    {0}_fill = transform.structured.match ops{{["linalg.fill"]}
        in {0}_lb : (!transform.any_op) -> !transform.any_op
)mlir",
                         kernel, id, tileSizes(panel),
                         parallel ? "{use_forall}" : "", tileSizes(block))
               .str();
    text += splitGateUp(kernel + "_mm");
    projections = {"g", "u"};
  } else {
    // The combine's rows are a reduction (tiles of rows all update the
    // token rows), and `fuse` would fuse the producer of its destination
    // too (a zero fill, when the segment loop folded away) into each panel
    // and block: the panels and blocks take the contraction and its
    // partial sums' zero fill only.
    text = llvm::formatv(R"mlir(
    {0} = transform.structured.match ops{{["moe.segment_combine"]}
        attributes {{moe.tile_target = {1} : i64} in %func
        : (!transform.any_op) -> !transform.any_op
    {0}_mm_op = transform.get_producer_of_operand {0}[0]
        : (!transform.any_op) -> !transform.any_op
    {0}_fill_op = transform.get_producer_of_operand {0}_mm_op[2]
        : (!transform.any_op) -> !transform.any_op
    {0}_panel, {0}_ln = transform.structured.{3} {0}
        tile_sizes {2}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
)mlir",
                         kernel, id, tileSizes(panel),
                         parallel ? "tile_using_forall" : "tile_using_for")
               .str();
    // Each fusion leaves `tensor.dim`s of the fill inside the loop, which
    // the fill would be cloned whole for: they fold away first.
    auto canonicalize = [&](StringRef loop) {
      text += llvm::formatv(R"mlir(
    transform.apply_patterns to {0} {{
      transform.apply_patterns.canonicalization
    } : !transform.any_op
)mlir",
                            loop)
                  .str();
    };
    text += fuseInto(kernel + "_mm_op", kernel + "_ln", kernel + "_mm_panel");
    canonicalize(kernel + "_ln_fused");
    text += fuseInto(kernel + "_fill_op", kernel + "_ln_fused",
                     kernel + "_fill_panel");
    text += llvm::formatv(R"mlir(
    {0}_blk, {0}_lb = transform.structured.tile_using_for {0}_panel
        tile_sizes {1}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
)mlir",
                          kernel, tileSizes(block))
                .str();
    text += fuseInto(kernel + "_mm_panel", kernel + "_lb", kernel + "_mm_d");
    canonicalize(kernel + "_lb_fused");
    text += fuseInto(kernel + "_fill_panel", kernel + "_lb_fused",
                     kernel + "_fill");
  }
  for (StringRef projection : projections) {
    std::string mm = kernel + "_" + projection.str();
    // `loop`, with the gathered tile `tile` fused into it as `fused`; the
    // loop's handle then names the loop the fusion returns.
    auto fuseGather = [&](StringRef tile, std::string &loop, StringRef fused) {
      if (!gather)
        return;
      text += fuseInto(tile, loop, fused);
      loop += "_fused";
    };
    auto matchGather = [&](StringRef in, StringRef result) {
      if (!gather)
        return;
      text += llvm::formatv(R"mlir(
    {1} = transform.structured.match ops{{["linalg.generic"]}
        attributes {{moe.segment_gather} in {0}
        : (!transform.any_op) -> !transform.any_op
)mlir",
                            in, result)
                  .str();
    };
    if (gather)
      text +=
          producerOfInput(kernel + "_mm_" + projection.str(), mm + "_gathered");
    text +=
        llvm::formatv(R"mlir(
    {0}_kb, {0}_lkb = transform.structured.tile_using_for {1}
        tile_sizes {2}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
)mlir",
                      mm, kernel + "_mm_" + projection.str(), tileSizes(kBlock))
            .str();
    std::string blockLoop = mm + "_lkb";
    fuseGather(mm + "_gathered", blockLoop, mm + "_gkb");
    text += llvm::formatv(R"mlir(
    {0}_rows, {0}_lm = transform.structured.tile_using_for {0}_kb
        tile_sizes {1}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
)mlir",
                          mm, tileSizes(rows))
                .str();
    std::string rowLoop = mm + "_lm";
    fuseGather(mm + "_gkb", rowLoop, mm + "_glm");
    text += llvm::formatv(R"mlir(
    {0}_lm_for = transform.cast {1}
        : !transform.any_op to !transform.op<"scf.for">
    {0}_full, {0}_tail = transform.loop.peel {0}_lm_for
        : (!transform.op<"scf.for">) -> (!transform.any_op, !transform.any_op)
    transform.apply_patterns to {0}_full {{
      transform.apply_patterns.tensor.fold_tensor_empty
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    {0}_full_op = transform.structured.match ops{{["linalg.generic"]}
        attributes {{moe.segment_matmul} in {0}_full
        : (!transform.any_op) -> !transform.any_op
    {0}_tail_op = transform.structured.match ops{{["linalg.generic"]}
        attributes {{moe.segment_matmul} in {0}_tail
        : (!transform.any_op) -> !transform.any_op
)mlir",
                          mm, rowLoop)
                .str();
    matchGather(mm + "_full", mm + "_gfull");
    matchGather(mm + "_tail", mm + "_gtail");
    text += llvm::formatv(R"mlir(
    {0}_full_rank1, {0}_full_lk = transform.structured.tile_using_for
        {0}_full_op tile_sizes {1}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    {0}_tail_row, {0}_tail_lm = transform.structured.tile_using_for
        {0}_tail_op tile_sizes {2}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
)mlir",
                          mm, tileSizes(rank1), tileSizes(row))
                .str();
    std::string fullKLoop = mm + "_full_lk";
    fuseGather(mm + "_gfull", fullKLoop, mm + "_gfull_k");
    kLoops.push_back(fullKLoop);
    std::string tailRowLoop = mm + "_tail_lm";
    fuseGather(mm + "_gtail", tailRowLoop, mm + "_gtail_row");
    text += llvm::formatv(R"mlir(
    {0}_tail_rank1, {0}_tail_lk = transform.structured.tile_using_for
        {0}_tail_row tile_sizes {1}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
)mlir",
                          mm, tileSizes(rank1))
                .str();
    std::string tailKLoop = mm + "_tail_lk";
    fuseGather(mm + "_gtail_row", tailKLoop, mm + "_gtail_k");
    kLoops.push_back(tailKLoop);
  }
  for (StringRef projection : projections)
    text += llvm::formatv(R"mlir(
    transform.structured.vectorize {0}_{1}_full_rank1 : !transform.any_op
    transform.structured.vectorize {0}_{1}_tail_rank1 : !transform.any_op
)mlir",
                          kernel, projection)
                .str();
  text += llvm::formatv(R"mlir(
    {0}_fill_row, {0}_fill_l = transform.structured.tile_using_for {0}_fill
        tile_sizes {1}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.structured.vectorize {0}_fill_row : !transform.any_op
)mlir",
                        kernel, tileSizes(oneRow))
              .str();
  if (gated)
    text += llvm::formatv(R"mlir(
    {0}_act_row, {0}_act_l = transform.structured.tile_using_for {0}_blk
        tile_sizes {1}
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.structured.vectorize {0}_act_row : !transform.any_op
)mlir",
                          kernel, tileSizes(oneRow))
                .str();
  return text + contractionPatterns() + hoistAccumulatorsOf(kLoops);
}

/// The schedule of VNNI kernel `id`: like kernelSchedule over one panel of
/// `panelWidth` columns at a time, but each rank-1 step (one k pair) is
/// split into 1 x 16 tiles, unrolled, so that every vector.contract is one
/// row times 16 columns: the shape upstream's x86vector patterns turn into
/// one `vdpbf16ps`.
std::string vnniKernelSchedule(int64_t id, int64_t panelWidth, int64_t kTile,
                               int64_t rowTile, bool parallel, bool fuseFill) {
  std::string kernel = "%k" + std::to_string(id);
  return tileAndPeelRows(id, {0, 1, 0, 0, 0}, {0, 0, 0, kTile, 0},
                         {rowTile, 0, 0, 0, 0}, parallel, fuseFill) +
         pairDotTiles(kernel + "_full", kernel + "_full_op",
                      /*rowLoops=*/true) +
         llvm::formatv(R"mlir(
    %k{0}_tail_row, %k{0}_tail_lm = transform.structured.tile_using_for
        %k{0}_tail_op tile_sizes [1, 0, 0, 0, 0]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
)mlir",
                       id)
             .str() +
         pairDotTiles(kernel + "_tail", kernel + "_tail_row",
                      /*rowLoops=*/false) +
         llvm::formatv(R"mlir(
    transform.structured.vectorize %k{0}_full_dot : !transform.any_op
    transform.structured.vectorize %k{0}_tail_dot : !transform.any_op
)mlir",
                       id)
             .str() +
         unrollPairDotLoops(kernel + "_full", panelWidth, rowTile) +
         unrollPairDotLoops(kernel + "_tail", panelWidth, /*rowTile=*/1) +
         dotProductPatterns() + hoistAccumulators(kernel);
}

/// The shape of an AMX BF16 tile product (tdpbf16ps): kAMXBlockRows rows
/// of A times 16 pairs of k, into 16 columns of C.
constexpr int64_t kAMXPairs = 16, kAMXColumns = 16;

/// The schedule of pair-layout kernel `id` on AMX tiles: panels and K
/// blocks (of `kTile` pairs, whole AMX tiles) as vnniKernelSchedule, then
/// blocks of one tile's rows (kAMXBlockRows) whose k loop (_full_lk, in
/// steps of 16 pairs) runs the panel / 16 tiles of C of each step,
/// unrolled: the tiles of a step share their A tile. The remainder rows,
/// which the pipeline's segment padding leaves none of, run as in
/// vnniKernelSchedule. The tiles are vectorized by `amxTiles`, which the
/// caller puts after every other kernel's patterns: those lower any
/// vector.contract they find, and these must stay contractions.
std::string amxKernelSchedule(int64_t id, int64_t panelWidth, int64_t kTile,
                              bool parallel, bool fuseFill,
                              std::string &amxTiles) {
  std::string kernel = "%k" + std::to_string(id);
  // C is read and written at every k step, not carried in registers: after
  // bufferization convert-vector-to-amx then loads and stores the
  // accumulator tiles straight from C's memory (where a register value
  // would go through a stack buffer at every step), and
  // moe-cpu-hoist-amx-accumulators keeps them in tile registers.
  amxTiles += llvm::formatv(R"mlir(
    transform.apply_patterns to %k{0}_full {{
      transform.apply_patterns.linalg.fold_unit_extent_dims_via_slices
    } : !transform.any_op
    %k{0}_amx = transform.structured.match ops{{["linalg.generic"]}
        in %k{0}_full : (!transform.any_op) -> !transform.any_op
    transform.structured.vectorize %k{0}_amx : !transform.any_op
    transform.apply_patterns to %k{0}_full {{
      transform.apply_patterns.vector.reduction_to_contract
      transform.apply_patterns.vector.fold_arith_extension
      transform.apply_patterns.vector.transfer_permutation_patterns
      transform.apply_patterns.canonicalization
    } : !transform.any_op
)mlir",
                            id)
                  .str();
  int64_t columnTiles = panelWidth / kAMXColumns;
  return tileAndPeelRows(id, {0, 1, 0, 0, 0}, {0, 0, 0, kTile, 0},
                         {kAMXBlockRows, 0, 0, 0, 0}, parallel, fuseFill) +
         llvm::formatv(R"mlir(
    %k{0}_full_step, %k{0}_full_lk = transform.structured.tile_using_for
        %k{0}_full_op tile_sizes [0, 0, 0, {3}, 0]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    %k{0}_full_tile, %k{0}_full_lc = transform.structured.tile_using_for
        %k{0}_full_step tile_sizes [0, 0, {2}, 0, 0]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.loop.unroll %k{0}_full_lc {{factor = {4}} : !transform.any_op
    %k{0}_tail_row, %k{0}_tail_lm = transform.structured.tile_using_for
        %k{0}_tail_op tile_sizes [1, 0, 0, 0, 0]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
)mlir",
                       id, kAMXBlockRows, kAMXColumns, kAMXPairs, columnTiles)
             .str() +
         pairDotTiles(kernel + "_tail", kernel + "_tail_row",
                      /*rowLoops=*/false) +
         llvm::formatv(R"mlir(
    transform.structured.vectorize %k{0}_tail_dot : !transform.any_op
)mlir",
                       id)
             .str() +
         unrollPairDotLoops(kernel + "_tail", panelWidth, /*rowTile=*/1) +
         dotProductPatterns() + hoistAccumulatorsOf({kernel + "_tail_lk"});
}

/// The elements of a gathered rows' tile at one k step (a
/// moe.segment_gather generic fused into a k loop: [rows, 1], or a row's
/// [1, 1, 2] at one k pair of the pair layout) as scalar
/// code: its body once per element, each row's element one load at
/// (token id, k), put together as the vector the rank-1 update reads.
/// Upstream's vectorizer would make the tile a vector.gather at linearized
/// offsets, which LLVM keeps as a masked gather, or, lowered to loads,
/// addresses computed as a vector at every k step. Here a row's address is
/// scalar, its token id loop-invariant, and LLVM folds the load into the
/// FMAs' broadcast, as for a permuted copy's rows.
struct UnrollSegmentGather : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  /// Tiles of at most this many elements are unrolled.
  static constexpr int64_t kMaxElements = 64;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    // The body reads no operand (its element comes from extracts), so its
    // ops clone outside it.
    if (!op->hasAttr(kSegmentGatherAttrName) || op.getNumDpsInputs() != 0 ||
        op.getNumDpsInits() != 1 ||
        llvm::any_of(op.getBody()->getArguments(),
                     [](BlockArgument arg) { return !arg.use_empty(); }))
      return rewriter.notifyMatchFailure(op, "not a gathered rows' tile");
    auto type = dyn_cast<RankedTensorType>(op.getResult(0).getType());
    if (!type || !type.hasStaticShape() || type.getRank() == 0 ||
        type.getNumElements() > kMaxElements)
      return rewriter.notifyMatchFailure(op, "not a small static tile");
    Location loc = op.getLoc();
    Block *body = op.getBody();
    SmallVector<int64_t> strides = computeStrides(type.getShape());
    SmallVector<Value> elements;
    // Row-major, the order vector.from_elements takes.
    for (int64_t linear = 0; linear < type.getNumElements(); ++linear) {
      SmallVector<int64_t> position = delinearize(linear, strides);
      IRMapping mapping;
      for (Operation &bodyOp : body->without_terminator()) {
        if (auto index = dyn_cast<linalg::IndexOp>(bodyOp)) {
          mapping.map(index.getResult(),
                      arith::ConstantIndexOp::create(rewriter, loc,
                                                     position[index.getDim()])
                          .getResult());
          continue;
        }
        rewriter.clone(bodyOp, mapping);
      }
      elements.push_back(
          mapping.lookupOrDefault(body->getTerminator()->getOperand(0)));
    }
    auto vectorType = VectorType::get(type.getShape(), type.getElementType());
    Value vector =
        vector::FromElementsOp::create(rewriter, loc, vectorType, elements);
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    rewriter.replaceOpWithNewOp<vector::TransferWriteOp>(
        op, vector, op.getDpsInits()[0],
        SmallVector<Value>(type.getRank(), zero),
        SmallVector<bool>(type.getRank(), true));
    return success();
  }
};

/// `rows` rounded down to whole register tiles of `rowTile` rows (`rows`
/// itself when it is smaller): a block of rows that the tiles do not divide
/// runs its last rows one at a time, each at about half the FMA rate (a
/// row's few accumulators are too few chains for the FMA latency); only a
/// segment's last block then has such rows (docs/cpu-codegen.md, "Blocks of
/// whole row tiles").
static int64_t wholeRowTiles(int64_t rows, int64_t rowTile) {
  if (rowTile < 1 || rows < rowTile)
    return rows;
  return rows / rowTile * rowTile;
}

struct MoECPUTileAndVectorizePass
    : moe::impl::MoECPUTileAndVectorizePassBase<MoECPUTileAndVectorizePass> {
  using MoECPUTileAndVectorizePassBase::MoECPUTileAndVectorizePassBase;

  void runOnOperation() override {
    // Each function gets its own schedule, whose clean-ups touch that
    // function alone: outlined layers are scheduled one at a time, and
    // each distinct layer once.
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (!func.isExternal() && failed(scheduleFunction(func)))
        return signalPassFailure();
  }

  LogicalResult scheduleFunction(func::FuncOp func) {
    Builder b(&getContext());
    std::string body;
    // The AMX kernels' full tiles, vectorized after every other schedule.
    std::string amxTileSchedule;
    int64_t count = 0;
    // Gated epilogues first: their contractions are scheduled with them.
    llvm::SmallPtrSet<Operation *, 8> fused;
    func.walk([&](linalg::GenericOp op) {
      int64_t panel, pairPanel;
      SmallVector<linalg::GenericOp, 2> producers;
      if (!isFusableGatedEpilogue(op, panelWidth, panel, pairPanel, producers))
        return;
      op->setAttr(kTileTargetAttrName, b.getI64IntegerAttr(count));
      // Half the rows: the gate's finished tile stays in registers while
      // the up projection accumulates its own.
      Operation *rows = producers[0].getDpsInputs()[0].getDefiningOp();
      bool gather = rows && rows->hasAttr(kSegmentGatherAttrName);
      if (gatedRowBlock > 0 && pairPanel == 0) {
        int64_t k = producers[0].getStaticLoopRanges().back();
        body += blockedEpilogueSchedule(count++, op.getNumLoops(), panel,
                                        wholeRowTiles(gatedRowBlock, rowTile),
                                        largestDivisorAtMost(k, reductionBlock),
                                        rowTile, parallelPanels, gather,
                                        /*gated=*/true);
      } else {
        body += fusedGatedSchedule(count++, op.getNumLoops(), panel,
                                   std::max<int64_t>(rowTile / 2, 1),
                                   parallelPanels, gather, pairPanel);
      }
      for (linalg::GenericOp producer : producers)
        fused.insert(producer);
    });
    // Combines (moe-fuse-combine) whose rows a plain contraction computes:
    // the contraction is scheduled with its epilogue, K-blocked in blocks of
    // rows; a combine of anything else is lowered untiled, after the
    // schedule.
    func.walk([&](SegmentCombineOp op) {
      auto producer = op.getInput().getDefiningOp<linalg::GenericOp>();
      int64_t n, k, panel = 1;
      if (!producer || !producer->hasOneUse())
        return;
      if (isKNSegmentMatmul(producer, n, k))
        panel = largestDivisorAtMost(n, std::max<int64_t>(panelWidth, 1));
      else if (!isPanelSegmentMatmul(producer, k))
        return;
      auto fill =
          producer.getDpsInits().front().getDefiningOp<linalg::FillOp>();
      if (!fill || !fill->hasOneUse())
        return;
      op->setAttr(kTileTargetAttrName, b.getI64IntegerAttr(count));
      body += blockedEpilogueSchedule(
          count++, op.getInput().getType().getRank(), panel,
          wholeRowTiles(std::max<int64_t>(combineRowBlock, 1), rowTile),
          largestDivisorAtMost(k, reductionBlock), rowTile, parallelPanels,
          /*gather=*/false, /*gated=*/false);
      fused.insert(producer);
    });
    // Tags `op` as kernel `count`, and the zero fill of its destination,
    // when only it reads that fill, as the fill to fuse into its panels.
    auto tag = [&](linalg::GenericOp op) -> bool {
      op->setAttr(kTileTargetAttrName, b.getI64IntegerAttr(count));
      auto fill = op.getDpsInits().front().getDefiningOp<linalg::FillOp>();
      if (!fill || !fill->hasOneUse())
        return false;
      fill->setAttr(kTileFillAttrName, b.getI64IntegerAttr(count));
      return true;
    };
    func.walk([&](linalg::GenericOp op) {
      int64_t n, k;
      if (fused.contains(op))
        return;
      if (isKNSegmentMatmul(op, n, k)) {
        bool fuseFill = tag(op);
        body += kernelSchedule(
            count++,
            knTiles(largestDivisorAtMost(n, panelWidth),
                    largestDivisorAtMost(k, reductionBlock), rowTile),
            parallelPanels, fuseFill);
      } else if (isPanelSegmentMatmul(op, k)) {
        bool fuseFill = tag(op);
        body += kernelSchedule(
            count++,
            panelTiles(largestDivisorAtMost(k, reductionBlock), rowTile),
            parallelPanels, fuseFill);
      } else if (isRouterLogitsMatmul(op, n, k)) {
        // A block of tokens' logits, inside the router's parallel loop over
        // blocks: the same register tiles, on one thread.
        op->setAttr(kTileTargetAttrName, b.getI64IntegerAttr(count));
        body += kernelSchedule(
            count++,
            routerTiles(largestDivisorAtMost(n, panelWidth),
                        largestDivisorAtMost(k, reductionBlock), rowTile),
            /*parallel=*/false, /*fuseFill=*/false);
      } else if (isVnniSegmentMatmul(op, n, k) && amxTiles &&
                 k % kAMXPairs == 0) {
        // K blocks of whole AMX tiles, up to half reduction-block pairs.
        bool fuseFill = tag(op);
        int64_t tiles = largestDivisorAtMost(
            k / kAMXPairs,
            std::max<int64_t>(reductionBlock / 2 / kAMXPairs, 1));
        body += amxKernelSchedule(count++, n, tiles * kAMXPairs, parallelPanels,
                                  fuseFill, amxTileSchedule);
      } else if (isVnniSegmentMatmul(op, n, k)) {
        // The weight's own panels; K blocks count pairs.
        bool fuseFill = tag(op);
        body += vnniKernelSchedule(
            count++, n,
            largestDivisorAtMost(k, std::max<int64_t>(reductionBlock / 2, 1)),
            rowTile, parallelPanels, fuseFill);
      }
    });
    if (count == 0)
      return lowerTiles(func);
    body += amxTileSchedule;

    std::string schedule = llvm::formatv(R"mlir(
module attributes {{transform.with_named_sequence} {
  transform.named_sequence @__transform_main(
      %func: !transform.any_op {{transform.readonly}) {
{0}
    transform.yield
  }
}
)mlir",
                                         body);
    OwningOpRef<ModuleOp> scheduleModule =
        parseSourceString<ModuleOp>(schedule, &getContext());
    if (!scheduleModule)
      return func.emitError(
          "internal error: the tiling schedule does not parse");
    auto entry = scheduleModule->lookupSymbol<transform::NamedSequenceOp>(
        "__transform_main");
    if (failed(transform::applyTransformNamedSequence(
            func, entry, *scheduleModule, transform::TransformOptions())))
      return failure();
    func.walk([](Operation *op) {
      op->removeAttr(kTileTargetAttrName);
      op->removeAttr(kTileFillAttrName);
    });
    return lowerTiles(func);
  }

  /// What the schedule leaves to patterns, in one greedy run: the gathered
  /// rows' small tiles unrolled, and the combines, tiled or not, as loops
  /// over their rows.
  LogicalResult lowerTiles(func::FuncOp func) {
    RewritePatternSet patterns(&getContext());
    patterns.add<UnrollSegmentGather>(&getContext());
    populateMoESegmentCombineToSCFPatterns(patterns);
    return applyPatternsGreedily(func, std::move(patterns));
  }
};

} // namespace

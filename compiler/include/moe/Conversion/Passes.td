//===- Passes.td - moe-mlir conversion passes --------------*- tablegen -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// Conversions from the MoE dialect to upstream dialects. Keep alphabetical.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_CONVERSION_PASSES_TD
#define MOE_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertMoEToLinalgPass : Pass<"convert-moe-to-linalg"> {
  let summary = "Lower the MoE step ops to linalg, scf and tensor ops";
  let description = [{
    Lowers `moe.router`, `moe.top_k`, `moe.dispatch`, `moe.permute`,
    `moe.grouped_matmul` and `moe.combine` to upstream ops on tensors:

    - the router to a `linalg.generic` contraction and a row-wise softmax
      (or elementwise sigmoid);
    - top-k to a partial selection per token (k passes over the E scores,
      each keeping the best score below the previous pick; O(k * E));
    - dispatch to a stable counting sort over the T * k assignments
      (histogram, prefix sum, placement), with capacity dropping: one
      serial pass over the assignments, or, with `dispatch-chunk-tokens`,
      `scf.forall`s over (expert, chunk of tokens) that count and place
      each chunk's rows for one expert (the same rows in the same order);
    - permute to a copy of each used row from its token's row, in column
      chunks, or, with `permute-row-block`, in blocks of rows;
    - the grouped matmul to one `linalg.generic` contraction per expert on
      that expert's own rows (an `scf.for` over the E segments); a
      combining one (moe-fuse-combine) to the contraction of each segment
      into a zero tensor and a `moe.segment_combine` of its rows into the
      token rows, its epilogue, which the target tiles and fuses with the
      contraction, then lowers (moe-cpu-tile-and-vectorize);
    - combine to a weighted scatter-add over the used rows, in row order,
      in column chunks, or, with `combine-token-block`, in blocks of tokens
      that find their rows in each segment by binary search (the same
      additions in the same order).

    No lowered op runs an expert on rows that are not routed to it.
    `moe.layer` and `moe.expert_ffn` must be decomposed first.
  }];
  let options = [
    Option<"dispatchChunkTokens", "dispatch-chunk-tokens", "int64_t",
           /*default=*/"0",
           "Count and place the dispatch's assignments in parallel over "
           "(expert, chunk of this many tokens), for targets where one "
           "serial pass is slow (0: one serial pass)">,
    Option<"permuteRowBlock", "permute-row-block", "int64_t",
           /*default=*/"0",
           "Copy the permuted rows in a parallel loop over blocks of this "
           "many rows (0: over column chunks of all rows)">,
    Option<"combineTokenBlock", "combine-token-block", "int64_t",
           /*default=*/"0",
           "Combine in a parallel loop over blocks of this many tokens, "
           "finding their rows by binary search in segments whose token ids "
           "ascend, as moe.dispatch places them (0: over column chunks of "
           "all rows)">,
    Option<"blockColumnChunks", "block-column-chunks", "int64_t",
           /*default=*/"0",
           "In the blocks of permute-row-block and combine-token-block, the "
           "most chunks the columns split into, each an iteration of a "
           "parallel loop (0: chunks of 256 columns)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
}

#endif // MOE_CONVERSION_PASSES_TD

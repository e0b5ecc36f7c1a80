//===- MoEOps.td - MoE dialect operations ------------------*- tablegen -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The ops of one sparse MoE layer. Every compute op is destination-passing
// style: results take the types of the `outs` operands. Shapes use T for the
// token count (dynamic), D for the hidden size, E for the number of experts,
// F for the expert intermediate size, k for experts per token and R = T * k
// for the number of (token, expert) assignments.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_DIALECT_MOE_IR_MOEOPS_TD
#define MOE_DIALECT_MOE_IR_MOEOPS_TD

include "moe/Dialect/MoE/IR/MoEBase.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/TilingInterface.td"

/// A destination-passing-style MoE op on tensors. `numInits` trailing
/// operands are the destinations.
class MoE_DestinationOp<string mnemonic, int numInits, list<Trait> traits = []>
    : MoE_Op<mnemonic, !listconcat(traits, [Pure, DestinationStyleOpInterface])> {
  let hasVerifier = 1;
  code dpsExtraClassDeclaration = [{
    /// The trailing `outs` operands, for DestinationStyleOpInterface.
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      unsigned numOperands = getOperation()->getNumOperands();
      return ::mlir::MutableOperandRange(getOperation(),
                                         numOperands - }] # numInits # [{,
                                         }] # numInits # [{);
    }
  }];
  let extraClassDeclaration = dpsExtraClassDeclaration;
}

//===----------------------------------------------------------------------===//
// RouterOp
//===----------------------------------------------------------------------===//

def MoE_RouterOp : MoE_DestinationOp<"router", 1, [
    AttrSizedOperandSegments, AllTypesMatch<["init", "result"]>]> {
  let summary = "router scores: softmax or sigmoid of x W^T (+ bias, noise)";
  let description = [{
    Scores every token against every expert. With `input` [T, D] and
    `weight` [E, D] (the `nn.Linear` layout of a router), computes
    `logits = input weight^T (+ bias)` and applies `scoring` row-wise:
    `softmax` over the E logits of a token, or an elementwise `sigmoid`.
    The scores overwrite `init` [T, E].

    `weight` may be f32, bf16 or f16; arithmetic is in the result's element
    type (f32). `bias` [E] is the router's `nn.Linear` bias (gpt-oss). With
    `weight_layout = #moe.weight_layout<kn>` the weight is [D, E] instead
    (`input weight`), the layout
    the CPU pipeline lays router weights out in at load time, so that the
    E logits of a token accumulate along contiguous weight rows.

    With `noise(%wn) seed(N)` (training-time noisy top-k gating), the logit
    of token t and expert e gains `eps(t, e) * softplus(x_t . wn_e)`, where
    `wn` is [E, D] and `eps(t, e)` is standard-normal draw number `t * E + e`
    of the generator seeded with `N` (splitmix64 with Box-Muller, in
    double; `docs/model-format.md` gives it exactly). Draws depend only on
    the seed and the position, so every forward pass of T tokens adds the
    same noise, in any order of evaluation.

    Example:

    ```mlir
    %scores = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
                outs(%empty : tensor<?x8xf32>) scoring<softmax>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weight,
                       Optional<AnyRankedTensor>:$bias,
                       Optional<AnyRankedTensor>:$noise_weight,
                       AnyRankedTensor:$init,
                       MoE_ScoringFnAttr:$scoring,
                       OptionalAttr<I64Attr>:$noise_seed,
                       MoE_DefaultWeightLayoutAttr:$weight_layout);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    `ins` `(` $input `,` $weight `:` type($input) `,` type($weight) `)`
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`noise` `(` $noise_weight^ `:` type($noise_weight) `)`
     `seed` `(` $noise_seed `)`)?
    `outs` `(` $init `:` type($init) `)`
    `scoring` `` $scoring attr-dict
  }];
}

//===----------------------------------------------------------------------===//
// TopKOp
//===----------------------------------------------------------------------===//

def MoE_TopKOp : MoE_DestinationOp<"top_k", 2, [
    AllTypesMatch<["weights_init", "weights"]>,
    AllTypesMatch<["indices_init", "indices"]>]> {
  let summary = "selects k experts per token and their routing weights";
  let description = [{
    For each row of `scores` [T, E], selects the k experts with the largest
    selection score `q = scores + selection_bias` (or `q = scores` without a
    bias); ties go to the lower expert index. k is the static size of the
    second dimension of the outputs `weights` [T, k] (float) and `indices`
    [T, k] (i32). The selection is partial: O(E) per token for small k.

    Group-limited selection (`num_groups` G > 1): the E experts form G
    contiguous groups of E / G; a group scores the sum of its two largest `q`
    (its largest, for groups of one expert) and only the `top_k_groups` best
    groups stay eligible.

    The weights are the unbiased scores of the selected experts, divided by
    their sum when `normalize` is set, then multiplied by `scaling_factor`.

    Example:

    ```mlir
    %w, %i = moe.top_k ins(%scores : tensor<?x8xf32>)
               outs(%we, %ie : tensor<?x2xf32>, tensor<?x2xi32>) {normalize}
    ```
  }];
  let arguments = (ins AnyRankedTensor:$scores,
                       Optional<AnyRankedTensor>:$selection_bias,
                       AnyRankedTensor:$weights_init,
                       AnyRankedTensor:$indices_init,
                       UnitAttr:$normalize,
                       DefaultValuedAttr<F32Attr, "1.0f">:$scaling_factor,
                       DefaultValuedAttr<I64Attr, "1">:$num_groups,
                       DefaultValuedAttr<I64Attr, "1">:$top_k_groups);
  let results = (outs AnyRankedTensor:$weights, AnyRankedTensor:$indices);
  let assemblyFormat = [{
    `ins` `(` $scores `:` type($scores) `)`
    (`bias` `(` $selection_bias^ `:` type($selection_bias) `)`)?
    `outs` `(` $weights_init `,` $indices_init `:` type($weights_init) `,`
               type($indices_init) `)`
    attr-dict
  }];
  let extraClassDeclaration = dpsExtraClassDeclaration # [{
    /// The number of experts selected per token.
    int64_t getK() { return getWeightsInit().getType().getDimSize(1); }
  }];
}

//===----------------------------------------------------------------------===//
// RouterTopKOp
//===----------------------------------------------------------------------===//

def MoE_RouterTopKOp : MoE_DestinationOp<"router_top_k", 2, [
    AttrSizedOperandSegments,
    AllTypesMatch<["weights_init", "weights"]>,
    AllTypesMatch<["indices_init", "indices"]>]> {
  let summary = "router scores and top-k selection in one pass per token";
  let description = [{
    `moe.router` followed by `moe.top_k` on its scores, as one step: for
    each token, the E logits `input weight^T (+ bias)`, their `scoring`,
    and the selection of the k experts and their routing weights, exactly
    as the two ops define them (`selection_bias` is `moe.top_k`'s bias).
    The [T, E] scores are not a result: a lowering computes them a block
    of tokens at a time and never materialises them whole, and blocks are
    independent, so they run in parallel. `--moe-fuse-router` forms it
    when nothing else reads the scores (no auxiliary loss) and the router
    has no noise.

    Example:

    ```mlir
    %w, %i = moe.router_top_k ins(%x, %wr : tensor<?x64xf32>, tensor<8x64xf32>)
               outs(%we, %ie : tensor<?x2xf32>, tensor<?x2xi32>)
               scoring<softmax> {normalize}
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weight,
                       Optional<AnyRankedTensor>:$bias,
                       Optional<AnyRankedTensor>:$selection_bias,
                       AnyRankedTensor:$weights_init,
                       AnyRankedTensor:$indices_init,
                       MoE_ScoringFnAttr:$scoring,
                       MoE_DefaultWeightLayoutAttr:$weight_layout,
                       UnitAttr:$normalize,
                       DefaultValuedAttr<F32Attr, "1.0f">:$scaling_factor,
                       DefaultValuedAttr<I64Attr, "1">:$num_groups,
                       DefaultValuedAttr<I64Attr, "1">:$top_k_groups);
  let results = (outs AnyRankedTensor:$weights, AnyRankedTensor:$indices);
  let assemblyFormat = [{
    `ins` `(` $input `,` $weight `:` type($input) `,` type($weight) `)`
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`selection_bias` `(` $selection_bias^ `:` type($selection_bias) `)`)?
    `outs` `(` $weights_init `,` $indices_init `:` type($weights_init) `,`
               type($indices_init) `)`
    `scoring` `` $scoring attr-dict
  }];
  let extraClassDeclaration = dpsExtraClassDeclaration # [{
    /// The number of experts selected per token.
    int64_t getK() { return getWeightsInit().getType().getDimSize(1); }
  }];
}

//===----------------------------------------------------------------------===//
// DispatchOp
//===----------------------------------------------------------------------===//

def MoE_DispatchOp : MoE_DestinationOp<"dispatch", 4, [
    AllTypesMatch<["counts_init", "expert_counts"]>,
    AllTypesMatch<["offsets_init", "expert_offsets"]>,
    AllTypesMatch<["token_ids_init", "token_ids"]>,
    AllTypesMatch<["row_weights_init", "row_weights"]>]> {
  let summary = "routing metadata: groups (token, expert) assignments by expert";
  let description = [{
    Given the selected experts `indices` [T, k] (i32) and routing `weights`
    [T, k], numbers the assignments `a = t * k + j` in token order and groups
    them by expert, keeping token order inside each expert (a stable
    counting sort, O(T * k + E)):

    - `expert_counts` [E] (i32): assignments each expert keeps;
    - `expert_offsets` [E + 1] (i32): their exclusive prefix sum, so expert
      e owns rows `[offsets[e], offsets[e + 1])` and `offsets[E]` rows are
      used in all;
    - `token_ids` [R] (i32) and `row_weights` [R] (float), R = T * k: the
      token and routing weight of each row.

    E is the static size of `expert_counts`. With `capacity_factor` set,
    each expert keeps only its first `C = ceil(capacity_factor * T * k / E)`
    assignments in token order and drops the rest; without it nothing is
    dropped. Rows from `offsets[E]` on keep their `outs` values.

    With `segment_alignment` B > 1, every segment starts at a multiple of B
    and is padded to one: expert e owns rows `[offsets[e], offsets[e + 1])`,
    of which the first `expert_counts[e]` are its assignments and the rest
    padding, with token id -1 and weight 0 (`moe.permute` and `moe.combine`
    skip them). R is then `T * k + E * (B - 1)`, the most the padding can
    take. A kernel tiled by B rows has no remainder rows to handle.

    Example:

    ```mlir
    %counts, %offsets, %tokens, %row_w = moe.dispatch
        ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
        outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>, tensor<?xi32>,
                               tensor<?xf32>)
    ```
  }];
  let arguments = (ins AnyRankedTensor:$indices, AnyRankedTensor:$weights,
                       AnyRankedTensor:$counts_init,
                       AnyRankedTensor:$offsets_init,
                       AnyRankedTensor:$token_ids_init,
                       AnyRankedTensor:$row_weights_init,
                       OptionalAttr<F64Attr>:$capacity_factor,
                       OptionalAttr<I64Attr>:$segment_alignment);
  let results = (outs AnyRankedTensor:$expert_counts,
                      AnyRankedTensor:$expert_offsets,
                      AnyRankedTensor:$token_ids,
                      AnyRankedTensor:$row_weights);
  let assemblyFormat = [{
    `ins` `(` $indices `,` $weights `:` type($indices) `,` type($weights) `)`
    `outs` `(` $counts_init `,` $offsets_init `,` $token_ids_init `,`
               $row_weights_init `:` type($counts_init) `,`
               type($offsets_init) `,` type($token_ids_init) `,`
               type($row_weights_init) `)`
    attr-dict
  }];
  let extraClassDeclaration = dpsExtraClassDeclaration # [{
    /// The number of experts.
    int64_t getNumExperts() {
      return getCountsInit().getType().getDimSize(0);
    }
    /// The rows each segment is padded to a multiple of (1: no padding).
    int64_t getSegmentAlignmentOrOne() {
      return getSegmentAlignment().value_or(1);
    }
  }];
}

//===----------------------------------------------------------------------===//
// PermuteOp
//===----------------------------------------------------------------------===//

def MoE_PermuteOp : MoE_DestinationOp<"permute", 1, [
    AllTypesMatch<["init", "result"]>]> {
  let summary = "gathers token rows into expert-grouped order";
  let description = [{
    Copies `input` [T, D] row `token_ids[r]` into row r of `init` [R, D] for
    every used row `r < expert_offsets[E]`; the other rows keep their `outs`
    values. A padding row (token id -1, see `moe.dispatch`'s
    `segment_alignment`) gets row 0 of `input`, or keeps its value when
    there are no tokens: its results are never combined. With the metadata of `moe.dispatch`, the result holds each
    expert's tokens as one contiguous segment.

    `init` has the element type of `input`, or a narrower float type (f32
    rows into bf16 or f16): each copied element is then rounded to nearest
    even, as `arith.truncf` rounds. The NVPTX pipeline narrows the rows that
    only tensor-core matmuls read, which round them to that type anyway.

    Example:

    ```mlir
    %rows = moe.permute ins(%x, %tokens, %offsets
                : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
              outs(%e : tensor<?x64xf32>)
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$token_ids,
                       AnyRankedTensor:$expert_offsets,
                       AnyRankedTensor:$init);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    `ins` `(` $input `,` $token_ids `,` $expert_offsets `:` type($input) `,`
              type($token_ids) `,` type($expert_offsets) `)`
    `outs` `(` $init `:` type($init) `)` attr-dict
  }];
}

//===----------------------------------------------------------------------===//
// GroupedMatmulOp
//===----------------------------------------------------------------------===//

def MoE_GroupedMatmulOp : MoE_DestinationOp<"grouped_matmul", 1, [
    AttrSizedOperandSegments, AllTypesMatch<["init", "result"]>]> {
  let summary = "one matmul per expert over its contiguous segment of rows";
  let description = [{
    For every expert e and every row r in `[offsets[e], offsets[e + 1])`,
    accumulates `input[r] weight[e]^T (+ bias[e])` into row r of `init`,
    like `linalg.matmul` accumulates into its `outs`. `input` is [R, K],
    `weight` [E, N, K] (`nn.Linear` layout, f32, bf16 or f16), `bias`
    [E, N], `init` [R, N]. Rows from `offsets[E]` on are left unchanged.
    The work is proportional to the rows each expert owns.

    `weight_layout` (`#moe.weight_layout<...>`) says how the weight is laid
    out: `nk` (the default) as above; `kn`, [E, K, N] (`input[r]
    weight[e]`); `panels`, that split into panels of P columns, [E, N/P, K,
    P] (`weight[e][n / P][k][n % P]` is W[e][n][k]): the layout the CPU
    pipeline lays expert weights out in once, at load time, so that the
    kernel reads each panel's rows one after another.

    With `pair_panels` the weight is [E, N/P, K/2, P, 2]: panels of P
    columns, each a K-major run of pairs of consecutive k
    (`weight[e][n / P][k / 2][n % P][k % 2]` is W[e][n][k]). The pairs are
    the operand layout of AVX-512 BF16's dot product; the panels make the
    kernel's weight reads contiguous. `input` and `weight` are then both
    bf16; their products accumulate in f32.

    With `combine` (moe-fuse-combine) the matmul is also the `moe.combine`
    of its rows: `init` is [T, N] in token order, and each used row r adds
    `row_weights[r] * (input[r] weight[e]^T (+ bias[e]))` to row
    `token_ids[r]` of `init`, in row order, as `moe.combine` does (padding
    rows, token id -1, add nothing). No [R, N] tensor of the experts' rows
    is produced.

    Example:

    ```mlir
    %h = moe.grouped_matmul ins(%rows, %w, %offsets
             : tensor<?x64xf32>, tensor<8x128x64xf32>, tensor<9xi32>)
           outs(%acc : tensor<?x128xf32>)
    %y = moe.grouped_matmul ins(%h, %wd, %offsets
             : tensor<?x128xf32>, tensor<8x64x128xf32>, tensor<9xi32>)
           combine(%tokens, %row_w : tensor<?xi32>, tensor<?xf32>)
           outs(%zero : tensor<?x64xf32>)
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weight,
                       AnyRankedTensor:$expert_offsets,
                       Optional<AnyRankedTensor>:$bias,
                       Optional<AnyRankedTensor>:$token_ids,
                       Optional<AnyRankedTensor>:$row_weights,
                       AnyRankedTensor:$init,
                       MoE_DefaultWeightLayoutAttr:$weight_layout);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    `ins` `(` $input `,` $weight `,` $expert_offsets `:` type($input) `,`
              type($weight) `,` type($expert_offsets) `)`
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`combine` `(` $token_ids^ `,` $row_weights `:` type($token_ids) `,`
                   type($row_weights) `)`)?
    `outs` `(` $init `:` type($init) `)` attr-dict
  }];
  let builders = [
    // Without combine (the form every pass but moe-fuse-combine builds).
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$input,
                   "::mlir::Value":$weight, "::mlir::Value":$expertOffsets,
                   "::mlir::Value":$bias, "::mlir::Value":$init), [{
      build($_builder, $_state, result, input, weight, expertOffsets, bias,
            /*token_ids=*/::mlir::Value(), /*row_weights=*/::mlir::Value(),
            init);
    }]>
  ];
  let extraClassDeclaration = dpsExtraClassDeclaration # [{
    /// Whether the matmul combines its rows into token order.
    bool hasCombine() { return static_cast<bool>(getTokenIds()); }
  }];
}

//===----------------------------------------------------------------------===//
// GroupedGatedMatmulOp
//===----------------------------------------------------------------------===//

def MoE_GroupedGatedMatmulOp : MoE_DestinationOp<"grouped_gated_matmul", 1, [
    AttrSizedOperandSegments, AllTypesMatch<["init", "result"]>,
    AllTypesMatch<["gate_weight", "up_weight"]>]> {
  let summary = "the gate and up projections of each expert's segment, with "
                "the gated activation as their epilogue";
  let description = [{
    For every expert e and every row r in `[offsets[e], offsets[e + 1])`,
    sets row r of `init` to `act(x Wg[e]^T + bg[e]) * (x Wu[e]^T + bu[e])`
    (`x` = `input[r]`), or gpt-oss's clamped form for `swiglu_oai`. Rows
    from `offsets[E]` on are left unchanged. `input` is [R, K], both weights
    [E, N, K] (or in the `kn`, `panels` or `pair_panels` `weight_layout`,
    as for `moe.grouped_matmul`: with `pair_panels`, `input` and the
    weights are bf16 and `init` f32), the optional biases [E, N] and `init`
    [R, N].

    An `init` of bf16 or f16 (moe-gpu-narrow-activations', for a reader on
    tensor cores) takes each result rounded to nearest even: the products
    accumulate, and the activation runs, in f32.

    This is `moe.gated_activation` of two `moe.grouped_matmul`s, fused by
    `--moe-fuse-gate-up`: one grouped GEMM whose epilogue applies the
    activation to each output tile while it is still in registers, so the
    [R, N] gate and up projections are never written out.

    With `gather(token_ids)`, `input` is the [T, K] token rows and row r of
    the segments reads `input[token_ids[r]]` (row 0 for a padding row's
    -1), where it would read the r-th row of `moe.permute`'s result:
    `--moe-fuse-gather` folds that permute into the matmul, whose tiles
    then read their rows through the token ids and no [R, K] copy is
    written. `token_ids` is [R] (i32), as `moe.dispatch` gives it.

    Example:

    ```mlir
    %h = moe.grouped_gated_matmul ins(%rows, %offsets
             : tensor<?x64xf32>, tensor<9xi32>)
           gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
           outs(%init : tensor<?x128xf32>) activation<silu>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input,
                       AnyRankedTensor:$expert_offsets,
                       Optional<AnyRankedTensor>:$token_ids,
                       AnyRankedTensor:$gate_weight,
                       AnyRankedTensor:$up_weight,
                       Optional<AnyRankedTensor>:$gate_bias,
                       Optional<AnyRankedTensor>:$up_bias,
                       AnyRankedTensor:$init,
                       MoE_ActivationAttr:$activation,
                       OptionalAttr<F32Attr>:$swiglu_alpha,
                       OptionalAttr<F32Attr>:$swiglu_limit,
                       MoE_DefaultWeightLayoutAttr:$weight_layout);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    `ins` `(` $input `,` $expert_offsets `:` type($input) `,`
              type($expert_offsets) `)`
    (`gather` `(` $token_ids^ `:` type($token_ids) `)`)?
    `gate` `(` $gate_weight `:` type($gate_weight) `)`
    `up` `(` $up_weight `:` type($up_weight) `)`
    (`gate_bias` `(` $gate_bias^ `:` type($gate_bias) `)`)?
    (`up_bias` `(` $up_bias^ `:` type($up_bias) `)`)?
    `outs` `(` $init `:` type($init) `)`
    `activation` `` $activation attr-dict
  }];
}

//===----------------------------------------------------------------------===//
// GatedActivationOp
//===----------------------------------------------------------------------===//

def MoE_GatedActivationOp : MoE_DestinationOp<"gated_activation", 1, [
    AllTypesMatch<["init", "result"]>]> {
  let summary = "act(gate) * up, elementwise, between an FFN's projections";
  let description = [{
    Sets every element of `init` to `act(gate) * up` of the elements at the
    same place in `gate` and `up`, or to gpt-oss's clamped form for
    `swiglu_oai` (see `moe.expert_ffn`). All three are [R, F] tensors of
    one float type.

    `--moe-decompose-expert-ffn` produces it between the gate and up
    `moe.grouped_matmul`s and the down projection of a gated FFN;
    `--moe-fuse-gate-up` folds it with them into
    `moe.grouped_gated_matmul`.

    Example:

    ```mlir
    %h = moe.gated_activation ins(%g, %u : tensor<?x128xf32>, tensor<?x128xf32>)
           outs(%init : tensor<?x128xf32>) activation<silu>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$gate, AnyRankedTensor:$up,
                       AnyRankedTensor:$init,
                       MoE_ActivationAttr:$activation,
                       OptionalAttr<F32Attr>:$swiglu_alpha,
                       OptionalAttr<F32Attr>:$swiglu_limit);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    `ins` `(` $gate `,` $up `:` type($gate) `,` type($up) `)`
    `outs` `(` $init `:` type($init) `)`
    `activation` `` $activation attr-dict
  }];
}

//===----------------------------------------------------------------------===//
// ExpertFFNOp
//===----------------------------------------------------------------------===//

def MoE_ExpertFFNOp : MoE_DestinationOp<"expert_ffn", 1, [
    AttrSizedOperandSegments, AllTypesMatch<["init", "result"]>]> {
  let summary = "each expert's feed-forward network over its segment of rows";
  let description = [{
    For every expert e and every row r in `[offsets[e], offsets[e + 1])` of
    `input` [R, D], accumulates expert e's FFN of that row into `init`
    [R, D]. Gated (a `gate` weight is given):
    `(act(x Wg[e]^T + bg[e]) * (x Wu[e]^T + bu[e])) Wd[e]^T + bd[e]`;
    ungated: `act(x Wu[e]^T + bu[e]) Wd[e]^T + bd[e]`. `gate` and `up` are
    [E, F, D], `down` [E, D, F], biases [E, F] and [E, D]; every bias is
    optional.

    `swiglu_oai` (gated only) is gpt-oss's clamped form:
    `g = min(gate, limit)`, `u = clamp(up, -limit, limit)`,
    `h = (u + 1) * g * sigmoid(alpha * g)`, with `swiglu_alpha` (default
    1.702) and `swiglu_limit` (default 7.0).

    `--moe-decompose-expert-ffn` rewrites this op into `moe.grouped_matmul`
    ops and an elementwise `linalg.generic`.

    Example:

    ```mlir
    %y = moe.expert_ffn ins(%rows, %offsets : tensor<?x64xf32>, tensor<9xi32>)
           gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
           down(%wd : tensor<8x64x128xf32>)
           outs(%acc : tensor<?x64xf32>) activation<silu>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input,
                       AnyRankedTensor:$expert_offsets,
                       Optional<AnyRankedTensor>:$gate_weight,
                       AnyRankedTensor:$up_weight,
                       AnyRankedTensor:$down_weight,
                       Optional<AnyRankedTensor>:$gate_bias,
                       Optional<AnyRankedTensor>:$up_bias,
                       Optional<AnyRankedTensor>:$down_bias,
                       AnyRankedTensor:$init,
                       MoE_ActivationAttr:$activation,
                       OptionalAttr<F32Attr>:$swiglu_alpha,
                       OptionalAttr<F32Attr>:$swiglu_limit);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    `ins` `(` $input `,` $expert_offsets `:` type($input) `,`
              type($expert_offsets) `)`
    (`gate` `(` $gate_weight^ `:` type($gate_weight) `)`)?
    `up` `(` $up_weight `:` type($up_weight) `)`
    `down` `(` $down_weight `:` type($down_weight) `)`
    (`gate_bias` `(` $gate_bias^ `:` type($gate_bias) `)`)?
    (`up_bias` `(` $up_bias^ `:` type($up_bias) `)`)?
    (`down_bias` `(` $down_bias^ `:` type($down_bias) `)`)?
    `outs` `(` $init `:` type($init) `)`
    `activation` `` $activation attr-dict
  }];
  let extraClassDeclaration = dpsExtraClassDeclaration # [{
    /// Whether the FFN multiplies the activated gate projection by the up
    /// projection.
    bool isGated() { return static_cast<bool>(getGateWeight()); }
  }];
}

//===----------------------------------------------------------------------===//
// CombineOp
//===----------------------------------------------------------------------===//

def MoE_CombineOp : MoE_DestinationOp<"combine", 1, [
    AllTypesMatch<["init", "result"]>]> {
  let summary = "weighted scatter-add of expert rows back to token order";
  let description = [{
    For every used row `r < expert_offsets[E]` of `input` [R, D], adds
    `row_weights[r] * input[r]` to row `token_ids[r]` of `init` [T, D].
    Rows are added in row order, so the result is deterministic. Padding
    rows (token id -1) are skipped. Within each segment the token ids
    ascend, padding last, as `moe.dispatch` places them: the lowering's
    token-block layout (`convert-moe-to-linalg{combine-token-block}`, the
    GPU's) finds a token's rows by binary search.

    Example:

    ```mlir
    %y = moe.combine ins(%h, %tokens, %row_w, %offsets
             : tensor<?x64xf32>, tensor<?xi32>, tensor<?xf32>, tensor<9xi32>)
           outs(%zero : tensor<?x64xf32>)
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$token_ids,
                       AnyRankedTensor:$row_weights,
                       AnyRankedTensor:$expert_offsets,
                       AnyRankedTensor:$init);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    `ins` `(` $input `,` $token_ids `,` $row_weights `,` $expert_offsets `:`
              type($input) `,` type($token_ids) `,` type($row_weights) `,`
              type($expert_offsets) `)`
    `outs` `(` $init `:` type($init) `)` attr-dict
  }];
}

//===----------------------------------------------------------------------===//
// SegmentCombineOp
//===----------------------------------------------------------------------===//

def MoE_SegmentCombineOp : MoE_DestinationOp<"segment_combine", 1, [
    AllTypesMatch<["init", "result"]>,
    DeclareOpInterfaceMethods<TilingInterface, [
        "getLoopIteratorTypes", "getIterationDomain", "getTiledImplementation",
        "getResultTilePosition"]>]> {
  let summary = "the combine of one expert's segment of rows, tileable";
  let description = [{
    For every row r of `input` [S, ...] whose token id `token_ids[r]` is not
    negative, adds `row_weights[r] * input[r]` to row `token_ids[r]` of
    `init` [T, ...], in row order. `input` and `init` have the same rank and
    trailing dims (the columns, in the contraction's own shape: [N], or
    [N/P, P] for panels).

    The lowering of a combining `moe.grouped_matmul` emits one per expert
    segment, as the epilogue of the segment's contraction, so that targets
    can tile and fuse the two (TilingInterface). The iteration domain is
    the input's: the rows (a reduction: rows may share a token, and tiles of
    rows all update the same [T, ...] result) and the columns (parallel).
    A tile of rows and columns updates those columns of every token row.

    Example:

    ```mlir
    %y = moe.segment_combine ins(%h, %tokens, %row_w
             : tensor<?x16x64xf32>, tensor<?xi32>, tensor<?xf32>)
           outs(%out : tensor<?x16x64xf32>)
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$token_ids,
                       AnyRankedTensor:$row_weights, AnyRankedTensor:$init);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    `ins` `(` $input `,` $token_ids `,` $row_weights `:` type($input) `,`
              type($token_ids) `,` type($row_weights) `)`
    `outs` `(` $init `:` type($init) `)` attr-dict
  }];
}

//===----------------------------------------------------------------------===//
// LayerOp
//===----------------------------------------------------------------------===//

def MoE_LayerOp : MoE_DestinationOp<"layer", 1, [
    AttrSizedOperandSegments, AllTypesMatch<["init", "result"]>]> {
  let summary = "a whole sparse Mixture-of-Experts layer";
  let description = [{
    Routes each token of `input` [T, D] to `top_k` of the E experts and
    accumulates `sum_j w_j * FFN_{idx_j}(x)` into `init` [T, D] (pass the
    residual as `init` to fuse the residual connection). Operands and
    attributes carry the meaning they have on the step ops:
    `router` [E, D], `router_bias` [E], `router_noise` [E, D] and
    `noise_seed` as on `moe.router` (its `weight`, `bias`, `noise_weight`
    and `noise_seed`);
    `selection_bias`, `normalize`, `scaling_factor`, `num_groups` and
    `top_k_groups` as on `moe.top_k`; `capacity_factor` as on
    `moe.dispatch`; the expert weights, biases and activation as on
    `moe.expert_ffn`.

    Shared experts (`shared_up` [1, Fs, D], `shared_down` [1, D, Fs], and
    `shared_gate` [1, Fs, D] when the experts are gated) are an FFN with
    the experts' activation that every token goes through, its output
    scaled per token by `shared_scale` [T, 1] when given:
    `y = init + sum_j w_j * FFN_{idx_j}(x) + s * FFN_shared(x)`. Fs is a
    multiple of the experts' F, and the shared weights have the experts'
    element types, because the layer runs the shared FFN as Fs / F more
    experts, each a slice of F of its hidden units, that every token is
    routed to with weight s: one grouped loop over the routed experts and
    the shared ones (`--moe-fuse-shared-experts` folds a separate shared
    FFN in). The experts then have no biases, and nothing is dropped (no
    `capacity_factor`).

    `--moe-decompose-layer` expands it into `moe.router`, `moe.top_k`,
    `moe.dispatch`, `moe.permute`, `moe.expert_ffn` and `moe.combine`.

    Example:

    ```mlir
    %y = moe.layer ins(%x : tensor<?x64xf32>)
           router(%wr : tensor<8x64xf32>)
           gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
           down(%wd : tensor<8x64x128xf32>)
           outs(%zero : tensor<?x64xf32>)
           top_k(2) scoring<softmax> activation<silu> {normalize}
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input,
                       AnyRankedTensor:$router_weight,
                       Optional<AnyRankedTensor>:$router_bias,
                       Optional<AnyRankedTensor>:$selection_bias,
                       Optional<AnyRankedTensor>:$router_noise,
                       Optional<AnyRankedTensor>:$gate_weight,
                       AnyRankedTensor:$up_weight,
                       AnyRankedTensor:$down_weight,
                       Optional<AnyRankedTensor>:$gate_bias,
                       Optional<AnyRankedTensor>:$up_bias,
                       Optional<AnyRankedTensor>:$down_bias,
                       Optional<AnyRankedTensor>:$shared_gate_weight,
                       Optional<AnyRankedTensor>:$shared_up_weight,
                       Optional<AnyRankedTensor>:$shared_down_weight,
                       Optional<AnyRankedTensor>:$shared_scale,
                       AnyRankedTensor:$init,
                       I64Attr:$top_k,
                       MoE_ScoringFnAttr:$scoring,
                       MoE_ActivationAttr:$activation,
                       UnitAttr:$normalize,
                       DefaultValuedAttr<F32Attr, "1.0f">:$scaling_factor,
                       DefaultValuedAttr<I64Attr, "1">:$num_groups,
                       DefaultValuedAttr<I64Attr, "1">:$top_k_groups,
                       OptionalAttr<F64Attr>:$capacity_factor,
                       OptionalAttr<F32Attr>:$swiglu_alpha,
                       OptionalAttr<F32Attr>:$swiglu_limit,
                       OptionalAttr<I64Attr>:$noise_seed);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    `ins` `(` $input `:` type($input) `)`
    `router` `(` $router_weight `:` type($router_weight) `)`
    (`router_bias` `(` $router_bias^ `:` type($router_bias) `)`)?
    (`selection_bias` `(` $selection_bias^ `:` type($selection_bias) `)`)?
    (`router_noise` `(` $router_noise^ `:` type($router_noise) `)`
     `seed` `(` $noise_seed `)`)?
    (`gate` `(` $gate_weight^ `:` type($gate_weight) `)`)?
    `up` `(` $up_weight `:` type($up_weight) `)`
    `down` `(` $down_weight `:` type($down_weight) `)`
    (`gate_bias` `(` $gate_bias^ `:` type($gate_bias) `)`)?
    (`up_bias` `(` $up_bias^ `:` type($up_bias) `)`)?
    (`down_bias` `(` $down_bias^ `:` type($down_bias) `)`)?
    (`shared_gate` `(` $shared_gate_weight^ `:` type($shared_gate_weight)
     `)`)?
    (`shared_up` `(` $shared_up_weight^ `:` type($shared_up_weight) `)`)?
    (`shared_down` `(` $shared_down_weight^ `:` type($shared_down_weight)
     `)`)?
    (`shared_scale` `(` $shared_scale^ `:` type($shared_scale) `)`)?
    `outs` `(` $init `:` type($init) `)`
    `top_k` `(` $top_k `)` `scoring` `` $scoring
    `activation` `` $activation attr-dict
  }];
  let extraClassDeclaration = dpsExtraClassDeclaration # [{
    /// Whether the experts are gated FFNs.
    bool isGated() { return static_cast<bool>(getGateWeight()); }
    /// The number of experts.
    int64_t getNumExperts() {
      return getRouterWeight().getType().getDimSize(0);
    }
    /// Whether the layer has shared experts.
    bool hasSharedExperts() { return static_cast<bool>(getSharedUpWeight()); }
    /// The number of experts of the routed F that the shared experts run
    /// as (Fs / F); 0 without shared experts.
    int64_t getNumSharedSlices();
  }];
}

#endif // MOE_DIALECT_MOE_IR_MOEOPS_TD

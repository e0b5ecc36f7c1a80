//===- Passes.td - MoE dialect transformation passes -------*- tablegen -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// Passes that rewrite MoE dialect ops into finer MoE ops and upstream ops.
// Keep alphabetical.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_TRANSFORMS_PASSES_TD
#define MOE_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def MoEDecomposeExpertFFNPass
    : Pass<"moe-decompose-expert-ffn"> {
  let summary = "Decompose moe.expert_ffn into grouped matmuls and an "
                "elementwise activation";
  let description = [{
    Rewrites every `moe.expert_ffn` into `moe.grouped_matmul` ops for the
    gate, up and down projections (each over the experts' own segments of
    rows) and one elementwise `linalg.generic` applying the activation (and
    the gate * up product of gated FFNs) in between. The result accumulates
    into the op's `outs`, as the op does.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::moe::MoEDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def MoEDecomposeLayerPass
    : Pass<"moe-decompose-layer"> {
  let summary = "Decompose moe.layer into routing, dispatch, experts and "
                "combine";
  let description = [{
    Expands every `moe.layer` into the steps of a sparse MoE layer:

    ```
    moe.router -> moe.top_k -> moe.dispatch -> moe.permute
               -> moe.expert_ffn -> moe.combine
    ```

    Intermediate results live in `tensor.empty` destinations sized from the
    token count T (dynamic) and R = T * k; the expert FFN accumulates into a
    zero-filled [R, D] tensor and `moe.combine` into the layer's `outs`.

    With `segment-alignment` B > 1 (the CPU pipeline sets its kernels' row
    tile), `moe.dispatch` pads each expert's segment of rows to a multiple
    of B, and R becomes T * k + E * (B - 1): the expert matmuls then run
    whole B-row tiles only, instead of a one-row remainder loop that reads
    the expert's weights once a row.
  }];
  let options = [
    Option<"segmentAlignment", "segment-alignment", "int64_t",
           /*default=*/"1",
           "Pad each expert's segment of rows to a multiple of this">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::moe::MoEDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def MoEFuseGateUpPass : Pass<"moe-fuse-gate-up"> {
  let summary = "Fuse the gate and up grouped matmuls of a gated FFN with "
                "its activation";
  let description = [{
    Rewrites `moe.gated_activation` of two `moe.grouped_matmul`s (the gate
    and up projections) into one `moe.grouped_gated_matmul`: a grouped GEMM
    over both weights whose epilogue applies the activation. The [R, F]
    gate and up projections are then never materialised.

    The projections must read the same rows through the same expert
    offsets, start from zero, share a weight layout (not `pair_panels`) and
    have no other use; every use of the activation must be a grouped matmul
    over the same offsets, which reads only the experts' segments (the
    fused op leaves the rows past `offsets[E]` unset).
  }];
  let dependentDialects = ["::mlir::moe::MoEDialect"];
}

def MoEFuseGatherPass : Pass<"moe-fuse-gather"> {
  let summary = "Read a gated FFN's rows through the token ids instead of "
                "a permuted copy";
  let description = [{
    Folds `moe.permute` into the `moe.grouped_gated_matmul`s that read its
    result: the matmul takes the token rows and the permutation's token ids
    (`gather`), and each of its tiles reads its rows through the ids, in
    its prologue. The [R, D] copy of the activations in expert order is
    then never written, nor read back.

    The matmul must run over the permute's expert offsets, so that it reads
    only rows of the experts' segments, which the permute sets; the permute
    goes once nothing else reads it.
  }];
  let dependentDialects = ["::mlir::moe::MoEDialect"];
}

def MoEFuseCombinePass : Pass<"moe-fuse-combine"> {
  let summary = "Run the combine in the epilogue of the grouped matmul whose "
                "rows it adds";
  let description = [{
    Folds `moe.combine` into the `moe.grouped_matmul` (the down projection)
    that produces its rows: the matmul takes the combine's token ids,
    routing weights and [T, N] destination (`combine`), and each tile of a
    segment's rows, once its sums are complete, adds them, scaled by their
    routing weights, into their tokens' rows. The [R, N] rows of the experts
    are then never written, nor read back.

    Each output element still sums its contributions in row order (expert
    by expert, in token order within an expert), the order `moe.combine`
    adds them in, so the result is the same, bit for bit.

    The matmul must accumulate into a zero `linalg.fill` (as the
    decomposition's do), run over the combine's expert offsets, and have no
    other user.
  }];
  let dependentDialects = ["::mlir::moe::MoEDialect"];
}

def MoESplitGroupedMatmulKPass : Pass<"moe-split-grouped-matmul-k"> {
  let summary = "Split a grouped matmul's reduction into independent parts "
                "over slices of K";
  let description = [{
    Rewrites a `moe.grouped_matmul` with a static reduction size K of at
    least `min-k` into up to `parts` grouped matmuls, each over a slice of
    K (the input's columns and the weight's K dimension, slices a multiple
    of `k-multiple` long, the last one the rest), each from zero and
    independent of the others, and one elementwise sum that adds their
    results, in slice order, to the destination. The bias goes with the
    first slice.

    A target whose matmul kernels spread each segment's columns over
    parallel workers (GPU blocks) has, at decode, few of them for a narrow
    output: one token routed to two experts of D = 4,096 output columns is
    64 blocks of 128 columns. The parts are independent, so such a target
    runs them side by side, `parts` times the blocks, each streaming its
    slice of the weights. The sums are f32 in another order: results
    differ from the unsplit matmul's by rounding.

    Matmuls that combine their rows (`combine`), and weight layouts other
    than `nk` and `kn`, are left as they are.
  }];
  let options = [
    Option<"parts", "parts", "int64_t", /*default=*/"4",
           "The most parts a matmul's reduction is split into">,
    Option<"minK", "min-k", "int64_t", /*default=*/"2048",
           "The smallest reduction size that is split">,
    Option<"kMultiple", "k-multiple", "int64_t", /*default=*/"32",
           "Each slice but the last is a multiple of this long">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::moe::MoEDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def MoEFuseSharedExpertsPass : Pass<"moe-fuse-shared-experts"> {
  let summary = "Run a layer's shared experts in its routed experts' grouped "
                "loop";
  let description = [{
    Folds the always-on FFN that a `moe.layer` accumulates into (its `outs`
    is a `moe.expert_ffn` of one expert whose segment is every token of the
    layer's input, or that FFN's output times a per-token scale computed
    from a [T, 1] tensor, as Qwen2-MoE's sigmoid gate does) into the layer
    as its shared experts. `moe-decompose-layer` then cuts the shared FFN
    into Fs / F experts of the routed experts' F and routes every token to
    each with the scale as its weight: one dispatch, one grouped FFN over
    E + Fs / F experts and one combine, instead of a dense FFN beside them.

    The shared FFN must have the experts' activation and weight element
    types, Fs must be a multiple of F, and neither may have biases; the
    layer must be dropless. A scaled FFN must accumulate into zeros.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
    "::mlir::moe::MoEDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def MoEFuseRouterPass : Pass<"moe-fuse-router"> {
  let summary = "Fuse a router with the top-k selection of its scores";
  let description = [{
    Rewrites `moe.top_k` of the scores of a `moe.router` into one
    `moe.router_top_k`: logits, scoring, group selection and top-k in one
    pass over each token's scores. Its lowering computes the scores a block
    of tokens at a time, on every thread, and never writes the [T, E]
    scores whole.

    The router's scores must have no other use (an auxiliary loss or
    `expert_counts` output reading them keeps the two ops) and the router
    no noise (its draws are numbered by absolute token position).
  }];
  let dependentDialects = ["::mlir::moe::MoEDialect"];
}

def MoEOutlineLayersPass : Pass<"moe-outline-layers", "::mlir::ModuleOp"> {
  let summary = "Outline each moe.layer, with what only it uses, into a "
                "function";
  let description = [{
    Moves every `moe.layer` at the top level of a function into a private
    function of its own, together with the producers that only it uses (its
    norm, shared experts, their gates and constants), and calls that
    function in its place. Values the layer shares with the rest of the
    model (the residual stream, the token count) and the weights become the
    function's arguments, so layers of the same shape outline to identical
    functions, which `duplicate-function-elimination` then merges: each
    distinct layer shape is compiled once, and compile time grows with the
    number of distinct shapes, not the depth of the model.

    The chain of elementwise linalg ops that the layer's result alone feeds
    (the residual add) moves too, and the call takes the place of its last
    op: left in the caller, each would be one more parallel loop there per
    layer.

    The `tensor.empty` a layer's result (and that chain's) is finally
    written into stays with the caller and is passed in: the function writes its result in place
    (destination passing), so no buffer escapes it.

    The functions carry `no_inline` (and their calls too), so neither the
    MLIR inliner nor LLVM's merges them back into one function.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def MoEVersionLayersPass : Pass<"moe-version-layers", "::mlir::ModuleOp"> {
  let summary = "Give each outlined layer a version for few tokens, with "
                "its own pass options";
  let description = [{
    The schedule that streams an expert's weights fastest at one token
    (decode: many blocks over K, weights deep in flight) is not the one that
    keeps the tensor cores busy at thousands (prefill), and a compiled model
    runs both. For each function `--moe-outline-layers` made (marked
    `moe.layer_function`) and something calls, this pass adds a copy, named
    with the suffix `_decode`, that carries `moe.pass_options`: the options
    the passes named there run with on it in place of their own
    (`pass-options`, entries `argument{key=value ...}`). The layer function
    names its copy (`moe.decode_version`) and the most tokens it is for
    (`moe.decode_tokens`, `max-tokens`).

    The calls stay as they are until `--moe-call-layer-versions` makes each
    choose by its token count, once bufferization has made the calls write
    into their destinations (a choice between two calls with tensor results
    would give each version a buffer of its own and copy the one chosen).
    Until then the reference keeps the copy alive.
  }];
  let options = [
    Option<"maxTokens", "max-tokens", "int64_t", /*default=*/"0",
           "Calls of at most this many tokens take the version for few "
           "tokens (0: no versions)">,
    ListOption<"passOptions", "pass-options", "std::string",
               "The version's options, each 'pass-argument{key=value ...}'">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def MoECallLayerVersionsPass
    : Pass<"moe-call-layer-versions", "::mlir::ModuleOp"> {
  let summary = "Make each call of a versioned layer choose its version by "
                "token count";
  let description = [{
    Replaces each call of a function with a `moe.decode_version` by an
    `scf.if` on the call's token count (dimension 0 of its first operand
    whose dimension 0 is dynamic): at most `moe.decode_tokens` tokens call
    the version, more the function itself, with the same operands. The
    two functions must have the same type. A call whose token count cannot
    be found is an error.

    On buffers, where a layer writes its result into the destination it is
    passed and its call has no results, the `scf.if` has none either: both
    versions write the same buffers.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // MOE_TRANSFORMS_PASSES_TD

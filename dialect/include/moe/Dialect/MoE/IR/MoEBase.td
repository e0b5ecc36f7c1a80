//===- MoEBase.td - MoE dialect definition -----------------*- tablegen -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The MoE dialect, its attributes and the base class of its ops.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_DIALECT_MOE_IR_MOEBASE_TD
#define MOE_DIALECT_MOE_IR_MOEBASE_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/OpBase.td"
include "moe/Dialect/MoE/IR/MoEEnums.td"

def MoE_Dialect : Dialect {
  let name = "moe";
  let cppNamespace = "::mlir::moe";
  let summary = "Sparse Mixture-of-Experts routing, dispatch, experts and combine";
  let description = [{
    The MoE dialect expresses one sparse Mixture-of-Experts layer as a chain
    of composable ops on tensors:

    ```
    router -> top_k -> dispatch -> permute -> expert_ffn -> combine
    ```

    `moe.router` scores every token against every expert (the only step
    whose cost is proportional to the number of experts E). `moe.top_k`
    keeps k experts per token. `moe.dispatch` builds the routing metadata:
    per-expert counts and offsets, and the token of every (token, expert)
    assignment grouped by expert. `moe.permute` gathers token rows into that
    grouped order, `moe.expert_ffn` runs each expert on its own contiguous
    segment only (decomposable into `moe.grouped_matmul`), and `moe.combine`
    scatters the weighted rows back to token order. Every step after the
    router costs O(T * k), never O(T * E): the dialect has no op that runs an
    expert on tokens not routed to it.

    `moe.layer` is the whole layer as one op; `--moe-decompose-layer` expands
    it into the steps above.

    All compute ops are destination-passing style: results take the type of
    their `outs` operands, as in linalg.
  }];
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::tensor::TensorDialect"];

  // The attributes the compiler marks IR with, on ops of other dialects and
  // on function arguments. Each is `moe.<name>`; the dialect verifies where
  // it may appear and what it holds (MoEDialect.cpp).
  let discardableAttrs = (ins
    // On the model's func.func: the function the entry points call.
    "::mlir::UnitAttr":$entry,
    // On the module: the model's name, from its JSON.
    "::mlir::StringAttr":$model_name,
    // On an argument of the entry: the graph input it is.
    "::mlir::StringAttr":$input,
    // On an argument of the entry: the weight parameter it is.
    "::mlir::StringAttr":$param,
    // On a weight argument of the entry: the permutation of its dims that
    // moe_prepare applies between the raw and the prepared arena.
    "::mlir::DenseI64ArrayAttr":$prepare_permutation,
    // On an argument of the entry: a weight that is the concatenation,
    // along dimension 0, of the prepared forms of the weight arguments at
    // these positions, which moe_prepare lays out one after another.
    "::mlir::DenseI64ArrayAttr":$param_concat,
    // On the entry: the parameter arena's size in bytes.
    "::mlir::IntegerAttr":$param_bytes,
    // On a func.func: one moe.layer outlined by --moe-outline-layers.
    "::mlir::UnitAttr":$layer_function,
    // On a func.func: the options some passes run with on this function in
    // place of their own, a string of `key=value` options keyed by the
    // pass's argument (a layer's version for few tokens, with its own GPU
    // schedule: --moe-version-layers).
    "::mlir::DictionaryAttr":$pass_options,
    // On a layer function: its version for few tokens (decode), which
    // calls of at most `decode_tokens` tokens run instead
    // (--moe-version-layers, then --moe-call-layer-versions).
    "::mlir::FlatSymbolRefAttr":$decode_version,
    "::mlir::IntegerAttr":$decode_tokens,
    // On a linalg op: one expert segment's contraction of a lowered
    // grouped matmul, which targets tile.
    "::mlir::UnitAttr":$segment_matmul,
    // On a linalg op: the elementwise epilogue of one expert segment of a
    // lowered grouped gated matmul; its first two inputs are the segment's
    // gate and up contractions, which targets fuse into its tiles.
    "::mlir::UnitAttr":$segment_epilogue,
    // On a linalg op: the rows one expert segment of a lowered grouped
    // gated matmul gathers through the token ids (`gather`), which targets
    // fuse into the tiles of its contractions.
    "::mlir::UnitAttr":$segment_gather,
    // On a linalg op: a router's logits contraction, x W (the weight [D, E]
    // laid out at load time) over a block of tokens, which targets tile.
    "::mlir::UnitAttr":$router_logits,
    // On an scf.for: the loop over the experts' segments of a lowered
    // grouped matmul. Its iterations write disjoint rows and read nothing
    // another iteration writes, so a target may reorder them or run an
    // inner parallel loop outside them.
    "::mlir::UnitAttr":$segment_loop,
    // On a linalg op: the kernel a CPU tiling schedule targets, by number.
    "::mlir::IntegerAttr":$tile_target,
    // On a linalg.fill: the destination fill of that numbered kernel.
    "::mlir::IntegerAttr":$tile_fill,
    // On a linalg op: a tile of at most 16 rows and 8 columns of a segment
    // matmul with BF16 weights, whose body rounds the activations to bf16,
    // that one GPU warp computes with tensor-core mma.sync
    // (moe-gpu-distribute marks it, moe-gpu-warp-mma rewrites it).
    "::mlir::UnitAttr":$warp_mma
  );
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
}

def MoE_ScoringFnAttr : EnumAttr<MoE_Dialect, MoE_ScoringFn, "scoring"> {
  let assemblyFormat = "`<` $value `>`";
}
def MoE_ActivationAttr : EnumAttr<MoE_Dialect, MoE_Activation, "activation"> {
  let assemblyFormat = "`<` $value `>`";
}
def MoE_WeightLayoutAttr
    : EnumAttr<MoE_Dialect, MoE_WeightLayout, "weight_layout"> {
  let assemblyFormat = "`<` $value `>`";
}
/// A weight layout attribute, `nk` unless given.
def MoE_DefaultWeightLayoutAttr
    : DefaultValuedAttr<MoE_WeightLayoutAttr, "::mlir::moe::WeightLayout::nk">;

/// Base class of every MoE op.
class MoE_Op<string mnemonic, list<Trait> traits = []>
    : Op<MoE_Dialect, mnemonic, traits>;

#endif // MOE_DIALECT_MOE_IR_MOEBASE_TD

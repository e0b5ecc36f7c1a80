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
}

def MoE_ScoringFnAttr : EnumAttr<MoE_Dialect, MoE_ScoringFn, "scoring"> {
  let assemblyFormat = "`<` $value `>`";
}
def MoE_ActivationAttr : EnumAttr<MoE_Dialect, MoE_Activation, "activation"> {
  let assemblyFormat = "`<` $value `>`";
}

/// Base class of every MoE op.
class MoE_Op<string mnemonic, list<Trait> traits = []>
    : Op<MoE_Dialect, mnemonic, traits>;

#endif // MOE_DIALECT_MOE_IR_MOEBASE_TD

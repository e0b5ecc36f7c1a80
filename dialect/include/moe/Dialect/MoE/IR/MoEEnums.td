//===- MoEEnums.td - MoE dialect enumerations --------------*- tablegen -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// Enumerations shared by the MoE dialect's ops: how router logits become
// scores, and which activation an expert FFN applies.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_DIALECT_MOE_IR_MOEENUMS_TD
#define MOE_DIALECT_MOE_IR_MOEENUMS_TD

include "mlir/IR/EnumAttr.td"

def MoE_ScoringFn : I32EnumAttr<"ScoringFn",
    "function turning router logits into expert scores", [
  I32EnumAttrCase<"softmax", 0>,
  I32EnumAttrCase<"sigmoid", 1>
]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::moe";
}

def MoE_Activation : I32EnumAttr<"Activation",
    "activation applied inside an expert FFN", [
  I32EnumAttrCase<"silu", 0>,
  I32EnumAttrCase<"gelu", 1>,
  I32EnumAttrCase<"gelu_tanh", 2>,
  I32EnumAttrCase<"relu", 3>,
  I32EnumAttrCase<"swiglu_oai", 4>
]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::moe";
}

def MoE_WeightLayout : I32EnumAttr<"WeightLayout",
    "how a matmul's weight [E, N, K] is laid out", [
  // [E, N, K]: nn.Linear's (a router's weight: [E, D]).
  I32EnumAttrCase<"nk", 0>,
  // [E, K, N], transposed (a router's weight: [D, E]).
  I32EnumAttrCase<"kn", 1>,
  // [E, N/P, K, P]: [E, K, N] in panels of P columns.
  I32EnumAttrCase<"panels", 2>,
  // [E, N/P, K/2, P, 2]: panels, each a K-major run of pairs of k.
  I32EnumAttrCase<"pair_panels", 3>
]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::moe";
}

#endif // MOE_DIALECT_MOE_IR_MOEENUMS_TD

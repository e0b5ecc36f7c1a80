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

#endif // MOE_DIALECT_MOE_IR_MOEENUMS_TD

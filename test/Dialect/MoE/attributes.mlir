// RUN: moe-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// The MoE dialect's discardable attributes where they belong: the verifier
// accepts them and they print back unchanged.

// CHECK: module attributes {moe.model_name = "tiny"}
module attributes {moe.model_name = "tiny"} {
  // CHECK: func.func @model(%{{.*}}: tensor<?x4xf32> {moe.input = "x"}, %{{.*}}: tensor<2x3x4xf32> {moe.param = "y.up_proj", moe.prepare_permutation = array<i64: 0, 2, 1>}) attributes {moe.entry, moe.param_bytes = 96 : i64}
  func.func @model(%x: tensor<?x4xf32> {moe.input = "x"},
                   %w: tensor<2x3x4xf32> {moe.param = "y.up_proj",
                                          moe.prepare_permutation = array<i64: 0, 2, 1>})
      attributes {moe.entry, moe.param_bytes = 96 : i64} {
    return
  }
  // CHECK: func.func private @moe_layer() attributes {moe.layer_function}
  func.func private @moe_layer() attributes {moe.layer_function}
  // CHECK: func.func private @moe_layer_0() attributes {moe.decode_tokens = 16 : i64, moe.decode_version = @moe_layer_0_decode, moe.layer_function}
  func.func private @moe_layer_0() attributes {moe.decode_tokens = 16 : i64, moe.decode_version = @moe_layer_0_decode, moe.layer_function}
  // CHECK: func.func private @moe_layer_0_decode() attributes {moe.layer_function, moe.pass_options = {"moe-gpu-distribute" = "column-block=64"}}
  func.func private @moe_layer_0_decode() attributes {moe.layer_function, moe.pass_options = {"moe-gpu-distribute" = "column-block=64"}}
}

// -----

// A weight that is the concatenation of two others along dimension 0, as
// the parameter concatenation appends it after its parts.
// CHECK-LABEL: func.func @concat
// CHECK-SAME: %{{.*}}: tensor<2x4xf32> {moe.param = "a"}, %{{.*}}: tensor<4x4xf32> {moe.param = "b"}, %{{.*}}: tensor<6x4xf32> {moe.param_concat = array<i64: 0, 1>}
func.func @concat(%a: tensor<2x4xf32> {moe.param = "a"},
                  %b: tensor<4x4xf32> {moe.param = "b"},
                  %w: tensor<6x4xf32> {moe.param_concat = array<i64: 0, 1>}) {
  return
}

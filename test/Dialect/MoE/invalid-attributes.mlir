// RUN: moe-opt %s -split-input-file -verify-diagnostics

// Every diagnostic of the MoE dialect's discardable-attribute verifiers,
// one case per split.

// expected-error @+1 {{'func.func' op attribute 'moe.entry' must be a unit attribute, got 1 : i64}}
func.func @entry_value() attributes {moe.entry = 1} {
  return
}

// -----

// expected-error @+1 {{'builtin.module' op attribute 'moe.entry' is only valid on functions}}
module attributes {moe.entry} {
}

// -----

// expected-error @+1 {{'func.func' op attribute 'moe.pass_options' must be a dictionary, got "column-block=64"}}
func.func @pass_options_string() attributes {moe.pass_options = "column-block=64"} {
  return
}

// -----

// expected-error @+1 {{'func.func' op attribute 'moe.pass_options' must map pass arguments to option strings, got 64 : i64 for 'moe-gpu-distribute'}}
func.func @pass_options_integer() attributes {moe.pass_options = {"moe-gpu-distribute" = 64}} {
  return
}

// -----

// expected-error @+1 {{'builtin.module' op attribute 'moe.pass_options' is only valid on functions}}
module attributes {moe.pass_options = {}} {
}

// -----

// expected-error @+1 {{'func.func' op attribute 'moe.decode_version' must be a function's name, got "layer_decode"}}
func.func @decode_version_string() attributes {moe.decode_version = "layer_decode"} {
  return
}

// -----

// expected-error @+1 {{'builtin.module' op attribute 'moe.decode_version' is only valid on functions}}
module attributes {moe.decode_version = @layer_decode} {
}

// -----

// expected-error @+1 {{'func.func' op attribute 'moe.decode_tokens' must be positive}}
func.func @decode_tokens_zero() attributes {moe.decode_tokens = 0 : i64} {
  return
}

// -----

// expected-error @+1 {{'func.func' op attribute 'moe.decode_tokens' must be an integer, got "4"}}
func.func @decode_tokens_string() attributes {moe.decode_tokens = "4"} {
  return
}

// -----

// expected-error @+1 {{'func.func' op attribute 'moe.param_bytes' must not be negative}}
func.func @param_bytes_negative() attributes {moe.param_bytes = -64 : i64} {
  return
}

// -----

// expected-error @+1 {{'func.func' op attribute 'moe.param_bytes' must be an integer, got "64"}}
func.func @param_bytes_string() attributes {moe.param_bytes = "64"} {
  return
}

// -----

// expected-error @+1 {{'func.func' op attribute 'moe.model_name' is only valid on modules}}
func.func @model_name_on_function() attributes {moe.model_name = "m"} {
  return
}

// -----

// expected-error @+1 {{'builtin.module' op attribute 'moe.model_name' must be a string, got 3 : i64}}
module attributes {moe.model_name = 3} {
}

// -----

// expected-error @+1 {{'func.func' op attribute 'moe.input' is only valid on function arguments}}
func.func @input_on_function() attributes {moe.input = "x"} {
  return
}

// -----

// expected-error @+1 {{'func.func' op unknown MoE dialect attribute 'moe.entry_point'}}
func.func @unknown() attributes {moe.entry_point} {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 attribute 'moe.param' must be a non-empty string, got ""}}
func.func @param_empty(%w: tensor<4xf32> {moe.param = ""}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 attribute 'moe.input' must be a non-empty string, got unit}}
func.func @input_unit(%x: tensor<?x4xf32> {moe.input}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op attribute 'moe.entry' is not valid on arguments}}
func.func @entry_on_argument(%x: tensor<4xf32> {moe.entry}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 attribute 'moe.prepare_permutation' must have one entry per dim of the argument's type 'tensor<2x3x4xf32>'}}
func.func @permutation_rank(%w: tensor<2x3x4xf32> {moe.prepare_permutation = array<i64: 1, 0>}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 attribute 'moe.prepare_permutation' must be a permutation, got array<i64: 0, 2, 2>}}
func.func @permutation_repeats(%w: tensor<2x3x4xf32> {moe.prepare_permutation = array<i64: 0, 2, 2>}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 attribute 'moe.prepare_permutation' must be a dense i64 array, got [0, 1]}}
func.func @permutation_type(%w: tensor<2x3xf32> {moe.prepare_permutation = [0, 1]}) {
  return
}

// -----

func.func @segment_matmul_on_constant() {
  // expected-error @+1 {{'arith.constant' op attribute 'moe.segment_matmul' is only valid on destination-style ops}}
  %0 = arith.constant {moe.segment_matmul} 0 : index
  return
}

// -----

func.func @warp_mma_not_unit(%a: memref<4x4xf32>) {
  // expected-error @+1 {{'linalg.copy' op attribute 'moe.warp_mma' must be a unit attribute}}
  linalg.copy {moe.warp_mma = 1 : i64} ins(%a : memref<4x4xf32>)
      outs(%a : memref<4x4xf32>)
  return
}

// -----

func.func @segment_loop_on_constant() {
  // expected-error @+1 {{'arith.constant' op attribute 'moe.segment_loop' is only valid on loops}}
  %0 = arith.constant {moe.segment_loop} 0 : index
  return
}

// -----

func.func @tile_target_negative(%a: tensor<4x4xf32>) {
  // expected-error @+1 {{'linalg.copy' op attribute 'moe.tile_target' must not be negative}}
  %0 = linalg.copy {moe.tile_target = -1 : i64} ins(%a : tensor<4x4xf32>)
      outs(%a : tensor<4x4xf32>) -> tensor<4x4xf32>
  return
}

// -----

func.func @segment_gather_on_constant() {
  // expected-error @+1 {{'arith.constant' op attribute 'moe.segment_gather' is only valid on destination-style ops}}
  %0 = arith.constant {moe.segment_gather} 0 : index
  return
}

// -----

func.func @router_logits_not_unit(%a: memref<4x4xf32>) {
  // expected-error @+1 {{'linalg.copy' op attribute 'moe.router_logits' must be a unit attribute}}
  linalg.copy {moe.router_logits = 1 : i64} ins(%a : memref<4x4xf32>)
              outs(%a : memref<4x4xf32>)
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 attribute 'moe.param_concat' must be a non-empty dense i64 array, got [1]}}
func.func @param_concat_type(%w: tensor<4x3xf32> {moe.param_concat = [1]},
                             %a: tensor<4x3xf32> {moe.param = "a"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 attribute 'moe.param_concat' must be a non-empty dense i64 array, got array<i64>}}
func.func @param_concat_empty(%w: tensor<4x3xf32> {moe.param_concat = array<i64>}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 attribute 'moe.param_concat' must be on a statically shaped tensor, got 'tensor<?x3xf32>'}}
func.func @param_concat_dynamic(%w: tensor<?x3xf32> {moe.param_concat = array<i64: 1>},
                                %a: tensor<4x3xf32> {moe.param = "a"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 attribute 'moe.param_concat' must be on a statically shaped tensor, got 'memref<4x3xf32>'}}
func.func @param_concat_memref(%w: memref<4x3xf32> {moe.param_concat = array<i64: 1>},
                               %a: memref<4x3xf32> {moe.param = "a"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 attribute 'moe.param_concat' must name other weight arguments, got 0}}
func.func @param_concat_self(%w: tensor<4x3xf32> {moe.param = "w", moe.param_concat = array<i64: 0>}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 attribute 'moe.param_concat' must name other weight arguments, got 2}}
func.func @param_concat_out_of_range(%w: tensor<4x3xf32> {moe.param_concat = array<i64: 1, 2>},
                                     %a: tensor<4x3xf32> {moe.param = "a"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 attribute 'moe.param_concat' must name other weight arguments, got -1}}
func.func @param_concat_negative(%w: tensor<4x3xf32> {moe.param_concat = array<i64: -1>},
                                 %a: tensor<4x3xf32> {moe.param = "a"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 attribute 'moe.param_concat' must name other weight arguments, got 2}}
func.func @param_concat_not_param(%w: tensor<4x3xf32> {moe.param_concat = array<i64: 1, 2>},
                                  %a: tensor<2x3xf32> {moe.param = "a"},
                                  %x: tensor<2x3xf32> {moe.input = "x"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 attribute 'moe.param_concat' must name weights of type 'tensor<4x3xf32>' but for dimension 0, got 'tensor<2x3x1xf32>'}}
func.func @param_concat_part_rank(%w: tensor<4x3xf32> {moe.param_concat = array<i64: 1, 2>},
                                  %a: tensor<2x3xf32> {moe.param = "a"},
                                  %b: tensor<2x3x1xf32> {moe.param = "b"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 attribute 'moe.param_concat' must name weights of type 'tensor<4x3xf32>' but for dimension 0, got 'tensor<2x3xbf16>'}}
func.func @param_concat_part_element_type(%w: tensor<4x3xf32> {moe.param_concat = array<i64: 1, 2>},
                                          %a: tensor<2x3xf32> {moe.param = "a"},
                                          %b: tensor<2x3xbf16> {moe.param = "b"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 attribute 'moe.param_concat' must name weights of type 'tensor<4x3xf32>' but for dimension 0, got 'tensor<2x5xf32>'}}
func.func @param_concat_part_shape(%w: tensor<4x3xf32> {moe.param_concat = array<i64: 1, 2>},
                                   %a: tensor<2x3xf32> {moe.param = "a"},
                                   %b: tensor<2x5xf32> {moe.param = "b"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 attribute 'moe.param_concat' names weights of 3 rows in all, expected 4}}
func.func @param_concat_rows(%w: tensor<4x3xf32> {moe.param_concat = array<i64: 1, 2>},
                             %a: tensor<2x3xf32> {moe.param = "a"},
                             %b: tensor<1x3xf32> {moe.param = "b"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op attribute 'moe.param_concat' is only valid on function arguments}}
func.func @param_concat_on_function() attributes {moe.param_concat = array<i64: 0>} {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 attribute 'moe.param_concat' names argument 1 twice}}
func.func @param_concat_twice(%w: tensor<4x3xf32> {moe.param_concat = array<i64: 1, 1>},
                              %a: tensor<2x3xf32> {moe.param = "a"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 attribute 'moe.param_concat' must name weights of type 'tensor<4x3xf32>' but for dimension 0, got 'tensor<?x3xf32>'}}
func.func @param_concat_dynamic_parts(%w: tensor<4x3xf32> {moe.param_concat = array<i64: 1, 2, 3>},
                                      %a: tensor<?x3xf32> {moe.param = "a"},
                                      %b: tensor<?x3xf32> {moe.param = "b"},
                                      %c: tensor<4x3xf32> {moe.param = "c"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 attribute 'moe.param_concat' must name other weight arguments, got 1}}
func.func @param_concat_of_concat(%w: tensor<4x3xf32> {moe.param_concat = array<i64: 1>},
                                  %v: tensor<4x3xf32> {moe.param = "v", moe.param_concat = array<i64: 2, 3>},
                                  %a: tensor<2x3xf32> {moe.param = "a"},
                                  %b: tensor<2x3xf32> {moe.param = "b"}) {
  return
}

// RUN: moe-opt %s -split-input-file -verify-diagnostics

// The verifiers also run on ops written in the generic form, and malformed
// enum keywords in the custom form are parse errors.

func.func @generic_router_hidden_mismatch(%x: tensor<?x64xf32>,
                                          %w: tensor<8x32xf32>,
                                          %init: tensor<?x8xf32>) {
  // expected-error @+1 {{'moe.router' op weight dimension 1 (hidden size D) must be 64, got 32}}
  %0 = "moe.router"(%x, %w, %init) <{scoring = #moe.scoring<softmax>,
           operandSegmentSizes = array<i32: 1, 1, 0, 0, 1>}>
         : (tensor<?x64xf32>, tensor<8x32xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @generic_top_k_groups_not_dividing(%s: tensor<?x8xf32>,
                                             %w: tensor<?x2xf32>,
                                             %i: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.top_k' op num_groups = 3 must be positive and divide E = 8}}
  %0:2 = "moe.top_k"(%s, %w, %i) <{num_groups = 3 : i64}>
           : (tensor<?x8xf32>, tensor<?x2xf32>, tensor<?x2xi32>)
           -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return
}

// -----

func.func @generic_dispatch_zero_capacity(%idx: tensor<?x2xi32>,
                                          %w: tensor<?x2xf32>,
                                          %c: tensor<8xi32>, %o: tensor<9xi32>,
                                          %t: tensor<?xi32>, %rw: tensor<?xf32>) {
  // expected-error @+1 {{'moe.dispatch' op capacity_factor = 0.000000e+00 must be positive and finite}}
  %0:4 = "moe.dispatch"(%idx, %w, %c, %o, %t, %rw) <{capacity_factor = 0.0 : f64}>
           : (tensor<?x2xi32>, tensor<?x2xf32>, tensor<8xi32>, tensor<9xi32>,
              tensor<?xi32>, tensor<?xf32>)
           -> (tensor<8xi32>, tensor<9xi32>, tensor<?xi32>, tensor<?xf32>)
  return
}

// -----

func.func @generic_permute_one_offset(%x: tensor<?x64xf32>, %t: tensor<?xi32>,
                                      %o: tensor<1xi32>,
                                      %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.permute' op expert_offsets dimension 0 (experts E + 1) must be at least 2, got 1}}
  %0 = "moe.permute"(%x, %t, %o, %init)
         : (tensor<?x64xf32>, tensor<?xi32>, tensor<1xi32>, tensor<?x64xf32>)
         -> tensor<?x64xf32>
  return
}

// -----

func.func @generic_grouped_matmul_bias_mismatch(%x: tensor<?x64xf32>,
                                                %w: tensor<8x128x64xf32>,
                                                %o: tensor<9xi32>,
                                                %b: tensor<8x64xf32>,
                                                %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op bias dimension 1 (output width N) must be 128, got 64}}
  %0 = "moe.grouped_matmul"(%x, %w, %o, %b, %init)
         <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 1>}>
         : (tensor<?x64xf32>, tensor<8x128x64xf32>, tensor<9xi32>,
            tensor<8x64xf32>, tensor<?x128xf32>) -> tensor<?x128xf32>
  return
}

// -----

func.func @generic_grouped_matmul_combine_without_weights(%x: tensor<?x64xf32>,
                                                         %w: tensor<8x128x64xf32>,
                                                         %o: tensor<9xi32>,
                                                         %t: tensor<?xi32>,
                                                         %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op combine needs both token_ids and row_weights}}
  %0 = "moe.grouped_matmul"(%x, %w, %o, %t, %init)
         <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 1>}>
         : (tensor<?x64xf32>, tensor<8x128x64xf32>, tensor<9xi32>,
            tensor<?xi32>, tensor<?x128xf32>) -> tensor<?x128xf32>
  return
}

// -----

func.func @generic_expert_ffn_gate_bias_without_gate(
    %x: tensor<?x64xf32>, %o: tensor<9xi32>, %wu: tensor<8x128x64xf32>,
    %wd: tensor<8x64x128xf32>, %bf: tensor<8x128xf32>,
    %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op gate_bias requires a gate weight}}
  %0 = "moe.expert_ffn"(%x, %o, %wu, %wd, %bf, %init)
         <{activation = #moe.activation<silu>,
           operandSegmentSizes = array<i32: 1, 1, 0, 1, 1, 1, 0, 0, 1>}>
         : (tensor<?x64xf32>, tensor<9xi32>, tensor<8x128x64xf32>,
            tensor<8x64x128xf32>, tensor<8x128xf32>, tensor<?x64xf32>)
         -> tensor<?x64xf32>
  return
}

// -----

func.func @generic_combine_token_ids_mismatch(%h: tensor<8x64xf32>,
                                              %t: tensor<6xi32>,
                                              %rw: tensor<?xf32>,
                                              %o: tensor<9xi32>,
                                              %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.combine' op token_ids dimension 0 (rows R) must be 8, got 6}}
  %0 = "moe.combine"(%h, %t, %rw, %o, %init)
         : (tensor<8x64xf32>, tensor<6xi32>, tensor<?xf32>, tensor<9xi32>,
            tensor<?x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @generic_layer_swiglu_alpha_with_silu(
    %x: tensor<?x64xf32>, %wr: tensor<8x64xf32>, %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>, %wd: tensor<8x64x128xf32>,
    %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op swiglu_alpha and swiglu_limit apply to activation swiglu_oai only, got activation silu}}
  %0 = "moe.layer"(%x, %wr, %wg, %wu, %wd, %init)
         <{activation = #moe.activation<silu>, scoring = #moe.scoring<softmax>,
           top_k = 2 : i64, swiglu_alpha = 1.702 : f32,
           operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1>}>
         : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>,
            tensor<8x128x64xf32>, tensor<8x64x128xf32>, tensor<?x64xf32>)
         -> tensor<?x64xf32>
  return
}

// -----

// The ODS-generated checks run before the hand-written verifiers.

func.func @generic_router_missing_scoring(%x: tensor<?x64xf32>,
                                          %w: tensor<8x64xf32>,
                                          %init: tensor<?x8xf32>) {
  // expected-error @+1 {{'moe.router' op requires attribute 'scoring'}}
  %0 = "moe.router"(%x, %w, %init)
         <{operandSegmentSizes = array<i32: 1, 1, 0, 0, 1>}>
         : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @generic_router_result_type_mismatch(%x: tensor<?x64xf32>,
                                               %w: tensor<8x64xf32>,
                                               %init: tensor<?x8xf32>) {
  // expected-error @+1 {{'moe.router' op failed to verify that all of {init, result} have same type}}
  %0 = "moe.router"(%x, %w, %init) <{scoring = #moe.scoring<softmax>,
           operandSegmentSizes = array<i32: 1, 1, 0, 0, 1>}>
         : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<?x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @generic_top_k_f64_scaling_factor(%s: tensor<?x8xf32>,
                                            %w: tensor<?x2xf32>,
                                            %i: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.top_k' op attribute 'scaling_factor' failed to satisfy constraint: 32-bit float attribute}}
  %0:2 = "moe.top_k"(%s, %w, %i) <{scaling_factor = 2.0 : f64}>
           : (tensor<?x8xf32>, tensor<?x2xf32>, tensor<?x2xi32>)
           -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return
}

// -----

func.func @unknown_scoring(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>,
                           %init: tensor<?x8xf32>) {
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
  // expected-error @+2 {{expected ::mlir::moe::ScoringFn to be one of: softmax, sigmoid}}
  // expected-error @+1 {{failed to parse MoE_ScoringFnAttr parameter 'value' which is to be a `::mlir::moe::ScoringFn`}}
         outs(%init : tensor<?x8xf32>) scoring<tanh>
  return
}

// -----

func.func @unknown_activation(%x: tensor<?x64xf32>, %o: tensor<9xi32>,
                              %wu: tensor<8x128x64xf32>,
                              %wd: tensor<8x64x128xf32>,
                              %init: tensor<?x64xf32>) {
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
  // expected-error @+2 {{expected ::mlir::moe::Activation to be one of: silu, gelu, gelu_tanh, relu, swiglu_oai}}
  // expected-error @+1 {{failed to parse MoE_ActivationAttr parameter 'value' which is to be a `::mlir::moe::Activation`}}
         outs(%init : tensor<?x64xf32>) activation<swish>
  return
}

// -----

func.func @unknown_scoring_generic(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>,
                                   %init: tensor<?x8xf32>) {
  // expected-error @+2 {{expected ::mlir::moe::ScoringFn to be one of: softmax, sigmoid}}
  // expected-error @+1 {{failed to parse MoE_ScoringFnAttr parameter 'value' which is to be a `::mlir::moe::ScoringFn`}}
  %0 = "moe.router"(%x, %w, %init) <{scoring = #moe.scoring<tanh>,
           operandSegmentSizes = array<i32: 1, 1, 0, 0, 1>}>
         : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  return
}

// -----

// Noise and its seed come together; the custom form cannot spell one
// without the other, the generic form can.

func.func @generic_router_noise_without_seed(%x: tensor<?x64xf32>,
                                             %w: tensor<8x64xf32>,
                                             %wn: tensor<8x64xf32>,
                                             %init: tensor<?x8xf32>) {
  // expected-error @+1 {{'moe.router' op noise_weight and noise_seed must be given together, got only noise_weight}}
  %0 = "moe.router"(%x, %w, %wn, %init) <{scoring = #moe.scoring<softmax>,
           operandSegmentSizes = array<i32: 1, 1, 0, 1, 1>}>
         : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x64xf32>, tensor<?x8xf32>)
         -> tensor<?x8xf32>
  return
}

// -----

func.func @generic_layer_noise_without_seed(
    %x: tensor<?x64xf32>, %wr: tensor<8x64xf32>, %wn: tensor<8x64xf32>,
    %wu: tensor<8x128x64xf32>, %wd: tensor<8x64x128xf32>,
    %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op router_noise and noise_seed must be given together, got only router_noise}}
  %0 = "moe.layer"(%x, %wr, %wn, %wu, %wd, %init)
         <{activation = #moe.activation<relu>, scoring = #moe.scoring<softmax>,
           top_k = 2 : i64,
           operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1>}>
         : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x64xf32>,
            tensor<8x128x64xf32>, tensor<8x64x128xf32>, tensor<?x64xf32>)
         -> tensor<?x64xf32>
  return
}

// -----

func.func @generic_router_seed_not_i64(%x: tensor<?x64xf32>,
                                       %w: tensor<8x64xf32>,
                                       %wn: tensor<8x64xf32>,
                                       %init: tensor<?x8xf32>) {
  // expected-error @+1 {{'moe.router' op attribute 'noise_seed' failed to satisfy constraint: 64-bit signless integer attribute}}
  %0 = "moe.router"(%x, %w, %wn, %init) <{scoring = #moe.scoring<softmax>,
           noise_seed = 3 : i32,
           operandSegmentSizes = array<i32: 1, 1, 0, 1, 1>}>
         : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x64xf32>, tensor<?x8xf32>)
         -> tensor<?x8xf32>
  return
}

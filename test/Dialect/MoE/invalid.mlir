// RUN: moe-opt %s -split-input-file -verify-diagnostics

// Every diagnostic of the MoE op verifiers, one case per split.

func.func @router_input_rank(%x: tensor<64xf32>, %w: tensor<8x64xf32>,
                             %init: tensor<?x8xf32>) {
  // expected-error @+1 {{'moe.router' op input must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<64xf32>'}}
  %0 = moe.router ins(%x, %w : tensor<64xf32>, tensor<8x64xf32>)
         outs(%init : tensor<?x8xf32>) scoring<softmax>
  return
}

// -----

func.func @router_weight_element_type(%x: tensor<?x64xf32>, %w: tensor<8x64xi8>,
                                      %init: tensor<?x8xf32>) {
  // expected-error @+1 {{'moe.router' op weight must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<8x64xi8>'}}
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xi8>)
         outs(%init : tensor<?x8xf32>) scoring<softmax>
  return
}

// -----

func.func @router_init_element_type(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>,
                                    %init: tensor<?x8xi32>) {
  // expected-error @+1 {{'moe.router' op init must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<?x8xi32>'}}
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
         outs(%init : tensor<?x8xi32>) scoring<softmax>
  return
}

// -----

func.func @router_dynamic_experts(%x: tensor<?x64xf32>, %w: tensor<?x64xf32>,
                                  %init: tensor<?x8xf32>) {
  // expected-error @+1 {{'moe.router' op weight dimension 0 (experts E) must be static}}
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<?x64xf32>)
         outs(%init : tensor<?x8xf32>) scoring<softmax>
  return
}

// -----

func.func @router_hidden_mismatch(%x: tensor<?x64xf32>, %w: tensor<8x32xf32>,
                                  %init: tensor<?x8xf32>) {
  // expected-error @+1 {{'moe.router' op weight dimension 1 (hidden size D) must be 64, got 32}}
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x32xf32>)
         outs(%init : tensor<?x8xf32>) scoring<softmax>
  return
}

// -----

func.func @router_tokens_mismatch(%x: tensor<4x64xf32>, %w: tensor<8x64xf32>,
                                  %init: tensor<5x8xf32>) {
  // expected-error @+1 {{'moe.router' op init dimension 0 (tokens T) must be 4, got 5}}
  %0 = moe.router ins(%x, %w : tensor<4x64xf32>, tensor<8x64xf32>)
         outs(%init : tensor<5x8xf32>) scoring<softmax>
  return
}

// -----

func.func @router_experts_mismatch(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>,
                                   %init: tensor<?x4xf32>) {
  // expected-error @+1 {{'moe.router' op init dimension 1 (experts E) must be 8, got 4}}
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
         outs(%init : tensor<?x4xf32>) scoring<softmax>
  return
}

// -----

func.func @router_init_element_mismatch(%x: tensor<?x64xf32>,
                                        %w: tensor<8x64xf32>,
                                        %init: tensor<?x8xf16>) {
  // expected-error @+1 {{'moe.router' op init element type 'f16' must match input element type 'f32'}}
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
         outs(%init : tensor<?x8xf16>) scoring<softmax>
  return
}

// -----

func.func @router_bias_rank(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>,
                            %b: tensor<8x1xf32>, %init: tensor<?x8xf32>) {
  // expected-error @+1 {{'moe.router' op bias must be a rank-1 tensor of f16, bf16, f32 or f64, got 'tensor<8x1xf32>'}}
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
         bias(%b : tensor<8x1xf32>) outs(%init : tensor<?x8xf32>) scoring<softmax>
  return
}

// -----

func.func @router_bias_experts_mismatch(%x: tensor<?x64xf32>,
                                        %w: tensor<8x64xf32>, %b: tensor<4xf32>,
                                        %init: tensor<?x8xf32>) {
  // expected-error @+1 {{'moe.router' op bias dimension 0 (experts E) must be 8, got 4}}
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
         bias(%b : tensor<4xf32>) outs(%init : tensor<?x8xf32>) scoring<softmax>
  return
}

// -----

func.func @router_noise_rank(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>,
                             %wn: tensor<8xf32>, %init: tensor<?x8xf32>) {
  // expected-error @+1 {{'moe.router' op noise_weight must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<8xf32>'}}
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
         noise(%wn : tensor<8xf32>) seed(1) outs(%init : tensor<?x8xf32>) scoring<softmax>
  return
}

// -----

func.func @router_noise_experts_mismatch(%x: tensor<?x64xf32>,
                                         %w: tensor<8x64xf32>,
                                         %wn: tensor<4x64xf32>,
                                         %init: tensor<?x8xf32>) {
  // expected-error @+1 {{'moe.router' op noise_weight dimension 0 (experts E) must be 8, got 4}}
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
         noise(%wn : tensor<4x64xf32>) seed(1) outs(%init : tensor<?x8xf32>) scoring<softmax>
  return
}

// -----

func.func @router_noise_hidden_mismatch(%x: tensor<?x64xf32>,
                                        %w: tensor<8x64xf32>,
                                        %wn: tensor<8x32xf32>,
                                        %init: tensor<?x8xf32>) {
  // expected-error @+1 {{'moe.router' op noise_weight dimension 1 (hidden size D) must be 64, got 32}}
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
         noise(%wn : tensor<8x32xf32>) seed(1) outs(%init : tensor<?x8xf32>) scoring<softmax>
  return
}

// -----

func.func @router_seed_without_noise(%x: tensor<?x64xf32>,
                                     %w: tensor<8x64xf32>,
                                     %init: tensor<?x8xf32>) {
  // expected-error @+1 {{'moe.router' op noise_weight and noise_seed must be given together, got only noise_seed}}
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
         outs(%init : tensor<?x8xf32>) scoring<softmax> {noise_seed = 5 : i64}
  return
}

// -----

func.func @top_k_scores_rank(%s: tensor<8xf32>, %w: tensor<?x2xf32>,
                             %i: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.top_k' op scores must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<8xf32>'}}
  %0, %1 = moe.top_k ins(%s : tensor<8xf32>)
             outs(%w, %i : tensor<?x2xf32>, tensor<?x2xi32>)
  return
}

// -----

func.func @top_k_dynamic_experts(%s: tensor<?x?xf32>, %w: tensor<?x2xf32>,
                                 %i: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.top_k' op scores dimension 1 (experts E) must be static}}
  %0, %1 = moe.top_k ins(%s : tensor<?x?xf32>)
             outs(%w, %i : tensor<?x2xf32>, tensor<?x2xi32>)
  return
}

// -----

func.func @top_k_weights_element_type(%s: tensor<?x8xf32>, %w: tensor<?x2xi32>,
                                      %i: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.top_k' op weights must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<?x2xi32>'}}
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x2xi32>, tensor<?x2xi32>)
  return
}

// -----

func.func @top_k_indices_element_type(%s: tensor<?x8xf32>, %w: tensor<?x2xf32>,
                                      %i: tensor<?x2xi64>) {
  // expected-error @+1 {{'moe.top_k' op indices must be a rank-2 tensor of i32, got 'tensor<?x2xi64>'}}
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x2xf32>, tensor<?x2xi64>)
  return
}

// -----

func.func @top_k_dynamic_k(%s: tensor<?x8xf32>, %w: tensor<?x?xf32>,
                           %i: tensor<?x?xi32>) {
  // expected-error @+1 {{'moe.top_k' op weights dimension 1 (k) must be static}}
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x?xf32>, tensor<?x?xi32>)
  return
}

// -----

func.func @top_k_weights_tokens_mismatch(%s: tensor<4x8xf32>,
                                         %w: tensor<3x2xf32>,
                                         %i: tensor<4x2xi32>) {
  // expected-error @+1 {{'moe.top_k' op weights dimension 0 (tokens T) must be 4, got 3}}
  %0, %1 = moe.top_k ins(%s : tensor<4x8xf32>)
             outs(%w, %i : tensor<3x2xf32>, tensor<4x2xi32>)
  return
}

// -----

func.func @top_k_indices_tokens_mismatch(%s: tensor<4x8xf32>,
                                         %w: tensor<4x2xf32>,
                                         %i: tensor<3x2xi32>) {
  // expected-error @+1 {{'moe.top_k' op indices dimension 0 (tokens T) must be 4, got 3}}
  %0, %1 = moe.top_k ins(%s : tensor<4x8xf32>)
             outs(%w, %i : tensor<4x2xf32>, tensor<3x2xi32>)
  return
}

// -----

func.func @top_k_indices_k_mismatch(%s: tensor<?x8xf32>, %w: tensor<?x2xf32>,
                                    %i: tensor<?x3xi32>) {
  // expected-error @+1 {{'moe.top_k' op indices dimension 1 (k) must be 2, got 3}}
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x2xf32>, tensor<?x3xi32>)
  return
}

// -----

func.func @top_k_weights_element_mismatch(%s: tensor<?x8xf32>,
                                          %w: tensor<?x2xbf16>,
                                          %i: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.top_k' op weights element type 'bf16' must match scores element type 'f32'}}
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x2xbf16>, tensor<?x2xi32>)
  return
}

// -----

func.func @top_k_bias_rank(%s: tensor<?x8xf32>, %b: tensor<8x1xf32>,
                           %w: tensor<?x2xf32>, %i: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.top_k' op bias must be a rank-1 tensor of f16, bf16, f32 or f64, got 'tensor<8x1xf32>'}}
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>) bias(%b : tensor<8x1xf32>)
             outs(%w, %i : tensor<?x2xf32>, tensor<?x2xi32>)
  return
}

// -----

func.func @top_k_bias_experts_mismatch(%s: tensor<?x8xf32>, %b: tensor<4xf32>,
                                       %w: tensor<?x2xf32>,
                                       %i: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.top_k' op bias dimension 0 (experts E) must be 8, got 4}}
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>) bias(%b : tensor<4xf32>)
             outs(%w, %i : tensor<?x2xf32>, tensor<?x2xi32>)
  return
}

// -----

func.func @top_k_zero_k(%s: tensor<?x8xf32>, %w: tensor<?x0xf32>,
                        %i: tensor<?x0xi32>) {
  // expected-error @+1 {{'moe.top_k' op top-k k = 0 must be in [1, E = 8]}}
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x0xf32>, tensor<?x0xi32>)
  return
}

// -----

func.func @top_k_k_exceeds_experts(%s: tensor<?x4xf32>, %w: tensor<?x5xf32>,
                                   %i: tensor<?x5xi32>) {
  // expected-error @+1 {{'moe.top_k' op top-k k = 5 must be in [1, E = 4]}}
  %0, %1 = moe.top_k ins(%s : tensor<?x4xf32>)
             outs(%w, %i : tensor<?x5xf32>, tensor<?x5xi32>)
  return
}

// -----

func.func @top_k_zero_groups(%s: tensor<?x8xf32>, %w: tensor<?x2xf32>,
                             %i: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.top_k' op num_groups = 0 must be positive and divide E = 8}}
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x2xf32>, tensor<?x2xi32>)
             {num_groups = 0 : i64}
  return
}

// -----

func.func @top_k_groups_not_dividing(%s: tensor<?x8xf32>, %w: tensor<?x2xf32>,
                                     %i: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.top_k' op num_groups = 3 must be positive and divide E = 8}}
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x2xf32>, tensor<?x2xi32>)
             {num_groups = 3 : i64}
  return
}

// -----

func.func @top_k_zero_top_k_groups(%s: tensor<?x8xf32>, %w: tensor<?x2xf32>,
                                   %i: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.top_k' op top_k_groups = 0 must be in [1, num_groups = 4]}}
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x2xf32>, tensor<?x2xi32>)
             {num_groups = 4 : i64, top_k_groups = 0 : i64}
  return
}

// -----

func.func @top_k_too_many_top_k_groups(%s: tensor<?x8xf32>, %w: tensor<?x2xf32>,
                                       %i: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.top_k' op top_k_groups = 5 must be in [1, num_groups = 4]}}
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x2xf32>, tensor<?x2xi32>)
             {num_groups = 4 : i64, top_k_groups = 5 : i64}
  return
}

// -----

func.func @top_k_k_exceeds_eligible(%s: tensor<?x8xf32>, %w: tensor<?x3xf32>,
                                    %i: tensor<?x3xi32>) {
  // expected-error @+1 {{'moe.top_k' op top-k k = 3 exceeds the 2 experts left eligible by top_k_groups = 1}}
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x3xf32>, tensor<?x3xi32>)
             {num_groups = 4 : i64, top_k_groups = 1 : i64}
  return
}

// -----

func.func @top_k_zero_scaling(%s: tensor<?x8xf32>, %w: tensor<?x2xf32>,
                              %i: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.top_k' op scaling_factor = 0.000000e+00 must be positive and finite}}
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x2xf32>, tensor<?x2xi32>)
             {scaling_factor = 0.0 : f32}
  return
}

// -----

func.func @top_k_infinite_scaling(%s: tensor<?x8xf32>, %w: tensor<?x2xf32>,
                                  %i: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.top_k' op scaling_factor = INF must be positive and finite}}
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x2xf32>, tensor<?x2xi32>)
             {scaling_factor = 0x7F800000 : f32}
  return
}

// -----

func.func @top_k_nan_scaling(%s: tensor<?x8xf32>, %w: tensor<?x2xf32>,
                             %i: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.top_k' op scaling_factor = nan must be positive and finite}}
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x2xf32>, tensor<?x2xi32>)
             {scaling_factor = 0x7FC00000 : f32}
  return
}

// -----

func.func @dispatch_indices_element_type(%idx: tensor<?x2xf32>,
                                         %w: tensor<?x2xf32>, %c: tensor<8xi32>,
                                         %o: tensor<9xi32>, %t: tensor<?xi32>,
                                         %rw: tensor<?xf32>) {
  // expected-error @+1 {{'moe.dispatch' op indices must be a rank-2 tensor of i32, got 'tensor<?x2xf32>'}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xf32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>,
                                  tensor<?xi32>, tensor<?xf32>)
  return
}

// -----

func.func @dispatch_weights_rank(%idx: tensor<?x2xi32>, %w: tensor<?x2x1xf32>,
                                 %c: tensor<8xi32>, %o: tensor<9xi32>,
                                 %t: tensor<?xi32>, %rw: tensor<?xf32>) {
  // expected-error @+1 {{'moe.dispatch' op weights must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<?x2x1xf32>'}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2x1xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>,
                                  tensor<?xi32>, tensor<?xf32>)
  return
}

// -----

func.func @dispatch_dynamic_k(%idx: tensor<?x?xi32>, %w: tensor<?x?xf32>,
                              %c: tensor<8xi32>, %o: tensor<9xi32>,
                              %t: tensor<?xi32>, %rw: tensor<?xf32>) {
  // expected-error @+1 {{'moe.dispatch' op indices dimension 1 (k) must be static}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x?xi32>, tensor<?x?xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>,
                                  tensor<?xi32>, tensor<?xf32>)
  return
}

// -----

func.func @dispatch_counts_rank(%idx: tensor<?x2xi32>, %w: tensor<?x2xf32>,
                                %c: tensor<8x1xi32>, %o: tensor<9xi32>,
                                %t: tensor<?xi32>, %rw: tensor<?xf32>) {
  // expected-error @+1 {{'moe.dispatch' op expert_counts must be a rank-1 tensor of i32, got 'tensor<8x1xi32>'}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8x1xi32>, tensor<9xi32>,
                                  tensor<?xi32>, tensor<?xf32>)
  return
}

// -----

func.func @dispatch_dynamic_experts(%idx: tensor<?x2xi32>, %w: tensor<?x2xf32>,
                                    %c: tensor<?xi32>, %o: tensor<9xi32>,
                                    %t: tensor<?xi32>, %rw: tensor<?xf32>) {
  // expected-error @+1 {{'moe.dispatch' op expert_counts dimension 0 (experts E) must be static}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<?xi32>, tensor<9xi32>,
                                  tensor<?xi32>, tensor<?xf32>)
  return
}

// -----

func.func @dispatch_offsets_element_type(%idx: tensor<?x2xi32>,
                                         %w: tensor<?x2xf32>, %c: tensor<8xi32>,
                                         %o: tensor<9xf32>, %t: tensor<?xi32>,
                                         %rw: tensor<?xf32>) {
  // expected-error @+1 {{'moe.dispatch' op expert_offsets must be a rank-1 tensor of i32, got 'tensor<9xf32>'}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xf32>,
                                  tensor<?xi32>, tensor<?xf32>)
  return
}

// -----

func.func @dispatch_token_ids_rank(%idx: tensor<?x2xi32>, %w: tensor<?x2xf32>,
                                   %c: tensor<8xi32>, %o: tensor<9xi32>,
                                   %t: tensor<?x2xi32>, %rw: tensor<?xf32>) {
  // expected-error @+1 {{'moe.dispatch' op token_ids must be a rank-1 tensor of i32, got 'tensor<?x2xi32>'}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>,
                                  tensor<?x2xi32>, tensor<?xf32>)
  return
}

// -----

func.func @dispatch_row_weights_element_type(%idx: tensor<?x2xi32>,
                                             %w: tensor<?x2xf32>,
                                             %c: tensor<8xi32>,
                                             %o: tensor<9xi32>,
                                             %t: tensor<?xi32>,
                                             %rw: tensor<?xi32>) {
  // expected-error @+1 {{'moe.dispatch' op row_weights must be a rank-1 tensor of f16, bf16, f32 or f64, got 'tensor<?xi32>'}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>,
                                  tensor<?xi32>, tensor<?xi32>)
  return
}

// -----

func.func @dispatch_zero_experts(%idx: tensor<?x2xi32>, %w: tensor<?x2xf32>,
                                 %c: tensor<0xi32>, %o: tensor<1xi32>,
                                 %t: tensor<?xi32>, %rw: tensor<?xf32>) {
  // expected-error @+1 {{'moe.dispatch' op expert_counts dimension 0 (experts E) must be at least 1, got 0}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<0xi32>, tensor<1xi32>,
                                  tensor<?xi32>, tensor<?xf32>)
  return
}

// -----

func.func @dispatch_weights_tokens_mismatch(%idx: tensor<4x2xi32>,
                                            %w: tensor<3x2xf32>,
                                            %c: tensor<8xi32>,
                                            %o: tensor<9xi32>,
                                            %t: tensor<?xi32>,
                                            %rw: tensor<?xf32>) {
  // expected-error @+1 {{'moe.dispatch' op weights dimension 0 (tokens T) must be 4, got 3}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<4x2xi32>, tensor<3x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>,
                                  tensor<?xi32>, tensor<?xf32>)
  return
}

// -----

func.func @dispatch_weights_k_mismatch(%idx: tensor<?x2xi32>,
                                       %w: tensor<?x3xf32>, %c: tensor<8xi32>,
                                       %o: tensor<9xi32>, %t: tensor<?xi32>,
                                       %rw: tensor<?xf32>) {
  // expected-error @+1 {{'moe.dispatch' op weights dimension 1 (k) must be 2, got 3}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x3xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>,
                                  tensor<?xi32>, tensor<?xf32>)
  return
}

// -----

func.func @dispatch_offsets_mismatch(%idx: tensor<?x2xi32>, %w: tensor<?x2xf32>,
                                     %c: tensor<8xi32>, %o: tensor<8xi32>,
                                     %t: tensor<?xi32>, %rw: tensor<?xf32>) {
  // expected-error @+1 {{'moe.dispatch' op expert_offsets dimension 0 (experts E + 1) must be 9, got 8}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<8xi32>,
                                  tensor<?xi32>, tensor<?xf32>)
  return
}

// -----

func.func @dispatch_token_ids_mismatch(%idx: tensor<4x2xi32>,
                                       %w: tensor<4x2xf32>, %c: tensor<8xi32>,
                                       %o: tensor<9xi32>, %t: tensor<7xi32>,
                                       %rw: tensor<?xf32>) {
  // expected-error @+1 {{'moe.dispatch' op token_ids dimension 0 (assignments T * k) must be 8, got 7}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<4x2xi32>, tensor<4x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>,
                                  tensor<7xi32>, tensor<?xf32>)
  return
}

// -----

func.func @dispatch_row_weights_mismatch(%idx: tensor<?x2xi32>,
                                         %w: tensor<?x2xf32>, %c: tensor<8xi32>,
                                         %o: tensor<9xi32>, %t: tensor<8xi32>,
                                         %rw: tensor<7xf32>) {
  // expected-error @+1 {{'moe.dispatch' op row_weights dimension 0 (assignments T * k) must be 8, got 7}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>,
                                  tensor<8xi32>, tensor<7xf32>)
  return
}

// -----

func.func @dispatch_row_weights_element_mismatch(%idx: tensor<?x2xi32>,
                                                 %w: tensor<?x2xf32>,
                                                 %c: tensor<8xi32>,
                                                 %o: tensor<9xi32>,
                                                 %t: tensor<?xi32>,
                                                 %rw: tensor<?xf16>) {
  // expected-error @+1 {{'moe.dispatch' op row_weights element type 'f16' must match weights element type 'f32'}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>,
                                  tensor<?xi32>, tensor<?xf16>)
  return
}

// -----

func.func @dispatch_k_exceeds_experts(%idx: tensor<?x4xi32>,
                                      %w: tensor<?x4xf32>, %c: tensor<2xi32>,
                                      %o: tensor<3xi32>, %t: tensor<?xi32>,
                                      %rw: tensor<?xf32>) {
  // expected-error @+1 {{'moe.dispatch' op indices dimension 1 (k) = 4 must not exceed E = 2}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x4xi32>, tensor<?x4xf32>)
           outs(%c, %o, %t, %rw : tensor<2xi32>, tensor<3xi32>,
                                  tensor<?xi32>, tensor<?xf32>)
  return
}

// -----

func.func @dispatch_zero_capacity(%idx: tensor<?x2xi32>, %w: tensor<?x2xf32>,
                                  %c: tensor<8xi32>, %o: tensor<9xi32>,
                                  %t: tensor<?xi32>, %rw: tensor<?xf32>) {
  // expected-error @+1 {{'moe.dispatch' op capacity_factor = 0.000000e+00 must be positive and finite}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>,
                                  tensor<?xi32>, tensor<?xf32>)
           {capacity_factor = 0.0 : f64}
  return
}

// -----

func.func @dispatch_infinite_capacity(%idx: tensor<?x2xi32>,
                                      %w: tensor<?x2xf32>, %c: tensor<8xi32>,
                                      %o: tensor<9xi32>, %t: tensor<?xi32>,
                                      %rw: tensor<?xf32>) {
  // expected-error @+1 {{'moe.dispatch' op capacity_factor = INF must be positive and finite}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>,
                                  tensor<?xi32>, tensor<?xf32>)
           {capacity_factor = 0x7FF0000000000000 : f64}
  return
}

// -----

func.func @permute_input_element_type(%x: tensor<?x64xi32>, %t: tensor<?xi32>,
                                      %o: tensor<9xi32>,
                                      %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.permute' op input must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<?x64xi32>'}}
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xi32>, tensor<?xi32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}

// -----

func.func @permute_token_ids_rank(%x: tensor<?x64xf32>, %t: tensor<?x1xi32>,
                                  %o: tensor<9xi32>, %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.permute' op token_ids must be a rank-1 tensor of i32, got 'tensor<?x1xi32>'}}
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?x1xi32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}

// -----

func.func @permute_offsets_rank(%x: tensor<?x64xf32>, %t: tensor<?xi32>,
                                %o: tensor<9x1xi32>, %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.permute' op expert_offsets must be a rank-1 tensor of i32, got 'tensor<9x1xi32>'}}
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9x1xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}

// -----

func.func @permute_dynamic_offsets(%x: tensor<?x64xf32>, %t: tensor<?xi32>,
                                   %o: tensor<?xi32>, %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.permute' op expert_offsets dimension 0 (experts E + 1) must be static}}
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}

// -----

func.func @permute_one_offset(%x: tensor<?x64xf32>, %t: tensor<?xi32>,
                              %o: tensor<1xi32>, %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.permute' op expert_offsets dimension 0 (experts E + 1) must be at least 2, got 1}}
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<1xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}

// -----

func.func @permute_init_element_type(%x: tensor<?x64xf32>, %t: tensor<?xi32>,
                                     %o: tensor<9xi32>,
                                     %init: tensor<?x64xi32>) {
  // expected-error @+1 {{'moe.permute' op init must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<?x64xi32>'}}
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
         outs(%init : tensor<?x64xi32>)
  return
}

// -----

func.func @permute_rows_mismatch(%x: tensor<?x64xf32>, %t: tensor<8xi32>,
                                 %o: tensor<9xi32>, %init: tensor<6x64xf32>) {
  // expected-error @+1 {{'moe.permute' op init dimension 0 (assignments R) must be 8, got 6}}
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<8xi32>, tensor<9xi32>)
         outs(%init : tensor<6x64xf32>)
  return
}

// -----

func.func @permute_hidden_mismatch(%x: tensor<?x64xf32>, %t: tensor<?xi32>,
                                   %o: tensor<9xi32>, %init: tensor<?x32xf32>) {
  // expected-error @+1 {{'moe.permute' op init dimension 1 (hidden size D) must be 64, got 32}}
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
         outs(%init : tensor<?x32xf32>)
  return
}

// -----

func.func @permute_init_element_wider(%x: tensor<?x64xbf16>,
                                      %t: tensor<?xi32>, %o: tensor<9xi32>,
                                      %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.permute' op init element type 'f32' must match input element type 'bf16' or be a narrower float}}
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xbf16>, tensor<?xi32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}

// -----

func.func @permute_init_element_same_width(%x: tensor<?x64xf16>,
                                           %t: tensor<?xi32>, %o: tensor<9xi32>,
                                           %init: tensor<?x64xbf16>) {
  // expected-error @+1 {{'moe.permute' op init element type 'bf16' must match input element type 'f16' or be a narrower float}}
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xf16>, tensor<?xi32>, tensor<9xi32>)
         outs(%init : tensor<?x64xbf16>)
  return
}

// -----

func.func @grouped_matmul_input_rank(%x: tensor<?x64x1xf32>,
                                     %w: tensor<8x128x64xf16>,
                                     %o: tensor<9xi32>,
                                     %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op input must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<?x64x1xf32>'}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64x1xf32>, tensor<8x128x64xf16>, tensor<9xi32>)
         outs(%init : tensor<?x128xf32>)
  return
}

// -----

func.func @grouped_matmul_weight_element_type(%x: tensor<?x64xf32>,
                                              %w: tensor<8x128x64xi8>,
                                              %o: tensor<9xi32>,
                                              %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op weight must be a rank-3 tensor of f16, bf16, f32 or f64, got 'tensor<8x128x64xi8>'}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x128x64xi8>, tensor<9xi32>)
         outs(%init : tensor<?x128xf32>)
  return
}

// -----

func.func @grouped_matmul_offsets_element_type(%x: tensor<?x64xf32>,
                                               %w: tensor<8x128x64xf16>,
                                               %o: tensor<9xf32>,
                                               %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op expert_offsets must be a rank-1 tensor of i32, got 'tensor<9xf32>'}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x128x64xf16>, tensor<9xf32>)
         outs(%init : tensor<?x128xf32>)
  return
}

// -----

func.func @grouped_matmul_dynamic_offsets(%x: tensor<?x64xf32>,
                                          %w: tensor<8x128x64xf16>,
                                          %o: tensor<?xi32>,
                                          %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op expert_offsets dimension 0 (experts E + 1) must be static}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x128x64xf16>, tensor<?xi32>)
         outs(%init : tensor<?x128xf32>)
  return
}

// -----

func.func @grouped_matmul_one_offset(%x: tensor<?x64xf32>,
                                     %w: tensor<8x128x64xf16>,
                                     %o: tensor<1xi32>,
                                     %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op expert_offsets dimension 0 (experts E + 1) must be at least 2, got 1}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x128x64xf16>, tensor<1xi32>)
         outs(%init : tensor<?x128xf32>)
  return
}

// -----

func.func @grouped_matmul_init_rank(%x: tensor<?x64xf32>,
                                    %w: tensor<8x128x64xf16>, %o: tensor<9xi32>,
                                    %init: tensor<128xf32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op init must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<128xf32>'}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x128x64xf16>, tensor<9xi32>)
         outs(%init : tensor<128xf32>)
  return
}

// -----

func.func @grouped_matmul_experts_mismatch(%x: tensor<?x64xf32>,
                                           %w: tensor<4x128x64xf16>,
                                           %o: tensor<9xi32>,
                                           %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op weight dimension 0 (experts E) must be 8, got 4}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<4x128x64xf16>, tensor<9xi32>)
         outs(%init : tensor<?x128xf32>)
  return
}

// -----

func.func @grouped_matmul_reduction_mismatch(%x: tensor<?x64xf32>,
                                             %w: tensor<8x128x32xf16>,
                                             %o: tensor<9xi32>,
                                             %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op weight dimension 2 (reduction size K) must be 64, got 32}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x128x32xf16>, tensor<9xi32>)
         outs(%init : tensor<?x128xf32>)
  return
}

// -----

func.func @grouped_matmul_rows_mismatch(%x: tensor<16x64xf32>,
                                        %w: tensor<8x128x64xf16>,
                                        %o: tensor<9xi32>,
                                        %init: tensor<8x128xf32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op init dimension 0 (rows R) must be 16, got 8}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<16x64xf32>, tensor<8x128x64xf16>, tensor<9xi32>)
         outs(%init : tensor<8x128xf32>)
  return
}

// -----

func.func @grouped_matmul_width_mismatch(%x: tensor<?x64xf32>,
                                         %w: tensor<8x128x64xf16>,
                                         %o: tensor<9xi32>,
                                         %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op init dimension 1 (output width N) must be 128, got 64}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x128x64xf16>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}

// -----

func.func @grouped_matmul_bias_element_type(%x: tensor<?x64xf32>,
                                            %w: tensor<8x128x64xf16>,
                                            %o: tensor<9xi32>,
                                            %b: tensor<8x128xi32>,
                                            %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op bias must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<8x128xi32>'}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x128x64xf16>, tensor<9xi32>)
         bias(%b : tensor<8x128xi32>) outs(%init : tensor<?x128xf32>)
  return
}

// -----

func.func @grouped_matmul_bias_experts_mismatch(%x: tensor<?x64xf32>,
                                                %w: tensor<8x128x64xf16>,
                                                %o: tensor<9xi32>,
                                                %b: tensor<4x128xf32>,
                                                %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op bias dimension 0 (experts E) must be 8, got 4}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x128x64xf16>, tensor<9xi32>)
         bias(%b : tensor<4x128xf32>) outs(%init : tensor<?x128xf32>)
  return
}

// -----

func.func @grouped_matmul_bias_width_mismatch(%x: tensor<?x64xf32>,
                                              %w: tensor<8x128x64xf16>,
                                              %o: tensor<9xi32>,
                                              %b: tensor<8x64xf32>,
                                              %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op bias dimension 1 (output width N) must be 128, got 64}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x128x64xf16>, tensor<9xi32>)
         bias(%b : tensor<8x64xf32>) outs(%init : tensor<?x128xf32>)
  return
}

// -----

func.func @expert_ffn_input_rank(%x: tensor<64xf32>, %o: tensor<9xi32>,
                                 %wg: tensor<8x128x64xf32>,
                                 %wu: tensor<8x128x64xf32>,
                                 %wd: tensor<8x64x128xf32>,
                                 %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op input must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<64xf32>'}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_offsets_rank(%x: tensor<?x64xf32>, %o: tensor<9x1xi32>,
                                   %wg: tensor<8x128x64xf32>,
                                   %wu: tensor<8x128x64xf32>,
                                   %wd: tensor<8x64x128xf32>,
                                   %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op expert_offsets must be a rank-1 tensor of i32, got 'tensor<9x1xi32>'}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9x1xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_dynamic_offsets(%x: tensor<?x64xf32>, %o: tensor<?xi32>,
                                      %wg: tensor<8x128x64xf32>,
                                      %wu: tensor<8x128x64xf32>,
                                      %wd: tensor<8x64x128xf32>,
                                      %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op expert_offsets dimension 0 (experts E + 1) must be static}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<?xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_one_offset(%x: tensor<?x64xf32>, %o: tensor<1xi32>,
                                 %wg: tensor<8x128x64xf32>,
                                 %wu: tensor<8x128x64xf32>,
                                 %wd: tensor<8x64x128xf32>,
                                 %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op expert_offsets dimension 0 (experts E + 1) must be at least 2, got 1}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<1xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_init_element_type(%x: tensor<?x64xf32>, %o: tensor<9xi32>,
                                        %wg: tensor<8x128x64xf32>,
                                        %wu: tensor<8x128x64xf32>,
                                        %wd: tensor<8x64x128xf32>,
                                        %init: tensor<?x64xi32>) {
  // expected-error @+1 {{'moe.expert_ffn' op init must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<?x64xi32>'}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xi32>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_rows_mismatch(%x: tensor<16x64xf32>, %o: tensor<9xi32>,
                                    %wg: tensor<8x128x64xf32>,
                                    %wu: tensor<8x128x64xf32>,
                                    %wd: tensor<8x64x128xf32>,
                                    %init: tensor<8x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op init dimension 0 (rows R) must be 16, got 8}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<16x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<8x64xf32>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_hidden_mismatch(%x: tensor<?x64xf32>, %o: tensor<9xi32>,
                                      %wg: tensor<8x128x64xf32>,
                                      %wu: tensor<8x128x64xf32>,
                                      %wd: tensor<8x64x128xf32>,
                                      %init: tensor<?x32xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op init dimension 1 (hidden size D) must be 64, got 32}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x32xf32>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_init_element_mismatch(%x: tensor<?x64xf32>,
                                            %o: tensor<9xi32>,
                                            %wg: tensor<8x128x64xf32>,
                                            %wu: tensor<8x128x64xf32>,
                                            %wd: tensor<8x64x128xf32>,
                                            %init: tensor<?x64xf16>) {
  // expected-error @+1 {{'moe.expert_ffn' op init element type 'f16' must match input element type 'f32'}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf16>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_offsets_experts_mismatch(%x: tensor<?x64xf32>,
                                               %o: tensor<5xi32>,
                                               %wg: tensor<8x128x64xf32>,
                                               %wu: tensor<8x128x64xf32>,
                                               %wd: tensor<8x64x128xf32>,
                                               %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op up dimension 0 (experts E) must be 4, got 8}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<5xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_up_element_type(%x: tensor<?x64xf32>, %o: tensor<9xi32>,
                                      %wg: tensor<8x128x64xf32>,
                                      %wu: tensor<8x128x64xi32>,
                                      %wd: tensor<8x64x128xf32>,
                                      %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op up must be a rank-3 tensor of f16, bf16, f32 or f64, got 'tensor<8x128x64xi32>'}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xi32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_up_experts_mismatch(%x: tensor<?x64xf32>,
                                          %o: tensor<9xi32>,
                                          %wg: tensor<8x128x64xf32>,
                                          %wu: tensor<4x128x64xf32>,
                                          %wd: tensor<8x64x128xf32>,
                                          %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op up dimension 0 (experts E) must be 8, got 4}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<4x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_up_hidden_mismatch(%x: tensor<?x64xf32>,
                                         %o: tensor<9xi32>,
                                         %wg: tensor<8x128x64xf32>,
                                         %wu: tensor<8x128x32xf32>,
                                         %wd: tensor<8x64x128xf32>,
                                         %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op up dimension 2 (hidden size D) must be 64, got 32}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x32xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_dynamic_intermediate(%x: tensor<?x64xf32>,
                                           %o: tensor<9xi32>,
                                           %wg: tensor<8x128x64xf32>,
                                           %wu: tensor<8x?x64xf32>,
                                           %wd: tensor<8x64x128xf32>,
                                           %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op up dimension 1 (intermediate size F) must be static}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x?x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_gate_element_type(%x: tensor<?x64xf32>, %o: tensor<9xi32>,
                                        %wg: tensor<8x128x64xi32>,
                                        %wu: tensor<8x128x64xf32>,
                                        %wd: tensor<8x64x128xf32>,
                                        %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op gate must be a rank-3 tensor of f16, bf16, f32 or f64, got 'tensor<8x128x64xi32>'}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xi32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_gate_experts_mismatch(%x: tensor<?x64xf32>,
                                            %o: tensor<9xi32>,
                                            %wg: tensor<4x128x64xf32>,
                                            %wu: tensor<8x128x64xf32>,
                                            %wd: tensor<8x64x128xf32>,
                                            %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op gate dimension 0 (experts E) must be 8, got 4}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<4x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_gate_intermediate_mismatch(%x: tensor<?x64xf32>,
                                                 %o: tensor<9xi32>,
                                                 %wg: tensor<8x64x64xf32>,
                                                 %wu: tensor<8x128x64xf32>,
                                                 %wd: tensor<8x64x128xf32>,
                                                 %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op gate dimension 1 (intermediate size F) must be 128, got 64}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x64x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_gate_hidden_mismatch(%x: tensor<?x64xf32>,
                                           %o: tensor<9xi32>,
                                           %wg: tensor<8x128x32xf32>,
                                           %wu: tensor<8x128x64xf32>,
                                           %wd: tensor<8x64x128xf32>,
                                           %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op gate dimension 2 (hidden size D) must be 64, got 32}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x32xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_down_rank(%x: tensor<?x64xf32>, %o: tensor<9xi32>,
                                %wg: tensor<8x128x64xf32>,
                                %wu: tensor<8x128x64xf32>,
                                %wd: tensor<8x64xf32>,
                                %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op down must be a rank-3 tensor of f16, bf16, f32 or f64, got 'tensor<8x64xf32>'}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64xf32>) outs(%init : tensor<?x64xf32>) activation<silu>
  return
}

// -----

func.func @expert_ffn_down_experts_mismatch(%x: tensor<?x64xf32>,
                                            %o: tensor<9xi32>,
                                            %wg: tensor<8x128x64xf32>,
                                            %wu: tensor<8x128x64xf32>,
                                            %wd: tensor<4x64x128xf32>,
                                            %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op down dimension 0 (experts E) must be 8, got 4}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<4x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_down_hidden_mismatch(%x: tensor<?x64xf32>,
                                           %o: tensor<9xi32>,
                                           %wg: tensor<8x128x64xf32>,
                                           %wu: tensor<8x128x64xf32>,
                                           %wd: tensor<8x32x128xf32>,
                                           %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op down dimension 1 (hidden size D) must be 64, got 32}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x32x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_down_intermediate_mismatch(%x: tensor<?x64xf32>,
                                                 %o: tensor<9xi32>,
                                                 %wg: tensor<8x128x64xf32>,
                                                 %wu: tensor<8x128x64xf32>,
                                                 %wd: tensor<8x64x64xf32>,
                                                 %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op down dimension 2 (intermediate size F) must be 128, got 64}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x64xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_gate_bias_without_gate(%x: tensor<?x64xf32>,
                                             %o: tensor<9xi32>,
                                             %wu: tensor<8x128x64xf32>,
                                             %wd: tensor<8x64x128xf32>,
                                             %gb: tensor<8x128xf32>,
                                             %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op gate_bias requires a gate weight}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         gate_bias(%gb : tensor<8x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu>
  return
}

// -----

func.func @expert_ffn_gate_bias_rank(%x: tensor<?x64xf32>, %o: tensor<9xi32>,
                                     %wg: tensor<8x128x64xf32>,
                                     %wu: tensor<8x128x64xf32>,
                                     %wd: tensor<8x64x128xf32>,
                                     %gb: tensor<128xf32>,
                                     %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op gate_bias must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<128xf32>'}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) gate_bias(%gb : tensor<128xf32>)
         outs(%init : tensor<?x64xf32>) activation<silu>
  return
}

// -----

func.func @expert_ffn_gate_bias_experts_mismatch(%x: tensor<?x64xf32>,
                                                 %o: tensor<9xi32>,
                                                 %wg: tensor<8x128x64xf32>,
                                                 %wu: tensor<8x128x64xf32>,
                                                 %wd: tensor<8x64x128xf32>,
                                                 %gb: tensor<4x128xf32>,
                                                 %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op gate_bias dimension 0 (experts E) must be 8, got 4}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) gate_bias(%gb : tensor<4x128xf32>)
         outs(%init : tensor<?x64xf32>) activation<silu>
  return
}

// -----

func.func @expert_ffn_gate_bias_intermediate_mismatch(%x: tensor<?x64xf32>,
                                                      %o: tensor<9xi32>,
                                                      %wg: tensor<8x128x64xf32>,
                                                      %wu: tensor<8x128x64xf32>,
                                                      %wd: tensor<8x64x128xf32>,
                                                      %gb: tensor<8x64xf32>,
                                                      %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op gate_bias dimension 1 (intermediate size F) must be 128, got 64}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) gate_bias(%gb : tensor<8x64xf32>)
         outs(%init : tensor<?x64xf32>) activation<silu>
  return
}

// -----

func.func @expert_ffn_up_bias_element_type(%x: tensor<?x64xf32>,
                                           %o: tensor<9xi32>,
                                           %wg: tensor<8x128x64xf32>,
                                           %wu: tensor<8x128x64xf32>,
                                           %wd: tensor<8x64x128xf32>,
                                           %ub: tensor<8x128xi32>,
                                           %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op up_bias must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<8x128xi32>'}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) up_bias(%ub : tensor<8x128xi32>)
         outs(%init : tensor<?x64xf32>) activation<silu>
  return
}

// -----

func.func @expert_ffn_up_bias_experts_mismatch(%x: tensor<?x64xf32>,
                                               %o: tensor<9xi32>,
                                               %wg: tensor<8x128x64xf32>,
                                               %wu: tensor<8x128x64xf32>,
                                               %wd: tensor<8x64x128xf32>,
                                               %ub: tensor<4x128xf32>,
                                               %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op up_bias dimension 0 (experts E) must be 8, got 4}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) up_bias(%ub : tensor<4x128xf32>)
         outs(%init : tensor<?x64xf32>) activation<silu>
  return
}

// -----

func.func @expert_ffn_up_bias_intermediate_mismatch(%x: tensor<?x64xf32>,
                                                    %o: tensor<9xi32>,
                                                    %wg: tensor<8x128x64xf32>,
                                                    %wu: tensor<8x128x64xf32>,
                                                    %wd: tensor<8x64x128xf32>,
                                                    %ub: tensor<8x64xf32>,
                                                    %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op up_bias dimension 1 (intermediate size F) must be 128, got 64}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) up_bias(%ub : tensor<8x64xf32>)
         outs(%init : tensor<?x64xf32>) activation<silu>
  return
}

// -----

func.func @expert_ffn_down_bias_rank(%x: tensor<?x64xf32>, %o: tensor<9xi32>,
                                     %wg: tensor<8x128x64xf32>,
                                     %wu: tensor<8x128x64xf32>,
                                     %wd: tensor<8x64x128xf32>,
                                     %db: tensor<8x64x1xf32>,
                                     %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op down_bias must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<8x64x1xf32>'}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) down_bias(%db : tensor<8x64x1xf32>)
         outs(%init : tensor<?x64xf32>) activation<silu>
  return
}

// -----

func.func @expert_ffn_down_bias_experts_mismatch(%x: tensor<?x64xf32>,
                                                 %o: tensor<9xi32>,
                                                 %wg: tensor<8x128x64xf32>,
                                                 %wu: tensor<8x128x64xf32>,
                                                 %wd: tensor<8x64x128xf32>,
                                                 %db: tensor<2x64xf32>,
                                                 %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op down_bias dimension 0 (experts E) must be 8, got 2}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) down_bias(%db : tensor<2x64xf32>)
         outs(%init : tensor<?x64xf32>) activation<silu>
  return
}

// -----

func.func @expert_ffn_down_bias_hidden_mismatch(%x: tensor<?x64xf32>,
                                                %o: tensor<9xi32>,
                                                %wg: tensor<8x128x64xf32>,
                                                %wu: tensor<8x128x64xf32>,
                                                %wd: tensor<8x64x128xf32>,
                                                %db: tensor<8x128xf32>,
                                                %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op down_bias dimension 1 (hidden size D) must be 64, got 128}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) down_bias(%db : tensor<8x128xf32>)
         outs(%init : tensor<?x64xf32>) activation<silu>
  return
}

// -----

func.func @expert_ffn_swiglu_without_gate(%x: tensor<?x64xf32>,
                                          %o: tensor<9xi32>,
                                          %wu: tensor<8x128x64xf32>,
                                          %wd: tensor<8x64x128xf32>,
                                          %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op activation swiglu_oai requires a gate weight}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) activation<swiglu_oai>
  return
}

// -----

func.func @expert_ffn_swiglu_alpha_with_silu(%x: tensor<?x64xf32>,
                                             %o: tensor<9xi32>,
                                             %wg: tensor<8x128x64xf32>,
                                             %wu: tensor<8x128x64xf32>,
                                             %wd: tensor<8x64x128xf32>,
                                             %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op swiglu_alpha and swiglu_limit apply to activation swiglu_oai only, got activation silu}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu> {swiglu_alpha = 1.702 : f32}
  return
}

// -----

func.func @expert_ffn_swiglu_limit_with_relu(%x: tensor<?x64xf32>,
                                             %o: tensor<9xi32>,
                                             %wg: tensor<8x128x64xf32>,
                                             %wu: tensor<8x128x64xf32>,
                                             %wd: tensor<8x64x128xf32>,
                                             %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op swiglu_alpha and swiglu_limit apply to activation swiglu_oai only, got activation relu}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<relu> {swiglu_limit = 7.0 : f32}
  return
}

// -----

func.func @expert_ffn_infinite_swiglu_alpha(%x: tensor<?x64xf32>,
                                            %o: tensor<9xi32>,
                                            %wg: tensor<8x128x64xf32>,
                                            %wu: tensor<8x128x64xf32>,
                                            %wd: tensor<8x64x128xf32>,
                                            %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op swiglu_alpha = INF must be finite}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<swiglu_oai> {swiglu_alpha = 0x7F800000 : f32}
  return
}

// -----

func.func @expert_ffn_zero_swiglu_limit(%x: tensor<?x64xf32>, %o: tensor<9xi32>,
                                        %wg: tensor<8x128x64xf32>,
                                        %wu: tensor<8x128x64xf32>,
                                        %wd: tensor<8x64x128xf32>,
                                        %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op swiglu_limit = 0.000000e+00 must be positive and finite}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<swiglu_oai> {swiglu_limit = 0.0 : f32}
  return
}

// -----

func.func @expert_ffn_infinite_swiglu_limit(%x: tensor<?x64xf32>,
                                            %o: tensor<9xi32>,
                                            %wg: tensor<8x128x64xf32>,
                                            %wu: tensor<8x128x64xf32>,
                                            %wd: tensor<8x64x128xf32>,
                                            %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op swiglu_limit = INF must be positive and finite}}
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<swiglu_oai> {swiglu_limit = 0x7F800000 : f32}
  return
}

// -----

func.func @combine_input_element_type(%h: tensor<?x64xi32>, %t: tensor<?xi32>,
                                      %rw: tensor<?xf32>, %o: tensor<9xi32>,
                                      %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.combine' op input must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<?x64xi32>'}}
  %0 = moe.combine ins(%h, %t, %rw, %o : tensor<?x64xi32>, tensor<?xi32>,
                                          tensor<?xf32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}

// -----

func.func @combine_token_ids_rank(%h: tensor<?x64xf32>, %t: tensor<?x1xi32>,
                                  %rw: tensor<?xf32>, %o: tensor<9xi32>,
                                  %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.combine' op token_ids must be a rank-1 tensor of i32, got 'tensor<?x1xi32>'}}
  %0 = moe.combine ins(%h, %t, %rw, %o : tensor<?x64xf32>, tensor<?x1xi32>,
                                          tensor<?xf32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}

// -----

func.func @combine_row_weights_element_type(%h: tensor<?x64xf32>,
                                            %t: tensor<?xi32>,
                                            %rw: tensor<?xi32>,
                                            %o: tensor<9xi32>,
                                            %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.combine' op row_weights must be a rank-1 tensor of f16, bf16, f32 or f64, got 'tensor<?xi32>'}}
  %0 = moe.combine ins(%h, %t, %rw, %o : tensor<?x64xf32>, tensor<?xi32>,
                                          tensor<?xi32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}

// -----

func.func @combine_offsets_rank(%h: tensor<?x64xf32>, %t: tensor<?xi32>,
                                %rw: tensor<?xf32>, %o: tensor<3x3xi32>,
                                %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.combine' op expert_offsets must be a rank-1 tensor of i32, got 'tensor<3x3xi32>'}}
  %0 = moe.combine ins(%h, %t, %rw, %o : tensor<?x64xf32>, tensor<?xi32>,
                                          tensor<?xf32>, tensor<3x3xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}

// -----

func.func @combine_dynamic_offsets(%h: tensor<?x64xf32>, %t: tensor<?xi32>,
                                   %rw: tensor<?xf32>, %o: tensor<?xi32>,
                                   %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.combine' op expert_offsets dimension 0 (experts E + 1) must be static}}
  %0 = moe.combine ins(%h, %t, %rw, %o : tensor<?x64xf32>, tensor<?xi32>,
                                          tensor<?xf32>, tensor<?xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}

// -----

func.func @combine_no_offsets(%h: tensor<?x64xf32>, %t: tensor<?xi32>,
                              %rw: tensor<?xf32>, %o: tensor<0xi32>,
                              %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.combine' op expert_offsets dimension 0 (experts E + 1) must be at least 2, got 0}}
  %0 = moe.combine ins(%h, %t, %rw, %o : tensor<?x64xf32>, tensor<?xi32>,
                                          tensor<?xf32>, tensor<0xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}

// -----

func.func @combine_init_rank(%h: tensor<?x64xf32>, %t: tensor<?xi32>,
                             %rw: tensor<?xf32>, %o: tensor<9xi32>,
                             %init: tensor<?x64x1xf32>) {
  // expected-error @+1 {{'moe.combine' op init must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<?x64x1xf32>'}}
  %0 = moe.combine ins(%h, %t, %rw, %o : tensor<?x64xf32>, tensor<?xi32>,
                                          tensor<?xf32>, tensor<9xi32>)
         outs(%init : tensor<?x64x1xf32>)
  return
}

// -----

func.func @combine_token_ids_mismatch(%h: tensor<8x64xf32>, %t: tensor<6xi32>,
                                      %rw: tensor<?xf32>, %o: tensor<9xi32>,
                                      %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.combine' op token_ids dimension 0 (rows R) must be 8, got 6}}
  %0 = moe.combine ins(%h, %t, %rw, %o : tensor<8x64xf32>, tensor<6xi32>,
                                          tensor<?xf32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}

// -----

func.func @combine_row_weights_mismatch(%h: tensor<8x64xf32>, %t: tensor<?xi32>,
                                        %rw: tensor<6xf32>, %o: tensor<9xi32>,
                                        %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.combine' op row_weights dimension 0 (rows R) must be 8, got 6}}
  %0 = moe.combine ins(%h, %t, %rw, %o : tensor<8x64xf32>, tensor<?xi32>,
                                          tensor<6xf32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}

// -----

func.func @combine_hidden_mismatch(%h: tensor<?x64xf32>, %t: tensor<?xi32>,
                                   %rw: tensor<?xf32>, %o: tensor<9xi32>,
                                   %init: tensor<?x32xf32>) {
  // expected-error @+1 {{'moe.combine' op init dimension 1 (hidden size D) must be 64, got 32}}
  %0 = moe.combine ins(%h, %t, %rw, %o : tensor<?x64xf32>, tensor<?xi32>,
                                          tensor<?xf32>, tensor<9xi32>)
         outs(%init : tensor<?x32xf32>)
  return
}

// -----

func.func @combine_init_element_mismatch(%h: tensor<?x64xf32>,
                                         %t: tensor<?xi32>, %rw: tensor<?xf32>,
                                         %o: tensor<9xi32>,
                                         %init: tensor<?x64xf64>) {
  // expected-error @+1 {{'moe.combine' op init element type 'f64' must match input element type 'f32'}}
  %0 = moe.combine ins(%h, %t, %rw, %o : tensor<?x64xf32>, tensor<?xi32>,
                                          tensor<?xf32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf64>)
  return
}

// -----

func.func @layer_input_rank(%x: tensor<64xf32>, %wr: tensor<8x64xf32>,
                            %wg: tensor<8x128x64xf32>,
                            %wu: tensor<8x128x64xf32>,
                            %wd: tensor<8x64x128xf32>,
                            %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op input must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<64xf32>'}}
  %0 = moe.layer ins(%x : tensor<64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_init_element_type(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                                   %wg: tensor<8x128x64xf32>,
                                   %wu: tensor<8x128x64xf32>,
                                   %wd: tensor<8x64x128xf32>,
                                   %init: tensor<?x64xi32>) {
  // expected-error @+1 {{'moe.layer' op init must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<?x64xi32>'}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xi32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_router_rank(%x: tensor<?x64xf32>, %wr: tensor<8xf32>,
                             %wg: tensor<8x128x64xf32>,
                             %wu: tensor<8x128x64xf32>,
                             %wd: tensor<8x64x128xf32>,
                             %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op router must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<8xf32>'}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_router_element_type(%x: tensor<?x64xf32>,
                                     %wr: tensor<8x64xi32>,
                                     %wg: tensor<8x128x64xf32>,
                                     %wu: tensor<8x128x64xf32>,
                                     %wd: tensor<8x64x128xf32>,
                                     %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op router must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<8x64xi32>'}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xi32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_dynamic_experts(%x: tensor<?x64xf32>, %wr: tensor<?x64xf32>,
                                 %wg: tensor<8x128x64xf32>,
                                 %wu: tensor<8x128x64xf32>,
                                 %wd: tensor<8x64x128xf32>,
                                 %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op router dimension 0 (experts E) must be static}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<?x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_router_hidden_mismatch(%x: tensor<?x64xf32>,
                                        %wr: tensor<8x32xf32>,
                                        %wg: tensor<8x128x64xf32>,
                                        %wu: tensor<8x128x64xf32>,
                                        %wd: tensor<8x64x128xf32>,
                                        %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op router dimension 1 (hidden size D) must be 64, got 32}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x32xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_tokens_mismatch(%x: tensor<4x64xf32>, %wr: tensor<8x64xf32>,
                                 %wg: tensor<8x128x64xf32>,
                                 %wu: tensor<8x128x64xf32>,
                                 %wd: tensor<8x64x128xf32>,
                                 %init: tensor<5x64xf32>) {
  // expected-error @+1 {{'moe.layer' op init dimension 0 (tokens T) must be 4, got 5}}
  %0 = moe.layer ins(%x : tensor<4x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<5x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_hidden_mismatch(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                                 %wg: tensor<8x128x64xf32>,
                                 %wu: tensor<8x128x64xf32>,
                                 %wd: tensor<8x64x128xf32>,
                                 %init: tensor<?x32xf32>) {
  // expected-error @+1 {{'moe.layer' op init dimension 1 (hidden size D) must be 64, got 32}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x32xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_init_element_mismatch(%x: tensor<?x64xf32>,
                                       %wr: tensor<8x64xf32>,
                                       %wg: tensor<8x128x64xf32>,
                                       %wu: tensor<8x128x64xf32>,
                                       %wd: tensor<8x64x128xf32>,
                                       %init: tensor<?x64xbf16>) {
  // expected-error @+1 {{'moe.layer' op init element type 'bf16' must match input element type 'f32'}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xbf16>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_router_bias_element_type(%x: tensor<?x64xf32>,
                                          %wr: tensor<8x64xf32>,
                                          %rb: tensor<8xi32>,
                                          %wg: tensor<8x128x64xf32>,
                                          %wu: tensor<8x128x64xf32>,
                                          %wd: tensor<8x64x128xf32>,
                                          %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op router_bias must be a rank-1 tensor of f16, bf16, f32 or f64, got 'tensor<8xi32>'}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) router_bias(%rb : tensor<8xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>) top_k(2)
         scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_router_bias_experts_mismatch(%x: tensor<?x64xf32>,
                                              %wr: tensor<8x64xf32>,
                                              %rb: tensor<4xf32>,
                                              %wg: tensor<8x128x64xf32>,
                                              %wu: tensor<8x128x64xf32>,
                                              %wd: tensor<8x64x128xf32>,
                                              %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op router_bias dimension 0 (experts E) must be 8, got 4}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) router_bias(%rb : tensor<4xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>) top_k(2)
         scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_selection_bias_rank(%x: tensor<?x64xf32>,
                                     %wr: tensor<8x64xf32>,
                                     %sb: tensor<1x8xf32>,
                                     %wg: tensor<8x128x64xf32>,
                                     %wu: tensor<8x128x64xf32>,
                                     %wd: tensor<8x64x128xf32>,
                                     %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op selection_bias must be a rank-1 tensor of f16, bf16, f32 or f64, got 'tensor<1x8xf32>'}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) selection_bias(%sb : tensor<1x8xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>) top_k(2)
         scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_selection_bias_experts_mismatch(%x: tensor<?x64xf32>,
                                                 %wr: tensor<8x64xf32>,
                                                 %sb: tensor<16xf32>,
                                                 %wg: tensor<8x128x64xf32>,
                                                 %wu: tensor<8x128x64xf32>,
                                                 %wd: tensor<8x64x128xf32>,
                                                 %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op selection_bias dimension 0 (experts E) must be 8, got 16}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) selection_bias(%sb : tensor<16xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>) top_k(2)
         scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_zero_top_k(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                            %wg: tensor<8x128x64xf32>,
                            %wu: tensor<8x128x64xf32>,
                            %wd: tensor<8x64x128xf32>,
                            %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op top-k k = 0 must be in [1, E = 8]}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(0) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_top_k_exceeds_experts(%x: tensor<?x64xf32>,
                                       %wr: tensor<8x64xf32>,
                                       %wg: tensor<8x128x64xf32>,
                                       %wu: tensor<8x128x64xf32>,
                                       %wd: tensor<8x64x128xf32>,
                                       %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op top-k k = 9 must be in [1, E = 8]}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(9) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_no_experts(%x: tensor<?x64xf32>, %wr: tensor<0x64xf32>,
                            %wg: tensor<8x128x64xf32>,
                            %wu: tensor<8x128x64xf32>,
                            %wd: tensor<8x64x128xf32>,
                            %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op top-k k = 1 must be in [1, E = 0]}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<0x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(1) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_zero_groups(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                             %wg: tensor<8x128x64xf32>,
                             %wu: tensor<8x128x64xf32>,
                             %wd: tensor<8x64x128xf32>,
                             %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op num_groups = 0 must be positive and divide E = 8}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
         {num_groups = 0 : i64}
  return
}

// -----

func.func @layer_groups_not_dividing(%x: tensor<?x64xf32>,
                                     %wr: tensor<8x64xf32>,
                                     %wg: tensor<8x128x64xf32>,
                                     %wu: tensor<8x128x64xf32>,
                                     %wd: tensor<8x64x128xf32>,
                                     %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op num_groups = 3 must be positive and divide E = 8}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
         {num_groups = 3 : i64}
  return
}

// -----

func.func @layer_too_many_top_k_groups(%x: tensor<?x64xf32>,
                                       %wr: tensor<8x64xf32>,
                                       %wg: tensor<8x128x64xf32>,
                                       %wu: tensor<8x128x64xf32>,
                                       %wd: tensor<8x64x128xf32>,
                                       %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op top_k_groups = 3 must be in [1, num_groups = 2]}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
         {num_groups = 2 : i64, top_k_groups = 3 : i64}
  return
}

// -----

func.func @layer_k_exceeds_eligible(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                                    %wg: tensor<8x128x64xf32>,
                                    %wu: tensor<8x128x64xf32>,
                                    %wd: tensor<8x64x128xf32>,
                                    %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op top-k k = 4 exceeds the 2 experts left eligible by top_k_groups = 1}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(4) scoring<softmax> activation<silu>
         {num_groups = 4 : i64, top_k_groups = 1 : i64}
  return
}

// -----

func.func @layer_zero_scaling(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                              %wg: tensor<8x128x64xf32>,
                              %wu: tensor<8x128x64xf32>,
                              %wd: tensor<8x64x128xf32>,
                              %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op scaling_factor = 0.000000e+00 must be positive and finite}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
         {scaling_factor = 0.0 : f32}
  return
}

// -----

func.func @layer_infinite_scaling(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                                  %wg: tensor<8x128x64xf32>,
                                  %wu: tensor<8x128x64xf32>,
                                  %wd: tensor<8x64x128xf32>,
                                  %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op scaling_factor = INF must be positive and finite}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
         {scaling_factor = 0x7F800000 : f32}
  return
}

// -----

func.func @layer_zero_capacity(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                               %wg: tensor<8x128x64xf32>,
                               %wu: tensor<8x128x64xf32>,
                               %wd: tensor<8x64x128xf32>,
                               %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op capacity_factor = 0.000000e+00 must be positive and finite}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
         {capacity_factor = 0.0 : f64}
  return
}

// -----

func.func @layer_nan_capacity(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                              %wg: tensor<8x128x64xf32>,
                              %wu: tensor<8x128x64xf32>,
                              %wd: tensor<8x64x128xf32>,
                              %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op capacity_factor = nan must be positive and finite}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
         {capacity_factor = 0x7FF8000000000000 : f64}
  return
}

// -----

func.func @layer_up_rank(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                         %wg: tensor<8x128x64xf32>, %wu: tensor<128x64xf32>,
                         %wd: tensor<8x64x128xf32>, %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op up must be a rank-3 tensor of f16, bf16, f32 or f64, got 'tensor<128x64xf32>'}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_up_experts_mismatch(%x: tensor<?x64xf32>,
                                     %wr: tensor<8x64xf32>,
                                     %wg: tensor<8x128x64xf32>,
                                     %wu: tensor<4x128x64xf32>,
                                     %wd: tensor<8x64x128xf32>,
                                     %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op up dimension 0 (experts E) must be 8, got 4}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<4x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_up_hidden_mismatch(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                                    %wg: tensor<8x128x64xf32>,
                                    %wu: tensor<8x128x32xf32>,
                                    %wd: tensor<8x64x128xf32>,
                                    %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op up dimension 2 (hidden size D) must be 64, got 32}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x32xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_dynamic_intermediate(%x: tensor<?x64xf32>,
                                      %wr: tensor<8x64xf32>,
                                      %wg: tensor<8x128x64xf32>,
                                      %wu: tensor<8x?x64xf32>,
                                      %wd: tensor<8x64x128xf32>,
                                      %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op up dimension 1 (intermediate size F) must be static}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x?x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_gate_rank(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                           %wg: tensor<8x128xf32>, %wu: tensor<8x128x64xf32>,
                           %wd: tensor<8x64x128xf32>, %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op gate must be a rank-3 tensor of f16, bf16, f32 or f64, got 'tensor<8x128xf32>'}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_gate_experts_mismatch(%x: tensor<?x64xf32>,
                                       %wr: tensor<8x64xf32>,
                                       %wg: tensor<4x128x64xf32>,
                                       %wu: tensor<8x128x64xf32>,
                                       %wd: tensor<8x64x128xf32>,
                                       %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op gate dimension 0 (experts E) must be 8, got 4}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<4x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_gate_intermediate_mismatch(%x: tensor<?x64xf32>,
                                            %wr: tensor<8x64xf32>,
                                            %wg: tensor<8x64x64xf32>,
                                            %wu: tensor<8x128x64xf32>,
                                            %wd: tensor<8x64x128xf32>,
                                            %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op gate dimension 1 (intermediate size F) must be 128, got 64}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x64x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_gate_hidden_mismatch(%x: tensor<?x64xf32>,
                                      %wr: tensor<8x64xf32>,
                                      %wg: tensor<8x128x32xf32>,
                                      %wu: tensor<8x128x64xf32>,
                                      %wd: tensor<8x64x128xf32>,
                                      %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op gate dimension 2 (hidden size D) must be 64, got 32}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x32xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_down_element_type(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                                   %wg: tensor<8x128x64xf32>,
                                   %wu: tensor<8x128x64xf32>,
                                   %wd: tensor<8x64x128xi32>,
                                   %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op down must be a rank-3 tensor of f16, bf16, f32 or f64, got 'tensor<8x64x128xi32>'}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xi32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_down_experts_mismatch(%x: tensor<?x64xf32>,
                                       %wr: tensor<8x64xf32>,
                                       %wg: tensor<8x128x64xf32>,
                                       %wu: tensor<8x128x64xf32>,
                                       %wd: tensor<4x64x128xf32>,
                                       %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op down dimension 0 (experts E) must be 8, got 4}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<4x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_down_hidden_mismatch(%x: tensor<?x64xf32>,
                                      %wr: tensor<8x64xf32>,
                                      %wg: tensor<8x128x64xf32>,
                                      %wu: tensor<8x128x64xf32>,
                                      %wd: tensor<8x32x128xf32>,
                                      %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op down dimension 1 (hidden size D) must be 64, got 32}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x32x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_down_intermediate_mismatch(%x: tensor<?x64xf32>,
                                            %wr: tensor<8x64xf32>,
                                            %wg: tensor<8x128x64xf32>,
                                            %wu: tensor<8x128x64xf32>,
                                            %wd: tensor<8x64x64xf32>,
                                            %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op down dimension 2 (intermediate size F) must be 128, got 64}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x64xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_gate_bias_without_gate(%x: tensor<?x64xf32>,
                                        %wr: tensor<8x64xf32>,
                                        %wu: tensor<8x128x64xf32>,
                                        %wd: tensor<8x64x128xf32>,
                                        %gb: tensor<8x128xf32>,
                                        %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op gate_bias requires a gate weight}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) gate_bias(%gb : tensor<8x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_gate_bias_intermediate_mismatch(%x: tensor<?x64xf32>,
                                                 %wr: tensor<8x64xf32>,
                                                 %wg: tensor<8x128x64xf32>,
                                                 %wu: tensor<8x128x64xf32>,
                                                 %wd: tensor<8x64x128xf32>,
                                                 %gb: tensor<8x64xf32>,
                                                 %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op gate_bias dimension 1 (intermediate size F) must be 128, got 64}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         gate_bias(%gb : tensor<8x64xf32>) outs(%init : tensor<?x64xf32>) top_k(2)
         scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_gate_bias_element_type(%x: tensor<?x64xf32>,
                                        %wr: tensor<8x64xf32>,
                                        %wg: tensor<8x128x64xf32>,
                                        %wu: tensor<8x128x64xf32>,
                                        %wd: tensor<8x64x128xf32>,
                                        %gb: tensor<8x128xi32>,
                                        %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op gate_bias must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<8x128xi32>'}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         gate_bias(%gb : tensor<8x128xi32>) outs(%init : tensor<?x64xf32>) top_k(2)
         scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_up_bias_rank(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                              %wg: tensor<8x128x64xf32>,
                              %wu: tensor<8x128x64xf32>,
                              %wd: tensor<8x64x128xf32>, %ub: tensor<128xf32>,
                              %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op up_bias must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<128xf32>'}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         up_bias(%ub : tensor<128xf32>) outs(%init : tensor<?x64xf32>) top_k(2)
         scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_down_bias_element_type(%x: tensor<?x64xf32>,
                                        %wr: tensor<8x64xf32>,
                                        %wg: tensor<8x128x64xf32>,
                                        %wu: tensor<8x128x64xf32>,
                                        %wd: tensor<8x64x128xf32>,
                                        %db: tensor<8x64xi32>,
                                        %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op down_bias must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<8x64xi32>'}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         down_bias(%db : tensor<8x64xi32>) outs(%init : tensor<?x64xf32>) top_k(2)
         scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_up_bias_intermediate_mismatch(%x: tensor<?x64xf32>,
                                               %wr: tensor<8x64xf32>,
                                               %wg: tensor<8x128x64xf32>,
                                               %wu: tensor<8x128x64xf32>,
                                               %wd: tensor<8x64x128xf32>,
                                               %ub: tensor<8x64xf32>,
                                               %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op up_bias dimension 1 (intermediate size F) must be 128, got 64}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         up_bias(%ub : tensor<8x64xf32>) outs(%init : tensor<?x64xf32>) top_k(2)
         scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_down_bias_experts_mismatch(%x: tensor<?x64xf32>,
                                            %wr: tensor<8x64xf32>,
                                            %wg: tensor<8x128x64xf32>,
                                            %wu: tensor<8x128x64xf32>,
                                            %wd: tensor<8x64x128xf32>,
                                            %db: tensor<2x64xf32>,
                                            %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op down_bias dimension 0 (experts E) must be 8, got 2}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         down_bias(%db : tensor<2x64xf32>) outs(%init : tensor<?x64xf32>) top_k(2)
         scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_swiglu_without_gate(%x: tensor<?x64xf32>,
                                     %wr: tensor<8x64xf32>,
                                     %wu: tensor<8x128x64xf32>,
                                     %wd: tensor<8x64x128xf32>,
                                     %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op activation swiglu_oai requires a gate weight}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>) top_k(2)
         scoring<softmax> activation<swiglu_oai>
  return
}

// -----

func.func @layer_swiglu_alpha_with_silu(%x: tensor<?x64xf32>,
                                        %wr: tensor<8x64xf32>,
                                        %wg: tensor<8x128x64xf32>,
                                        %wu: tensor<8x128x64xf32>,
                                        %wd: tensor<8x64x128xf32>,
                                        %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op swiglu_alpha and swiglu_limit apply to activation swiglu_oai only, got activation silu}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
         {swiglu_alpha = 1.702 : f32}
  return
}

// -----

func.func @layer_infinite_swiglu_alpha(%x: tensor<?x64xf32>,
                                       %wr: tensor<8x64xf32>,
                                       %wg: tensor<8x128x64xf32>,
                                       %wu: tensor<8x128x64xf32>,
                                       %wd: tensor<8x64x128xf32>,
                                       %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op swiglu_alpha = INF must be finite}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax>
         activation<swiglu_oai> {swiglu_alpha = 0x7F800000 : f32}
  return
}

// -----

func.func @layer_zero_swiglu_limit(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                                   %wg: tensor<8x128x64xf32>,
                                   %wu: tensor<8x128x64xf32>,
                                   %wd: tensor<8x64x128xf32>,
                                   %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op swiglu_limit = 0.000000e+00 must be positive and finite}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax>
         activation<swiglu_oai> {swiglu_limit = 0.0 : f32}
  return
}

// -----

func.func @router_no_experts(%x: tensor<?x64xf32>, %w: tensor<0x64xf32>, %init: tensor<?x0xf32>) -> tensor<?x0xf32> {
  // expected-error @+1 {{'moe.router' op weight dimension 0 (experts E) must be at least 1, got 0}}
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<0x64xf32>) outs(%init : tensor<?x0xf32>) scoring<softmax>
  return %0 : tensor<?x0xf32>
}

// -----

func.func @dispatch_zero_k(%idx: tensor<?x0xi32>, %w: tensor<?x0xf32>, %c: tensor<8xi32>, %o: tensor<9xi32>, %t: tensor<?xi32>, %rw: tensor<?xf32>) {
  // expected-error @+1 {{'moe.dispatch' op indices dimension 1 (k) must be at least 1, got 0}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x0xi32>, tensor<?x0xf32>) outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>, tensor<?xi32>, tensor<?xf32>)
  return
}

// -----

func.func @dispatch_dynamic_offsets(%idx: tensor<?x2xi32>, %w: tensor<?x2xf32>, %c: tensor<8xi32>, %o: tensor<?xi32>, %t: tensor<?xi32>, %rw: tensor<?xf32>) {
  // expected-error @+1 {{'moe.dispatch' op expert_offsets dimension 0 (experts E + 1) must be static}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>) outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<?xi32>, tensor<?xi32>, tensor<?xf32>)
  return
}

// -----

func.func @dispatch_row_weights_length(%idx: tensor<4x2xi32>, %w: tensor<4x2xf32>, %c: tensor<8xi32>, %o: tensor<9xi32>, %t: tensor<?xi32>, %rw: tensor<7xf32>) {
  // expected-error @+1 {{'moe.dispatch' op row_weights dimension 0 (assignments T * k) must be 8, got 7}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<4x2xi32>, tensor<4x2xf32>) outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>, tensor<?xi32>, tensor<7xf32>)
  return
}

// -----

func.func @layer_router_noise_experts_mismatch(%x: tensor<?x64xf32>,
                                               %wr: tensor<8x64xf32>,
                                               %wn: tensor<4x64xf32>,
                                               %wu: tensor<8x128x64xf32>,
                                               %wd: tensor<8x64x128xf32>,
                                               %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op router_noise dimension 0 (experts E) must be 8, got 4}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) router_noise(%wn : tensor<4x64xf32>) seed(3)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<relu>
  return
}

// -----

func.func @layer_seed_without_noise(%x: tensor<?x64xf32>,
                                    %wr: tensor<8x64xf32>,
                                    %wu: tensor<8x128x64xf32>,
                                    %wd: tensor<8x64x128xf32>,
                                    %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op router_noise and noise_seed must be given together, got only noise_seed}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<relu>
         {noise_seed = 5 : i64}
  return
}

// -----

func.func @layer_shared_up_without_down(%x: tensor<?x64xf32>,
                                        %wr: tensor<8x64xf32>,
                                        %wu: tensor<8x128x64xf32>,
                                        %wd: tensor<8x64x128xf32>,
                                        %su: tensor<1x256x64xf32>,
                                        %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared experts need both shared_up and shared_down weights}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         shared_up(%su : tensor<1x256x64xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<relu>
  return
}

// -----

func.func @layer_shared_scale_alone(%x: tensor<?x64xf32>,
                                    %wr: tensor<8x64xf32>,
                                    %wu: tensor<8x128x64xf32>,
                                    %wd: tensor<8x64x128xf32>,
                                    %ss: tensor<?x1xf32>,
                                    %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared experts need both shared_up and shared_down weights}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         shared_scale(%ss : tensor<?x1xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<relu>
  return
}

// -----

func.func @layer_shared_gate_missing(%x: tensor<?x64xf32>,
                                     %wr: tensor<8x64xf32>,
                                     %wg: tensor<8x128x64xf32>,
                                     %wu: tensor<8x128x64xf32>,
                                     %wd: tensor<8x64x128xf32>,
                                     %su: tensor<1x256x64xf32>,
                                     %sd: tensor<1x64x256xf32>,
                                     %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op gated experts need a shared_gate weight}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_up(%su : tensor<1x256x64xf32>)
         shared_down(%sd : tensor<1x64x256xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_shared_gate_ungated(%x: tensor<?x64xf32>,
                                     %wr: tensor<8x64xf32>,
                                     %wu: tensor<8x128x64xf32>,
                                     %wd: tensor<8x64x128xf32>,
                                     %sg: tensor<1x256x64xf32>,
                                     %su: tensor<1x256x64xf32>,
                                     %sd: tensor<1x64x256xf32>,
                                     %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared_gate requires gated experts}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x256x64xf32>)
         shared_up(%su : tensor<1x256x64xf32>)
         shared_down(%sd : tensor<1x64x256xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<relu>
  return
}

// -----

func.func @layer_shared_with_bias(%x: tensor<?x64xf32>,
                                  %wr: tensor<8x64xf32>,
                                  %wg: tensor<8x128x64xf32>,
                                  %wu: tensor<8x128x64xf32>,
                                  %wd: tensor<8x64x128xf32>,
                                  %bu: tensor<8x128xf32>,
                                  %sg: tensor<1x256x64xf32>,
                                  %su: tensor<1x256x64xf32>,
                                  %sd: tensor<1x64x256xf32>,
                                  %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared experts require experts without biases}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) up_bias(%bu : tensor<8x128xf32>)
         shared_gate(%sg : tensor<1x256x64xf32>)
         shared_up(%su : tensor<1x256x64xf32>)
         shared_down(%sd : tensor<1x64x256xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_shared_with_capacity(%x: tensor<?x64xf32>,
                                      %wr: tensor<8x64xf32>,
                                      %wg: tensor<8x128x64xf32>,
                                      %wu: tensor<8x128x64xf32>,
                                      %wd: tensor<8x64x128xf32>,
                                      %sg: tensor<1x256x64xf32>,
                                      %su: tensor<1x256x64xf32>,
                                      %sd: tensor<1x64x256xf32>,
                                      %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared experts require a dropless layer (no capacity_factor)}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x256x64xf32>)
         shared_up(%su : tensor<1x256x64xf32>)
         shared_down(%sd : tensor<1x64x256xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
         {capacity_factor = 1.25 : f64}
  return
}

// -----

func.func @layer_shared_up_rank(%x: tensor<?x64xf32>,
                                %wr: tensor<8x64xf32>,
                                %wg: tensor<8x128x64xf32>,
                                %wu: tensor<8x128x64xf32>,
                                %wd: tensor<8x64x128xf32>,
                                %sg: tensor<1x256x64xf32>,
                                %su: tensor<256x64xf32>,
                                %sd: tensor<1x64x256xf32>,
                                %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared_up must be a rank-3 tensor of f16, bf16, f32 or f64, got 'tensor<256x64xf32>'}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x256x64xf32>)
         shared_up(%su : tensor<256x64xf32>)
         shared_down(%sd : tensor<1x64x256xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_shared_up_experts(%x: tensor<?x64xf32>,
                                   %wr: tensor<8x64xf32>,
                                   %wg: tensor<8x128x64xf32>,
                                   %wu: tensor<8x128x64xf32>,
                                   %wd: tensor<8x64x128xf32>,
                                   %sg: tensor<1x256x64xf32>,
                                   %su: tensor<2x256x64xf32>,
                                   %sd: tensor<1x64x256xf32>,
                                   %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared_up dimension 0 (shared experts) must be 1, got 2}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x256x64xf32>)
         shared_up(%su : tensor<2x256x64xf32>)
         shared_down(%sd : tensor<1x64x256xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_shared_dynamic_intermediate(%x: tensor<?x64xf32>,
                                             %wr: tensor<8x64xf32>,
                                             %wg: tensor<8x128x64xf32>,
                                             %wu: tensor<8x128x64xf32>,
                                             %wd: tensor<8x64x128xf32>,
                                             %sg: tensor<1x?x64xf32>,
                                             %su: tensor<1x?x64xf32>,
                                             %sd: tensor<1x64x?xf32>,
                                             %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared_up dimension 1 (shared intermediate size Fs) must be static}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x?x64xf32>)
         shared_up(%su : tensor<1x?x64xf32>)
         shared_down(%sd : tensor<1x64x?xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_shared_intermediate_not_multiple(%x: tensor<?x64xf32>,
                                                  %wr: tensor<8x64xf32>,
                                                  %wg: tensor<8x128x64xf32>,
                                                  %wu: tensor<8x128x64xf32>,
                                                  %wd: tensor<8x64x128xf32>,
                                                  %sg: tensor<1x192x64xf32>,
                                                  %su: tensor<1x192x64xf32>,
                                                  %sd: tensor<1x64x192xf32>,
                                                  %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared_up dimension 1 (shared intermediate size Fs) must be a multiple of the experts' F = 128, got 192}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x192x64xf32>)
         shared_up(%su : tensor<1x192x64xf32>)
         shared_down(%sd : tensor<1x64x192xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

// An empty F would leave nothing to cut the shared FFN into.
func.func @layer_shared_zero_width(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                                   %wu: tensor<8x0x64xf32>,
                                   %wd: tensor<8x64x0xf32>,
                                   %su: tensor<1x64x64xf32>,
                                   %sd: tensor<1x64x64xf32>,
                                   %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op up dimension 1 (intermediate size F) must be at least 1, got 0}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         up(%wu : tensor<8x0x64xf32>) down(%wd : tensor<8x64x0xf32>)
         shared_up(%su : tensor<1x64x64xf32>)
         shared_down(%sd : tensor<1x64x64xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<gelu>
  return
}

// -----

func.func @layer_shared_empty(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                              %wu: tensor<8x32x64xf32>,
                              %wd: tensor<8x64x32xf32>,
                              %su: tensor<1x0x64xf32>,
                              %sd: tensor<1x64x0xf32>,
                              %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared_up dimension 1 (shared intermediate size Fs) must be at least 1, got 0}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         up(%wu : tensor<8x32x64xf32>) down(%wd : tensor<8x64x32xf32>)
         shared_up(%su : tensor<1x0x64xf32>)
         shared_down(%sd : tensor<1x64x0xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<gelu>
  return
}

// -----

// The shared weights are cut into slices at compile time: their shapes are
// static.
func.func @layer_shared_dynamic_hidden(%x: tensor<?x?xf32>, %wr: tensor<8x?xf32>,
                                       %wu: tensor<8x32x?xf32>,
                                       %wd: tensor<8x?x32xf32>,
                                       %su: tensor<1x64x?xf32>,
                                       %sd: tensor<1x?x64xf32>,
                                       %init: tensor<?x?xf32>) {
  // expected-error @+1 {{'moe.layer' op shared_up dimension 2 (hidden size D) must be static}}
  %0 = moe.layer ins(%x : tensor<?x?xf32>) router(%wr : tensor<8x?xf32>)
         up(%wu : tensor<8x32x?xf32>) down(%wd : tensor<8x?x32xf32>)
         shared_up(%su : tensor<1x64x?xf32>)
         shared_down(%sd : tensor<1x?x64xf32>)
         outs(%init : tensor<?x?xf32>) top_k(2) scoring<softmax> activation<gelu>
  return
}

// -----

func.func @layer_shared_up_hidden_mismatch(%x: tensor<?x64xf32>,
                                           %wr: tensor<8x64xf32>,
                                           %wg: tensor<8x128x64xf32>,
                                           %wu: tensor<8x128x64xf32>,
                                           %wd: tensor<8x64x128xf32>,
                                           %sg: tensor<1x256x64xf32>,
                                           %su: tensor<1x256x32xf32>,
                                           %sd: tensor<1x64x256xf32>,
                                           %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared_up dimension 2 (hidden size D) must be 64, got 32}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x256x64xf32>)
         shared_up(%su : tensor<1x256x32xf32>)
         shared_down(%sd : tensor<1x64x256xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_shared_up_element_type(%x: tensor<?x64xf32>,
                                        %wr: tensor<8x64xf32>,
                                        %wg: tensor<8x128x64xf32>,
                                        %wu: tensor<8x128x64xf32>,
                                        %wd: tensor<8x64x128xf32>,
                                        %sg: tensor<1x256x64xbf16>,
                                        %su: tensor<1x256x64xbf16>,
                                        %sd: tensor<1x64x256xbf16>,
                                        %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared_up element type 'bf16' must match up element type 'f32'}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x256x64xbf16>)
         shared_up(%su : tensor<1x256x64xbf16>)
         shared_down(%sd : tensor<1x64x256xbf16>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_shared_gate_intermediate_mismatch(%x: tensor<?x64xf32>,
                                                   %wr: tensor<8x64xf32>,
                                                   %wg: tensor<8x128x64xf32>,
                                                   %wu: tensor<8x128x64xf32>,
                                                   %wd: tensor<8x64x128xf32>,
                                                   %sg: tensor<1x128x64xf32>,
                                                   %su: tensor<1x256x64xf32>,
                                                   %sd: tensor<1x64x256xf32>,
                                                   %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared_gate dimension 1 (shared intermediate size Fs) must be 256, got 128}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x128x64xf32>)
         shared_up(%su : tensor<1x256x64xf32>)
         shared_down(%sd : tensor<1x64x256xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_shared_gate_hidden_mismatch(%x: tensor<?x64xf32>,
                                             %wr: tensor<8x64xf32>,
                                             %wg: tensor<8x128x64xf32>,
                                             %wu: tensor<8x128x64xf32>,
                                             %wd: tensor<8x64x128xf32>,
                                             %sg: tensor<1x256x32xf32>,
                                             %su: tensor<1x256x64xf32>,
                                             %sd: tensor<1x64x256xf32>,
                                             %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared_gate dimension 2 (hidden size D) must be 64, got 32}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x256x32xf32>)
         shared_up(%su : tensor<1x256x64xf32>)
         shared_down(%sd : tensor<1x64x256xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_shared_gate_element_type(%x: tensor<?x64xf32>,
                                          %wr: tensor<8x64xf32>,
                                          %wg: tensor<8x128x64xf32>,
                                          %wu: tensor<8x128x64xf32>,
                                          %wd: tensor<8x64x128xf32>,
                                          %sg: tensor<1x256x64xbf16>,
                                          %su: tensor<1x256x64xf32>,
                                          %sd: tensor<1x64x256xf32>,
                                          %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared_gate element type 'bf16' must match gate element type 'f32'}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x256x64xbf16>)
         shared_up(%su : tensor<1x256x64xf32>)
         shared_down(%sd : tensor<1x64x256xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_shared_down_experts(%x: tensor<?x64xf32>,
                                     %wr: tensor<8x64xf32>,
                                     %wg: tensor<8x128x64xf32>,
                                     %wu: tensor<8x128x64xf32>,
                                     %wd: tensor<8x64x128xf32>,
                                     %sg: tensor<1x256x64xf32>,
                                     %su: tensor<1x256x64xf32>,
                                     %sd: tensor<2x64x256xf32>,
                                     %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared_down dimension 0 (shared experts) must be 1, got 2}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x256x64xf32>)
         shared_up(%su : tensor<1x256x64xf32>)
         shared_down(%sd : tensor<2x64x256xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_shared_down_hidden_mismatch(%x: tensor<?x64xf32>,
                                             %wr: tensor<8x64xf32>,
                                             %wg: tensor<8x128x64xf32>,
                                             %wu: tensor<8x128x64xf32>,
                                             %wd: tensor<8x64x128xf32>,
                                             %sg: tensor<1x256x64xf32>,
                                             %su: tensor<1x256x64xf32>,
                                             %sd: tensor<1x32x256xf32>,
                                             %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared_down dimension 1 (hidden size D) must be 64, got 32}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x256x64xf32>)
         shared_up(%su : tensor<1x256x64xf32>)
         shared_down(%sd : tensor<1x32x256xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_shared_down_intermediate_mismatch(%x: tensor<?x64xf32>,
                                                   %wr: tensor<8x64xf32>,
                                                   %wg: tensor<8x128x64xf32>,
                                                   %wu: tensor<8x128x64xf32>,
                                                   %wd: tensor<8x64x128xf32>,
                                                   %sg: tensor<1x256x64xf32>,
                                                   %su: tensor<1x256x64xf32>,
                                                   %sd: tensor<1x64x128xf32>,
                                                   %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared_down dimension 2 (shared intermediate size Fs) must be 256, got 128}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x256x64xf32>)
         shared_up(%su : tensor<1x256x64xf32>)
         shared_down(%sd : tensor<1x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_shared_down_element_type(%x: tensor<?x64xf32>,
                                          %wr: tensor<8x64xf32>,
                                          %wg: tensor<8x128x64xf32>,
                                          %wu: tensor<8x128x64xf32>,
                                          %wd: tensor<8x64x128xf32>,
                                          %sg: tensor<1x256x64xf32>,
                                          %su: tensor<1x256x64xf32>,
                                          %sd: tensor<1x64x256xbf16>,
                                          %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared_down element type 'bf16' must match down element type 'f32'}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x256x64xf32>)
         shared_up(%su : tensor<1x256x64xf32>)
         shared_down(%sd : tensor<1x64x256xbf16>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_shared_scale_rank(%x: tensor<?x64xf32>,
                                   %wr: tensor<8x64xf32>,
                                   %wg: tensor<8x128x64xf32>,
                                   %wu: tensor<8x128x64xf32>,
                                   %wd: tensor<8x64x128xf32>,
                                   %sg: tensor<1x256x64xf32>,
                                   %su: tensor<1x256x64xf32>,
                                   %sd: tensor<1x64x256xf32>,
                                   %ss: tensor<?xf32>,
                                   %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared_scale must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<?xf32>'}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x256x64xf32>)
         shared_up(%su : tensor<1x256x64xf32>)
         shared_down(%sd : tensor<1x64x256xf32>)
         shared_scale(%ss : tensor<?xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_shared_scale_tokens_mismatch(%x: tensor<4x64xf32>,
                                              %wr: tensor<8x64xf32>,
                                              %wg: tensor<8x128x64xf32>,
                                              %wu: tensor<8x128x64xf32>,
                                              %wd: tensor<8x64x128xf32>,
                                              %sg: tensor<1x256x64xf32>,
                                              %su: tensor<1x256x64xf32>,
                                              %sd: tensor<1x64x256xf32>,
                                              %ss: tensor<5x1xf32>,
                                              %init: tensor<4x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared_scale dimension 0 (tokens T) must be 4, got 5}}
  %0 = moe.layer ins(%x : tensor<4x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x256x64xf32>)
         shared_up(%su : tensor<1x256x64xf32>)
         shared_down(%sd : tensor<1x64x256xf32>)
         shared_scale(%ss : tensor<5x1xf32>)
         outs(%init : tensor<4x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_shared_scale_width(%x: tensor<?x64xf32>,
                                    %wr: tensor<8x64xf32>,
                                    %wg: tensor<8x128x64xf32>,
                                    %wu: tensor<8x128x64xf32>,
                                    %wd: tensor<8x64x128xf32>,
                                    %sg: tensor<1x256x64xf32>,
                                    %su: tensor<1x256x64xf32>,
                                    %sd: tensor<1x64x256xf32>,
                                    %ss: tensor<?x2xf32>,
                                    %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared_scale dimension 1 (one scale a token) must be 1, got 2}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x256x64xf32>)
         shared_up(%su : tensor<1x256x64xf32>)
         shared_down(%sd : tensor<1x64x256xf32>)
         shared_scale(%ss : tensor<?x2xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @layer_shared_scale_element_type(%x: tensor<?x64xf32>,
                                           %wr: tensor<8x64xf32>,
                                           %wg: tensor<8x128x64xf32>,
                                           %wu: tensor<8x128x64xf32>,
                                           %wd: tensor<8x64x128xf32>,
                                           %sg: tensor<1x256x64xf32>,
                                           %su: tensor<1x256x64xf32>,
                                           %sd: tensor<1x64x256xf32>,
                                           %ss: tensor<?x1xbf16>,
                                           %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.layer' op shared_scale element type 'bf16' must match input element type 'f32'}}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x256x64xf32>)
         shared_up(%su : tensor<1x256x64xf32>)
         shared_down(%sd : tensor<1x64x256xf32>)
         shared_scale(%ss : tensor<?x1xbf16>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return
}

// -----

func.func @grouped_matmul_panels_rank(%x: tensor<?x64xf32>,
    %w: tensor<8x64x128xf32>, %o: tensor<9xi32>,
    %acc: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // expected-error @+1 {{'moe.grouped_matmul' op weight must be a rank-4 tensor}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x64x128xf32>, tensor<9xi32>)
         outs(%acc : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<panels>}
  return %0 : tensor<?x128xf32>
}

// -----

func.func @router_panels_layout(%x: tensor<?x64xf32>, %w: tensor<64x8xf32>,
                                %init: tensor<?x8xf32>) {
  // expected-error @+1 {{'moe.router' op weight_layout must be nk or kn, got panels}}
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<64x8xf32>)
         outs(%init : tensor<?x8xf32>) scoring<softmax> {weight_layout = #moe.weight_layout<panels>}
  return
}

// -----

func.func @gated_pair_panels_f32_input(%x: tensor<?x64xf32>, %o: tensor<9xi32>,
    %wg: tensor<8x4x32x32x2xbf16>, %wu: tensor<8x4x32x32x2xbf16>,
    %init: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op input must have bf16 elements with the pair_panels layout, got 'tensor<?x64xf32>'}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x4x32x32x2xbf16>) up(%wu : tensor<8x4x32x32x2xbf16>)
         outs(%init : tensor<?x128xf32>) activation<silu> {weight_layout = #moe.weight_layout<pair_panels>}
  return %0 : tensor<?x128xf32>
}

// -----

func.func @gated_pair_panels_gather_rows(%x: tensor<?x64xbf16>, %o: tensor<9xi32>,
    %ids5: tensor<5xi32>, %wg: tensor<8x4x32x32x2xbf16>,
    %wu: tensor<8x4x32x32x2xbf16>, %init: tensor<7x128xf32>) -> tensor<7x128xf32> {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op init dimension 0 (rows R) must be 5, got 7}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xbf16>, tensor<9xi32>)
         gather(%ids5 : tensor<5xi32>)
         gate(%wg : tensor<8x4x32x32x2xbf16>) up(%wu : tensor<8x4x32x32x2xbf16>)
         outs(%init : tensor<7x128xf32>) activation<silu> {weight_layout = #moe.weight_layout<pair_panels>}
  return %0 : tensor<7x128xf32>
}

// -----

func.func @grouped_matmul_vnni_rank(%x: tensor<?x64xbf16>,
    %w: tensor<8x32x128x2xbf16>, %o: tensor<9xi32>,
    %acc: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // expected-error @+1 {{'moe.grouped_matmul' op weight must be a rank-5 tensor of f16, bf16, f32 or f64, got 'tensor<8x32x128x2xbf16>'}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xbf16>, tensor<8x32x128x2xbf16>, tensor<9xi32>)
         outs(%acc : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<pair_panels>}
  return %0 : tensor<?x128xf32>
}

// -----

func.func @grouped_matmul_vnni_f32_input(%x: tensor<?x64xf32>,
    %w: tensor<8x4x32x32x2xbf16>, %o: tensor<9xi32>,
    %acc: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // expected-error @+1 {{'moe.grouped_matmul' op input must have bf16 elements with the pair_panels layout, got 'tensor<?x64xf32>'}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x4x32x32x2xbf16>, tensor<9xi32>)
         outs(%acc : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<pair_panels>}
  return %0 : tensor<?x128xf32>
}

// -----

func.func @grouped_matmul_vnni_f32_weight(%x: tensor<?x64xbf16>,
    %w: tensor<8x4x32x32x2xf32>, %o: tensor<9xi32>,
    %acc: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // expected-error @+1 {{'moe.grouped_matmul' op weight must have bf16 elements with the pair_panels layout, got 'tensor<8x4x32x32x2xf32>'}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xbf16>, tensor<8x4x32x32x2xf32>, tensor<9xi32>)
         outs(%acc : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<pair_panels>}
  return %0 : tensor<?x128xf32>
}

// -----

func.func @grouped_matmul_vnni_not_pairs(%x: tensor<?x64xbf16>,
    %w: tensor<8x4x16x32x4xbf16>, %o: tensor<9xi32>,
    %acc: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // expected-error @+1 {{'moe.grouped_matmul' op weight dimension 4 (k pairs) must be 2, got 4}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xbf16>, tensor<8x4x16x32x4xbf16>, tensor<9xi32>)
         outs(%acc : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<pair_panels>}
  return %0 : tensor<?x128xf32>
}

// -----

func.func @grouped_matmul_vnni_odd_k(%x: tensor<?x63xbf16>,
    %w: tensor<8x4x32x32x2xbf16>, %o: tensor<9xi32>,
    %acc: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // expected-error @+1 {{'moe.grouped_matmul' op input must have an even reduction size K with the pair_panels layout, got 63}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x63xbf16>, tensor<8x4x32x32x2xbf16>, tensor<9xi32>)
         outs(%acc : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<pair_panels>}
  return %0 : tensor<?x128xf32>
}

// -----

func.func @grouped_matmul_vnni_k_pairs(%x: tensor<?x64xbf16>,
    %w: tensor<8x4x16x32x2xbf16>, %o: tensor<9xi32>,
    %acc: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // expected-error @+1 {{'moe.grouped_matmul' op weight dimension 2 (reduction size K / 2) must be 32, got 16}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xbf16>, tensor<8x4x16x32x2xbf16>, tensor<9xi32>)
         outs(%acc : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<pair_panels>}
  return %0 : tensor<?x128xf32>
}

// -----

func.func @grouped_matmul_vnni_width(%x: tensor<?x64xbf16>,
    %w: tensor<8x2x32x32x2xbf16>, %o: tensor<9xi32>,
    %acc: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // expected-error @+1 {{'moe.grouped_matmul' op init dimension 1 (output width N) must be 64, got 128}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xbf16>, tensor<8x2x32x32x2xbf16>, tensor<9xi32>)
         outs(%acc : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<pair_panels>}
  return %0 : tensor<?x128xf32>
}

// -----

func.func @grouped_matmul_vnni_dynamic_weight(%x: tensor<?x64xbf16>,
    %w: tensor<8x?x32x32x2xbf16>, %o: tensor<9xi32>,
    %acc: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // expected-error @+1 {{'moe.grouped_matmul' op weight must have a static shape with the pair_panels layout, got 'tensor<8x?x32x32x2xbf16>'}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xbf16>, tensor<8x?x32x32x2xbf16>, tensor<9xi32>)
         outs(%acc : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<pair_panels>}
  return %0 : tensor<?x128xf32>
}

// -----

func.func @grouped_matmul_vnni_f16_init(%x: tensor<?x64xbf16>,
    %w: tensor<8x4x32x32x2xbf16>, %o: tensor<9xi32>,
    %acc: tensor<?x128xf16>) -> tensor<?x128xf16> {
  // expected-error @+1 {{'moe.grouped_matmul' op init must have f32 elements with the pair_panels layout, got 'tensor<?x128xf16>'}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xbf16>, tensor<8x4x32x32x2xbf16>, tensor<9xi32>)
         outs(%acc : tensor<?x128xf16>) {weight_layout = #moe.weight_layout<pair_panels>}
  return %0 : tensor<?x128xf16>
}

// -----

func.func @grouped_matmul_panels_k(%x: tensor<?x64xf32>,
    %w: tensor<8x4x32x32xf32>, %o: tensor<9xi32>,
    %acc: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // expected-error @+1 {{'moe.grouped_matmul' op weight dimension 2 (reduction size K) must be 64, got 32}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x4x32x32xf32>, tensor<9xi32>)
         outs(%acc : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<panels>}
  return %0 : tensor<?x128xf32>
}

// -----

func.func @grouped_matmul_panels_width(%x: tensor<?x64xf32>,
    %w: tensor<8x2x64x32xf32>, %o: tensor<9xi32>,
    %acc: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // expected-error @+1 {{'moe.grouped_matmul' op init dimension 1 (output width N) must be 64, got 128}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x2x64x32xf32>, tensor<9xi32>)
         outs(%acc : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<panels>}
  return %0 : tensor<?x128xf32>
}

// -----

func.func @dispatch_alignment_zero(%idx: tensor<?x2xi32>, %w: tensor<?x2xf32>,
                                   %c: tensor<8xi32>, %o: tensor<9xi32>,
                                   %t: tensor<?xi32>, %rw: tensor<?xf32>) {
  // expected-error @+1 {{'moe.dispatch' op segment_alignment must be at least 1, got 0}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>,
                                  tensor<?xi32>, tensor<?xf32>)
           {segment_alignment = 0 : i64}
  return
}

// -----

// Aligned segments need room for their padding: R = 3 * 2 + 4 * 3 = 18.
func.func @dispatch_aligned_rows(%idx: tensor<3x2xi32>, %w: tensor<3x2xf32>,
                                 %c: tensor<4xi32>, %o: tensor<5xi32>,
                                 %t: tensor<6xi32>, %rw: tensor<6xf32>) {
  // expected-error @+1 {{'moe.dispatch' op token_ids dimension 0 (padded rows T * k + E * (B - 1)) must be 18, got 6}}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<3x2xi32>, tensor<3x2xf32>)
           outs(%c, %o, %t, %rw : tensor<4xi32>, tensor<5xi32>,
                                  tensor<6xi32>, tensor<6xf32>)
           {segment_alignment = 4 : i64}
  return
}

// -----

// In the kn layout the router weight is [D, E].
func.func @router_weight_kn_shape(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>,
                                  %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{'moe.router' op weight dimension 0 (hidden size D) must be 64, got 8}}
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
         outs(%init : tensor<?x8xf32>) scoring<softmax> {weight_layout = #moe.weight_layout<kn>}
  return %0 : tensor<?x8xf32>
}

// -----

func.func @gated_activation_gate_rank(%g: tensor<?x128x1xf32>, %u: tensor<?x128xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.gated_activation' op gate must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<?x128x1xf32>'}}
  %0 = moe.gated_activation ins(%g, %u : tensor<?x128x1xf32>, tensor<?x128xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @gated_activation_up_element_type(%g: tensor<?x128xf32>, %u: tensor<?x128xi32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.gated_activation' op up must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<?x128xi32>'}}
  %0 = moe.gated_activation ins(%g, %u : tensor<?x128xf32>, tensor<?x128xi32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @gated_activation_init_rank(%g: tensor<?x128xf32>, %u: tensor<?x128xf32>,
    %init: tensor<128xf32>) {
  // expected-error @+1 {{'moe.gated_activation' op init must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<128xf32>'}}
  %0 = moe.gated_activation ins(%g, %u : tensor<?x128xf32>, tensor<?x128xf32>)
         outs(%init : tensor<128xf32>) activation<silu>
  return
}

// -----

func.func @gated_activation_gate_element_mismatch(%g: tensor<?x128xf16>, %u: tensor<?x128xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.gated_activation' op gate element type 'f16' must match init element type 'f32'}}
  %0 = moe.gated_activation ins(%g, %u : tensor<?x128xf16>, tensor<?x128xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @gated_activation_up_element_mismatch(%g: tensor<?x128xf32>, %u: tensor<?x128xbf16>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.gated_activation' op up element type 'bf16' must match init element type 'f32'}}
  %0 = moe.gated_activation ins(%g, %u : tensor<?x128xf32>, tensor<?x128xbf16>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @gated_activation_gate_rows(%g: tensor<8x128xf32>, %u: tensor<16x128xf32>,
    %init: tensor<16x128xf32>) {
  // expected-error @+1 {{'moe.gated_activation' op gate dimension 0 (rows R) must be 16, got 8}}
  %0 = moe.gated_activation ins(%g, %u : tensor<8x128xf32>, tensor<16x128xf32>)
         outs(%init : tensor<16x128xf32>) activation<silu>
  return
}

// -----

func.func @gated_activation_up_rows(%g: tensor<16x128xf32>, %u: tensor<8x128xf32>,
    %init: tensor<16x128xf32>) {
  // expected-error @+1 {{'moe.gated_activation' op up dimension 0 (rows R) must be 16, got 8}}
  %0 = moe.gated_activation ins(%g, %u : tensor<16x128xf32>, tensor<8x128xf32>)
         outs(%init : tensor<16x128xf32>) activation<silu>
  return
}

// -----

func.func @gated_activation_gate_width(%g: tensor<?x64xf32>, %u: tensor<?x128xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.gated_activation' op gate dimension 1 (intermediate size F) must be 128, got 64}}
  %0 = moe.gated_activation ins(%g, %u : tensor<?x64xf32>, tensor<?x128xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @gated_activation_up_width(%g: tensor<?x128xf32>, %u: tensor<?x64xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.gated_activation' op up dimension 1 (intermediate size F) must be 128, got 64}}
  %0 = moe.gated_activation ins(%g, %u : tensor<?x128xf32>, tensor<?x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @gated_activation_swiglu_alpha_with_silu(%g: tensor<?x128xf32>, %u: tensor<?x128xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.gated_activation' op swiglu_alpha and swiglu_limit apply to activation swiglu_oai only, got activation silu}}
  %0 = moe.gated_activation ins(%g, %u : tensor<?x128xf32>, tensor<?x128xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu> {swiglu_alpha = 1.702 : f32}
  return
}

// -----

func.func @gated_activation_swiglu_limit_with_gelu(%g: tensor<?x128xf32>, %u: tensor<?x128xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.gated_activation' op swiglu_alpha and swiglu_limit apply to activation swiglu_oai only, got activation gelu}}
  %0 = moe.gated_activation ins(%g, %u : tensor<?x128xf32>, tensor<?x128xf32>)
         outs(%init : tensor<?x128xf32>) activation<gelu> {swiglu_limit = 7.0 : f32}
  return
}

// -----

func.func @gated_activation_nan_swiglu_alpha(%g: tensor<?x128xf32>, %u: tensor<?x128xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.gated_activation' op swiglu_alpha = nan must be finite}}
  %0 = moe.gated_activation ins(%g, %u : tensor<?x128xf32>, tensor<?x128xf32>)
         outs(%init : tensor<?x128xf32>) activation<swiglu_oai> {swiglu_alpha = 0x7FC00000 : f32}
  return
}

// -----

func.func @gated_activation_negative_swiglu_limit(%g: tensor<?x128xf32>, %u: tensor<?x128xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.gated_activation' op swiglu_limit = -1.000000e+00 must be positive and finite}}
  %0 = moe.gated_activation ins(%g, %u : tensor<?x128xf32>, tensor<?x128xf32>)
         outs(%init : tensor<?x128xf32>) activation<swiglu_oai> {swiglu_limit = -1.0 : f32}
  return
}

// -----

func.func @gated_activation_infinite_swiglu_limit(%g: tensor<?x128xf32>, %u: tensor<?x128xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.gated_activation' op swiglu_limit = INF must be positive and finite}}
  %0 = moe.gated_activation ins(%g, %u : tensor<?x128xf32>, tensor<?x128xf32>)
         outs(%init : tensor<?x128xf32>) activation<swiglu_oai> {swiglu_limit = 0x7F800000 : f32}
  return
}

// -----

func.func @grouped_gated_matmul_input_rank(%x: tensor<?x64x1xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op input must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<?x64x1xf32>'}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64x1xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @grouped_gated_matmul_input_element_type(%x: tensor<?x64xi8>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op input must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<?x64xi8>'}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xi8>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @grouped_gated_matmul_gate_rank(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128xf32>,
    %wu: tensor<8x128xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op gate must be a rank-3 tensor of f16, bf16, f32 or f64, got 'tensor<8x128xf32>'}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128xf32>) up(%wu : tensor<8x128xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @grouped_gated_matmul_gate_element_type(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x64xi8>,
    %wu: tensor<8x128x64xi8>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op gate must be a rank-3 tensor of f16, bf16, f32 or f64, got 'tensor<8x128x64xi8>'}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xi8>) up(%wu : tensor<8x128x64xi8>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

// The gate and up weights share one type.
func.func @grouped_gated_matmul_weight_types_differ(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xbf16>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op failed to verify that all of {gate_weight, up_weight} have same type}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xbf16>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @grouped_gated_matmul_weight_shapes_differ(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x64x64xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op failed to verify that all of {gate_weight, up_weight} have same type}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x64x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @grouped_gated_matmul_offsets_element_type(%x: tensor<?x64xf32>,
    %o: tensor<9xf32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op expert_offsets must be a rank-1 tensor of i32, got 'tensor<9xf32>'}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @grouped_gated_matmul_dynamic_offsets(%x: tensor<?x64xf32>,
    %o: tensor<?xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op expert_offsets dimension 0 (experts E + 1) must be static}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<?xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @grouped_gated_matmul_one_offset(%x: tensor<?x64xf32>,
    %o: tensor<1xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op expert_offsets dimension 0 (experts E + 1) must be at least 2, got 1}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<1xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @grouped_gated_matmul_init_rank(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>,
    %init: tensor<128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op init must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<128xf32>'}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<128xf32>) activation<silu>
  return
}

// -----

func.func @grouped_gated_matmul_init_element_type(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>,
    %init: tensor<?x128xi32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op init must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<?x128xi32>'}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<?x128xi32>) activation<silu>
  return
}

// -----

func.func @grouped_gated_matmul_experts_mismatch(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<4x128x64xf32>,
    %wu: tensor<4x128x64xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op gate dimension 0 (experts E) must be 8, got 4}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<4x128x64xf32>) up(%wu : tensor<4x128x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @grouped_gated_matmul_reduction_mismatch(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x32xf32>,
    %wu: tensor<8x128x32xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op gate dimension 2 (reduction size K) must be 64, got 32}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x32xf32>) up(%wu : tensor<8x128x32xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @grouped_gated_matmul_rows_mismatch(%x: tensor<16x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>,
    %init: tensor<8x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op init dimension 0 (rows R) must be 16, got 8}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<16x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<8x128xf32>) activation<silu>
  return
}

// -----

func.func @grouped_gated_matmul_width_mismatch(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>,
    %init: tensor<?x64xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op init dimension 1 (output width N) must be 128, got 64}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<?x64xf32>) activation<silu>
  return
}

// -----

// In the kn layout the weights are [E, K, N].
func.func @grouped_gated_matmul_kn_reduction(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op gate dimension 1 (reduction size K) must be 64, got 128}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu> {weight_layout = #moe.weight_layout<kn>}
  return
}

// -----

func.func @grouped_gated_matmul_kn_width(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x64x64xf32>,
    %wu: tensor<8x64x64xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op init dimension 1 (output width N) must be 64, got 128}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x64x64xf32>) up(%wu : tensor<8x64x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu> {weight_layout = #moe.weight_layout<kn>}
  return
}

// -----

// Panels [E, N/P, K, P]: K is dimension 2, N = N/P * P.
func.func @grouped_gated_matmul_panels_k(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x4x32x32xf32>,
    %wu: tensor<8x4x32x32xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op gate dimension 2 (reduction size K) must be 64, got 32}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x4x32x32xf32>) up(%wu : tensor<8x4x32x32xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu> {weight_layout = #moe.weight_layout<panels>}
  return
}

// -----

func.func @grouped_gated_matmul_panels_width(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x2x64x32xf32>,
    %wu: tensor<8x2x64x32xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op init dimension 1 (output width N) must be 64, got 128}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x2x64x32xf32>) up(%wu : tensor<8x2x64x32xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu> {weight_layout = #moe.weight_layout<panels>}
  return
}

// -----

// In the default nk layout a rank-4 weight is rejected.
func.func @grouped_gated_matmul_panels_without_kn(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x4x64x32xf32>,
    %wu: tensor<8x4x64x32xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op gate must be a rank-3 tensor of f16, bf16, f32 or f64, got 'tensor<8x4x64x32xf32>'}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x4x64x32xf32>) up(%wu : tensor<8x4x64x32xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @grouped_gated_matmul_gate_bias_rank(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>,
    %bg: tensor<128xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op gate_bias must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<128xf32>'}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>) gate_bias(%bg : tensor<128xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @grouped_gated_matmul_gate_bias_experts(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>,
    %bg: tensor<4x128xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op gate_bias dimension 0 (experts E) must be 8, got 4}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>) gate_bias(%bg : tensor<4x128xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @grouped_gated_matmul_gate_bias_width(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>,
    %bg: tensor<8x64xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op gate_bias dimension 1 (output width N) must be 128, got 64}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>) gate_bias(%bg : tensor<8x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @grouped_gated_matmul_up_bias_element_type(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>,
    %bu: tensor<8x128xi32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op up_bias must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<8x128xi32>'}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>) up_bias(%bu : tensor<8x128xi32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @grouped_gated_matmul_up_bias_experts(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>,
    %bg: tensor<8x128xf32>,
    %bu: tensor<4x128xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op up_bias dimension 0 (experts E) must be 8, got 4}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>) gate_bias(%bg : tensor<8x128xf32>) up_bias(%bu : tensor<4x128xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

func.func @grouped_gated_matmul_up_bias_width(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>,
    %bu: tensor<8x64xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op up_bias dimension 1 (output width N) must be 128, got 64}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>) up_bias(%bu : tensor<8x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

// A bias is [E, N] with N = N/P * P.
func.func @grouped_gated_matmul_panels_bias_width(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x4x64x32xf32>,
    %wu: tensor<8x4x64x32xf32>,
    %bu: tensor<8x32xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op up_bias dimension 1 (output width N) must be 128, got 32}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x4x64x32xf32>) up(%wu : tensor<8x4x64x32xf32>) up_bias(%bu : tensor<8x32xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu> {weight_layout = #moe.weight_layout<panels>}
  return
}

// -----

func.func @grouped_gated_matmul_swiglu_alpha_with_silu(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op swiglu_alpha and swiglu_limit apply to activation swiglu_oai only, got activation silu}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu> {swiglu_alpha = 1.702 : f32, swiglu_limit = 7.0 : f32}
  return
}

// -----

func.func @grouped_gated_matmul_infinite_swiglu_alpha(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op swiglu_alpha = -INF must be finite}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<swiglu_oai> {swiglu_alpha = 0xFF800000 : f32}
  return
}

// -----

func.func @grouped_gated_matmul_zero_swiglu_limit(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op swiglu_limit = 0.000000e+00 must be positive and finite}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<swiglu_oai> {swiglu_limit = 0.0 : f32}
  return
}

// -----

func.func @grouped_gated_matmul_nan_swiglu_limit(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>,
    %wg: tensor<8x128x64xf32>,
    %wu: tensor<8x128x64xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op swiglu_limit = nan must be positive and finite}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<swiglu_oai> {swiglu_limit = 0x7FC00000 : f32}
  return
}

// -----

// gate and up must agree with each other where init does not say.
func.func @gated_activation_gate_up_rows(%g: tensor<8x128xf32>, %u: tensor<16x128xf32>,
                                         %i: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // expected-error @+1 {{'moe.gated_activation' op up dimension 0 (rows R) must be 8, got 16}}
  %0 = moe.gated_activation ins(%g, %u : tensor<8x128xf32>, tensor<16x128xf32>)
         outs(%i : tensor<?x128xf32>) activation<silu>
  return %0 : tensor<?x128xf32>
}

// -----

// With a dynamic N in the weight, a bias is checked against init's width.
func.func @grouped_matmul_bias_vs_init(%x: tensor<?x64xf32>, %w: tensor<8x?x64xf32>,
                                       %o: tensor<9xi32>, %b: tensor<8x32xf32>,
                                       %i: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // expected-error @+1 {{'moe.grouped_matmul' op bias dimension 1 (output width N) must be 128, got 32}}
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x?x64xf32>, tensor<9xi32>)
         bias(%b : tensor<8x32xf32>) outs(%i : tensor<?x128xf32>)
  return %0 : tensor<?x128xf32>
}

// -----

func.func @router_top_k_input_rank(%x: tensor<64xf32>, %w: tensor<8x64xf32>,
                                   %we: tensor<?x2xf32>, %ie: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.router_top_k' op input must be a rank-2 tensor of f16, bf16, f32 or f64, got 'tensor<64xf32>'}}
  %0, %1 = moe.router_top_k ins(%x, %w : tensor<64xf32>, tensor<8x64xf32>)
             outs(%we, %ie : tensor<?x2xf32>, tensor<?x2xi32>) scoring<softmax>
  return
}

// -----

func.func @router_top_k_hidden(%x: tensor<?x64xf32>, %w: tensor<64x8xf32>,
                               %we: tensor<?x2xf32>, %ie: tensor<?x2xi32>) {
  // [D, E] only in the kn layout: as [E, D] its D is 8.
  // expected-error @+1 {{'moe.router_top_k' op weight dimension 1 (hidden size D) must be 64, got 8}}
  %0, %1 = moe.router_top_k ins(%x, %w : tensor<?x64xf32>, tensor<64x8xf32>)
             outs(%we, %ie : tensor<?x2xf32>, tensor<?x2xi32>) scoring<softmax>
  return
}

// -----

func.func @router_top_k_dynamic_experts(%x: tensor<?x64xf32>, %w: tensor<?x64xf32>,
                                        %we: tensor<?x2xf32>, %ie: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.router_top_k' op weight dimension 0 (experts E) must be static}}
  %0, %1 = moe.router_top_k ins(%x, %w : tensor<?x64xf32>, tensor<?x64xf32>)
             outs(%we, %ie : tensor<?x2xf32>, tensor<?x2xi32>) scoring<softmax>
  return
}

// -----

func.func @router_top_k_tokens(%x: tensor<4x64xf32>, %w: tensor<8x64xf32>,
                               %we: tensor<3x2xf32>, %ie: tensor<4x2xi32>) {
  // expected-error @+1 {{'moe.router_top_k' op weights dimension 0 (tokens T) must be 4, got 3}}
  %0, %1 = moe.router_top_k ins(%x, %w : tensor<4x64xf32>, tensor<8x64xf32>)
             outs(%we, %ie : tensor<3x2xf32>, tensor<4x2xi32>) scoring<softmax>
  return
}

// -----

func.func @router_top_k_indices_k(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>,
                                  %we: tensor<?x2xf32>, %ie: tensor<?x3xi32>) {
  // expected-error @+1 {{'moe.router_top_k' op indices dimension 1 (k) must be 2, got 3}}
  %0, %1 = moe.router_top_k ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
             outs(%we, %ie : tensor<?x2xf32>, tensor<?x3xi32>) scoring<softmax>
  return
}

// -----

func.func @router_top_k_element_type(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>,
                                     %we: tensor<?x2xf16>, %ie: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.router_top_k' op weights element type 'f16' must match input element type 'f32'}}
  %0, %1 = moe.router_top_k ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
             outs(%we, %ie : tensor<?x2xf16>, tensor<?x2xi32>) scoring<softmax>
  return
}

// -----

func.func @router_top_k_bias(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>, %b: tensor<4xf32>,
                             %we: tensor<?x2xf32>, %ie: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.router_top_k' op bias dimension 0 (experts E) must be 8, got 4}}
  %0, %1 = moe.router_top_k ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>) bias(%b : tensor<4xf32>)
             outs(%we, %ie : tensor<?x2xf32>, tensor<?x2xi32>) scoring<softmax>
  return
}

// -----

func.func @router_top_k_selection_bias(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>, %b: tensor<8x1xf32>,
                                       %we: tensor<?x2xf32>, %ie: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.router_top_k' op selection_bias must be a rank-1 tensor of f16, bf16, f32 or f64, got 'tensor<8x1xf32>'}}
  %0, %1 = moe.router_top_k ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>) selection_bias(%b : tensor<8x1xf32>)
             outs(%we, %ie : tensor<?x2xf32>, tensor<?x2xi32>) scoring<softmax>
  return
}

// -----

func.func @router_top_k_k(%x: tensor<?x64xf32>, %w: tensor<4x64xf32>,
                          %we: tensor<?x5xf32>, %ie: tensor<?x5xi32>) {
  // expected-error @+1 {{'moe.router_top_k' op top-k k = 5 must be in [1, E = 4]}}
  %0, %1 = moe.router_top_k ins(%x, %w : tensor<?x64xf32>, tensor<4x64xf32>)
             outs(%we, %ie : tensor<?x5xf32>, tensor<?x5xi32>) scoring<softmax>
  return
}

// -----

func.func @router_top_k_groups(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>,
                               %we: tensor<?x2xf32>, %ie: tensor<?x2xi32>) {
  // expected-error @+1 {{'moe.router_top_k' op num_groups = 3 must be positive and divide E = 8}}
  %0, %1 = moe.router_top_k ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
             outs(%we, %ie : tensor<?x2xf32>, tensor<?x2xi32>) scoring<softmax> {num_groups = 3 : i64}
  return
}

// -----

func.func @grouped_gated_matmul_gather_element_type(%x: tensor<?x64xf32>,
    %o: tensor<9xi32>, %tok: tensor<?xi64>,
    %wg: tensor<8x128x64xf32>, %wu: tensor<8x128x64xf32>,
    %init: tensor<?x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op token_ids must be a rank-1 tensor of i32, got 'tensor<?xi64>'}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gather(%tok : tensor<?xi64>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return
}

// -----

// With a gather, the rows R are the token ids', not the input's (its T
// token rows).
func.func @grouped_gated_matmul_gather_rows(%x: tensor<4x64xf32>,
    %o: tensor<9xi32>, %tok: tensor<8xi32>,
    %wg: tensor<8x128x64xf32>, %wu: tensor<8x128x64xf32>,
    %init: tensor<6x128xf32>) {
  // expected-error @+1 {{'moe.grouped_gated_matmul' op init dimension 0 (rows R) must be 8, got 6}}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<4x64xf32>, tensor<9xi32>)
         gather(%tok : tensor<8xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<6x128xf32>) activation<silu>
  return
}

// -----

func.func @grouped_matmul_combine_rows(%h: tensor<5x128xf32>, %w: tensor<8x64x128xf32>,
                                       %o: tensor<9xi32>, %t: tensor<4xi32>,
                                       %rw: tensor<5xf32>, %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{'moe.grouped_matmul' op token_ids dimension 0 (rows R) must be 5, got 4}}
  %0 = moe.grouped_matmul ins(%h, %w, %o : tensor<5x128xf32>, tensor<8x64x128xf32>, tensor<9xi32>)
         combine(%t, %rw : tensor<4xi32>, tensor<5xf32>) outs(%init : tensor<?x64xf32>)
  return %0 : tensor<?x64xf32>
}

// -----

func.func @grouped_matmul_combine_row_weights_type(%h: tensor<?x128xf32>, %w: tensor<8x64x128xf32>,
                                                   %o: tensor<9xi32>, %t: tensor<?xi32>,
                                                   %rw: tensor<?xi32>, %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{'moe.grouped_matmul' op row_weights must be a rank-1 tensor of f16, bf16, f32 or f64, got 'tensor<?xi32>'}}
  %0 = moe.grouped_matmul ins(%h, %w, %o : tensor<?x128xf32>, tensor<8x64x128xf32>, tensor<9xi32>)
         combine(%t, %rw : tensor<?xi32>, tensor<?xi32>) outs(%init : tensor<?x64xf32>)
  return %0 : tensor<?x64xf32>
}

// -----

func.func @segment_combine_rank(%h: tensor<?xf32>, %t: tensor<?xi32>, %rw: tensor<?xf32>,
                                %init: tensor<?xf32>) -> tensor<?xf32> {
  // expected-error @+1 {{'moe.segment_combine' op input must have rows and columns, got 'tensor<?xf32>'}}
  %0 = moe.segment_combine ins(%h, %t, %rw : tensor<?xf32>, tensor<?xi32>, tensor<?xf32>)
         outs(%init : tensor<?xf32>)
  return %0 : tensor<?xf32>
}

// -----

func.func @segment_combine_columns(%h: tensor<?x2x32xf32>, %t: tensor<?xi32>, %rw: tensor<?xf32>,
                                   %init: tensor<?x2x16xf32>) -> tensor<?x2x16xf32> {
  // expected-error @+1 {{'moe.segment_combine' op init dimension 2 (columns) must be 32, got 16}}
  %0 = moe.segment_combine ins(%h, %t, %rw : tensor<?x2x32xf32>, tensor<?xi32>, tensor<?xf32>)
         outs(%init : tensor<?x2x16xf32>)
  return %0 : tensor<?x2x16xf32>
}

// -----

func.func @segment_combine_token_rows(%h: tensor<4x64xf32>, %t: tensor<3xi32>, %rw: tensor<4xf32>,
                                      %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{'moe.segment_combine' op token_ids dimension 0 (rows) must be 4, got 3}}
  %0 = moe.segment_combine ins(%h, %t, %rw : tensor<4x64xf32>, tensor<3xi32>, tensor<4xf32>)
         outs(%init : tensor<?x64xf32>)
  return %0 : tensor<?x64xf32>
}

// -----

func.func @segment_combine_element_type(%h: tensor<?x64xf32>, %t: tensor<?xi32>, %rw: tensor<?xf32>,
                                        %init: tensor<?x64xf16>) -> tensor<?x64xf16> {
  // expected-error @+1 {{'moe.segment_combine' op init element type 'f16' must match input element type 'f32'}}
  %0 = moe.segment_combine ins(%h, %t, %rw : tensor<?x64xf32>, tensor<?xi32>, tensor<?xf32>)
         outs(%init : tensor<?x64xf16>)
  return %0 : tensor<?x64xf16>
}

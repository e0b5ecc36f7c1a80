// RUN: moe-opt %s --moe-fuse-router --split-input-file | FileCheck %s

// A top-k of a router's scores becomes one moe.router_top_k carrying the
// router's operands and scoring and the top-k's selection bias, outputs and
// attributes; the router goes.

// CHECK-LABEL: func @fuse
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[W:[a-z0-9]+]]: tensor<64x8xf32>, %[[B:[a-z0-9]+]]: tensor<8xf32>, %[[SB:[a-z0-9]+]]: tensor<8xf32>, %[[S:[a-z0-9]+]]: tensor<?x8xf32>, %[[WE:[a-z0-9]+]]: tensor<?x2xf32>, %[[IE:[a-z0-9]+]]: tensor<?x2xi32>
// CHECK-NOT:   moe.router ins
// CHECK:       %[[RW:.*]], %[[RI:.*]] = moe.router_top_k ins(%[[X]], %[[W]] : tensor<?x64xf32>, tensor<64x8xf32>) bias(%[[B]] : tensor<8xf32>) selection_bias(%[[SB]] : tensor<8xf32>) outs(%[[WE]], %[[IE]] : tensor<?x2xf32>, tensor<?x2xi32>) scoring<sigmoid> {normalize, num_groups = 4 : i64, scaling_factor = 2.500000e+00 : f32, top_k_groups = 2 : i64, weight_layout = #moe.weight_layout<kn>}
// CHECK-NOT:   moe.top_k
// CHECK:       return %[[RW]], %[[RI]]
func.func @fuse(%x: tensor<?x64xf32>, %w: tensor<64x8xf32>, %b: tensor<8xf32>,
                %sb: tensor<8xf32>, %s: tensor<?x8xf32>,
                %we: tensor<?x2xf32>, %ie: tensor<?x2xi32>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %scores = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<64x8xf32>) bias(%b : tensor<8xf32>)
              outs(%s : tensor<?x8xf32>) scoring<sigmoid> {weight_layout = #moe.weight_layout<kn>}
  %0, %1 = moe.top_k ins(%scores : tensor<?x8xf32>) bias(%sb : tensor<8xf32>)
             outs(%we, %ie : tensor<?x2xf32>, tensor<?x2xi32>)
             {normalize, num_groups = 4 : i64, top_k_groups = 2 : i64, scaling_factor = 2.5 : f32}
  return %0, %1 : tensor<?x2xf32>, tensor<?x2xi32>
}

// -----

// Scores something else reads (an auxiliary loss, here returned) stay:
// nothing fuses.

// CHECK-LABEL: func @scores_used
// CHECK:       moe.router ins
// CHECK:       moe.top_k
// CHECK-NOT:   moe.router_top_k
func.func @scores_used(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>, %s: tensor<?x8xf32>,
                       %we: tensor<?x2xf32>, %ie: tensor<?x2xi32>)
    -> (tensor<?x2xf32>, tensor<?x2xi32>, tensor<?x8xf32>) {
  %scores = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
              outs(%s : tensor<?x8xf32>) scoring<softmax>
  %0, %1 = moe.top_k ins(%scores : tensor<?x8xf32>)
             outs(%we, %ie : tensor<?x2xf32>, tensor<?x2xi32>) {normalize}
  return %0, %1, %scores : tensor<?x2xf32>, tensor<?x2xi32>, tensor<?x8xf32>
}

// -----

// A noisy router stays: its draws are numbered by absolute token position.

// CHECK-LABEL: func @noisy
// CHECK:       moe.router ins({{.*}}) noise
// CHECK:       moe.top_k
// CHECK-NOT:   moe.router_top_k
func.func @noisy(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>, %wn: tensor<8x64xf32>,
                 %s: tensor<?x8xf32>, %we: tensor<?x2xf32>, %ie: tensor<?x2xi32>)
    -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %scores = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
              noise(%wn : tensor<8x64xf32>) seed(7) outs(%s : tensor<?x8xf32>) scoring<softmax>
  %0, %1 = moe.top_k ins(%scores : tensor<?x8xf32>)
             outs(%we, %ie : tensor<?x2xf32>, tensor<?x2xi32>)
  return %0, %1 : tensor<?x2xf32>, tensor<?x2xi32>
}

// -----

// Scores from elsewhere (an argument): nothing to fuse.

// CHECK-LABEL: func @no_router
// CHECK:       moe.top_k
// CHECK-NOT:   moe.router_top_k
func.func @no_router(%s: tensor<?x8xf32>, %we: tensor<?x2xf32>, %ie: tensor<?x2xi32>)
    -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%we, %ie : tensor<?x2xf32>, tensor<?x2xi32>)
  return %0, %1 : tensor<?x2xf32>, tensor<?x2xi32>
}

// RUN: moe-opt %s --moe-decomposition-pipeline | FileCheck %s
// RUN: moe-opt %s --moe-decomposition-pipeline="decompose-expert-ffn=false" | FileCheck %s --check-prefix=KEEP-FFN
// RUN: moe-opt %s --moe-decomposition-pipeline="fuse-gate-up=false fuse-combine=false" | FileCheck %s --check-prefix=UNFUSED

// CHECK-LABEL: func @layer
// CHECK-NOT:   moe.layer
// CHECK-NOT:   moe.expert_ffn
// CHECK:       moe.grouped_gated_matmul
// CHECK-NOT:   moe.gated_activation
// CHECK:       moe.grouped_matmul {{.*}} combine(
// CHECK-NOT:   moe.combine

// The gate and up projections stay apart without fuse-gate-up, and the
// combine without fuse-combine.
// UNFUSED-LABEL: func @layer
// UNFUSED-NOT:   moe.grouped_gated_matmul
// UNFUSED-COUNT-2: moe.grouped_matmul
// UNFUSED:       moe.gated_activation
// UNFUSED:       moe.grouped_matmul
// UNFUSED:       moe.combine

// KEEP-FFN-LABEL: func @layer
// KEEP-FFN-NOT:   moe.grouped_matmul
// KEEP-FFN:       moe.expert_ffn
// KEEP-FFN:       moe.combine
func.func @layer(%x: tensor<?x32xf32>, %wr: tensor<4x32xf32>,
                 %wg: tensor<4x48x32xf32>, %wu: tensor<4x48x32xf32>,
                 %wd: tensor<4x32x48xf32>) -> tensor<?x32xf32> {
  %y = moe.layer ins(%x : tensor<?x32xf32>) router(%wr : tensor<4x32xf32>)
         gate(%wg : tensor<4x48x32xf32>) up(%wu : tensor<4x48x32xf32>)
         down(%wd : tensor<4x32x48xf32>) outs(%x : tensor<?x32xf32>)
         top_k(2) scoring<softmax> activation<silu> {normalize}
  return %y : tensor<?x32xf32>
}

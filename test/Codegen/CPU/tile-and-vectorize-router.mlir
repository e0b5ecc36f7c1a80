// RUN: moe-opt %s --convert-moe-to-linalg --canonicalize --cse --moe-cpu-tile-and-vectorize --canonicalize | FileCheck %s

// A router's logits over a block of 16 tokens (moe.router_logits, weight
// [D, E] laid out at load time) get the expert kernels' register tiles on
// the thread of their block: E in panels of 32 columns, D in blocks of 256,
// 8-row tiles of vector.fma with the accumulator in registers across k,
// single rows for the block's remainder. No parallel loop of its own: the
// blocks are the router's forall. The scoring after it is untouched.

// CHECK-LABEL: func @router_top_k
// CHECK:       scf.forall (%{{.*}}) in (%{{.*}}) shared_outs
// CHECK-NOT:     scf.forall
// CHECK:         scf.for %{{.*}} = %c0 to %c64 step %c32
// CHECK:           scf.for %{{.*}} = %c0 to %c512 step %c256
// CHECK:             scf.for %{{.*}} = %c0 to %{{.*}} step %c8
// CHECK:               %[[ACC:.*]] = vector.transfer_read {{.*}} : tensor<8x32xf32>, vector<8x32xf32>
// CHECK:               scf.for {{.*}} iter_args(%{{.*}} = %[[ACC]]) -> (vector<8x32xf32>)
// CHECK-COUNT-8:         vector.fma {{.*}} : vector<32xf32>
// CHECK:             scf.for
// CHECK:               scf.for {{.*}} -> (vector<1x32xf32>)
// CHECK:                 vector.fma {{.*}} : vector<32xf32>
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK-SAME:      ins(%{{.*}} : tensor<?x64xf32>)
// CHECK:           arith.maximumf
func.func @router_top_k(%x: tensor<?x512xf32>, %w: tensor<512x64xf32>,
                        %we: tensor<?x2xf32>, %ie: tensor<?x2xi32>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %0, %1 = moe.router_top_k ins(%x, %w : tensor<?x512xf32>, tensor<512x64xf32>)
             outs(%we, %ie : tensor<?x2xf32>, tensor<?x2xi32>) scoring<softmax> {weight_layout = #moe.weight_layout<kn>, normalize}
  return %0, %1 : tensor<?x2xf32>, tensor<?x2xi32>
}

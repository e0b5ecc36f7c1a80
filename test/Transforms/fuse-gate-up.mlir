// RUN: moe-opt %s --moe-fuse-gate-up --split-input-file | FileCheck %s

// Gated SiLU as --moe-decompose-expert-ffn leaves it: the gate and up
// grouped matmuls from one zero fill and their moe.gated_activation become
// one moe.grouped_gated_matmul into the activation's outs; the down
// projection reads it.

// CHECK-LABEL: func @fuse_silu
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[OFF:[a-z0-9]+]]: tensor<9xi32>, %[[WG:[a-z0-9]+]]: tensor<8x128x64xf32>, %[[WU:[a-z0-9]+]]: tensor<8x128x64xf32>, %[[WD:[a-z0-9]+]]: tensor<8x64x128xf32>, %[[ACC:[a-z0-9]+]]: tensor<?x64xf32>
// CHECK-NOT:   moe.grouped_matmul
// CHECK:       %[[HINIT:.*]] = tensor.empty(%{{.*}}) : tensor<?x128xf32>
// CHECK-NOT:   moe.grouped_matmul
// CHECK:       %[[H:.*]] = moe.grouped_gated_matmul ins(%[[X]], %[[OFF]] : tensor<?x64xf32>, tensor<9xi32>) gate(%[[WG]] : tensor<8x128x64xf32>) up(%[[WU]] : tensor<8x128x64xf32>) outs(%[[HINIT]] : tensor<?x128xf32>) activation<silu>
// CHECK-NOT:   swiglu
// CHECK-NOT:   weight_layout = #moe.weight_layout<kn>
// CHECK-NOT:   moe.gated_activation
// CHECK:       %[[Y:.*]] = moe.grouped_matmul ins(%[[H]], %[[WD]], %[[OFF]] : tensor<?x128xf32>, tensor<8x64x128xf32>, tensor<9xi32>) outs(%[[ACC]] : tensor<?x64xf32>)
// CHECK-NEXT:  return %[[Y]]
func.func @fuse_silu(%x: tensor<?x64xf32>, %o: tensor<9xi32>,
                     %wg: tensor<8x128x64xf32>, %wu: tensor<8x128x64xf32>,
                     %wd: tensor<8x64x128xf32>, %acc: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %r = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%r) : tensor<?x128xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<?x128xf32>) -> tensor<?x128xf32>
  %g = moe.grouped_matmul ins(%x, %wg, %o : tensor<?x64xf32>, tensor<8x128x64xf32>, tensor<9xi32>)
         outs(%fill : tensor<?x128xf32>)
  %u = moe.grouped_matmul ins(%x, %wu, %o : tensor<?x64xf32>, tensor<8x128x64xf32>, tensor<9xi32>)
         outs(%fill : tensor<?x128xf32>)
  %hinit = tensor.empty(%r) : tensor<?x128xf32>
  %h = moe.gated_activation ins(%g, %u : tensor<?x128xf32>, tensor<?x128xf32>)
         outs(%hinit : tensor<?x128xf32>) activation<silu>
  %y = moe.grouped_matmul ins(%h, %wd, %o : tensor<?x128xf32>, tensor<8x64x128xf32>, tensor<9xi32>)
         outs(%acc : tensor<?x64xf32>)
  return %y : tensor<?x64xf32>
}

// -----

// The projections' biases become gate_bias and up_bias; each projection may
// start from its own zero fill.

// CHECK-LABEL: func @fuse_biases
// CHECK-SAME:    %[[BG:[a-z0-9]+]]: tensor<4x32xf32>, %[[BU:[a-z0-9]+]]: tensor<4x32xf32>
// CHECK-NOT:   moe.grouped_matmul
// CHECK:       %[[H:.*]] = moe.grouped_gated_matmul ins(%{{.*}}, %{{.*}} : tensor<6x16xf32>, tensor<5xi32>) gate(%{{.*}} : tensor<4x32x16xf32>) up(%{{.*}} : tensor<4x32x16xf32>) gate_bias(%[[BG]] : tensor<4x32xf32>) up_bias(%[[BU]] : tensor<4x32xf32>) outs(%{{.*}} : tensor<6x32xf32>) activation<gelu_tanh>
// CHECK-NOT:   moe.gated_activation
// CHECK:       moe.grouped_matmul ins(%[[H]], {{.*}}) outs(%{{.*}} : tensor<6x16xf32>)
func.func @fuse_biases(%x: tensor<6x16xf32>, %o: tensor<5xi32>,
                       %wg: tensor<4x32x16xf32>, %wu: tensor<4x32x16xf32>,
                       %wd: tensor<4x16x32xf32>, %bg: tensor<4x32xf32>,
                       %bu: tensor<4x32xf32>, %acc: tensor<6x16xf32>) -> tensor<6x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<6x32xf32>
  %fill0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<6x32xf32>) -> tensor<6x32xf32>
  %e1 = tensor.empty() : tensor<6x32xf32>
  %fill1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<6x32xf32>) -> tensor<6x32xf32>
  %g = moe.grouped_matmul ins(%x, %wg, %o : tensor<6x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         bias(%bg : tensor<4x32xf32>) outs(%fill0 : tensor<6x32xf32>)
  %u = moe.grouped_matmul ins(%x, %wu, %o : tensor<6x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         bias(%bu : tensor<4x32xf32>) outs(%fill1 : tensor<6x32xf32>)
  %hinit = tensor.empty() : tensor<6x32xf32>
  %h = moe.gated_activation ins(%g, %u : tensor<6x32xf32>, tensor<6x32xf32>)
         outs(%hinit : tensor<6x32xf32>) activation<gelu_tanh>
  %y = moe.grouped_matmul ins(%h, %wd, %o : tensor<6x32xf32>, tensor<4x16x32xf32>, tensor<5xi32>)
         outs(%acc : tensor<6x16xf32>)
  return %y : tensor<6x16xf32>
}

// -----

// gpt-oss's clamped SwiGLU keeps its alpha and limit.

// CHECK-LABEL: func @fuse_swiglu_oai
// CHECK-NOT:   moe.grouped_matmul
// CHECK:       moe.grouped_gated_matmul {{.*}} activation<swiglu_oai> {swiglu_alpha = 1.500000e+00 : f32, swiglu_limit = 5.000000e+00 : f32}
// CHECK-NOT:   moe.gated_activation
// CHECK:       moe.grouped_matmul
func.func @fuse_swiglu_oai(%x: tensor<?x16xf32>, %o: tensor<5xi32>,
                           %wg: tensor<4x32x16xf32>, %wu: tensor<4x32x16xf32>,
                           %wd: tensor<4x16x32xf32>, %acc: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %r = tensor.dim %x, %c0 : tensor<?x16xf32>
  %e = tensor.empty(%r) : tensor<?x32xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<?x32xf32>) -> tensor<?x32xf32>
  %g = moe.grouped_matmul ins(%x, %wg, %o : tensor<?x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%fill : tensor<?x32xf32>)
  %u = moe.grouped_matmul ins(%x, %wu, %o : tensor<?x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%fill : tensor<?x32xf32>)
  %hinit = tensor.empty(%r) : tensor<?x32xf32>
  %h = moe.gated_activation ins(%g, %u : tensor<?x32xf32>, tensor<?x32xf32>)
         outs(%hinit : tensor<?x32xf32>) activation<swiglu_oai>
         {swiglu_alpha = 1.5 : f32, swiglu_limit = 5.0 : f32}
  %y = moe.grouped_matmul ins(%h, %wd, %o : tensor<?x32xf32>, tensor<4x16x32xf32>, tensor<5xi32>)
         outs(%acc : tensor<?x16xf32>)
  return %y : tensor<?x16xf32>
}

// -----

// Panel weights [E, N/P, K, P] are carried over with their layout.

// CHECK-LABEL: func @fuse_weight_kn_panels
// CHECK-SAME:    %[[WG:[a-z0-9]+]]: tensor<8x4x64x32xbf16>, %[[WU:[a-z0-9]+]]: tensor<8x4x64x32xbf16>
// CHECK-NOT:   moe.grouped_matmul
// CHECK:       moe.grouped_gated_matmul ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<9xi32>) gate(%[[WG]] : tensor<8x4x64x32xbf16>) up(%[[WU]] : tensor<8x4x64x32xbf16>) outs(%{{.*}} : tensor<?x128xf32>) activation<silu> {weight_layout = #moe.weight_layout<panels>}
// CHECK-NOT:   moe.gated_activation
// CHECK:       moe.grouped_matmul
func.func @fuse_weight_kn_panels(%x: tensor<?x64xf32>, %o: tensor<9xi32>,
                                 %wg: tensor<8x4x64x32xbf16>, %wu: tensor<8x4x64x32xbf16>,
                                 %wd: tensor<8x64x128xbf16>, %acc: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %r = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%r) : tensor<?x128xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<?x128xf32>) -> tensor<?x128xf32>
  %g = moe.grouped_matmul ins(%x, %wg, %o : tensor<?x64xf32>, tensor<8x4x64x32xbf16>, tensor<9xi32>)
         outs(%fill : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<panels>}
  %u = moe.grouped_matmul ins(%x, %wu, %o : tensor<?x64xf32>, tensor<8x4x64x32xbf16>, tensor<9xi32>)
         outs(%fill : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<panels>}
  %hinit = tensor.empty(%r) : tensor<?x128xf32>
  %h = moe.gated_activation ins(%g, %u : tensor<?x128xf32>, tensor<?x128xf32>)
         outs(%hinit : tensor<?x128xf32>) activation<silu>
  %y = moe.grouped_matmul ins(%h, %wd, %o : tensor<?x128xf32>, tensor<8x64x128xbf16>, tensor<9xi32>)
         outs(%acc : tensor<?x64xf32>)
  return %y : tensor<?x64xf32>
}

// -----

// kn-layout [E, K, N] weights too.

// CHECK-LABEL: func @fuse_weight_kn
// CHECK-NOT:   moe.grouped_matmul
// CHECK:       moe.grouped_gated_matmul {{.*}} gate(%{{.*}} : tensor<8x64x128xf32>) up(%{{.*}} : tensor<8x64x128xf32>) outs(%{{.*}} : tensor<?x128xf32>) activation<silu> {weight_layout = #moe.weight_layout<kn>}
// CHECK-NOT:   moe.gated_activation
// CHECK:       moe.grouped_matmul
func.func @fuse_weight_kn(%x: tensor<?x64xf32>, %o: tensor<9xi32>,
                          %wg: tensor<8x64x128xf32>, %wu: tensor<8x64x128xf32>,
                          %wd: tensor<8x64x128xf32>, %acc: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %r = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%r) : tensor<?x128xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<?x128xf32>) -> tensor<?x128xf32>
  %g = moe.grouped_matmul ins(%x, %wg, %o : tensor<?x64xf32>, tensor<8x64x128xf32>, tensor<9xi32>)
         outs(%fill : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<kn>}
  %u = moe.grouped_matmul ins(%x, %wu, %o : tensor<?x64xf32>, tensor<8x64x128xf32>, tensor<9xi32>)
         outs(%fill : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<kn>}
  %hinit = tensor.empty(%r) : tensor<?x128xf32>
  %h = moe.gated_activation ins(%g, %u : tensor<?x128xf32>, tensor<?x128xf32>)
         outs(%hinit : tensor<?x128xf32>) activation<silu>
  %y = moe.grouped_matmul ins(%h, %wd, %o : tensor<?x128xf32>, tensor<8x64x128xf32>, tensor<9xi32>)
         outs(%acc : tensor<?x64xf32>)
  return %y : tensor<?x64xf32>
}

// -----

// Several down projections over the same offsets may read the activation.

// CHECK-LABEL: func @fuse_two_readers
// CHECK-NOT:   moe.grouped_matmul
// CHECK:       %[[H:.*]] = moe.grouped_gated_matmul
// CHECK-NOT:   moe.gated_activation
// CHECK:       moe.grouped_matmul ins(%[[H]],
// CHECK:       moe.grouped_matmul ins(%[[H]],
func.func @fuse_two_readers(%x: tensor<?x16xf32>, %o: tensor<5xi32>,
                            %wg: tensor<4x32x16xf32>, %wu: tensor<4x32x16xf32>,
                            %wd: tensor<4x16x32xf32>, %acc: tensor<?x16xf32>)
    -> (tensor<?x16xf32>, tensor<?x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %r = tensor.dim %x, %c0 : tensor<?x16xf32>
  %e = tensor.empty(%r) : tensor<?x32xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<?x32xf32>) -> tensor<?x32xf32>
  %g = moe.grouped_matmul ins(%x, %wg, %o : tensor<?x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%fill : tensor<?x32xf32>)
  %u = moe.grouped_matmul ins(%x, %wu, %o : tensor<?x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%fill : tensor<?x32xf32>)
  %hinit = tensor.empty(%r) : tensor<?x32xf32>
  %h = moe.gated_activation ins(%g, %u : tensor<?x32xf32>, tensor<?x32xf32>)
         outs(%hinit : tensor<?x32xf32>) activation<silu>
  %y0 = moe.grouped_matmul ins(%h, %wd, %o : tensor<?x32xf32>, tensor<4x16x32xf32>, tensor<5xi32>)
          outs(%acc : tensor<?x16xf32>)
  %y1 = moe.grouped_matmul ins(%h, %wd, %o : tensor<?x32xf32>, tensor<4x16x32xf32>, tensor<5xi32>)
          outs(%acc : tensor<?x16xf32>)
  return %y0, %y1 : tensor<?x16xf32>, tensor<?x16xf32>
}

// -----

// Not fused: the projections read different inputs.

// CHECK-LABEL: func @different_inputs
// CHECK-NOT:   moe.grouped_gated_matmul
// CHECK:       moe.grouped_matmul
// CHECK:       moe.grouped_matmul
// CHECK:       moe.gated_activation
// CHECK-NOT:   moe.grouped_gated_matmul
func.func @different_inputs(%x: tensor<6x16xf32>, %x2: tensor<6x16xf32>,
                            %o: tensor<5xi32>, %wg: tensor<4x32x16xf32>,
                            %wu: tensor<4x32x16xf32>, %wd: tensor<4x16x32xf32>,
                            %acc: tensor<6x16xf32>) -> tensor<6x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<6x32xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<6x32xf32>) -> tensor<6x32xf32>
  %g = moe.grouped_matmul ins(%x, %wg, %o : tensor<6x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%fill : tensor<6x32xf32>)
  %u = moe.grouped_matmul ins(%x2, %wu, %o : tensor<6x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%fill : tensor<6x32xf32>)
  %hinit = tensor.empty() : tensor<6x32xf32>
  %h = moe.gated_activation ins(%g, %u : tensor<6x32xf32>, tensor<6x32xf32>)
         outs(%hinit : tensor<6x32xf32>) activation<silu>
  %y = moe.grouped_matmul ins(%h, %wd, %o : tensor<6x32xf32>, tensor<4x16x32xf32>, tensor<5xi32>)
         outs(%acc : tensor<6x16xf32>)
  return %y : tensor<6x16xf32>
}

// -----

// Not fused: the projections use different expert offsets.

// CHECK-LABEL: func @different_offsets
// CHECK-NOT:   moe.grouped_gated_matmul
// CHECK:       moe.gated_activation
// CHECK-NOT:   moe.grouped_gated_matmul
func.func @different_offsets(%x: tensor<6x16xf32>, %o: tensor<5xi32>,
                             %o2: tensor<5xi32>, %wg: tensor<4x32x16xf32>,
                             %wu: tensor<4x32x16xf32>, %wd: tensor<4x16x32xf32>,
                             %acc: tensor<6x16xf32>) -> tensor<6x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<6x32xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<6x32xf32>) -> tensor<6x32xf32>
  %g = moe.grouped_matmul ins(%x, %wg, %o : tensor<6x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%fill : tensor<6x32xf32>)
  %u = moe.grouped_matmul ins(%x, %wu, %o2 : tensor<6x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%fill : tensor<6x32xf32>)
  %hinit = tensor.empty() : tensor<6x32xf32>
  %h = moe.gated_activation ins(%g, %u : tensor<6x32xf32>, tensor<6x32xf32>)
         outs(%hinit : tensor<6x32xf32>) activation<silu>
  %y = moe.grouped_matmul ins(%h, %wd, %o : tensor<6x32xf32>, tensor<4x16x32xf32>, tensor<5xi32>)
         outs(%acc : tensor<6x16xf32>)
  return %y : tensor<6x16xf32>
}

// -----

// Not fused: the up projection starts from 1.0, not 0.

// CHECK-LABEL: func @nonzero_fill
// CHECK-NOT:   moe.grouped_gated_matmul
// CHECK:       moe.gated_activation
// CHECK-NOT:   moe.grouped_gated_matmul
func.func @nonzero_fill(%x: tensor<6x16xf32>, %o: tensor<5xi32>,
                        %wg: tensor<4x32x16xf32>, %wu: tensor<4x32x16xf32>,
                        %wd: tensor<4x16x32xf32>, %acc: tensor<6x16xf32>) -> tensor<6x16xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<6x32xf32>
  %fill0 = linalg.fill ins(%zero : f32) outs(%e : tensor<6x32xf32>) -> tensor<6x32xf32>
  %fill1 = linalg.fill ins(%one : f32) outs(%e : tensor<6x32xf32>) -> tensor<6x32xf32>
  %g = moe.grouped_matmul ins(%x, %wg, %o : tensor<6x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%fill0 : tensor<6x32xf32>)
  %u = moe.grouped_matmul ins(%x, %wu, %o : tensor<6x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%fill1 : tensor<6x32xf32>)
  %hinit = tensor.empty() : tensor<6x32xf32>
  %h = moe.gated_activation ins(%g, %u : tensor<6x32xf32>, tensor<6x32xf32>)
         outs(%hinit : tensor<6x32xf32>) activation<silu>
  %y = moe.grouped_matmul ins(%h, %wd, %o : tensor<6x32xf32>, tensor<4x16x32xf32>, tensor<5xi32>)
         outs(%acc : tensor<6x16xf32>)
  return %y : tensor<6x16xf32>
}

// -----

// Not fused: the gate projection accumulates into a tensor that is not a fill.

// CHECK-LABEL: func @not_a_fill
// CHECK-NOT:   moe.grouped_gated_matmul
// CHECK:       moe.gated_activation
// CHECK-NOT:   moe.grouped_gated_matmul
func.func @not_a_fill(%x: tensor<6x16xf32>, %o: tensor<5xi32>,
                      %wg: tensor<4x32x16xf32>, %wu: tensor<4x32x16xf32>,
                      %wd: tensor<4x16x32xf32>, %ginit: tensor<6x32xf32>,
                      %acc: tensor<6x16xf32>) -> tensor<6x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<6x32xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<6x32xf32>) -> tensor<6x32xf32>
  %g = moe.grouped_matmul ins(%x, %wg, %o : tensor<6x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%ginit : tensor<6x32xf32>)
  %u = moe.grouped_matmul ins(%x, %wu, %o : tensor<6x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%fill : tensor<6x32xf32>)
  %hinit = tensor.empty() : tensor<6x32xf32>
  %h = moe.gated_activation ins(%g, %u : tensor<6x32xf32>, tensor<6x32xf32>)
         outs(%hinit : tensor<6x32xf32>) activation<silu>
  %y = moe.grouped_matmul ins(%h, %wd, %o : tensor<6x32xf32>, tensor<4x16x32xf32>, tensor<5xi32>)
         outs(%acc : tensor<6x16xf32>)
  return %y : tensor<6x16xf32>
}

// -----

// Not fused: the gate projection is also returned.

// CHECK-LABEL: func @projection_second_use
// CHECK-NOT:   moe.grouped_gated_matmul
// CHECK:       moe.gated_activation
// CHECK-NOT:   moe.grouped_gated_matmul
func.func @projection_second_use(%x: tensor<6x16xf32>, %o: tensor<5xi32>,
                                 %wg: tensor<4x32x16xf32>, %wu: tensor<4x32x16xf32>,
                                 %wd: tensor<4x16x32xf32>, %acc: tensor<6x16xf32>)
    -> (tensor<6x16xf32>, tensor<6x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<6x32xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<6x32xf32>) -> tensor<6x32xf32>
  %g = moe.grouped_matmul ins(%x, %wg, %o : tensor<6x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%fill : tensor<6x32xf32>)
  %u = moe.grouped_matmul ins(%x, %wu, %o : tensor<6x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%fill : tensor<6x32xf32>)
  %hinit = tensor.empty() : tensor<6x32xf32>
  %h = moe.gated_activation ins(%g, %u : tensor<6x32xf32>, tensor<6x32xf32>)
         outs(%hinit : tensor<6x32xf32>) activation<silu>
  %y = moe.grouped_matmul ins(%h, %wd, %o : tensor<6x32xf32>, tensor<4x16x32xf32>, tensor<5xi32>)
         outs(%acc : tensor<6x16xf32>)
  return %y, %g : tensor<6x16xf32>, tensor<6x32xf32>
}

// -----

// Not fused: the activation is also returned, so its rows past the segments
// (which the fused op leaves unset) could be read.

// CHECK-LABEL: func @activation_returned
// CHECK-NOT:   moe.grouped_gated_matmul
// CHECK:       moe.gated_activation
// CHECK-NOT:   moe.grouped_gated_matmul
func.func @activation_returned(%x: tensor<6x16xf32>, %o: tensor<5xi32>,
                               %wg: tensor<4x32x16xf32>, %wu: tensor<4x32x16xf32>,
                               %wd: tensor<4x16x32xf32>, %acc: tensor<6x16xf32>)
    -> (tensor<6x16xf32>, tensor<6x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<6x32xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<6x32xf32>) -> tensor<6x32xf32>
  %g = moe.grouped_matmul ins(%x, %wg, %o : tensor<6x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%fill : tensor<6x32xf32>)
  %u = moe.grouped_matmul ins(%x, %wu, %o : tensor<6x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%fill : tensor<6x32xf32>)
  %hinit = tensor.empty() : tensor<6x32xf32>
  %h = moe.gated_activation ins(%g, %u : tensor<6x32xf32>, tensor<6x32xf32>)
         outs(%hinit : tensor<6x32xf32>) activation<silu>
  %y = moe.grouped_matmul ins(%h, %wd, %o : tensor<6x32xf32>, tensor<4x16x32xf32>, tensor<5xi32>)
         outs(%acc : tensor<6x16xf32>)
  return %y, %h : tensor<6x16xf32>, tensor<6x32xf32>
}

// -----

// Not fused: the down projection reads the activation over other offsets.

// CHECK-LABEL: func @down_other_offsets
// CHECK-NOT:   moe.grouped_gated_matmul
// CHECK:       moe.gated_activation
// CHECK-NOT:   moe.grouped_gated_matmul
func.func @down_other_offsets(%x: tensor<6x16xf32>, %o: tensor<5xi32>,
                              %o2: tensor<5xi32>, %wg: tensor<4x32x16xf32>,
                              %wu: tensor<4x32x16xf32>, %wd: tensor<4x16x32xf32>,
                              %acc: tensor<6x16xf32>) -> tensor<6x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<6x32xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<6x32xf32>) -> tensor<6x32xf32>
  %g = moe.grouped_matmul ins(%x, %wg, %o : tensor<6x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%fill : tensor<6x32xf32>)
  %u = moe.grouped_matmul ins(%x, %wu, %o : tensor<6x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%fill : tensor<6x32xf32>)
  %hinit = tensor.empty() : tensor<6x32xf32>
  %h = moe.gated_activation ins(%g, %u : tensor<6x32xf32>, tensor<6x32xf32>)
         outs(%hinit : tensor<6x32xf32>) activation<silu>
  %y = moe.grouped_matmul ins(%h, %wd, %o2 : tensor<6x32xf32>, tensor<4x16x32xf32>, tensor<5xi32>)
         outs(%acc : tensor<6x16xf32>)
  return %y : tensor<6x16xf32>
}

// -----

// Not fused: only the gate weight is in the kn layout (K = N = 16, so the weight
// types still match).

// CHECK-LABEL: func @mixed_weight_kn
// CHECK-NOT:   moe.grouped_gated_matmul
// CHECK:       moe.gated_activation
// CHECK-NOT:   moe.grouped_gated_matmul
func.func @mixed_weight_kn(%x: tensor<6x16xf32>, %o: tensor<5xi32>,
                           %wg: tensor<4x16x16xf32>, %wu: tensor<4x16x16xf32>,
                           %wd: tensor<4x16x16xf32>, %acc: tensor<6x16xf32>) -> tensor<6x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<6x16xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<6x16xf32>) -> tensor<6x16xf32>
  %g = moe.grouped_matmul ins(%x, %wg, %o : tensor<6x16xf32>, tensor<4x16x16xf32>, tensor<5xi32>)
         outs(%fill : tensor<6x16xf32>) {weight_layout = #moe.weight_layout<kn>}
  %u = moe.grouped_matmul ins(%x, %wu, %o : tensor<6x16xf32>, tensor<4x16x16xf32>, tensor<5xi32>)
         outs(%fill : tensor<6x16xf32>)
  %hinit = tensor.empty() : tensor<6x16xf32>
  %h = moe.gated_activation ins(%g, %u : tensor<6x16xf32>, tensor<6x16xf32>)
         outs(%hinit : tensor<6x16xf32>) activation<silu>
  %y = moe.grouped_matmul ins(%h, %wd, %o : tensor<6x16xf32>, tensor<4x16x16xf32>, tensor<5xi32>)
         outs(%acc : tensor<6x16xf32>)
  return %y : tensor<6x16xf32>
}

// -----

// Not fused: the weights have different element types.

// CHECK-LABEL: func @mixed_weight_types
// CHECK-NOT:   moe.grouped_gated_matmul
// CHECK:       moe.gated_activation
// CHECK-NOT:   moe.grouped_gated_matmul
func.func @mixed_weight_types(%x: tensor<6x16xf32>, %o: tensor<5xi32>,
                              %wg: tensor<4x32x16xbf16>, %wu: tensor<4x32x16xf32>,
                              %wd: tensor<4x16x32xf32>, %acc: tensor<6x16xf32>) -> tensor<6x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<6x32xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<6x32xf32>) -> tensor<6x32xf32>
  %g = moe.grouped_matmul ins(%x, %wg, %o : tensor<6x16xf32>, tensor<4x32x16xbf16>, tensor<5xi32>)
         outs(%fill : tensor<6x32xf32>)
  %u = moe.grouped_matmul ins(%x, %wu, %o : tensor<6x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%fill : tensor<6x32xf32>)
  %hinit = tensor.empty() : tensor<6x32xf32>
  %h = moe.gated_activation ins(%g, %u : tensor<6x32xf32>, tensor<6x32xf32>)
         outs(%hinit : tensor<6x32xf32>) activation<silu>
  %y = moe.grouped_matmul ins(%h, %wd, %o : tensor<6x32xf32>, tensor<4x16x32xf32>, tensor<5xi32>)
         outs(%acc : tensor<6x16xf32>)
  return %y : tensor<6x16xf32>
}

// -----

// Not fused: moe.grouped_gated_matmul has no pair_panels layout.

// CHECK-LABEL: func @pair_panels
// CHECK-NOT:   moe.grouped_gated_matmul
// CHECK:       moe.gated_activation
// CHECK-NOT:   moe.grouped_gated_matmul
func.func @pair_panels(%x: tensor<?x64xbf16>, %o: tensor<9xi32>,
                       %wg: tensor<8x4x32x32x2xbf16>, %wu: tensor<8x4x32x32x2xbf16>,
                       %wd: tensor<8x64x128xf32>, %acc: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %r = tensor.dim %x, %c0 : tensor<?x64xbf16>
  %e = tensor.empty(%r) : tensor<?x128xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<?x128xf32>) -> tensor<?x128xf32>
  %g = moe.grouped_matmul ins(%x, %wg, %o : tensor<?x64xbf16>, tensor<8x4x32x32x2xbf16>, tensor<9xi32>)
         outs(%fill : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<pair_panels>}
  %u = moe.grouped_matmul ins(%x, %wu, %o : tensor<?x64xbf16>, tensor<8x4x32x32x2xbf16>, tensor<9xi32>)
         outs(%fill : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<pair_panels>}
  %hinit = tensor.empty(%r) : tensor<?x128xf32>
  %h = moe.gated_activation ins(%g, %u : tensor<?x128xf32>, tensor<?x128xf32>)
         outs(%hinit : tensor<?x128xf32>) activation<silu>
  %y = moe.grouped_matmul ins(%h, %wd, %o : tensor<?x128xf32>, tensor<8x64x128xf32>, tensor<9xi32>)
         outs(%acc : tensor<?x64xf32>)
  return %y : tensor<?x64xf32>
}

// -----

// Not fused: one grouped matmul feeds both operands of the activation.

// CHECK-LABEL: func @same_projection
// CHECK-NOT:   moe.grouped_gated_matmul
// CHECK:       moe.gated_activation
// CHECK-NOT:   moe.grouped_gated_matmul
func.func @same_projection(%x: tensor<6x16xf32>, %o: tensor<5xi32>,
                           %wg: tensor<4x32x16xf32>, %wd: tensor<4x16x32xf32>,
                           %acc: tensor<6x16xf32>) -> tensor<6x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<6x32xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<6x32xf32>) -> tensor<6x32xf32>
  %g = moe.grouped_matmul ins(%x, %wg, %o : tensor<6x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%fill : tensor<6x32xf32>)
  %hinit = tensor.empty() : tensor<6x32xf32>
  %h = moe.gated_activation ins(%g, %g : tensor<6x32xf32>, tensor<6x32xf32>)
         outs(%hinit : tensor<6x32xf32>) activation<silu>
  %y = moe.grouped_matmul ins(%h, %wd, %o : tensor<6x32xf32>, tensor<4x16x32xf32>, tensor<5xi32>)
         outs(%acc : tensor<6x16xf32>)
  return %y : tensor<6x16xf32>
}

// RUN: moe-opt %s | moe-opt | FileCheck %s
// RUN: moe-opt %s --mlir-print-op-generic | moe-opt | FileCheck %s
// RUN: moe-opt %s > %t.1.mlir && moe-opt %t.1.mlir > %t.2.mlir && diff %t.1.mlir %t.2.mlir

// Round trip of every MoE op, with and without its optional operands and
// attributes.

// CHECK-LABEL: func @router
// CHECK-SAME:    %[[X:.*]]: tensor<?x64xf32>, %[[W:.*]]: tensor<8x64xbf16>, %[[B:.*]]: tensor<8xf32>, %[[INIT:.*]]: tensor<?x8xf32>
func.func @router(%x: tensor<?x64xf32>, %w: tensor<8x64xbf16>, %b: tensor<8xf32>,
                  %init: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  // CHECK: moe.router ins(%[[X]], %[[W]] : tensor<?x64xf32>, tensor<8x64xbf16>) outs(%[[INIT]] : tensor<?x8xf32>) scoring<softmax>
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xbf16>)
         outs(%init : tensor<?x8xf32>) scoring<softmax>
  // CHECK: moe.router ins(%[[X]], %[[W]] : tensor<?x64xf32>, tensor<8x64xbf16>) bias(%[[B]] : tensor<8xf32>) outs(%[[INIT]] : tensor<?x8xf32>) scoring<sigmoid>
  %1 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xbf16>)
         bias(%b : tensor<8xf32>) outs(%init : tensor<?x8xf32>) scoring<sigmoid>
  return %0, %1 : tensor<?x8xf32>, tensor<?x8xf32>
}

// CHECK-LABEL: func @router_weight_kn
func.func @router_weight_kn(%x: tensor<?x64xf32>, %w: tensor<64x8xf32>,
                            %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  // CHECK: moe.router ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<64x8xf32>) outs(%{{.*}} : tensor<?x8xf32>) scoring<softmax> {weight_layout = #moe.weight_layout<kn>}
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<64x8xf32>)
         outs(%init : tensor<?x8xf32>) scoring<softmax> {weight_layout = #moe.weight_layout<kn>}
  return %0 : tensor<?x8xf32>
}

// A seed above 2^63 prints as the signed i64 of the same bits.
// CHECK-LABEL: func @router_noise
func.func @router_noise(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>,
                        %wn: tensor<8x64xbf16>, %b: tensor<8xf32>,
                        %init: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  // CHECK: moe.router ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<8x64xf32>) noise(%{{.*}} : tensor<8x64xbf16>) seed(42) outs(%{{.*}} : tensor<?x8xf32>) scoring<softmax>
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
         noise(%wn : tensor<8x64xbf16>) seed(42)
         outs(%init : tensor<?x8xf32>) scoring<softmax>
  // CHECK: moe.router ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<8x64xf32>) bias(%{{.*}} : tensor<8xf32>) noise(%{{.*}} : tensor<8x64xbf16>) seed(-1) outs(%{{.*}} : tensor<?x8xf32>) scoring<sigmoid>
  %1 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
         bias(%b : tensor<8xf32>) noise(%wn : tensor<8x64xbf16>)
         seed(18446744073709551615) outs(%init : tensor<?x8xf32>) scoring<sigmoid>
  return %0, %1 : tensor<?x8xf32>, tensor<?x8xf32>
}

// CHECK-LABEL: func @top_k
// CHECK-SAME:    %[[S:.*]]: tensor<?x64xf32>, %[[B:.*]]: tensor<64xf32>, %[[W:.*]]: tensor<?x8xf32>, %[[I:.*]]: tensor<?x8xi32>
func.func @top_k(%s: tensor<?x64xf32>, %bias: tensor<64xf32>,
                 %w: tensor<?x8xf32>, %i: tensor<?x8xi32>)
    -> (tensor<?x8xf32>, tensor<?x8xi32>, tensor<?x8xf32>, tensor<?x8xi32>) {
  // CHECK: moe.top_k ins(%[[S]] : tensor<?x64xf32>) outs(%[[W]], %[[I]] : tensor<?x8xf32>, tensor<?x8xi32>)
  // CHECK-NOT: normalize
  %w0, %i0 = moe.top_k ins(%s : tensor<?x64xf32>)
               outs(%w, %i : tensor<?x8xf32>, tensor<?x8xi32>)
  // CHECK: moe.top_k ins(%[[S]] : tensor<?x64xf32>) bias(%[[B]] : tensor<64xf32>) outs(%[[W]], %[[I]] : tensor<?x8xf32>, tensor<?x8xi32>)
  // CHECK-SAME: {normalize, num_groups = 8 : i64, scaling_factor = 2.500000e+00 : f32, top_k_groups = 4 : i64}
  %w1, %i1 = moe.top_k ins(%s : tensor<?x64xf32>) bias(%bias : tensor<64xf32>)
               outs(%w, %i : tensor<?x8xf32>, tensor<?x8xi32>)
               {normalize, num_groups = 8 : i64, top_k_groups = 4 : i64,
                scaling_factor = 2.5 : f32}
  return %w0, %i0, %w1, %i1 : tensor<?x8xf32>, tensor<?x8xi32>, tensor<?x8xf32>, tensor<?x8xi32>
}

// CHECK-LABEL: func @dispatch
func.func @dispatch(%idx: tensor<?x2xi32>, %w: tensor<?x2xf32>,
                    %c: tensor<8xi32>, %o: tensor<9xi32>, %t: tensor<?xi32>,
                    %rw: tensor<?xf32>)
    -> (tensor<8xi32>, tensor<9xi32>, tensor<?xi32>, tensor<?xf32>) {
  // CHECK: %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} = moe.dispatch ins(%{{.*}}, %{{.*}} : tensor<?x2xi32>, tensor<?x2xf32>) outs(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<8xi32>, tensor<9xi32>, tensor<?xi32>, tensor<?xf32>)
  // CHECK-NOT: capacity_factor
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>, tensor<?xi32>, tensor<?xf32>)
  // CHECK: moe.dispatch
  // CHECK-SAME: {capacity_factor = 1.250000e+00 : f64}
  %1:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>, tensor<?xi32>, tensor<?xf32>)
           {capacity_factor = 1.25 : f64}
  // CHECK: moe.dispatch
  // CHECK-SAME: {segment_alignment = 8 : i64}
  %2:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>, tensor<?xi32>, tensor<?xf32>)
           {segment_alignment = 8 : i64}
  return %1#0, %2#1, %0#2, %0#3 : tensor<8xi32>, tensor<9xi32>, tensor<?xi32>, tensor<?xf32>
}

// Static shapes with aligned segments: R = T * k + E * (B - 1).
// CHECK-LABEL: func @dispatch_aligned_static
func.func @dispatch_aligned_static(%idx: tensor<3x2xi32>, %w: tensor<3x2xf32>,
                                   %c: tensor<4xi32>, %o: tensor<5xi32>,
                                   %t: tensor<18xi32>, %rw: tensor<18xf32>)
    -> tensor<5xi32> {
  // CHECK: moe.dispatch {{.*}} {segment_alignment = 4 : i64}
  %0:4 = moe.dispatch ins(%idx, %w : tensor<3x2xi32>, tensor<3x2xf32>)
           outs(%c, %o, %t, %rw : tensor<4xi32>, tensor<5xi32>, tensor<18xi32>, tensor<18xf32>)
           {segment_alignment = 4 : i64}
  return %0#1 : tensor<5xi32>
}

// CHECK-LABEL: func @permute
func.func @permute(%x: tensor<?x64xf32>, %t: tensor<?xi32>, %o: tensor<9xi32>,
                   %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // CHECK: moe.permute ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>) outs(%{{.*}} : tensor<?x64xf32>)
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return %0 : tensor<?x64xf32>
}

// CHECK-LABEL: func @permute_rounding
func.func @permute_rounding(%x: tensor<?x64xf32>, %t: tensor<?xi32>,
                            %o: tensor<9xi32>, %init: tensor<?x64xbf16>)
    -> tensor<?x64xbf16> {
  // CHECK: moe.permute ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>) outs(%{{.*}} : tensor<?x64xbf16>)
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
         outs(%init : tensor<?x64xbf16>)
  return %0 : tensor<?x64xbf16>
}

// CHECK-LABEL: func @grouped_matmul
func.func @grouped_matmul(%x: tensor<?x64xf32>, %w: tensor<8x128x64xf16>,
                          %o: tensor<9xi32>, %b: tensor<8x128xf32>,
                          %init: tensor<?x128xf32>) -> (tensor<?x128xf32>, tensor<?x128xf32>) {
  // CHECK: moe.grouped_matmul ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<8x128x64xf16>, tensor<9xi32>) outs(%{{.*}} : tensor<?x128xf32>)
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x128x64xf16>, tensor<9xi32>)
         outs(%init : tensor<?x128xf32>)
  // CHECK: moe.grouped_matmul ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<8x128x64xf16>, tensor<9xi32>) bias(%{{.*}} : tensor<8x128xf32>) outs(%{{.*}} : tensor<?x128xf32>)
  %1 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x128x64xf16>, tensor<9xi32>)
         bias(%b : tensor<8x128xf32>) outs(%init : tensor<?x128xf32>)
  return %0, %1 : tensor<?x128xf32>, tensor<?x128xf32>
}

// CHECK-LABEL: func @grouped_matmul_layouts
func.func @grouped_matmul_layouts(%x: tensor<?x64xf32>, %xb: tensor<?x64xbf16>,
                                  %wkn: tensor<8x64x128xbf16>,
                                  %wvnni: tensor<8x4x32x32x2xbf16>,
                                  %wpanels: tensor<8x4x64x32xbf16>,
                                  %o: tensor<9xi32>, %init: tensor<?x128xf32>)
    -> (tensor<?x128xf32>, tensor<?x128xf32>, tensor<?x128xf32>) {
  // CHECK: moe.grouped_matmul ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<8x64x128xbf16>, tensor<9xi32>) outs(%{{.*}} : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<kn>}
  %0 = moe.grouped_matmul ins(%x, %wkn, %o : tensor<?x64xf32>, tensor<8x64x128xbf16>, tensor<9xi32>)
         outs(%init : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<kn>}
  // CHECK: moe.grouped_matmul ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x64xbf16>, tensor<8x4x32x32x2xbf16>, tensor<9xi32>) outs(%{{.*}} : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<pair_panels>}
  %1 = moe.grouped_matmul ins(%xb, %wvnni, %o : tensor<?x64xbf16>, tensor<8x4x32x32x2xbf16>, tensor<9xi32>)
         outs(%init : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<pair_panels>}
  // CHECK: moe.grouped_matmul ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<8x4x64x32xbf16>, tensor<9xi32>) outs(%{{.*}} : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<panels>}
  %2 = moe.grouped_matmul ins(%x, %wpanels, %o : tensor<?x64xf32>, tensor<8x4x64x32xbf16>, tensor<9xi32>)
         outs(%init : tensor<?x128xf32>) {weight_layout = #moe.weight_layout<panels>}
  return %0, %1, %2 : tensor<?x128xf32>, tensor<?x128xf32>, tensor<?x128xf32>
}

// CHECK-LABEL: func @expert_ffn
func.func @expert_ffn(%x: tensor<?x64xf32>, %o: tensor<9xi32>,
                      %wg: tensor<8x128x64xf32>, %wu: tensor<8x128x64xf32>,
                      %wd: tensor<8x64x128xf32>, %bf: tensor<8x128xf32>,
                      %bd: tensor<8x64xf32>, %init: tensor<?x64xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  // CHECK: moe.expert_ffn ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<9xi32>) gate(%{{.*}} : tensor<8x128x64xf32>) up(%{{.*}} : tensor<8x128x64xf32>) down(%{{.*}} : tensor<8x64x128xf32>) outs(%{{.*}} : tensor<?x64xf32>) activation<silu>
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu>
  // CHECK: moe.expert_ffn ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<9xi32>) up(%{{.*}} : tensor<8x128x64xf32>) down(%{{.*}} : tensor<8x64x128xf32>) up_bias(%{{.*}} : tensor<8x128xf32>) down_bias(%{{.*}} : tensor<8x64xf32>) outs(%{{.*}} : tensor<?x64xf32>) activation<relu>
  %1 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         up_bias(%bf : tensor<8x128xf32>) down_bias(%bd : tensor<8x64xf32>)
         outs(%init : tensor<?x64xf32>) activation<relu>
  // CHECK: moe.expert_ffn {{.*}} gate_bias(%{{.*}} : tensor<8x128xf32>) up_bias(%{{.*}} : tensor<8x128xf32>) down_bias(%{{.*}} : tensor<8x64xf32>) outs(%{{.*}} : tensor<?x64xf32>) activation<swiglu_oai> {swiglu_alpha = 1.702000e+00 : f32, swiglu_limit = 7.000000e+00 : f32}
  %2 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) gate_bias(%bf : tensor<8x128xf32>)
         up_bias(%bf : tensor<8x128xf32>) down_bias(%bd : tensor<8x64xf32>)
         outs(%init : tensor<?x64xf32>) activation<swiglu_oai>
         {swiglu_alpha = 1.702 : f32, swiglu_limit = 7.0 : f32}
  return %0, %1, %2 : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}

// CHECK-LABEL: func @combine
func.func @combine(%h: tensor<?x64xf32>, %t: tensor<?xi32>, %rw: tensor<?xf32>,
                   %o: tensor<9xi32>, %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // CHECK: moe.combine ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<?xi32>, tensor<?xf32>, tensor<9xi32>) outs(%{{.*}} : tensor<?x64xf32>)
  %0 = moe.combine ins(%h, %t, %rw, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<?xf32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return %0 : tensor<?x64xf32>
}

// CHECK-LABEL: func @grouped_matmul_combine
func.func @grouped_matmul_combine(%h: tensor<?x128xf32>, %w: tensor<8x64x128xf32>,
                                  %b: tensor<8x64xf32>, %o: tensor<9xi32>,
                                  %t: tensor<?xi32>, %rw: tensor<?xf32>,
                                  %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // CHECK: moe.grouped_matmul ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x128xf32>, tensor<8x64x128xf32>, tensor<9xi32>) bias(%{{.*}} : tensor<8x64xf32>) combine(%{{.*}}, %{{.*}} : tensor<?xi32>, tensor<?xf32>) outs(%{{.*}} : tensor<?x64xf32>)
  %0 = moe.grouped_matmul ins(%h, %w, %o : tensor<?x128xf32>, tensor<8x64x128xf32>, tensor<9xi32>)
         bias(%b : tensor<8x64xf32>) combine(%t, %rw : tensor<?xi32>, tensor<?xf32>)
         outs(%init : tensor<?x64xf32>)
  return %0 : tensor<?x64xf32>
}

// CHECK-LABEL: func @segment_combine
func.func @segment_combine(%h: tensor<?x2x32xf32>, %t: tensor<?xi32>, %rw: tensor<?xf32>,
                           %init: tensor<?x2x32xf32>) -> tensor<?x2x32xf32> {
  // CHECK: moe.segment_combine ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x2x32xf32>, tensor<?xi32>, tensor<?xf32>) outs(%{{.*}} : tensor<?x2x32xf32>)
  %0 = moe.segment_combine ins(%h, %t, %rw : tensor<?x2x32xf32>, tensor<?xi32>, tensor<?xf32>)
         outs(%init : tensor<?x2x32xf32>)
  return %0 : tensor<?x2x32xf32>
}

// CHECK-LABEL: func @layer_noise
func.func @layer_noise(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                       %wn: tensor<8x64xf32>, %wu: tensor<8x128x64xf32>,
                       %wd: tensor<8x64x128xf32>, %init: tensor<?x64xf32>)
    -> tensor<?x64xf32> {
  // CHECK: moe.layer ins(%{{.*}} : tensor<?x64xf32>) router(%{{.*}} : tensor<8x64xf32>) router_noise(%{{.*}} : tensor<8x64xf32>) seed(7) up(%{{.*}} : tensor<8x128x64xf32>) down(%{{.*}} : tensor<8x64x128xf32>) outs(%{{.*}} : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<relu>
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         router_noise(%wn : tensor<8x64xf32>) seed(7)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<relu>
  return %0 : tensor<?x64xf32>
}

// CHECK-LABEL: func @layer
func.func @layer(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>, %b: tensor<8xf32>,
                 %wg: tensor<8x128x64xbf16>, %wu: tensor<8x128x64xbf16>,
                 %wd: tensor<8x64x128xbf16>, %bf: tensor<8x128xf32>,
                 %bd: tensor<8x64xf32>, %init: tensor<?x64xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  // CHECK: moe.layer ins(%{{.*}} : tensor<?x64xf32>) router(%{{.*}} : tensor<8x64xf32>) gate(%{{.*}} : tensor<8x128x64xbf16>) up(%{{.*}} : tensor<8x128x64xbf16>) down(%{{.*}} : tensor<8x64x128xbf16>) outs(%{{.*}} : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu> {normalize}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xbf16>) up(%wu : tensor<8x128x64xbf16>)
         down(%wd : tensor<8x64x128xbf16>) outs(%init : tensor<?x64xf32>)
         top_k(2) scoring<softmax> activation<silu> {normalize}
  // CHECK: moe.layer ins(%{{.*}} : tensor<?x64xf32>) router(%{{.*}} : tensor<8x64xf32>) router_bias(%{{.*}} : tensor<8xf32>) selection_bias(%{{.*}} : tensor<8xf32>) up(%{{.*}} : tensor<8x128x64xbf16>) down(%{{.*}} : tensor<8x64x128xbf16>) up_bias(%{{.*}} : tensor<8x128xf32>) down_bias(%{{.*}} : tensor<8x64xf32>) outs(%{{.*}} : tensor<?x64xf32>) top_k(1) scoring<sigmoid> activation<gelu_tanh>
  // CHECK-SAME: {capacity_factor = 1.250000e+00 : f64, num_groups = 4 : i64, scaling_factor = 2.500000e+00 : f32, top_k_groups = 2 : i64}
  %1 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         router_bias(%b : tensor<8xf32>) selection_bias(%b : tensor<8xf32>)
         up(%wu : tensor<8x128x64xbf16>) down(%wd : tensor<8x64x128xbf16>)
         up_bias(%bf : tensor<8x128xf32>) down_bias(%bd : tensor<8x64xf32>)
         outs(%init : tensor<?x64xf32>) top_k(1) scoring<sigmoid>
         activation<gelu_tanh>
         {capacity_factor = 1.25 : f64, num_groups = 4 : i64,
          top_k_groups = 2 : i64, scaling_factor = 2.5 : f32}
  return %0, %1 : tensor<?x64xf32>, tensor<?x64xf32>
}

// Shared experts: a gated shared FFN of Fs = 2F, with and without a
// per-token scale.
// CHECK-LABEL: func @layer_shared_experts
func.func @layer_shared_experts(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                                %wg: tensor<8x128x64xf32>, %wu: tensor<8x128x64xf32>,
                                %wd: tensor<8x64x128xf32>,
                                %sg: tensor<1x256x64xf32>, %su: tensor<1x256x64xf32>,
                                %sd: tensor<1x64x256xf32>, %ss: tensor<?x1xf32>,
                                %init: tensor<?x64xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  // CHECK: moe.layer ins(%{{.*}} : tensor<?x64xf32>) router(%{{.*}} : tensor<8x64xf32>) gate(%{{.*}} : tensor<8x128x64xf32>) up(%{{.*}} : tensor<8x128x64xf32>) down(%{{.*}} : tensor<8x64x128xf32>) shared_gate(%{{.*}} : tensor<1x256x64xf32>) shared_up(%{{.*}} : tensor<1x256x64xf32>) shared_down(%{{.*}} : tensor<1x64x256xf32>) shared_scale(%{{.*}} : tensor<?x1xf32>) outs(%{{.*}} : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu> {normalize}
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x256x64xf32>) shared_up(%su : tensor<1x256x64xf32>)
         shared_down(%sd : tensor<1x64x256xf32>) shared_scale(%ss : tensor<?x1xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
         {normalize}
  // CHECK: moe.layer ins(%{{.*}} : tensor<?x64xf32>) router(%{{.*}} : tensor<8x64xf32>) gate(%{{.*}} : tensor<8x128x64xf32>) up(%{{.*}} : tensor<8x128x64xf32>) down(%{{.*}} : tensor<8x64x128xf32>) shared_gate(%{{.*}} : tensor<1x256x64xf32>) shared_up(%{{.*}} : tensor<1x256x64xf32>) shared_down(%{{.*}} : tensor<1x64x256xf32>) outs(%{{.*}} : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  %1 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>)
         shared_gate(%sg : tensor<1x256x64xf32>) shared_up(%su : tensor<1x256x64xf32>)
         shared_down(%sd : tensor<1x64x256xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
  return %0, %1 : tensor<?x64xf32>, tensor<?x64xf32>
}

// Static token counts are accepted everywhere a dynamic one is.
// CHECK-LABEL: func @static_tokens
func.func @static_tokens(%x: tensor<7x16xf32>, %wr: tensor<4x16xf32>,
                         %wu: tensor<4x32x16xf32>, %wd: tensor<4x16x32xf32>,
                         %init: tensor<7x16xf32>) -> tensor<7x16xf32> {
  // CHECK: moe.layer ins(%{{.*}} : tensor<7x16xf32>) {{.*}} top_k(4) scoring<softmax> activation<gelu>
  %0 = moe.layer ins(%x : tensor<7x16xf32>) router(%wr : tensor<4x16xf32>)
         up(%wu : tensor<4x32x16xf32>) down(%wd : tensor<4x16x32xf32>)
         outs(%init : tensor<7x16xf32>) top_k(4) scoring<softmax> activation<gelu>
  return %0 : tensor<7x16xf32>
}

// CHECK-LABEL: func @gated_activation
// CHECK-SAME:    %[[G:.*]]: tensor<?x128xf32>, %[[U:.*]]: tensor<?x128xf32>, %[[INIT:.*]]: tensor<?x128xf32>
func.func @gated_activation(%g: tensor<?x128xf32>, %u: tensor<?x128xf32>,
                            %init: tensor<?x128xf32>) -> (tensor<?x128xf32>, tensor<?x128xf32>) {
  // CHECK: moe.gated_activation ins(%[[G]], %[[U]] : tensor<?x128xf32>, tensor<?x128xf32>) outs(%[[INIT]] : tensor<?x128xf32>) activation<silu>
  // CHECK-NOT: swiglu
  %0 = moe.gated_activation ins(%g, %u : tensor<?x128xf32>, tensor<?x128xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  // CHECK: moe.gated_activation ins(%[[G]], %[[U]] : tensor<?x128xf32>, tensor<?x128xf32>) outs(%[[INIT]] : tensor<?x128xf32>) activation<swiglu_oai> {swiglu_alpha = 1.702000e+00 : f32, swiglu_limit = 7.000000e+00 : f32}
  %1 = moe.gated_activation ins(%g, %u : tensor<?x128xf32>, tensor<?x128xf32>)
         outs(%init : tensor<?x128xf32>) activation<swiglu_oai>
         {swiglu_alpha = 1.702 : f32, swiglu_limit = 7.0 : f32}
  return %0, %1 : tensor<?x128xf32>, tensor<?x128xf32>
}

// CHECK-LABEL: func @grouped_gated_matmul
// CHECK-SAME:    %[[X:.*]]: tensor<?x64xf32>, %[[O:.*]]: tensor<9xi32>, %[[WG:.*]]: tensor<8x128x64xbf16>, %[[WU:.*]]: tensor<8x128x64xbf16>, %[[BG:.*]]: tensor<8x128xf32>, %[[BU:.*]]: tensor<8x128xf32>, %[[INIT:.*]]: tensor<?x128xf32>
func.func @grouped_gated_matmul(%x: tensor<?x64xf32>, %o: tensor<9xi32>,
                                %wg: tensor<8x128x64xbf16>, %wu: tensor<8x128x64xbf16>,
                                %bg: tensor<8x128xf32>, %bu: tensor<8x128xf32>,
                                %init: tensor<?x128xf32>) -> (tensor<?x128xf32>, tensor<?x128xf32>) {
  // CHECK: moe.grouped_gated_matmul ins(%[[X]], %[[O]] : tensor<?x64xf32>, tensor<9xi32>) gate(%[[WG]] : tensor<8x128x64xbf16>) up(%[[WU]] : tensor<8x128x64xbf16>) outs(%[[INIT]] : tensor<?x128xf32>) activation<silu>
  // CHECK-NOT: bias
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xbf16>) up(%wu : tensor<8x128x64xbf16>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  // CHECK: moe.grouped_gated_matmul ins(%[[X]], %[[O]] : tensor<?x64xf32>, tensor<9xi32>) gate(%[[WG]] : tensor<8x128x64xbf16>) up(%[[WU]] : tensor<8x128x64xbf16>) gate_bias(%[[BG]] : tensor<8x128xf32>) up_bias(%[[BU]] : tensor<8x128xf32>) outs(%[[INIT]] : tensor<?x128xf32>) activation<swiglu_oai> {swiglu_alpha = 1.500000e+00 : f32, swiglu_limit = 5.000000e+00 : f32}
  %1 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xbf16>) up(%wu : tensor<8x128x64xbf16>)
         gate_bias(%bg : tensor<8x128xf32>) up_bias(%bu : tensor<8x128xf32>)
         outs(%init : tensor<?x128xf32>) activation<swiglu_oai>
         {swiglu_alpha = 1.5 : f32, swiglu_limit = 5.0 : f32}
  return %0, %1 : tensor<?x128xf32>, tensor<?x128xf32>
}

// A gather: row r reads the token row of token id r.
// CHECK-LABEL: func @grouped_gated_matmul_gather
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[O:[a-z0-9]+]]: tensor<9xi32>, %[[TOK:[a-z0-9]+]]: tensor<?xi32>
func.func @grouped_gated_matmul_gather(%x: tensor<?x64xf32>, %o: tensor<9xi32>,
                                       %tok: tensor<?xi32>,
                                       %wg: tensor<8x128x64xf32>, %wu: tensor<8x128x64xf32>,
                                       %init: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // CHECK: moe.grouped_gated_matmul ins(%[[X]], %[[O]] : tensor<?x64xf32>, tensor<9xi32>) gather(%[[TOK]] : tensor<?xi32>) gate(%{{.*}} : tensor<8x128x64xf32>) up(%{{.*}} : tensor<8x128x64xf32>) outs(%{{.*}} : tensor<?x128xf32>) activation<silu>
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gather(%tok : tensor<?xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return %0 : tensor<?x128xf32>
}

// Only one bias, and the kn [E, K, N] and panels [E, N/P, K, P] layouts.
// CHECK-LABEL: func @grouped_gated_matmul_layouts
func.func @grouped_gated_matmul_layouts(%x: tensor<?x64xf32>, %o: tensor<9xi32>,
                                        %wkn: tensor<8x64x128xbf16>,
                                        %wpanels: tensor<8x4x64x32xbf16>,
                                        %b: tensor<8x128xf32>,
                                        %init: tensor<?x128xf32>)
    -> (tensor<?x128xf32>, tensor<?x128xf32>, tensor<?x128xf32>) {
  // CHECK: moe.grouped_gated_matmul ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<9xi32>) gate(%{{.*}} : tensor<8x64x128xbf16>) up(%{{.*}} : tensor<8x64x128xbf16>) outs(%{{.*}} : tensor<?x128xf32>) activation<gelu> {weight_layout = #moe.weight_layout<kn>}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wkn : tensor<8x64x128xbf16>) up(%wkn : tensor<8x64x128xbf16>)
         outs(%init : tensor<?x128xf32>) activation<gelu> {weight_layout = #moe.weight_layout<kn>}
  // CHECK: moe.grouped_gated_matmul ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<9xi32>) gate(%{{.*}} : tensor<8x4x64x32xbf16>) up(%{{.*}} : tensor<8x4x64x32xbf16>) outs(%{{.*}} : tensor<?x128xf32>) activation<silu> {weight_layout = #moe.weight_layout<panels>}
  %1 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wpanels : tensor<8x4x64x32xbf16>) up(%wpanels : tensor<8x4x64x32xbf16>)
         outs(%init : tensor<?x128xf32>) activation<silu> {weight_layout = #moe.weight_layout<panels>}
  // CHECK: moe.grouped_gated_matmul ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<9xi32>) gate(%{{.*}} : tensor<8x4x64x32xbf16>) up(%{{.*}} : tensor<8x4x64x32xbf16>) up_bias(%{{.*}} : tensor<8x128xf32>) outs(%{{.*}} : tensor<?x128xf32>) activation<silu> {weight_layout = #moe.weight_layout<panels>}
  %2 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wpanels : tensor<8x4x64x32xbf16>) up(%wpanels : tensor<8x4x64x32xbf16>)
         up_bias(%b : tensor<8x128xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu> {weight_layout = #moe.weight_layout<panels>}
  return %0, %1, %2 : tensor<?x128xf32>, tensor<?x128xf32>, tensor<?x128xf32>
}

// The pair_panels layout [E, N/P, K/2, P, 2], bf16 rows gathered through
// the token ids.
// CHECK-LABEL: func @grouped_gated_matmul_pair_panels
func.func @grouped_gated_matmul_pair_panels(%x: tensor<?x64xbf16>, %o: tensor<9xi32>,
                                            %tok: tensor<?xi32>,
                                            %w: tensor<8x4x32x32x2xbf16>,
                                            %init: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // CHECK: moe.grouped_gated_matmul ins(%{{.*}}, %{{.*}} : tensor<?x64xbf16>, tensor<9xi32>) gather(%{{.*}} : tensor<?xi32>) gate(%{{.*}} : tensor<8x4x32x32x2xbf16>) up(%{{.*}} : tensor<8x4x32x32x2xbf16>) outs(%{{.*}} : tensor<?x128xf32>) activation<silu> {weight_layout = #moe.weight_layout<pair_panels>}
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xbf16>, tensor<9xi32>)
         gather(%tok : tensor<?xi32>)
         gate(%w : tensor<8x4x32x32x2xbf16>) up(%w : tensor<8x4x32x32x2xbf16>)
         outs(%init : tensor<?x128xf32>) activation<silu> {weight_layout = #moe.weight_layout<pair_panels>}
  return %0 : tensor<?x128xf32>
}

// CHECK-LABEL: func @router_top_k
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[W:[a-z0-9]+]]: tensor<8x64xbf16>, %[[WKN:[a-z0-9]+]]: tensor<64x8xf32>, %[[B:[a-z0-9]+]]: tensor<8xf32>, %[[SB:[a-z0-9]+]]: tensor<8xf32>, %[[WE:[a-z0-9]+]]: tensor<?x2xf32>, %[[IE:[a-z0-9]+]]: tensor<?x2xi32>
func.func @router_top_k(%x: tensor<?x64xf32>, %w: tensor<8x64xbf16>, %wkn: tensor<64x8xf32>,
                        %b: tensor<8xf32>, %sb: tensor<8xf32>,
                        %we: tensor<?x2xf32>, %ie: tensor<?x2xi32>) {
  // CHECK: moe.router_top_k ins(%[[X]], %[[W]] : tensor<?x64xf32>, tensor<8x64xbf16>) outs(%[[WE]], %[[IE]] : tensor<?x2xf32>, tensor<?x2xi32>) scoring<softmax> {normalize}
  %0, %1 = moe.router_top_k ins(%x, %w : tensor<?x64xf32>, tensor<8x64xbf16>)
             outs(%we, %ie : tensor<?x2xf32>, tensor<?x2xi32>) scoring<softmax> {normalize}
  // CHECK: moe.router_top_k ins(%[[X]], %[[WKN]] : tensor<?x64xf32>, tensor<64x8xf32>) bias(%[[B]] : tensor<8xf32>) selection_bias(%[[SB]] : tensor<8xf32>) outs(%[[WE]], %[[IE]] : tensor<?x2xf32>, tensor<?x2xi32>) scoring<sigmoid> {num_groups = 4 : i64, scaling_factor = 2.500000e+00 : f32, top_k_groups = 2 : i64, weight_layout = #moe.weight_layout<kn>}
  %2, %3 = moe.router_top_k ins(%x, %wkn : tensor<?x64xf32>, tensor<64x8xf32>)
             bias(%b : tensor<8xf32>) selection_bias(%sb : tensor<8xf32>)
             outs(%we, %ie : tensor<?x2xf32>, tensor<?x2xi32>) scoring<sigmoid>
             {weight_layout = #moe.weight_layout<kn>, num_groups = 4 : i64, top_k_groups = 2 : i64, scaling_factor = 2.5 : f32}
  return
}

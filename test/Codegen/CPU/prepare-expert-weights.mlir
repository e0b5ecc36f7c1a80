// RUN: moe-opt %s --moe-cpu-prepare-expert-weights | FileCheck %s
// RUN: moe-opt %s --moe-cpu-prepare-expert-weights=panel-width=12 | FileCheck %s --check-prefix=NARROW

// A weight used only by grouped matmuls is re-declared [E, N/P, K, P], panels
// of P columns (the largest divisor of N up to panel-width), with its
// load-time permutation; one with another use keeps the nn.Linear layout.

// CHECK-LABEL: func.func @model(
// CHECK-SAME:    %{{.*}}: tensor<4x1x16x32xf32> {moe.param = "up", moe.prepare_permutation = array<i64: 0, 1, 3, 2>}
// CHECK-SAME:    %{{.*}}: tensor<4x32x16xf32> {moe.param = "shared"}
// CHECK:       moe.grouped_matmul ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<4x1x16x32xf32>, tensor<5xi32>) outs(%{{.*}} : tensor<?x32xf32>) {weight_layout = #moe.weight_layout<panels>}

// NARROW:      tensor<4x4x16x8xf32> {moe.param = "up", moe.prepare_permutation = array<i64: 0, 1, 3, 2>}
// CHECK:       moe.grouped_matmul ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>) outs(%{{.*}} : tensor<?x32xf32>)
// CHECK-NOT:   weight_layout = #moe.weight_layout<kn>
func.func @model(%x: tensor<?x16xf32> {moe.input = "x"},
                 %up: tensor<4x32x16xf32> {moe.param = "up"},
                 %shared: tensor<4x32x16xf32> {moe.param = "shared"},
                 %o: tensor<5xi32>, %init: tensor<?x32xf32>)
    -> (tensor<?x32xf32>, tensor<?x32xf32>, tensor<4x32x16xf32>) attributes {moe.entry} {
  %0 = moe.grouped_matmul ins(%x, %up, %o : tensor<?x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%init : tensor<?x32xf32>)
  %1 = moe.grouped_matmul ins(%x, %shared, %o : tensor<?x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%init : tensor<?x32xf32>)
  return %0, %1, %shared : tensor<?x32xf32>, tensor<?x32xf32>, tensor<4x32x16xf32>
}

// N = 37 has no divisor above 1 up to 32: [E, K, N] rows instead of panels.
// CHECK-LABEL: func.func @prime(
// CHECK-SAME:    %{{.*}}: tensor<2x16x37xf32> {moe.param = "w", moe.prepare_permutation = array<i64: 0, 2, 1>}
// CHECK:       moe.grouped_matmul ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<2x16x37xf32>, tensor<3xi32>) outs(%{{.*}} : tensor<?x37xf32>) {weight_layout = #moe.weight_layout<kn>}
func.func @prime(%x: tensor<?x16xf32> {moe.input = "x"},
                 %w: tensor<2x37x16xf32> {moe.param = "w"},
                 %o: tensor<3xi32>, %init: tensor<?x37xf32>) -> tensor<?x37xf32> attributes {moe.entry} {
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x16xf32>, tensor<2x37x16xf32>, tensor<3xi32>)
         outs(%init : tensor<?x37xf32>)
  return %0 : tensor<?x37xf32>
}

// A router weight [E, D] used only by routers becomes [D, E] (permutation
// 1, 0) and its router gets the kn layout; one also used elsewhere (here as a
// dense linear's weight, as large-t.test's graph does) keeps [E, D].
// CHECK-LABEL: func.func @routers(
// CHECK-SAME:    %{{.*}}: tensor<16x8xbf16> {moe.param = "router", moe.prepare_permutation = array<i64: 1, 0>}
// CHECK-SAME:    %[[SHARED:.*]]: tensor<8x16xf32> {moe.param = "shared_router"}
// CHECK:       moe.router ins(%{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<16x8xbf16>) outs(%{{.*}} : tensor<?x8xf32>) scoring<softmax> {weight_layout = #moe.weight_layout<kn>}
// CHECK:       moe.router ins(%{{.*}}, %[[SHARED]] : tensor<?x16xf32>, tensor<8x16xf32>) outs(%{{.*}} : tensor<?x8xf32>) scoring<sigmoid>
// CHECK-NOT:   weight_layout = #moe.weight_layout<kn>
func.func @routers(%x: tensor<?x16xf32> {moe.input = "x"},
                   %r: tensor<8x16xbf16> {moe.param = "router"},
                   %s: tensor<8x16xf32> {moe.param = "shared_router"},
                   %init: tensor<?x8xf32>)
    -> (tensor<?x8xf32>, tensor<?x8xf32>, tensor<8x16xf32>) attributes {moe.entry} {
  %0 = moe.router ins(%x, %r : tensor<?x16xf32>, tensor<8x16xbf16>)
         outs(%init : tensor<?x8xf32>) scoring<softmax>
  %1 = moe.router ins(%x, %s : tensor<?x16xf32>, tensor<8x16xf32>)
         outs(%init : tensor<?x8xf32>) scoring<sigmoid>
  return %0, %1, %s : tensor<?x8xf32>, tensor<?x8xf32>, tensor<8x16xf32>
}

// A router fused with its top-k (moe.router_top_k) takes the same [D, E]
// layout, alone or beside a plain router of the same weight.
// CHECK-LABEL: func.func @fused_routers(
// CHECK-SAME:    %{{.*}}: tensor<16x8xf32> {moe.param = "router", moe.prepare_permutation = array<i64: 1, 0>}
// CHECK:       moe.router_top_k ins(%{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<16x8xf32>) outs({{.*}}) scoring<softmax> {weight_layout = #moe.weight_layout<kn>}
// CHECK:       moe.router ins(%{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<16x8xf32>) outs(%{{.*}} : tensor<?x8xf32>) scoring<softmax> {weight_layout = #moe.weight_layout<kn>}
func.func @fused_routers(%x: tensor<?x16xf32> {moe.input = "x"},
                         %r: tensor<8x16xf32> {moe.param = "router"},
                         %init: tensor<?x8xf32>, %we: tensor<?x2xf32>, %ie: tensor<?x2xi32>)
    -> (tensor<?x2xf32>, tensor<?x2xi32>, tensor<?x8xf32>) attributes {moe.entry} {
  %0, %1 = moe.router_top_k ins(%x, %r : tensor<?x16xf32>, tensor<8x16xf32>)
             outs(%we, %ie : tensor<?x2xf32>, tensor<?x2xi32>) scoring<softmax>
  %2 = moe.router ins(%x, %r : tensor<?x16xf32>, tensor<8x16xf32>)
         outs(%init : tensor<?x8xf32>) scoring<softmax>
  return %0, %1, %2 : tensor<?x2xf32>, tensor<?x2xi32>, tensor<?x8xf32>
}

// A weight used only by dense `init + x W^T` contractions (a linear node, a
// shared expert) becomes [K, N] (permutation 1, 0) and each contraction
// iterates (m, k, n), the weight's rows innermost. A contraction that is
// not of that form keeps its weight.
// CHECK-LABEL: func.func @dense(
// CHECK-SAME:    %{{.*}}: tensor<16x24xf32> {moe.param = "w", moe.prepare_permutation = array<i64: 1, 0>}
// CHECK-SAME:    %[[OTHER:.*]]: tensor<24x16xf32> {moe.param = "other"}
// CHECK:       linalg.generic {{{.*}}iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<16x24xf32>)
// CHECK:       linalg.generic {{.*}} ins(%{{.*}}, %[[OTHER]] : tensor<?x16xf32>, tensor<24x16xf32>)
#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#nk = affine_map<(d0, d1, d2) -> (d1, d2)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @dense(%x: tensor<?x16xf32> {moe.input = "x"},
                 %w: tensor<24x16xf32> {moe.param = "w"},
                 %other: tensor<24x16xf32> {moe.param = "other"},
                 %init: tensor<?x24xf32>) -> (tensor<?x24xf32>, tensor<?x24xf32>) attributes {moe.entry} {
  %0 = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
         ins(%x, %w : tensor<?x16xf32>, tensor<24x16xf32>) outs(%init : tensor<?x24xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x24xf32>
  // Not a contraction over k: the weight is read elementwise.
  %1 = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "parallel"]}
         ins(%x, %other : tensor<?x16xf32>, tensor<24x16xf32>) outs(%init : tensor<?x24xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    linalg.yield %b : f32
  } -> tensor<?x24xf32>
  return %0, %1 : tensor<?x24xf32>, tensor<?x24xf32>
}

// A gated matmul's gate and up weights take the panel layout together (one
// layout attribute covers both). When one of them has another use and stays
// raw, its partner stays raw too, and so does a weight that shares a gated
// matmul with that partner: the layouts are settled to a fixed point.

// CHECK-LABEL: func.func @gated(
// CHECK-SAME:    %{{.*}}: tensor<4x1x16x32xf32> {moe.param = "g", moe.prepare_permutation = array<i64: 0, 1, 3, 2>}
// CHECK-SAME:    %{{.*}}: tensor<4x1x16x32xf32> {moe.param = "u", moe.prepare_permutation = array<i64: 0, 1, 3, 2>}
// CHECK-SAME:    %{{.*}}: tensor<4x32x16xf32> {moe.param = "g2"}
// CHECK-SAME:    %{{.*}}: tensor<4x32x16xf32> {moe.param = "u2"}
// CHECK-SAME:    %{{.*}}: tensor<4x32x16xf32> {moe.param = "g3"}
// CHECK:       moe.grouped_gated_matmul {{.*}} gate(%{{.*}} : tensor<4x1x16x32xf32>) up(%{{.*}} : tensor<4x1x16x32xf32>) {{.*}} {weight_layout = #moe.weight_layout<panels>}
// CHECK:       moe.grouped_gated_matmul {{.*}} gate(%{{.*}} : tensor<4x32x16xf32>) up(%{{.*}} : tensor<4x32x16xf32>)
// CHECK-NOT:   weight_layout = #moe.weight_layout<kn>
// CHECK:       moe.grouped_gated_matmul {{.*}} gate(%{{.*}} : tensor<4x32x16xf32>) up(%{{.*}} : tensor<4x32x16xf32>)
// CHECK-NOT:   weight_layout = #moe.weight_layout<kn>
// CHECK:       return
func.func @gated(%x: tensor<?x16xf32> {moe.input = "x"},
                 %g: tensor<4x32x16xf32> {moe.param = "g"},
                 %u: tensor<4x32x16xf32> {moe.param = "u"},
                 %g2: tensor<4x32x16xf32> {moe.param = "g2"},
                 %u2: tensor<4x32x16xf32> {moe.param = "u2"},
                 %g3: tensor<4x32x16xf32> {moe.param = "g3"},
                 %o: tensor<5xi32>, %init: tensor<?x32xf32>)
    -> (tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<4x32x16xf32>) attributes {moe.entry} {
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x16xf32>, tensor<5xi32>)
         gate(%g : tensor<4x32x16xf32>) up(%u : tensor<4x32x16xf32>)
         outs(%init : tensor<?x32xf32>) activation<silu>
  // u2 is also returned: g2 stays raw with it, and so does g3, which
  // shares a gated matmul with u2.
  %1 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x16xf32>, tensor<5xi32>)
         gate(%g2 : tensor<4x32x16xf32>) up(%u2 : tensor<4x32x16xf32>)
         outs(%init : tensor<?x32xf32>) activation<silu>
  %2 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x16xf32>, tensor<5xi32>)
         gate(%g3 : tensor<4x32x16xf32>) up(%u2 : tensor<4x32x16xf32>)
         outs(%init : tensor<?x32xf32>) activation<silu>
  return %0, %1, %2, %u2 : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<4x32x16xf32>
}

// Outlined layers: a layer function's weight argument is laid out when
// every call passes it a raw parameter of the model function used by such
// calls alone; the function and those parameters are re-declared together.
// A parameter the model function also reads itself ("w_kept", passed to
// @kept_layer and returned) keeps the raw layout, and so does the argument
// it is passed to.

// CHECK-LABEL: func.func @outlined(
// CHECK-SAME:    %{{.*}}: tensor<4x1x16x32xf32> {moe.param = "w0", moe.prepare_permutation = array<i64: 0, 1, 3, 2>}
// CHECK-SAME:    %{{.*}}: tensor<4x1x16x32xf32> {moe.param = "w1", moe.prepare_permutation = array<i64: 0, 1, 3, 2>}
// CHECK-SAME:    %{{.*}}: tensor<4x32x16xf32> {moe.param = "w_kept"}
// CHECK:       call @layer({{.*}}) : (tensor<?x16xf32>, tensor<4x1x16x32xf32>, tensor<5xi32>, tensor<?x32xf32>)
// CHECK:       call @layer({{.*}}) : (tensor<?x16xf32>, tensor<4x1x16x32xf32>, tensor<5xi32>, tensor<?x32xf32>)
// CHECK:       call @kept_layer({{.*}}) : (tensor<?x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>, tensor<?x32xf32>)
// CHECK-LABEL: func.func private @layer(
// CHECK-SAME:    %{{.*}}: tensor<?x16xf32>, %{{.*}}: tensor<4x1x16x32xf32>, %{{.*}}: tensor<5xi32>, %{{.*}}: tensor<?x32xf32>)
// CHECK:       moe.grouped_matmul {{.*}} {weight_layout = #moe.weight_layout<panels>}
// CHECK-LABEL: func.func private @kept_layer(
// CHECK-SAME:    %{{.*}}: tensor<?x16xf32>, %{{.*}}: tensor<4x32x16xf32>, %{{.*}}: tensor<5xi32>, %{{.*}}: tensor<?x32xf32>)
// CHECK-NOT:   weight_layout = #moe.weight_layout<kn>
func.func @outlined(%x: tensor<?x16xf32> {moe.input = "x"},
                    %w0: tensor<4x32x16xf32> {moe.param = "w0"},
                    %w1: tensor<4x32x16xf32> {moe.param = "w1"},
                    %wk: tensor<4x32x16xf32> {moe.param = "w_kept"},
                    %o: tensor<5xi32>, %init: tensor<?x32xf32>)
    -> (tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<4x32x16xf32>) attributes {moe.entry} {
  %0 = call @layer(%x, %w0, %o, %init) : (tensor<?x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>, tensor<?x32xf32>) -> tensor<?x32xf32>
  %1 = call @layer(%x, %w1, %o, %init) : (tensor<?x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>, tensor<?x32xf32>) -> tensor<?x32xf32>
  %2 = call @kept_layer(%x, %wk, %o, %init) : (tensor<?x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>, tensor<?x32xf32>) -> tensor<?x32xf32>
  return %0, %1, %2, %wk : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<4x32x16xf32>
}
func.func private @layer(%x: tensor<?x16xf32>, %w: tensor<4x32x16xf32>, %o: tensor<5xi32>,
                         %init: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%init : tensor<?x32xf32>)
  return %0 : tensor<?x32xf32>
}
func.func private @kept_layer(%x: tensor<?x16xf32>, %w: tensor<4x32x16xf32>, %o: tensor<5xi32>,
                              %init: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x16xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
         outs(%init : tensor<?x32xf32>)
  return %0 : tensor<?x32xf32>
}

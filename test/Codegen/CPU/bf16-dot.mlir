// RUN: moe-opt %s --moe-cpu-bf16-dot | FileCheck %s
// RUN: moe-opt %s --moe-cpu-bf16-dot=panel-width=16 | FileCheck %s --check-prefix=NARROW

// bf16 expert weights in the nn.Linear layout [E, N, K]: their matmuls take
// the input rounded to bf16. With K even and N a multiple of 16 the weight
// becomes [E, N/P, K/2, P, 2] panels of pairs (P = 32 here, 16 with
// panel-width=16) with its load-time permutation, and the matmul
// the pair_panels layout; gate and up share one rounded input. N = 40 keeps the weight
// (for moe-cpu-prepare-expert-weights) and takes the rounded values as f32
// (truncf then extf); f32 weights are left alone.

// CHECK-LABEL: func.func @model(
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32> {moe.input = "x"}
// CHECK-SAME:    %{{.*}}: tensor<4x2x32x32x2xbf16> {moe.param = "gate", moe.prepare_permutation = array<i64: 0, 1, 3, 2, 4>}
// CHECK-SAME:    %{{.*}}: tensor<4x2x32x32x2xbf16> {moe.param = "up", moe.prepare_permutation = array<i64: 0, 1, 3, 2, 4>}
// CHECK-SAME:    %{{.*}}: tensor<4x40x64xbf16> {moe.param = "odd"}
// CHECK-SAME:    %{{.*}}: tensor<4x64x64xf32> {moe.param = "f32"}
// CHECK:       %[[ROUNDED:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<?x64xf32>) outs(%{{.*}} : tensor<?x64xf32>)
// CHECK-NEXT:  ^bb0(%[[V2:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:    %[[T2:.*]] = arith.truncf %[[V2]] : f32 to bf16
// CHECK-NEXT:    %[[E2:.*]] = arith.extf %[[T2]] : bf16 to f32
// CHECK-NEXT:    linalg.yield %[[E2]] : f32
// CHECK:       %[[BF16:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<?x64xf32>) outs(%{{.*}} : tensor<?x64xbf16>)
// CHECK-NEXT:  ^bb0(%[[V:.*]]: f32, %{{.*}}: bf16):
// CHECK-NEXT:    %[[T:.*]] = arith.truncf %[[V]] : f32 to bf16
// CHECK-NEXT:    linalg.yield %[[T]] : bf16
// CHECK:       moe.grouped_matmul ins(%[[BF16]], %{{.*}}, %{{.*}} : tensor<?x64xbf16>, tensor<4x2x32x32x2xbf16>, tensor<5xi32>) outs(%{{.*}} : tensor<?x64xf32>) {weight_layout = #moe.weight_layout<pair_panels>}
// CHECK:       moe.grouped_matmul ins(%[[BF16]], %{{.*}}, %{{.*}} : tensor<?x64xbf16>, tensor<4x2x32x32x2xbf16>, tensor<5xi32>) outs(%{{.*}} : tensor<?x64xf32>) {weight_layout = #moe.weight_layout<pair_panels>}
// CHECK:       moe.grouped_matmul ins(%[[ROUNDED]], %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<4x40x64xbf16>, tensor<5xi32>) outs(%{{.*}} : tensor<?x40xf32>){{$}}
// CHECK:       moe.grouped_matmul ins(%[[X]], %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<4x64x64xf32>, tensor<5xi32>) outs(%{{.*}} : tensor<?x64xf32>){{$}}

// NARROW:      tensor<4x4x32x16x2xbf16> {moe.param = "gate", moe.prepare_permutation = array<i64: 0, 1, 3, 2, 4>}
func.func @model(%x: tensor<?x64xf32> {moe.input = "x"},
                 %gate: tensor<4x64x64xbf16> {moe.param = "gate"},
                 %up: tensor<4x64x64xbf16> {moe.param = "up"},
                 %odd: tensor<4x40x64xbf16> {moe.param = "odd"},
                 %f32: tensor<4x64x64xf32> {moe.param = "f32"},
                 %o: tensor<5xi32>, %init: tensor<?x64xf32>, %init40: tensor<?x40xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x40xf32>, tensor<?x64xf32>) attributes {moe.entry} {
  %0 = moe.grouped_matmul ins(%x, %gate, %o : tensor<?x64xf32>, tensor<4x64x64xbf16>, tensor<5xi32>)
         outs(%init : tensor<?x64xf32>)
  %1 = moe.grouped_matmul ins(%x, %up, %o : tensor<?x64xf32>, tensor<4x64x64xbf16>, tensor<5xi32>)
         outs(%init : tensor<?x64xf32>)
  %2 = moe.grouped_matmul ins(%x, %odd, %o : tensor<?x64xf32>, tensor<4x40x64xbf16>, tensor<5xi32>)
         outs(%init40 : tensor<?x40xf32>)
  %3 = moe.grouped_matmul ins(%x, %f32, %o : tensor<?x64xf32>, tensor<4x64x64xf32>, tensor<5xi32>)
         outs(%init : tensor<?x64xf32>)
  return %0, %1, %2, %3 : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x40xf32>, tensor<?x64xf32>
}

// Gated matmuls (moe-fuse-gate-up): both weights take the pair layout, and
// the input is rounded once, also when the matmul gathers its rows (the
// [T, K] token rows are rounded). A gated matmul whose up weight has
// another use (a kn-layout matmul here) keeps both of its weights and its
// f32 input, as a matmul whose weight has another use does.

// CHECK-LABEL: func.func @gated(
// CHECK-SAME:    %[[GX:[a-z0-9]+]]: tensor<?x64xf32> {moe.input = "x"}
// CHECK-SAME:    %{{.*}}: tensor<4x2x32x32x2xbf16> {moe.param = "gate", moe.prepare_permutation = array<i64: 0, 1, 3, 2, 4>}
// CHECK-SAME:    %{{.*}}: tensor<4x2x32x32x2xbf16> {moe.param = "up", moe.prepare_permutation = array<i64: 0, 1, 3, 2, 4>}
// CHECK-SAME:    %[[KEPT_GATE:[a-z0-9]+]]: tensor<4x64x64xbf16> {moe.param = "kept_gate"}
// CHECK-SAME:    %[[KEPT_UP:[a-z0-9]+]]: tensor<4x64x64xbf16> {moe.param = "kept_up"}
// CHECK:       %[[GBF16:.*]] = linalg.generic {{.*}} ins(%[[GX]] : tensor<?x64xf32>) outs(%{{.*}} : tensor<?x64xbf16>)
// CHECK:       moe.grouped_gated_matmul ins(%[[GBF16]], %{{.*}} : tensor<?x64xbf16>, tensor<5xi32>) gather(%{{.*}} : tensor<?xi32>) gate(%{{.*}} : tensor<4x2x32x32x2xbf16>) up(%{{.*}} : tensor<4x2x32x32x2xbf16>) outs(%{{.*}} : tensor<?x64xf32>) activation<silu> {weight_layout = #moe.weight_layout<pair_panels>}
// CHECK:       moe.grouped_gated_matmul ins(%[[GX]], %{{.*}} : tensor<?x64xf32>, tensor<5xi32>) gate(%[[KEPT_GATE]] : tensor<4x64x64xbf16>) up(%[[KEPT_UP]] : tensor<4x64x64xbf16>) outs(%{{.*}} : tensor<?x64xf32>) activation<silu>{{$}}
// CHECK-NOT:   linalg.generic
func.func @gated(%x: tensor<?x64xf32> {moe.input = "x"},
                 %gate: tensor<4x64x64xbf16> {moe.param = "gate"},
                 %up: tensor<4x64x64xbf16> {moe.param = "up"},
                 %kept_gate: tensor<4x64x64xbf16> {moe.param = "kept_gate"},
                 %kept_up: tensor<4x64x64xbf16> {moe.param = "kept_up"},
                 %o: tensor<5xi32>, %tok: tensor<?xi32>, %rows: tensor<?x64xf32>,
                 %init: tensor<?x64xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) attributes {moe.entry} {
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<5xi32>)
         gather(%tok : tensor<?xi32>)
         gate(%gate : tensor<4x64x64xbf16>) up(%up : tensor<4x64x64xbf16>)
         outs(%init : tensor<?x64xf32>) activation<silu>
  %1 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<5xi32>)
         gate(%kept_gate : tensor<4x64x64xbf16>) up(%kept_up : tensor<4x64x64xbf16>)
         outs(%init : tensor<?x64xf32>) activation<silu>
  %2 = moe.grouped_matmul ins(%rows, %kept_up, %o : tensor<?x64xf32>, tensor<4x64x64xbf16>, tensor<5xi32>)
         outs(%init : tensor<?x64xf32>) {weight_layout = #moe.weight_layout<kn>}
  return %0, %1, %2 : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}

// RUN: moe-opt %s --moe-split-grouped-matmul-k="parts=3 min-k=64" --split-input-file --verify-diagnostics | FileCheck %s
// RUN: moe-opt %s --moe-split-grouped-matmul-k="parts=2 min-k=64 k-multiple=128" --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=ONE

// K = 96 in three slices of 32: three grouped matmuls from zero over the
// input's columns and the weight's K, the bias with the first, and one sum
// of the three in slice order into the zero destination's tensor, which is
// not read (its fill goes).

// CHECK-LABEL: func @nk_with_bias
// CHECK-SAME:    %[[H:[a-z0-9]+]]: tensor<?x96xf32>, %[[W:[a-z0-9]+]]: tensor<8x64x96xbf16>, %[[B:[a-z0-9]+]]: tensor<8x64xf32>, %[[OFF:[a-z0-9]+]]: tensor<9xi32>, %[[ROWS:[a-z0-9]+]]: tensor<?x64xf32>
// CHECK-NOT:   linalg.fill ins(%{{.*}}) outs(%[[ROWS]]
// CHECK:       %[[H0:.*]] = tensor.extract_slice %[[H]][0, 0] [%{{.*}}, 32] [1, 1]
// CHECK:       %[[W0:.*]] = tensor.extract_slice %[[W]][0, 0, 0] [8, 64, 32] [1, 1, 1]
// CHECK:       %[[Z0:.*]] = linalg.fill
// CHECK:       %[[P0:.*]] = moe.grouped_matmul ins(%[[H0]], %[[W0]], %[[OFF]] : tensor<?x32xf32>, tensor<8x64x32xbf16>, tensor<9xi32>) bias(%[[B]] : tensor<8x64xf32>) outs(%[[Z0]] : tensor<?x64xf32>)
// CHECK:       %[[H1:.*]] = tensor.extract_slice %[[H]][0, 32] [%{{.*}}, 32] [1, 1]
// CHECK:       %[[W1:.*]] = tensor.extract_slice %[[W]][0, 0, 32] [8, 64, 32] [1, 1, 1]
// CHECK:       %[[Z1:.*]] = linalg.fill
// CHECK:       %[[P1:.*]] = moe.grouped_matmul ins(%[[H1]], %[[W1]], %[[OFF]] : tensor<?x32xf32>, tensor<8x64x32xbf16>, tensor<9xi32>) outs(%[[Z1]] : tensor<?x64xf32>)
// CHECK:       %[[H2:.*]] = tensor.extract_slice %[[H]][0, 64] [%{{.*}}, 32] [1, 1]
// CHECK:       %[[W2:.*]] = tensor.extract_slice %[[W]][0, 0, 64] [8, 64, 32] [1, 1, 1]
// CHECK:       %[[P2:.*]] = moe.grouped_matmul ins(%[[H2]], %[[W2]], %[[OFF]] : tensor<?x32xf32>, tensor<8x64x32xbf16>, tensor<9xi32>) outs(%{{.*}} : tensor<?x64xf32>)
// CHECK:       %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[P0]], %[[P1]], %[[P2]] : {{.*}}) outs(%[[ROWS]] : tensor<?x64xf32>)
// CHECK-NEXT:  ^bb0(%[[A0:.*]]: f32, %[[A1:.*]]: f32, %[[A2:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:    %[[S01:.*]] = arith.addf %[[A0]], %[[A1]] : f32
// CHECK-NEXT:    %[[S012:.*]] = arith.addf %[[S01]], %[[A2]] : f32
// CHECK-NEXT:    linalg.yield %[[S012]]
// CHECK:       return %[[SUM]]
func.func @nk_with_bias(%h: tensor<?x96xf32>, %w: tensor<8x64x96xbf16>, %b: tensor<8x64xf32>,
                        %o: tensor<9xi32>, %rows: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %zero = arith.constant 0.0 : f32
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<?x64xf32>) -> tensor<?x64xf32>
  %d = moe.grouped_matmul ins(%h, %w, %o : tensor<?x96xf32>, tensor<8x64x96xbf16>, tensor<9xi32>)
         bias(%b : tensor<8x64xf32>) outs(%acc : tensor<?x64xf32>)
  return %d : tensor<?x64xf32>
}

// -----

// The kn layout's K is the weight's second dimension. K = 100: slices of
// 64 (ceil(100 / 3) = 34, a multiple of 32 up) and the rest, 36. A
// destination that is not zero is the sum's first term.

// CHECK-LABEL: func @kn_nonzero_destination
// CHECK-SAME:    %[[H:[a-z0-9]+]]: tensor<?x100xf32>, %[[W:[a-z0-9]+]]: tensor<8x100x64xf32>, %[[OFF:[a-z0-9]+]]: tensor<9xi32>, %[[ACC:[a-z0-9]+]]: tensor<?x64xf32>
// CHECK:       tensor.extract_slice %[[H]][0, 0] [%{{.*}}, 64] [1, 1]
// CHECK:       tensor.extract_slice %[[W]][0, 0, 0] [8, 64, 64] [1, 1, 1]
// CHECK:       %[[P0:.*]] = moe.grouped_matmul {{.*}} {weight_layout = #moe.weight_layout<kn>}
// CHECK:       tensor.extract_slice %[[H]][0, 64] [%{{.*}}, 36] [1, 1]
// CHECK:       tensor.extract_slice %[[W]][0, 64, 0] [8, 36, 64] [1, 1, 1]
// CHECK:       %[[P1:.*]] = moe.grouped_matmul {{.*}} {weight_layout = #moe.weight_layout<kn>}
// CHECK-NOT:   moe.grouped_matmul
// CHECK:       linalg.generic {{.*}} ins(%[[P0]], %[[P1]] : {{.*}}) outs(%[[ACC]] : tensor<?x64xf32>)
// CHECK-NEXT:  ^bb0(%[[A0:.*]]: f32, %[[A1:.*]]: f32, %[[OUT:.*]]: f32):
// CHECK-NEXT:    %[[S0:.*]] = arith.addf %[[OUT]], %[[A0]] : f32
// CHECK-NEXT:    %[[S01:.*]] = arith.addf %[[S0]], %[[A1]] : f32
// CHECK-NEXT:    linalg.yield %[[S01]]
func.func @kn_nonzero_destination(%h: tensor<?x100xf32>, %w: tensor<8x100x64xf32>,
                                  %o: tensor<9xi32>, %acc: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %d = moe.grouped_matmul ins(%h, %w, %o : tensor<?x100xf32>, tensor<8x100x64xf32>, tensor<9xi32>)
         outs(%acc : tensor<?x64xf32>) {weight_layout = #moe.weight_layout<kn>}
  return %d : tensor<?x64xf32>
}

// -----

// Left as they are: a K below min-k (32), a dynamic K, the panel layout,
// and a matmul that combines its rows.

// CHECK-LABEL: func @not_split
// CHECK-COUNT-4: moe.grouped_matmul
// CHECK-NOT:   moe.grouped_matmul
// CHECK-NOT:   linalg.generic
func.func @not_split(%h32: tensor<?x32xf32>, %w32: tensor<8x64x32xf32>,
                     %h: tensor<?x?xf32>, %w: tensor<8x64x?xf32>,
                     %h128: tensor<?x128xf32>, %wp: tensor<8x2x128x32xf32>,
                     %wc: tensor<8x64x128xf32>, %tok: tensor<?xi32>, %rw: tensor<?xf32>,
                     %o: tensor<9xi32>, %acc: tensor<?x64xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  %a = moe.grouped_matmul ins(%h32, %w32, %o : tensor<?x32xf32>, tensor<8x64x32xf32>, tensor<9xi32>)
         outs(%acc : tensor<?x64xf32>)
  %b = moe.grouped_matmul ins(%h, %w, %o : tensor<?x?xf32>, tensor<8x64x?xf32>, tensor<9xi32>)
         outs(%acc : tensor<?x64xf32>)
  %c = moe.grouped_matmul ins(%h128, %wp, %o : tensor<?x128xf32>, tensor<8x2x128x32xf32>, tensor<9xi32>)
         outs(%acc : tensor<?x64xf32>) {weight_layout = #moe.weight_layout<panels>}
  %d = moe.grouped_matmul ins(%h128, %wc, %o : tensor<?x128xf32>, tensor<8x64x128xf32>, tensor<9xi32>)
         combine(%tok, %rw : tensor<?xi32>, tensor<?xf32>) outs(%acc : tensor<?x64xf32>)
  return %a, %b, %c, %d : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}

// -----

// With slices a multiple of 128, K = 80 is one slice: nothing splits
// (ONE), where three slices of 32 do.

// CHECK-LABEL: func @one_slice
// CHECK-COUNT-3: moe.grouped_matmul
// ONE-LABEL:   func @one_slice
// ONE-COUNT-1: moe.grouped_matmul
// ONE-NOT:     moe.grouped_matmul
// ONE-NOT:     linalg.generic
func.func @one_slice(%h: tensor<?x80xf32>, %w: tensor<8x64x80xf32>,
                     %o: tensor<9xi32>, %acc: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %d = moe.grouped_matmul ins(%h, %w, %o : tensor<?x80xf32>, tensor<8x64x80xf32>, tensor<9xi32>)
         outs(%acc : tensor<?x64xf32>)
  return %d : tensor<?x64xf32>
}

// -----

// A function with options of its own for this pass (moe.pass_options, a
// layer's decode version) is split with those: in two parts here, where the
// pass's own options (parts=3, or k-multiple=128) split it otherwise.

// CHECK-LABEL: func @own_options
// CHECK-COUNT-2: moe.grouped_matmul
// CHECK-NOT:     moe.grouped_matmul
// CHECK:         return
// ONE-LABEL:   func @own_options
// ONE-COUNT-2:   moe.grouped_matmul
// ONE-NOT:       moe.grouped_matmul
// ONE:           return
// CHECK-LABEL: func @own_options_none
// CHECK-COUNT-3: moe.grouped_matmul
// CHECK-NOT:     moe.grouped_matmul
// CHECK:         return
func.func @own_options(%h: tensor<?x96xf32>, %w: tensor<8x64x96xf32>,
                       %o: tensor<9xi32>, %acc: tensor<?x64xf32>) -> tensor<?x64xf32>
    attributes {moe.pass_options = {"moe-split-grouped-matmul-k" = "parts=2 min-k=16 k-multiple=16"}} {
  %d = moe.grouped_matmul ins(%h, %w, %o : tensor<?x96xf32>, tensor<8x64x96xf32>, tensor<9xi32>)
         outs(%acc : tensor<?x64xf32>)
  return %d : tensor<?x64xf32>
}
func.func @own_options_none(%h: tensor<?x96xf32>, %w: tensor<8x64x96xf32>,
                            %o: tensor<9xi32>, %acc: tensor<?x64xf32>) -> tensor<?x64xf32>
    attributes {moe.pass_options = {"moe-gpu-distribute" = "column-block=64"}} {
  %d = moe.grouped_matmul ins(%h, %w, %o : tensor<?x96xf32>, tensor<8x64x96xf32>, tensor<9xi32>)
         outs(%acc : tensor<?x64xf32>)
  return %d : tensor<?x64xf32>
}

// -----

// expected-error @+1 {{invalid 'moe.pass_options' of 'moe-split-grouped-matmul-k': 'parts=two'}}
func.func @bad_own_options(%h: tensor<?x96xf32>, %w: tensor<8x64x96xf32>,
                           %o: tensor<9xi32>, %acc: tensor<?x64xf32>) -> tensor<?x64xf32>
    attributes {moe.pass_options = {"moe-split-grouped-matmul-k" = "parts=two"}} {
  %d = moe.grouped_matmul ins(%h, %w, %o : tensor<?x96xf32>, tensor<8x64x96xf32>, tensor<9xi32>)
         outs(%acc : tensor<?x64xf32>)
  return %d : tensor<?x64xf32>
}

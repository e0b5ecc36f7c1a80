// RUN: moe-opt %s --moe-outline-layers --split-input-file | FileCheck %s
// RUN: moe-opt %s --moe-outline-layers --duplicate-function-elimination --split-input-file | FileCheck %s --check-prefix=MERGED
// Running the pass again outlines nothing more.
// RUN: moe-opt %s --moe-outline-layers --moe-outline-layers --duplicate-function-elimination --split-input-file | FileCheck %s --check-prefix=MERGED

// Each moe.layer moves into a private no_inline function with the ops only
// it uses: the norm's generic, the fill of its destination, their
// tensor.empty ops and the (cloned) constants. The destination's
// tensor.empty and the values the caller keeps using (x, the token count)
// are arguments, in order of first use (the token count first: the norm's
// tensor.empty reads it). Layers 1 and 2 differ in their
// weights alone and outline to identical functions, which
// duplicate-function-elimination merges; layer 3 (top_k 1) stays apart.

// CHECK-LABEL: func.func @three_layers
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x16xf32>, %[[R1:[a-z0-9]+]]: tensor<4x16xf32>, %[[G1:[a-z0-9]+]]: tensor<4x32x16xf32>, %[[U1:[a-z0-9]+]]: tensor<4x32x16xf32>, %[[D1:[a-z0-9]+]]: tensor<4x16x32xf32>, %[[R2:[a-z0-9]+]]: tensor<4x16xf32>, %[[G2:[a-z0-9]+]]: tensor<4x32x16xf32>, %[[U2:[a-z0-9]+]]: tensor<4x32x16xf32>, %[[D2:[a-z0-9]+]]: tensor<4x16x32xf32>
// CHECK:         %[[T:.*]] = tensor.dim %[[X]]
// CHECK:         %[[E1:.*]] = tensor.empty(%[[T]]) : tensor<?x16xf32>
// CHECK-NOT:     linalg.fill
// CHECK:         %[[L1:.*]] = call @moe_layer(%[[T]], %[[X]], %[[E1]], %[[R1]], %[[G1]], %[[U1]], %[[D1]]) {no_inline}
// CHECK:         %[[A1:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[L1]] :
// CHECK:         %[[L2:.*]] = call @moe_layer_0(%[[T]], %[[A1]], %{{.*}}, %[[R2]], %[[G2]], %[[U2]], %[[D2]]) {no_inline}
// CHECK:         %[[L3:.*]] = call @moe_layer_1(%[[T]], %[[L2]], %{{.*}}, %[[R2]], %[[G2]], %[[U2]], %[[D2]]) {no_inline}
// CHECK:         return %[[A1]], %[[L3]]

// CHECK-LABEL: func.func private @moe_layer(
// CHECK-SAME:    %[[FT:[a-z0-9]+]]: index, %[[FX:[a-z0-9]+]]: tensor<?x16xf32>, %[[FE:[a-z0-9]+]]: tensor<?x16xf32>, %[[FR:[a-z0-9]+]]: tensor<4x16xf32>, %[[FG:[a-z0-9]+]]: tensor<4x32x16xf32>, %[[FU:[a-z0-9]+]]: tensor<4x32x16xf32>, %[[FD:[a-z0-9]+]]: tensor<4x16x32xf32>
// CHECK-SAME:    -> tensor<?x16xf32> attributes {moe.layer_function, no_inline}
// CHECK:         %[[NE:.*]] = tensor.empty(%[[FT]]) : tensor<?x16xf32>
// CHECK:         %[[H:.*]] = linalg.generic {{.*}} ins(%[[FX]] : tensor<?x16xf32>) outs(%[[NE]] : tensor<?x16xf32>)
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[FILL:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[FE]] : tensor<?x16xf32>)
// CHECK:         %[[L:.*]] = moe.layer ins(%[[H]] : tensor<?x16xf32>) router(%[[FR]] : tensor<4x16xf32>) gate(%[[FG]] : tensor<4x32x16xf32>) up(%[[FU]] : tensor<4x32x16xf32>) down(%[[FD]] : tensor<4x16x32xf32>) outs(%[[FILL]] : tensor<?x16xf32>) top_k(2)
// CHECK:         return %[[L]] : tensor<?x16xf32>
// CHECK:       func.func private @moe_layer_0(
// CHECK:         top_k(2)
// CHECK:       func.func private @moe_layer_1(
// CHECK:         top_k(1)

// MERGED-LABEL: func.func @three_layers
// MERGED:         call @moe_layer(
// MERGED:         call @moe_layer(
// MERGED:         call @moe_layer_1(
// MERGED:       func.func private @moe_layer(
// MERGED-NOT:   func.func private @moe_layer_0(
// MERGED:       func.func private @moe_layer_1(
// MERGED-NOT:   func.func
// MERGED:       // -----

#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @three_layers(%x: tensor<?x16xf32>,
    %r1: tensor<4x16xf32>, %g1: tensor<4x32x16xf32>, %u1: tensor<4x32x16xf32>, %d1: tensor<4x16x32xf32>,
    %r2: tensor<4x16xf32>, %g2: tensor<4x32x16xf32>, %u2: tensor<4x32x16xf32>, %d2: tensor<4x16x32xf32>)
    -> (tensor<?x16xf32>, tensor<?x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %t = tensor.dim %x, %c0 : tensor<?x16xf32>
  // Layer 1: a "norm" (here x * 2) only the layer reads.
  %ne1 = tensor.empty(%t) : tensor<?x16xf32>
  %h1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x16xf32>) outs(%ne1 : tensor<?x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %two = arith.constant 2.0 : f32
    %m = arith.mulf %in, %two : f32
    linalg.yield %m : f32
  } -> tensor<?x16xf32>
  %e1 = tensor.empty(%t) : tensor<?x16xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?x16xf32>) -> tensor<?x16xf32>
  %l1 = moe.layer ins(%h1 : tensor<?x16xf32>) router(%r1 : tensor<4x16xf32>)
      gate(%g1 : tensor<4x32x16xf32>) up(%u1 : tensor<4x32x16xf32>) down(%d1 : tensor<4x16x32xf32>)
      outs(%f1 : tensor<?x16xf32>) top_k(2) scoring<softmax> activation<silu> {normalize}
  // The residual add stays: it reads x, which the caller keeps.
  %ae = tensor.empty(%t) : tensor<?x16xf32>
  %a1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %l1 : tensor<?x16xf32>, tensor<?x16xf32>) outs(%ae : tensor<?x16xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %s = arith.addf %in, %in2 : f32
    linalg.yield %s : f32
  } -> tensor<?x16xf32>
  // Layer 2: the same shape, other weights.
  %ne2 = tensor.empty(%t) : tensor<?x16xf32>
  %h2 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a1 : tensor<?x16xf32>) outs(%ne2 : tensor<?x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %two = arith.constant 2.0 : f32
    %m = arith.mulf %in, %two : f32
    linalg.yield %m : f32
  } -> tensor<?x16xf32>
  %e2 = tensor.empty(%t) : tensor<?x16xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<?x16xf32>) -> tensor<?x16xf32>
  %l2 = moe.layer ins(%h2 : tensor<?x16xf32>) router(%r2 : tensor<4x16xf32>)
      gate(%g2 : tensor<4x32x16xf32>) up(%u2 : tensor<4x32x16xf32>) down(%d2 : tensor<4x16x32xf32>)
      outs(%f2 : tensor<?x16xf32>) top_k(2) scoring<softmax> activation<silu> {normalize}
  // Layer 3: top_k 1, another function.
  %ne3 = tensor.empty(%t) : tensor<?x16xf32>
  %h3 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%l2 : tensor<?x16xf32>) outs(%ne3 : tensor<?x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %two = arith.constant 2.0 : f32
    %m = arith.mulf %in, %two : f32
    linalg.yield %m : f32
  } -> tensor<?x16xf32>
  %e3 = tensor.empty(%t) : tensor<?x16xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<?x16xf32>) -> tensor<?x16xf32>
  %l3 = moe.layer ins(%h3 : tensor<?x16xf32>) router(%r2 : tensor<4x16xf32>)
      gate(%g2 : tensor<4x32x16xf32>) up(%u2 : tensor<4x32x16xf32>) down(%d2 : tensor<4x16x32xf32>)
      outs(%f3 : tensor<?x16xf32>) top_k(1) scoring<softmax> activation<silu>
  return %a1, %l3 : tensor<?x16xf32>, tensor<?x16xf32>
}

// -----

// A producer the caller also reads stays with the caller and is passed in;
// so does a destination that is not a tensor.empty (here an argument).

// CHECK-LABEL: func.func @shared_producer
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x16xf32>, %[[ACC:[a-z0-9]+]]: tensor<?x16xf32>
// CHECK:         %[[H:.*]] = linalg.generic
// CHECK:         %[[L:.*]] = call @moe_layer(%[[H]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ACC]]) {no_inline}
// CHECK:         return %[[L]], %[[H]]
// CHECK-LABEL: func.func private @moe_layer(
// CHECK-NOT:     linalg.generic
// CHECK:         moe.layer
#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @shared_producer(%x: tensor<?x16xf32>, %acc: tensor<?x16xf32>,
    %r: tensor<4x16xf32>, %g: tensor<4x32x16xf32>, %u: tensor<4x32x16xf32>, %d: tensor<4x16x32xf32>)
    -> (tensor<?x16xf32>, tensor<?x16xf32>) {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %x, %c0 : tensor<?x16xf32>
  %ne = tensor.empty(%t) : tensor<?x16xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x16xf32>) outs(%ne : tensor<?x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %in : f32
    linalg.yield %m : f32
  } -> tensor<?x16xf32>
  %l = moe.layer ins(%h : tensor<?x16xf32>) router(%r : tensor<4x16xf32>)
      gate(%g : tensor<4x32x16xf32>) up(%u : tensor<4x32x16xf32>) down(%d : tensor<4x16x32xf32>)
      outs(%acc : tensor<?x16xf32>) top_k(2) scoring<softmax> activation<silu>
  return %l, %h : tensor<?x16xf32>, tensor<?x16xf32>
}

// RUN: moe-opt %s --moe-outline-layers --split-input-file | FileCheck %s
// RUN: moe-opt %s --moe-outline-layers --duplicate-function-elimination --split-input-file | FileCheck %s --check-prefix=MERGED
// Running the pass again outlines nothing more.
// RUN: moe-opt %s --moe-outline-layers --moe-outline-layers --duplicate-function-elimination --split-input-file | FileCheck %s --check-prefix=MERGED

// Each moe.layer moves into a private no_inline function with the ops only
// it uses (the norm's generic, the fill of its destination, their
// tensor.empty ops and the cloned constants) and the chain of elementwise
// ops its result alone feeds (the residual add), up to the next layer's
// own producers (its norm). The call takes the place of the chain's last
// op. The destinations' tensor.empty ops and the values the caller keeps
// using (x, the token count) are arguments, in order of first use (the
// token count first: the norm's tensor.empty reads it). Layers 1 and 2
// differ in their weights alone and outline to identical functions, which
// duplicate-function-elimination merges; so do layers 3 and 4 (top_k 1, no
// residual add: layer 3 feeds layer 4's norm, which stays with layer 4).

// CHECK-LABEL: func.func @four_layers
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x16xf32>, %[[R1:[a-z0-9]+]]: tensor<4x16xf32>, %[[G1:[a-z0-9]+]]: tensor<4x32x16xf32>, %[[U1:[a-z0-9]+]]: tensor<4x32x16xf32>, %[[D1:[a-z0-9]+]]: tensor<4x16x32xf32>, %[[R2:[a-z0-9]+]]: tensor<4x16xf32>, %[[G2:[a-z0-9]+]]: tensor<4x32x16xf32>, %[[U2:[a-z0-9]+]]: tensor<4x32x16xf32>, %[[D2:[a-z0-9]+]]: tensor<4x16x32xf32>
// CHECK:         %[[T:.*]] = tensor.dim %[[X]]
// CHECK:         %[[E1:.*]] = tensor.empty(%[[T]]) : tensor<?x16xf32>
// CHECK-NOT:     linalg.
// CHECK:         %[[AE1:.*]] = tensor.empty(%[[T]]) : tensor<?x16xf32>
// CHECK-NOT:     linalg.
// CHECK:         %[[A1:.*]] = call @moe_layer(%[[T]], %[[X]], %[[E1]], %[[R1]], %[[G1]], %[[U1]], %[[D1]], %[[AE1]]) {no_inline}
// CHECK-NOT:     linalg.
// CHECK:         %[[A2:.*]] = call @moe_layer_0(%[[T]], %[[A1]], %{{.*}}, %[[R2]], %[[G2]], %[[U2]], %[[D2]], %{{.*}}) {no_inline}
// CHECK-NOT:     linalg.
// CHECK:         %[[L3:.*]] = call @moe_layer_1(%[[T]], %[[A2]], %{{.*}}, %[[R2]], %[[G2]], %[[U2]], %[[D2]]) {no_inline}
// CHECK-NOT:     linalg.
// CHECK:         %[[L4:.*]] = call @moe_layer_2(%[[T]], %[[L3]], %{{.*}}, %[[R1]], %[[G1]], %[[U1]], %[[D1]]) {no_inline}
// CHECK:         return %[[A2]], %[[L4]]

// CHECK-LABEL: func.func private @moe_layer(
// CHECK-SAME:    %[[FT:[a-z0-9]+]]: index, %[[FX:[a-z0-9]+]]: tensor<?x16xf32>, %[[FE:[a-z0-9]+]]: tensor<?x16xf32>, %[[FR:[a-z0-9]+]]: tensor<4x16xf32>, %[[FG:[a-z0-9]+]]: tensor<4x32x16xf32>, %[[FU:[a-z0-9]+]]: tensor<4x32x16xf32>, %[[FD:[a-z0-9]+]]: tensor<4x16x32xf32>, %[[FAE:[a-z0-9]+]]: tensor<?x16xf32>
// CHECK-SAME:    -> tensor<?x16xf32> attributes {moe.layer_function, no_inline}
// CHECK:         %[[NE:.*]] = tensor.empty(%[[FT]]) : tensor<?x16xf32>
// CHECK:         %[[H:.*]] = linalg.generic {{.*}} ins(%[[FX]] : tensor<?x16xf32>) outs(%[[NE]] : tensor<?x16xf32>)
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[FILL:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[FE]] : tensor<?x16xf32>)
// CHECK:         %[[L:.*]] = moe.layer ins(%[[H]] : tensor<?x16xf32>) router(%[[FR]] : tensor<4x16xf32>) gate(%[[FG]] : tensor<4x32x16xf32>) up(%[[FU]] : tensor<4x32x16xf32>) down(%[[FD]] : tensor<4x16x32xf32>) outs(%[[FILL]] : tensor<?x16xf32>) top_k(2)
// CHECK:         %[[A:.*]] = linalg.generic {{.*}} ins(%[[FX]], %[[L]] : tensor<?x16xf32>, tensor<?x16xf32>) outs(%[[FAE]] : tensor<?x16xf32>)
// CHECK:           arith.addf
// CHECK:         return %[[A]] : tensor<?x16xf32>
// CHECK:       func.func private @moe_layer_0(
// CHECK:         top_k(2)
// CHECK:         arith.addf
// CHECK:       func.func private @moe_layer_1(
// CHECK-SAME:    -> tensor<?x16xf32>
// CHECK:         linalg.generic
// CHECK:         %[[L3F:.*]] = moe.layer {{.*}} top_k(1)
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[L3F]]
// CHECK:       func.func private @moe_layer_2(
// CHECK:         top_k(1)

// MERGED-LABEL: func.func @four_layers
// MERGED:         call @moe_layer(
// MERGED:         call @moe_layer(
// MERGED:         call @moe_layer_1(
// MERGED:         call @moe_layer_1(
// MERGED:       func.func private @moe_layer(
// MERGED-NOT:   func.func private @moe_layer_0(
// MERGED:       func.func private @moe_layer_1(
// MERGED-NOT:   func.func
// MERGED:       // -----

#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @four_layers(%x: tensor<?x16xf32>,
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
  // The residual add moves with the layer; the caller keeps its result
  // (here read by the next layer's norm and residual add).
  %ae1 = tensor.empty(%t) : tensor<?x16xf32>
  %a1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %l1 : tensor<?x16xf32>, tensor<?x16xf32>) outs(%ae1 : tensor<?x16xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %s = arith.addf %in, %in2 : f32
    linalg.yield %s : f32
  } -> tensor<?x16xf32>
  // Layer 2: the same shape, other weights. The caller returns its
  // residual, which layer 3's norm also reads.
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
  %ae2 = tensor.empty(%t) : tensor<?x16xf32>
  %a2 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a1, %l2 : tensor<?x16xf32>, tensor<?x16xf32>) outs(%ae2 : tensor<?x16xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %s = arith.addf %in, %in2 : f32
    linalg.yield %s : f32
  } -> tensor<?x16xf32>
  // Layer 3: top_k 1, another function, and no residual add.
  %ne3 = tensor.empty(%t) : tensor<?x16xf32>
  %h3 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a2 : tensor<?x16xf32>) outs(%ne3 : tensor<?x16xf32>) {
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
  // Layer 4: layer 3's result alone feeds its norm, which stays with it.
  %ne4 = tensor.empty(%t) : tensor<?x16xf32>
  %h4 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%l3 : tensor<?x16xf32>) outs(%ne4 : tensor<?x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %two = arith.constant 2.0 : f32
    %m = arith.mulf %in, %two : f32
    linalg.yield %m : f32
  } -> tensor<?x16xf32>
  %e4 = tensor.empty(%t) : tensor<?x16xf32>
  %f4 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<?x16xf32>) -> tensor<?x16xf32>
  %l4 = moe.layer ins(%h4 : tensor<?x16xf32>) router(%r1 : tensor<4x16xf32>)
      gate(%g1 : tensor<4x32x16xf32>) up(%u1 : tensor<4x32x16xf32>) down(%d1 : tensor<4x16x32xf32>)
      outs(%f4 : tensor<?x16xf32>) top_k(1) scoring<softmax> activation<silu>
  return %a2, %l4 : tensor<?x16xf32>, tensor<?x16xf32>
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

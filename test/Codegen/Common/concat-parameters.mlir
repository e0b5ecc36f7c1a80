// RUN: moe-opt %s --moe-concat-parameters --split-input-file \
// RUN:   --allow-unregistered-dialect | FileCheck %s

// A concatenation of weights in the model function becomes a weight
// argument of its own, marked with its parts' positions; each part is
// re-declared as the type the concatenation read it as, with the
// permutation that builds it: %a as it is and %b reshaped (identities), %c
// transposed (the transpose's permutation over the reshaped [4, 2, 8]
// bytes).

// CHECK-LABEL: func.func @model(
// CHECK-SAME:    %[[X:.*]]: tensor<?x8xf32> {moe.input = "x"},
// CHECK-SAME:    %{{.*}}: tensor<3x4x8xf32> {moe.param = "a", moe.prepare_permutation = array<i64: 0, 1, 2>},
// CHECK-SAME:    %{{.*}}: tensor<2x4x8xf32> {moe.param = "b", moe.prepare_permutation = array<i64: 0, 1, 2>},
// CHECK-SAME:    %{{.*}}: tensor<2x4x8xf32> {moe.param = "c", moe.prepare_permutation = array<i64: 1, 0, 2>},
// CHECK-SAME:    %[[ALL:.*]]: tensor<7x4x8xf32> {moe.param_concat = array<i64: 1, 2, 3>})
// CHECK-NOT:   tensor.concat
// CHECK-NOT:   linalg.transpose
// CHECK-NOT:   tensor.expand_shape
// CHECK:       %[[Y:.*]] = "test.use"(%[[X]], %[[ALL]])
// CHECK-NEXT:  return %[[Y]]
func.func @model(%x: tensor<?x8xf32> {moe.input = "x"},
                 %a: tensor<3x4x8xf32> {moe.param = "a"},
                 %b: tensor<1x8x8xf32> {moe.param = "b"},
                 %c: tensor<4x16xf32> {moe.param = "c"}) -> tensor<?x8xf32>
    attributes {moe.entry} {
  %b2 = tensor.collapse_shape %b [[0, 1], [2]] : tensor<1x8x8xf32> into tensor<8x8xf32>
  %b3 = tensor.expand_shape %b2 [[0, 1], [2]] output_shape [2, 4, 8] : tensor<8x8xf32> into tensor<2x4x8xf32>
  %c3 = tensor.expand_shape %c [[0], [1, 2]] output_shape [4, 2, 8] : tensor<4x16xf32> into tensor<4x2x8xf32>
  %e = tensor.empty() : tensor<2x4x8xf32>
  %ct = linalg.transpose ins(%c3 : tensor<4x2x8xf32>) outs(%e : tensor<2x4x8xf32>) permutation = [1, 0, 2]
  %all = tensor.concat dim(0) %a, %b3, %ct : (tensor<3x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<7x4x8xf32>
  %y = "test.use"(%x, %all) : (tensor<?x8xf32>, tensor<7x4x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// In an outlined layer called twice, the layer takes the concatenation as
// a new argument in place of its parts, and each call passes a weight
// argument of the model function of its own.

// CHECK-LABEL: func.func private @layer(
// CHECK-SAME:    %[[X:.*]]: tensor<?x8xf32>, %[[ALL:.*]]: tensor<3x4x8xf32>) -> tensor<?x8xf32>
// CHECK-NOT:   tensor.concat
// CHECK:       "test.use"(%[[X]], %[[ALL]])
// CHECK-LABEL: func.func @model(
// CHECK-SAME:    %[[IN:.*]]: tensor<?x8xf32> {moe.input = "x"},
// CHECK-SAME:    %{{.*}}: tensor<2x4x8xf32> {moe.param = "a0", moe.prepare_permutation = array<i64: 0, 1, 2>},
// CHECK-SAME:    %{{.*}}: tensor<1x4x8xf32> {moe.param = "b0", moe.prepare_permutation = array<i64: 0, 1, 2>},
// CHECK-SAME:    %{{.*}}: tensor<2x4x8xf32> {moe.param = "a1", moe.prepare_permutation = array<i64: 0, 1, 2>},
// CHECK-SAME:    %{{.*}}: tensor<1x4x8xf32> {moe.param = "b1", moe.prepare_permutation = array<i64: 0, 1, 2>},
// CHECK-SAME:    %[[ALL0:.*]]: tensor<3x4x8xf32> {moe.param_concat = array<i64: 1, 2>},
// CHECK-SAME:    %[[ALL1:.*]]: tensor<3x4x8xf32> {moe.param_concat = array<i64: 3, 4>})
// CHECK:       %[[H:.*]] = call @layer(%[[IN]], %[[ALL0]])
// CHECK:       %[[Y:.*]] = call @layer(%[[H]], %[[ALL1]])
func.func private @layer(%x: tensor<?x8xf32>, %a: tensor<2x4x8xf32>,
                         %b: tensor<4x8xf32>) -> tensor<?x8xf32> {
  %b3 = tensor.expand_shape %b [[0, 1], [2]] output_shape [1, 4, 8] : tensor<4x8xf32> into tensor<1x4x8xf32>
  %all = tensor.concat dim(0) %a, %b3 : (tensor<2x4x8xf32>, tensor<1x4x8xf32>) -> tensor<3x4x8xf32>
  %y = "test.use"(%x, %all) : (tensor<?x8xf32>, tensor<3x4x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
func.func @model(%x: tensor<?x8xf32> {moe.input = "x"},
                 %a0: tensor<2x4x8xf32> {moe.param = "a0"},
                 %b0: tensor<4x8xf32> {moe.param = "b0"},
                 %a1: tensor<2x4x8xf32> {moe.param = "a1"},
                 %b1: tensor<4x8xf32> {moe.param = "b1"}) -> tensor<?x8xf32>
    attributes {moe.entry} {
  %h = call @layer(%x, %a0, %b0) : (tensor<?x8xf32>, tensor<2x4x8xf32>, tensor<4x8xf32>) -> tensor<?x8xf32>
  %y = call @layer(%h, %a1, %b1) : (tensor<?x8xf32>, tensor<2x4x8xf32>, tensor<4x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// What stays a copy: a part that is no weight (an input), a weight read
// elsewhere too, and a concatenation along another dimension.

// CHECK-LABEL: func.func @not_weights(
// CHECK-NOT:   moe.param_concat
// CHECK-COUNT-3: tensor.concat
func.func @not_weights(%x: tensor<?x8xf32> {moe.input = "x"},
                       %i: tensor<2x8xf32> {moe.input = "i"},
                       %a: tensor<2x8xf32> {moe.param = "a"},
                       %b: tensor<2x8xf32> {moe.param = "b"},
                       %c: tensor<2x8xf32> {moe.param = "c"},
                       %d: tensor<2x8xf32> {moe.param = "d"}) -> tensor<?x8xf32>
    attributes {moe.entry} {
  %0 = tensor.concat dim(0) %a, %i : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<4x8xf32>
  %1 = tensor.concat dim(0) %b, %c : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<4x8xf32>
  %2 = tensor.concat dim(1) %d, %d : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x16xf32>
  %y = "test.use"(%x, %0, %1, %2, %c) : (tensor<?x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<2x16xf32>, tensor<2x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

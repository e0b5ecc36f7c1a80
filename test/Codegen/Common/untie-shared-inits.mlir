// RUN: moe-opt %s --split-input-file --moe-untie-shared-inits | FileCheck %s

// Two accumulations from one CSE'd zero fill: each gets its own empty and
// fill, so that empty-tensor elimination can place each in its own output.

// CHECK-LABEL: func.func @shared_fill(
// CHECK-SAME:    %[[N:[a-z0-9]+]]: index
// CHECK:         %[[E0:.*]] = tensor.empty(%[[N]]) : tensor<?x8xf32>
// CHECK-NEXT:    %[[F0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E0]] : tensor<?x8xf32>)
// CHECK-NEXT:    %[[E1:.*]] = tensor.empty(%[[N]]) : tensor<?x8xf32>
// CHECK-NEXT:    %[[F1:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E1]] : tensor<?x8xf32>)
// CHECK:         %[[A:.*]] = linalg.add ins(%{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<?x8xf32>) outs(%[[F1]] : tensor<?x8xf32>)
// CHECK:         %[[B:.*]] = linalg.sub ins(%{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<?x8xf32>) outs(%[[F0]] : tensor<?x8xf32>)
// CHECK:         return %[[A]], %[[B]]
func.func @shared_fill(%n: index, %x: tensor<?x8xf32>, %y: tensor<?x8xf32>)
    -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%n) : tensor<?x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<?x8xf32>) -> tensor<?x8xf32>
  %a = linalg.add ins(%x, %y : tensor<?x8xf32>, tensor<?x8xf32>) outs(%z : tensor<?x8xf32>) -> tensor<?x8xf32>
  %b = linalg.sub ins(%x, %y : tensor<?x8xf32>, tensor<?x8xf32>) outs(%z : tensor<?x8xf32>) -> tensor<?x8xf32>
  return %a, %b : tensor<?x8xf32>, tensor<?x8xf32>
}

// -----

// A shared empty: one copy a use, three in all.

// CHECK-LABEL: func.func @shared_empty(
// CHECK-COUNT-3: tensor.empty() : tensor<4xf32>
// CHECK-NOT:     tensor.empty
// CHECK:         linalg.exp ins(%{{.*}} : tensor<4xf32>) outs(%[[E0:.*]] : tensor<4xf32>)
// CHECK-NOT:     outs(%[[E0]]
// CHECK:         return
func.func @shared_empty(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<4xf32>
  %a = linalg.exp ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %b = linalg.log ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %c = linalg.abs ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %a, %b, %c : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// One use each: nothing changes. A fill of something else than an empty
// tensor is left alone (its destination carries data).

// CHECK-LABEL: func.func @unshared(
// CHECK-COUNT-1: tensor.empty
// CHECK-NOT:     tensor.empty
// CHECK-COUNT-2: linalg.fill
// CHECK-NOT:     linalg.fill
func.func @unshared(%x: tensor<4xf32>, %d: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %a = linalg.exp ins(%x : tensor<4xf32>) outs(%z : tensor<4xf32>) -> tensor<4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%d : tensor<4xf32>) -> tensor<4xf32>
  %b = linalg.log ins(%x : tensor<4xf32>) outs(%f : tensor<4xf32>) -> tensor<4xf32>
  %c = linalg.abs ins(%x : tensor<4xf32>) outs(%f : tensor<4xf32>) -> tensor<4xf32>
  return %a, %b, %c : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

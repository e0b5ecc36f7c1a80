// RUN: moe-opt %s --moe-cpu-expand-strided-copies | FileCheck %s

// CHECK-LABEL: func @copies
// CHECK-SAME:    %[[A:.*]]: memref<8x8xf32>, %[[B:.*]]: memref<8x8xf32>
// CHECK:       memref.copy %[[A]], %[[B]] : memref<8x8xf32> to memref<8x8xf32>
// CHECK:       %[[SA:.*]] = memref.subview %[[A]]
// CHECK:       %[[SB:.*]] = memref.subview %[[B]]
// CHECK-NOT:   memref.copy
// CHECK:       linalg.copy ins(%[[SA]] : memref<4x4xf32, strided<[8, 1]>>) outs(%[[SB]] : memref<4x4xf32, strided<[8, 1]>>)
func.func @copies(%a: memref<8x8xf32>, %b: memref<8x8xf32>) {
  memref.copy %a, %b : memref<8x8xf32> to memref<8x8xf32>
  %sa = memref.subview %a[0, 0] [4, 4] [1, 1] : memref<8x8xf32> to memref<4x4xf32, strided<[8, 1]>>
  %sb = memref.subview %b[0, 0] [4, 4] [1, 1] : memref<8x8xf32> to memref<4x4xf32, strided<[8, 1]>>
  memref.copy %sa, %sb : memref<4x4xf32, strided<[8, 1]>> to memref<4x4xf32, strided<[8, 1]>>
  return
}

// RUN: moe-opt %s --moe-fuse-combine --split-input-file | FileCheck %s

// The combine of a down projection's rows: the grouped matmul takes the
// combine's token ids, routing weights and token-order destination, and
// neither the [R, N] rows nor the combine are left.

// CHECK-LABEL: func @fuse_combine
// CHECK-SAME:    %[[H:[a-z0-9]+]]: tensor<?x128xf32>, %[[W:[a-z0-9]+]]: tensor<8x64x128xf32>, %[[OFF:[a-z0-9]+]]: tensor<9xi32>, %[[TOK:[a-z0-9]+]]: tensor<?xi32>, %[[RW:[a-z0-9]+]]: tensor<?xf32>, %[[ROWS:[a-z0-9]+]]: tensor<?x64xf32>, %[[Y:[a-z0-9]+]]: tensor<?x64xf32>
// CHECK-NOT:   moe.combine
// CHECK:       %[[OUT:.*]] = moe.grouped_matmul ins(%[[H]], %[[W]], %[[OFF]] : tensor<?x128xf32>, tensor<8x64x128xf32>, tensor<9xi32>) combine(%[[TOK]], %[[RW]] : tensor<?xi32>, tensor<?xf32>) outs(%[[Y]] : tensor<?x64xf32>)
// CHECK-NOT:   moe.combine
// CHECK:       return %[[OUT]]
func.func @fuse_combine(%h: tensor<?x128xf32>, %w: tensor<8x64x128xf32>,
                        %o: tensor<9xi32>, %tok: tensor<?xi32>, %rw: tensor<?xf32>,
                        %rows: tensor<?x64xf32>, %y: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %zero = arith.constant 0.0 : f32
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<?x64xf32>) -> tensor<?x64xf32>
  %d = moe.grouped_matmul ins(%h, %w, %o : tensor<?x128xf32>, tensor<8x64x128xf32>, tensor<9xi32>)
         outs(%acc : tensor<?x64xf32>)
  %out = moe.combine ins(%d, %tok, %rw, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<?xf32>, tensor<9xi32>)
           outs(%y : tensor<?x64xf32>)
  return %out : tensor<?x64xf32>
}

// -----

// The bias and the weight layout come along.

// CHECK-LABEL: func @bias_and_layout
// CHECK:       moe.grouped_matmul ins(%{{.*}} : tensor<?x128xf32>, tensor<8x2x128x32xf32>, tensor<9xi32>) bias(%{{.*}} : tensor<8x64xf32>) combine(%{{.*}}, %{{.*}} : tensor<?xi32>, tensor<?xf32>) outs(%{{.*}} : tensor<?x64xf32>) {weight_layout = #moe.weight_layout<panels>}
func.func @bias_and_layout(%h: tensor<?x128xf32>, %w: tensor<8x2x128x32xf32>, %b: tensor<8x64xf32>,
                           %o: tensor<9xi32>, %tok: tensor<?xi32>, %rw: tensor<?xf32>,
                           %rows: tensor<?x64xf32>, %y: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %zero = arith.constant 0.0 : f32
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<?x64xf32>) -> tensor<?x64xf32>
  %d = moe.grouped_matmul ins(%h, %w, %o : tensor<?x128xf32>, tensor<8x2x128x32xf32>, tensor<9xi32>)
         bias(%b : tensor<8x64xf32>) outs(%acc : tensor<?x64xf32>)
         {weight_layout = #moe.weight_layout<panels>}
  %out = moe.combine ins(%d, %tok, %rw, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<?xf32>, tensor<9xi32>)
           outs(%y : tensor<?x64xf32>)
  return %out : tensor<?x64xf32>
}

// -----

// A matmul that does not start from zero adds its destination's rows, which
// the fused epilogue would not: nothing fuses.

// CHECK-LABEL: func @nonzero_start
// CHECK:       %[[D:.*]] = moe.grouped_matmul
// CHECK-NOT:   combine(
// CHECK:       moe.combine ins(%[[D]]
func.func @nonzero_start(%h: tensor<?x128xf32>, %w: tensor<8x64x128xf32>,
                         %o: tensor<9xi32>, %tok: tensor<?xi32>, %rw: tensor<?xf32>,
                         %rows: tensor<?x64xf32>, %y: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %one = arith.constant 1.0 : f32
  %acc = linalg.fill ins(%one : f32) outs(%rows : tensor<?x64xf32>) -> tensor<?x64xf32>
  %d = moe.grouped_matmul ins(%h, %w, %o : tensor<?x128xf32>, tensor<8x64x128xf32>, tensor<9xi32>)
         outs(%acc : tensor<?x64xf32>)
  %out = moe.combine ins(%d, %tok, %rw, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<?xf32>, tensor<9xi32>)
           outs(%y : tensor<?x64xf32>)
  return %out : tensor<?x64xf32>
}

// -----

// The combine runs over other segments than the matmul: it may read rows
// the matmul did not compute.

// CHECK-LABEL: func @other_segments
// CHECK:       %[[D:.*]] = moe.grouped_matmul
// CHECK-NOT:   combine(
// CHECK:       moe.combine ins(%[[D]]
func.func @other_segments(%h: tensor<?x128xf32>, %w: tensor<8x64x128xf32>,
                          %o: tensor<9xi32>, %o2: tensor<9xi32>, %tok: tensor<?xi32>,
                          %rw: tensor<?xf32>, %rows: tensor<?x64xf32>,
                          %y: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %zero = arith.constant 0.0 : f32
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<?x64xf32>) -> tensor<?x64xf32>
  %d = moe.grouped_matmul ins(%h, %w, %o : tensor<?x128xf32>, tensor<8x64x128xf32>, tensor<9xi32>)
         outs(%acc : tensor<?x64xf32>)
  %out = moe.combine ins(%d, %tok, %rw, %o2 : tensor<?x64xf32>, tensor<?xi32>, tensor<?xf32>, tensor<9xi32>)
           outs(%y : tensor<?x64xf32>)
  return %out : tensor<?x64xf32>
}

// -----

// The expert rows are read by something else too: they must exist.

// CHECK-LABEL: func @rows_read_elsewhere
// CHECK:       %[[D:.*]] = moe.grouped_matmul
// CHECK-NOT:   combine(
// CHECK:       moe.combine ins(%[[D]]
// CHECK:       return %{{.*}}, %[[D]]
func.func @rows_read_elsewhere(%h: tensor<?x128xf32>, %w: tensor<8x64x128xf32>,
                               %o: tensor<9xi32>, %tok: tensor<?xi32>, %rw: tensor<?xf32>,
                               %rows: tensor<?x64xf32>, %y: tensor<?x64xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<?x64xf32>) -> tensor<?x64xf32>
  %d = moe.grouped_matmul ins(%h, %w, %o : tensor<?x128xf32>, tensor<8x64x128xf32>, tensor<9xi32>)
         outs(%acc : tensor<?x64xf32>)
  %out = moe.combine ins(%d, %tok, %rw, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<?xf32>, tensor<9xi32>)
           outs(%y : tensor<?x64xf32>)
  return %out, %d : tensor<?x64xf32>, tensor<?x64xf32>
}

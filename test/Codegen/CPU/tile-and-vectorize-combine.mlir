// RUN: moe-opt %s --split-input-file --convert-moe-to-linalg --canonicalize --cse --moe-cpu-tile-and-vectorize="row-tile=8 reduction-block=32" --canonicalize | FileCheck %s
// RUN: moe-opt %s --split-input-file --convert-moe-to-linalg --canonicalize --cse --moe-cpu-tile-and-vectorize="row-tile=8 reduction-block=32 parallel-panels=false" --canonicalize | FileCheck %s --check-prefix=SERIAL

// A combining down projection (moe-fuse-combine) in panels of 16 columns:
// each panel (a thread's) takes blocks of 64 rows; into a block go the zero
// fill of its partial sums and the K-blocked contraction, in 8-row register
// tiles and single remainder rows; then the block's rows, one at a time,
// scaled by their routing weights, are added into their tokens' rows of
// the panel's columns, skipping padding rows (token id -1). No [rows, N]
// product of the segment is left whole.

// CHECK-LABEL: func @down_combine
// CHECK:       scf.for %{{.*}} = %c0 to %c4 step %c1
// CHECK:         scf.forall (%{{.*}}) in (4)
// CHECK:           scf.for %[[BLOCK:.*]] = %c0 to %{{.*}} step %c64
// CHECK:             %[[ROWS:.*]] = affine.min #{{.*}}(%[[BLOCK]])
// CHECK:             scf.for %{{.*}} = %c0 to %[[ROWS]] step %c1
// CHECK:               vector.transfer_write %{{.*}} : vector<1x1x16xf32>, tensor<1x1x16xf32>
// CHECK:             scf.for %{{.*}} = %c0 to %c64 step %c32
// CHECK:               scf.for %{{.*}} step %c8
// CHECK:                 scf.for %{{.*}} = %c0 to %c32 step %c1 {{.*}} -> (vector<8x1x16xf32>)
// CHECK-COUNT-8:           vector.fma {{.*}} : vector<16xf32>
// CHECK:               scf.for %{{.*}} step %c8
// CHECK:                 scf.for %{{.*}} step %c1
// CHECK:                   scf.for %{{.*}} = %c0 to %c32 step %c1 {{.*}} -> (vector<1x1x16xf32>)
// CHECK:                     vector.fma {{.*}} : vector<16xf32>
// CHECK:             scf.for %[[R:.*]] = %c0 to %{{.*}} step %c1
// CHECK:               %[[T:.*]] = tensor.extract %{{.*}}[%[[R]]] : tensor<?xi32>
// CHECK:               %[[PAD:.*]] = arith.cmpi slt, %[[T]], %c0_i32
// CHECK:               scf.if %[[PAD]]
// CHECK:               } else {
// CHECK:                 %[[TROW:.*]] = arith.index_cast %[[T]] : i32 to index
// CHECK:                 %[[W:.*]] = tensor.extract %{{.*}}[%[[R]]] : tensor<?xf32>
// CHECK:                 %[[X:.*]] = vector.transfer_read %{{.*}}[%[[R]], %c0, %c0], %{{.*}} {in_bounds = [true, true]} : tensor<?x1x16xf32>, vector<1x16xf32>
// CHECK:                 %[[OLD:.*]] = vector.transfer_read %{{.*}}[%[[TROW]], %c0, %c0], %{{.*}} {in_bounds = [true, true]} : tensor<?x1x16xf32>, vector<1x16xf32>
// CHECK:                 %[[WV:.*]] = vector.broadcast %[[W]] : f32 to vector<1x16xf32>
// CHECK:                 %[[SCALED:.*]] = arith.mulf %[[WV]], %[[X]] : vector<1x16xf32>
// CHECK:                 %[[NEW:.*]] = arith.addf %[[OLD]], %[[SCALED]] : vector<1x16xf32>
// CHECK:                 vector.transfer_write %[[NEW]], %{{.*}}[%[[TROW]], %c0, %c0] {in_bounds = [true, true]} : vector<1x16xf32>, tensor<?x1x16xf32>
// CHECK:           tensor.parallel_insert_slice %{{.*}} : tensor<?x1x16xf32> into tensor<?x4x16xf32>
// CHECK-NOT:   linalg.generic
// CHECK-NOT:   moe.segment_combine

// SERIAL-LABEL: func @down_combine
// SERIAL-NOT:   scf.forall
// SERIAL:       scf.for %{{.*}} = %c0 to %c4 step %c1
// SERIAL:         scf.for %{{.*}} = %c0 to %c4 step %c1
// SERIAL:           scf.for %{{.*}} step %c64
// SERIAL:             vector.fma
// SERIAL:             scf.for
// SERIAL:               vector.transfer_write %{{.*}} : vector<1x16xf32>, tensor<?x1x16xf32>
// SERIAL-NOT:   moe.segment_combine
func.func @down_combine(%h: tensor<?x64xf32>, %w: tensor<4x4x64x16xf32>,
                        %o: tensor<5xi32>, %t: tensor<?xi32>, %rw: tensor<?xf32>,
                        %y: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.grouped_matmul ins(%h, %w, %o : tensor<?x64xf32>, tensor<4x4x64x16xf32>, tensor<5xi32>)
         combine(%t, %rw : tensor<?xi32>, tensor<?xf32>) outs(%y : tensor<?x64xf32>)
         {weight_layout = #moe.weight_layout<panels>}
  return %0 : tensor<?x64xf32>
}

// -----

// With a bias the product is biased in [rows, N] before the combine, which
// then runs untiled after the contraction's own kernel: still a row loop
// over the segment, a row vector at a time.

// CHECK-LABEL: func @down_combine_bias
// CHECK:         vector.fma
// CHECK:         linalg.generic
// CHECK:         scf.for
// CHECK:           tensor.extract %{{.*}} : tensor<?xi32>
// CHECK:           vector.transfer_read {{.*}} : tensor<?x64xf32>, vector<64xf32>
// CHECK-NOT:   moe.segment_combine
func.func @down_combine_bias(%h: tensor<?x64xf32>, %w: tensor<4x4x64x16xf32>, %b: tensor<4x64xf32>,
                             %o: tensor<5xi32>, %t: tensor<?xi32>, %rw: tensor<?xf32>,
                             %y: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.grouped_matmul ins(%h, %w, %o : tensor<?x64xf32>, tensor<4x4x64x16xf32>, tensor<5xi32>)
         bias(%b : tensor<4x64xf32>) combine(%t, %rw : tensor<?xi32>, tensor<?xf32>) outs(%y : tensor<?x64xf32>)
         {weight_layout = #moe.weight_layout<panels>}
  return %0 : tensor<?x64xf32>
}

// RUN: moe-opt %s --convert-moe-to-linalg --canonicalize --cse --moe-cpu-tile-and-vectorize --canonicalize | FileCheck %s
// RUN: moe-opt %s --convert-moe-to-linalg --canonicalize --cse --moe-cpu-tile-and-vectorize="parallel-panels=false" --canonicalize | FileCheck %s --check-prefix=SERIAL

// A gated grouped matmul with 16-column panels: the epilogue is tiled into
// panels (a forall, for threads) and 8-row tiles, and both contractions are
// fused into each tile. Each runs over the whole of K with its 8 x 16
// accumulator in registers, and the epilogue (bias, SiLU, product) reads the
// two accumulators straight from the k loops: nothing is written between
// the contractions and the activation, and the tile's only write is its
// result.

// CHECK-LABEL: func @gated
// CHECK:       scf.forall (%{{.*}}) in (4)
// CHECK:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK-NOT:       vector.transfer_write
// CHECK:           %[[GATE:.*]] = scf.for {{.*}} -> (vector<8x1x16xf32>)
// CHECK-COUNT-8:     vector.fma {{.*}} : vector<16xf32>
// CHECK-NOT:       vector.transfer_write
// CHECK:           %[[UP:.*]] = scf.for {{.*}} -> (vector<8x1x16xf32>)
// CHECK-COUNT-8:     vector.fma {{.*}} : vector<16xf32>
// CHECK-NOT:       vector.transfer_write
// CHECK:           %[[G:.*]] = vector.shape_cast %[[GATE]] : vector<8x1x16xf32> to vector<8x16xf32>
// CHECK:           %[[GB:.*]] = arith.addf %[[G]], %{{.*}} : vector<8x16xf32>
// CHECK:           math.exp %{{.*}} : vector<8x16xf32>
// CHECK-NOT:       vector.transfer_write
// CHECK:           %[[U:.*]] = vector.shape_cast %[[UP]] : vector<8x1x16xf32> to vector<8x16xf32>
// CHECK:           %[[H:.*]] = arith.mulf %{{.*}}, %[[U]] : vector<8x16xf32>
// CHECK:           %[[HT:.*]] = vector.shape_cast %[[H]] : vector<8x16xf32> to vector<8x1x16xf32>
// CHECK:           vector.transfer_write %[[HT]]
// The remainder rows (none, with segments aligned to the row tile) keep
// the fused contractions and epilogue as loops.
// CHECK:         scf.for
// CHECK:           linalg.generic {{.*}} attrs = {moe.segment_matmul}
// CHECK:           linalg.generic {{.*}} attrs = {moe.segment_matmul}
// CHECK:           linalg.generic {{.*}} attrs = {moe.segment_epilogue}

// SERIAL-LABEL: func @gated
// SERIAL-NOT:   scf.forall
// SERIAL:       vector.fma
func.func @gated(%x: tensor<?x64xf32>, %o: tensor<5xi32>,
                 %wg: tensor<4x4x64x16xf32>, %wu: tensor<4x4x64x16xf32>,
                 %bg: tensor<4x64xf32>, %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<5xi32>)
         gate(%wg : tensor<4x4x64x16xf32>) up(%wu : tensor<4x4x64x16xf32>)
         gate_bias(%bg : tensor<4x64xf32>)
         outs(%init : tensor<?x64xf32>) activation<silu> {weight_kn}
  return %0 : tensor<?x64xf32>
}

// RUN: moe-opt %s --convert-moe-to-linalg --canonicalize --cse --moe-cpu-tile-and-vectorize --canonicalize | FileCheck %s
// RUN: moe-opt %s --convert-moe-to-linalg --canonicalize --cse --moe-cpu-tile-and-vectorize="parallel-panels=false" --canonicalize | FileCheck %s --check-prefix=SERIAL

// A gated grouped matmul (panels of 16 columns here): the epilogue is tiled
// into panels (a forall, for threads) and 4-row tiles (half the plain
// kernel's 8: the gate's finished tile stays in registers while the up
// projection accumulates), and both contractions are fused into each tile.
// Each runs over the whole of K with its accumulator in registers, and the
// epilogue (bias, SiLU, product) reads the two accumulators straight from
// the k loops: nothing is written between the contractions and the
// activation; the tile's only write is its result.

// CHECK-LABEL: func @gated
// CHECK:       scf.forall (%{{.*}}) in (4)
// CHECK:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c4 iter_args
// CHECK-NOT:       vector.transfer_write
// CHECK:           %[[GATE:.*]] = scf.for {{.*}} -> (vector<4x1x16xf32>)
// CHECK-COUNT-4:     vector.fma {{.*}} : vector<16xf32>
// CHECK-NOT:       vector.transfer_write
// CHECK:           %[[UP:.*]] = scf.for {{.*}} -> (vector<4x1x16xf32>)
// CHECK-COUNT-4:     vector.fma {{.*}} : vector<16xf32>
// CHECK-NOT:       vector.transfer_write
// CHECK:           %[[G:.*]] = vector.shape_cast %[[GATE]] : vector<4x1x16xf32> to vector<4x16xf32>
// CHECK:           %[[GB:.*]] = arith.addf %[[G]], %{{.*}} : vector<4x16xf32>
// CHECK:           math.exp %{{.*}} : vector<4x16xf32>
// CHECK-NOT:       vector.transfer_write
// CHECK:           %[[U:.*]] = vector.shape_cast %[[UP]] : vector<4x1x16xf32> to vector<4x16xf32>
// CHECK:           %[[H:.*]] = arith.mulf %{{.*}}, %[[U]] : vector<4x16xf32>
// CHECK:           %[[HT:.*]] = vector.shape_cast %[[H]] : vector<4x16xf32> to vector<4x1x16xf32>
// CHECK:           vector.transfer_write %[[HT]]
// The remainder rows (a shared expert's T rows; none for routed segments,
// which are aligned to the row tile) run as fused, vectorized 1-row tiles.
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             scf.for {{.*}} -> (vector<1x1x16xf32>)
// CHECK:               vector.fma {{.*}} : vector<16xf32>
// CHECK:             scf.for {{.*}} -> (vector<1x1x16xf32>)
// CHECK:               vector.fma {{.*}} : vector<16xf32>
// CHECK:             math.exp %{{.*}} : vector<16xf32>
// CHECK:             vector.transfer_write
// CHECK-NOT:     linalg.generic

// SERIAL-LABEL: func @gated
// SERIAL-NOT:   scf.forall
// SERIAL:       vector.fma
func.func @gated(%x: tensor<?x64xf32>, %o: tensor<5xi32>,
                 %wg: tensor<4x4x64x16xf32>, %wu: tensor<4x4x64x16xf32>,
                 %bg: tensor<4x64xf32>, %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<5xi32>)
         gate(%wg : tensor<4x4x64x16xf32>) up(%wu : tensor<4x4x64x16xf32>)
         gate_bias(%bg : tensor<4x64xf32>)
         outs(%init : tensor<?x64xf32>) activation<silu> {weight_layout = #moe.weight_layout<panels>}
  return %0 : tensor<?x64xf32>
}

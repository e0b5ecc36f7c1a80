// RUN: moe-opt %s --convert-moe-to-linalg --canonicalize --cse --moe-cpu-tile-and-vectorize --canonicalize --cse | FileCheck %s

// A gated grouped matmul in the pair layout of --bf16-dot (panels of 32
// columns, 32 k pairs): the fused schedule of the f32 gated kernel (panels
// over threads, 4-row tiles, gate and up fused into each tile, the
// activation reading both accumulators from registers), with each k loop
// stepping over k pairs as the unfused pair-layout kernel does: per pair,
// the panel's two 16-column halves of the weight are read once, and each of
// the 4 rows' pair is broadcast as one i32 for two AVX-512 BF16 dot
// products. 4 x 2 accumulators for the gate, then 4 x 2 for the up
// projection; no vector.contract and no linalg op are left.

// CHECK-LABEL: func @gated_pairs
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xbf16>
// CHECK:       scf.forall (%{{.*}}) in (2)
// CHECK:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c4 iter_args
// CHECK-NOT:       vector.transfer_write {{.*}} tensor<?x1x32xf32>
// CHECK:           %[[GATE:.*]]:8 = scf.for {{.*}} -> (vector<1x1x16xf32>, vector<1x1x16xf32>, vector<1x1x16xf32>, vector<1x1x16xf32>, vector<1x1x16xf32>, vector<1x1x16xf32>, vector<1x1x16xf32>, vector<1x1x16xf32>)
// Two weight reads and eight dot products a pair, in some order.
// CHECK-COUNT-10:    {{x86vector.avx512.dot %.* : vector<32xbf16> -> vector<16xf32>|vector.transfer_read .* : tensor<4x2x32x32x2xbf16>, vector<1x1x16x2xbf16>}}
// CHECK-NOT:         {{x86vector.avx512.dot|vector<1x1x16x2xbf16>}}
// CHECK:           scf.yield
// CHECK:           %[[UP:.*]]:8 = scf.for {{.*}} -> (vector<1x1x16xf32>, vector<1x1x16xf32>, vector<1x1x16xf32>, vector<1x1x16xf32>, vector<1x1x16xf32>, vector<1x1x16xf32>, vector<1x1x16xf32>, vector<1x1x16xf32>)
// CHECK-COUNT-10:    {{x86vector.avx512.dot %.* : vector<32xbf16> -> vector<16xf32>|vector.transfer_read .* : tensor<4x2x32x32x2xbf16>, vector<1x1x16x2xbf16>}}
// CHECK-NOT:         {{x86vector.avx512.dot|vector<1x1x16x2xbf16>}}
// CHECK:           scf.yield
// CHECK:           math.exp %{{.*}} : vector<4x32xf32>
// CHECK:           vector.transfer_write %{{.*}} : vector<4x1x32xf32>, tensor<?x1x32xf32>
// The remainder rows: fused 1-row tiles, two dot products a pair.
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             scf.for {{.*}} -> (vector<1x1x16xf32>, vector<1x1x16xf32>)
// CHECK-COUNT-2:       x86vector.avx512.dot
// CHECK:             scf.for {{.*}} -> (vector<1x1x16xf32>, vector<1x1x16xf32>)
// CHECK-COUNT-2:       x86vector.avx512.dot
// CHECK:             math.exp %{{.*}} : vector<32xf32>
// CHECK-NOT:   vector.contract
// CHECK-NOT:   linalg.generic
func.func @gated_pairs(%x: tensor<?x64xbf16>, %o: tensor<5xi32>,
                       %wg: tensor<4x2x32x32x2xbf16>, %wu: tensor<4x2x32x32x2xbf16>,
                       %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xbf16>, tensor<5xi32>)
         gate(%wg : tensor<4x2x32x32x2xbf16>) up(%wu : tensor<4x2x32x32x2xbf16>)
         outs(%init : tensor<?x64xf32>) activation<silu> {weight_layout = #moe.weight_layout<pair_panels>}
  return %0 : tensor<?x64xf32>
}

// Gathered rows (moe-fuse-gather): in each k-pair step, a row's pair is
// read at (token id, 2 pair) and (token id, 2 pair + 1), the two elements
// the dot product broadcasts (LLVM loads them as one 32-bit broadcast); no
// gathered copy of the rows is made.

// CHECK-LABEL: func @gated_pairs_gather
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xbf16>, %{{[a-z0-9]+}}: tensor<5xi32>, %[[TOK:[a-z0-9]+]]: tensor<?xi32>
// CHECK:       scf.forall (%{{.*}}) in (2)
// CHECK:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c4 iter_args
// CHECK:           scf.for %[[P:.*]] = %c0 to %c32 step %c1 {{.*}} -> (vector<1x1x16xf32>
// CHECK:             %[[T0:.*]] = tensor.extract %[[TOK]][%{{.*}}] : tensor<?xi32>
// CHECK-NEXT:        %[[M0:.*]] = arith.maxsi %[[T0]], %{{.*}} : i32
// CHECK-NEXT:        %[[R0:.*]] = arith.index_cast %[[M0]] : i32 to index
// CHECK-NEXT:        %[[K0:.*]] = arith.muli %[[P]], %c2 : index
// CHECK-NEXT:        %[[E0:.*]] = tensor.extract %[[X]][%[[R0]], %[[K0]]] : tensor<?x64xbf16>
// CHECK-NEXT:        %[[K1:.*]] = arith.addi %[[K0]], %c1 : index
// CHECK-NEXT:        %[[E1:.*]] = tensor.extract %[[X]][%[[R0]], %[[K1]]] : tensor<?x64xbf16>
// CHECK-NEXT:        %[[PAIR:.*]] = vector.from_elements %[[E0]], %[[E1]] : vector<1x1x2xbf16>
// CHECK:             %[[PAIR1:.*]] = vector.shape_cast %[[PAIR]] : vector<1x1x2xbf16> to vector<2xbf16>
// CHECK-NEXT:        vector.bitcast %[[PAIR1]] : vector<2xbf16> to vector<1xi32>
// CHECK-COUNT-3:     vector.from_elements %{{.*}}, %{{.*}} : vector<1x1x2xbf16>
// CHECK-NOT:         vector.from_elements
// CHECK:           scf.yield
// CHECK-NOT:   tensor<?x32x2xbf16>
// CHECK-NOT:   vector.gather
// CHECK-NOT:   linalg.generic
func.func @gated_pairs_gather(%x: tensor<?x64xbf16>, %o: tensor<5xi32>, %tok: tensor<?xi32>,
                              %wg: tensor<4x2x32x32x2xbf16>, %wu: tensor<4x2x32x32x2xbf16>,
                              %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xbf16>, tensor<5xi32>)
         gather(%tok : tensor<?xi32>)
         gate(%wg : tensor<4x2x32x32x2xbf16>) up(%wu : tensor<4x2x32x32x2xbf16>)
         outs(%init : tensor<?x64xf32>) activation<silu> {weight_layout = #moe.weight_layout<pair_panels>}
  return %0 : tensor<?x64xf32>
}

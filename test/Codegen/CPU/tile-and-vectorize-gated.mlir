// RUN: moe-opt %s --convert-moe-to-linalg --canonicalize --cse --moe-cpu-tile-and-vectorize="gated-row-block=0" --canonicalize | FileCheck %s
// RUN: moe-opt %s --convert-moe-to-linalg --canonicalize --cse --moe-cpu-tile-and-vectorize="parallel-panels=false gated-row-block=0" --canonicalize | FileCheck %s --check-prefix=SERIAL
// RUN: moe-opt %s --convert-moe-to-linalg --canonicalize --cse --moe-cpu-tile-and-vectorize="gated-row-block=32 reduction-block=32" --canonicalize | FileCheck %s --check-prefix=BLOCKED

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

// With a row block (gated-row-block, 64 in the CPU pipeline; 32 rows here),
// the epilogue's panel is tiled into blocks of rows, and both contractions
// are fused into each block and tiled as the plain kernel is: K blocks (32
// here), 8-row register tiles (the remainder one row at a time), a k loop
// in registers. Their partial sums live in the block's [rows, 1, 16] tiles,
// zeroed first; the activation then reads the gate's and the up's a row at
// a time.

// BLOCKED-LABEL: func @gated
// BLOCKED:       scf.forall (%{{.*}}) in (4)
// BLOCKED:         scf.for %[[BLOCK:.*]] = %c0 to %{{.*}} step %c32
// BLOCKED:           %[[ROWS:.*]] = affine.min #{{.*}}(%[[BLOCK]])
// BLOCKED:           scf.for %{{.*}} = %c0 to %[[ROWS]] step %c1
// BLOCKED:             vector.transfer_write %{{.*}} : vector<1x1x16xf32>, tensor<1x1x16xf32>
// The gate: K blocks, then 8-row tiles, then the k loop.
// BLOCKED:           scf.for %{{.*}} = %c0 to %c64 step %c32
// BLOCKED:             scf.for %{{.*}} step %c8
// BLOCKED:               vector.transfer_read {{.*}} : tensor<8x1x16xf32>, vector<8x1x16xf32>
// BLOCKED:               scf.for %{{.*}} = %c0 to %c32 step %c1 {{.*}} -> (vector<8x1x16xf32>)
// BLOCKED-COUNT-8:         vector.fma {{.*}} : vector<16xf32>
// BLOCKED:               vector.transfer_write {{.*}} : vector<8x1x16xf32>, tensor<8x1x16xf32>
// BLOCKED:             scf.for %{{.*}} step %c8
// BLOCKED:               scf.for %{{.*}} step %c1
// BLOCKED:                 scf.for %{{.*}} = %c0 to %c32 step %c1 {{.*}} -> (vector<1x1x16xf32>)
// BLOCKED:                   vector.fma {{.*}} : vector<16xf32>
// The up projection, the same way.
// BLOCKED:           scf.for %{{.*}} = %c0 to %c64 step %c32
// BLOCKED:             scf.for %{{.*}} step %c8
// BLOCKED:               scf.for %{{.*}} = %c0 to %c32 step %c1 {{.*}} -> (vector<8x1x16xf32>)
// BLOCKED-COUNT-8:         vector.fma {{.*}} : vector<16xf32>
// BLOCKED:             scf.for %{{.*}} step %c8
// BLOCKED:               scf.for %{{.*}} step %c1
// BLOCKED:                 vector.fma {{.*}} : vector<16xf32>
// The activation, a row of the block at a time.
// BLOCKED:           scf.for %{{.*}} = %c0 to %{{.*}} step %c1
// BLOCKED:             vector.transfer_read {{.*}} : tensor<1x1x16xf32>, vector<1x1x16xf32>
// BLOCKED:             vector.transfer_read {{.*}} : tensor<1x1x16xf32>, vector<1x1x16xf32>
// BLOCKED:             math.exp %{{.*}} : vector<16xf32>
// BLOCKED:             vector.transfer_write {{.*}} : vector<1x1x16xf32>, tensor<1x1x16xf32>
// BLOCKED-NOT:   linalg.generic

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

// A gated matmul that gathers its rows (moe-fuse-gather): the gather is fused
// into each k loop, where a k step reads the element of each of the tile's
// rows at (token id, k), one scalar each, for the broadcast of the rank-1
// update. No vector.gather (LLVM would keep a masked gather), no gathered
// copy of the rows, no linalg op left.

// CHECK-LABEL: func @gated_gather
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %{{[a-z0-9]+}}: tensor<5xi32>, %[[TOK:[a-z0-9]+]]: tensor<?xi32>
// CHECK:       scf.forall (%{{.*}}) in (4)
// CHECK:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c4 iter_args
// CHECK:           scf.for %[[K:.*]] = %c0 to %c64 step %c1 {{.*}} -> (vector<4x1x16xf32>)
// CHECK:             %[[T0:.*]] = tensor.extract %[[TOK]][%{{.*}}] : tensor<?xi32>
// CHECK-NEXT:        %[[P0:.*]] = arith.maxsi %[[T0]], %{{.*}} : i32
// CHECK-NEXT:        %[[R0:.*]] = arith.index_cast %[[P0]] : i32 to index
// CHECK-NEXT:        tensor.extract %[[X]][%[[R0]], %[[K]]] : tensor<?x64xf32>
// CHECK:             %[[T1:.*]] = tensor.extract %[[TOK]][%{{.*}}] : tensor<?xi32>
// CHECK-NEXT:        %[[P1:.*]] = arith.maxsi %[[T1]], %{{.*}} : i32
// CHECK-NEXT:        %[[R1:.*]] = arith.index_cast %[[P1]] : i32 to index
// CHECK-NEXT:        tensor.extract %[[X]][%[[R1]], %[[K]]] : tensor<?x64xf32>
// CHECK:             %[[T2:.*]] = tensor.extract %[[TOK]][%{{.*}}] : tensor<?xi32>
// CHECK-NEXT:        %[[P2:.*]] = arith.maxsi %[[T2]], %{{.*}} : i32
// CHECK-NEXT:        %[[R2:.*]] = arith.index_cast %[[P2]] : i32 to index
// CHECK-NEXT:        tensor.extract %[[X]][%[[R2]], %[[K]]] : tensor<?x64xf32>
// CHECK:             %[[T3:.*]] = tensor.extract %[[TOK]][%{{.*}}] : tensor<?xi32>
// CHECK-NEXT:        %[[P3:.*]] = arith.maxsi %[[T3]], %{{.*}} : i32
// CHECK-NEXT:        %[[R3:.*]] = arith.index_cast %[[P3]] : i32 to index
// CHECK-NEXT:        tensor.extract %[[X]][%[[R3]], %[[K]]] : tensor<?x64xf32>
// CHECK-NOT:         tensor.extract %
// CHECK-COUNT-4:     vector.fma {{.*}} : vector<16xf32>
// CHECK:           scf.for %[[K2:.*]] = %c0 to %c64 step %c1 {{.*}} -> (vector<4x1x16xf32>)
// CHECK-COUNT-4:     tensor.extract %[[X]][%{{.*}}, %[[K2]]] : tensor<?x64xf32>
// CHECK-COUNT-4:     vector.fma {{.*}} : vector<16xf32>
// The remainder's one-row tiles read their row the same way.
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             scf.for %[[K3:.*]] = %c0 to %c64 step %c1 {{.*}} -> (vector<1x1x16xf32>)
// CHECK:               tensor.extract %[[TOK]]
// CHECK:               tensor.extract %[[X]][%{{.*}}, %[[K3]]] : tensor<?x64xf32>
// CHECK:               vector.fma {{.*}} : vector<16xf32>
// CHECK-NOT:   vector.gather
// CHECK-NOT:   linalg.generic

// With a row block, the gather follows each contraction's tiling down to
// its k loop: a k step of an 8-row tile reads each row's token id and its
// element, as the whole-K tile does. No block of gathered rows is built
// (it would be a [rows, 64] tensor).
// BLOCKED-LABEL: func @gated_gather
// BLOCKED-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %{{[a-z0-9]+}}: tensor<5xi32>, %[[TOK:[a-z0-9]+]]: tensor<?xi32>
// BLOCKED-NOT:   tensor.empty({{.*}}) : tensor<?x64xf32>
// BLOCKED:       scf.forall (%{{.*}}) in (4)
// BLOCKED:         scf.for %{{.*}} step %c32
// BLOCKED:           scf.for %[[KB:.*]] = %c0 to %c64 step %c32
// BLOCKED:             scf.for %{{.*}} step %c8
// BLOCKED:               scf.for %[[K:.*]] = %c0 to %c32 step %c1 {{.*}} -> (vector<8x1x16xf32>)
// BLOCKED:                 tensor.extract %[[TOK]][%{{.*}}] : tensor<?xi32>
// BLOCKED-COUNT-8:         tensor.extract %[[X]][%{{.*}}, %{{.*}}] : tensor<?x64xf32>
// BLOCKED-NOT:             tensor.extract %
// BLOCKED-COUNT-8:         vector.fma {{.*}} : vector<16xf32>
// BLOCKED:             scf.for %{{.*}} step %c8
// BLOCKED:               scf.for
// BLOCKED:                 scf.for {{.*}} -> (vector<1x1x16xf32>)
// BLOCKED:                   tensor.extract %[[TOK]]
// BLOCKED:                   tensor.extract %[[X]]
// BLOCKED:                   vector.fma {{.*}} : vector<16xf32>
// BLOCKED-NOT:   tensor.empty({{.*}}) : tensor<?x64xf32>
// BLOCKED-NOT:   vector.gather
// BLOCKED-NOT:   linalg.generic
func.func @gated_gather(%x: tensor<?x64xf32>, %o: tensor<5xi32>, %tok: tensor<?xi32>,
                        %wg: tensor<4x4x64x16xf32>, %wu: tensor<4x4x64x16xf32>,
                        %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<5xi32>)
         gather(%tok : tensor<?xi32>)
         gate(%wg : tensor<4x4x64x16xf32>) up(%wu : tensor<4x4x64x16xf32>)
         outs(%init : tensor<?x64xf32>) activation<silu> {weight_layout = #moe.weight_layout<panels>}
  return %0 : tensor<?x64xf32>
}

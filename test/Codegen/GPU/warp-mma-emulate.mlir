// RUN: moe-opt %s --moe-gpu-warp-mma="emulate-lanes=true stage-activations=false" --split-input-file --verify-diagnostics | FileCheck %s

// On the host (moe-nvptx-pipeline's host-semantics), a warp tile inside its
// warp forall becomes the same lane code with the lanes as loops: the
// accumulators and each step's fragments (two mma.syncs of K = 16 in a step
// of 32) live in [lane, ...] buffers, and
// each mma.sync is computed from them through upstream's fragment layouts:
// the lanes' A, W and C elements scattered into 16 x 16, 8 x 16 and 16 x 8
// matrices, C += A W^T in f32, and C gathered back. No nvgpu.mma.sync and
// no lane id are left.

// CHECK-LABEL: func.func @tile
// CHECK-NOT:     gpu.lane_id
// CHECK-NOT:     nvgpu.mma.sync
// CHECK:         scf.forall
// CHECK:           %[[ACC:.+]] = memref.alloca() : memref<32x1x4xf32>
// CHECK:           %[[AB:.+]] = memref.alloca() : memref<32x2x8xbf16>
// CHECK:           %[[WB:.+]] = memref.alloca() : memref<32x2x4xbf16>
// The accumulators' first values, lane by lane.
// CHECK:           scf.for %[[L0:.+]] = %c0{{.*}} to %c32{{.*}} step %c1
// CHECK:             arith.divui %[[L0]], %c4
// CHECK:             memref.store %{{.+}}, %[[ACC]][%[[L0]], %c0{{.*}}, %c0{{.*}}]
// Each step: the lanes' fragments, rounded to bf16, into the buffers.
// CHECK:           scf.for %[[K0:.+]] = %c0{{.*}} to %{{.+}} step %c32
// CHECK:             scf.for %[[L1:.+]] = %c0{{.*}} to %c32{{.*}} step %c1
// CHECK:               vector.load
// CHECK:               arith.truncf %{{.+}} : f32 to bf16
// CHECK:               memref.store %{{.+}}, %[[AB]][%[[L1]], %c0
// CHECK:               memref.store %{{.+}}, %[[WB]][%[[L1]], %c0
// CHECK:               memref.store %{{.+}}, %[[AB]][%[[L1]], %c1
// CHECK:               memref.store %{{.+}}, %[[WB]][%[[L1]], %c1
// The mma.sync, by upstream's layouts (lane, value) -> (row, column).
// CHECK:             %[[AF:.+]] = memref.alloca() : memref<16x16xf32>
// CHECK:             %[[WF:.+]] = memref.alloca() : memref<8x16xf32>
// CHECK:             %[[CF:.+]] = memref.alloca() : memref<16x8xf32>
// CHECK:             scf.for %[[L2:.+]] = %c0{{.*}} to %c32{{.*}} step %c1
// CHECK:               %[[R:.+]] = affine.apply #{{.+}}(%[[L2]], %{{.+}})
// CHECK:               %[[C:.+]] = affine.apply #{{.+}}(%[[L2]], %{{.+}})
// CHECK:               memref.load %[[AB]][%[[L2]],
// CHECK:               arith.extf %{{.+}} : bf16 to f32
// CHECK:               memref.store %{{.+}}, %[[AF]][%[[R]], %[[C]]]
// CHECK:             scf.for %{{.+}} = %c0{{.*}} to %c16
// CHECK:               scf.for %{{.+}} = %c0{{.*}} to %c8
// CHECK:                 scf.for %{{.+}} = %c0{{.*}} to %c16{{.*}} step %c1{{.*}} iter_args
// CHECK:                   arith.mulf
// CHECK:                   arith.addf
// CHECK:             scf.for %[[L3:.+]] = %c0{{.*}} to %c32{{.*}} step %c1
// CHECK:               memref.load %[[CF]]
// CHECK:               memref.store %{{.+}}, %[[ACC]][%[[L3]],
// Stored back lane by lane, inside the tile only.
// CHECK:           scf.for %[[L4:.+]] = %c0{{.*}} to %c32{{.*}} step %c1
// CHECK:             memref.load %[[ACC]][%[[L4]],
// CHECK:             scf.if
// CHECK:               memref.store
// CHECK:         } {mapping = [#gpu.warp<x>]}
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @tile(%x: memref<12x32xf32>, %w: memref<8x32xbf16>,
                %y: memref<12x8xf32>) {
  scf.forall (%warp) in (1) {
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<12x32xf32>, memref<8x32xbf16>)
        outs(%y : memref<12x8xf32>) attrs = {moe.warp_mma} {
    ^bb0(%in: f32, %wt: bf16, %acc: f32):
      %t = arith.truncf %in : f32 to bf16
      %te = arith.extf %t : bf16 to f32
      %we = arith.extf %wt : bf16 to f32
      %p = arith.mulf %te, %we : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
  } {mapping = [#gpu.warp<x>]}
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @no_warp_forall(%x: memref<16x16xf32>, %w: memref<8x16xbf16>,
                          %y: memref<16x8xf32>) {
  // expected-error @+1 {{a moe.warp_mma tile must be inside a forall over warps (emulate-lanes)}}
  linalg.generic {indexing_maps = [#a, #w, #c],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<16x16xf32>, memref<8x16xbf16>)
      outs(%y : memref<16x8xf32>) attrs = {moe.warp_mma} {
  ^bb0(%in: f32, %wt: bf16, %acc: f32):
    %we = arith.extf %wt : bf16 to f32
    %p = arith.mulf %in, %we : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

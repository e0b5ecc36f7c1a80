// RUN: moe-opt %s --moe-gpu-warp-mma="emulate-lanes=true stage-activations=false weight-stages=2" --cse | FileCheck %s

// On the host (host semantics) the warp's W ring is a buffer of [stages,
// groups, lanes, 8], and a lane's cp.async is a load from W and a store
// into its slot: before the K loop, lane by lane, the first step's groups
// into slot 0; in each step, lane by lane, the next step's groups (clamped
// to the last, K = 64: at 32) into slot (step + 1) % 2, then this step's
// read back from slot step % 2 into the lane's fragments. A copy into the
// wrong slot, or a read of one, gives the next step's or the step before's
// weights, which the host-semantics runs against the reference catch.

// CHECK-LABEL: func.func @ring
// CHECK-SAME:    %{{.+}}: memref<12x64xf32>, %[[W:.+]]: memref<8x64xbf16>
// CHECK:         scf.forall
// CHECK:           %[[RING:.+]] = memref.alloca() {alignment = 64 : i64} : memref<2x1x32x8xbf16>
// CHECK:           scf.for %[[L0:.+]] = %c0{{.*}} to %c32{{.*}} step %c1
// CHECK:             %[[FIRST_32:.+]] = arith.remui %{{.+}}, %c2_i32
// CHECK:             %[[FIRST:.+]] = arith.index_castui %[[FIRST_32]] : i32 to index
// CHECK:             %[[G0:.+]] = vector.load %[[W]][%{{.+}}, %{{.+}}] : memref<8x64xbf16>, vector<8xbf16>
// CHECK:             vector.store %[[G0]], %[[RING]][%[[FIRST]], %c0{{.*}}, %[[L0]], %c0{{.*}}]
// CHECK:           scf.for %[[K0:.+]] = %c0{{.*}} to %{{.+}} step %c32
// CHECK:             scf.for %[[L1:.+]] = %c0{{.*}} to %c32{{.*}} step %c1
// CHECK:               %[[K0_32:.+]] = arith.index_castui %[[K0]] : index to i32
// CHECK:               %[[STEP:.+]] = arith.divui %[[K0_32]], %c32_i32
// CHECK:               %[[SLOT_32:.+]] = arith.remui %[[STEP]], %c2_i32
// CHECK:               %[[SLOT:.+]] = arith.index_castui %[[SLOT_32]] : i32 to index
// CHECK:               %[[AHEAD_K:.+]] = arith.addi %[[K0]], %c32
// CHECK:               %[[NEXT_K:.+]] = arith.minui %[[AHEAD_K]], %c32
// CHECK:               %[[AHEAD_STEP:.+]] = arith.addi %[[STEP]], %c1_i32
// CHECK:               %[[AHEAD_32:.+]] = arith.remui %[[AHEAD_STEP]], %c2_i32
// CHECK:               %[[AHEAD:.+]] = arith.index_castui %[[AHEAD_32]] : i32 to index
// CHECK:               %[[COL:.+]] = arith.addi %[[NEXT_K]], %{{.+}}
// CHECK:               %[[G1:.+]] = vector.load %[[W]][%{{.+}}, %[[COL]]] : memref<8x64xbf16>, vector<8xbf16>
// CHECK:               vector.store %[[G1]], %[[RING]][%[[AHEAD]], %c0{{.*}}, %[[L1]], %c0{{.*}}]
// CHECK-NOT:           vector.load %[[W]]
// CHECK:               vector.load %[[RING]][%[[SLOT]], %c0{{.*}}, %[[L1]], %c0{{.*}}] {alignment = 16 : i64}
// CHECK-NOT:           vector.load %[[W]]
// CHECK-NOT:       nvgpu
// CHECK-NOT:       cp.async
// CHECK:         } {mapping = [#gpu.warp<x>]}

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @ring(%x: memref<12x64xf32>, %w: memref<8x64xbf16>,
                %y: memref<12x8xf32>) {
  scf.forall (%warp) in (1) {
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<12x64xf32>, memref<8x64xbf16>)
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

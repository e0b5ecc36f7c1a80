// RUN: moe-opt %s --moe-gpu-warp-mma="emulate-lanes=true stage-activations=false weight-stages=2" --cse | FileCheck %s
// RUN: moe-opt %s --moe-gpu-warp-mma="emulate-lanes=true stage-activations=false weight-stages=2" --cse | FileCheck %s --check-prefix=MODEL

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
// CHECK:             %[[K0_32:.+]] = arith.index_castui %[[K0]] : index to i32
// CHECK:             %[[STEP:.+]] = arith.divui %[[K0_32]], %c32_i32
// CHECK:             %[[AHEAD_STEP:.+]] = arith.addi %[[STEP]], %c1_i32
// CHECK:             %[[AHEAD_32:.+]] = arith.remui %[[AHEAD_STEP]], %c2_i32
// CHECK:             %[[AHEAD:.+]] = arith.index_castui %[[AHEAD_32]] : i32 to index
// CHECK:             %[[SLOT_32:.+]] = arith.remui %[[STEP]], %c2_i32
// CHECK:             %[[SLOT:.+]] = arith.index_castui %[[SLOT_32]] : i32 to index
// CHECK:             scf.for %[[L1:.+]] = %c0{{.*}} to %c32{{.*}} step %c1
// CHECK:               %[[AHEAD_K:.+]] = arith.addi %[[K0]], %c32
// CHECK:               %[[NEXT_K:.+]] = arith.minui %[[AHEAD_K]], %c32
// CHECK:               %[[COL:.+]] = arith.addi %[[NEXT_K]], %{{.+}}
// CHECK:               %[[G1:.+]] = vector.load %[[W]][%{{.+}}, %[[COL]]] : memref<8x64xbf16>, vector<8xbf16>
// CHECK:               vector.store %[[G1]], %[[RING]][%[[AHEAD]], %c0{{.*}}, %[[L1]], %c0{{.*}}]
// CHECK-NOT:           vector.load %[[W]]
// CHECK:               vector.load %[[RING]][%[[SLOT]], %c0{{.*}}, %[[L1]], %c0{{.*}}] {alignment = 16 : i64}
// CHECK-NOT:           vector.load %[[W]]
// CHECK-NOT:       nvgpu
// CHECK-NOT:       nvvm.cp.async
// CHECK:         } {mapping = [#gpu.warp<x>]}

// The warp's cp.async groups as a model ([committed, complete]) and each
// stage's last copy ([stage, (group, step)]), as in
// warp-mma-wgmma-emulate.mlir: the fill records step 0 in stage 0 and
// commits; each step waits with none pending (2 stages: 1 ahead), records
// the copy of step s + 1 into stage (s + 1) % 2 and commits, then checks
// that stage s % 2 holds step s and its group was waited for; after the
// loop, a wait for all, and no copy in flight.
// MODEL-LABEL: func.func @ring
// MODEL:         %[[GROUPS:.+]] = memref.alloca() : memref<3xindex>
// MODEL-NEXT:    %[[STAGES:.+]] = memref.alloca() : memref<2x2xindex>
// MODEL:         memref.store %c0, %[[GROUPS]][%c0]
// MODEL-NEXT:    memref.store %c0, %[[GROUPS]][%c1]
// MODEL:         memref.store %c0, %[[GROUPS]][%c2]
// MODEL:         memref.store %c-1, %[[STAGES]][%c0, %c0]
// MODEL-NEXT:    memref.store %c-1, %[[STAGES]][%c0, %c1]
// MODEL-NEXT:    memref.store %c-1, %[[STAGES]][%c1, %c0]
// MODEL-NEXT:    memref.store %c-1, %[[STAGES]][%c1, %c1]
// MODEL:         %[[FIRST_STAGE:.+]] = arith.index_castui %{{.+}} : i32 to index
// MODEL-NEXT:    %[[GROUP0:.+]] = memref.load %[[GROUPS]][%c0]
// MODEL-NEXT:    memref.store %[[GROUP0]], %[[STAGES]][%[[FIRST_STAGE]], %c0]
// MODEL-NEXT:    memref.store %c0, %[[STAGES]][%[[FIRST_STAGE]], %c1]
// MODEL:         scf.for %[[K0:.+]] = %c0 to %{{.+}} step %c32
// MODEL-NEXT:      %[[COMMITTED:.+]] = memref.load %[[GROUPS]][%c0]
// MODEL-NEXT:      %[[COMPLETE:.+]] = memref.load %[[GROUPS]][%c1]
// MODEL-NEXT:      %[[LANDED:.+]] = arith.subi %[[COMMITTED]], %c0
// MODEL-NEXT:      %[[NOW:.+]] = arith.maxsi %[[COMPLETE]], %[[LANDED]]
// MODEL-NEXT:      memref.store %[[NOW]], %[[GROUPS]][%c1]
// MODEL-NEXT:      %[[STEP:.+]] = arith.divui %[[K0]], %c32
// MODEL:           %[[AHEAD_STAGE:.+]] = arith.index_castui %{{.+}} : i32 to index
// MODEL-NEXT:      %[[AHEAD_STEP:.+]] = arith.addi %[[STEP]], %c1
// MODEL-NEXT:      %[[GROUP:.+]] = memref.load %[[GROUPS]][%c0]
// MODEL-NEXT:      memref.store %[[GROUP]], %[[STAGES]][%[[AHEAD_STAGE]], %c0]
// MODEL-NEXT:      memref.store %[[AHEAD_STEP]], %[[STAGES]][%[[AHEAD_STAGE]], %c1]
// MODEL:           %[[STAGE:.+]] = arith.index_castui %{{.+}} : i32 to index
// MODEL-NEXT:      %[[HELD:.+]] = memref.load %[[STAGES]][%[[STAGE]], %c1]
// MODEL-NEXT:      %[[SAME:.+]] = arith.cmpi eq, %[[HELD]], %[[STEP]]
// MODEL-NEXT:      cf.assert %[[SAME]], "moe-gpu-warp-mma host semantics: a staged slot read for a chunk that is not the one its last cp.async copy brought"
// MODEL:           cf.assert %{{.+}}, "moe-gpu-warp-mma host semantics: a staged chunk read before a cp.async.wait_group found its copies' group complete"
// MODEL:         }
// MODEL:         arith.maxsi
// MODEL:         cf.assert %{{.+}}, "moe-gpu-warp-mma host semantics: a cp.async copy still in flight after the tile's loop over K"
// MODEL:         cf.assert %{{.+}}, "moe-gpu-warp-mma host semantics: a cp.async copy still in flight after the tile's loop over K"

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

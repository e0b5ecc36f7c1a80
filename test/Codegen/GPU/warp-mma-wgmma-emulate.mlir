// RUN: moe-opt %s --moe-gpu-warp-mma="emulate-lanes=true wgmma=true warp-tile-rows=16 warp-tile-columns=128" | FileCheck %s
// RUN: moe-opt %s --moe-gpu-warp-mma="emulate-lanes=true wgmma=true warp-tile-rows=16 warp-tile-columns=128 wgmma-pending-chunks=1" --cse | FileCheck %s --check-prefix=LATE
// RUN: moe-opt %s --moe-gpu-warp-mma="emulate-lanes=true wgmma=true warp-tile-rows=16 warp-tile-columns=128" --cse | FileCheck %s --check-prefix=MODEL
// RUN: moe-opt %s --moe-gpu-warp-mma="emulate-lanes=true wgmma=true warp-tile-rows=16 warp-tile-columns=128" --cse | FileCheck %s --check-prefix=BARRIER
// RUN: moe-opt %s --moe-gpu-warp-mma="emulate-lanes=true wgmma=true warp-tile-rows=16 warp-tile-columns=128 wgmma-pending-chunks=1" --cse | FileCheck %s --check-prefix=LATE-BARRIER

// On the host (host semantics) the warpgroup of warp-mma-wgmma.mlir runs in
// each warp's turn of the warp forall: the warp copies each chunk of A and W
// for all 128 threads into core-matrix buffers of its own, and each wgmma
// is computed as this warp (rank warp % 4 in its warpgroup) sees it, from
// the descriptors: their start, leading and stride byte offsets are read
// back from bits 0, 16 and 32 (14 bits each, in units of 16 bytes), and
// each lane's accumulator element (tile j, element e) adds, over the 16
// columns, A's row 16 rank + g (+ 8) times W's row 8 j + 2 (lane % 4) (+ 1),
// each element read from the flattened buffer where the descriptor places
// it. No fences, no barriers (the cp.async groups run as a model, MODEL
// below).

// The block's cp.async groups as a model ([committed, complete, visible]) and each
// W slot's last copy ([slot, (group, chunk)]), set up with no slot holding
// a chunk (group and chunk -1). Chunk 0's W copies join group 0, which is
// committed, then waited for with none pending (one chunk ahead). In the
// loop, chunk c + 1's copies are recorded in the group being built before
// it is committed; where the steps read chunk c's slot (c % 2), the slot
// still holds chunk c and its group was waited for; each chunk ends with
// its wait. After the loop, no copy is in flight in either slot.
// MODEL-LABEL: func.func @warpgroup_forall
// MODEL:         memref.alloca() {alignment = 64 : i64} : memref<2x6x8x8x8xbf16>
// MODEL-NEXT:    %[[SLOTS:.+]] = memref.alloca() : memref<2x2xindex>
// MODEL-NEXT:    %[[GROUPS:.+]] = memref.alloca() : memref<3xindex>
// MODEL:         memref.store %c0, %[[GROUPS]][%c0]
// MODEL-NEXT:    memref.store %c0, %[[GROUPS]][%c1]
// MODEL:         memref.store %c0, %[[GROUPS]][%c2]
// MODEL:         memref.store %c-1, %[[SLOTS]][%c0, %c0]
// MODEL-NEXT:    memref.store %c-1, %[[SLOTS]][%c0, %c1]
// MODEL-NEXT:    memref.store %c-1, %[[SLOTS]][%c1, %c0]
// MODEL-NEXT:    memref.store %c-1, %[[SLOTS]][%c1, %c1]
// MODEL:         %[[GROUP0:.+]] = memref.load %[[GROUPS]][%c0]
// MODEL-NEXT:    memref.store %[[GROUP0]], %[[SLOTS]][%[[SLOT0:.+]], %c0]
// MODEL-NEXT:    memref.store %c0, %[[SLOTS]][%[[SLOT0]], %c1]
// MODEL:         %[[BEFORE:.+]] = memref.load %[[GROUPS]][%c0]
// MODEL-NEXT:    %[[AFTER:.+]] = arith.addi %[[BEFORE]], %c1
// MODEL-NEXT:    memref.store %[[AFTER]], %[[GROUPS]][%c0]
// MODEL-NEXT:    %[[COMMITTED:.+]] = memref.load %[[GROUPS]][%c0]
// MODEL-NEXT:    %[[COMPLETE:.+]] = memref.load %[[GROUPS]][%c1]
// MODEL-NEXT:    %[[LANDED:.+]] = arith.subi %[[COMMITTED]], %c0
// MODEL-NEXT:    %[[NOW_COMPLETE:.+]] = arith.maxsi %[[COMPLETE]], %[[LANDED]]
// MODEL-NEXT:    memref.store %[[NOW_COMPLETE]], %[[GROUPS]][%c1]
// MODEL:         scf.for %[[CHUNK:.+]] = %c0 to %{{.+}} step %c1
// MODEL-NEXT:      %[[NEXT:.+]] = arith.addi %[[CHUNK]], %c1
// MODEL:             memref.store %[[NEXT]], %[[SLOTS]][%{{.+}}, %c1]
// MODEL:             memref.load %[[GROUPS]][%c0]
// MODEL-NEXT:        arith.addi
// MODEL-NEXT:        memref.store %{{.+}}, %[[GROUPS]][%c0]
// MODEL-NEXT:      }
// MODEL-NEXT:      %[[SLOT:.+]] = arith.remui %[[CHUNK]], %c2
// MODEL-NEXT:      %[[HELD:.+]] = memref.load %[[SLOTS]][%[[SLOT]], %c1]
// MODEL-NEXT:      %[[SAME:.+]] = arith.cmpi eq, %[[HELD]], %[[CHUNK]]
// MODEL-NEXT:      cf.assert %[[SAME]], "moe-gpu-warp-mma host semantics: a staged slot read for a chunk that is not the one its last cp.async copy brought"
// MODEL-NEXT:      %[[GROUP:.+]] = memref.load %[[SLOTS]][%[[SLOT]], %c0]
// MODEL-NEXT:      %[[DONE:.+]] = memref.load %[[GROUPS]][%c1]
// MODEL-NEXT:      %[[WAITED:.+]] = arith.cmpi slt, %[[GROUP]], %[[DONE]]
// MODEL-NEXT:      cf.assert %[[WAITED]], "moe-gpu-warp-mma host semantics: a staged chunk read before a cp.async.wait_group found its copies' group complete"
// MODEL:           arith.subi %{{.+}}, %c0
// MODEL-NEXT:      arith.maxsi
// MODEL-NEXT:      memref.store %{{.+}}, %[[GROUPS]][%c1]
// MODEL:         }
// MODEL:         cf.assert %{{.+}}, "moe-gpu-warp-mma host semantics: a cp.async copy still in flight after the tile's loop over K"
// MODEL:         cf.assert %{{.+}}, "moe-gpu-warp-mma host semantics: a cp.async copy still in flight after the tile's loop over K"

// The block barrier as a model ([passed]) and each A and W slot's accesses
// ([slot, (visible from, last read)]), made and set up at the start of the
// warp's turn (so that it sees a loop around the tile run after run), with
// every slot visible from 0 and never read (-1). Chunk 0's A stores check that the slot's last
// reads ended before a barrier the block has passed, and make it visible
// from the next barrier; its W copies (whose landing the group model above
// checks) leave their slot visible from 0. The prologue's barrier counts
// one, and the groups complete then become visible to the block. Where
// the steps read chunk c, its copies' group is visible and both slots are;
// with no wgmma pending, their reads end there. The stores of chunk c + 1
// into A's other slot check that its last reads (chunk c - 1's) ended a
// barrier ago. Each chunk ends with a barrier.
// BARRIER-LABEL: func.func @warpgroup_forall
// BARRIER:         scf.forall
// BARRIER-NEXT:    %[[BARRIERS:.+]] = memref.alloca() : memref<1xindex>
// BARRIER-NEXT:    %[[A_SLOTS:.+]] = memref.alloca() : memref<2x2xindex>
// BARRIER-NEXT:    %[[W_SLOTS:.+]] = memref.alloca() : memref<2x2xindex>
// BARRIER:         memref.store %c0, %[[BARRIERS]][%c0]
// BARRIER-NEXT:    memref.store %c0, %[[A_SLOTS]][%c0, %c0]
// BARRIER:         memref.store %c-1, %[[A_SLOTS]][%c0, %c1]
// BARRIER-NEXT:    memref.store %c0, %[[A_SLOTS]][%c1, %c0]
// BARRIER-NEXT:    memref.store %c-1, %[[A_SLOTS]][%c1, %c1]
// BARRIER-NEXT:    memref.store %c0, %[[W_SLOTS]][%c0, %c0]
// BARRIER-NEXT:    memref.store %c-1, %[[W_SLOTS]][%c0, %c1]
// BARRIER-NEXT:    memref.store %c0, %[[W_SLOTS]][%c1, %c0]
// BARRIER-NEXT:    memref.store %c-1, %[[W_SLOTS]][%c1, %c1]
// BARRIER:         %[[GROUPS:.+]] = memref.alloca() : memref<3xindex>
// BARRIER:         %[[SLOT0:.+]] = arith.remui %c0, %c2
// BARRIER-NEXT:    %[[PASSED0:.+]] = memref.load %[[BARRIERS]][%c0]
// BARRIER-NEXT:    %[[READ0:.+]] = memref.load %[[A_SLOTS]][%[[SLOT0]], %c1]
// BARRIER-NEXT:    %[[FREE0:.+]] = arith.cmpi sgt, %[[PASSED0]], %[[READ0]]
// BARRIER-NEXT:    cf.assert %[[FREE0]], "moe-gpu-warp-mma host semantics: a staged slot written before a block barrier after the reads of the chunk it held (a warp may still read it)"
// BARRIER-NEXT:    %[[VISIBLE0:.+]] = arith.addi %[[PASSED0]], %c1
// BARRIER-NEXT:    memref.store %[[VISIBLE0]], %[[A_SLOTS]][%[[SLOT0]], %c0]
// BARRIER:         %[[W_READ0:.+]] = memref.load %[[W_SLOTS]][%[[SLOT0]], %c1]
// BARRIER-NEXT:    %[[W_FREE0:.+]] = arith.cmpi sgt, %{{.+}}, %[[W_READ0]]
// BARRIER-NEXT:    cf.assert %[[W_FREE0]], "moe-gpu-warp-mma host semantics: a staged slot written before a block barrier after the reads of the chunk it held (a warp may still read it)"
// BARRIER-NEXT:    memref.store %c0, %[[W_SLOTS]][%[[SLOT0]], %c0]
// BARRIER:         %[[BEFORE:.+]] = memref.load %[[BARRIERS]][%c0]
// BARRIER-NEXT:    %[[AFTER:.+]] = arith.addi %[[BEFORE]], %c1
// BARRIER-NEXT:    memref.store %[[AFTER]], %[[BARRIERS]][%c0]
// BARRIER-NEXT:    %[[COMPLETE:.+]] = memref.load %[[GROUPS]][%c1]
// BARRIER-NEXT:    memref.store %[[COMPLETE]], %[[GROUPS]][%c2]
// BARRIER-NEXT:    scf.for %[[CHUNK:.+]] = %c0 to %{{.+}} step %c1
// BARRIER-NEXT:      %[[NEXT:.+]] = arith.addi %[[CHUNK]], %c1
// BARRIER:           %[[SLOT:.+]] = arith.remui %[[CHUNK]], %c2
// BARRIER:           %[[GROUP:.+]] = memref.load %{{.+}}[%[[SLOT]], %c0]
// BARRIER:           %[[SHARED_GROUPS:.+]] = memref.load %[[GROUPS]][%c2]
// BARRIER-NEXT:      %[[SHARED:.+]] = arith.cmpi slt, %[[GROUP]], %[[SHARED_GROUPS]]
// BARRIER-NEXT:      cf.assert %[[SHARED]], "moe-gpu-warp-mma host semantics: a staged chunk read by the block before a barrier after its cp.async copies' wait (other threads' copies not yet visible)"
// BARRIER-NEXT:      %[[PASSED:.+]] = memref.load %[[BARRIERS]][%c0]
// BARRIER-NEXT:      %[[A_FROM:.+]] = memref.load %[[A_SLOTS]][%[[SLOT]], %c0]
// BARRIER-NEXT:      %[[A_VISIBLE:.+]] = arith.cmpi sge, %[[PASSED]], %[[A_FROM]]
// BARRIER-NEXT:      cf.assert %[[A_VISIBLE]], "moe-gpu-warp-mma host semantics: a staged slot read before a block barrier after the stores that wrote it (other threads' stores not yet visible)"
// BARRIER-NEXT:      %[[A_END:.+]] = memref.load %[[BARRIERS]][%c0]
// BARRIER-NEXT:      memref.store %[[A_END]], %[[A_SLOTS]][%[[SLOT]], %c1]
// BARRIER-NEXT:      %[[PASSED_W:.+]] = memref.load %[[BARRIERS]][%c0]
// BARRIER-NEXT:      %[[W_FROM:.+]] = memref.load %[[W_SLOTS]][%[[SLOT]], %c0]
// BARRIER-NEXT:      %[[W_VISIBLE:.+]] = arith.cmpi sge, %[[PASSED_W]], %[[W_FROM]]
// BARRIER-NEXT:      cf.assert %[[W_VISIBLE]], "moe-gpu-warp-mma host semantics: a staged slot read before a block barrier after the stores that wrote it (other threads' stores not yet visible)"
// BARRIER-NEXT:      %[[W_END:.+]] = memref.load %[[BARRIERS]][%c0]
// BARRIER-NEXT:      memref.store %[[W_END]], %[[W_SLOTS]][%[[SLOT]], %c1]
// BARRIER:             %[[NEXT_SLOT:.+]] = arith.remui %[[NEXT]], %c2
// BARRIER-NOT:         memref.store
// BARRIER:             %[[PASSED_NEXT:.+]] = memref.load %[[BARRIERS]][%c0]
// BARRIER-NEXT:        %[[READ_NEXT:.+]] = memref.load %[[A_SLOTS]][%[[NEXT_SLOT]], %c1]
// BARRIER-NEXT:        %[[FREE_NEXT:.+]] = arith.cmpi sgt, %[[PASSED_NEXT]], %[[READ_NEXT]]
// BARRIER-NEXT:        cf.assert %[[FREE_NEXT]], "moe-gpu-warp-mma host semantics: a staged slot written before a block barrier after the reads of the chunk it held (a warp may still read it)"
// BARRIER-NEXT:        %[[VISIBLE_NEXT:.+]] = arith.addi %[[PASSED_NEXT]], %c1
// BARRIER-NEXT:        memref.store %[[VISIBLE_NEXT]], %[[A_SLOTS]][%[[NEXT_SLOT]], %c0]
// BARRIER:           memref.store %{{.+}}, %[[GROUPS]][%c1]
// BARRIER-NEXT:      %[[LOOP_BEFORE:.+]] = memref.load %[[BARRIERS]][%c0]
// BARRIER-NEXT:      %[[LOOP_AFTER:.+]] = arith.addi %[[LOOP_BEFORE]], %c1
// BARRIER-NEXT:      memref.store %[[LOOP_AFTER]], %[[BARRIERS]][%c0]
// BARRIER-NEXT:      %[[NOW_COMPLETE:.+]] = memref.load %[[GROUPS]][%c1]
// BARRIER-NEXT:      memref.store %[[NOW_COMPLETE]], %[[GROUPS]][%c2]
// BARRIER-NEXT:    }

// With a chunk of wgmmas pending (3 slots each), a chunk's reads are in
// flight from its steps until the wait at the end of the next chunk retires
// them, before that chunk's barrier; the last chunk's end at the wait after
// the loop, and a barrier follows (before the host runs that chunk's steps
// late).
// LATE-BARRIER-LABEL: func.func @warpgroup_forall
// LATE-BARRIER:         %[[BARRIERS:.+]] = memref.alloca() : memref<1xindex>
// LATE-BARRIER-NEXT:    %[[A_SLOTS:.+]] = memref.alloca() : memref<3x2xindex>
// LATE-BARRIER-NEXT:    %[[W_SLOTS:.+]] = memref.alloca() : memref<3x2xindex>
// LATE-BARRIER:         scf.for %[[CHUNK:.+]] = %c0 to %{{.+}} step %c1
// LATE-BARRIER:           %[[SLOT:.+]] = arith.remui %[[CHUNK]], %c3
// LATE-BARRIER:           %[[IN_FLIGHT:.+]] = arith.constant 9223372036854775807 : index
// LATE-BARRIER-NEXT:      memref.store %[[IN_FLIGHT]], %[[A_SLOTS]][%[[SLOT]], %c1]
// LATE-BARRIER:           memref.store %[[IN_FLIGHT]], %[[W_SLOTS]][%[[SLOT]], %c1]
// LATE-BARRIER:           %[[EARLIER:.+]] = arith.subi %[[CHUNK]], %c1
// LATE-BARRIER-NEXT:      %[[ANY:.+]] = arith.cmpi uge, %[[CHUNK]], %c1
// LATE-BARRIER-NEXT:      scf.if %[[ANY]] {
// LATE-BARRIER-NEXT:        %[[RETIRED:.+]] = arith.remui %[[EARLIER]], %c3
// LATE-BARRIER-NEXT:        %[[PASSED:.+]] = memref.load %[[BARRIERS]][%c0]
// LATE-BARRIER-NEXT:        memref.store %[[PASSED]], %[[A_SLOTS]][%[[RETIRED]], %c1]
// LATE-BARRIER-NEXT:        %[[PASSED_W:.+]] = memref.load %[[BARRIERS]][%c0]
// LATE-BARRIER-NEXT:        memref.store %[[PASSED_W]], %[[W_SLOTS]][%[[RETIRED]], %c1]
// LATE-BARRIER-NEXT:      }
// LATE-BARRIER:           %[[BEFORE:.+]] = memref.load %[[BARRIERS]][%c0]
// LATE-BARRIER-NEXT:      arith.addi %[[BEFORE]], %c1
// LATE-BARRIER-NEXT:      memref.store %{{.+}}, %[[BARRIERS]][%c0]
// LATE-BARRIER:           scf.if %[[ANY]] {
// LATE-BARRIER-NEXT:        arith.muli %[[EARLIER]], %c64
// LATE-BARRIER:         cf.assert %{{.+}}, "moe-gpu-warp-mma host semantics: a cp.async copy still in flight after the tile's loop over K"
// LATE-BARRIER:         %[[LAST:.+]] = arith.subi %[[CHUNKS:.+]], %c1
// LATE-BARRIER-NEXT:    %[[ANY_LAST:.+]] = arith.cmpi uge, %[[CHUNKS]], %c1
// LATE-BARRIER-NEXT:    scf.if %[[ANY_LAST]] {
// LATE-BARRIER-NEXT:      %[[LAST_SLOT:.+]] = arith.remui %[[LAST]], %c3
// LATE-BARRIER-NEXT:      %[[PASSED_LAST:.+]] = memref.load %[[BARRIERS]][%c0]
// LATE-BARRIER-NEXT:      memref.store %[[PASSED_LAST]], %[[A_SLOTS]][%[[LAST_SLOT]], %c1]
// LATE-BARRIER-NEXT:      %[[PASSED_LAST_W:.+]] = memref.load %[[BARRIERS]][%c0]
// LATE-BARRIER-NEXT:      memref.store %[[PASSED_LAST_W]], %[[W_SLOTS]][%[[LAST_SLOT]], %c1]
// LATE-BARRIER-NEXT:    }
// LATE-BARRIER-NEXT:    %[[BEFORE_END:.+]] = memref.load %[[BARRIERS]][%c0]
// LATE-BARRIER-NEXT:    %[[AFTER_END:.+]] = arith.addi %[[BEFORE_END]], %c1
// LATE-BARRIER-NEXT:    memref.store %[[AFTER_END]], %[[BARRIERS]][%c0]
// LATE-BARRIER:         scf.if %[[ANY_LAST]] {
// LATE-BARRIER-NEXT:      arith.muli %[[LAST]], %c64

// CHECK-LABEL: func.func @warpgroup_forall
// CHECK:         scf.forall (%[[WARP:.+]]) in (4) {
// CHECK-DAG:       %[[A_BUF:.+]] = memref.alloca() {alignment = 64 : i64} : memref<2x8x8x8x8xbf16>
// CHECK-DAG:       %[[W_BUF:.+]] = memref.alloca() {alignment = 64 : i64} : memref<2x6x8x8x8xbf16>
// CHECK-DAG:       %[[ACC:.+]] = memref.alloca() : memref<32x5x4xf32>
// CHECK:           %[[RANK:.+]] = arith.remui %[[WARP]], %c4
// The first chunk, copied for the block's 128 threads.
// CHECK:           scf.for %{{.+}} = %c0{{.*}} to %c128{{.*}} step %c1
// CHECK:             vector.store %{{.+}}, %[[A_BUF]][%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}]
// CHECK:           scf.for %{{.+}} = %c0{{.*}} to %c128{{.*}} step %c1
// CHECK:             vector.store %{{.+}}, %[[W_BUF]][%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}]
// CHECK:           scf.for
// CHECK:             scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c32
// CHECK:               %[[A_DESC:.+]] = arith.ori %{{.+}}, %c274878431232_i64
// CHECK:               %[[W_DESC:.+]] = arith.ori %{{.+}}, %c274878431232_i64
// CHECK:               %[[A_FLAT:.+]] = memref.collapse_shape %[[A_BUF]] {{\[}}[0, 1, 2, 3, 4]] : memref<2x8x8x8x8xbf16> into memref<8192xbf16>
// CHECK:               %[[W_FLAT:.+]] = memref.collapse_shape %[[W_BUF]] {{\[}}[0, 1, 2, 3, 4]] : memref<2x6x8x8x8xbf16> into memref<6144xbf16>
// CHECK:               arith.shrui %[[A_DESC]], %c0_i64
// CHECK:               arith.shrui %[[A_DESC]], %c16_i64
// CHECK:               arith.shrui %[[A_DESC]], %c32_i64
// CHECK:               scf.for %[[LANE:.+]] = %c0{{.*}} to %c32{{.*}} step %c1
// CHECK:                 arith.muli %[[RANK]], %c16
// CHECK:                 scf.for %[[J:.+]] = %c0{{.*}} to %c5{{.*}} step %c1
// CHECK:                   memref.load %[[ACC]][%[[LANE]],
// CHECK:                   scf.for %{{.+}} = %c0{{.*}} to %c16{{.*}} step %c1
// CHECK:                     memref.load %[[A_FLAT]]
// CHECK:                     memref.load %[[W_FLAT]]
// CHECK:                     arith.mulf
// CHECK:                     arith.addf
// CHECK:                   memref.store %{{.+}}, %[[ACC]][%[[LANE]],
// CHECK-NOT:       nvvm.
// CHECK-NOT:       gpu.barrier
// CHECK:         } {mapping = [#gpu.warp<x>]}

// With wgmma-pending-chunks=1 the buffers have 3 slots, and the host runs
// a chunk's wgmmas one chunk late: after the next chunk's copies, which on
// the GPU overlap them, so that a copy into a slot a pending wgmma still
// reads would change the host's result too. The last chunk's run after the
// loop.
// LATE-LABEL: func.func @warpgroup_forall
// LATE-DAG:       %[[A_BUF:.+]] = memref.alloca() {alignment = 64 : i64} : memref<3x8x8x8x8xbf16>
// LATE-DAG:       %[[W_BUF:.+]] = memref.alloca() {alignment = 64 : i64} : memref<3x6x8x8x8xbf16>
// LATE:           %[[CHUNKS:.+]] = arith.ceildivui %{{.+}}, %c64
// LATE:           scf.for %[[CHUNK:.+]] = %c0 to %[[CHUNKS]] step %c1 {
// LATE:             vector.store %{{.+}}, %[[W_BUF]]
// LATE:             vector.store %{{.+}}, %[[A_BUF]]
// LATE:             %[[EARLIER:.+]] = arith.subi %[[CHUNK]], %c1
// LATE:             %[[ANY:.+]] = arith.cmpi uge, %[[CHUNK]], %c1
// LATE:             scf.if %[[ANY]] {
// LATE:               arith.muli %[[EARLIER]], %c64
// LATE:               arith.remui %[[EARLIER]], %c3
// LATE:               scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c32
// LATE:                 memref.collapse_shape %[[A_BUF]]
// LATE:           %[[LAST:.+]] = arith.subi %[[CHUNKS]], %c1
// LATE:           %[[LAST_ANY:.+]] = arith.cmpi uge, %[[CHUNKS]], %c1
// LATE:           scf.if %[[LAST_ANY]] {
// LATE:             arith.remui %[[LAST]], %c3
// LATE:             scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c32
// LATE:               memref.collapse_shape %[[A_BUF]]
// LATE-NOT:       nvvm.
// LATE:         } {mapping = [#gpu.warp<x>]}

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @warpgroup_forall(%x: memref<?x96xf32>, %w: memref<40x96xbf16>,
                            %y: memref<?x40xf32>, %n: index) {
  %rows = affine.min affine_map<()[s0] -> (s0, 64)>()[%n]
  %block_a = memref.subview %x[0, 0] [%rows, 96] [1, 1]
      : memref<?x96xf32> to memref<?x96xf32, strided<[96, 1]>>
  scf.forall (%warp) in (4) {
    %row = affine.min affine_map<()[s0, s1] -> (s0 * 16, s1)>()[%warp, %rows]
    %row_count = affine.min affine_map<()[s0, s1] -> (s1 - s0, 16)>()[%row, %rows]
    %a = memref.subview %block_a[%row, 0] [%row_count, 96] [1, 1]
        : memref<?x96xf32, strided<[96, 1]>> to memref<?x96xf32, strided<[96, 1], offset: ?>>
    %c = memref.subview %y[%row, 0] [%row_count, 40] [1, 1]
        : memref<?x40xf32> to memref<?x40xf32, strided<[40, 1], offset: ?>>
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %w : memref<?x96xf32, strided<[96, 1], offset: ?>>,
                     memref<40x96xbf16>)
        outs(%c : memref<?x40xf32, strided<[40, 1], offset: ?>>)
        attrs = {moe.segment_matmul, moe.warp_mma} {
    ^bb0(%in: f32, %wt: bf16, %acc: f32):
      %r = arith.truncf %in : f32 to bf16
      %re = arith.extf %r : bf16 to f32
      %we = arith.extf %wt : bf16 to f32
      %p = arith.mulf %re, %we : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
  } {mapping = [#gpu.warp<x>]}
  return
}

// RUN: moe-opt %s --moe-gpu-warp-mma="emulate-lanes=true wgmma=true warp-tile-rows=16 warp-tile-columns=128 tma-weights=true" --cse | FileCheck %s
// RUN: moe-opt %s --moe-gpu-warp-mma="emulate-lanes=true wgmma=true warp-tile-rows=16 warp-tile-columns=128 tma-weights=true" --cse | FileCheck %s --check-prefix=MODEL
// RUN: moe-opt %s --moe-gpu-warp-mma="emulate-lanes=true wgmma=true warp-tile-rows=16 warp-tile-columns=128 tma-weights=true tma-activations=true" --cse | FileCheck %s --check-prefix=HOST-A
// RUN: moe-opt %s --moe-gpu-warp-mma="emulate-lanes=true wgmma=true warp-tile-rows=16 warp-tile-columns=128 tma-weights=true tma-activations=true tma-empty-barriers=true" --cse | FileCheck %s --check-prefix=HOST-EMPTY

// On the host (host semantics) warp-mma-tma.mlir's tile copies W's boxes
// as TMA writes them, in each warp's turn: W's buffer [2, 48, 64] (an
// alloca on a 1,024-byte boundary), and for each of the box's 48 rows and
// 16-byte pieces (8 elements) along the chunk, the piece of the expert's
// [40, 96] rows of the tensor (the expert from W's view's offset) at (n +
// row, k + column) where inside its 40 rows and 96 columns, else zeros
// (copyStagePiece), stored at piece (column / 8) ^ (row % 8) of the
// row. Each wgmma then reads W where its descriptor's bits place an
// element: with the swizzling mode (bits 62-63) 1, at start + (row / 8) x
// stride + (row % 8) x 128 + 2 k, its bits 4-6 XORed with bits 7-9. No
// mbarriers (their model below), no TMA, no tensor map.
// CHECK-LABEL: func.func @tma_forall
// CHECK-SAME:    %[[EXPERTS:[^:]+]]: memref<2x40x96xbf16>
// CHECK-NOT:     nvgpu.tma
// CHECK-NOT:     nvgpu.mbarrier
// CHECK:         scf.forall
// CHECK:           %[[W_BUF:.+]] = memref.alloca() {alignment = 1024 : i64} : memref<2x48x64xbf16>
// CHECK:           %{{.+}}, %[[OFFSET:.+]], %{{.+}}:2, %{{.+}}:2 = memref.extract_strided_metadata
// CHECK:           %[[VIEW_ROW:.+]] = arith.divui %[[OFFSET]], %c96
// CHECK:           %[[EXPERT:.+]] = arith.divui %[[VIEW_ROW]], %c40
// CHECK:           %[[EXPERT_ROWS:.+]] = memref.subview %[[EXPERTS]][%[[EXPERT]], 0, 0] [1, 40, 96] [1, 1, 1] : memref<2x40x96xbf16> to memref<40x96xbf16
// CHECK:           %[[ROWS:.+]] = memref.dim %[[EXPERT_ROWS]], %c0
// CHECK:           %[[COLUMNS:.+]] = memref.dim %[[EXPERT_ROWS]], %c1
// CHECK:           scf.for %[[ROW:.+]] = %c0 to %c48 step %c1
// CHECK:             scf.for %[[COLUMN:.+]] = %c0 to %c64 step %c8
// CHECK:               %[[N:.+]] = arith.addi %{{.+}}, %[[ROW]]
// CHECK:               %[[K:.+]] = arith.addi %{{.+}}, %[[COLUMN]]
// CHECK:               %[[AT:.+]] = arith.divui %[[COLUMN]], %c8
// CHECK:               %[[IN_PATTERN:.+]] = arith.remui %[[ROW]], %c8
// CHECK:               %[[SWIZZLED:.+]] = arith.xori %[[AT]], %[[IN_PATTERN]]
// CHECK:               %[[TO:.+]] = arith.muli %[[SWIZZLED]], %c8
// CHECK:               %[[IN_N:.+]] = arith.cmpi ult, %[[N]], %[[ROWS]]
// CHECK:               %[[IN_K:.+]] = arith.cmpi ult, %[[K]], %[[COLUMNS]]
// CHECK:               %[[INSIDE:.+]] = arith.andi %[[IN_N]], %[[IN_K]]
// CHECK:               %[[PIECE:.+]] = scf.if %[[INSIDE]] -> (vector<8xbf16>) {
// CHECK:                 vector.load %[[EXPERT_ROWS]][%{{.+}}, %{{.+}}] : memref<40x96xbf16, strided<[96, 1], offset: ?>>, vector<8xbf16>
// CHECK:               } else {
// CHECK:                 arith.constant dense<0.000000e+00> : vector<8xbf16>
// CHECK:               vector.store %[[PIECE]], %[[W_BUF]][%{{.+}}, %[[ROW]], %[[TO]]]
// The wgmma's W element: the mode, then the swizzled address selected.
// CHECK:           arith.shrui %{{.+}}, %c62_i64
// CHECK:           %[[MODE:.+]] = arith.shrui %[[W_DESC:.+]], %c62_i64
// CHECK:           %[[SWIZZLED_W:.+]] = arith.cmpi eq, %[[MODE]], %c1_i64
// CHECK:           scf.for
// CHECK:             %[[LINE:.+]] = arith.divui %[[LINEAR:.+]], %c128
// CHECK-NEXT:        %[[LINE_IN_PATTERN:.+]] = arith.remui %[[LINE]], %c8
// CHECK-NEXT:        %[[FLIP:.+]] = arith.muli %[[LINE_IN_PATTERN]], %c16{{(_[0-9]+)?}}
// CHECK-NEXT:        %[[XORED:.+]] = arith.xori %[[LINEAR]], %[[FLIP]]
// CHECK-NEXT:        arith.select %{{.+}}, %[[XORED]], %{{.+}} : index
// CHECK-NOT:     nvgpu.mbarrier
// CHECK-NOT:     nvgpu.tma

// With tma-activations, A's boxes are copied as W's are, from the rows A's
// view is a window of (%x: its rows known at run time, zeros past them),
// into A's swizzled slots ([2, 64, 64], on a 1,024-byte boundary, before
// W's). The slot's mbarrier model expects both boxes' bytes (14,336), and
// each box's bytes land after its copy: W's 6,144, then A's 8,192.
// HOST-A-LABEL: func.func @tma_forall
// HOST-A-SAME:    (%[[X:[^:]+]]: memref<?x96xbf16>
// HOST-A-NOT:     nvgpu.device_async_copy
// HOST-A:         %[[A_BUF:.+]] = memref.alloca() {alignment = 1024 : i64} : memref<2x64x64xbf16>
// HOST-A-NEXT:    %[[W_BUF:.+]] = memref.alloca() {alignment = 1024 : i64} : memref<2x48x64xbf16>
// HOST-A:         %[[BARS:.+]] = memref.alloca() : memref<2x4xindex>
// HOST-A:         %[[PENDING:.+]] = memref.load %[[BARS]][%[[SLOT:.+]], %c2]
// HOST-A-NEXT:    %c14336 = arith.constant 14336 : index
// HOST-A-NEXT:    arith.addi %[[PENDING]], %c14336
// HOST-A:         vector.store %{{.+}}, %[[W_BUF]][%[[SLOT]], %{{.+}}, %{{.+}}]
// HOST-A:         %c6144 = arith.constant 6144 : index
// HOST-A:         %[[X_ROWS:.+]] = memref.dim %[[X]], %c0 : memref<?x96xbf16>
// HOST-A:         scf.for %[[ROW:.+]] = %c0 to %c64 step %c1
// HOST-A:           scf.for %[[COLUMN:.+]] = %c0 to %c64 step %c8
// HOST-A:             %[[AT:.+]] = arith.divui %[[COLUMN]], %c8
// HOST-A-NEXT:        %[[IN_PATTERN:.+]] = arith.remui %[[ROW]], %c8
// HOST-A-NEXT:        %[[SWIZZLED:.+]] = arith.xori %[[AT]], %[[IN_PATTERN]]
// HOST-A-NEXT:        %[[TO:.+]] = arith.muli %[[SWIZZLED]], %c8
// HOST-A-NEXT:        %[[IN_ROWS:.+]] = arith.cmpi ult, %{{.+}}, %[[X_ROWS]]
// HOST-A:             vector.load %[[X]][%{{.+}}, %{{.+}}] : memref<?x96xbf16>, vector<8xbf16>
// HOST-A:             vector.store %{{.+}}, %[[A_BUF]][%[[SLOT]], %[[ROW]], %[[TO]]]
// HOST-A:         %c8192 = arith.constant 8192 : index
// HOST-A-NEXT:    %{{.+}} = arith.cmpi uge, %{{.+}}, %c8192
// HOST-A-NEXT:    cf.assert %{{.+}}, "moe-gpu-warp-mma host semantics: a TMA box lands more bytes than its slot's mbarrier expects"

// With tma-empty-barriers too, no block barrier orders the boxes after the
// reads (no model of one, [1] of index), and the empty mbarriers' model
// does, [slot, field] (releases of the slot's chunks, the issuing thread's
// waits for them, the chunks whose wgmmas the warp's waits retired), set
// up with the full ones' for the run. Before the
// boxes of chunk c + 1 past the slots' first (use u = (c + 1) / 2 of slot
// (c + 1) % 2; none before the loop): the slot's use u - 1 released, the
// parity the GPU passes ((u - 1) % 2) naming that phase, and the slot's
// releases waited for in order. After chunk c's steps: its wgmmas retired
// (no chunk pending: the wait retires chunk c itself), then this warp's
// release of chunk c's slot (use c / 2), in order and after the retiring.
// HOST-EMPTY-LABEL: func.func @tma_forall
// HOST-EMPTY-NOT:     memref.alloca() : memref<1xindex>
// HOST-EMPTY:         %[[BARS:.+]] = memref.alloca() : memref<2x4xindex>
// HOST-EMPTY-NEXT:    %[[EMPTY:.+]] = memref.alloca() : memref<2x3xindex>
// HOST-EMPTY:         memref.store %c0, %[[BARS]][%c1, %c3]
// HOST-EMPTY-NEXT:    memref.store %c0, %[[EMPTY]][%c0, %c0]
// HOST-EMPTY-NEXT:    memref.store %c0, %[[EMPTY]][%c0, %c1]
// HOST-EMPTY-NEXT:    memref.store %c0, %[[EMPTY]][%c0, %c2]
// HOST-EMPTY-NEXT:    memref.store %c0, %[[EMPTY]][%c1, %c0]
// HOST-EMPTY-NEXT:    memref.store %c0, %[[EMPTY]][%c1, %c1]
// HOST-EMPTY-NEXT:    memref.store %c0, %[[EMPTY]][%c1, %c2]
// HOST-EMPTY-NOT:     %[[EMPTY]]
// HOST-EMPTY:         scf.for %[[CHUNK:.+]] = %c0 to %{{[0-9]+}} step %c1 {
// HOST-EMPTY-NEXT:      %[[NEXT:.+]] = arith.addi %[[CHUNK]], %c1
// HOST-EMPTY:           %[[SLOT:.+]] = arith.remui %[[NEXT]], %c2
// HOST-EMPTY-NEXT:      %[[REUSED:.+]] = arith.cmpi uge, %[[NEXT]], %c2
// HOST-EMPTY-NEXT:      %[[USE:.+]] = arith.divui %[[NEXT]], %c2
// HOST-EMPTY-NEXT:      scf.if %[[REUSED]] {
// HOST-EMPTY-NEXT:        %[[PREVIOUS:.+]] = arith.subi %[[USE]], %c1
// HOST-EMPTY-NEXT:        %[[ODD:.+]] = arith.remui %[[PREVIOUS]], %c2
// HOST-EMPTY-NEXT:        %[[PARITY:.+]] = arith.cmpi ne, %[[ODD]], %c0
// HOST-EMPTY-NEXT:        %[[RELEASED:.+]] = memref.load %[[EMPTY]][%[[SLOT]], %c0]
// HOST-EMPTY-NEXT:        %[[ENOUGH:.+]] = arith.cmpi uge, %[[RELEASED]], %[[USE]]
// HOST-EMPTY-NEXT:        cf.assert %[[ENOUGH]], "moe-gpu-warp-mma host semantics: TMA boxes issued into a slot before the reads of the chunk it held were released (on the GPU the issuing thread would wait forever)"
// HOST-EMPTY-NEXT:        %[[ODD_RELEASED:.+]] = arith.remui %[[RELEASED]], %c2
// HOST-EMPTY-NEXT:        %[[IN_PROGRESS_ODD:.+]] = arith.cmpi ne, %[[ODD_RELEASED]], %c0
// HOST-EMPTY-NEXT:        %[[RETURNS:.+]] = arith.cmpi ne, %[[IN_PROGRESS_ODD]], %[[PARITY]]
// HOST-EMPTY-NEXT:        cf.assert %[[RETURNS]], "moe-gpu-warp-mma host semantics: the parity a wait on a TMA slot's empty mbarrier passes names another phase than the release of the chunk the slot held"
// HOST-EMPTY-NEXT:        %[[ACQUIRED:.+]] = memref.load %[[EMPTY]][%[[SLOT]], %c1]
// HOST-EMPTY-NEXT:        %[[AFTER:.+]] = arith.addi %[[ACQUIRED]], %c1
// HOST-EMPTY-NEXT:        %[[IN_ORDER:.+]] = arith.cmpi eq, %[[AFTER]], %[[USE]]
// HOST-EMPTY-NEXT:        cf.assert %[[IN_ORDER]], "moe-gpu-warp-mma host semantics: a TMA slot's releases waited for out of order or twice"
// HOST-EMPTY-NEXT:        memref.store %[[USE]], %[[EMPTY]][%[[SLOT]], %c1]
// HOST-EMPTY-NEXT:      }
// HOST-EMPTY:           %[[READ_SLOT:.+]] = arith.remui %[[CHUNK]], %c2
// HOST-EMPTY:           %[[READ_USE:.+]] = arith.divui %[[CHUNK]], %c2
// HOST-EMPTY-NEXT:      %[[RETIRED_TO:.+]] = arith.addi %[[READ_USE]], %c1
// HOST-EMPTY-NEXT:      memref.store %[[RETIRED_TO]], %[[EMPTY]][%[[READ_SLOT]], %c2]
// HOST-EMPTY-NEXT:      %[[DONE:.+]] = memref.load %[[EMPTY]][%[[READ_SLOT]], %c0]
// HOST-EMPTY-NEXT:      %[[RELEASE_IN_ORDER:.+]] = arith.cmpi eq, %[[DONE]], %[[READ_USE]]
// HOST-EMPTY-NEXT:      cf.assert %[[RELEASE_IN_ORDER]], "moe-gpu-warp-mma host semantics: a TMA slot's chunks released out of order or twice"
// HOST-EMPTY-NEXT:      %[[RETIRED:.+]] = memref.load %[[EMPTY]][%[[READ_SLOT]], %c2]
// HOST-EMPTY-NEXT:      %[[AFTER_RETIRING:.+]] = arith.cmpi ugt, %[[RETIRED]], %[[READ_USE]]
// HOST-EMPTY-NEXT:      cf.assert %[[AFTER_RETIRING]], "moe-gpu-warp-mma host semantics: a TMA slot released before the wgmmas that read it were waited for (on the GPU the next boxes may land while they read)"
// HOST-EMPTY-NEXT:      %[[ONE_MORE:.+]] = arith.addi %[[DONE]], %c1
// HOST-EMPTY-NEXT:      memref.store %[[ONE_MORE]], %[[EMPTY]][%[[READ_SLOT]], %c0]

// The slots' mbarriers as a model, [slot, field] (phases completed,
// arrivals and bytes pending, phases waited for), set up for the run of
// the tile: no phase, one arrival (the issuing thread's) pending. Chunk 0's
// boxes arrive expecting 48 rows of 128 bytes, each box's bytes landing
// after its copy, a phase completing where nothing is pending; the wait
// for chunk c (use u = c / 2 of slot c % 2) finds exactly u + 1 phases
// complete, the parity the GPU would pass ((u % 2) != 0) naming the
// phase, and the slot's earlier chunks waited for; after the loop, no
// phase in progress and every phase waited for, in each slot.
// MODEL-LABEL: func.func @tma_forall
// MODEL:         %[[BARS:.+]] = memref.alloca() : memref<2x4xindex>
// MODEL:         memref.store %c0, %[[BARS]][%c0, %c0]
// MODEL-NEXT:    memref.store %c1, %[[BARS]][%c0, %c1]
// MODEL:         memref.store %c0, %[[BARS]][%c0, %c2]
// MODEL:         memref.store %c0, %[[BARS]][%c0, %c3]
// MODEL-NEXT:    memref.store %c0, %[[BARS]][%c1, %c0]
// MODEL:         %[[ARRIVALS:.+]] = memref.load %[[BARS]][%[[SLOT:.+]], %c1]
// MODEL-NEXT:    %[[ANY:.+]] = arith.cmpi uge, %[[ARRIVALS]], %c1
// MODEL-NEXT:    cf.assert %[[ANY]], "moe-gpu-warp-mma host semantics: an arrival on a TMA slot's mbarrier beyond its count"
// MODEL:         arith.addi %{{.+}}, %c6144
// MODEL:         scf.if
// MODEL-NEXT:      %[[PHASES:.+]] = memref.load %[[BARS]][%[[SLOT]], %c0]
// MODEL-NEXT:      %[[NEXT_PHASE:.+]] = arith.addi %[[PHASES]], %c1
// MODEL-NEXT:      memref.store %[[NEXT_PHASE]], %[[BARS]][%[[SLOT]], %c0]
// MODEL-NEXT:      memref.store %c1, %[[BARS]][%[[SLOT]], %c1]
// MODEL:         scf.for
// MODEL:         %[[PENDING:.+]] = memref.load %[[BARS]][%[[SLOT]], %c2]
// MODEL-NEXT:    %[[FITS:.+]] = arith.cmpi uge, %[[PENDING]], %c6144
// MODEL-NEXT:    cf.assert %[[FITS]], "moe-gpu-warp-mma host semantics: a TMA box lands more bytes than its slot's mbarrier expects"
// MODEL:         %[[USE:.+]] = arith.divui %c0, %c2
// MODEL-NEXT:    %[[ODD_USE:.+]] = arith.remui %[[USE]], %c2
// MODEL-NEXT:    %[[PARITY:.+]] = arith.cmpi ne, %[[ODD_USE]], %c0
// MODEL-NEXT:    %[[DONE:.+]] = memref.load %[[BARS]][%[[SLOT]], %c0]
// MODEL-NEXT:    %[[NEEDED:.+]] = arith.addi %[[USE]], %c1
// MODEL-NEXT:    %[[ENOUGH:.+]] = arith.cmpi uge, %[[DONE]], %[[NEEDED]]
// MODEL-NEXT:    cf.assert %[[ENOUGH]], "moe-gpu-warp-mma host semantics: a wait for a TMA chunk whose boxes never complete its slot's mbarrier phase (on the GPU it would wait forever)"
// MODEL-NEXT:    %[[NOT_TOO_MANY:.+]] = arith.cmpi ule, %[[DONE]], %[[NEEDED]]
// MODEL-NEXT:    cf.assert %[[NOT_TOO_MANY]], "moe-gpu-warp-mma host semantics: a later TMA chunk's boxes landed in a slot before its chunk was waited for"
// MODEL-NEXT:    %[[ODD_PHASE:.+]] = arith.remui %[[DONE]], %c2
// MODEL-NEXT:    %[[IN_PROGRESS_ODD:.+]] = arith.cmpi ne, %[[ODD_PHASE]], %c0
// MODEL-NEXT:    %[[RETURNS:.+]] = arith.cmpi ne, %[[IN_PROGRESS_ODD]], %[[PARITY]]
// MODEL-NEXT:    cf.assert %[[RETURNS]], "moe-gpu-warp-mma host semantics: the parity a wait on a TMA slot's mbarrier passes names another phase than its chunk's"
// MODEL-NEXT:    %[[WAITED:.+]] = memref.load %[[BARS]][%[[SLOT]], %c3]
// MODEL-NEXT:    %[[IN_ORDER:.+]] = arith.cmpi eq, %[[WAITED]], %[[USE]]
// MODEL-NEXT:    cf.assert %[[IN_ORDER]], "moe-gpu-warp-mma host semantics: a TMA slot's chunks waited for out of order or twice"
// MODEL-NEXT:    memref.store %[[NEEDED]], %[[BARS]][%[[SLOT]], %c3]
// MODEL:         scf.for
// MODEL:           cf.assert %{{.+}}, "moe-gpu-warp-mma host semantics: an arrival
// MODEL:           cf.assert %{{.+}}, "moe-gpu-warp-mma host semantics: a wait for a TMA chunk
// MODEL:         cf.assert %{{.+}}, "moe-gpu-warp-mma host semantics: a TMA slot's mbarrier invalidated with a phase in progress (boxes still in flight)"
// MODEL:         %[[SLOT0_WAITED:.+]] = memref.load %[[BARS]][%c0, %c3]
// MODEL-NEXT:    %[[SLOT0_PHASES:.+]] = memref.load %[[BARS]][%c0, %c0]
// MODEL-NEXT:    %[[ALL_WAITED:.+]] = arith.cmpi eq, %[[SLOT0_WAITED]], %[[SLOT0_PHASES]]
// MODEL-NEXT:    cf.assert %[[ALL_WAITED]], "moe-gpu-warp-mma host semantics: TMA boxes landed that no thread waited for"
// MODEL:         cf.assert %{{.+}}, "moe-gpu-warp-mma host semantics: a TMA slot's mbarrier invalidated
// MODEL:         memref.load %[[BARS]][%c1, %c3]
// MODEL:         cf.assert %{{.+}}, "moe-gpu-warp-mma host semantics: TMA boxes landed that no thread waited for"

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @tma_forall(%x: memref<?x96xbf16>, %experts: memref<2x40x96xbf16>,
                      %y: memref<?x40xf32>, %n: index, %e: index) {
  %w = memref.subview %experts[%e, 0, 0] [1, 40, 96] [1, 1, 1]
      : memref<2x40x96xbf16> to memref<40x96xbf16, strided<[96, 1], offset: ?>>
  %rows = affine.min affine_map<()[s0] -> (s0, 64)>()[%n]
  %block_a = memref.subview %x[0, 0] [%rows, 96] [1, 1]
      : memref<?x96xbf16> to memref<?x96xbf16, strided<[96, 1]>>
  scf.forall (%warp) in (4) {
    %row = affine.min affine_map<()[s0, s1] -> (s0 * 16, s1)>()[%warp, %rows]
    %row_count = affine.min affine_map<()[s0, s1] -> (s1 - s0, 16)>()[%row, %rows]
    %a = memref.subview %block_a[%row, 0] [%row_count, 96] [1, 1]
        : memref<?x96xbf16, strided<[96, 1]>> to memref<?x96xbf16, strided<[96, 1], offset: ?>>
    %c = memref.subview %y[%row, 0] [%row_count, 40] [1, 1]
        : memref<?x40xf32> to memref<?x40xf32, strided<[40, 1], offset: ?>>
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %w : memref<?x96xbf16, strided<[96, 1], offset: ?>>,
                     memref<40x96xbf16, strided<[96, 1], offset: ?>>)
        outs(%c : memref<?x40xf32, strided<[40, 1], offset: ?>>)
        attrs = {moe.segment_matmul, moe.warp_mma} {
    ^bb0(%in: bf16, %wt: bf16, %acc: f32):
      %ae = arith.extf %in : bf16 to f32
      %we = arith.extf %wt : bf16 to f32
      %p = arith.mulf %ae, %we : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
  } {mapping = [#gpu.warp<x>]}
  return
}

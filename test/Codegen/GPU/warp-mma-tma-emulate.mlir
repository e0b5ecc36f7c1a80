// RUN: moe-opt %s --moe-gpu-warp-mma="emulate-lanes=true wgmma=true warp-tile-rows=16 warp-tile-columns=128 tma-weights=true" --cse | FileCheck %s

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
// mbarriers, no TMA, no tensor map.
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

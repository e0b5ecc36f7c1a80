// RUN: moe-opt %s --moe-gpu-distribute="row-block=32 threads=64" --split-input-file | FileCheck %s
// RUN: moe-opt %s --moe-gpu-distribute="row-block=32 threads=64 tensor-cores=false" --split-input-file | FileCheck %s --check-prefix=FFMA
// RUN: moe-opt %s --moe-gpu-distribute="row-block=32 threads=64 tf32=true" --split-input-file | FileCheck %s --check-prefix=TF32
// RUN: moe-opt %s --moe-gpu-distribute="row-block=64 threads=64 warp-tile-rows=64" --split-input-file | FileCheck %s --check-prefix=ROWS64
// RUN: not moe-opt %s --moe-gpu-distribute="warp-tile-rows=40" --split-input-file 2>&1 | FileCheck %s --check-prefix=ROWS40
// RUN: moe-opt %s --moe-gpu-distribute="row-block=64 threads=128 warp-rows=2" --split-input-file --canonicalize | FileCheck %s --check-prefix=GRID
// RUN: not moe-opt %s --moe-gpu-distribute="row-block=32 threads=128 warp-rows=2" --split-input-file 2>&1 | FileCheck %s --check-prefix=GRID-ROWS
// RUN: not moe-opt %s --moe-gpu-distribute="row-block=96 threads=128 warp-rows=3 warp-tile-rows=32" --split-input-file 2>&1 | FileCheck %s --check-prefix=GRID-WARPS
// RUN: moe-opt %s --moe-gpu-distribute="row-block=64 threads=128 warp-rows=4 warp-tile-rows=16 warp-tile-columns=128" --split-input-file --canonicalize | FileCheck %s --check-prefix=WARPGROUP
// RUN: not moe-opt %s --moe-gpu-distribute="warp-tile-columns=12" --split-input-file 2>&1 | FileCheck %s --check-prefix=COLUMNS12
// RUN: moe-opt %s --moe-gpu-distribute="row-block=64 threads=128 warp-rows=4 warp-tile-rows=16 warp-tile-columns=8 column-block=8 ungated-column-block=16 ungated-warp-tile-columns=16" --split-input-file --canonicalize | FileCheck %s --check-prefix=UNGATED
// RUN: not moe-opt %s --moe-gpu-distribute="ungated-warp-tile-columns=264" --split-input-file 2>&1 | FileCheck %s --check-prefix=UNGATED264
// RUN: not moe-opt %s --moe-gpu-distribute="ungated-column-block=-1" --split-input-file 2>&1 | FileCheck %s --check-prefix=UNGATED-BLOCK

// A segment matmul with BF16 weights takes tensor cores: its activations
// are rounded to bf16 in its body, its columns (N = 24) split over the
// block's two warps (12 each), and each warp's part into warp tiles of at
// most 32 rows by 32 columns marked moe.warp_mma, for moe-gpu-warp-mma
// (2 x 4 mma.sync tiles sharing their fragments). Without
// tensor cores it spreads over threads, its activations unrounded: the 24
// columns and 2 ways of the rows (threads 0-23 on rows 0, 2, ...; 24-47 on
// rows 1, 3, ...), each output element summed in a register.

// CHECK-LABEL: func.func @bf16_weights
// CHECK:         scf.forall (%{{.+}}) in (%{{.+}}) {
// CHECK:           scf.while
// CHECK:           scf.if
// CHECK:             scf.forall (%[[W:.+]]) in (2) {
// CHECK:               memref.subview %{{.+}}[%{{.+}}, 0] [12, 32]
// CHECK:               memref.subview %{{.+}}[0, %{{.+}}] [%{{.+}}, 12]
// CHECK:               scf.for %[[M:.+]] = %{{.+}} to %{{.+}} step %c32{{.*}} {
// CHECK:                 scf.for %[[N:.+]] = %{{.+}} to %c12 step %c32{{.*}} {
// CHECK:                   %[[ROWS:.+]] = affine.min {{.*}}(%[[M]])
// CHECK:                   %[[COLS:.+]] = affine.min {{.*}}(%[[N]])
// CHECK:                   %[[A:.+]] = memref.subview %{{.+}}[%[[M]], 0] [%[[ROWS]], 32]
// CHECK:                   %[[B:.+]] = memref.subview %{{.+}}[%[[N]], 0] [%[[COLS]], 32]
// CHECK:                   %[[C:.+]] = memref.subview %{{.+}}[%[[M]], %[[N]]] [%[[ROWS]], %[[COLS]]]
// CHECK:                   linalg.generic
// CHECK-SAME:                ins(%[[A]], %[[B]] : memref<?x32xf32, strided<[32, 1], offset: ?>>, memref<?x32xbf16, strided<[32, 1], offset: ?>>)
// CHECK-SAME:                outs(%[[C]] : memref<?x?xf32, strided<[24, 1], offset: ?>>)
// CHECK-SAME:                attrs = {moe.segment_matmul, moe.warp_mma}
// CHECK-NEXT:              ^bb0(%[[X:.+]]: f32, %[[Y:.+]]: bf16, %[[ACC:.+]]: f32):
// CHECK-NEXT:                %[[XR:.+]] = arith.truncf %[[X]] : f32 to bf16
// CHECK-NEXT:                %[[XE:.+]] = arith.extf %[[XR]] : bf16 to f32
// CHECK-NEXT:                %[[YE:.+]] = arith.extf %[[Y]] : bf16 to f32
// CHECK-NEXT:                %[[P:.+]] = arith.mulf %[[XE]], %[[YE]] : f32
// CHECK-NEXT:                arith.addf %[[ACC]], %[[P]] : f32
// CHECK:             } {mapping = [#gpu.warp<x>]}
// CHECK:         } {mapping = [#gpu.block<x>]}

// With warp-tile-rows=64 each warp walks its rows in tiles of 64.
// ROWS64-LABEL: func.func @bf16_weights
// ROWS64:         scf.forall (%{{.+}}) in (2) {
// ROWS64:           scf.for %[[M:.+]] = %{{.+}} to %{{.+}} step %c64{{.*}} {
// ROWS64:             affine.min {{.*}}(%[[M]])
// ROWS64:             linalg.generic
// ROWS64-SAME:          attrs = {moe.segment_matmul, moe.warp_mma}
// ROWS40: error: moe-gpu-distribute: warp-tile-rows must be 16, 32, 48 or 64, not 40

// On a grid of 2 rows of warps (4 warps: 2 x 2), a warp takes one warp tile
// of the block's 64 rows, from row 32 (warp / 2), none past the block's
// last row, and its grid column's 12 of the 24 columns (warp % 2), in one
// tile with no loop: every warp reaches its tile (see moe-gpu-warp-mma's
// staging, which stages the block's rows for the warps' windows).
// GRID-DAG:     #[[$FIRST_ROW:.+]] = affine_map<(d0)[s0] -> ((d0 floordiv 2) * 32, s0)>
// GRID-DAG:     #[[$TILE:.+]] = affine_map<(d0)[s0] -> (-d0 + s0, 32)>
// GRID-LABEL: func.func @bf16_weights
// GRID:         scf.forall (%[[W:.+]]) in (4) {
// GRID-NOT:       scf.for
// GRID:           %[[COLUMN_WARP:.+]] = arith.remui %[[W]], %c2
// GRID:           %[[AT:.+]] = arith.muli %[[COLUMN_WARP]], %c12
// GRID:           %[[FIRST:.+]] = arith.minui %[[AT]], %c24
// GRID:           %[[ROW:.+]] = affine.min #[[$FIRST_ROW:.+]](%[[W]])[%[[ROWS:.+]]]
// GRID:           %[[COUNT:.+]] = affine.min #[[$TILE:.+]](%[[ROW]])[%[[ROWS]]]
// GRID:           %[[A:.+]] = memref.subview %{{.+}}[%[[ROW]], 0] [%[[COUNT]], 32]
// GRID:           %[[B:.+]] = memref.subview %{{.+}}[%[[FIRST]], 0] [%{{.+}}, 32]
// GRID:           %[[C:.+]] = memref.subview %{{.+}}[%[[ROW]], %[[FIRST]]] [%[[COUNT]], %{{.+}}]
// GRID:           linalg.generic
// GRID-SAME:        ins(%[[A]], %[[B]] :
// GRID-SAME:        outs(%[[C]] :
// GRID-SAME:        attrs = {moe.segment_matmul, moe.warp_mma}
// GRID:         } {mapping = [#gpu.warp<x>]}
// GRID-ROWS: error: moe-gpu-distribute: warp-rows must be positive, and above 1 divide the block's warps (threads / 32) with row-block = warp-rows x warp-tile-rows, not warp-rows=2 threads=128 row-block=32 warp-tile-rows=32
// GRID-WARPS: error: moe-gpu-distribute: warp-rows must be positive{{.*}}not warp-rows=3 threads=128

// As one warpgroup (moe-nvptx-pipeline's wgmma): 4 rows of one warp, each
// warp 16 of the block's 64 rows, from row 16 warp, and all 24 columns in
// one tile of up to 128, with no loop.
// WARPGROUP-DAG:     #[[$FIRST_ROW:.+]] = affine_map<(d0)[s0] -> (s0, d0 * 16)>
// WARPGROUP-DAG:     #[[$TILE:.+]] = affine_map<(d0)[s0] -> (-d0 + s0, 16)>
// WARPGROUP-LABEL: func.func @bf16_weights
// WARPGROUP:         %[[B:.+]] = memref.subview %{{.+}}[%{{.+}}, 0, 0] [1, 24, 32]
// WARPGROUP:         scf.forall (%[[W:.+]]) in (4) {
// WARPGROUP-NOT:       scf.for
// WARPGROUP:           %[[ROW:.+]] = affine.min #[[$FIRST_ROW]](%[[W]])[%[[ROWS:.+]]]
// WARPGROUP:           %[[COUNT:.+]] = affine.min #[[$TILE]](%[[ROW]])[%[[ROWS]]]
// WARPGROUP:           %[[A:.+]] = memref.subview %{{.+}}[%[[ROW]], 0] [%[[COUNT]], 32]
// WARPGROUP:           %[[C:.+]] = memref.subview %{{.+}}[%[[ROW]], 0] [%[[COUNT]], 24]
// WARPGROUP:           linalg.generic
// WARPGROUP-SAME:        ins(%[[A]], %[[B]] :
// WARPGROUP-SAME:        outs(%[[C]] :
// WARPGROUP-SAME:        attrs = {moe.segment_matmul, moe.warp_mma}
// WARPGROUP:         } {mapping = [#gpu.warp<x>]}
// COLUMNS12: error: moe-gpu-distribute: warp-tile-columns must be a multiple of 8 from 8 to 128, not 12

// A matmul outside a gated FFN takes ungated-column-block's columns a
// block and ungated-warp-tile-columns' a warp tile (moe-nvptx-pipeline's
// wgmma-wide-ungated: twice a gated tile's, as many accumulators): here
// 2 column blocks of 16 (the gated FFN below takes 3 of 8), each warp's
// 16 columns one tile, with no loop.
// UNGATED-LABEL: func.func @bf16_weights
// UNGATED:         %[[SLOTS:.+]] = arith.addi %{{.+}}, %c4 : index
// UNGATED:         %[[BLOCKS:.+]] = arith.muli %[[SLOTS]], %c2 : index
// UNGATED:         scf.forall (%[[B:.+]]) in (%[[BLOCKS]]) {
// UNGATED:           %[[COLUMN_BLOCK:.+]] = arith.divui %[[B]], %[[SLOTS]]
// UNGATED:           arith.muli %[[COLUMN_BLOCK]], %c16 : index
// UNGATED:           scf.forall (%{{.+}}) in (4) {
// UNGATED-NOT:         scf.for
// UNGATED:             linalg.generic
// UNGATED-SAME:          attrs = {moe.segment_matmul, moe.warp_mma}
// UNGATED:           } {mapping = [#gpu.warp<x>]}
// UNGATED264: error: moe-gpu-distribute: ungated-warp-tile-columns must be 0 or a multiple of 8 from 8 to 256, not 264
// UNGATED-BLOCK: error: moe-gpu-distribute: ungated-column-block must not be negative, not -1

// FFMA-LABEL: func.func @bf16_weights
// FFMA-NOT:     moe.warp_mma
// FFMA-NOT:     arith.truncf
// FFMA:         scf.forall (%{{.+}}) in (48) {
// FFMA:           %[[ACC:.+]] = memref.load
// FFMA:           %[[SUM:.+]] = scf.for {{.+}} iter_args(%[[PARTIAL:.+]] = %[[ACC]]) -> (f32) {
// FFMA:             arith.mulf
// FFMA:             %[[NEXT:.+]] = arith.addf %[[PARTIAL]]
// FFMA:             scf.yield %[[NEXT]]
// FFMA:           memref.store %[[SUM]]
// FFMA:         } {mapping = [#gpu.thread<x>]}
// FFMA-NOT:     #gpu.warp
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @bf16_weights(%offsets: memref<5xi32>, %in: memref<?x32xf32>,
                        %weights: memref<4x24x32xbf16>,
                        %out: memref<?x24xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %e = %c0 to %c4 step %c1 {
    %b = memref.load %offsets[%e] : memref<5xi32>
    %begin = arith.index_cast %b : i32 to index
    %next = arith.addi %e, %c1 : index
    %n = memref.load %offsets[%next] : memref<5xi32>
    %end = arith.index_cast %n : i32 to index
    %size = arith.subi %end, %begin : index
    %any = arith.cmpi sgt, %size, %c0 : index
    scf.if %any {
      %src = memref.subview %in[%begin, 0] [%size, 32] [1, 1]
          : memref<?x32xf32> to memref<?x32xf32, strided<[32, 1], offset: ?>>
      %w = memref.subview %weights[%e, 0, 0] [1, 24, 32] [1, 1, 1]
          : memref<4x24x32xbf16> to memref<24x32xbf16, strided<[32, 1], offset: ?>>
      %dst = memref.subview %out[%begin, 0] [%size, 24] [1, 1]
          : memref<?x24xf32> to memref<?x24xf32, strided<[24, 1], offset: ?>>
      linalg.generic {indexing_maps = [#a, #w, #c],
                      iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%src, %w : memref<?x32xf32, strided<[32, 1], offset: ?>>,
                         memref<24x32xbf16, strided<[32, 1], offset: ?>>)
          outs(%dst : memref<?x24xf32, strided<[24, 1], offset: ?>>)
          attrs = {moe.segment_matmul} {
      ^bb0(%x: f32, %y: bf16, %acc: f32):
        %ye = arith.extf %y : bf16 to f32
        %p = arith.mulf %x, %ye : f32
        %s = arith.addf %acc, %p : f32
        linalg.yield %s : f32
      }
    }
  } {moe.segment_loop}
  return
}

// -----

// F16 weights take tensor cores the same way, their activations rounded to
// f16.

// CHECK-LABEL: func.func @f16_weights
// CHECK:         scf.forall (%{{.+}}) in (2) {
// CHECK:           linalg.generic
// CHECK-SAME:        attrs = {moe.segment_matmul, moe.warp_mma}
// CHECK-NEXT:      ^bb0(%[[X:.+]]: f32, %[[Y:.+]]: f16, %[[ACC:.+]]: f32):
// CHECK-NEXT:        %[[XR:.+]] = arith.truncf %[[X]] : f32 to f16
// CHECK-NEXT:        %[[XE:.+]] = arith.extf %[[XR]] : f16 to f32
// CHECK:         } {mapping = [#gpu.warp<x>]}

// FFMA-LABEL: func.func @f16_weights
// FFMA-NOT:     moe.warp_mma
// FFMA-NOT:     arith.truncf
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @f16_weights(%offsets: memref<5xi32>, %in: memref<?x32xf32>,
                        %weights: memref<4x24x32xf16>,
                        %out: memref<?x24xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %e = %c0 to %c4 step %c1 {
    %b = memref.load %offsets[%e] : memref<5xi32>
    %begin = arith.index_cast %b : i32 to index
    %next = arith.addi %e, %c1 : index
    %n = memref.load %offsets[%next] : memref<5xi32>
    %end = arith.index_cast %n : i32 to index
    %size = arith.subi %end, %begin : index
    %any = arith.cmpi sgt, %size, %c0 : index
    scf.if %any {
      %src = memref.subview %in[%begin, 0] [%size, 32] [1, 1]
          : memref<?x32xf32> to memref<?x32xf32, strided<[32, 1], offset: ?>>
      %w = memref.subview %weights[%e, 0, 0] [1, 24, 32] [1, 1, 1]
          : memref<4x24x32xf16> to memref<24x32xf16, strided<[32, 1], offset: ?>>
      %dst = memref.subview %out[%begin, 0] [%size, 24] [1, 1]
          : memref<?x24xf32> to memref<?x24xf32, strided<[24, 1], offset: ?>>
      linalg.generic {indexing_maps = [#a, #w, #c],
                      iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%src, %w : memref<?x32xf32, strided<[32, 1], offset: ?>>,
                         memref<24x32xf16, strided<[32, 1], offset: ?>>)
          outs(%dst : memref<?x24xf32, strided<[24, 1], offset: ?>>)
          attrs = {moe.segment_matmul} {
      ^bb0(%x: f32, %y: f16, %acc: f32):
        %ye = arith.extf %y : f16 to f32
        %p = arith.mulf %x, %ye : f32
        %s = arith.addf %acc, %p : f32
        linalg.yield %s : f32
      }
    }
  } {moe.segment_loop}
  return
}

// -----

// F32 weights stay on the FFMA schedule: threads, no rounding. With
// tf32=true they take tensor cores: the body rounds the activations and the
// weights to tf32 (to nearest, ties away from zero, on the bits; a NaN
// stays), and the matmul is tiled over the warps as with BF16 weights.

// TF32-LABEL: func.func @f32_weights
// TF32:           scf.forall (%{{.+}}) in (2) {
// TF32:             linalg.generic
// TF32-SAME:          attrs = {moe.segment_matmul, moe.warp_mma}
// TF32-NEXT:        ^bb0(%[[X:.+]]: f32, %[[Y:.+]]: f32, %[[ACC:.+]]: f32):
// TF32-NEXT:          %[[XB:.+]] = arith.bitcast %[[X]] : f32 to i32
// TF32:               %[[XH:.+]] = arith.addi %[[XB]], %c4096_i32
// TF32-NEXT:          %[[XK:.+]] = arith.andi %[[XH]], %c-8192_i32
// TF32-NEXT:          %[[XN:.+]] = arith.bitcast %[[XK]] : i32 to f32
// TF32-NEXT:          %[[XNAN:.+]] = arith.cmpf uno, %[[X]], %[[X]]
// TF32-NEXT:          %[[XR:.+]] = arith.select %[[XNAN]], %[[X]], %[[XN]]
// TF32-NEXT:          %[[YB:.+]] = arith.bitcast %[[Y]] : f32 to i32
// TF32:               %[[YR:.+]] = arith.select %{{.+}}, %[[Y]], %{{.+}} : f32
// TF32-NEXT:          %[[P:.+]] = arith.mulf %[[XR]], %[[YR]] : f32
// TF32-NEXT:          arith.addf %[[ACC]], %[[P]] : f32
// TF32:           } {mapping = [#gpu.warp<x>]}

// CHECK-LABEL: func.func @f32_weights
// CHECK-NOT:     moe.warp_mma
// CHECK-NOT:     arith.truncf
// CHECK:         scf.forall (%{{.+}}) in (48) {
// CHECK:           %[[ACC:.+]] = memref.load
// CHECK:           %[[SUM:.+]] = scf.for {{.+}} iter_args(%[[PARTIAL:.+]] = %[[ACC]]) -> (f32) {
// CHECK:             arith.mulf
// CHECK:             %[[NEXT:.+]] = arith.addf %[[PARTIAL]]
// CHECK:             scf.yield %[[NEXT]]
// CHECK:           memref.store %[[SUM]]
// CHECK:         } {mapping = [#gpu.thread<x>]}
// CHECK-NOT:     #gpu.warp
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @f32_weights(%offsets: memref<5xi32>, %in: memref<?x32xf32>,
                       %weights: memref<4x24x32xf32>,
                       %out: memref<?x24xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %e = %c0 to %c4 step %c1 {
    %b = memref.load %offsets[%e] : memref<5xi32>
    %begin = arith.index_cast %b : i32 to index
    %next = arith.addi %e, %c1 : index
    %n = memref.load %offsets[%next] : memref<5xi32>
    %end = arith.index_cast %n : i32 to index
    %size = arith.subi %end, %begin : index
    %any = arith.cmpi sgt, %size, %c0 : index
    scf.if %any {
      %src = memref.subview %in[%begin, 0] [%size, 32] [1, 1]
          : memref<?x32xf32> to memref<?x32xf32, strided<[32, 1], offset: ?>>
      %w = memref.subview %weights[%e, 0, 0] [1, 24, 32] [1, 1, 1]
          : memref<4x24x32xf32> to memref<24x32xf32, strided<[32, 1], offset: ?>>
      %dst = memref.subview %out[%begin, 0] [%size, 24] [1, 1]
          : memref<?x24xf32> to memref<?x24xf32, strided<[24, 1], offset: ?>>
      linalg.generic {indexing_maps = [#a, #w, #c],
                      iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%src, %w : memref<?x32xf32, strided<[32, 1], offset: ?>>,
                         memref<24x32xf32, strided<[32, 1], offset: ?>>)
          outs(%dst : memref<?x24xf32, strided<[24, 1], offset: ?>>)
          attrs = {moe.segment_matmul} {
      ^bb0(%x: f32, %y: f32, %acc: f32):
        %p = arith.mulf %x, %y : f32
        %s = arith.addf %acc, %p : f32
        linalg.yield %s : f32
      }
    }
  } {moe.segment_loop}
  return
}

// -----

// A gated segment (gate and up into [rows, 24] buffers, then the
// activation) runs as one loop nest: the block's two warps split the 24
// columns (12 each), each warp's in one warp tile of up to 32 x 32 with no
// loop over them (32 columns hold a warp's; a warp past a ragged window's
// last columns has an empty tile, but every warp reaches its tile: see
// moe-gpu-warp-mma's staging); a tile fills and accumulates gate and up
// into the warp's own [32, 32]
// scratch (allocas in the warp forall's body, an automatic allocation
// scope: nothing grows with the grid; moe-gpu-warp-mma keeps them in
// registers), both marked
// moe.warp_mma, then the epilogue writes the output. No [rows, 24] gate or
// up is left. Without tensor cores the block's 64 threads split the
// columns and walk theirs one at a time, over all 32 rows of the block,
// each on its own [32, 1] scratch.

// CHECK-LABEL: func.func @gated
// CHECK-NOT:     memref.alloc({{.*}}) {{.*}}memref<?x24xf32>
// CHECK-NOT:     memref.alloc({{.*}}) {{.*}}x32x32xf32>
// CHECK:         scf.forall (%[[BLOCK:.+]]) in (%{{.+}}) {
// CHECK:           scf.if
// CHECK:             scf.forall (%[[W:.+]]) in (2) {
// CHECK:               %[[GS:.+]] = memref.alloca() : memref<32x32xf32>
// CHECK:               %[[US:.+]] = memref.alloca() : memref<32x32xf32>
// CHECK:                 scf.for %{{.+}} step %c32{{.*}} {
// CHECK-NOT:                 scf.for
// CHECK:                     %[[GT:.+]] = memref.subview %[[GS]][0, 0]
// CHECK:                     %[[UT:.+]] = memref.subview %[[US]][0, 0]
// CHECK:                     linalg.fill ins(%{{.+}}) outs(%[[GT]]
// CHECK:                     linalg.fill ins(%{{.+}}) outs(%[[UT]]
// CHECK:                     linalg.generic {{.*}} outs(%[[GT]] {{.*}} attrs = {moe.segment_matmul, moe.warp_mma}
// CHECK:                       arith.truncf
// CHECK:                     linalg.generic {{.*}} outs(%[[UT]] {{.*}} attrs = {moe.segment_matmul, moe.warp_mma}
// CHECK:                       arith.truncf
// CHECK:                     linalg.generic {{.*}} ins(%[[GT]], %[[UT]] : {{.*}} attrs = {moe.segment_epilogue}
// CHECK:             } {mapping = [#gpu.warp<x>]}
// CHECK:         } {mapping = [#gpu.block<x>]}

// On a grid of warp rows, the same nest with no loop over rows: each of
// the 4 warps takes its tile of rows and its grid column's columns.
// GRID-LABEL: func.func @gated
// GRID:         scf.forall (%[[W:.+]]) in (4) {
// GRID-NOT:       scf.for
// GRID:           %[[GS:.+]] = memref.alloca() : memref<32x32xf32>
// GRID:           %[[US:.+]] = memref.alloca() : memref<32x32xf32>
// GRID:           arith.remui %[[W]], %c2
// GRID:           %[[ROW:.+]] = affine.min #{{.+}}(%[[W]])
// GRID:           linalg.fill
// GRID:           linalg.fill
// GRID:           memref.subview %{{.+}}[%[[ROW]], 0]
// GRID:           linalg.generic {{.*}} attrs = {moe.segment_matmul, moe.warp_mma}
// GRID:           memref.subview %{{.+}}[%[[ROW]], 0]
// GRID:           linalg.generic {{.*}} attrs = {moe.segment_matmul, moe.warp_mma}
// GRID:           linalg.generic {{.*}} attrs = {moe.segment_epilogue}
// GRID:         } {mapping = [#gpu.warp<x>]}

// UNGATED-LABEL: func.func @gated
// UNGATED:         %[[SLOTS:.+]] = arith.addi %{{.+}}, %c4 : index
// UNGATED:         %[[BLOCKS:.+]] = arith.muli %[[SLOTS]], %c3 : index
// UNGATED:         scf.forall (%[[B:.+]]) in (%[[BLOCKS]]) {
// UNGATED:           %[[COLUMN_BLOCK:.+]] = arith.divui %[[B]], %[[SLOTS]]
// UNGATED:           arith.muli %[[COLUMN_BLOCK]], %c8 : index
// UNGATED:           memref.alloca() : memref<16x8xf32>

// FFMA-LABEL: func.func @gated
// FFMA-NOT:     memref.alloc({{.*}}) {{.*}}x32x1xf32>
// FFMA-NOT:     moe.warp_mma
// FFMA:         scf.forall (%{{.+}}) in (64) {
// FFMA:             memref.alloca() : memref<32x1xf32>
// FFMA:             memref.alloca() : memref<32x1xf32>
// FFMA:             scf.for %{{.+}} step %c32{{.*}} {
// FFMA:               scf.for %{{.+}} step %c1{{.*}} {
// FFMA:                 linalg.fill
// FFMA:                 linalg.fill
// FFMA:                 moe.segment_matmul
// FFMA:                 moe.segment_matmul
// FFMA:                 moe.segment_epilogue
// FFMA:         } {mapping = [#gpu.thread<x>]}
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
#e = affine_map<(m, n) -> (m, n)>
func.func @gated(%offsets: memref<5xi32>, %in: memref<?x32xf32>,
                 %gate: memref<4x24x32xbf16>, %up: memref<4x24x32xbf16>,
                 %out: memref<?x24xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  scf.for %e = %c0 to %c4 step %c1 {
    %b = memref.load %offsets[%e] : memref<5xi32>
    %begin = arith.index_cast %b : i32 to index
    %next = arith.addi %e, %c1 : index
    %n = memref.load %offsets[%next] : memref<5xi32>
    %end = arith.index_cast %n : i32 to index
    %size = arith.subi %end, %begin : index
    %any = arith.cmpi sgt, %size, %c0 : index
    scf.if %any {
      %src = memref.subview %in[%begin, 0] [%size, 32] [1, 1]
          : memref<?x32xf32> to memref<?x32xf32, strided<[32, 1], offset: ?>>
      %dst = memref.subview %out[%begin, 0] [%size, 24] [1, 1]
          : memref<?x24xf32> to memref<?x24xf32, strided<[24, 1], offset: ?>>
      %ga = memref.alloc(%size) : memref<?x24xf32>
      linalg.fill ins(%zero : f32) outs(%ga : memref<?x24xf32>)
      %ua = memref.alloc(%size) : memref<?x24xf32>
      linalg.fill ins(%zero : f32) outs(%ua : memref<?x24xf32>)
      %wg = memref.subview %gate[%e, 0, 0] [1, 24, 32] [1, 1, 1]
          : memref<4x24x32xbf16> to memref<24x32xbf16, strided<[32, 1], offset: ?>>
      linalg.generic {indexing_maps = [#a, #w, #c],
                      iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%src, %wg : memref<?x32xf32, strided<[32, 1], offset: ?>>,
                          memref<24x32xbf16, strided<[32, 1], offset: ?>>)
          outs(%ga : memref<?x24xf32>) attrs = {moe.segment_matmul} {
      ^bb0(%x: f32, %y: bf16, %acc: f32):
        %ye = arith.extf %y : bf16 to f32
        %p = arith.mulf %x, %ye : f32
        %s = arith.addf %acc, %p : f32
        linalg.yield %s : f32
      }
      %wu = memref.subview %up[%e, 0, 0] [1, 24, 32] [1, 1, 1]
          : memref<4x24x32xbf16> to memref<24x32xbf16, strided<[32, 1], offset: ?>>
      linalg.generic {indexing_maps = [#a, #w, #c],
                      iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%src, %wu : memref<?x32xf32, strided<[32, 1], offset: ?>>,
                          memref<24x32xbf16, strided<[32, 1], offset: ?>>)
          outs(%ua : memref<?x24xf32>) attrs = {moe.segment_matmul} {
      ^bb0(%x: f32, %y: bf16, %acc: f32):
        %ye = arith.extf %y : bf16 to f32
        %p = arith.mulf %x, %ye : f32
        %s = arith.addf %acc, %p : f32
        linalg.yield %s : f32
      }
      linalg.generic {indexing_maps = [#e, #e, #e],
                      iterator_types = ["parallel", "parallel"]}
          ins(%ga, %ua : memref<?x24xf32>, memref<?x24xf32>)
          outs(%dst : memref<?x24xf32, strided<[24, 1], offset: ?>>)
          attrs = {moe.segment_epilogue} {
      ^bb0(%g: f32, %u: f32, %o: f32):
        %v = arith.mulf %g, %u : f32
        linalg.yield %v : f32
      }
    }
  } {moe.segment_loop}
  return
}

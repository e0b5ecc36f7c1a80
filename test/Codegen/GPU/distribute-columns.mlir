// RUN: moe-opt %s --moe-gpu-distribute="row-block=16 threads=64 column-block=32" --split-input-file | FileCheck %s
// RUN: moe-opt %s --moe-gpu-distribute="row-block=16 threads=64 column-block=0" --split-input-file | FileCheck %s --check-prefix=WHOLE
// RUN: moe-opt %s --moe-gpu-distribute="row-block=16 threads=64 column-block=16 column-group=3" --split-input-file | FileCheck %s --check-prefix=GROUP

// Column blocks: a segment matmul's output columns split over blocks too,
// `column-block` a block, so that a few rows (decode) still spread over
// the GPU. The grid is the row slots (ceil(R / 16) + E) times the column
// blocks, in one dimension with the row slots fastest (the blocks of one
// column block read the same weight rows); a block takes its column block
// c = b / slots and its row slot b % slots, and the segment's ops run on
// columns [32 c, 32 c + 32) of their outputs (and weight rows there).
// With column-block=0 a block takes all the columns.

// CHECK-LABEL: func.func @columns
// CHECK-SAME:    (%[[OFFSETS:.+]]: memref<5xi32>, %[[IN:.+]]: memref<?x16xf32>, %[[W:.+]]: memref<4x64x16xf32>, %[[OUT:.+]]: memref<?x64xf32>)
// CHECK:         %[[RB:.+]] = arith.ceildivui %{{.+}}, %c16 : index
// CHECK:         %[[SLOTS:.+]] = arith.addi %[[RB]], %c4
// CHECK:         %[[GRID:.+]] = arith.muli %[[SLOTS]], %c2
// CHECK:         scf.forall (%[[B:.+]]) in (%[[GRID]]) {
// CHECK:           %[[COL:.+]] = arith.divui %[[B]], %[[SLOTS]]
// CHECK:           %[[SLOT:.+]] = arith.remui %[[B]], %[[SLOTS]]
// CHECK:           scf.while
// CHECK:           arith.subi %[[SLOT]], %{{.+}}
// CHECK:           %[[FIRST:.+]] = arith.muli %[[COL]], %c32
// CHECK:           scf.if
// CHECK:             %[[WE:.+]] = memref.subview %[[W]][%{{.+}}, 0, 0] [1, 64, 16]
// CHECK:             %[[DST:.+]] = memref.subview %[[OUT]][%{{.+}}, 0] [%{{.+}}, 64]
// CHECK:             %[[WINDOW:.+]] = memref.subview %[[DST]][0, %[[FIRST]]] [%{{.+}}, %c32{{.*}}]
// CHECK:             scf.forall
// CHECK:               linalg.fill
// CHECK:             } {mapping = [#gpu.thread<x>]}
// CHECK:             memref.subview %[[WE]][%[[FIRST]], 0] [32, 16]
// CHECK:             scf.forall
// CHECK:               memref.subview %[[WINDOW]]
// CHECK:               scf.for {{.*}} iter_args
// CHECK:             } {mapping = [#gpu.thread<x>]}
// CHECK:         } {mapping = [#gpu.block<x>]}

// With column-group=3 (and column blocks of 16: four of them) the grid
// runs over groups of three column blocks, in a group the column blocks
// fastest: block b of group g = b / (3 slots) takes column block 3 g +
// (b % (3 slots)) % w and row slot (b % (3 slots)) / w, w = min(3, 4 - 3 g)
// the group's width (1 for the last group).

// GROUP-LABEL: func.func @columns
// GROUP:         %[[RB:.+]] = arith.ceildivui %{{.+}}, %c16 : index
// GROUP:         %[[SLOTS:.+]] = arith.addi %[[RB]], %c4
// GROUP:         %[[GRID:.+]] = arith.muli %[[SLOTS]], %[[C4:c4.*]] :
// GROUP:         scf.forall (%[[B:.+]]) in (%[[GRID]]) {
// GROUP:           %[[SPAN:.+]] = arith.muli %[[SLOTS]], %[[C3:c3.*]] :
// GROUP:           %[[G:.+]] = arith.divui %[[B]], %[[SPAN]]
// GROUP:           %[[FIRST_BLOCK:.+]] = arith.muli %[[G]], %c3
// GROUP:           %[[WITHIN:.+]] = arith.remui %[[B]], %[[SPAN]]
// GROUP:           %[[LEFT:.+]] = arith.subi %c4{{.*}}, %[[FIRST_BLOCK]]
// GROUP:           %[[WIDTH:.+]] = arith.minui %c3{{.*}}, %[[LEFT]]
// GROUP:           %[[IN_GROUP:.+]] = arith.remui %[[WITHIN]], %[[WIDTH]]
// GROUP:           %[[COL:.+]] = arith.addi %[[FIRST_BLOCK]], %[[IN_GROUP]]
// GROUP:           %[[SLOT:.+]] = arith.divui %[[WITHIN]], %[[WIDTH]]
// GROUP:           scf.while
// GROUP:           arith.subi %[[SLOT]], %{{.+}}
// GROUP:           arith.muli %[[COL]], %c16

// WHOLE-LABEL: func.func @columns
// WHOLE:         %[[RB:.+]] = arith.ceildivui %{{.+}}, %c16 : index
// WHOLE:         %[[SLOTS:.+]] = arith.addi %[[RB]], %c4
// WHOLE:         scf.forall (%{{.+}}) in (%[[SLOTS]]) {
// WHOLE-NOT:       arith.remui
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
#e = affine_map<(m, n) -> (m, n)>
func.func @columns(%offsets: memref<5xi32>, %in: memref<?x16xf32>,
    %weights: memref<4x64x16xf32>, %out: memref<?x64xf32>) {
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
      %src = memref.subview %in[%begin, 0] [%size, 16] [1, 1]
          : memref<?x16xf32> to memref<?x16xf32, strided<[16, 1], offset: ?>>
      %w = memref.subview %weights[%e, 0, 0] [1, 64, 16] [1, 1, 1]
          : memref<4x64x16xf32> to memref<64x16xf32, strided<[16, 1], offset: ?>>
      %dst = memref.subview %out[%begin, 0] [%size, 64] [1, 1]
          : memref<?x64xf32> to memref<?x64xf32, strided<[64, 1], offset: ?>>
      linalg.fill ins(%zero : f32) outs(%dst : memref<?x64xf32, strided<[64, 1], offset: ?>>)
      linalg.generic {indexing_maps = [#a, #w, #c],
                      iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%src, %w : memref<?x16xf32, strided<[16, 1], offset: ?>>, memref<64x16xf32, strided<[16, 1], offset: ?>>)
          outs(%dst : memref<?x64xf32, strided<[64, 1], offset: ?>>) attrs = {moe.segment_matmul} {
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

// Forty columns: the second block's window is min(32, 40 - 32) wide.

// CHECK:       #[[$MIN:.+]] = affine_map<(d0) -> (32, -d0 + 40)>
// CHECK-LABEL: func.func @ragged_columns
// CHECK:         %[[GRID:.+]] = arith.muli %{{.+}}, %c2
// CHECK:         scf.forall (%[[B:.+]]) in (%[[GRID]]) {
// CHECK:           %[[COL:.+]] = arith.divui %[[B]]
// CHECK:           %[[FIRST:.+]] = arith.muli %[[COL]], %c32
// CHECK:           %[[COUNT:.+]] = affine.min #[[$MIN:.+]](%[[FIRST]])
// CHECK:           scf.if
// CHECK:             memref.subview %{{.+}}[0, %[[FIRST]]] [%{{.+}}, %[[COUNT]]]
// CHECK:             memref.subview %{{.+}}[%[[FIRST]], 0] [%[[COUNT]], 16]
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
#e = affine_map<(m, n) -> (m, n)>
func.func @ragged_columns(%offsets: memref<5xi32>, %in: memref<?x16xf32>,
    %weights: memref<4x40x16xf32>, %out: memref<?x40xf32>) {
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
      %src = memref.subview %in[%begin, 0] [%size, 16] [1, 1]
          : memref<?x16xf32> to memref<?x16xf32, strided<[16, 1], offset: ?>>
      %w = memref.subview %weights[%e, 0, 0] [1, 40, 16] [1, 1, 1]
          : memref<4x40x16xf32> to memref<40x16xf32, strided<[16, 1], offset: ?>>
      %dst = memref.subview %out[%begin, 0] [%size, 40] [1, 1]
          : memref<?x40xf32> to memref<?x40xf32, strided<[40, 1], offset: ?>>
      linalg.fill ins(%zero : f32) outs(%dst : memref<?x40xf32, strided<[40, 1], offset: ?>>)
      linalg.generic {indexing_maps = [#a, #w, #c],
                      iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%src, %w : memref<?x16xf32, strided<[16, 1], offset: ?>>, memref<40x16xf32, strided<[16, 1], offset: ?>>)
          outs(%dst : memref<?x40xf32, strided<[40, 1], offset: ?>>) attrs = {moe.segment_matmul} {
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

// The second matmul reads every column of the first's output: the columns
// do not split, and a block takes all of them.

// CHECK-LABEL: func.func @crossing
// CHECK:         %[[SLOTS:.+]] = arith.addi %{{.+}}, %c4
// CHECK:         scf.forall (%{{.+}}) in (%[[SLOTS]]) {
// CHECK-NOT:       arith.remui
// CHECK:         } {mapping = [#gpu.block<x>]}
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
#e = affine_map<(m, n) -> (m, n)>
func.func @crossing(%offsets: memref<5xi32>, %in: memref<?x16xf32>,
    %weights: memref<4x64x16xf32>, %weights2: memref<4x64x64xf32>, %out: memref<?x64xf32>) {
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
      %src = memref.subview %in[%begin, 0] [%size, 16] [1, 1]
          : memref<?x16xf32> to memref<?x16xf32, strided<[16, 1], offset: ?>>
      %w = memref.subview %weights[%e, 0, 0] [1, 64, 16] [1, 1, 1]
          : memref<4x64x16xf32> to memref<64x16xf32, strided<[16, 1], offset: ?>>
      %w2 = memref.subview %weights2[%e, 0, 0] [1, 64, 64] [1, 1, 1]
          : memref<4x64x64xf32> to memref<64x64xf32, strided<[64, 1], offset: ?>>
      %dst = memref.subview %out[%begin, 0] [%size, 64] [1, 1]
          : memref<?x64xf32> to memref<?x64xf32, strided<[64, 1], offset: ?>>
      %h = memref.alloc(%size) : memref<?x64xf32>
      linalg.fill ins(%zero : f32) outs(%h : memref<?x64xf32>)
      linalg.generic {indexing_maps = [#a, #w, #c],
                      iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%src, %w : memref<?x16xf32, strided<[16, 1], offset: ?>>, memref<64x16xf32, strided<[16, 1], offset: ?>>)
          outs(%h : memref<?x64xf32>) attrs = {moe.segment_matmul} {
      ^bb0(%x: f32, %y: f32, %acc: f32):
        %p = arith.mulf %x, %y : f32
        %s = arith.addf %acc, %p : f32
        linalg.yield %s : f32
      }
      linalg.fill ins(%zero : f32) outs(%dst : memref<?x64xf32, strided<[64, 1], offset: ?>>)
      linalg.generic {indexing_maps = [#a, #w, #c],
                      iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%h, %w2 : memref<?x64xf32>, memref<64x64xf32, strided<[64, 1], offset: ?>>)
          outs(%dst : memref<?x64xf32, strided<[64, 1], offset: ?>>) attrs = {moe.segment_matmul} {
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

// A matmul over all rows (a linear node): blocks of 4 rows and 32 columns,
// the forall in one dimension, its row blocks fastest.

// CHECK-LABEL: func.func @linear
// CHECK-SAME:    (%{{.+}}: index, %[[X:.+]]: memref<?x16xf32>, %[[W:.+]]: memref<64x16xf32>, %[[Y:.+]]: memref<?x64xf32>)
// CHECK:         %[[RB:.+]] = arith.ceildivui %{{.+}}, %c4
// CHECK:         %[[CB:.+]] = arith.ceildivui %{{.+}}, %c32
// CHECK:         %[[GRID:.+]] = arith.muli %{{.+}}, %[[CB]]
// CHECK:         scf.forall (%[[B:.+]]) in (%[[GRID]]) {
// CHECK:           %[[R:.+]] = arith.remui %[[B]], %[[RB]]
// CHECK:           %[[C:.+]] = arith.divui %[[B]], %[[RB]]
// CHECK:           arith.muli %[[R]], %c4
// CHECK:           arith.muli %[[C]], %c32
// CHECK:           memref.subview %[[W]][%{{.+}}, 0] [32, 16]
// CHECK:           memref.subview %[[Y]][%{{.+}}, %{{.+}}] [%{{.+}}, 32]
// CHECK:         } {mapping = [#gpu.block<x>]}
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
#e = affine_map<(m, n) -> (m, n)>
func.func @linear(%t: index, %in: memref<?x16xf32>, %weights: memref<64x16xf32>, %out: memref<?x64xf32>) {
  linalg.generic {indexing_maps = [#a, #w, #c],
          iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%in, %weights : memref<?x16xf32>, memref<64x16xf32>)
      outs(%out : memref<?x64xf32>) attrs = {moe.segment_matmul} {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A gated segment (48 columns: windows of 32 and 16) still runs as one
// loop nest in each block: the warps split the window's columns, each with
// its own scratch, on tensor cores.

// CHECK-LABEL: func.func @gated_columns
// CHECK:         scf.forall (%[[B:.+]]) in (%{{.+}}) {
// CHECK:           %[[FIRST:.+]] = arith.muli %{{.+}}, %c32
// CHECK:           affine.min #{{.+}}(%[[FIRST]])
// CHECK:           scf.if
// CHECK:             scf.forall (%{{.+}}) in (2) {
// CHECK:               memref.alloca() : memref<32x32xf32>
// CHECK:               memref.alloca() : memref<32x32xf32>
// CHECK:                   linalg.generic {{.*}} attrs = {moe.segment_matmul, moe.warp_mma}
// CHECK:                   linalg.generic {{.*}} attrs = {moe.segment_matmul, moe.warp_mma}
// CHECK:                   linalg.generic {{.*}} attrs = {moe.segment_epilogue}
// CHECK:             } {mapping = [#gpu.warp<x>]}
// CHECK:         } {mapping = [#gpu.block<x>]}
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
#e = affine_map<(m, n) -> (m, n)>
func.func @gated_columns(%offsets: memref<5xi32>, %in: memref<?x32xf32>,
                 %gate: memref<4x48x32xbf16>, %up: memref<4x48x32xbf16>,
                 %out: memref<?x48xf32>) {
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
      %dst = memref.subview %out[%begin, 0] [%size, 48] [1, 1]
          : memref<?x48xf32> to memref<?x48xf32, strided<[48, 1], offset: ?>>
      %ga = memref.alloc(%size) : memref<?x48xf32>
      linalg.fill ins(%zero : f32) outs(%ga : memref<?x48xf32>)
      %ua = memref.alloc(%size) : memref<?x48xf32>
      linalg.fill ins(%zero : f32) outs(%ua : memref<?x48xf32>)
      %wg = memref.subview %gate[%e, 0, 0] [1, 48, 32] [1, 1, 1]
          : memref<4x48x32xbf16> to memref<48x32xbf16, strided<[32, 1], offset: ?>>
      linalg.generic {indexing_maps = [#a, #w, #c],
                      iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%src, %wg : memref<?x32xf32, strided<[32, 1], offset: ?>>,
                          memref<48x32xbf16, strided<[32, 1], offset: ?>>)
          outs(%ga : memref<?x48xf32>) attrs = {moe.segment_matmul} {
      ^bb0(%x: f32, %y: bf16, %acc: f32):
        %ye = arith.extf %y : bf16 to f32
        %p = arith.mulf %x, %ye : f32
        %s = arith.addf %acc, %p : f32
        linalg.yield %s : f32
      }
      %wu = memref.subview %up[%e, 0, 0] [1, 48, 32] [1, 1, 1]
          : memref<4x48x32xbf16> to memref<48x32xbf16, strided<[32, 1], offset: ?>>
      linalg.generic {indexing_maps = [#a, #w, #c],
                      iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%src, %wu : memref<?x32xf32, strided<[32, 1], offset: ?>>,
                          memref<48x32xbf16, strided<[32, 1], offset: ?>>)
          outs(%ua : memref<?x48xf32>) attrs = {moe.segment_matmul} {
      ^bb0(%x: f32, %y: bf16, %acc: f32):
        %ye = arith.extf %y : bf16 to f32
        %p = arith.mulf %x, %ye : f32
        %s = arith.addf %acc, %p : f32
        linalg.yield %s : f32
      }
      linalg.generic {indexing_maps = [#e, #e, #e],
                      iterator_types = ["parallel", "parallel"]}
          ins(%ga, %ua : memref<?x48xf32>, memref<?x48xf32>)
          outs(%dst : memref<?x48xf32, strided<[48, 1], offset: ?>>)
          attrs = {moe.segment_epilogue} {
      ^bb0(%g: f32, %u: f32, %o: f32):
        %v = arith.mulf %g, %u : f32
        linalg.yield %v : f32
      }
    }
  } {moe.segment_loop}
  return
}

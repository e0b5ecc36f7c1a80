// RUN: moe-opt %s --moe-gpu-warp-mma="emulate-lanes=true" | FileCheck %s
// RUN: moe-opt %s --moe-gpu-warp-mma="emulate-lanes=true warp-tile-rows=64" | FileCheck %s --check-prefix=ROWS64

// On the host (host semantics) the staging of warp-mma-staged.mlir runs in
// each warp's turn of the warp forall, one after another: the warp copies
// each chunk for all 64 threads of the block (the same pieces the GPU's
// threads copy), into a buffer of its own, and there is no barrier.

// CHECK-LABEL: func.func @staged_forall
// CHECK:         scf.forall
// CHECK:           %[[BUF:.+]] = memref.alloca() {alignment = 64 : i64} : memref<2x32x96xbf16>
// CHECK:           scf.for %{{.+}} = %c0{{.*}} to %c64{{.*}} step %c1
// CHECK-COUNT-8:     vector.store %{{.+}}, %[[BUF]]
// CHECK:           scf.for %{{.+}} = %c0{{.*}} to %{{.+}} step %c1
// CHECK:             memref.subview %[[BUF]]
// The chunk's steps where the warp has columns, then the next chunk's copy.
// CHECK:             scf.if
// CHECK:               scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c32
// CHECK:             scf.if
// CHECK:               scf.for %{{.+}} = %c0{{.*}} to %c64{{.*}} step %c1
// CHECK-COUNT-8:         vector.store %{{.+}}, %[[BUF]]
// CHECK-NOT:       gpu.barrier
// CHECK:         } {mapping = [#gpu.warp<x>]}

// With warp tiles of up to 64 rows (warp-tile-rows) the chunks are 64 rows
// tall: each of the 64 threads copies 16 pieces of 4 a chunk.
// ROWS64-LABEL: func.func @staged_forall
// ROWS64:         %[[BUF:.+]] = memref.alloca() {alignment = 64 : i64} : memref<2x64x96xbf16>
// ROWS64:         scf.for %{{.+}} = %c0{{.*}} to %c64{{.*}} step %c1
// ROWS64-COUNT-16:  vector.store %{{.+}}, %[[BUF]]
// ROWS64-NOT:       vector.store %{{.+}}, %[[BUF]]
// ROWS64:         scf.for %{{.+}} = %c0{{.*}} to %{{.+}} step %c1
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @staged_forall(%x: memref<?x96xf32>, %w: memref<40x96xbf16>,
                         %y: memref<?x40xf32>, %n: index) {
  scf.forall (%warp) in (2) {
    %rows = affine.min affine_map<()[s0] -> (s0, 32)>()[%n]
    %first = affine.min affine_map<()[s0] -> (s0 * 32, 40)>()[%warp]
    %cols = affine.min affine_map<()[s0] -> (40 - s0, 32)>()[%first]
    %a = memref.subview %x[0, 0] [%rows, 96] [1, 1]
        : memref<?x96xf32> to memref<?x96xf32, strided<[96, 1]>>
    %b = memref.subview %w[%first, 0] [%cols, 96] [1, 1]
        : memref<40x96xbf16> to memref<?x96xbf16, strided<[96, 1], offset: ?>>
    %c = memref.subview %y[0, %first] [%rows, %cols] [1, 1]
        : memref<?x40xf32> to memref<?x?xf32, strided<[40, 1], offset: ?>>
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %b : memref<?x96xf32, strided<[96, 1]>>,
                     memref<?x96xbf16, strided<[96, 1], offset: ?>>)
        outs(%c : memref<?x?xf32, strided<[40, 1], offset: ?>>)
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

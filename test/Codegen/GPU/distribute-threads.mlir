// RUN: moe-opt %s --moe-gpu-distribute="row-block=32 threads=128" --split-input-file | FileCheck %s

// An elementwise op over [rows, 256]: a block takes 4 rows, and its 128
// threads interleave over the columns (thread t: columns t and t + 128),
// so that a warp's lanes touch 32 consecutive floats.

// CHECK-LABEL: func.func @elementwise
// CHECK:         scf.forall (%{{.+}}) in (%{{.+}}) {
// CHECK:           scf.forall (%[[T:.+]]) in (128) {
// CHECK:             %[[N:.+]] = affine.max #{{.+}}()[%[[T]]]
// CHECK:             memref.subview %{{.+}}[0, %[[T]]] [%{{.+}}, %[[N]]] [1, 128]
// CHECK:             memref.subview %{{.+}}[0, %[[T]]] [%{{.+}}, %[[N]]] [1, 128]
// CHECK:             linalg.generic
// CHECK:           } {mapping = [#gpu.thread<x>]}
// CHECK:         } {mapping = [#gpu.block<x>]}
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @elementwise(%x: memref<?x256xf32>, %y: memref<?x256xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<?x256xf32>) outs(%y : memref<?x256xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %in : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// A router's logits, [rows, 8 experts] reduced over 64: the experts take 8
// threads and the block's 4 rows 4 more (32 threads, not 8), thread t
// computing expert t mod 8 of row t / 8; each logit is summed in a register
// (one load and one store of it, not one each per term), its terms in
// order.

// CHECK-LABEL: func.func @logits
// CHECK:         scf.forall (%{{.+}}) in (%{{.+}}) {
// CHECK:           scf.forall (%[[T:.+]]) in (32) {
// CHECK-DAG:         %[[E:.+]] = arith.remui %[[T]], %[[C8:.+]] : index
// CHECK-DAG:         %[[R:.+]] = arith.divui %[[T]], %[[C8]] : index
// CHECK-NOT:         arith.divui
// CHECK:             %[[X:.+]] = memref.subview %{{.+}}[%[[R]], 0] [%{{.+}}, 64] [4, 1]
// CHECK:             %[[W:.+]] = memref.subview %{{.+}}[%[[E]], 0] [%{{.+}}, 64] [8, 1]
// CHECK:             %[[OUT:.+]] = memref.subview %{{.+}}[%[[R]], %[[E]]] [%{{.+}}, %{{.+}}] [4, 8]
// CHECK:             scf.for %[[I:.+]] =
// CHECK:               scf.for %[[J:.+]] =
// CHECK:                 %[[INIT:.+]] = memref.load %[[OUT]][%[[I]], %[[J]]]
// CHECK:                 %[[SUM:.+]] = scf.for %[[K:.+]] = %{{.+}} to %c64{{.*}} iter_args(%[[ACC:.+]] = %[[INIT]]) -> (f32) {
// CHECK:                   memref.load %[[X]][%[[I]], %[[K]]]
// CHECK:                   memref.load %[[W]][%[[J]], %[[K]]]
// CHECK:                   %[[P:.+]] = arith.mulf
// CHECK:                   %[[NEXT:.+]] = arith.addf %[[ACC]], %[[P]] : f32
// CHECK:                   scf.yield %[[NEXT]] : f32
// CHECK:                 memref.store %[[SUM]], %[[OUT]][%[[I]], %[[J]]]
// CHECK:           } {mapping = [#gpu.thread<x>]}
// CHECK:         } {mapping = [#gpu.block<x>]}
#x = affine_map<(t, e, d) -> (t, d)>
#w = affine_map<(t, e, d) -> (e, d)>
#l = affine_map<(t, e, d) -> (t, e)>
func.func @logits(%x: memref<?x64xf32>, %w: memref<8x64xbf16>, %out: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %t = memref.dim %x, %c0 : memref<?x64xf32>
  %acc = memref.alloc(%t) : memref<?x8xf32>
  linalg.generic {indexing_maps = [#x, #w, #l], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x64xf32>, memref<8x64xbf16>) outs(%acc : memref<?x8xf32>) {
  ^bb0(%a: f32, %b: bf16, %o: f32):
    %0 = arith.extf %b : bf16 to f32
    %1 = arith.mulf %a, %0 : f32
    %2 = arith.addf %o, %1 : f32
    linalg.yield %2 : f32
  }
  memref.copy %acc, %out : memref<?x8xf32> to memref<?x8xf32>
  return
}

// -----

// A reduction that reads its own output's buffer keeps its sum in memory:
// a register would miss the terms it writes.

// CHECK-LABEL: func.func @reads_its_output
// CHECK:         scf.forall (%{{.+}}) in (%{{.+}}) {
// CHECK:           scf.forall (%{{.+}}) in (128) {
// CHECK-NOT:         iter_args
// CHECK:             linalg.generic
// CHECK:           } {mapping = [#gpu.thread<x>]}
#in = affine_map<(e, d) -> (e, d)>
#out = affine_map<(e, d) -> (e, 0)>
func.func @reads_its_output(%n: index) {
  %buffer = memref.alloc() : memref<8x8xf32>
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%buffer : memref<8x8xf32>) outs(%buffer : memref<8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %0 = arith.addf %o, %a : f32
    linalg.yield %0 : f32
  }
  return
}

// RUN: moe-opt %s --split-input-file --moe-cpu-hoist-amx-accumulators | FileCheck %s

// The accumulator tile of a k loop, loaded from and stored to the same
// place of a fresh buffer at every step, is loaded once, carried through
// the unrolled steps (the views of its place move out of the loop) and
// stored once: three products on one tile value.

// CHECK-LABEL: func @carried
// CHECK:         %[[C:.*]] = memref.alloc() : memref<16x16xf32>
// CHECK:         %[[V:.*]] = memref.subview %[[C]]
// CHECK:         %[[ACC:.*]] = amx.tile_load %[[V]][%{{.*}}, %{{.*}}] : memref<16x16xf32, strided<[16, 1]>> into !amx.tile<16x16xf32>
// CHECK-NOT:     scf.for
// CHECK:         %[[P0:.*]] = amx.tile_mulf %{{.*}}, %{{.*}}, %[[ACC]]
// CHECK:         %[[P1:.*]] = amx.tile_mulf %{{.*}}, %{{.*}}, %[[P0]]
// CHECK:         %[[P2:.*]] = amx.tile_mulf %{{.*}}, %{{.*}}, %[[P1]]
// CHECK-NOT:     amx.tile_load %[[V]]
// CHECK:         amx.tile_store %[[V]][%{{.*}}, %{{.*}}], %[[P2]]
// CHECK-NOT:     amx.tile_store
func.func @carried(%a: memref<16x96xbf16>, %b: memref<48x32xbf16>) -> memref<16x16xf32> {
  %c0 = arith.constant 0 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c96 = arith.constant 96 : index
  %c = memref.alloc() : memref<16x16xf32>
  scf.for %k = %c0 to %c96 step %c32 {
    %c2 = arith.constant 2 : index
    %kp = arith.divui %k, %c2 : index
    %ta = amx.tile_load %a[%c0, %k] : memref<16x96xbf16> into !amx.tile<16x32xbf16>
    %tb = amx.tile_load %b[%kp, %c0] : memref<48x32xbf16> into !amx.tile<16x32xbf16>
    %view = memref.subview %c[0, 0] [16, 16] [1, 1] : memref<16x16xf32> to memref<16x16xf32, strided<[16, 1]>>
    %acc = amx.tile_load %view[%c0, %c0] : memref<16x16xf32, strided<[16, 1]>> into !amx.tile<16x16xf32>
    %p = amx.tile_mulf %ta, %tb, %acc : !amx.tile<16x32xbf16>, !amx.tile<16x32xbf16>, !amx.tile<16x16xf32>
    amx.tile_store %view[%c0, %c0], %p : memref<16x16xf32, strided<[16, 1]>>, !amx.tile<16x16xf32>
  }
  return %c : memref<16x16xf32>
}

// -----

// The accumulator and an operand are both arguments, which may overlap:
// the loop keeps its loads and stores.

// CHECK-LABEL: func @maybe_overlapping
// CHECK:         scf.for
// CHECK:           amx.tile_load
// CHECK:           amx.tile_mulf
// CHECK:           amx.tile_store
func.func @maybe_overlapping(%a: memref<16x96xbf16>, %b: memref<48x32xbf16>, %c: memref<16x16xf32>) {
  %c0 = arith.constant 0 : index
  %c32 = arith.constant 32 : index
  %c96 = arith.constant 96 : index
  scf.for %k = %c0 to %c96 step %c32 {
    %ta = amx.tile_load %a[%c0, %k] : memref<16x96xbf16> into !amx.tile<16x32xbf16>
    %tb = amx.tile_load %b[%c0, %c0] : memref<48x32xbf16> into !amx.tile<16x32xbf16>
    %acc = amx.tile_load %c[%c0, %c0] : memref<16x16xf32> into !amx.tile<16x16xf32>
    %p = amx.tile_mulf %ta, %tb, %acc : !amx.tile<16x32xbf16>, !amx.tile<16x32xbf16>, !amx.tile<16x16xf32>
    amx.tile_store %c[%c0, %c0], %p : memref<16x16xf32>, !amx.tile<16x16xf32>
  }
  return
}

// -----

// Another write in the loop, or a place that moves with the loop, or a
// trip count that is not static: the loop stays as it is.

// CHECK-LABEL: func @other_write
// CHECK:         scf.for
// CHECK:           amx.tile_load %{{.*}} : memref<16x16xf32> into !amx.tile<16x16xf32>
// CHECK:           amx.tile_store
// CHECK:           memref.store
// CHECK-LABEL: func @moving_place
// CHECK:         scf.for
// CHECK:           amx.tile_load
// CHECK:           amx.tile_store
// CHECK-LABEL: func @dynamic_steps
// CHECK:         scf.for
// CHECK:           amx.tile_load
// CHECK:           amx.tile_store
func.func @other_write(%a: memref<16x96xbf16>, %b: memref<48x32xbf16>, %d: memref<4xf32>) -> memref<16x16xf32> {
  %c0 = arith.constant 0 : index
  %c32 = arith.constant 32 : index
  %c96 = arith.constant 96 : index
  %f = arith.constant 1.0 : f32
  %c = memref.alloc() : memref<16x16xf32>
  scf.for %k = %c0 to %c96 step %c32 {
    %ta = amx.tile_load %a[%c0, %k] : memref<16x96xbf16> into !amx.tile<16x32xbf16>
    %tb = amx.tile_load %b[%c0, %c0] : memref<48x32xbf16> into !amx.tile<16x32xbf16>
    %acc = amx.tile_load %c[%c0, %c0] : memref<16x16xf32> into !amx.tile<16x16xf32>
    %p = amx.tile_mulf %ta, %tb, %acc : !amx.tile<16x32xbf16>, !amx.tile<16x32xbf16>, !amx.tile<16x16xf32>
    amx.tile_store %c[%c0, %c0], %p : memref<16x16xf32>, !amx.tile<16x16xf32>
    memref.store %f, %d[%c0] : memref<4xf32>
  }
  return %c : memref<16x16xf32>
}
func.func @moving_place(%a: memref<16x96xbf16>, %b: memref<48x32xbf16>) -> memref<16x96xf32> {
  %c0 = arith.constant 0 : index
  %c32 = arith.constant 32 : index
  %c96 = arith.constant 96 : index
  %c = memref.alloc() : memref<16x96xf32>
  scf.for %k = %c0 to %c96 step %c32 {
    %ta = amx.tile_load %a[%c0, %k] : memref<16x96xbf16> into !amx.tile<16x32xbf16>
    %tb = amx.tile_load %b[%c0, %c0] : memref<48x32xbf16> into !amx.tile<16x32xbf16>
    %acc = amx.tile_load %c[%c0, %k] : memref<16x96xf32> into !amx.tile<16x16xf32>
    %p = amx.tile_mulf %ta, %tb, %acc : !amx.tile<16x32xbf16>, !amx.tile<16x32xbf16>, !amx.tile<16x16xf32>
    amx.tile_store %c[%c0, %k], %p : memref<16x96xf32>, !amx.tile<16x16xf32>
  }
  return %c : memref<16x96xf32>
}
func.func @dynamic_steps(%a: memref<16x96xbf16>, %b: memref<48x32xbf16>, %n: index) -> memref<16x16xf32> {
  %c0 = arith.constant 0 : index
  %c32 = arith.constant 32 : index
  %c = memref.alloc() : memref<16x16xf32>
  scf.for %k = %c0 to %n step %c32 {
    %ta = amx.tile_load %a[%c0, %c0] : memref<16x96xbf16> into !amx.tile<16x32xbf16>
    %tb = amx.tile_load %b[%c0, %c0] : memref<48x32xbf16> into !amx.tile<16x32xbf16>
    %acc = amx.tile_load %c[%c0, %c0] : memref<16x16xf32> into !amx.tile<16x16xf32>
    %p = amx.tile_mulf %ta, %tb, %acc : !amx.tile<16x32xbf16>, !amx.tile<16x32xbf16>, !amx.tile<16x16xf32>
    amx.tile_store %c[%c0, %c0], %p : memref<16x16xf32>, !amx.tile<16x16xf32>
  }
  return %c : memref<16x16xf32>
}

// -----

// Two accumulators in one buffer, at subviews over disjoint static boxes
// (the two column tiles of a panel), are carried together; the A tile both
// products of a step read is loaded once a step.

// CHECK-LABEL: func @two_tiles
// CHECK:         %[[C:.*]] = memref.alloc() : memref<16x32xf32>
// CHECK-DAG:     %[[V0:.*]] = memref.subview %[[C]][0, 0] [16, 16] [1, 1]
// CHECK-DAG:     %[[V1:.*]] = memref.subview %[[C]][0, 16] [16, 16] [1, 1]
// CHECK-DAG:     %[[ACC0:.*]] = amx.tile_load %[[V0]]
// CHECK-DAG:     %[[ACC1:.*]] = amx.tile_load %[[V1]]
// CHECK-NOT:     scf.for
// CHECK:         %[[A0:.*]] = amx.tile_load %{{.*}}[%{{.*}}, %{{.*}}] : memref<16x64xbf16>
// CHECK-NOT:     amx.tile_load %{{.*}} : memref<16x64xbf16>
// CHECK:         %[[P0:.*]] = amx.tile_mulf %[[A0]], %{{.*}}, %[[ACC0]]
// CHECK:         %[[P1:.*]] = amx.tile_mulf %[[A0]], %{{.*}}, %[[ACC1]]
// CHECK:         %[[A1:.*]] = amx.tile_load %{{.*}}[%{{.*}}, %{{.*}}] : memref<16x64xbf16>
// CHECK-NOT:     amx.tile_load %{{.*}} : memref<16x64xbf16>
// CHECK:         amx.tile_mulf %[[A1]], %{{.*}}, %[[P0]]
// CHECK:         amx.tile_mulf %[[A1]], %{{.*}}, %[[P1]]
// CHECK-DAG:     amx.tile_store %[[V0]]
// CHECK-DAG:     amx.tile_store %[[V1]]
func.func @two_tiles(%a: memref<16x64xbf16>, %b: memref<32x64xbf16>) -> memref<16x32xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %c = memref.alloc() : memref<16x32xf32>
  scf.for %k = %c0 to %c64 step %c32 {
    %kp = arith.divui %k, %c2 : index
    %view0 = memref.subview %c[0, 0] [16, 16] [1, 1] : memref<16x32xf32> to memref<16x16xf32, strided<[32, 1]>>
    %ta0 = amx.tile_load %a[%c0, %k] : memref<16x64xbf16> into !amx.tile<16x32xbf16>
    %tb0 = amx.tile_load %b[%kp, %c0] : memref<32x64xbf16> into !amx.tile<16x32xbf16>
    %acc0 = amx.tile_load %view0[%c0, %c0] : memref<16x16xf32, strided<[32, 1]>> into !amx.tile<16x16xf32>
    %p0 = amx.tile_mulf %ta0, %tb0, %acc0 : !amx.tile<16x32xbf16>, !amx.tile<16x32xbf16>, !amx.tile<16x16xf32>
    amx.tile_store %view0[%c0, %c0], %p0 : memref<16x16xf32, strided<[32, 1]>>, !amx.tile<16x16xf32>
    %view1 = memref.subview %c[0, 16] [16, 16] [1, 1] : memref<16x32xf32> to memref<16x16xf32, strided<[32, 1], offset: 16>>
    %ta1 = amx.tile_load %a[%c0, %k] : memref<16x64xbf16> into !amx.tile<16x32xbf16>
    %tb1 = amx.tile_load %b[%kp, %c32] : memref<32x64xbf16> into !amx.tile<16x32xbf16>
    %acc1 = amx.tile_load %view1[%c0, %c0] : memref<16x16xf32, strided<[32, 1], offset: 16>> into !amx.tile<16x16xf32>
    %p1 = amx.tile_mulf %ta1, %tb1, %acc1 : !amx.tile<16x32xbf16>, !amx.tile<16x32xbf16>, !amx.tile<16x16xf32>
    amx.tile_store %view1[%c0, %c0], %p1 : memref<16x16xf32, strided<[32, 1], offset: 16>>, !amx.tile<16x16xf32>
  }
  return %c : memref<16x32xf32>
}

// -----

// Two accumulator places whose boxes may overlap (a dynamic offset): the
// loop keeps its loads and stores.

// CHECK-LABEL: func @maybe_overlapping_tiles
// CHECK:         scf.for
// CHECK-COUNT-2:   amx.tile_store
func.func @maybe_overlapping_tiles(%a: memref<16x64xbf16>, %b: memref<32x64xbf16>, %o: index) -> memref<16x64xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %c = memref.alloc() : memref<16x64xf32>
  scf.for %k = %c0 to %c64 step %c32 {
    %kp = arith.divui %k, %c2 : index
    %view0 = memref.subview %c[0, 0] [16, 16] [1, 1] : memref<16x64xf32> to memref<16x16xf32, strided<[64, 1]>>
    %ta0 = amx.tile_load %a[%c0, %k] : memref<16x64xbf16> into !amx.tile<16x32xbf16>
    %tb0 = amx.tile_load %b[%kp, %c0] : memref<32x64xbf16> into !amx.tile<16x32xbf16>
    %acc0 = amx.tile_load %view0[%c0, %c0] : memref<16x16xf32, strided<[64, 1]>> into !amx.tile<16x16xf32>
    %p0 = amx.tile_mulf %ta0, %tb0, %acc0 : !amx.tile<16x32xbf16>, !amx.tile<16x32xbf16>, !amx.tile<16x16xf32>
    amx.tile_store %view0[%c0, %c0], %p0 : memref<16x16xf32, strided<[64, 1]>>, !amx.tile<16x16xf32>
    %view1 = memref.subview %c[0, %o] [16, 16] [1, 1] : memref<16x64xf32> to memref<16x16xf32, strided<[64, 1], offset: ?>>
    %acc1 = amx.tile_load %view1[%c0, %c0] : memref<16x16xf32, strided<[64, 1], offset: ?>> into !amx.tile<16x16xf32>
    %p1 = amx.tile_mulf %ta0, %tb0, %acc1 : !amx.tile<16x32xbf16>, !amx.tile<16x32xbf16>, !amx.tile<16x16xf32>
    amx.tile_store %view1[%c0, %c0], %p1 : memref<16x16xf32, strided<[64, 1], offset: ?>>, !amx.tile<16x16xf32>
  }
  return %c : memref<16x64xf32>
}

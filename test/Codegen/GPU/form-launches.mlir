// RUN: moe-opt %s --moe-gpu-form-launches --split-input-file --verify-diagnostics | FileCheck %s

// A block forall over a grid the host computes becomes a gpu.launch of that
// grid, as wide as its widest thread forall; upstream's thread mapping
// predicates the narrower one and puts a barrier after each. The
// function's own buffer becomes a device allocation.

// CHECK-LABEL: func.func @launch
// CHECK-SAME:    (%[[N:.+]]: index, %[[X:.+]]: memref<?xf32>)
// CHECK:         %[[BUF:.+]] = gpu.alloc {{ *}}(%[[N]]) : memref<?xf32>
// CHECK:         %[[C64:.+]] = arith.constant 64 : index
// CHECK:         gpu.launch blocks(%[[BX:[a-z0-9]+]], %{{[a-z0-9]+}}, %{{[a-z0-9]+}}) in (%{{.+}} = %[[N]], %{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}) threads(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %[[C64]],
// CHECK:           memref.store %{{.+}}, %[[X]][%[[BX]]]
// CHECK:           gpu.barrier
// CHECK:           arith.cmpi ult, %{{.+}}, %{{.+}}
// CHECK:           scf.if
// CHECK:             memref.store %{{.+}}, %[[BUF]][%[[BX]]]
// CHECK:           gpu.barrier
// CHECK:           gpu.terminator
// CHECK-NOT:     scf.forall
// CHECK:         gpu.dealloc {{ *}}%[[BUF]]
func.func @launch(%n: index, %x: memref<?xf32>) {
  %buf = memref.alloc(%n) : memref<?xf32>
  %one = arith.constant 1.0 : f32
  scf.forall (%b) in (%n) {
    scf.forall (%t) in (64) {
      memref.store %one, %x[%b] : memref<?xf32>
    } {mapping = [#gpu.thread<x>]}
    scf.forall (%t) in (1) {
      memref.store %one, %buf[%b] : memref<?xf32>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>]}
  memref.dealloc %buf : memref<?xf32>
  return
}

// -----

// Two grid dimensions: the forall's first is y, its second x.

// CHECK-LABEL: func.func @grid_2d
// CHECK:         gpu.launch blocks(%[[BX:[a-z0-9]+]], %[[BY:[a-z0-9]+]], %{{[a-z0-9]+}}) in (%{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}, %{{.+}} = %{{.+}})
// CHECK:           memref.store %{{.+}}, %{{.+}}[%[[BY]], %[[BX]]]
func.func @grid_2d(%e: index, %r: index, %x: memref<?x?xf32>) {
  %one = arith.constant 1.0 : f32
  scf.forall (%i, %j) in (%e, %r) {
    scf.forall (%t) in (1) {
      memref.store %one, %x[%i, %j] : memref<?x?xf32>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<y>, #gpu.block<x>]}
  return
}

// -----

// Every thread reads the offset before thread 0 overwrites it: a barrier
// orders the reads before the write.

// CHECK-LABEL: func.func @read_then_write
// CHECK:         gpu.launch
// CHECK:           %[[OLD:.+]] = memref.load %{{.+}}[%{{.+}}]
// CHECK-NEXT:      gpu.barrier
// CHECK:           scf.if
// CHECK:             memref.store
// CHECK:           gpu.barrier
// CHECK:           memref.store %[[OLD]]
// CHECK:           gpu.barrier
// CHECK-NEXT:      gpu.terminator
func.func @read_then_write(%n: index, %offsets: memref<2xi32>,
                           %x: memref<?xi32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0 : i32
  scf.forall (%b) in (%n) {
    %old = memref.load %offsets[%c0] : memref<2xi32>
    scf.forall (%t) in (1) {
      memref.store %zero, %offsets[%c0] : memref<2xi32>
    } {mapping = [#gpu.thread<x>]}
    scf.forall (%t) in (32) {
      memref.store %old, %x[%t] : memref<?xi32>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>]}
  return
}

// -----

func.func @not_distributed(%n: index, %x: memref<?xf32>) {
  %one = arith.constant 1.0 : f32
  // expected-error @+1 {{expected a normalized, block-mapped scf.forall (moe-gpu-distribute)}}
  scf.forall (%b) in (%n) {
    memref.store %one, %x[%b] : memref<?xf32>
  }
  return
}

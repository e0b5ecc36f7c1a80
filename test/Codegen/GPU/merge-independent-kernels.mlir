// RUN: moe-opt %s --moe-gpu-merge-independent-kernels --split-input-file | FileCheck %s

// Two kernels on buffers of their own share one launch: a forall over the
// first's blocks and then the second's, each block running its kernel's
// body. The second's grid size, computed between them, moves before the
// first.

// CHECK-LABEL: func.func @independent
// CHECK-SAME:    (%[[X:.+]]: memref<?xf32>, %[[N:.+]]: index)
// CHECK:         %[[A:.+]] = memref.alloc(%[[N]])
// CHECK:         %[[M:.+]] = arith.muli %[[N]], %c2
// CHECK:         %[[B:.+]] = memref.alloc(%[[M]])
// CHECK:         %[[BLOCKS:.+]] = arith.addi %[[N]], %[[M]]
// CHECK:         scf.forall (%[[I:.+]]) in (%[[BLOCKS]]) {
// CHECK:           %[[FIRST:.+]] = arith.cmpi ult, %[[I]], %[[N]]
// CHECK:           scf.if %[[FIRST]] {
// CHECK:             memref.load %[[X]][%[[I]]]
// CHECK:             memref.store %{{.+}}, %[[A]][%[[I]]]
// CHECK:           } else {
// CHECK:             %[[J:.+]] = arith.subi %[[I]], %[[N]]
// CHECK:             memref.store %{{.+}}, %[[B]][%[[J]]]
// CHECK:           }
// CHECK:         } {mapping = [#gpu.block<x>]}
// CHECK-NOT:     scf.forall
func.func @independent(%x: memref<?xf32>, %n: index) -> (memref<?xf32>, memref<?xf32>) {
  %c2 = arith.constant 2 : index
  %cst = arith.constant 1.0 : f32
  %a = memref.alloc(%n) : memref<?xf32>
  scf.forall (%i) in (%n) {
    %v = memref.load %x[%i] : memref<?xf32>
    memref.store %v, %a[%i] : memref<?xf32>
  } {mapping = [#gpu.block<x>]}
  %m = arith.muli %n, %c2 : index
  %b = memref.alloc(%m) : memref<?xf32>
  scf.forall (%i) in (%m) {
    memref.store %cst, %b[%i] : memref<?xf32>
  } {mapping = [#gpu.block<x>]}
  return %a, %b : memref<?xf32>, memref<?xf32>
}

// -----

// The second kernel reads what the first writes: two launches.

// CHECK-LABEL: func.func @dependent
// CHECK:         scf.forall
// CHECK:         } {mapping = [#gpu.block<x>]}
// CHECK:         scf.forall
// CHECK:         } {mapping = [#gpu.block<x>]}
func.func @dependent(%x: memref<?xf32>, %n: index) -> memref<?xf32> {
  %a = memref.alloc(%n) : memref<?xf32>
  %b = memref.alloc(%n) : memref<?xf32>
  scf.forall (%i) in (%n) {
    %v = memref.load %x[%i] : memref<?xf32>
    memref.store %v, %a[%i] : memref<?xf32>
  } {mapping = [#gpu.block<x>]}
  scf.forall (%i) in (%n) {
    %v = memref.load %a[%i] : memref<?xf32>
    memref.store %v, %b[%i] : memref<?xf32>
  } {mapping = [#gpu.block<x>]}
  return %b : memref<?xf32>
}

// -----

// A kernel that writes the first one's buffer (through a view) stays apart,
// but a later, independent one moves up past it to join the first: the
// gate and up projections with the gate's fill between them.

// CHECK-LABEL: func.func @past_a_dependent_kernel
// CHECK:         %[[GATE:.+]] = memref.alloc
// CHECK:         %[[UP:.+]] = memref.alloc
// CHECK:         %[[SIXTEEN:.+]] = arith.addi %c8{{.*}}, %c8{{.*}}
// CHECK:         scf.forall (%{{.+}}) in (%[[SIXTEEN]]) {
// CHECK:           scf.if
// CHECK:             memref.store %{{.+}}, %[[GATE]]
// CHECK:           } else {
// CHECK:             memref.store %{{.+}}, %[[UP]]
// CHECK:           }
// CHECK:         } {mapping = [#gpu.block<x>]}
// CHECK:         scf.forall (%{{.+}}) in (1) {
// CHECK:           linalg.fill {{.*}} outs(%{{.+}} : memref<4xf32, strided<[1], offset: 4>>)
// CHECK:         } {mapping = [#gpu.block<x>]}
// CHECK-NOT:     scf.forall
func.func @past_a_dependent_kernel(%x: memref<8xf32>) -> (memref<8xf32>, memref<8xf32>) {
  %cst = arith.constant 0.0 : f32
  %gate = memref.alloc() : memref<8xf32>
  %up = memref.alloc() : memref<8xf32>
  scf.forall (%i) in (8) {
    %v = memref.load %x[%i] : memref<8xf32>
    memref.store %v, %gate[%i] : memref<8xf32>
  } {mapping = [#gpu.block<x>]}
  %tail = memref.subview %gate[4] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1], offset: 4>>
  scf.forall (%i) in (1) {
    linalg.fill ins(%cst : f32) outs(%tail : memref<4xf32, strided<[1], offset: 4>>)
  } {mapping = [#gpu.block<x>]}
  scf.forall (%i) in (8) {
    %v = memref.load %x[%i] : memref<8xf32>
    memref.store %v, %up[%i] : memref<8xf32>
  } {mapping = [#gpu.block<x>]}
  return %gate, %up : memref<8xf32>, memref<8xf32>
}

// -----

// Function arguments may be one buffer: a kernel that writes one and a
// kernel that reads another stay apart. So do kernels on either side of a
// call, which orders the host's work and the device's.

// CHECK-LABEL: func.func @arguments_and_calls
// CHECK-COUNT-3: scf.forall
func.func private @host_work()
func.func @arguments_and_calls(%x: memref<8xf32>, %y: memref<8xf32>) {
  %cst = arith.constant 0.0 : f32
  %a = memref.alloc() : memref<8xf32>
  scf.forall (%i) in (8) {
    memref.store %cst, %x[%i] : memref<8xf32>
  } {mapping = [#gpu.block<x>]}
  scf.forall (%i) in (8) {
    %v = memref.load %y[%i] : memref<8xf32>
    memref.store %v, %a[%i] : memref<8xf32>
  } {mapping = [#gpu.block<x>]}
  call @host_work() : () -> ()
  %b = memref.alloc() : memref<8xf32>
  scf.forall (%i) in (8) {
    memref.store %cst, %b[%i] : memref<8xf32>
  } {mapping = [#gpu.block<x>]}
  return
}

// RUN: moe-opt %s --moe-gpu-hoist-private-scratch --split-input-file | FileCheck %s

// A worker's scratch (a gated tile's gate and up: static allocas in its
// forall's body) moves to the start of the kernel, each thread's; inside
// the thread mapping's predicate it would be a dynamic stack allocation.
// An alloca with dynamic sizes stays.

// CHECK-LABEL: func.func @kernel
// CHECK:         gpu.launch
// CHECK-NEXT:      %[[S:.+]] = memref.alloca() : memref<4x1xf32>
// CHECK:           scf.if
// CHECK:             memref.alloca(%{{.+}}) : memref<?xf32>
// CHECK:             scf.for
// CHECK:               memref.store %{{.+}}, %[[S]]
func.func @kernel(%n: index, %x: memref<?x64xf32>) {
  %one = arith.constant 1.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %true = arith.constant true
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    scf.if %true {
      %s = memref.alloca() : memref<4x1xf32>
      %d = memref.alloca(%c4) : memref<?xf32>
      scf.for %i = %c0 to %c4 step %c1 {
        memref.store %one, %s[%i, %c0] : memref<4x1xf32>
        memref.store %one, %d[%i] : memref<?xf32>
      }
    }
    gpu.terminator
  }
  return
}

// -----

// On the host (before scf-forall-to-for), a worker's scratch moves to the
// function's entry: the loops that run the foralls would take new stack
// on every iteration, and they run one at a time, so one scratch serves
// them all. An alloca outside any forall stays where it is.

// CHECK-LABEL: func.func @host
// CHECK-NEXT:    %[[S:.+]] = memref.alloca() : memref<32x1xf32>
// CHECK:         memref.alloca() : memref<2xf32>
// CHECK:         scf.forall
// CHECK:           scf.forall
// CHECK-NOT:         memref.alloca
// CHECK:             memref.store %{{.+}}, %[[S]]
func.func @host(%n: index) {
  %one = arith.constant 1.0 : f32
  %c0 = arith.constant 0 : index
  %outside = memref.alloca() : memref<2xf32>
  memref.store %one, %outside[%c0] : memref<2xf32>
  scf.forall (%b) in (%n) {
    scf.forall (%t) in (64) {
      %s = memref.alloca() : memref<32x1xf32>
      memref.store %one, %s[%c0, %c0] : memref<32x1xf32>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>]}
  return
}


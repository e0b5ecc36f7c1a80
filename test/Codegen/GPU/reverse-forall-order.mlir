// RUN: moe-opt %s --moe-gpu-reverse-forall-order --canonicalize | FileCheck %s

// Each mapped forall's iterations run last to first: the body sees
// ub - 1 - i for the induction variable i, in every dimension; an unmapped
// forall keeps its order.

// CHECK-LABEL: func.func @reversed
// CHECK-SAME:    (%[[X:.+]]: memref<?x8xf32>, %[[N:.+]]: index)
// CHECK:         scf.forall (%[[B:.+]]) in (%[[N]]) {
// CHECK:           %[[LAST:.+]] = arith.subi %[[N]], %c1
// CHECK:           %[[RB:.+]] = arith.subi %[[LAST]], %[[B]]
// CHECK:           scf.forall (%[[T:.+]], %[[U:.+]]) in (4, 2) {
// CHECK:             %[[RT:.+]] = arith.subi %c3, %[[T]]
// CHECK:             %[[RU:.+]] = arith.subi %c1, %[[U]]
// CHECK:             memref.store %{{.+}}, %[[X]][%[[RB]], %[[RT]]]
// CHECK:             memref.store %{{.+}}, %[[X]][%[[RB]], %[[RU]]]
// CHECK:           } {mapping = [#gpu.thread<y>, #gpu.thread<x>]}
// CHECK:         } {mapping = [#gpu.block<x>]}
// CHECK:         scf.forall (%[[I:.+]]) in (%[[N]]) {
// CHECK-NEXT:      memref.store %{{.+}}, %[[X]][%[[I]], %[[I]]]
func.func @reversed(%x: memref<?x8xf32>, %n: index) {
  %cst = arith.constant 1.0 : f32
  scf.forall (%b) in (%n) {
    scf.forall (%t, %u) in (4, 2) {
      memref.store %cst, %x[%b, %t] : memref<?x8xf32>
      memref.store %cst, %x[%b, %u] : memref<?x8xf32>
    } {mapping = [#gpu.thread<y>, #gpu.thread<x>]}
  } {mapping = [#gpu.block<x>]}
  scf.forall (%i) in (%n) {
    memref.store %cst, %x[%i, %i] : memref<?x8xf32>
  }
  return
}

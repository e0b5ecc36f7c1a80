// RUN: moe-opt %s --moe-cpu-hoist-panel-loops --split-input-file --allow-unregistered-dialect --verify-diagnostics | FileCheck %s

// A segment loop (moe.segment_loop) that only reads memory and computes
// indices around its panel loop becomes one parallel loop over
// min(N, omp_get_max_threads()) shares of the N panels, each running the
// segment loop over its share.

// CHECK-LABEL: func.func @segments
// CHECK-SAME:    %[[OFF:[a-z0-9]+]]: memref<5xi32>, %[[OUT:[a-z0-9]+]]: memref<?x64xf32>
// CHECK-DAG:     %[[C16:.*]] = arith.constant 16 : index
// CHECK:         %[[MAX:.*]] = call @omp_get_max_threads() : () -> i32
// CHECK:         %[[THREADS:.*]] = arith.index_cast %[[MAX]] : i32 to index
// CHECK:         %[[MIN:.*]] = arith.minsi %[[THREADS]], %[[C16]] : index
// CHECK:         %[[CHUNKS:.*]] = arith.maxsi %[[ONE:[a-z0-9_]+]], %[[MIN]] : index
// CHECK:         scf.forall (%[[CH:.*]]) in (%[[CHUNKS]]) {
// CHECK:           %[[LO_N:.*]] = arith.muli %[[CH]], %[[C16]] : index
// CHECK:           %[[FIRST:.*]] = arith.divui %[[LO_N]], %[[CHUNKS]] : index
// CHECK:           %[[NEXT:.*]] = arith.addi %[[CH]], %[[ONE]] : index
// CHECK:           %[[HI_N:.*]] = arith.muli %[[NEXT]], %[[C16]] : index
// CHECK:           %[[LAST:.*]] = arith.divui %[[HI_N]], %[[CHUNKS]] : index
// CHECK:           scf.for %[[E:.*]] = {{.*}} {
// CHECK:             memref.load %[[OFF]][%[[E]]]
// CHECK:             scf.if
// CHECK:               scf.for %[[P:.*]] = %[[FIRST]] to %[[LAST]] step %[[ONE]] {
// CHECK:                 "test.panel"(%[[E]], %[[P]])
// CHECK:           } {moe.segment_loop}
// CHECK-NOT:     scf.forall
// CHECK:       func.func private @omp_get_max_threads() -> i32
func.func @segments(%off: memref<5xi32>, %out: memref<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %e = %c0 to %c4 step %c1 {
    %start = memref.load %off[%e] : memref<5xi32>
    %e1 = arith.addi %e, %c1 : index
    %end = memref.load %off[%e1] : memref<5xi32>
    %rows = arith.subi %end, %start : i32
    %zero = arith.constant 0 : i32
    %has = arith.cmpi sgt, %rows, %zero : i32
    scf.if %has {
      scf.forall (%p) in (16) {
        "test.panel"(%e, %p) : (index, index) -> ()
      }
    }
  } {moe.segment_loop}
  return
}

// -----

// Left alone: a loop without the tag, one that writes memory around its
// panel loop, and one whose panel loop has a dynamic trip count.

// CHECK-LABEL: func.func @not_hoisted
// CHECK:         scf.for
// CHECK:           scf.forall (%{{.*}}) in (16)
// CHECK:         scf.for
// CHECK:           memref.store
// CHECK:           scf.forall (%{{.*}}) in (16)
// CHECK:         scf.for
// CHECK:           scf.forall (%{{.*}}) in (%{{.*}})
// CHECK-NOT:   omp_get_max_threads
func.func @not_hoisted(%buf: memref<4xi32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %true = arith.constant true
  scf.for %e = %c0 to %c4 step %c1 {
    scf.if %true {
      scf.forall (%p) in (16) {
        "test.panel"(%e, %p) : (index, index) -> ()
      }
    }
  }
  scf.for %e = %c0 to %c4 step %c1 {
    %v = arith.index_cast %e : index to i32
    memref.store %v, %buf[%e] : memref<4xi32>
    scf.if %true {
      scf.forall (%p) in (16) {
        "test.panel"(%e, %p) : (index, index) -> ()
      }
    }
  } {moe.segment_loop}
  scf.for %e = %c0 to %c4 step %c1 {
    scf.if %true {
      scf.forall (%p) in (%n) {
        "test.panel"(%e, %p) : (index, index) -> ()
      }
    }
  } {moe.segment_loop}
  return
}

// -----

// A module that declares omp_get_max_threads with another type is an error.

// expected-error @+1 {{'omp_get_max_threads' must have type '() -> i32'}}
func.func private @omp_get_max_threads() -> i64
func.func @wrong_declaration(%off: memref<5xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %e = %c0 to %c4 step %c1 {
    %start = memref.load %off[%e] : memref<5xi32>
    %zero = arith.constant 0 : i32
    %has = arith.cmpi sgt, %start, %zero : i32
    scf.if %has {
      scf.forall (%p) in (16) {
        "test.panel"(%e, %p) : (index, index) -> ()
      }
    }
  } {moe.segment_loop}
  return
}

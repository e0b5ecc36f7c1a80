// RUN: moe-opt %s --moe-cpu-scratch-arena --split-input-file --allow-unregistered-dialect --verify-diagnostics | FileCheck %s

// Buffers allocated at the top level of moe_forward with sizes that follow
// from the token count become views of the scratch arena at 64-byte
// aligned offsets; moe_scratch_bytes(T) sums the same sizes. A buffer whose
// size depends on data, or one allocated in a loop, stays an allocation.

// CHECK-LABEL: func.func @moe_forward(
// CHECK-SAME:    %[[T:[a-z0-9]+]]: index, %{{.*}}: memref<?xi8>, %{{.*}}: memref<?xi8>, %{{.*}}: memref<?xi8>, %[[S:[a-z0-9]+]]: memref<?xi8>)
// CHECK:         %[[C0:.*]] = arith.constant 0 : index
// CHECK:         memref.view %[[S]][%[[C0]]][%[[T]]] : memref<?xi8> to memref<?x8xf32>
// CHECK:         %[[C32:.*]] = arith.constant 32 : index
// CHECK:         %[[AB:.*]] = arith.muli %[[C32]], %[[T]] : index
// CHECK:         %[[C64:.*]] = arith.constant 64 : index
// CHECK:         %[[AN:.*]] = arith.ceildivui %[[AB]], %[[C64]] : index
// CHECK:         %[[AA:.*]] = arith.muli %[[AN]], %[[C64]] : index
// CHECK:         %[[O1:.*]] = arith.addi %[[C0]], %[[AA]] : index
// CHECK:         %[[R:.*]] = arith.muli %[[T]], %{{.*}} : index
// CHECK:         memref.view %[[S]][%[[O1]]][%[[R]]] : memref<?xi8> to memref<?xi32>
// CHECK:         memref.view %[[S]][%{{.*}}][] : memref<?xi8> to memref<3xf64>
// CHECK:         %[[N:.*]] = memref.load
// CHECK:         memref.alloc(%[[N]]) : memref<?xf32>
// CHECK:         scf.for
// CHECK:           memref.alloc() : memref<4xf32>
// CHECK-NOT:     memref.alloc

// CHECK-LABEL: func.func @moe_scratch_bytes(
// CHECK-SAME:    %[[ST:.*]]: index) -> index
// CHECK:         %[[C32B:.*]] = arith.constant 32 : index
// CHECK:         arith.muli %[[C32B]], %[[ST]] : index
// CHECK:         %[[SR:.*]] = arith.muli %[[ST]], %{{.*}} : index
// CHECK:         arith.muli %{{.*}}, %[[SR]] : index
// CHECK:         arith.constant 24 : index
// CHECK:         %[[TOTAL:.*]] = arith.addi
// CHECK-NEXT:    return %[[TOTAL]] : index
func.func @moe_forward(%t: index, %in: memref<?xi8>, %p: memref<?xi8>, %out: memref<?xi8>, %scratch: memref<?xi8>)
    attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %a = memref.alloc(%t) {alignment = 64 : i64} : memref<?x8xf32>
  %r = arith.muli %t, %c2 : index
  %b = memref.alloc(%r) {alignment = 64 : i64} : memref<?xi32>
  %c = memref.alloc() {alignment = 64 : i64} : memref<3xf64>
  %counts = memref.view %in[%c0][] : memref<?xi8> to memref<4xindex>
  %n = memref.load %counts[%c0] : memref<4xindex>
  %d = memref.alloc(%n) : memref<?xf32>
  scf.for %i = %c0 to %t step %c1 {
    %e = memref.alloc() : memref<4xf32>
    "test.use"(%e) : (memref<4xf32>) -> ()
  }
  "test.use"(%a, %b, %c, %d) : (memref<?x8xf32>, memref<?xi32>, memref<3xf64>, memref<?xf32>) -> ()
  return
}

// -----

// No moe_forward: nothing to do.

// CHECK-LABEL: func.func @other(
// CHECK:         memref.alloc
// CHECK-NOT:     moe_scratch_bytes
func.func @other(%t: index) {
  %a = memref.alloc(%t) : memref<?xf32>
  "test.use"(%a) : (memref<?xf32>) -> ()
  return
}

// -----

// expected-error @+1 {{expected 5 arguments (the token count and four arenas)}}
func.func @moe_forward(%t: index, %in: memref<?xi8>, %p: memref<?xi8>, %out: memref<?xi8>) {
  return
}

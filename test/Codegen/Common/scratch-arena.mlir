// RUN: moe-opt %s --moe-scratch-arena --split-input-file --allow-unregistered-dialect --verify-diagnostics | FileCheck %s

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

// -----

// The functions moe_forward calls at its top level (outlined layers) run
// one at a time: they take a part of the arena after moe_forward's own
// buffers as a new last argument, and their buffers sized by their
// arguments become views of it. Each call passes the bytes its operands
// make those buffers take (here 64 T + 4 N rounded up to 64 bytes each),
// and moe_scratch_bytes adds the largest call's. A buffer the callee
// returns stays an allocation, and so do the buffers of a function called
// in a loop. The callee's argument attributes stay with their arguments.

// CHECK-LABEL: func.func private @layer(
// CHECK-SAME:    %[[X:[a-z0-9]+]]: memref<?x8xf32> {test.kept}, %[[N:[a-z0-9]+]]: index, %[[A:[a-z0-9]+]]: memref<?xi8>) -> memref<?xf32>
// CHECK:         %[[T:.*]] = memref.dim %[[X]]
// CHECK:         memref.view %[[A]][%{{.*}}][%[[T]]] : memref<?xi8> to memref<?x16xf32>
// CHECK:         memref.view %[[A]][%{{.*}}][%[[N]]] : memref<?xi8> to memref<?xf32>
// CHECK:         %[[R:.*]] = memref.alloc(%[[T]]) : memref<?xf32>
// CHECK:         return %[[R]]
// CHECK-LABEL: func.func private @in_loop(
// CHECK-SAME:    %{{.*}}: memref<?x8xf32>) {
// CHECK:         memref.alloc
// CHECK-LABEL: func.func @moe_forward(
// CHECK-SAME:    %[[FT:[a-z0-9]+]]: index, %{{.*}}: memref<?xi8>, %{{.*}}: memref<?xi8>, %{{.*}}: memref<?xi8>, %[[S:[a-z0-9]+]]: memref<?xi8>)
// CHECK:         %[[OFF:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK:         %[[XV:.*]] = memref.view %[[S]][%{{.*}}][%[[FT]]] : memref<?xi8> to memref<?x8xf32>
// CHECK:         %[[T3:.*]] = arith.muli %[[FT]], %{{.*}} : index
// CHECK:         arith.constant 64 : index
// CHECK-NEXT:    %[[A1:.*]] = arith.muli %{{.*}}, %[[FT]] : index
// CHECK:         arith.constant 4 : index
// CHECK-NEXT:    %[[B1:.*]] = arith.muli %{{.*}}, %[[T3]] : index
// CHECK:         %[[P1:.*]] = memref.view %[[S]][%[[OFF]]][%{{.*}}] : memref<?xi8> to memref<?xi8>
// CHECK-NEXT:    call @layer(%[[XV]], %[[T3]], %[[P1]])
// CHECK:         %[[P2:.*]] = memref.view %[[S]][%[[OFF]]][%{{.*}}] : memref<?xi8> to memref<?xi8>
// CHECK-NEXT:    call @layer(%[[XV]], %[[FT]], %[[P2]])
// CHECK:         scf.for
// CHECK-NEXT:      call @in_loop(%[[XV]]) :
// CHECK-LABEL: func.func @moe_scratch_bytes(
// CHECK:         %[[OWN:.*]] = arith.addi
// CHECK:         %[[LARGEST:.*]] = arith.maxui
// CHECK-NEXT:    %[[TOTAL:.*]] = arith.addi %[[OWN]], %[[LARGEST]] : index
// CHECK-NEXT:    return %[[TOTAL]] : index
func.func private @layer(%x: memref<?x8xf32> {test.kept}, %n: index) -> memref<?xf32> {
  %c0 = arith.constant 0 : index
  %t = memref.dim %x, %c0 : memref<?x8xf32>
  %a = memref.alloc(%t) : memref<?x16xf32>
  %b = memref.alloc(%n) : memref<?xf32>
  %r = memref.alloc(%t) : memref<?xf32>
  "test.use"(%a, %b) : (memref<?x16xf32>, memref<?xf32>) -> ()
  return %r : memref<?xf32>
}
func.func private @in_loop(%x: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %t = memref.dim %x, %c0 : memref<?x8xf32>
  %a = memref.alloc(%t) : memref<?xf32>
  "test.use"(%a) : (memref<?xf32>) -> ()
  return
}
func.func @moe_forward(%t: index, %in: memref<?xi8>, %p: memref<?xi8>, %out: memref<?xi8>, %scratch: memref<?xi8>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %x = memref.alloc(%t) : memref<?x8xf32>
  %t3 = arith.muli %t, %c3 : index
  %r1 = call @layer(%x, %t3) : (memref<?x8xf32>, index) -> memref<?xf32>
  %r2 = call @layer(%x, %t) : (memref<?x8xf32>, index) -> memref<?xf32>
  scf.for %i = %c0 to %t step %c1 {
    func.call @in_loop(%x) : (memref<?x8xf32>) -> ()
  }
  "test.use"(%r1, %r2) : (memref<?xf32>, memref<?xf32>) -> ()
  return
}

// RUN: moe-opt %s --split-input-file --moe-cpu-hoist-tile-buffers | FileCheck %s
// RUN: moe-opt %s --split-input-file --moe-cpu-hoist-tile-buffers="max-bytes=1024" | FileCheck %s --check-prefix=SMALL

// A block of at most 32 rows, allocated per block inside a thread's share of
// the panels (an scf.forall iteration): one buffer of the bound, allocated
// when the iteration starts; each block takes its rows of it, in the
// allocation's own type.

#block = affine_map<(d0)[s0] -> (-d0 + s0, 32)>

// CHECK-LABEL: func @forall_block
// CHECK:       scf.forall
// CHECK-NEXT:    %[[BUF:.*]] = memref.alloc() {alignment = 64 : i64} : memref<32x1x16xf32>
// CHECK:         scf.for %[[R:.*]] =
// CHECK:           %[[ROWS:.*]] = affine.min
// CHECK-NOT:       memref.alloc
// CHECK:           %[[VIEW:.*]] = memref.reinterpret_cast %[[BUF]] to offset: [0], sizes: [%[[ROWS]], 1, 16], strides: [16, 16, 1] : memref<32x1x16xf32> to memref<?x1x16xf32>
// CHECK:           linalg.fill {{.*}} outs(%[[VIEW]] : memref<?x1x16xf32>)
// CHECK:           memref.copy %[[VIEW]], %{{.*}} : memref<?x1x16xf32> to memref<?x1x16xf32, strided<[16, 16, 1], offset: ?>>

// A 2 KB buffer is more than max-bytes=1024: it stays where it was.
// SMALL-LABEL: func @forall_block
// SMALL:         scf.for
// SMALL:           memref.alloc(%{{.*}}) : memref<?x1x16xf32>
// SMALL-NOT:     memref.reinterpret_cast
func.func @forall_block(%n: index, %out: memref<?x1x16xf32>) {
  %c0 = arith.constant 0 : index
  %c32 = arith.constant 32 : index
  %zero = arith.constant 0.0 : f32
  scf.forall (%p) in (4) {
    scf.for %r = %c0 to %n step %c32 {
      %rows = affine.min #block(%r)[%n]
      %tmp = memref.alloc(%rows) : memref<?x1x16xf32>
      linalg.fill ins(%zero : f32) outs(%tmp : memref<?x1x16xf32>)
      %dst = memref.subview %out[%r, 0, 0] [%rows, 1, 16] [1, 1, 1]
          : memref<?x1x16xf32> to memref<?x1x16xf32, strided<[16, 16, 1], offset: ?>>
      memref.copy %tmp, %dst : memref<?x1x16xf32> to memref<?x1x16xf32, strided<[16, 16, 1], offset: ?>>
    }
  }
  return
}

// -----

// Outside any forall (one thread), the buffer goes on the function's stack,
// in its entry block, which runs once a call.

#block = affine_map<(d0)[s0] -> (-d0 + s0, 8)>

// CHECK-LABEL: func @serial_block
// CHECK-NEXT:    %[[BUF:.*]] = memref.alloca() {alignment = 64 : i64} : memref<8x24xf32>
// CHECK:         scf.for
// CHECK:           memref.reinterpret_cast %[[BUF]] to offset: [0], sizes: [%{{.*}}, 24], strides: [24, 1] : memref<8x24xf32> to memref<?x24xf32>
// CHECK-NOT:     memref.alloc

// 768 bytes: within max-bytes=1024.
// SMALL-LABEL: func @serial_block
// SMALL-NEXT:    memref.alloca() {alignment = 64 : i64} : memref<8x24xf32>
func.func @serial_block(%n: index, %v: f32) {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  scf.for %r = %c0 to %n step %c8 {
    %rows = affine.min #block(%r)[%n]
    %tmp = memref.alloc(%rows) : memref<?x24xf32>
    linalg.fill ins(%v : f32) outs(%tmp : memref<?x24xf32>)
  }
  return
}

// -----

// Left alone: a size with no constant bound, a dynamic size other than the
// leading one (the strides would depend on it), a buffer a call takes, and
// one a loop yields.

#block = affine_map<(d0)[s0] -> (-d0 + s0, 8)>

func.func private @use(memref<?x4xf32>)

// CHECK-LABEL: func @not_hoisted
// CHECK-NOT:     memref.alloca
// CHECK:         scf.for
// CHECK:           memref.alloc(%{{.*}}) : memref<?x4xf32>
// CHECK:           memref.alloc(%{{.*}}) : memref<4x?xf32>
// CHECK:           memref.alloc(%{{.*}}) : memref<?x4xf32>
// CHECK:           memref.alloc(%{{.*}}) : memref<?x4xf32>
// CHECK-NOT:     memref.reinterpret_cast
func.func @not_hoisted(%n: index, %v: f32) -> memref<?x4xf32> {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %init = memref.alloc(%c8) : memref<?x4xf32>
  %last = scf.for %r = %c0 to %n step %c8 iter_args(%prev = %init) -> (memref<?x4xf32>) {
    %rows = affine.min #block(%r)[%n]
    %unbounded = memref.alloc(%n) : memref<?x4xf32>
    linalg.fill ins(%v : f32) outs(%unbounded : memref<?x4xf32>)
    %inner = memref.alloc(%rows) : memref<4x?xf32>
    linalg.fill ins(%v : f32) outs(%inner : memref<4x?xf32>)
    %called = memref.alloc(%rows) : memref<?x4xf32>
    func.call @use(%called) : (memref<?x4xf32>) -> ()
    %yielded = memref.alloc(%rows) : memref<?x4xf32>
    scf.yield %yielded : memref<?x4xf32>
  }
  return %last : memref<?x4xf32>
}

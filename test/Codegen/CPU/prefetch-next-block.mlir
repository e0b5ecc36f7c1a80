// RUN: moe-opt %s --allow-unregistered-dialect --split-input-file --pass-pipeline='builtin.module(func.func(moe-cpu-prefetch-next-block))' | FileCheck %s
// RUN: moe-opt %s --allow-unregistered-dialect --split-input-file --pass-pipeline='builtin.module(func.func(moe-cpu-prefetch-next-block{spread-rows=8 locality-hint=2}))' | FileCheck %s --check-prefix=SPREAD8
// RUN: moe-opt %s --allow-unregistered-dialect --split-input-file --pass-pipeline='builtin.module(func.func(moe-cpu-prefetch-next-block{spread-rows=24}))' | FileCheck %s --check-prefix=SPREAD24
// RUN: moe-opt %s --allow-unregistered-dialect --split-input-file --pass-pipeline='builtin.module(func.func(moe-cpu-prefetch-next-block{short-spread-rows=16}))' | FileCheck %s --check-prefix=SHORT
// RUN: not moe-opt %s --allow-unregistered-dialect --split-input-file --pass-pipeline='builtin.module(func.func(moe-cpu-prefetch-next-block{spread-rows=0}))' 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not moe-opt %s --allow-unregistered-dialect --split-input-file --pass-pipeline='builtin.module(func.func(moe-cpu-prefetch-next-block{short-spread-rows=-1}))' 2>&1 | FileCheck %s --check-prefix=BAD

// A K block of a packed [E, N/P, K, P] panel read by 8-row tiles, then, for
// the remainder, row by row. Each k step of a tile at row r prefetches
// element (r K + j h) P / 32 of the next block (K = 256, P = 32: r 256 + 8 j
// for the tiles, r 256 + j for the rows), at the next block's start:
// offset + 256 * 32. The tile's start is clamped first, so that its 256
// steps stay in the block (8191 - 255 * 8) and in the weights (262143 -
// 255 * 8); the k loop only adds.

// CHECK-LABEL: func.func @down_block
// CHECK-SAME:    %[[W:[a-z0-9]+]]: memref<2x4x1024x32xf32>
// CHECK:         %[[BLOCK:.*]] = memref.subview %[[W]]
// CHECK-NOT:     scf.if
// CHECK:         scf.for %[[R:[a-z0-9]+]] = %{{.*}} to %{{.*}} step %[[C8:[a-z0-9_]+]] {
// CHECK:           %[[BASE:.*]], %[[OFFSET:.*]], %{{.*}}:3, %{{.*}}:3 = memref.extract_strided_metadata %[[BLOCK]]
// CHECK:           %[[NEXT:.*]] = arith.addi %[[OFFSET]], %{{.*}} : index
// CHECK:           %[[FLAT:.*]] = memref.reinterpret_cast %[[BASE]] to offset: [0], sizes: [262144], strides: [1] : memref<f32> to memref<262144xf32>
// CHECK:           %[[C8192:.*]] = arith.constant 8192 : index
// CHECK:           %[[TILE:.*]] = arith.muli %[[R]], %[[C8192]] : index
// CHECK:           %[[C32:.*]] = arith.constant 32 : index
// CHECK:           %[[TILESLICE:.*]] = arith.divui %[[TILE]], %[[C32]] : index
// CHECK:           %[[LASTSTART:.*]] = arith.constant 6151 : index
// CHECK:           %[[INBLOCK:.*]] = arith.minui %[[TILESLICE]], %[[LASTSTART]] : index
// CHECK:           %[[START:.*]] = arith.addi %[[NEXT]], %[[INBLOCK]] : index
// CHECK:           %[[LASTTARGET:.*]] = arith.constant 260103 : index
// CHECK:           %[[CLAMPED:.*]] = arith.minui %[[START]], %[[LASTTARGET]] : index
// CHECK:           scf.for %[[K:[a-z0-9]+]] = %{{.*}} to %{{.*}} step
// CHECK:             %[[J:.*]] = arith.subi %[[K]], %{{.*}} : index
// 8 rows x 32 / 32 spread rows = 8 elements a k step, a whole number.
// CHECK:             %[[C8E:.*]] = arith.constant 8 : index
// CHECK:             %[[ADV:.*]] = arith.muli %[[J]], %[[C8E]] : index
// CHECK:             %[[ADDR:.*]] = arith.addi %[[CLAMPED]], %[[ADV]] : index
// CHECK:             memref.prefetch %[[FLAT]][%[[ADDR]]], read, locality<3>, data : memref<262144xf32>
// CHECK-NEXT:        vector.transfer_read
// The remainder's rows: the row is the tile loop's and the row loop's
// induction variables added, and a k step advances one element.
// CHECK:         scf.for %[[RR:[a-z0-9]+]] = %{{.*}} to %{{.*}} step %[[C8]] {
// CHECK:           scf.for %[[ROW:[a-z0-9]+]] =
// CHECK:             %[[FIRST:.*]] = arith.addi %[[RR]], %[[ROW]] : index
// CHECK:             arith.muli %[[FIRST]], %{{.*}} : index
// CHECK:             scf.for
// CHECK:               arith.constant 1 : index
// CHECK:               memref.prefetch
// CHECK-NEXT:          vector.transfer_read
// The activation row's 1 x 1 reads are not weight panels.
// CHECK-NOT:     memref.prefetch
// CHECK:         return
// SPREAD8-LABEL: func.func @down_block
// 8 rows x 32 / 8 spread rows = 32 elements a k step.
// SPREAD8:         arith.constant 32 : index
// SPREAD8:         arith.muli
// SPREAD8:         memref.prefetch %{{.*}}[%{{.*}}], read, locality<2>, data
// SPREAD24-LABEL: func.func @down_block
// 8 rows x 32 / 24 spread rows = 10.67 elements a k step: 16.16 fixed point.
// SPREAD24:         scf.for
// SPREAD24:           arith.constant 699050 : index
// SPREAD24:           arith.muli
// SPREAD24:           arith.shrui
// SPREAD24:           memref.prefetch
// With short-spread-rows=16, a block whose row loop runs to 8 to 23 rows
// takes a copy of it whose tiles spread over 16 rows: twice the slice
// (r 256 32 / 16), two prefetches a k step, 256 x 8 = 2048 elements
// apart, so that the step stays 8 elements; the start is clamped so that
// both streams stay in the block (8191 - 255 * 8 - 2048 = 4103). Other
// blocks run the loop as without the option.
// SHORT-LABEL: func.func @down_block
// SHORT-SAME:    %[[ROWS:[a-z0-9]+]]: index, %[[WHOLE:[a-z0-9]+]]: index) {
// SHORT:         memref.subview
// SHORT-NEXT:    %[[C8:.*]] = arith.constant 8 : index
// SHORT-NEXT:    %[[FEW:.*]] = arith.cmpi ult, %[[WHOLE]], %[[C8]] : index
// SHORT-NEXT:    %[[C24:.*]] = arith.constant 24 : index
// SHORT-NEXT:    %[[MANY:.*]] = arith.cmpi uge, %[[WHOLE]], %[[C24]] : index
// SHORT:         %[[REGULAR:.*]] = arith.ori %[[FEW]], %[[MANY]] : i1
// SHORT:         scf.if %[[REGULAR]] {
// SHORT:           scf.for %{{.*}} = %{{.*}} to %[[WHOLE]] step
// SHORT:             arith.constant 32 : index
// SHORT:             arith.divui
// SHORT:             arith.constant 6151 : index
// SHORT:             scf.for
// SHORT:               memref.prefetch
// SHORT-NEXT:          vector.transfer_read
// SHORT:         } else {
// SHORT:           scf.for %{{.*}} = %{{.*}} to %[[WHOLE]] step
// SHORT:             arith.constant 16 : index
// SHORT:             arith.divui
// SHORT:             arith.constant 4103 : index
// SHORT:             scf.for
// SHORT:               %[[AT:.*]] = arith.addi
// SHORT:               memref.prefetch %{{.*}}[%[[AT]]]
// SHORT:               %[[C2048:.*]] = arith.constant 2048 : index
// SHORT:               %[[AT2:.*]] = arith.addi %[[AT]], %[[C2048]] : index
// SHORT:               memref.prefetch %{{.*}}[%[[AT2]]]
// SHORT-NEXT:          vector.transfer_read
// SHORT:         }
// The remainder's loop runs to the rows, and is chosen the same way.
// SHORT:         arith.cmpi ult, %[[ROWS]], %{{.*}} : index
// SHORT:         scf.if
// BAD: spread-rows must be at least 1, short-spread-rows at least 0
func.func @down_block(%w: memref<2x4x1024x32xf32>, %a: memref<?x1024xf32>,
                      %out: memref<?x32xf32>, %e: index, %p: index,
                      %kb: index, %rows: index, %whole: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c256 = arith.constant 256 : index
  %pad = arith.constant 0.0 : f32
  %block = memref.subview %w[%e, %p, %kb, 0] [1, 1, 256, 32] [1, 1, 1, 1]
      : memref<2x4x1024x32xf32>
        to memref<1x256x32xf32, strided<[32768, 32, 1], offset: ?>>
  scf.for %r = %c0 to %whole step %c8 {
    scf.for %k = %c0 to %c256 step %c1 {
      %row = memref.subview %block[0, %k, 0] [1, 1, 32] [1, 1, 1]
          : memref<1x256x32xf32, strided<[32768, 32, 1], offset: ?>>
            to memref<1x1x32xf32, strided<[32768, 32, 1], offset: ?>>
      %v = vector.transfer_read %row[%c0, %c0, %c0], %pad {in_bounds = [true]}
          : memref<1x1x32xf32, strided<[32768, 32, 1], offset: ?>>, vector<32xf32>
      "test.use"(%v) : (vector<32xf32>) -> ()
    }
  }
  scf.for %r = %whole to %rows step %c8 {
    scf.for %i = %c0 to %c8 step %c1 {
      %arow = memref.subview %a[%i, 0] [1, 1024] [1, 1]
          : memref<?x1024xf32> to memref<1x1024xf32, strided<[1024, 1], offset: ?>>
      scf.for %k = %c0 to %c256 step %c1 {
        %row = memref.subview %block[0, %k, 0] [1, 1, 32] [1, 1, 1]
            : memref<1x256x32xf32, strided<[32768, 32, 1], offset: ?>>
              to memref<1x1x32xf32, strided<[32768, 32, 1], offset: ?>>
        %v = vector.transfer_read %row[%c0, %c0, %c0], %pad {in_bounds = [true]}
            : memref<1x1x32xf32, strided<[32768, 32, 1], offset: ?>>, vector<32xf32>
        %x = memref.subview %arow[0, %k] [1, 1] [1, 1]
            : memref<1x1024xf32, strided<[1024, 1], offset: ?>>
              to memref<1x1xf32, strided<[1024, 1], offset: ?>>
        %xv = vector.transfer_read %x[%c0, %c0], %pad {in_bounds = [true, true]}
            : memref<1x1xf32, strided<[1024, 1], offset: ?>>, vector<1x1xf32>
        "test.use2"(%v, %xv) : (vector<32xf32>, vector<1x1xf32>) -> ()
      }
    }
  }
  return
}

// -----

// The whole-K gated tile: a gate and an up panel read in two k loops of one
// row-tile loop. Each prefetches its own next block; a short block runs one
// copy of the row loop with both k loops' two streams.

// CHECK-LABEL: func.func @gate_and_up
// CHECK:         scf.for
// CHECK-COUNT-2:   memref.prefetch
// CHECK-NOT:       memref.prefetch
// SHORT-LABEL: func.func @gate_and_up
// SHORT:         scf.if
// SHORT-COUNT-2:   memref.prefetch
// SHORT:         } else {
// SHORT-COUNT-4:   memref.prefetch
// SHORT-NOT:     scf.if
// SHORT-NOT:     memref.prefetch
// SHORT:         return
func.func @gate_and_up(%g: memref<2x4x256x32xf32>, %u: memref<2x4x256x32xf32>,
                       %rows: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c256 = arith.constant 256 : index
  %pad = arith.constant 0.0 : f32
  %gblock = memref.subview %g[0, 0, 0, 0] [1, 1, 256, 32] [1, 1, 1, 1]
      : memref<2x4x256x32xf32> to memref<1x256x32xf32, strided<[8192, 32, 1]>>
  %ublock = memref.subview %u[0, 0, 0, 0] [1, 1, 256, 32] [1, 1, 1, 1]
      : memref<2x4x256x32xf32> to memref<1x256x32xf32, strided<[8192, 32, 1]>>
  scf.for %r = %c0 to %rows step %c8 {
    scf.for %k = %c0 to %c256 step %c1 {
      %row = memref.subview %gblock[0, %k, 0] [1, 1, 32] [1, 1, 1]
          : memref<1x256x32xf32, strided<[8192, 32, 1]>>
            to memref<1x1x32xf32, strided<[8192, 32, 1], offset: ?>>
      %v = vector.transfer_read %row[%c0, %c0, %c0], %pad {in_bounds = [true]}
          : memref<1x1x32xf32, strided<[8192, 32, 1], offset: ?>>, vector<32xf32>
      "test.use"(%v) : (vector<32xf32>) -> ()
    }
    scf.for %k = %c0 to %c256 step %c1 {
      %row = memref.subview %ublock[0, %k, 0] [1, 1, 32] [1, 1, 1]
          : memref<1x256x32xf32, strided<[8192, 32, 1]>>
            to memref<1x1x32xf32, strided<[8192, 32, 1], offset: ?>>
      %v = vector.transfer_read %row[%c0, %c0, %c0], %pad {in_bounds = [true]}
          : memref<1x1x32xf32, strided<[8192, 32, 1], offset: ?>>, vector<32xf32>
      "test.use"(%v) : (vector<32xf32>) -> ()
    }
  }
  return
}

// -----

// Left alone: a read whose k loop has a dynamic bound, one of a panel
// narrower than a cache line (8 x f32), and one whose rows are not
// contiguous (an [E, K, N] weight read 32 columns at a time).

// CHECK-LABEL: func.func @not_prefetched
// CHECK-NOT:     memref.prefetch
func.func @not_prefetched(%w: memref<2x4x1024x32xf32>, %narrow: memref<2x1024x8xf32>,
                          %kn: memref<2x1024x64xf32>, %kend: index, %rows: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c256 = arith.constant 256 : index
  %pad = arith.constant 0.0 : f32
  %block = memref.subview %w[0, 0, 0, 0] [1, 1, 256, 32] [1, 1, 1, 1]
      : memref<2x4x1024x32xf32>
        to memref<1x256x32xf32, strided<[32768, 32, 1]>>
  %nblock = memref.subview %narrow[0, 0, 0] [1, 256, 8] [1, 1, 1]
      : memref<2x1024x8xf32> to memref<1x256x8xf32, strided<[8192, 8, 1]>>
  %kblock = memref.subview %kn[0, 0, 0] [1, 256, 64] [1, 1, 1]
      : memref<2x1024x64xf32> to memref<1x256x64xf32, strided<[65536, 64, 1]>>
  scf.for %r = %c0 to %rows step %c8 {
    scf.for %k = %c0 to %kend step %c1 {
      %row = memref.subview %block[0, %k, 0] [1, 1, 32] [1, 1, 1]
          : memref<1x256x32xf32, strided<[32768, 32, 1]>>
            to memref<1x1x32xf32, strided<[32768, 32, 1], offset: ?>>
      %v = vector.transfer_read %row[%c0, %c0, %c0], %pad {in_bounds = [true]}
          : memref<1x1x32xf32, strided<[32768, 32, 1], offset: ?>>, vector<32xf32>
      "test.use"(%v) : (vector<32xf32>) -> ()
    }
    scf.for %k = %c0 to %c256 step %c1 {
      %row = memref.subview %nblock[0, %k, 0] [1, 1, 8] [1, 1, 1]
          : memref<1x256x8xf32, strided<[8192, 8, 1]>>
            to memref<1x1x8xf32, strided<[8192, 8, 1], offset: ?>>
      %v = vector.transfer_read %row[%c0, %c0, %c0], %pad {in_bounds = [true]}
          : memref<1x1x8xf32, strided<[8192, 8, 1], offset: ?>>, vector<8xf32>
      "test.use"(%v) : (vector<8xf32>) -> ()
      %krow = memref.subview %kblock[0, %k, 0] [1, 1, 32] [1, 1, 1]
          : memref<1x256x64xf32, strided<[65536, 64, 1]>>
            to memref<1x1x32xf32, strided<[65536, 64, 1], offset: ?>>
      %kv = vector.transfer_read %krow[%c0, %c0, %c0], %pad {in_bounds = [true]}
          : memref<1x1x32xf32, strided<[65536, 64, 1], offset: ?>>, vector<32xf32>
      "test.use"(%kv) : (vector<32xf32>) -> ()
    }
  }
  return
}

// RUN: moe-opt %s --moe-gpu-warp-mma --split-input-file | FileCheck %s
// RUN: moe-opt %s --moe-gpu-warp-mma=stage-weights=true --split-input-file | FileCheck %s --check-prefix=SW
// A grid of 2 x 2 warps of 32-row tiles is not a warpgroup's shape (each
// warp 16 rows from 16 warp, W from row 0): wgmma leaves it on mma.sync.
// RUN: moe-opt %s --moe-gpu-warp-mma="stage-weights=true wgmma=true" --split-input-file | FileCheck %s --check-prefix=SW

// The block's two warps each own up to 32 columns of a tile of up to 32 rows
// and K = 96; the second warp's may be empty (a ragged window), and so may
// both (no rows). Every thread
// of the block reaches the tile alike, so the block stages A's rows in
// shared memory, rounded to bf16: chunks of 64 columns in two buffers of
// [32, 96] (a row 192 bytes, so that a 16-byte access phase touches no bank
// twice). Each of the 64 threads copies 8 pieces of 4 f32 a chunk (16-byte
// loads, zeros past the rows and K), then the chunk loop: load the next
// chunk's pieces, run this chunk's steps where the warp has columns, store
// the pieces into the other buffer, and wait at a barrier that every
// thread reaches. A step reads A's
// groups from the staged chunk (no rounding, no check against K) and W's
// from memory.

// CHECK-LABEL: func.func @staged
// CHECK-SAME:    (%[[X:.+]]: memref<?x96xf32>,
// CHECK:         gpu.launch
// CHECK-SAME:      workgroup(%[[BUF:.+]] : memref<2x32x96xbf16, #gpu.address_space<workgroup>>)
// CHECK:           %[[A:.+]] = memref.subview %[[X]]
// CHECK:           %[[TID:.+]] = gpu.thread_id x
// CHECK:           %[[ROWS:.+]] = memref.dim %[[C:.+]], %c0
// CHECK:           %[[SOME_ROWS:.+]] = arith.cmpi ne, %[[ROWS]], %c0
// CHECK:           %[[COLS:.+]] = memref.dim %[[C]], %c1
// CHECK:           %[[SOME_COLS:.+]] = arith.cmpi ne, %[[COLS]], %c0
// CHECK:           %[[HAS_TILE:.+]] = arith.andi %[[SOME_ROWS]], %[[SOME_COLS]]
// The accumulators start from C where the warp has columns.
// CHECK:           %[[INIT:.+]]:8 = scf.if %[[HAS_TILE]] -> (vector<2x2xf32>,
// CHECK:             memref.load %[[C]]
// CHECK:           } else {
// CHECK:             scf.yield %{{.+}} : vector<2x2xf32>,
// CHECK:           }
// CHECK:           %[[CHUNKS:.+]] = arith.ceildivui %{{.+}}, %c64
// The first chunk: 512 pieces, 8 a thread, thread-major, each loaded
// where it is inside the rows and K, then rounded and stored.
// CHECK:           %[[PIECE:.+]] = arith.addi %c0{{.*}}, %[[TID]]
// CHECK:           %[[ROW:.+]] = arith.divui %[[PIECE]], %c16
// CHECK:           %[[COL4:.+]] = arith.remui %[[PIECE]], %c16
// CHECK:           %[[COL:.+]] = arith.muli %[[COL4]], %c4
// CHECK:           %[[V:.+]] = scf.if %{{.+}} -> (vector<4xf32>) {
// CHECK:             vector.load %[[A]][%[[ROW]], %{{.+}}] {alignment = 16 : i64} : {{.+}}, vector<4xf32>
// CHECK:           } else {
// CHECK-COUNT-7:   vector.load %[[A]]
// CHECK:           %[[R:.+]] = arith.truncf %[[V]] : vector<4xf32> to vector<4xbf16>
// CHECK:           vector.store %[[R]], %[[BUF]][%{{.+}}, %{{.+}}, %{{.+}}] {alignment = 8 : i64}
// CHECK-COUNT-7:   vector.store %{{.+}}, %[[BUF]]
// CHECK-NOT:       vector.store
// CHECK:           gpu.barrier
// CHECK:           %[[SUM:.+]]:8 = scf.for %[[CHUNK:.+]] = %c0{{.*}} to %[[CHUNKS]] step %c1{{.*}} iter_args(%[[ACC:[^ ]+]] = %[[INIT]]#0,
// The next chunk's pieces are loaded before this chunk's steps...
// CHECK:             %[[NEXT:.+]] = arith.addi %[[CHUNK]], %c1
// CHECK:             %[[HAS_NEXT:.+]] = arith.cmpi ult, %[[NEXT]], %[[CHUNKS]]
// CHECK:             %[[PIECES:.+]]:8 = scf.if %[[HAS_NEXT]] -> (vector<4xf32>,
// CHECK-COUNT-8:       vector.load %[[A]]
// CHECK-NOT:           vector.store
// CHECK:             } else {
// CHECK:             %[[START:.+]] = arith.muli %[[CHUNK]], %c64
// CHECK:             %[[SLOT:.+]] = arith.remui %[[CHUNK]], %c2
// CHECK:             %[[STAGED:.+]] = memref.subview %[[BUF]][%[[SLOT]], 0, 0] [1, 32, 96] [1, 1, 1]
// CHECK:             %[[END:.+]] = arith.minui
// CHECK:             %[[STEPPED:.+]]:8 = scf.if %[[HAS_TILE]] -> (vector<2x2xf32>,
// CHECK:               %[[D:.+]]:8 = scf.for %[[K0:.+]] = %[[START]] to %[[END]] step %c32{{.*}} iter_args(%[[STEP_ACC:[^ ]+]] = %[[ACC]],
// CHECK:                 %[[KK:.+]] = arith.subi %[[K0]], %[[START]]
// CHECK:                 %[[AK:.+]] = arith.addi %[[KK]], %{{.+}}
// CHECK:                 %[[AG:.+]] = vector.load %[[STAGED]][%{{.+}}, %[[AK]]] {alignment = 16 : i64} : memref<32x96xbf16, strided<[96, 1], offset: ?>, #gpu.address_space<workgroup>>, vector<8xbf16>
// CHECK-NOT:             arith.truncf
// CHECK:                 vector.load %[[STAGED]]
// CHECK-NOT:             arith.truncf
// CHECK:                 %[[AF:.+]] = vector.from_elements {{.+}} : vector<4x2xbf16>
// CHECK:                 vector.load %{{.+}} : memref<?x96xbf16, strided<[96, 1], offset: ?>>, vector<8xbf16>
// CHECK:                 nvgpu.mma.sync(%[[AF]], %{{.+}}, %[[STEP_ACC]])
// CHECK:                 nvgpu.mma.sync
// CHECK:                 scf.yield
// CHECK:               scf.yield %[[D]]#0,
// CHECK:             } else {
// CHECK:               scf.yield %[[ACC]],
// CHECK:             }
// ...and stored after them, into the other buffer.
// CHECK:             scf.if %[[HAS_NEXT]] {
// CHECK:               %[[NEXT_SLOT:.+]] = arith.remui %[[NEXT]], %c2
// CHECK:               %[[R0:.+]] = arith.truncf %[[PIECES]]#0 : vector<4xf32> to vector<4xbf16>
// CHECK:               vector.store %[[R0]], %[[BUF]][%[[NEXT_SLOT]],
// CHECK-COUNT-7:       vector.store %{{.+}}, %[[BUF]][%[[NEXT_SLOT]],
// CHECK:             }
// CHECK:             gpu.barrier
// CHECK:             scf.yield %[[STEPPED]]#0,
// Stored where the warp has columns.
// CHECK:           scf.if %[[HAS_TILE]] {
// CHECK:             vector.extract %[[SUM]]#0[0, 0]
// CHECK:             memref.store

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @staged(%x: memref<?x96xf32>, %w: memref<40x96xbf16>,
                  %y: memref<?x40xf32>, %n: index) {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %rows = affine.min affine_map<()[s0] -> (s0, 32)>()[%n]
    %warp = affine.apply affine_map<()[s0] -> (s0 floordiv 32)>()[%tx]
    %first = affine.min affine_map<()[s0] -> (s0 * 32, 40)>()[%warp]
    %cols = affine.min affine_map<()[s0] -> (40 - s0, 32)>()[%first]
    %a = memref.subview %x[0, 0] [%rows, 96] [1, 1]
        : memref<?x96xf32> to memref<?x96xf32, strided<[96, 1]>>
    %b = memref.subview %w[%first, 0] [%cols, 96] [1, 1]
        : memref<40x96xbf16> to memref<?x96xbf16, strided<[96, 1], offset: ?>>
    %c = memref.subview %y[0, %first] [%rows, %cols] [1, 1]
        : memref<?x40xf32> to memref<?x?xf32, strided<[40, 1], offset: ?>>
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %b : memref<?x96xf32, strided<[96, 1]>>,
                     memref<?x96xbf16, strided<[96, 1], offset: ?>>)
        outs(%c : memref<?x?xf32, strided<[40, 1], offset: ?>>)
        attrs = {moe.segment_matmul, moe.warp_mma} {
    ^bb0(%in: f32, %wt: bf16, %acc: f32):
      %r = arith.truncf %in : f32 to bf16
      %re = arith.extf %r : bf16 to f32
      %we = arith.extf %wt : bf16 to f32
      %p = arith.mulf %re, %we : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
    gpu.terminator
  }
  return
}

// -----

// A tile under a condition on the thread (here: only the first warp's) is
// not reached by every thread alike: a barrier there would wait for threads
// that never come. Its A is read from memory, as without staging.

// CHECK-LABEL: func.func @divergent
// CHECK:         gpu.launch
// CHECK-NOT:       workgroup
// CHECK-NOT:       gpu.barrier
// CHECK:           nvgpu.mma.sync
// CHECK-NOT:       gpu.barrier
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @divergent(%x: memref<32x96xf32>, %w: memref<32x96xbf16>,
                     %y: memref<32x32xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %first = arith.cmpi ult, %tx, %c32 : index
    scf.if %first {
      linalg.generic {indexing_maps = [#a, #w, #c],
                      iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%x, %w : memref<32x96xf32>, memref<32x96xbf16>)
          outs(%y : memref<32x32xf32>) attrs = {moe.warp_mma} {
      ^bb0(%in: f32, %wt: bf16, %acc: f32):
        %r = arith.truncf %in : f32 to bf16
        %re = arith.extf %r : bf16 to f32
        %we = arith.extf %wt : bf16 to f32
        %p = arith.mulf %re, %we : f32
        %s = arith.addf %acc, %p : f32
        linalg.yield %s : f32
      }
    }
    gpu.terminator
  }
  return
}

// -----

// On a grid of warp rows (moe-gpu-distribute's warp-rows=2: 4 warps, 2 rows
// of 2), a warp's A is a window of the block's rows from a row that
// depends on the warp. The block stages all of its rows, [64, 96] a buffer
// (8 pieces a thread), from the block's A, and each warp's steps read its
// window of the staged chunk, from its first row. A warp past the block's
// last row (or a ragged window's last column) has an empty tile: it takes
// part in the copies and barriers only.

// CHECK-LABEL: func.func @grid
// CHECK-SAME:    (%[[X:.+]]: memref<?x96xf32>,
// CHECK:         gpu.launch
// CHECK-SAME:      workgroup(%[[BUF:.+]] : memref<2x64x96xbf16, #gpu.address_space<workgroup>>)
// CHECK:           %[[BLOCK_A:.+]] = memref.subview %[[X]][0, 0]
// CHECK:           %[[ROW:.+]] = affine.min
// CHECK:           %[[A:.+]] = memref.subview %[[BLOCK_A]][%[[ROW]], 0]
// CHECK:           %[[ROWS:.+]] = memref.dim %[[C:.+]], %c0
// CHECK:           %[[SOME_ROWS:.+]] = arith.cmpi ne, %[[ROWS]], %c0
// CHECK:           %[[COLS:.+]] = memref.dim %[[C]], %c1
// CHECK:           %[[SOME_COLS:.+]] = arith.cmpi ne, %[[COLS]], %c0
// CHECK:           %[[HAS_TILE:.+]] = arith.andi %[[SOME_ROWS]], %[[SOME_COLS]]
// CHECK:           vector.load %[[BLOCK_A]]
// CHECK-COUNT-7:   vector.load %[[BLOCK_A]]
// CHECK-COUNT-8:   vector.store %{{.+}}, %[[BUF]]
// CHECK:           gpu.barrier
// CHECK:           scf.for
// CHECK-COUNT-8:     vector.load %[[BLOCK_A]]
// CHECK:             %[[SLOT:.+]] = arith.remui %{{.+}}, %c2
// CHECK:             %[[WINDOW_ROWS:.+]] = memref.dim %[[A]], %c0
// CHECK:             %[[STAGED:.+]] = memref.subview %[[BUF]][%[[SLOT]], %[[ROW]], 0] [1, %[[WINDOW_ROWS]], 96] [1, 1, 1]
// CHECK:             scf.if %[[HAS_TILE]]
// CHECK:               vector.load %[[STAGED]]
// CHECK:               nvgpu.mma.sync
// CHECK:             gpu.barrier
// With stage-weights, the block stages W's rows beside A: the 40 rows of
// %w (a warp's W is a window of them from its first column, 32 (warp % 2)),
// [2, 48, 96] bf16, 3 pieces of 8 a thread a chunk, by cp.async (16 bytes
// past L1, none read past the rows or K: zeros), one group a chunk. The
// first chunk's copies are waited for before the first barrier; the next
// chunk's are issued before a chunk's steps and waited for before its
// barrier. A step reads its W groups from the staged chunk at the window's
// first row.
// SW-LABEL: func.func @grid
// SW:         gpu.launch
// SW-SAME:      workgroup(%[[BUF:.+]] : memref<2x64x96xbf16, #gpu.address_space<workgroup>>, %[[WBUF:.+]] : memref<2x48x96xbf16, #gpu.address_space<workgroup>>)
// SW:           %[[WARP:.+]] = affine.apply
// SW:           affine.min
// SW:           affine.min
// SW:           %[[FIRST:.+]] = affine.min #{{.+}}()[%[[WARP]]]
// SW:           nvgpu.device_async_copy %{{.+}}, %[[WBUF]][%{{.+}}, %{{.+}}, %{{.+}}], 8, %{{.+}} {bypassL1}
// SW-COUNT-2:   nvgpu.device_async_copy %{{.+}}, %[[WBUF]]
// SW:           nvgpu.device_async_create_group
// SW-NOT:       nvgpu.device_async_copy
// SW:           nvvm.cp.async.wait.group 0
// SW-NEXT:      gpu.barrier
// SW:           scf.for
// SW:             scf.if
// SW-COUNT-3:       nvgpu.device_async_copy %{{.+}}, %[[WBUF]]
// SW:               nvgpu.device_async_create_group
// SW:             %[[STAGED_W:.+]] = memref.subview %[[WBUF]][%{{.+}}, %[[FIRST]], 0] [1, %{{.+}}, 96]
// SW:             vector.load %[[STAGED_W]]
// SW:             nvgpu.mma.sync
// SW:             nvvm.cp.async.wait.group 0
// SW-NEXT:        gpu.barrier
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @grid(%x: memref<?x96xf32>, %w: memref<40x96xbf16>,
                %y: memref<?x40xf32>, %n: index) {
  %c1 = arith.constant 1 : index
  %c128 = arith.constant 128 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
    %rows = affine.min affine_map<()[s0] -> (s0, 64)>()[%n]
    %block_a = memref.subview %x[0, 0] [%rows, 96] [1, 1]
        : memref<?x96xf32> to memref<?x96xf32, strided<[96, 1]>>
    %warp = affine.apply affine_map<()[s0] -> (s0 floordiv 32)>()[%tx]
    %row = affine.min affine_map<()[s0, s1] -> ((s0 floordiv 2) * 32, s1)>()[%warp, %rows]
    %row_count = affine.min affine_map<()[s0, s1] -> (s1 - s0, 32)>()[%row, %rows]
    %first = affine.min affine_map<()[s0] -> ((s0 mod 2) * 32, 40)>()[%warp]
    %cols = affine.min affine_map<()[s0] -> (40 - s0, 32)>()[%first]
    %a = memref.subview %block_a[%row, 0] [%row_count, 96] [1, 1]
        : memref<?x96xf32, strided<[96, 1]>> to memref<?x96xf32, strided<[96, 1], offset: ?>>
    %b = memref.subview %w[%first, 0] [%cols, 96] [1, 1]
        : memref<40x96xbf16> to memref<?x96xbf16, strided<[96, 1], offset: ?>>
    %c = memref.subview %y[%row, %first] [%row_count, %cols] [1, 1]
        : memref<?x40xf32> to memref<?x?xf32, strided<[40, 1], offset: ?>>
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %b : memref<?x96xf32, strided<[96, 1], offset: ?>>,
                     memref<?x96xbf16, strided<[96, 1], offset: ?>>)
        outs(%c : memref<?x?xf32, strided<[40, 1], offset: ?>>)
        attrs = {moe.segment_matmul, moe.warp_mma} {
    ^bb0(%in: f32, %wt: bf16, %acc: f32):
      %r = arith.truncf %in : f32 to bf16
      %re = arith.extf %r : bf16 to f32
      %we = arith.extf %wt : bf16 to f32
      %p = arith.mulf %re, %we : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
    gpu.terminator
  }
  return
}

// -----

// Narrowed activations (moe-gpu-narrow-activations): A is bf16 already.
// The block copies its chunks as it copies staged W, by cp.async a chunk
// ahead into the two buffers: 256 pieces of 8 bf16 (16 bytes) a chunk, 4 a
// thread, zeros past the rows and K, each chunk's copies one group; a chunk
// waits for the next chunk's group before the barrier. Nothing is rounded
// and no piece passes through registers.

// CHECK-LABEL: func.func @narrowed
// CHECK-SAME:    (%[[X:.+]]: memref<?x96xbf16>,
// CHECK:         gpu.launch
// CHECK-SAME:      workgroup(%[[BUF:.+]] : memref<2x32x96xbf16, #gpu.address_space<workgroup>>)
// CHECK:           %[[A:.+]] = memref.subview %[[X]]
// CHECK-NOT:       arith.truncf
// CHECK-NOT:       vector<4xf32>
// The first chunk.
// CHECK:           %[[SLOT0:.+]] = arith.remui %c0{{.*}}, %c2{{(_[0-9]+)?}}
// CHECK:           %[[ROW:.+]] = arith.divui %{{.+}}, %c8{{(_[0-9]+)?}}
// CHECK:           %[[COL8:.+]] = arith.remui %{{.+}}, %c8{{(_[0-9]+)?}}
// CHECK:           %[[COL:.+]] = arith.muli %[[COL8]], %c8{{(_[0-9]+)?}}
// CHECK:           nvgpu.device_async_copy %[[A]][%{{.+}}, %{{.+}}], %[[BUF]][%[[SLOT0]], %[[ROW]], %[[COL]]], 8, %{{.+}} {bypassL1}
// CHECK-COUNT-3:   nvgpu.device_async_copy %[[A]]
// CHECK:           nvgpu.device_async_create_group
// CHECK:           nvvm.cp.async.wait.group 0
// CHECK-NEXT:      gpu.barrier
// CHECK:           scf.for %[[CHUNK:.+]] = %c0{{.*}} to %{{.+}} step %c1{{(_[0-9]+)?}}
// The next chunk's copies, before this chunk's steps.
// CHECK:             arith.addi %[[CHUNK]], %c1{{(_[0-9]+)?}}
// CHECK:             %[[AHEAD:.+]] = arith.addi %[[CHUNK]], %c1{{(_[0-9]+)?}}
// CHECK:             scf.if
// CHECK:               %[[NEXT_SLOT:.+]] = arith.remui %[[AHEAD]], %c2{{(_[0-9]+)?}}
// CHECK-COUNT-4:       nvgpu.device_async_copy %[[A]][%{{.+}}, %{{.+}}], %[[BUF]][%[[NEXT_SLOT]],
// CHECK:               nvgpu.device_async_create_group
// CHECK:             }
// CHECK:             %[[SLOT:.+]] = arith.remui %[[CHUNK]], %c2{{(_[0-9]+)?}}
// CHECK:             %[[STAGED:.+]] = memref.subview %[[BUF]][%[[SLOT]], 0, 0] [1, 32, 96] [1, 1, 1]
// CHECK:             vector.load %[[STAGED]]
// CHECK:             nvgpu.mma.sync
// CHECK:             nvvm.cp.async.wait.group 0
// CHECK-NEXT:        gpu.barrier
// CHECK-NOT:       arith.truncf

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @narrowed(%x: memref<?x96xbf16>, %w: memref<40x96xbf16>,
                    %y: memref<?x40xf32>, %n: index) {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %rows = affine.min affine_map<()[s0] -> (s0, 32)>()[%n]
    %warp = affine.apply affine_map<()[s0] -> (s0 floordiv 32)>()[%tx]
    %first = affine.min affine_map<()[s0] -> (s0 * 32, 40)>()[%warp]
    %cols = affine.min affine_map<()[s0] -> (40 - s0, 32)>()[%first]
    %a = memref.subview %x[0, 0] [%rows, 96] [1, 1]
        : memref<?x96xbf16> to memref<?x96xbf16, strided<[96, 1]>>
    %b = memref.subview %w[%first, 0] [%cols, 96] [1, 1]
        : memref<40x96xbf16> to memref<?x96xbf16, strided<[96, 1], offset: ?>>
    %c = memref.subview %y[0, %first] [%rows, %cols] [1, 1]
        : memref<?x40xf32> to memref<?x?xf32, strided<[40, 1], offset: ?>>
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %b : memref<?x96xbf16, strided<[96, 1]>>,
                     memref<?x96xbf16, strided<[96, 1], offset: ?>>)
        outs(%c : memref<?x?xf32, strided<[40, 1], offset: ?>>)
        attrs = {moe.segment_matmul, moe.warp_mma} {
    ^bb0(%in: bf16, %wt: bf16, %acc: f32):
      %ie = arith.extf %in : bf16 to f32
      %we = arith.extf %wt : bf16 to f32
      %p = arith.mulf %ie, %we : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
    gpu.terminator
  }
  return
}

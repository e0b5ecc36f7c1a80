// RUN: moe-opt %s --moe-gpu-warp-mma="weight-stages=3" --cse --split-input-file | FileCheck %s
// RUN: moe-opt %s --moe-gpu-warp-mma="weight-stages=16" --split-input-file | FileCheck %s --check-prefix=CAPPED
// RUN: not moe-opt %s --moe-gpu-warp-mma="weight-stages=-1" --split-input-file 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// NEGATIVE: error: moe-gpu-warp-mma: weight-stages must not be negative (0 or 1: no ring)

// A ring of W stages (weight-stages=3): the block's two warps each own a
// ring of [3 stages, 4 groups, 32 lanes, 8] bf16 in shared memory, beside
// the staged A chunks. Before the K loop each lane copies its W groups of
// the first two steps by cp.async (16 bytes, past L1), one committed group
// a step. Each step waits until at most one group is pending (its own has
// landed), copies the groups of the step two on (clamped to the last step,
// K = 96: at 64) into slot (step + 2) % 3, the one the step before read,
// then reads its own slot, (step) % 3, for the mma.syncs. After the loop
// the lane waits for every copy, so none lands after the tile.

// CHECK-LABEL: func.func @ring
// CHECK:         gpu.launch
// CHECK-SAME:      workgroup(%{{.+}} : memref<2x32x96xbf16, #gpu.address_space<workgroup>>, %[[RING:.+]] : memref<2x3x4x32x8xbf16, #gpu.address_space<workgroup>>)
// CHECK:           %[[TID:.+]] = gpu.thread_id x
// CHECK:           %[[WARP:.+]] = arith.divui %[[TID]], %c32
// CHECK:           %[[LANE:.+]] = gpu.lane_id
// CHECK:           %[[SLOT0_32:.+]] = arith.remui %{{.+}}, %c3_i32
// CHECK:           %[[SLOT0:.+]] = arith.index_castui %[[SLOT0_32]] : i32 to index
// CHECK:           %[[C0:.+]] = nvgpu.device_async_copy %[[W:.+]][%{{.+}}, %{{.+}}], %[[RING]][%[[WARP]], %[[SLOT0]], %c0, %[[LANE]], %c0], 8 {bypassL1}
// CHECK-COUNT-3:   nvgpu.device_async_copy %[[W]]{{.+}}, %[[RING]][%[[WARP]], %[[SLOT0]], %c{{[1-3]}}, %[[LANE]], %c0], 8 {bypassL1}
// CHECK:           nvgpu.device_async_create_group %[[C0]],
// CHECK:           %[[SLOT1_32:.+]] = arith.remui %{{.+}}, %c3_i32
// CHECK:           %[[SLOT1:.+]] = arith.index_castui %[[SLOT1_32]] : i32 to index
// CHECK-COUNT-4:   nvgpu.device_async_copy %[[W]]{{.+}}, %[[RING]][%[[WARP]], %[[SLOT1]], %c{{[0-3]}}, %[[LANE]], %c0]
// CHECK:           nvgpu.device_async_create_group
// CHECK-NOT:       nvgpu.device_async_copy
// CHECK:           scf.for %{{.+}} iter_args
// CHECK:             scf.for %[[K0:.+]] = %{{.+}} to %{{.+}} step %c32
// CHECK-NEXT:          nvvm.cp.async.wait.group 1
// The slots in 32 bits (a remainder by 3 on 64-bit indices cost the gated
// kernel of S3 a spill).
// CHECK-NEXT:          %[[K0_32:.+]] = arith.index_castui %[[K0]] : index to i32
// CHECK:               %[[STEP:.+]] = arith.divui %[[K0_32]], %c32_i32
// CHECK:               %[[SLOT_32:.+]] = arith.remui %[[STEP]], %c3_i32
// CHECK-NEXT:          %[[SLOT:.+]] = arith.index_castui %[[SLOT_32]] : i32 to index
// CHECK-NEXT:          %[[AHEAD_K:.+]] = arith.addi %[[K0]], %c64
// CHECK-NEXT:          %[[NEXT_K:.+]] = arith.minui %[[AHEAD_K]], %c64
// CHECK:               %[[AHEAD_STEP:.+]] = arith.addi %[[STEP]], %c2_i32
// CHECK-NEXT:          %[[AHEAD_32:.+]] = arith.remui %[[AHEAD_STEP]], %c3_i32
// CHECK-NEXT:          %[[AHEAD:.+]] = arith.index_castui %[[AHEAD_32]] : i32 to index
// CHECK-NEXT:          %[[COL:.+]] = arith.addi %[[NEXT_K]], %{{.+}}
// CHECK-COUNT-4:       nvgpu.device_async_copy %[[W]][%{{.+}}, %[[COL]]], %[[RING]][%[[WARP]], %[[AHEAD]], %c{{[0-3]}}, %[[LANE]], %c0], 8 {bypassL1}
// CHECK-NEXT:          nvgpu.device_async_create_group
// CHECK-NOT:           vector.load %[[W]]
// CHECK:               vector.load %[[RING]][%[[WARP]], %[[SLOT]], %c0, %[[LANE]], %c0] {alignment = 16 : i64}
// CHECK:               nvgpu.mma.sync
// CHECK:               vector.load %[[RING]][%[[WARP]], %[[SLOT]], %c1, %[[LANE]], %c0]
// CHECK:               vector.load %[[RING]][%[[WARP]], %[[SLOT]], %c2, %[[LANE]], %c0]
// CHECK:               vector.load %[[RING]][%[[WARP]], %[[SLOT]], %c3, %[[LANE]], %c0]
// CHECK-NOT:           vector.load %[[W]]
// CHECK:               scf.yield
// CHECK:           nvvm.cp.async.wait.group 0
// CHECK:           memref.store

// Sixteen stages asked for: three steps use at most four (three ahead).
// CAPPED-LABEL: func.func @ring
// CAPPED:         workgroup({{.+}}, %{{.+}} : memref<2x4x4x32x8xbf16, #gpu.address_space<workgroup>>)
// CAPPED:         nvvm.cp.async.wait.group 2

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @ring(%x: memref<?x96xf32>, %w: memref<64x96xbf16>,
                %y: memref<?x64xf32>, %n: index) {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %rows = affine.min affine_map<()[s0] -> (s0, 32)>()[%n]
    %warp = affine.apply affine_map<()[s0] -> (s0 floordiv 32)>()[%tx]
    %first = affine.apply affine_map<()[s0] -> (s0 * 32)>()[%warp]
    %a = memref.subview %x[0, 0] [%rows, 96] [1, 1]
        : memref<?x96xf32> to memref<?x96xf32, strided<[96, 1]>>
    %b = memref.subview %w[%first, 0] [32, 96] [1, 1]
        : memref<64x96xbf16> to memref<32x96xbf16, strided<[96, 1], offset: ?>>
    %c = memref.subview %y[0, %first] [%rows, 32] [1, 1]
        : memref<?x64xf32> to memref<?x32xf32, strided<[64, 1], offset: ?>>
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %b : memref<?x96xf32, strided<[96, 1]>>,
                     memref<32x96xbf16, strided<[96, 1], offset: ?>>)
        outs(%c : memref<?x32xf32, strided<[64, 1], offset: ?>>)
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

// Eight warps: a stage is 16 KB, and beside the 12 KB of staged A chunks
// the 48 KB of static shared memory hold two stages, not the three asked
// for. The ring goes to dynamic shared memory instead (a view of it at
// offset 0), whose size the launch now gives: 3 x 16 KB. Asked for 16, the
// ring takes what keeps the block's shared memory within 80 KB: 4 stages
// (K = 256 has 8 steps, which could use 9).

// CHECK-LABEL: func.func @past_static_shared_memory
// CHECK:         %[[BYTES:.+]] = arith.constant 49152 : i32
// CHECK:         gpu.launch
// CHECK-SAME:      dynamic_shared_memory_size %[[BYTES]]
// CHECK-SAME:      workgroup(%{{.+}} : memref<2x32x96xbf16, #gpu.address_space<workgroup>>)
// CHECK:           %[[DYNAMIC:.+]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK:           %[[RING:.+]] = memref.view %[[DYNAMIC]][%c0{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<8x3x4x32x8xbf16, #gpu.address_space<workgroup>>
// CHECK:           nvgpu.device_async_copy %{{.+}}, %[[RING]]
// CHECK:           scf.for
// CHECK:             scf.for
// CHECK-NEXT:          nvvm.cp.async.wait.group 1

// CAPPED-LABEL: func.func @past_static_shared_memory
// CAPPED:         arith.constant 65536 : i32
// CAPPED:         memref.view {{.+}} to memref<8x4x4x32x8xbf16, #gpu.address_space<workgroup>>

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @past_static_shared_memory(%x: memref<?x256xf32>, %w: memref<256x256xbf16>,
                                     %y: memref<?x256xf32>, %n: index) {
  %c1 = arith.constant 1 : index
  %c256 = arith.constant 256 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %rows = affine.min affine_map<()[s0] -> (s0, 32)>()[%n]
    %warp = affine.apply affine_map<()[s0] -> (s0 floordiv 32)>()[%tx]
    %first = affine.apply affine_map<()[s0] -> (s0 * 32)>()[%warp]
    %a = memref.subview %x[0, 0] [%rows, 256] [1, 1]
        : memref<?x256xf32> to memref<?x256xf32, strided<[256, 1]>>
    %b = memref.subview %w[%first, 0] [32, 256] [1, 1]
        : memref<256x256xbf16> to memref<32x256xbf16, strided<[256, 1], offset: ?>>
    %c = memref.subview %y[0, %first] [%rows, 32] [1, 1]
        : memref<?x256xf32> to memref<?x32xf32, strided<[256, 1], offset: ?>>
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %b : memref<?x256xf32, strided<[256, 1]>>,
                     memref<32x256xbf16, strided<[256, 1], offset: ?>>)
        outs(%c : memref<?x32xf32, strided<[256, 1], offset: ?>>)
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

// Two tiles in one launch of eight warps: the first stages its A chunks
// (12 KB static) and takes a ring of 3 x 16 KB in dynamic shared memory;
// the second stages its A chunks too (24 KB static, 72 KB in all), but no
// ring of two stages more fits the block's 80 KB, so it reads W from
// memory.

// CHECK-LABEL: func.func @two_tiles
// CHECK:         arith.constant 49152 : i32
// CHECK:         gpu.launch
// CHECK-SAME:      workgroup(%{{.+}} : memref<2x32x96xbf16, #gpu.address_space<workgroup>>, %{{.+}} : memref<2x32x96xbf16, #gpu.address_space<workgroup>>)
// CHECK:           gpu.dynamic_shared_memory
// CHECK-NOT:       gpu.dynamic_shared_memory
// CHECK:           nvvm.cp.async.wait.group 0
// CHECK-NOT:       nvgpu.device_async_copy
// CHECK:           gpu.barrier
// CHECK-NOT:       nvgpu.device_async_copy
// CHECK:           nvgpu.mma.sync
// CHECK-NOT:       nvgpu.device_async_copy
// CHECK:         gpu.terminator

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @two_tiles(%x: memref<?x256xf32>, %w: memref<256x256xbf16>,
                     %y: memref<?x256xf32>, %n: index) {
  %c1 = arith.constant 1 : index
  %c256 = arith.constant 256 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %rows = affine.min affine_map<()[s0] -> (s0, 32)>()[%n]
    %warp = affine.apply affine_map<()[s0] -> (s0 floordiv 32)>()[%tx]
    %first = affine.apply affine_map<()[s0] -> (s0 * 32)>()[%warp]
    %a = memref.subview %x[0, 0] [%rows, 256] [1, 1]
        : memref<?x256xf32> to memref<?x256xf32, strided<[256, 1]>>
    %b = memref.subview %w[%first, 0] [32, 256] [1, 1]
        : memref<256x256xbf16> to memref<32x256xbf16, strided<[256, 1], offset: ?>>
    %c = memref.subview %y[0, %first] [%rows, 32] [1, 1]
        : memref<?x256xf32> to memref<?x32xf32, strided<[256, 1], offset: ?>>
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %b : memref<?x256xf32, strided<[256, 1]>>,
                     memref<32x256xbf16, strided<[256, 1], offset: ?>>)
        outs(%c : memref<?x32xf32, strided<[256, 1], offset: ?>>)
        attrs = {moe.segment_matmul, moe.warp_mma} {
    ^bb0(%in: f32, %wt: bf16, %acc: f32):
      %r = arith.truncf %in : f32 to bf16
      %re = arith.extf %r : bf16 to f32
      %we = arith.extf %wt : bf16 to f32
      %p = arith.mulf %re, %we : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %b : memref<?x256xf32, strided<[256, 1]>>,
                     memref<32x256xbf16, strided<[256, 1], offset: ?>>)
        outs(%c : memref<?x32xf32, strided<[256, 1], offset: ?>>)
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

// No ring where a group is not one 16-byte copy at a step known ahead: a
// dynamic K, and f32 W (tf32, 32-byte groups).

// CHECK-LABEL: func.func @dynamic_depth
// CHECK-NOT:     device_async
// CHECK-NOT:     cp.async
// CHECK:         nvgpu.mma.sync
// CHECK-NOT:     device_async

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @dynamic_depth(%x: memref<32x?xf32>, %w: memref<32x?xbf16>,
                         %y: memref<32x32xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<32x?xf32>, memref<32x?xbf16>)
        outs(%y : memref<32x32xf32>) attrs = {moe.warp_mma} {
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

// CHECK-LABEL: func.func @tf32_weights
// CHECK-NOT:     device_async
// CHECK:         nvgpu.mma.sync
// CHECK-NOT:     device_async

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @tf32_weights(%x: memref<32x64xf32>, %w: memref<32x64xf32>,
                        %y: memref<32x32xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<32x64xf32>, memref<32x64xf32>)
        outs(%y : memref<32x32xf32>) attrs = {moe.warp_mma} {
    ^bb0(%in: f32, %wt: f32, %acc: f32):
      %bits = arith.bitcast %in : f32 to i32
      %wbits = arith.bitcast %wt : f32 to i32
      %ri = arith.bitcast %bits : i32 to f32
      %wi = arith.bitcast %wbits : i32 to f32
      %p = arith.mulf %ri, %wi : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
    gpu.terminator
  }
  return
}

// RUN: moe-opt %s --moe-gpu-warp-mma="wgmma=true warp-tile-rows=16 warp-tile-columns=128" | FileCheck %s
// RUN: moe-opt %s --moe-gpu-warp-mma="warp-tile-rows=16 warp-tile-columns=128" | FileCheck %s --check-prefix=SYNC
// RUN: moe-opt %s --moe-gpu-warp-mma="wgmma=true warp-tile-rows=16 warp-tile-columns=128 wgmma-pending-chunks=1 weight-chunks-ahead=2" --cse | FileCheck %s --check-prefix=DEEP
// RUN: moe-opt %s --moe-gpu-warp-mma="wgmma=true warp-tile-rows=16 warp-tile-columns=128 copy-activations-async=true weight-chunks-ahead=2" --cse | FileCheck %s --check-prefix=ASYNC
// RUN: not moe-opt %s --moe-gpu-warp-mma="wgmma=true wgmma-pending-chunks=3" 2>&1 | FileCheck %s --check-prefix=DEPTH
// RUN: not moe-opt %s --moe-gpu-warp-mma="weight-chunks-ahead=0" 2>&1 | FileCheck %s --check-prefix=DEPTH
// RUN: moe-opt %s --moe-gpu-warp-mma="wgmma=true warp-tile-rows=16 warp-tile-columns=32 ungated-warp-tile-columns=256" | FileCheck %s --check-prefix=UNGATED
// RUN: not moe-opt %s --moe-gpu-warp-mma="wgmma=true warp-tile-rows=16 warp-tile-columns=32" 2>&1 | FileCheck %s --check-prefix=NARROW
// RUN: not moe-opt %s --moe-gpu-warp-mma="ungated-warp-tile-columns=256" 2>&1 | FileCheck %s --check-prefix=UNGATED-SYNC

// A block of 128 threads, one warpgroup, whose warp w takes rows 16 w on of
// the block's (up to 64) and all of its 40 columns; K = 96 (a chunk of 64
// and one of 32). With wgmma, the block stages A ([2, 64, 64] bf16) and W
// ([2, 48, 64] bf16: 40 rows padded to 48) as 8 x 8 core matrices, and each
// step of 32 is two wgmma.mma_async m64n40k16 on descriptors of them: start
// (address >> 4) & 0x3FFF, then the leading dimension byte offset (128,
// the next core matrix along K: 8 << 16) and the stride dimension byte
// offset (1,024, the next 8 rows: 64 << 32), 274878431232 in all. A
// descriptor's start moves by a chunk (64 x 64 elements of A, 48 x 64 of
// W) a slot and by a core matrix (64 elements) each 8 columns. The
// writes of a chunk (stores of A, cp.async of W) are fenced for the async
// proxy before the barrier that publishes them; each step fences the
// accumulators and commits its wgmmas; a chunk waits for them before its
// barrier. Each thread's 20 accumulators (n / 2) start from C where the warp
// has rows, and are stored from the struct where it has them; an empty
// inline asm that reads and writes them keeps their registers written before
// each fence and read after the last wait.

// CHECK-LABEL: func.func @warpgroup
// CHECK:         gpu.launch
// CHECK-SAME:      workgroup(%[[A_BUF:.+]] : memref<2x8x8x8x8xbf16, #gpu.address_space<workgroup>>, %[[W_BUF:.+]] : memref<2x6x8x8x8xbf16, #gpu.address_space<workgroup>>)
// CHECK:           %[[INIT:.+]] = scf.if %{{.+}} -> (!llvm.struct<(f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)>) {
// CHECK:             memref.load
// CHECK:             llvm.insertvalue %{{.+}}[0]
// CHECK:             llvm.insertvalue %{{.+}}[19]
// CHECK:           } else {
// CHECK:             llvm.mlir.undef
// CHECK:           }
// The first chunk: A's pieces rounded into core matrices, W's by cp.async.
// Thread t's piece p is the block's piece P = 128 p + t, in core-matrix
// order: A's (4 elements, 8 bytes) part P % 2 of row (P / 2) % 8 of the
// core matrix (P / 16) % 8 along K, in the group of rows P / 128, so that
// 16 threads' stores (what shared memory serves at once) fill one core
// matrix's 128 bytes, no bank twice.
// CHECK:           %[[PART:.+]] = arith.remui %[[P:.+]], %c2{{(_[0-9]+)?}} : index
// CHECK:           %[[CORE_ROW:.+]] = arith.divui %[[P]], %c2{{(_[0-9]+)?}} : index
// CHECK:           arith.remui %[[CORE_ROW]], %c8{{(_[0-9]+)?}} : index
// CHECK:           %[[CORES:.+]] = arith.divui %[[CORE_ROW]], %c8{{(_[0-9]+)?}} : index
// CHECK:           arith.remui %[[CORES]], %c8{{(_[0-9]+)?}} : index
// CHECK:           arith.divui %[[CORES]], %c8{{(_[0-9]+)?}} : index
// CHECK:           arith.truncf %{{.+}} : vector<4xf32> to vector<4xbf16>
// CHECK:           vector.store %{{.+}}, %[[A_BUF]][%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}] {alignment = 8 : i64} : memref<2x8x8x8x8xbf16, #gpu.address_space<workgroup>>, vector<4xbf16>
// W's (8 elements, 16 bytes: a row of a core matrix): row P % 8 of the
// core matrix (P / 8) % 8 along K, so that 8 threads' copies fill one.
// CHECK:           %[[W_CORE_ROW:.+]] = arith.divui %{{.+}}, %c1{{(_[0-9]+)?}} : index
// CHECK:           arith.remui %[[W_CORE_ROW]], %c8{{(_[0-9]+)?}} : index
// CHECK:           %[[W_CORES:.+]] = arith.divui %[[W_CORE_ROW]], %c8{{(_[0-9]+)?}} : index
// CHECK:           arith.remui %[[W_CORES]], %c8{{(_[0-9]+)?}} : index
// CHECK:           nvgpu.device_async_copy %{{.+}}, %[[W_BUF]][%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}], 8, %{{.+}} {bypassL1}
// CHECK:           nvvm.cp.async.wait.group 0
// CHECK-NEXT:      nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT:      gpu.barrier
// CHECK:           %[[SUM:.+]] = scf.for %[[CHUNK:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[ACC:.+]] = %[[INIT]])
// CHECK:             nvgpu.device_async_copy
// The chunk's slots (A's and W's), once a chunk, for its steps'
// descriptors.
// CHECK:             %[[SLOT:.+]] = arith.remui %[[CHUNK]], %c2
// CHECK:             %[[W_SLOT:.+]] = arith.remui %[[CHUNK]], %c2
// CHECK:             %[[D:.+]] = scf.for %[[K0:.+]] = %[[START:.+]] to %{{.+}} step %c32{{.*}} iter_args(%[[STEP_ACC:.+]] = %[[ACC]])
// The accumulators pinned in registers before the fence.
// CHECK:               %[[PINNED:.+]] = llvm.inline_asm has_side_effects "", "=f,=f,{{.*}},0,1,{{.*}},19"
// CHECK-NEXT:          nvvm.wgmma.fence.aligned
// CHECK:               %[[COLUMN:.+]] = arith.subi %[[K0]], %[[START]]
// CHECK:               arith.muli %[[SLOT]], %c4096
// CHECK:               %[[A_PTR:.+]] = memref.extract_aligned_pointer_as_index %[[A_BUF]]
// CHECK:               arith.shrui %{{.+}}, %c4_i64
// CHECK:               arith.andi %{{.+}}, %c16383_i64
// CHECK:               %[[A_DESC:.+]] = arith.ori %{{.+}}, %c274878431232_i64
// CHECK:               arith.muli %[[W_SLOT]], %c3072
// CHECK:               memref.extract_aligned_pointer_as_index %[[W_BUF]]
// CHECK:               %[[W_DESC:.+]] = arith.ori %{{.+}}, %c274878431232_i64
// CHECK:               %[[FIRST:.+]] = nvvm.wgmma.mma_async %[[A_DESC]], %[[W_DESC]], %[[PINNED]], <m = 64, n = 40, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK:               arith.addi %{{.+}}, %c16
// CHECK:               %[[SECOND:.+]] = nvvm.wgmma.mma_async %{{.+}}, %{{.+}}, %[[FIRST]], <m = 64, n = 40, k = 16>
// CHECK-NEXT:          nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT:          scf.yield %[[SECOND]]
// The next chunk's A pieces, stored after the steps.
// CHECK:             vector.store %{{.+}}, %[[A_BUF]]
// CHECK:             nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NEXT:        nvvm.cp.async.wait.group 0
// CHECK-NEXT:        nvvm.fence.proxy
// CHECK-NEXT:        gpu.barrier
// CHECK:             scf.yield %[[D]]
// Read after the last wait.
// CHECK:           %[[DONE:.+]] = llvm.inline_asm has_side_effects "", "=f,{{.*}}"
// CHECK:           scf.if
// CHECK:             llvm.extractvalue %[[DONE]][0]
// CHECK:             memref.store
// CHECK:             llvm.extractvalue %[[DONE]][19]

// Without wgmma the same 16 x 40 tile runs on mma.sync (5 tiles of 8
// columns), A staged as rows.
// SYNC-LABEL: func.func @warpgroup
// SYNC:         workgroup(%{{.+}} : memref<2x64x96xbf16, #gpu.address_space<workgroup>>)
// SYNC-NOT:     nvvm.wgmma
// SYNC-COUNT-10: nvgpu.mma.sync
// SYNC-NOT:     nvvm.wgmma

// With a chunk's wgmmas left pending (wgmma-pending-chunks=1) and W copied
// two chunks ahead (weight-chunks-ahead=2), W's buffer has 4 slots
// (ahead + pending + 1) and A's, written one chunk ahead, 3 (pending + 2):
// 24 KB each, static. Before the loop W's chunks 0 and 1 are in flight, a
// group each (chunk 1's committed whether or not there is one), and the
// block waits for chunk 0's only; each chunk copies W's chunk + 2 into slot
// (chunk + 2) % 4, reads A's slot chunk % 3 and W's chunk % 4, and before
// its barrier waits for
// all wgmma groups but its own two steps' and all W groups but the one
// after the next chunk's. The accumulators are read after a last wait for
// every wgmma, and a barrier (a block-uniform loop around the tile would
// otherwise stage its next run over what another warpgroup still reads).
// DEEP-LABEL: func.func @warpgroup
// DEEP:         gpu.launch {{.*}} workgroup(%[[A_BUF:.+]] : memref<3x8x8x8x8xbf16, #gpu.address_space<workgroup>>, %[[W_BUF:.+]] : memref<4x6x8x8x8xbf16, #gpu.address_space<workgroup>>)
// DEEP-NOT:       gpu.dynamic_shared_memory
// DEEP:           vector.store %{{.+}}, %[[A_BUF]]
// DEEP:           nvgpu.device_async_copy %{{.+}}, %[[W_BUF]]
// DEEP:           nvgpu.device_async_create_group %{{.+}}
// DEEP:           scf.if
// DEEP:             arith.remui %c1, %c4
// DEEP:             nvgpu.device_async_copy %{{.+}}, %[[W_BUF]]
// DEEP:           {{^ *\}$}}
// DEEP-NEXT:      nvgpu.device_async_create_group{{ *$}}
// DEEP-NEXT:      nvvm.cp.async.wait.group 1
// DEEP-NEXT:      nvvm.fence.proxy
// DEEP-NEXT:      gpu.barrier
// DEEP:           scf.for %[[CHUNK:.+]] = %c0 to %[[CHUNKS:.+]] step %c1 iter_args
// DEEP:             %[[AHEAD:.+]] = arith.addi %[[CHUNK]], %c2
// DEEP:             %[[ANY:.+]] = arith.cmpi ult, %[[AHEAD]], %[[CHUNKS]]
// DEEP:             scf.if %[[ANY]] {
// DEEP:               arith.remui %[[AHEAD]], %c4
// DEEP:               nvgpu.device_async_copy %{{.+}}, %[[W_BUF]]
// DEEP:             {{^ *\}$}}
// DEEP-NEXT:        nvgpu.device_async_create_group{{ *$}}
// DEEP:             arith.remui %[[CHUNK]], %c3
// DEEP:             arith.remui %[[CHUNK]], %c4
// DEEP:             nvvm.wgmma.fence.aligned
// DEEP:             nvvm.wgmma.commit.group.sync.aligned
// DEEP:             nvvm.wgmma.wait.group.sync.aligned 2
// DEEP-NEXT:        nvvm.cp.async.wait.group 1
// DEEP-NEXT:        nvvm.fence.proxy
// DEEP-NEXT:        gpu.barrier
// DEEP:           nvvm.wgmma.wait.group.sync.aligned 0
// DEEP-NEXT:      gpu.barrier
// DEEP:           llvm.inline_asm has_side_effects
// DEEP:           memref.store
// With copy-activations-async, A's chunks are copied like W's: by
// cp.async (4 f32, 16 bytes) into a ring of 2 f32 slots (rows of 72: the 4
// rows of 2 pieces that 8 threads copy at once on distinct banks; one a chunk
// ahead), in the chunk's group, and each thread rounds its own pieces into
// the core-matrix buffer once its group has landed (before the barrier,
// with no barrier between the copy and the rounding). No A pieces are
// loaded into registers across the steps.
// ASYNC-LABEL: func.func @warpgroup
// ASYNC:         gpu.launch {{.*}} workgroup(%[[A_BUF:.+]] : memref<2x8x8x8x8xbf16, #gpu.address_space<workgroup>>)
// ASYNC:           %[[SHARED:.+]] = gpu.dynamic_shared_memory
// ASYNC:           %[[W_BUF:.+]] = memref.view %[[SHARED]][%c0][] : {{.*}} to memref<3x6x8x8x8xbf16, #gpu.address_space<workgroup>>
// ASYNC:           %[[RING:.+]] = memref.view %[[SHARED]][%c18432][] : {{.*}} to memref<2x64x72xf32, #gpu.address_space<workgroup>>
// ASYNC-COUNT-8:   nvgpu.device_async_copy %{{.+}}, %[[RING]][%{{.+}}, %{{.+}}, %{{.+}}], 4, %{{.+}} {bypassL1}
// ASYNC:           nvgpu.device_async_copy %{{.+}}, %[[W_BUF]]
// ASYNC:           nvgpu.device_async_create_group
// ASYNC:           nvgpu.device_async_create_group{{ *$}}
// ASYNC-NEXT:      nvvm.cp.async.wait.group 1
// ASYNC-NEXT:      vector.load %[[RING]]
// ASYNC-NEXT:      arith.truncf %{{.+}} : vector<4xf32> to vector<4xbf16>
// ASYNC:           vector.store %{{.+}}, %[[A_BUF]]
// ASYNC:           gpu.barrier
// ASYNC:           scf.for %[[CHUNK:.+]] = %c0 to %{{.+}} step %c1 iter_args
// ASYNC-NOT:         vector.load %{{.+}} : memref<?x96xf32
// ASYNC:             nvgpu.device_async_copy %{{.+}}, %[[RING]]
// ASYNC:             nvgpu.device_async_copy %{{.+}}, %[[W_BUF]]
// ASYNC:             nvgpu.device_async_create_group{{ *$}}
// ASYNC-NOT:         vector.load %{{.+}} : memref<?x96xf32
// ASYNC:             nvvm.wgmma.commit.group.sync.aligned
// ASYNC:             nvvm.cp.async.wait.group 1
// ASYNC-NEXT:        scf.if
// ASYNC:               vector.load %[[RING]]
// ASYNC:               vector.store %{{.+}}, %[[A_BUF]]
// ASYNC:             nvvm.wgmma.wait.group.sync.aligned 0
// ASYNC-NEXT:        nvvm.fence.proxy
// ASYNC-NEXT:        gpu.barrier
// DEPTH: error: moe-gpu-warp-mma: weight-chunks-ahead must be 1 to 3 and wgmma-pending-chunks 0 to 2

// A tile outside a gated FFN may have ungated-warp-tile-columns' columns
// (up to 256 with wgmma: m64n256k16), here its 40 in one wgmma a half
// step; with warp-tile-columns' 32 alone it is refused.
// UNGATED-COUNT-2: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 40, k = 16>
// UNGATED-NOT:     nvvm.wgmma.mma_async
// NARROW: error: 'linalg.generic' op a moe.warp_mma tile must have at most 16 rows and 32 columns
// UNGATED-SYNC: error: moe-gpu-warp-mma: ungated-warp-tile-columns must be 0 or a multiple of 8 from 8 to 128, or to 256 with wgmma, not 256

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @warpgroup(%x: memref<?x96xf32>, %w: memref<40x96xbf16>,
                     %y: memref<?x40xf32>, %n: index) {
  %c1 = arith.constant 1 : index
  %c128 = arith.constant 128 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
    %rows = affine.min affine_map<()[s0] -> (s0, 64)>()[%n]
    %block_a = memref.subview %x[0, 0] [%rows, 96] [1, 1]
        : memref<?x96xf32> to memref<?x96xf32, strided<[96, 1]>>
    %warp = affine.apply affine_map<()[s0] -> (s0 floordiv 32)>()[%tx]
    %row = affine.min affine_map<()[s0, s1] -> (s0 * 16, s1)>()[%warp, %rows]
    %row_count = affine.min affine_map<()[s0, s1] -> (s1 - s0, 16)>()[%row, %rows]
    %a = memref.subview %block_a[%row, 0] [%row_count, 96] [1, 1]
        : memref<?x96xf32, strided<[96, 1]>> to memref<?x96xf32, strided<[96, 1], offset: ?>>
    %c = memref.subview %y[%row, 0] [%row_count, 40] [1, 1]
        : memref<?x40xf32> to memref<?x40xf32, strided<[40, 1], offset: ?>>
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %w : memref<?x96xf32, strided<[96, 1], offset: ?>>,
                     memref<40x96xbf16>)
        outs(%c : memref<?x40xf32, strided<[40, 1], offset: ?>>)
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

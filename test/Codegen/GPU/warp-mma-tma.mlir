// RUN: moe-opt %s --moe-gpu-warp-mma="wgmma=true warp-tile-rows=16 warp-tile-columns=128 tma-weights=true" --cse | FileCheck %s
// RUN: moe-opt %s --moe-gpu-warp-mma="wgmma=true warp-tile-rows=16 warp-tile-columns=128" --cse | FileCheck %s --check-prefix=CP-ASYNC
// RUN: moe-opt %s --moe-gpu-warp-mma="wgmma=true warp-tile-rows=16 warp-tile-columns=128 tma-weights=true tma-activations=true" --cse | FileCheck %s --check-prefix=TMA-A
// RUN: moe-opt %s --moe-gpu-warp-mma="wgmma=true warp-tile-rows=16 warp-tile-columns=128 tma-weights=true tma-activations=true tma-empty-barriers=true" --cse | FileCheck %s --check-prefix=EMPTY
// RUN: moe-opt %s --moe-gpu-warp-mma="wgmma=true warp-tile-rows=16 warp-tile-columns=128 tma-weights=true tma-activations=true tma-empty-barriers=true wgmma-pending-chunks=1" --cse | FileCheck %s --check-prefix=EMPTY-PENDING
// RUN: not moe-opt %s --moe-gpu-warp-mma="wgmma=true warp-tile-rows=16 warp-tile-columns=128 tma-weights=true tma-empty-barriers=true" 2>&1 | FileCheck %s --check-prefix=EMPTY-NEEDS-A

// The warpgroup of warp-mma-wgmma.mlir with narrowed A (bf16 rows) and W
// expert %e's [40, 96] of a [2, 40, 96] tensor, with tma-weights: W's
// chunks come by TMA.
// - Before the launch the host makes the tensor's map: boxes [1, 48, 64]
//   (the staged rows, 40 padded to 48, by a chunk of 64), 128-byte
//   swizzled, zeros past the tensor.
// - W's buffer, [2, 48, 64] bf16 (12 KB: rows of 128 bytes, as TMA writes
//   a box), is in dynamic shared memory from the first 1,024-byte boundary
//   (13,312 bytes asked for, a pattern more than the slots).
// - W's origin in the tensor (the box coordinates k, n and expert,
//   innermost first) comes from the view's offset: k = offset % 96, n =
//   (offset / 96) % 40, expert = (offset / 96) / 40.
// - An mbarrier a slot, set up by thread 0 (fenced, then a barrier before
//   any thread waits); thread 0 first acquires the map the host wrote
//   (the tensor-map proxy fence) and prefetches it; thread 0 arrives on the slot's, expecting the box's
//   6,144 bytes, and issues the box at (chunk start + k, n, expert); A's
//   pieces still come by every thread's cp.async. Every thread waits on
//   the next chunk's mbarrier (phase parity (chunk / 2) % 2), only where
//   there is a next chunk, before the barrier; after the loop thread 0
//   invalidates the mbarriers.
// - W's descriptors have 128-byte swizzling (1 << 62), the stride
//   dimension byte offset 1,024 (64 << 32) and the leading one 16 (1 <<
//   16): 4611686293305360384.
// CHECK-LABEL: func.func @tma
// CHECK-SAME:    (%{{.+}}: memref<?x96xbf16>, %[[EXPERTS:.+]]: memref<2x40x96xbf16>,
// CHECK:         %[[CAST:.+]] = memref.cast %[[EXPERTS]] : memref<2x40x96xbf16> to memref<*xbf16>
// CHECK:         %[[MAP:.+]] = nvgpu.tma.create.descriptor %[[CAST]] box[%c1, %c48, %c64] : memref<*xbf16> -> <tensor = memref<1x48x64xbf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = l2promo_256b, oob = zero, interleave = none>
// CHECK:         gpu.launch {{.*}} dynamic_shared_memory_size %c13312_i32 workgroup(%[[A_BUF:.+]] : memref<2x8x8x8x8xbf16, #gpu.address_space<workgroup>>)
// CHECK:           %[[W_VIEW:.+]] = memref.subview %[[EXPERTS]]
// CHECK:           %[[TID:.+]] = gpu.thread_id  x
// CHECK:           %[[DYN:.+]] = gpu.dynamic_shared_memory
// CHECK:           %[[BASE:.+]] = memref.extract_aligned_pointer_as_index %[[DYN]]
// CHECK:           %[[ADDRESS:.+]] = arith.addi %[[BASE]], %c0
// CHECK:           %[[MISS:.+]] = arith.remui %[[ADDRESS]], %c1024
// CHECK:           %[[PAD:.+]] = arith.subi %c1024, %[[MISS]]
// CHECK:           %[[TO_BOUNDARY:.+]] = arith.remui %[[PAD]], %c1024
// CHECK:           %[[START:.+]] = arith.addi %c0, %[[TO_BOUNDARY]]
// CHECK:           %[[W_BUF:.+]] = memref.view %[[DYN]][%[[START]]][] : {{.*}} to memref<2x48x64xbf16, #gpu.address_space<workgroup>>
// CHECK:           %{{.+}}, %[[OFFSET:.+]], %{{.+}}:2, %{{.+}}:2 = memref.extract_strided_metadata %[[W_VIEW]]
// CHECK:           %[[ROW:.+]] = arith.divui %[[OFFSET]], %c96
// CHECK:           %[[K:.+]] = arith.remui %[[OFFSET]], %c96
// CHECK:           %[[N:.+]] = arith.remui %[[ROW]], %c40
// CHECK:           %[[EXPERT:.+]] = arith.divui %[[ROW]], %c40
// CHECK:           %[[BARS:.+]] = nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 2>
// CHECK:           %[[ISSUER:.+]] = arith.cmpi eq, %[[TID]], %c0
// CHECK:           nvgpu.mbarrier.init %[[BARS]][%c0], %c1, predicate = %[[ISSUER]]
// CHECK-NEXT:      nvgpu.mbarrier.init %[[BARS]][%c1], %c1, predicate = %[[ISSUER]]
// CHECK-NEXT:      scf.if %[[ISSUER]] {
// CHECK-NEXT:        nvgpu.tma.prefetch.descriptor %[[MAP]]
// CHECK-NEXT:      }
// CHECK-NEXT:      nvvm.fence.mbarrier.init
// CHECK-NEXT:      gpu.barrier
// CHECK:           nvgpu.mbarrier.arrive.expect_tx %[[BARS]][%[[SLOT0:.+]]], %c6144, predicate = %[[ISSUER]]
// CHECK:           %[[BOX0:.+]] = memref.subview %[[W_BUF]][%[[SLOT0]], 0, 0] [1, 48, 64] [1, 1, 1]
// CHECK:           nvgpu.tma.async.load %[[MAP]][%[[K0:.+]], %[[N]], %[[EXPERT]]], %[[BARS]][%[[SLOT0]]] to %[[BOX0]], predicate = %[[ISSUER]]
// CHECK-NOT:       nvgpu.device_async_copy {{.*}} %[[W_BUF]]
// CHECK:           nvgpu.device_async_copy {{.*}}, %[[A_BUF]]
// CHECK:           nvvm.cp.async.wait.group 0
// CHECK:           nvvm.mbarrier.try_wait %{{.+}}, %{{.+}}, %c10000000_i32
// CHECK:           llvm.intr.trap
// CHECK:           nvvm.fence.proxy
// CHECK-NEXT:      gpu.barrier
// CHECK:           scf.for %[[CHUNK:.+]] = %c0 to %{{[0-9]+}} step %c1
// CHECK:             %[[NEXT:.+]] = arith.addi %[[CHUNK]], %c1
// CHECK:             %[[HAS_NEXT:.+]] = arith.cmpi ult, %[[NEXT]], %{{.+}}
// CHECK:             scf.if %[[HAS_NEXT]] {
// CHECK:               nvgpu.mbarrier.arrive.expect_tx %[[BARS]][%[[SLOT:.+]]], %c6144, predicate = %[[ISSUER]]
// CHECK:               nvgpu.tma.async.load %[[MAP]][%{{.+}}, %[[N]], %[[EXPERT]]], %[[BARS]][%[[SLOT]]] to %{{.+}}, predicate = %[[ISSUER]]
// CHECK-NOT:           nvgpu.device_async_copy {{.*}} %[[W_BUF]]
// CHECK:             nvvm.wgmma.fence.aligned
// CHECK:             arith.ori %{{.+}}, %c4611686293305360384_i64
// CHECK:             nvvm.wgmma.mma_async
// CHECK:             nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NEXT:        nvvm.cp.async.wait.group 0
// CHECK-NEXT:        scf.if %[[HAS_NEXT]] {
// CHECK:               %[[USE:.+]] = arith.divui %[[NEXT]], %c2
// CHECK:               %[[ODD:.+]] = arith.remui %[[USE]], %c2
// CHECK:               %[[PARITY:.+]] = arith.cmpi ne, %[[ODD]], %c0
// CHECK:               %[[NEXT_SLOT:.+]] = arith.remui %[[NEXT]], %c2
// A thread waits on the slot's mbarrier for the phase of that parity,
// each test suspended up to 10 ms, and traps (a launch error, not a hang)
// once it has waited 2 s by the global timer.
// CHECK:               %[[BAR:.+]] = nvgpu.mbarrier.get %[[BARS]][%[[NEXT_SLOT]]]
// CHECK:               %[[BAR_PTR:.+]] = llvm.inttoptr %[[BAR]] : i64 to !llvm.ptr<3>
// CHECK:               %[[PHASE:.+]] = arith.extui %[[PARITY]] : i1 to i32
// CHECK:               %[[START:.+]] = nvvm.read.ptx.sreg.globaltimer : i64
// CHECK:               scf.while : () -> () {
// CHECK:                 %[[DONE:.+]] = nvvm.mbarrier.try_wait %[[BAR_PTR]], %[[PHASE]], %c10000000_i32
// CHECK:                 %[[NOW:.+]] = nvvm.read.ptx.sreg.globaltimer : i64
// CHECK:                 %[[WAITED:.+]] = arith.subi %[[NOW]], %[[START]]
// CHECK:                 %[[LATE:.+]] = arith.cmpi ugt, %[[WAITED]], %c2000000000_i64
// CHECK:                 %[[NOT_DONE:.+]] = arith.xori %[[DONE]], %true
// CHECK:                 %[[STUCK:.+]] = arith.andi %[[NOT_DONE]], %[[LATE]]
// CHECK:                 scf.if %[[STUCK]] {
// CHECK-NEXT:              llvm.intr.trap
// CHECK:                 scf.condition(%[[NOT_DONE]])
// CHECK-NEXT:            } do {
// CHECK-NEXT:              scf.yield
// CHECK-NEXT:            }
// CHECK-NEXT:        }
// CHECK-NEXT:        nvvm.fence.proxy
// CHECK-NEXT:        gpu.barrier
// CHECK:           scf.if %[[ISSUER]] {
// CHECK:             nvgpu.mbarrier.get %[[BARS]][%c0]
// CHECK:             nvvm.mbarrier.inval
// CHECK:             nvgpu.mbarrier.get %[[BARS]][%c1]
// CHECK:             nvvm.mbarrier.inval

// Without tma-weights W comes by cp.async into core matrices, as before.
// CP-ASYNC-LABEL: func.func @tma
// CP-ASYNC-NOT:     nvgpu.tma
// CP-ASYNC:         workgroup(%{{.+}} : memref<2x8x8x8x8xbf16, #gpu.address_space<workgroup>>, %[[W:.+]] : memref<2x6x8x8x8xbf16, #gpu.address_space<workgroup>>)
// CP-ASYNC-NOT:     nvgpu.mbarrier
// CP-ASYNC:         nvgpu.device_async_copy {{.*}}, %[[W]]
// CP-ASYNC-NOT:     nvgpu.mbarrier

// With tma-activations too, A's chunks come by TMA beside W's:
// - the host also makes a map of the rows A's view is a window of (%x,
//   [?, 96]: its row count known at run time), boxes of the block's 64
//   staged rows by 64;
// - A's slots, [2, 64, 64] bf16 (swizzled as TMA writes them), come first
//   in dynamic shared memory, W's after them: 29,696 bytes asked for (16
//   KB, 12 KB and a pattern);
// - A's origin: row = offset / 96 (no modulo: the rows are not a
//   constant), k = offset % 96;
// - thread 0 acquires and prefetches both maps, and arrives expecting both
//   boxes' bytes (6,144 + 8,192) before it issues W's box and A's, on the
//   same slot's mbarrier;
// - no thread copies by cp.async, or waits for a cp.async group;
// - A's descriptors have 128-byte swizzling too.
// TMA-A-LABEL: func.func @tma
// TMA-A-SAME:    (%[[X:.+]]: memref<?x96xbf16>, %[[EXPERTS:.+]]: memref<2x40x96xbf16>,
// TMA-A:         %[[W_MAP:.+]] = nvgpu.tma.create.descriptor %{{.+}} box[%c1, %c48, %c64]
// TMA-A:         %[[X_CAST:.+]] = memref.cast %[[X]] : memref<?x96xbf16> to memref<*xbf16>
// TMA-A:         %[[A_MAP:.+]] = nvgpu.tma.create.descriptor %[[X_CAST]] box[%c64, %c64] : memref<*xbf16> -> <tensor = memref<64x64xbf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = l2promo_256b, oob = zero, interleave = none>
// TMA-A:         gpu.launch {{.*}} dynamic_shared_memory_size %c29696_i32 {
// TMA-A:           %[[BLOCK_A:.+]] = memref.subview %[[X]][0, 0] [%{{.+}}, 96] [1, 1]
// TMA-A:           %[[A_BUF:.+]] = memref.view %{{.+}}[%[[A_START:.+]]][] : {{.*}} to memref<2x64x64xbf16, #gpu.address_space<workgroup>>
// TMA-A:           %[[W_START:.+]] = arith.addi %[[A_START]], %c16384
// TMA-A:           %[[W_BUF:.+]] = memref.view %{{.+}}[%[[W_START]]][] : {{.*}} to memref<2x48x64xbf16, #gpu.address_space<workgroup>>
// TMA-A:           %{{.+}}, %[[A_OFFSET:.+]], %{{.+}}:2, %{{.+}}:2 = memref.extract_strided_metadata %[[BLOCK_A]]
// TMA-A-NEXT:      %[[A_ROW:.+]] = arith.divui %[[A_OFFSET]], %c96
// TMA-A-NEXT:      %[[A_K:.+]] = arith.remui %[[A_OFFSET]], %c96
// TMA-A-NEXT:      %[[BARS:.+]] = nvgpu.mbarrier.create
// TMA-A-NEXT:      %[[ISSUER:.+]] = arith.cmpi eq, %{{.+}}, %c0
// TMA-A:           nvgpu.mbarrier.init %[[BARS]][%c1], %c1, predicate = %[[ISSUER]]
// TMA-A-NEXT:      scf.if %[[ISSUER]] {
// TMA-A-NEXT:        nvgpu.tma.prefetch.descriptor %[[W_MAP]]
// TMA-A-NEXT:        nvgpu.tma.prefetch.descriptor %[[A_MAP]]
// TMA-A-NEXT:      }
// TMA-A:           nvgpu.mbarrier.arrive.expect_tx %[[BARS]][%[[SLOT0:.+]]], %c14336, predicate = %[[ISSUER]]
// TMA-A:           nvgpu.tma.async.load %[[W_MAP]][%{{.+}}], %[[BARS]][%[[SLOT0]]] to %{{.+}}, predicate = %[[ISSUER]]
// TMA-A:           %[[A_K0:.+]] = arith.addi %[[A_K]], %{{.+}}
// TMA-A-NEXT:      %[[A_BOX0:.+]] = memref.subview %[[A_BUF]][%[[SLOT0]], 0, 0] [1, 64, 64] [1, 1, 1]
// TMA-A-NEXT:      nvgpu.tma.async.load %[[A_MAP]][%[[A_K0]], %[[A_ROW]]], %[[BARS]][%[[SLOT0]]] to %[[A_BOX0]], predicate = %[[ISSUER]]
// TMA-A-NOT:       nvgpu.device_async_copy
// TMA-A-NOT:       nvvm.cp.async
// TMA-A:           scf.for
// TMA-A:             nvgpu.mbarrier.arrive.expect_tx %[[BARS]][%[[SLOT:.+]]], %c14336, predicate = %[[ISSUER]]
// TMA-A:             nvgpu.tma.async.load %[[W_MAP]]
// TMA-A:             nvgpu.tma.async.load %[[A_MAP]][%{{.+}}, %[[A_ROW]]], %[[BARS]][%[[SLOT]]]
// TMA-A:             %[[A_DESC:.+]] = arith.ori %{{.+}}, %c4611686293305360384_i64
// TMA-A:             %[[W_DESC:.+]] = arith.ori %{{.+}}, %c4611686293305360384_i64
// TMA-A-NEXT:        nvvm.wgmma.mma_async %[[A_DESC]], %[[W_DESC]]
// TMA-A-NOT:       nvgpu.device_async_copy
// TMA-A-NOT:       nvvm.cp.async
// TMA-A:           nvvm.mbarrier.inval

// With tma-empty-barriers too (no thread writes a slot), a second mbarrier
// a slot, its empty one, counts the block's 4 warps:
// - before the boxes of a chunk past the slots' first (chunk c + 1 >= 2,
//   use u = (c + 1) / 2 of slot (c + 1) % 2), the issuing thread waits on
//   the slot's empty mbarrier for the phase of the slot's previous use
//   (parity (u - 1) % 2); the chunks before the loop wait for nothing;
// - once a warp's wgmmas of chunk c are waited for, its lane 0 arrives on
//   the empty mbarrier of chunk c's slot, before the warp waits for the
//   next chunk's boxes;
// - no block barrier in the loop (nor between the set-up's and it): one
//   after it, before thread 0 invalidates both groups.
// EMPTY-LABEL: func.func @tma
// EMPTY:         %[[FULL:.+]] = nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 2>
// EMPTY-NEXT:    %[[EMPTY:.+]] = nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 2>
// EMPTY-NEXT:    %[[ISSUER:.+]] = arith.cmpi eq, %[[THREAD:.+]], %c0
// EMPTY:         nvgpu.mbarrier.init %[[FULL]][%c1], %c1, predicate = %[[ISSUER]]
// EMPTY-NEXT:    nvgpu.mbarrier.init %[[EMPTY]][%c0], %c4, predicate = %[[ISSUER]]
// EMPTY-NEXT:    nvgpu.mbarrier.init %[[EMPTY]][%c1], %c4, predicate = %[[ISSUER]]
// EMPTY:         nvvm.fence.mbarrier.init
// EMPTY-NEXT:    gpu.barrier
// EMPTY-NOT:     gpu.barrier
// EMPTY-NOT:     nvgpu.mbarrier.get %[[EMPTY]]
// EMPTY:         nvgpu.mbarrier.arrive.expect_tx %[[FULL]]
// EMPTY-NOT:     gpu.barrier
// EMPTY:         scf.for %[[CHUNK:.+]] = %c0 to %{{[0-9]+}} step %c1
// EMPTY-NEXT:      %[[NEXT:.+]] = arith.addi %[[CHUNK]], %c1
// EMPTY:           scf.if
// EMPTY:             %[[SLOT:.+]] = arith.remui %[[NEXT]], %c2
// EMPTY-NEXT:        %[[REUSED:.+]] = arith.cmpi uge, %[[NEXT]], %c2
// EMPTY-NEXT:        %[[USE:.+]] = arith.divui %[[NEXT]], %c2
// EMPTY-NEXT:        %[[WAITS:.+]] = arith.andi %[[REUSED]], %[[ISSUER]]
// EMPTY-NEXT:        scf.if %[[WAITS]] {
// EMPTY-NEXT:          %[[PREVIOUS:.+]] = arith.subi %[[USE]], %c1
// EMPTY-NEXT:          %[[ODD:.+]] = arith.remui %[[PREVIOUS]], %c2
// EMPTY-NEXT:          %[[PARITY:.+]] = arith.cmpi ne, %[[ODD]], %c0
// EMPTY-NEXT:          nvgpu.mbarrier.get %[[EMPTY]][%[[SLOT]]]
// EMPTY:               %[[PHASE:.+]] = arith.extui %[[PARITY]] : i1 to i32
// EMPTY:               nvvm.mbarrier.try_wait %{{.+}}, %[[PHASE]]
// EMPTY:             nvgpu.mbarrier.arrive.expect_tx %[[FULL]][%[[SLOT]]]
// EMPTY:           %[[READ_SLOT:.+]] = arith.remui %[[CHUNK]], %c2
// EMPTY:           nvvm.wgmma.mma_async
// EMPTY:           nvvm.wgmma.wait.group.sync.aligned 0
// EMPTY-NEXT:      %[[LANE:.+]] = arith.remui %[[THREAD]], %c32
// EMPTY-NEXT:      %[[LANE_0:.+]] = arith.cmpi eq, %[[LANE]], %c0
// EMPTY-NEXT:      scf.if %[[LANE_0]] {
// EMPTY-NEXT:        nvgpu.mbarrier.arrive %[[EMPTY]][%[[READ_SLOT]]]
// EMPTY-NEXT:      }
// EMPTY-NEXT:      scf.if
// EMPTY:             nvgpu.mbarrier.get %[[FULL]]
// EMPTY-NOT:       gpu.barrier
// EMPTY:           scf.yield %{{.+}} : !llvm.struct
// EMPTY-NEXT:    }
// EMPTY-NEXT:    gpu.barrier
// EMPTY-NEXT:    scf.if %[[ISSUER]] {
// EMPTY-COUNT-2:   nvgpu.mbarrier.get %[[FULL]]
// EMPTY-COUNT-2:   nvgpu.mbarrier.get %[[EMPTY]]

// With a chunk of wgmmas pending (3 slots), the wait before the chunk's
// end retires the chunk before, whose slot the warp then releases (where
// there is one); after the loop, the last chunk's wgmmas are waited for
// before the one barrier.
// EMPTY-PENDING-LABEL: func.func @tma
// EMPTY-PENDING:         scf.for %[[CHUNK:.+]] = %c0 to %{{[0-9]+}} step %c1
// EMPTY-PENDING:           nvvm.wgmma.wait.group.sync.aligned 2
// EMPTY-PENDING-NEXT:      %[[BEFORE:.+]] = arith.subi %[[CHUNK]], %c1
// EMPTY-PENDING-NEXT:      %[[ANY:.+]] = arith.cmpi uge, %[[CHUNK]], %c1
// EMPTY-PENDING-NEXT:      scf.if %[[ANY]] {
// EMPTY-PENDING-NEXT:        %[[SLOT:.+]] = arith.remui %[[BEFORE]], %c3
// EMPTY-PENDING:             nvgpu.mbarrier.arrive %{{.+}}[%[[SLOT]]]
// EMPTY-PENDING-NOT:       gpu.barrier
// EMPTY-PENDING:           scf.yield %{{.+}} : !llvm.struct
// EMPTY-PENDING-NEXT:    }
// EMPTY-PENDING-NEXT:    nvvm.wgmma.wait.group.sync.aligned 0
// EMPTY-PENDING-NEXT:    gpu.barrier
// EMPTY-PENDING-NEXT:    scf.if

// EMPTY-NEEDS-A: error: moe-gpu-warp-mma: tma-empty-barriers needs tma-activations

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @tma(%x: memref<?x96xbf16>, %experts: memref<2x40x96xbf16>,
               %y: memref<?x40xf32>, %n: index, %e: index) {
  %c1 = arith.constant 1 : index
  %c128 = arith.constant 128 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
    %w = memref.subview %experts[%e, 0, 0] [1, 40, 96] [1, 1, 1]
        : memref<2x40x96xbf16> to memref<40x96xbf16, strided<[96, 1], offset: ?>>
    %rows = affine.min affine_map<()[s0] -> (s0, 64)>()[%n]
    %block_a = memref.subview %x[0, 0] [%rows, 96] [1, 1]
        : memref<?x96xbf16> to memref<?x96xbf16, strided<[96, 1]>>
    %warp = affine.apply affine_map<()[s0] -> (s0 floordiv 32)>()[%tx]
    %row = affine.min affine_map<()[s0, s1] -> (s0 * 16, s1)>()[%warp, %rows]
    %row_count = affine.min affine_map<()[s0, s1] -> (s1 - s0, 16)>()[%row, %rows]
    %a = memref.subview %block_a[%row, 0] [%row_count, 96] [1, 1]
        : memref<?x96xbf16, strided<[96, 1]>> to memref<?x96xbf16, strided<[96, 1], offset: ?>>
    %c = memref.subview %y[%row, 0] [%row_count, 40] [1, 1]
        : memref<?x40xf32> to memref<?x40xf32, strided<[40, 1], offset: ?>>
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %w : memref<?x96xbf16, strided<[96, 1], offset: ?>>,
                     memref<40x96xbf16, strided<[96, 1], offset: ?>>)
        outs(%c : memref<?x40xf32, strided<[40, 1], offset: ?>>)
        attrs = {moe.segment_matmul, moe.warp_mma} {
    ^bb0(%in: bf16, %wt: bf16, %acc: f32):
      %ae = arith.extf %in : bf16 to f32
      %we = arith.extf %wt : bf16 to f32
      %p = arith.mulf %ae, %we : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
    gpu.terminator
  }
  return
}

// Two kernels sharing a launch (moe-gpu-merge-independent-kernels: the
// block takes one branch of an scf.if, once): their tiles never run in
// one block, so the second tile's buffers start where the first's do, and
// the launch asks for the most either needs (29,696 bytes), not the sum.
// TMA-A-LABEL: func.func @tma_branches
// TMA-A:         gpu.launch {{.*}} dynamic_shared_memory_size %c29696_i32 {
// TMA-A:           scf.if %{{.+}} {
// TMA-A:             %[[FIRST:.+]] = memref.extract_aligned_pointer_as_index %{{.+}} : memref<?xi8, #gpu.address_space<workgroup>>
// TMA-A:             %{{.+}} = arith.addi %[[FIRST]], %c0
// TMA-A:             memref.view {{.*}} to memref<2x64x64xbf16, #gpu.address_space<workgroup>>
// TMA-A:           } else {
// TMA-A:             %[[SECOND:.+]] = memref.extract_aligned_pointer_as_index %{{.+}} : memref<?xi8, #gpu.address_space<workgroup>>
// TMA-A:             %{{.+}} = arith.addi %[[SECOND]], %c0
// TMA-A:             memref.view {{.*}} to memref<2x64x64xbf16, #gpu.address_space<workgroup>>
func.func @tma_branches(%x: memref<?x96xbf16>, %experts: memref<2x40x96xbf16>,
                        %y: memref<?x40xf32>, %z: memref<?x40xf32>,
                        %n: index, %e: index, %first: i1) {
  %c1 = arith.constant 1 : index
  %c128 = arith.constant 128 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
    %rows = affine.min affine_map<()[s0] -> (s0, 64)>()[%n]
    %block_a = memref.subview %x[0, 0] [%rows, 96] [1, 1]
        : memref<?x96xbf16> to memref<?x96xbf16, strided<[96, 1]>>
    %warp = affine.apply affine_map<()[s0] -> (s0 floordiv 32)>()[%tx]
    %row = affine.min affine_map<()[s0, s1] -> (s0 * 16, s1)>()[%warp, %rows]
    %row_count = affine.min affine_map<()[s0, s1] -> (s1 - s0, 16)>()[%row, %rows]
    %a = memref.subview %block_a[%row, 0] [%row_count, 96] [1, 1]
        : memref<?x96xbf16, strided<[96, 1]>> to memref<?x96xbf16, strided<[96, 1], offset: ?>>
    scf.if %first {
      %w = memref.subview %experts[0, 0, 0] [1, 40, 96] [1, 1, 1]
          : memref<2x40x96xbf16> to memref<40x96xbf16, strided<[96, 1]>>
      %c = memref.subview %y[%row, 0] [%row_count, 40] [1, 1]
          : memref<?x40xf32> to memref<?x40xf32, strided<[40, 1], offset: ?>>
      linalg.generic {indexing_maps = [#a, #w, #c],
                      iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%a, %w : memref<?x96xbf16, strided<[96, 1], offset: ?>>,
                       memref<40x96xbf16, strided<[96, 1]>>)
          outs(%c : memref<?x40xf32, strided<[40, 1], offset: ?>>)
          attrs = {moe.segment_matmul, moe.warp_mma} {
      ^bb0(%in: bf16, %wt: bf16, %acc: f32):
        %ae = arith.extf %in : bf16 to f32
        %we = arith.extf %wt : bf16 to f32
        %p = arith.mulf %ae, %we : f32
        %s = arith.addf %acc, %p : f32
        linalg.yield %s : f32
      }
    } else {
      %w = memref.subview %experts[1, 0, 0] [1, 40, 96] [1, 1, 1]
          : memref<2x40x96xbf16> to memref<40x96xbf16, strided<[96, 1], offset: 3840>>
      %c = memref.subview %z[%row, 0] [%row_count, 40] [1, 1]
          : memref<?x40xf32> to memref<?x40xf32, strided<[40, 1], offset: ?>>
      linalg.generic {indexing_maps = [#a, #w, #c],
                      iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%a, %w : memref<?x96xbf16, strided<[96, 1], offset: ?>>,
                       memref<40x96xbf16, strided<[96, 1], offset: 3840>>)
          outs(%c : memref<?x40xf32, strided<[40, 1], offset: ?>>)
          attrs = {moe.segment_matmul, moe.warp_mma} {
      ^bb0(%in: bf16, %wt: bf16, %acc: f32):
        %ae = arith.extf %in : bf16 to f32
        %we = arith.extf %wt : bf16 to f32
        %p = arith.mulf %ae, %we : f32
        %s = arith.addf %acc, %p : f32
        linalg.yield %s : f32
      }
    }
    gpu.terminator
  }
  return
}

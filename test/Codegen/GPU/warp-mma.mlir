// RUN: moe-opt %s --moe-gpu-warp-mma="stage-activations=false" --split-input-file --verify-diagnostics | FileCheck %s

// A warp tile of up to 16 rows (a segment's last rows), 8 columns and
// K = 32: one step over K of two mma.sync m16n8k16. Each lane loads, per
// row it owns, 8 consecutive elements along K from k0 + 8 q (q = lane % 4):
// A at rows g = lane / 4 and g + 8, rounded to bf16, W (B transposed) at
// row g, one aligned vector load each. The first mma.sync takes elements
// 0-3 of each (registers t..t+1 and t+8..t+9 of PTX's layout, t = 2 q),
// the second 4-7: a permutation of K that A and W share, so the products
// summed are the same. C sits at rows g and g + 8, columns t and t + 1.
// Rows past the tile's read zeros and are not stored; columns and K fill
// the tile, so they need no checks.

// CHECK-LABEL: func.func @tile
// CHECK-SAME:    (%[[X:.+]]: memref<?x32xf32>, %[[W:.+]]: memref<8x32xbf16>, %[[Y:.+]]: memref<?x8xf32>, %[[N:.+]]: index)
// CHECK:         gpu.launch
// CHECK:           %[[A:.+]] = memref.subview %[[X]]
// CHECK:           %[[C:.+]] = memref.subview %[[Y]]
// A tile of no rows (n = 0) loads and stores nothing.
// CHECK:           %[[SIZE:.+]] = memref.dim %[[C]], %c0
// CHECK:           %[[SOME:.+]] = arith.cmpi ne, %[[SIZE]], %c0
// CHECK:           scf.if %[[SOME]] {
// CHECK:           %[[ROWS:.+]] = memref.dim %[[C]], %c0
// CHECK:           %[[LANE:.+]] = gpu.lane_id upper_bound 32
// CHECK:           %[[G:.+]] = arith.divui %[[LANE]], %c4
// CHECK:           %[[Q:.+]] = arith.remui %[[LANE]], %c4
// CHECK:           %[[T:.+]] = arith.muli %[[Q]], %c2
// CHECK:           %[[LANE_K:.+]] = arith.muli %[[Q]], %c8
// Row g: inside the tile, and clamped into it.
// CHECK:           %[[UP_IN:.+]] = arith.cmpi ult, %[[G]], %[[ROWS]]
// CHECK:           %[[UP_LAST:.+]] = arith.subi %[[ROWS]], %c1
// CHECK:           %[[UP:.+]] = arith.minui %[[G]], %[[UP_LAST]]
// Row g + 8.
// CHECK:           %[[G8:.+]] = arith.addi %[[G]], %c8
// CHECK:           %[[LO_IN:.+]] = arith.cmpi ult, %[[G8]], %[[ROWS]]
// CHECK:           %[[LO:.+]] = arith.minui %[[G8]], %{{.+}}
// CHECK:           %[[T1:.+]] = arith.addi %[[T]], %c1
// C's fragment: (g, t), (g, t + 1), (g + 8, t), (g + 8, t + 1).
// CHECK:           %[[C0:.+]] = memref.load %[[C]][%[[UP]], %[[T]]]
// CHECK:           %[[C0S:.+]] = arith.select %[[UP_IN]], %[[C0]], %cst
// CHECK:           %[[C1:.+]] = memref.load %[[C]][%[[UP]], %[[T1]]]
// CHECK:           %[[C1S:.+]] = arith.select %[[UP_IN]], %[[C1]]
// CHECK:           %[[C2:.+]] = memref.load %[[C]][%[[LO]], %[[T]]]
// CHECK:           %[[C2S:.+]] = arith.select %[[LO_IN]], %[[C2]]
// CHECK:           %[[C3:.+]] = memref.load %[[C]][%[[LO]], %[[T1]]]
// CHECK:           %[[C3S:.+]] = arith.select %[[LO_IN]], %[[C3]]
// CHECK:           %[[INIT:.+]] = vector.from_elements %[[C0S]], %[[C1S]], %[[C2S]], %[[C3S]] : vector<2x2xf32>
// CHECK:           %[[K:.+]] = memref.dim %[[A]], %c1
// CHECK:           %[[SUM:.+]] = scf.for %[[K0:.+]] = %{{.+}} to %[[K]] step %c32{{(_[0-9]+)?}} iter_args(%[[ACC:.+]] = %[[INIT]]) -> (vector<2x2xf32>) {
// CHECK:             %[[KL:.+]] = arith.addi %[[K0]], %[[LANE_K]]
// A's rows g and g + 8: 8 elements each, zeros past the tile's rows.
// CHECK:             %[[AU:.+]] = vector.load %[[A]][%[[UP]], %[[KL]]] {alignment = 16 : i64} : memref<?x32xf32, strided<[32, 1]>>, vector<8xf32>
// CHECK:             %[[AUS:.+]] = arith.select %[[UP_IN]], %[[AU]], %{{.+}} : vector<8xf32>
// CHECK-COUNT-8:     vector.extract %[[AUS]][{{[0-7]}}]
// CHECK:             %[[AL:.+]] = vector.load %[[A]][%[[LO]], %[[KL]]] {alignment = 16 : i64}
// CHECK:             %[[ALS:.+]] = arith.select %[[LO_IN]], %[[AL]], %{{.+}} : vector<8xf32>
// CHECK-COUNT-8:     vector.extract %[[ALS]][{{[0-7]}}]
// CHECK:             %[[AF:.+]] = vector.from_elements %{{.+}} : vector<4x2xbf16>
// W's row g needs no check: the tile has all 8 columns.
// CHECK:             %[[WG:.+]] = vector.load %[[W]][%[[G]], %[[KL]]] {alignment = 16 : i64} : memref<8x32xbf16>, vector<8xbf16>
// CHECK:             %[[W0:.+]] = vector.extract %[[WG]][0]
// CHECK:             %[[W1:.+]] = vector.extract %[[WG]][1]
// CHECK:             %[[W2:.+]] = vector.extract %[[WG]][2]
// CHECK:             %[[W3:.+]] = vector.extract %[[WG]][3]
// CHECK:             %[[W4:.+]] = vector.extract %[[WG]][4]
// CHECK:             %[[W5:.+]] = vector.extract %[[WG]][5]
// CHECK:             %[[W6:.+]] = vector.extract %[[WG]][6]
// CHECK:             %[[W7:.+]] = vector.extract %[[WG]][7]
// CHECK:             %[[BF:.+]] = vector.from_elements %[[W0]], %[[W1]], %[[W2]], %[[W3]] : vector<2x2xbf16>
// CHECK:             %[[D0:.+]] = nvgpu.mma.sync(%[[AF]], %[[BF]], %[[ACC]]) {mmaShape = [16, 8, 16]} : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
// The second mma.sync: elements 4-7 of the same loads.
// CHECK-NOT:         vector.load
// CHECK:             %[[AF1:.+]] = vector.from_elements %{{.+}} : vector<4x2xbf16>
// CHECK:             %[[BF1:.+]] = vector.from_elements %[[W4]], %[[W5]], %[[W6]], %[[W7]] : vector<2x2xbf16>
// CHECK:             %[[D:.+]] = nvgpu.mma.sync(%[[AF1]], %[[BF1]], %[[D0]]) {mmaShape = [16, 8, 16]}
// CHECK:             scf.yield %[[D]]
// CHECK:           }
// Stored back where C's fragment came from, inside the tile only, at
// indices computed again after the loop from the lane id read there (a
// volatile asm: not merged with, nor hoisted to, the ones before, which
// would otherwise stay live across the loop).
// CHECK:           %[[LANE_ASM:.+]] = llvm.inline_asm has_side_effects "mov.u32 $0, %laneid;", "=r"  : () -> i32
// CHECK:           %[[LANE2:.+]] = arith.index_castui %[[LANE_ASM]] : i32 to index
// CHECK:           %[[G2:.+]] = arith.divui %[[LANE2]], %c4
// CHECK:           %[[Q2:.+]] = arith.remui %[[LANE2]], %c4
// CHECK:           %[[T2:.+]] = arith.muli %[[Q2]], %c2
// CHECK:           %[[UP2_IN:.+]] = arith.cmpi ult, %[[G2]], %[[ROWS2:.+]] : index
// CHECK:           %[[UP2:.+]] = arith.minui %[[G2]], %{{.+}}
// CHECK:           %[[G28:.+]] = arith.addi %[[G2]], %c8
// CHECK:           %[[LO2_IN:.+]] = arith.cmpi ult, %[[G28]], %[[ROWS2]]
// CHECK:           %[[LO2:.+]] = arith.minui %[[G28]], %{{.+}}
// CHECK:           %[[T21:.+]] = arith.addi %[[T2]], %c1
// CHECK:           %[[D0:.+]] = vector.extract %[[SUM]][0, 0]
// CHECK:           scf.if %[[UP2_IN]] {
// CHECK:             memref.store %[[D0]], %[[C]][%[[UP2]], %[[T2]]]
// CHECK:           }
// CHECK:           %[[D1:.+]] = vector.extract %[[SUM]][0, 1]
// CHECK:           scf.if %[[UP2_IN]] {
// CHECK:             memref.store %[[D1]], %[[C]][%[[UP2]], %[[T21]]]
// CHECK:           %[[D2:.+]] = vector.extract %[[SUM]][1, 0]
// CHECK:           scf.if %[[LO2_IN]] {
// CHECK:             memref.store %[[D2]], %[[C]][%[[LO2]], %[[T2]]]
// CHECK:           %[[D3:.+]] = vector.extract %[[SUM]][1, 1]
// CHECK:           scf.if %[[LO2_IN]] {
// CHECK:             memref.store %[[D3]], %[[C]][%[[LO2]], %[[T21]]]
// CHECK-NOT:       linalg.generic
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @tile(%x: memref<?x32xf32>, %w: memref<8x32xbf16>,
                %y: memref<?x8xf32>, %n: index) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %rows = affine.min affine_map<()[s0] -> (s0, 16)>()[%n]
    %a = memref.subview %x[0, 0] [%rows, 32] [1, 1]
        : memref<?x32xf32> to memref<?x32xf32, strided<[32, 1]>>
    %c = memref.subview %y[0, 0] [%rows, 8] [1, 1]
        : memref<?x8xf32> to memref<?x8xf32, strided<[8, 1]>>
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %w : memref<?x32xf32, strided<[32, 1]>>, memref<8x32xbf16>)
        outs(%c : memref<?x8xf32, strided<[8, 1]>>)
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

// A whole warp tile, 32 x 32: 2 x 4 mma.sync tiles. Each step over K (32)
// loads four rows of A (g, g + 8, g + 16, g + 24; two A fragments, rows
// 0-15 and 16-31, for each of the step's two mma.syncs) and four of W
// (the same rows of W: the tile's columns), one vector load each, and each
// W fragment serves the two mma.syncs of its column of tiles, each A
// fragment the four of its row: 16 mma.syncs for 8 loads. The tile fills
// its buffers, so no checks against the tile's bounds.

// CHECK-LABEL: func.func @warp_tile
// CHECK-SAME:    (%[[X:.+]]: memref<32x32xf32>, %[[W:.+]]: memref<32x32xbf16>, %[[Y:.+]]: memref<32x32xf32>)
// CHECK:           %[[G:.+]] = arith.divui %{{.+}}, %c4
// CHECK:           %[[SUMS:.+]]:8 = scf.for
// The step's first mma.syncs load the groups of A's four rows and W's four.
// CHECK:             vector.load %[[X]]
// CHECK:             vector.load %[[X]]
// CHECK:             %[[A0:.+]] = vector.from_elements {{.+}} : vector<4x2xbf16>
// CHECK:             vector.load %[[X]]
// CHECK:             vector.load %[[X]]
// CHECK:             %[[A1:.+]] = vector.from_elements {{.+}} : vector<4x2xbf16>
// CHECK:             vector.load %[[W]][%[[G]],
// CHECK:             %[[B0:.+]] = vector.from_elements {{.+}} : vector<2x2xbf16>
// CHECK-NEXT:        nvgpu.mma.sync(%[[A0]], %[[B0]], %{{.+}})
// CHECK-NEXT:        nvgpu.mma.sync(%[[A1]], %[[B0]], %{{.+}})
// CHECK:             vector.load %[[W]][%{{.+}},
// CHECK:             %[[B1:.+]] = vector.from_elements {{.+}} : vector<2x2xbf16>
// CHECK-NEXT:        nvgpu.mma.sync(%[[A0]], %[[B1]], %{{.+}})
// CHECK-NEXT:        nvgpu.mma.sync(%[[A1]], %[[B1]], %{{.+}})
// CHECK:             vector.load %[[W]][%{{.+}},
// CHECK:             %[[B2:.+]] = vector.from_elements {{.+}} : vector<2x2xbf16>
// CHECK-NEXT:        nvgpu.mma.sync(%[[A0]], %[[B2]], %{{.+}})
// CHECK-NEXT:        nvgpu.mma.sync(%[[A1]], %[[B2]], %{{.+}})
// CHECK:             vector.load %[[W]][%{{.+}},
// CHECK:             %[[B3:.+]] = vector.from_elements {{.+}} : vector<2x2xbf16>
// CHECK-NEXT:        nvgpu.mma.sync(%[[A0]], %[[B3]], %{{.+}})
// CHECK-NEXT:        nvgpu.mma.sync(%[[A1]], %[[B3]], %{{.+}})
// The second take elements 4-7 of the same groups.
// CHECK-NOT:         vector.load
// CHECK:             %[[A0_:.+]] = vector.from_elements {{.+}} : vector<4x2xbf16>
// CHECK:             %[[A1_:.+]] = vector.from_elements {{.+}} : vector<4x2xbf16>
// CHECK:             %[[B0_:.+]] = vector.from_elements {{.+}} : vector<2x2xbf16>
// CHECK-NEXT:        nvgpu.mma.sync(%[[A0_]], %[[B0_]], %{{.+}})
// CHECK-NEXT:        nvgpu.mma.sync(%[[A1_]], %[[B0_]], %{{.+}})
// CHECK:             %[[B1_:.+]] = vector.from_elements {{.+}} : vector<2x2xbf16>
// CHECK-NEXT:        nvgpu.mma.sync(%[[A0_]], %[[B1_]], %{{.+}})
// CHECK-NEXT:        nvgpu.mma.sync(%[[A1_]], %[[B1_]], %{{.+}})
// CHECK:             %[[B2_:.+]] = vector.from_elements {{.+}} : vector<2x2xbf16>
// CHECK-NEXT:        nvgpu.mma.sync(%[[A0_]], %[[B2_]], %{{.+}})
// CHECK-NEXT:        nvgpu.mma.sync(%[[A1_]], %[[B2_]], %{{.+}})
// CHECK:             %[[B3_:.+]] = vector.from_elements {{.+}} : vector<2x2xbf16>
// CHECK-NEXT:        nvgpu.mma.sync(%[[A0_]], %[[B3_]], %{{.+}})
// CHECK-NEXT:        nvgpu.mma.sync(%[[A1_]], %[[B3_]], %{{.+}})
// CHECK-NEXT:        scf.yield
// CHECK-COUNT-32:  memref.store %{{.+}}, %[[Y]]
// CHECK-NOT:       memref.store
// CHECK-NOT:       scf.if
// CHECK:           gpu.terminator
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @warp_tile(%x: memref<32x32xf32>, %w: memref<32x32xbf16>,
                     %y: memref<32x32xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<32x32xf32>, memref<32x32xbf16>)
        outs(%y : memref<32x32xf32>) attrs = {moe.warp_mma} {
    ^bb0(%in: f32, %wt: bf16, %acc: f32):
      %we = arith.extf %wt : bf16 to f32
      %p = arith.mulf %in, %we : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
    gpu.terminator
  }
  return
}

// -----

// A gated FFN's tile (moe-gpu-distribute's gated tiles): gate and up
// accumulate in registers from their fills' value over one K loop, which
// loads the A fragment once for both mma.syncs; the epilogue runs on the
// accumulators' elements, its bias read at the element's column, and only
// its result is stored. Nothing is stored to the gate and up tiles.

// CHECK-LABEL: func.func @gated_tile
// CHECK-SAME:    (%[[X:.+]]: memref<?x32xf32>, %[[WG:.+]]: memref<8x32xbf16>, %[[WU:.+]]: memref<8x32xbf16>, %[[BIAS:.+]]: memref<8xf32>, %[[Y:.+]]: memref<?x8xf32>, %[[N:.+]]: index)
// CHECK:         gpu.launch
// CHECK:           %[[C:.+]] = memref.subview %[[Y]]
// CHECK-NOT:       linalg.fill
// CHECK:           %[[T:.+]] = arith.muli %{{.+}}, %c2
// CHECK:           %[[T1:.+]] = arith.addi %[[T]], %c1
// CHECK:           %[[G0:.+]] = vector.broadcast %[[ZERO:.+]] : f32 to vector<2x2xf32>
// CHECK:           %[[U0:.+]] = vector.broadcast %[[ZERO]] : f32 to vector<2x2xf32>
// CHECK:           %[[SUMS:.+]]:2 = scf.for %{{.+}} iter_args(%[[GACC:.+]] = %[[G0]], %[[UACC:.+]] = %[[U0]]) -> (vector<2x2xf32>, vector<2x2xf32>) {
// CHECK-COUNT-8:     arith.truncf
// CHECK:             %[[AF:.+]] = vector.from_elements {{.+}} : vector<4x2xbf16>
// CHECK-NOT:         arith.truncf
// CHECK:             vector.load %[[WG]]
// CHECK:             %[[GF:.+]] = vector.from_elements {{.+}} : vector<2x2xbf16>
// CHECK:             %[[GD:.+]] = nvgpu.mma.sync(%[[AF]], %[[GF]], %[[GACC]])
// CHECK:             vector.load %[[WU]]
// CHECK:             %[[UF:.+]] = vector.from_elements {{.+}} : vector<2x2xbf16>
// CHECK:             %[[UD:.+]] = nvgpu.mma.sync(%[[AF]], %[[UF]], %[[UACC]])
// The step's second mma.syncs: the same loads' other elements.
// CHECK-COUNT-8:     arith.truncf
// CHECK:             %[[AF1:.+]] = vector.from_elements {{.+}} : vector<4x2xbf16>
// CHECK-NOT:         vector.load
// CHECK:             %[[GD1:.+]] = nvgpu.mma.sync(%[[AF1]], %{{.+}}, %[[GD]])
// CHECK-NOT:         vector.load
// CHECK:             %[[UD1:.+]] = nvgpu.mma.sync(%[[AF1]], %{{.+}}, %[[UD]])
// CHECK:             scf.yield %[[GD1]], %[[UD1]]
// CHECK:           }
// Element (g, t): act = (gate + bias[t]) * up, stored to C only (t
// computed again after the loop).
// CHECK:           %[[LANE2:.+]] = llvm.inline_asm has_side_effects "mov.u32 $0, %laneid;"
// CHECK:           %[[LANE2I:.+]] = arith.index_castui %[[LANE2]]
// CHECK:           %[[Q2:.+]] = arith.remui %[[LANE2I]], %c4
// CHECK:           %[[T2:.+]] = arith.muli %[[Q2]], %c2
// CHECK:           %[[GE:.+]] = vector.extract %[[SUMS]]#0[0, 0]
// CHECK:           %[[UE:.+]] = vector.extract %[[SUMS]]#1[0, 0]
// CHECK:           %[[B:.+]] = memref.load %[[BIAS]][%[[T2]]]
// CHECK:           %[[GB:.+]] = arith.addf %[[GE]], %[[B]]
// CHECK:           %[[V:.+]] = arith.mulf %[[GB]], %[[UE]]
// CHECK:           scf.if
// CHECK:             memref.store %[[V]], %[[C]][%{{.+}}, %[[T2]]]
// CHECK-COUNT-3:   memref.store %{{.+}}, %[[C]]
// CHECK-NOT:       memref.store
// CHECK-NOT:       linalg.
// CHECK:           gpu.terminator
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
#e = affine_map<(m, n) -> (m, n)>
#b = affine_map<(m, n) -> (n)>
func.func @gated_tile(%x: memref<?x32xf32>, %wg: memref<8x32xbf16>,
                      %wu: memref<8x32xbf16>, %bias: memref<8xf32>,
                      %y: memref<?x8xf32>, %n: index) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %zero = arith.constant 0.0 : f32
  %gs = memref.alloc() : memref<16x8xf32>
  %us = memref.alloc() : memref<16x8xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %rows = affine.min affine_map<()[s0] -> (s0, 16)>()[%n]
    %a = memref.subview %x[0, 0] [%rows, 32] [1, 1]
        : memref<?x32xf32> to memref<?x32xf32, strided<[32, 1]>>
    %c = memref.subview %y[0, 0] [%rows, 8] [1, 1]
        : memref<?x8xf32> to memref<?x8xf32, strided<[8, 1]>>
    %g = memref.subview %gs[0, 0] [%rows, 8] [1, 1]
        : memref<16x8xf32> to memref<?x8xf32, strided<[8, 1]>>
    %u = memref.subview %us[0, 0] [%rows, 8] [1, 1]
        : memref<16x8xf32> to memref<?x8xf32, strided<[8, 1]>>
    linalg.fill ins(%zero : f32) outs(%g : memref<?x8xf32, strided<[8, 1]>>)
    linalg.fill ins(%zero : f32) outs(%u : memref<?x8xf32, strided<[8, 1]>>)
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %wg : memref<?x32xf32, strided<[32, 1]>>, memref<8x32xbf16>)
        outs(%g : memref<?x8xf32, strided<[8, 1]>>)
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
        ins(%a, %wu : memref<?x32xf32, strided<[32, 1]>>, memref<8x32xbf16>)
        outs(%u : memref<?x8xf32, strided<[8, 1]>>)
        attrs = {moe.segment_matmul, moe.warp_mma} {
    ^bb0(%in: f32, %wt: bf16, %acc: f32):
      %r = arith.truncf %in : f32 to bf16
      %re = arith.extf %r : bf16 to f32
      %we = arith.extf %wt : bf16 to f32
      %p = arith.mulf %re, %we : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
    linalg.generic {indexing_maps = [#e, #e, #b, #e],
                    iterator_types = ["parallel", "parallel"]}
        ins(%g, %u, %bias : memref<?x8xf32, strided<[8, 1]>>,
                            memref<?x8xf32, strided<[8, 1]>>, memref<8xf32>)
        outs(%c : memref<?x8xf32, strided<[8, 1]>>)
        attrs = {moe.segment_epilogue} {
    ^bb0(%gate: f32, %up: f32, %b: f32, %out: f32):
      %gb = arith.addf %gate, %b : f32
      %v = arith.mulf %gb, %up : f32
      linalg.yield %v : f32
    }
    gpu.terminator
  }
  return
}

// -----

// K = 24 (32 does not divide it) and a tile of fewer than 8 columns: the
// loads check K and the columns too, and so do the stores. 8 divides K, so
// a lane's group of 8 is inside K or past it: one check a step, the load
// clamped to start at K - 8 at most.

// CHECK-LABEL: func.func @ragged
// CHECK-SAME:    (%[[X:.+]]: memref<16x24xf32>,
// CHECK:         %[[COLS:.+]] = memref.dim %[[C:.+]], %c1
// CHECK:         %[[DEPTH:.+]] = memref.dim %[[X]], %c1
// CHECK:         %[[COL_IN:.+]] = arith.cmpi ult, %{{.+}}, %[[COLS]]
// CHECK:         %[[C0:.+]] = memref.load %[[C]]
// CHECK:         arith.select %[[COL_IN]], %[[C0]]
// CHECK:         scf.for %[[K0:.+]] = {{.+}} step %c32
// CHECK:           %[[START:.+]] = arith.addi %[[K0]], %{{.+}}
// CHECK:           %[[K_IN:.+]] = arith.cmpi ult, %[[START]], %[[DEPTH]]
// CHECK:           %[[LAST:.+]] = arith.subi %[[DEPTH]], %c8
// CHECK:           %[[K_AT:.+]] = arith.minui %[[START]], %[[LAST]]
// CHECK:           %[[A0:.+]] = vector.load %[[X]][%{{.+}}, %[[K_AT]]] {alignment = 16 : i64}
// CHECK:           arith.select %[[K_IN]], %[[A0]]
// CHECK:           %[[W0:.+]] = vector.load %{{.+}}[%{{.+}}, %[[K_AT]]] {alignment = 16 : i64} : memref<?x24xbf16, strided<[24, 1]>>, vector<8xbf16>
// CHECK:           %[[W_IN:.+]] = arith.andi %{{.+}}, %[[K_IN]]
// CHECK:           arith.select %[[W_IN]], %[[W0]]
// CHECK:           nvgpu.mma.sync
// CHECK:           nvgpu.mma.sync
// The stores check the columns again, computed after the loop.
// CHECK:         llvm.inline_asm has_side_effects "mov.u32 $0, %laneid;"
// CHECK:         %[[COL2_IN:.+]] = arith.cmpi ult, %{{.+}}, %[[COLS2:.+]] : index
// CHECK:         scf.if %[[COL2_IN]] {
// CHECK:           memref.store
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @ragged(%x: memref<16x24xf32>, %w: memref<8x24xbf16>,
                  %y: memref<16x8xf32>, %n: index) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %cols = affine.min affine_map<()[s0] -> (s0, 8)>()[%n]
    %b = memref.subview %w[0, 0] [%cols, 24] [1, 1]
        : memref<8x24xbf16> to memref<?x24xbf16, strided<[24, 1]>>
    %c = memref.subview %y[0, 0] [16, %cols] [1, 1]
        : memref<16x8xf32> to memref<16x?xf32, strided<[8, 1]>>
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %b : memref<16x24xf32>, memref<?x24xbf16, strided<[24, 1]>>)
        outs(%c : memref<16x?xf32, strided<[8, 1]>>)
        attrs = {moe.warp_mma} {
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

// K = 20: 8 does not divide it, so a group may straddle K and a row's
// groups are not 16-byte aligned. Each element is loaded by itself,
// checked against K, and only when a fragment takes it (a step's elements
// are not all live at once).

// CHECK-LABEL: func.func @unaligned_depth
// CHECK-SAME:    (%[[X:.+]]: memref<16x20xf32>, %[[W:.+]]: memref<8x20xbf16>,
// CHECK-NOT:     vector.load
// CHECK:         scf.for %[[K0:.+]] = {{.+}} step %c32
// CHECK:           %[[START:.+]] = arith.addi %[[K0]], %{{.+}}
// CHECK:           %[[IN0:.+]] = arith.cmpi ult, %[[START]], %{{.+}}
// CHECK:           %[[A0:.+]] = memref.load %[[X]]
// CHECK:           arith.select %[[IN0]], %[[A0]]
// CHECK:           %[[K1:.+]] = arith.addi %[[START]], %c1
// CHECK:           %[[IN1:.+]] = arith.cmpi ult, %[[K1]], %{{.+}}
// CHECK:           %[[A1:.+]] = memref.load %[[X]]
// CHECK:           arith.select %[[IN1]], %[[A1]]
// CHECK-COUNT-2:   memref.load %[[X]]
// CHECK-NOT:       memref.load %[[X]]
// CHECK:           %[[K2:.+]] = arith.addi %[[START]], %c2
// CHECK:           %[[IN2:.+]] = arith.cmpi ult, %[[K2]], %{{.+}}
// CHECK:           memref.load %[[X]]
// CHECK-COUNT-3:   memref.load %[[X]]
// CHECK:           %[[AF:.+]] = vector.from_elements {{.+}} : vector<4x2xbf16>
// CHECK-COUNT-4:   memref.load %[[W]]
// CHECK:           nvgpu.mma.sync(%[[AF]]
// Elements 4-7, for the second mma.sync, load after the first.
// CHECK-COUNT-8:   memref.load %[[X]]
// CHECK:           %[[AF1:.+]] = vector.from_elements {{.+}} : vector<4x2xbf16>
// CHECK-COUNT-4:   memref.load %[[W]]
// CHECK:           nvgpu.mma.sync(%[[AF1]]
// CHECK-NOT:       vector.load
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @unaligned_depth(%x: memref<16x20xf32>, %w: memref<8x20xbf16>,
                           %y: memref<16x8xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<16x20xf32>, memref<8x20xbf16>)
        outs(%y : memref<16x8xf32>)
        attrs = {moe.warp_mma} {
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

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @too_many_rows(%x: memref<48x16xf32>, %w: memref<8x16xbf16>,
                         %y: memref<48x8xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    // expected-error @+1 {{a moe.warp_mma tile must have at most 32 rows and 32 columns}}
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<48x16xf32>, memref<8x16xbf16>)
        outs(%y : memref<48x8xf32>) attrs = {moe.warp_mma} {
    ^bb0(%in: f32, %wt: bf16, %acc: f32):
      %we = arith.extf %wt : bf16 to f32
      %p = arith.mulf %in, %we : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
    gpu.terminator
  }
  return
}

// -----

// F16 weights: the same fragments, with the A elements rounded to f16 and
// an f16 mma.sync, which upstream's convert-nvgpu-to-nvvm lowers.

// CHECK-LABEL: func.func @f16_weights
// CHECK:         scf.for
// CHECK-COUNT-8:   arith.truncf %{{.+}} : f32 to f16
// CHECK:           %[[AF:.+]] = vector.from_elements {{.+}} : vector<4x2xf16>
// CHECK:           %[[BF:.+]] = vector.from_elements {{.+}} : vector<2x2xf16>
// CHECK:           nvgpu.mma.sync(%[[AF]], %[[BF]], %{{.+}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @f16_weights(%x: memref<16x16xf32>, %w: memref<8x16xf16>,
                       %y: memref<16x8xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<16x16xf32>, memref<8x16xf16>)
        outs(%y : memref<16x8xf32>) attrs = {moe.warp_mma} {
    ^bb0(%in: f32, %wt: f16, %acc: f32):
      %h = arith.truncf %in : f32 to f16
      %hx = arith.extf %h : f16 to f32
      %we = arith.extf %wt : f16 to f32
      %p = arith.mulf %hx, %we : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
    gpu.terminator
  }
  return
}

// -----

// F32 weights (moe-gpu-distribute marks them only with tf32=true): mma.sync
// m16n8k8 on tf32, whose fragments hold one element a register (g = lane
// / 4): a step over K (32) is four of them. A lane loads 8 consecutive
// elements of A's rows g and g + 8 and of W's row g from k0 + 8 (lane % 4);
// mma.sync m takes elements 2 m and 2 m + 1 of each (a0, a1 and b0 the
// first, a2, a3 and b1 the second), where PTX's layout has K columns q and
// q + 4: a permutation of K that A and W share. Each element is rounded to
// tf32 by cvt.rna.tf32.f32 (to nearest, ties away from zero), what the
// tile's body computes on the bits. K = 24: the last step's groups past K
// read zeros.

// CHECK-LABEL: func.func @tf32_weights
// CHECK-SAME:    (%[[X:.+]]: memref<16x24xf32>, %[[W:.+]]: memref<8x24xf32>,
// CHECK:           %[[LANE:.+]] = gpu.lane_id upper_bound 32
// CHECK:           %[[G:.+]] = arith.divui %[[LANE]], %c4
// CHECK:           %[[G8:.+]] = arith.addi %[[G]], %c8
// CHECK:           scf.for %[[K0:.+]] = %c0 to %{{.+}} step %c32{{.*}} iter_args
// CHECK:             %[[START:.+]] = arith.addi %[[K0]], %{{.+}}
// CHECK:             %[[K_IN:.+]] = arith.cmpi ult, %[[START]], %{{.+}}
// CHECK:             %[[K_AT:.+]] = arith.minui %[[START]], %{{.+}}
// CHECK:             %[[UV:.+]] = vector.load %[[X]][%[[G]], %[[K_AT]]] {alignment = 16 : i64} : memref<16x24xf32>, vector<8xf32>
// CHECK:             %[[UZ:.+]] = arith.select %[[K_IN]], %[[UV]]
// CHECK:             %[[U0:.+]] = vector.extract %[[UZ]][0]
// CHECK:             %[[U1:.+]] = vector.extract %[[UZ]][1]
// CHECK:             %[[BITS:.+]] = nvvm.convert.float.to.tf32 %[[U0]] {rnd = #nvvm.fp_rnd_mode<rna>}
// CHECK:             %[[R0:.+]] = arith.bitcast %[[BITS]] : i32 to f32
// CHECK:             vector.load %[[X]][%[[G8]], %[[K_AT]]]
// CHECK:             %[[L0:.+]] = vector.extract %[[LZ:.+]][0]
// CHECK:             %[[L1:.+]] = vector.extract %[[LZ]][1]
// CHECK:             nvvm.convert.float.to.tf32 %[[L0]]
// CHECK-NEXT:        %[[R1:.+]] = arith.bitcast
// CHECK:             nvvm.convert.float.to.tf32 %[[U1]]
// CHECK-NEXT:        %[[R2:.+]] = arith.bitcast
// CHECK:             nvvm.convert.float.to.tf32 %[[L1]]
// CHECK-NEXT:        %[[R3:.+]] = arith.bitcast
// CHECK:             %[[AF:.+]] = vector.from_elements %[[R0]], %[[R1]], %[[R2]], %[[R3]] : vector<4x1xf32>
// W's row g, rounded too.
// CHECK:             vector.load %[[W]][%[[G]], %[[K_AT]]] {alignment = 16 : i64} : memref<8x24xf32>, vector<8xf32>
// CHECK:             %[[W0:.+]] = vector.extract %[[WZ:.+]][0]
// CHECK:             %[[W1:.+]] = vector.extract %[[WZ]][1]
// CHECK:             nvvm.convert.float.to.tf32 %[[W0]]
// CHECK-NEXT:        %[[B0:.+]] = arith.bitcast
// CHECK:             nvvm.convert.float.to.tf32 %[[W1]]
// CHECK-NEXT:        %[[B1:.+]] = arith.bitcast
// CHECK:             %[[BF:.+]] = vector.from_elements %[[B0]], %[[B1]] : vector<2x1xf32>
// CHECK:             %[[D0:.+]] = nvgpu.mma.sync(%[[AF]], %[[BF]], %{{.+}}) {mmaShape = [16, 8, 8], tf32Enabled} : (vector<4x1xf32>, vector<2x1xf32>, vector<2x2xf32>) -> vector<2x2xf32>
// Elements 2-3, 4-5 and 6-7 of the same loads.
// CHECK-NOT:         vector.load
// CHECK:             %[[D1:.+]] = nvgpu.mma.sync(%{{.+}}, %{{.+}}, %[[D0]]) {mmaShape = [16, 8, 8], tf32Enabled}
// CHECK-NOT:         vector.load
// CHECK:             %[[D2:.+]] = nvgpu.mma.sync(%{{.+}}, %{{.+}}, %[[D1]]) {mmaShape = [16, 8, 8], tf32Enabled}
// CHECK-NOT:         vector.load
// CHECK:             %[[D3:.+]] = nvgpu.mma.sync(%{{.+}}, %{{.+}}, %[[D2]]) {mmaShape = [16, 8, 8], tf32Enabled}
// CHECK-NEXT:        scf.yield %[[D3]]
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @tf32_weights(%x: memref<16x24xf32>, %w: memref<8x24xf32>,
                        %y: memref<16x8xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<16x24xf32>, memref<8x24xf32>)
        outs(%y : memref<16x8xf32>) attrs = {moe.warp_mma} {
    ^bb0(%in: f32, %wt: f32, %acc: f32):
      %p = arith.mulf %in, %wt : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
    gpu.terminator
  }
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @f64_weights(%x: memref<16x16xf32>, %w: memref<8x16xf64>,
                       %y: memref<16x8xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    // expected-error @+1 {{a moe.warp_mma tile must compute C[m, n] += A[m, k] * W[n, k] on buffers, with f32 C, and bf16 or f16 W with f32 A or A of W's type, or f32 (tf32) A and W}}
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<16x16xf32>, memref<8x16xf64>)
        outs(%y : memref<16x8xf32>) attrs = {moe.warp_mma} {
    ^bb0(%in: f32, %wt: f64, %acc: f32):
      %wf = arith.truncf %wt : f64 to f32
      %p = arith.mulf %in, %wf : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
    gpu.terminator
  }
  return
}

// -----

// Narrowed activations must be of the weights' type.
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @f16_activations_bf16_weights(%x: memref<16x16xf16>,
                                        %w: memref<8x16xbf16>,
                                        %y: memref<16x8xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    // expected-error @+1 {{a moe.warp_mma tile must compute C[m, n] += A[m, k] * W[n, k] on buffers, with f32 C, and bf16 or f16 W with f32 A or A of W's type, or f32 (tf32) A and W}}
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<16x16xf16>, memref<8x16xbf16>)
        outs(%y : memref<16x8xf32>) attrs = {moe.warp_mma} {
    ^bb0(%in: f16, %wt: bf16, %acc: f32):
      %xf = arith.extf %in : f16 to f32
      %wf = arith.extf %wt : bf16 to f32
      %p = arith.mulf %xf, %wf : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
    gpu.terminator
  }
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @on_the_host(%x: memref<16x16xf32>, %w: memref<8x16xbf16>,
                       %y: memref<16x8xf32>) {
  // expected-error @+1 {{a moe.warp_mma tile must be inside a GPU kernel (after moe-gpu-form-launches)}}
  linalg.generic {indexing_maps = [#a, #w, #c],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<16x16xf32>, memref<8x16xbf16>)
      outs(%y : memref<16x8xf32>) attrs = {moe.warp_mma} {
  ^bb0(%in: f32, %wt: bf16, %acc: f32):
    %we = arith.extf %wt : bf16 to f32
    %p = arith.mulf %in, %we : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

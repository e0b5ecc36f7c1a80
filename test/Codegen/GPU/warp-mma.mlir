// RUN: moe-opt %s --moe-gpu-warp-mma --split-input-file --verify-diagnostics | FileCheck %s

// A warp tile of up to 16 rows (a segment's last rows), 8 columns and
// K = 32: two mma.sync m16n8k16 steps. Each lane loads the elements of the
// fragments PTX gives it (g = lane / 4, t = 2 * (lane % 4)): A at rows g
// and g + 8, columns k0 + t, t + 1, t + 8, t + 9, rounded to bf16; W (B
// transposed) at row g, the same columns; C at rows g and g + 8, columns t
// and t + 1. Rows past the tile's read zeros and are not stored; columns
// and K fill the tile, so they need no checks.

// CHECK-LABEL: func.func @tile
// CHECK-SAME:    (%[[X:.+]]: memref<?x32xf32>, %[[W:.+]]: memref<8x32xbf16>, %[[Y:.+]]: memref<?x8xf32>, %[[N:.+]]: index)
// CHECK:         gpu.launch
// CHECK:           %[[A:.+]] = memref.subview %[[X]]
// CHECK:           %[[C:.+]] = memref.subview %[[Y]]
// CHECK:           %[[ROWS:.+]] = memref.dim %[[C]], %c0
// CHECK:           %[[LANE:.+]] = gpu.lane_id upper_bound 32
// CHECK:           %[[G:.+]] = arith.divui %[[LANE]], %c4
// CHECK:           %[[Q:.+]] = arith.remui %[[LANE]], %c4
// CHECK:           %[[T:.+]] = arith.muli %[[Q]], %c2
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
// CHECK:           %[[SUM:.+]] = scf.for %[[K0:.+]] = %{{.+}} to %[[K]] step %c16 iter_args(%[[ACC:.+]] = %[[INIT]]) -> (vector<2x2xf32>) {
// CHECK:             %[[KL:.+]] = arith.addi %[[K0]], %[[T]]
// CHECK:             %[[KL1:.+]] = arith.addi %[[KL]], %c1
// CHECK:             %[[KH:.+]] = arith.addi %[[KL]], %c8
// CHECK:             %[[KH1:.+]] = arith.addi %[[KL]], %c9
// A's fragment: (g, k0 + t..t+1), (g + 8, ...), (g, k0 + t + 8..t+9), (g + 8, ...),
// each rounded to bf16.
// CHECK:             %[[A0:.+]] = memref.load %[[A]][%[[UP]], %[[KL]]]
// CHECK:             %[[A0S:.+]] = arith.select %[[UP_IN]], %[[A0]]
// CHECK:             %[[A0B:.+]] = arith.truncf %[[A0S]] : f32 to bf16
// CHECK:             memref.load %[[A]][%[[UP]], %[[KL1]]]
// CHECK:             %[[A1B:.+]] = arith.truncf
// CHECK:             memref.load %[[A]][%[[LO]], %[[KL]]]
// CHECK:             %[[A2B:.+]] = arith.truncf
// CHECK:             memref.load %[[A]][%[[LO]], %[[KL1]]]
// CHECK:             %[[A3B:.+]] = arith.truncf
// CHECK:             memref.load %[[A]][%[[UP]], %[[KH]]]
// CHECK:             %[[A4B:.+]] = arith.truncf
// CHECK:             memref.load %[[A]][%[[UP]], %[[KH1]]]
// CHECK:             %[[A5B:.+]] = arith.truncf
// CHECK:             memref.load %[[A]][%[[LO]], %[[KH]]]
// CHECK:             %[[A6B:.+]] = arith.truncf
// CHECK:             memref.load %[[A]][%[[LO]], %[[KH1]]]
// CHECK:             %[[A7B:.+]] = arith.truncf
// CHECK:             %[[AF:.+]] = vector.from_elements %[[A0B]], %[[A1B]], %[[A2B]], %[[A3B]], %[[A4B]], %[[A5B]], %[[A6B]], %[[A7B]] : vector<4x2xbf16>
// B's fragment (B[k, n] = W[n, k]): (k0 + t..t+1, g), (k0 + t + 8..t+9, g).
// The tile has all 8 columns, so W's row g needs no check.
// CHECK:             %[[W0:.+]] = memref.load %[[W]][%[[G]], %[[KL]]] : memref<8x32xbf16>
// CHECK:             %[[W1:.+]] = memref.load %[[W]][%[[G]], %[[KL1]]] : memref<8x32xbf16>
// CHECK:             %[[W2:.+]] = memref.load %[[W]][%[[G]], %[[KH]]] : memref<8x32xbf16>
// CHECK:             %[[W3:.+]] = memref.load %[[W]][%[[G]], %[[KH1]]] : memref<8x32xbf16>
// CHECK:             %[[BF:.+]] = vector.from_elements %[[W0]], %[[W1]], %[[W2]], %[[W3]] : vector<2x2xbf16>
// CHECK:             %[[D:.+]] = nvgpu.mma.sync(%[[AF]], %[[BF]], %[[ACC]]) {mmaShape = [16, 8, 16]} : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK:             scf.yield %[[D]]
// CHECK:           }
// Stored back where C's fragment came from, inside the tile only.
// CHECK:           %[[D0:.+]] = vector.extract %[[SUM]][0, 0]
// CHECK:           scf.if %[[UP_IN]] {
// CHECK:             memref.store %[[D0]], %[[C]][%[[UP]], %[[T]]]
// CHECK:           }
// CHECK:           %[[D1:.+]] = vector.extract %[[SUM]][0, 1]
// CHECK:           scf.if %[[UP_IN]] {
// CHECK:             memref.store %[[D1]], %[[C]][%[[UP]], %[[T1]]]
// CHECK:           %[[D2:.+]] = vector.extract %[[SUM]][1, 0]
// CHECK:           scf.if %[[LO_IN]] {
// CHECK:             memref.store %[[D2]], %[[C]][%[[LO]], %[[T]]]
// CHECK:           %[[D3:.+]] = vector.extract %[[SUM]][1, 1]
// CHECK:           scf.if %[[LO_IN]] {
// CHECK:             memref.store %[[D3]], %[[C]][%[[LO]], %[[T1]]]
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

// A whole warp tile, 32 x 32: 2 x 4 mma.sync tiles. Each step over K loads
// two A fragments (rows 0-15 and 16-31) and four W fragments (W's rows g,
// g + 8, g + 16, g + 24: the tile's columns), and each W fragment serves
// the two mma.syncs of its column of tiles, each A fragment the four of its
// row: 8 mma.syncs for 6 fragments. The tile fills its buffers, so no
// loads or stores are checked.

// CHECK-LABEL: func.func @warp_tile
// CHECK-SAME:    (%[[X:.+]]: memref<32x32xf32>, %[[W:.+]]: memref<32x32xbf16>, %[[Y:.+]]: memref<32x32xf32>)
// CHECK:           %[[G:.+]] = arith.divui %{{.+}}, %c4
// CHECK:           %[[SUMS:.+]]:8 = scf.for
// CHECK:             %[[A0:.+]] = vector.from_elements {{.+}} : vector<4x2xbf16>
// CHECK:             %[[A1:.+]] = vector.from_elements {{.+}} : vector<4x2xbf16>
// CHECK:             memref.load %[[W]][%[[G]],
// CHECK:             %[[B0:.+]] = vector.from_elements {{.+}} : vector<2x2xbf16>
// CHECK-NEXT:        nvgpu.mma.sync(%[[A0]], %[[B0]], %{{.+}})
// CHECK-NEXT:        nvgpu.mma.sync(%[[A1]], %[[B0]], %{{.+}})
// CHECK:             %[[B1:.+]] = vector.from_elements {{.+}} : vector<2x2xbf16>
// CHECK-NEXT:        nvgpu.mma.sync(%[[A0]], %[[B1]], %{{.+}})
// CHECK-NEXT:        nvgpu.mma.sync(%[[A1]], %[[B1]], %{{.+}})
// CHECK:             %[[B2:.+]] = vector.from_elements {{.+}} : vector<2x2xbf16>
// CHECK-NEXT:        nvgpu.mma.sync(%[[A0]], %[[B2]], %{{.+}})
// CHECK-NEXT:        nvgpu.mma.sync(%[[A1]], %[[B2]], %{{.+}})
// CHECK:             %[[B3:.+]] = vector.from_elements {{.+}} : vector<2x2xbf16>
// CHECK-NEXT:        nvgpu.mma.sync(%[[A0]], %[[B3]], %{{.+}})
// CHECK-NEXT:        nvgpu.mma.sync(%[[A1]], %[[B3]], %{{.+}})
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
// CHECK:             memref.load %[[WG]]
// CHECK:             %[[GF:.+]] = vector.from_elements {{.+}} : vector<2x2xbf16>
// CHECK:             %[[GD:.+]] = nvgpu.mma.sync(%[[AF]], %[[GF]], %[[GACC]])
// CHECK:             memref.load %[[WU]]
// CHECK:             %[[UF:.+]] = vector.from_elements {{.+}} : vector<2x2xbf16>
// CHECK:             %[[UD:.+]] = nvgpu.mma.sync(%[[AF]], %[[UF]], %[[UACC]])
// CHECK:             scf.yield %[[GD]], %[[UD]]
// CHECK:           }
// Element (g, t): act = (gate + bias[t]) * up, stored to C only.
// CHECK:           %[[GE:.+]] = vector.extract %[[SUMS]]#0[0, 0]
// CHECK:           %[[UE:.+]] = vector.extract %[[SUMS]]#1[0, 0]
// CHECK:           %[[B:.+]] = memref.load %[[BIAS]][%[[T]]]
// CHECK:           %[[GB:.+]] = arith.addf %[[GE]], %[[B]]
// CHECK:           %[[V:.+]] = arith.mulf %[[GB]], %[[UE]]
// CHECK:           scf.if
// CHECK:             memref.store %[[V]], %[[C]][%{{.+}}, %[[T]]]
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

// K = 24 (16 does not divide it) and a tile of fewer than 8 columns: the
// loads check K and the columns too, and so do the stores.

// CHECK-LABEL: func.func @ragged
// CHECK-SAME:    (%[[X:.+]]: memref<16x24xf32>,
// CHECK:         %[[COLS:.+]] = memref.dim %[[C:.+]], %c1
// CHECK:         %[[DEPTH:.+]] = memref.dim %[[X]], %c1
// CHECK:         %[[COL_IN:.+]] = arith.cmpi ult, %{{.+}}, %[[COLS]]
// CHECK:         %[[C0:.+]] = memref.load %[[C]]
// CHECK:         arith.select %[[COL_IN]], %[[C0]]
// CHECK:         scf.for
// CHECK:           %[[K_IN:.+]] = arith.cmpi ult, %{{.+}}, %[[DEPTH]]
// CHECK:           %[[A0:.+]] = memref.load %[[X]]
// CHECK:           arith.select %[[K_IN]], %[[A0]]
// CHECK:           %[[W0:.+]] = memref.load %{{.+}} : memref<?x24xbf16, strided<[24, 1]>>
// CHECK:           %[[W_IN:.+]] = arith.andi %{{.+}}, %[[K_IN]]
// CHECK:           arith.select %[[W_IN]], %[[W0]]
// CHECK:           nvgpu.mma.sync
// CHECK:         scf.if %[[COL_IN]] {
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
// / 4, q = lane % 4): A at rows g and g + 8, columns k0 + q and k0 + q + 4;
// W at row g, the same columns. Both are rounded to tf32 by cvt.rna.tf32.f32
// (to nearest, ties away from zero), what the tile's body computes on the
// bits. K = 12 is not a multiple of 8: columns past it read zeros.

// CHECK-LABEL: func.func @tf32_weights
// CHECK-SAME:    (%[[X:.+]]: memref<16x12xf32>, %[[W:.+]]: memref<8x12xf32>,
// CHECK:           %[[DEPTH:.+]] = memref.dim %[[X]], %c1
// CHECK:           %[[LANE:.+]] = gpu.lane_id upper_bound 32
// CHECK:           %[[G:.+]] = arith.divui %[[LANE]], %c4
// CHECK:           %[[Q:.+]] = arith.remui %[[LANE]], %c4
// CHECK:           %[[G8:.+]] = arith.addi %[[G]], %c8
// CHECK:           scf.for %[[K0:.+]] = %c0 to %{{.+}} step %c8{{.*}} iter_args
// CHECK:             %[[K:.+]] = arith.addi %[[K0]], %[[Q]]
// CHECK:             %[[K_IN:.+]] = arith.cmpi ult, %[[K]], %[[DEPTH]]
// CHECK:             %[[K_AT:.+]] = arith.minui %[[K]], %{{.+}}
// CHECK:             %[[K4:.+]] = arith.addi %[[K]], %c4
// CHECK:             %[[K4_IN:.+]] = arith.cmpi ult, %[[K4]], %[[DEPTH]]
// CHECK:             %[[K4_AT:.+]] = arith.minui %[[K4]], %{{.+}}
// a0 = A(g, k0 + q), rounded to tf32.
// CHECK:             %[[A0:.+]] = memref.load %[[X]][%[[G]], %[[K_AT]]]
// CHECK:             %[[A0Z:.+]] = arith.select %[[K_IN]], %[[A0]], %{{.+}} : f32
// CHECK:             %[[BITS:.+]] = nvvm.convert.float.to.tf32 %[[A0Z]] {rnd = #nvvm.fp_rnd_mode<rna>}
// CHECK:             %[[R0:.+]] = arith.bitcast %[[BITS]] : i32 to f32
// a1 = A(g + 8, k0 + q), a2 = A(g, k0 + q + 4), a3 = A(g + 8, k0 + q + 4).
// CHECK:             memref.load %[[X]][%[[G8]], %[[K_AT]]]
// CHECK:             nvvm.convert.float.to.tf32 {{.+}} {rnd = #nvvm.fp_rnd_mode<rna>}
// CHECK-NEXT:        %[[R1:.+]] = arith.bitcast
// CHECK:             memref.load %[[X]][%[[G]], %[[K4_AT]]]
// CHECK:             nvvm.convert.float.to.tf32 {{.+}} {rnd = #nvvm.fp_rnd_mode<rna>}
// CHECK-NEXT:        %[[R2:.+]] = arith.bitcast
// CHECK:             memref.load %[[X]][%[[G8]], %[[K4_AT]]]
// CHECK:             nvvm.convert.float.to.tf32 {{.+}} {rnd = #nvvm.fp_rnd_mode<rna>}
// CHECK-NEXT:        %[[R3:.+]] = arith.bitcast
// CHECK:             %[[AF:.+]] = vector.from_elements %[[R0]], %[[R1]], %[[R2]], %[[R3]] : vector<4x1xf32>
// b0 = W(g, k0 + q), b1 = W(g, k0 + q + 4), rounded too.
// CHECK:             memref.load %[[W]][%[[G]], %[[K_AT]]]
// CHECK:             nvvm.convert.float.to.tf32 {{.+}} {rnd = #nvvm.fp_rnd_mode<rna>}
// CHECK-NEXT:        %[[B0:.+]] = arith.bitcast
// CHECK:             memref.load %[[W]][%[[G]], %[[K4_AT]]]
// CHECK:             nvvm.convert.float.to.tf32 {{.+}} {rnd = #nvvm.fp_rnd_mode<rna>}
// CHECK-NEXT:        %[[B1:.+]] = arith.bitcast
// CHECK:             %[[BF:.+]] = vector.from_elements %[[B0]], %[[B1]] : vector<2x1xf32>
// CHECK:             nvgpu.mma.sync(%[[AF]], %[[BF]], %{{.+}}) {mmaShape = [16, 8, 8], tf32Enabled} : (vector<4x1xf32>, vector<2x1xf32>, vector<2x2xf32>) -> vector<2x2xf32>
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @tf32_weights(%x: memref<16x12xf32>, %w: memref<8x12xf32>,
                        %y: memref<16x8xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    linalg.generic {indexing_maps = [#a, #w, #c],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<16x12xf32>, memref<8x12xf32>)
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
    // expected-error @+1 {{a moe.warp_mma tile must compute C[m, n] += A[m, k] * W[n, k] on buffers, with f32 A and C and bf16, f16 or f32 (tf32) W}}
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

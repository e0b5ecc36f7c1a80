// RUN: moe-opt %s --split-input-file --moe-cpu-tile-and-vectorize=amx-tiles --canonicalize | FileCheck %s
// RUN: moe-opt %s --split-input-file --moe-cpu-tile-and-vectorize=amx-tiles --canonicalize --cse --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --canonicalize --cse --convert-vector-to-amx | FileCheck %s --check-prefix=AMX

// A pair-layout segment contraction C[m, b, n] += A[m, k, p] W[b, k, n, p]
// whose K (512) is whole AMX tiles: one forall iteration per panel of 32
// columns, K blocks of 128 pairs, full blocks of 16 rows whose k loop, in
// steps of 16 pairs, runs both 16 x 16 tiles of the panel's C, unrolled:
// one contraction in upstream's VNNI form a tile, on C as it lies in the
// tensor (no vector accumulator carried by the loop), the two reading the
// same A. The remainder rows keep the single-row dot products.

// CHECK-DAG: #[[$A:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[$B:.*]] = affine_map<(d0, d1, d2, d3) -> (d2, d1, d3)>
// CHECK-DAG: #[[$C:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// CHECK-LABEL: func @segment_amx
// CHECK:       scf.forall (%{{.*}}) in (2)
// CHECK:         scf.for %{{.*}} = %c0 to %c256 step %c128 iter_args
// CHECK:           scf.for %{{.*}} step %c16 iter_args
// CHECK:             scf.for %{{.*}} = %c0 to %c128 step %c16 iter_args(%{{.*}} = %{{.*}}) -> (tensor<16x1x32xf32>)
// CHECK:               %[[ROWS:.*]] = tensor.extract_slice {{.*}} to tensor<16x16x2xbf16>
// CHECK:               %[[A0:.*]] = vector.transfer_read %[[ROWS]]{{.*}} : tensor<16x16x2xbf16>, vector<16x16x2xbf16>
// CHECK:               vector.transfer_read {{.*}} : tensor<16x16x2xbf16>, vector<16x16x2xbf16>
// CHECK:               vector.transfer_read {{.*}} : tensor<16x16xf32>, vector<16x16xf32>
// CHECK:               vector.contract {indexing_maps = [#[[$A]], #[[$B]], #[[$C]]], iterator_types = ["parallel", "parallel", "reduction", "reduction"], kind = #vector.kind<add>} %[[A0]], {{.*}} : vector<16x16x2xbf16>, vector<16x16x2xbf16> into vector<16x16xf32>
// CHECK:               vector.transfer_write {{.*}} : vector<16x16xf32>, tensor<16x16xf32>
// CHECK:               %[[A1:.*]] = vector.transfer_read %[[ROWS]]{{.*}} : tensor<16x16x2xbf16>, vector<16x16x2xbf16>
// CHECK:               vector.contract {{.*}} %[[A1]], {{.*}} : vector<16x16x2xbf16>, vector<16x16x2xbf16> into vector<16x16xf32>
// CHECK:               vector.transfer_write {{.*}} : vector<16x16xf32>, tensor<16x16xf32>
// CHECK-NOT:           vector.contract
// CHECK:           scf.for %{{.*}} step %c16 iter_args
// CHECK:             scf.for %{{.*}} step %c1 iter_args
// CHECK:               scf.for {{.*}} -> (vector<1x1x16xf32>, vector<1x1x16xf32>)
// CHECK-COUNT-2:         x86vector.avx512.dot
// CHECK-NOT:   vector.contract

// After bufferization, upstream's convert-vector-to-amx loads both operand
// tiles and the accumulator tile straight from memory (with the rows'
// strides: A's K of 512 bf16, W's panel of 32 pairs, C's two panels of 32
// f32) and stores the product back: no stack buffer.
// AMX-LABEL: func @segment_amx
// AMX-NOT:     memref.alloca
// AMX:         amx.tile_load %{{.*}} : memref<16x32xbf16, strided<[512, 1], offset: ?>> into !amx.tile<16x32xbf16>
// AMX:         amx.tile_load %{{.*}} : memref<16x32xbf16, strided<[64, 1], offset: ?>> into !amx.tile<16x32xbf16>
// AMX:         amx.tile_load %{{.*}} : memref<16x16xf32, strided<[64, 1], offset: ?>> into !amx.tile<16x16xf32>
// AMX:         amx.tile_mulf
// AMX:         amx.tile_store %{{.*}} : memref<16x16xf32, strided<[64, 1], offset: ?>>, !amx.tile<16x16xf32>
// AMX:         amx.tile_mulf
// AMX:         amx.tile_store
// AMX-NOT:     memref.alloca
// AMX-NOT:     vector.contract

#mapA = affine_map<(m, b, n, k, p) -> (m, k, p)>
#mapW = affine_map<(m, b, n, k, p) -> (b, k, n, p)>
#mapC = affine_map<(m, b, n, k, p) -> (m, b, n)>
func.func @segment_amx(%a: tensor<?x256x2xbf16>, %w: tensor<2x256x32x2xbf16>,
                       %c: tensor<?x2x32xf32>) -> tensor<?x2x32xf32> {
  %0 = linalg.generic {indexing_maps = [#mapA, #mapW, #mapC],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}
         ins(%a, %w : tensor<?x256x2xbf16>, tensor<2x256x32x2xbf16>) outs(%c : tensor<?x2x32xf32>)
         attrs = {moe.segment_matmul} {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x2x32xf32>
  return %0 : tensor<?x2x32xf32>
}

// -----

// K = 48 (24 pairs) is not whole AMX tiles: the contraction keeps the
// AVX-512 BF16 schedule, 8-row tiles of dot products.

// CHECK-LABEL: func @segment_partial_tiles
// CHECK-NOT:   vector<16x16x2xbf16>
// CHECK:       x86vector.avx512.dot
// CHECK-NOT:   vector.contract
// AMX-LABEL: func @segment_partial_tiles
// AMX-NOT:     amx.
#mapA = affine_map<(m, b, n, k, p) -> (m, k, p)>
#mapW = affine_map<(m, b, n, k, p) -> (b, k, n, p)>
#mapC = affine_map<(m, b, n, k, p) -> (m, b, n)>
func.func @segment_partial_tiles(%a: tensor<?x24x2xbf16>, %w: tensor<2x24x32x2xbf16>,
                                 %c: tensor<?x2x32xf32>) -> tensor<?x2x32xf32> {
  %0 = linalg.generic {indexing_maps = [#mapA, #mapW, #mapC],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}
         ins(%a, %w : tensor<?x24x2xbf16>, tensor<2x24x32x2xbf16>) outs(%c : tensor<?x2x32xf32>)
         attrs = {moe.segment_matmul} {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x2x32xf32>
  return %0 : tensor<?x2x32xf32>
}

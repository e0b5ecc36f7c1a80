// RUN: moe-opt %s --moe-cpu-tile-and-vectorize --canonicalize | FileCheck %s
// RUN: moe-opt %s --moe-cpu-tile-and-vectorize="parallel-panels=false" --canonicalize | FileCheck %s --check-prefix=SERIAL
// RUN: moe-opt %s --moe-cpu-tile-and-vectorize --canonicalize | FileCheck %s --check-prefix=WIDEN

// An expert segment contraction C[m, n] += A[m, k] W[k, n] with dynamic rows:
// N panels of 32 (a forall, for threads), K blocks of 256, 8-row register
// tiles of vector.fma with the accumulator carried in registers across k,
// and single rows for the remainder.

// CHECK-LABEL: func @segment
// CHECK:       scf.forall (%{{.*}}) in (4)
// CHECK:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK:           %[[ACC:.*]] = vector.transfer_read {{.*}} : tensor<8x32xf32>, vector<8x32xf32>
// CHECK:           scf.for {{.*}} iter_args(%{{.*}} = %[[ACC]]) -> (vector<8x32xf32>)
// CHECK-COUNT-8:     vector.fma {{.*}} : vector<32xf32>
// CHECK:           vector.transfer_write
// CHECK:         scf.for
// CHECK:           scf.for {{.*}} -> (vector<{{(1x)?}}32xf32>)
// CHECK:             vector.fma {{.*}} : vector<32xf32>

// SERIAL-LABEL: func @segment
// SERIAL-NOT:   scf.forall
// SERIAL:       vector.fma

// A contraction that is not tagged keeps its loops.
// CHECK-LABEL: func @untagged
// CHECK:       linalg.generic
// CHECK-NOT:   vector.
#mapA = affine_map<(m, n, k) -> (m, k)>
#mapW = affine_map<(m, n, k) -> (k, n)>
#mapC = affine_map<(m, n, k) -> (m, n)>
func.func @segment(%a: tensor<?x512xf32>, %w: tensor<512x128xf32>, %c: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %0 = linalg.generic {indexing_maps = [#mapA, #mapW, #mapC], iterator_types = ["parallel", "parallel", "reduction"]}
         ins(%a, %w : tensor<?x512xf32>, tensor<512x128xf32>) outs(%c : tensor<?x128xf32>) attrs = {moe.segment_matmul} {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x128xf32>
  return %0 : tensor<?x128xf32>
}
func.func @untagged(%a: tensor<?x512xf32>, %w: tensor<512x128xf32>, %c: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %0 = linalg.generic {indexing_maps = [#mapA, #mapW, #mapC], iterator_types = ["parallel", "parallel", "reduction"]}
         ins(%a, %w : tensor<?x512xf32>, tensor<512x128xf32>) outs(%c : tensor<?x128xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x128xf32>
  return %0 : tensor<?x128xf32>
}

// BF16 weights are widened once per loaded vector of 32, in both the 8-row
// tiles and the single-row remainder (the decode path), not once per row
// of a broadcast [8, 32, 1] or [32, 1] vector.
// CHECK-LABEL: func @segment_bf16
// CHECK:         scf.for {{.*}} -> (vector<8x32xf32>)
// CHECK:           %[[W8:.*]] = vector.shape_cast {{.*}} : vector<1x32xbf16> to vector<32xbf16>
// CHECK:           arith.extf %[[W8]] : vector<32xbf16> to vector<32xf32>
// CHECK-COUNT-8:   vector.fma {{.*}} : vector<32xf32>
// CHECK:         scf.for {{.*}} -> (vector<{{(1x)?}}32xf32>)
// CHECK:           %[[W1:.*]] = vector.shape_cast {{.*}} : vector<1x32xbf16> to vector<32xbf16>
// CHECK:           arith.extf %[[W1]] : vector<32xbf16> to vector<32xf32>
// CHECK:           vector.fma {{.*}} : vector<32xf32>
// Nowhere is a multi-dimensional bf16 vector widened.
// WIDEN-NOT:     arith.extf {{.*}} : vector<{{[0-9]+(x[0-9]+)+}}xbf16>
func.func @segment_bf16(%a: tensor<?x512xf32>, %w: tensor<512x128xbf16>, %c: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %0 = linalg.generic {indexing_maps = [#mapA, #mapW, #mapC], iterator_types = ["parallel", "parallel", "reduction"]}
         ins(%a, %w : tensor<?x512xf32>, tensor<512x128xbf16>) outs(%c : tensor<?x128xf32>) attrs = {moe.segment_matmul} {
  ^bb0(%x: f32, %y: bf16, %acc: f32):
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %x, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x128xf32>
  return %0 : tensor<?x128xf32>
}

// The panel form C[m, b, n] += A[m, k] W[b, k, n] (weights laid out by
// moe-cpu-prepare-expert-weights): one forall iteration per panel of 32
// columns and the same register tiles, each BF16 weight row widened once.
// CHECK-LABEL: func @segment_panels
// CHECK:       scf.forall (%{{.*}}) in (4)
// CHECK:         scf.for {{.*}} -> (vector<8x1x32xf32>)
// CHECK:           arith.extf %{{.*}} : vector<32xbf16> to vector<32xf32>
// CHECK-COUNT-8:   vector.fma {{.*}} : vector<32xf32>
// CHECK:         scf.for {{.*}} -> (vector<{{(1x)*}}32xf32>)
// CHECK:           vector.fma {{.*}} : vector<32xf32>
#mapPA = affine_map<(m, b, n, k) -> (m, k)>
#mapPW = affine_map<(m, b, n, k) -> (b, k, n)>
#mapPC = affine_map<(m, b, n, k) -> (m, b, n)>
func.func @segment_panels(%a: tensor<?x512xf32>, %w: tensor<4x512x32xbf16>, %c: tensor<?x4x32xf32>) -> tensor<?x4x32xf32> {
  %0 = linalg.generic {indexing_maps = [#mapPA, #mapPW, #mapPC], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
         ins(%a, %w : tensor<?x512xf32>, tensor<4x512x32xbf16>) outs(%c : tensor<?x4x32xf32>) attrs = {moe.segment_matmul} {
  ^bb0(%x: f32, %y: bf16, %acc: f32):
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %x, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x4x32xf32>
  return %0 : tensor<?x4x32xf32>
}

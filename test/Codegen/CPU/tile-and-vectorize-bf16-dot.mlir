// RUN: moe-opt %s --moe-cpu-tile-and-vectorize --canonicalize | FileCheck %s

// A pair-layout (pair_panels) segment contraction C[m, b, n] += A[m, k, p]
// W[b, k, n, p]: one forall iteration per panel of 32 columns, 8-row tiles
// whose k loop carries 8 x 2 accumulators of 16 lanes and issues one AVX-512
// BF16 dot product per accumulator and pair of k (the A pair broadcast as one
// i32, the W row of the panel read as 32 bf16), and single rows for the
// remainder. No vector.contract is left.

// CHECK-LABEL: func @segment_vnni
// CHECK:       scf.forall (%{{.*}}) in (2)
// CHECK:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK:           %{{.*}}:16 = scf.for {{.*}} -> (vector<{{(1x1x)?}}16xf32>
// CHECK:             vector.bitcast %{{.*}} : vector<2xbf16> to vector<1xi32>
// CHECK:             vector.broadcast %{{.*}} : vector<1xi32> to vector<16xi32>
// CHECK-COUNT-16:    x86vector.avx512.dot %{{.*}} : vector<32xbf16> -> vector<16xf32>
// CHECK:         scf.for
// CHECK:           %{{.*}}:2 = scf.for {{.*}} -> (vector<{{(1x1x)?}}16xf32>, vector<{{(1x1x)?}}16xf32>)
// CHECK-COUNT-2:     x86vector.avx512.dot
// CHECK-NOT:   vector.contract
#mapA = affine_map<(m, b, n, k, p) -> (m, k, p)>
#mapW = affine_map<(m, b, n, k, p) -> (b, k, n, p)>
#mapC = affine_map<(m, b, n, k, p) -> (m, b, n)>
func.func @segment_vnni(%a: tensor<?x256x2xbf16>, %w: tensor<2x256x32x2xbf16>,
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

// RUN: moe-opt %s --split-input-file --moe-cpu-lower-vnni-contractions | FileCheck %s

// An AMX-shaped contraction C[m, n] += A[m, k, p] B[k, n, p] becomes a
// matmul of f32 operands over 2k + p, lowered to 32 outer products: each
// k's [n, p] slice of B transposed to [p, n] (one shuffle), and 16 FMAs of
// a broadcast element of A's column by a row of B' per outer product.

// CHECK-LABEL: func @vnni
// CHECK-SAME:    (%[[A:.*]]: vector<16x16x2xbf16>, %[[B:.*]]: vector<16x16x2xbf16>, %[[C:.*]]: vector<16x16xf32>)
// CHECK-DAG:     arith.extf %[[A]] : vector<16x16x2xbf16> to vector<16x16x2xf32>
// CHECK-DAG:     %[[BF:.*]] = arith.extf %[[B]] : vector<16x16x2xbf16> to vector<16x16x2xf32>
// CHECK:         %[[B0:.*]] = vector.extract %[[BF]][0] : vector<16x2xf32> from vector<16x16x2xf32>
// CHECK:         %[[B0F:.*]] = vector.shape_cast %[[B0]] : vector<16x2xf32> to vector<32xf32>
// CHECK:         vector.shuffle %[[B0F]], %[[B0F]] [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31]
// CHECK-COUNT-15: vector.shuffle
// CHECK-COUNT-512: vector.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK-NOT:     vector.fma
// CHECK-NOT:     vector.contract
// CHECK:         return
func.func @vnni(%a: vector<16x16x2xbf16>, %b: vector<16x16x2xbf16>,
                %c: vector<16x16xf32>) -> vector<16x16xf32> {
  %0 = vector.contract {
         indexing_maps = [affine_map<(m, n, k, p) -> (m, k, p)>,
                          affine_map<(m, n, k, p) -> (k, n, p)>,
                          affine_map<(m, n, k, p) -> (m, n)>],
         iterator_types = ["parallel", "parallel", "reduction", "reduction"],
         kind = #vector.kind<add>} %a, %b, %c
       : vector<16x16x2xbf16>, vector<16x16x2xbf16> into vector<16x16xf32>
  return %0 : vector<16x16xf32>
}

// -----

// B in another layout ([n, k, p]) is not the VNNI form: left alone.

// CHECK-LABEL: func @not_vnni
// CHECK:         vector.contract {{.*}} : vector<16x16x2xbf16>, vector<16x16x2xbf16> into vector<16x16xf32>
// CHECK-NOT:     vector.transpose
func.func @not_vnni(%a: vector<16x16x2xbf16>, %b: vector<16x16x2xbf16>,
                    %c: vector<16x16xf32>) -> vector<16x16xf32> {
  %0 = vector.contract {
         indexing_maps = [affine_map<(m, n, k, p) -> (m, k, p)>,
                          affine_map<(m, n, k, p) -> (n, k, p)>,
                          affine_map<(m, n, k, p) -> (m, n)>],
         iterator_types = ["parallel", "parallel", "reduction", "reduction"],
         kind = #vector.kind<add>} %a, %b, %c
       : vector<16x16x2xbf16>, vector<16x16x2xbf16> into vector<16x16xf32>
  return %0 : vector<16x16xf32>
}

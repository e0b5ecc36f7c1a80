// RUN: moe-opt %s --split-input-file --moe-cpu-lower-vnni-contractions | FileCheck %s

// An AMX-shaped contraction C[m, n] += A[m, k, p] B[k, n, p] becomes a
// matmul of f32 operands over 2k + p: A as it lies, B transposed to
// [k, p, n] first.

// CHECK-DAG: #[[$MA:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[$MB:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG: #[[$MC:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func @vnni
// CHECK-SAME:    (%[[A:.*]]: vector<16x16x2xbf16>, %[[B:.*]]: vector<16x16x2xbf16>, %[[C:.*]]: vector<16x16xf32>)
// CHECK:         %[[AF:.*]] = arith.extf %[[A]] : vector<16x16x2xbf16> to vector<16x16x2xf32>
// CHECK:         %[[A2:.*]] = vector.shape_cast %[[AF]] : vector<16x16x2xf32> to vector<16x32xf32>
// CHECK:         %[[BF:.*]] = arith.extf %[[B]] : vector<16x16x2xbf16> to vector<16x16x2xf32>
// CHECK:         %[[BT:.*]] = vector.transpose %[[BF]], [0, 2, 1] : vector<16x16x2xf32> to vector<16x2x16xf32>
// CHECK:         %[[B2:.*]] = vector.shape_cast %[[BT]] : vector<16x2x16xf32> to vector<32x16xf32>
// CHECK:         %[[R:.*]] = vector.contract {indexing_maps = [#[[$MA]], #[[$MB]], #[[$MC]]], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %[[A2]], %[[B2]], %[[C]] : vector<16x32xf32>, vector<32x16xf32> into vector<16x16xf32>
// CHECK:         return %[[R]]
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

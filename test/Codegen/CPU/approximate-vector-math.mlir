// RUN: moe-opt %s --moe-cpu-approximate-vector-math | FileCheck %s

// exp, erf and tanh on vectors become polynomial approximations in vector
// arithmetic; on scalars they stay libm calls-to-be.

// CHECK-LABEL: func @vector_math
// CHECK-NOT:   math.exp {{.*}} : vector
// CHECK-NOT:   math.erf
// CHECK-NOT:   math.tanh
// CHECK:       math.fma {{.*}} : vector<8x16xf32>
// CHECK:       return
func.func @vector_math(%x: vector<8x16xf32>) -> (vector<8x16xf32>, vector<8x16xf32>, vector<8x16xf32>) {
  %0 = math.exp %x : vector<8x16xf32>
  %1 = math.erf %x : vector<8x16xf32>
  %2 = math.tanh %x : vector<8x16xf32>
  return %0, %1, %2 : vector<8x16xf32>, vector<8x16xf32>, vector<8x16xf32>
}

// CHECK-LABEL: func @scalar_math
// CHECK:       math.exp %{{.*}} : f32
// CHECK:       math.erf %{{.*}} : f32
// CHECK:       math.tanh %{{.*}} : f32
func.func @scalar_math(%x: f32) -> (f32, f32, f32) {
  %0 = math.exp %x : f32
  %1 = math.erf %x : f32
  %2 = math.tanh %x : f32
  return %0, %1, %2 : f32, f32, f32
}

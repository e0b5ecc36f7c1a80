// RUN: moe-opt %s --moe-decompose-expert-ffn --split-input-file | FileCheck %s

// Gated SiLU: gate and up projections from zero, moe.gated_activation of
// the two, then the down projection accumulates into the op's outs.

// CHECK-LABEL: func @gated_silu
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[OFF:[a-z0-9]+]]: tensor<9xi32>, %[[WG:[a-z0-9]+]]: tensor<8x128x64xf32>, %[[WU:[a-z0-9]+]]: tensor<8x128x64xf32>, %[[WD:[a-z0-9]+]]: tensor<8x64x128xf32>, %[[ACC:[a-z0-9]+]]: tensor<?x64xf32>
// CHECK-DAG:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:   %[[C0:.*]] = arith.constant 0 : index
// CHECK:       %[[R:.*]] = tensor.dim %[[X]], %[[C0]]
// CHECK:       %[[EMPTY:.*]] = tensor.empty(%[[R]]) : tensor<?x128xf32>
// CHECK:       %[[FILL:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[EMPTY]] : tensor<?x128xf32>)
// CHECK:       %[[G:.*]] = moe.grouped_matmul ins(%[[X]], %[[WG]], %[[OFF]] : {{.*}}) outs(%[[FILL]] : tensor<?x128xf32>)
// CHECK:       %[[U:.*]] = moe.grouped_matmul ins(%[[X]], %[[WU]], %[[OFF]] : {{.*}}) outs(%[[FILL]] : tensor<?x128xf32>)
// CHECK:       %[[HINIT:.*]] = tensor.empty(%[[R]]) : tensor<?x128xf32>
// CHECK:       %[[H:.*]] = moe.gated_activation ins(%[[G]], %[[U]] : tensor<?x128xf32>, tensor<?x128xf32>) outs(%[[HINIT]] : tensor<?x128xf32>) activation<silu>
// CHECK:       %[[Y:.*]] = moe.grouped_matmul ins(%[[H]], %[[WD]], %[[OFF]] : {{.*}}) outs(%[[ACC]] : tensor<?x64xf32>)
// CHECK:       return %[[Y]]
func.func @gated_silu(%x: tensor<?x64xf32>, %o: tensor<9xi32>,
                      %wg: tensor<8x128x64xf32>, %wu: tensor<8x128x64xf32>,
                      %wd: tensor<8x64x128xf32>, %acc: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%acc : tensor<?x64xf32>)
         activation<silu>
  return %0 : tensor<?x64xf32>
}

// -----

// Ungated ReLU with biases: one projection, maximumf, biases kept on their
// grouped matmuls.

// CHECK-LABEL: func @ungated_relu_bias
// CHECK-SAME:    %[[BU:[a-z0-9]+]]: tensor<4x32xf32>, %[[BD:[a-z0-9]+]]: tensor<4x16xf32>
// CHECK:       %[[U:.*]] = moe.grouped_matmul ins({{.*}}) bias(%[[BU]] : tensor<4x32xf32>) outs(%{{.*}} : tensor<3x32xf32>)
// CHECK-NOT:   moe.grouped_matmul
// CHECK:       linalg.generic {{.*}} ins(%[[U]] : tensor<3x32xf32>)
// CHECK:         arith.maximumf
// CHECK:       moe.grouped_matmul ins({{.*}}) bias(%[[BD]] : tensor<4x16xf32>) outs(%{{.*}} : tensor<3x16xf32>)
func.func @ungated_relu_bias(%x: tensor<3x16xf32>, %o: tensor<5xi32>,
                             %wu: tensor<4x32x16xf32>, %wd: tensor<4x16x32xf32>,
                             %bu: tensor<4x32xf32>, %bd: tensor<4x16xf32>,
                             %acc: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %0 = moe.expert_ffn ins(%x, %o : tensor<3x16xf32>, tensor<5xi32>)
         up(%wu : tensor<4x32x16xf32>) down(%wd : tensor<4x16x32xf32>)
         up_bias(%bu : tensor<4x32xf32>) down_bias(%bd : tensor<4x16xf32>)
         outs(%acc : tensor<3x16xf32>) activation<relu>
  return %0 : tensor<3x16xf32>
}

// -----

// gpt-oss's clamped SwiGLU uses the op's alpha and limit.

// CHECK-LABEL: func @swiglu_oai
// CHECK:       moe.gated_activation {{.*}} activation<swiglu_oai> {swiglu_alpha = 1.500000e+00 : f32, swiglu_limit = 5.000000e+00 : f32}
func.func @swiglu_oai(%x: tensor<?x16xf32>, %o: tensor<5xi32>,
                      %wg: tensor<4x32x16xf32>, %wu: tensor<4x32x16xf32>,
                      %wd: tensor<4x16x32xf32>, %acc: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x16xf32>, tensor<5xi32>)
         gate(%wg : tensor<4x32x16xf32>) up(%wu : tensor<4x32x16xf32>)
         down(%wd : tensor<4x16x32xf32>) outs(%acc : tensor<?x16xf32>)
         activation<swiglu_oai> {swiglu_alpha = 1.5 : f32, swiglu_limit = 5.0 : f32}
  return %0 : tensor<?x16xf32>
}

// -----

// gelu uses erf; gelu_tanh uses tanh.

// CHECK-LABEL: func @gelu_forms
// CHECK:       linalg.generic
// CHECK:         math.erf
// CHECK:       linalg.generic
// CHECK:         math.tanh
func.func @gelu_forms(%x: tensor<?x16xf32>, %o: tensor<5xi32>,
                      %wu: tensor<4x32x16xf32>, %wd: tensor<4x16x32xf32>,
                      %acc: tensor<?x16xf32>) -> (tensor<?x16xf32>, tensor<?x16xf32>) {
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x16xf32>, tensor<5xi32>)
         up(%wu : tensor<4x32x16xf32>) down(%wd : tensor<4x16x32xf32>)
         outs(%acc : tensor<?x16xf32>) activation<gelu>
  %1 = moe.expert_ffn ins(%x, %o : tensor<?x16xf32>, tensor<5xi32>)
         up(%wu : tensor<4x32x16xf32>) down(%wd : tensor<4x16x32xf32>)
         outs(%acc : tensor<?x16xf32>) activation<gelu_tanh>
  return %0, %1 : tensor<?x16xf32>, tensor<?x16xf32>
}

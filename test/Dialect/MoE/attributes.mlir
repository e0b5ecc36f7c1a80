// RUN: moe-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// The MoE dialect's discardable attributes where they belong: the verifier
// accepts them and they print back unchanged.

// CHECK: module attributes {moe.model_name = "tiny"}
module attributes {moe.model_name = "tiny"} {
  // CHECK: func.func @model(%{{.*}}: tensor<?x4xf32> {moe.input = "x"}, %{{.*}}: tensor<2x3x4xf32> {moe.param = "y.up_proj", moe.prepare_permutation = array<i64: 0, 2, 1>}) attributes {moe.entry, moe.param_bytes = 96 : i64}
  func.func @model(%x: tensor<?x4xf32> {moe.input = "x"},
                   %w: tensor<2x3x4xf32> {moe.param = "y.up_proj",
                                          moe.prepare_permutation = array<i64: 0, 2, 1>})
      attributes {moe.entry, moe.param_bytes = 96 : i64} {
    return
  }
  // CHECK: func.func private @moe_layer() attributes {moe.layer_function}
  func.func private @moe_layer() attributes {moe.layer_function}
}

// -----

// CHECK-LABEL: func.func @lowered
// CHECK: scf.for {{.*}} {
// CHECK:   linalg.fill {moe.tile_fill = 0 : i64}
// CHECK:   linalg.matmul {moe.segment_matmul, moe.tile_target = 0 : i64}
// CHECK: } {moe.segment_loop}
func.func @lowered(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %c0 to %n step %c1 {
    %empty = tensor.empty() : tensor<4x16xf32>
    %init = linalg.fill {moe.tile_fill = 0 : i64} ins(%zero : f32)
        outs(%empty : tensor<4x16xf32>) -> tensor<4x16xf32>
    %c = linalg.matmul {moe.segment_matmul, moe.tile_target = 0 : i64}
        ins(%a, %b : tensor<4x8xf32>, tensor<8x16xf32>)
        outs(%init : tensor<4x16xf32>) -> tensor<4x16xf32>
  } {moe.segment_loop}
  return
}

// -----

// CHECK-LABEL: func.func @warp_tile
// CHECK: linalg.generic {{.*}} attrs =  {moe.segment_matmul, moe.warp_mma}
func.func @warp_tile(%a: memref<?x32xf32>, %w: memref<8x32xbf16>,
                     %c: memref<?x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x32xf32>, memref<8x32xbf16>)
      outs(%c : memref<?x8xf32>) attrs = {moe.segment_matmul, moe.warp_mma} {
  ^bb0(%x: f32, %y: bf16, %acc: f32):
    %xr = arith.truncf %x : f32 to bf16
    %xe = arith.extf %xr : bf16 to f32
    %ye = arith.extf %y : bf16 to f32
    %p = arith.mulf %xe, %ye : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// RUN: moe-opt %s --split-input-file --verify-diagnostics --moe-version-layers="max-tokens=16 pass-options=moe-gpu-distribute{column-block=64},moe-split-grouped-matmul-k{parts=4}" | FileCheck %s
// RUN: moe-opt %s --split-input-file --verify-diagnostics --moe-version-layers="max-tokens=16 pass-options=moe-gpu-distribute{column-block=64}" --moe-call-layer-versions | FileCheck %s --check-prefix=CALLS
// No versions without max-tokens.
// RUN: moe-opt %s --split-input-file --verify-diagnostics --moe-version-layers | FileCheck %s --check-prefix=NONE

// A layer function called twice gets one copy for few tokens, which carries
// the options the passes named run with on it; the layer names its copy
// and the most tokens it is for. The calls stay until
// moe-call-layer-versions makes each choose on its token count (dimension 0
// of its first operand with a dynamic one: the buffer, not the index
// before it), with the same operands and attributes; the references then
// go. A function not outlined by moe-outline-layers, and an uncalled layer,
// get no copy.

// CHECK-LABEL: func.func @model
// CHECK:         call @moe_layer(
// CHECK:         call @moe_layer(
// CHECK:       func.func private @moe_layer(
// CHECK-SAME:    attributes {moe.decode_tokens = 16 : i64, moe.decode_version = @moe_layer_decode, moe.layer_function, no_inline}
// CHECK:         arith.addf
// CHECK:       func.func private @moe_layer_decode(
// CHECK-SAME:    attributes {moe.layer_function, moe.pass_options = {"moe-gpu-distribute" = "column-block=64", "moe-split-grouped-matmul-k" = "parts=4"}, no_inline}
// CHECK:         arith.addf
// CHECK:       func.func private @not_a_layer(
// CHECK-NOT:     moe.
// CHECK:       func.func private @uncalled_layer(
// CHECK-NOT:     @uncalled_layer_decode

// CALLS-LABEL: func.func @model
// CALLS-SAME:    (%[[N:.+]]: index, %[[X:.+]]: memref<?x8xf32>, %[[Y:.+]]: memref<?x8xf32>, %[[Z:.+]]: memref<?x8xf32>)
// CALLS:         %[[T:.+]] = memref.dim %[[X]], %c0
// CALLS:         %[[FEW:.+]] = arith.cmpi ule, %[[T]], %c16
// CALLS:         scf.if %[[FEW]] {
// CALLS-NEXT:      call @moe_layer_decode(%[[N]], %[[X]], %[[Y]]) {no_inline}
// CALLS-NEXT:    } else {
// CALLS-NEXT:      call @moe_layer(%[[N]], %[[X]], %[[Y]]) {no_inline}
// CALLS-NEXT:    }
// CALLS:         %[[T2:.+]] = memref.dim %[[Y]], %c0
// CALLS:         %[[FEW2:.+]] = arith.cmpi ule, %[[T2]], %c16
// CALLS:         scf.if %[[FEW2]] {
// CALLS-NEXT:      call @moe_layer_decode(%[[N]], %[[Y]], %[[Z]]) {no_inline}
// CALLS:         call @not_a_layer(%[[X]])
// CALLS:       func.func private @moe_layer(
// CALLS-SAME:    attributes {moe.layer_function, no_inline}
// CALLS:       func.func private @moe_layer_decode(

// NONE-NOT: moe.decode_version
// NONE-NOT: _decode

func.func @model(%n: index, %x: memref<?x8xf32>, %y: memref<?x8xf32>, %z: memref<?x8xf32>) {
  call @moe_layer(%n, %x, %y) {no_inline} : (index, memref<?x8xf32>, memref<?x8xf32>) -> ()
  call @moe_layer(%n, %y, %z) {no_inline} : (index, memref<?x8xf32>, memref<?x8xf32>) -> ()
  call @not_a_layer(%x) : (memref<?x8xf32>) -> ()
  return
}
func.func private @moe_layer(%n: index, %in: memref<?x8xf32>, %out: memref<?x8xf32>) attributes {moe.layer_function, no_inline} {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%in : memref<?x8xf32>) outs(%out : memref<?x8xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %a : f32
    linalg.yield %s : f32
  }
  return
}
func.func private @not_a_layer(%x: memref<?x8xf32>) {
  return
}
func.func private @uncalled_layer(%x: memref<?x8xf32>) attributes {moe.layer_function} {
  return
}

// -----

// On tensors, the choice has the call's results.

// CALLS-LABEL: func.func @on_tensors
// CALLS:         %[[T:.+]] = tensor.dim %{{.+}}, %c0
// CALLS:         %[[FEW:.+]] = arith.cmpi ule, %[[T]], %c16
// CALLS:         %[[R:.+]] = scf.if %[[FEW]] -> (tensor<?x8xf32>) {
// CALLS-NEXT:      %[[D:.+]] = func.call @layer_decode(%{{.+}}) : (tensor<?x8xf32>) -> tensor<?x8xf32>
// CALLS-NEXT:      scf.yield %[[D]]
// CALLS:         return %[[R]]
func.func @on_tensors(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %y = call @layer(%x) : (tensor<?x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
func.func private @layer(%x: tensor<?x8xf32>) -> tensor<?x8xf32> attributes {moe.layer_function} {
  return %x : tensor<?x8xf32>
}

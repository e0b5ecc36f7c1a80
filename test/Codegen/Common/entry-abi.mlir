// RUN: moe-opt %s --moe-entry-abi --cse --split-input-file --verify-diagnostics | FileCheck %s
// RUN: moe-opt %s --moe-entry-abi=prepare-slices=false --split-input-file --verify-diagnostics \
// RUN:   | FileCheck %s --check-prefix=NO-SLICES

// Without prepare-slices (a GPU's runtime lays the whole arena out at
// once), moe_prepare comes alone.
// NO-SLICES: func.func @moe_prepare(
// NO-SLICES-NOT: moe_prepare_slice

// Inputs, weights and outputs become views of three byte arenas at 64-byte
// aligned offsets; the model function becomes private.

// CHECK-LABEL: func.func private @model(
// CHECK-LABEL: func.func @moe_forward(
// CHECK-SAME:    %[[T:.*]]: index, %[[IN:.*]]: memref<?xi8>, %[[PARAMS:.*]]: memref<?xi8>, %[[OUT:.*]]: memref<?xi8>, %[[SCRATCH:.*]]: memref<?xi8>)
// CHECK-SAME:    attributes {llvm.emit_c_interface, moe.param_bytes = 320 : i64}
// CHECK:       %[[C0:.*]] = arith.constant 0 : index
// CHECK:       %[[X:.*]] = memref.view %[[IN]][%[[C0]]][%[[T]]] : memref<?xi8> to memref<?x16xf32>
// CHECK:       %[[W:.*]] = memref.view %[[PARAMS]][%[[C0]]][] : memref<?xi8> to memref<4x16xf32>
// CHECK:       %[[C256:.*]] = arith.constant 256 : index
// CHECK:       %[[B:.*]] = memref.view %[[PARAMS]][%[[C256]]][] : memref<?xi8> to memref<4xbf16>
// CHECK:       %[[XT:.*]] = bufferization.to_tensor %[[X]] restrict
// CHECK:       %[[Y:.*]] = call @model(%[[XT]], %{{.*}}, %{{.*}})
// CHECK:       %[[YV:.*]] = memref.view %[[OUT]][%[[C0]]][%[[T]]] : memref<?xi8> to memref<?x4xf32>
// CHECK:       bufferization.materialize_in_destination %[[Y]] in restrict writable %[[YV]]
// CHECK-NOT:   func.func @moe_prepare
func.func @model(%x: tensor<?x16xf32> {moe.input = "x"},
                 %w: tensor<4x16xf32> {moe.param = "w"},
                 %b: tensor<4xbf16> {moe.param = "b"}) -> tensor<?x4xf32>
    attributes {moe.entry} {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %x, %c0 : tensor<?x16xf32>
  %e = tensor.empty(%t) : tensor<?x4xf32>
  return %e : tensor<?x4xf32>
}

// -----

// A weight with a prepare permutation gets `moe_prepare`, which transposes
// it from the raw arena into the prepared one and copies the others. Each
// distinct permutation of a weight type is one private no_inline function
// (internal, noinline to LLVM), called for every weight that needs it:
// "e" and "e2" share one, "f" has its own. Private functions with a body
// (outlined layers) get internal linkage; the model function too, inlined.

// CHECK-LABEL: func.func private @layer(
// CHECK-SAME:    attributes {llvm.linkage = #llvm.linkage<internal>, no_inline, passthrough = ["noinline"]}
// CHECK-LABEL: func.func private @model(
// CHECK-SAME:    llvm.linkage = #llvm.linkage<internal>
// CHECK-LABEL: func.func @moe_prepare(
// CHECK-SAME:    %[[RAW:.*]]: memref<?xi8>, %[[PREP:.*]]: memref<?xi8>) attributes {llvm.emit_c_interface}
// CHECK:       %[[P0:.*]] = memref.view %[[PREP]][%{{.*}}][] : memref<?xi8> to memref<4x16xf32>
// CHECK:       %[[R0:.*]] = memref.view %[[RAW]][%{{.*}}][] : memref<?xi8> to memref<4x16xf32>
// CHECK:       memref.copy %[[R0]], %[[P0]]
// CHECK:       %[[P1:.*]] = memref.view %[[PREP]][%{{.*}}][] : memref<?xi8> to memref<2x16x8xf32>
// CHECK:       %[[R1:.*]] = memref.view %[[RAW]][%{{.*}}][] : memref<?xi8> to memref<2x8x16xf32>
// CHECK:       call @moe_prepare_permute(%[[R1]], %[[P1]])
// CHECK:       %[[P2:.*]] = memref.view %[[PREP]][%{{.*}}][] : memref<?xi8> to memref<2x16x8xf32>
// CHECK:       %[[R2:.*]] = memref.view %[[RAW]][%{{.*}}][] : memref<?xi8> to memref<2x8x16xf32>
// CHECK:       call @moe_prepare_permute(%[[R2]], %[[P2]])
// CHECK:       %[[P3:.*]] = memref.view %[[PREP]][%{{.*}}][] : memref<?xi8> to memref<16x4xf32>
// CHECK:       %[[R3:.*]] = memref.view %[[RAW]][%{{.*}}][] : memref<?xi8> to memref<4x16xf32>
// CHECK:       call @moe_prepare_permute_0(%[[R3]], %[[P3]])
// CHECK-LABEL: func.func private @moe_prepare_permute(
// CHECK-SAME:    %[[A:.*]]: memref<2x8x16xf32>, %[[B:.*]]: memref<2x16x8xf32>)
// CHECK-SAME:    attributes {llvm.linkage = #llvm.linkage<internal>, no_inline, passthrough = ["noinline"]}
// CHECK:       linalg.transpose ins(%[[A]] : memref<2x8x16xf32>) outs(%[[B]] : memref<2x16x8xf32>) permutation = [0, 2, 1]
// CHECK-LABEL: func.func private @moe_prepare_permute_0(
// CHECK:       linalg.transpose ins(%{{.*}} : memref<4x16xf32>) outs(%{{.*}} : memref<16x4xf32>) permutation = [1, 0]
// moe_prepare_slice does the same a slice at a time. A table gives each
// weight's kind, raw offset, slices, slice bytes and prepared offset: "w"
// (copied) and "e", "e2" (permuted, expert dimension first) have one slice
// per index of their first dimension; "f" ([1, 0]) is one slice. The code
// switches on the kind: one case per distinct slice type and permutation,
// "e" and "e2" sharing one, with a permuter of the slice's shape.
// CHECK:       memref.global "private" constant @moe_prepare_slices : memref<4x5xi64> = dense<{{\[}}[0, 0, 4, 64, 0], [1, 256, 2, 512, 256], [1, 1280, 2, 512, 1280], [2, 2304, 1, 256, 2304]]>
// CHECK-LABEL: func.func @moe_prepare_slice(
// CHECK-SAME:    %[[PARAM:.*]]: index, %[[SLICE:.*]]: index, %[[SRAW:.*]]: memref<?xi8>, %[[SPREP:.*]]: memref<?xi8>) -> index attributes {llvm.emit_c_interface}
// CHECK:       %[[N:.*]] = scf.if %{{.*}} -> (index) {
// CHECK:         %[[TABLE:.*]] = memref.get_global @moe_prepare_slices
// CHECK:         %[[KIND:.*]] = arith.index_cast
// CHECK:         %[[OFFSET:.*]] = arith.index_cast
// CHECK:         %[[COUNT:.*]] = arith.index_cast
// CHECK:         %[[BYTES:.*]] = arith.index_cast
// CHECK:         %[[PREPARED:.*]] = arith.index_cast
// CHECK:         arith.cmpi slt, %[[SLICE]], %[[COUNT]]
// CHECK:         scf.if
// CHECK:           %[[STEP:.*]] = arith.muli %[[SLICE]], %[[BYTES]]
// CHECK:           %[[AT:.*]] = arith.addi %[[OFFSET]], %[[STEP]]
// CHECK:           %[[PAT:.*]] = arith.addi %[[PREPARED]], %[[STEP]]
// CHECK:           scf.index_switch %[[KIND]]
// CHECK:           case 0 {
// CHECK:             memref.view %[[SPREP]][%[[PAT]]][] : memref<?xi8> to memref<16xf32>
// CHECK:             memref.view %[[SRAW]][%[[AT]]][] : memref<?xi8> to memref<16xf32>
// CHECK:             memref.copy
// CHECK:           case 1 {
// CHECK:             %[[SP1:.*]] = memref.view %[[SPREP]][%[[PAT]]][] : memref<?xi8> to memref<16x8xf32>
// CHECK:             %[[SR1:.*]] = memref.view %[[SRAW]][%[[AT]]][] : memref<?xi8> to memref<8x16xf32>
// CHECK:             func.call @[[SLICE_PERMUTER:moe_prepare_permute_[0-9]+]](%[[SR1]], %[[SP1]])
// CHECK:           case 2 {
// CHECK:             func.call @moe_prepare_permute_0(
// CHECK-NOT:       case 3
// CHECK:         scf.yield %[[COUNT]] : index
// CHECK:       } else {
// CHECK:         scf.yield %{{.*}} : index
// CHECK:       return %[[N]] : index
// CHECK:       func.func private @[[SLICE_PERMUTER]](
// CHECK:       linalg.transpose ins(%{{.*}} : memref<8x16xf32>) outs(%{{.*}} : memref<16x8xf32>) permutation = [1, 0]
// CHECK-NOT:   func.func
func.func private @layer(%x: tensor<?x16xf32>) -> tensor<?x16xf32> attributes {no_inline} {
  return %x : tensor<?x16xf32>
}
func.func @model(%x: tensor<?x16xf32> {moe.input = "x"},
                 %w: tensor<4x16xf32> {moe.param = "w"},
                 %e: tensor<2x16x8xf32> {moe.param = "e", moe.prepare_permutation = array<i64: 0, 2, 1>},
                 %e2: tensor<2x16x8xf32> {moe.param = "e2", moe.prepare_permutation = array<i64: 0, 2, 1>},
                 %f: tensor<16x4xf32> {moe.param = "f", moe.prepare_permutation = array<i64: 1, 0>})
    -> tensor<?x16xf32> attributes {moe.entry} {
  %y = call @layer(%x) {no_inline} : (tensor<?x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// A concatenation of weights ("a" as it is, "b" transposed) is one view of
// the prepared arena, where its parts follow one another from the first
// part's place on: "a" at 256, "b" at 512 (its raw bytes at 576, after
// "v"), and "v" after them at 640. moe_prepare copies "a" (an identity
// permutation is a copy) and "v", and transposes "b" into place; the table
// has both offsets of each.

// CHECK-LABEL: func.func private @model(
// CHECK-LABEL: func.func @moe_forward(
// CHECK-SAME:    %{{.*}}: index, %{{.*}}: memref<?xi8>, %[[PARAMS:[a-z0-9_]+]]: memref<?xi8>, %{{.*}}: memref<?xi8>, %{{.*}}: memref<?xi8>)
// CHECK-SAME:    moe.param_bytes = 704 : i64
// CHECK:       memref.view %[[PARAMS]][%{{.*}}][] : memref<?xi8> to memref<4x16xf32>
// CHECK:       %[[C256:.*]] = arith.constant 256 : index
// CHECK:       memref.view %[[PARAMS]][%[[C256]]][] : memref<?xi8> to memref<2x4x8xf32>
// CHECK:       %[[C640:.*]] = arith.constant 640 : index
// CHECK:       memref.view %[[PARAMS]][%[[C640]]][] : memref<?xi8> to memref<3xf32>
// CHECK:       %[[C512:.*]] = arith.constant 512 : index
// CHECK:       memref.view %[[PARAMS]][%[[C512]]][] : memref<?xi8> to memref<1x4x8xf32>
// CHECK:       %[[ALL:.*]] = memref.view %[[PARAMS]][%[[C256]]][] : memref<?xi8> to memref<3x4x8xf32>
// CHECK:       %[[ALLT:.*]] = bufferization.to_tensor %[[ALL]]
// CHECK:       call @model(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ALLT]])
// CHECK-LABEL: func.func @moe_prepare(
// CHECK-SAME:    %[[RAW:.*]]: memref<?xi8>, %[[PREP:.*]]: memref<?xi8>)
// CHECK:       memref.copy
// CHECK:       %[[P256:.*]] = arith.constant 256 : index
// CHECK:       %[[PA:.*]] = memref.view %[[PREP]][%[[P256]]][] : memref<?xi8> to memref<2x4x8xf32>
// CHECK:       %[[RA:.*]] = memref.view %[[RAW]][%[[P256]]][] : memref<?xi8> to memref<2x4x8xf32>
// CHECK:       memref.copy %[[RA]], %[[PA]]
// CHECK:       %[[P512:.*]] = arith.constant 512 : index
// CHECK:       %[[P640:.*]] = arith.constant 640 : index
// CHECK:       %[[PV:.*]] = memref.view %[[PREP]][%[[P640]]][] : memref<?xi8> to memref<3xf32>
// CHECK:       %[[RV:.*]] = memref.view %[[RAW]][%[[P512]]][] : memref<?xi8> to memref<3xf32>
// CHECK:       memref.copy %[[RV]], %[[PV]]
// CHECK:       %[[P576:.*]] = arith.constant 576 : index
// CHECK:       %[[PB:.*]] = memref.view %[[PREP]][%[[P512]]][] : memref<?xi8> to memref<1x4x8xf32>
// CHECK:       %[[RB:.*]] = memref.view %[[RAW]][%[[P576]]][] : memref<?xi8> to memref<1x8x4xf32>
// CHECK:       call @moe_prepare_permute(%[[RB]], %[[PB]])
// CHECK:       memref.global "private" constant @moe_prepare_slices : memref<4x5xi64> = dense<{{\[}}[0, 0, 4, 64, 0], [1, 256, 2, 128, 256], [2, 512, 1, 12, 640], [3, 576, 1, 128, 512]]>
func.func @model(%x: tensor<?x16xf32> {moe.input = "x"},
                 %w: tensor<4x16xf32> {moe.param = "w"},
                 %a: tensor<2x4x8xf32> {moe.param = "a", moe.prepare_permutation = array<i64: 0, 1, 2>},
                 %v: tensor<3xf32> {moe.param = "v"},
                 %b: tensor<1x4x8xf32> {moe.param = "b", moe.prepare_permutation = array<i64: 0, 2, 1>},
                 %ab: tensor<3x4x8xf32> {moe.param_concat = array<i64: 2, 4>})
    -> tensor<?x16xf32> attributes {moe.entry} {
  return %x : tensor<?x16xf32>
}

// -----

// A weight can be a part of one concatenation only.

// expected-error @+1 {{a weight is a part of two 'moe.param_concat's}}
func.func @model(%x: tensor<?x16xf32> {moe.input = "x"},
                 %a: tensor<2x4xf32> {moe.param = "a"},
                 %b: tensor<2x4xf32> {moe.param = "b"},
                 %ab: tensor<4x4xf32> {moe.param_concat = array<i64: 1, 2>},
                 %ba: tensor<4x4xf32> {moe.param_concat = array<i64: 2, 1>})
    -> tensor<?x16xf32> attributes {moe.entry} {
  return %x : tensor<?x16xf32>
}

// -----

// expected-error @+1 {{expected exactly one function marked 'moe.entry', found 0}}
module {
  func.func @model(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
    return %x : tensor<?x16xf32>
  }
}

// -----

// expected-error @+1 {{argument 1 of the model function is neither a 'moe.input' nor a 'moe.param'}}
func.func @model(%x: tensor<?x16xf32> {moe.input = "x"}, %w: tensor<4xf32>) -> tensor<?x16xf32>
    attributes {moe.entry} {
  return %x : tensor<?x16xf32>
}

// -----

// expected-error @+1 {{parameter argument 1 must have a static shape, got 'tensor<?xf32>'}}
func.func @model(%x: tensor<?x16xf32> {moe.input = "x"}, %w: tensor<?xf32> {moe.param = "w"}) -> tensor<?x16xf32>
    attributes {moe.entry} {
  return %x : tensor<?x16xf32>
}

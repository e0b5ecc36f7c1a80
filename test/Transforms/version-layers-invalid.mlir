// RUN: moe-opt %s --split-input-file --verify-diagnostics --moe-call-layer-versions
// RUN: not moe-opt %s --split-input-file --moe-version-layers="max-tokens=-1" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// RUN: not moe-opt %s --split-input-file --moe-version-layers="max-tokens=4 pass-options=moe-gpu-distribute" 2>&1 | FileCheck %s --check-prefix=FORMAT
// RUN: not moe-opt %s --split-input-file --moe-version-layers="max-tokens=4 pass-options=a{x=1},a{y=2}" 2>&1 | FileCheck %s --check-prefix=TWICE

// NEGATIVE: moe-version-layers: max-tokens must not be negative, got -1
// FORMAT: moe-version-layers: expected each of pass-options as 'pass-argument{key=value ...}', got 'moe-gpu-distribute'
// TWICE: moe-version-layers: pass-options names 'a' twice

// What moe-call-layer-versions cannot choose between.

func.func @no_token_dimension(%x: memref<4x8xf32>) {
  // expected-error @+1 {{moe-call-layer-versions: no operand of the call has a dynamic token dimension}}
  call @layer(%x) : (memref<4x8xf32>) -> ()
  return
}
func.func private @layer(%x: memref<4x8xf32>) attributes {moe.layer_function, moe.decode_version = @layer_decode, moe.decode_tokens = 4 : i64} {
  return
}
func.func private @layer_decode(%x: memref<4x8xf32>) {
  return
}

// -----

func.func @missing_version(%x: memref<?x8xf32>) {
  call @layer(%x) : (memref<?x8xf32>) -> ()
  return
}
// expected-error @+1 {{moe-call-layer-versions: no function 'layer_decode', the decode version it names}}
func.func private @layer(%x: memref<?x8xf32>) attributes {moe.layer_function, moe.decode_version = @layer_decode, moe.decode_tokens = 4 : i64} {
  return
}

// -----

func.func @other_type(%x: memref<?x8xf32>) {
  call @layer(%x) : (memref<?x8xf32>) -> ()
  return
}
// expected-error @+1 {{moe-call-layer-versions: the decode version 'layer_decode' has type '(memref<?x8xf32>, index) -> ()', not the layer's '(memref<?x8xf32>) -> ()'}}
func.func private @layer(%x: memref<?x8xf32>) attributes {moe.layer_function, moe.decode_version = @layer_decode, moe.decode_tokens = 4 : i64} {
  return
}
func.func private @layer_decode(%x: memref<?x8xf32>, %n: index) {
  return
}

// -----

func.func @no_limit(%x: memref<?x8xf32>) {
  call @layer(%x) : (memref<?x8xf32>) -> ()
  return
}
// expected-error @+1 {{moe-call-layer-versions: a decode version without 'moe.decode_tokens'}}
func.func private @layer(%x: memref<?x8xf32>) attributes {moe.layer_function, moe.decode_version = @layer_decode} {
  return
}
func.func private @layer_decode(%x: memref<?x8xf32>) {
  return
}

// RUN: moe-opt %s --moe-cpu-flatten-vector-transfers --split-input-file | FileCheck %s

// A [1, 16, 2] read of a contiguous run of 32 bf16 (16 columns of pairs, the
// weight row of a vdpbf16ps kernel) becomes one 1-D read of a collapsed view.

// CHECK-LABEL: func @contiguous
// CHECK:       %[[FLAT:.*]] = memref.collapse_shape %{{.*}} {{\[\[}}0], [1, 2]] : memref<1x16x2xbf16, strided<[64, 2, 1], offset: ?>> into memref<1x32xbf16, strided<[64, 1], offset: ?>>
// CHECK:       %[[V:.*]] = vector.transfer_read %[[FLAT]]{{.*}} {in_bounds = [true]} : memref<1x32xbf16, strided<[64, 1], offset: ?>>, vector<32xbf16>
// CHECK:       vector.shape_cast %[[V]] : vector<32xbf16> to vector<1x16x2xbf16>
func.func @contiguous(%w: memref<4x32x2xbf16>, %k: index) -> vector<1x16x2xbf16> {
  %c0 = arith.constant 0 : index
  %pad = arith.constant 0.0 : bf16
  %s = memref.subview %w[%k, 0, 0] [1, 16, 2] [1, 1, 1]
      : memref<4x32x2xbf16> to memref<1x16x2xbf16, strided<[64, 2, 1], offset: ?>>
  %v = vector.transfer_read %s[%c0, %c0, %c0], %pad {in_bounds = [true, true, true]}
      : memref<1x16x2xbf16, strided<[64, 2, 1], offset: ?>>, vector<1x16x2xbf16>
  return %v : vector<1x16x2xbf16>
}

// -----

// Pairs out of rows of 4 are not contiguous: the read stays 3-D.

// CHECK-LABEL: func @strided
// CHECK-NOT:   memref.collapse_shape
// CHECK:       vector.transfer_read {{.*}} vector<1x16x2xbf16>
func.func @strided(%w: memref<4x32x4xbf16>, %k: index) -> vector<1x16x2xbf16> {
  %c0 = arith.constant 0 : index
  %pad = arith.constant 0.0 : bf16
  %v = vector.transfer_read %w[%k, %c0, %c0], %pad {in_bounds = [true, true, true]}
      : memref<4x32x4xbf16>, vector<1x16x2xbf16>
  return %v : vector<1x16x2xbf16>
}

// -----

// Vectors of unit dimensions only are left alone: upstream's contiguity
// check reads out of bounds on them (ASan: negative-size memcmp).

// CHECK-LABEL: func @unit_dims
// CHECK-NOT:   memref.collapse_shape
// CHECK:       vector.transfer_read {{.*}} vector<1x1xf32>
// CHECK:       vector.transfer_write {{.*}} vector<1x1xf32>
func.func @unit_dims(%m: memref<4x4xf32>, %i: index) {
  %c0 = arith.constant 0 : index
  %pad = arith.constant 0.0 : f32
  %v = vector.transfer_read %m[%i, %c0], %pad {in_bounds = [true, true]}
      : memref<4x4xf32>, vector<1x1xf32>
  vector.transfer_write %v, %m[%c0, %i] {in_bounds = [true, true]}
      : vector<1x1xf32>, memref<4x4xf32>
  return
}

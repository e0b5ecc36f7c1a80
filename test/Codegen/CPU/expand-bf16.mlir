// RUN: moe-opt %s --moe-cpu-expand-bf16 | FileCheck %s

// bf16 widening becomes a bitcast to i16, a zero extension and a shift by
// 16; other arith ops (maximumf here) are left alone, unlike arith-expand.

// CHECK-LABEL: func @widen
// CHECK-SAME:    %[[W:.*]]: vector<17xbf16>
// CHECK:         %[[BITS:.*]] = arith.bitcast %[[W]] : vector<17xbf16> to vector<17xi16>
// CHECK:         %[[WIDE:.*]] = arith.extui %[[BITS]] : vector<17xi16> to vector<17xi32>
// CHECK:         %[[SHIFTED:.*]] = arith.shli %[[WIDE]], %{{.*}} : vector<17xi32>
// CHECK:         %[[F:.*]] = arith.bitcast %[[SHIFTED]] : vector<17xi32> to vector<17xf32>
// CHECK-NOT:     arith.extf
// CHECK:         arith.maximumf %[[F]], %{{.*}} : vector<17xf32>
func.func @widen(%w: vector<17xbf16>, %x: vector<17xf32>) -> vector<17xf32> {
  %0 = arith.extf %w : vector<17xbf16> to vector<17xf32>
  %1 = arith.maximumf %0, %x : vector<17xf32>
  return %1 : vector<17xf32>
}

// f16 has native conversions; it is left alone.
// CHECK-LABEL: func @half
// CHECK:         arith.extf %{{.*}} : vector<16xf16> to vector<16xf32>
func.func @half(%w: vector<16xf16>) -> vector<16xf32> {
  %0 = arith.extf %w : vector<16xf16> to vector<16xf32>
  return %0 : vector<16xf32>
}

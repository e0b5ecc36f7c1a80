// RUN: moe-opt %s --moe-decompose-layer --split-input-file | FileCheck %s
// RUN: moe-opt %s --moe-decompose-layer=segment-alignment=8 --split-input-file \
// RUN:   | FileCheck %s --check-prefix=ALIGNED
// RUN: not moe-opt %s --moe-decompose-layer=segment-alignment=0 --split-input-file 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BAD-ALIGNMENT
// BAD-ALIGNMENT: error: segment-alignment must be at least 1, got 0

// A Mixtral layer: softmax, top-2, renormalised, gated SiLU, dropless.

// CHECK-LABEL: func @mixtral
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[WR:[a-z0-9]+]]: tensor<8x64xf32>, %[[WG:[a-z0-9]+]]: tensor<8x128x64xf32>, %[[WU:[a-z0-9]+]]: tensor<8x128x64xf32>, %[[WD:[a-z0-9]+]]: tensor<8x64x128xf32>, %[[INIT:[a-z0-9]+]]: tensor<?x64xf32>
// CHECK-DAG:   %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:   %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:       %[[T:.*]] = tensor.dim %[[X]], %[[C0]]
// CHECK:       %[[R:.*]] = arith.muli %[[T]], %[[C2]]
// CHECK:       %[[SCORES_INIT:.*]] = tensor.empty(%[[T]]) : tensor<?x8xf32>
// CHECK:       %[[SCORES:.*]] = moe.router ins(%[[X]], %[[WR]] : {{.*}}) outs(%[[SCORES_INIT]] : tensor<?x8xf32>) scoring<softmax>
// CHECK:       %[[W_INIT:.*]] = tensor.empty(%[[T]]) : tensor<?x2xf32>
// CHECK:       %[[I_INIT:.*]] = tensor.empty(%[[T]]) : tensor<?x2xi32>
// CHECK:       %[[W:.*]], %[[I:.*]] = moe.top_k ins(%[[SCORES]] : tensor<?x8xf32>) outs(%[[W_INIT]], %[[I_INIT]] : {{.*}}) {normalize}
// CHECK:       %[[C_INIT:.*]] = tensor.empty() : tensor<8xi32>
// CHECK:       %[[O_INIT:.*]] = tensor.empty() : tensor<9xi32>
// CHECK:       %[[T_INIT:.*]] = tensor.empty(%[[R]]) : tensor<?xi32>
// CHECK:       %[[RW_INIT:.*]] = tensor.empty(%[[R]]) : tensor<?xf32>
// CHECK:       %{{.*}}, %[[OFF:.*]], %[[TOK:.*]], %[[RW:.*]] = moe.dispatch ins(%[[I]], %[[W]] : tensor<?x2xi32>, tensor<?x2xf32>) outs(%[[C_INIT]], %[[O_INIT]], %[[T_INIT]], %[[RW_INIT]] : {{.*}})
// CHECK-NOT:   capacity_factor
// CHECK:       %[[P_INIT:.*]] = tensor.empty(%[[R]]) : tensor<?x64xf32>
// CHECK:       %[[ROWS:.*]] = moe.permute ins(%[[X]], %[[TOK]], %[[OFF]] : {{.*}}) outs(%[[P_INIT]] : tensor<?x64xf32>)
// CHECK:       %[[H_EMPTY:.*]] = tensor.empty(%[[R]]) : tensor<?x64xf32>
// CHECK:       %[[H_INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[H_EMPTY]] : tensor<?x64xf32>)
// CHECK:       %[[H:.*]] = moe.expert_ffn ins(%[[ROWS]], %[[OFF]] : {{.*}}) gate(%[[WG]] : {{.*}}) up(%[[WU]] : {{.*}}) down(%[[WD]] : {{.*}}) outs(%[[H_INIT]] : tensor<?x64xf32>) activation<silu>
// CHECK:       %[[Y:.*]] = moe.combine ins(%[[H]], %[[TOK]], %[[RW]], %[[OFF]] : {{.*}}) outs(%[[INIT]] : tensor<?x64xf32>)
// CHECK:       return %[[Y]]
// With segments aligned to 8 rows, the grouped buffers get room for the
// padding (R = T * k + E * 7) and the dispatch pads each segment.
// ALIGNED-LABEL: func @mixtral
// ALIGNED:       %[[T:.*]] = tensor.dim
// ALIGNED:       %[[TK:.*]] = arith.muli %[[T]], %{{.*}} : index
// ALIGNED:       %[[R:.*]] = arith.addi %[[TK]], %[[C56:.*]] : index
// ALIGNED:       tensor.empty(%[[R]]) : tensor<?xi32>
// ALIGNED:       moe.dispatch {{.*}} {segment_alignment = 8 : i64}
// ALIGNED:       tensor.empty(%[[R]]) : tensor<?x64xf32>
// ALIGNED:       moe.permute
func.func @mixtral(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                   %wg: tensor<8x128x64xf32>, %wu: tensor<8x128x64xf32>,
                   %wd: tensor<8x64x128xf32>, %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %y = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         top_k(2) scoring<softmax> activation<silu> {normalize}
  return %y : tensor<?x64xf32>
}

// -----

// Every optional operand and attribute reaches the step op that uses it;
// static token counts give static destinations.

// CHECK-LABEL: func @deepseek_like
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<5x16xf32>, %[[WR:[a-z0-9]+]]: tensor<8x16xf32>, %[[LB:[a-z0-9]+]]: tensor<8xf32>, %[[SB:[a-z0-9]+]]: tensor<8xf32>, %[[WN:[a-z0-9]+]]: tensor<8x16xf32>, %[[WU:[a-z0-9]+]]: tensor<8x32x16xf32>, %[[WD:[a-z0-9]+]]: tensor<8x16x32xf32>, %[[BU:[a-z0-9]+]]: tensor<8x32xf32>, %[[BD:[a-z0-9]+]]: tensor<8x16xf32>
// CHECK-NOT:   tensor.dim
// CHECK:       moe.router ins(%[[X]], %[[WR]] : {{.*}}) bias(%[[LB]] : tensor<8xf32>) noise(%[[WN]] : tensor<8x16xf32>) seed(11) outs(%{{.*}} : tensor<5x8xf32>) scoring<sigmoid>
// CHECK:       moe.top_k ins(%{{.*}} : tensor<5x8xf32>) bias(%[[SB]] : tensor<8xf32>) outs(%{{.*}}, %{{.*}} : tensor<5x3xf32>, tensor<5x3xi32>) {num_groups = 4 : i64, scaling_factor = 2.500000e+00 : f32, top_k_groups = 2 : i64}
// CHECK:       moe.dispatch {{.*}} outs(%{{.*}} : tensor<8xi32>, tensor<9xi32>, tensor<15xi32>, tensor<15xf32>) {capacity_factor = 1.250000e+00 : f64}
// CHECK:       moe.permute {{.*}} outs(%{{.*}} : tensor<15x16xf32>)
// CHECK:       moe.expert_ffn {{.*}} up(%[[WU]] : {{.*}}) down(%[[WD]] : {{.*}}) up_bias(%[[BU]] : {{.*}}) down_bias(%[[BD]] : {{.*}}) outs(%{{.*}} : tensor<15x16xf32>) activation<relu>
// CHECK:       moe.combine {{.*}} outs(%{{.*}} : tensor<5x16xf32>)
func.func @deepseek_like(%x: tensor<5x16xf32>, %wr: tensor<8x16xf32>,
                         %lb: tensor<8xf32>, %sb: tensor<8xf32>,
                         %wn: tensor<8x16xf32>, %wu: tensor<8x32x16xf32>, %wd: tensor<8x16x32xf32>,
                         %bu: tensor<8x32xf32>, %bd: tensor<8x16xf32>,
                         %init: tensor<5x16xf32>) -> tensor<5x16xf32> {
  %y = moe.layer ins(%x : tensor<5x16xf32>) router(%wr : tensor<8x16xf32>)
         router_bias(%lb : tensor<8xf32>) selection_bias(%sb : tensor<8xf32>)
         router_noise(%wn : tensor<8x16xf32>) seed(11)
         up(%wu : tensor<8x32x16xf32>) down(%wd : tensor<8x16x32xf32>)
         up_bias(%bu : tensor<8x32xf32>) down_bias(%bd : tensor<8x16xf32>)
         outs(%init : tensor<5x16xf32>) top_k(3) scoring<sigmoid>
         activation<relu>
         {capacity_factor = 1.25 : f64, num_groups = 4 : i64,
          top_k_groups = 2 : i64, scaling_factor = 2.5 : f32}
  return %y : tensor<5x16xf32>
}

// -----

// Shared experts of Fs = 96 run as 3 more experts of the routed F = 32,
// 8 to 10, that every token is routed to with its shared_scale: k + 3 = 5
// assignments a token (R = 5 T), 11 experts, and each expert weight is the
// routed stack followed by the shared one cut into F-wide slices (of rows
// for gate and up, of columns for down, a transpose).

// CHECK-LABEL: func @shared
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[WR:[a-z0-9]+]]: tensor<8x64xf32>, %[[WG:[a-z0-9]+]]: tensor<8x32x64xf32>, %[[WU:[a-z0-9]+]]: tensor<8x32x64xf32>, %[[WD:[a-z0-9]+]]: tensor<8x64x32xf32>, %[[SG:[a-z0-9]+]]: tensor<1x96x64xf32>, %[[SU:[a-z0-9]+]]: tensor<1x96x64xf32>, %[[SD:[a-z0-9]+]]: tensor<1x64x96xf32>, %[[SCALE:[a-z0-9]+]]: tensor<?x1xf32>, %[[INIT:[a-z0-9]+]]: tensor<?x64xf32>
// CHECK-DAG:   %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG:   %[[C5:.*]] = arith.constant 5 : index
// CHECK:       %[[T:.*]] = tensor.dim %[[X]]
// CHECK:       %[[R:.*]] = arith.muli %[[T]], %[[C5]] : index
// CHECK:       moe.router {{.*}} outs(%{{.*}} : tensor<?x8xf32>)
// CHECK:       %[[W:.*]], %[[I:.*]] = moe.top_k {{.*}} outs(%{{.*}}, %{{.*}} : tensor<?x2xf32>, tensor<?x2xi32>)
// CHECK:       %[[SI:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x3xi32>)
// CHECK:         %[[SLOT:.*]] = linalg.index 1 : index
// CHECK:         %[[EXPERT:.*]] = arith.addi %[[SLOT]], %[[C8]] : index
// CHECK:         %[[EXPERT32:.*]] = arith.index_cast %[[EXPERT]] : index to i32
// CHECK:         linalg.yield %[[EXPERT32]] : i32
// CHECK:       %[[SW:.*]] = linalg.generic {{.*}} ins(%[[SCALE]] : tensor<?x1xf32>) outs(%{{.*}} : tensor<?x3xf32>)
// CHECK:       %[[ALLI:.*]] = tensor.concat dim(1) %[[I]], %[[SI]] : (tensor<?x2xi32>, tensor<?x3xi32>) -> tensor<?x5xi32>
// CHECK:       %[[ALLW:.*]] = tensor.concat dim(1) %[[W]], %[[SW]] : (tensor<?x2xf32>, tensor<?x3xf32>) -> tensor<?x5xf32>
// CHECK:       %[[SG2:.*]] = tensor.collapse_shape %[[SG]] {{\[}}[0, 1], [2]] : tensor<1x96x64xf32> into tensor<96x64xf32>
// CHECK:       %[[SG3:.*]] = tensor.expand_shape %[[SG2]] {{\[}}[0, 1], [2]] output_shape [3, 32, 64]
// CHECK:       %[[G:.*]] = tensor.concat dim(0) %[[WG]], %[[SG3]] : (tensor<8x32x64xf32>, tensor<3x32x64xf32>) -> tensor<11x32x64xf32>
// CHECK:       %[[SU3:.*]] = tensor.expand_shape
// CHECK:       %[[U:.*]] = tensor.concat dim(0) %[[WU]], %[[SU3]] : (tensor<8x32x64xf32>, tensor<3x32x64xf32>) -> tensor<11x32x64xf32>
// CHECK:       %[[SD2:.*]] = tensor.collapse_shape %[[SD]] {{\[}}[0, 1], [2]] : tensor<1x64x96xf32> into tensor<64x96xf32>
// CHECK:       %[[SD3:.*]] = tensor.expand_shape %[[SD2]] {{\[}}[0], [1, 2]] output_shape [64, 3, 32] : tensor<64x96xf32> into tensor<64x3x32xf32>
// CHECK:       %[[SDT:.*]] = linalg.transpose ins(%[[SD3]] : tensor<64x3x32xf32>) outs(%{{.*}} : tensor<3x64x32xf32>) permutation = [1, 0, 2]
// CHECK:       %[[D:.*]] = tensor.concat dim(0) %[[WD]], %[[SDT]] : (tensor<8x64x32xf32>, tensor<3x64x32xf32>) -> tensor<11x64x32xf32>
// CHECK:       %[[TI:.*]] = tensor.empty(%[[R]]) : tensor<?xi32>
// CHECK:       %{{.*}}, %[[OFF:.*]], %[[TOK:.*]], %[[RW:.*]] = moe.dispatch ins(%[[ALLI]], %[[ALLW]] : tensor<?x5xi32>, tensor<?x5xf32>) outs(%{{.*}}, %{{.*}}, %[[TI]], %{{.*}} : tensor<11xi32>, tensor<12xi32>, tensor<?xi32>, tensor<?xf32>)
// CHECK:       %[[ROWS:.*]] = moe.permute ins(%[[X]], %[[TOK]], %[[OFF]] : {{.*}})
// CHECK:       %[[H:.*]] = moe.expert_ffn ins(%[[ROWS]], %[[OFF]] : {{.*}}) gate(%[[G]] : tensor<11x32x64xf32>) up(%[[U]] : tensor<11x32x64xf32>) down(%[[D]] : tensor<11x64x32xf32>)
// CHECK:       %[[Y:.*]] = moe.combine ins(%[[H]], %[[TOK]], %[[RW]], %[[OFF]] : {{.*}}) outs(%[[INIT]] : tensor<?x64xf32>)
// CHECK:       return %[[Y]]
// Aligned segments leave room for the padding of all 11 experts.
// ALIGNED-LABEL: func @shared
// ALIGNED:       %[[C77:.*]] = arith.constant 77 : index
// ALIGNED:       %[[TK:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// ALIGNED:       %[[R:.*]] = arith.addi %[[TK]], %[[C77]] : index
// ALIGNED:       moe.dispatch {{.*}} outs(%{{.*}} : tensor<11xi32>, tensor<12xi32>, tensor<?xi32>, tensor<?xf32>) {segment_alignment = 8 : i64}
func.func @shared(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                  %wg: tensor<8x32x64xf32>, %wu: tensor<8x32x64xf32>,
                  %wd: tensor<8x64x32xf32>, %sg: tensor<1x96x64xf32>,
                  %su: tensor<1x96x64xf32>, %sd: tensor<1x64x96xf32>,
                  %scale: tensor<?x1xf32>, %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %y = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x32x64xf32>) up(%wu : tensor<8x32x64xf32>)
         down(%wd : tensor<8x64x32xf32>) shared_gate(%sg : tensor<1x96x64xf32>)
         shared_up(%su : tensor<1x96x64xf32>) shared_down(%sd : tensor<1x64x96xf32>)
         shared_scale(%scale : tensor<?x1xf32>) outs(%init : tensor<?x64xf32>)
         top_k(2) scoring<softmax> activation<silu> {normalize}
  return %y : tensor<?x64xf32>
}

// RUN: moe-opt %s --moe-cpu-profile-phases | FileCheck %s

// Each MoE step at the top level of a function (the entry, or an outlined
// layer) is bracketed by calls to the runtime's hook, phase number and 1
// before, 0 after (the numbers of
// runtime/include/moe/Runtime/ProfilePhases.h: 4 gate_up, 6 matmul,
// 7 combine); the hook is declared once. Steps inside regions are left
// alone.

// CHECK-LABEL: func.func @model
// CHECK-DAG:   %[[C4:.*]] = arith.constant 4 : i32
// CHECK-DAG:   %[[C1:.*]] = arith.constant 1 : i32
// CHECK:       call @moe_profile_phase(%[[C4]], %[[C1]]) : (i32, i32) -> ()
// CHECK-NEXT:  %[[H:.*]] = moe.grouped_gated_matmul
// CHECK-NEXT:  %[[C4B:.*]] = arith.constant 4 : i32
// CHECK-NEXT:  %[[C0:.*]] = arith.constant 0 : i32
// CHECK-NEXT:  call @moe_profile_phase(%[[C4B]], %[[C0]]) : (i32, i32) -> ()
// CHECK-NEXT:  %[[C6:.*]] = arith.constant 6 : i32
// CHECK-NEXT:  %[[C1B:.*]] = arith.constant 1 : i32
// CHECK-NEXT:  call @moe_profile_phase(%[[C6]], %[[C1B]])
// CHECK-NEXT:  moe.grouped_matmul
// CHECK-NEXT:  %[[C6B:.*]] = arith.constant 6 : i32
// CHECK-NEXT:  %[[C0B:.*]] = arith.constant 0 : i32
// CHECK-NEXT:  call @moe_profile_phase(%[[C6B]], %[[C0B]])
// CHECK:       scf.if
// CHECK-NOT:     call @moe_profile_phase
// CHECK:         moe.combine
// CHECK:       return
// CHECK-LABEL: func.func private @moe_layer
// CHECK:       call @moe_profile_phase(%{{.*}}, %{{.*}}) : (i32, i32) -> ()
// CHECK-NEXT:  moe.grouped_matmul
// CHECK-NEXT:  arith.constant 6 : i32
// CHECK-NEXT:  arith.constant 0 : i32
// CHECK-NEXT:  call @moe_profile_phase
// CHECK:       func.func private @moe_profile_phase(i32, i32)
// CHECK-NOT:   func.func private @moe_profile_phase
func.func @model(%x: tensor<?x64xf32>, %o: tensor<5xi32>,
                 %wg: tensor<4x128x64xf32>, %wu: tensor<4x128x64xf32>,
                 %wd: tensor<4x64x128xf32>, %hinit: tensor<?x128xf32>,
                 %yinit: tensor<?x64xf32>, %ids: tensor<?xi32>, %w: tensor<?xf32>,
                 %c: i1) -> tensor<?x64xf32> attributes {moe.entry} {
  %h = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<5xi32>)
         gate(%wg : tensor<4x128x64xf32>) up(%wu : tensor<4x128x64xf32>)
         outs(%hinit : tensor<?x128xf32>) activation<silu>
  %y = moe.grouped_matmul ins(%h, %wd, %o : tensor<?x128xf32>, tensor<4x64x128xf32>, tensor<5xi32>)
         outs(%yinit : tensor<?x64xf32>)
  %r = scf.if %c -> tensor<?x64xf32> {
    %z = moe.combine ins(%y, %ids, %w, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<?xf32>, tensor<5xi32>)
           outs(%yinit : tensor<?x64xf32>)
    scf.yield %z : tensor<?x64xf32>
  } else {
    scf.yield %y : tensor<?x64xf32>
  }
  return %r : tensor<?x64xf32>
}

func.func private @moe_layer(%x: tensor<?x64xf32>, %o: tensor<5xi32>, %wd: tensor<4x64x64xf32>,
                        %yinit: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %y = moe.grouped_matmul ins(%x, %wd, %o : tensor<?x64xf32>, tensor<4x64x64xf32>, tensor<5xi32>)
         outs(%yinit : tensor<?x64xf32>)
  return %y : tensor<?x64xf32>
}

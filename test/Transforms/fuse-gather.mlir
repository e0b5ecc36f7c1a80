// RUN: moe-opt %s --moe-fuse-gather --split-input-file | FileCheck %s

// The permuted rows a gated matmul reads over the permute's own offsets: the
// matmul reads the token rows through the permute's token ids instead, and
// the permute goes.

// CHECK-LABEL: func @fuse_gather
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[TOK:[a-z0-9]+]]: tensor<?xi32>, %[[OFF:[a-z0-9]+]]: tensor<9xi32>
// CHECK-NOT:   moe.permute
// CHECK:       moe.grouped_gated_matmul ins(%[[X]], %[[OFF]] : tensor<?x64xf32>, tensor<9xi32>) gather(%[[TOK]] : tensor<?xi32>) gate(%{{.*}} : tensor<8x128x64xf32>) up(%{{.*}} : tensor<8x128x64xf32>) outs(%{{.*}} : tensor<?x128xf32>) activation<silu>
// CHECK-NOT:   moe.permute
func.func @fuse_gather(%x: tensor<?x64xf32>, %tok: tensor<?xi32>, %o: tensor<9xi32>,
                       %rows: tensor<?x64xf32>, %wg: tensor<8x128x64xf32>,
                       %wu: tensor<8x128x64xf32>, %init: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %p = moe.permute ins(%x, %tok, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
         outs(%rows : tensor<?x64xf32>)
  %h = moe.grouped_gated_matmul ins(%p, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return %h : tensor<?x128xf32>
}

// -----

// Another reader of the permuted rows keeps the permute; the gated matmul
// still gathers its own.

// CHECK-LABEL: func @permute_kept_for_other_reader
// CHECK:       %[[P:.*]] = moe.permute
// CHECK:       moe.grouped_gated_matmul ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<9xi32>) gather(%{{.*}} : tensor<?xi32>)
// CHECK:       return %{{.*}}, %[[P]]
func.func @permute_kept_for_other_reader(%x: tensor<?x64xf32>, %tok: tensor<?xi32>, %o: tensor<9xi32>,
                                         %rows: tensor<?x64xf32>, %wg: tensor<8x128x64xf32>,
                                         %wu: tensor<8x128x64xf32>, %init: tensor<?x128xf32>)
    -> (tensor<?x128xf32>, tensor<?x64xf32>) {
  %p = moe.permute ins(%x, %tok, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
         outs(%rows : tensor<?x64xf32>)
  %h = moe.grouped_gated_matmul ins(%p, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return %h, %p : tensor<?x128xf32>, tensor<?x64xf32>
}

// -----

// Segments other than the permute's: the matmul may read rows the permute
// did not set (they keep its destination), which a gather cannot give.

// CHECK-LABEL: func @other_segments
// CHECK:       %[[P:.*]] = moe.permute
// CHECK:       moe.grouped_gated_matmul ins(%[[P]], %{{.*}} : tensor<?x64xf32>, tensor<9xi32>) gate
func.func @other_segments(%x: tensor<?x64xf32>, %tok: tensor<?xi32>, %o: tensor<9xi32>,
                          %o2: tensor<9xi32>, %rows: tensor<?x64xf32>,
                          %wg: tensor<8x128x64xf32>, %wu: tensor<8x128x64xf32>,
                          %init: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %p = moe.permute ins(%x, %tok, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
         outs(%rows : tensor<?x64xf32>)
  %h = moe.grouped_gated_matmul ins(%p, %o2 : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return %h : tensor<?x128xf32>
}

// -----

// Rows that are not a permute's (a shared expert's, the token rows
// themselves) are read as they are.

// CHECK-LABEL: func @not_permuted
// CHECK:       moe.grouped_gated_matmul ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<2xi32>) gate
// CHECK-NOT:   gather
func.func @not_permuted(%x: tensor<?x64xf32>, %o: tensor<2xi32>,
                        %wg: tensor<1x128x64xf32>, %wu: tensor<1x128x64xf32>,
                        %init: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %h = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<2xi32>)
         gate(%wg : tensor<1x128x64xf32>) up(%wu : tensor<1x128x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return %h : tensor<?x128xf32>
}

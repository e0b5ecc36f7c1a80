func.func @dispatch_row_weights_length(%idx: tensor<4x2xi32>, %w: tensor<4x2xf32>, %c: tensor<8xi32>, %o: tensor<9xi32>, %t: tensor<?xi32>, %rw: tensor<7xf32>) {
  %0:4 = moe.dispatch ins(%idx, %w : tensor<4x2xi32>, tensor<4x2xf32>) outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>, tensor<?xi32>, tensor<7xf32>)
  return
}

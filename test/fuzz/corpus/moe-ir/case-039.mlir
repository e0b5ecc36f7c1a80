func.func @dispatch_row_weights_element_type(%idx: tensor<?x2xi32>,
                                             %w: tensor<?x2xf32>,
                                             %c: tensor<8xi32>,
                                             %o: tensor<9xi32>,
                                             %t: tensor<?xi32>,
                                             %rw: tensor<?xi32>) {
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>,
                                  tensor<?xi32>, tensor<?xi32>)
  return
}

func.func @dispatch_indices_element_type(%idx: tensor<?x2xf32>,
                                         %w: tensor<?x2xf32>, %c: tensor<8xi32>,
                                         %o: tensor<9xi32>, %t: tensor<?xi32>,
                                         %rw: tensor<?xf32>) {
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xf32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>,
                                  tensor<?xi32>, tensor<?xf32>)
  return
}

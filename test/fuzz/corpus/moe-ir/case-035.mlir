func.func @dispatch_counts_rank(%idx: tensor<?x2xi32>, %w: tensor<?x2xf32>,
                                %c: tensor<8x1xi32>, %o: tensor<9xi32>,
                                %t: tensor<?xi32>, %rw: tensor<?xf32>) {
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8x1xi32>, tensor<9xi32>,
                                  tensor<?xi32>, tensor<?xf32>)
  return
}

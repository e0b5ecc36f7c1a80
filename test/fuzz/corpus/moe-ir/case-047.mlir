func.func @dispatch_k_exceeds_experts(%idx: tensor<?x4xi32>,
                                      %w: tensor<?x4xf32>, %c: tensor<2xi32>,
                                      %o: tensor<3xi32>, %t: tensor<?xi32>,
                                      %rw: tensor<?xf32>) {
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x4xi32>, tensor<?x4xf32>)
           outs(%c, %o, %t, %rw : tensor<2xi32>, tensor<3xi32>,
                                  tensor<?xi32>, tensor<?xf32>)
  return
}

func.func @top_k_bias_rank(%s: tensor<?x8xf32>, %b: tensor<8x1xf32>,
                           %w: tensor<?x2xf32>, %i: tensor<?x2xi32>) {
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>) bias(%b : tensor<8x1xf32>)
             outs(%w, %i : tensor<?x2xf32>, tensor<?x2xi32>)
  return
}

func.func @top_k_bias_experts_mismatch(%s: tensor<?x8xf32>, %b: tensor<4xf32>,
                                       %w: tensor<?x2xf32>,
                                       %i: tensor<?x2xi32>) {
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>) bias(%b : tensor<4xf32>)
             outs(%w, %i : tensor<?x2xf32>, tensor<?x2xi32>)
  return
}

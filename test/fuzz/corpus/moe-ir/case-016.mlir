func.func @top_k_weights_tokens_mismatch(%s: tensor<4x8xf32>,
                                         %w: tensor<3x2xf32>,
                                         %i: tensor<4x2xi32>) {
  %0, %1 = moe.top_k ins(%s : tensor<4x8xf32>)
             outs(%w, %i : tensor<3x2xf32>, tensor<4x2xi32>)
  return
}

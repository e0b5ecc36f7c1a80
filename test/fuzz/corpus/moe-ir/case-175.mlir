func.func @top_k(%s: tensor<?x8xf32>, %bias: tensor<8xf32>,
                 %w: tensor<?x2xf32>, %i: tensor<?x2xi32>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w0, %i0 = moe.top_k ins(%s : tensor<?x8xf32>) bias(%bias : tensor<8xf32>)
               outs(%w, %i : tensor<?x2xf32>, tensor<?x2xi32>)
               {normalize, scaling_factor = 2.5 : f32}
  return %w0, %i0 : tensor<?x2xf32>, tensor<?x2xi32>
}

func.func @top_k_infinite_scaling(%s: tensor<?x8xf32>, %w: tensor<?x2xf32>,
                                  %i: tensor<?x2xi32>) {
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x2xf32>, tensor<?x2xi32>)
             {scaling_factor = 0x7F800000 : f32}
  return
}

func.func @top_k_zero_top_k_groups(%s: tensor<?x8xf32>, %w: tensor<?x2xf32>,
                                   %i: tensor<?x2xi32>) {
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x2xf32>, tensor<?x2xi32>)
             {num_groups = 4 : i64, top_k_groups = 0 : i64}
  return
}

func.func @top_k_k_exceeds_eligible(%s: tensor<?x8xf32>, %w: tensor<?x3xf32>,
                                    %i: tensor<?x3xi32>) {
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x3xf32>, tensor<?x3xi32>)
             {num_groups = 4 : i64, top_k_groups = 1 : i64}
  return
}

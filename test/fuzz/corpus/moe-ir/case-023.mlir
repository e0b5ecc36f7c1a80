func.func @top_k_k_exceeds_experts(%s: tensor<?x4xf32>, %w: tensor<?x5xf32>,
                                   %i: tensor<?x5xi32>) {
  %0, %1 = moe.top_k ins(%s : tensor<?x4xf32>)
             outs(%w, %i : tensor<?x5xf32>, tensor<?x5xi32>)
  return
}

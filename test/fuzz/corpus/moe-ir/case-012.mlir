func.func @top_k_dynamic_experts(%s: tensor<?x?xf32>, %w: tensor<?x2xf32>,
                                 %i: tensor<?x2xi32>) {
  %0, %1 = moe.top_k ins(%s : tensor<?x?xf32>)
             outs(%w, %i : tensor<?x2xf32>, tensor<?x2xi32>)
  return
}

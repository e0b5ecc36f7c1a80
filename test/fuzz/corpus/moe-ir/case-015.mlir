func.func @top_k_dynamic_k(%s: tensor<?x8xf32>, %w: tensor<?x?xf32>,
                           %i: tensor<?x?xi32>) {
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x?xf32>, tensor<?x?xi32>)
  return
}

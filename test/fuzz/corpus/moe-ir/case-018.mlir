func.func @top_k_indices_k_mismatch(%s: tensor<?x8xf32>, %w: tensor<?x2xf32>,
                                    %i: tensor<?x3xi32>) {
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x2xf32>, tensor<?x3xi32>)
  return
}

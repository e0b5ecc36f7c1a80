func.func @top_k_zero_k(%s: tensor<?x8xf32>, %w: tensor<?x0xf32>,
                        %i: tensor<?x0xi32>) {
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x0xf32>, tensor<?x0xi32>)
  return
}

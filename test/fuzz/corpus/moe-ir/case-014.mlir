func.func @top_k_indices_element_type(%s: tensor<?x8xf32>, %w: tensor<?x2xf32>,
                                      %i: tensor<?x2xi64>) {
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x2xf32>, tensor<?x2xi64>)
  return
}

func.func @top_k_weights_element_mismatch(%s: tensor<?x8xf32>,
                                          %w: tensor<?x2xbf16>,
                                          %i: tensor<?x2xi32>) {
  %0, %1 = moe.top_k ins(%s : tensor<?x8xf32>)
             outs(%w, %i : tensor<?x2xbf16>, tensor<?x2xi32>)
  return
}

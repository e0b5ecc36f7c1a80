func.func @router_weight_element_type(%x: tensor<?x64xf32>, %w: tensor<8x64xi8>,
                                      %init: tensor<?x8xf32>) {
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xi8>)
         outs(%init : tensor<?x8xf32>) scoring<softmax>
  return
}

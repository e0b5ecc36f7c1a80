func.func @router_init_element_type(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>,
                                    %init: tensor<?x8xi32>) {
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
         outs(%init : tensor<?x8xi32>) scoring<softmax>
  return
}

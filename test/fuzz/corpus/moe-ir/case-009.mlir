func.func @router_bias_rank(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>,
                            %b: tensor<8x1xf32>, %init: tensor<?x8xf32>) {
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
         bias(%b : tensor<8x1xf32>) outs(%init : tensor<?x8xf32>) scoring<softmax>
  return
}

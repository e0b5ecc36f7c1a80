func.func @router_sigmoid_bias(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>,
                               %b: tensor<8xf32>, %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
         bias(%b : tensor<8xf32>) outs(%init : tensor<?x8xf32>) scoring<sigmoid>
  return %0 : tensor<?x8xf32>
}

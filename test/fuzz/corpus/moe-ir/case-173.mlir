func.func @router_softmax(%x: tensor<?x64xf32>, %w: tensor<8x64xbf16>,
                          %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xbf16>)
         outs(%init : tensor<?x8xf32>) scoring<softmax>
  return %0 : tensor<?x8xf32>
}

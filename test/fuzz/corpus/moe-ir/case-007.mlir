func.func @router_experts_mismatch(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>,
                                   %init: tensor<?x4xf32>) {
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
         outs(%init : tensor<?x4xf32>) scoring<softmax>
  return
}

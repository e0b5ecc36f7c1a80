func.func @router_tokens_mismatch(%x: tensor<4x64xf32>, %w: tensor<8x64xf32>,
                                  %init: tensor<5x8xf32>) {
  %0 = moe.router ins(%x, %w : tensor<4x64xf32>, tensor<8x64xf32>)
         outs(%init : tensor<5x8xf32>) scoring<softmax>
  return
}

func.func @router_input_rank(%x: tensor<64xf32>, %w: tensor<8x64xf32>,
                             %init: tensor<?x8xf32>) {
  %0 = moe.router ins(%x, %w : tensor<64xf32>, tensor<8x64xf32>)
         outs(%init : tensor<?x8xf32>) scoring<softmax>
  return
}

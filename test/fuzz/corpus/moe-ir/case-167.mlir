func.func @router_no_experts(%x: tensor<?x64xf32>, %w: tensor<0x64xf32>, %init: tensor<?x0xf32>) -> tensor<?x0xf32> {
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<0x64xf32>) outs(%init : tensor<?x0xf32>) scoring<softmax>
  return %0 : tensor<?x0xf32>
}

func.func @router_dynamic_experts(%x: tensor<?x64xf32>, %w: tensor<?x64xf32>,
                                  %init: tensor<?x8xf32>) {
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<?x64xf32>)
         outs(%init : tensor<?x8xf32>) scoring<softmax>
  return
}

func.func @act(%g: tensor<?x128xf32>, %u: tensor<?x128xf32>,
               %init: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %0 = moe.gated_activation ins(%g, %u : tensor<?x128xf32>, tensor<?x128xf32>)
         outs(%init : tensor<?x128xf32>) activation<gelu>
  return %0 : tensor<?x128xf32>
}

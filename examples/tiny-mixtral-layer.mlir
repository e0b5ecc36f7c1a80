// One Mixtral-style sparse MoE layer in the MoE dialect: D = 64, F = 128,
// E = 8 experts, top-2 softmax routing with renormalised weights and gated
// SiLU experts; the residual is fused by accumulating into it. The token
// count is dynamic.
//
//   moe-opt examples/tiny-mixtral-layer.mlir --moe-cpu-pipeline

func.func @tiny_mixtral_layer(
    %hidden: tensor<?x64xf32>,
    %router: tensor<8x64xf32>,
    %gate: tensor<8x128x64xf32>,
    %up: tensor<8x128x64xf32>,
    %down: tensor<8x64x128xf32>) -> tensor<?x64xf32> {
  %y = moe.layer ins(%hidden : tensor<?x64xf32>)
         router(%router : tensor<8x64xf32>)
         gate(%gate : tensor<8x128x64xf32>)
         up(%up : tensor<8x128x64xf32>)
         down(%down : tensor<8x64x128xf32>)
         outs(%hidden : tensor<?x64xf32>)
         top_k(2) scoring<softmax> activation<silu> {normalize}
  return %y : tensor<?x64xf32>
}

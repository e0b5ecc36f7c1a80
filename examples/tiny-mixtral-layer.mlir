// One Mixtral-style sparse MoE layer in the MoE dialect: D = 64, F = 128,
// E = 8 experts, top-2 softmax routing with renormalised weights and gated
// SiLU experts; the residual is fused by accumulating into it. The token
// count is dynamic. `moe.entry` marks the model function and its argument
// attributes say which arguments are inputs and which are weights, as
// moe-compile's importer writes them.
//
//   moe-opt examples/tiny-mixtral-layer.mlir --moe-decomposition-pipeline
//   moe-opt examples/tiny-mixtral-layer.mlir --moe-cpu-pipeline

func.func @tiny_mixtral_layer(
    %hidden: tensor<?x64xf32> {moe.input = "x"},
    %router: tensor<8x64xf32> {moe.param = "router"},
    %gate: tensor<8x128x64xf32> {moe.param = "gate_proj"},
    %up: tensor<8x128x64xf32> {moe.param = "up_proj"},
    %down: tensor<8x64x128xf32> {moe.param = "down_proj"})
    -> tensor<?x64xf32> attributes {moe.entry} {
  %y = moe.layer ins(%hidden : tensor<?x64xf32>)
         router(%router : tensor<8x64xf32>)
         gate(%gate : tensor<8x128x64xf32>)
         up(%up : tensor<8x128x64xf32>)
         down(%down : tensor<8x64x128xf32>)
         outs(%hidden : tensor<?x64xf32>)
         top_k(2) scoring<softmax> activation<silu> {normalize}
  return %y : tensor<?x64xf32>
}

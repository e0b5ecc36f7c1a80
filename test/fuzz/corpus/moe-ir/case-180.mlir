func.func @gated(%x: tensor<?x64xf32>, %o: tensor<5xi32>,
                 %wg: tensor<4x2x64x32xf32>, %wu: tensor<4x2x64x32xf32>,
                 %bg: tensor<4x64xf32>, %bu: tensor<4x64xf32>,
                 %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<5xi32>)
         gate(%wg : tensor<4x2x64x32xf32>) up(%wu : tensor<4x2x64x32xf32>)
         gate_bias(%bg : tensor<4x64xf32>) up_bias(%bu : tensor<4x64xf32>)
         outs(%init : tensor<?x64xf32>) activation<swiglu_oai>
         {swiglu_alpha = 1.5 : f32, swiglu_limit = 5.0 : f32, weight_layout = #moe.weight_layout<panels>}
  return %0 : tensor<?x64xf32>
}

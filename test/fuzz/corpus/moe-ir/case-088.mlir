func.func @expert_ffn_gate_hidden_mismatch(%x: tensor<?x64xf32>,
                                           %o: tensor<9xi32>,
                                           %wg: tensor<8x128x32xf32>,
                                           %wu: tensor<8x128x64xf32>,
                                           %wd: tensor<8x64x128xf32>,
                                           %init: tensor<?x64xf32>) {
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x32xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu>
  return
}

func.func @expert_ffn_rows_mismatch(%x: tensor<16x64xf32>, %o: tensor<9xi32>,
                                    %wg: tensor<8x128x64xf32>,
                                    %wu: tensor<8x128x64xf32>,
                                    %wd: tensor<8x64x128xf32>,
                                    %init: tensor<8x64xf32>) {
  %0 = moe.expert_ffn ins(%x, %o : tensor<16x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<8x64xf32>)
         activation<silu>
  return
}

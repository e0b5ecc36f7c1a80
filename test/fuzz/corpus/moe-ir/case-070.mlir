func.func @grouped_matmul_bias_experts_mismatch(%x: tensor<?x64xf32>,
                                                %w: tensor<8x128x64xf16>,
                                                %o: tensor<9xi32>,
                                                %b: tensor<4x128xf32>,
                                                %init: tensor<?x128xf32>) {
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x128x64xf16>, tensor<9xi32>)
         bias(%b : tensor<4x128xf32>) outs(%init : tensor<?x128xf32>)
  return
}

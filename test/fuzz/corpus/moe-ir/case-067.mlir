func.func @grouped_matmul_rows_mismatch(%x: tensor<16x64xf32>,
                                        %w: tensor<8x128x64xf16>,
                                        %o: tensor<9xi32>,
                                        %init: tensor<8x128xf32>) {
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<16x64xf32>, tensor<8x128x64xf16>, tensor<9xi32>)
         outs(%init : tensor<8x128xf32>)
  return
}

func.func @grouped_matmul_reduction_mismatch(%x: tensor<?x64xf32>,
                                             %w: tensor<8x128x32xf16>,
                                             %o: tensor<9xi32>,
                                             %init: tensor<?x128xf32>) {
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x128x32xf16>, tensor<9xi32>)
         outs(%init : tensor<?x128xf32>)
  return
}

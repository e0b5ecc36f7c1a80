func.func @grouped_matmul_dynamic_offsets(%x: tensor<?x64xf32>,
                                          %w: tensor<8x128x64xf16>,
                                          %o: tensor<?xi32>,
                                          %init: tensor<?x128xf32>) {
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x128x64xf16>, tensor<?xi32>)
         outs(%init : tensor<?x128xf32>)
  return
}

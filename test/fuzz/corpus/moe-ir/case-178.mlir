func.func @grouped_matmul(%x: tensor<?x64xf32>, %w: tensor<4x128x64xf16>,
                          %o: tensor<5xi32>, %b: tensor<4x128xf32>,
                          %init: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<4x128x64xf16>, tensor<5xi32>)
         bias(%b : tensor<4x128xf32>) outs(%init : tensor<?x128xf32>)
  return %0 : tensor<?x128xf32>
}

func.func @permute_rows_mismatch(%x: tensor<?x64xf32>, %t: tensor<8xi32>,
                                 %o: tensor<9xi32>, %init: tensor<6x64xf32>) {
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<8xi32>, tensor<9xi32>)
         outs(%init : tensor<6x64xf32>)
  return
}

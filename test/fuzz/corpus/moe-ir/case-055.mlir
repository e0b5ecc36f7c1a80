func.func @permute_init_element_type(%x: tensor<?x64xf32>, %t: tensor<?xi32>,
                                     %o: tensor<9xi32>,
                                     %init: tensor<?x64xi32>) {
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
         outs(%init : tensor<?x64xi32>)
  return
}

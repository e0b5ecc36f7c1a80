func.func @permute_input_element_type(%x: tensor<?x64xi32>, %t: tensor<?xi32>,
                                      %o: tensor<9xi32>,
                                      %init: tensor<?x64xf32>) {
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xi32>, tensor<?xi32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}

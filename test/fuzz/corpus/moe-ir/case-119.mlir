func.func @combine_init_element_mismatch(%h: tensor<?x64xf32>,
                                         %t: tensor<?xi32>, %rw: tensor<?xf32>,
                                         %o: tensor<9xi32>,
                                         %init: tensor<?x64xf64>) {
  %0 = moe.combine ins(%h, %t, %rw, %o : tensor<?x64xf32>, tensor<?xi32>,
                                          tensor<?xf32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf64>)
  return
}

func.func @combine_input_element_type(%h: tensor<?x64xi32>, %t: tensor<?xi32>,
                                      %rw: tensor<?xf32>, %o: tensor<9xi32>,
                                      %init: tensor<?x64xf32>) {
  %0 = moe.combine ins(%h, %t, %rw, %o : tensor<?x64xi32>, tensor<?xi32>,
                                          tensor<?xf32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}

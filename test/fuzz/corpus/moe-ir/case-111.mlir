func.func @combine_row_weights_element_type(%h: tensor<?x64xf32>,
                                            %t: tensor<?xi32>,
                                            %rw: tensor<?xi32>,
                                            %o: tensor<9xi32>,
                                            %init: tensor<?x64xf32>) {
  %0 = moe.combine ins(%h, %t, %rw, %o : tensor<?x64xf32>, tensor<?xi32>,
                                          tensor<?xi32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}

func.func @combine_no_offsets(%h: tensor<?x64xf32>, %t: tensor<?xi32>,
                              %rw: tensor<?xf32>, %o: tensor<0xi32>,
                              %init: tensor<?x64xf32>) {
  %0 = moe.combine ins(%h, %t, %rw, %o : tensor<?x64xf32>, tensor<?xi32>,
                                          tensor<?xf32>, tensor<0xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}

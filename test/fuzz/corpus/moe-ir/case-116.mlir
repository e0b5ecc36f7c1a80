func.func @combine_token_ids_mismatch(%h: tensor<8x64xf32>, %t: tensor<6xi32>,
                                      %rw: tensor<?xf32>, %o: tensor<9xi32>,
                                      %init: tensor<?x64xf32>) {
  %0 = moe.combine ins(%h, %t, %rw, %o : tensor<8x64xf32>, tensor<6xi32>,
                                          tensor<?xf32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}
